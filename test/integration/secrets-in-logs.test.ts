import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../local/lambda-context.ts';
import { type AwsStandIn, startAwsStandIn } from '../../local/sandbox/aws.ts';
import { SANDBOX_APPS } from '../../local/sandbox/seed-data.ts';
import { startTpnsSandbox, type TpnsSandbox } from '../../local/sandbox/tpns.ts';
import type { LocalApi } from '../../local/server.ts';
import {
  type Answer,
  closeAll,
  expectProblem,
  postQuery,
  queryEnvelope,
  type RecordingProxy,
  realPathEnv,
  secretFor,
  send,
  spawnLocalApi,
  startRecordingProxy,
} from './support.ts';

/**
 * Everything the handler writes, at the most verbose settings, across successes and every kind
 * of failure, must hold no secret: not the SecretKey, not the Basic header, not any Sign TPNS
 * received (nor the hex HMAC inside it). The Signs are read off the wire by a recording proxy.
 */
const LOG_ENV = { POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_LOGGER_LOG_EVENT: 'true' };
/** The settings an operator may choose: none of them may put a caller's credentials or ids in the logs. */
const LOG_SETTINGS: Record<string, string>[] = [
  { POWERTOOLS_LOG_LEVEL: 'INFO' },
  { POWERTOOLS_LOG_LEVEL: 'DEBUG' },
  { POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_LOGGER_LOG_EVENT: 'true' },
];

/** What a SigV4-signed call through API Gateway carries, and ids a person could be found by. */
const SIGNATURE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
const CALLER_HEADERS = {
  authorization: `AWS4-HMAC-SHA256 Credential=AKIAMARKER0EXAMPLE00/20261130/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=${SIGNATURE}`,
  'x-amz-date': '20261130T010203Z',
  'x-amz-security-token': 'IQoJb3JpZ2luX2VjMARKERSESSIONTOKEN0000',
  cookie: 'session=COOKIEMARKER0000',
};
const PERSONAL_MARKERS = ['AKIAMARKER0EXAMPLE00', SIGNATURE, 'MARKERSESSIONTOKEN', 'COOKIEMARKER', 'pii.marker', 'piimarker'];

const expectNothingPersonalIn = (output: string) => {
  for (const marker of PERSONAL_MARKERS) {
    if (output.includes(marker)) expect.fail(`"${marker}" appears in the logs:\n${output.slice(0, 3000)}`);
  }
};
// Before any module creates the Logger (imports are hoisted above plain statements).
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
});

const APP = SANDBOX_APPS[0]!;
const WRONG_KEY = '0123456789abcdef0123456789abcdef';
const ROTATED_KEY = 'fedcba9876543210fedcba9876543210';
const SECRET_KEYS = [APP.secretKey, WRONG_KEY, ROTATED_KEY];
const basicToken = (secretKey: string) => Buffer.from(`${APP.accessId}:${secretKey}`).toString('base64');

const SECRETS = {
  'team/tpns': secretFor(APP),
  // Never rotated by a test: what the logging tests run on.
  'team/tpns-steady': secretFor(APP),
  'team/basic': secretFor(APP, { auth: 'basic' }),
  'team/basic-wrong-key': secretFor(APP, { auth: 'basic', secretKey: WRONG_KEY }),
  'team/wrong-region': secretFor(APP, { region: 'shanghai' }),
  'team/not-json': `{accessId: ${APP.accessId}, secretKey: ${APP.secretKey}}`,
  'team/misnamed-key': JSON.stringify({ accessId: APP.accessId, key: APP.secretKey }),
};

let tpns: TpnsSandbox;
let aws: AwsStandIn;
let proxy: RecordingProxy;

/** Every secret value TPNS saw on the wire since `from`, and the ones the secrets hold. */
const secretValues = (from: number): string[] => {
  const signs = proxy.received.slice(from).flatMap((headers) => (typeof headers.sign === 'string' ? [headers.sign] : []));
  const basics = proxy.received
    .slice(from)
    .flatMap((headers) => (headers.authorization ? [headers.authorization.replace(/^Basic /, '')] : []));
  return [
    ...SECRET_KEYS,
    ...SECRET_KEYS.map(basicToken),
    ...signs,
    ...signs.map((sign) => Buffer.from(sign, 'base64').toString('utf8')),
    ...basics,
  ];
};

const expectNoSecretIn = (texts: string[], values: string[]) => {
  for (const value of values) {
    for (const text of texts) {
      if (text.includes(value)) expect.fail(`a secret value (${value.slice(0, 4)}…) appears in:\n${text.slice(0, 2000)}`);
    }
  }
};

beforeAll(async () => {
  [tpns, aws] = await Promise.all([startTpnsSandbox(), startAwsStandIn({ secrets: SECRETS })]);
  proxy = await startRecordingProxy(tpns.url);
});
afterAll(() => closeAll(proxy, tpns, aws));

describe('in this process: the handler on the real credential path, output captured', () => {
  let api: LocalApi;
  /** What process.stdout and process.stderr were given (Powertools writes there through its own Console). */
  const captured: string[] = [];
  const restore: (() => void)[] = [];
  let mark = 0;
  let wireMark = 0;
  const bodies: string[] = [];

  beforeAll(async () => {
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => {
        stream.write = write;
      });
    }
    // No re-read cool-down: the rotation test below updates the secret right after the refusal.
    Object.assign(process.env, realPathEnv(aws, proxy.endpoint, 'team/tpns'), { TPNS_SECRET_REREAD_COOLDOWN_MS: '0' });
    const { startLocalApi } = await import('../../local/server.ts');
    api = await startLocalApi({ port: 0, functionTimeoutMs: 3_000, sandbox: { secretForm: 'single' } });
  });
  afterAll(async () => {
    await api?.close();
    for (const undo of restore) undo();
  });

  beforeEach(() => {
    mark = captured.length;
    wireMark = proxy.received.length;
    bodies.length = 0;
  });
  /** Each test: what was logged while it ran, and the bodies it got back, hold no secret. */
  afterEach(() => {
    const output = captured.slice(mark).join('');
    expect(output, 'the handler logged nothing: the capture is not working').toMatch(/"service":"tpns-bindings"/);
    expectNoSecretIn([output, ...bodies], secretValues(wireMark));
  });

  const keep = (answer: Answer): Answer => {
    bodies.push(answer.text);
    return answer;
  };
  const signsSent = () => proxy.received.slice(wireMark).filter((headers) => typeof headers.sign === 'string').length;

  it('successful lookups on every route, a 404 and a 400', async () => {
    expect(keep(await postQuery(api.url, { accounts: ['account1', { account: 'account2', accountType: 1 }] })).status).toBe(200);
    expect(keep(await postQuery(api.url, { operator_type: 2, token_list: ['token1', 'bad token!'] })).status).toBe(200);
    expect(keep(await send(api.url, '/v1/accounts/926%40126.com/tokens')).status).toBe(200);
    expectProblem(keep(await send(api.url, '/v1/tokens/unknowntoken/accounts')), 404);
    expectProblem(keep(await postQuery(api.url, '{"tokens": [')), 400);
    expect(signsSent()).toBe(4); // one per TPNS lookup
    expect(captured.slice(mark).join('')).not.toMatch(/Lambda invocation event/);
  });

  it('TPNS not answering (504), answering HTTP 503 through the retries (502), resetting the connection', async () => {
    tpns.injectFaults('hang');
    expectProblem(keep(await postQuery(api.url, { tokens: ['token1'] })), 504);
    tpns.injectFaults('http503', 'http503', 'http503', 'http503');
    expectProblem(keep(await postQuery(api.url, { tokens: ['token1'] })), 502);
    tpns.injectFaults('reset', 'rate_limited', 'internal');
    expect(keep(await postQuery(api.url, { tokens: ['token2'] })).status).toBe(200);
    expect(signsSent()).toBeGreaterThanOrEqual(3);
    expect(captured.slice(mark).join('')).toMatch(/"level":"ERROR".*"status":504/);
  });

  it('a rotated key: rejected (502) until the secret is updated, then re-read and used', async () => {
    tpns.rotateKey(APP.accessId, ROTATED_KEY);
    try {
      const rejected = expectProblem(keep(await postQuery(api.url, { tokens: ['token1'] })), 502);
      expect(rejected.tpnsCode).toBe(1008003);
      aws.secrets.set('team/tpns', secretFor(APP, { secretKey: ROTATED_KEY }));
      expect(keep(await postQuery(api.url, { tokens: ['token1'] })).status).toBe(200);
      expect(signsSent()).toBeGreaterThanOrEqual(3);
    } finally {
      tpns.rotateKey(APP.accessId, APP.secretKey);
    }
  });
});

describe('in fresh processes (`npm start`): what the process writes, whole', () => {
  /** Runs `requests` against a local API using `secretId`; returns its whole output and the bodies. */
  const run = async (secretId: string, requests: (url: string) => Promise<Answer>[]) => {
    const wireMark = proxy.received.length;
    const api = await spawnLocalApi({ ...realPathEnv(aws, proxy.endpoint, secretId), ...LOG_ENV });
    let answers: Answer[];
    try {
      answers = await Promise.all(requests(api.url));
    } finally {
      await api.close();
    }
    const output = api.output();
    expect(output).toMatch(/"service":"tpns-bindings"/);
    expectNoSecretIn([output, ...answers.map((a) => a.text)], secretValues(wireMark));
    return { answers, wire: proxy.received.slice(wireMark) };
  };

  it('Basic auth: a success and a credential rejection', async () => {
    const ok = await run('team/basic', (url) => [postQuery(url, { tokens: ['token1'] })]);
    expect(ok.answers[0]!.status).toBe(200);
    const rejected = await run('team/basic-wrong-key', (url) => [postQuery(url, { tokens: ['token1'] })]);
    expectProblem(rejected.answers[0]!, 502);
    expect(ok.wire.length).toBeGreaterThan(0);
    expect(rejected.wire.length).toBeGreaterThan(0);
    expect([...ok.wire, ...rejected.wire].every((headers) => headers.authorization?.startsWith('Basic '))).toBe(true);
    expect(rejected.wire.length).toBeGreaterThan(0);
  });

  it('the wrong access point', async () => {
    const { answers, wire } = await run('team/wrong-region', (url) => [postQuery(url, { accounts: ['account1'] })]);
    expectProblem(answers[0]!, 502);
    expect(wire.some((headers) => typeof headers.sign === 'string')).toBe(true);
  });

  it('malformed secrets: not JSON, and the key under the wrong name', async () => {
    const notJson = await run('team/not-json', (url) => [postQuery(url, { tokens: ['token1'] })]);
    expectProblem(notJson.answers[0]!, 503);
    const misnamed = await run('team/misnamed-key', (url) => [postQuery(url, { tokens: ['token1'] })]);
    expectProblem(misnamed.answers[0]!, 503);
  });
});

describe('nothing personal in the logs, whatever the settings', () => {
  it.each(LOG_SETTINGS)('%j: no caller credentials, cookies or queried ids in what the process writes', async (settings) => {
    const api = await spawnLocalApi({ ...realPathEnv(aws, proxy.endpoint, 'team/tpns-steady'), ...settings });
    let answers: Answer[];
    try {
      const headers = CALLER_HEADERS;
      answers = [
        await send(api.url, '/v1/bindings/query', { headers, json: { accounts: ['pii.marker.1@example.com', 'account1'] } }),
        await send(api.url, '/v1/bindings/query', { headers, json: { tokens: ['piimarkertoken2'] } }),
        await send(api.url, '/v1/accounts/pii.marker.3%40example.com/tokens', { headers }),
        await send(api.url, '/v1/tokens/piimarkertoken4/accounts', { headers }),
        await send(api.url, '/v1/bindings/query', { headers, json: { accounts: ['a'], 'pii.marker.5@example.com': 1 } }),
      ];
    } finally {
      await api.close();
    }
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 404, 404, 400]);
    const output = api.output();
    expect(output).toMatch(/"message":"query answered"/);
    expectNothingPersonalIn(output);
  });
});

describe('the events handler, at DEBUG with POWERTOOLS_LOGGER_LOG_EVENT=true', () => {
  const captured: string[] = [];
  let restore: () => void;
  let handler: (event: unknown, context: unknown) => Promise<unknown>;

  beforeAll(async () => {
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    restore = () => {
      process.stdout.write = write;
    };
    Object.assign(process.env, realPathEnv(aws, proxy.endpoint, 'team/tpns-steady'));
    delete process.env.EVENT_BUS_NAME;
    ({ handler } = (await import('../../functions/events.ts')) as unknown as { handler: typeof handler });
  });
  afterAll(() => restore());

  const context = () => lambdaContext('tpns-bindings-events', 60_000);

  it('a query and a refused query: neither the ids nor the offending field name are logged', async () => {
    const mark = captured.length;
    await handler(queryEnvelope({ accounts: ['pii.marker.6@example.com'] }), context());
    const refused = (await handler(queryEnvelope({ accounts: ['a'], 'pii.marker.7@example.com': true }), context())) as {
      events: { 'detail-type': string; detail: { detail: string } }[];
    };
    expect(refused.events[0]?.['detail-type']).toBe('TPNS Bindings Query Failed');
    expect(refused.events[0]?.detail.detail).toContain('pii.marker.7@example.com'); // the caller hears it; the logs do not
    const output = captured.slice(mark).join('');
    expect(output).toMatch(/"message":"query answered"/);
    expect(output).not.toMatch(/Lambda invocation event/);
    expectNothingPersonalIn(output);
  });

  it('an event nested 100,000 levels deep is answered (a Failed event), not a crash into the dead-letter queue', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const outcome = (await handler(queryEnvelope({ accounts: deep }), context())) as { events: { 'detail-type': string }[] };
    expect(outcome.events.map((event) => event['detail-type'])).toEqual(['TPNS Bindings Query Failed']);
  });
});
