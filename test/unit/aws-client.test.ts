/**
 * The AWS SDK clients are told the region and the Lambda credentials up front (functions/core/aws-client.ts),
 * so the SDK's provider chains are not walked on a cold start's first call; without them in the
 * environment, the default chain stays in charge.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it, vi } from 'vitest';
import { awsClientOptions } from '../../functions/core/aws-client.ts';

const LAMBDA_ENV = {
  AWS_REGION: 'ap-southeast-1',
  AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_SESSION_TOKEN: 'token',
};

const captured = vi.hoisted(() => ({ options: [] as unknown[] }));
vi.mock('@middy/secrets-manager', () => ({
  default: (options: unknown) => {
    captured.options.push(options);
    return { before: async () => {} };
  },
}));

describe('awsClientOptions', () => {
  it('hands the SDK the region and the credentials of a Lambda environment, which a client then uses as they are', async () => {
    const options = awsClientOptions(LAMBDA_ENV);
    expect(options).toEqual({
      region: 'ap-southeast-1',
      credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' },
    });
    const client = new SecretsManagerClient(options);
    expect(await client.config.region()).toBe('ap-southeast-1');
    expect(await client.config.credentials()).toMatchObject(options.credentials!);
  });

  it("reads the other fields of the SDK's env provider too", () => {
    const { credentials } = awsClientOptions({
      ...LAMBDA_ENV,
      AWS_CREDENTIAL_EXPIRATION: '2026-12-04T18:00:00Z',
      AWS_CREDENTIAL_SCOPE: 'scope',
      AWS_ACCOUNT_ID: '123456789012',
    });
    expect(credentials).toMatchObject({
      expiration: new Date('2026-12-04T18:00:00Z'),
      credentialScope: 'scope',
      accountId: '123456789012',
    });
  });

  it('leaves credentials to the default chain where the environment has none, and the region to its loader', () => {
    expect(awsClientOptions({ AWS_REGION: 'us-east-1' })).toEqual({ region: 'us-east-1' });
    expect(awsClientOptions({ AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE' })).toEqual({}); // half a key pair is none
    expect(awsClientOptions({})).toEqual({});
  });

  it("is what the Secrets Manager middleware's client is created with", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, LAMBDA_ENV);
    try {
      const { tpnsCredentials } = await import('../../functions/core/credentials.ts');
      tpnsCredentials('tpns/prod', { cooldownMs: 0 });
      expect(captured.options.at(-1)).toMatchObject({ awsClientOptions: awsClientOptions(LAMBDA_ENV), disablePrefetch: true });
    } finally {
      process.env = saved;
    }
  });
});
