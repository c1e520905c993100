import { Duration, Lazy, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { renderAppUserData } from './app-user-data.js';
import type { TierName } from './naming.js';

/** The specification's scaling rule, shared by both tiers. */
export const SCALING = {
  scaleOutAboveCpuPercent: 70,
  scaleInBelowCpuPercent: 30,
  cooldown: Duration.seconds(300),
} as const;

/** How long a new instance may take to install Docker, pull, and report healthy. */
export const SIGNAL_TIMEOUT = Duration.minutes(15);

/** The three AWS managed policies the specification gives the instance role. */
export const INSTANCE_MANAGED_POLICIES = [
  'AmazonEC2ContainerRegistryReadOnly',
  'AmazonSSMManagedInstanceCore',
  'CloudWatchAgentServerPolicy',
] as const;

export interface AppTierProps {
  readonly tier: TierName;
  readonly vpc: ec2.IVpc;
  readonly subnetGroupName: string;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly instanceType: string;
  readonly rootVolumeGiB: number;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly healthCheckGrace: Duration;
  readonly repository: ecr.IRepository;
  readonly imageTag: string;
  readonly containerPort: number;
  readonly healthPath: string;
  readonly containerEnvironment: Readonly<Record<string, string>>;
  readonly logGroupName: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly autoScalingGroupName: string;
}

/**
 * One app tier (used for the frontend and the backend): its instance role, log group,
 * launch template (Amazon Linux 2023, IMDSv2 only, encrypted gp3 root) with the tier's user
 * data, an Auto Scaling group in the tier's subnets with ELB health checks, rolling updates
 * gated on cfn-signal, and the specification's CPU step scaling.
 */
export class AppTier extends Construct {
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** Average CPU of the group's instances (EC2 basic monitoring: 5-minute points). */
  readonly cpuUtilization: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: AppTierProps) {
    super(scope, id);

    this.role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Goal Tracker ${props.tier} instances: pull images, SSM, CloudWatch`,
      managedPolicies: INSTANCE_MANAGED_POLICIES.map((name) =>
        iam.ManagedPolicy.fromAwsManagedPolicyName(name),
      ),
    });
    const managedPolicyReasons: Record<(typeof INSTANCE_MANAGED_POLICIES)[number], string> = {
      AmazonEC2ContainerRegistryReadOnly:
        'Specified instance permission: pull the tier image from ECR (read-only).',
      AmazonSSMManagedInstanceCore: 'Specified instance permission: Session Manager access.',
      CloudWatchAgentServerPolicy:
        'Specified instance permission: the awslogs driver and CloudWatch agent ship logs and metrics.',
    };
    for (const name of INSTANCE_MANAGED_POLICIES) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`,
        reason: managedPolicyReasons[name],
      });
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: props.logGroupName,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    // Rendered lazily: the script names the group's logical ID, and the group needs this template.
    const userData = Lazy.string({
      produce: () =>
        renderAppUserData({
          tier: props.tier,
          region: Stack.of(this).region,
          image: props.repository.repositoryUriForTag(props.imageTag),
          containerPort: props.containerPort,
          healthPath: props.healthPath,
          logGroupName: this.logGroup.logGroupName,
          stackName: Stack.of(this).stackName,
          signalResource: Stack.of(this).getLogicalId(
            this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup,
          ),
          environment: props.containerEnvironment,
        }),
    });
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      userData: ec2.UserData.custom(userData),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType: ec2.AmazonLinuxCpuType.X86_64,
      }),
      instanceType: new ec2.InstanceType(props.instanceType),
      role: this.role,
      securityGroup: props.securityGroup,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpEndpoint: true,
      // The backend container reads Secrets Manager with the instance role: its IMDSv2 calls
      // cross the Docker bridge, one hop more than the default limit of 1 allows.
      httpPutResponseHopLimit: 2,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      autoScalingGroupName: props.autoScalingGroupName,
      vpc: props.vpc,
      vpcSubnets: { subnetGroupName: props.subnetGroupName },
      launchTemplate: this.launchTemplate,
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      // No desiredCapacity: CloudFormation starts at minCapacity (the specification's desired
      // count), and a deploy never resets a group that has scaled out.
      // ELB checks, not the specification's EC2 check: an EC2 status check only sees the
      // virtual machine, so a backend whose process died (or hangs) would stay "healthy" and in
      // service forever. The target group's HTTP check catches it and the group replaces it.
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: props.healthCheckGrace,
      }),
      cooldown: SCALING.cooldown,
      groupMetrics: [autoscaling.GroupMetrics.all()],
      signals: autoscaling.Signals.waitForMinCapacity({ timeout: SIGNAL_TIMEOUT }),
      // One instance at a time, never below minCapacity in service; each new instance must
      // cfn-signal success (container healthy) or the update fails and CloudFormation rolls
      // the group back to the previous launch template version.
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: props.minCapacity,
        waitOnResourceSignals: true,
        pauseTime: SIGNAL_TIMEOUT,
      }),
    });

    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-AS3',
      reason:
        'Launch and terminate events reach the alarm topic through an EventBridge rule ' +
        '(Observability.ScalingEvents) instead of ASG notification configurations.',
    });

    this.cpuUtilization = new cloudwatch.Metric({
      namespace: 'AWS/EC2',
      metricName: 'CPUUtilization',
      dimensionsMap: { AutoScalingGroupName: this.autoScalingGroup.autoScalingGroupName },
      statistic: cloudwatch.Stats.AVERAGE,
      period: Duration.minutes(5),
    });
    this.addCpuStepScaling();
  }

  /**
   * CPU > 70 % adds one instance, CPU < 30 % removes one. AWS ignores a per-policy cooldown on
   * step scaling, so the 300 s are the group's default cooldown plus the scale-out policy's
   * instance warm-up, and the alarms evaluate one 300 s period each.
   */
  private addCpuStepScaling(): void {
    this.addCpuStep('ScaleOut', {
      description: `Scale out: CPU above ${SCALING.scaleOutAboveCpuPercent} %`,
      threshold: SCALING.scaleOutAboveCpuPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      step: { lowerBound: 0, adjustment: 1 },
      warmup: SCALING.cooldown,
    });
    this.addCpuStep('ScaleIn', {
      description: `Scale in: CPU below ${SCALING.scaleInBelowCpuPercent} %`,
      threshold: SCALING.scaleInBelowCpuPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      step: { upperBound: 0, adjustment: -1 },
    });
  }

  /** One step policy (change the capacity by `step.adjustment`) and the CPU alarm that runs it. */
  private addCpuStep(
    id: string,
    options: {
      description: string;
      threshold: number;
      comparisonOperator: cloudwatch.ComparisonOperator;
      step: autoscaling.AdjustmentTier;
      warmup?: Duration;
    },
  ): void {
    const policy = new autoscaling.StepScalingAction(this, id, {
      autoScalingGroup: this.autoScalingGroup,
      adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      metricAggregationType: autoscaling.MetricAggregationType.AVERAGE,
      ...(options.warmup ? { estimatedInstanceWarmup: options.warmup } : {}),
    });
    policy.addAdjustment(options.step);
    new cloudwatch.Alarm(this, `${id}Alarm`, {
      alarmDescription: options.description,
      metric: this.cpuUtilization,
      threshold: options.threshold,
      comparisonOperator: options.comparisonOperator,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    }).addAlarmAction(new cloudwatchActions.AutoScalingAction(policy));
  }
}
