/** Items [start, end) of a query. */
export interface Chunk {
  start: number;
  end: number;
}

/** What TPNS has shown about chunk sizes: worth keeping across runs for the same app. */
export interface ChunkSizes {
  /** No chunk is sent larger than this: infinite until TPNS refuses a size. */
  limit: number;
  /** The largest chunk TPNS has answered. */
  largestAccepted: number;
}

/**
 * The chunks of one query still to send, and the halving of chunks TPNS refuses. 1008007 is TPNS's
 * "invalid parameter" for a list too long and for an id it refuses alike: a refused size above any
 * size accepted lowers the limit; a refusal at a size already accepted is about the ids, so only
 * that chunk is split. Halves queue behind the chunks not yet tried, so that a request whose call
 * budget runs out has answered as many items as it could.
 */
export class ChunkQueue {
  private readonly pending: Chunk[] = [];
  private readonly sizes: ChunkSizes;
  /** Chunks of the first cut: what the request's call budget is measured in. */
  readonly initialCount: number;

  private readonly maxBatch: number;

  constructor(total: number, maxBatch: number, sizes: ChunkSizes) {
    this.sizes = sizes;
    this.maxBatch = maxBatch;
    const size = this.chunkLimit;
    for (let start = 0; start < total; start += size) this.pending.push({ start, end: Math.min(total, start + size) });
    this.initialCount = this.pending.length;
  }

  /** The size no chunk taken from now on exceeds. */
  get chunkLimit(): number {
    return Math.min(this.maxBatch, this.sizes.limit);
  }

  /** The next chunk, cut to the current limit, or undefined when none is left. */
  next = (): Chunk | undefined => {
    const chunk = this.pending.shift();
    const limit = this.chunkLimit;
    if (chunk === undefined || chunk.end - chunk.start <= limit) return chunk;
    this.pending.unshift({ start: chunk.start + limit, end: chunk.end });
    return { start: chunk.start, end: chunk.start + limit };
  };

  accepted(chunk: Chunk): void {
    this.sizes.largestAccepted = Math.max(this.sizes.largestAccepted, chunk.end - chunk.start);
  }

  /** Queues the halves of a refused chunk; false for a single item, which cannot be split. */
  split(chunk: Chunk): boolean {
    const size = chunk.end - chunk.start;
    if (size <= 1) return false;
    const half = Math.ceil(size / 2);
    if (size > this.sizes.largestAccepted) this.sizes.limit = Math.min(this.chunkLimit, half);
    this.pending.push({ start: chunk.start, end: chunk.start + half }, { start: chunk.start + half, end: chunk.end });
    return true;
  }
}
