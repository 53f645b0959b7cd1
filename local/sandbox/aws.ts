import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENTBRIDGE_LIMITS, entrySize } from '../../functions/core/publish.ts';
import { type S3Objects, serveS3 } from './s3.ts';

/**
 * A local stand-in for the AWS APIs the handlers call, speaking their wire protocol
 * (awsJson1_1: POST /, X-Amz-Target), so the real SDK clients reach it through
 * AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL_EVENTBRIDGE with no code change; and
 * the S3 REST calls of a bulk export (s3.ts), any request without an X-Amz-Target, through
 * AWS_ENDPOINT_URL_S3. No npm package emulates these without Docker.
 */
export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Time?: string | number;
  Resources?: string[];
}

export interface AwsStandIn {
  url: string;
  secrets: Map<string, string>;
  /** Every GetSecretValue call, by SecretId. */
  secretReads: string[];
  /** Entries PutEvents accepted, in order. */
  events: PutEventsEntry[];
  /** S3 objects, keyed `bucket/key`. */
  objects: S3Objects;
  /** PutEvents calls as received (entries per call). */
  putEventsCalls: PutEventsEntry[][];
  /** The next PutEvents calls fail these entry indexes (one array per call). */
  failNextPutEvents(...perCall: number[][]): void;
  /** The next GetSecretValue calls answer with this error type. */
  failNextSecretReads(count: number, type?: string): void;
  close(): Promise<void>;
}

export const startAwsStandIn = async (options: { secrets?: Record<string, string>; port?: number } = {}): Promise<AwsStandIn> => {
  const secrets = new Map(Object.entries(options.secrets ?? {}));
  const secretReads: string[] = [];
  const events: PutEventsEntry[] = [];
  const putEventsCalls: PutEventsEntry[][] = [];
  const putEventsFailures: number[][] = [];
  const objects: S3Objects = new Map();
  let secretFailures: { count: number; type: string } = { count: 0, type: 'InternalServiceError' };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.headers['x-amz-target'] === undefined) return serveS3(objects, req, res, Buffer.concat(chunks));
      const reply = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
      const error = (type: string, message: string, status = 400) => reply(status, { __type: type, message });
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        return error('SerializationException', 'body is not JSON');
      }
      if (!req.headers.authorization?.startsWith('AWS4-HMAC-SHA256')) {
        return error('MissingAuthenticationTokenException', 'request is not signed with SigV4', 403);
      }
      switch (req.headers['x-amz-target']) {
        case 'secretsmanager.GetSecretValue': {
          const id = String(input.SecretId);
          secretReads.push(id);
          if (secretFailures.count > 0) {
            secretFailures.count--;
            return error(secretFailures.type, 'injected failure', 500);
          }
          const value = secrets.get(id);
          if (value === undefined) return error('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
          return reply(200, {
            ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${id}-AbCdEf`,
            Name: id,
            SecretString: value,
            VersionId: randomUUID(),
            VersionStages: ['AWSCURRENT'],
            CreatedDate: Date.now() / 1000,
          });
        }
        case 'secretsmanager.PutSecretValue': {
          // So a key rotation can be played end to end against `npm start` with the real AWS CLI.
          const id = String(input.SecretId);
          if (!secrets.has(id)) return error('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
          if (typeof input.SecretString !== 'string') return error('InvalidParameterException', 'SecretString is required');
          secrets.set(id, input.SecretString);
          return reply(200, {
            ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${id}-AbCdEf`,
            Name: id,
            VersionId: randomUUID(),
            VersionStages: ['AWSCURRENT'],
          });
        }
        case 'AWSEvents.PutEvents': {
          const entries = (input.Entries ?? []) as PutEventsEntry[];
          if (!Array.isArray(entries) || entries.length === 0 || entries.length > EVENTBRIDGE_LIMITS.maxEntriesPerCall) {
            return error('ValidationException', 'Entries must hold 1 to 10 entries');
          }
          const total = entries.reduce((sum, e) => sum + entrySize(e), 0);
          if (total > EVENTBRIDGE_LIMITS.maxCallBytes)
            return error('ValidationException', `Total size of the entries in the request is over the limit (${total} bytes)`);
          putEventsCalls.push(entries);
          const failing = new Set(putEventsFailures.shift() ?? []);
          const results = entries.map((entry, i) => {
            if (failing.has(i)) return { ErrorCode: 'InternalFailure', ErrorMessage: 'injected failure' };
            events.push(entry);
            return { EventId: randomUUID() };
          });
          return reply(200, { FailedEntryCount: failing.size, Entries: results });
        }
        default:
          return error('UnknownOperationException', `unsupported target ${req.headers['x-amz-target']}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    secrets,
    secretReads,
    events,
    objects,
    putEventsCalls,
    failNextPutEvents: (...perCall) => putEventsFailures.push(...perCall),
    failNextSecretReads: (count, type = 'InternalServiceError') => {
      secretFailures = { count, type };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
