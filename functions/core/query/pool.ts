/**
 * A bounded, refilling pool: runs `work` on what `next()` hands out, at most `limit` at a time,
 * starting the next as soon as one ends — rather than fixed workers, because the queue can grow
 * while work is in flight (split chunks re-enter it). Starts nothing new once `stopped()`; returns
 * when nothing is in flight and nothing more is to start. `work` must not reject.
 */
export const drain = async <T>(
  next: () => T | undefined,
  limit: number,
  work: (item: T) => Promise<void>,
  stopped: () => boolean,
): Promise<void> => {
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    while (inFlight.size < limit && !stopped()) {
      const item = next();
      if (item === undefined) break;
      const running: Promise<void> = work(item).finally(() => inFlight.delete(running));
      inFlight.add(running);
    }
    if (inFlight.size === 0) return;
    await Promise.race(inFlight);
  }
};

/**
 * Takes from `sources` in turn, one item each, skipping a source that has nothing now: the apps of a
 * query share one pool, and none waits behind another's chunks.
 */
export const roundRobin = <T>(sources: readonly (() => T | undefined)[]): (() => T | undefined) => {
  let turn = 0;
  return () => {
    for (let tried = 0; tried < sources.length; tried++) {
      const i = (turn + tried) % sources.length;
      const item = (sources[i] as () => T | undefined)();
      if (item !== undefined) {
        turn = i + 1;
        return item;
      }
    }
    return undefined;
  };
};
