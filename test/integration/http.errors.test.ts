import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_LIMITS } from '../../functions/contract.ts';
import { RETRY_DEFAULTS } from '../../functions/core/query/retry.ts';
import { TPNS_CODE } from '../../functions/core/tpns/codes.ts';
import { type AwsStandIn, startAwsStandIn } from '../../local/sandbox/aws.ts';
import { SANDBOX_APPS } from '../../local/sandbox/seed-data.ts';
import { startTpnsSandbox, type TpnsSandbox } from '../../local/sandbox/tpns.ts';
import { type LocalApi, startLocalApi } from '../../local/server.ts';
import { type Answer, closeAll, expectProblem, postQuery, realPathEnv, secretFor, send, spawnLocalApi } from './support.ts';

/** Short, so a TPNS that never answers runs into the handler's deadline in about 2 s (3 s minus the 1 s margin). */
const FUNCTION_TIMEOUT_MS = 3_000;
const TOO_LONG = 'x'.repeat(REQUEST_LIMITS.maxIdLength + 1);

describe('errors the handler answers on its own configuration (embedded sandbox)', () => {
  let api: LocalApi;
  let tpns: TpnsSandbox;

  beforeAll(async () => {
    api = await startLocalApi({ port: 0, functionTimeoutMs: FUNCTION_TIMEOUT_MS, sandbox: { secretForm: 'single' } });
    if (api.environment.mode !== 'sandbox') throw new Error('expected the embedded sandbox; is TPNS_SECRET_ID set?');
    tpns = api.environment.tpns;
  });
  afterAll(() => api?.close());

  /** A rejected request is answered before TPNS is called. */
  const expectRejected = async (pending: Promise<Answer>, status: number) => {
    const callsBefore = tpns.stats.calls;
    const problem = expectProblem(await pending, status);
    expect(tpns.stats.calls).toBe(callsBefore);
    return problem;
  };

  describe('400 Bad Request', () => {
    it('malformed JSON', async () => {
      const problem = await expectRejected(postQuery(api.url, '{"tokens": ["token1",'), 400);
      expect(problem.detail).toMatch(/not valid JSON/);
    });

    it('a JSON content type with no body', async () => {
      await expectRejected(send(api.url, '/v1/bindings/query', { method: 'POST', headers: { 'content-type': 'application/json' } }), 400);
    });

    it.each([
      ['an array body', []],
      ['a string body', 'tokens'],
      ['a null body', null],
      ['tokens not an array', { tokens: 'token1' }],
      ['a token that is a number', { tokens: ['token1', 42] }],
      ['an account that is null', { accounts: [null] }],
      ['an account object without "account"', { accounts: [{ accountType: 1 }] }],
      ['an account that is a number', { accounts: [{ account: 1500001048 }] }],
      ['operator_type as a string', { operator_type: '1', account_list: [{ account: 'account1' }] }],
      ['a native account_list of strings', { operator_type: 1, account_list: ['account1'] }],
      ['an unknown field', { tokens: ['token1'], region: 'guangzhou' }],
      ['an empty list', { tokens: [] }],
    ])('wrong types: %s', async (_, body) => {
      await expectRejected(postQuery(api.url, JSON.stringify(body)), 400);
    });

    it.each([
      ['accounts and tokens', { accounts: ['account1'], tokens: ['token1'] }, /only one of "accounts" and "tokens"/],
      ['tokens and operator_type', { operator_type: 2, tokens: ['token1'], token_list: ['token1'] }, /only one of/],
      ['neither', {}, /one of "accounts", "tokens" or "operator_type"/],
      ['a native list without operator_type', { token_list: ['token1'] }, /one of "accounts", "tokens" or "operator_type"/],
    ])('both or neither of accounts/tokens: %s', async (_, body, detail) => {
      const problem = await expectRejected(postQuery(api.url, body), 400);
      expect(problem.detail).toMatch(detail);
    });

    it.each([0, 3, -1, 1.5, null])('unknown operator_type %s', async (operatorType) => {
      const problem = await expectRejected(postQuery(api.url, { operator_type: operatorType, token_list: ['token1'] }), 400);
      expect(problem.detail).toMatch(/operator_type/);
    });

    it.each([
      ['token', { tokens: ['token1', ''] }],
      ['account string', { accounts: [''] }],
      ['account object', { accounts: [{ account: '', accountType: 0 }] }],
      ['native account', { operator_type: 1, account_list: [{ account: '' }] }],
      ['native token', { operator_type: 2, token_list: [''] }],
    ])('empty id: %s', async (_, body) => {
      const problem = await expectRejected(postQuery(api.url, body), 400);
      expect(problem.detail).toMatch(/empty/);
    });

    it.each([
      ['token', { tokens: [TOO_LONG] }],
      ['account', { accounts: [TOO_LONG] }],
      ['native account', { operator_type: 1, account_list: [{ account: TOO_LONG }] }],
    ])(`over-long id (${REQUEST_LIMITS.maxIdLength + 1} characters): %s`, async (_, body) => {
      const problem = await expectRejected(postQuery(api.url, body), 400);
      expect(problem.detail).toContain(String(REQUEST_LIMITS.maxIdLength));
    });

    it.each([
      ['a control character', { accounts: ['account1', 'a', 'b', 'x\u0000y'] }, 'accounts[3].account must not contain control characters'],
      ['a tab', { accounts: [{ account: 'a\tb', accountType: 1 }] }, 'accounts[0].account must not contain control characters'],
      ['DEL', { operator_type: 2, token_list: ['token1', 't\u007f'] }, 'token_list[1] must not contain control characters'],
      ['a lone surrogate', { tokens: ['token1', '\ud800'] }, 'tokens[1] must not contain lone surrogates (malformed UTF-16)'],
      [
        'a reversed pair',
        { operator_type: 1, account_list: [{ account: '\ude00\ud83d' }] },
        'account_list[0].account must not contain lone surrogates (malformed UTF-16)',
      ],
      ['only spaces', { tokens: ['   '] }, 'tokens[0] must not be only whitespace'],
      ['only an ideographic space', { accounts: ['\u3000'] }, 'accounts[0].account must not be only whitespace'],
    ])('an id that cannot be (%s): 400 naming the field', async (_, body, detail) => {
      const problem = await expectRejected(postQuery(api.url, body), 400);
      expect(problem.detail).toBe(detail);
    });

    it('a lone surrogate written as a JSON escape', async () => {
      const problem = await expectRejected(postQuery(api.url, '{"tokens": ["\\udc00"]}'), 400);
      expect(problem.detail).toMatch(/^tokens\[0\] must not contain lone surrogates/);
    });

    it.each([
      ['/v1/accounts/a%00b/tokens', 'the account in the path must not contain control characters'],
      ['/v1/accounts/%0A/tokens?accountType=1', 'the account in the path must not contain control characters'],
      ['/v1/tokens/t%7F/accounts', 'the token in the path must not contain control characters'],
      ['/v1/tokens/%20%20/accounts', 'the token in the path must not be only whitespace'],
      ['/v1/accounts/%C2%A0/tokens', 'the account in the path must not be only whitespace'],
    ])('an id that cannot be in a path: %s', async (path, detail) => {
      const problem = await expectRejected(send(api.url, path), 400);
      expect(problem.detail).toBe(detail);
    });

    it('over-long ids in paths', async () => {
      await expectRejected(send(api.url, `/v1/tokens/${TOO_LONG}/accounts`), 400);
      await expectRejected(send(api.url, `/v1/accounts/${TOO_LONG}/tokens`), 400);
    });

    it(`an id of exactly ${REQUEST_LIMITS.maxIdLength} characters is accepted`, async () => {
      const answer = await postQuery(api.url, { accounts: ['y'.repeat(REQUEST_LIMITS.maxIdLength)] });
      expect(answer.status, answer.text).toBe(200);
    });

    it.each([-1, 1.5, '1', 2 ** 31, null])('accountType %s in the body', async (accountType) => {
      const problem = await expectRejected(postQuery(api.url, { accounts: [{ account: 'account1', accountType }] }), 400);
      expect(problem.detail).toMatch(/accounts\[0\]\.accountType/);
    });

    it.each([-1, 1.5])('account_type %s in the native body', async (accountType) => {
      await expectRejected(
        postQuery(api.url, { operator_type: 1, account_list: [{ account: 'account1', account_type: accountType }] }),
        400,
      );
    });

    it.each(['-1', '1.5', 'abc', '', '1e3', '99999999999'])('?accountType=%s', async (accountType) => {
      const problem = await expectRejected(send(api.url, `/v1/accounts/account1/tokens?accountType=${accountType}`), 400);
      expect(problem.detail).toMatch(/accountType/);
    });

    it('a body nested millions deep (under 6 MB) is refused before JSON.parse builds it: quickly, saying why', async () => {
      const depth = 2_800_000;
      const started = performance.now();
      const problem = await expectRejected(postQuery(api.url, '['.repeat(depth) + ']'.repeat(depth)), 400);
      expect(problem.detail).toMatch(/^the body nests deeper than 3 levels/);
      // JSON.parse took about 2 s (and 470 MB) for it; the scan stops at the fourth byte
      expect(performance.now() - started).toBeLessThan(1_000);
    });

    it('a body nested one level deeper than the contract is refused as such', async () => {
      const problem = await expectRejected(postQuery(api.url, { accounts: [{ account: ['account1'] }] }), 400);
      expect(problem.detail).toMatch(/nests deeper than 3 levels/);
    });

    it('an array of more than 10,000 items anywhere is refused, naming it', async () => {
      const problem = await expectRejected(postQuery(api.url, { accounts: [Array.from({ length: 10_001 }, () => 0)] }), 400);
      expect(problem.detail).toMatch(/^accounts\[0\] lists more than 10000 items/);
    });

    it('bytes that are not UTF-8 (a base64-encoded body) are a 400, not a silent U+FFFD', async () => {
      // The adapter base64-encodes what it does not recognise as text, as API Gateway does: "Application/JSON" here.
      const gbk = Buffer.concat([Buffer.from('{"accounts": ["'), Buffer.from([0xd3, 0xc3, 0xbb, 0xa7]), Buffer.from('"]}')]);
      const response = await request(`${api.url}/v1/bindings/query`, {
        method: 'POST',
        headers: { 'content-type': 'Application/JSON' },
        body: gbk,
      });
      const text = await response.body.text();
      const problem = await expectRejected(
        Promise.resolve({ status: response.statusCode, headers: response.headers, text, body: JSON.parse(text) }),
        400,
      );
      expect(problem.detail).toBe('the body is not valid UTF-8');
    });

    it.each([
      ['/v1/accounts/account1/tokens?accounttype=1', 'unknown query parameter "accounttype" (this route takes only accountType, app)'],
      [
        '/v1/accounts/account1/tokens?accountType=1&verbose=x',
        'unknown query parameter "verbose" (this route takes only accountType, app)',
      ],
      ['/v1/tokens/token1/accounts?accountType=1', 'unknown query parameter "accountType" (this route takes only app)'],
      ['/v1/tokens/token1/accounts?verbose', 'unknown query parameter "verbose" (this route takes only app)'],
    ])('an unknown query parameter, not a silent default: %s', async (path, detail) => {
      const problem = await expectRejected(send(api.url, path), 400);
      expect(problem.detail).toBe(detail);
    });

    it('a repeated query parameter (which API Gateway would join as "1,2")', async () => {
      const problem = await expectRejected(send(api.url, '/v1/accounts/account1/tokens?accountType=1&accountType=2'), 400);
      expect(problem.detail).toBe('query parameter "accountType" is given more than once; give it once');
      const literal = await expectRejected(send(api.url, '/v1/accounts/account1/tokens?accountType=1%2C2'), 400);
      expect(literal.detail).toMatch(/^accountType must be a non-negative integer/);
    });

    it(`more than ${REQUEST_LIMITS.maxItems} items`, async () => {
      const tokens = Array.from({ length: REQUEST_LIMITS.maxItems + 1 }, (_, i) => `t${i}`);
      const problem = await expectRejected(postQuery(api.url, { tokens }), 400);
      expect(problem.detail).toMatch(/^tokens lists more than 10000 items/);
    });
  });

  describe('JSON in any spelling of its media type', () => {
    it.each(['Application/JSON ; charset=UTF-8', 'application/json;charset="utf-8"', 'APPLICATION/JSON', 'application/vnd.api+json'])(
      '%s → 200',
      async (contentType) => {
        const answer = await send(api.url, '/v1/bindings/query', {
          method: 'POST',
          headers: { 'content-type': contentType },
          body: '{"accounts": ["account1", "用户"]}',
        });
        expect(answer.status, answer.text).toBe(200);
        expect(answer.body.accounts.map((a: { account: string }) => a.account)).toEqual(['account1', '用户']);
      },
    );
  });

  describe('415 Unsupported Media Type', () => {
    it.each(['gbk', 'utf-16', 'ISO-8859-1'])('charset=%s: a 415 naming the charset, not a mis-decoding', async (charset) => {
      const problem = await expectRejected(
        send(api.url, '/v1/bindings/query', {
          method: 'POST',
          headers: { 'content-type': `application/json; charset=${charset}` },
          body: '{"tokens": ["token1"]}',
        }),
        415,
      );
      expect(problem.type).toBe('urn:tpns-bindings:problem:unsupported-media-type');
      expect(problem.detail).toContain(`charset "${charset}"`);
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml', undefined])('content-type %s', async (contentType) => {
      const headers: Record<string, string> = contentType === undefined ? {} : { 'content-type': contentType };
      const problem = await expectRejected(
        send(api.url, '/v1/bindings/query', { method: 'POST', headers, body: '{"tokens": ["token1"]}' }),
        415,
      );
      expect(problem.detail).toMatch(/application\/json/);
    });
  });

  describe('404 Not Found for an unknown route', () => {
    it.each([
      ['GET', '/'],
      ['GET', '/v1/nothing'],
      ['POST', '/v1/bindings'],
      ['POST', '/v1/bindings/query/more'],
      ['GET', '/v1/accounts//tokens'],
      ['GET', '/v1/tokens/token1'],
      ['GET', '//%E0%A4%A/v1/tokens/token1/accounts'],
    ])('%s %s', async (method, path) => {
      await expectRejected(send(api.url, path, { method, ...(method === 'POST' ? { json: { tokens: ['token1'] } } : {}) }), 404);
    });
  });

  describe('405 Method Not Allowed, with Allow', () => {
    it.each([
      ['GET', '/v1/bindings/query', 'POST'],
      ['PUT', '/v1/bindings/query', 'POST'],
      ['DELETE', '/v1/tokens/token1/accounts', 'GET'],
      ['POST', '/v1/accounts/account1/tokens', 'GET'],
    ])('%s %s', async (method, path, allow) => {
      const callsBefore = tpns.stats.calls;
      const answer = await send(api.url, path, {
        method,
        ...(method === 'GET' || method === 'DELETE' ? {} : { json: { tokens: ['token1'] } }),
      });
      expectProblem(answer, 405);
      expect(answer.headers.allow).toBe(allow);
      expect(tpns.stats.calls).toBe(callsBefore);
    });
  });

  describe('TPNS failing', () => {
    it("504 when TPNS does not answer before the deadline (not the gateway's own 503)", async () => {
      tpns.injectFaults('hang');
      const problem = expectProblem(await postQuery(api.url, { tokens: ['token1'] }), 504);
      expect(problem).toMatchObject({ type: 'urn:tpns-bindings:problem:tpns-timeout', region: 'guangzhou' });
      expect(tpns.stats.outcomes.at(-1)).toBe('hang');
    });

    it('502 when TPNS keeps answering HTTP 503 through every retry', async () => {
      const attempts = RETRY_DEFAULTS.maxRetries + 1;
      tpns.injectFaults(...Array.from({ length: attempts }, () => 'http503' as const));
      const before = tpns.stats.outcomes.length;
      const problem = expectProblem(await postQuery(api.url, { accounts: ['account1'] }), 502);
      expect(problem.detail).toMatch(/503/);
      expect(tpns.stats.outcomes.slice(before)).toEqual(Array.from({ length: attempts }, () => 'http503'));
    });
  });
});

const SANDBOX_APP = SANDBOX_APPS[0]!;
const WRONG_KEY = 'ffffffffffffffffffffffffffffffff';

/**
 * Misconfigurations: each test runs `npm start` in a fresh process (a cold container) on the
 * real credential path, with TPNS_SECRET_ID naming one of these secrets in the stand-in.
 */
const SECRETS = {
  'tpns/wrong-key': secretFor(SANDBOX_APP, { secretKey: WRONG_KEY }),
  'tpns/wrong-region': secretFor(SANDBOX_APP, { region: 'shanghai' }),
  'tpns/not-json': `accessId=${SANDBOX_APP.accessId} secretKey=${SANDBOX_APP.secretKey}`,
  'tpns/no-secret-key': JSON.stringify({ accessId: SANDBOX_APP.accessId, secret_key: SANDBOX_APP.secretKey }),
};

describe('errors from a misconfigured secret', () => {
  let tpns: TpnsSandbox;
  let aws: AwsStandIn;

  beforeAll(async () => {
    [tpns, aws] = await Promise.all([startTpnsSandbox(), startAwsStandIn({ secrets: SECRETS })]);
  });
  afterAll(() => closeAll(tpns, aws));

  /** One query through a fresh local API whose TPNS_SECRET_ID is `secretId`. */
  const queryWithSecret = async (secretId: string, body: unknown = { tokens: ['token1'] }): Promise<Answer> => {
    const api = await spawnLocalApi(realPathEnv(aws, tpns.endpoint, secretId));
    try {
      return await postQuery(api.url, body);
    } finally {
      await api.close();
    }
  };

  /** Details name what is wrong, never what the secret holds. */
  const expectNoSecretValues = (answer: Answer) => {
    for (const value of [SANDBOX_APP.secretKey, WRONG_KEY]) expect(answer.text).not.toContain(value);
  };

  it('502 when TPNS rejects the credentials (wrong secretKey): code 1008003 and a sentence saying so', async () => {
    const answer = await queryWithSecret('tpns/wrong-key');
    const problem = expectProblem(answer, 502);
    expect(problem).toMatchObject({ tpnsCode: TPNS_CODE.AUTH_FAILED, region: 'guangzhou' });
    expect(problem.detail).toMatch(/credentials were rejected/);
    expectNoSecretValues(answer);
  });

  it("502 when the AccessId is not in the secret's access point: code 1008035 and the region named, no probing", async () => {
    const before = tpns.stats.outcomes.length;
    const answer = await queryWithSecret('tpns/wrong-region');
    const problem = expectProblem(answer, 502);
    expect(problem).toMatchObject({
      type: 'urn:tpns-bindings:problem:tpns-wrong-access-point',
      tpnsCode: TPNS_CODE.WRONG_ACCESS_POINT,
      region: 'shanghai',
    });
    expect(problem.detail).toMatch(/does not belong to the shanghai access point/);
    // A region named in the secret is not second-guessed: no other access point is tried.
    expect(tpns.stats.outcomes.slice(before)).toEqual(['1008035']);
    expectNoSecretValues(answer);
  });

  it('503 when the secret does not exist', async () => {
    const answer = await queryWithSecret('tpns/absent');
    const problem = expectProblem(answer, 503);
    expect(problem.detail).toContain('"tpns/absent"');
    expect(problem.detail).toMatch(/ResourceNotFoundException/);
  });

  it('503 when the secret is not JSON', async () => {
    const answer = await queryWithSecret('tpns/not-json');
    const problem = expectProblem(answer, 503);
    expect(problem.detail).toMatch(/"tpns\/not-json" must hold a JSON object/);
    expectNoSecretValues(answer);
    expect(answer.text).not.toContain(SANDBOX_APP.accessId);
  });

  it('503 when the secret has no secretKey: the detail names the missing field, not the values', async () => {
    const answer = await queryWithSecret('tpns/no-secret-key');
    const problem = expectProblem(answer, 503);
    expect(problem.detail).toMatch(/"secretKey" \(a non-empty string\) is missing/);
    expect(problem.detail).not.toMatch(/accessId/);
    expectNoSecretValues(answer);
  });

  it('a malformed secret is not cached: once fixed in Secrets Manager, the next request succeeds without a restart', async () => {
    aws.secrets.set('tpns/fixed-later', 'not json');
    const api = await spawnLocalApi(realPathEnv(aws, tpns.endpoint, 'tpns/fixed-later'));
    try {
      expectProblem(await postQuery(api.url, { tokens: ['token1'] }), 503);
      aws.secrets.set('tpns/fixed-later', secretFor(SANDBOX_APP));
      const answer = await postQuery(api.url, { tokens: ['token1'] });
      expect(answer.status, answer.text).toBe(200);
    } finally {
      await api.close();
    }
  });
});
