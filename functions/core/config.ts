import * as z from 'zod/mini';
import { CONFIG_DEFAULTS, CONFIG_LIMITS } from '../contract.ts';

export interface Config {
  /** Secrets Manager secret (name or ARN) holding {"accessId","secretKey","region"?,"auth"?}. */
  secretId: string;
  /** Replaces the TPNS host; `{region}` in it is replaced by the region key. */
  endpoint: string | undefined;
  maxBatch: number;
  concurrency: number;
  adaptiveConcurrency: boolean;
  secretRereadCooldownMs: number;
  breakerFailures: number;
  breakerCooldownMs: number;
}

/** An optional integer variable; empty or unset means the default. */
const intVar = (name: string, min: number, max: number, fallback: number) =>
  z.pipe(
    z.optional(z.string()).check(
      z.refine((value) => !value || (/^\d{1,6}$/.test(value) && Number(value) >= min && Number(value) <= max), {
        error: `${name} must be an integer from ${min} to ${max}`,
      }),
    ),
    z.transform((value) => (value ? Number(value) : fallback)),
  );

/** An optional "true" or "false"; empty or unset means the default. */
const booleanVar = (name: string, fallback: boolean) =>
  z.pipe(
    z
      .optional(z.string())
      .check(z.refine((value) => !value || value === 'true' || value === 'false', { error: `${name} must be "true" or "false"` })),
    z.transform((value) => (value ? value === 'true' : fallback)),
  );

const isHttpUrl = (value: string): boolean => {
  try {
    return /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
};

const secretIdError = { error: 'TPNS_SECRET_ID must name the Secrets Manager secret' };

const envSchema = z.object({
  TPNS_SECRET_ID: z.string(secretIdError).check(z.minLength(1, secretIdError)),
  TPNS_ENDPOINT: z.pipe(
    z.optional(z.string()).check(
      z.refine((value) => !value || isHttpUrl(value.replaceAll('{region}', 'guangzhou')), {
        error: 'TPNS_ENDPOINT must be an http(s) URL (it may contain {region})',
      }),
    ),
    z.transform((value) => value || undefined),
  ),
  TPNS_MAX_BATCH: intVar('TPNS_MAX_BATCH', CONFIG_LIMITS.maxBatch.min, CONFIG_LIMITS.maxBatch.max, CONFIG_DEFAULTS.maxBatch),
  TPNS_CONCURRENCY: intVar('TPNS_CONCURRENCY', CONFIG_LIMITS.concurrency.min, CONFIG_LIMITS.concurrency.max, CONFIG_DEFAULTS.concurrency),
  TPNS_ADAPTIVE_CONCURRENCY: booleanVar('TPNS_ADAPTIVE_CONCURRENCY', CONFIG_DEFAULTS.adaptiveConcurrency),
  TPNS_SECRET_REREAD_COOLDOWN_MS: intVar(
    'TPNS_SECRET_REREAD_COOLDOWN_MS',
    CONFIG_LIMITS.secretRereadCooldownMs.min,
    CONFIG_LIMITS.secretRereadCooldownMs.max,
    CONFIG_DEFAULTS.secretRereadCooldownMs,
  ),
  TPNS_BREAKER_FAILURES: intVar(
    'TPNS_BREAKER_FAILURES',
    CONFIG_LIMITS.breakerFailures.min,
    CONFIG_LIMITS.breakerFailures.max,
    CONFIG_DEFAULTS.breakerFailures,
  ),
  TPNS_BREAKER_COOLDOWN_MS: intVar(
    'TPNS_BREAKER_COOLDOWN_MS',
    CONFIG_LIMITS.breakerCooldownMs.min,
    CONFIG_LIMITS.breakerCooldownMs.max,
    CONFIG_DEFAULTS.breakerCooldownMs,
  ),
});

/** Read once at init: a misconfigured function fails its init with a message naming the variable. */
export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  const {
    TPNS_SECRET_ID,
    TPNS_ENDPOINT,
    TPNS_MAX_BATCH,
    TPNS_CONCURRENCY,
    TPNS_ADAPTIVE_CONCURRENCY,
    TPNS_SECRET_REREAD_COOLDOWN_MS,
    TPNS_BREAKER_FAILURES,
    TPNS_BREAKER_COOLDOWN_MS,
  } = parsed.data;
  return {
    secretId: TPNS_SECRET_ID,
    endpoint: TPNS_ENDPOINT,
    maxBatch: TPNS_MAX_BATCH,
    concurrency: TPNS_CONCURRENCY,
    adaptiveConcurrency: TPNS_ADAPTIVE_CONCURRENCY,
    secretRereadCooldownMs: TPNS_SECRET_REREAD_COOLDOWN_MS,
    breakerFailures: TPNS_BREAKER_FAILURES,
    breakerCooldownMs: TPNS_BREAKER_COOLDOWN_MS,
  };
};
