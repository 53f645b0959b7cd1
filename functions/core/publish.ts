import { setTimeout as sleep } from 'node:timers/promises';
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { backoffDelayMs } from './backoff.ts';

/*
 * No logger or metrics here on purpose: the local AWS stand-in imports the size rule, and the
 * Powertools singletons must not be created before the local tools have set their environment.
 */

/** EventBridge's PutEvents quotas, both sizes measured with `entrySize`. */
export const EVENTBRIDGE_LIMITS = {
  maxEntryBytes: 256 * 1024,
  maxEntriesPerCall: 10,
  maxCallBytes: 256 * 1024,
} as const;

/** Entries PutEvents answers as failed are sent again this many times, with full-jitter backoff. */
export const PUBLISH_RETRY = {
  maxRetries: 3,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
} as const;

/** What the size rule reads; `Time` counts whatever its form (a Date here, a number on the wire). */
export type SizedEntry = Pick<PutEventsRequestEntry, 'Source' | 'DetailType' | 'Detail' | 'Resources'> & { Time?: unknown };

/** PutEvents' size rule: Source + DetailType + Detail + Resources, UTF-8 bytes, plus 14 for Time. */
export const entrySize = (entry: SizedEntry): number =>
  (entry.Time !== undefined ? 14 : 0) +
  Buffer.byteLength(entry.Source ?? '') +
  Buffer.byteLength(entry.DetailType ?? '') +
  Buffer.byteLength(entry.Detail ?? '') +
  (entry.Resources ?? []).reduce((sum, r) => sum + Buffer.byteLength(r), 0);

/**
 * Spreads `items` over as few entries as `maxBytes` allows, in order, never dropping or cutting
 * one. `detailOf(slice, part, parts)` builds each entry's detail and must hold `slice` as one
 * JSON array, so each item adds its own JSON bytes plus a comma. A single item too big for an
 * entry of its own is a RangeError: nothing short of truncation could publish it.
 */
export const splitIntoEntries = <T>(
  envelope: Omit<PutEventsRequestEntry, 'Detail'>,
  items: readonly T[],
  detailOf: (slice: readonly T[], part: number, parts: number) => object,
  maxBytes: number = EVENTBRIDGE_LIMITS.maxEntryBytes,
): PutEventsRequestEntry[] => {
  // Every part holds at least one item, so no part number is wider than items.length.
  const widest = Math.max(1, items.length);
  const overhead = entrySize({ ...envelope, Detail: JSON.stringify(detailOf([], widest, widest)) });
  const slices: T[][] = [];
  let slice: T[] = [];
  let size = overhead;
  items.forEach((item, index) => {
    const itemBytes = Buffer.byteLength(JSON.stringify(item));
    if (overhead + itemBytes > maxBytes) {
      throw new RangeError(`item ${index} needs ${overhead + itemBytes} bytes as an event of its own; the limit is ${maxBytes}`);
    }
    if (slice.length > 0 && size + 1 + itemBytes > maxBytes) {
      slices.push(slice);
      slice = [];
      size = overhead;
    }
    size += (slice.length > 0 ? 1 : 0) + itemBytes;
    slice.push(item);
  });
  slices.push(slice);
  return slices.map((part, i) => ({ ...envelope, Detail: JSON.stringify(detailOf(part, i + 1, slices.length)) }));
};

/** Groups entries, in order, into PutEvents calls within both per-call quotas. */
export const batchEntries = <E extends SizedEntry>(entries: readonly E[]): E[][] => {
  const batches: E[][] = [];
  let batch: E[] = [];
  let size = 0;
  for (const entry of entries) {
    const bytes = entrySize(entry);
    if (batch.length === EVENTBRIDGE_LIMITS.maxEntriesPerCall || (batch.length > 0 && size + bytes > EVENTBRIDGE_LIMITS.maxCallBytes)) {
      batches.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(entry);
    size += bytes;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
};

/** Some entries were still refused after their retries; Lambda's async retries take over. */
export class PublishError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'PublishError';
  }
}

/**
 * Sends the entries in as few PutEvents calls as the quotas allow. An answer with failed
 * entries is retried for those entries only, so each entry is accepted at most once per run.
 * Whole-call errors are the SDK's to retry (its standard retry mode) and propagate after.
 * `retries` counts the calls that re-sent refused entries.
 */
export const putEntries = async (
  client: EventBridgeClient,
  entries: readonly PutEventsRequestEntry[],
): Promise<{ calls: number; retries: number }> => {
  let calls = 0;
  let retries = 0;
  for (const batch of batchEntries(entries)) {
    let pending = batch;
    for (let attempt = 0; ; attempt++) {
      calls++;
      const { Entries: results = [] } = await client.send(new PutEventsCommand({ Entries: pending }));
      const failed = pending.map((entry, i) => ({ entry, result: results[i] })).filter(({ result }) => result?.EventId === undefined);
      if (failed.length === 0) break;
      if (attempt >= PUBLISH_RETRY.maxRetries) {
        const reasons = [...new Set(failed.map(({ result }) => `${result?.ErrorCode ?? 'no result'}: ${result?.ErrorMessage ?? ''}`))];
        throw new PublishError(
          `PutEvents refused ${failed.length} of ${batch.length} entries after ${attempt + 1} attempts (${reasons.join('; ')})`,
        );
      }
      await sleep(backoffDelayMs(attempt, PUBLISH_RETRY));
      retries++;
      pending = failed.map(({ entry }) => entry);
    }
  }
  return { calls, retries };
};
