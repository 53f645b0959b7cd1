// Cold start and peak RSS, in a fresh process: load one handler bundle (the project's, the plain
// handler or a floor, all built by bench/run.ts with infra/bundling.ts) and serve one request, then
// optionally a second (a large query) for the peak RSS of a fresh container (and the RSS before it).
// Plain JavaScript on purpose: a .ts file would load Node's type stripper, which Lambda never does.
// Usage (by bench/run.ts): node cold-start.mjs [<bundle.cjs> <lambda-context.cjs> <event.json> <timeout-ms> [<second-event.json>]]
// With no arguments it only reports how long Node itself took to start.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const started = performance.now(); // ms since the process began
const [bundle, contextModule, eventFile, timeoutMs, secondEventFile] = process.argv.slice(2);
const done = (figures) => process.send(figures, () => process.exit(0));
const readEvent = (file) => JSON.parse(readFileSync(file, 'utf8'));
/**
 * A bundle loaded the way Lambda's runtime loads a handler file: `require` for CommonJS (`.cjs`, and
 * `.js` outside a `"type": "module"` package), `import()` for an ES module. An `import()` of CommonJS
 * would also run Node's export lexer over the whole bundle, which Lambda never does.
 */
const load = async (file) => (file.endsWith('.cjs') ? createRequire(import.meta.url)(file) : import(pathToFileURL(file).href));

if (!bundle) {
  done({ nodeStartMs: started });
} else {
  const event = readEvent(eventFile);
  const { lambdaContext } = await load(contextModule);
  const beforeImport = performance.now();
  const { handler } = await load(bundle);
  const imported = performance.now();
  const result = await handler(event, lambdaContext('tpns-bindings-http', Number(timeoutMs)));
  const answered = performance.now();
  const figures = {
    nodeStartMs: started,
    importMs: imported - beforeImport,
    firstRequestMs: answered - imported,
    status: result.statusCode,
  };
  if (secondEventFile) {
    figures.firstRssMb = process.resourceUsage().maxRSS / 1024; // what loading and the first answer took
    const second = await handler(readEvent(secondEventFile), lambdaContext('tpns-bindings-http', Number(timeoutMs)));
    if (second.statusCode !== 200) throw new Error(`the large query answered ${second.statusCode}`);
    figures.peakRssMb = process.resourceUsage().maxRSS / 1024;
  }
  done(figures);
}
