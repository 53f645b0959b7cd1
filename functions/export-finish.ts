import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import * as z from 'zod/mini';
import { addCounts, failedBatchOutput, type IndexedRow, noCounts, type StatusCounts } from './core/export/batch.ts';
import { type ExportManifest, exportManifest } from './core/export/manifest.ts';
import { batchKeys, exportS3Client, getText, JSON_LINES, outputPrefix, putText, type S3Location } from './core/export/s3.ts';
import { InvalidRequestError } from './core/problems.ts';
import type { BatchResult } from './export-batch.ts';
import { LOGGER_CONTEXT_OPTIONS, logger } from './observability.ts';

const s3 = exportS3Client();

/** The state machine's input to this function: the export, and where the map's ResultWriter wrote. */
const finishEvent = z.object({
  exportId: z.string().check(z.minLength(1)),
  input: z.string(),
  output: z.string(),
  startedAt: z.iso.datetime({ offset: true }),
  resultWriterDetails: z.object({ Bucket: z.string().check(z.minLength(1)), Key: z.string().check(z.minLength(1)) }),
});
type FinishEvent = z.infer<typeof finishEvent>;

/** Step Functions' ResultWriter manifest: the result files of the map's child executions, by status. */
const resultManifest = z.object({
  ResultFiles: z.object({
    SUCCEEDED: z.optional(z.array(z.object({ Key: z.string() }))),
    FAILED: z.optional(z.array(z.object({ Key: z.string() }))),
    PENDING: z.optional(z.array(z.object({ Key: z.string() }))),
  }),
});

/** One child execution in a result file: its input and output as JSON text. */
interface ChildExecution {
  Status?: string;
  Input?: string;
  Output?: string;
}

/** A result file is a JSON array of executions, or JSON Lines of them (WriterConfig OutputType JSONL). */
const executionsIn = (text: string): ChildExecution[] => {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as ChildExecution[];
  return trimmed === '' ? [] : trimmed.split('\n').map((line) => JSON.parse(line) as ChildExecution);
};

/** A child's output is the batch Lambda's result, or — invoked without `payloadResponseOnly` — the invoke's answer holding it. */
const batchResultOf = (output: string | undefined): BatchResult => {
  const parsed = JSON.parse(output ?? 'null') as (BatchResult & { Payload?: BatchResult }) | null;
  const result = parsed?.Payload ?? parsed;
  if (result === null || typeof result.rows !== 'number' || typeof result.counts !== 'object') {
    throw new Error('a succeeded batch has no batch result in its output');
  }
  return result;
};

interface Totals {
  counts: StatusCounts;
  calls: number;
  failedRows: number;
  failedBatches: number;
}

/** A failed batch's rows, from its child input: every one gets its line, and the valid ones are listed to ask again. */
const recordFailedBatch = async (prefix: S3Location, execution: ChildExecution, totals: Totals): Promise<void> => {
  const { Items } = JSON.parse(execution.Input ?? '{}') as { Items?: IndexedRow[] };
  if (!Array.isArray(Items) || Items.length === 0) throw new Error('a failed batch has no Items in its input');
  const output = failedBatchOutput(Items);
  const keys = batchKeys(prefix, (Items[0] as IndexedRow).index);
  await Promise.all([
    putText(s3, keys.part, output.lines.join(''), JSON_LINES),
    output.failedRows.length > 0 ? putText(s3, keys.failed, output.failedRows.join(''), JSON_LINES) : undefined,
  ]);
  addCounts(totals.counts, output.counts);
  totals.failedRows += output.failedRows.length;
  totals.failedBatches++;
};

/**
 * The end of a bulk export: adds up the batches' results as the map's ResultWriter left them,
 * answers the rows of batches that failed as a whole (their lines say `error`, and they are listed
 * under `failed/`), and writes `<output>manifest.json`, which it returns for the Completed event.
 */
export const handler = middy<unknown, ExportManifest>()
  .use(injectLambdaContext(logger, LOGGER_CONTEXT_OPTIONS))
  .handler(async (event) => {
    const parsed = finishEvent.safeParse(event);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidRequestError(`the finisher's input is not an export's: ${issue?.path.join('.')} ${issue?.message}`);
    }
    const { exportId, input, output, startedAt, resultWriterDetails }: FinishEvent = parsed.data;
    logger.appendKeys({ exportId });
    const prefix = outputPrefix(output);
    const { Bucket, Key } = resultWriterDetails;
    const files = resultManifest.parse(JSON.parse(await getText(s3, { bucket: Bucket, key: Key }))).ResultFiles;

    const totals: Totals = { counts: noCounts(), calls: 0, failedRows: 0, failedBatches: 0 };
    for (const { Key: key } of files.SUCCEEDED ?? []) {
      for (const execution of executionsIn(await getText(s3, { bucket: Bucket, key }))) {
        const result = batchResultOf(execution.Output);
        addCounts(totals.counts, result.counts);
        totals.calls += result.calls;
        totals.failedRows += result.failedRows;
      }
    }
    // Batches whose retries were spent, and (a map stopped short) those never run: nothing answered their rows.
    for (const { Key: key } of [...(files.FAILED ?? []), ...(files.PENDING ?? [])]) {
      for (const execution of executionsIn(await getText(s3, { bucket: Bucket, key }))) await recordFailedBatch(prefix, execution, totals);
    }

    const manifest = exportManifest(
      { exportId, input, output, ...totals, failed: `s3://${prefix.bucket}/${prefix.key}failed/` },
      new Date(startedAt),
      new Date(),
    );
    await putText(
      s3,
      { bucket: prefix.bucket, key: `${prefix.key}manifest.json` },
      `${JSON.stringify(manifest, null, 2)}\n`,
      'application/json',
    );
    logger.info('export finished', {
      rows: manifest.rows,
      counts: manifest.counts,
      calls: manifest.calls,
      failedBatches: manifest.failedBatches,
    });
    return manifest;
  });
