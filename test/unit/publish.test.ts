import type { EventBridgeClient, PutEventsCommand, PutEventsRequestEntry, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { batchEntries, EVENTBRIDGE_LIMITS, entrySize, PublishError, putEntries, splitIntoEntries } from '../../functions/core/publish.ts';

const ENVELOPE = { Source: 'tpns.bindings', DetailType: 'TPNS Bindings Resolved' };

/** The detail shape the events handler uses: the slice is one array among other fields. */
const detailOf = (slice: readonly unknown[], part: number, parts: number) => ({
  correlationId: 'c-1',
  part,
  parts,
  accounts: slice,
  partial: false,
  region: 'guangzhou',
});

const details = (entries: { Detail?: string }[]) =>
  entries.map((entry) => JSON.parse(entry.Detail!) as { part: number; parts: number; accounts: unknown[] });

describe('entrySize: PutEvents size rule', () => {
  it('counts UTF-8 bytes of Source, DetailType, Detail and Resources, plus 14 for Time', () => {
    expect(entrySize({ Source: 'ab', DetailType: 'cde', Detail: '{"x":"é"}' })).toBe(2 + 3 + 10);
    expect(entrySize({ Source: 'ab', Resources: ['arn:1', '中'], Time: new Date(0) })).toBe(2 + 5 + 3 + 14);
    expect(entrySize({ EventBusName: 'not-counted', Detail: '{}' } as never)).toBe(2);
  });
});

describe('splitIntoEntries', () => {
  it('a result that fits is one entry, part 1 of 1, byte for byte the detail', () => {
    const items = [{ account: 'a1', tokens: ['t1'] }];
    const entries = splitIntoEntries(ENVELOPE, items, detailOf);
    expect(entries).toEqual([{ ...ENVELOPE, Detail: JSON.stringify(detailOf(items, 1, 1)) }]);
  });

  it('no items is still one entry (with an empty slice)', () => {
    expect(details(splitIntoEntries(ENVELOPE, [], detailOf))).toEqual([detailOf([], 1, 1)]);
  });

  it('fills each entry up to the limit exactly, counting the commas between items', () => {
    const item = 'x'.repeat(98); // 100 bytes as JSON
    const overhead = entrySize({ ...ENVELOPE, Detail: JSON.stringify(detailOf([], 9, 9)) });
    const limit = overhead + 3 * 100 + 2; // exactly three items and their two commas
    const entries = splitIntoEntries(ENVELOPE, Array(9).fill(item), detailOf, limit);
    expect(details(entries).map((d) => d.accounts.length)).toEqual([3, 3, 3]);
    expect(entries.every((entry) => entrySize(entry) === limit)).toBe(true);
    expect(details(splitIntoEntries(ENVELOPE, Array(9).fill(item), detailOf, limit - 1)).map((d) => d.accounts.length)).toEqual([
      2, 2, 2, 2, 1,
    ]);
  });

  it('an item that fills an entry on its own, to the byte, is one entry', () => {
    const item = 'x'.repeat(98);
    const limit = entrySize({ ...ENVELOPE, Detail: JSON.stringify(detailOf([item], 1, 1)) });
    expect(details(splitIntoEntries(ENVELOPE, [item], detailOf, limit))).toEqual([detailOf([item], 1, 1)]);
  });

  it('room is kept for part numbers of two digits and more', () => {
    const item = 'x'.repeat(98); // 100 bytes as JSON
    const items = Array(30).fill(item);
    // Two items and their comma overflow by one byte once the part numbers are two digits wide.
    const limit = entrySize({ ...ENVELOPE, Detail: JSON.stringify(detailOf([item, item], 30, 30)) }) - 1;
    const entries = splitIntoEntries(ENVELOPE, items, detailOf, limit);
    for (const entry of entries) expect(entrySize(entry)).toBeLessThanOrEqual(limit);
    expect(details(entries).map((d) => d.accounts.length)).toEqual(Array(30).fill(1));
  });

  it('an item too big for an entry of its own is refused, never cut', () => {
    expect(() => splitIntoEntries(ENVELOPE, ['ok', 'y'.repeat(2_000)], detailOf, 1_000)).toThrow(/item 1 needs \d+ bytes .* limit is 1000/);
  });

  it('10,000 realistic items over 256 KB: every entry under the limit, all items once and in order', () => {
    const items = Array.from({ length: 10_000 }, (_, i) => ({
      account: `user-${i}@example.com`,
      accountType: 0,
      status: 'ok',
      tokens: Array.from({ length: 4 }, (_, j) => `${String(i).padStart(8, '0')}-0000-4000-8000-${String(j).padStart(12, '0')}`),
    }));
    const entries = splitIntoEntries(ENVELOPE, items, detailOf);
    expect(entries.length).toBeGreaterThan(4);
    for (const entry of entries) expect(entrySize(entry)).toBeLessThanOrEqual(EVENTBRIDGE_LIMITS.maxEntryBytes);
    const parts = details(entries);
    expect(parts.map((d) => [d.part, d.parts])).toEqual(parts.map((_, i) => [i + 1, entries.length]));
    expect(parts.flatMap((d) => d.accounts)).toEqual(items);
  });

  it('property: any items, any limit that fits each item — entries within it, items once and in order, parts 1..N', () => {
    const item = fc.record({
      account: fc.string({ unit: 'grapheme', maxLength: 40 }),
      tokens: fc.array(fc.string({ unit: 'binary' }), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 300 }), fc.integer({ min: 0, max: 2_000 }), (items, room) => {
        const overhead = entrySize({
          ...ENVELOPE,
          Detail: JSON.stringify(detailOf([], Math.max(1, items.length), Math.max(1, items.length))),
        });
        const biggest = Math.max(0, ...items.map((i) => Buffer.byteLength(JSON.stringify(i))));
        const limit = overhead + biggest + room;
        const entries = splitIntoEntries(ENVELOPE, items, detailOf, limit);
        for (const entry of entries) expect(entrySize(entry)).toBeLessThanOrEqual(limit);
        const parts = details(entries);
        expect(parts.map((d) => [d.part, d.parts])).toEqual(parts.map((_, i) => [i + 1, entries.length]));
        expect(parts.flatMap((d) => d.accounts)).toEqual(items);
        // Greedy: no part could have taken the next part's first item.
        for (let i = 0; i + 1 < parts.length; i++) {
          const grown = { ...ENVELOPE, Detail: JSON.stringify(detailOf([...parts[i]!.accounts, parts[i + 1]!.accounts[0]], 1, 1)) };
          expect(entrySize(grown)).toBeGreaterThan(limit - 2 * String(items.length).length);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('batchEntries: PutEvents quotas per call', () => {
  it('property: at most 10 entries and 256 KB per call, every entry once and in order', () => {
    const entry = fc.integer({ min: 0, max: EVENTBRIDGE_LIMITS.maxEntryBytes - 100 }).map((n) => ({ ...ENVELOPE, Detail: 'd'.repeat(n) }));
    const small = fc.integer({ min: 0, max: 2_000 }).map((n) => ({ ...ENVELOPE, Detail: 's'.repeat(n) }));
    fc.assert(
      fc.property(fc.array(fc.oneof(entry, small, small, small), { maxLength: 60 }), (entries) => {
        const batches = batchEntries(entries);
        for (const batch of batches) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(EVENTBRIDGE_LIMITS.maxEntriesPerCall);
          expect(batch.reduce((sum, e) => sum + entrySize(e), 0)).toBeLessThanOrEqual(EVENTBRIDGE_LIMITS.maxCallBytes);
        }
        expect(batches.flat()).toEqual(entries);
      }),
      { numRuns: 200 },
    );
  });

  it('fills a call up to 256 KB exactly, and not a byte more', () => {
    const half = { ...ENVELOPE, Detail: 'd'.repeat(EVENTBRIDGE_LIMITS.maxCallBytes / 2 - entrySize(ENVELOPE)) };
    expect(batchEntries([half, half]).map((b) => b.length)).toEqual([2]);
    const overByOne = { ...half, Detail: `${half.Detail}d` };
    expect(batchEntries([half, overByOne]).map((b) => b.length)).toEqual([1, 1]);
  });

  it('an entry over the call limit on its own is still sent (for PutEvents to refuse), never as an empty call', () => {
    const huge = { ...ENVELOPE, Detail: 'h'.repeat(EVENTBRIDGE_LIMITS.maxCallBytes) };
    expect(batchEntries([huge])).toEqual([[huge]]);
  });

  it('packs small entries ten to a call', () => {
    const entries = Array.from({ length: 23 }, (_, i) => ({ ...ENVELOPE, Detail: `{"i":${i}}` }));
    expect(batchEntries(entries).map((b) => b.length)).toEqual([10, 10, 3]);
  });
});

/** A PutEvents client that answers each call with `answer(entries, call)` and records what was sent. */
const fakeEventBridge = (answer: (entries: PutEventsRequestEntry[], call: number) => (PutEventsResultEntry | undefined)[] | undefined) => {
  const sent: PutEventsRequestEntry[][] = [];
  const client = {
    send: async (command: PutEventsCommand) => {
      const entries = command.input.Entries ?? [];
      sent.push(entries);
      const results = answer(entries, sent.length);
      return results === undefined ? {} : { Entries: results };
    },
  } as unknown as EventBridgeClient;
  return { client, sent };
};

const accepted = (): PutEventsResultEntry => ({ EventId: crypto.randomUUID() });
const refused = (ErrorCode: string, ErrorMessage: string): PutEventsResultEntry => ({ ErrorCode, ErrorMessage });
const numbered = (count: number) => Array.from({ length: count }, (_, i) => ({ ...ENVELOPE, Detail: `{"i":${i}}` }));

describe('putEntries: PutEvents calls, refused entries re-sent', () => {
  beforeEach(() => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // no backoff wait
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('everything accepted: one call per batch, no retries', async () => {
    const { client, sent } = fakeEventBridge((entries) => entries.map(accepted));
    const entries = numbered(23);
    expect(await putEntries(client, entries)).toEqual({ calls: 3, retries: 0 });
    expect(sent).toEqual([entries.slice(0, 10), entries.slice(10, 20), entries.slice(20)]);
  });

  it('only the refused entries are sent again, and each retry is counted', async () => {
    const { client, sent } = fakeEventBridge((entries, call) =>
      entries.map((_, i) => (call === 1 && i !== 1 ? refused('InternalFailure', 'try again') : accepted())),
    );
    const entries = numbered(3);
    expect(await putEntries(client, entries)).toEqual({ calls: 2, retries: 1 });
    expect(sent).toEqual([entries, [entries[0], entries[2]]]);
  });

  it('entries an answer does not account for (no Entries, or too few) count as refused', async () => {
    const { client, sent } = fakeEventBridge((entries, call) =>
      call === 1 ? undefined : call === 2 ? [accepted()] : entries.map(accepted),
    );
    const entries = numbered(3);
    expect(await putEntries(client, entries)).toEqual({ calls: 3, retries: 2 });
    expect(sent).toEqual([entries, entries, entries.slice(1)]);
  });

  it('still refused after 3 retries: a PublishError with each distinct reason once', async () => {
    const { client, sent } = fakeEventBridge(() => [
      refused('ThrottlingException', 'Rate exceeded'),
      refused('ThrottlingException', 'Rate exceeded'),
    ]);
    const error = await putEntries(client, numbered(3)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).toMatchObject({
      name: 'PublishError',
      message: 'PutEvents refused 3 of 3 entries after 4 attempts (ThrottlingException: Rate exceeded; no result: )',
    });
    expect(sent.map((call) => call.length)).toEqual([3, 3, 3, 3]);
  });
});
