import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The S3 calls of a bulk export — GetObject, PutObject, ListObjectsV2 — as the REST API answers
 * them with path-style addressing (`/bucket/key`), for the real S3 client pointed here by
 * AWS_ENDPOINT_URL_S3 (functions/core/export/s3.ts turns path style on with it). Objects live in
 * memory, keyed `bucket/key`; a bucket exists once something is put in it.
 */
export type S3Objects = Map<string, { body: Buffer; etag: string; lastModified: Date }>;

/** S3 answers ListObjectsV2 with at most this many keys per page. */
const MAX_KEYS = 1000;

const xmlEscape = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

const sendXml = (res: ServerResponse, status: number, xml: string): void => {
  res
    .writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': randomUUID() })
    .end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
};

const sendError = (res: ServerResponse, status: number, code: string, message: string): void =>
  sendXml(res, status, `<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`);

const list = (objects: S3Objects, bucket: string, query: URLSearchParams, res: ServerResponse): void => {
  const prefix = query.get('prefix') ?? '';
  const maxKeys = Math.min(MAX_KEYS, Number(query.get('max-keys') ?? MAX_KEYS));
  const after = query.get('continuation-token') ?? query.get('start-after') ?? '';
  const keys = [...objects.keys()]
    .filter((name) => name.startsWith(`${bucket}/`))
    .map((name) => name.slice(bucket.length + 1))
    .filter((key) => key.startsWith(prefix) && key > after)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const page = keys.slice(0, maxKeys);
  const truncated = keys.length > page.length;
  const contents = page.map((key) => {
    const object = objects.get(`${bucket}/${key}`) as { body: Buffer; etag: string; lastModified: Date };
    return `<Contents><Key>${xmlEscape(key)}</Key><LastModified>${object.lastModified.toISOString()}</LastModified><ETag>&quot;${object.etag}&quot;</ETag><Size>${object.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
  });
  sendXml(
    res,
    200,
    `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>` +
      `<KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents.join('')}` +
      (truncated ? `<NextContinuationToken>${xmlEscape(page.at(-1) as string)}</NextContinuationToken>` : '') +
      '</ListBucketResult>',
  );
};

/** Answers one S3 request; `body` is the request's bytes. */
export const serveS3 = (objects: S3Objects, req: IncomingMessage, res: ServerResponse, body: Buffer) => {
  if (!req.headers.authorization?.startsWith('AWS4-HMAC-SHA256')) {
    return sendError(res, 403, 'AccessDenied', 'request is not signed with SigV4');
  }
  const url = new URL(req.url ?? '/', 'http://s3.local');
  const [bucketPart = '', ...keyParts] = url.pathname.slice(1).split('/');
  const bucket = decodeURIComponent(bucketPart);
  const key = keyParts.map(decodeURIComponent).join('/');
  if (bucket === '') return sendError(res, 400, 'InvalidRequest', 'this stand-in serves path-style requests: /bucket/key');
  if (req.method === 'GET' && key === '' && url.searchParams.get('list-type') === '2') return list(objects, bucket, url.searchParams, res);
  if (key === '') return sendError(res, 501, 'NotImplemented', `${req.method} on a bucket is not served here`);
  const name = `${bucket}/${key}`;
  switch (req.method) {
    case 'PUT': {
      const etag = createHash('md5').update(body).digest('hex');
      objects.set(name, { body, etag, lastModified: new Date() });
      res.writeHead(200, { etag: `"${etag}"`, 'x-amz-request-id': randomUUID() }).end();
      return;
    }
    case 'GET': {
      const object = objects.get(name);
      if (object === undefined) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
      res
        .writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': object.body.length,
          etag: `"${object.etag}"`,
          'last-modified': object.lastModified.toUTCString(),
          'x-amz-request-id': randomUUID(),
        })
        .end(object.body);
      return;
    }
    default:
      return sendError(res, 501, 'NotImplemented', `${req.method} is not served here`);
  }
};
