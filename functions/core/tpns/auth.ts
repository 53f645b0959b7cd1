import { createHmac } from 'node:crypto';

export type AuthScheme = 'sign' | 'basic';

export interface TpnsCredentials {
  accessId: string;
  secretKey: string;
}

/**
 * Tencent's request signature: base64 of the lower-case hex HMAC-SHA256 of
 * TimeStamp + AccessId + body, keyed by the SecretKey. The base64 is taken of the
 * 64-character hex string, not of the raw digest — the detail most clients get wrong.
 */
export const signRequest = (secretKey: string, timestamp: string, accessId: string, body: string): string => {
  const hex = createHmac('sha256', secretKey)
    .update(timestamp + accessId + body)
    .digest('hex');
  return Buffer.from(hex).toString('base64');
};

/** Headers that authenticate one call (Tencent's casing); `body` must be the exact bytes sent. */
export const authHeaders = (
  credentials: TpnsCredentials,
  scheme: AuthScheme,
  body: string,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Record<string, string> => {
  if (scheme === 'basic') {
    const token = Buffer.from(`${credentials.accessId}:${credentials.secretKey}`).toString('base64');
    return { Authorization: `Basic ${token}` };
  }
  const timestamp = String(nowSeconds);
  return {
    AccessId: credentials.accessId,
    TimeStamp: timestamp,
    Sign: signRequest(credentials.secretKey, timestamp, credentials.accessId, body),
  };
};
