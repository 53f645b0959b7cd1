/**
 * `npm run bench:instructions`: CPU per item of a 10,000-account query as instructions (valgrind's
 * callgrind, which needs `apt-get install valgrind`), for A/B comparisons that a shared machine cannot
 * upset: the count is the same whatever else runs (±0.4 % between runs here), where wall-clock and
 * CPU-time figures swing by tens of percent. The deployed bundle, the sandbox over HTTP, as in
 * `npm run bench`; V8 `--single-threaded`, so that garbage collection and compilation run in the one
 * thread measured, and `--predictable-gc-schedule`, so that collections do not follow the clock
 * (under valgrind the clock is slow and uneven: without it, the same code measured 261 and 290 M per
 * query in two runs; with it, 282.4 and 283.4 M). A variant's instructions per query are the
 * difference between a process that makes SHORT_RUN and one that makes LONG_RUN queries, divided by the
 * difference: start-up and the first request cancel out, warm-up mostly too.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { esbuildBuildOptions } from '../infra/bundling.ts';
import { startLocalEnvironment } from '../local/environment.ts';
import { deployedEnv } from './deployed-env.ts';
import { LARGE_QUERY } from './support.ts';

const SHORT_RUN = 2;
const LONG_RUN = 8;
const VARIANTS = ['project', 'floor', 'plain'] as const;
const V8_FLAGS = ['--single-threaded', '--predictable-gc-schedule'];

const standInEnv: NodeJS.ProcessEnv = {};
const local = await startLocalEnvironment(standInEnv, { secretForm: 'single' });
const childEnv = deployedEnv(standInEnv);

const workDir = await mkdtemp(join(tmpdir(), 'tpns-instructions-'));

/** Instructions of one whole child process that makes `queries` large queries with `variant`. */
const instructions = async (bundle: string, variant: string, queries: number): Promise<number> => {
  const out = join(workDir, `${variant}-${queries}.callgrind`);
  const args = ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, ...V8_FLAGS, bundle];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('valgrind', args, {
      env: { ...childEnv, BENCH_VARIANTS: variant, BENCH_QUERIES: String(queries) },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`valgrind ${variant} ${queries} exited with ${code}`))));
  });
  const totals = /^totals: (\d+)/m.exec(await readFile(out, 'utf8'));
  if (!totals) throw new Error(`no totals in ${out}`);
  return Number(totals[1]);
};

try {
  const bundle = join(workDir, 'instructions-child.cjs');
  await build({
    ...esbuildBuildOptions,
    entryPoints: [fileURLToPath(new URL('./instructions-child.ts', import.meta.url))],
    outfile: bundle,
    logLevel: 'warning',
  });
  const perQuery: Record<string, number> = {};
  // Two at a time: the counts do not depend on what else runs.
  for (const variant of VARIANTS) {
    const [short, long] = await Promise.all([instructions(bundle, variant, SHORT_RUN), instructions(bundle, variant, LONG_RUN)]);
    perQuery[variant] = (long - short) / (LONG_RUN - SHORT_RUN);
  }
  const m = (n: number) => `${(n / 1e6).toFixed(1)} M`;
  console.log(
    `instructions per ${LARGE_QUERY.accounts.toLocaleString('en-US')}-account query (callgrind, ${V8_FLAGS.join(' ')}, queries ${SHORT_RUN + 1}-${LONG_RUN}):`,
  );
  for (const variant of VARIANTS) {
    const ratio = (perQuery[variant] as number) / (perQuery.floor as number);
    console.log(`  ${variant.padEnd(8)} ${m(perQuery[variant] as number).padStart(9)}   ${ratio.toFixed(2)} x floor`);
  }
} finally {
  await rm(workDir, { recursive: true, force: true });
  await local.close();
}
