/**
 * Figures 1 and 3, in a child process of bench/run.ts with the handler's deployed settings
 * (stdout, where logs and EMF metrics go, is /dev/null here).
 *
 * 1. Time one single-item query takes through the full middy handler, against a direct,
 *    signed undici call to the same sandbox over the same keep-alive pool, interleaved.
 * 3. The first WARM_INVOCATIONS handler calls, whose GetSecretValue calls the parent counts.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { request } from 'undici';
import { FUNCTION_TIMEOUTS_MS } from '../functions/contract.ts';
import { authHeaders } from '../functions/core/tpns/auth.ts';
import { tpnsAgent } from '../functions/core/tpns/client.ts';
import { baseUrlFor, QUERY_PATH } from '../functions/core/tpns/regions.ts';
import { handler } from '../functions/http.ts';
import { lambdaContext } from '../local/lambda-context.ts';
import { SANDBOX_APPS } from '../local/sandbox/seed-data.ts';
import { fail, percentile, queryEvent, report } from './support.ts';

const WARM_INVOCATIONS = 1_000;
const DIRECT_WARMUP = 500;
const MEASURED_PAIRS = 5_000;
/** The pairs are cut into blocks, each block's medians one repeat: min/median/max over blocks. */
const BLOCKS = 5;

const app = SANDBOX_APPS[0]!;
const credentials = { accessId: app.accessId, secretKey: app.secretKey };
const url = baseUrlFor('guangzhou', process.env.TPNS_ENDPOINT) + QUERY_PATH;
const payload = JSON.stringify({ operator_type: 1, account_list: [{ account: 'account1', account_type: 0 }] });

/** The least a caller does without this service: sign, POST, read the JSON answer. */
const direct = async (): Promise<void> => {
  const response = await request(url, {
    method: 'POST',
    dispatcher: tpnsAgent,
    headers: { 'content-type': 'application/json', ...authHeaders(credentials, 'sign', payload) },
    body: payload,
  });
  const answer = (await response.body.json()) as { retCode?: number };
  if (answer.retCode !== 0) throw new Error(`direct call answered ${JSON.stringify(answer)}`);
};

const throughHandler = async (): Promise<void> => {
  const result = (await handler(
    queryEvent({ accounts: ['account1'] }),
    lambdaContext('tpns-bindings-http', FUNCTION_TIMEOUTS_MS.http),
  )) as APIGatewayProxyStructuredResultV2;
  if (result.statusCode !== 200) throw new Error(`handler answered ${result.statusCode}: ${result.body}`);
};

/** Event and context are built before the clock starts: API Gateway and Lambda make those. */
const timed = async (call: () => Promise<void>): Promise<number> => {
  const started = performance.now();
  await call();
  return performance.now() - started;
};

// No top-level await: the child is bundled as the handler is, as CommonJS.
const main = async () => {
  for (let i = 0; i < WARM_INVOCATIONS; i++) await throughHandler();
  for (let i = 0; i < DIRECT_WARMUP; i++) await direct();

  const viaHandler: number[] = [];
  const viaUndici: number[] = [];
  for (let i = 0; i < MEASURED_PAIRS; i++) {
    // Alternate which goes first, so neither always finds the pool or the sandbox freshly idle.
    if (i % 2) {
      viaHandler.push(await timed(throughHandler));
      viaUndici.push(await timed(direct));
    } else {
      viaUndici.push(await timed(direct));
      viaHandler.push(await timed(throughHandler));
    }
  }
  const perBlock = (samples: number[]) =>
    Array.from({ length: BLOCKS }, (_, b) =>
      percentile(samples.slice((b * MEASURED_PAIRS) / BLOCKS, ((b + 1) * MEASURED_PAIRS) / BLOCKS), 50),
    );
  report({
    invocations: WARM_INVOCATIONS + MEASURED_PAIRS,
    warmInvocations: WARM_INVOCATIONS,
    pairs: MEASURED_PAIRS,
    handlerBlockMedians: perBlock(viaHandler),
    directBlockMedians: perBlock(viaUndici),
    handlerMedian: percentile(viaHandler, 50),
    handlerP99: percentile(viaHandler, 99),
    directMedian: percentile(viaUndici, 50),
    directP99: percentile(viaUndici, 99),
  });
};

main().catch(fail);
