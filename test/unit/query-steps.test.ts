import { describe, expect, it } from 'vitest';
import { type Chunk, ChunkQueue } from '../../functions/core/query/chunks.ts';
import { drain } from '../../functions/core/query/pool.ts';

/** A task the test finishes by hand, so the pool's refilling can be watched step by step. */
const manualTasks = () => {
  const started: number[] = [];
  const finish = new Map<number, () => void>();
  const work = (item: number) =>
    new Promise<void>((resolve) => {
      started.push(item);
      finish.set(item, resolve);
    });
  return { started, finish: (item: number) => finish.get(item)?.(), work };
};

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('drain: a bounded, refilling pool', () => {
  it('starts at most `limit`, and the next as soon as one ends, whichever it is', async () => {
    const queue = [1, 2, 3, 4, 5];
    const tasks = manualTasks();
    const done = drain(
      () => queue.shift(),
      2,
      tasks.work,
      () => false,
    );
    await settle();
    expect(tasks.started).toEqual([1, 2]);
    tasks.finish(2);
    await settle();
    expect(tasks.started).toEqual([1, 2, 3]);
    tasks.finish(1);
    tasks.finish(3);
    await settle();
    expect(tasks.started).toEqual([1, 2, 3, 4, 5]);
    tasks.finish(4);
    tasks.finish(5);
    await done;
  });

  it('takes work added to the queue while other work is in flight', async () => {
    const queue = [1];
    const seen: number[] = [];
    await drain(
      () => queue.shift(),
      3,
      async (item) => {
        seen.push(item);
        if (item < 4) queue.push(item + 1);
      },
      () => false,
    );
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('starts nothing once stopped, and still waits for what is in flight', async () => {
    const queue = [1, 2, 3, 4];
    const tasks = manualTasks();
    let stopped = false;
    let returned = false;
    const done = drain(
      () => queue.shift(),
      2,
      tasks.work,
      () => stopped,
    ).then(() => {
      returned = true;
    });
    await settle();
    stopped = true;
    tasks.finish(1);
    await settle();
    expect(tasks.started).toEqual([1, 2]);
    expect(returned).toBe(false);
    tasks.finish(2);
    await done;
    expect(queue).toEqual([3, 4]);
  });

  it('returns at once on an empty queue', async () => {
    let ran = false;
    await drain(
      () => undefined,
      4,
      async () => {
        ran = true;
      },
      () => false,
    );
    expect(ran).toBe(false);
  });
});

const all = (queue: ChunkQueue): Chunk[] => {
  const chunks: Chunk[] = [];
  for (let chunk = queue.next(); chunk; chunk = queue.next()) chunks.push(chunk);
  return chunks;
};

describe('ChunkQueue: chunks in order, halving what TPNS refuses', () => {
  it('cuts the items into chunks of maxBatch, the last one shorter', () => {
    expect(all(new ChunkQueue(7, 3, { limit: Infinity, largestAccepted: 0 }))).toEqual([
      { start: 0, end: 3 },
      { start: 3, end: 6 },
      { start: 6, end: 7 },
    ]);
    expect(all(new ChunkQueue(0, 3, { limit: Infinity, largestAccepted: 0 }))).toEqual([]);
  });

  it('a refused chunk larger than any accepted one halves the chunk size for the rest of the run', () => {
    const sizes = { limit: Infinity, largestAccepted: 0 };
    const queue = new ChunkQueue(10, 4, sizes);
    const first = queue.next() as Chunk;
    expect(queue.split(first)).toBe(true);
    expect(queue.chunkLimit).toBe(2);
    expect(sizes.limit).toBe(2); // what the next run of this app starts with
    // The chunks not yet tried first, cut to the new size, then the halves.
    expect(all(queue)).toEqual([
      { start: 4, end: 6 },
      { start: 6, end: 8 },
      { start: 8, end: 10 },
      { start: 0, end: 2 },
      { start: 2, end: 4 },
    ]);
  });

  it('starts from what earlier runs learned, and counts its first cut in chunks of that size', () => {
    const queue = new ChunkQueue(10, 5, { limit: 3, largestAccepted: 3 });
    expect(queue.initialCount).toBe(4);
    const refused = queue.next() as Chunk;
    queue.split(refused);
    expect(queue.chunkLimit).toBe(3);
  });

  it('an odd chunk splits with the larger half first', () => {
    const queue = new ChunkQueue(5, 5, { limit: Infinity, largestAccepted: 0 });
    queue.split(queue.next() as Chunk);
    expect(all(queue)).toEqual([
      { start: 0, end: 3 },
      { start: 3, end: 5 },
    ]);
  });

  it('a refusal at a size TPNS already accepted is about the ids: only that chunk is split', () => {
    const queue = new ChunkQueue(12, 4, { limit: Infinity, largestAccepted: 0 });
    queue.accepted(queue.next() as Chunk);
    const refused = queue.next() as Chunk;
    expect(queue.split(refused)).toBe(true);
    expect(queue.chunkLimit).toBe(4);
    expect(all(queue)).toEqual([
      { start: 8, end: 12 },
      { start: 4, end: 6 },
      { start: 6, end: 8 },
    ]);
  });

  it('a refused size below the largest accepted one does not lower the limit, one above it does', () => {
    const queue = new ChunkQueue(100, 10, { limit: Infinity, largestAccepted: 0 });
    queue.accepted({ start: 0, end: 6 });
    queue.split({ start: 10, end: 16 });
    expect(queue.chunkLimit).toBe(10);
    queue.split({ start: 20, end: 27 });
    expect(queue.chunkLimit).toBe(4);
  });

  it('a single item cannot be split', () => {
    const queue = new ChunkQueue(1, 1, { limit: Infinity, largestAccepted: 0 });
    expect(queue.split(queue.next() as Chunk)).toBe(false);
    expect(queue.next()).toBeUndefined();
  });
});
