import { Stack, type CfnResource, type RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AVAILABILITY_ZONES } from '../config/validate.js';
import { ExactSubnetCidrs } from './exact-subnet-cidrs.js';

export const VPC_CIDR = '10.0.0.0/16';

/** Subnet group names; constructs select subnets by these. */
export const SubnetGroup = {
  public: 'public',
  frontend: 'frontend',
  backend: 'backend',
  database: 'database',
} as const;

/** The specification's eight /24 subnets, AZ-a then AZ-b. */
export const SUBNET_CIDRS: Readonly<Record<string, readonly string[]>> = {
  [SubnetGroup.public]: ['10.0.1.0/24', '10.0.2.0/24'],
  [SubnetGroup.frontend]: ['10.0.11.0/24', '10.0.12.0/24'],
  [SubnetGroup.backend]: ['10.0.21.0/24', '10.0.22.0/24'],
  [SubnetGroup.database]: ['10.0.31.0/24', '10.0.32.0/24'],
};

export interface NetworkProps {
  /** 1 (shared by both AZs) or 2 (one per AZ). */
  readonly natGateways: number;
  readonly flowLogRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * VPC 10.0.0.0/16 over two AZs: public subnets (ALB, bastion, NAT gateways with Elastic IPs),
 * frontend and backend subnets routed out through NAT, database subnets with no route out,
 * and flow logs of all traffic to CloudWatch Logs.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: new ExactSubnetCidrs(VPC_CIDR, SUBNET_CIDRS),
      maxAzs: AVAILABILITY_ZONES,
      natGateways: props.natGateways,
      natGatewaySubnets: { subnetGroupName: SubnetGroup.public },
      subnetConfiguration: [
        {
          name: SubnetGroup.public,
          subnetType: ec2.SubnetType.PUBLIC,
          cidrMask: 24,
          // Only the bastion gets a public IP, and it asks for one explicitly.
          mapPublicIpOnLaunch: false,
        },
        {
          name: SubnetGroup.frontend,
          subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
          cidrMask: 24,
        },
        { name: SubnetGroup.backend, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
        { name: SubnetGroup.database, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
    });

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: props.flowLogRetention,
      removalPolicy: props.removalPolicy,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    // The Lambda behind restrictDefaultSecurityGroup would log into a group it creates on
    // first run, kept forever; this one has the environment's retention.
    const provider = Stack.of(this).node.tryFindChild(
      'Custom::VpcRestrictDefaultSGCustomResourceProvider',
    );
    const handler = provider?.node.tryFindChild('Handler') as CfnResource | undefined;
    if (handler) {
      const handlerLogs = new logs.LogGroup(this, 'RestrictDefaultSgLogGroup', {
        retention: props.flowLogRetention,
        removalPolicy: props.removalPolicy,
      });
      handler.addPropertyOverride('LoggingConfig', { LogGroup: handlerLogs.logGroupName });
    }
  }
}
