import { describe, expect, it } from 'vitest';
import { parseSecret } from '../../functions/core/credentials.ts';
import { CredentialsError } from '../../functions/core/problems.ts';

const ID = 'tpns/prod';
const VALID = { accessId: '1500001048', secretKey: '1452fcebae9f3115ba794fb0fff2fd73' };

/** Runs parseSecret on `raw`, expects a 503 CredentialsError and returns its message. */
const refusal = (raw: unknown): string => {
  let thrown: unknown;
  try {
    parseSecret(raw, ID);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a CredentialsError').toBeInstanceOf(CredentialsError);
  expect((thrown as CredentialsError).status).toBe(503);
  return (thrown as CredentialsError).message;
};

describe('parseSecret: what a usable secret gives', () => {
  it('accessId and secretKey as given; no region (discover it); the signature scheme by default', () => {
    expect(parseSecret({ ...VALID }, ID)).toEqual({
      apps: [{ name: 'default', ...VALID, region: undefined, auth: 'sign' }],
      appsForm: false,
    });
  });

  it('keeps the region and the Basic scheme when the secret names them', () => {
    expect(parseSecret({ ...VALID, region: 'hongkong', auth: 'basic' }, ID).apps[0]).toEqual({
      name: 'default',
      ...VALID,
      region: 'hongkong',
      auth: 'basic',
    });
    expect(parseSecret({ ...VALID, auth: 'sign' }, ID).apps[0].auth).toBe('sign');
  });

  it('a numeric accessId (as the console shows it) becomes its decimal string', () => {
    expect(parseSecret({ ...VALID, accessId: 1500001048 }, ID).apps[0].accessId).toBe('1500001048');
  });

  it('the same secret object parses to the same credentials object (refresh compares by identity)', () => {
    const raw = { ...VALID };
    expect(parseSecret(raw, ID)).toBe(parseSecret(raw, ID));
    expect(parseSecret({ ...VALID }, ID)).not.toBe(parseSecret(raw, ID));
  });
});

describe('parseSecret: an unusable secret is a 503 naming the secret and the field', () => {
  it.each([
    ['null', null],
    ['a string', 'accessId:secretKey'],
    ['a number', 1500001048],
    ['an array', [VALID]],
    ['undefined', undefined],
  ])('not a JSON object: %s', (_, raw) => {
    expect(refusal(raw)).toBe(
      `secret "${ID}" must hold a JSON object {"accessId", "secretKey", "region"?, "auth"?} or {"apps": [{"name", "accessId", "secretKey", "region"?, "auth"?}, ...]}`,
    );
  });

  it.each([
    ['missing', {}],
    ['empty', { accessId: '' }],
    ['a boolean', { accessId: true }],
    ['a fractional number', { accessId: 1.5 }],
    ['a number beyond exact integers', { accessId: 2 ** 53 }],
    ['an object', { accessId: { id: '1' } }],
  ])('accessId %s', (_, fields) => {
    expect(refusal({ ...VALID, accessId: undefined, ...fields })).toBe(`secret "${ID}": "accessId" (a non-empty string) is missing`);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 1452],
  ])('secretKey %s', (_, secretKey) => {
    expect(refusal({ ...VALID, secretKey })).toBe(`secret "${ID}": "secretKey" (a non-empty string) is missing`);
  });

  it.each([
    ['unknown', 'beijing'],
    ['in another case', 'Guangzhou'],
    ['a list holding a region', ['shanghai']],
    ['a name every object inherits', 'toString'],
    ['null', null],
  ])('region %s', (_, region) => {
    expect(refusal({ ...VALID, region })).toBe(`secret "${ID}": "region" must be one of guangzhou, shanghai, hongkong, singapore`);
  });

  it.each(['hmac', 'Basic', '', null])('auth %j', (auth) => {
    expect(refusal({ ...VALID, auth })).toBe(`secret "${ID}": "auth" must be "sign" or "basic"`);
  });

  it('lists every problem at once, in field order', () => {
    expect(refusal({ region: 'mars', auth: 'none' })).toBe(
      `secret "${ID}": "accessId" (a non-empty string) is missing; "secretKey" (a non-empty string) is missing; ` +
        '"region" must be one of guangzhou, shanghai, hongkong, singapore; "auth" must be "sign" or "basic"',
    );
  });

  it('never echoes what the secret holds', () => {
    const message = refusal({ accessId: 'id-visible-in-console', secretKey: '', region: 'k3y-material' });
    expect(message).not.toContain('k3y-material');
    expect(message).not.toContain('id-visible-in-console');
  });
});
