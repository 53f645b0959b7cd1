import { describe, expect, it } from 'vitest';
import { parseSecret } from '../../functions/core/credentials.ts';
import { CredentialsError } from '../../functions/core/problems.ts';

/** The secret's two forms, validated: the problems name the app and the field, never a value. */

const SECRET_ID = 'team/tpns';
const KEY = 'very-secret-key-value';
const android = { name: 'android', accessId: '1500001048', secretKey: KEY, region: 'guangzhou', auth: 'sign' };
const ios = { name: 'ios', accessId: 1600002222, secretKey: `${KEY}-2`, region: 'hongkong' };

const problemOf = (raw: unknown): string => {
  try {
    parseSecret(raw, SECRET_ID);
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialsError);
    const { message } = error as Error;
    expect(message).not.toContain(KEY);
    return message;
  }
  throw new Error('the secret was accepted');
};

describe('the secret', () => {
  it('a single-app object is one app named "default", not in the apps form', () => {
    expect(parseSecret({ accessId: '1500001048', secretKey: KEY }, SECRET_ID)).toEqual({
      apps: [{ name: 'default', accessId: '1500001048', secretKey: KEY, region: undefined, auth: 'sign' }],
      appsForm: false,
    });
  });

  it('the apps form: every app in the secret’s order, region and auth optional per app, a numeric AccessId as text', () => {
    expect(parseSecret({ apps: [android, ios] }, SECRET_ID)).toEqual({
      apps: [
        { name: 'android', accessId: '1500001048', secretKey: KEY, region: 'guangzhou', auth: 'sign' },
        { name: 'ios', accessId: '1600002222', secretKey: `${KEY}-2`, region: 'hongkong', auth: 'sign' },
      ],
      appsForm: true,
    });
  });

  it('one app in the apps form is still the apps form', () => {
    expect(parseSecret({ apps: [android] }, SECRET_ID).appsForm).toBe(true);
  });

  it.each([
    ['a missing key', { apps: [android, { ...ios, secretKey: undefined }] }, 'apps[1]: "secretKey" (a non-empty string) is missing'],
    ['a duplicate name', { apps: [ios, android, { ...ios, accessId: '3' }] }, 'apps: duplicate name "ios"'],
    ['a bad name', { apps: [{ ...android, name: 'Android App' }] }, 'apps[0]: "name" must be 1 to 32 characters of a-z, 0-9, "_" and "-"'],
    ['a name too long', { apps: [{ ...android, name: 'a'.repeat(33) }] }, 'apps[0]: "name" must be'],
    ['a bad region', { apps: [android, { ...ios, region: 'mars' }] }, 'apps[1]: "region" must be one of'],
    ['a bad auth', { apps: [{ ...android, auth: 'none' }] }, 'apps[0]: "auth" must be "sign" or "basic"'],
    ['an entry that is no object', { apps: [android, KEY] }, 'apps[1]: must be an object'],
    ['no apps', { apps: [] }, '"apps" must be an array of 1 to 10 apps'],
    [
      'eleven apps',
      { apps: Array.from({ length: 11 }, (_, i) => ({ ...android, name: `app${i}` })) },
      '"apps" must be an array of 1 to 10 apps',
    ],
    [
      'both forms at once',
      { apps: [android], accessId: '1', secretKey: KEY },
      '"apps" and a single app\'s "accessId"/"secretKey" cannot be combined',
    ],
    ['the single form without its key', { accessId: '1' }, '"secretKey" (a non-empty string) is missing'],
  ])('%s: a 503 naming the app and the field', (_name, raw, detail) => {
    const message = problemOf(raw);
    expect(message).toContain(`secret "${SECRET_ID}"`);
    expect(message).toContain(detail);
  });

  it('ten apps are accepted', () => {
    const apps = Array.from({ length: 10 }, (_, i) => ({ ...android, name: `app_${i}-x` }));
    expect(parseSecret({ apps }, SECRET_ID).apps.map((app) => app.name)).toEqual(apps.map((app) => app.name));
  });
});
