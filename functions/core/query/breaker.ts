import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../../contract.ts';
import { logger, metrics } from '../../observability.ts';

export const BREAKER_DEFAULTS = {
  /** The failures that open it (TPNS_BREAKER_FAILURES) must come this close together: older ones are forgotten. */
  windowMs: 10_000,
  /** Retry-After while the one probe call is out: it ends within a call's timeout, usually far sooner. */
  probeRetryAfterMs: 1_000,
} as const;

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerSettings {
  /** Failed calls in a row, within `windowMs`, that open it (TPNS_BREAKER_FAILURES). */
  failures: number;
  /** How long it stays open before one probe may go (TPNS_BREAKER_COOLDOWN_MS). */
  cooldownMs: number;
}

/**
 * A circuit breaker for one app's TPNS calls, per container (`breakerFor`): `failures` outages in a
 * row (FAILURES[kind].outage: unreachable, 5xx, timed out) within `windowMs` open it; while open, no
 * call goes out for `cooldownMs`; then one probe goes (half open): an answer closes it, another
 * failure opens it again. Any answer from TPNS counts as TPNS being there, a refusal or "too fast"
 * included: rate limiting is the limiter's business (limiter.ts). Times are epoch ms on the caller's clock.
 */
export class CircuitBreaker {
  readonly accessId: string;
  settings: BreakerSettings;
  state: BreakerState = 'closed';
  private failures = 0;
  private firstFailureAt = 0;
  private openedAt = 0;
  private probing = false;

  constructor(accessId: string, settings: BreakerSettings) {
    this.accessId = accessId;
    this.settings = settings;
  }

  /** 0 when a call may go now (then it must be `settle`d); otherwise how many ms to wait before asking again. */
  admit(now: number): number {
    if (this.state === 'closed') return 0;
    if (this.state === 'open') {
      const left = this.openedAt + this.settings.cooldownMs - now;
      if (left > 0) return left;
      this.moveTo('half_open');
    } else if (this.probing) {
      return BREAKER_DEFAULTS.probeRetryAfterMs;
    }
    this.probing = true;
    return 0;
  }

  /** An admitted call ended: `outage` when TPNS was not there to answer it. */
  settle(outage: boolean, now: number): void {
    if (this.state === 'closed') {
      if (!outage) this.failures = 0;
      else if (this.failures === 0 || now - this.firstFailureAt > BREAKER_DEFAULTS.windowMs) {
        this.failures = 1;
        this.firstFailureAt = now;
      } else this.failures++;
      if (this.failures >= this.settings.failures) this.open(now);
    } else if (this.state === 'half_open') {
      // The probe's result, or that of a call sent before the breaker opened: either says how TPNS is now.
      this.probing = false;
      if (outage) this.open(now);
      else {
        this.failures = 0;
        this.moveTo('closed');
      }
    }
    // Open: calls sent before it opened are still coming back; the cool-down stands.
  }

  private open(now: number): void {
    this.openedAt = now;
    this.probing = false;
    this.moveTo('open');
  }

  private moveTo(state: BreakerState): void {
    this.state = state;
    const log = state === 'open' ? logger.warn : logger.info;
    log.call(logger, `TPNS circuit breaker ${state}`, { accessId: this.accessId, cooldownMs: this.settings.cooldownMs });
    metrics
      .singleMetric()
      .addDimension('app', this.accessId)
      .addDimension('state', state)
      .addMetric(METRICS.breakerTransitions, MetricUnit.Count, 1);
  }
}

const breakers = new Map<string, CircuitBreaker>();

/** The container's breaker for an app; `settings` are the request's configuration. */
export const breakerFor = (accessId: string, settings: BreakerSettings): CircuitBreaker => {
  let breaker = breakers.get(accessId);
  if (breaker === undefined) {
    breaker = new CircuitBreaker(accessId, settings);
    breakers.set(accessId, breaker);
  } else breaker.settings = settings;
  return breaker;
};
