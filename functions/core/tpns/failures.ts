import { TPNS_CODE } from './codes.ts';
import type { Region } from './regions.ts';

/** Why a whole TPNS call failed: a TPNS retCode (see `failureKindOf`) or the transport. */
export type FailureKind =
  | 'credentials_rejected'
  | 'wrong_access_point'
  | 'rate_limited'
  | 'upstream_error'
  | 'request_rejected'
  | 'batch_too_large'
  | 'app_unavailable'
  | 'timeout'
  | 'unavailable'
  | 'bad_response'
  /** Not TPNS's answer: the request's own budget of calls (query/budget.ts) is spent. */
  | 'call_budget_spent'
  /** Not TPNS's answer: the app's circuit breaker (query/breaker.ts) is open, so no call was made. */
  | 'circuit_open';

/**
 * Why an item has no answer when its chunk failed (the item's `reason`), or when its app failed as a
 * whole in a query of several apps (the fatal kinds: with one app, they end the request instead).
 */
export type FailureReason =
  | 'timeout'
  | 'unavailable'
  | 'rate_limited'
  | 'call_budget_spent'
  | 'credentials_rejected'
  | 'wrong_access_point'
  | 'app_unavailable'
  | 'request_rejected';

export interface FailureMeaning {
  /** Worth another attempt as it is, after a backoff. */
  transient: boolean;
  /** No other chunk, access point or key would fix it: the whole request fails with it. */
  fatal: boolean;
  /** Events path: Lambda's retries would meet it again, so it is published as Failed instead of thrown. */
  permanent: boolean;
  /** TPNS itself is down (unreachable, failing, silent): counts towards opening the app's circuit breaker. */
  outage: boolean;
  /**
   * What the items of a chunk (or, for a fatal kind, of an app among several) that failed with it say;
   * a chunk refused item by item (1008007) carries only its code.
   */
  reason: FailureReason | undefined;
  /** The problem a request that fails with it answers with (problems.ts). */
  status: number;
  slug: string;
  title: string;
  retryAfterSeconds?: number;
}

/** The one table of what each failure means, from the retry loop to the HTTP answer and the events path. */
export const FAILURES: Readonly<Record<FailureKind, FailureMeaning>> = {
  credentials_rejected: {
    transient: false,
    fatal: true,
    permanent: true,
    outage: false,
    reason: 'credentials_rejected',
    status: 502,
    slug: 'tpns-credentials-rejected',
    title: 'TPNS rejected the credentials',
  },
  wrong_access_point: {
    transient: false,
    fatal: true,
    permanent: true,
    outage: false,
    reason: 'wrong_access_point',
    status: 502,
    slug: 'tpns-wrong-access-point',
    title: 'AccessId not in this TPNS access point',
  },
  app_unavailable: {
    transient: false,
    fatal: true,
    permanent: true,
    outage: false,
    reason: 'app_unavailable',
    status: 502,
    slug: 'tpns-app-unavailable',
    title: 'The TPNS app is not in service',
  },
  request_rejected: {
    transient: false,
    fatal: true,
    permanent: true,
    outage: false,
    reason: 'request_rejected',
    status: 502,
    slug: 'tpns-request-rejected',
    title: 'TPNS rejected the request',
  },
  batch_too_large: {
    transient: false,
    fatal: false,
    permanent: true,
    outage: false,
    reason: undefined,
    status: 502,
    slug: 'tpns-request-rejected',
    title: 'TPNS rejected the request',
  },
  rate_limited: {
    transient: true,
    fatal: false,
    permanent: false,
    outage: false,
    reason: 'rate_limited',
    status: 503,
    slug: 'tpns-rate-limited',
    title: 'TPNS is rate limiting this app',
    retryAfterSeconds: 1,
  },
  upstream_error: {
    transient: true,
    fatal: false,
    permanent: false,
    outage: true,
    reason: 'unavailable',
    status: 502,
    slug: 'tpns-upstream-error',
    title: 'TPNS failed',
  },
  unavailable: {
    transient: true,
    fatal: false,
    permanent: false,
    outage: true,
    reason: 'unavailable',
    status: 502,
    slug: 'tpns-unavailable',
    title: 'TPNS could not be reached',
  },
  timeout: {
    // A chunk that hung is tried again when the deadline leaves time for a whole call.
    transient: true,
    fatal: false,
    permanent: false,
    outage: true,
    reason: 'timeout',
    status: 504,
    slug: 'tpns-timeout',
    title: 'TPNS did not answer in time',
  },
  bad_response: {
    transient: false,
    fatal: false,
    permanent: false,
    outage: false,
    reason: 'unavailable',
    status: 502,
    slug: 'tpns-bad-response',
    title: 'TPNS answered with an unreadable response',
  },
  call_budget_spent: {
    transient: false,
    fatal: false,
    // The same query would spend the same budget again.
    permanent: true,
    outage: false,
    reason: 'call_budget_spent',
    status: 502,
    slug: 'tpns-call-budget-spent',
    title: 'TPNS refused too much of this request',
  },
  circuit_open: {
    // No other chunk would get through either; the cool-down ends sooner than Lambda's retries come.
    transient: false,
    fatal: false,
    permanent: false,
    outage: false,
    reason: 'unavailable',
    status: 503,
    slug: 'tpns-unavailable',
    title: 'TPNS is unavailable',
  },
};

/** Whole-call `retCode` → failure kind. `batch_too_large` is 1008007, which TPNS also uses for any invalid parameter. */
export const failureKindOf = (retCode: number): FailureKind => {
  switch (retCode) {
    case TPNS_CODE.AUTH_FAILED:
      return 'credentials_rejected';
    case TPNS_CODE.WRONG_ACCESS_POINT:
      return 'wrong_access_point';
    case TPNS_CODE.RATE_LIMITED:
      return 'rate_limited';
    case TPNS_CODE.INTERNAL_ERROR:
      return 'upstream_error';
    case TPNS_CODE.INVALID_PARAMETER:
      return 'batch_too_large';
    case TPNS_CODE.APP_NOT_PAID:
    case TPNS_CODE.APP_TERMINATED:
      return 'app_unavailable';
    default:
      return 'request_rejected';
  }
};

/** A TPNS call failed as a whole; FAILURES says what that means. Knows nothing of HTTP. */
export class TpnsError extends Error {
  readonly kind: FailureKind;
  /** TPNS's retCode, when TPNS gave one. */
  readonly code: number | undefined;
  readonly region: Region;
  /** When to ask again, if this failure knows better than FAILURES (an open breaker: the rest of its cool-down). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    kind: FailureKind,
    region: Region,
    detail: string,
    options: { code?: number; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'TpnsError';
    this.kind = kind;
    this.code = options.code;
    this.region = region;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
