/**
 * The floor (issue 11): what this machine allows at best. The secret read with one raw POST, the chunks
 * signed and POSTed, `concurrency` in flight, each answer parsed, nothing else: no validation, no
 * answer, no logs, no metrics. Two transports, each bundled alone (bench/floor-fetch.ts,
 * bench/floor-undici.ts), so a cold start measures one of them only.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { authHeaders } from '../functions/core/tpns/auth.ts';
import { baseUrlFor, QUERY_PATH, type Region } from '../functions/core/tpns/regions.ts';

/** POSTs `body` and returns the parsed JSON answer. */
export type Post = (url: string, headers: Record<string, string>, body: string) => Promise<unknown>;

interface App {
  accessId: string;
  secretKey: string;
  region: Region;
}

/**
 * GetSecretValue as one raw awsJson1_1 POST. The stand-in only checks that an AWS signature header is
 * there; a real floor would sign it with SigV4, which costs it more, not less.
 */
export const readApps = async (post: Post): Promise<App[]> => {
  const answer = (await post(
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? '',
    {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
      authorization: 'AWS4-HMAC-SHA256 Credential=floor',
    },
    JSON.stringify({ SecretId: process.env.TPNS_SECRET_ID }),
  )) as { SecretString: string };
  const secret = JSON.parse(answer.SecretString) as App | { apps: App[] };
  return 'apps' in secret ? secret.apps : [secret];
};

/** Every app's chunks of `maxBatch` accounts through one pool of `concurrency`; the answers, parsed. */
export const floorQuery = async (
  post: Post,
  apps: readonly App[],
  accounts: readonly string[],
  maxBatch: number,
  concurrency: number,
): Promise<unknown[]> => {
  const calls: (() => Promise<unknown>)[] = [];
  for (const app of apps) {
    const url = baseUrlFor(app.region, process.env.TPNS_ENDPOINT) + QUERY_PATH;
    for (let start = 0; start < accounts.length; start += maxBatch) {
      calls.push(() => {
        const body = JSON.stringify({
          operator_type: 1,
          account_list: accounts.slice(start, start + maxBatch).map((account) => ({ account, account_type: 0 })),
        });
        return post(url, { 'content-type': 'application/json', ...authHeaders(app, 'sign', body) }, body);
      });
    }
  }
  const answers: unknown[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, calls.length) }, async () => {
      while (next < calls.length) answers.push(await calls[next++]!());
    }),
  );
  return answers;
};

/** A Lambda handler of the floor: the secret read once per process, the accounts of `{"accounts": [...]}` queried. */
export const floorHandler = (post: Post) => {
  let apps: Promise<App[]> | undefined;
  const maxBatch = Number(process.env.TPNS_MAX_BATCH);
  const concurrency = Number(process.env.TPNS_CONCURRENCY);
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    apps ??= readApps(post);
    const { accounts } = JSON.parse(event.body ?? '{}') as { accounts: string[] };
    const answers = await floorQuery(post, await apps, accounts, maxBatch, concurrency);
    return { statusCode: 200, body: String(answers.length) };
  };
};
