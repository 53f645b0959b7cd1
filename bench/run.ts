/**
 * `npm run bench`: the figures of issue 3, measured on the sandbox, printed as one table.
 * Figures, not a test: they depend on the machine (the README's Performance section records them per machine).
 *
 * Each figure runs in its own fresh child process, bundled by esbuild exactly as the function
 * is deployed (infra/bundling.ts) and with its environment, so the harness's own work and memory,
 * and Node's TypeScript stripper, stay out of the figures. The sandbox and the Secrets Manager
 * stand-in run here; the children reach them over HTTP.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { FUNCTION_TIMEOUTS_MS, METRICS_NAMESPACE, SERVICE_NAME } from '../functions/contract.ts';
import { esbuildBuildOptions } from '../infra/bundling.ts';
import { TPNS_BINDINGS_DEFAULTS } from '../infra/tpns-bindings.ts';
import { sandboxSecret, startLocalEnvironment } from '../local/environment.ts';
import { exportFigures } from './export.ts';
import { type ChildReport, LARGE_QUERY, percentile, queryEvent } from './support.ts';

const TARGETS = {
  addedMedianMs: 0.3,
  largeQueryVsIdeal: 1.3,
  sequentialSpeedup: 6,
  secretReads: 1,
  coldStartMs: 150,
  peakRssMb: 150,
} as const;
const COLD_STARTS = 7;
const TWO_APPS_SECRET_ID = 'tpns/two-apps';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// ── stand-ins, and the environment the deployed function would have ──────────────────────
const standInEnv: NodeJS.ProcessEnv = {};
// The figures below are of one app: the single-app secret.
const local = await startLocalEnvironment(standInEnv, { secretForm: 'single' });
if (local.mode !== 'sandbox') throw new Error('the benchmark runs on the sandbox');
const { maxBatch, concurrency, logLevel } = TPNS_BINDINGS_DEFAULTS;
const childEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  ...standInEnv,
  // As infra/tpns-bindings.ts sets them (metrics and INFO logs on; stdout goes to /dev/null here).
  TPNS_MAX_BATCH: String(maxBatch),
  TPNS_CONCURRENCY: String(concurrency),
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  POWERTOOLS_LOG_LEVEL: logLevel,
  // NODE_OPTIONS stays unset, as deployed by default (the construct's sourceMapStackTraces prop).
  BENCH_SANDBOX_URL: local.tpns.url,
};

/** Runs one child to its end; `reportedAfterMs` is from spawn to its report arriving here. */
const runChild = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  new Promise<{ figures: ChildReport; reportedAfterMs: number }>((resolve, reject) => {
    const spawned = performance.now();
    const child = spawn(process.execPath, args, { env: { ...childEnv, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let result: { figures: ChildReport; reportedAfterMs: number } | undefined;
    child.once('message', (figures) => {
      result = { figures: figures as ChildReport, reportedAfterMs: performance.now() - spawned };
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 && result ? resolve(result) : reject(new Error(`${args.join(' ')} exited with code ${code}`)),
    );
  });

const n = (value: number | string | undefined, digits = 0) =>
  Number(value).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

type Row = [figure: string, measured: string, target: string, ratio: string, verdict: string];
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
const rows: Row[] = [];

const workDir = await mkdtemp(join(tmpdir(), 'tpns-bench-'));
/** `entry` bundled with the deployed options into workDir/`name`. */
const bundled = async (entry: string, name: string): Promise<string> => {
  const outfile = join(workDir, name);
  await build({ ...esbuildBuildOptions, entryPoints: [here(entry)], outfile, logLevel: 'warning' });
  return outfile;
};

try {
  const [bundle, contextModule, overheadChild, largeQueryChild] = await Promise.all([
    bundled('../functions/http.ts', 'index.mjs'),
    bundled('../local/lambda-context.ts', 'lambda-context.mjs'),
    bundled('./overhead.ts', 'overhead.mjs'),
    bundled('./large-query.ts', 'large-query.mjs'),
  ]);

  // ── 4. cold start of the deployed bundle ─────────────────────────────────────────────────
  const eventFile = join(workDir, 'event.json');
  await writeFile(eventFile, JSON.stringify(queryEvent({ accounts: ['account1'] })));
  const bundleKb = (await stat(bundle)).size / 1024;

  const coldStartArgs = [here('./cold-start.mjs'), bundle, contextModule, eventFile, String(FUNCTION_TIMEOUTS_MS.http)];
  await runChild(coldStartArgs); // fills the OS file cache; not counted
  const cold: { total: number; node: number; importMs: number; firstRequest: number }[] = [];
  const bareNode: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const { figures, reportedAfterMs } = await runChild(coldStartArgs);
    if (figures.status !== 200) throw new Error(`the bundled handler answered ${figures.status}`);
    cold.push({
      total: reportedAfterMs,
      node: Number(figures.nodeStartMs),
      importMs: Number(figures.importMs),
      firstRequest: Number(figures.firstRequestMs),
    });
    bareNode.push((await runChild([here('./cold-start.mjs')], { NODE_OPTIONS: '' })).reportedAfterMs);
  }
  const median = (pick: (c: (typeof cold)[number]) => number) => percentile(cold.map(pick), 50);
  const coldMs = median((c) => c.total);

  // ── 1 and 3. overhead of the handler; secret reads of a warm container ───────────────────
  const readsBefore = local.aws.secretReads.length;
  const { figures: overhead } = await runChild([overheadChild]);
  const secretReads = local.aws.secretReads.length - readsBefore;
  // The same, and figure 2, for a product of two apps (issue 10): the sandbox's two apps in one secret.
  local.aws.secrets.set(TWO_APPS_SECRET_ID, sandboxSecret('apps'));
  const { figures: overheadTwoApps } = await runChild([overheadChild], { TPNS_SECRET_ID: TWO_APPS_SECRET_ID });
  const addedByTwoApps = Number(overheadTwoApps.handlerMedian) - Number(overhead.handlerMedian);
  const addedMedian = Number(overhead.handlerMedian) - Number(overhead.directMedian);
  const addedP99 = Number(overhead.handlerP99) - Number(overhead.directP99);
  rows.push(
    [
      '1. Added per single-item request, median',
      `${n(addedMedian, 3)} ms (handler ${n(overhead.handlerMedian, 3)}, direct undici ${n(overhead.directMedian, 3)}; ${n(overhead.pairs)} pairs)`,
      `<= ${TARGETS.addedMedianMs} ms`,
      `${n(addedMedian / TARGETS.addedMedianMs, 2)} x target`,
      verdict(addedMedian <= TARGETS.addedMedianMs),
    ],
    [
      '   ... with two apps instead of one, median',
      `${n(addedByTwoApps, 3)} ms more (handler ${n(overheadTwoApps.handlerMedian, 3)} with 2 apps, ${n(overhead.handlerMedian, 3)} with 1)`,
      '-',
      `${n(Number(overheadTwoApps.handlerMedian) / Number(overhead.handlerMedian), 2)} x one app`,
      'reported',
    ],
    [
      '   Added per single-item request, p99',
      `${n(addedP99, 3)} ms (handler ${n(overhead.handlerP99, 3)}, direct undici ${n(overhead.directP99, 3)})`,
      '-',
      '-',
      'reported',
    ],
  );

  // ── 2 and 5. a 10,000-account query; peak RSS ────────────────────────────────────────────
  const { figures: large } = await runChild([largeQueryChild]);
  const { figures: largeTwoApps } = await runChild([largeQueryChild], { TPNS_SECRET_ID: TWO_APPS_SECRET_ID });
  const idealTwoAppsMs = Math.ceil((2 * Math.ceil(LARGE_QUERY.accounts / maxBatch)) / concurrency) * LARGE_QUERY.latencyMs;
  const wallTwoApps = Number(largeTwoApps.wallMedian);
  const chunks = Math.ceil(LARGE_QUERY.accounts / maxBatch);
  const idealMs = Math.ceil(chunks / concurrency) * LARGE_QUERY.latencyMs;
  const wall = Number(large.wallMedian);
  const speedup = Number(large.sequentialMs) / wall;
  rows.push(
    [
      `2. ${n(LARGE_QUERY.accounts)} accounts, batch ${maxBatch}, concurrency ${concurrency}, ${LARGE_QUERY.latencyMs} ms/call`,
      `${n(wall)} ms median of ${LARGE_QUERY.runs} (${n(large.wallMin)}-${n(large.wallMax)}; ${n(large.callsPerQuery)} calls, peak ${large.peakConcurrent} in flight; floor here ${n(large.floorMedian)})`,
      `<= ${TARGETS.largeQueryVsIdeal} x ideal ${idealMs} ms`,
      `${n(wall / idealMs, 2)} x ideal`,
      verdict(wall <= TARGETS.largeQueryVsIdeal * idealMs),
    ],
    [
      '   ... against a sequential chunk-after-chunk loop',
      `${n(large.sequentialMs)} ms sequential`,
      `>= ${TARGETS.sequentialSpeedup} x faster`,
      `${n(speedup, 1)} x faster`,
      verdict(speedup >= TARGETS.sequentialSpeedup),
    ],
    [
      `   ... over 2 apps (one pool of ${concurrency})`,
      `${n(wallTwoApps)} ms median of ${LARGE_QUERY.runs} (${n(largeTwoApps.wallMin)}-${n(largeTwoApps.wallMax)}; ${n(largeTwoApps.callsPerQuery)} calls, peak ${largeTwoApps.peakConcurrent} in flight)`,
      `<= ${TARGETS.largeQueryVsIdeal} x ideal ${idealTwoAppsMs} ms`,
      `${n(wallTwoApps / idealTwoAppsMs, 2)} x ideal`,
      verdict(wallTwoApps <= TARGETS.largeQueryVsIdeal * idealTwoAppsMs),
    ],
    [
      '3. GetSecretValue calls, one warm container',
      `${secretReads} over ${n(overhead.invocations)} invocations (first ${n(overhead.warmInvocations)} included)`,
      `${TARGETS.secretReads}`,
      `${secretReads}`,
      verdict(secretReads === TARGETS.secretReads),
    ],
    [
      '4. Cold start: spawn -> first response (bundle)',
      `${n(coldMs)} ms median of ${COLD_STARTS} (Node ${n(median((c) => c.node))}, import ${n(median((c) => c.importMs))}, first request ${n(median((c) => c.firstRequest))}; bare Node ${n(percentile(bareNode, 50))})`,
      `<= ${TARGETS.coldStartMs} ms`,
      `${n(coldMs / TARGETS.coldStartMs, 2)} x target`,
      verdict(coldMs <= TARGETS.coldStartMs),
    ],
    ['   Bundle size (esbuild, minified ESM, as deployed)', `${n(bundleKb)} KB (source map apart)`, '-', '-', 'reported'],
    [
      `5. Peak RSS, ${n(LARGE_QUERY.accounts)}-account query`,
      `${n(large.firstQueryRssMb)} MB in a fresh container's first (${n(large.lastQueryRssMb)} MB after ${large.queries})`,
      `<= ${TARGETS.peakRssMb} MB`,
      `${n(Number(large.firstQueryRssMb) / TARGETS.peakRssMb, 2)} x target`,
      verdict(Number(large.firstQueryRssMb) <= TARGETS.peakRssMb),
    ],
  );
  rows.push(...(await exportFigures(childEnv)));
} finally {
  await rm(workDir, { recursive: true, force: true });
  await local.close();
}

const header: Row = ['figure', 'measured', 'target', 'ratio', 'verdict'];
const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)));
const line = (row: Row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ');
console.log(`tpns-bindings benchmark on the sandbox: ${cpus().length} x ${cpus()[0]?.model.trim()}, Node ${process.version}`);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const row of rows) console.log(line(row));
