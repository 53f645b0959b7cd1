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

import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** esbuild target; matches the Lambda runtime (nodejs24.x). */
export const BUNDLE_TARGET = 'node24';

/**
 * ESM output bundles CommonJS dependencies (undici, parts of the AWS SDK and
 * @smithy) whose code calls `require('node:...')`. An ES module has no
 * `require`, so esbuild's `__require` shim would throw "Dynamic require of ...
 * is not supported". The banner defines a real `require` at the top of the
 * bundle. The import is aliased so it cannot collide with bundled code.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __tpnsCreateRequire } from 'node:module';" + ' const require = __tpnsCreateRequire(import.meta.url);';

/**
 * Prefer the ESM build of packages that ship both (`module` before `main`):
 * better tree shaking and fewer CommonJS wrappers. Packages with an `exports`
 * map are resolved through it (the `import` condition) regardless.
 */
export const MAIN_FIELDS = ['module', 'main'];

/**
 * Nothing is external: the AWS SDK v3 is bundled too (`bundleAwsSDK`), so the
 * deployed code runs the SDK version pinned in package.json and tested here,
 * not whatever version the Lambda runtime happens to ship, and only the used
 * commands end up in the bundle.
 */
export const EXTERNAL_MODULES: string[] = [];

/** Props for `NodejsFunction({ bundling })`. */
export const nodejsFunctionBundling: BundlingOptions = {
  format: OutputFormat.ESM, // handler file is index.mjs
  target: BUNDLE_TARGET,
  minify: true,
  // Source maps ship with the bundle so minified stack traces can be mapped (live with the
  // construct's sourceMapStackTraces prop, or after the fact). Mappings only: the original
  // sources are not embedded, which keeps the asset small.
  sourceMap: true,
  sourcesContent: false,
  banner: ESM_REQUIRE_BANNER,
  mainFields: MAIN_FIELDS,
  bundleAwsSDK: true,
  externalModules: EXTERNAL_MODULES,
  // Never fall back to Docker (there is none on build machines); bundling
  // uses the esbuild from node_modules.
  forceDockerBundling: false,
};

/**
 * The same bundle through the esbuild API. Mirrors the CLI arguments CDK passes
 * for `nodejsFunctionBundling` (`--bundle --platform=node --format=esm
 * --target=node24 --minify --sourcemap --sources-content=false --banner:js=...
 * --main-fields=module,main`). Add `entryPoints` and `outfile` (name it
 * `index.mjs` to match the deployed file).
 */
export const esbuildBuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: BUNDLE_TARGET,
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  banner: { js: ESM_REQUIRE_BANNER },
  mainFields: MAIN_FIELDS,
  external: EXTERNAL_MODULES,
} as const satisfies BuildOptions;
