import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter, limiterFor } from '../../functions/core/query/limiter.ts';

/** Answers the limiter sees, in a row. */
const answer = (limiter: ConcurrencyLimiter, times: number) => {
  for (let i = 0; i < times; i++) limiter.answered();
};

describe('adaptive concurrency: AIMD', () => {
  it('starts at the maximum and never goes above it', () => {
    const limiter = new ConcurrencyLimiter('a', 8);
    expect(limiter.limit).toBe(8);
    answer(limiter, 100);
    expect(limiter.limit).toBe(8);
  });

  it('halves on rate limiting, down to 1 and never below', () => {
    const limiter = new ConcurrencyLimiter('a', 8);
    const seen = [];
    for (let i = 0; i < 5; i++) {
      limiter.rateLimited(limiter.epoch);
      seen.push(limiter.limit);
    }
    expect(seen).toEqual([4, 2, 1, 1, 1]);
  });

  it('calls already in flight when it went down do not halve it again', () => {
    const limiter = new ConcurrencyLimiter('a', 8);
    const startedAt = limiter.epoch;
    // Eight calls sent together, all refused as too fast: one decrease, not eight.
    for (let i = 0; i < 8; i++) limiter.rateLimited(startedAt);
    expect(limiter.limit).toBe(4);
    limiter.rateLimited(limiter.epoch);
    expect(limiter.limit).toBe(2);
  });

  it('grows back one step at a time, about one per round of `limit` answers', () => {
    const limiter = new ConcurrencyLimiter('a', 8);
    for (let i = 0; i < 3; i++) limiter.rateLimited(limiter.epoch);
    expect(limiter.limit).toBe(1);
    const steps: number[] = [];
    let answers = 0;
    while (limiter.limit < 8 && answers < 1_000) {
      const before = limiter.limit;
      limiter.answered();
      answers++;
      if (limiter.limit !== before) steps.push(limiter.limit - before);
    }
    expect(steps).toEqual([1, 1, 1, 1, 1, 1, 1]);
    // Additive: 1 + 2 + … + 7 = 28 answers from 1 to 8, give or take the rounding; halving took 3 refusals.
    expect(answers).toBeGreaterThanOrEqual(20);
    expect(answers).toBeLessThanOrEqual(32);
  });

  it('a lower maximum lowers the limit at once; a higher one lets it grow to it', () => {
    const limiter = limiterFor('limiter-test-app', 8, true);
    expect(limiterFor('limiter-test-app', 3, true)).toBe(limiter);
    expect(limiter.limit).toBe(3);
    limiterFor('limiter-test-app', 6, true);
    expect(limiter.limit).toBe(3);
    answer(limiter, 20);
    expect(limiter.limit).toBe(6);
  });

  it("TPNS_ADAPTIVE_CONCURRENCY=false: a fixed limit, the request's own", () => {
    const limiter = limiterFor('limiter-test-fixed', 8, false);
    limiter.rateLimited(limiter.epoch);
    expect(limiter.limit).toBe(8);
    expect(limiterFor('limiter-test-fixed', 8, false)).not.toBe(limiter);
    // The container's adaptive limiter for the app is not touched either.
    expect(limiterFor('limiter-test-fixed', 8, true).limit).toBe(8);
  });
});
