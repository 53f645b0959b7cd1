import { type AwsStandIn, startAwsStandIn } from './sandbox/aws.ts';
import { type Binding, SANDBOX_APPS, type SandboxApp } from './sandbox/seed-data.ts';
import { startTpnsSandbox, type TpnsSandbox } from './sandbox/tpns.ts';

export const SANDBOX_SECRET_ID = 'tpns/credentials';

/**
 * The secret the Secrets Manager stand-in serves: `apps`, the product's two sandbox apps in the
 * `{"apps": [...]}` form (the default); `single`, the first app alone, as a single-app object.
 */
export type SandboxSecretForm = 'apps' | 'single';

export const sandboxSecret = (form: SandboxSecretForm): string => {
  const entry = ({ accessId, secretKey, region }: SandboxApp) => ({ accessId, secretKey, region, auth: 'sign' });
  return JSON.stringify(
    form === 'single' ? entry(SANDBOX_APPS[0]) : { apps: SANDBOX_APPS.map((app) => ({ name: app.name, ...entry(app) })) },
  );
};

/** `options.secretForm`, else SANDBOX_SECRET_FORM (how `npm start` and `npm run invoke` choose), else `apps`. */
const secretFormOf = (env: NodeJS.ProcessEnv, chosen: SandboxSecretForm | undefined): SandboxSecretForm => {
  const form = chosen ?? env.SANDBOX_SECRET_FORM ?? 'apps';
  if (form !== 'apps' && form !== 'single') throw new Error(`SANDBOX_SECRET_FORM must be "apps" or "single", not "${form}"`);
  return form;
};

export type LocalEnvironment =
  | { mode: 'real'; close(): Promise<void> }
  | { mode: 'sandbox'; tpns: TpnsSandbox; aws: AwsStandIn; close(): Promise<void> };

/**
 * With TPNS_SECRET_ID set, nothing is started: the handler takes the real credential path
 * (Secrets Manager as the SDK resolves it, TPNS per the secret or TPNS_ENDPOINT). Without it,
 * a TPNS sandbox and a Secrets Manager stand-in start on loopback and the environment points
 * the very same code at them. Call before importing a handler: handlers read env at init.
 * `sandbox.bindings` replaces the sandbox's seeded bindings (tests that need big answers);
 * `sandbox.secretForm` chooses the secret (SandboxSecretForm).
 */
export const startLocalEnvironment = async (
  env: NodeJS.ProcessEnv = process.env,
  sandbox: { bindings?: Binding[]; secretForm?: SandboxSecretForm } = {},
): Promise<LocalEnvironment> => {
  // As Lambda sets it: without it Powertools never reports a cold start (cold_start, the ColdStart metric).
  env.AWS_LAMBDA_INITIALIZATION_TYPE ??= 'on-demand';
  if (env.TPNS_SECRET_ID) return { mode: 'real', close: async () => {} };
  const secret = sandboxSecret(secretFormOf(env, sandbox.secretForm));
  const [tpns, aws] = await Promise.all([
    startTpnsSandbox({ bindings: sandbox.bindings }),
    startAwsStandIn({
      secrets: { [SANDBOX_SECRET_ID]: secret },
    }),
  ]);
  env.TPNS_SECRET_ID = SANDBOX_SECRET_ID;
  // Always the sandbox: a TPNS_ENDPOINT left in the shell would get the sandbox's key.
  env.TPNS_ENDPOINT = tpns.endpoint;
  env.AWS_ENDPOINT_URL_SECRETS_MANAGER = aws.url;
  env.AWS_ENDPOINT_URL_EVENTBRIDGE ??= aws.url;
  env.AWS_ENDPOINT_URL_S3 ??= aws.url;
  env.AWS_REGION ??= 'us-east-1';
  // The SDK signs every call; the stand-in only checks that it did.
  if (!env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) {
    env.AWS_ACCESS_KEY_ID = 'local';
    env.AWS_SECRET_ACCESS_KEY = 'local';
  }
  return {
    mode: 'sandbox',
    tpns,
    aws,
    close: async () => {
      await Promise.all([tpns.close(), aws.close()]);
    },
  };
};
