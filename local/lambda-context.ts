import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/**
 * The deployed functions' timeouts (infra/tpns-bindings.ts; test/infra/stack.test.ts keeps the two
 * in step): handlers derive their deadlines from them. Here, in a module without side effects, so
 * the benchmark's bundles and `npm run invoke` can import them without pulling in `npm start`.
 */
export const FUNCTION_TIMEOUTS_MS = { http: 25_000, events: 60_000 } as const;

/** A Lambda context whose clock runs like the real one: getRemainingTimeInMillis counts down from `timeoutMs`. */
export const lambdaContext = (functionName: string, timeoutMs: number): Context => {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION ?? 'us-east-1'}:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${randomUUID()}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
};
