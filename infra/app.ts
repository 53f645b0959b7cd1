/**
 * The CDK app (`cdk.json`: "app": "node infra/app.ts"). One stack, env-agnostic
 * (no account/region lookups, so `cdk synth` runs offline), checked by cdk-nag's
 * AwsSolutions pack: an unacknowledged finding fails synth.
 *
 * Context: `stackName` (default TpnsBindings) plus the keys listed in infra/stack.ts.
 */

import type { AppProps } from 'aws-cdk-lib';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TpnsBindingsStack } from './stack.ts';

export const DEFAULT_STACK_NAME = 'TpnsBindings';

/** Builds the app; tests call this with their own context/outdir. */
export function createApp(props?: AppProps): { app: App; stack: TpnsBindingsStack } {
  // analyticsReporting: no AWS::CDK::Metadata resource (the CDK's deploy-time usage report).
  const app = new App({ analyticsReporting: false, ...props });
  const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? DEFAULT_STACK_NAME;
  const stack = new TpnsBindingsStack(app, stackName);
  // cdk-nag 3: a validation plugin (the v2 Aspects API no longer runs the checks).
  // writeSuppressionsToCloudFormation: each acknowledged rule and its reason is also written
  // into the resource's Metadata (cdk_nag.rules_to_suppress), so reviewers of the template see them.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
  return { app, stack };
}

// Run by the CDK CLI: App synthesizes itself on exit (CDK_OUTDIR is set by the CLI).
if (import.meta.main) createApp();
