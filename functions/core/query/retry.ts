import { backoffDelayMs } from '../backoff.ts';
import { FAILURES, type FailureKind } from '../tpns/failures.ts';

export const RETRY_DEFAULTS = {
  /** Retries of one call after its first attempt. */
  maxRetries: 3,
  /** Backoff before retry n (0-based) is uniform in [0, min(maxDelayMs, baseDelayMs × 2^n)]: full jitter. */
  baseDelayMs: 50,
  maxDelayMs: 1_000,
  /** No call starts with less time than this before the deadline. */
  minCallMs: 100,
} as const;

/**
 * The retry policy: how long to wait before retrying a call that failed with `kind` after `retry`
 * retries, or undefined when it must not be retried: the failure is not transient, the retries are
 * spent, or after the wait there would be less than a call's worth of time before the deadline.
 */
export const retryDelayMs = (kind: FailureKind, retry: number, now: number, deadline: number, random: () => number): number | undefined => {
  if (!FAILURES[kind].transient || retry >= RETRY_DEFAULTS.maxRetries) return undefined;
  const delay = backoffDelayMs(retry, RETRY_DEFAULTS, random);
  return now + delay + RETRY_DEFAULTS.minCallMs < deadline ? delay : undefined;
};
