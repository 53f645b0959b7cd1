export interface BackoffPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Full jitter: a uniform delay up to the capped exponential step for retry `retry` (0-based), so
 * callers retrying together spread out (AWS Architecture Blog, "Exponential Backoff And Jitter").
 */
export const backoffDelayMs = (retry: number, policy: BackoffPolicy, random: () => number = Math.random): number =>
  random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
