/**
 * `npm run export -- ids.csv bindings.jsonl [--rate N] [--batch N] [--concurrency N]`: exports a
 * local file (local/export-file.ts) against the sandbox (as `npm start`) or, with TPNS_SECRET_ID
 * set, against TPNS; progress on a terminal, a summary at the end.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { StatusCounts } from '../functions/core/export/batch.ts';
import type { ExportManifest } from '../functions/core/export/manifest.ts';
import type { ExportProgress } from './export-file.ts';

// ── the command ───────────────────────────────────────────────────────────────────────────
const USAGE =
  'usage: npm run export -- <ids.csv | ids.jsonl> <bindings.jsonl> [--rate <TPNS calls/s>] [--batch <ids per call>] [--concurrency <calls in flight>]';
/** How often a terminal's progress line is redrawn. */
const PROGRESS_EVERY_MS = 250;

const number = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits });
const duration = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
};
const statuses = (counts: StatusCounts) =>
  `ok ${number(counts.ok)} · not_found ${number(counts.not_found)} · invalid ${number(counts.invalid)} · error ${number(counts.error)}`;

/** Rows done, rows/s, ETA (from the share of the input read), items by status. */
export const progressLine = (p: ExportProgress): string => {
  const done = p.rows - p.resumedAfter;
  const perSecond = p.elapsedMs > 0 ? (done * 1000) / p.elapsedMs : 0;
  const share = p.inputBytes > 0 ? Math.min(1, p.inputBytesRead / p.inputBytes) : 1;
  const eta = share > 0 && done > 0 ? duration((p.elapsedMs * (1 - share)) / share) : '?';
  return `${number(p.rows)} rows · ${number(perSecond)} rows/s · ETA ${eta} · ${statuses(p.counts)}`;
};

export const summary = (m: ExportManifest, resumedAfter: number): string =>
  [
    `exported ${number(m.rows)} rows to ${m.output} in ${duration(m.durationMs)}${resumedAfter > 0 ? ` (resumed after ${number(resumedAfter)})` : ''}: ${number(m.calls)} TPNS calls`,
    `  ${statuses(m.counts)}`,
    m.failedRows > 0
      ? `  ${number(m.failedRows)} rows failed after their retries; they are listed in ${m.failed}: export that file to ask again`
      : '  no row failed',
  ].join('\n');

const parseCommand = (argv: string[]) => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { rate: { type: 'string' }, batch: { type: 'string' }, concurrency: { type: 'string' } },
  });
  if (positionals.length !== 2) throw new Error(USAGE);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0))
    throw new Error(`--rate must be a positive number of TPNS calls per second, not "${values.rate}"`);
  return { input: positionals[0] as string, output: positionals[1] as string, rate, batch: values.batch, concurrency: values.concurrency };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Logs (a retried call, a re-read secret) would break the progress line; POWERTOOLS_LOG_LEVEL=INFO shows them.
  // Set before the functions' modules load: their Logger and Metrics read them once.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const [{ readConfig }, { startLocalEnvironment }, { exportFile }] = await Promise.all([
    import('../functions/core/config.ts'),
    import('./environment.ts'),
    import('./export-file.ts'),
  ]);
  let command: ReturnType<typeof parseCommand>;
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  // The flags are the functions' own settings (TPNS_MAX_BATCH, TPNS_CONCURRENCY), checked by the same rules.
  if (command.batch !== undefined) process.env.TPNS_MAX_BATCH = command.batch;
  if (command.concurrency !== undefined) process.env.TPNS_CONCURRENCY = command.concurrency;
  const environment = await startLocalEnvironment(process.env);
  let config: ReturnType<typeof readConfig>;
  try {
    config = readConfig();
  } catch (error) {
    console.error((error as Error).message.replace('TPNS_MAX_BATCH', '--batch').replace('TPNS_CONCURRENCY', '--concurrency'));
    await environment.close();
    process.exit(2);
  }
  console.error(
    environment.mode === 'sandbox'
      ? `exporting on the embedded TPNS sandbox (${environment.tpns.url})`
      : `exporting against TPNS with secret "${config.secretId}"${config.endpoint ? ` at ${config.endpoint}` : ''}`,
  );
  const stop = new AbortController();
  process.once('SIGINT', () => {
    console.error('\nstopping after the batches in flight; run the same command again to resume');
    stop.abort();
  });
  const tty = process.stderr.isTTY;
  let drawn = 0;
  try {
    const { manifest, resumedAfter } = await exportFile({
      input: command.input,
      output: command.output,
      config,
      callsPerSecond: command.rate,
      signal: stop.signal,
      onProgress: (p) => {
        if (!tty || Date.now() - drawn < PROGRESS_EVERY_MS) return;
        drawn = Date.now();
        process.stderr.write(`\r\x1b[2K${progressLine(p)}`);
      },
    });
    if (tty) process.stderr.write('\r\x1b[2K');
    console.error(summary(manifest, resumedAfter));
    process.exitCode = stop.signal.aborted ? 130 : 0;
  } catch (error) {
    if (tty) process.stderr.write('\n');
    console.error(`export stopped: ${(error as Error).message}`);
    process.exitCode = 1;
  } finally {
    await environment.close();
  }
}
