import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';

/** API Gateway HTTP API limits the adapter keeps to, so local behaviour matches deployed. */
export const HTTP_API_LIMITS = {
  maxPayloadBytes: 10 * 1024 * 1024,
  integrationTimeoutMs: 30_000,
} as const;

const TEXT_TYPES = /^(application\/(.+\+)?(json|xml|x-www-form-urlencoded)|text\/)/;

const decodePath = (path: string): string => {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
};

/**
 * One HTTP request → the payload-format-2.0 event API Gateway would send: lower-case headers
 * (repeated ones joined with commas), cookies apart, decoded path (as HTTP APIs deliver it),
 * body as UTF-8 text or base64 with isBase64Encoded.
 */
export const toHttpApiEvent = (req: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 => {
  // An origin-form target is a path: resolved against a base, "//x/y" would make "x" a host (and throw on most x).
  const target = req.url ?? '/';
  const url = new URL(target.startsWith('/') ? `http://localhost${target}` : target, 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'cookie') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // A Map, then own properties: a parameter named "constructor" or "__proto__" is a parameter like any other.
  const queryParameters = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    const earlier = queryParameters.get(key);
    queryParameters.set(key, earlier === undefined ? value : `${earlier},${value}`);
  }
  const contentType = headers['content-type'] ?? '';
  const isText = body.length === 0 || TEXT_TYPES.test(contentType);
  const path = decodePath(url.pathname);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: url.search.slice(1),
    ...(req.headers.cookie ? { cookies: req.headers.cookie.split('; ') } : {}),
    headers,
    ...(url.search ? { queryStringParameters: Object.fromEntries(queryParameters) } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.', 1)[0] ?? '',
      http: {
        method: req.method ?? 'GET',
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: !isText,
  };
};

/** The handler's answer → the HTTP response, with API Gateway's rules for a bare string or object. */
export const writeHttpApiResult = (res: ServerResponse, result: APIGatewayProxyResultV2): void => {
  if (typeof result === 'string' || result === undefined || result === null || !('statusCode' in result)) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(typeof result === 'string' ? result : JSON.stringify(result));
    return;
  }
  const headers: Record<string, string | string[]> = { ...(result.headers as Record<string, string>) };
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  const body = result.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  res.writeHead(result.statusCode ?? 200, headers).end(body);
};

/** API Gateway's own answers, for what never reaches the function. */
export const gatewayError = (res: ServerResponse, status: number, message: string): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
};
