/**
 * What the AWS SDK clients of the handlers are told up front (issue 11). On Lambda the region and the
 * function's credentials are environment variables; handed over as values, the SDK resolves neither
 * through its provider chains and config loaders on the first call (about 1 % of a cold start's
 * instructions, measured). The same fields as the SDK's own env provider reads. Where the environment
 * has no credentials (a developer's profile, SSO, a container role), nothing is passed and the
 * default chain finds them as before; so with no AWS_REGION.
 */
export interface AwsClientOptions {
  region?: string;
  credentials?: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
    expiration?: Date;
    credentialScope?: string;
    accountId?: string;
  };
}

export const awsClientOptions = (env: NodeJS.ProcessEnv = process.env): AwsClientOptions => {
  const {
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_SESSION_TOKEN: sessionToken,
    AWS_CREDENTIAL_EXPIRATION: expiration,
    AWS_CREDENTIAL_SCOPE: credentialScope,
    AWS_ACCOUNT_ID: accountId,
  } = env;
  return {
    ...(region ? { region } : {}),
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(sessionToken ? { sessionToken } : {}),
            ...(expiration ? { expiration: new Date(expiration) } : {}),
            ...(credentialScope ? { credentialScope } : {}),
            ...(accountId ? { accountId } : {}),
          },
        }
      : {}),
  };
};
