import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CONFIG_DEFAULTS, FUNCTION_TIMEOUTS_MS, METRICS } from '../../functions/contract.ts';
import { SANDBOX_SECRET_ID } from '../../local/environment.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import type { AwsStandIn } from '../../local/sandbox/aws.ts';
import { SANDBOX_APPS } from '../../local/sandbox/seed-data.ts';
import { SANDBOX_DEFAULTS, type TpnsSandbox } from '../../local/sandbox/tpns.ts';
import { type LocalApi, startLocalApi } from '../../local/server.ts';
import {
  type ApiProcess,
  captureEmf,
  closeAll,
  type Emf,
  expectProblem,
  postQuery,
  queryEnvelope,
  realPathEnv,
  send,
  spawnLocalApi,
} from './support.ts';

/**
 * Self-protection at TPNS's limits, over real HTTP against the sandbox: the adaptive limit of calls
 * in flight (query/limiter.ts) and the circuit breaker (query/breaker.ts), both per container and app.
 */

// A short cool-down, so that recovery is seen in a test's time; metrics on, to see the state changes.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.TPNS_BREAKER_COOLDOWN_MS = '400';
});
const COOLDOWN_MS = 400;
const PROBLEM = 'urn:tpns-bindings:problem:';
const APP = SANDBOX_APPS[0]!;

let api: LocalApi;
let tpns: TpnsSandbox;
let aws: AwsStandIn;
let fixed: ApiProcess | undefined;

let emf: Emf[] = [];
/** The EMF lines that carry `name`. */
const emitted = (name: string) => emf.filter((line) => line._aws.CloudWatchMetrics.some((d) => d.Metrics.some((m) => m.Name === name)));

beforeAll(async () => {
  emf = captureEmf();
  api = await startLocalApi({ port: 0, sandbox: { secretForm: 'single' } });
  if (api.environment.mode !== 'sandbox') throw new Error('unset TPNS_SECRET_ID: these tests run on the sandbox');
  ({ tpns, aws } = api.environment);
});

afterAll(() => closeAll(fixed, api));

beforeEach(() => {
  tpns.configure({ ...SANDBOX_DEFAULTS, faultsByItem: {} });
  tpns.resetStats();
  emf.length = 0;
});

const accounts = (count: number) => Array.from({ length: count }, (_, i) => `user-${i}@example.com`);
const failedItems = (body: { accounts: { status: string }[] }) => body.accounts.filter((a) => a.status === 'error').length;

describe('adaptive concurrency under sustained rate limiting', () => {
  it('fewer TPNS calls, and no more failed items, than with a fixed TPNS_CONCURRENCY', async () => {
    // TPNS answers two calls at a time and refuses the rest as too fast: 40 chunks, 8 sent at once.
    const rateLimited = { latencyMs: 20, maxConcurrentCalls: 2 };
    const list = accounts(4_000);

    // The same handler in a container of its own, with the adaptive limit turned off.
    fixed = await spawnLocalApi({
      ...realPathEnv(aws, tpns.endpoint, SANDBOX_SECRET_ID),
      TPNS_ADAPTIVE_CONCURRENCY: 'false',
    });
    tpns.configure(rateLimited);
    const withFixed = await postQuery(fixed.url, { accounts: list });
    const fixedCalls = tpns.stats.calls;
    const fixedRefusals = tpns.stats.outcomes.filter((o) => o === '1008028').length;

    tpns.resetStats();
    const withAdaptive = await postQuery(api.url, { accounts: list });
    const adaptiveCalls = tpns.stats.calls;
    const adaptiveRefusals = tpns.stats.outcomes.filter((o) => o === '1008028').length;

    expect(withFixed.status, withFixed.text).toBe(200);
    expect(withAdaptive.status, withAdaptive.text).toBe(200);
    expect(fixedRefusals).toBeGreaterThan(0);
    expect(adaptiveCalls).toBeLessThan(fixedCalls);
    expect(adaptiveRefusals).toBeLessThan(fixedRefusals);
    expect(failedItems(withAdaptive.body)).toBeLessThanOrEqual(failedItems(withFixed.body));

    // Each change of the limit is a metric with the app's AccessId: down first, and never above the maximum.
    const limits = emitted(METRICS.concurrencyLimit);
    expect(limits.length).toBeGreaterThan(0);
    expect(limits.every((line) => line.app === APP.accessId)).toBe(true);
    const values = limits.map((line) => line[METRICS.concurrencyLimit] as number);
    expect(values[0]).toBeLessThan(CONFIG_DEFAULTS.concurrency);
    expect(Math.max(...values)).toBeLessThanOrEqual(CONFIG_DEFAULTS.concurrency);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(1);
  });

  it('the container remembers: the next request starts at the lowered limit, not at TPNS_CONCURRENCY', async () => {
    tpns.configure({ latencyMs: 20, maxConcurrentCalls: 2 });
    const answer = await postQuery(api.url, { accounts: accounts(1_000) });
    expect(answer.status, answer.text).toBe(200);
    expect(tpns.stats.peakConcurrent).toBeLessThan(CONFIG_DEFAULTS.concurrency);
  });
});

describe('circuit breaker', () => {
  const events = async () => {
    const { handler } = await import('../../functions/events.ts');
    return (event: unknown, context: Context) => (handler as unknown as (e: unknown, c: Context) => Promise<unknown>)(event, context);
  };

  it('an outage opens it; then requests fail at once with 503 tpns-unavailable and Retry-After, and no call', async () => {
    tpns.configure({ faultRate: 1, faultKinds: ['http503'], seed: 1 });
    const first = await postQuery(api.url, { accounts: accounts(800) });
    expect([502, 503]).toContain(first.status);
    // Eight chunks with up to four attempts each would be 32 calls: the breaker stopped them after its threshold.
    expect(tpns.stats.calls).toBeLessThan(CONFIG_DEFAULTS.breakerFailures + CONFIG_DEFAULTS.concurrency);
    expect(emitted(METRICS.breakerTransitions).map((line) => line.state)).toEqual(['open']);
    expect(emitted(METRICS.breakerTransitions)[0]).toMatchObject({ app: APP.accessId });

    // A single call would now take a second: an answer well within it made none.
    tpns.configure({ latencyMs: 1_000 });
    tpns.resetStats();
    const started = performance.now();
    const answer = await send(api.url, '/v1/accounts/account1/tokens');
    const elapsedMs = performance.now() - started;
    const problem = expectProblem(answer, 503);
    expect(problem.type).toBe(`${PROBLEM}tpns-unavailable`);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(answer.headers['retry-after'])).toBeLessThanOrEqual(Math.ceil(COOLDOWN_MS / 1_000));
    expect(tpns.stats.calls).toBe(0);
    expect(elapsedMs).toBeLessThan(500);

    // The events path throws (Lambda retries the event later) rather than publish the query as Failed.
    const handle = await events();
    await expect(
      handle(queryEnvelope({ accounts: ['account1'] }), lambdaContext('tpns-bindings-events', FUNCTION_TIMEOUTS_MS.events)),
    ).rejects.toMatchObject({ name: 'TpnsError', kind: 'circuit_open' });
    expect(tpns.stats.calls).toBe(0);
  });

  it('after the cool-down one probe goes; TPNS still down: open again, and the others still answered at once', async () => {
    tpns.configure({ faultRate: 1, faultKinds: ['http503'], seed: 1 });
    await sleep(COOLDOWN_MS + 50);
    const answers = await Promise.all([send(api.url, '/v1/accounts/account1/tokens'), send(api.url, '/v1/accounts/account2/tokens')]);
    expect(answers.map((a) => a.status).sort()).toEqual([503, 503]);
    expect(tpns.stats.calls).toBe(1);
    expect(emitted(METRICS.breakerTransitions).map((line) => line.state)).toEqual(['half_open', 'open']);
  });

  it('TPNS answers again: after the cool-down the probe closes it, and requests are answered', async () => {
    await sleep(COOLDOWN_MS + 50);
    const answer = await send(api.url, '/v1/accounts/account1/tokens');
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ account: 'account1', status: 'ok' });
    expect(emitted(METRICS.breakerTransitions).map((line) => line.state)).toEqual(['half_open', 'closed']);
    const many = await postQuery(api.url, { accounts: accounts(300) });
    expect(many.status, many.text).toBe(200);
    expect(many.body.partial).toBe(false);
  });

  it('sparse failures with answers between them never open it', async () => {
    for (let i = 0; i < CONFIG_DEFAULTS.breakerFailures; i++) {
      tpns.injectFaults('http503');
      expect((await send(api.url, '/v1/accounts/account1/tokens')).status).toBe(200);
    }
    expect(emitted(METRICS.breakerTransitions)).toEqual([]);
  });
});

describe('the sandbox knob', () => {
  it('maxConcurrentCalls: calls beyond it are refused with 1008028; null lifts the limit', async () => {
    tpns.configure({ latencyMs: 50, maxConcurrentCalls: 1 });
    fixed ??= await spawnLocalApi({
      ...realPathEnv(aws, tpns.endpoint, SANDBOX_SECRET_ID),
      TPNS_ADAPTIVE_CONCURRENCY: 'false',
    });
    await postQuery(fixed.url, { accounts: accounts(300) });
    expect(tpns.stats.outcomes).toContain('1008028');
    const control = await fetch(`${tpns.url}/_sandbox/knobs`, { method: 'POST', body: JSON.stringify({ maxConcurrentCalls: null }) });
    expect(((await control.json()) as { maxConcurrentCalls: unknown }).maxConcurrentCalls).toBeNull();
    expect(tpns.knobs.maxConcurrentCalls).toBe(Number.POSITIVE_INFINITY);
    const bad = await fetch(`${tpns.url}/_sandbox/knobs`, { method: 'POST', body: JSON.stringify({ maxConcurrentCalls: 0 }) });
    expect(bad.status).toBe(400);
  });
});
