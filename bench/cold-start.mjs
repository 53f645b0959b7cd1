// Figure 4, in a fresh process: import the deployed bundle and serve one request.
// Plain JavaScript on purpose: a .ts file would load Node's type stripper, which Lambda never does.
// Usage (by bench/run.ts): node cold-start.mjs [<bundle.mjs> <lambda-context.mjs> <event.json> <timeout-ms>]
// With no arguments it only reports how long Node itself took to start.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const started = performance.now(); // ms since the process began
const [bundle, contextModule, eventFile, timeoutMs] = process.argv.slice(2);
const done = (figures) => process.send(figures, () => process.exit(0));

if (!bundle) {
  done({ nodeStartMs: started });
} else {
  const event = JSON.parse(readFileSync(eventFile, 'utf8'));
  const { lambdaContext } = await import(pathToFileURL(contextModule).href);
  const beforeImport = performance.now();
  const { handler } = await import(pathToFileURL(bundle).href);
  const imported = performance.now();
  const result = await handler(event, lambdaContext('tpns-bindings-http', Number(timeoutMs)));
  const answered = performance.now();
  done({
    nodeStartMs: started,
    importMs: imported - beforeImport,
    firstRequestMs: answered - imported,
    status: result.statusCode,
  });
}
