/**
 * A fixed egress IP (prop fixedEgressIp): a VPC for both functions whose traffic to TPNS leaves through
 * NAT gateways with Elastic IPs of our own, the addresses to whitelist in TPNS. AWS traffic (Secrets
 * Manager, EventBridge; S3 for the bulk export) stays in the VPC through endpoints. Created directly in `scope` (the
 * TpnsBindings construct), so the logical IDs do not change.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** `true`: one NAT gateway and one address; `'per-az'`: one of each per availability zone. */
export type FixedEgressIp = boolean | 'per-az';

/** Two zones: what a NAT gateway per zone costs grows with them, and Lambda needs no more to run. */
const AVAILABILITY_ZONES = 2;
const HTTPS = ec2.Port.tcp(443);

/** Where the functions run (infra/parts/function.ts). */
export interface FunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
}

export interface FixedEgress extends FunctionNetwork {
  readonly vpc: ec2.Vpc;
  /** The Elastic IPs the calls to TPNS come from. */
  readonly egressIps: string[];
}

export function createFixedEgress(scope: Construct, options: { perAz: boolean; logRetention: logs.RetentionDays }): FixedEgress {
  // Our own Elastic IPs rather than the NAT provider's: their addresses are stack outputs, and they
  // outlive a replaced NAT gateway, so the whitelist in TPNS stays right.
  const eips = Array.from(
    { length: options.perAz ? AVAILABILITY_ZONES : 1 },
    (_, i) => new ec2.CfnEIP(scope, `EgressIp${i + 1}`, { domain: 'vpc' }),
  );
  const vpc = new ec2.Vpc(scope, 'Vpc', {
    maxAzs: AVAILABILITY_ZONES,
    natGateways: eips.length,
    natGatewayProvider: ec2.NatProvider.gateway({ eipAllocationIds: eips.map((eip) => eip.attrAllocationId) }),
    subnetConfiguration: [
      { name: 'nat', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'functions', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
    ],
  });
  // Rejected traffic only: the record an operator needs when a call is blocked, at little ingestion cost.
  vpc.addFlowLog('FlowLog', {
    destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(scope, 'VpcFlowLogs', { retention: options.logRetention })),
    trafficType: ec2.FlowLogTrafficType.REJECT,
  });
  const vpcSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

  // The functions only call out, and only over HTTPS: TPNS through the NAT gateway, AWS through the endpoints.
  const securityGroup = new ec2.SecurityGroup(scope, 'FunctionsSecurityGroup', {
    vpc,
    description: 'TPNS bindings functions: HTTPS out only',
    allowAllOutbound: false,
  });
  securityGroup.addEgressRule(ec2.Peer.anyIpv4(), HTTPS, 'HTTPS to TPNS (through the NAT gateway) and to AWS APIs');
  for (const [id, service] of [
    ['SecretsManagerEndpoint', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
    ['EventBridgeEndpoint', ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE],
  ] as const) {
    // Private DNS: the SDK's usual endpoint names resolve to the endpoint, no configuration in the functions.
    const endpoint = vpc.addInterfaceEndpoint(id, { service, subnets: vpcSubnets, privateDnsEnabled: true, open: false });
    endpoint.connections.allowFrom(securityGroup, HTTPS, 'HTTPS from the TPNS bindings functions');
  }
  // S3 through a gateway endpoint (free): the bulk export's batch function writes its output there, which
  // would otherwise pay the NAT gateway's per-GB charge. Routes in the functions' subnets only.
  vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [vpcSubnets] });
  return { vpc, vpcSubnets, securityGroup, egressIps: eips.map((eip) => eip.attrPublicIp) };
}
