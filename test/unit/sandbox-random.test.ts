import { afterEach, describe, expect, it } from 'vitest';
import { randomSource } from '../../local/sandbox/random.ts';
import { type Fault, type SandboxKnobs, startTpnsSandbox, type TpnsSandbox } from '../../local/sandbox/tpns.ts';

const CALLS = 40;
/** Faults that still answer, so calls can go one after another; unsigned calls that draw none are refused 1008003. */
const KINDS: Fault[] = ['http503', 'http429', 'rate_limited', 'internal'];

const started: TpnsSandbox[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((sandbox) => sandbox.close()));
});

const sandboxWith = async (knobs: Partial<SandboxKnobs>): Promise<TpnsSandbox> => {
  const sandbox = await startTpnsSandbox({ knobs: { faultRate: 0.5, faultKinds: KINDS, ...knobs } });
  started.push(sandbox);
  return sandbox;
};

/** The outcome of CALLS calls made one after another, in order. */
const outcomesOf = async (sandbox: TpnsSandbox): Promise<string[]> => {
  sandbox.resetStats();
  for (let i = 0; i < CALLS; i++) {
    const response = await fetch(`${sandbox.url}/v3/device/account/query`, { method: 'POST', body: '{}' });
    await response.arrayBuffer();
  }
  return sandbox.stats.outcomes;
};

describe('randomSource', () => {
  const draws = (source: () => number) => Array.from({ length: 100 }, source);

  it('a seed gives the same numbers in [0, 1) every time; another seed other numbers', () => {
    const first = draws(randomSource(42));
    expect(draws(randomSource(42))).toEqual(first);
    expect(draws(randomSource(43))).not.toEqual(first);
    expect(first.every((n) => n >= 0 && n < 1)).toBe(true);
    expect(new Set(first).size).toBe(first.length);
  });

  it('no seed: Math.random', () => {
    expect(randomSource(null)).toBe(Math.random);
  });
});

describe('a seeded sandbox', () => {
  it('the same seed gives the same faults to the same calls; another seed other faults', async () => {
    const [a, b, c] = await Promise.all([sandboxWith({ seed: 7 }), sandboxWith({ seed: 7 }), sandboxWith({ seed: 8 })]);
    const first = await outcomesOf(a);
    // Both some faults and some calls let through, of several kinds: a sequence that could tell seeds apart.
    expect(first).toContain('1008003');
    expect(new Set(first).size).toBeGreaterThan(2);
    expect(await outcomesOf(b)).toEqual(first);
    expect(await outcomesOf(c)).not.toEqual(first);
  });

  it('setting the seed knob restarts the sequence, on a running sandbox as at start', async () => {
    const sandbox = await sandboxWith({ seed: 7 });
    const first = await outcomesOf(sandbox);
    expect(await outcomesOf(sandbox)).not.toEqual(first);
    sandbox.configure({ seed: 7 });
    expect(await outcomesOf(sandbox)).toEqual(first);
  });

  it('the seed knob over HTTP: set, shown, and back to Math.random with null', async () => {
    const sandbox = await sandboxWith({});
    const knobs = (body?: unknown) =>
      fetch(`${sandbox.url}/_sandbox/knobs`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) }).then((r) =>
        r.json(),
      );
    expect(await knobs()).toMatchObject({ seed: null });
    expect(await knobs({ seed: 7 })).toMatchObject({ seed: 7 });
    const seeded = await outcomesOf(sandbox);
    await knobs({ seed: 7 });
    expect(await outcomesOf(sandbox)).toEqual(seeded);
    expect(await knobs({ seed: null })).toMatchObject({ seed: null });
    expect(await knobs({ seed: -1 })).toMatchObject({ error: expect.stringMatching(/"seed" must be an integer from 0/) });
  });
});
