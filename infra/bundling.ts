/**
 * How the Lambda handlers are bundled — one source of truth for two consumers:
 *
 *  - `nodejsFunctionBundling`: the `bundling` props of the CDK `NodejsFunction`s
 *    (infra/parts/function.ts). CDK runs the project's own esbuild (a direct
 *    devDependency), never Docker.
 *  - `esbuildBuildOptions`: the same settings for the esbuild JS API, so a
 *    benchmark or a local tool can produce byte-for-byte the bundle that is
 *    deployed: `await build({ ...esbuildBuildOptions, entryPoints: [entry], outfile })`.
 *
 * test/infra/bundling.test.ts checks that both produce identical output.
 */

import { fileURLToPath } from 'node:url';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** esbuild target; matches the Lambda runtime (nodejs24.x). */
export const BUNDLE_TARGET = 'node24';

/**
 * CommonJS output (index.js). Measured (issue 11): an ES module that imports `node:http` makes Node
 * build a module facade whose getters load Node's internal undici, about 40 ms of every cold start;
 * bundled as CommonJS, the same built-ins are `require`d for a few ms. The ESM-only packages
 * (@middy/*, Powertools) bundle into CommonJS as well: none of the bundled code uses top-level
 * `await` or `import.meta`, which CommonJS has not (esbuild would fail or warn).
 */
export const BUNDLE_FORMAT = 'cjs';

/**
 * Dynamic `import()` compiled to `require()`. The AWS SDK's HTTP handler loads `node:http` with
 * `await import('node:http')` when it first calls an http:// endpoint (the local stand-ins, a VPC
 * endpoint without TLS): an ES import of a built-in again, the same ~40 ms facade as above, paid on
 * the first request. esbuild turns the import into a `require` when told the target lacks `import()`.
 */
export const UNSUPPORTED_FEATURES = { 'dynamic-import': false } as const;

/**
 * Prefer the ESM build of packages that ship both (`module` before `main`):
 * better tree shaking and fewer CommonJS wrappers. Packages with an `exports`
 * map are resolved through it (the `import` condition) regardless.
 */
export const MAIN_FIELDS = ['module', 'main'];

/**
 * One of undici's two llhttp WebAssembly builds, left out of the bundle (issue 11). undici carries
 * both as base64 modules (72 KB each): it tries `require('../llhttp/llhttp_simd-wasm.js')` inside a
 * try/catch and falls back to `require('../llhttp/llhttp-wasm.js')`. Kept external, the SIMD build's
 * require finds no file next to the bundle, the catch takes it, and the plain build (bundled) is the
 * one compiled: the behaviour of a CPU without WebAssembly SIMD, on every machine. The other way round
 * (SIMD bundled, the fallback external) would fail outright where SIMD is missing. A path pattern, not
 * a plugin: CDK's NodejsFunction runs the esbuild CLI, which takes no plugins, and `--external` with a
 * `*` keeps the import path as written, so both builds stay byte-identical.
 */
export const UNDICI_SIMD_LLHTTP = '*/llhttp_simd-wasm.js';

/**
 * Node built-ins that bundled packages import at load but this service uses rarely or never, each
 * aliased to a module of functions/lazy-builtins/ that loads the real one on first use (issue 11,
 * measured: about 3 % of a cold start's main-thread instructions together): `node:http2` (undici's
 * HTTP/2 client, never negotiated), `node:assert` (undici's invariants: `assert(value)` on every
 * request, the module only on a failure), `node:zlib` (the SDK's CRC32 checksums, which only S3
 * computes). None of them is loaded by the first request either. Not `node:stream/web` (@middy/core
 * imports it for streamed responses): the SDK's first call reads the global `ReadableStream`, which
 * loads most of the web streams anyway; aliased, it saved nothing measurable. Absolute paths: the CDK
 * build and the esbuild API build resolve them alike.
 */
export const LAZY_BUILTINS: Record<string, string> = {
  'node:http2': here('../functions/lazy-builtins/http2.cjs'),
  'node:assert': here('../functions/lazy-builtins/assert.cjs'),
  'node:zlib': here('../functions/lazy-builtins/zlib.cjs'),
};

/**
 * Nothing else is external: the AWS SDK v3 is bundled too (`bundleAwsSDK`), so the
 * deployed code runs the SDK version pinned in package.json and tested here,
 * not whatever version the Lambda runtime happens to ship, and only the used
 * commands end up in the bundle.
 */
export const EXTERNAL_MODULES: string[] = [UNDICI_SIMD_LLHTTP];

/** Props for `NodejsFunction({ bundling })`. */
export const nodejsFunctionBundling: BundlingOptions = {
  format: OutputFormat.CJS, // handler file is index.js
  target: BUNDLE_TARGET,
  minify: true,
  // Source maps ship with the bundle so minified stack traces can be mapped (live with the
  // construct's sourceMapStackTraces prop, or after the fact). Mappings only: the original
  // sources are not embedded, which keeps the asset small.
  sourceMap: true,
  sourcesContent: false,
  mainFields: MAIN_FIELDS,
  bundleAwsSDK: true,
  externalModules: EXTERNAL_MODULES,
  esbuildArgs: {
    ...Object.fromEntries(Object.entries(UNSUPPORTED_FEATURES).map(([feature, on]) => [`--supported:${feature}`, String(on)])),
    // CDK writes each entry as --alias:<built-in>=<path>.
    '--alias': Object.entries(LAZY_BUILTINS).map(([builtin, path]) => `${builtin}=${path}`),
  },
  // Never fall back to Docker (there is none on build machines); bundling
  // uses the esbuild from node_modules.
  forceDockerBundling: false,
};

/**
 * The same bundle through the esbuild API. Mirrors the CLI arguments CDK passes
 * for `nodejsFunctionBundling` (`--bundle --platform=node --format=cjs
 * --target=node24 --minify --sourcemap --sources-content=false
 * --main-fields=module,main --supported:dynamic-import=false`, and `--alias:` per LAZY_BUILTINS). Add `entryPoints` and `outfile` (name it
 * `index.js` to match the deployed file, in a folder with no package.json of
 * `"type": "module"` above it, or `index.cjs`).
 */
export const esbuildBuildOptions = {
  bundle: true,
  platform: 'node',
  format: BUNDLE_FORMAT,
  target: BUNDLE_TARGET,
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: MAIN_FIELDS,
  external: EXTERNAL_MODULES,
  supported: UNSUPPORTED_FEATURES,
  alias: LAZY_BUILTINS,
} as const satisfies BuildOptions;
