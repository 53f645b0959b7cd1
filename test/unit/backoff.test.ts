import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../functions/core/backoff.ts';
import { RETRY_DEFAULTS } from '../../functions/core/query/retry.ts';

describe('TPNS call backoff: exponential with full jitter and a cap', () => {
  const { baseDelayMs, maxDelayMs, maxRetries } = RETRY_DEFAULTS;

  it('the ceiling doubles per retry from the base, up to the cap', () => {
    const ceilings = Array.from({ length: 8 }, (_, retry) => backoffDelayMs(retry, RETRY_DEFAULTS, () => 1));
    expect(ceilings.slice(0, 3)).toEqual([baseDelayMs, 2 * baseDelayMs, 4 * baseDelayMs]);
    expect(Math.max(...ceilings)).toBe(maxDelayMs);
    expect(ceilings.at(-1)).toBe(maxDelayMs);
  });

  it('full jitter: anywhere from 0 to the ceiling, uniformly', () => {
    expect(backoffDelayMs(2, RETRY_DEFAULTS, () => 0)).toBe(0);
    expect(backoffDelayMs(2, RETRY_DEFAULTS, () => 0.5)).toBe(2 * baseDelayMs);
  });

  it('a small cap: at most 3 retries, all of them waiting well under a second in total', () => {
    expect(maxRetries).toBeLessThanOrEqual(3);
    const worstCase = Array.from({ length: maxRetries }, (_, retry) => backoffDelayMs(retry, RETRY_DEFAULTS, () => 1)).reduce(
      (a, b) => a + b,
      0,
    );
    expect(worstCase).toBeLessThan(1_000);
  });
});
