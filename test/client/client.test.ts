import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TpnsBindingsClient, TpnsBindingsProblem } from '../../client/index.ts';
import { REQUEST_LIMITS } from '../../functions/contract.ts';
import { TPNS_CODE } from '../../functions/core/tpns/codes.ts';
import { FORBIDDEN } from '../../local/sigv4.ts';
import { type ApiProcess, closeAll, spawnLocalApi } from '../integration/support.ts';

const KEYS = { accessKeyId: 'AKIDCLIENTTEST', secretAccessKey: 'client-test-secret-key' };
const REGION = 'eu-west-1';
/** Ids that need encoding in a path, each a different way: reserved, `+`, `/`, `%`, spaces, CJK, a dot step. */
const ODD_IDS = ['926@126.com', '+8613711112222', 'a/b', '100%', 'a%41', 'two words', ' padded ', '账户一', '..', 'x?y#z&w=1'];

const rejection = async (promise: Promise<unknown>): Promise<TpnsBindingsProblem> => {
  const error: unknown = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TpnsBindingsProblem);
  return error as TpnsBindingsProblem;
};

describe('TpnsBindingsClient against npm start with SigV4 on', () => {
  let api: ApiProcess;
  let client: TpnsBindingsClient;
  beforeAll(async () => {
    api = await spawnLocalApi({
      LOCAL_AUTH: 'sigv4',
      AWS_REGION: REGION,
      ...{ AWS_ACCESS_KEY_ID: KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey },
    });
    client = new TpnsBindingsClient({ baseUrl: api.url, region: REGION, credentials: KEYS });
  });
  afterAll(() => closeAll(api));

  it('tokensOf: every app asked, one entry per distinct account in order, regions per app', async () => {
    const answer = await client.tokensOf(['account1', { account: 'account2', accountType: 1 }, 'nobody', { account: 'account1' }]);
    expect(answer.accounts.map(({ account, accountType, status }) => [account, accountType, status])).toEqual([
      ['account1', 0, 'ok'],
      ['account2', 1, 'ok'],
      ['nobody', 0, 'not_found'],
    ]);
    expect(answer.accounts[0]!.tokens).toEqual(['token1', 'token2', 'token9']);
    expect(answer).toMatchObject({ partial: false, regions: { android: 'guangzhou', ios: 'singapore' }, requestIds: [expect.any(String)] });
  });

  it('accountsOf and the apps filter', async () => {
    const answer = await client.accountsOf(['token9', 'token1'], { apps: ['ios'] });
    expect(answer.tokens.map(({ token, status }) => [token, status])).toEqual([
      ['token9', 'ok'],
      ['token1', 'not_found'],
    ]);
    expect(answer.tokens[0]!.accounts).toMatchObject([{ account: 'account1', accountType: 0 }]);
    expect(answer).toMatchObject({ regions: { ios: 'singapore' } });
  });

  it("query: TPNS's own body, as it is", async () => {
    const answer = await client.query({ operator_type: 1, account_list: [{ account: 'account2', account_type: 1 }], apps: ['android'] });
    expect(answer).toMatchObject({ accounts: [{ account: 'account2', accountType: 1, status: 'ok', tokens: ['token3'] }] });
  });

  it('tokensOfAccount and accountsOfToken: the GET routes, with accountType and app', async () => {
    expect(await client.tokensOfAccount('+8613711112222', 1002, { apps: ['android'] })).toMatchObject({
      account: '+8613711112222',
      accountType: 1002,
      status: 'ok',
      tokens: ['0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b'],
    });
    const token = await client.accountsOfToken('token1');
    expect(token.accounts.map((a) => a.account)).toEqual(['account1', '926@126.com', '1527000000']);
  });

  it.each(ODD_IDS)('a path id reaches the handler intact, signed: %j', async (id) => {
    // Bound or not (a 404 problem carries the item's fields), the answer names the id the handler got.
    const account = await client.tokensOfAccount(id).catch((error: TpnsBindingsProblem) => error.problem);
    expect(account).toMatchObject({ account: id, accountType: 0 });
    const token = await client.accountsOfToken(id).catch((error: TpnsBindingsProblem) => error.problem);
    expect(token).toMatchObject({ token: id });
  });

  it('the same ids through the POST route, in order; an unknown one is a 404 problem from the GET route', async () => {
    const answer = await client.tokensOf(ODD_IDS);
    expect(answer.accounts.map((a) => a.account)).toEqual(ODD_IDS);
    const unknown = await rejection(client.tokensOfAccount('a/b'));
    expect(unknown.problem).toMatchObject({ status: 404, account: 'a/b', code: TPNS_CODE.NOT_FOUND });
    expect(answer.accounts.find((a) => a.account === '926@126.com')).toMatchObject({ status: 'ok', tokens: ['token1'] });
  });

  it('a problem is a TpnsBindingsProblem carrying its fields', async () => {
    const problem = await rejection(client.query({ accounts: [] }));
    expect(problem).toMatchObject({
      status: 400,
      type: 'urn:tpns-bindings:problem:invalid-request',
      title: 'Invalid request',
      detail: 'accounts must list at least one account',
      requestId: expect.any(String),
    });
    expect(problem.message).toBe('400 Invalid request: accounts must list at least one account');
  });

  it("API Gateway's own refusal is a problem too (about:blank), its message the detail", async () => {
    const stranger = new TpnsBindingsClient({ baseUrl: api.url, region: REGION, credentials: { ...KEYS, secretAccessKey: 'wrong' } });
    const problem = await rejection(stranger.accountsOfToken('token1'));
    expect(problem).toMatchObject({ status: 403, type: 'about:blank', detail: FORBIDDEN.mismatch });
    const elsewhere = new TpnsBindingsClient({ baseUrl: api.url, region: 'us-east-1', credentials: KEYS });
    expect((await rejection(elsewhere.accountsOfToken('token1'))).detail).toBe(FORBIDDEN.wrongRegion);
  });

  it('takes credentials from the AWS SDK default chain when none are given', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = KEYS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = KEYS.secretAccessKey;
    try {
      const chained = new TpnsBindingsClient({ baseUrl: `${api.url}/`, region: REGION });
      expect((await chained.accountsOfToken('token2')).status).toBe('ok');
    } finally {
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('splits more than 10,000 items into requests and merges the answers in order', async () => {
    const accounts = Array.from({ length: REQUEST_LIMITS.maxItems + 2 }, (_, i) => (i === 5 ? 'account1' : `user-${i}`));
    const answer = await client.tokensOf([...accounts, 'account1'], { apps: ['android'] });
    expect(answer.requestIds).toHaveLength(2);
    expect(answer.accounts.map((a) => a.account)).toEqual(accounts);
    expect(answer.accounts[5]).toMatchObject({ status: 'ok', tokens: ['token1', 'token2'] });
    expect(answer).toMatchObject({ partial: false, regions: { android: 'guangzhou' } });
  });

  describe('retries, through a proxy that fails on order', () => {
    /** What the proxy does with each next request: answer 503 (with a Retry-After), drop the connection, or pass. */
    type Step = { status: number; retryAfter?: string } | 'reset';
    const steps: Step[] = [];
    let proxy: Server;
    let proxyUrl: string;
    let forwarded = 0;
    beforeAll(async () => {
      proxy = createServer((req, res) => {
        const step = steps.shift();
        if (step === 'reset') return void req.socket.destroy();
        if (step) {
          const headers = { 'content-type': 'application/json', ...(step.retryAfter ? { 'retry-after': step.retryAfter } : {}) };
          return void res.writeHead(step.status, headers).end(JSON.stringify({ message: 'Service Unavailable' }));
        }
        forwarded++;
        const upstream = httpRequest(api.url + req.url, { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        req.pipe(upstream);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    });

    const recording = (retry?: ConstructorParameters<typeof TpnsBindingsClient>[0]['retry']) => {
      const waits: number[] = [];
      const client = new TpnsBindingsClient({
        baseUrl: proxyUrl,
        region: REGION,
        credentials: KEYS,
        retry,
        random: () => 0.5,
        sleep: async (ms) => {
          waits.push(ms);
        },
      });
      return { client, waits };
    };

    it('retries a 503 after its Retry-After, and a dropped connection after a backoff, each signed afresh', async () => {
      steps.push({ status: 503, retryAfter: '2' }, 'reset', { status: 503 });
      const { client, waits } = recording();
      const before = forwarded;
      expect((await client.accountsOfToken('token1')).status).toBe('ok');
      // Retry-After 2 s; then full jitter at half of 200 ms · 2 and of 200 ms · 4.
      expect(waits).toEqual([2_000, 200, 400]);
      expect(forwarded - before).toBe(1);
    });

    it('gives up after maxAttempts with the last problem', async () => {
      steps.push({ status: 503, retryAfter: '0' }, { status: 503, retryAfter: '0' });
      const { client, waits } = recording({ maxAttempts: 2 });
      const problem = await rejection(client.accountsOfToken('token1'));
      expect(problem).toMatchObject({ status: 503, type: 'about:blank', detail: 'Service Unavailable', retryAfterSeconds: 0 });
      expect(waits).toEqual([0]);
      expect(steps).toEqual([]);
    });

    it('does not wait for a Retry-After beyond its bound, nor retry other statuses', async () => {
      steps.push({ status: 503, retryAfter: '3600' });
      const first = recording();
      expect(await rejection(first.client.accountsOfToken('token1'))).toMatchObject({ status: 503, retryAfterSeconds: 3600 });
      expect(first.waits).toEqual([]);
      steps.push({ status: 502 });
      const second = recording();
      expect((await rejection(second.client.accountsOfToken('token1'))).status).toBe(502);
      expect(second.waits).toEqual([]);
      expect(steps).toEqual([]);
    });
  });
});
