/**
 * `node:stream/web` for the bundles (./lazy.cjs). @middy/core imports `ReadableStream` for streamed
 * responses only (`streamifyResponse`, which these handlers do not use); Node's web streams cost ~5 ms
 * of every cold start. Every name loads the real module on first use.
 */
'use strict';

const { lazyBuiltin } = require('./lazy.cjs');

const NAMES = [
  'ReadableStream',
  'ReadableStreamTee',
  'ReadableStreamDefaultReader',
  'ReadableStreamBYOBReader',
  'ReadableStreamBYOBRequest',
  'ReadableByteStreamController',
  'ReadableStreamDefaultController',
  'TransformStream',
  'TransformStreamDefaultController',
  'WritableStream',
  'WritableStreamDefaultWriter',
  'WritableStreamDefaultController',
  'ByteLengthQueuingStrategy',
  'CountQueuingStrategy',
  'TextEncoderStream',
  'TextDecoderStream',
  'CompressionStream',
  'DecompressionStream',
];

module.exports = lazyBuiltin('node:stream/web', NAMES, {});
