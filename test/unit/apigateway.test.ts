import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { toHttpApiEvent } from '../../local/apigateway.ts';

/** The parts of a node:http request the adapter reads. */
const request = (url: string, headers: Record<string, string | string[]> = {}, method = 'GET') =>
  ({
    method,
    url,
    headers: { host: '127.0.0.1:3000', ...headers },
    httpVersion: '1.1',
    socket: { remoteAddress: '127.0.0.1' },
  }) as unknown as IncomingMessage;

describe('toHttpApiEvent: the payload-2.0 event API Gateway would send', () => {
  it('query parameters: repeated ones joined with commas, any name an own property', () => {
    const event = toHttpApiEvent(request('/v1/tokens/t/accounts?a=1&a=2&constructor=x&__proto__=y&toString=%20z'), Buffer.alloc(0));
    expect(event.queryStringParameters).toEqual({ a: '1,2', constructor: 'x', ['__proto__']: 'y', toString: ' z' });
    expect(Object.keys(event.queryStringParameters!)).toEqual(['a', 'constructor', '__proto__', 'toString']);
    expect(event.rawQueryString).toBe('a=1&a=2&constructor=x&__proto__=y&toString=%20z');
  });

  it('no query string: no queryStringParameters at all', () => {
    expect(toHttpApiEvent(request('/v1/tokens/t/accounts'), Buffer.alloc(0))).not.toHaveProperty('queryStringParameters');
  });

  it('the path decoded once, as HTTP APIs deliver rawPath', () => {
    const event = toHttpApiEvent(request('/v1/accounts/team%252Fops/tokens'), Buffer.alloc(0));
    expect(event.rawPath).toBe('/v1/accounts/team%2Fops/tokens');
    expect(event.requestContext.http.path).toBe(event.rawPath);
  });

  it('headers lower-cased and repeated ones joined; cookies apart', () => {
    const event = toHttpApiEvent(request('/', { 'x-tag': ['a', 'b'], cookie: 'k=v; l=w' }), Buffer.alloc(0));
    expect(event.headers['x-tag']).toBe('a,b');
    expect(event.headers).not.toHaveProperty('cookie');
    expect(event.cookies).toEqual(['k=v', 'l=w']);
  });

  it('a JSON body as text, a binary one as base64', () => {
    const json = toHttpApiEvent(
      request('/v1/bindings/query', { 'content-type': 'application/json' }, 'POST'),
      Buffer.from('{"tokens":["t"]}'),
    );
    expect(json).toMatchObject({ body: '{"tokens":["t"]}', isBase64Encoded: false });
    const bytes = Buffer.from([0xff, 0x00, 0x7b]);
    const binary = toHttpApiEvent(request('/v1/bindings/query', { 'content-type': 'application/octet-stream' }, 'POST'), bytes);
    expect(binary).toMatchObject({ body: bytes.toString('base64'), isBase64Encoded: true });
  });
});
