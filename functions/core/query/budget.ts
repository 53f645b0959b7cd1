/**
 * The most TPNS calls one request may make — retries, halved chunks and access-point probes
 * included: `perChunk` per chunk of its first cut, plus `extra`. Without it, a request whose ids
 * TPNS all refuses (1008007) would be halved down to single items: 10,000 calls for one request.
 * With it, 10,000 items in chunks of 100 cost at most 316 calls; a single chunk can still isolate
 * one refused id (about 15 calls) and ride out a few retries.
 */
export const CALL_BUDGET = { perChunk: 3, extra: 16 } as const;

export const callBudget = (chunks: number): number => CALL_BUDGET.perChunk * chunks + CALL_BUDGET.extra;
