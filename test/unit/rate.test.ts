import { describe, expect, it } from 'vitest';
import type { Clock } from '../../functions/core/clock.ts';
import { CallRate } from '../../functions/core/query/rate.ts';

/** A clock that only moves when told to; sleepers wake in order of their wake time. */
const manualClock = () => {
  let now = 1_000_000;
  const sleepers: { until: number; wake: () => void }[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: (ms) =>
      new Promise<void>((wake) => {
        sleepers.push({ until: now + ms, wake });
      }),
    random: () => 0,
  };
  /** Moves to the next wake-up and wakes whoever is due. */
  const advance = async (): Promise<boolean> => {
    await new Promise((resolve) => setImmediate(resolve));
    if (sleepers.length === 0) return false;
    sleepers.sort((a, b) => a.until - b.until);
    const due = (sleepers[0] as (typeof sleepers)[0]).until;
    now = Math.max(now, due);
    for (const sleeper of sleepers.splice(0, sleepers.filter((s) => s.until <= now).length)) sleeper.wake();
    return true;
  };
  return { clock, advance, at: () => now };
};

describe('CallRate', () => {
  it('spaces calls from many callers at 1000/rate ms: no second holds more than `rate` calls', async () => {
    const { clock, advance, at } = manualClock();
    const rate = new CallRate(20, clock);
    const starts: number[] = [];
    const caller = async (calls: number) => {
      for (let i = 0; i < calls; i++) {
        await rate.take();
        starts.push(at());
      }
    };
    const all = Promise.all(Array.from({ length: 8 }, () => caller(10)));
    while (await advance());
    await all;
    expect(rate.calls).toBe(80);
    starts.sort((a, b) => a - b);
    const first = starts[0] as number;
    expect(starts).toEqual(Array.from({ length: 80 }, (_, i) => first + i * 50));
    for (const start of starts) expect(starts.filter((s) => s >= start && s < start + 1000).length).toBeLessThanOrEqual(20);
  });

  it('saves nothing up while idle: after a pause, calls are spaced again at once', async () => {
    const { clock, advance, at } = manualClock();
    const rate = new CallRate(10, clock);
    await rate.take();
    const paused = at();
    clock.sleep(5_000);
    await advance();
    expect(at()).toBe(paused + 5_000);
    const starts: number[] = [];
    const both = Promise.all(
      [1, 2, 3].map(async () => {
        await rate.take();
        starts.push(at());
      }),
    );
    while (await advance());
    await both;
    expect(starts).toEqual([paused + 5_000, paused + 5_100, paused + 5_200]);
  });

  it('without a rate, only counts', async () => {
    const { clock } = manualClock();
    const rate = new CallRate(undefined, clock);
    await Promise.all([rate.take(), rate.take(), rate.take()]);
    expect(rate.calls).toBe(3);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses a rate of %s', (perSecond) => {
    expect(() => new CallRate(perSecond, manualClock().clock)).toThrow(/positive number of calls per second/);
  });
});
