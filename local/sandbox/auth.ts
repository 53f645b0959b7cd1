import type { IncomingHttpHeaders } from 'node:http';
import { signRequest } from '../../functions/core/tpns/auth.ts';
import type { SandboxApp } from './seed-data.ts';

const basicCredentials = (headers: IncomingHttpHeaders): [string | undefined, string | undefined] | undefined => {
  const basic = /^Basic (.+)$/.exec(headers.authorization ?? '')?.[1];
  if (basic === undefined) return undefined;
  const [accessId, secretKey] = Buffer.from(basic, 'base64').toString().split(':');
  return [accessId, secretKey];
};

/** The AccessId a call says it is made with, by either scheme, before any check: what per-app faults go by. */
export const claimedAccessId = (headers: IncomingHttpHeaders): string | undefined => {
  const accessId = basicCredentials(headers)?.[0] ?? headers.accessid;
  return typeof accessId === 'string' ? accessId : undefined;
};

/**
 * The app a call authenticates as, by either TPNS scheme: HTTP Basic (AccessId:SecretKey), or the
 * AccessId/TimeStamp/Sign headers with the Sign recomputed over the exact body received.
 * undefined: TPNS refuses the call.
 */
export const authenticate = (apps: readonly SandboxApp[], headers: IncomingHttpHeaders, body: string): SandboxApp | undefined => {
  const basic = basicCredentials(headers);
  if (basic !== undefined) {
    const [accessId, secretKey] = basic;
    return apps.find((app) => app.accessId === accessId && app.secretKey === secretKey);
  }
  const { accessid: accessId, timestamp, sign } = headers;
  if (typeof accessId !== 'string' || typeof timestamp !== 'string' || typeof sign !== 'string') return undefined;
  const app = apps.find((candidate) => candidate.accessId === accessId);
  return app && signRequest(app.secretKey, timestamp, accessId, body) === sign ? app : undefined;
};
