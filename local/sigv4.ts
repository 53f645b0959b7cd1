import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * IAM authorization as API Gateway applies it to the deployed routes, for `LOCAL_AUTH=sigv4 npm start`:
 * the request is signed again with AWS's own signer (`@smithy/signature-v4`) from what arrived, and the
 * signatures compared. What API Gateway answers (403 and its body) is kept word for word.
 */
export const SIGV4 = {
  service: 'execute-api',
  algorithm: 'AWS4-HMAC-SHA256',
  /** API Gateway refuses a signature dated more than 5 minutes from its clock, either way. */
  maxSkewMs: 5 * 60_000,
  defaultRegion: 'us-east-1',
} as const;

export interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
  /** When set, requests must carry it (`x-amz-security-token`), as temporary credentials must. */
  sessionToken?: string;
}

export interface LocalAuth {
  keys: KeyPair;
  region: string;
  /** The clock the 5-minute window is measured on (tests inject theirs). */
  now?: () => number;
}

/** API Gateway's 403 bodies' messages. */
export const FORBIDDEN = {
  missing: 'Forbidden',
  mismatch:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  invalidToken: 'The security token included in the request is invalid.',
  wrongRegion: 'Credential should be scoped to a valid region.',
  wrongService: `Credential should be scoped to correct service: '${SIGV4.service}'.`,
} as const;

/** `20261204T123000Z`, the form of `x-amz-date`. */
const amzDate = (ms: number): string =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

const parseAmzDate = (value: string): number | undefined => {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
};

const windowMessage = (signedAt: number, now: number): string | undefined => {
  if (signedAt < now - SIGV4.maxSkewMs) {
    return `Signature expired: ${amzDate(signedAt)} is now earlier than ${amzDate(now - SIGV4.maxSkewMs)} (${amzDate(now)} - 5 min.)`;
  }
  if (signedAt > now + SIGV4.maxSkewMs) {
    return `Signature not yet current: ${amzDate(signedAt)} is still later than ${amzDate(now + SIGV4.maxSkewMs)} (${amzDate(now)} + 5 min.)`;
  }
  return undefined;
};

interface Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20261204/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=…` */
const parseAuthorization = (header: string): Authorization | string => {
  const [algorithm, ...rest] = header.trim().split(/\s+/);
  if (algorithm !== SIGV4.algorithm) return FORBIDDEN.missing;
  const fields = new Map(
    rest
      .join('')
      .split(',')
      .map((part) => {
        const at = part.indexOf('=');
        return [part.slice(0, at), part.slice(at + 1)] as const;
      }),
  );
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((name) => !fields.get(name));
  if (missing.length) return missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' ');
  const [accessKeyId, date, region, service, terminator] = (fields.get('Credential') as string).split('/');
  if (!accessKeyId || !date || !region || !service || terminator !== 'aws4_request') return FORBIDDEN.mismatch;
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: (fields.get('SignedHeaders') as string).split(';'),
    signature: fields.get('Signature') as string,
  };
};

const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

/** The request as it arrived: method, request target (path and query, still encoded), headers, body. */
export interface ArrivedRequest {
  method: string;
  target: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const sha256Hex = async (body: Uint8Array): Promise<string> => {
  const hash = new Sha256();
  hash.update(body);
  return Buffer.from(await hash.digest()).toString('hex');
};

/**
 * The 403 message API Gateway would answer with, or undefined when the request is signed by `auth.keys`
 * for `execute-api` in `auth.region`, within 5 minutes of `auth.now()`.
 */
export const refusal = async (request: ArrivedRequest, auth: LocalAuth): Promise<string | undefined> => {
  const header = headerValue(request.headers, 'authorization');
  if (!header) return FORBIDDEN.missing;
  const parsed = parseAuthorization(header);
  if (typeof parsed === 'string') return parsed;
  if (parsed.accessKeyId !== auth.keys.accessKeyId) return FORBIDDEN.invalidToken;
  const token = headerValue(request.headers, 'x-amz-security-token');
  if (token !== auth.keys.sessionToken) return FORBIDDEN.invalidToken;
  if (parsed.service !== SIGV4.service) return FORBIDDEN.wrongService;
  if (parsed.region !== auth.region) return FORBIDDEN.wrongRegion;
  const date = headerValue(request.headers, 'x-amz-date');
  const signedAt = date === undefined ? undefined : parseAmzDate(date);
  if (signedAt === undefined || !parsed.signedHeaders.includes('x-amz-date') || !parsed.signedHeaders.includes('host')) {
    return FORBIDDEN.mismatch;
  }
  const outside = windowMessage(signedAt, (auth.now ?? Date.now)());
  if (outside) return outside;
  // A payload hash the caller states must be the body's: the signer takes the header on trust.
  const statedHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (statedHash !== undefined && statedHash !== (await sha256Hex(request.body))) return FORBIDDEN.mismatch;

  const headers: Record<string, string> = {};
  for (const name of parsed.signedHeaders) headers[name] = headerValue(request.headers, name) ?? '';
  const [path = '/', rawQuery = ''] = request.target.split(/\?(.*)/s);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const earlier = query[key];
    query[key] = earlier === undefined ? value : [...(Array.isArray(earlier) ? earlier : [earlier]), value];
  }
  const signer = new SignatureV4({
    service: SIGV4.service,
    region: auth.region,
    // The token, if any, is already among the signed headers; given here, the signer would add it again.
    credentials: { accessKeyId: auth.keys.accessKeyId, secretAccessKey: auth.keys.secretAccessKey },
    sha256: Sha256,
    // Sign exactly the headers the caller signed: the signer would otherwise add and sign x-amz-content-sha256.
    applyChecksum: false,
  });
  const signed = await signer.sign(
    { method: request.method, protocol: 'http:', hostname: headers.host ?? '', path, query, headers, body: request.body },
    { signingDate: new Date(signedAt) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? '';
  const given = Buffer.from(parsed.signature);
  return given.length === expected.length && timingSafeEqual(given, Buffer.from(expected)) ? undefined : FORBIDDEN.mismatch;
};

/**
 * `LOCAL_AUTH=sigv4`: the key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN),
 * else a fresh local pair (`generated`, for the banner to print); the region in AWS_REGION. Read before the
 * local environment gives the SDK its placeholder keys. Undefined when LOCAL_AUTH is unset or `none`.
 */
export const localAuthFromEnv = (env: NodeJS.ProcessEnv): (LocalAuth & { generated: boolean }) | undefined => {
  const mode = env.LOCAL_AUTH || 'none';
  if (mode === 'none') return undefined;
  if (mode !== 'sigv4') throw new Error(`LOCAL_AUTH must be "sigv4" or "none", not "${mode}"`);
  const region = env.AWS_REGION || SIGV4.defaultRegion;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
    return { keys: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }, region, generated: false };
  }
  const keys = {
    accessKeyId: `AKIALOCAL${randomBytes(6).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
  };
  return { keys, region, generated: true };
};
