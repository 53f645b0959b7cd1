import { describe, expect, it } from 'vitest';
import { collectParts, isFailedEvent, isResolvedEvent, type ResolvedDetail } from '../../client/index.ts';
import { FAILED_DETAIL_TYPE, RESOLVED_DETAIL_TYPE, RESULT_SOURCE } from '../../functions/contract.ts';

const item = (account: string) => ({ account, accountType: 0, status: 'ok' as const, tokens: [`t-${account}`] });
const part = (correlationId: string, n: number, parts: number, accounts: string[], extra: Partial<ResolvedDetail> = {}) =>
  ({
    correlationId,
    part: n,
    parts,
    accounts: accounts.map(item),
    partial: false,
    region: 'guangzhou',
    requestId: 'r1',
    ...extra,
  }) as ResolvedDetail;

describe('collectParts', () => {
  it('completes at `parts` distinct parts, whatever their order and duplicates, items in part order', () => {
    const parts = collectParts();
    expect(parts.add(part('c1', 3, 3, ['e']))).toBeUndefined();
    expect(parts.add(part('c1', 1, 3, ['a', 'b']))).toBeUndefined();
    expect(parts.add(part('c1', 1, 3, ['a', 'b']))).toBeUndefined(); // delivered twice: still two of three
    expect(parts.pending()).toEqual(['c1']);
    const whole = parts.add(part('c1', 2, 3, ['c', 'd'], { partial: true }));
    expect(whole).toEqual({
      correlationId: 'c1',
      accounts: ['a', 'b', 'c', 'd', 'e'].map(item),
      partial: true,
      region: 'guangzhou',
      requestIds: ['r1'],
    });
    expect(parts.pending()).toEqual([]);
    expect(parts.add(part('c1', 2, 3, ['c', 'd']))).toBeUndefined(); // a late duplicate: already answered
  });

  it('keeps correlation ids apart, and the parts of a retried answer (another requestId) apart from the first', () => {
    const parts = collectParts();
    expect(parts.add(part('c1', 1, 2, ['a']))).toBeUndefined();
    expect(parts.add(part('c2', 1, 1, ['z']))).toMatchObject({ correlationId: 'c2', accounts: [item('z')] });
    expect(parts.add(part('c1', 2, 2, ['b', 'c'], { requestId: 'r2' }))).toBeUndefined();
    expect(parts.add(part('c1', 2, 2, ['b']))).toMatchObject({ accounts: ['a', 'b'].map(item), requestIds: ['r1'] });
  });
});

describe('the result event guards', () => {
  it('tell Failed from Resolved by source and detail-type', () => {
    const failed = { source: RESULT_SOURCE, 'detail-type': FAILED_DETAIL_TYPE, detail: {} };
    const resolved = { source: RESULT_SOURCE, 'detail-type': RESOLVED_DETAIL_TYPE, detail: {} };
    expect([isFailedEvent(failed), isResolvedEvent(failed)]).toEqual([true, false]);
    expect([isFailedEvent(resolved), isResolvedEvent(resolved)]).toEqual([false, true]);
    expect(isFailedEvent({ ...failed, source: 'com.example.forger' })).toBe(false);
  });
});
