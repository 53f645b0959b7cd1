/**
 * Node built-ins that the bundles load on first use instead of at start (infra/bundling.ts:
 * LAZY_BUILTINS aliases each to a module of this folder). Bundled packages import them at load
 * but use them rarely or never on this service's paths; each costs milliseconds of every cold start.
 */
'use strict';

/**
 * `target` given an enumerable getter per name in `names` (unless it has its own already), each
 * loading the built-in `id` on first use. Getters rather than a Proxy: esbuild's interop copies a
 * CommonJS module's own properties for `import { name } from ...`, getters included.
 * @template {object} T
 * @param {string} id
 * @param {readonly string[]} names every export of the built-in (test/unit/lazy-builtins.test.ts checks the list)
 * @param {T} target
 * @returns {T}
 */
const lazyBuiltin = (id, names, target) => {
  for (const name of names) {
    if (Object.hasOwn(target, name)) continue;
    Object.defineProperty(target, name, { enumerable: true, configurable: true, get: () => process.getBuiltinModule(id)[name] });
  }
  return target;
};

module.exports = { lazyBuiltin };
