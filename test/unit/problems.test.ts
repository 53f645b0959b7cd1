import middy from '@middy/core';
import { createError } from '@middy/util';
import { describe, expect, it } from 'vitest';
import {
  CredentialsError,
  InvalidRequestError,
  MethodNotAllowedError,
  NotFoundError,
  ProblemError,
  toProblemError,
} from '../../functions/core/problems.ts';
import { FAILURES, type FailureKind, TpnsError } from '../../functions/core/tpns/failures.ts';

const PROBLEM_KEYS = ['type', 'title', 'status', 'detail'];

describe('toProblemError: other errors', () => {
  it('a ProblemError is returned as it is', () => {
    const errors = [
      new InvalidRequestError('x'),
      new NotFoundError('no such token', { token: 't' }),
      new MethodNotAllowedError('DELETE', '/v1/bindings/query', ['POST']),
      new CredentialsError('secret missing'),
    ];
    for (const error of errors) expect(toProblemError(error)).toBe(error);
  });

  it("middy's own timeout → 504", () => {
    const error = new Error('[AbortError]: The operation was aborted.', { cause: { package: '@middy/core' } });
    error.name = 'TimeoutError';
    expect(toProblemError(error).toProblem()).toMatchObject({ status: 504, type: 'urn:tpns-bindings:problem:timeout' });
  });

  it("middy's real timeout error, raised by middy itself, → 504", async () => {
    const handler = middy(() => new Promise<never>(() => {}), { timeoutEarlyInMillis: 5 });
    const error = await (handler as unknown as (event: unknown, context: unknown) => Promise<unknown>)(
      {},
      { getRemainingTimeInMillis: () => 6 },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(toProblemError(error).status).toBe(504);
  });

  it('a TimeoutError not from middy is not a 504', () => {
    const error = new Error('timed out');
    error.name = 'TimeoutError';
    expect(toProblemError(error).status).toBe(500);
  });

  it("another middleware's 4xx HttpError keeps its status", () => {
    const error = toProblemError(createError(404, 'Route does not exist', { cause: { package: '@middy/http-router' } }));
    expect(error.status).toBe(404);
    expect(error.toProblem().status).toBe(404);
  });

  it.each([
    ['an Error', new Error('db password is hunter2 at /var/task/secret.js')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'hunter2')")],
    ['a 5xx HttpError', createError(500, 'hunter2 leaked')],
    ['a 502 HttpError', createError(502, 'upstream hunter2')],
    ['a string', 'hunter2'],
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['an object with a 3xx statusCode', { statusCode: 302, message: 'hunter2' }],
    ['an object with a non-numeric statusCode', { statusCode: '400', message: 'hunter2' }],
  ])('%s → bare 500 without message or stack', (_, thrown) => {
    const error = toProblemError(thrown);
    expect(error).toBeInstanceOf(ProblemError);
    const problem = error.toProblem();
    expect(problem.status).toBe(500);
    expect(problem.type).toBe('urn:tpns-bindings:problem:internal-error');
    expect(Object.keys(problem).sort()).toEqual([...PROBLEM_KEYS].sort());
    const text = JSON.stringify(problem);
    expect(text).not.toContain('hunter2');
    expect(text).not.toMatch(/\bat .+:\d+:\d+/); // no stack frames
    expect(text).not.toContain('/var/task');
    // the original stays available to the logger, not to the caller
    if (thrown instanceof Error) expect(error.cause).toBe(thrown);
  });
});

describe('TpnsError → problem, as the failure table says', () => {
  const problemOf = (error: TpnsError) => toProblemError(error);

  it.each(Object.keys(FAILURES) as FailureKind[])('%s', (kind) => {
    const { status, slug, title } = FAILURES[kind];
    const problem = problemOf(new TpnsError(kind, 'singapore', 'what happened', { code: 1008004 }));
    expect(problem.status).toBe(status);
    expect(problem.toProblem()).toEqual({
      type: `urn:tpns-bindings:problem:${slug}`,
      title,
      status,
      detail: 'what happened',
      region: 'singapore',
      tpnsCode: 1008004,
    });
  });

  it('the statuses callers act on: rate limiting 503, a TPNS timeout 504, a refused key 502', () => {
    expect(problemOf(new TpnsError('rate_limited', 'guangzhou', 'x')).status).toBe(503);
    expect(problemOf(new TpnsError('timeout', 'guangzhou', 'x')).status).toBe(504);
    expect(problemOf(new TpnsError('credentials_rejected', 'guangzhou', 'x')).status).toBe(502);
  });

  it('a transport failure has a region but no tpnsCode', () => {
    const problem = problemOf(new TpnsError('timeout', 'guangzhou', 'slow')).toProblem();
    expect(problem).toMatchObject({ status: 504, region: 'guangzhou' });
    expect(problem).not.toHaveProperty('tpnsCode');
  });

  it('rate limiting asks the caller to retry after a second; nothing else sets retry-after', () => {
    expect(problemOf(new TpnsError('rate_limited', 'guangzhou', 'x')).headers).toEqual({ 'retry-after': '1' });
    const others = (Object.keys(FAILURES) as FailureKind[]).filter((kind) => kind !== 'rate_limited');
    expect(others.length).toBeGreaterThan(0);
    for (const kind of others) expect(problemOf(new TpnsError(kind, 'guangzhou', 'x')).headers).toEqual({});
  });

  it('keeps the cause off the problem body, and on the error for the logs', () => {
    const cause = new Error('connect ECONNREFUSED with key hunter2');
    const error = new TpnsError('unavailable', 'guangzhou', 'could not reach TPNS', { cause });
    const problem = problemOf(error);
    expect(problem.cause).toBe(error);
    expect(error.cause).toBe(cause);
    expect(JSON.stringify(problem.toProblem())).not.toContain('hunter2');
  });
});

describe('the other ProblemErrors', () => {
  it('404 not found with extensions', () => {
    expect(new NotFoundError('token t is not bound', { token: 't' }).toProblem()).toEqual({
      type: 'urn:tpns-bindings:problem:not-found',
      title: 'Not found',
      status: 404,
      detail: 'token t is not bound',
      token: 't',
    });
  });

  it('405 lists the allowed methods in the detail and the Allow header', () => {
    const error = new MethodNotAllowedError('GET', '/v1/bindings/query', ['POST']);
    expect(error.status).toBe(405);
    expect(error.headers).toEqual({ allow: 'POST' });
    expect(error.message).toContain('POST');
  });

  it('503 when the credentials cannot be read', () => {
    expect(new CredentialsError('the secret has no "secretKey"').toProblem()).toMatchObject({
      status: 503,
      type: 'urn:tpns-bindings:problem:credentials-unavailable',
    });
  });
});
