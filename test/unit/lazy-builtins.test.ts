/**
 * The stand-ins the bundles get for rarely used Node built-ins (functions/lazy-builtins, aliased by
 * infra/bundling.ts: LAZY_BUILTINS): the same names as the real module, the same values once used.
 * test/infra/bundling.test.ts checks that a bundle no longer loads the real ones at start.
 */
import realAssert, { AssertionError } from 'node:assert';
import * as realHttp2 from 'node:http2';
import { createRequire } from 'node:module';
import * as realZlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LAZY_BUILTINS } from '../../infra/bundling.ts';

const require = createRequire(import.meta.url);
const shimOf = (builtin: string) => require(LAZY_BUILTINS[builtin]!);
const namesOf = (module: object) => Object.keys(module).sort();

describe.each([
  ['node:http2', realHttp2],
  ['node:assert', realAssert],
  ['node:zlib', realZlib],
] as const)('%s', (builtin, real) => {
  it('offers every name the real module exports, each its value', () => {
    const shim = shimOf(builtin);
    expect(namesOf(shim)).toEqual(namesOf(real).filter((name) => name !== 'default'));
    const wrapped = new Set(['constants', 'crc32']); // checked below
    for (const name of namesOf(shim)) if (!wrapped.has(name)) expect(shim[name], name).toBe((real as Record<string, unknown>)[name]);
  });
});

describe('node:http2', () => {
  it("has undici's constants as Node defines them, and any other constant through Node", () => {
    const { constants } = shimOf('node:http2');
    expect(Object.keys(constants).length).toBeGreaterThanOrEqual(10);
    for (const name of Object.keys(constants)) expect(constants[name], name).toBe((realHttp2.constants as Record<string, unknown>)[name]);
    expect(constants.HTTP2_HEADER_CONTENT_TYPE).toBe(realHttp2.constants.HTTP2_HEADER_CONTENT_TYPE);
  });
});

describe('node:assert', () => {
  const assert = shimOf('node:assert');

  it('passes a true value and throws the real AssertionError for a false one', () => {
    expect(() => assert(1)).not.toThrow();
    expect(() => assert(0, 'the invariant')).toThrow(AssertionError);
    expect(() => assert(false, 'the invariant')).toThrow('the invariant');
    expect(() => assert.strictEqual(1, 2)).toThrow(AssertionError);
  });
});

describe('node:zlib', () => {
  it("computes Node's CRC32", () => {
    const { crc32 } = shimOf('node:zlib');
    expect(crc32('tpns')).toBe(realZlib.crc32('tpns'));
    expect(crc32(Buffer.from('bindings'), 7)).toBe(realZlib.crc32(Buffer.from('bindings'), 7));
  });
});
