/** What the sandbox was sent: counted per TPNS call, never for calls to the control endpoint. */
export interface SandboxStats {
  calls: number;
  inFlight: number;
  peakConcurrent: number;
  /** Items per call, in arrival order. */
  batchSizes: number[];
  /** retCode (or HTTP status / fault) per call, in arrival order. */
  outcomes: string[];
}

/** `inFlight` carries over a reset: calls still running count down the new counters when they end. */
export const emptyStats = (inFlight = 0): SandboxStats => ({ calls: 0, inFlight, peakConcurrent: 0, batchSizes: [], outcomes: [] });
