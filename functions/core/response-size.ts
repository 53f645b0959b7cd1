import { LAMBDA_RESPONSE_LIMIT_BYTES } from '../contract.ts';
import { ProblemError } from './problems.ts';

/** The largest serialized result this handler returns: Lambda's limit, less a little for the runtime's framing. */
export const MAX_RESPONSE_BYTES = LAMBDA_RESPONSE_LIMIT_BYTES - 4_096;
/**
 * The body is JSON text: a UTF-16 unit of it is at most 3 bytes of UTF-8 (a non-ASCII character; a
 * surrogate pair is 4 bytes for 2 units), and escaping it once more only doubles `"` and `\`, 1 byte
 * each. So a unit costs at most 3 bytes, and a body this short always fits, unmeasured.
 */
export const MAX_ESCAPED_BYTES_PER_UNIT = 3;
const UNMEASURED_BODY_CHARS = Math.floor((MAX_RESPONSE_BYTES - 4_096) / MAX_ESCAPED_BYTES_PER_UNIT);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The size Lambda would measure (the result serialized, the body a JSON string in it) when it is over
 * the limit. Measured without serializing the body again (issue 11: that was a tenth of a 10,000-item
 * query's CPU): the body is JSON text, so it holds no raw control character, and escaping it once more
 * adds one byte per `"` and per `\`, nothing else. Every byte at most doubles: a body under half the
 * room is not even counted.
 */
export const oversize = (result: { body: string }): number | undefined => {
  const { body } = result;
  // Most answers: nothing to measure, nothing serialized (the per-request path).
  if (body.length <= UNMEASURED_BODY_CHARS) return undefined;
  const framing = Buffer.byteLength(JSON.stringify({ ...result, body: '' }));
  const bodyBytes = Buffer.byteLength(body);
  if (framing + 2 * bodyBytes <= MAX_RESPONSE_BYTES) return undefined;
  let escapes = 0;
  for (let i = 0; i < body.length; i++) {
    const unit = body.charCodeAt(i);
    if (unit === QUOTE || unit === BACKSLASH) escapes++;
  }
  const size = framing + bodyBytes + escapes;
  return size > MAX_RESPONSE_BYTES ? size : undefined;
};

/** The 413 for an answer of `items` items that is `bytes` (or, before it is built, `at least` that) as a Lambda response. */
export const answerTooLarge = (items: number, bytes: number, bound: 'exactly' | 'at least'): ProblemError =>
  new ProblemError(
    413,
    'response-too-large',
    'Answer too large',
    `the answer for these ${items} items is ${bound === 'at least' ? 'at least ' : ''}${(bytes / 1e6).toFixed(1)} MB as a Lambda response, over the ${(MAX_RESPONSE_BYTES / 1e6).toFixed(1)} MB it can carry; split the request, or use the EventBridge query, which delivers answers of any size in parts`,
  );
