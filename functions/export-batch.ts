/**
 * Placeholder for the bulk export's batch Lambda (issue 14): the runtime branch (issue-14) replaces this
 * file with the real handler. It exists so that the CDK construct (infra/bulk-export.ts) can bundle an
 * entry point; it refuses every batch, so nothing deployed from this branch alone can pass for an export.
 */
export const handler = async (_event: unknown): Promise<never> => {
  throw new Error('export-batch: not built yet (issue 14, runtime half)');
};
