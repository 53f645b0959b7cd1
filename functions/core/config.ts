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

/**
 * One variable read and checked: its value, or the message naming it (never echoing the value).
 * Written out rather than a zod schema (issue 11, measured): building the schema at init cost about
 * 4 ms of every cold start, and nothing else on a handler's way to its first answer needs zod.
 */
type Variable<T> = (env: NodeJS.ProcessEnv) => { value: T } | { error: string };

/** An optional integer variable; empty or unset means the default. */
const intVar =
  (name: string, { min, max }: { min: number; max: number }, fallback: number): Variable<number> =>
  (env) => {
    const value = env[name];
    if (!value) return { value: fallback };
    const number = Number(value);
    return /^\d{1,6}$/.test(value) && number >= min && number <= max
      ? { value: number }
      : { error: `${name} must be an integer from ${min} to ${max}` };
  };

/** An optional "true" or "false"; empty or unset means the default. */
const booleanVar =
  (name: string, fallback: boolean): Variable<boolean> =>
  (env) => {
    const value = env[name];
    if (!value) return { value: fallback };
    return value === 'true' || value === 'false' ? { value: value === 'true' } : { error: `${name} must be "true" or "false"` };
  };

const isHttpUrl = (value: string): boolean => {
  try {
    return /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
};

const secretId: Variable<string> = ({ TPNS_SECRET_ID: value }) =>
  value ? { value } : { error: 'TPNS_SECRET_ID must name the Secrets Manager secret' };

const endpoint: Variable<string | undefined> = ({ TPNS_ENDPOINT: value }) =>
  !value || isHttpUrl(value.replaceAll('{region}', 'guangzhou'))
    ? { value: value || undefined }
    : { error: 'TPNS_ENDPOINT must be an http(s) URL (it may contain {region})' };

/** Read once at init: a misconfigured function fails its init with every problem, each naming its variable. */
export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const errors: string[] = [];
  const read = <T>(variable: Variable<T>): T => {
    const checked = variable(env);
    if ('value' in checked) return checked.value;
    errors.push(checked.error);
    return undefined as T; // never returned: the errors are thrown below
  };
  const config: Config = {
    secretId: read(secretId),
    endpoint: read(endpoint),
    maxBatch: read(intVar('TPNS_MAX_BATCH', CONFIG_LIMITS.maxBatch, CONFIG_DEFAULTS.maxBatch)),
    concurrency: read(intVar('TPNS_CONCURRENCY', CONFIG_LIMITS.concurrency, CONFIG_DEFAULTS.concurrency)),
    adaptiveConcurrency: read(booleanVar('TPNS_ADAPTIVE_CONCURRENCY', CONFIG_DEFAULTS.adaptiveConcurrency)),
    secretRereadCooldownMs: read(
      intVar('TPNS_SECRET_REREAD_COOLDOWN_MS', CONFIG_LIMITS.secretRereadCooldownMs, CONFIG_DEFAULTS.secretRereadCooldownMs),
    ),
    breakerFailures: read(intVar('TPNS_BREAKER_FAILURES', CONFIG_LIMITS.breakerFailures, CONFIG_DEFAULTS.breakerFailures)),
    breakerCooldownMs: read(intVar('TPNS_BREAKER_COOLDOWN_MS', CONFIG_LIMITS.breakerCooldownMs, CONFIG_DEFAULTS.breakerCooldownMs)),
  };
  if (errors.length) throw new Error(`invalid configuration: ${errors.join('; ')}`);
  return config;
};
