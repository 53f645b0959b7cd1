import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { expect, vi } from 'vitest';
import { QUERY_DETAIL_TYPE } from '../../functions/contract.ts';
import type { Problem } from '../../functions/core/problems.ts';
import { TPNS_CODE } from '../../functions/core/tpns/codes.ts';
import type { AwsStandIn } from '../../local/sandbox/aws.ts';
import { SANDBOX_APPS, SANDBOX_BINDINGS, type SandboxApp } from '../../local/sandbox/seed-data.ts';
import { contractViolation } from '../contract.ts';

/** A CloudWatch EMF line as Powertools writes it to stdout. */
export type Emf = {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
} & Record<string, unknown>;

/**
 * Collects the EMF lines written to stdout from now on (parsed, in order) instead of printing them;
 * other output passes through. For files that turn metrics on (POWERTOOLS_METRICS_DISABLED=false).
 */
export const captureEmf = (): Emf[] => {
  const lines: Emf[] = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = chunk.toString();
    if (!text.startsWith('{"_aws"')) return write(chunk, ...rest);
    lines.push(JSON.parse(text) as Emf);
    return true;
  }) as typeof process.stdout.write);
  return lines;
};

/** One HTTP answer, read whole. `body` is the parsed JSON, or undefined when the text is not JSON. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: any;
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * A request over real HTTP. A non-string `json` is sent as JSON with its content type. Every answer of the
 * API must match the OpenAPI document (openapi.json): the contract test runs inside every integration test.
 */
export const send = async (
  baseUrl: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; json?: unknown } = {},
): Promise<Answer> => {
  const hasBody = options.body !== undefined || options.json !== undefined;
  const jsonHeaders = options.json === undefined ? {} : { 'content-type': 'application/json' };
  const response = await request(baseUrl + path, {
    method: (options.method ?? (hasBody ? 'POST' : 'GET')) as 'GET',
    headers: { ...jsonHeaders, ...options.headers },
    body: options.json === undefined ? options.body : JSON.stringify(options.json),
  });
  const text = await response.body.text();
  const answer = { status: response.statusCode, headers: response.headers, text, body: parseJson(text) };
  const violation = contractViolation(
    { method: options.method ?? (hasBody ? 'POST' : 'GET'), path },
    { status: answer.status, contentType: answer.headers['content-type'], body: answer.body },
  );
  expect(violation, 'the answer matches openapi.json').toBeUndefined();
  return answer;
};

/** POST /v1/bindings/query with a JSON value, or with a string sent byte for byte as application/json. */
export const postQuery = (baseUrl: string, body: unknown): Promise<Answer> =>
  typeof body === 'string'
    ? send(baseUrl, '/v1/bindings/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    : send(baseUrl, '/v1/bindings/query', { method: 'POST', json: body });

/** What every error answer must be: RFC 9457 problem+json, its status the HTTP status, no stack trace. */
export const expectProblem = (answer: Answer, status: number): Problem => {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers['content-type']).toBe('application/problem+json');
  expect(answer.body).toMatchObject({
    type: expect.stringMatching(/^urn:tpns-bindings:problem:[a-z-]+$/),
    title: expect.any(String),
    status,
    detail: expect.stringMatching(/\S/),
  });
  expect(answer.text).not.toMatch(/\bat .+:\d+:\d+|\n\s+at /);
  return answer.body as Problem;
};

/** The seeded bindings of one sandbox app: the first, the app of a single-app secret, unless told. */
export const bindingsOf = (app: SandboxApp = SANDBOX_APPS[0]) => SANDBOX_BINDINGS.filter((b) => b.accessId === app.accessId);

/** What the seeded sandbox's app knows about an account, as the API answers it with a single-app secret. */
export const expectedAccount = (account: string, accountType = 0, app: SandboxApp = SANDBOX_APPS[0]) => {
  const tokens = bindingsOf(app)
    .filter((b) => b.account === account && b.accountType === accountType)
    .map((b) => b.token);
  return tokens.length
    ? { account, accountType, status: 'ok', tokens }
    : { account, accountType, status: 'not_found', code: TPNS_CODE.NOT_FOUND, tokens: [] };
};

/** The secret's JSON for a sandbox app; `overrides` may break it on purpose. */
export const secretFor = (app: SandboxApp, overrides: Record<string, unknown> = {}): string =>
  JSON.stringify({ accessId: app.accessId, secretKey: app.secretKey, region: app.region, auth: 'sign', ...overrides });

/**
 * The env of the "real" path (TPNS_SECRET_ID set): Secrets Manager and TPNS as the production
 * code resolves them, pointed at stand-ins this test started. The SDK only needs some credentials.
 */
export const realPathEnv = (aws: AwsStandIn, tpnsEndpoint: string, secretId: string): Record<string, string> => ({
  TPNS_SECRET_ID: secretId,
  TPNS_ENDPOINT: tpnsEndpoint,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
});

export interface ApiProcess {
  url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  close(): Promise<void>;
}

const SERVER_PATH = fileURLToPath(new URL('../../local/server.ts', import.meta.url));
const STARTUP_TIMEOUT_MS = 20_000;

/**
 * `npm start` in a fresh process: a cold container with its own module state (config, secret
 * cache, connection pool). Used where a test needs a configuration other than its file's.
 */
export const spawnLocalApi = async (env: Record<string, string>): Promise<ApiProcess> => {
  const child = spawn(process.execPath, [SERVER_PATH], {
    env: { PATH: process.env.PATH, POWERTOOLS_METRICS_DISABLED: 'true', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // nobody gets a handle to close it
      reject(new Error(`local API did not start:\n${output}`));
    }, STARTUP_TIMEOUT_MS);
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`local API exited:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
};

/** Starts what a describe needs and closes it all afterwards, whatever failed. */
export type Closable = { close(): Promise<void> };
export const closeAll = async (...resources: (Closable | undefined)[]): Promise<void> => {
  await Promise.all(resources.map((resource) => resource?.close()));
};

export interface RecordingProxy {
  url: string;
  /** TPNS_ENDPOINT value that reaches the target's per-region paths through this proxy. */
  endpoint: string;
  /** Headers of every request, in arrival order. */
  received: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** A pass-through HTTP proxy in front of `targetUrl` that records what the client sent (the auth headers). */
export const startRecordingProxy = async (targetUrl: string): Promise<RecordingProxy> => {
  const received: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    received.push(req.headers);
    const upstream = httpRequest(targetUrl + req.url, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    // The client gave up (its timeout): drop the upstream call as well.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    endpoint: `${url}/{region}`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/** A complete EventBridge envelope, as a rule delivers it. */
export const queryEnvelope = (detail: unknown, overrides: Record<string, unknown> = {}) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': QUERY_DETAIL_TYPE,
  source: 'com.example.push-jobs',
  account: '123456789012',
  time: '2026-11-23T16:00:00Z',
  region: 'ap-southeast-1',
  resources: [],
  detail,
  ...overrides,
});
