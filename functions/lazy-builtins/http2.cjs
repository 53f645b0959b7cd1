/**
 * `node:http2` for the bundles (./lazy.cjs). undici's HTTP/2 client module requires it at load and
 * destructures ten constants; it calls `connect` only for an origin that negotiates h2, which the TPNS
 * Agent never allows. Node's http2 is not in its startup snapshot: ~7-15 ms of every cold start. The
 * constants undici reads are plain values here (the test checks them against Node's); any other
 * constant, and every function, loads the real module on first use.
 */
'use strict';

const { lazyBuiltin } = require('./lazy.cjs');

const EAGER_CONSTANTS = {
  HTTP2_HEADER_AUTHORITY: ':authority',
  HTTP2_HEADER_METHOD: ':method',
  HTTP2_HEADER_PATH: ':path',
  HTTP2_HEADER_SCHEME: ':scheme',
  HTTP2_HEADER_CONTENT_LENGTH: 'content-length',
  HTTP2_HEADER_EXPECT: 'expect',
  HTTP2_HEADER_STATUS: ':status',
  HTTP2_HEADER_PROTOCOL: ':protocol',
  NGHTTP2_REFUSED_STREAM: 7,
  NGHTTP2_CANCEL: 8,
};

const constants = new Proxy(EAGER_CONSTANTS, {
  get: (eager, name) => (Object.hasOwn(eager, name) ? eager[name] : process.getBuiltinModule('node:http2').constants[name]),
});

const NAMES = [
  'connect',
  'constants',
  'createServer',
  'createSecureServer',
  'getDefaultSettings',
  'getPackedSettings',
  'getUnpackedSettings',
  'performServerHandshake',
  'sensitiveHeaders',
  'Http2ServerRequest',
  'Http2ServerResponse',
];

module.exports = lazyBuiltin('node:http2', NAMES, { constants });
