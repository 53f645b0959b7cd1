import type { StatusCounts } from './batch.ts';

/**
 * What an export did, written beside its output and sent as the Completed event's detail: where
 * from and to, rows by status, TPNS calls, and where the rows to ask again are (`failed`).
 */
export interface ExportManifest {
  exportId: string;
  input: string;
  output: string;
  rows: number;
  counts: StatusCounts;
  calls: number;
  /** Rows answered `error`, listed under `failed` as input rows: the input of a second run. */
  failedRows: number;
  /** Batches that failed as a whole (their rows are counted as errors and listed too). */
  failedBatches: number;
  failed: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

export type ExportFigures = Omit<ExportManifest, 'rows' | 'startedAt' | 'finishedAt' | 'durationMs'>;

export const exportManifest = (figures: ExportFigures, startedAt: Date, finishedAt: Date): ExportManifest => {
  const { exportId, input, output, counts, calls, failedRows, failedBatches, failed } = figures;
  return {
    exportId,
    input,
    output,
    rows: counts.ok + counts.not_found + counts.invalid + counts.error,
    counts,
    calls,
    failedRows,
    failedBatches,
    failed,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
  };
};
