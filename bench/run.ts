/**
 * `npm run bench`: issue 11's figures, measured on the sandbox, printed as one table. Each figure is the
 * project's beside the floor (direct undici/fetch calls, bench/floor.ts) and the plain handler a developer
 * would write with the same SDK (bench/plain-handler.ts), built here the same way, run interleaved, and
 * given as median (min-max) over repeats. Targets are ratios within this one run: absolute figures
 * depend on how busy the machine is (the README's Performance section records them per machine).
 *
 * Every figure runs in fresh child processes, bundled by esbuild exactly as the function is deployed
 * (infra/bundling.ts) and with its environment, so the harness's own work and memory, and Node's
 * TypeScript stripper, stay out of the figures. The sandbox and the Secrets Manager stand-in run here;
 * the children reach them over HTTP. One function per figure below; `main` calls each once.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { FUNCTION_TIMEOUTS_MS } from '../functions/contract.ts';
import { esbuildBuildOptions } from '../infra/bundling.ts';
import { TPNS_BINDINGS_DEFAULTS } from '../infra/tpns-bindings.ts';
import { sandboxSecret, startLocalEnvironment } from '../local/environment.ts';
import { deployedEnv } from './deployed-env.ts';
import { exportFigures } from './export.ts';
import { accountNames, type ChildReport, LARGE_QUERY, queryEvent, type Spread, spread } from './support.ts';

/** Issue 11's targets: project ÷ reference, medians of per-repeat ratios, within one run. */
const TARGETS = {
  coldStartVsPlain: 1.0,
  coldStartVsFetchFloor: 1.25,
  cpuPerItemVsFloor: 1.5,
  wall5msVsFloor: 1.3,
  wall20msVsFloor: 1.08,
  peakRssVsFloor: 1.1,
  addedMedianMs: 0.3,
  secretReads: 1,
} as const;
/** 21: with 9, the median ratio to the plain handler moved between 0.96 and 1.13 from run to run of the same bundles. */
const COLD_STARTS = 21;
const PEAK_RSS_REPEATS = 3;
const CPU_ROUNDS = 5;
const TWO_APPS_SECRET_ID = 'tpns/two-apps';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// ── stand-ins, and the environment the deployed function would have ──────────────────────
const standInEnv: NodeJS.ProcessEnv = {};
// The figures are of one app (the single-app secret), but for the rows that say two.
const local = await startLocalEnvironment(standInEnv, { secretForm: 'single' });
if (local.mode !== 'sandbox') throw new Error('the benchmark runs on the sandbox');
local.aws.secrets.set(TWO_APPS_SECRET_ID, sandboxSecret('apps'));
const { concurrency } = TPNS_BINDINGS_DEFAULTS;
const childEnv: NodeJS.ProcessEnv = {
  ...deployedEnv(standInEnv),
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
const samples = (figures: ChildReport, key: string): number[] => figures[key] as number[];

// ── the table ────────────────────────────────────────────────────────────────────────────
type Row = [figure: string, project: string, floor: string, plain: string, ratio: string, target: string, verdict: string];
const rows: Row[] = [];
const n = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const shown = (s: Spread | undefined, unit: string, digits = 0) =>
  s ? `${n(s.median, digits)} ${unit} (${n(s.min, digits)}-${n(s.max, digits)})` : '-';
/** Per-repeat ratios (the samples are paired, taken interleaved), as median (min-max). */
const ratios = (project: readonly number[], reference: readonly number[]): Spread => spread(project.map((p, i) => p / reference[i]!));
const shownRatio = (r: Spread, of: string) => `${n(r.median, 2)} x ${of} (${n(r.min, 2)}-${n(r.max, 2)})`;
/** A ratio target, checked on the median ratio. */
const ratioRow = (figure: string, cells: [string, string, string], r: Spread, of: string, target: number): Row => [
  figure,
  ...cells,
  shownRatio(r, of),
  `<= ${target} x ${of}`,
  r.median <= target ? 'ok' : 'MISSED',
];

// ── bundles: the project's handler, the plain handler and the floors, built alike ──────────
const workDir = await mkdtemp(join(tmpdir(), 'tpns-bench-'));
/** `entry` bundled with the deployed options into workDir/`name`, named for the deployed format. */
const bundled = async (entry: string, name: string): Promise<string> => {
  const outfile = join(workDir, `${name}.${esbuildBuildOptions.format === 'cjs' ? 'cjs' : 'mjs'}`);
  await build({ ...esbuildBuildOptions, entryPoints: [here(entry)], outfile, logLevel: 'warning' });
  return outfile;
};
const eventFile = async (name: string, accounts: string[]): Promise<string> => {
  const file = join(workDir, `${name}.json`);
  await writeFile(file, JSON.stringify(queryEvent({ accounts })));
  return file;
};

type ColdVariant = 'project' | 'plain' | 'fetchFloor' | 'undiciFloor';

// ── cold start: spawn → first answer, the first secret read included ──────────────────────
const coldStart = async (bundles: Record<ColdVariant, string>, contextModule: string) => {
  const event = await eventFile('single', ['account1']);
  const args = (bundle: string) => [here('./cold-start.mjs'), bundle, contextModule, event, String(FUNCTION_TIMEOUTS_MS.http)];
  const variants = Object.keys(bundles) as ColdVariant[];
  for (const variant of variants) await runChild(args(bundles[variant])); // fills the OS file cache; not counted
  const total: Record<ColdVariant | 'bareNode', number[]> = { project: [], plain: [], fetchFloor: [], undiciFloor: [], bareNode: [] };
  const phases: { importMs: number[]; firstRequestMs: number[] } = { importMs: [], firstRequestMs: [] };
  for (let round = 0; round < COLD_STARTS; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length]!;
      const { figures, reportedAfterMs } = await runChild(args(bundles[variant]));
      if (figures.status !== 200) throw new Error(`the ${variant} bundle answered ${figures.status}`);
      total[variant].push(reportedAfterMs);
      if (variant === 'project') {
        phases.importMs.push(Number(figures.importMs));
        phases.firstRequestMs.push(Number(figures.firstRequestMs));
      }
    }
    total.bareNode.push((await runChild([here('./cold-start.mjs')])).reportedAfterMs);
  }
  const floors = `fetch ${shown(spread(total.fetchFloor), 'ms')}; undici ${shown(spread(total.undiciFloor), 'ms')}`;
  const cells: [string, string, string] = [shown(spread(total.project), 'ms'), floors, shown(spread(total.plain), 'ms')];
  rows.push(
    ratioRow('Cold start, spawn -> first answer', cells, ratios(total.project, total.plain), 'plain', TARGETS.coldStartVsPlain),
    ratioRow(
      '   ... against the fetch floor',
      ['', '', ''],
      ratios(total.project, total.fetchFloor),
      'fetch floor',
      TARGETS.coldStartVsFetchFloor,
    ),
    // The same SDK, loaded and called once, is most of what separates any handler from the fetch floor.
    [
      '   ... the plain handler against the fetch floor',
      '',
      '',
      '',
      shownRatio(ratios(total.plain, total.fetchFloor), 'fetch floor'),
      '-',
      'reported',
    ],
    [
      '   ... where the time goes (project)',
      `import ${shown(spread(phases.importMs), 'ms')}, first request ${shown(spread(phases.firstRequestMs), 'ms')}`,
      `bare Node ${shown(spread(total.bareNode), 'ms')}`,
      '',
      shownRatio(ratios(total.project, total.bareNode), 'bare Node'),
      '-',
      'reported',
    ],
  );
  const kb = async (file: string) => n((await stat(file)).size / 1024);
  rows.push([
    `   Bundle size (esbuild, minified ${esbuildBuildOptions.format}, as deployed)`,
    `${await kb(bundles.project)} KB`,
    `fetch ${await kb(bundles.fetchFloor)} KB; undici ${await kb(bundles.undiciFloor)} KB`,
    `${await kb(bundles.plain)} KB`,
    '-',
    '-',
    'reported',
  ]);
};

// ── peak RSS of a fresh container's 10,000-account query ─────────────────────────────────
const peakRss = async (bundles: Record<'project' | 'plain' | 'undiciFloor', string>, contextModule: string) => {
  const single = await eventFile('single', ['account1']);
  const large = await eventFile('large', accountNames(LARGE_QUERY.accounts));
  const variants = Object.keys(bundles) as (keyof typeof bundles)[];
  const mb: Record<keyof typeof bundles, number[]> = { project: [], plain: [], undiciFloor: [] };
  const firstMb: Record<keyof typeof bundles, number[]> = { project: [], plain: [], undiciFloor: [] };
  for (let round = 0; round < PEAK_RSS_REPEATS; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length]!;
      const args = [here('./cold-start.mjs'), bundles[variant], contextModule, single, String(FUNCTION_TIMEOUTS_MS.http), large];
      const { figures } = await runChild(args);
      mb[variant].push(Number(figures.peakRssMb));
      firstMb[variant].push(Number(figures.firstRssMb));
    }
  }
  const cells = (of: typeof mb): [string, string, string] => [
    shown(spread(of.project), 'MB'),
    shown(spread(of.undiciFloor), 'MB'),
    shown(spread(of.plain), 'MB'),
  ];
  const grown = (variant: keyof typeof bundles) => mb[variant].map((peak, i) => peak - firstMb[variant][i]!);
  rows.push(
    ratioRow(
      `Peak RSS, ${n(LARGE_QUERY.accounts)}-account query, fresh process`,
      cells(mb),
      ratios(mb.project, mb.undiciFloor),
      'floor',
      TARGETS.peakRssVsFloor,
    ),
    // Where the peak comes from: loading and the first answer (the AWS SDK, which the floor does not
    // load), then what the large query added.
    [
      '   ... of which loading and the first answer',
      ...cells(firstMb),
      shownRatio(ratios(firstMb.project, firstMb.undiciFloor), 'floor'),
      '-',
      'reported',
    ],
    [
      '   ... and what the query added',
      ...cells({ project: grown('project'), undiciFloor: grown('undiciFloor'), plain: grown('plain') }),
      shownRatio(ratios(grown('project'), grown('undiciFloor')), 'floor'),
      '-',
      'reported',
    ],
  );
};

// ── a 10,000-account query: CPU per item, and wall time at a given latency and concurrency ───
const largeQuery = (child: string, latencyMs: number, inFlight: number, env: NodeJS.ProcessEnv = {}) =>
  runChild([child], { BENCH_LATENCY_MS: String(latencyMs), TPNS_CONCURRENCY: String(inFlight), ...env });

/**
 * Each variant in processes of its own, alternating, 5 rounds: the mean CPU per item over a process's
 * 21 queries (after warm-up). Garbage collection is then paid by the variant that made the garbage,
 * amortized as a warm container pays it; with the variants in one process, a collection landed on
 * whichever query came next, and the median ratio swung by 0.3 between runs.
 */
const cpuPerItem = async (child: string) => {
  const variants = ['project', 'floor', 'plain'] as const;
  const means: Record<(typeof variants)[number], number[]> = { project: [], floor: [], plain: [] };
  for (let round = 0; round < CPU_ROUNDS; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length]!;
      const { figures } = await largeQuery(child, 0, concurrency, { BENCH_VARIANTS: variant });
      const perQuery = samples(figures, `${variant}CpuPerItemUs`);
      means[variant].push(perQuery.reduce((sum, us) => sum + us, 0) / perQuery.length);
    }
  }
  const cells: [string, string, string] = [
    shown(spread(means.project), 'us', 1),
    shown(spread(means.floor), 'us', 1),
    shown(spread(means.plain), 'us', 1),
  ];
  rows.push(
    ratioRow(
      `CPU per item, ${n(LARGE_QUERY.accounts)} accounts, 0 ms/call`,
      cells,
      ratios(means.project, means.floor),
      'floor',
      TARGETS.cpuPerItemVsFloor,
    ),
    ['   ... against the plain handler', '', '', '', shownRatio(ratios(means.project, means.plain), 'plain'), '-', 'reported'],
  );
};

const wallTime = async (child: string, latencyMs: number, inFlight: number, target: number) => {
  const { figures } = await largeQuery(child, latencyMs, inFlight, {
    BENCH_VARIANTS: 'project,floor',
    ...(latencyMs >= 20 ? { BENCH_SEQUENTIAL: '1' } : {}),
  });
  const wall = (variant: string) => samples(figures, `${variant}WallMs`);
  const cells: [string, string, string] = [shown(spread(wall('project')), 'ms'), shown(spread(wall('floor')), 'ms'), '-'];
  const figure = `${n(LARGE_QUERY.accounts)} accounts, ${latencyMs} ms/call, ${inFlight} in flight`;
  rows.push(ratioRow(figure, cells, ratios(wall('project'), wall('floor')), 'floor', target));
  if (figures.sequentialMs) {
    const sequential = samples(figures, 'sequentialMs')[0]!;
    rows.push([
      '   ... against one call at a time (a per-call SDK)',
      '',
      `${n(sequential)} ms sequential`,
      '-',
      `${n(sequential / spread(wall('project')).median, 1)} x faster`,
      '-',
      'reported',
    ]);
  }
};

/** The same at 20 ms and 8 in flight, over the sandbox's two apps in one secret (issue 10): 200 calls in one pool. */
const wallTimeTwoApps = async (child: string) => {
  const { figures } = await largeQuery(child, 20, concurrency, { BENCH_VARIANTS: 'project,floor', TPNS_SECRET_ID: TWO_APPS_SECRET_ID });
  const wall = (variant: string) => samples(figures, `${variant}WallMs`);
  const cells: [string, string, string] = [shown(spread(wall('project')), 'ms'), shown(spread(wall('floor')), 'ms'), '-'];
  rows.push(ratioRow('   ... over 2 apps (200 calls)', cells, ratios(wall('project'), wall('floor')), 'floor', TARGETS.wall20msVsFloor));
};

// ── added time per single-item request; secret reads of a warm container ───────────────────
const singleItem = async (child: string) => {
  const readsBefore = local.aws.secretReads.length;
  const { figures } = await runChild([child]);
  const secretReads = local.aws.secretReads.length - readsBefore;
  const { figures: twoApps } = await runChild([child], { TPNS_SECRET_ID: TWO_APPS_SECRET_ID });
  const handler = samples(figures, 'handlerBlockMedians');
  const direct = samples(figures, 'directBlockMedians');
  const added = spread(handler.map((h, i) => h - direct[i]!));
  rows.push(
    [
      `Added per single-item request (median of ${n(Number(figures.pairs))} interleaved pairs)`,
      shown(spread(handler), 'ms', 3),
      `direct undici ${shown(spread(direct), 'ms', 3)}`,
      '-',
      `+${shown(added, 'ms', 3)}; ${shownRatio(ratios(handler, direct), 'direct')}`,
      `<= +${TARGETS.addedMedianMs} ms`,
      added.median <= TARGETS.addedMedianMs ? 'ok' : 'MISSED',
    ],
    [
      '   ... with two apps instead of one',
      shown(spread(samples(twoApps, 'handlerBlockMedians')), 'ms', 3),
      '',
      '',
      shownRatio(ratios(samples(twoApps, 'handlerBlockMedians'), handler), 'one app'),
      '-',
      'reported',
    ],
    [
      'GetSecretValue calls, one warm container',
      `${secretReads} over ${n(Number(figures.invocations))} invocations`,
      '',
      '',
      '-',
      `${TARGETS.secretReads}`,
      secretReads === TARGETS.secretReads ? 'ok' : 'MISSED',
    ],
  );
};

/** The figures, in the order they run; `npm run bench -- <name>...` runs only those named. */
const FIGURES = {
  'cold-start': (b) =>
    coldStart({ project: b.project, plain: b.plain, fetchFloor: b.fetchFloor, undiciFloor: b.undiciFloor }, b.contextModule),
  cpu: (b) => cpuPerItem(b.throughputChild),
  'wall-5ms': (b) => wallTime(b.throughputChild, 5, 32, TARGETS.wall5msVsFloor),
  'wall-20ms': (b) => wallTime(b.throughputChild, 20, 8, TARGETS.wall20msVsFloor),
  'wall-two-apps': (b) => wallTimeTwoApps(b.throughputChild),
  'peak-rss': (b) => peakRss({ project: b.project, plain: b.plain, undiciFloor: b.undiciFloor }, b.contextModule),
  'single-item': (b) => singleItem(b.overheadChild),
  // Against the ideal rate (no floor or plain handler to compare a whole export with).
  export: async () => {
    for (const [figure, measured, target, ratio, verdict] of await exportFigures(childEnv))
      rows.push([figure, measured, '-', '-', ratio, target, verdict]);
  },
} satisfies Record<string, (bundles: Bundles) => Promise<void>>;

type Bundles = Record<'project' | 'plain' | 'fetchFloor' | 'undiciFloor' | 'contextModule' | 'throughputChild' | 'overheadChild', string>;

const main = async (names: string[]) => {
  const unknown = names.filter((name) => !Object.hasOwn(FIGURES, name));
  if (unknown.length) throw new Error(`unknown figure ${unknown.join(', ')}: choose from ${Object.keys(FIGURES).join(', ')}`);
  const [project, plain, fetchFloor, undiciFloor, contextModule, throughputChild, overheadChild] = await Promise.all([
    bundled('../functions/http.ts', 'index'),
    bundled('./plain-handler.ts', 'plain-handler'),
    bundled('./floor-fetch.ts', 'floor-fetch'),
    bundled('./floor-undici.ts', 'floor-undici'),
    bundled('../local/lambda-context.ts', 'lambda-context'),
    bundled('./throughput.ts', 'throughput'),
    bundled('./overhead.ts', 'overhead'),
  ]);
  const bundles: Bundles = { project, plain, fetchFloor, undiciFloor, contextModule, throughputChild, overheadChild };
  for (const [name, figure] of Object.entries(FIGURES)) if (names.length === 0 || names.includes(name)) await figure(bundles);
};

try {
  await main(process.argv.slice(2));
} finally {
  await rm(workDir, { recursive: true, force: true });
  await local.close();
}

const header: Row = ['figure', 'project', 'floor', 'plain handler', 'ratio, median (min-max)', 'target', 'verdict'];
const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)));
const line = (row: Row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ');
console.log(
  `tpns-bindings benchmark on the sandbox: ${cpus().length} x ${cpus()[0]?.model.trim()}, Node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const row of rows) console.log(line(row));
