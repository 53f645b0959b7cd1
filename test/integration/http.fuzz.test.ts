import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_TIMEOUTS_MS } from '../../functions/contract.ts';
import { toHttpApiEvent } from '../../local/apigateway.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { SANDBOX_BINDINGS } from '../../local/sandbox/seed-data.ts';
import { type LocalApi, startLocalApi } from '../../local/server.ts';

/**
 * Throws random and mutated requests at the deployed handler and asserts it never answers 5xx,
 * never throws, and always answers JSON (problem+json for errors). Most runs call the handler
 * directly with the event the local API would build (same adapter code); some go over real HTTP.
 */
const RUNS = { direct: 4_000, http: 500 } as const;

interface FuzzRequest {
  method: string;
  /** Request target as sent on the wire (path and query). */
  target: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Send a non-empty body base64-encoded with isBase64Encoded, as API Gateway does for binary bodies. */
  base64: boolean;
}

// ---- bodies -------------------------------------------------------------------------------

const knownIds = [...new Set(SANDBOX_BINDINGS.flatMap((b) => [b.account, b.token]))];
const id = fc.oneof(
  fc.constantFrom(...knownIds),
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
);
const accountType = fc.oneof(fc.constant(0), fc.nat({ max: 2_000 }));
const items = <T>(item: fc.Arbitrary<T>) => fc.array(item, { minLength: 1, maxLength: 8 });

const validBody = fc.oneof(
  fc.record({ accounts: items(fc.oneof(id, fc.record({ account: id, accountType }, { requiredKeys: ['account'] }))) }),
  fc.record({ tokens: items(id) }),
  fc.record({
    operator_type: fc.constant(1),
    account_list: items(fc.record({ account: id, account_type: accountType }, { requiredKeys: ['account'] })),
  }),
  fc.record({ operator_type: fc.constant(2), token_list: items(id) }),
);

const nested = (depth: number): unknown => {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { accounts: value };
  return value;
};

/** Values that break a field: wrong types, edge and huge numbers, odd unicode, deep nesting. */
const weirdValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    -1,
    1.5,
    -0,
    2 ** 31,
    2 ** 53 + 2,
    1e308,
    '',
    ' ',
    '\u0000',
    '\ud800',
    '👍🏽',
    'x'.repeat(300),
    [],
    {},
    null,
    true,
    undefined,
  ),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer({ min: 1, max: 3_000 }).map(nested),
);

type Key = string | number;
const pathsOf = (value: unknown, prefix: Key[] = []): Key[][] => {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries: [Key, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, child]) => pathsOf(child, [...prefix, key]))];
};

/** A valid body with one value (or the whole body) replaced; `undefined` removes an object key. */
const mutatedBody = fc.tuple(validBody, fc.nat(), weirdValue).map(([body, pick, replacement]) => {
  const copy = structuredClone(body) as Record<Key, unknown>;
  const paths = pathsOf(copy);
  const path = paths[pick % paths.length]!;
  if (path.length === 0) return replacement;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<Key, unknown>;
  node[path.at(-1)!] = replacement;
  return copy;
});

const rawText = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"accounts": [{"account": "account1", "accountType": 1e400}]}',
    '{"operator_type": 1e400, "token_list": ["token1"]}',
    '{"tokens": ["token1"], "tokens": 5}',
    '{"__proto__": {"tokens": ["token1"]}}',
    '{"tokens": ["token1"]} trailing',
  ),
  fc.integer({ min: 1, max: 100_000 }).map((depth) => `{"tokens": ${'['.repeat(depth)}${']'.repeat(depth)}}`),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

const body = fc.oneof(
  { weight: 3, arbitrary: validBody.map((value) => Buffer.from(JSON.stringify(value))) },
  { weight: 4, arbitrary: mutatedBody.map((value) => Buffer.from(JSON.stringify(value) ?? '')) },
  { weight: 2, arbitrary: fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value))) },
  { weight: 2, arbitrary: rawText.map((text) => Buffer.from(text)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
);

// ---- paths, methods, headers ---------------------------------------------------------------

const segment = fc.oneof(
  fc.constantFrom(...knownIds.map(encodeURIComponent), '%E0%A4%A', '%', '%%', '%zz', '%00', '%2F', '%C0%AF', '..', '.', '', '%2e%2e'),
  fc.string({ unit: 'grapheme', maxLength: 30 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 200, max: 5_000 }).map((n) => 'a'.repeat(n)),
);

const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    '?accountType=1002',
    '?accountType=-1',
    '?accountType=%ZZ',
    '?accountType=1&accountType=2',
    '?accountType',
    '?accountType=1e3',
  ),
  fc.string({ maxLength: 30 }).map((text) => `?${text}`),
);

const path = fc.oneof(
  fc
    .tuple(fc.constantFrom('/v1/accounts/', '/v1/tokens/'), segment, fc.constantFrom('/tokens', '/accounts', '/', '', '/x'))
    .map((parts) => parts.join('')),
  fc.constantFrom('/v1/bindings/query', '/v1/bindings/query/', '/v1/bindings/query/..', '/v1/bindings/./query', '//v1/bindings/query', '/'),
  fc.array(segment, { maxLength: 5 }).map((segments) => `/${segments.join('/')}`),
);

/** Bytes outside printable ASCII (and '#') percent-encoded, as a client must put them on the wire. */
const onTheWire = (text: string): string =>
  [...Buffer.from(text)]
    .map((byte) => (byte > 0x20 && byte < 0x7f && byte !== 0x23 ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`))
    .join('');

const target = fc.tuple(path, query).map(([p, q]) => onTheWire(p + q));

/** Types the JSON body parser accepts. */
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/vnd.api+json'];
const CONTENT_TYPES = [
  ...JSON_TYPES,
  'APPLICATION/JSON',
  'application/json;',
  'application/jsonx',
  ' application/json',
  'text/plain',
  'text/json',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
];

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });

const headers = fc
  .tuple(
    fc.option(fc.oneof(fc.constantFrom(...CONTENT_TYPES), printable), { nil: undefined }),
    fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,15}$/), printable, { maxKeys: 3 }),
  )
  .map(([contentType, extra]) => ({ ...extra, ...(contentType === undefined ? {} : { 'content-type': contentType }) }));

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * A third of the requests are anything; the rest aim at a route so that the body or the path
 * parameter is what varies (otherwise almost nothing would get past routing).
 */
const fuzzRequest = (method: fc.Arbitrary<string>): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        method: fc.constant('POST'),
        target: fc.constantFrom('/v1/bindings/query', '/v1/bindings/query/'),
        headers: fc.tuple(fc.constantFrom(...JSON_TYPES), headers).map(([type, extra]) => ({ ...extra, 'content-type': type })),
        body,
        base64: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        method: fc.constant('GET'),
        target: fc
          .tuple(fc.constantFrom('/v1/accounts/', '/v1/tokens/'), segment, query)
          .map(([route, param, q]) => onTheWire(`${route}${param}${route.includes('accounts') ? '/tokens' : '/accounts'}${q}`)),
        headers,
        body: fc.constant(Buffer.alloc(0)),
        base64: fc.constant(false),
      }),
    },
    { weight: 3, arbitrary: fc.record({ method, target, headers, body, base64: fc.boolean() }) },
  );

/** Directly: any method token API Gateway could pass on (it never sends an empty one). */
const directRequest = fuzzRequest(
  fc.oneof(
    fc.constantFrom(...HTTP_METHODS, 'HEAD', 'TRACE', 'get', 'post', '__proto__', 'constructor'),
    fc.stringMatching(/^[A-Za-z_-]{1,10}$/),
  ),
);
/** Over HTTP: methods a client library sends with a body; HEAD answers have none to check. */
const httpRequest = fuzzRequest(fc.constantFrom(...HTTP_METHODS));

// ---- the property ----------------------------------------------------------------------------

/** No 5xx, JSON always, and an RFC 9457 problem for every error. */
const expectWellFormed = (status: number, contentType: unknown, text: string) => {
  expect(status, text).toBeLessThan(500);
  const parsed: unknown = JSON.parse(text);
  if (status >= 400) {
    expect(contentType).toBe('application/problem+json');
    expect(parsed).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
  } else {
    expect(contentType).toBe('application/json');
  }
};

/** The event the local API would build for this request (local/apigateway.ts), base64 on demand. */
const eventFor = (fuzz: FuzzRequest) => {
  const req = {
    method: fuzz.method,
    url: fuzz.target,
    headers: { host: '127.0.0.1', ...fuzz.headers },
    httpVersion: '1.1',
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as IncomingMessage;
  const event = toHttpApiEvent(req, fuzz.body);
  return fuzz.base64 && fuzz.body.length > 0 ? { ...event, body: fuzz.body.toString('base64'), isBase64Encoded: true } : event;
};

describe('fuzzing the HTTP handler: no 5xx, no crash', () => {
  let api: LocalApi;
  let handler: typeof import('../../functions/http.ts').handler;

  beforeAll(async () => {
    api = await startLocalApi({ port: 0, sandbox: { secretForm: 'single' } });
    ({ handler } = await import('../../functions/http.ts'));
  });
  afterAll(() => api?.close());

  it(`${RUNS.direct} requests straight into the handler`, async () => {
    if (api.environment.mode !== 'sandbox') throw new Error('expected the embedded sandbox');
    const { tpns } = api.environment;
    const callsBefore = tpns.stats.calls;
    await fc.assert(
      fc.asyncProperty(directRequest, async (fuzz) => {
        const result = await handler(eventFor(fuzz), lambdaContext('tpns-bindings-http', FUNCTION_TIMEOUTS_MS.http));
        expectWellFormed(result.statusCode ?? 200, result.headers?.['content-type'], result.body ?? '');
      }),
      { numRuns: RUNS.direct },
    );
    // The valid share of the bodies reached TPNS: the property is not only about rejections.
    expect(tpns.stats.calls - callsBefore).toBeGreaterThan(RUNS.direct / 20);
  });

  it(`${RUNS.http} requests over real HTTP through the local API`, async () => {
    await fc.assert(
      fc.asyncProperty(httpRequest, async (fuzz) => {
        const response = await request(api.url + fuzz.target, {
          method: fuzz.method as 'POST',
          headers: fuzz.headers,
          body: fuzz.method === 'GET' && fuzz.body.length === 0 ? undefined : fuzz.body,
        });
        expectWellFormed(response.statusCode, response.headers['content-type'], await response.body.text());
      }),
      { numRuns: RUNS.http },
    );
  });
});
