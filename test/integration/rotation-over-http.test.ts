/**
 * A key rotation played the way an operator would against `npm start`: TPNS gets a new key
 * (the sandbox's control endpoint), then the secret does (PutSecretValue through the real SDK
 * client, as the AWS CLI would send it) — all over HTTP, no in-process hooks.
 */
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_SECRET_ID } from '../../local/environment.ts';
import { SANDBOX_APPS } from '../../local/sandbox/seed-data.ts';
import { type LocalApi, startLocalApi } from '../../local/server.ts';
import { expectProblem, send } from './support.ts';

const app = SANDBOX_APPS[0]!;
const NEW_KEY = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';

describe('key rotation over HTTP', () => {
  let api: LocalApi;
  beforeAll(async () => {
    // Without the re-read cool-down, which holds the new key back for up to its length after the
    // refusal that found the secret unchanged (test/integration/credentials.test.ts).
    process.env.TPNS_SECRET_REREAD_COOLDOWN_MS = '0';
    api = await startLocalApi({ port: 0, sandbox: { secretForm: 'single' } });
  });
  afterAll(() => api.close());

  it('502 while only TPNS has the new key, 200 once the secret has it too', async () => {
    if (api.environment.mode !== 'sandbox') throw new Error('runs on the sandbox');
    const { tpns, aws } = api.environment;
    expect((await send(api.url, '/v1/tokens/token1/accounts')).status).toBe(200);

    const rotated = await send(tpns.url, '/_sandbox/rotate', { json: { accessId: app.accessId, secretKey: NEW_KEY } });
    expect(rotated.status).toBe(204);
    const rejected = expectProblem(await send(api.url, '/v1/tokens/token1/accounts'), 502);
    expect(rejected.tpnsCode).toBe(1008003);

    const secrets = new SecretsManagerClient({
      endpoint: aws.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: SANDBOX_SECRET_ID,
        SecretString: JSON.stringify({ accessId: app.accessId, secretKey: NEW_KEY, region: app.region }),
      }),
    );
    const readsBefore = aws.secretReads.length;
    const healed = await send(api.url, '/v1/tokens/token1/accounts');
    expect(healed.status, healed.text).toBe(200);
    expect(healed.body.token).toBe('token1');
    expect(aws.secretReads.length - readsBefore).toBe(1);
  });
});
