import middy from '@middy/core';
import { clearCache } from '@middy/util';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CredentialSource, type CredentialsContext, tpnsCredentials } from '../../functions/core/credentials.ts';
import { CredentialsError } from '../../functions/core/problems.ts';
import { type AwsStandIn, startAwsStandIn } from '../../local/sandbox/aws.ts';

/*
 * The credentials middleware against a Secrets Manager stand-in over the SDK's wire protocol:
 * what an invocation sees when the read fails, when the secret is unusable, and after a fix.
 */

const SECRET_ID = 'tpns/credentials-test';
const secret = (secretKey: string) => JSON.stringify({ accessId: '1500001048', secretKey, region: 'guangzhou' });

let aws: AwsStandIn;

beforeAll(async () => {
  aws = await startAwsStandIn();
  vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', aws.url);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await aws.close();
});

beforeEach(() => {
  clearCache(); // a cold container per test
  aws.secrets.clear();
  aws.secretReads.length = 0;
});

/** One function instance: each call is an invocation that returns the credentials it was given. */
const functionInstance = () => {
  const handler = middy<unknown, CredentialSource, Error, CredentialsContext>()
    .use(tpnsCredentials(SECRET_ID, { cooldownMs: 10_000 }))
    .handler(async (_event, context) => context.tpnsCredentials);
  return () => handler({}, {} as CredentialsContext);
};

const failure = async (invocation: Promise<unknown>): Promise<CredentialsError> => {
  const error = await invocation.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CredentialsError);
  return error as CredentialsError;
};

describe('reading the secret', () => {
  it('once per container: later invocations use the cached secret', async () => {
    aws.secrets.set(SECRET_ID, secret('k1'));
    const invoke = functionInstance();
    const first = await invoke();
    const second = await invoke();
    expect(first.current.apps[0]).toMatchObject({ name: 'default', secretKey: 'k1', region: 'guangzhou', auth: 'sign' });
    expect(second.current).toBe(first.current);
    expect(aws.secretReads).toEqual([SECRET_ID]);
  });

  it('nothing is read before the first invocation (a failed read is then a 503, not a failed init)', async () => {
    aws.secrets.set(SECRET_ID, secret('k1'));
    const invoke = functionInstance();
    await new Promise((resolve) => setTimeout(resolve, 250)); // time enough for a read started at init to arrive
    expect(aws.secretReads).toEqual([]);
    await invoke();
    expect(aws.secretReads).toEqual([SECRET_ID]);
  });

  it('a failed read is a 503 naming the secret and the error Secrets Manager gave, not the middleware wrapper', async () => {
    const error = await failure(functionInstance()());
    expect(error.status).toBe(503);
    expect(error.message).toBe(
      `could not read secret "${SECRET_ID}" from Secrets Manager (ResourceNotFoundException: Secrets Manager can't find the specified secret.)`,
    );
  });

  it('after a failed read, the next invocation reads again and heals', async () => {
    const invoke = functionInstance();
    await failure(invoke());
    aws.secrets.set(SECRET_ID, secret('k1'));
    expect((await invoke()).current.apps[0].secretKey).toBe('k1');
    expect(aws.secretReads).toEqual([SECRET_ID, SECRET_ID]);
  });

  it('an unusable secret is a 503 naming the problem; it is not cached, so fixing it heals the next invocation', async () => {
    aws.secrets.set(SECRET_ID, JSON.stringify({ accessId: '1500001048' }));
    const invoke = functionInstance();
    expect((await failure(invoke())).message).toBe(`secret "${SECRET_ID}": "secretKey" (a non-empty string) is missing`);
    aws.secrets.set(SECRET_ID, secret('k1'));
    expect((await invoke()).current.apps[0].secretKey).toBe('k1');
    expect(aws.secretReads).toHaveLength(2);
  });
});

describe('refresh: re-reading after TPNS refused the secret', () => {
  it('re-reads once for concurrent callers holding the refused secret, and keeps the result for the next invocations', async () => {
    aws.secrets.set(SECRET_ID, secret('k1'));
    const invoke = functionInstance();
    const { current, refresh } = await invoke();
    aws.secrets.set(SECRET_ID, secret('k2'));
    const [a, b] = await Promise.all([refresh(current.apps[0]), refresh(current.apps[0])]);
    expect(a.secretKey).toBe('k2');
    expect(b).toBe(a);
    expect(aws.secretReads).toHaveLength(2);
    expect((await invoke()).current.apps[0]).toBe(a);
    expect(aws.secretReads).toHaveLength(2);
  });

  it('after a re-read that failed, the secret the next invocation reads is the one a refusal re-reads from', async () => {
    aws.secrets.set(SECRET_ID, secret('k1'));
    const invoke = functionInstance();
    const first = await invoke();
    aws.secrets.set(SECRET_ID, secret('k2'));
    expect((await first.refresh(first.current.apps[0])).secretKey).toBe('k2');
    aws.secrets.set(SECRET_ID, '{"accessId": "1500001048"}'); // an unusable secret: the next re-read fails
    const second = await invoke();
    await failure(second.refresh(second.current.apps[0]));
    aws.secrets.set(SECRET_ID, secret('k3'));
    const third = await invoke();
    expect(third.current.apps[0].secretKey).toBe('k3');
    aws.secrets.set(SECRET_ID, secret('k4'));
    const reads = aws.secretReads.length;
    // TPNS refuses k3: the re-read must happen, not hand back the k2 of before the failure.
    expect((await third.refresh(third.current.apps[0])).secretKey).toBe('k4');
    expect(aws.secretReads.length - reads).toBe(1);
  });

  it('a caller still holding the secret refreshed before gets the newer one without a read', async () => {
    aws.secrets.set(SECRET_ID, secret('k1'));
    const invoke = functionInstance();
    const { current, refresh } = await invoke();
    const old = current.apps[0];
    aws.secrets.set(SECRET_ID, secret('k2'));
    const fresh = await refresh(old);
    expect(await refresh(old)).toBe(fresh);
    expect(aws.secretReads).toHaveLength(2);
  });
});
