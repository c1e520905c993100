import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export interface BastionProps {
  readonly vpc: ec2.IVpc;
  readonly subnetGroupName: string;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly instanceType: string;
  readonly instanceName: string;
}

/**
 * The specification's bastion: Amazon Linux 2023 in a public subnet with a public IP, SSH
 * only from the configured CIDR (its security group), and Session Manager as the keyless
 * alternative. SSH keys are pushed per session with EC2 Instance Connect (see README).
 */
export class Bastion extends Construct {
  readonly instance: ec2.Instance;

  constructor(scope: Construct, id: string, props: BastionProps) {
    super(scope, id);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Goal Tracker bastion: Session Manager',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'The AWS managed policy Session Manager requires on the instance.',
    });

    this.instance = new ec2.Instance(this, 'Instance', {
      instanceName: props.instanceName,
      vpc: props.vpc,
      vpcSubnets: { subnetGroupName: props.subnetGroupName },
      associatePublicIpAddress: true,
      instanceType: new ec2.InstanceType(props.instanceType),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType: ec2.AmazonLinuxCpuType.X86_64,
      }),
      securityGroup: props.securityGroup,
      role,
      requireImdsv2: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(8, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC28',
      reason: 'An idle jump host: 5-minute basic monitoring is enough and detailed costs extra.',
    });
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC29',
      reason:
        'The bastion is stateless and rebuilt by the stack; termination protection would block stack updates and destroy.',
    });
  }
}
