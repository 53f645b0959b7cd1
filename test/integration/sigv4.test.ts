import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '../../local/server.ts';
import { FORBIDDEN, type KeyPair, type LocalAuth, SIGV4 } from '../../local/sigv4.ts';
import { type Answer, closeAll, send, spawnLocalApi } from './support.ts';

const KEYS: KeyPair = { accessKeyId: 'AKIDSIGV4TEST', secretAccessKey: 'sigv4-test-secret-key' };
const REGION = 'ap-southeast-1';
/** The API's clock: each test sets it, then signs relative to it. */
const CLOCK_START = Date.UTC(2026, 11, 4, 12, 0, 0);
const MINUTE = 60_000;

interface Signing {
  keys?: KeyPair;
  region?: string;
  service?: string;
  at?: number;
  sessionToken?: string;
}

/** A request signed by AWS's signer (as any SDK would sign it) and sent over real HTTP. */
const signedSend = async (
  baseUrl: string,
  path: string,
  options: {
    method?: string;
    body?: string;
    query?: Record<string, string>;
    sign?: Signing;
    /** Changes made after signing: the headers, the body sent, the path sent. */
    tamper?: (h: Record<string, string>) => void;
    sentBody?: string;
    sentPath?: string;
    sentSearch?: string;
  },
) => {
  const url = new URL(path, baseUrl);
  for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
  const { keys = KEYS, region = REGION, service = SIGV4.service, at = CLOCK_START, sessionToken } = options.sign ?? {};
  const signer = new SignatureV4({ service, region, credentials: { ...keys, ...(sessionToken ? { sessionToken } : {}) }, sha256: Sha256 });
  const signed = await signer.sign(
    {
      method: options.method ?? (options.body ? 'POST' : 'GET'),
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host, ...(options.body ? { 'content-type': 'application/json' } : {}) },
      body: options.body,
    },
    { signingDate: new Date(at) },
  );
  const headers = signed.headers as Record<string, string>;
  options.tamper?.(headers);
  const body = options.sentBody ?? options.body;
  return send(baseUrl, (options.sentPath ?? url.pathname) + (options.sentSearch ?? url.search), {
    method: signed.method,
    headers,
    ...(body ? { body } : {}),
  });
};

const expectForbidden = (answer: Answer, message: string) => {
  expect(answer.status, answer.text).toBe(403);
  expect(answer.headers['content-type']).toBe('application/json');
  expect(answer.body).toEqual({ message });
};

const QUERY = JSON.stringify({ accounts: ['account1'] });

describe('LOCAL_AUTH=sigv4: the local API requires SigV4 as API Gateway does', () => {
  let api: LocalApi;
  let now = CLOCK_START;
  // Read on every request: a test may hand the API other keys (one API per file: the handler is a module singleton).
  const auth: LocalAuth = { keys: KEYS, region: REGION, now: () => now };
  beforeAll(async () => {
    api = await startLocalApi({ auth });
  });
  afterAll(() => closeAll(api));

  it('answers a signed POST and a signed GET with a query parameter', async () => {
    const post = await signedSend(api.url, '/v1/bindings/query', { body: QUERY });
    expect(post.status, post.text).toBe(200);
    expect(post.body.accounts[0]).toMatchObject({ account: 'account1', status: 'ok' });
    const get = await signedSend(api.url, '/v1/accounts/%2B8613711112222/tokens', { query: { accountType: '1002', app: 'android' } });
    expect(get.status, get.text).toBe(200);
    expect(get.body).toMatchObject({ account: '+8613711112222', accountType: 1002, status: 'ok' });
  });

  it('signs the path as AWS does, each segment encoded once more: an encoded id is accepted', async () => {
    const answer = await signedSend(api.url, '/v1/accounts/926%40126.com/tokens', {});
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ account: '926@126.com', status: 'ok' });
  });

  it('refuses an unsigned request with API Gateway\'s {"message":"Forbidden"}, before the function', async () => {
    expectForbidden(
      await send(api.url, '/v1/bindings/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: QUERY }),
      FORBIDDEN.missing,
    );
    // Unknown routes too: every route, $default included, is IAM-authorized.
    expectForbidden(await send(api.url, '/nowhere'), FORBIDDEN.missing);
  });

  it('refuses a wrong secret key, a changed body, path or query, and an unsigned header changed after signing', async () => {
    const wrongKey = { ...KEYS, secretAccessKey: 'not-the-key' };
    expectForbidden(await signedSend(api.url, '/v1/bindings/query', { body: QUERY, sign: { keys: wrongKey } }), FORBIDDEN.mismatch);
    const bodyChanged = await signedSend(api.url, '/v1/bindings/query', {
      body: QUERY,
      sentBody: JSON.stringify({ accounts: ['account2'] }),
    });
    expectForbidden(bodyChanged, FORBIDDEN.mismatch);
    expectForbidden(
      await signedSend(api.url, '/v1/tokens/token1/accounts', { sentPath: '/v1/tokens/token2/accounts' }),
      FORBIDDEN.mismatch,
    );
    const queryChanged = await signedSend(api.url, '/v1/accounts/account1/tokens', { query: { app: 'ios' } });
    expect(queryChanged.status, queryChanged.text).toBe(200);
    const appChanged = await signedSend(api.url, '/v1/accounts/account1/tokens', { query: { app: 'ios' }, sentSearch: '?app=android' });
    expectForbidden(appChanged, FORBIDDEN.mismatch);
    const hostChanged = await signedSend(api.url, '/v1/tokens/token1/accounts', {
      tamper: (headers) => {
        headers.host = 'other.example';
      },
    });
    expectForbidden(hostChanged, FORBIDDEN.mismatch);
  });

  it('refuses a payload hash that is not the body', async () => {
    const answer = await signedSend(api.url, '/v1/bindings/query', {
      body: QUERY,
      tamper: (headers) => {
        headers['x-amz-content-sha256'] = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
      },
    });
    expectForbidden(answer, FORBIDDEN.mismatch);
  });

  it('refuses an unknown access key, another region and another service', async () => {
    const stranger = { accessKeyId: 'AKIDSTRANGER', secretAccessKey: KEYS.secretAccessKey };
    expectForbidden(await signedSend(api.url, '/v1/tokens/token1/accounts', { sign: { keys: stranger } }), FORBIDDEN.invalidToken);
    expectForbidden(await signedSend(api.url, '/v1/tokens/token1/accounts', { sign: { region: 'us-west-2' } }), FORBIDDEN.wrongRegion);
    expectForbidden(await signedSend(api.url, '/v1/tokens/token1/accounts', { sign: { service: 'lambda' } }), FORBIDDEN.wrongService);
  });

  it('refuses a session token the key pair does not have (an empty one included)', async () => {
    const answer = await signedSend(api.url, '/v1/tokens/token1/accounts', {
      tamper: (headers) => {
        headers['x-amz-security-token'] = '';
      },
    });
    expectForbidden(answer, FORBIDDEN.invalidToken);
    expectForbidden(await signedSend(api.url, '/v1/tokens/token1/accounts', { sign: { sessionToken: 'session' } }), FORBIDDEN.invalidToken);
  });

  it('accepts a signature dated within 5 minutes of its clock, either way, and refuses one outside', async () => {
    for (const offset of [-4 * MINUTE, 4 * MINUTE]) {
      const answer = await signedSend(api.url, '/v1/tokens/token1/accounts', { sign: { at: CLOCK_START + offset } });
      expect(answer.status, `${offset}: ${answer.text}`).toBe(200);
    }
    expectForbidden(
      await signedSend(api.url, '/v1/tokens/token1/accounts', { sign: { at: CLOCK_START - 6 * MINUTE } }),
      'Signature expired: 20261204T115400Z is now earlier than 20261204T115500Z (20261204T120000Z - 5 min.)',
    );
    expectForbidden(
      await signedSend(api.url, '/v1/tokens/token1/accounts', { sign: { at: CLOCK_START + 6 * MINUTE } }),
      'Signature not yet current: 20261204T120600Z is still later than 20261204T120500Z (20261204T120000Z + 5 min.)',
    );
    // The same signature, replayed once the API's clock has moved on 6 minutes.
    now = CLOCK_START + 6 * MINUTE;
    try {
      const late = await signedSend(api.url, '/v1/tokens/token1/accounts', { sign: { at: CLOCK_START } });
      expect(late.status).toBe(403);
      expect(late.body.message).toMatch(/^Signature expired: 20261204T120000Z/);
    } finally {
      now = CLOCK_START;
    }
  });

  it('with temporary credentials, requires their session token, signed', async () => {
    const session = { ...KEYS, sessionToken: 'the-session-token' };
    auth.keys = session;
    try {
      const withToken = await signedSend(api.url, '/v1/tokens/token1/accounts', { sign: { sessionToken: session.sessionToken } });
      expect(withToken.status, withToken.text).toBe(200);
      expectForbidden(await signedSend(api.url, '/v1/tokens/token1/accounts', {}), FORBIDDEN.invalidToken);
      expectForbidden(
        await signedSend(api.url, '/v1/tokens/token1/accounts', { sign: { sessionToken: 'another' } }),
        FORBIDDEN.invalidToken,
      );
    } finally {
      auth.keys = KEYS;
    }
  });
});

describe('npm start with LOCAL_AUTH=sigv4 and no key pair in the environment', () => {
  it('prints a local key pair and requires it', async () => {
    const container = await spawnLocalApi({ LOCAL_AUTH: 'sigv4' });
    try {
      const printed = /export AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)/.exec(container.output());
      expect(printed, container.output()).not.toBeNull();
      const keys = { accessKeyId: printed![1]!, secretAccessKey: printed![2]! };
      expect(container.output()).toContain(`region ${SIGV4.defaultRegion}`);
      const answer = await signedSend(container.url, '/v1/tokens/token1/accounts', {
        sign: { keys, region: SIGV4.defaultRegion, at: Date.now() },
      });
      expect(answer.status, answer.text).toBe(200);
      expectForbidden(await send(container.url, '/v1/tokens/token1/accounts'), FORBIDDEN.missing);
    } finally {
      await container.close();
    }
  });

  it('refuses to start with an unknown LOCAL_AUTH', async () => {
    await expect(spawnLocalApi({ LOCAL_AUTH: 'basic' })).rejects.toThrow(/LOCAL_AUTH must be "sigv4" or "none", not "basic"/);
  });
});
