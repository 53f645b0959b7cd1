import type { Clock } from '../clock.ts';

/**
 * Counts the TPNS calls a bulk export starts and, given a rate, spaces them to at most `perSecond`:
 * each call takes the next free slot, `1000 / perSecond` ms after the one before (a token bucket
 * holding one token, on the injected clock). Slots come from the schedule, not from when a sleeper
 * woke, so late timers never let calls bunch up; nothing is saved up while idle, so no second ever
 * sees more than `perSecond` calls. Shared by every query of an export, whatever their concurrency.
 */
export class CallRate {
  /** Calls started so far, retries included: what TPNS saw. */
  calls = 0;
  private readonly intervalMs: number | undefined;
  private readonly clock: Clock;
  private nextSlot = Number.NEGATIVE_INFINITY;

  /** `perSecond` undefined: calls are only counted. */
  constructor(perSecond: number | undefined, clock: Clock) {
    if (perSecond !== undefined && !(Number.isFinite(perSecond) && perSecond > 0)) {
      throw new RangeError(`a call rate must be a positive number of calls per second, not ${perSecond}`);
    }
    this.intervalMs = perSecond === undefined ? undefined : 1000 / perSecond;
    this.clock = clock;
  }

  /** Resolves when the next call may start. */
  async take(): Promise<void> {
    this.calls++;
    if (this.intervalMs === undefined) return;
    const now = this.clock.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.intervalMs;
    if (slot > now) await this.clock.sleep(slot - now);
  }
}
