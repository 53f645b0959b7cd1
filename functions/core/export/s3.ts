import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { awsClientOptions } from '../aws-client.ts';

/**
 * One S3 client per container. Region, credentials (as values: aws-client.ts) and AWS_ENDPOINT_URL_S3 come from the
 * environment; an endpoint override (a local stand-in) takes path-style addressing, as it has no
 * per-bucket host names. The SDK's defaults wait on a silent endpoint forever.
 */
export const exportS3Client = (env: NodeJS.ProcessEnv = process.env): S3Client =>
  new S3Client({
    ...awsClientOptions(env),
    forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3),
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
  });

export interface S3Location {
  bucket: string;
  key: string;
}

/** `s3://bucket/key…` → its bucket and key (the key may be empty: the whole bucket). */
export const parseS3Url = (url: unknown, field: string): S3Location => {
  const match = typeof url === 'string' ? /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url) : null;
  if (match === null) throw new Error(`${field} must be an S3 URL, s3://bucket/key`);
  return { bucket: match[1] as string, key: match[2] ?? '' };
};

export const getText = async (s3: S3Client, { bucket, key }: S3Location): Promise<string> => {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await object.Body?.transformToString('utf-8')) ?? '';
};

export const putText = async (s3: S3Client, { bucket, key }: S3Location, body: string, contentType: string): Promise<void> => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
};

/** The prefix an export writes under: the `output` URL's key, as a folder. */
export const outputPrefix = (output: unknown, field = 'output'): S3Location => {
  const { bucket, key } = parseS3Url(output, field);
  return { bucket, key: key === '' || key.endsWith('/') ? key : `${key}/` };
};

/** Digits of a batch's first row index in its keys: 10 million rows and far beyond, sorted as text. */
const INDEX_DIGITS = 12;

/** Where a batch's lines go, and its rows to ask again: both named after the batch's first row index. */
export const batchKeys = (prefix: S3Location, firstIndex: number): { part: S3Location; failed: S3Location } => {
  const name = `${String(firstIndex).padStart(INDEX_DIGITS, '0')}.jsonl`;
  return {
    part: { bucket: prefix.bucket, key: `${prefix.key}parts/${name}` },
    failed: { bucket: prefix.bucket, key: `${prefix.key}failed/${name}` },
  };
};

export const JSON_LINES = 'application/x-ndjson';
