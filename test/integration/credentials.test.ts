/**
 * Re-reads of the secret when TPNS refuses it, through the real middlewares and the real SDK
 * against the Secrets Manager stand-in, on a clock the test sets: how often a refused secret may
 * be read again, and when a changed secret is picked up.
 */
import type { Request } from '@middy/core';
import { clearCache } from '@middy/util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CredentialSource, type CredentialsContext, tpnsCredentials } from '../../functions/core/credentials.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { type AwsStandIn, startAwsStandIn } from '../../local/sandbox/aws.ts';
import { SANDBOX_APPS } from '../../local/sandbox/seed-data.ts';
import { realPathEnv, secretFor } from './support.ts';

const APP = SANDBOX_APPS[0];
const SECRET_ID = 'team/cooldown';
const COOLDOWN_MS = 10_000;

let aws: AwsStandIn;
let now: number;
let source: () => Promise<CredentialSource>;

beforeAll(async () => {
  aws = await startAwsStandIn();
  Object.assign(process.env, realPathEnv(aws, 'http://127.0.0.1:9', SECRET_ID));
});
afterAll(() => aws.close());

beforeEach(() => {
  clearCache();
  aws.secrets.set(SECRET_ID, secretFor(APP));
  now = 1_000_000;
  const middlewares = tpnsCredentials(SECRET_ID, { cooldownMs: COOLDOWN_MS, now: () => now });
  /** One invocation's credentials, as the handlers' middleware chain attaches them. */
  source = async () => {
    const request = { event: {}, context: lambdaContext('test', 10_000), internal: {}, response: undefined, error: undefined };
    for (const middleware of middlewares)
      await middleware.before?.(request as unknown as Request<unknown, unknown, Error, CredentialsContext>);
    return (request.context as CredentialsContext).tpnsCredentials;
  };
});

const reads = () => aws.secretReads.filter((id) => id === SECRET_ID).length;

describe('re-reading a refused secret', () => {
  it('a secret changed before TPNS refused the old key heals the first refusal, with one read', async () => {
    const credentials = await source();
    aws.secrets.set(SECRET_ID, secretFor(APP, { secretKey: 'new-key' }));
    const before = reads();
    expect((await credentials.refresh(credentials.current.apps[0])).secretKey).toBe('new-key');
    expect(reads() - before).toBe(1);
  });

  it('after a re-read that changed nothing, refusals read nothing until the cool-down ends', async () => {
    const credentials = await source();
    const before = reads();
    expect(await credentials.refresh(credentials.current.apps[0])).toMatchObject({ secretKey: APP.secretKey });
    expect(reads() - before).toBe(1);

    for (let i = 0; i < 20; i++) {
      now += COOLDOWN_MS / 40;
      const later = await source();
      expect((await later.refresh(later.current.apps[0])).secretKey).toBe(APP.secretKey);
    }
    expect(reads() - before).toBe(1);

    now += COOLDOWN_MS / 2;
    const after = await source();
    await after.refresh(after.current.apps[0]);
    expect(reads() - before).toBe(2);
  });

  it('a secret fixed during the cool-down is picked up by the first refusal after it', async () => {
    const credentials = await source();
    await credentials.refresh(credentials.current.apps[0]);
    aws.secrets.set(SECRET_ID, secretFor(APP, { secretKey: 'fixed-key' }));
    now += COOLDOWN_MS - 1;
    const during = await source();
    expect((await during.refresh(during.current.apps[0])).secretKey).toBe(APP.secretKey);
    now += 1;
    const after = await source();
    expect((await after.refresh(after.current.apps[0])).secretKey).toBe('fixed-key');
  });

  it('once TPNS has accepted the secret again, the next refusal is news: read at once', async () => {
    const credentials = await source();
    await credentials.refresh(credentials.current.apps[0]);
    const before = reads();
    const next = await source();
    next.accepted(next.current.apps[0]);
    await next.refresh(next.current.apps[0]);
    expect(reads() - before).toBe(1);
  });

  it('an acceptance of another secret does not end the cool-down', async () => {
    const credentials = await source();
    await credentials.refresh(credentials.current.apps[0]);
    const before = reads();
    const next = await source();
    next.accepted({ ...next.current.apps[0], secretKey: 'some-other-key' });
    await next.refresh(next.current.apps[0]);
    expect(reads() - before).toBe(0);
  });
});
