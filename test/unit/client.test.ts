import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { Agent, MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toProblemError } from '../../functions/core/problems.ts';
import { signRequest } from '../../functions/core/tpns/auth.ts';
import { parseQueryResponse, queryAccountBindings, type TpnsQueryRequest, type TpnsTarget } from '../../functions/core/tpns/client.ts';
import { type FailureKind, TpnsError } from '../../functions/core/tpns/failures.ts';
import {
  ACCESS_POINTS,
  baseUrlFor,
  DEFAULT_REGION,
  isRegion,
  QUERY_PATH,
  REGIONS,
  type Region,
} from '../../functions/core/tpns/regions.ts';
import { fixtureText, tpnsFailure } from './_fixtures.ts';

const SECRET_KEY = 'sk-7f3c9a1e5b2d4c6e8f0a1b2c3d4e5f6a';
const ACCESS_ID = '1500001048';
const credentials = { accessId: ACCESS_ID, secretKey: SECRET_KEY };
const GZ = 'https://api.tpns.tencent.com';

const tokensBody: TpnsQueryRequest = { operator_type: 2, token_list: ['token1', 'token2'] };
const accountsBody: TpnsQueryRequest = {
  operator_type: 1,
  account_list: [
    { account: 'account1', account_type: 0 },
    { account: 'account2', account_type: 1 },
  ],
};
const OK_TOKENS = { retCode: 0, errMsg: 'ok', result: ['0', '0'], token_accounts: [] };

let agent: MockAgent;

beforeEach(() => {
  agent = new MockAgent({ enableCallHistory: true });
  agent.disableNetConnect();
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

const target = (overrides: Partial<TpnsTarget> = {}): TpnsTarget => ({ region: 'guangzhou', credentials, auth: 'sign', ...overrides });

const intercept = (origin = GZ, path = QUERY_PATH) => agent.get(origin).intercept({ path, method: 'POST' });

const lastCall = () => {
  const call = agent.getCallHistory()?.lastCall();
  if (!call) throw new Error('no call was made');
  return call;
};

const expectNoSecret = (error: TpnsError) => {
  const basic = Buffer.from(`${ACCESS_ID}:${SECRET_KEY}`).toString('base64');
  for (const text of [
    error.message,
    String(error),
    error.stack ?? '',
    JSON.stringify(toProblemError(error).toProblem()),
    JSON.stringify(toProblemError(error).headers),
  ]) {
    expect(text).not.toContain(SECRET_KEY);
    expect(text).not.toContain(basic);
  }
};

describe('regions and base URLs', () => {
  it('has the four documented access points, guangzhou by default', () => {
    expect(ACCESS_POINTS).toEqual({
      guangzhou: 'https://api.tpns.tencent.com',
      shanghai: 'https://api.tpns.sh.tencent.com',
      hongkong: 'https://api.tpns.hk.tencent.com',
      singapore: 'https://api.tpns.sgp.tencent.com',
    });
    expect(DEFAULT_REGION).toBe('guangzhou');
    expect(QUERY_PATH).toBe('/v3/device/account/query');
  });

  it('isRegion accepts only the four keys', () => {
    for (const region of REGIONS) expect(isRegion(region)).toBe(true);
    for (const value of ['', 'Guangzhou', 'beijing', 'toString', '__proto__', 'constructor', 1, null, undefined])
      expect(isRegion(value)).toBe(false);
  });

  it('an endpoint override replaces the host and drops trailing slashes', () => {
    expect(baseUrlFor('singapore')).toBe('https://api.tpns.sgp.tencent.com');
    expect(baseUrlFor('singapore', 'http://127.0.0.1:4100')).toBe('http://127.0.0.1:4100');
    expect(baseUrlFor('singapore', 'http://127.0.0.1:4100///')).toBe('http://127.0.0.1:4100');
    expect(baseUrlFor('hongkong', 'https://proxy.example/tpns/')).toBe('https://proxy.example/tpns');
  });

  it('a {region} placeholder in the override is replaced by the region key', () => {
    expect(baseUrlFor('shanghai', 'http://127.0.0.1:4100/{region}')).toBe('http://127.0.0.1:4100/shanghai');
    expect(baseUrlFor('hongkong', 'http://{region}.tpns.test/{region}/')).toBe('http://hongkong.tpns.test/hongkong');
  });
});

describe('queryAccountBindings: where and what it sends', () => {
  it.each(REGIONS)('POSTs to the %s access point', async (region: Region) => {
    intercept(ACCESS_POINTS[region]).reply(200, OK_TOKENS);
    await queryAccountBindings(target({ region }), tokensBody, { dispatcher: agent });
    const call = lastCall();
    expect(call.method).toBe('POST');
    expect(call.fullUrl).toBe(`${ACCESS_POINTS[region]}/v3/device/account/query`);
  });

  it('POSTs to the override endpoint instead of the region host', async () => {
    intercept('http://127.0.0.1:4100').reply(200, OK_TOKENS);
    await queryAccountBindings(target({ region: 'singapore', endpoint: 'http://127.0.0.1:4100/' }), tokensBody, { dispatcher: agent });
    expect(lastCall().fullUrl).toBe('http://127.0.0.1:4100/v3/device/account/query');
  });

  it('POSTs to the override endpoint with {region} substituted', async () => {
    intercept('http://127.0.0.1:4100', '/shanghai/v3/device/account/query').reply(200, OK_TOKENS);
    await queryAccountBindings(target({ region: 'shanghai', endpoint: 'http://127.0.0.1:4100/{region}' }), tokensBody, {
      dispatcher: agent,
    });
    expect(lastCall().fullUrl).toBe('http://127.0.0.1:4100/shanghai/v3/device/account/query');
  });

  it('sends the request as JSON, exactly the TPNS body', async () => {
    intercept().reply(200, { retCode: 0, result: ['0', '0'] });
    await queryAccountBindings(target(), accountsBody, { dispatcher: agent });
    const call = lastCall();
    expect(call.headers).toMatchObject({ 'content-type': 'application/json' });
    expect(JSON.parse(call.body as string)).toEqual(accountsBody);
  });

  it('signature scheme: AccessId, TimeStamp and a Sign over the exact bytes sent', async () => {
    intercept().reply(200, OK_TOKENS);
    const before = Math.floor(Date.now() / 1000);
    await queryAccountBindings(target(), tokensBody, { dispatcher: agent });
    const after = Math.floor(Date.now() / 1000);
    const call = lastCall();
    const headers = call.headers as Record<string, string>;
    const body = call.body as string;
    expect(headers.AccessId).toBe(ACCESS_ID);
    expect(headers.TimeStamp).toMatch(/^\d+$/);
    expect(Number(headers.TimeStamp)).toBeGreaterThanOrEqual(before);
    expect(Number(headers.TimeStamp)).toBeLessThanOrEqual(after);
    expect(headers.Sign).toBe(signRequest(SECRET_KEY, headers.TimeStamp!, ACCESS_ID, body));
    expect(Object.keys(headers).map((k) => k.toLowerCase())).not.toContain('authorization');
    expect(JSON.stringify(headers)).not.toContain(SECRET_KEY);
  });

  it('Basic scheme: Authorization: Basic base64(AccessId:SecretKey) and no signature headers', async () => {
    intercept().reply(200, OK_TOKENS);
    await queryAccountBindings(target({ auth: 'basic' }), tokensBody, { dispatcher: agent });
    const headers = lastCall().headers as Record<string, string>;
    expect(headers.Authorization).toBe(`Basic ${Buffer.from(`${ACCESS_ID}:${SECRET_KEY}`).toString('base64')}`);
    const lower = Object.keys(headers).map((k) => k.toLowerCase());
    expect(lower).not.toContain('sign');
    expect(lower).not.toContain('timestamp');
    expect(lower).not.toContain('accessid');
  });
});

describe('queryAccountBindings: answers', () => {
  it('returns the parsed old-shape seed answer', async () => {
    intercept().reply(200, fixtureText('seed-en-response-accounts.json'), { headers: { 'content-type': 'application/json' } });
    const response = await queryAccountBindings(target(), accountsBody, { dispatcher: agent });
    expect(response).toEqual({
      codes: [0, 0],
      accountTokens: [
        { account: 'account1', token_list: ['token1', 'token2'] },
        { account: 'account2', token_list: ['token2', 'token3'] },
      ],
      tokenAccounts: [],
    });
  });

  it('returns the parsed new-shape seed answer', async () => {
    intercept().reply(200, fixtureText('seed-zh-response-tokens.json'));
    const response = await queryAccountBindings(target(), tokensBody, { dispatcher: agent });
    expect(response.codes).toEqual([0, 0]);
    expect(response.accountTokens).toEqual([]);
    expect(response.tokenAccounts.map((entry) => entry.token)).toEqual(['token1', 'token2']);
    expect(response.tokenAccounts[0]!.account_list![0]).toEqual({ account: '926@126.com', account_type: 0, timestamp: 1691656271 });
  });

  it('accepts per-item failure codes inside a successful call', async () => {
    intercept().reply(200, { retCode: 0, errMsg: 'NO_ERROR', result: ['10110008', '1008006'], account_tokens: null, token_accounts: null });
    const response = await queryAccountBindings(target(), tokensBody, { dispatcher: agent });
    expect(response).toEqual({ codes: [10110008, 1008006], accountTokens: [], tokenAccounts: [] });
  });
});

describe('queryAccountBindings: failures → TpnsError.kind', () => {
  it.each<[number, FailureKind]>([
    [1008003, 'credentials_rejected'],
    [1008035, 'wrong_access_point'],
    [1008028, 'rate_limited'],
    [1008004, 'upstream_error'],
    [1008001, 'request_rejected'],
    [1008002, 'request_rejected'],
    [1008007, 'batch_too_large'],
    [1008030, 'app_unavailable'],
    [1008031, 'app_unavailable'],
    [10110008, 'request_rejected'],
  ])('retCode %i → %s, with the code and region', async (retCode, kind) => {
    intercept('https://api.tpns.hk.tencent.com').reply(200, { retCode, errMsg: 'something', result: [] });
    const error = await tpnsFailure(queryAccountBindings(target({ region: 'hongkong' }), tokensBody, { dispatcher: agent }));
    expect(error.kind).toBe(kind);
    expect(error.code).toBe(retCode);
    expect(error.region).toBe('hongkong');
    expect(error.message).toContain(String(retCode));
    expectNoSecret(error);
  });

  it('1008003: the problem says in words that the credentials were rejected', async () => {
    intercept().reply(200, { retCode: 1008003, errMsg: 'auth failed' });
    const problem = toProblemError(await tpnsFailure(queryAccountBindings(target(), tokensBody, { dispatcher: agent }))).toProblem();
    expect(problem).toMatchObject({ status: 502, tpnsCode: 1008003, region: 'guangzhou' });
    expect(`${problem.title} ${problem.detail}`).toMatch(/credentials.*rejected|rejected.*credentials/i);
  });

  it('1008035: the problem detail says the AccessId does not belong to the <region> access point (issue 2)', async () => {
    intercept('https://api.tpns.sh.tencent.com').reply(200, { retCode: 1008035, errMsg: 'access id error' });
    const problem = toProblemError(
      await tpnsFailure(queryAccountBindings(target({ region: 'shanghai' }), tokensBody, { dispatcher: agent })),
    ).toProblem();
    expect(problem).toMatchObject({ status: 502, tpnsCode: 1008035, region: 'shanghai' });
    // the human sentence itself must name the access point, not only the `region` member
    expect(problem.detail).toContain('shanghai');
    expect(problem.detail).toMatch(/AccessId/);
  });

  it('a retCode in a non-2xx answer wins over the HTTP status (1008035 with HTTP 403)', async () => {
    intercept().reply(403, { retCode: 1008035, errMsg: 'access id not in this access point' });
    const error = await tpnsFailure(queryAccountBindings(target(), tokensBody, { dispatcher: agent }));
    expect(error.kind).toBe('wrong_access_point');
    expect(error.code).toBe(1008035);
  });

  it.each<[number, FailureKind]>([
    [500, 'upstream_error'],
    [502, 'upstream_error'],
    [503, 'upstream_error'],
    [429, 'rate_limited'],
    [403, 'request_rejected'],
    [401, 'request_rejected'],
    [404, 'request_rejected'],
  ])('HTTP %i without JSON → %s', async (status, kind) => {
    intercept().reply(status, '<html><body>error</body></html>', { headers: { 'content-type': 'text/html' } });
    const error = await tpnsFailure(queryAccountBindings(target(), tokensBody, { dispatcher: agent }));
    expect(error.kind).toBe(kind);
    expect(error.code).toBeUndefined();
    expect(error.message).toContain(String(status));
    expectNoSecret(error);
  });

  it('HTTP 500 with retCode 0 in the body is still an upstream error', async () => {
    intercept().reply(500, { retCode: 0, result: ['0', '0'] });
    expect((await tpnsFailure(queryAccountBindings(target(), tokensBody, { dispatcher: agent }))).kind).toBe('upstream_error');
  });

  it.each([
    ['a non-JSON body', 'Service Unavailable'],
    ['an empty body', ''],
    ['a JSON array', '[{"retCode":0}]'],
    ['JSON null', 'null'],
    ['a JSON string', '"ok"'],
    ['a truncated JSON', '{"retCode": 0, "result": ["0", "0"'],
  ])('HTTP 200 with %s → bad_response', async (_, text) => {
    intercept().reply(200, text);
    const error = await tpnsFailure(queryAccountBindings(target(), tokensBody, { dispatcher: agent }));
    expect(error.kind).toBe('bad_response');
    expectNoSecret(error);
  });

  it.each([
    ['no retCode', { errMsg: 'ok', result: ['0', '0'] }],
    ['a string retCode', { retCode: '0', result: ['0', '0'] }],
    ['ret_code instead of retCode', { ret_code: 0, result: ['0', '0'] }],
  ])('HTTP 200 with %s → bad_response', async (_, body) => {
    intercept().reply(200, body);
    expect((await tpnsFailure(queryAccountBindings(target(), tokensBody, { dispatcher: agent }))).kind).toBe('bad_response');
  });

  it.each([
    ['too short', ['0']],
    ['too long', ['0', '0', '0']],
    ['empty', []],
    ['missing', undefined],
    ['null', null],
    ['an object', { 0: '0', 1: '0' }],
    ['non-numeric strings', ['0', 'ok']],
    ['padded strings', ['0', ' 0']],
    ['floats', [0, 1.5]],
    ['exponent strings', ['0', '1e7']],
    ['nulls', ['0', null]],
  ])('a `result` that is %s → bad_response', async (_, result) => {
    intercept().reply(200, { retCode: 0, errMsg: 'ok', result, token_accounts: [] });
    const error = await tpnsFailure(queryAccountBindings(target(), tokensBody, { dispatcher: agent }));
    expect(error.kind).toBe('bad_response');
    expect(error.message).toMatch(/result/);
  });

  it('the expected result length follows the request (accounts)', async () => {
    intercept().reply(200, { retCode: 0, result: ['0'] });
    expect((await tpnsFailure(queryAccountBindings(target(), accountsBody, { dispatcher: agent }))).kind).toBe('bad_response');
  });

  it('a connection reset → unavailable, naming the host and the reason', async () => {
    intercept('https://api.tpns.sgp.tencent.com').replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const error = await tpnsFailure(queryAccountBindings(target({ region: 'singapore' }), tokensBody, { dispatcher: agent }));
    expect(error.kind).toBe('unavailable');
    expect(error.region).toBe('singapore');
    expect(error.message).toContain('api.tpns.sgp.tencent.com');
    expect(error.message).toContain('ECONNRESET');
    expect(error.cause).toBeInstanceOf(Error);
    expectNoSecret(error);
  });

  it('any other connection error → unavailable', async () => {
    intercept().replyWithError(new Error('getaddrinfo ENOTFOUND'));
    expect((await tpnsFailure(queryAccountBindings(target(), tokensBody, { dispatcher: agent }))).kind).toBe('unavailable');
  });

  it("a TPNS that takes longer than timeoutMs to answer (a real socket: undici's own timer) → timeout", async () => {
    const server = createServer(() => {}); // reads the request, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const real = new Agent();
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const started = performance.now();
      const error = await tpnsFailure(queryAccountBindings(target({ endpoint }), tokensBody, { dispatcher: real, timeoutMs: 200 }));
      expect(error.kind).toBe('timeout');
      expect(error.message).toContain('200 ms');
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(toProblemError(error).toProblem().status).toBe(504);
      expectNoSecret(error);
    } finally {
      await real.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it("a reply still pending when the caller's signal times out (the query's deadline) → timeout", async () => {
    intercept().reply(200, OK_TOKENS).delay(120_000);
    const error = await tpnsFailure(queryAccountBindings(target(), tokensBody, { dispatcher: agent, signal: AbortSignal.timeout(25) }));
    expect(error.kind).toBe('timeout');
    expectNoSecret(error);
  });

  it('undici timeout codes are timeouts too', async () => {
    for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']) {
      intercept().replyWithError(Object.assign(new Error('timed out'), { code }));
      expect((await tpnsFailure(queryAccountBindings(target(), tokensBody, { dispatcher: agent }))).kind).toBe('timeout');
    }
  });

  it('an endpoint that is not a parseable URL still fails as a TpnsError (the documented contract), not a raw TypeError', async () => {
    const error = await queryAccountBindings(target({ endpoint: 'http://exa mple.com' }), tokensBody, { dispatcher: agent }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TpnsError);
  });

  it('no failure leaks the SecretKey with Basic auth either', async () => {
    intercept().reply(200, { retCode: 1008003, errMsg: 'auth failed' });
    intercept().reply(401, 'unauthorized');
    intercept().replyWithError(new Error('boom'));
    for (let i = 0; i < 3; i++)
      expectNoSecret(await tpnsFailure(queryAccountBindings(target({ auth: 'basic' }), tokensBody, { dispatcher: agent })));
  });
});

describe('parseQueryResponse', () => {
  it('sibling list null or absent is an empty list; errMsg "ok" and "NO_ERROR" both accepted', () => {
    for (const errMsg of ['ok', 'NO_ERROR', undefined]) {
      const viaNull = parseQueryResponse(
        200,
        JSON.stringify({ retCode: 0, errMsg, result: ['0'], account_tokens: null, token_accounts: null }),
        1,
        'guangzhou',
      );
      const viaAbsent = parseQueryResponse(200, JSON.stringify({ retCode: 0, errMsg, result: ['0'] }), 1, 'guangzhou');
      expect(viaNull).toEqual({ codes: [0], accountTokens: [], tokenAccounts: [] });
      expect(viaAbsent).toEqual(viaNull);
    }
  });

  it('any 2xx is accepted', () => {
    expect(parseQueryResponse(204, '{"retCode":0,"result":["0"]}', 1, 'guangzhou').codes).toEqual([0]);
  });

  it('a 3xx is not a success', () => {
    expect(() => parseQueryResponse(302, '', 1, 'guangzhou')).toThrow(TpnsError);
  });

  it('keeps large per-item codes exactly', () => {
    expect(parseQueryResponse(200, '{"retCode":0,"result":["10110008", 1008029]}', 2, 'shanghai').codes).toEqual([10110008, 1008029]);
  });

  it('a code sent as a string is `-?` and 1 to 15 digits, read exactly; anything else is bad_response', () => {
    // The reader goes digit by digit (issue 11); this is the definition it must keep.
    const expected = (raw: string) => (/^-?\d{1,15}$/.test(raw) ? Number(raw) : undefined);
    const codeString = fc.oneof(
      fc.stringMatching(/^-?\d{1,17}$/),
      fc.string({ unit: fc.constantFrom('0', '1', '9', '-', '+', ' ', '.', 'e', '/', ':', '\u0660') }),
      fc.bigInt({ min: -(10n ** 16n), max: 10n ** 16n }).map(String),
    );
    fc.assert(
      fc.property(codeString, (raw) => {
        const parse = () => parseQueryResponse(200, JSON.stringify({ retCode: 0, result: [raw] }), 1, 'guangzhou').codes[0];
        const want = expected(raw);
        if (want === undefined) expect(parse).toThrow(/result/);
        else expect(Object.is(parse(), want)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});
