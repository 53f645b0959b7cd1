/**
 * Figures 2 and 5, in a fresh child process of bench/run.ts (bundled as deployed), so its
 * RSS is the handler's alone.
 *
 * 2. 10,000 accounts through the handler (TPNS_MAX_BATCH 100, TPNS_CONCURRENCY 8) with 20 ms of
 *    sandbox latency per call, against the chunk-after-chunk loop a per-call SDK leaves users to write,
 *    and against the floor of this machine: the same calls, pre-built, CONCURRENCY at a time, no handler.
 * 5. Peak RSS while this fresh container serves its first 10,000-account query, and after all of them.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { FUNCTION_TIMEOUTS_MS } from '../functions/contract.ts';
import { queryAccountBindings, type TpnsQueryRequest } from '../functions/core/tpns/client.ts';
import { handler } from '../functions/http.ts';
import { lambdaContext } from '../local/lambda-context.ts';
import { SANDBOX_APPS } from '../local/sandbox/seed-data.ts';
import type { SandboxStats } from '../local/sandbox/tpns.ts';
import { accountNames, fail, LARGE_QUERY, percentile, queryEvent, report, sandboxControl } from './support.ts';

/** Runs before the measured ones, so the figure is a warm container's, not the JIT's first pass. */
const WARM_UP_RUNS = 3;

const accounts = accountNames(LARGE_QUERY.accounts);
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

const query = async (list: string[]): Promise<number> => {
  const event = queryEvent({ accounts: list });
  const started = performance.now();
  const result = (await handler(
    event,
    lambdaContext('tpns-bindings-http', FUNCTION_TIMEOUTS_MS.http),
  )) as APIGatewayProxyStructuredResultV2;
  const elapsed = performance.now() - started;
  const body = JSON.parse(result.body ?? '{}') as { accounts?: unknown[]; partial?: boolean };
  if (result.statusCode !== 200 || body.accounts?.length !== list.length || body.partial) {
    throw new Error(`handler answered ${result.statusCode} with ${body.accounts?.length} accounts, partial ${body.partial}`);
  }
  return elapsed;
};

const target = { region: 'guangzhou' as const, endpoint: process.env.TPNS_ENDPOINT, credentials: SANDBOX_APPS[0]!, auth: 'sign' as const };
const chunks = (maxBatch: number): TpnsQueryRequest[] => {
  const bodies: TpnsQueryRequest[] = [];
  for (let start = 0; start < accounts.length; start += maxBatch) {
    bodies.push({
      operator_type: 1,
      account_list: accounts.slice(start, start + maxBatch).map((account) => ({ account, account_type: 0 })),
    });
  }
  return bodies;
};

/** One signed call per chunk, each awaited before the next. */
const sequential = async (maxBatch: number): Promise<number> => {
  const started = performance.now();
  for (const body of chunks(maxBatch)) await queryAccountBindings(target, body);
  return performance.now() - started;
};

/** What this machine and sandbox allow at best: the chunks ready-made, `concurrency` calls in flight, nothing else. */
const floor = async (maxBatch: number, concurrency: number): Promise<number> => {
  const pending = chunks(maxBatch);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let body = pending.shift(); body; body = pending.shift()) await queryAccountBindings(target, body);
    }),
  );
  return performance.now() - started;
};

try {
  await query(['account1']); // the secret read and the first connection, as any first request
  await sandboxControl('/knobs', { latencyMs: LARGE_QUERY.latencyMs });
  await query(accounts);
  const firstQueryRssMb = peakRssMb();
  for (let i = 1; i < WARM_UP_RUNS; i++) await query(accounts);
  await sandboxControl('/stats/reset', {});

  const wall: number[] = [];
  for (let i = 0; i < LARGE_QUERY.runs; i++) wall.push(await query(accounts));
  const stats = (await sandboxControl('/stats')) as SandboxStats;
  const lastQueryRssMb = peakRssMb();

  const maxBatch = Number(process.env.TPNS_MAX_BATCH);
  const floors: number[] = [];
  for (let i = 0; i < LARGE_QUERY.runs; i++) floors.push(await floor(maxBatch, Number(process.env.TPNS_CONCURRENCY)));
  const sequentialMs = await sequential(maxBatch);
  await sandboxControl('/knobs', { latencyMs: 0 });
  report({
    wallMedian: percentile(wall, 50),
    wallMin: Math.min(...wall),
    wallMax: Math.max(...wall),
    callsPerQuery: stats.calls / LARGE_QUERY.runs,
    peakConcurrent: stats.peakConcurrent,
    sequentialMs,
    floorMedian: percentile(floors, 50),
    firstQueryRssMb,
    lastQueryRssMb,
    queries: WARM_UP_RUNS + LARGE_QUERY.runs,
  });
} catch (error) {
  fail(error);
}
