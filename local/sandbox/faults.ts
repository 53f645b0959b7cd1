import { TPNS_CODE } from '../../functions/core/tpns/codes.ts';
import { type Reply, refusal } from './answers.ts';

/**
 * How a call can go wrong: HTTP 503 / 429, retCode 1008028 (`rate_limited`) or 1008004
 * (`internal`), a dropped connection, no answer at all, or any other whole-call retCode.
 */
export type Fault = 'http503' | 'http429' | 'rate_limited' | 'internal' | 'reset' | 'hang' | number;

const NAMED_FAULTS: readonly Fault[] = ['http503', 'http429', 'rate_limited', 'internal', 'reset', 'hang'];

export const isFault = (value: unknown): value is Fault =>
  NAMED_FAULTS.includes(value as Fault) || (typeof value === 'number' && Number.isSafeInteger(value) && value !== TPNS_CODE.OK);

export const parseFaults = (value: unknown, name: string): Fault[] => {
  if (!Array.isArray(value) || !value.every(isFault)) {
    throw new Error(`"${name}" must be an array of ${NAMED_FAULTS.join(', ')} or non-zero TPNS retCodes`);
  }
  return value;
};

/** What a call that drew `fault` gets: a reply, or for `reset` and `hang` none at all. */
export const faultReply = (fault: Fault): Reply | 'reset' | 'hang' => {
  if (typeof fault === 'number') return refusal(fault, 'injected fault');
  switch (fault) {
    case 'http503':
      return { status: 503, payload: { message: 'Service Unavailable' }, outcome: 'http503' };
    case 'http429':
      return { status: 429, payload: { message: 'Too Many Requests' }, outcome: 'http429' };
    case 'rate_limited':
      return refusal(TPNS_CODE.RATE_LIMITED, 'request too fast');
    case 'internal':
      return refusal(TPNS_CODE.INTERNAL_ERROR, 'internal error');
    default:
      return fault;
  }
};
