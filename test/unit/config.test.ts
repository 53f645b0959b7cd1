import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../../functions/contract.ts';
import { readConfig } from '../../functions/core/config.ts';

const BASE = { TPNS_SECRET_ID: 'tpns/prod' };

const configError = (env: NodeJS.ProcessEnv): string => {
  let thrown: unknown;
  try {
    readConfig(env);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'readConfig should throw').toBeInstanceOf(Error);
  const message = (thrown as Error).message;
  expect(message).toMatch(/^invalid configuration: /);
  return message;
};

describe('readConfig: defaults', () => {
  it('unset variables take the contract defaults; no endpoint', () => {
    expect(readConfig({ ...BASE })).toEqual({ secretId: 'tpns/prod', endpoint: undefined, ...CONFIG_DEFAULTS });
  });

  it('empty strings count as unset', () => {
    expect(readConfig({ ...BASE, TPNS_ENDPOINT: '', TPNS_MAX_BATCH: '', TPNS_CONCURRENCY: '' })).toEqual({
      secretId: 'tpns/prod',
      endpoint: undefined,
      maxBatch: 100,
      concurrency: 8,
      adaptiveConcurrency: true,
      secretRereadCooldownMs: 10_000,
      breakerFailures: 10,
      breakerCooldownMs: 5_000,
    });
  });

  it('ignores unrelated variables', () => {
    expect(readConfig({ ...BASE, PATH: '/usr/bin', AWS_REGION: 'eu-west-1' }).maxBatch).toBe(100);
  });

  it('reads process.env when given nothing', () => {
    const saved = { ...process.env };
    try {
      process.env.TPNS_SECRET_ID = 'from-process-env';
      process.env.TPNS_CONCURRENCY = '3';
      delete process.env.TPNS_MAX_BATCH;
      delete process.env.TPNS_ENDPOINT;
      expect(readConfig()).toMatchObject({ secretId: 'from-process-env', endpoint: undefined, maxBatch: 100, concurrency: 3 });
    } finally {
      for (const key of ['TPNS_SECRET_ID', 'TPNS_CONCURRENCY', 'TPNS_MAX_BATCH', 'TPNS_ENDPOINT']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });
});

describe('readConfig: overrides', () => {
  it('reads every variable', () => {
    expect(
      readConfig({
        TPNS_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tpns-AbCdEf',
        TPNS_ENDPOINT: 'http://127.0.0.1:4100',
        TPNS_MAX_BATCH: '20',
        TPNS_CONCURRENCY: '2',
        TPNS_SECRET_REREAD_COOLDOWN_MS: '2500',
        TPNS_ADAPTIVE_CONCURRENCY: 'false',
        TPNS_BREAKER_FAILURES: '3',
        TPNS_BREAKER_COOLDOWN_MS: '750',
      }),
    ).toEqual({
      secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tpns-AbCdEf',
      endpoint: 'http://127.0.0.1:4100',
      maxBatch: 20,
      concurrency: 2,
      adaptiveConcurrency: false,
      secretRereadCooldownMs: 2_500,
      breakerFailures: 3,
      breakerCooldownMs: 750,
    });
  });

  it('keeps a {region} placeholder in the endpoint for the client to fill', () => {
    expect(readConfig({ ...BASE, TPNS_ENDPOINT: 'https://proxy.example/{region}' }).endpoint).toBe('https://proxy.example/{region}');
  });

  it('accepts {region} as the whole host (one stand-in per region, named after it)', () => {
    expect(readConfig({ ...BASE, TPNS_ENDPOINT: 'http://{region}:4100' }).endpoint).toBe('http://{region}:4100');
  });

  it.each([
    ['TPNS_MAX_BATCH', '1', 'maxBatch', 1],
    ['TPNS_MAX_BATCH', '10000', 'maxBatch', 10_000],
    ['TPNS_CONCURRENCY', '1', 'concurrency', 1],
    ['TPNS_CONCURRENCY', '64', 'concurrency', 64],
    ['TPNS_SECRET_REREAD_COOLDOWN_MS', '0', 'secretRereadCooldownMs', 0],
    ['TPNS_SECRET_REREAD_COOLDOWN_MS', '300000', 'secretRereadCooldownMs', 300_000],
    ['TPNS_ADAPTIVE_CONCURRENCY', 'true', 'adaptiveConcurrency', true],
    ['TPNS_ADAPTIVE_CONCURRENCY', 'false', 'adaptiveConcurrency', false],
    ['TPNS_BREAKER_FAILURES', '1', 'breakerFailures', 1],
    ['TPNS_BREAKER_FAILURES', '1000', 'breakerFailures', 1_000],
    ['TPNS_BREAKER_COOLDOWN_MS', '100', 'breakerCooldownMs', 100],
    ['TPNS_BREAKER_COOLDOWN_MS', '300000', 'breakerCooldownMs', 300_000],
  ] as const)('%s=%s is accepted (bound)', (name, value, field, expected) => {
    expect(readConfig({ ...BASE, [name]: value })[field]).toBe(expected);
  });
});

describe('readConfig: invalid values name the variable', () => {
  it.each([
    ['missing', {}],
    ['empty', { TPNS_SECRET_ID: '' }],
  ])('TPNS_SECRET_ID %s', (_, env) => {
    expect(configError(env)).toContain('TPNS_SECRET_ID');
  });

  it.each([
    'ftp://tpns.example',
    'xhttp://tpns.example',
    'https+unix://tpns.example',
    'api.tpns.tencent.com',
    'https://',
    '//api.tpns.tencent.com',
    'javascript:alert(1)',
  ])('TPNS_ENDPOINT=%s', (value) => {
    expect(configError({ ...BASE, TPNS_ENDPOINT: value })).toContain('TPNS_ENDPOINT must be an http(s) URL');
  });

  it.each(['http://exa mple.com', 'http://host:99999', 'http://[::1'])('TPNS_ENDPOINT=%s (not a parseable URL)', (value) => {
    // A value that `new URL` rejects would make every TPNS call fail at run time instead of at init.
    expect(configError({ ...BASE, TPNS_ENDPOINT: value })).toContain('TPNS_ENDPOINT');
  });

  it.each(['0', '-1', '10001', '1.5', 'abc', 'Infinity', 'NaN', '   '])('TPNS_MAX_BATCH=%j', (value) => {
    expect(configError({ ...BASE, TPNS_MAX_BATCH: value })).toContain('TPNS_MAX_BATCH must be an integer from 1 to 10000');
  });

  it.each(['0', '65', '2.5', 'eight', '-8'])('TPNS_CONCURRENCY=%j', (value) => {
    expect(configError({ ...BASE, TPNS_CONCURRENCY: value })).toContain('TPNS_CONCURRENCY must be an integer from 1 to 64');
  });

  it.each(['-1', '300001', '1.5', 'ten'])('TPNS_SECRET_REREAD_COOLDOWN_MS=%j', (value) => {
    expect(configError({ ...BASE, TPNS_SECRET_REREAD_COOLDOWN_MS: value })).toContain(
      'TPNS_SECRET_REREAD_COOLDOWN_MS must be an integer from 0 to 300000',
    );
  });

  it.each(['0', 'yes', 'TRUE', 'off'])('TPNS_ADAPTIVE_CONCURRENCY=%j', (value) => {
    expect(configError({ ...BASE, TPNS_ADAPTIVE_CONCURRENCY: value })).toContain('TPNS_ADAPTIVE_CONCURRENCY must be "true" or "false"');
  });

  it.each(['0', '1001', '2.5', 'ten'])('TPNS_BREAKER_FAILURES=%j', (value) => {
    expect(configError({ ...BASE, TPNS_BREAKER_FAILURES: value })).toContain('TPNS_BREAKER_FAILURES must be an integer from 1 to 1000');
  });

  it.each(['99', '300001', '1.5', 'five'])('TPNS_BREAKER_COOLDOWN_MS=%j', (value) => {
    expect(configError({ ...BASE, TPNS_BREAKER_COOLDOWN_MS: value })).toContain(
      'TPNS_BREAKER_COOLDOWN_MS must be an integer from 100 to 300000',
    );
  });

  it('lists every problem at once', () => {
    const message = configError({ TPNS_MAX_BATCH: 'x', TPNS_CONCURRENCY: '0', TPNS_ENDPOINT: 'ftp://x' });
    for (const name of ['TPNS_SECRET_ID', 'TPNS_ENDPOINT', 'TPNS_MAX_BATCH', 'TPNS_CONCURRENCY']) expect(message).toContain(name);
  });

  it('separates the problems with "; "', () => {
    expect(configError({ ...BASE, TPNS_MAX_BATCH: '0', TPNS_CONCURRENCY: '0' })).toBe(
      'invalid configuration: TPNS_MAX_BATCH must be an integer from 1 to 10000; TPNS_CONCURRENCY must be an integer from 1 to 64',
    );
  });

  it('does not echo the invalid value', () => {
    const message = configError({ ...BASE, TPNS_MAX_BATCH: 'hunter2-not-a-number' });
    expect(message).not.toContain('hunter2');
  });
});
