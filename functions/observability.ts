import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME } from './contract.ts';

/** The one Logger and Metrics of the process; POWERTOOLS_* env vars override these defaults. */
export const logger = new Logger({ serviceName: SERVICE_NAME });

export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
