import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { FUNCTION_TIMEOUTS_MS, LAMBDA_RESPONSE_LIMIT_BYTES } from '../functions/contract.ts';
import { gatewayError, HTTP_API_LIMITS, toHttpApiEvent, writeHttpApiResult } from './apigateway.ts';
import { type LocalEnvironment, type SandboxSecretForm, startLocalEnvironment } from './environment.ts';
import { lambdaContext } from './lambda-context.ts';
import type { Binding } from './sandbox/seed-data.ts';
import { type LocalAuth, localAuthFromEnv, refusal } from './sigv4.ts';

export interface LocalApi {
  url: string;
  environment: LocalEnvironment;
  close(): Promise<void>;
}

/**
 * Serves the HTTP API by turning each request into an API Gateway 2.0 event and calling the
 * handler that gets deployed (functions/http.ts) — the same code, not a second path. With `auth`,
 * every request must be SigV4-signed with its key pair, as the deployed routes require (sigv4.ts).
 */
export const startLocalApi = async (
  options: {
    port?: number;
    functionTimeoutMs?: number;
    sandbox?: { bindings?: Binding[]; secretForm?: SandboxSecretForm };
    auth?: LocalAuth;
  } = {},
): Promise<LocalApi> => {
  const environment = await startLocalEnvironment(process.env, options.sandbox);
  const { handler } = await import('../functions/http.ts');
  const timeoutMs = options.functionTimeoutMs ?? FUNCTION_TIMEOUTS_MS.http;
  // Whichever gives up first: Lambda at the function timeout (a function error: API Gateway answers 500),
  // or API Gateway at its integration timeout (503).
  const cutOff =
    timeoutMs < HTTP_API_LIMITS.integrationTimeoutMs
      ? { afterMs: timeoutMs, status: 500, message: 'Internal Server Error' }
      : { afterMs: HTTP_API_LIMITS.integrationTimeoutMs, status: 503, message: 'Service Unavailable' };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= HTTP_API_LIMITS.maxPayloadBytes) chunks.push(chunk);
    });
    req.on('end', async () => {
      if (size > HTTP_API_LIMITS.maxPayloadBytes) return gatewayError(res, 413, 'Request Entity Too Large');
      const body = Buffer.concat(chunks);
      if (options.auth) {
        const arrived = { method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, body };
        const refused = await refusal(arrived, options.auth);
        if (refused !== undefined) return gatewayError(res, 403, refused);
      }
      let event: ReturnType<typeof toHttpApiEvent>;
      try {
        event = toHttpApiEvent(req, body);
      } catch {
        return gatewayError(res, 400, 'Bad Request'); // a request target no URL parser accepts
      }
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), cutOff.afterMs);
      });
      try {
        const result = await Promise.race([handler(event, lambdaContext('tpns-bindings-http', timeoutMs)), timedOut]);
        if (result === 'timeout') gatewayError(res, cutOff.status, cutOff.message);
        // Lambda refuses the response, and API Gateway answers as it does for a failed function.
        else if (Buffer.byteLength(JSON.stringify(result)) > LAMBDA_RESPONSE_LIMIT_BYTES) gatewayError(res, 500, 'Internal Server Error');
        else writeHttpApiResult(res, result);
      } catch {
        // What API Gateway answers when the function itself fails.
        gatewayError(res, 500, 'Internal Server Error');
      } finally {
        clearTimeout(timer);
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
  } catch (error) {
    await environment.close();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    environment,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await environment.close();
    },
  };
};

/** `curl -s` as the API takes it: plain, or signed as the deployed API requires. */
const curlOf = (auth: (LocalAuth & { generated: boolean }) | undefined): string =>
  auth
    ? `curl -s --aws-sigv4 'aws:amz:${auth.region}:execute-api' --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"${auth.keys.sessionToken ? ' -H "x-amz-security-token: $AWS_SESSION_TOKEN"' : ''}`
    : 'curl -s';

const authLines = (auth: (LocalAuth & { generated: boolean }) | undefined): string[] => {
  if (!auth) return [];
  const pair = auth.generated
    ? [
        `  export AWS_ACCESS_KEY_ID=${auth.keys.accessKeyId} AWS_SECRET_ACCESS_KEY=${auth.keys.secretAccessKey}   # a local pair, made for this run`,
      ]
    : ['  with the key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY'];
  return [`SigV4 required (LOCAL_AUTH=sigv4): service execute-api, region ${auth.region},`, ...pair, ''];
};

const banner = (api: LocalApi, auth: (LocalAuth & { generated: boolean }) | undefined): string => {
  const mode =
    api.environment.mode === 'sandbox'
      ? `on the embedded TPNS sandbox (${api.environment.tpns.url}); Secrets Manager stand-in at ${api.environment.aws.url}`
      : `against TPNS with secret "${process.env.TPNS_SECRET_ID}"${process.env.TPNS_ENDPOINT ? ` at ${process.env.TPNS_ENDPOINT}` : ''}`;
  const curl = curlOf(auth);
  return [
    `tpns-bindings API listening on ${api.url} ${mode}`,
    '',
    ...authLines(auth),
    'Try:',
    `  ${curl} ${api.url}/v1/bindings/query -H 'content-type: application/json' -d '{"accounts": ["account1", {"account": "account2", "accountType": 1}, "account3", "nobody"]}'`,
    `  ${curl} ${api.url}/v1/bindings/query -H 'content-type: application/json' -d '{"operator_type": 2, "token_list": ["token1", "token2"]}'`,
    // curl signs a percent-encoded path as sent, not encoded once more as SigV4 wants: signed, ids like this go by POST.
    ...(auth ? [] : [`  ${curl} ${api.url}/v1/accounts/926%40126.com/tokens`]),
    `  ${curl} ${api.url}/v1/tokens/token1/accounts`,
    '',
    'Ctrl-C stops it.',
  ].join('\n');
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Local runs print one log line per request, not EMF metric blobs; set it to "false" to see them.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const port = Number(process.env.PORT || 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`PORT must be a port number (0-65535), got "${process.env.PORT}"`);
    process.exit(2);
  }
  let api: LocalApi;
  let auth: ReturnType<typeof localAuthFromEnv>;
  try {
    auth = localAuthFromEnv(process.env);
    api = await startLocalApi({ port, auth });
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    console.error(
      code === 'EADDRINUSE' ? `port ${port} is in use: stop what holds it, or set PORT (PORT=3001 npm start)` : `cannot start: ${message}`,
    );
    process.exit(1);
  }
  console.log(banner(api, auth));
  const stop = () => void api.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
