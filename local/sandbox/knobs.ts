import type { ResponseShape } from './answers.ts';
import { type Fault, isFault, parseFaults } from './faults.ts';

export interface SandboxKnobs {
  /** `new`: account_type/timestamp, sibling list null, errMsg NO_ERROR. `old`: neither, sibling omitted, "ok". */
  shape: ResponseShape;
  latencyMs: number;
  /** Up to this much more per call, uniformly: answers to concurrent calls come back spread out. */
  latencyJitterMs: number;
  /** Share of calls (0..1) answered with a random one of `faultKinds`. */
  faultRate: number;
  faultKinds: Fault[];
  /** Items per call above which TPNS answers 1008007. */
  maxItemsPerCall: number;
  /** Calls being answered at once above which a call arriving is refused at once with 1008028, as TPNS limits an app's rate. */
  maxConcurrentCalls: number;
  /** A call listing one of these accounts or tokens gets that fault, every time (e.g. 1008007 for an id TPNS refuses). */
  faultsByItem: Record<string, Fault>;
  /** A call made with one of these AccessIds gets that fault, every time (e.g. 1008031: that app suspended, the others fine). */
  faultsByApp: Record<string, Fault>;
  /**
   * Setting it restarts every random choice (which calls fault, and with what; the latency jitter)
   * from this seed, so a test sees the same sequence each run. null: Math.random.
   */
  seed: number | null;
}

export const SANDBOX_DEFAULTS: SandboxKnobs = {
  shape: 'new',
  latencyMs: 0,
  latencyJitterMs: 0,
  faultRate: 0,
  faultKinds: ['http503', 'rate_limited', 'internal', 'reset'],
  maxItemsPerCall: Number.POSITIVE_INFINITY,
  maxConcurrentCalls: Number.POSITIVE_INFINITY,
  faultsByItem: {},
  faultsByApp: {},
  seed: null,
};

/** mulberry32 takes 32 bits: a larger seed would silently repeat a smaller one's sequence. */
const MAX_SEED = 0xffff_ffff;

const unlimitedAsNull = (limit: number) => (limit === Number.POSITIVE_INFINITY ? null : limit);

/** JSON has no Infinity: an unlimited maxItemsPerCall or maxConcurrentCalls travels as null. */
export const knobsAsJson = (knobs: SandboxKnobs) => ({
  ...knobs,
  maxItemsPerCall: unlimitedAsNull(knobs.maxItemsPerCall),
  maxConcurrentCalls: unlimitedAsNull(knobs.maxConcurrentCalls),
});

/** A knobs change as sent over HTTP, checked field by field so a typo is an error, not a silent no-op. */
export const parseKnobs = (input: unknown): Partial<SandboxKnobs> => {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new Error('send a JSON object of knobs');
  const knobs: Partial<SandboxKnobs> = {};
  for (const [name, value] of Object.entries(input)) {
    const fail = (expected: string) => new Error(`"${name}" must be ${expected}`);
    switch (name) {
      case 'shape':
        if (value !== 'new' && value !== 'old') throw fail('"new" or "old"');
        knobs.shape = value;
        break;
      case 'latencyMs':
      case 'latencyJitterMs':
        if (typeof value !== 'number' || !(value >= 0)) throw fail('a number of milliseconds >= 0');
        knobs[name] = value;
        break;
      case 'faultRate':
        if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw fail('a number from 0 to 1');
        knobs.faultRate = value;
        break;
      case 'faultKinds':
        knobs.faultKinds = parseFaults(value, name);
        break;
      case 'maxItemsPerCall':
        if (value !== null && (typeof value !== 'number' || !Number.isInteger(value) || value < 0))
          throw fail('an integer >= 0, or null for no limit');
        knobs.maxItemsPerCall = value ?? Number.POSITIVE_INFINITY;
        break;
      case 'maxConcurrentCalls':
        if (value !== null && (typeof value !== 'number' || !Number.isInteger(value) || value < 1))
          throw fail('an integer >= 1, or null for no limit');
        knobs.maxConcurrentCalls = value ?? Number.POSITIVE_INFINITY;
        break;
      case 'faultsByItem':
      case 'faultsByApp':
        if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every(isFault)) {
          throw fail(`an object of ${name === 'faultsByItem' ? 'account or token' : 'AccessId'} → fault`);
        }
        knobs[name] = value as Record<string, Fault>;
        break;
      case 'seed':
        if (value !== null && !(Number.isInteger(value) && value >= 0 && value <= MAX_SEED)) {
          throw fail(`an integer from 0 to ${MAX_SEED}, or null for Math.random`);
        }
        knobs.seed = value;
        break;
      default:
        throw new Error(`unknown knob "${name}"; knobs: ${Object.keys(SANDBOX_DEFAULTS).join(', ')}`);
    }
  }
  return knobs;
};

/** The fault an item of the call always gets (faultsByItem); the body is parsed only when that knob is set. */
const itemFault = (faultsByItem: Record<string, Fault>, body: string): Fault | undefined => {
  if (Object.keys(faultsByItem).length === 0) return undefined;
  let request: { account_list?: unknown; token_list?: unknown };
  try {
    request = JSON.parse(body);
  } catch {
    return undefined;
  }
  const list = Array.isArray(request?.account_list) ? request.account_list : Array.isArray(request?.token_list) ? request.token_list : [];
  for (const entry of list as unknown[]) {
    const id = typeof entry === 'string' ? entry : (entry as { account?: unknown } | null)?.account;
    if (typeof id === 'string' && Object.hasOwn(faultsByItem, id)) return faultsByItem[id];
  }
  return undefined;
};

/**
 * The fault the next call gets, if any: injected ones first, in order (taken off `queued`); then
 * one its app always gets; then one an item of the call always gets; then, at `faultRate`, a
 * `random` one of `faultKinds`.
 */
export const pickFault = (
  knobs: SandboxKnobs,
  queued: Fault[],
  { accessId, body }: { accessId: string | undefined; body: string },
  random: () => number,
): Fault | undefined => {
  if (queued.length) return queued.shift();
  if (accessId !== undefined && Object.hasOwn(knobs.faultsByApp, accessId)) return knobs.faultsByApp[accessId];
  const byItem = itemFault(knobs.faultsByItem, body);
  if (byItem !== undefined) return byItem;
  if (knobs.faultRate > 0 && random() < knobs.faultRate) {
    return knobs.faultKinds[Math.floor(random() * knobs.faultKinds.length)];
  }
  return undefined;
};
