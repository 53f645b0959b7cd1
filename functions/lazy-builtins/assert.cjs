/**
 * `node:assert` for the bundles (./lazy.cjs). undici calls `assert(value)` for its internal invariants,
 * on every request, and nothing else of the module; loading node:assert (its diff and colour helpers
 * come along) cost ~5 ms of every cold start. A true value costs nothing here; a false one is handed to
 * the real `assert`, which throws its AssertionError. Every other name loads the real module on first use.
 */
'use strict';

const { lazyBuiltin } = require('./lazy.cjs');

/**
 * @param {unknown} value
 * @param {string | Error} [message]
 */
function assert(value, message) {
  if (!value) process.getBuiltinModule('node:assert')(value, message);
}

const NAMES = [
  'AssertionError',
  'CallTracker',
  'ok',
  'fail',
  'equal',
  'notEqual',
  'deepEqual',
  'notDeepEqual',
  'deepStrictEqual',
  'notDeepStrictEqual',
  'strictEqual',
  'notStrictEqual',
  'partialDeepStrictEqual',
  'match',
  'doesNotMatch',
  'throws',
  'rejects',
  'doesNotThrow',
  'doesNotReject',
  'ifError',
  'strict',
  'Assert',
];

module.exports = lazyBuiltin('node:assert', NAMES, assert);
