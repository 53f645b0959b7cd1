import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TPNS_CODE } from '../../functions/core/tpns/codes.ts';
import { SANDBOX_SECRET_ID } from '../../local/environment.ts';
import { type AwsStandIn, startAwsStandIn } from '../../local/sandbox/aws.ts';
import { SANDBOX_APPS } from '../../local/sandbox/seed-data.ts';
import { startTpnsSandbox, type TpnsSandbox } from '../../local/sandbox/tpns.ts';
import { type LocalApi, startLocalApi } from '../../local/server.ts';
import { fixture, fixtureText } from '../unit/_fixtures.ts';
import {
  type ApiProcess,
  bindingsOf,
  closeAll,
  expectedAccount,
  expectProblem,
  postQuery,
  type RecordingProxy,
  realPathEnv,
  secretFor,
  send,
  spawnLocalApi,
  startRecordingProxy,
} from './support.ts';

// Every expectation below is derived from the sandbox's seeded bindings, in their order.
type Shape = 'new' | 'old';

/** The old response shape carries neither account_type nor timestamp, so neither can come back. */
const expectedToken = (token: string, shape: Shape = 'new') => {
  const accounts = bindingsOf()
    .filter((b) => b.token === token)
    .map((b) =>
      shape === 'new'
        ? { account: b.account, accountType: b.accountType, boundAt: new Date(b.boundAt * 1000).toISOString() }
        : { account: b.account },
    );
  return accounts.length ? { token, status: 'ok', accounts } : { token, status: 'not_found', code: TPNS_CODE.NOT_FOUND, accounts: [] };
};

const answered = (kind: 'accounts' | 'tokens', items: unknown[], region = 'guangzhou') => ({
  [kind]: items,
  partial: false,
  region,
  requestId: expect.any(String),
});

const SANDBOX_APP = SANDBOX_APPS[0]!;
/** The sandbox flags tokens outside /^[A-Za-z0-9_-]{1,64}$/ as invalid. */
const MALFORMED_TOKEN = 'not a token!';
const PHONE = '+8613711112222';
const PHONE_TYPE = 1002;
const HEX_TOKEN = '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b';

const SEED_ACCOUNT_REQUESTS = ['seed-en-request-accounts.json', 'seed-zh-request-accounts.json'];
const SEED_TOKEN_REQUESTS = ['seed-en-request-tokens.json', 'seed-zh-request-tokens.json'];

type NativeAccounts = { account_list: { account: string; account_type?: number }[] };
type NativeTokens = { token_list: string[] };

describe('the local API on the embedded sandbox (default configuration)', () => {
  let api: LocalApi;
  let aws: AwsStandIn;

  beforeAll(async () => {
    api = await startLocalApi({ port: 0, sandbox: { secretForm: 'single' } });
    if (api.environment.mode !== 'sandbox') throw new Error('expected the embedded sandbox; is TPNS_SECRET_ID set?');
    aws = api.environment.aws;
  });
  afterAll(() => api?.close());

  describe("the seed pages' sample requests, sent verbatim", () => {
    it.each(SEED_ACCOUNT_REQUESTS)('%s → 200 with every account found and its tokens', async (name) => {
      const answer = await postQuery(api.url, fixtureText(name));
      const expected = fixture<NativeAccounts>(name).account_list.map((a) => expectedAccount(a.account, a.account_type));
      expect(expected.every((item) => item.status === 'ok' && item.tokens.length > 0)).toBe(true);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(answer.body).toEqual(answered('accounts', expected));
    });

    it.each(SEED_TOKEN_REQUESTS)('%s → 200 with every token found and its accounts', async (name) => {
      const answer = await postQuery(api.url, fixtureText(name));
      const expected = fixture<NativeTokens>(name).token_list.map((t) => expectedToken(t));
      expect(expected.every((item) => item.status === 'ok' && item.accounts.length > 0)).toBe(true);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toEqual(answered('tokens', expected));
    });
  });

  describe('{"accounts"}', () => {
    it('takes strings and objects; duplicates collapse in first-given order; one account under two types stays two items', async () => {
      const answer = await postQuery(api.url, {
        accounts: [
          { account: 'account2', accountType: 1 },
          'account1',
          'account2',
          { account: 'account1', accountType: 0 },
          { account: 'account2' },
          'account1',
          { account: 'account2', accountType: 1 },
        ],
      });
      expect(answer.status, answer.text).toBe(200);
      const expected = [expectedAccount('account2', 1), expectedAccount('account1'), expectedAccount('account2', 0)];
      // The two account2 items really differ, or this would not show that types are kept apart.
      expect(expected[0]!.tokens).not.toEqual(expected[2]!.tokens);
      expect(answer.body).toEqual(answered('accounts', expected));
    });

    it('an unknown account is not_found with code 10110008 and no tokens, next to found ones', async () => {
      const answer = await postQuery(api.url, { accounts: ['account1', 'nobody@example.com', { account: 'account1', accountType: 7 }] });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.accounts).toEqual([
        expectedAccount('account1'),
        { account: 'nobody@example.com', accountType: 0, status: 'not_found', code: 10110008, tokens: [] },
        { account: 'account1', accountType: 7, status: 'not_found', code: 10110008, tokens: [] },
      ]);
    });
  });

  describe('{"tokens"}', () => {
    it('lists bound accounts with accountType and boundAt as an ISO time; duplicates collapse', async () => {
      const answer = await postQuery(api.url, { tokens: [HEX_TOKEN, 'token1', HEX_TOKEN] });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toEqual(answered('tokens', [expectedToken(HEX_TOKEN), expectedToken('token1')]));
      for (const token of answer.body.tokens) {
        for (const account of token.accounts) {
          expect(account.boundAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
          expect(Number.isInteger(account.accountType)).toBe(true);
        }
      }
    });

    it('an unknown token is not_found (10110008) and a malformed one invalid (1008006), each in its place', async () => {
      const answer = await postQuery(api.url, { tokens: ['unknowntoken', 'token2', MALFORMED_TOKEN] });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.tokens).toEqual([
        { token: 'unknowntoken', status: 'not_found', code: 10110008, accounts: [] },
        expectedToken('token2'),
        { token: MALFORMED_TOKEN, status: 'invalid', code: 1008006, accounts: [] },
      ]);
    });
  });

  describe('GET routes', () => {
    it('/v1/accounts/{account}/tokens decodes an e-mail address', async () => {
      const answer = await send(api.url, '/v1/accounts/926%40126.com/tokens');
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toEqual({ ...expectedAccount('926@126.com'), region: 'guangzhou' });
      expect(answer.body.tokens.length).toBeGreaterThan(0);
    });

    it('/v1/accounts/{account}/tokens decodes a +86 phone number and honours ?accountType', async () => {
      const answer = await send(api.url, `/v1/accounts/${encodeURIComponent(PHONE)}/tokens?accountType=${PHONE_TYPE}`);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toEqual({ ...expectedAccount(PHONE, PHONE_TYPE), region: 'guangzhou' });
      expect(answer.body.tokens.length).toBeGreaterThan(0);
    });

    it('without ?accountType the account type is 0, so the phone number bound under 1002 is a 404', async () => {
      const problem = expectProblem(await send(api.url, `/v1/accounts/%2B${PHONE.slice(1)}/tokens`), 404);
      expect(problem).toMatchObject({ code: 10110008, account: PHONE, accountType: 0 });
    });

    it('an id holding "/" reaches the handler encoded twice, as API Gateway requires, and is decoded whole', async () => {
      const problem = expectProblem(await send(api.url, '/v1/accounts/team%252Fops/tokens'), 404);
      expect(problem).toMatchObject({ account: 'team/ops', code: 10110008 });
    });

    it('/v1/tokens/{token}/accounts', async () => {
      const answer = await send(api.url, '/v1/tokens/token1/accounts');
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toEqual({ ...expectedToken('token1'), region: 'guangzhou' });
    });

    it('an unknown token is a 404 problem+json that carries TPNS code 10110008', async () => {
      const problem = expectProblem(await send(api.url, '/v1/tokens/unknowntoken/accounts'), 404);
      expect(problem).toMatchObject({ code: 10110008, token: 'unknowntoken' });
      expect(problem.detail).toContain('unknowntoken');
    });
  });

  it('reads the secret once for many requests, concurrent ones included', async () => {
    const requests = Array.from({ length: 24 }, (_, i) =>
      i % 3 === 0
        ? postQuery(api.url, { accounts: ['account1'] })
        : i % 3 === 1
          ? send(api.url, '/v1/tokens/token2/accounts')
          : send(api.url, '/v1/accounts/account2/tokens?accountType=1'),
    );
    const answers = await Promise.all(requests);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(aws.secretReads).toEqual([SANDBOX_SECRET_ID]);
  });
});

/** Own stand-ins, and `npm start` in a fresh process pointed at them through the real credential path. */
const startOwnApi = async (options: { sandbox?: Parameters<typeof startTpnsSandbox>[0]; secret: string; proxy?: boolean }) => {
  const tpns = await startTpnsSandbox(options.sandbox);
  const aws = await startAwsStandIn({ secrets: { 'team/tpns': options.secret } });
  const proxy = options.proxy ? await startRecordingProxy(tpns.url) : undefined;
  const api = await spawnLocalApi(realPathEnv(aws, proxy?.endpoint ?? tpns.endpoint, 'team/tpns'));
  return { tpns, aws, proxy, api };
};

describe('TPNS answering in the old response shape', () => {
  let tpns: TpnsSandbox;
  let aws: AwsStandIn;
  let api: ApiProcess;

  beforeAll(async () => {
    ({ tpns, aws, api } = await startOwnApi({ sandbox: { knobs: { shape: 'old' } }, secret: secretFor(SANDBOX_APP) }));
  });
  afterAll(() => closeAll(api, tpns, aws));

  it.each(SEED_ACCOUNT_REQUESTS)('%s → the same normalized accounts', async (name) => {
    const answer = await postQuery(api.url, fixtureText(name));
    const expected = fixture<NativeAccounts>(name).account_list.map((a) => expectedAccount(a.account, a.account_type));
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual(answered('accounts', expected));
  });

  it('tokens come back without accountType or boundAt, which the old shape does not have', async () => {
    const answer = await postQuery(api.url, fixtureText('seed-en-request-tokens.json'));
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual(answered('tokens', [expectedToken('token1', 'old'), expectedToken('token2', 'old')]));
  });

  it('items TPNS leaves out of its lists (unknown ones) stay aligned with their codes', async () => {
    const accounts = await postQuery(api.url, { accounts: ['nobody', 'account2', 'ghost', 'account1'] });
    expect(accounts.status, accounts.text).toBe(200);
    expect(accounts.body.accounts).toEqual([
      expectedAccount('nobody'),
      expectedAccount('account2'),
      expectedAccount('ghost'),
      expectedAccount('account1'),
    ]);
    const tokens = await postQuery(api.url, { tokens: ['nope', MALFORMED_TOKEN, 'token2'] });
    expect(tokens.status, tokens.text).toBe(200);
    expect(tokens.body.tokens).toEqual([
      expectedToken('nope', 'old'),
      { token: MALFORMED_TOKEN, status: 'invalid', code: 1008006, accounts: [] },
      expectedToken('token2', 'old'),
    ]);
    expect(tpns.stats.outcomes.length).toBeGreaterThan(0);
    expect(tpns.stats.outcomes.every((outcome) => outcome === '0')).toBe(true);
  });
});

describe('Basic auth ("auth": "basic" in the secret)', () => {
  let tpns: TpnsSandbox;
  let aws: AwsStandIn;
  let proxy: RecordingProxy | undefined;
  let api: ApiProcess;

  beforeAll(async () => {
    ({ tpns, aws, proxy, api } = await startOwnApi({ secret: secretFor(SANDBOX_APP, { auth: 'basic' }), proxy: true }));
  });
  afterAll(() => closeAll(api, proxy, tpns, aws));

  it('works end to end, sending an Authorization: Basic header and no Sign', async () => {
    const answer = await postQuery(api.url, fixtureText('seed-zh-request-tokens.json'));
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual(answered('tokens', [expectedToken('token1'), expectedToken('token2')]));
    const basic = `Basic ${Buffer.from(`${SANDBOX_APP.accessId}:${SANDBOX_APP.secretKey}`).toString('base64')}`;
    expect(proxy!.received.map((headers) => [headers.authorization, headers.sign])).toEqual([[basic, undefined]]);
    expect(tpns.stats.outcomes).toEqual(['0']);
  });
});
