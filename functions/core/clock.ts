import { setTimeout } from 'node:timers/promises';

/** Time as a query run sees it: tests hand it a clock they advance themselves, so no test races the wall clock. */
export interface Clock {
  /** Epoch ms. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Uniform in [0, 1): the backoff's jitter. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms) => {
    await setTimeout(ms);
  },
  random: () => Math.random(),
};
