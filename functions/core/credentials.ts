import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj, Request } from '@middy/core';
import secretsManager from '@middy/secrets-manager';
import { clearCache, getInternal } from '@middy/util';
import type { Context } from 'aws-lambda';
import { METRICS } from '../contract.ts';
import { metrics } from '../observability.ts';
import { CredentialsError } from './problems.ts';
import type { AuthScheme, TpnsCredentials } from './tpns/auth.ts';
import { isRegion, REGIONS, type Region } from './tpns/regions.ts';

/** What the secret holds, validated. `region` absent means "discover it". */
export interface TpnsSecret extends TpnsCredentials {
  region: Region | undefined;
  auth: AuthScheme;
}

/**
 * The credentials one invocation uses, and a way to re-read them when TPNS rejects
 * them (a rotated key). `refresh` is shared: concurrent callers wait on one read.
 */
export interface CredentialSource {
  current: TpnsSecret;
  refresh(rejected: TpnsSecret): Promise<TpnsSecret>;
  /** TPNS answered a call made with `secret`: a refusal after this is news again, worth a re-read. */
  accepted(secret: TpnsSecret): void;
}

export type CredentialsContext = Context & { tpnsCredentials: CredentialSource };

const CACHE_KEY = 'tpns-credentials';
// What the middlewares read: the raw secret that @middy/secrets-manager keeps under INTERNAL_KEY.
const INTERNAL_KEY = 'tpnsSecret';
type SecretRequest = Request<unknown, unknown, Error, CredentialsContext, { [INTERNAL_KEY]: unknown }>;

const parsedSecrets = new WeakMap<object, TpnsSecret>();

export const sameSecret = (a: TpnsSecret, b: TpnsSecret): boolean =>
  a.accessId === b.accessId && a.secretKey === b.secretKey && a.auth === b.auth && a.region === b.region;

/** Names what is wrong with the secret, never what it holds. */
export const parseSecret = (raw: unknown, secretId: string): TpnsSecret => {
  const where = `secret "${secretId}"`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CredentialsError(`${where} must hold a JSON object {"accessId", "secretKey", "region"?, "auth"?}`);
  }
  const cached = parsedSecrets.get(raw);
  if (cached) return cached;
  const { accessId, secretKey, region, auth } = raw as Record<string, unknown>;
  const problems: string[] = [];
  const id = typeof accessId === 'number' && Number.isSafeInteger(accessId) ? String(accessId) : accessId;
  if (typeof id !== 'string' || id === '') problems.push('"accessId" (a non-empty string) is missing');
  if (typeof secretKey !== 'string' || secretKey === '') problems.push('"secretKey" (a non-empty string) is missing');
  if (region !== undefined && !isRegion(region)) problems.push(`"region" must be one of ${REGIONS.join(', ')}`);
  if (auth !== undefined && auth !== 'sign' && auth !== 'basic') problems.push('"auth" must be "sign" or "basic"');
  if (problems.length) throw new CredentialsError(`${where}: ${problems.join('; ')}`);
  const secret: TpnsSecret = {
    accessId: id as string,
    secretKey: secretKey as string,
    region: region as Region | undefined,
    auth: (auth as AuthScheme | undefined) ?? 'sign',
  };
  parsedSecrets.set(raw, secret);
  return secret;
};

/**
 * The secret is read through @middy/secrets-manager and cached for the life of the
 * container. Prefetch is off on purpose: a prefetch failure at init is an unhandled
 * rejection, while a failure here is an ordinary error that becomes a 503 problem.
 */
export const tpnsCredentials = (
  secretId: string,
  { cooldownMs, now = Date.now }: { cooldownMs: number; now?: () => number },
): MiddlewareObj<unknown, unknown, Error, CredentialsContext>[] => {
  const fetchSecret = secretsManager({
    fetchData: { [INTERNAL_KEY]: secretId },
    cacheKey: CACHE_KEY,
    cacheExpiry: -1,
    disablePrefetch: true,
  });
  // The read a refresh repeats: the middleware's own `before`, which fills its cache and the request's internal store.
  const fetchBefore = fetchSecret.before;
  if (fetchBefore === undefined) throw new Error('@middy/secrets-manager no longer reads in `before`');

  const resolve = async (request: SecretRequest): Promise<TpnsSecret> => {
    let raw: unknown;
    try {
      raw = (await getInternal([INTERNAL_KEY], request))[INTERNAL_KEY];
    } catch (error) {
      throw new CredentialsError(`could not read secret "${secretId}" from Secrets Manager (${describeFailure(error)})`, error);
    }
    try {
      return parseSecret(raw, secretId);
    } catch (error) {
      // Like a failed read (which middy drops), an unusable secret is not kept: once it is fixed, the next invocation heals.
      clearCache([CACHE_KEY]);
      throw error;
    }
  };

  let latest: TpnsSecret | undefined;
  let refreshing: Promise<TpnsSecret> | undefined;
  /** The last re-read that found the refused secret unchanged, and when. */
  let unchanged: { secret: TpnsSecret; at: number } | undefined;
  const accepted = (secret: TpnsSecret) => {
    if (unchanged !== undefined && sameSecret(unchanged.secret, secret)) unchanged = undefined;
  };
  const coolingDown = (rejected: TpnsSecret) =>
    unchanged !== undefined && sameSecret(unchanged.secret, rejected) && now() - unchanged.at < cooldownMs;

  const refresher =
    (request: SecretRequest) =>
    async (rejected: TpnsSecret): Promise<TpnsSecret> => {
      if (latest !== undefined && latest !== rejected) return latest; // another caller already refreshed
      if (coolingDown(rejected)) return rejected;
      refreshing ??= (async () => {
        clearCache([CACHE_KEY]);
        await fetchBefore(request as Parameters<typeof fetchBefore>[0]);
        metrics.addMetric(METRICS.secretRefreshes, MetricUnit.Count, 1);
        const fresh = await resolve(request);
        unchanged = sameSecret(fresh, rejected) ? { secret: fresh, at: now() } : undefined;
        latest = fresh;
        return fresh;
      })().finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    };

  const attach: MiddlewareObj<unknown, unknown, Error, CredentialsContext, { [INTERNAL_KEY]: unknown }> = {
    before: async (request) => {
      const current = await resolve(request);
      latest ??= current;
      request.context.tpnsCredentials = { current, refresh: refresher(request), accepted };
    },
  };

  return [fetchSecret, attach] as unknown as MiddlewareObj<unknown, unknown, Error, CredentialsContext>[];
};

/** The SDK error's name, or the nested cause middy wraps it in; never a secret value. */
const describeFailure = (error: unknown): string => {
  const inner = (error as { cause?: { data?: unknown[] } }).cause?.data?.[0] ?? error;
  const { name, message } = inner as { name?: string; message?: string };
  return [name, message].filter(Boolean).join(': ') || 'unknown error';
};
