import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authHeaders, signRequest } from '../../functions/core/tpns/auth.ts';
import { fixture } from './_fixtures.ts';

// Tencent's own example, spelled out here so a change to the fixture cannot silently move the target.
const TIMESTAMP = '1565314789';
const ACCESS_ID = '1500001048';
const SECRET_KEY = '1452fcebae9f3115ba794fb0fff2fd73';
const BODY =
  '{"audience_type": "account","platform": "android","message": {"title": "test title","content": "test content","android": { "action": {"action_type": 3,"intent": "xgscheme://com.xg.push/notify_detail?param1=xg"}}},"message_type": "notify","account_list": ["5822f0eee44c3625ef0000bb"] }';
const HEX = 'cd20774682bf78bfdb43e17d1d5d56b3e5b789a1670fc1527ef54c65d2d7b76d';
const SIGN = 'Y2QyMDc3NDY4MmJmNzhiZmRiNDNlMTdkMWQ1ZDU2YjNlNWI3ODlhMTY3MGZjMTUyN2VmNTRjNjVkMmQ3Yjc2ZA==';

const credentials = { accessId: ACCESS_ID, secretKey: SECRET_KEY };

describe('signRequest: Tencent test vector', () => {
  it('reproduces the documented Sign exactly', () => {
    expect(signRequest(SECRET_KEY, TIMESTAMP, ACCESS_ID, BODY)).toBe(SIGN);
  });

  it('the Sign is base64 of the 64-character lower-case hex HMAC, not of the raw digest', () => {
    const sign = signRequest(SECRET_KEY, TIMESTAMP, ACCESS_ID, BODY);
    const decoded = Buffer.from(sign, 'base64').toString('utf8');
    expect(decoded).toBe(HEX);
    expect(decoded).toMatch(/^[0-9a-f]{64}$/);
    const rawDigestBase64 = createHmac('sha256', SECRET_KEY)
      .update(TIMESTAMP + ACCESS_ID + BODY)
      .digest('base64');
    expect(sign).not.toBe(rawDigestBase64);
  });

  it('the shared fixture holds the same vector', () => {
    const v = fixture<Record<string, string>>('tpns-sign-vector.json');
    expect(v).toMatchObject({ timestamp: TIMESTAMP, accessId: ACCESS_ID, secretKey: SECRET_KEY, body: BODY, hexHmac: HEX, sign: SIGN });
  });

  it('signs TimeStamp + AccessId + body in that order (not AccessId first)', () => {
    const swapped = signRequest(SECRET_KEY, ACCESS_ID, TIMESTAMP, BODY);
    expect(swapped).not.toBe(SIGN);
  });

  it('is sensitive to every byte of the body, spaces included', () => {
    expect(signRequest(SECRET_KEY, TIMESTAMP, ACCESS_ID, BODY.replace('] }', ']}'))).not.toBe(SIGN);
    expect(signRequest(SECRET_KEY, TIMESTAMP, ACCESS_ID, JSON.stringify(JSON.parse(BODY)))).not.toBe(SIGN);
  });

  it('without the "platform" field (the newer doc edition) the documented Sign does not hold', () => {
    const withoutPlatform = BODY.replace('"platform": "android",', '');
    expect(signRequest(SECRET_KEY, TIMESTAMP, ACCESS_ID, withoutPlatform)).not.toBe(SIGN);
  });

  it('depends on the key', () => {
    expect(signRequest(SECRET_KEY.replace(/3$/, '4'), TIMESTAMP, ACCESS_ID, BODY)).not.toBe(SIGN);
  });

  it('hashes the body as UTF-8', () => {
    const body = '{"operator_type":1,"account_list":[{"account":"用户@例子.com","account_type":0}]}';
    const expected = Buffer.from(
      createHmac('sha256', SECRET_KEY)
        .update(Buffer.from(TIMESTAMP + ACCESS_ID + body, 'utf8'))
        .digest('hex'),
    ).toString('base64');
    expect(signRequest(SECRET_KEY, TIMESTAMP, ACCESS_ID, body)).toBe(expected);
  });
});

describe('authHeaders: signature scheme', () => {
  it('gives exactly AccessId, TimeStamp and Sign, with Tencent casing', () => {
    const headers = authHeaders(credentials, 'sign', BODY, Number(TIMESTAMP));
    expect(headers).toEqual({ AccessId: ACCESS_ID, TimeStamp: TIMESTAMP, Sign: SIGN });
  });

  it('does not carry the SecretKey or an Authorization header', () => {
    const headers = authHeaders(credentials, 'sign', BODY, Number(TIMESTAMP));
    expect(Object.keys(headers).map((k) => k.toLowerCase())).not.toContain('authorization');
    expect(JSON.stringify(headers)).not.toContain(SECRET_KEY);
  });

  it('the Sign changes with the body', () => {
    const a = authHeaders(credentials, 'sign', '{"operator_type":2,"token_list":["t1"]}', 1_700_000_000);
    const b = authHeaders(credentials, 'sign', '{"operator_type":2,"token_list":["t2"]}', 1_700_000_000);
    expect(a.TimeStamp).toBe(b.TimeStamp);
    expect(a.Sign).not.toBe(b.Sign);
  });

  it('the Sign and TimeStamp change with the timestamp', () => {
    const a = authHeaders(credentials, 'sign', BODY, 1_700_000_000);
    const b = authHeaders(credentials, 'sign', BODY, 1_700_000_001);
    expect(a.TimeStamp).toBe('1700000000');
    expect(b.TimeStamp).toBe('1700000001');
    expect(a.Sign).not.toBe(b.Sign);
    expect(b.Sign).toBe(signRequest(SECRET_KEY, '1700000001', ACCESS_ID, BODY));
  });

  it('defaults the timestamp to the current Unix time in whole seconds', () => {
    const before = Math.floor(Date.now() / 1000);
    const headers = authHeaders(credentials, 'sign', BODY);
    const after = Math.floor(Date.now() / 1000);
    expect(headers.TimeStamp).toMatch(/^\d{10}$/);
    expect(Number(headers.TimeStamp)).toBeGreaterThanOrEqual(before);
    expect(Number(headers.TimeStamp)).toBeLessThanOrEqual(after);
    expect(headers.Sign).toBe(signRequest(SECRET_KEY, headers.TimeStamp!, ACCESS_ID, BODY));
  });
});

describe('authHeaders: Basic scheme', () => {
  it('gives only Authorization: Basic base64(AccessId:SecretKey)', () => {
    const headers = authHeaders(credentials, 'basic', BODY, Number(TIMESTAMP));
    expect(headers).toEqual({ Authorization: `Basic ${Buffer.from(`${ACCESS_ID}:${SECRET_KEY}`).toString('base64')}` });
    expect(headers.Authorization).toBe('Basic MTUwMDAwMTA0ODoxNDUyZmNlYmFlOWYzMTE1YmE3OTRmYjBmZmYyZmQ3Mw==');
  });

  it('does not depend on the body or the time', () => {
    expect(authHeaders(credentials, 'basic', 'a', 1)).toEqual(authHeaders(credentials, 'basic', 'b', 2));
  });

  it('encodes non-ASCII credentials as UTF-8', () => {
    const headers = authHeaders({ accessId: 'id', secretKey: 'clé' }, 'basic', '');
    expect(Buffer.from(headers.Authorization!.replace(/^Basic /, ''), 'base64').toString('utf8')).toBe('id:clé');
  });
});
