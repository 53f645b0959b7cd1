import { describe, expect, it } from 'vitest';
import { BREAKER_DEFAULTS, breakerFor, CircuitBreaker } from '../../functions/core/query/breaker.ts';

/** The breaker's state machine on a clock the test moves: `now` is passed in by every caller. */

const SETTINGS = { failures: 3, cooldownMs: 5_000 };
const T0 = 1_700_000_000_000;

/** A breaker that `failures` outages at T0 have just opened. */
const opened = () => {
  const breaker = new CircuitBreaker('1500001048', SETTINGS);
  for (let i = 0; i < SETTINGS.failures; i++) {
    expect(breaker.admit(T0)).toBe(0);
    breaker.settle(true, T0);
  }
  expect(breaker.state).toBe('open');
  return breaker;
};

describe('closed', () => {
  it('admits every call, and stays closed below the threshold', () => {
    const breaker = new CircuitBreaker('a', SETTINGS);
    breaker.settle(true, T0);
    breaker.settle(true, T0 + 1);
    expect(breaker.state).toBe('closed');
    expect(breaker.admit(T0 + 2)).toBe(0);
  });

  it('opens at the threshold of outages in a row', () => {
    expect(opened().admit(T0)).toBe(SETTINGS.cooldownMs);
  });

  it('an answer in between starts the count again', () => {
    const breaker = new CircuitBreaker('a', SETTINGS);
    breaker.settle(true, T0);
    breaker.settle(true, T0);
    breaker.settle(false, T0);
    breaker.settle(true, T0);
    breaker.settle(true, T0);
    expect(breaker.state).toBe('closed');
    breaker.settle(true, T0);
    expect(breaker.state).toBe('open');
  });

  it('outages spread wider than the window do not open it', () => {
    const breaker = new CircuitBreaker('a', SETTINGS);
    breaker.settle(true, T0);
    breaker.settle(true, T0 + BREAKER_DEFAULTS.windowMs);
    // The first is now older than the window: the count starts again from this one.
    breaker.settle(true, T0 + BREAKER_DEFAULTS.windowMs + 1);
    expect(breaker.state).toBe('closed');
    breaker.settle(true, T0 + BREAKER_DEFAULTS.windowMs + 2);
    breaker.settle(true, T0 + BREAKER_DEFAULTS.windowMs + 3);
    expect(breaker.state).toBe('open');
  });
});

describe('open', () => {
  it('refuses for the rest of the cool-down, saying how long', () => {
    const breaker = opened();
    expect(breaker.admit(T0 + 1_000)).toBe(4_000);
    expect(breaker.admit(T0 + SETTINGS.cooldownMs - 1)).toBe(1);
    expect(breaker.state).toBe('open');
  });

  it('calls sent before it opened do not change it when they come back', () => {
    const breaker = opened();
    breaker.settle(false, T0 + 10);
    breaker.settle(true, T0 + 20);
    expect(breaker.state).toBe('open');
    expect(breaker.admit(T0 + 1_000)).toBe(4_000);
  });
});

describe('half open: one probe after the cool-down', () => {
  it('lets exactly one call through, and refuses the others while it is out', () => {
    const breaker = opened();
    expect(breaker.admit(T0 + SETTINGS.cooldownMs)).toBe(0);
    expect(breaker.state).toBe('half_open');
    expect(breaker.admit(T0 + SETTINGS.cooldownMs)).toBe(BREAKER_DEFAULTS.probeRetryAfterMs);
    expect(breaker.admit(T0 + SETTINGS.cooldownMs + 60_000)).toBe(BREAKER_DEFAULTS.probeRetryAfterMs);
  });

  it('an answered probe closes it', () => {
    const breaker = opened();
    breaker.admit(T0 + SETTINGS.cooldownMs);
    breaker.settle(false, T0 + SETTINGS.cooldownMs + 30);
    expect(breaker.state).toBe('closed');
    expect(breaker.admit(T0 + SETTINGS.cooldownMs + 31)).toBe(0);
    expect(breaker.admit(T0 + SETTINGS.cooldownMs + 31)).toBe(0);
    // Closed afresh: it takes the whole threshold again to open it.
    breaker.settle(true, T0 + SETTINGS.cooldownMs + 40);
    breaker.settle(true, T0 + SETTINGS.cooldownMs + 40);
    expect(breaker.state).toBe('closed');
  });

  it('a failed probe opens it again for a whole cool-down', () => {
    const breaker = opened();
    const probeAt = T0 + SETTINGS.cooldownMs;
    breaker.admit(probeAt);
    breaker.settle(true, probeAt + 100);
    expect(breaker.state).toBe('open');
    expect(breaker.admit(probeAt + 100)).toBe(SETTINGS.cooldownMs);
    expect(breaker.admit(probeAt + 100 + SETTINGS.cooldownMs)).toBe(0);
    expect(breaker.state).toBe('half_open');
  });
});

describe('breakerFor: one per AccessId in the container', () => {
  it('hands back the same breaker for the same AccessId, with the latest settings', () => {
    const first = breakerFor('breaker-test-app', SETTINGS);
    const again = breakerFor('breaker-test-app', { failures: 7, cooldownMs: 100 });
    expect(again).toBe(first);
    expect(again.settings).toEqual({ failures: 7, cooldownMs: 100 });
    expect(breakerFor('breaker-test-other', SETTINGS)).not.toBe(first);
  });
});
