import { METRICS_NAMESPACE, SERVICE_NAME } from '../functions/contract.ts';
import { TPNS_BINDINGS_DEFAULTS } from '../infra/tpns-bindings.ts';

/**
 * The environment of the deployed HTTP function as infra/tpns-bindings.ts sets it by default (metrics
 * and INFO logs on; a child's stdout goes to /dev/null), pointed at the stand-ins in `standInEnv`.
 * NODE_OPTIONS stays unset, as deployed by default (the construct's sourceMapStackTraces prop).
 * For the parent scripts only: the children are bundled, and this module pulls in the CDK construct.
 */
export const deployedEnv = (standInEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
  const { maxBatch, concurrency, logLevel } = TPNS_BINDINGS_DEFAULTS;
  return {
    PATH: process.env.PATH,
    ...standInEnv,
    TPNS_MAX_BATCH: String(maxBatch),
    TPNS_CONCURRENCY: String(concurrency),
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: logLevel,
  };
};
