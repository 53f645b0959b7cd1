import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj, Request } from '@middy/core';
import secretsManager from '@middy/secrets-manager';
import { clearCache, getInternal } from '@middy/util';
import type { Context } from 'aws-lambda';
import { APP_NAME, METRICS, SECRET_LIMITS, SINGLE_APP_NAME } from '../contract.ts';
import { metrics } from '../observability.ts';
import { awsClientOptions } from './aws-client.ts';
import { CredentialsError } from './problems.ts';
import type { AuthScheme, TpnsCredentials } from './tpns/auth.ts';
import { isRegion, REGIONS, type Region } from './tpns/regions.ts';

/** One TPNS app of the secret, validated. `region` absent means "discover it". */
export interface AppSecret extends TpnsCredentials {
  name: string;
  region: Region | undefined;
  auth: AuthScheme;
}

/**
 * What the secret holds: the product's apps in the secret's order. `appsForm`: the secret used
 * `{"apps": [...]}`, and answers say which app each binding came from; a single-app object is one
 * app named SINGLE_APP_NAME, answered as before apps existed.
 */
export interface TpnsSecret {
  apps: readonly [AppSecret, ...AppSecret[]];
  appsForm: boolean;
}

/**
 * The credentials one invocation uses, and a way to re-read them when TPNS rejects an app's entry
 * (a rotated key). `refresh` is shared: concurrent callers, whatever their app, wait on one read,
 * and each gets its own app's entry from it.
 */
export interface CredentialSource {
  current: TpnsSecret;
  refresh(rejected: AppSecret): Promise<AppSecret>;
  /** TPNS answered a call made with `app`: a refusal after this is news again, worth a re-read. */
  accepted(app: AppSecret): void;
}

export type CredentialsContext = Context & { tpnsCredentials: CredentialSource };

const CACHE_KEY = 'tpns-credentials';
// What the middlewares read: the raw secret that @middy/secrets-manager keeps under INTERNAL_KEY.
const INTERNAL_KEY = 'tpnsSecret';
type SecretRequest = Request<unknown, unknown, Error, CredentialsContext, { [INTERNAL_KEY]: unknown }>;

const parsedSecrets = new WeakMap<object, TpnsSecret>();

export const sameSecret = (a: AppSecret, b: AppSecret): boolean =>
  a.name === b.name && a.accessId === b.accessId && a.secretKey === b.secretKey && a.auth === b.auth && a.region === b.region;

/** One app's fields; `where` prefixes each problem (`apps[1]: `, or nothing for a single-app secret). */
const parseApp = (raw: Record<string, unknown>, name: string, where: string, problems: string[]): AppSecret => {
  const { accessId, secretKey, region, auth } = raw;
  const id = typeof accessId === 'number' && Number.isSafeInteger(accessId) ? String(accessId) : accessId;
  if (typeof id !== 'string' || id === '') problems.push(`${where}"accessId" (a non-empty string) is missing`);
  if (typeof secretKey !== 'string' || secretKey === '') problems.push(`${where}"secretKey" (a non-empty string) is missing`);
  if (region !== undefined && !isRegion(region)) problems.push(`${where}"region" must be one of ${REGIONS.join(', ')}`);
  if (auth !== undefined && auth !== 'sign' && auth !== 'basic') problems.push(`${where}"auth" must be "sign" or "basic"`);
  return {
    name,
    accessId: id as string,
    secretKey: secretKey as string,
    region: region as Region | undefined,
    auth: (auth as AuthScheme | undefined) ?? 'sign',
  };
};

/** The `{"apps": [...]}` form: each entry an app with a distinct name. */
const parseApps = (apps: unknown, problems: string[]): AppSecret[] => {
  if (!Array.isArray(apps) || apps.length === 0 || apps.length > SECRET_LIMITS.maxApps) {
    problems.push(`"apps" must be an array of 1 to ${SECRET_LIMITS.maxApps} apps`);
    return [];
  }
  const names = new Set<string>();
  return apps.map((entry: unknown, i) => {
    const where = `apps[${i}]: `;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      problems.push(`${where}must be an object {"name", "accessId", "secretKey", "region"?, "auth"?}`);
      return undefined;
    }
    const { name } = entry as Record<string, unknown>;
    if (typeof name !== 'string' || !APP_NAME.pattern.test(name)) {
      problems.push(`${where}"name" must be ${APP_NAME.says}`);
    } else if (names.has(name)) {
      problems.push(`apps: duplicate name "${name}"`);
    }
    names.add(name as string);
    return parseApp(entry as Record<string, unknown>, name as string, where, problems);
  }) as AppSecret[];
};

/** Names what is wrong with the secret (the app and the field), never what it holds. */
export const parseSecret = (raw: unknown, secretId: string): TpnsSecret => {
  const where = `secret "${secretId}"`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CredentialsError(
      `${where} must hold a JSON object {"accessId", "secretKey", "region"?, "auth"?} or {"apps": [{"name", "accessId", "secretKey", "region"?, "auth"?}, ...]}`,
    );
  }
  const cached = parsedSecrets.get(raw);
  if (cached) return cached;
  const fields = raw as Record<string, unknown>;
  const appsForm = Object.hasOwn(fields, 'apps');
  const problems: string[] = [];
  if (appsForm && (Object.hasOwn(fields, 'accessId') || Object.hasOwn(fields, 'secretKey'))) {
    problems.push('"apps" and a single app\'s "accessId"/"secretKey" cannot be combined; move them into "apps"');
  }
  const apps = appsForm ? parseApps(fields.apps, problems) : [parseApp(fields, SINGLE_APP_NAME, '', problems)];
  if (problems.length) throw new CredentialsError(`${where}: ${problems.join('; ')}`);
  const secret: TpnsSecret = { apps: apps as [AppSecret, ...AppSecret[]], appsForm };
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
    awsClientOptions: awsClientOptions(),
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
  /** Per app: the last re-read that found its refused entry unchanged, and when. Other apps' entries are not its business. */
  const unchanged = new Map<string, { app: AppSecret; at: number }>();
  const accepted = (app: AppSecret) => {
    const last = unchanged.get(app.name);
    if (last !== undefined && sameSecret(last.app, app)) unchanged.delete(app.name);
  };
  const coolingDown = (rejected: AppSecret) => {
    const last = unchanged.get(rejected.name);
    return last !== undefined && sameSecret(last.app, rejected) && now() - last.at < cooldownMs;
  };
  const entryOf = (secret: TpnsSecret | undefined, name: string) => secret?.apps.find((app) => app.name === name);

  const refresher =
    (request: SecretRequest) =>
    async (rejected: AppSecret): Promise<AppSecret> => {
      const known = entryOf(latest, rejected.name);
      if (known !== undefined && known !== rejected) return known; // another caller already refreshed
      if (coolingDown(rejected)) return rejected;
      refreshing ??= (async () => {
        clearCache([CACHE_KEY]);
        await fetchBefore(request as Parameters<typeof fetchBefore>[0]);
        metrics.addMetric(METRICS.secretRefreshes, MetricUnit.Count, 1);
        try {
          latest = await resolve(request);
        } catch (error) {
          // What the failed read left is unknown: the next invocation's own read is the latest again.
          latest = undefined;
          throw error;
        }
        return latest;
      })().finally(() => {
        refreshing = undefined;
      });
      // An app no longer in the secret keeps its refused entry: its run ends refused.
      const fresh = entryOf(await refreshing, rejected.name) ?? rejected;
      if (sameSecret(fresh, rejected)) unchanged.set(rejected.name, { app: fresh, at: now() });
      else unchanged.delete(rejected.name);
      return fresh;
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
