import { Duration, Lazy, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
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
  /** The tier's target group: the group joins it, and new instances wait for its check. */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The path the target group checks; the container's own check uses the same one. */
  readonly healthPath: string;
  readonly containerEnvironment: Readonly<Record<string, string>>;
  readonly logGroupName: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly autoScalingGroupName: string;
  /**
   * IMDSv2 hop limit: 1 keeps the instance role away from containers (their calls cross the
   * Docker bridge, one hop more); 2 only for a tier whose container uses the role itself.
   */
  readonly metadataHopLimit: 1 | 2;
  /** The pinned AMI per region (config `machineImages`). */
  readonly machineImages: Readonly<Record<string, string>>;
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

    // The user data waits for its target to be healthy before it signals CloudFormation.
    // DescribeTargetHealth has no resource-level permissions: "*" is the only resource it takes.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['elasticloadbalancing:DescribeTargetHealth'],
        resources: ['*'],
      }),
    );
    Validations.of(this.role.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'elasticloadbalancing:DescribeTargetHealth supports no resource-level scoping; it is ' +
        'read-only and lets the instance signal success only once its target is healthy.',
    });

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
          targetGroupArn: props.targetGroup.targetGroupArn,
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
      // Pinned, not "latest": a new AMI would otherwise replace every instance on whichever
      // deploy happened to see it. Bumped on purpose in config (infra/README.md).
      machineImage: ec2.MachineImage.genericLinux({ ...props.machineImages }),
      instanceType: new ec2.InstanceType(props.instanceType),
      // t3 stays in unlimited credit mode: a standard-mode instance out of credits is held at
      // its baseline (10 % per vCPU on t3.micro) and reports too little CPU ever to reach the
      // 70 % scale-out alarm, so the group would never grow. Unlimited is t3's default, but an
      // account can change its default (ModifyDefaultCreditSpecification): said here, not
      // inherited. Only burstable types take the setting. Each tier runs one Node process
      // per vCPU (WORKERS unset), so a saturated instance reads near 100 %, not 50 %.
      ...(/^t\d/.test(props.instanceType) ? { cpuCredits: ec2.CpuCredits.UNLIMITED } : {}),
      role: this.role,
      securityGroup: props.securityGroup,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpEndpoint: true,
      httpPutResponseHopLimit: props.metadataHopLimit,
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
      // cfn-signal success (target healthy in its group) or the update fails and CloudFormation rolls
      // the group back to the previous launch template version.
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: props.minCapacity,
        waitOnResourceSignals: true,
        pauseTime: SIGNAL_TIMEOUT,
      }),
    });
    this.autoScalingGroup.attachToApplicationTargetGroup(props.targetGroup);
    // Instances need NAT to install Docker and pull their image: without this, CloudFormation
    // may launch them before the private subnets' default routes exist, and they fail.
    this.autoScalingGroup.node.addDependency(
      props.vpc.selectSubnets({ subnetGroupName: props.subnetGroupName })
        .internetConnectivityEstablished,
    );

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
