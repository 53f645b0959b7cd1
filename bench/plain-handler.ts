/**
 * The plain handler (issue 11): what a developer writes without this project, with the same SDK. The
 * secret read with the AWS SDK's GetSecretValue and kept in a variable, global fetch, chunks of 100 sent
 * all at once, the answers mapped to `{"accounts": [{account, tokens}]}`. No validation, retries, deadline,
 * size guard, logs or metrics: the bar the project's cold start and CPU should meet anyway.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { authHeaders } from '../functions/core/tpns/auth.ts';
import { baseUrlFor, QUERY_PATH, type Region } from '../functions/core/tpns/regions.ts';

const CHUNK = 100;
const secrets = new SecretsManagerClient({});
let app: { accessId: string; secretKey: string; region: Region } | undefined;

interface TpnsAnswer {
  account_tokens?: { account: string; token_list?: string[] | null }[] | null;
}

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  if (!app) {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: process.env.TPNS_SECRET_ID }));
    app = JSON.parse(SecretString ?? '{}');
  }
  const { accessId, secretKey, region } = app!;
  const { accounts } = JSON.parse(event.body ?? '{}') as { accounts: string[] };
  const url = baseUrlFor(region, process.env.TPNS_ENDPOINT) + QUERY_PATH;
  const chunks: string[][] = [];
  for (let i = 0; i < accounts.length; i += CHUNK) chunks.push(accounts.slice(i, i + CHUNK));
  const answers = await Promise.all(
    chunks.map(async (chunk) => {
      const body = JSON.stringify({ operator_type: 1, account_list: chunk.map((account) => ({ account, account_type: 0 })) });
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders({ accessId, secretKey }, 'sign', body) },
        body,
      });
      return (await response.json()) as TpnsAnswer;
    }),
  );
  const found = answers.flatMap((answer) =>
    (answer.account_tokens ?? []).map(({ account, token_list }) => ({ account, tokens: token_list ?? [] })),
  );
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accounts: found }) };
};
