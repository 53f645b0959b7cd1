import { describe, expect, it } from 'vitest';
import { progressLine, summary } from '../../local/export.ts';

const counts = { ok: 1_200, not_found: 3_000, invalid: 7, error: 2 };

describe('npm run export: what a terminal shows', () => {
  it('progress: rows done, rows/s of this run, ETA from the share of the input read, items by status', () => {
    const line = progressLine({
      rows: 5_209,
      resumedAfter: 1_000,
      counts,
      calls: 43,
      elapsedMs: 2_000,
      inputBytesRead: 250_000,
      inputBytes: 1_000_000,
    });
    // 4,209 rows in 2 s; a quarter of the input read in 2 s leaves 6 s.
    expect(line).toBe('5,209 rows · 2,105 rows/s · ETA 6s · ok 1,200 · not_found 3,000 · invalid 7 · error 2');
  });

  it('the summary says where the failed rows are, and that the run resumed', () => {
    const text = summary(
      {
        exportId: 'b.jsonl',
        input: '/tmp/ids.csv',
        output: '/tmp/b.jsonl',
        rows: 4_209,
        counts,
        calls: 43,
        failedRows: 2,
        failedBatches: 0,
        failed: '/tmp/b.failed.jsonl',
        startedAt: '2026-12-04T10:00:00.000Z',
        finishedAt: '2026-12-04T10:01:05.000Z',
        durationMs: 65_000,
      },
      1_000,
    );
    expect(text).toBe(
      [
        'exported 4,209 rows to /tmp/b.jsonl in 1m05s (resumed after 1,000): 43 TPNS calls',
        '  ok 1,200 · not_found 3,000 · invalid 7 · error 2',
        '  2 rows failed after their retries; they are listed in /tmp/b.failed.jsonl: export that file to ask again',
      ].join('\n'),
    );
  });
});
