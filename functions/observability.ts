import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** The one Logger and Metrics of the process; POWERTOOLS_* env vars override these defaults. */
export const SERVICE_NAME = 'tpns-bindings';

export const logger = new Logger({ serviceName: SERVICE_NAME });

export const metrics = new Metrics({ namespace: 'TpnsBindings', serviceName: SERVICE_NAME });
