/**
 * The child of bench/instructions.ts, run under callgrind: one variant's first request (the secret
 * read and the first connections), then `BENCH_QUERIES` 10,000-account queries. Nothing is reported:
 * the parent reads callgrind's instruction count of the whole process.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { FUNCTION_TIMEOUTS_MS } from '../functions/contract.ts';
import { handler as projectHandler } from '../functions/http.ts';
import { lambdaContext } from '../local/lambda-context.ts';
import { handler as floorHandler } from './floor-undici.ts';
import { handler as plainHandler } from './plain-handler.ts';
import { accountNames, fail, LARGE_QUERY, queryEvent } from './support.ts';

const HANDLERS = { project: projectHandler, floor: floorHandler, plain: plainHandler } as const;
const handler = HANDLERS[process.env.BENCH_VARIANTS as keyof typeof HANDLERS];

const query = async (accounts: string[]) => {
  const result = (await handler(
    queryEvent({ accounts }),
    lambdaContext('tpns-bindings-http', FUNCTION_TIMEOUTS_MS.http),
  )) as APIGatewayProxyStructuredResultV2;
  if (result.statusCode !== 200) throw new Error(`${process.env.BENCH_VARIANTS} answered ${result.statusCode}`);
};

// No top-level await: bundled as the handler is, as CommonJS.
const main = async () => {
  if (!handler) throw new Error(`BENCH_VARIANTS must be one of ${Object.keys(HANDLERS).join(', ')}`);
  await query(['account1']);
  const accounts = accountNames(LARGE_QUERY.accounts);
  for (let i = 0; i < Number(process.env.BENCH_QUERIES); i++) await query(accounts);
  process.exit(0);
};

main().catch(fail);
