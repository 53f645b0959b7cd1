import { FAILURES, TpnsError } from './tpns/failures.ts';

/** RFC 9457 problem details; extension members carry machine-readable context. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
}

const PROBLEM_TYPE_BASE = 'urn:tpns-bindings:problem:';

/** An error that already knows its HTTP answer. Everything else thrown is a bug (500). */
export class ProblemError extends Error {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    slug: string,
    title: string,
    detail: string,
    options: { extensions?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'ProblemError';
    this.status = status;
    this.slug = slug;
    this.title = title;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  toProblem(): Problem {
    return {
      type: PROBLEM_TYPE_BASE + this.slug,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...this.extensions,
    };
  }
}

export class InvalidRequestError extends ProblemError {
  constructor(detail: string) {
    super(400, 'invalid-request', 'Invalid request', detail);
  }
}

/** A body that is not UTF-8 JSON by its Content-Type (another media type, another charset). */
export class UnsupportedMediaTypeError extends ProblemError {
  constructor(detail: string) {
    super(415, 'unsupported-media-type', 'Unsupported media type', detail);
  }
}

export class NotFoundError extends ProblemError {
  constructor(detail: string, extensions?: Record<string, unknown>) {
    super(404, 'not-found', 'Not found', detail, { extensions });
  }
}

export class MethodNotAllowedError extends ProblemError {
  constructor(method: string, path: string, allowed: readonly string[]) {
    super(405, 'method-not-allowed', 'Method not allowed', `${method} is not supported on ${path}; use ${allowed.join(' or ')}`, {
      headers: { allow: allowed.join(', ') },
    });
  }
}

/** Secrets Manager could not give usable TPNS credentials (unreachable, missing, malformed). */
export class CredentialsError extends ProblemError {
  constructor(detail: string, cause?: unknown) {
    super(503, 'credentials-unavailable', 'TPNS credentials unavailable', detail, { cause });
  }
}

/** A failed TPNS call as the table says to answer it, with where it failed and TPNS's own code. */
const tpnsProblem = (error: TpnsError): ProblemError => {
  const { status, slug, title } = FAILURES[error.kind];
  const retryAfterSeconds = error.retryAfterSeconds ?? FAILURES[error.kind].retryAfterSeconds;
  return new ProblemError(status, slug, title, error.message, {
    cause: error,
    extensions: { region: error.region, ...(error.code === undefined ? {} : { tpnsCode: error.code }) },
    headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
  });
};

const INTERNAL_ERROR_DETAIL = 'an unexpected error occurred; the logs hold the details under this request id';

/**
 * Any thrown value → the ProblemError that answers it. TPNS failures follow the failure table, errors
 * from middy itself (its timeout, its HTTP errors) are translated; anything unrecognised is a bug and becomes a bare 500.
 */
export const toProblemError = (error: unknown): ProblemError => {
  if (error instanceof ProblemError) return error;
  if (error instanceof TpnsError) return tpnsProblem(error);
  const { statusCode, message, name, cause } = (error ?? {}) as {
    statusCode?: number;
    message?: string;
    name?: string;
    cause?: { package?: string };
  };
  if (name === 'TimeoutError' && cause?.package === '@middy/core') {
    return new ProblemError(504, 'timeout', 'Timed out', 'the function ran out of time before TPNS answered');
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new ProblemError(statusCode, 'client-error', message ?? 'Client error', message ?? 'the request was rejected');
  }
  return new ProblemError(500, 'internal-error', 'Internal error', INTERNAL_ERROR_DETAIL, { cause: error });
};
