/**
 * `node:zlib` for the bundles (./lazy.cjs). The AWS SDK's CRC32 checksum module imports it at load and
 * looks for `zlib.crc32` there; only S3's flexible checksums compute one, never the Secrets Manager or
 * EventBridge calls of these handlers. Loading zlib cost ~2.5-5 ms of every cold start. `crc32` is a
 * function here that loads the real module when first called; every other name loads it on first use.
 */
'use strict';

const { lazyBuiltin } = require('./lazy.cjs');

const zlib = () => process.getBuiltinModule('node:zlib');

const NAMES = [
  'crc32',
  'Deflate',
  'Inflate',
  'Gzip',
  'Gunzip',
  'DeflateRaw',
  'InflateRaw',
  'Unzip',
  'BrotliCompress',
  'BrotliDecompress',
  'ZstdCompress',
  'ZstdDecompress',
  'deflate',
  'deflateSync',
  'gzip',
  'gzipSync',
  'deflateRaw',
  'deflateRawSync',
  'unzip',
  'unzipSync',
  'inflate',
  'inflateSync',
  'gunzip',
  'gunzipSync',
  'inflateRaw',
  'inflateRawSync',
  'brotliCompress',
  'brotliCompressSync',
  'brotliDecompress',
  'brotliDecompressSync',
  'zstdCompress',
  'zstdCompressSync',
  'zstdDecompress',
  'zstdDecompressSync',
  'createDeflate',
  'createInflate',
  'createDeflateRaw',
  'createInflateRaw',
  'createGzip',
  'createGunzip',
  'createUnzip',
  'createBrotliCompress',
  'createBrotliDecompress',
  'createZstdCompress',
  'createZstdDecompress',
  'constants',
  'codes',
];

module.exports = lazyBuiltin('node:zlib', NAMES, {
  /** @type {typeof import('node:zlib').crc32} */
  crc32: (data, value) => zlib().crc32(data, value),
});
