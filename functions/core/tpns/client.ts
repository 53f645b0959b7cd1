import { type AuthScheme, authHeaders, type TpnsCredentials } from './auth.ts';
import { describeCode, TPNS_CODE } from './codes.ts';
import { failureKindOf, TpnsError } from './failures.ts';
import { baseUrlFor, QUERY_PATH, type Region } from './regions.ts';
import { Agent, type Dispatcher } from './undici.ts';

/** Seconds, never undici's 300 s defaults: the handler sits in front of callers with deadlines. */
export const CLIENT_DEFAULTS = {
  connectTimeoutMs: 3_000,
  callTimeoutMs: 8_000,
  keepAliveTimeoutMs: 30_000,
} as const;

/** One keep-alive pool per process, shared by every invocation a warm container serves. */
export const tpnsAgent: Dispatcher = new Agent({
  connect: { timeout: CLIENT_DEFAULTS.connectTimeoutMs },
  keepAliveTimeout: CLIENT_DEFAULTS.keepAliveTimeoutMs,
  keepAliveMaxTimeout: 2 * CLIENT_DEFAULTS.keepAliveTimeoutMs,
  headersTimeout: CLIENT_DEFAULTS.callTimeoutMs,
  bodyTimeout: CLIENT_DEFAULTS.callTimeoutMs,
});

export type TpnsQueryRequest =
  | { operator_type: 1; account_list: { account: string; account_type: number }[] }
  | { operator_type: 2; token_list: string[] };

export interface TpnsAccountTokens {
  account: string;
  account_type?: number;
  token_list?: string[] | null;
}

export interface TpnsTokenAccounts {
  token: string;
  account_list?: { account: string; account_type?: number; timestamp?: number }[] | null;
}

/** A successful answer, with `result` already turned into numbers and checked against the request. */
export interface TpnsQueryResponse {
  codes: number[];
  accountTokens: TpnsAccountTokens[];
  tokenAccounts: TpnsTokenAccounts[];
}

export interface TpnsTarget {
  region: Region;
  /** TPNS_ENDPOINT, when set, replaces the region's host. */
  endpoint?: string;
  credentials: TpnsCredentials;
  auth: AuthScheme;
}

export interface CallOptions {
  /** The headers, and then each part of the body, must arrive within this. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  /** Aborts the call; a TimeoutError reason makes it a `timeout` (the query's deadline, query.ts). */
  signal?: AbortSignal;
}

interface QueryUrl {
  origin: string;
  pathname: string;
}

/**
 * Every call of a container goes to one of a few URLs (an access point, or the endpoint override, per
 * region): each built and parsed once, by endpoint then region, not per call (issue 11).
 */
const queryUrls = new Map<string | undefined, Map<Region, QueryUrl>>();
const queryUrlOf = (region: Region, endpoint: string | undefined): string => baseUrlFor(region, endpoint) + QUERY_PATH;
const queryUrlFor = (region: Region, endpoint: string | undefined): QueryUrl => {
  let byRegion = queryUrls.get(endpoint);
  if (byRegion === undefined) {
    byRegion = new Map();
    queryUrls.set(endpoint, byRegion);
  }
  let queryUrl = byRegion.get(region);
  if (queryUrl === undefined) {
    // Throws for an endpoint that is no URL: the caller reports it as a transport error.
    const { origin, pathname } = new URL(queryUrlOf(region, endpoint));
    queryUrl = { origin, pathname };
    byRegion.set(region, queryUrl);
  }
  return queryUrl;
};

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** One `/v3/device/account/query` call. Throws TpnsError for anything but a usable answer. */
export const queryAccountBindings = async (
  target: TpnsTarget,
  body: TpnsQueryRequest,
  { timeoutMs = CLIENT_DEFAULTS.callTimeoutMs, dispatcher = tpnsAgent, signal }: CallOptions = {},
): Promise<TpnsQueryResponse> => {
  const payload = JSON.stringify(body);
  const { region } = target;
  let statusCode: number;
  let text: string;
  try {
    const { origin, pathname } = queryUrlFor(region, target.endpoint);
    const response = await dispatcher.request({
      origin,
      path: pathname,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(target.credentials, target.auth, payload) },
      body: payload,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    statusCode = response.statusCode;
    text = await response.body.text();
  } catch (error) {
    throw transportError(error, region, queryUrlOf(region, target.endpoint), timeoutMs);
  }
  const itemCount = body.operator_type === 1 ? body.account_list.length : body.token_list.length;
  return parseQueryResponse(statusCode, text, itemCount, region);
};

const transportError = (error: unknown, region: Region, url: string, timeoutMs: number): TpnsError => {
  const { name, code } = error as { name?: string; code?: string };
  const host = URL.parse(url)?.host ?? url;
  if (name === 'TimeoutError' || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return new TpnsError('timeout', region, `TPNS at ${host} did not answer within ${timeoutMs} ms`, { cause: error });
  }
  const reason = code ?? name ?? 'connection failed';
  return new TpnsError('unavailable', region, `could not reach TPNS at ${host} (${reason})`, { cause: error });
};

/** The two whole-call failures an operator fixes in the secret get a sentence saying what to fix. */
const callFailureDetail = (retCode: number, region: Region): string => {
  switch (retCode) {
    case TPNS_CODE.AUTH_FAILED:
      return `the credentials were rejected: TPNS answered ${describeCode(retCode)}; check "accessId" and "secretKey" in the secret`;
    case TPNS_CODE.WRONG_ACCESS_POINT:
      return `the AccessId does not belong to the ${region} access point: TPNS answered ${describeCode(retCode)}; check "region" and "accessId" in the secret`;
    default:
      return `TPNS answered ${describeCode(retCode)}`;
  }
};

/** Both documented shapes: with or without account_type/timestamp, sibling list null or absent. */
export const parseQueryResponse = (statusCode: number, text: string, itemCount: number, region: Region): TpnsQueryResponse => {
  let parsed: Record<string, unknown> | undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
  } catch {
    // handled below with the HTTP status, which says more than the parse error
  }
  const retCode = parsed?.retCode;
  if (typeof retCode === 'number' && retCode !== TPNS_CODE.OK) {
    throw new TpnsError(failureKindOf(retCode), region, callFailureDetail(retCode, region), { code: retCode });
  }
  if (statusCode < 200 || statusCode > 299) {
    const kind = statusCode === 429 ? 'rate_limited' : statusCode >= 500 ? 'upstream_error' : 'request_rejected';
    throw new TpnsError(kind, region, `TPNS answered HTTP ${statusCode}`);
  }
  if (parsed === undefined) {
    throw new TpnsError('bad_response', region, 'TPNS answered with a body that is not a JSON object');
  }
  if (retCode !== TPNS_CODE.OK) {
    throw new TpnsError('bad_response', region, 'TPNS answered without a numeric retCode');
  }
  const codes = parseResultCodes(parsed.result, itemCount);
  if (codes === undefined) {
    throw new TpnsError(
      'bad_response',
      region,
      `TPNS answered with a "result" that is not ${itemCount} status code(s), one per queried item`,
    );
  }
  return {
    codes,
    accountTokens: listOf(parsed.account_tokens, 'account') as TpnsAccountTokens[],
    tokenAccounts: listOf(parsed.token_accounts, 'token') as TpnsTokenAccounts[],
  };
};

const MINUS = 0x2d;
const ZERO = 0x30;
const MAX_CODE_DIGITS = 15;

/**
 * A code TPNS sent as a string: `-?` and 1 to 15 decimal digits, else NaN. Read digit by digit (per item
 * of every answer: no regex, no string-to-number conversion); 15 digits stay below 2^53, exact.
 */
const codeOf = (raw: string): number => {
  const negative = raw.charCodeAt(0) === MINUS;
  const start = negative ? 1 : 0;
  const digits = raw.length - start;
  if (digits < 1 || digits > MAX_CODE_DIGITS) return Number.NaN;
  let code = 0;
  for (let i = start; i < raw.length; i++) {
    const digit = raw.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return Number.NaN;
    code = code * 10 + digit;
  }
  return negative ? -code : code;
};

const parseResultCodes = (result: unknown, itemCount: number): number[] | undefined => {
  if (!Array.isArray(result) || result.length !== itemCount) return undefined;
  const codes = new Array<number>(itemCount);
  for (let i = 0; i < itemCount; i++) {
    const raw: unknown = result[i];
    const code = typeof raw === 'number' ? raw : typeof raw === 'string' ? codeOf(raw) : Number.NaN;
    if (!Number.isSafeInteger(code)) return undefined;
    codes[i] = code;
  }
  return codes;
};

const hasKey = (entry: unknown, key: string): boolean =>
  entry !== null && typeof entry === 'object' && typeof (entry as Record<string, unknown>)[key] === 'string';

/** Keeps only entries that carry their key as a string; a null or absent list is empty. TPNS's own list when every entry does. */
const listOf = (value: unknown, key: string): object[] => {
  if (!Array.isArray(value)) return [];
  for (const entry of value) if (!hasKey(entry, key)) return value.filter((entry) => hasKey(entry, key));
  return value;
};
