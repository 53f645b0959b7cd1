import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TPNS_CODE } from '../../functions/core/tpns/codes.ts';
import { SANDBOX_SECRET_ID } from '../../local/environment.ts';
import type { AwsStandIn } from '../../local/sandbox/aws.ts';
import { SANDBOX_APPS } from '../../local/sandbox/seed-data.ts';
import { type Fault, SANDBOX_DEFAULTS, type TpnsSandbox } from '../../local/sandbox/tpns.ts';
import { type LocalApi, startLocalApi } from '../../local/server.ts';
import { fixedCredentials } from '../unit/_fixtures.ts';
import {
  type ApiProcess,
  captureEmf,
  closeAll,
  type Emf,
  expectProblem,
  postQuery,
  realPathEnv,
  secretFor,
  send,
  spawnLocalApi,
} from './support.ts';

// Metrics are on in this file (EMF lines are captured below); the Metrics instance reads this at import.
// These tests stage outages back to back to watch the retries: a breaker at its default would open
// part-way and answer the later ones itself (its own tests: test/integration/self-protection.test.ts).
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.TPNS_BREAKER_FAILURES = '1000';
});

/**
 * A function timeout short enough to see the deadline at work: the handler keeps 1 s back from it,
 * and the adapter answers a bare 500 at it (Lambda's timeout), so a problem+json answer shows the
 * handler was on time without a wall-clock assertion.
 */
const SHORT_FUNCTION_TIMEOUT_MS = 3_000;
const PROBLEM = 'urn:tpns-bindings:problem:';
const APP = SANDBOX_APPS[0]!;

let api: LocalApi;
/** The same handler behind an adapter whose Lambda context has SHORT_FUNCTION_TIMEOUT_MS. */
let hurried: LocalApi;
let tpns: TpnsSandbox;
let aws: AwsStandIn;

let emf: Emf[] = [];

beforeAll(async () => {
  emf = captureEmf();
  api = await startLocalApi({ port: 0, sandbox: { secretForm: 'single' } });
  hurried = await startLocalApi({ port: 0, functionTimeoutMs: SHORT_FUNCTION_TIMEOUT_MS, sandbox: { secretForm: 'single' } });
  if (api.environment.mode !== 'sandbox') throw new Error('unset TPNS_SECRET_ID: these tests run on the sandbox');
  ({ tpns, aws } = api.environment);
});

afterAll(() => closeAll(hurried, api));

beforeEach(() => {
  tpns.configure({ ...SANDBOX_DEFAULTS, faultsByItem: {} });
  tpns.resetStats();
  emf.length = 0;
});

const getAccount1 = (base = api.url) => send(base, '/v1/accounts/account1/tokens');
const accounts = (count: number) => ['account1', ...Array.from({ length: count - 1 }, (_, i) => `user-${i}@example.com`)];
const secretReads = () => aws.secretReads.length;

/** Every value a metric got in the EMF lines captured so far, with the definition that carried it. */
const metric = (name: string) => {
  const found = emf.flatMap((line) =>
    line._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.filter((m) => m.Name === name).map((m) => ({
        ...m,
        namespace: directive.Namespace,
        dimensions: directive.Dimensions,
        line,
      })),
    ),
  );
  const values = found.flatMap(({ line }) => [line[name]].flat() as number[]);
  return { found, values, total: values.reduce((sum, v) => sum + v, 0) };
};

const TRANSIENT: { name: string; fault: Fault; outcome: string; status: number; type: string; code?: number }[] = [
  { name: 'a connection reset', fault: 'reset', outcome: 'reset', status: 502, type: 'tpns-unavailable' },
  { name: 'HTTP 503', fault: 'http503', outcome: 'http503', status: 502, type: 'tpns-upstream-error' },
  { name: 'HTTP 429', fault: 'http429', outcome: 'http429', status: 503, type: 'tpns-rate-limited' },
  { name: '1008004 internal error', fault: 'internal', outcome: '1008004', status: 502, type: 'tpns-upstream-error', code: 1008004 },
  { name: '1008028 request too fast', fault: 'rate_limited', outcome: '1008028', status: 503, type: 'tpns-rate-limited', code: 1008028 },
];

describe('transient failures are retried', () => {
  it.each(TRANSIENT)('$name: retried, and the retry answers', async ({ fault, outcome }) => {
    tpns.injectFaults(fault);
    const answer = await getAccount1();
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ account: 'account1', status: 'ok', tokens: ['token1', 'token2'] });
    expect(tpns.stats.outcomes).toEqual([outcome, '0']);
  });

  it.each(TRANSIENT)("$name: at most 3 retries, then the core's $status", async ({ fault, outcome, status, type, code }) => {
    // A fifth attempt would find TPNS healthy again and answer 200.
    tpns.injectFaults(fault, fault, fault, fault);
    const problem = expectProblem(await getAccount1(), status);
    expect(problem.type).toBe(PROBLEM + type);
    expect(problem.tpnsCode).toBe(code);
    expect(tpns.stats.outcomes).toEqual([outcome, outcome, outcome, outcome]);
  });
});

describe('permanent failures are not retried', () => {
  it.each([
    { code: TPNS_CODE.PARAMETER_PARSE_ERROR, type: 'tpns-request-rejected' },
    { code: TPNS_CODE.PARAMETER_MISSING, type: 'tpns-request-rejected' },
    { code: TPNS_CODE.WRONG_ACCESS_POINT, type: 'tpns-wrong-access-point' },
    { code: TPNS_CODE.APP_NOT_PAID, type: 'tpns-app-unavailable' },
    { code: TPNS_CODE.APP_TERMINATED, type: 'tpns-app-unavailable' },
  ])('$code: one call, 502', async ({ code, type }) => {
    tpns.injectFaults(code);
    const problem = expectProblem(await getAccount1(), 502);
    expect(problem).toMatchObject({ type: PROBLEM + type, tpnsCode: code });
    expect(tpns.stats.calls).toBe(1);
  });

  it('1008007 on a single item: one call, 502 (nothing left to halve)', async () => {
    tpns.injectFaults(TPNS_CODE.INVALID_PARAMETER);
    const problem = expectProblem(await getAccount1(), 502);
    expect(problem).toMatchObject({ type: `${PROBLEM}tpns-request-rejected`, tpnsCode: TPNS_CODE.INVALID_PARAMETER });
    expect(tpns.stats.calls).toBe(1);
  });

  it('1008003 with an unchanged secret: one re-read, no second call, 502 credentials rejected', async () => {
    expect((await getAccount1()).status).toBe(200); // TPNS accepts the secret: a refusal now is news
    tpns.resetStats();
    const reads = secretReads();
    tpns.injectFaults(TPNS_CODE.AUTH_FAILED);
    const problem = expectProblem(await getAccount1(), 502);
    expect(problem).toMatchObject({ type: `${PROBLEM}tpns-credentials-rejected`, tpnsCode: TPNS_CODE.AUTH_FAILED });
    expect(tpns.stats.calls).toBe(1);
    expect(secretReads() - reads).toBe(1);
  });
});

describe('a chunk that fails after its retries', () => {
  it.each([
    { fault: 'internal', failure: { code: 1008004, reason: 'unavailable' } },
    { fault: 'rate_limited', failure: { code: 1008028, reason: 'rate_limited' } },
    { fault: 'http429', failure: { reason: 'rate_limited' } },
    { fault: 'http503', failure: { reason: 'unavailable' } },
    { fault: 'reset', failure: { reason: 'unavailable' } },
  ] as { fault: Fault; failure: object }[])(
    '$fault: its items are errors with $failure, the rest answered, 200 partial',
    async ({ fault, failure }) => {
      const list = accounts(150);
      tpns.configure({ faultsByItem: { [list[120]!]: fault } });
      const answer = await postQuery(api.url, { accounts: list });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.partial).toBe(true);
      const [first, ...rest] = answer.body.accounts;
      expect(first).toEqual({ account: 'account1', accountType: 0, status: 'ok', tokens: ['token1', 'token2'] });
      expect(rest.slice(0, 99).every((a: { status: string; reason?: string }) => a.status === 'not_found' && a.reason === undefined)).toBe(
        true,
      );
      expect(rest.slice(99)).toEqual(
        list.slice(100).map((account) => ({ account, accountType: 0, status: 'error', ...failure, tokens: [] })),
      );
      expect(tpns.stats.calls).toBe(1 + 4);
    },
  );

  it('a chunk that hangs: its items fail with reason "timeout" at the deadline, the rest are answered', async () => {
    const list = accounts(150);
    tpns.configure({ faultsByItem: { [list[120]!]: 'hang' } });
    const answer = await postQuery(hurried.url, { accounts: list });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.partial).toBe(true);
    expect(answer.body.accounts[0]).toMatchObject({ status: 'ok' });
    expect(answer.body.accounts[120]).toEqual({ account: list[120], accountType: 0, status: 'error', reason: 'timeout', tokens: [] });
  });

  it("when no chunk succeeds the request fails with the core's status, not a partial 200", async () => {
    const list = accounts(150);
    tpns.configure({ faultsByItem: { [list[20]!]: 'internal', [list[120]!]: 'internal' } });
    const problem = expectProblem(await postQuery(api.url, { accounts: list }), 502);
    expect(problem).toMatchObject({ type: `${PROBLEM}tpns-upstream-error`, tpnsCode: 1008004 });
  });
});

describe('the deadline from the Lambda context', () => {
  it('a TPNS that never answers → 504 from the handler, before the function times out', async () => {
    tpns.configure({ faultRate: 1, faultKinds: ['hang'], seed: 1 });
    const problem = expectProblem(await getAccount1(hurried.url), 504);
    // Not middy's own timeout ("timeout"), not the adapter's cut-off (a bare 500): the query core's answer.
    expect(problem.type).toBe(`${PROBLEM}tpns-timeout`);
  });

  it('retries stop at the deadline: a slow, failing TPNS gets fewer than 1 + 3 attempts', async () => {
    // Each attempt takes >= 1 s, the deadline is 2 s away: a third attempt could only start past it.
    tpns.configure({ latencyMs: 1_000, faultRate: 1, faultKinds: ['internal'], seed: 1 });
    const answer = await getAccount1(hurried.url);
    expect([502, 504], answer.text).toContain(answer.status);
    expect(tpns.stats.calls).toBeLessThan(4);
  });

  it('no call starts when the deadline is closer than a call could take', async () => {
    const { runQuery } = await import('../../functions/core/query.ts');
    const secret = {
      name: 'default',
      accessId: APP.accessId,
      secretKey: APP.secretKey,
      region: 'guangzhou' as const,
      auth: 'sign' as const,
    };
    const run = runQuery(
      { kind: 'tokens', items: ['token1'] },
      {
        credentials: fixedCredentials(secret),
        deadline: Date.now() + 10,
        config: { endpoint: tpns.endpoint, maxBatch: 100, concurrency: 8 },
      },
    );
    await expect(run).rejects.toMatchObject({ name: 'TpnsError', kind: 'timeout' });
    expect(tpns.stats.calls).toBe(0);
  });
});

describe('a call whose answer trickles in', () => {
  it("is aborted as a timeout at the query's deadline, though every part of it arrives within the per-call timeout", async () => {
    // Headers at once, then a byte every 50 ms, never the end: undici's headers and body timeouts never fire.
    const { createServer } = await import('node:http');
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const drip = setInterval(() => response.write(' '), 50);
      response.once('close', () => clearInterval(drip));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const { runQuery } = await import('../../functions/core/query.ts');
    // An AccessId of its own: its timeouts must not open the breaker of the app the other tests use.
    const app = { name: 'default', accessId: 'trickle', secretKey: APP.secretKey, region: 'guangzhou' as const, auth: 'sign' as const };
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const started = Date.now();
    try {
      // 16 chunks in flight at once, each listening for the deadline: no "possible memory leak" warning.
      const run = runQuery(
        { kind: 'tokens', items: Array.from({ length: 16 }, (_, i) => `token${i}`) },
        {
          credentials: fixedCredentials(app),
          deadline: started + 600,
          config: { endpoint: `http://127.0.0.1:${port}`, maxBatch: 1, concurrency: 16 },
        },
      );
      await expect(run).rejects.toMatchObject({ name: 'TpnsError', kind: 'timeout' });
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(warnings.map((w) => w.message)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('region discovery', () => {
  let container: ApiProcess | undefined;
  afterAll(() => closeAll(container));

  it('a secret without "region": the access points are tried in turn, and the one that works is remembered', async () => {
    aws.secrets.set('tpns/no-region', secretFor(SANDBOX_APPS[1]!, { region: undefined }));
    container = await spawnLocalApi(realPathEnv(aws, tpns.endpoint, 'tpns/no-region'));
    const first = await postQuery(container.url, { accounts: ['account1'] });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ region: 'singapore', accounts: [{ account: 'account1', status: 'ok' }] });
    // guangzhou (the default), shanghai and hongkong refuse the AccessId; singapore answers the probe, then the chunk.
    expect(tpns.stats.outcomes).toEqual(['1008035', '1008035', '1008035', '0', '0']);

    tpns.resetStats();
    const second = await postQuery(container.url, { accounts: ['account3'] });
    expect(second.body).toMatchObject({ region: 'singapore', accounts: [{ account: 'account3', status: 'ok' }] });
    expect(tpns.stats.outcomes).toEqual(['0']);
  });

  it('a wrong region corrected in the secret: a warm container picks it up after one re-read', async () => {
    const current = JSON.parse(aws.secrets.get(SANDBOX_SECRET_ID)!) as Record<string, unknown>;
    aws.secrets.set('tpns/fixed-later', JSON.stringify({ ...current, region: 'hongkong' }));
    // Without the re-read cool-down, which would otherwise hold the fix back (test/integration/credentials.test.ts).
    const container = await spawnLocalApi({ ...realPathEnv(aws, tpns.endpoint, 'tpns/fixed-later'), TPNS_SECRET_REREAD_COOLDOWN_MS: '0' });
    try {
      expectProblem(await getAccount1(container.url), 502);
      aws.secrets.set('tpns/fixed-later', JSON.stringify({ ...current, region: 'guangzhou' }));
      tpns.resetStats();
      const reads = aws.secretReads.filter((id) => id === 'tpns/fixed-later').length;
      const healed = await getAccount1(container.url);
      expect(healed.status, healed.text).toBe(200);
      expect(healed.body.region).toBe('guangzhou');
      // Refused at the cached region, the secret re-read once, then answered at the corrected one.
      expect(tpns.stats.outcomes).toEqual(['1008035', '0']);
      expect(aws.secretReads.filter((id) => id === 'tpns/fixed-later').length - reads).toBe(1);
    } finally {
      await container.close();
    }
  });
});

describe('credential rotation', () => {
  /** The key changes in TPNS and, unless `inSecret` is false, in the secret. */
  const rotate = (secretKey: string, inSecret = true) => {
    tpns.rotateKey(APP.accessId, secretKey);
    if (inSecret) aws.secrets.set(SANDBOX_SECRET_ID, secretFor({ ...APP, secretKey }));
  };

  it('rotated in TPNS and in the secret: the next request succeeds after exactly one extra secret read', async () => {
    await getAccount1(); // the secret is cached
    tpns.resetStats();
    rotate('rotated-key-0001');
    const reads = secretReads();
    const answer = await getAccount1();
    expect(answer.status, answer.text).toBe(200);
    expect(tpns.stats.outcomes).toEqual(['1008003', '0']);
    expect(secretReads() - reads).toBe(1);
    expect(metric('SecretRefreshes').total).toBe(1);

    tpns.resetStats();
    await getAccount1();
    expect(tpns.stats.outcomes).toEqual(['0']);
    expect(secretReads() - reads).toBe(1);
  });

  // Spread out (jitter), some rejections arrive after the refresh is done: they must take its key, not read again.
  it('concurrent requests share one refresh', async () => {
    tpns.configure({ latencyMs: 100, latencyJitterMs: 60, seed: 1 });
    rotate('rotated-key-0002');
    const reads = secretReads();
    const answers = await Promise.all(Array.from({ length: 8 }, () => getAccount1()));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 8 }, () => 200));
    expect(tpns.stats.outcomes.filter((o) => o === '1008003').length).toBeGreaterThan(1);
    expect(secretReads() - reads).toBe(1);
  });

  it('the concurrent chunks of one request share one refresh', async () => {
    // The rate limiting above lowered this container's calls in flight for the app (query/limiter.ts):
    // forty answered chunks raise them back to TPNS_CONCURRENCY, so that all eight chunks go at once.
    expect((await postQuery(api.url, { accounts: accounts(4_000) })).status).toBe(200);
    tpns.configure({ latencyJitterMs: 60, seed: 1 });
    rotate('rotated-key-0003');
    const reads = secretReads();
    const answer = await postQuery(api.url, { accounts: accounts(800) });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.partial).toBe(false);
    expect(tpns.stats.outcomes.filter((o) => o === '1008003')).toHaveLength(8);
    expect(secretReads() - reads).toBe(1);
  });

  it('rotated in TPNS only: one re-read, then none for the cool-down, however many requests are refused', async () => {
    // A container of its own: the cool-down it enters must not follow the other tests.
    aws.secrets.set('tpns/rotation-mistake', aws.secrets.get(SANDBOX_SECRET_ID) as string);
    const container = await spawnLocalApi(realPathEnv(aws, tpns.endpoint, 'tpns/rotation-mistake'));
    const reads = () => aws.secretReads.filter((id) => id === 'tpns/rotation-mistake').length;
    try {
      expect((await getAccount1(container.url)).status).toBe(200);
      rotate('rotated-key-0004', false);
      for (let i = 0; i < 20; i++) {
        const problem = expectProblem(await getAccount1(container.url), 502);
        expect(problem).toMatchObject({ type: `${PROBLEM}tpns-credentials-rejected`, tpnsCode: 1008003 });
      }
      expect(reads()).toBe(1 + 1); // the first read, and one re-read for twenty refusals
    } finally {
      await container.close();
    }
    aws.secrets.set(SANDBOX_SECRET_ID, secretFor({ ...APP, secretKey: 'rotated-key-0004' }));
  });

  it('the re-read itself fails: 503 credentials unavailable (not a 500), and the next request heals', async () => {
    rotate('rotated-key-0005');
    aws.failNextSecretReads(3); // the SDK itself tries a 5xx three times
    const problem = expectProblem(await getAccount1(), 503);
    expect(problem.type).toBe(`${PROBLEM}credentials-unavailable`);
    expect((await getAccount1()).status).toBe(200);
  });
});

describe('metrics (CloudWatch EMF through Powertools)', () => {
  it('TPNS call latency, chunks per request, retries by reason and items by status', async () => {
    tpns.injectFaults('internal');
    const answer = await postQuery(api.url, { accounts: accounts(150) });
    expect(answer.status, answer.text).toBe(200);

    const latency = metric('TpnsCallLatency');
    expect(latency.found[0]).toMatchObject({ Unit: 'Milliseconds', namespace: 'TpnsBindings' });
    expect(latency.values).toHaveLength(3); // two chunks, one of them retried
    expect(metric('ChunksPerRequest').values).toEqual([2]);
    expect(metric('ItemsOk').values).toEqual([1]);
    expect(metric('ItemsNotFound').values).toEqual([149]);
    expect(metric('ItemsError').values).toEqual([]);

    const retries = metric('TpnsRetries');
    expect(retries.values).toEqual([1]);
    expect(retries.found[0]!.dimensions).toEqual([expect.arrayContaining(['service', 'reason'])]);
    expect(retries.found[0]!.line.reason).toBe('upstream_error');
  });

  it('failed items are counted as errors; a clean run emits no retry metric', async () => {
    const list = accounts(150);
    tpns.configure({ faultsByItem: { [list[120]!]: TPNS_CODE.INVALID_PARAMETER } });
    await postQuery(api.url, { accounts: list });
    expect(metric('ItemsError').values).toEqual([1]);
    expect(metric('TpnsRetries').values).toEqual([]);
  });
});
