/**
 * The bulk export figure (issue 14), for bench/run.ts: `npm run export`'s code (local/export-file.ts)
 * exporting 1,000,000 accounts from a CSV to JSON Lines on the sandbox at 20 ms per TPNS call,
 * 100 ids per call, 8 calls in flight: rows/s against the ideal 8 × 100 / 0.02 s = 40,000 rows/s,
 * and peak RSS, also at 100,000 rows to show it does not grow with the rows.
 *
 * Each size runs in a fresh child process (this file, with --child), so its RSS is the export's alone.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildReport } from './support.ts';

/** `vsIdeal`: the run may take up to this × the ideal time, the tolerance of figure 2 (bench/run.ts) for the same calls. */
export const EXPORT_BENCH = {
  rows: [100_000, 1_000_000],
  latencyMs: 20,
  maxBatch: 100,
  concurrency: 8,
  vsIdeal: 1.3,
  peakRssMb: 200,
} as const;

/**
 * As package.json's "export" script runs the command: V8 otherwise grows its young generation to
 * 16 MB semi-spaces and keeps the pages, which shows as RSS rising with the rows while the live heap stays ~25 MB.
 */
const EXPORT_NODE_OPTIONS = ['--max-semi-space-size=4', '--max-old-space-size=128'];

const idealRowsPerSecond = (EXPORT_BENCH.concurrency * EXPORT_BENCH.maxBatch * 1000) / EXPORT_BENCH.latencyMs;

const writeInput = async (path: string, rows: number): Promise<void> => {
  const file = createWriteStream(path);
  const header = 'account,accountType\n';
  file.write(header);
  const perWrite = 10_000;
  for (let start = 0; start < rows; start += perWrite) {
    let text = '';
    for (let i = start; i < Math.min(rows, start + perWrite); i++) text += `bench-user-${i}@example.com,0\n`;
    if (!file.write(text)) await once(file, 'drain');
  }
  await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
};

const sandboxKnobs = async (env: NodeJS.ProcessEnv, knobs: Record<string, unknown>): Promise<void> => {
  const response = await fetch(`${env.BENCH_SANDBOX_URL}/_sandbox/knobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(knobs),
  });
  if (!response.ok) throw new Error(`sandbox knobs: HTTP ${response.status} ${await response.text()}`);
};

const runChild = (env: NodeJS.ProcessEnv, input: string, output: string) =>
  new Promise<ChildReport>((resolve, reject) => {
    const child = spawn(process.execPath, [...EXPORT_NODE_OPTIONS, fileURLToPath(import.meta.url), '--child', input, output], {
      // As `npm run export` runs: logs at ERROR, metrics off.
      env: { ...env, POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let figures: ChildReport | undefined;
    child.once('message', (message) => {
      figures = message as ChildReport;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 && figures ? resolve(figures) : reject(new Error(`the export child exited with code ${code}`)),
    );
  });

type Row = [figure: string, measured: string, target: string, ratio: string, verdict: string];
const n = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The figure's rows of bench/run.ts's table; `env` is the children's environment (the sandbox and the stand-ins). */
export const exportFigures = async (env: NodeJS.ProcessEnv): Promise<Row[]> => {
  const dir = await mkdtemp(join(tmpdir(), 'tpns-bench-export-'));
  const figures: { rows: number; report: ChildReport }[] = [];
  try {
    await sandboxKnobs(env, { latencyMs: EXPORT_BENCH.latencyMs });
    for (const rows of EXPORT_BENCH.rows) {
      const input = join(dir, `ids-${rows}.csv`);
      await writeInput(input, rows);
      figures.push({ rows, report: await runChild(env, input, join(dir, `bindings-${rows}.jsonl`)) });
      await rm(input);
    }
  } finally {
    await sandboxKnobs(env, { latencyMs: 0 });
    await rm(dir, { recursive: true, force: true });
  }
  const [small, large] = figures as [(typeof figures)[0], (typeof figures)[0]];
  const rate = (f: (typeof figures)[0]) => (f.rows * 1000) / Number(f.report.wallMs);
  const largeRate = rate(large);
  const largeRss = Number(large.report.peakRssMb);
  return [
    [
      `6. Export of ${n(large.rows)} accounts (npm run export), batch ${EXPORT_BENCH.maxBatch}, ${EXPORT_BENCH.concurrency} in flight, ${EXPORT_BENCH.latencyMs} ms/call`,
      `${n(largeRate)} rows/s (${n(Number(large.report.wallMs) / 1000, 1)} s, ${n(Number(large.report.calls))} calls; ${n(rate(small))} rows/s for ${n(small.rows)})`,
      `>= ideal ${n(idealRowsPerSecond)} rows/s / ${EXPORT_BENCH.vsIdeal}`,
      `${n(largeRate / idealRowsPerSecond, 2)} x ideal`,
      largeRate * EXPORT_BENCH.vsIdeal >= idealRowsPerSecond ? 'ok' : 'MISSED',
    ],
    [
      '   ... peak RSS of the export process',
      `${n(largeRss)} MB for ${n(large.rows)} rows, ${n(Number(small.report.peakRssMb))} MB for ${n(small.rows)}`,
      `<= ${EXPORT_BENCH.peakRssMb} MB, flat in rows`,
      `${n(largeRss / EXPORT_BENCH.peakRssMb, 2)} x target`,
      largeRss <= EXPORT_BENCH.peakRssMb ? 'ok' : 'MISSED',
    ],
  ];
};

if (process.argv[2] === '--child') {
  const [input, output] = process.argv.slice(3) as [string, string];
  const { readConfig } = await import('../functions/core/config.ts');
  const { exportFile } = await import('../local/export-file.ts');
  const config = { ...readConfig(), maxBatch: EXPORT_BENCH.maxBatch, concurrency: EXPORT_BENCH.concurrency };
  const started = performance.now();
  const { manifest } = await exportFile({ input, output, config });
  const wallMs = performance.now() - started;
  if (manifest.rows !== Number(output.match(/bindings-(\d+)/)?.[1]) || manifest.counts.not_found !== manifest.rows) {
    console.error(`the export answered ${JSON.stringify(manifest.counts)} for ${manifest.rows} rows`);
    process.exit(1);
  }
  const report: ChildReport = { wallMs, calls: manifest.calls, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  process.send?.(report, () => process.exit(0));
}
