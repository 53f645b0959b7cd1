import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseSecret } from '../../functions/core/credentials.ts';
import { runQuery } from '../../functions/core/query.ts';
import type { Query } from '../../functions/core/request.ts';
import { TPNS_CODE } from '../../functions/core/tpns/codes.ts';
import { SANDBOX_SECRET_ID } from '../../local/environment.ts';
import type { AwsStandIn } from '../../local/sandbox/aws.ts';
import { CONTROL_PATH, SANDBOX_DEFAULTS, type TpnsSandbox } from '../../local/sandbox/tpns.ts';
import { type LocalApi, startLocalApi } from '../../local/server.ts';
import { fixedCredentials } from '../unit/_fixtures.ts';
import { expectedAccount, postQuery, send } from './support.ts';

// The handler runs with the defaults: TPNS_MAX_BATCH 100, TPNS_CONCURRENCY 8.
const MAX_BATCH = 100;
const CONCURRENCY = 8;

let api: LocalApi;
let tpns: TpnsSandbox;
let aws: AwsStandIn;

beforeAll(async () => {
  api = await startLocalApi({ port: 0, sandbox: { secretForm: 'single' } });
  if (api.environment.mode !== 'sandbox') throw new Error('unset TPNS_SECRET_ID: these tests run on the sandbox');
  ({ tpns, aws } = api.environment);
});

afterAll(() => api?.close());

beforeEach(() => {
  tpns.configure({ ...SANDBOX_DEFAULTS, faultsByItem: {} });
  tpns.resetStats();
});

const accounts = (count: number, prefix = 'user') => Array.from({ length: count }, (_, i) => `${prefix}-${i}@example.com`);

const sorted = (sizes: number[]) => [...sizes].sort((a, b) => b - a);

describe('chunks of at most TPNS_MAX_BATCH items', () => {
  it.each([
    { count: 99, calls: '1 × 99', sizes: [99] },
    { count: 100, calls: '1 × 100', sizes: [100] },
    { count: 101, calls: '100 + 1', sizes: [100, 1] },
    { count: 10_000, calls: '100 × 100', sizes: Array.from({ length: 100 }, () => 100) },
  ])('$count accounts → TPNS calls of $calls items, every item answered once, in order', async ({ count, sizes }) => {
    const list = accounts(count);
    const answer = await postQuery(api.url, { accounts: list });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.partial).toBe(false);
    expect(answer.body.accounts.map((a: { account: string }) => a.account)).toEqual(list);
    expect(answer.body.accounts.every((a: { status: string }) => a.status === 'not_found')).toBe(true);
    expect(sorted(tpns.stats.batchSizes)).toEqual(sizes);
  });

  it('tokens are chunked the same way (101 → 100 + 1)', async () => {
    const tokens = ['token1', ...Array.from({ length: 100 }, (_, i) => `t${i}`)];
    const answer = await postQuery(api.url, { tokens });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.tokens.map((t: { token: string }) => t.token)).toEqual(tokens);
    expect(answer.body.tokens[0]).toMatchObject({ token: 'token1', status: 'ok' });
    expect(sorted(tpns.stats.batchSizes)).toEqual([100, 1]);
  });

  it('keeps the order of first appearance across chunk boundaries, duplicates answered once', async () => {
    // 250 distinct items once duplicates go; seeded accounts sit in the first, second and third chunk.
    const filler = accounts(247, 'filler');
    const request = [
      'account1',
      ...filler.slice(0, 120),
      { account: 'account2', accountType: 1 },
      'account1',
      ...filler.slice(120),
      'account2',
      { account: 'account2', accountType: 1 },
      ...filler.slice(0, 10),
    ];
    const answer = await postQuery(api.url, { accounts: request });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.accounts).toEqual([
      expectedAccount('account1'),
      ...filler.slice(0, 120).map((a) => expectedAccount(a)),
      expectedAccount('account2', 1),
      ...filler.slice(120).map((a) => expectedAccount(a)),
      expectedAccount('account2'),
    ]);
    expect(expectedAccount('account2').status).toBe('ok');
    expect(sorted(tpns.stats.batchSizes)).toEqual([100, 100, 50]);
  });
});

describe('bounded concurrency', () => {
  it(`never has more than TPNS_CONCURRENCY (${CONCURRENCY}) calls in flight, even with a slow TPNS`, async () => {
    tpns.configure({ latencyMs: 20 });
    const answer = await postQuery(api.url, { accounts: accounts(30 * MAX_BATCH) });
    expect(answer.status, answer.text).toBe(200);
    expect(tpns.stats.calls).toBe(30);
    expect(tpns.stats.peakConcurrent).toBeLessThanOrEqual(CONCURRENCY);
    expect(tpns.stats.peakConcurrent).toBeGreaterThan(1);
  });

  it('keeps the bound while chunks are split and retried', async () => {
    tpns.configure({ latencyMs: 5, maxItemsPerCall: 30, faultRate: 0.2, faultKinds: ['internal', 'http503'], seed: 1 });
    const answer = await postQuery(api.url, { accounts: accounts(10 * MAX_BATCH) });
    expect(answer.status, answer.text).toBe(200);
    expect(tpns.stats.peakConcurrent).toBeLessThanOrEqual(CONCURRENCY);
  });
});

describe('a chunk TPNS refuses with 1008007', () => {
  it('too large: the chunk size halves until TPNS accepts, and every item is answered', async () => {
    tpns.configure({ maxItemsPerCall: 30 });
    const list = accounts(MAX_BATCH);
    const answer = await postQuery(api.url, { accounts: list });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.partial).toBe(false);
    expect(answer.body.accounts.map((a: { account: string }) => a.account)).toEqual(list);
    expect(answer.body.accounts.every((a: { status: string }) => a.status === 'not_found')).toBe(true);

    const { batchSizes, outcomes } = tpns.stats;
    const accepted = batchSizes.filter((_, i) => outcomes[i] === '0');
    const refused = batchSizes.filter((_, i) => outcomes[i] === String(TPNS_CODE.INVALID_PARAMETER));
    expect(refused).toContain(100);
    expect(refused.every((size) => size > 30)).toBe(true);
    expect(accepted.every((size) => size <= 30)).toBe(true);
    expect(accepted.reduce((sum, size) => sum + size, 0)).toBe(MAX_BATCH);
  });

  it('an id TPNS refuses: only that item fails (status error, code 1008007), its neighbours are answered', async () => {
    const list = accounts(250);
    tpns.configure({ faultsByItem: { [list[170]!]: TPNS_CODE.INVALID_PARAMETER } });
    const answer = await postQuery(api.url, { accounts: list });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.partial).toBe(true);
    const failed = answer.body.accounts.filter((a: { status: string }) => a.status !== 'not_found');
    expect(failed).toEqual([{ account: list[170], accountType: 0, status: 'error', code: TPNS_CODE.INVALID_PARAMETER, tokens: [] }]);
  });

  it('the same refusal at a size TPNS already accepted splits only that chunk, not the rest of the request', async () => {
    // Sequential (concurrency 1) so the count of calls is exact: 5 chunks accepted, then the refused
    // chunk bisected down to the one id (8 refusals, 7 accepted halves), then the last 4 chunks whole.
    const list = accounts(10 * MAX_BATCH);
    tpns.configure({ faultsByItem: { [list[550]!]: TPNS_CODE.INVALID_PARAMETER } });
    const secret = parseSecret(JSON.parse(aws.secrets.get(SANDBOX_SECRET_ID)!), SANDBOX_SECRET_ID);
    const query: Query = { kind: 'accounts', items: list.map((account) => ({ account, accountType: 0 })) };
    const result = await runQuery(query, {
      credentials: fixedCredentials(...secret.apps),
      deadline: Date.now() + 20_000,
      config: { endpoint: tpns.endpoint, maxBatch: MAX_BATCH, concurrency: 1 },
    });
    expect(result.partial).toBe(true);
    expect(result.kind === 'accounts' && result.accounts.filter((a) => a.status === 'error').map((a) => a.account)).toEqual([list[550]]);
    expect(tpns.stats.calls).toBe(5 + 15 + 4);
    // Answered calls in order (the sandbox counts no items for a refused call): the chunks not yet
    // tried go before the halves, whole; then the accepted halves, down to the refused id.
    expect(tpns.stats.batchSizes).toEqual([...Array(9).fill(100), 50, 25, 12, 6, 3, 2, 1]);
  });

  it('a single item refused is not retried: 502, one call', async () => {
    tpns.configure({ maxItemsPerCall: 0 });
    const answer = await postQuery(api.url, { accounts: ['account1'] });
    expect(answer.status, answer.text).toBe(502);
    expect(answer.body).toMatchObject({ type: 'urn:tpns-bindings:problem:tpns-request-rejected', tpnsCode: TPNS_CODE.INVALID_PARAMETER });
    expect(tpns.stats.calls).toBe(1);
  });
});

describe('the sandbox knobs over HTTP (what `npm start` users and the benchmark turn)', () => {
  const control = (path: string, json?: unknown) => send(tpns.url, CONTROL_PATH + path, json === undefined ? {} : { method: 'POST', json });

  it('knobs, faults, stats and rotation change what the handler sees', async () => {
    expect((await control('/knobs', { maxItemsPerCall: 30, latencyMs: 1 })).body).toMatchObject({ maxItemsPerCall: 30, latencyMs: 1 });
    expect((await control('/faults', { faults: ['http503'] })).body).toEqual({ queued: 1 });
    expect((await postQuery(api.url, { accounts: accounts(60) })).status).toBe(200);
    const stats = (await control('/stats')).body;
    // The 503 is retried, the retry is refused as too large (1008007), the halves are answered.
    expect(stats).toMatchObject({ calls: 4, inFlight: 0, batchSizes: [60, 30, 30], outcomes: ['http503', '1008007', '0', '0'] });

    expect((await control('/stats/reset', {})).body).toMatchObject({ calls: 0, outcomes: [] });
    expect((await control('/knobs', { maxItemsPerCall: null })).body.maxItemsPerCall).toBeNull();
    expect(tpns.knobs.maxItemsPerCall).toBe(Number.POSITIVE_INFINITY);
  });

  it('rotation over HTTP: the sandbox refuses the old key', async () => {
    const app = tpns.apps[1]!;
    const previous = app.secretKey;
    try {
      expect((await control('/rotate', { accessId: app.accessId, secretKey: 'another-key' })).status).toBe(204);
      expect(app.secretKey).toBe('another-key');
    } finally {
      tpns.rotateKey(app.accessId, previous);
    }
  });

  it.each([
    [{ latencyMs: -1 }, /latencyMs/],
    [{ faultRate: 2 }, /faultRate/],
    [{ faultKinds: ['explode'] }, /faultKinds/],
    [{ seed: 1.5 }, /seed/],
    [{ latency: 20 }, /unknown knob "latency"/],
  ])('a bad knob %j is a 400 naming it, and changes nothing', async (knobs, message) => {
    const before = { ...tpns.knobs };
    const answer = await control('/knobs', knobs);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(message);
    expect(tpns.knobs).toEqual(before);
  });
});
