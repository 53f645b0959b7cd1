import { z } from 'zod';

/** Defaults an operator can override per deployment (README: Configuration). */
export const CONFIG_DEFAULTS = {
  /** TPNS documents no per-call maximum; 100 keeps each call small and a refusal cheap. */
  maxBatch: 100,
  concurrency: 8,
} as const;

export interface Config {
  /** Secrets Manager secret (name or ARN) holding {"accessId","secretKey","region"?,"auth"?}. */
  secretId: string;
  /** Replaces the TPNS host; `{region}` in it is replaced by the region key. */
  endpoint: string | undefined;
  maxBatch: number;
  concurrency: number;
}

const intVar = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return fallback;
      const n = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
      if (!(n >= min && n <= max)) {
        ctx.addIssue({ code: 'custom', message: `${name} must be an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const isHttpUrl = (value: string): boolean => {
  try {
    return /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
};

const envSchema = z.object({
  TPNS_SECRET_ID: z.string({ error: 'TPNS_SECRET_ID must name the Secrets Manager secret' }).min(1, {
    error: 'TPNS_SECRET_ID must name the Secrets Manager secret',
  }),
  TPNS_ENDPOINT: z
    .string()
    .optional()
    .transform((value) => value || undefined)
    .refine((value) => value === undefined || isHttpUrl(value.replaceAll('{region}', 'guangzhou')), {
      error: 'TPNS_ENDPOINT must be an http(s) URL (it may contain {region})',
    }),
  TPNS_MAX_BATCH: intVar('TPNS_MAX_BATCH', 1, 10_000, CONFIG_DEFAULTS.maxBatch),
  TPNS_CONCURRENCY: intVar('TPNS_CONCURRENCY', 1, 64, CONFIG_DEFAULTS.concurrency),
});

/** Read once at init: a misconfigured function fails its init with a message naming the variable. */
export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  const { TPNS_SECRET_ID, TPNS_ENDPOINT, TPNS_MAX_BATCH, TPNS_CONCURRENCY } = parsed.data;
  return { secretId: TPNS_SECRET_ID, endpoint: TPNS_ENDPOINT, maxBatch: TPNS_MAX_BATCH, concurrency: TPNS_CONCURRENCY };
};
