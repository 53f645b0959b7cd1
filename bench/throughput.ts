/**
 * A 10,000-account query through the project's handler, the floor (bench/floor.ts over undici) and the
 * plain handler (bench/plain-handler.ts), in one child process of bench/run.ts bundled as deployed,
 * interleaved round by round (the order rotates), so a busy moment of the machine hits all of them.
 * Per query: wall time, and this process's CPU time per account (the sandbox runs in the parent).
 *
 * Environment: BENCH_LATENCY_MS (sandbox latency per call), BENCH_VARIANTS (comma list of
 * project, floor, plain), BENCH_SEQUENTIAL=1 also times the floor one call at a time.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { FUNCTION_TIMEOUTS_MS } from '../functions/contract.ts';
import { handler as projectHandler } from '../functions/http.ts';
import { lambdaContext } from '../local/lambda-context.ts';
import { floorQuery, readApps } from './floor.ts';
import { handler as floorHandler, undiciPost } from './floor-undici.ts';
import { handler as plainHandler } from './plain-handler.ts';
import { accountNames, fail, LARGE_QUERY, queryEvent, report, sandboxControl } from './support.ts';

const WARM_UP_ROUNDS = 2;

type Variant = 'project' | 'floor' | 'plain';
const HANDLERS = { project: projectHandler, floor: floorHandler, plain: plainHandler } as const;
const variants = (process.env.BENCH_VARIANTS ?? 'project,floor,plain').split(',') as Variant[];
const accounts = accountNames(LARGE_QUERY.accounts);

const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** One query; wall ms and CPU µs per account. */
const query = async (variant: Variant, list: readonly string[]): Promise<{ wallMs: number; cpuPerItemUs: number }> => {
  const event = queryEvent({ accounts: list });
  const context = lambdaContext('tpns-bindings-http', FUNCTION_TIMEOUTS_MS.http);
  const cpuBefore = cpuMicros();
  const started = performance.now();
  const result = (await HANDLERS[variant](event, context)) as APIGatewayProxyStructuredResultV2;
  const wallMs = performance.now() - started;
  const cpuPerItemUs = (cpuMicros() - cpuBefore) / list.length;
  if (result.statusCode !== 200) throw new Error(`${variant} answered ${result.statusCode}: ${result.body?.slice(0, 300)}`);
  if (variant === 'project') {
    const body = JSON.parse(result.body ?? '{}') as { accounts?: unknown[]; partial?: boolean };
    if (body.accounts?.length !== list.length || body.partial)
      throw new Error(`project answered ${body.accounts?.length} accounts, partial ${body.partial}`);
  }
  return { wallMs, cpuPerItemUs };
};

// No top-level await: the child is bundled as the handler is, as CommonJS.
const main = async () => {
  // The secret read and the first connections, as any first request; then the latency under test.
  for (const variant of variants) await query(variant, ['account1']);
  await sandboxControl('/knobs', { latencyMs: Number(process.env.BENCH_LATENCY_MS) });
  const figures: Record<string, number[]> = {};
  for (let round = 0; round < WARM_UP_ROUNDS + LARGE_QUERY.runs; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length]!;
      const { wallMs, cpuPerItemUs } = await query(variant, accounts);
      if (round < WARM_UP_ROUNDS) continue;
      figures[`${variant}WallMs`] = [...(figures[`${variant}WallMs`] ?? []), wallMs];
      figures[`${variant}CpuPerItemUs`] = [...(figures[`${variant}CpuPerItemUs`] ?? []), cpuPerItemUs];
    }
  }
  if (process.env.BENCH_SEQUENTIAL) {
    // What a per-call SDK leaves users to write: chunk after chunk.
    const apps = await readApps(undiciPost);
    const started = performance.now();
    await floorQuery(undiciPost, apps, accounts, Number(process.env.TPNS_MAX_BATCH), 1);
    figures.sequentialMs = [performance.now() - started];
  }
  await sandboxControl('/knobs', { latencyMs: 0 });
  report(figures);
};

main().catch(fail);
