import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../functions/core/backoff.ts';

describe('backoff: exponential with full jitter and a cap', () => {
  const policy = { baseDelayMs: 40, maxDelayMs: 300 };
  const ceiling = (retry: number) => backoffDelayMs(retry, policy, () => 1);

  it('the ceiling doubles per retry from the base, then stays at the cap', () => {
    expect(Array.from({ length: 6 }, (_, retry) => ceiling(retry))).toEqual([40, 80, 160, 300, 300, 300]);
  });

  it('full jitter: the draw scales the ceiling, from 0 up to it', () => {
    expect(backoffDelayMs(2, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(2, policy, () => 0.25)).toBe(40);
    expect(backoffDelayMs(5, policy, () => 0.5)).toBe(150);
  });

  it('draws once per delay', () => {
    let draws = 0;
    backoffDelayMs(1, policy, () => {
      draws++;
      return 0.5;
    });
    expect(draws).toBe(1);
  });
});
