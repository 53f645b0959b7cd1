import { readFile } from 'node:fs/promises';
import { FUNCTION_TIMEOUTS_MS } from '../functions/contract.ts';
import { startLocalEnvironment } from './environment.ts';
import { lambdaContext } from './lambda-context.ts';

/**
 * `npm run invoke -- <http|events> <event.json>`: one handler call with an event file, as
 * `sam local invoke` would — on the sandbox unless TPNS_SECRET_ID is set.
 */
const HANDLERS = {
  http: { module: '../functions/http.ts', functionName: 'tpns-bindings-http', timeoutMs: FUNCTION_TIMEOUTS_MS.http },
  events: { module: '../functions/events.ts', functionName: 'tpns-bindings-events', timeoutMs: FUNCTION_TIMEOUTS_MS.events },
} as const;

const usage = 'usage: npm run invoke -- <http|events> <event.json>';

const [kind, file] = process.argv.slice(2);
if (!kind || !Object.hasOwn(HANDLERS, kind) || !file) {
  console.error(usage);
  process.exit(2);
}
let event: unknown;
try {
  event = JSON.parse(await readFile(file, 'utf8'));
} catch (error) {
  console.error(`cannot read an event from ${file}: ${(error as Error).message}`);
  process.exit(2);
}

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
const environment = await startLocalEnvironment();
const target = HANDLERS[kind as keyof typeof HANDLERS];
try {
  const { handler } = (await import(target.module)) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
  const result = await handler(event, lambdaContext(target.functionName, target.timeoutMs));
  console.log(JSON.stringify(result, null, 2));
  if (environment.mode === 'sandbox' && environment.aws.events.length) {
    console.log(JSON.stringify({ published: environment.aws.events }, null, 2));
  }
} catch (error) {
  console.error(`the handler threw: ${(error as Error).name}: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await environment.close();
}
