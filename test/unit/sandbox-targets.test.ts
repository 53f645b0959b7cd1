import { request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTpnsSandbox, type TpnsSandbox } from '../../local/sandbox/tpns.ts';

let sandbox: TpnsSandbox;
beforeAll(async () => {
  sandbox = await startTpnsSandbox();
});
afterAll(() => sandbox.close());

/** Sends a raw request target, as a careless client or a scanner would, without fetch's normalization. */
const statusFor = (target: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = request(`${sandbox.url}/`, { method: 'POST', path: target }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('{}');
  });

it('answers odd request targets with an HTTP status and keeps serving', async () => {
  for (const target of ['//', '//evil.example/v3/device/account/query', '/%', '*']) {
    expect(await statusFor(target)).toBeGreaterThanOrEqual(400);
  }
  // Still alive: an unsigned call to the real path gets TPNS's own refusal, not a dropped connection.
  expect(await statusFor('/v3/device/account/query')).toBe(200);
});
