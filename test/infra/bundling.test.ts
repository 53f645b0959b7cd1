/**
 * The one infra test that really bundles: the handlers are built by the local
 * esbuild (Docker is made unusable), with the options in infra/bundling.ts, and
 * the esbuild-API options exported for the benchmark produce the same bundle.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../infra/app.ts';
import { esbuildBuildOptions, LAZY_BUILTINS } from '../../infra/bundling.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRIES = { http: 'functions/http.ts', events: 'functions/events.ts' } as const;

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

// Bundling two handlers takes a few seconds; the first esbuild start is the slow part.
const TIMEOUT = 120_000;

describe('undici bundled with the deployed options', () => {
  it('parses HTTP/1.1 answers with the one llhttp build it carries', async () => {
    // A bundle of the project's undici subset that calls a local server: the SIMD build's require finds
    // nothing, undici takes the bundled build, and the answer is parsed.
    const outdir = mkdtempSync(join(tmpdir(), 'tpns-undici-'));
    try {
      const outfile = join(outdir, 'index.js');
      await build({
        ...esbuildBuildOptions,
        stdin: {
          contents: `
            import { createServer } from 'node:http';
            import { Agent } from './functions/core/tpns/undici.ts';
            const server = createServer((_req, res) => res.end('{"ok":true}')).listen(0, '127.0.0.1', async () => {
              const agent = new Agent();
              const { statusCode, body } = await agent.request({ origin: 'http://127.0.0.1:' + server.address().port, path: '/', method: 'GET' });
              console.log(JSON.stringify({ statusCode, body: await body.text() }));
              await agent.close();
              server.close();
            });`,
          resolveDir: ROOT,
          loader: 'ts',
        },
        outfile,
        logLevel: 'silent',
      });
      expect(readFileSync(outfile, 'utf8').match(/["'`]AGFzbQ/g)).toHaveLength(1);
      const out = execFileSync(process.execPath, [outfile], { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 30_000 });
      expect(JSON.parse(out)).toEqual({ statusCode: 200, body: '{"ok":true}' });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('handler bundles (local esbuild, no Docker)', () => {
  let outdir: string;
  let assetDirs: Record<keyof typeof ENTRIES, string>;
  const savedDocker = process.env.CDK_DOCKER;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'tpns-bundling-'));
    // Any attempt to use Docker now fails: CDK runs `$CDK_DOCKER` for Docker bundling.
    process.env.CDK_DOCKER = join(outdir, 'docker-is-not-available');
    const { app, stack } = createApp({ outdir }); // no bundling-stacks context: bundle for real
    app.synth();
    const template = Template.fromStack(stack);
    const dirOf = (fn: { node: { defaultChild?: unknown } }) => {
      const res = template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as never)];
      const key: string = res.Properties.Code.S3Key;
      return join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
    };
    assetDirs = { http: dirOf(stack.bindings.httpFunction), events: dirOf(stack.bindings.eventsFunction) };
  }, TIMEOUT);

  afterAll(() => {
    if (savedDocker === undefined) delete process.env.CDK_DOCKER;
    else process.env.CDK_DOCKER = savedDocker;
    rmSync(outdir, { recursive: true, force: true });
  });

  for (const name of Object.keys(ENTRIES) as (keyof typeof ENTRIES)[]) {
    describe(name, () => {
      it('is a minified CommonJS bundle that requires node built-ins, with an external source map', () => {
        expect(readdirSync(assetDirs[name]).sort()).toEqual(['index.js', 'index.js.map']);
        const js = readFileSync(join(assetDirs[name], 'index.js'), 'utf8');
        // No ES import of a built-in is left: each would cost the cold start a module facade (node:http ~40 ms).
        expect(js).not.toMatch(/\bimport\s*[{*\w][^;]*from\s*["']node:/);
        expect(js).not.toMatch(/\bimport\(\s*["']node:/); // nor a dynamic one (the SDK's http handler has one)
        expect(js).toMatch(/require\("node:http"\)/);
        expect(js.trimEnd().endsWith('//# sourceMappingURL=index.js.map')).toBe(true);
        const map = JSON.parse(readFileSync(join(assetDirs[name], 'index.js.map'), 'utf8'));
        expect(map.version).toBe(3);
        expect(map.sourcesContent).toBeUndefined();
        expect(map.sources.some((src: string) => src.endsWith(ENTRIES[name]))).toBe(true);
      });

      it(
        'is byte-identical to an esbuild-API build with esbuildBuildOptions, and bundles all but node builtins',
        async () => {
          const result = await build({
            ...esbuildBuildOptions,
            entryPoints: [ENTRIES[name]],
            absWorkingDir: ROOT,
            outfile: join(outdir, `api-${name}`, 'index.js'),
            write: false,
            metafile: true,
            logLevel: 'silent',
          });
          const js = result.outputFiles.find((f) => f.path.endsWith('index.js'))!;
          // Compared by hash: a 1 MB diff helps nobody. (A handler edited while the tests run
          // also differs; rerun then.)
          const cdkBundle = readFileSync(join(assetDirs[name], 'index.js'));
          expect(sha256(Buffer.from(js.contents))).toBe(sha256(cdkBundle));
          // The AWS SDK and every other package are inside the bundle; only builtins stay imports.
          const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint)!;
          const external = [...new Set(output.imports.filter((i) => i.external).map((i) => i.path))];
          // …but for undici's SIMD llhttp build (infra/bundling.ts: UNDICI_SIMD_LLHTTP), left out on purpose.
          expect(external.filter((p) => !isBuiltin(p))).toEqual(['../llhttp/llhttp_simd-wasm.js']);
          // Each package once: two versions of one package (a pin that missed what the SDK needs) would double its share of every cold start.
          const roots = new Map<string, Set<string>>();
          for (const input of Object.keys(output.inputs)) {
            const match = /^(.*node_modules\/)((?:@[^/]+\/)?[^/]+)\//.exec(input);
            if (match) roots.set(match[2]!, (roots.get(match[2]!) ?? new Set()).add(match[1]!));
          }
          expect([...roots].filter(([, where]) => where.size > 1).map(([name]) => name)).toEqual([]);
        },
        TIMEOUT,
      );

      it('holds one llhttp WebAssembly build, the one undici falls back to', () => {
        const js = readFileSync(join(assetDirs[name], 'index.js'), 'utf8');
        // Every base64 WebAssembly module starts with "\0asm" = "AGFzbQ".
        expect(js.match(/["'`]AGFzbQ/g) ?? []).toHaveLength(1); // both handlers call TPNS through undici
      });

      it('loads in Node 24 as CommonJS, as Lambda loads index.js, and exports an async-style handler', () => {
        // Requiring it proves the ESM-only packages (middy, Powertools) were turned into CommonJS that runs.
        // Dummy credentials and an unroutable endpoint: nothing can reach AWS.
        const out = execFileSync(
          process.execPath,
          [
            '--enable-source-maps',
            '--input-type=commonjs',
            '-e',
            `const m = require(${JSON.stringify(join(assetDirs[name], 'index.js'))});` +
              // Built-ins loaded so far (process.moduleLoadList: Node's own record of what it loaded).
              `const loaded = ${JSON.stringify(Object.keys(LAZY_BUILTINS))}.filter((b) => process.moduleLoadList.includes('NativeModule ' + b.slice(5)));` +
              'console.log(JSON.stringify({ node: process.versions.node, type: typeof m.handler, length: m.handler.length, loaded }));' +
              'process.exit(0);',
          ],
          {
            encoding: 'utf8',
            env: {
              PATH: process.env.PATH,
              AWS_REGION: 'us-east-1',
              AWS_ACCESS_KEY_ID: 'test',
              AWS_SECRET_ACCESS_KEY: 'test',
              AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9',
              AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:9',
              TPNS_SECRET_ID: 'tpns/credentials',
              EVENT_BUS_NAME: 'default',
              POWERTOOLS_SERVICE_NAME: 'tpns-bindings',
              POWERTOOLS_METRICS_NAMESPACE: 'TpnsBindings',
              POWERTOOLS_LOG_LEVEL: 'ERROR',
            },
            timeout: 30_000,
          },
        );
        const { node, type, length, loaded } = JSON.parse(out.trim().split('\n').pop()!);
        // The rarely used built-ins wait for their first use (infra/bundling.ts: LAZY_BUILTINS).
        expect(loaded).toEqual([]);
        expect(node.split('.')[0]).toBe('24'); // npm/npx put the node@24 devDependency first on PATH
        expect(type).toBe('function');
        // Lambda's Node 24 runtime rejects callback-style handlers (3+ parameters).
        expect(length).toBeLessThan(3);
      });
    });
  }
});
