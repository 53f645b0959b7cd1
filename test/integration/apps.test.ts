/**
 * One lookup across a product's apps (issue 10), over real HTTP: the local API on the sandbox's two
 * apps (android on guangzhou, ios on singapore), each answering only its own bindings.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, FUNCTION_TIMEOUTS_MS } from '../../functions/contract.ts';
import type { EventsOutcome } from '../../functions/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { type AwsStandIn, startAwsStandIn } from '../../local/sandbox/aws.ts';
import { SANDBOX_APPS } from '../../local/sandbox/seed-data.ts';
import { startTpnsSandbox, type TpnsSandbox } from '../../local/sandbox/tpns.ts';
import { type LocalApi, startLocalApi } from '../../local/server.ts';
import {
  type ApiProcess,
  closeAll,
  expectedAccount,
  expectProblem,
  postQuery,
  queryEnvelope,
  realPathEnv,
  send,
  spawnLocalApi,
} from './support.ts';

const [ANDROID, IOS] = SANDBOX_APPS;
const NOT_FOUND = 10110008;

/** An app's entry for an account, as the single-app answer of that app would give the item. */
const entry = (app: typeof ANDROID, account: string, accountType = 0) => {
  const { account: _a, accountType: _t, ...outcome } = expectedAccount(account, accountType, app);
  return { app: app.name, ...outcome };
};

let api: LocalApi;
let tpns: TpnsSandbox;
let aws: AwsStandIn;

beforeAll(async () => {
  api = await startLocalApi({ port: 0, sandbox: { secretForm: 'apps' } });
  if (api.environment.mode !== 'sandbox') throw new Error('expected the embedded sandbox; is TPNS_SECRET_ID set?');
  ({ tpns, aws } = api.environment);
});
afterAll(() => api?.close());
beforeEach(() => {
  tpns.configure({ faultsByApp: {}, latencyMs: 0 });
  tpns.resetStats();
});

describe('answers over both apps', () => {
  it("the README's first curl: bound on both apps, on one, on the other, on none", async () => {
    const answer = await postQuery(api.url, { accounts: ['account1', { account: 'account2', accountType: 1 }, 'account3', 'nobody'] });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual({
      accounts: [
        {
          account: 'account1',
          accountType: 0,
          status: 'ok',
          tokens: ['token1', 'token2', 'token9'],
          apps: [entry(ANDROID, 'account1'), entry(IOS, 'account1')],
        },
        {
          account: 'account2',
          accountType: 1,
          status: 'ok',
          tokens: ['token3'],
          apps: [entry(ANDROID, 'account2', 1), entry(IOS, 'account2', 1)],
        },
        {
          account: 'account3',
          accountType: 0,
          status: 'ok',
          tokens: ['token8'],
          apps: [entry(ANDROID, 'account3'), entry(IOS, 'account3')],
        },
        {
          account: 'nobody',
          accountType: 0,
          status: 'not_found',
          code: NOT_FOUND,
          tokens: [],
          apps: [entry(ANDROID, 'nobody'), entry(IOS, 'nobody')],
        },
      ],
      partial: false,
      regions: { android: 'guangzhou', ios: 'singapore' },
      requestId: expect.any(String),
    });
    expect(answer.body.accounts[2].apps[0]).toMatchObject({ app: 'android', status: 'not_found', code: NOT_FOUND, tokens: [] });
  });

  it('a token names the one app that knows it', async () => {
    const answer = await postQuery(api.url, { tokens: ['token1', 'token9', 'unknown'] });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.tokens.map((t: { token: string; status: string; app?: string }) => [t.token, t.status, t.app])).toEqual([
      ['token1', 'ok', 'android'],
      ['token9', 'ok', 'ios'],
      ['unknown', 'not_found', undefined],
    ]);
    expect(answer.body.tokens[1]).toEqual({
      token: 'token9',
      status: 'ok',
      app: 'ios',
      accounts: [{ account: 'account1', accountType: 0, boundAt: new Date(1700000200 * 1000).toISOString() }],
      apps: [
        { app: 'android', status: 'not_found', code: NOT_FOUND, accounts: [] },
        {
          app: 'ios',
          status: 'ok',
          accounts: [{ account: 'account1', accountType: 0, boundAt: new Date(1700000200 * 1000).toISOString() }],
        },
      ],
    });
  });

  it('items keep the order first given across chunks and apps; each app is sent every chunk', async () => {
    const fillers = Array.from({ length: 247 }, (_, i) => `filler-${i}@example.com`);
    const accounts = ['account3', 'account1', 'nobody', ...fillers, 'account3', 'account1'];
    const answer = await postQuery(api.url, { accounts });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.accounts.map((a: { account: string }) => a.account)).toEqual([...new Set(accounts)]);
    expect(answer.body.accounts.slice(0, 2).map((a: { tokens: string[] }) => a.tokens)).toEqual([
      ['token8'],
      ['token1', 'token2', 'token9'],
    ]);
    // 250 distinct accounts: 3 chunks per app.
    expect(tpns.stats.batchSizes.sort((a, b) => a - b)).toEqual([50, 50, 100, 100, 100, 100]);
  });

  it(`one pool: the calls in flight across both apps stay within TPNS_CONCURRENCY (${CONFIG_DEFAULTS.concurrency})`, async () => {
    tpns.configure({ latencyMs: 20 });
    const accounts = Array.from({ length: 20 * 100 }, (_, i) => `user-${i}@example.com`);
    const answer = await postQuery(api.url, { accounts });
    expect(answer.status, answer.text).toBe(200);
    expect(tpns.stats.calls).toBe(40);
    expect(tpns.stats.peakConcurrent).toBeLessThanOrEqual(CONFIG_DEFAULTS.concurrency);
    expect(tpns.stats.peakConcurrent).toBeGreaterThan(1);
  });
});

describe('the apps filter', () => {
  it('"apps": ["ios"] asks only ios: its entries alone, one call', async () => {
    const answer = await postQuery(api.url, { accounts: ['account1'], apps: ['ios'] });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.accounts).toEqual([
      { account: 'account1', accountType: 0, status: 'ok', tokens: ['token9'], apps: [entry(IOS, 'account1')] },
    ]);
    expect(answer.body.regions).toEqual({ ios: 'singapore' });
    expect(tpns.stats.calls).toBe(1);
  });

  it.each([
    [{ accounts: ['a1'], apps: ['web'] }, 'apps[0] "web" is not an app of this deployment (android, ios)'],
    [{ accounts: ['a1'], apps: [] }, 'apps must list at least one app'],
    [{ accounts: ['a1'], apps: ['ios', 'ios'] }, 'apps[1] repeats "ios"'],
    [{ accounts: ['a1'], apps: [1] }, 'apps[0] must be an app name (a string)'],
  ])('%j → 400 naming the field, and no TPNS call', async (body, detail) => {
    const problem = expectProblem(await postQuery(api.url, body), 400);
    expect(problem.detail).toContain(detail);
    expect(tpns.stats.calls).toBe(0);
  });
});

describe('the GET routes', () => {
  it('merged, with the access point of each app', async () => {
    const answer = await send(api.url, '/v1/accounts/account1/tokens');
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual({
      account: 'account1',
      accountType: 0,
      status: 'ok',
      tokens: ['token1', 'token2', 'token9'],
      apps: [entry(ANDROID, 'account1'), entry(IOS, 'account1')],
      regions: { android: 'guangzhou', ios: 'singapore' },
    });
  });

  it('?app= takes one name or a comma list', async () => {
    const one = await send(api.url, '/v1/tokens/token9/accounts?app=ios');
    expect(one.status, one.text).toBe(200);
    expect(one.body).toMatchObject({ token: 'token9', status: 'ok', app: 'ios', regions: { ios: 'singapore' } });
    expect(one.body.apps.map((e: { app: string }) => e.app)).toEqual(['ios']);
    const both = await send(api.url, '/v1/tokens/token9/accounts?app=ios,android');
    expect(both.body.apps.map((e: { app: string }) => e.app)).toEqual(['android', 'ios']);
  });

  it('404 only when every queried app says not found', async () => {
    const known = await send(api.url, '/v1/accounts/account3/tokens');
    expect(known.status, known.text).toBe(200);
    const onlyAndroid = expectProblem(await send(api.url, '/v1/accounts/account3/tokens?app=android'), 404);
    expect(onlyAndroid).toMatchObject({ code: NOT_FOUND, apps: [{ app: 'android', status: 'not_found', code: NOT_FOUND, tokens: [] }] });
    const nowhere = expectProblem(await send(api.url, '/v1/tokens/unknown/accounts'), 404);
    expect(nowhere.apps).toHaveLength(2);
  });

  it.each(['?app=web', '?app=', '?app=ios,ios', '?app=ios&app=android'])('%s → 400', async (query) => {
    const problem = expectProblem(await send(api.url, `/v1/tokens/token9/accounts${query}`), 400);
    expect(problem.detail).toMatch(/app/);
  });
});

describe('one app failing while the other answers', () => {
  it.each([
    [1008031, 'app_unavailable'],
    [1008030, 'app_unavailable'],
    ['http503', 'unavailable'],
  ] as const)('ios answering %s: its entries in error with reason %s, android answered, partial', async (fault, reason) => {
    tpns.configure({ faultsByApp: { [IOS.accessId]: fault } });
    const answer = await postQuery(api.url, { accounts: ['account1', 'account3'] });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.partial).toBe(true);
    const [account1, account3] = answer.body.accounts;
    expect(account1).toMatchObject({ status: 'ok', tokens: ['token1', 'token2'] });
    expect(account1.apps[1]).toEqual({
      app: 'ios',
      status: 'error',
      ...(typeof fault === 'number' ? { code: fault } : {}),
      reason,
      tokens: [],
    });
    // android does not know account3 and ios failed: the item is an error, not "not found".
    expect(account3).toMatchObject({ status: 'error', reason, tokens: [] });
  });

  it('both apps failing: the problem of one app, as today', async () => {
    tpns.configure({ faultsByApp: { [ANDROID.accessId]: 1008031, [IOS.accessId]: 1008031 } });
    const problem = expectProblem(await postQuery(api.url, { accounts: ['account1'] }), 502);
    expect(problem).toMatchObject({ type: 'urn:tpns-bindings:problem:tpns-app-unavailable', tpnsCode: 1008031 });
    expect(problem.detail).toMatch(/^app "android": /);
  });

  it("one app's key rotated in TPNS only: one shared re-read, its entries credentials_rejected; rotated in the secret too, it heals", async () => {
    const reads = aws.secretReads.length;
    tpns.rotateKey(IOS.accessId, 'ios-new-key');
    try {
      const refused = await postQuery(api.url, { accounts: ['account1', 'account3'] });
      expect(refused.status, refused.text).toBe(200);
      expect(refused.body.accounts[0].apps[1]).toEqual({
        app: 'ios',
        status: 'error',
        code: 1008003,
        reason: 'credentials_rejected',
        tokens: [],
      });
      expect(refused.body.accounts[0]).toMatchObject({ status: 'ok', tokens: ['token1', 'token2'] });
      expect(aws.secretReads.length - reads).toBe(1);
    } finally {
      tpns.rotateKey(IOS.accessId, IOS.secretKey);
    }
  });
});

describe('a cold container per secret', () => {
  let sandbox: TpnsSandbox;
  let standIn: AwsStandIn;
  const containers: ApiProcess[] = [];
  beforeAll(async () => {
    [sandbox, standIn] = await Promise.all([startTpnsSandbox(), startAwsStandIn()]);
  });
  afterAll(() => closeAll(...containers, sandbox, standIn));
  beforeEach(() => sandbox.resetStats());

  const appsSecret = (overrides: Record<string, unknown>[] = [{}, {}]) =>
    JSON.stringify({
      apps: SANDBOX_APPS.map(({ name, accessId, secretKey, region }, i) => ({ name, accessId, secretKey, region, ...overrides[i] })),
    });
  const container = async (secretId: string, secret: string) => {
    standIn.secrets.set(secretId, secret);
    const started = await spawnLocalApi(realPathEnv(standIn, sandbox.endpoint, secretId));
    containers.push(started);
    return started;
  };

  it('discovery per app: each app finds its own access point, remembered for the next request', async () => {
    const c = await container('apps/no-region', appsSecret([{ region: undefined }, { region: undefined }]));
    const first = await postQuery(c.url, { accounts: ['account1'] });
    expect(first.status, first.text).toBe(200);
    expect(first.body.regions).toEqual({ android: 'guangzhou', ios: 'singapore' });
    expect(first.body.accounts[0].tokens).toEqual(['token1', 'token2', 'token9']);
    // android: its probe and its chunk; ios: three refusals, its probe and its chunk.
    expect(sandbox.stats.outcomes.filter((o) => o === '1008035')).toHaveLength(3);
    expect(sandbox.stats.calls).toBe(2 + 5);
    sandbox.resetStats();
    const second = await postQuery(c.url, { accounts: ['account1'] });
    expect(second.body.regions).toEqual({ android: 'guangzhou', ios: 'singapore' });
    expect(sandbox.stats.outcomes).toEqual(['0', '0']);
  });

  it("one app's access point wrong in the secret: its entries wrong_access_point, the other answered", async () => {
    const c = await container('apps/wrong-region', appsSecret([{}, { region: 'hongkong' }]));
    const answer = await postQuery(c.url, { accounts: ['account1'] });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.partial).toBe(true);
    expect(answer.body.accounts[0].apps[1]).toEqual({
      app: 'ios',
      status: 'error',
      code: 1008035,
      reason: 'wrong_access_point',
      tokens: [],
    });
    expect(answer.body.accounts[0].tokens).toEqual(['token1', 'token2']);
  });

  it("rotating one app's key, in TPNS and the secret: that app re-reads once and heals; the other is untouched", async () => {
    const c = await container('apps/rotation', appsSecret());
    expect((await postQuery(c.url, { accounts: ['account1'] })).status).toBe(200);
    const reads = standIn.secretReads.length;
    sandbox.rotateKey(IOS.accessId, 'rotated');
    standIn.secrets.set('apps/rotation', appsSecret([{}, { secretKey: 'rotated' }]));
    try {
      const answer = await postQuery(c.url, { accounts: ['account1'] });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toMatchObject({ partial: false, accounts: [{ status: 'ok', tokens: ['token1', 'token2', 'token9'] }] });
      expect(standIn.secretReads.length - reads).toBe(1);
      expect(sandbox.stats.outcomes.filter((o) => o === '1008003')).toHaveLength(1);
    } finally {
      sandbox.rotateKey(IOS.accessId, IOS.secretKey);
    }
  });

  it('the single-app secret on the same sandbox: today’s answer, byte for byte, with no `apps`', async () => {
    const app = ANDROID;
    const c = await container('apps/single', JSON.stringify({ accessId: app.accessId, secretKey: app.secretKey, region: app.region }));
    const answer = await postQuery(c.url, { accounts: ['account1'] });
    expect(answer.text).toBe(
      JSON.stringify({ accounts: [expectedAccount('account1')], partial: false, region: 'guangzhou', requestId: answer.body.requestId }),
    );
    const filtered = await postQuery(c.url, { accounts: ['account1'], apps: ['default'] });
    expect(filtered.text).toBe(
      JSON.stringify({ accounts: [expectedAccount('account1')], partial: false, region: 'guangzhou', requestId: filtered.body.requestId }),
    );
  });
});

describe('events with two apps', () => {
  it('the apps filter in the detail, and Resolved items carrying each app’s entries', async () => {
    const { handler } = await import('../../functions/events.ts');
    const invoke = (detail: unknown) =>
      (handler as unknown as (event: unknown, context: unknown) => Promise<EventsOutcome>)(
        queryEnvelope(detail),
        lambdaContext('tpns-bindings-events', FUNCTION_TIMEOUTS_MS.events),
      );
    const both = await invoke({ correlationId: 'two-apps', tokens: ['token9'] });
    expect(both).toMatchObject({ published: false, detailType: 'TPNS Bindings Resolved' });
    const [resolved] = (both as { events: { detail: Record<string, unknown> }[] }).events;
    expect(resolved?.detail).toMatchObject({
      correlationId: 'two-apps',
      part: 1,
      parts: 1,
      tokens: [
        {
          token: 'token9',
          status: 'ok',
          app: 'ios',
          apps: [
            { app: 'android', status: 'not_found' },
            { app: 'ios', status: 'ok' },
          ],
        },
      ],
      partial: false,
      regions: { android: 'guangzhou', ios: 'singapore' },
    });
    const unknown = await invoke({ correlationId: 'bad-app', tokens: ['token9'], apps: ['web'] });
    expect(unknown).toMatchObject({ detailType: 'TPNS Bindings Query Failed' });
    expect((unknown as unknown as { events: { detail: { detail: string; status: number } }[] }).events[0]?.detail).toMatchObject({
      status: 400,
      detail: 'apps[0] "web" is not an app of this deployment (android, ios)',
    });
  });
});
