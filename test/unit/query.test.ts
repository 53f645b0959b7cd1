import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../functions/core/clock.ts';
import type { AppSecret } from '../../functions/core/credentials.ts';
import { callBudget } from '../../functions/core/query/budget.ts';
import { RETRY_DEFAULTS } from '../../functions/core/query/retry.ts';
import { CHUNK_SIZES_TTL_MS } from '../../functions/core/query/run.ts';
import { type QueryOptions, runQuery } from '../../functions/core/query.ts';
import type { Query } from '../../functions/core/request.ts';
import { ACCESS_POINTS, QUERY_PATH } from '../../functions/core/tpns/regions.ts';
import { fixedCredentials, tpnsFailure } from './_fixtures.ts';

/**
 * The query run against a scripted TPNS (undici's MockAgent, through the real client) on a clock
 * the test advances itself: backoff waits and the deadline are asserted exactly, with no race
 * against the wall clock.
 */

const { baseDelayMs, maxRetries, minCallMs } = RETRY_DEFAULTS;
const SECRET: AppSecret = { name: 'default', accessId: '1500001048', secretKey: 'sk-test', region: 'guangzhou', auth: 'sign' };
const START = 1_700_000_000_000;

interface FakeClock extends Clock {
  /** Every wait the run asked for, in order. */
  sleeps: number[];
  advance(ms: number): void;
}

/** Time moves only when the run sleeps or a scripted call says it took time; `random` is the jitter's source. */
const fakeClock = (random: () => number): FakeClock => {
  let now = START;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    random,
    sleeps,
    advance: (ms) => {
      now += ms;
    },
  };
};

/** A whole-call retCode (after `tookMs` of the clock), every item found, or a call that hangs until undici gives up. */
type Reply = { retCode: number; tookMs?: number } | 'ok' | 'hang';
/** The n-th call's reply (the last repeats), or a reply chosen by the tokens it lists. */
type Script = Reply[] | ((tokens: string[]) => Reply);

let agent: MockAgent;
/** Items per call, in the order TPNS saw them. */
let calls: number[];

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  calls = [];
});

afterEach(async () => {
  await agent.close();
});

/**
 * TPNS answers the n-th call with `script[n]` (the last entry repeats): a whole-call retCode, or every
 * item found. `tookMs` moves the clock as if the call had taken that long.
 */
const scriptTpns = (clock: FakeClock, ...script: Reply[]) => scriptTpnsBy(clock, script);

const scriptTpnsBy = (clock: FakeClock, script: Script) => {
  agent
    .get(ACCESS_POINTS.guangzhou)
    .intercept({ path: QUERY_PATH, method: 'POST' })
    .reply<object>(({ body }) => {
      const request = JSON.parse(String(body)) as { token_list: string[] };
      const reply = typeof script === 'function' ? script(request.token_list) : (script[Math.min(calls.length, script.length - 1)] ?? 'ok');
      calls.push(request.token_list.length);
      if (reply === 'hang') {
        // What undici throws when no answer comes within the call's timeout (TPNS_CALL_TIMEOUT).
        throw Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
      }
      if (reply !== 'ok') {
        clock.advance(reply.tookMs ?? 0);
        return { statusCode: 200, data: { retCode: reply.retCode, errMsg: 'scripted' } };
      }
      return {
        statusCode: 200,
        data: {
          retCode: 0,
          result: request.token_list.map(() => 0),
          token_accounts: request.token_list.map((token) => ({ token, account_list: [{ account: `a-${token}` }] })),
        },
      };
    })
    .persist();
};

const tokens = (n: number): Query => ({ kind: 'tokens', items: Array.from({ length: n }, (_, i) => `t${i}`) });

/** Chunk sizes are learned per AccessId for the life of the module: each run here is an app of its own. */
let apps = 0;

const run = (query: Query, clock: FakeClock, overrides: Partial<QueryOptions> & { deadlineInMs?: number } = {}) => {
  const secret = { ...SECRET, accessId: `app-${++apps}` };
  return runQuery(query, {
    credentials: fixedCredentials(secret),
    deadline: START + (overrides.deadlineInMs ?? 20_000),
    config: { endpoint: undefined, maxBatch: 100, concurrency: 1, ...overrides.config },
    dispatcher: agent,
    clock,
  });
};

const INTERNAL = { retCode: 1008004 };
const RATE_LIMITED = { retCode: 1008028 };

describe('retry policy: full-jitter exponential backoff', () => {
  it('waits random × base × 2^retry before each retry, and the retry succeeds', async () => {
    const clock = fakeClock(() => 0.5);
    scriptTpns(clock, INTERNAL, RATE_LIMITED, INTERNAL, 'ok');
    const result = await run(tokens(3), clock);
    expect(clock.sleeps).toEqual([0.5 * baseDelayMs, 0.5 * 2 * baseDelayMs, 0.5 * 4 * baseDelayMs]);
    expect(calls).toEqual([3, 3, 3, 3]);
    expect(result).toMatchObject({ partial: false });
    expect(result.kind === 'tokens' && result.tokens.map((t) => t.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('draws the jitter afresh for every retry', async () => {
    const draws = [0.1, 0.9, 0.3];
    const clock = fakeClock(() => draws.shift() ?? 0);
    scriptTpns(clock, INTERNAL, INTERNAL, INTERNAL, 'ok');
    await run(tokens(1), clock);
    expect(clock.sleeps).toEqual([0.1 * baseDelayMs, 0.9 * 2 * baseDelayMs, 0.3 * 4 * baseDelayMs]);
  });

  it(`gives up after ${maxRetries} retries, at the full ceiling each time, and throws the failure when no chunk was answered`, async () => {
    const clock = fakeClock(() => 1);
    scriptTpns(clock, INTERNAL);
    const error = await tpnsFailure(run(tokens(2), clock));
    expect(error).toMatchObject({ kind: 'upstream_error', code: 1008004 });
    expect(calls).toHaveLength(maxRetries + 1);
    expect(clock.sleeps).toEqual(Array.from({ length: maxRetries }, (_, retry) => baseDelayMs * 2 ** retry));
  });

  it('never retries a failure that is not transient', async () => {
    const clock = fakeClock(() => 1);
    scriptTpns(clock, { retCode: 1008001 });
    expect(await tpnsFailure(run(tokens(1), clock))).toMatchObject({ kind: 'request_rejected' });
    expect(calls).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('the deadline', () => {
  it('no retry whose wait would leave less than a call’s worth of time before the deadline', async () => {
    const clock = fakeClock(() => 1);
    scriptTpns(clock, INTERNAL);
    // Retry 0 waits 50 ms (50 + minCallMs < 200: allowed); retry 1 would wait 100 ms from t=50 (50 + 100 + minCallMs ≥ 200).
    await tpnsFailure(run(tokens(1), clock, { deadlineInMs: 2 * minCallMs }));
    expect(clock.sleeps).toEqual([baseDelayMs]);
    expect(calls).toHaveLength(2);
  });

  it('a retry that fits exactly is still refused: the wait and a whole call must fit before the deadline', async () => {
    const clock = fakeClock(() => 1);
    scriptTpns(clock, INTERNAL);
    await tpnsFailure(run(tokens(1), clock, { deadlineInMs: baseDelayMs + minCallMs }));
    expect(calls).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('no call starts with less than minCallMs left; the chunks it could not send are errors with reason "timeout"', async () => {
    const clock = fakeClock(() => 1);
    // The second chunk's call fails slowly and is not retried (no time left), and leaves the third too little.
    scriptTpns(clock, 'ok', { retCode: 1008004, tookMs: 1_000 - minCallMs + 1 }, 'ok');
    const result = await run(tokens(3), clock, { deadlineInMs: 1_000, config: { endpoint: undefined, maxBatch: 1, concurrency: 1 } });
    expect(calls).toEqual([1, 1]);
    expect(result.partial).toBe(true);
    expect(result.kind === 'tokens' && result.tokens.map(({ status, reason }) => ({ status, reason }))).toEqual([
      { status: 'ok', reason: undefined },
      { status: 'error', reason: 'unavailable' },
      { status: 'error', reason: 'timeout' },
    ]);
  });

  it('with a deadline already too close, TPNS is never called', async () => {
    const clock = fakeClock(() => 1);
    scriptTpns(clock, 'ok');
    expect(await tpnsFailure(run(tokens(1), clock, { deadlineInMs: minCallMs - 1 }))).toMatchObject({ kind: 'timeout' });
    expect(calls).toEqual([]);
  });
});

describe('failures that end the request', () => {
  it('a fatal failure stops the calls not yet started', async () => {
    const clock = fakeClock(() => 1);
    scriptTpns(clock, 'ok', { retCode: 1008031 }, 'ok');
    const error = await tpnsFailure(run(tokens(5), clock, { config: { endpoint: undefined, maxBatch: 1, concurrency: 1 } }));
    expect(error).toMatchObject({ kind: 'app_unavailable', code: 1008031 });
    expect(calls).toEqual([1, 1]);
  });

  it('a transient failure of one chunk leaves the others answered, and the result partial', async () => {
    const clock = fakeClock(() => 0);
    scriptTpns(clock, 'ok', RATE_LIMITED, RATE_LIMITED, RATE_LIMITED, RATE_LIMITED, 'ok');
    const result = await run(tokens(3), clock, { config: { endpoint: undefined, maxBatch: 1, concurrency: 1 } });
    expect(result.partial).toBe(true);
    expect(result.kind === 'tokens' && result.tokens.map(({ status, reason, code }) => ({ status, reason, code }))).toEqual([
      { status: 'ok', reason: undefined, code: undefined },
      { status: 'error', reason: 'rate_limited', code: 1008028 },
      { status: 'ok', reason: undefined, code: undefined },
    ]);
  });
});

describe('hung calls', () => {
  it('a chunk whose call timed out is tried again when the deadline leaves time', async () => {
    const clock = fakeClock(() => 1);
    scriptTpns(clock, 'hang', 'ok');
    const result = await run(tokens(2), clock);
    expect(calls).toEqual([2, 2]);
    expect(clock.sleeps).toEqual([baseDelayMs]);
    expect(result.partial).toBe(false);
  });

  it('a chunk that keeps hanging ends as items with reason "timeout"', async () => {
    const clock = fakeClock(() => 1);
    scriptTpnsBy(clock, (list) => (list.includes('t0') ? 'hang' : 'ok'));
    const result = await run(tokens(2), clock, { config: { endpoint: undefined, maxBatch: 1, concurrency: 1 } });
    expect(calls).toEqual([1, 1, 1, 1, 1]);
    expect(result.kind === 'tokens' && result.tokens.map(({ status, reason }) => ({ status, reason }))).toEqual([
      { status: 'error', reason: 'timeout' },
      { status: 'ok', reason: undefined },
    ]);
  });
});

describe('the call budget', () => {
  const refusesBad = (list: string[]): Reply => (list.some((token) => token.startsWith('bad')) ? { retCode: 1008007 } : 'ok');
  /** 10 chunks of 100, each with one id TPNS refuses. */
  const withBadIds = (): Query => ({
    kind: 'tokens',
    items: Array.from({ length: 1_000 }, (_, i) => (i % 100 === 50 ? `bad${i}` : `t${i}`)),
  });

  it('caps the calls of a request at perChunk × chunks + extra; what it could not answer says why', async () => {
    const clock = fakeClock(() => 1);
    scriptTpnsBy(clock, refusesBad);
    const result = await run(withBadIds(), clock, { config: { endpoint: undefined, maxBatch: 100, concurrency: 4 } });
    expect(calls).toHaveLength(callBudget(10));
    expect(result.partial).toBe(true);
    const items = result.kind === 'tokens' ? result.tokens : [];
    const spent = items.filter((item) => item.reason === 'call_budget_spent');
    expect(spent.length).toBeGreaterThan(0);
    expect(spent.every((item) => item.status === 'error')).toBe(true);
    // Every chunk had its try before any was halved twice: all but the refused ids' neighbourhoods are answered.
    expect(items.filter((item) => item.status === 'ok').length).toBeGreaterThan(500);
  });

  it('a single chunk can still isolate the one id TPNS refuses', async () => {
    const clock = fakeClock(() => 1);
    scriptTpnsBy(clock, refusesBad);
    const query: Query = { kind: 'tokens', items: Array.from({ length: 100 }, (_, i) => (i === 37 ? 'bad37' : `t${i}`)) };
    const result = await run(query, clock, { config: { endpoint: undefined, maxBatch: 100, concurrency: 1 } });
    expect(calls.length).toBeLessThanOrEqual(callBudget(1));
    const items = result.kind === 'tokens' ? result.tokens : [];
    expect(items.filter((item) => item.status !== 'ok').map(({ token, code }) => ({ token, code }))).toEqual([
      { token: 'bad37', code: 1008007 },
    ]);
  });
});

describe('chunk sizes learned in a warm container', () => {
  it('a size TPNS refused is not tried again by the next request of the same app', async () => {
    const clock = fakeClock(() => 1);
    scriptTpnsBy(clock, (list) => (list.length > 30 ? { retCode: 1008007 } : 'ok'));
    const secret = { ...SECRET, accessId: 'learns-sizes' };
    const once = () =>
      runQuery(tokens(100), {
        credentials: fixedCredentials(secret),
        deadline: clock.now() + 20_000,
        config: { endpoint: undefined, maxBatch: 100, concurrency: 1 },
        dispatcher: agent,
        clock,
      });
    await once();
    expect(Math.max(...calls)).toBe(100);
    calls = [];
    await once();
    expect(calls.length).toBeGreaterThan(0);
    expect(Math.max(...calls)).toBeLessThanOrEqual(30);
    // …until the memory expires: then the container learns afresh.
    clock.advance(CHUNK_SIZES_TTL_MS);
    calls = [];
    await once();
    expect(Math.max(...calls)).toBe(100);
  });
});

describe('circuit breaker, on the injected clock', () => {
  const FAILURES_TO_OPEN = 3;
  const COOLDOWN_MS = 5_000;
  /** One AccessId for every run here: the breaker is the container's, per app. */
  const runOnOneApp = (clock: FakeClock, accessId: string) =>
    runQuery(tokens(1), {
      credentials: fixedCredentials({ ...SECRET, accessId }),
      deadline: clock.now() + 20_000,
      config: { endpoint: undefined, maxBatch: 100, concurrency: 1, breakerFailures: FAILURES_TO_OPEN, breakerCooldownMs: COOLDOWN_MS },
      dispatcher: agent,
      clock,
    });

  it('once open, a request fails with no call, no wait and no time passing, saying when to come back', async () => {
    const clock = fakeClock(() => 0);
    scriptTpns(clock, INTERNAL); // TPNS fails every call
    await tpnsFailure(runOnOneApp(clock, 'breaker-open'));
    // Three outages in a row opened it: the fourth attempt was refused without a call.
    expect(calls).toHaveLength(FAILURES_TO_OPEN);

    const before = { now: clock.now(), sleeps: clock.sleeps.length, calls: calls.length };
    clock.advance(1_500);
    const error = await tpnsFailure(runOnOneApp(clock, 'breaker-open'));
    expect(error).toMatchObject({ kind: 'circuit_open', retryAfterSeconds: Math.ceil((COOLDOWN_MS - 1_500) / 1_000) });
    expect(calls).toHaveLength(before.calls);
    expect(clock.sleeps).toHaveLength(before.sleeps);
    expect(clock.now()).toBe(before.now + 1_500);
  });

  it('after the cool-down one probe goes; an answer closes it', async () => {
    const clock = fakeClock(() => 0);
    scriptTpns(clock, INTERNAL, INTERNAL, INTERNAL, 'ok');
    await tpnsFailure(runOnOneApp(clock, 'breaker-recovers'));
    clock.advance(COOLDOWN_MS);
    const result = await runOnOneApp(clock, 'breaker-recovers');
    expect(result.partial).toBe(false);
    expect(calls).toHaveLength(FAILURES_TO_OPEN + 1);
    // Closed: the next request calls at once.
    await runOnOneApp(clock, 'breaker-recovers');
    expect(calls).toHaveLength(FAILURES_TO_OPEN + 2);
  });

  it('refusals are TPNS answering: they never open it', async () => {
    const clock = fakeClock(() => 0);
    scriptTpns(clock, RATE_LIMITED);
    for (let i = 0; i < FAILURES_TO_OPEN; i++) {
      expect(await tpnsFailure(runOnOneApp(clock, 'breaker-rate-limited'))).toMatchObject({ kind: 'rate_limited' });
    }
    expect(calls).toHaveLength(FAILURES_TO_OPEN * (1 + maxRetries));
  });
});
