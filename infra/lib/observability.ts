import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { AppTier } from './app-tier.js';
import type { Database } from './database.js';
import type { TierName } from './naming.js';
import type { TierLoadBalancer } from './tier-load-balancer.js';
import type { WebAcl } from './web-acl.js';

/** Alarm thresholds (the specification's where it gives one). */
export const THRESHOLDS = {
  instanceCpuPercent: 80,
  databaseCpuPercent: 80,
  /** 10 % of the 20 GB volume. */
  databaseFreeStorageBytes: 2 * 1024 ** 3,
  /** 5xx responses (load balancer + targets) per 5 minutes. */
  loadBalancer5xxCount: 10,
} as const;

/** The Auto Scaling lifecycle events forwarded to the alarm topic. */
export const SCALING_EVENT_TYPES = [
  'EC2 Instance Launch Successful',
  'EC2 Instance Launch Unsuccessful',
  'EC2 Instance Terminate Successful',
  'EC2 Instance Terminate Unsuccessful',
] as const;

export interface ObservabilityProps {
  readonly namePrefix: string;
  readonly tiers: Readonly<Record<TierName, AppTier>>;
  readonly loadBalancers: Readonly<Record<TierName, TierLoadBalancer>>;
  readonly database: Database;
  readonly alarmEmail?: string | undefined;
  readonly webAcl: WebAcl;
}

/**
 * Alarms (instance CPU, unhealthy targets, 5xx, RDS CPU and free storage), Auto Scaling
 * events through EventBridge, all into one SNS topic with an optional e-mail subscription,
 * and a dashboard of the specification's metrics.
 */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      topicName: `${props.namePrefix}-alarms`,
      displayName: `Goal Tracker ${props.namePrefix} alarms`,
      enforceSSL: true,
    });
    // The topic policy replaces SNS's default one, so CloudWatch needs an explicit grant;
    // scoped to this account's alarms, so no other account's alarm can publish through the
    // service principal (the confused deputy).
    const { account, region, partition } = Stack.of(this);
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
        },
      }),
    );
    if (props.alarmEmail !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    const { tiers, loadBalancers, database } = props;
    for (const [tier, appTier] of Object.entries(tiers)) {
      this.alarm(`${tier}HighCpu`, {
        alarmDescription: `${tier} instances average CPU above ${THRESHOLDS.instanceCpuPercent} %`,
        metric: appTier.cpuUtilization,
        threshold: THRESHOLDS.instanceCpuPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
      });
    }
    for (const [tier, balancer] of Object.entries(loadBalancers)) {
      this.alarm(`${tier}UnhealthyTargets`, {
        alarmDescription: `${tier} target group has unhealthy targets`,
        metric: balancer.targetGroup.metrics.unhealthyHostCount({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: Duration.minutes(1),
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      });
      this.alarm(`${tier}LoadBalancer5xx`, {
        alarmDescription: `${tier} load balancer answered more than ${THRESHOLDS.loadBalancer5xxCount} 5xx in 5 minutes`,
        metric: fiveHundreds(balancer.loadBalancer),
        threshold: THRESHOLDS.loadBalancer5xxCount,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    }
    this.alarm('DatabaseHighCpu', {
      alarmDescription: `RDS CPU above ${THRESHOLDS.databaseCpuPercent} %`,
      metric: database.instance.metricCPUUtilization({ period: Duration.minutes(5) }),
      threshold: THRESHOLDS.databaseCpuPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
    });
    this.alarm('DatabaseLowFreeStorage', {
      alarmDescription: 'RDS free storage below 2 GiB (10 % of the volume)',
      metric: database.instance.metricFreeStorageSpace({
        statistic: cloudwatch.Stats.MINIMUM,
        period: Duration.minutes(5),
      }),
      threshold: THRESHOLDS.databaseFreeStorageBytes,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    new events.Rule(this, 'ScalingEvents', {
      description: 'Auto Scaling launches and terminations of the app tiers, to the alarm topic',
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: [...SCALING_EVENT_TYPES],
        detail: {
          AutoScalingGroupName: Object.values(tiers).map(
            (appTier) => appTier.autoScalingGroup.autoScalingGroupName,
          ),
        },
      },
      targets: [new eventsTargets.SnsTopic(this.topic)],
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.namePrefix,
      defaultInterval: Duration.hours(3),
      widgets: [
        ...dashboardRows(this.alarms, tiers, loadBalancers, database),
        [
          new cloudwatch.GraphWidget({
            title: 'WAF blocked requests per rule',
            left: props.webAcl.blockedRequestMetrics(),
            width: 24,
            height: 6,
          }),
        ],
      ],
    });
  }

  private alarm(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.topic));
    alarm.addOkAction(new cloudwatchActions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }
}

function fiveHundreds(loadBalancer: elbv2.ApplicationLoadBalancer): cloudwatch.MathExpression {
  const period = Duration.minutes(5);
  return new cloudwatch.MathExpression({
    label: '5xx responses',
    expression: 'FILL(elb, 0) + FILL(targets, 0)',
    usingMetrics: {
      elb: loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period }),
      targets: loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
        period,
      }),
    },
    period,
  });
}

/** A per-Auto-Scaling-group metric (EC2, CloudWatch agent, or group metrics). */
function groupMetric(
  appTier: AppTier,
  namespace: string,
  metricName: string,
  label: string,
  statistic: string = cloudwatch.Stats.AVERAGE,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace,
    metricName,
    label,
    dimensionsMap: { AutoScalingGroupName: appTier.autoScalingGroup.autoScalingGroupName },
    statistic,
    period: Duration.minutes(5),
  });
}

function dashboardRows(
  alarms: cloudwatch.Alarm[],
  tiers: Readonly<Record<TierName, AppTier>>,
  loadBalancers: Readonly<Record<TierName, TierLoadBalancer>>,
  database: Database,
): cloudwatch.IWidget[][] {
  const perTier = <T>(build: (tier: TierName) => T): T[] =>
    (Object.keys(tiers) as TierName[]).map(build);
  const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
    new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
  const publicAlb = loadBalancers.frontend.loadBalancer.metrics;
  const rds = database.instance;

  return [
    [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 4 })],
    [
      graph(
        'ALB requests',
        [publicAlb.requestCount({ label: 'public' })],
        [loadBalancers.backend.loadBalancer.metrics.requestCount({ label: 'internal' })],
      ),
      graph('ALB latency (p95)', [
        publicAlb.targetResponseTime({ statistic: 'p95', label: 'frontend' }),
        loadBalancers.backend.loadBalancer.metrics.targetResponseTime({
          statistic: 'p95',
          label: 'backend',
        }),
      ]),
      graph('ALB 4xx / 5xx', [
        publicAlb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_4XX_COUNT, { label: 'target 4xx' }),
        publicAlb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { label: 'target 5xx' }),
        publicAlb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { label: 'ALB 5xx' }),
      ]),
    ],
    [
      graph(
        'EC2 CPU %',
        perTier((tier) => tiers[tier].cpuUtilization.with({ label: tier })),
      ),
      graph(
        'Memory used %',
        perTier((tier) => groupMetric(tiers[tier], 'CWAgent', 'mem_used_percent', tier)),
      ),
      graph(
        'Root disk used %',
        perTier((tier) => groupMetric(tiers[tier], 'CWAgent', 'disk_used_percent', tier)),
      ),
    ],
    [
      graph(
        'Network in / out (bytes)',
        perTier((tier) => groupMetric(tiers[tier], 'AWS/EC2', 'NetworkIn', `${tier} in`, 'Sum')),
        perTier((tier) => groupMetric(tiers[tier], 'AWS/EC2', 'NetworkOut', `${tier} out`, 'Sum')),
      ),
      graph(
        'Instances in service / desired',
        perTier((tier) =>
          groupMetric(
            tiers[tier],
            'AWS/AutoScaling',
            'GroupInServiceInstances',
            `${tier} in service`,
          ),
        ),
        perTier((tier) =>
          groupMetric(tiers[tier], 'AWS/AutoScaling', 'GroupDesiredCapacity', `${tier} desired`),
        ),
      ),
      graph(
        'Healthy / unhealthy targets',
        perTier((tier) =>
          loadBalancers[tier].targetGroup.metrics.healthyHostCount({ label: `${tier} healthy` }),
        ),
        perTier((tier) =>
          loadBalancers[tier].targetGroup.metrics.unhealthyHostCount({
            label: `${tier} unhealthy`,
          }),
        ),
      ),
    ],
    [
      graph(
        'RDS CPU % / connections',
        [rds.metricCPUUtilization()],
        [rds.metricDatabaseConnections()],
      ),
      graph('RDS read / write IOPS', [rds.metricReadIOPS(), rds.metricWriteIOPS()]),
      graph('RDS free storage (bytes)', [rds.metricFreeStorageSpace()]),
    ],
  ];
}
