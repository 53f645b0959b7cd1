import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME } from './contract.ts';

/** The one Logger and Metrics of the process; POWERTOOLS_* env vars override these defaults. */
export const logger = new Logger({ serviceName: SERVICE_NAME });

/**
 * For injectLambdaContext in both handlers. `logEvent: false` whatever POWERTOOLS_LOGGER_LOG_EVENT
 * says: the raw event holds the caller's SigV4 authorization, session token and cookies and every
 * queried id, and an event nested thousands of levels deep overflows the logger's stack.
 */
export const LOGGER_CONTEXT_OPTIONS = { resetKeys: true, logEvent: false } as const;

export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
