import { describe, expect, it } from 'vitest';
import { parseQueryEvent } from '../../functions/core/query-events.ts';
import { parseAppParameter, parseQueryBody } from '../../functions/core/request.ts';
import { rejection } from './_fixtures.ts';

/** The `apps` filter of the POST bodies and the query event, and a GET's `?app=`: their shape, before any secret is read. */

describe('"apps" in the three bodies', () => {
  it.each([
    [{ accounts: ['a1'], apps: ['ios'] }, 'accounts'],
    [{ tokens: ['t1'], apps: ['ios'] }, 'tokens'],
    [{ operator_type: 1, account_list: [{ account: 'a1' }], apps: ['ios'] }, 'accounts'],
    [{ operator_type: 2, token_list: ['t1'], apps: ['ios'] }, 'tokens'],
  ])('%j: the names, and which field they came in', (body, kind) => {
    expect(parseQueryBody(body)).toMatchObject({ kind, apps: { names: ['ios'], field: 'apps' } });
  });

  it('without "apps", the query names no app (every app is asked)', () => {
    expect(parseQueryBody({ tokens: ['t1'] })).not.toHaveProperty('apps');
  });

  it.each([
    [{ tokens: ['t1'], apps: [] }, 'apps must list at least one app'],
    [{ tokens: ['t1'], apps: 'ios' }, 'apps must be an array of app names'],
    [{ tokens: ['t1'], apps: ['ios', 7] }, 'apps[1] must be an app name (a string)'],
    [{ tokens: ['t1'], apps: ['iOS'] }, 'apps[0] must be an app name: 1 to 32 characters of a-z, 0-9, "_" and "-"'],
    [{ tokens: ['t1'], apps: ['android', 'ios', 'android'] }, 'apps[2] repeats "android"; name each app once'],
    [{ tokens: ['t1'], apps: Array.from({ length: 11 }, (_, i) => `app${i}`) }, 'apps must list at most 10 apps'],
  ])('%j → 400: %s', (body, detail) => {
    expect(rejection(() => parseQueryBody(body))).toContain(detail);
  });

  it('the Query Requested event takes it too', () => {
    const event = { 'detail-type': 'TPNS Bindings Query Requested', detail: { correlationId: 'c1', tokens: ['t1'], apps: ['android'] } };
    expect(parseQueryEvent(event)).toMatchObject({ kind: 'tokens', apps: { names: ['android'], field: 'apps' } });
    expect(rejection(() => parseQueryEvent({ ...event, detail: { tokens: ['t1'], apps: ['a', 'a'] } }))).toBe(
      'apps[1] repeats "a"; name each app once',
    );
  });
});

describe('?app= on the GET routes', () => {
  it('one name, or several separated by commas', () => {
    expect(parseAppParameter('ios')).toEqual({ names: ['ios'], field: 'app' });
    expect(parseAppParameter('android,ios')).toEqual({ names: ['android', 'ios'], field: 'app' });
    expect(parseAppParameter(undefined)).toBeUndefined();
  });

  it.each(['', 'ios,', 'android,,ios', 'iOS', 'a b', Array.from({ length: 11 }, (_, i) => `a${i}`).join(',')])('%j → 400', (value) => {
    expect(rejection(() => parseAppParameter(value))).toBe(
      'app must be up to 10 app names separated by commas, each 1 to 32 characters of a-z, 0-9, "_" and "-"',
    );
  });

  it('a name given twice → 400', () => {
    expect(rejection(() => parseAppParameter('ios,android,ios'))).toBe('app repeats "ios"; name each app once');
  });
});
