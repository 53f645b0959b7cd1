import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../../contract.ts';
import { logger, metrics } from '../../observability.ts';

/** AIMD, as TCP does it: halve the calls in flight when TPNS says "too fast", grow back by one per round of answers. */
export const LIMITER_DEFAULTS = {
  /** On rate limiting (1008028, HTTP 429) the limit is multiplied by this. */
  decrease: 0.5,
  /** On an answered call the limit grows by this divided by itself: one more call in flight after `limit` answers. */
  increase: 1,
} as const;

/**
 * How many of one app's TPNS calls a request lets in flight, learned from how TPNS answers: never
 * above `max` (TPNS_CONCURRENCY), never below 1. Kept per container and AccessId (`limiterFor`),
 * so the next request starts where the last one left off.
 */
export class ConcurrencyLimiter {
  readonly accessId: string;
  /** False (TPNS_ADAPTIVE_CONCURRENCY=false): the limit stays at `max`. */
  private readonly adaptive: boolean;
  private max: number;
  /** Fractional, so the additive increase can be spread over a round of answers; the limit is its floor. */
  private window: number;
  /**
   * Counts the decreases. A call remembers it when it starts: calls that were already in flight when
   * the limit went down were sent at the old rate, and their refusals do not halve it again.
   */
  epoch = 0;

  constructor(accessId: string, max: number, adaptive = true) {
    this.accessId = accessId;
    this.adaptive = adaptive;
    this.max = max;
    this.window = max;
  }

  /** The calls in flight it lets through now. */
  get limit(): number {
    return Math.floor(this.window);
  }

  /** A request configured with another TPNS_CONCURRENCY than the last one sees it here first. */
  capAt(max: number): void {
    if (max === this.max) return;
    this.max = max;
    if (this.window > max) this.change(max, 'TPNS_CONCURRENCY changed');
  }

  /** TPNS answered. On the hot path: does nothing (and allocates nothing) at the maximum. */
  answered(): void {
    if (this.window >= this.max) return;
    const before = this.limit;
    this.window = Math.min(this.max, this.window + LIMITER_DEFAULTS.increase / this.window);
    if (this.limit !== before) this.publish();
  }

  /** TPNS refused a call started at `epoch` as too fast. */
  rateLimited(epoch: number): void {
    if (!this.adaptive || epoch !== this.epoch) return;
    this.epoch++;
    this.change(Math.max(1, this.window * LIMITER_DEFAULTS.decrease), 'TPNS is rate limiting this app');
  }

  private change(window: number, why: string): void {
    const before = this.limit;
    this.window = window;
    if (this.limit === before) return;
    logger.warn('lowered the TPNS calls in flight', { accessId: this.accessId, limit: this.limit, why });
    this.publish();
  }

  private publish(): void {
    metrics.singleMetric().addDimension('app', this.accessId).addMetric(METRICS.concurrencyLimit, MetricUnit.Count, this.limit);
  }
}

const limiters = new Map<string, ConcurrencyLimiter>();

/** The container's limiter for an app, created at `max`; a fixed one of the request's own when not `adaptive`. */
export const limiterFor = (accessId: string, max: number, adaptive: boolean): ConcurrencyLimiter => {
  if (!adaptive) return new ConcurrencyLimiter(accessId, max, false);
  let limiter = limiters.get(accessId);
  if (limiter === undefined) {
    limiter = new ConcurrencyLimiter(accessId, max);
    limiters.set(accessId, limiter);
  } else {
    limiter.capAt(max);
  }
  return limiter;
};
