import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { BACKEND_PORT, FRONTEND_PORT } from './naming.js';

export interface SecurityGroupsProps {
  readonly vpc: ec2.IVpc;
  /** The one network allowed to SSH into the bastion (validated: never 0.0.0.0/0). */
  readonly sshCidr: string;
  /**
   * Who may reach the public ALB: the internet on 80 and 443 (a domain, TLS on the ALB), or
   * only CloudFront on 80, through this managed prefix list (CloudFront in front).
   */
  readonly publicAlbSource: { readonly cloudFrontPrefixListId: string } | 'internet';
}

const SSH = ec2.Port.tcp(22);
const HTTPS = ec2.Port.tcp(443);

/**
 * The specification's chain, and nothing else:
 * internet -> public ALB :80/:443 -> frontend :3000 -> internal ALB :8080 -> backend :8080
 * -> RDS :5432; your CIDR -> bastion :22 -> app instances :22.
 * Egress is closed by default and opened only along that chain, plus HTTPS out (through NAT)
 * for ECR, Secrets Manager, CloudWatch, SSM and package repositories.
 */
export class SecurityGroups extends Construct {
  readonly publicAlb: ec2.SecurityGroup;
  readonly internalAlb: ec2.SecurityGroup;
  readonly frontend: ec2.SecurityGroup;
  readonly backend: ec2.SecurityGroup;
  readonly database: ec2.SecurityGroup;
  readonly bastion: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: SecurityGroupsProps) {
    super(scope, id);
    const group = (groupId: string, description: string) =>
      new ec2.SecurityGroup(this, groupId, {
        vpc: props.vpc,
        description,
        allowAllOutbound: false,
      });

    this.publicAlb = group('PublicAlb', 'Public ALB: HTTP and HTTPS from the internet');
    this.internalAlb = group('InternalAlb', 'Internal ALB: API traffic from the frontend tier');
    this.frontend = group('Frontend', 'Frontend instances: web traffic from the public ALB');
    this.backend = group('Backend', 'Backend instances: API traffic from the internal ALB');
    this.database = group('Database', 'RDS PostgreSQL: connections from the backend tier');
    this.bastion = group('Bastion', 'Bastion host: SSH from the configured CIDR');

    if (props.publicAlbSource === 'internet') {
      this.publicAlb.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP from the internet');
      this.publicAlb.addIngressRule(ec2.Peer.anyIpv4(), HTTPS, 'HTTPS from the internet');
      Validations.of(this.publicAlb).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: 'The internet-facing ALB serves the public web application on 80 and 443.',
      });
    } else {
      // com.amazonaws.global.cloudfront.origin-facing: CloudFront's addresses only. It counts
      // as 55 rules against the group's quota of 60, so it is the group's only rule.
      this.publicAlb.addIngressRule(
        ec2.Peer.prefixList(props.publicAlbSource.cloudFrontPrefixListId),
        ec2.Port.tcp(80),
        'HTTP from CloudFront origin-facing addresses only',
      );
    }

    const frontendPort = ec2.Port.tcp(FRONTEND_PORT);
    const backendPort = ec2.Port.tcp(BACKEND_PORT);
    this.frontend.connections.allowFrom(this.publicAlb, frontendPort, 'Web from the public ALB');
    this.internalAlb.connections.allowFrom(
      this.frontend,
      backendPort,
      'API calls from the frontend',
    );
    this.backend.connections.allowFrom(this.internalAlb, backendPort, 'API from the internal ALB');
    // backend -> database :5432 is opened by Database, through the instance's connections.

    this.bastion.addIngressRule(ec2.Peer.ipv4(props.sshCidr), SSH, 'SSH from the configured CIDR');
    for (const appTier of [this.frontend, this.backend]) {
      appTier.connections.allowFrom(this.bastion, SSH, 'SSH from the bastion');
    }

    for (const instances of [this.frontend, this.backend, this.bastion]) {
      instances.addEgressRule(
        ec2.Peer.anyIpv4(),
        HTTPS,
        'HTTPS to AWS APIs (ECR, Secrets Manager, CloudWatch, SSM) and package repositories',
      );
    }
  }
}
