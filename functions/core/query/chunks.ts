/** Items [start, end) of a query. */
export interface Chunk {
  start: number;
  end: number;
}

/**
 * The chunks of one query still to send, in order, and the halving of chunks TPNS refuses.
 * 1008007 is TPNS's "invalid parameter" for a list too long and for an id it refuses alike: a
 * refused size above any size accepted in this run lowers the chunk size for the rest of the run;
 * a refusal at a size already accepted is about the ids, so only that chunk is split.
 */
export class ChunkQueue {
  private readonly pending: Chunk[] = [];
  private limit: number;
  private largestAccepted = 0;

  constructor(total: number, maxBatch: number) {
    this.limit = maxBatch;
    for (let start = 0; start < total; start += maxBatch) this.pending.push({ start, end: Math.min(total, start + maxBatch) });
  }

  /** The size no chunk taken from now on exceeds. */
  get chunkLimit(): number {
    return this.limit;
  }

  /** The next chunk, cut to the current limit, or undefined when none is left. */
  next = (): Chunk | undefined => {
    const chunk = this.pending.shift();
    if (chunk === undefined || chunk.end - chunk.start <= this.limit) return chunk;
    this.pending.unshift({ start: chunk.start + this.limit, end: chunk.end });
    return { start: chunk.start, end: chunk.start + this.limit };
  };

  accepted(chunk: Chunk): void {
    this.largestAccepted = Math.max(this.largestAccepted, chunk.end - chunk.start);
  }

  /** Puts the halves of a refused chunk first in line; false for a single item, which cannot be split. */
  split(chunk: Chunk): boolean {
    const size = chunk.end - chunk.start;
    if (size <= 1) return false;
    const half = Math.ceil(size / 2);
    if (size > this.largestAccepted) this.limit = Math.min(this.limit, half);
    this.pending.unshift({ start: chunk.start, end: chunk.start + half }, { start: chunk.start + half, end: chunk.end });
    return true;
  }
}
