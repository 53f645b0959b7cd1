/**
 * A bulk export of a local file (`npm run export`, local/export.ts), on the same batch code as the
 * export's Lambda (functions/core/export). Both files are streamed; a second run over the same
 * output carries on after the rows it already holds.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open, stat, truncate } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import middy from '@middy/core';
import { SECRET_LIMITS } from '../functions/contract.ts';
import { type Clock, systemClock } from '../functions/core/clock.ts';
import type { Config } from '../functions/core/config.ts';
import { type CredentialsContext, tpnsCredentials } from '../functions/core/credentials.ts';
import { addCounts, type BatchOutput, exportBatch, type IndexedRow, noCounts, type StatusCounts } from '../functions/core/export/batch.ts';
import { type ExportManifest, exportManifest } from '../functions/core/export/manifest.ts';
import { readRows } from '../functions/core/export/read.ts';
import { lineIdentity, parseRow, rowIdentity } from '../functions/core/export/rows.ts';
import { callBudget } from '../functions/core/query/budget.ts';
import { CallRate } from '../functions/core/query/rate.ts';
import { lambdaContext } from './lambda-context.ts';

/**
 * Time a batch may take, on top of waiting for its turn under --rate: its one TPNS call per app,
 * with retries and backoff (each call is cut at 8 s).
 */
const BATCH_TIME_MS = 120_000;

export interface ExportProgress {
  /** Rows in the output, those of earlier runs included. */
  rows: number;
  /** Rows an earlier run had already exported. */
  resumedAfter: number;
  counts: StatusCounts;
  /** TPNS calls of this run. */
  calls: number;
  /** Of this run, on the export's clock. */
  elapsedMs: number;
  inputBytesRead: number;
  inputBytes: number;
}

export interface ExportFileOptions {
  input: string;
  output: string;
  /** TPNS_SECRET_ID, TPNS_ENDPOINT; maxBatch: ids per TPNS call (one batch); concurrency: calls in flight. */
  config: Config;
  /** TPNS calls per second, for the whole run; none: as fast as `concurrency` allows. */
  callsPerSecond?: number;
  clock?: Clock;
  /** Aborted: no new batch starts; those in flight are written, and a later run resumes after them. */
  signal?: AbortSignal;
  onProgress?: (progress: ExportProgress) => void;
}

/** `bindings.jsonl` → `bindings.failed.jsonl` and `bindings.manifest.json`, beside it. */
export const companionPaths = (output: string) => {
  const stem = output.replace(/\.(jsonl|ndjson|json)$/, '');
  return { failed: `${stem}.failed.jsonl`, manifest: `${stem}.manifest.json` };
};

/** A line cut short by an interrupted run is dropped: the row it began is exported again. */
const dropPartialLine = async (path: string): Promise<void> => {
  const { size } = await stat(path);
  if (size === 0) return;
  const file = await open(path, 'r');
  try {
    const block = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - block.length);
      const { bytesRead } = await file.read(block, 0, end - start, start);
      const newline = block.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (newline >= 0) {
        if (start + newline + 1 < size) await truncate(path, start + newline + 1);
        return;
      }
      end = start;
    }
    await truncate(path, 0);
  } finally {
    await file.close();
  }
};

/** What an earlier run left: its rows (one line each), their statuses, and the last row's identity. */
const readEarlierOutput = async (path: string): Promise<{ rows: number; counts: StatusCounts; last: string | undefined }> => {
  const found = { rows: 0, counts: noCounts(), last: undefined as string | undefined };
  try {
    await dropPartialLine(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return found;
    throw error;
  }
  let lastLine: string | undefined;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY })) {
    let status: unknown;
    try {
      status = (JSON.parse(line) as { status?: unknown }).status;
    } catch {
      status = undefined;
    }
    if (typeof status !== 'string' || !Object.hasOwn(found.counts, status)) {
      throw new Error(`${path} line ${found.rows + 1} is not a line of an export; give another output file`);
    }
    found.counts[status as keyof StatusCounts]++;
    found.rows++;
    lastLine = line;
  }
  if (lastLine !== undefined) found.last = lineIdentity(JSON.parse(lastLine));
  return found;
};

const write = async (stream: WriteStream, text: string): Promise<void> => {
  if (text !== '' && !stream.write(text)) await once(stream, 'drain');
};

const close = (stream: WriteStream): Promise<void> =>
  new Promise((done, fail) => stream.end((error?: Error | null) => (error ? fail(error) : done())));

/**
 * The batch function: the secret read through the real Secrets Manager path (the middleware the
 * Lambdas use, cached, re-read when TPNS refuses it), then the export's core on each batch.
 */
const batchRunner = (config: Config, callRate: CallRate, clock: Clock, waitPerBatchMs: number) =>
  middy<IndexedRow[], BatchOutput, Error, CredentialsContext>()
    .use(tpnsCredentials(config.secretId, { cooldownMs: config.secretRereadCooldownMs }))
    // One TPNS call at a time per batch: the run keeps `concurrency` batches in flight instead.
    .handler((rows, context) =>
      exportBatch(rows, {
        credentials: context.tpnsCredentials,
        deadline: clock.now() + BATCH_TIME_MS + waitPerBatchMs,
        config: { ...config, concurrency: 1 },
        clock,
        callRate,
      }),
    );

/**
 * Exports `input` to `output`: `concurrency` batches of `maxBatch` rows in flight, written in input
 * order as they finish (at most 2 × `concurrency` batches held), rows answered `error` listed in
 * `<output>.failed.jsonl`, the manifest in `<output>.manifest.json`. Memory does not grow with the rows.
 */
export const exportFile = async (options: ExportFileOptions): Promise<{ manifest: ExportManifest; resumedAfter: number }> => {
  const { config, input, output } = options;
  const clock = options.clock ?? systemClock;
  const paths = companionPaths(output);
  const startedAt = new Date();
  const started = clock.now();
  const inputBytes = (await stat(input)).size;
  const earlier = await readEarlierOutput(output);
  const callRate = new CallRate(options.callsPerSecond, clock);
  const inFlight = config.concurrency;
  // Under --rate, a batch may first wait for the calls of every batch ahead of it: each app's, retries included.
  const waitPerBatchMs =
    options.callsPerSecond === undefined ? 0 : (inFlight * SECRET_LIMITS.maxApps * callBudget(1) * 1000) / options.callsPerSecond;
  const runBatch = batchRunner(config, callRate, clock, waitPerBatchMs);
  // The credentials middleware adds `tpnsCredentials` to it.
  const context = lambdaContext('tpns-bindings-export', 15 * 60_000) as CredentialsContext;

  const counts = addCounts(noCounts(), earlier.counts);
  let rows = earlier.rows;
  const reader = createReadStream(input);
  const out = createWriteStream(output, { flags: 'a' });
  const failed = createWriteStream(paths.failed, { flags: earlier.rows > 0 ? 'a' : 'w' });
  const progress = () =>
    options.onProgress?.({
      rows,
      resumedAfter: earlier.rows,
      counts,
      calls: callRate.calls,
      elapsedMs: clock.now() - started,
      inputBytesRead: reader.bytesRead,
      inputBytes,
    });

  /** Batches in input order; each settles to its output or its error, never an unhandled rejection. */
  const pending: Promise<BatchOutput | { error: unknown }>[] = [];
  const writeOldest = async (): Promise<void> => {
    const done = await (pending.shift() as Promise<BatchOutput | { error: unknown }>);
    if ('error' in done) throw done.error;
    // The failed rows first: an interrupted run then lists a row twice at worst, never loses one.
    await write(failed, done.failedRows.join(''));
    await write(out, done.lines.join(''));
    addCounts(counts, done.counts);
    rows += done.lines.length;
    progress();
  };
  // `concurrency` batches run at once; up to as many more wait, finished, behind a slower one, so
  // that one slow call does not leave the other slots idle.
  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async (): Promise<void> => {
    while (running >= inFlight) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
  };
  const run = async (batch: IndexedRow[]): Promise<BatchOutput> => {
    await slot();
    try {
      return await runBatch(batch, context);
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
  const start = (batch: IndexedRow[]) => pending.push(run(batch).catch((error: unknown) => ({ error })));

  try {
    let index = -1;
    let batch: IndexedRow[] = [];
    for await (const row of readRows(reader)) {
      index++;
      if (index < earlier.rows) {
        if (index === earlier.rows - 1 && rowIdentity(parseRow(row)) !== earlier.last) {
          throw new Error(
            `${output} does not hold an export of ${input} (its row ${earlier.rows} is another id); give another output file`,
          );
        }
        continue;
      }
      batch.push({ index, row });
      if (batch.length < config.maxBatch) continue;
      start(batch);
      batch = [];
      if (pending.length >= 2 * inFlight) await writeOldest();
      if (options.signal?.aborted) break;
    }
    if (index + 1 < earlier.rows) throw new Error(`${output} holds ${earlier.rows} rows, more than ${input} has; give another output file`);
    if (batch.length > 0 && !options.signal?.aborted) start(batch);
    while (pending.length > 0) await writeOldest();
  } catch (error) {
    await Promise.all(pending); // nothing still calls TPNS once this returns
    throw error;
  } finally {
    await Promise.all([close(out), close(failed)]);
  }

  const manifest = exportManifest(
    {
      exportId: basename(output),
      input: resolve(input),
      output: resolve(output),
      counts,
      calls: callRate.calls,
      // Every error line's row is in the failed file, earlier runs' too.
      failedRows: counts.error,
      failedBatches: 0,
      failed: resolve(paths.failed),
    },
    startedAt,
    new Date(startedAt.getTime() + clock.now() - started),
  );
  const file = await open(paths.manifest, 'w');
  await file.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
  await file.close();
  return { manifest, resumedAfter: earlier.rows };
};
