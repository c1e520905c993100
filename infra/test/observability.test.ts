import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import {
  renderIntrinsic,
  resourcesOf,
  synthesize,
  templateOf,
  type Json,
} from './support/synth.js';

const app = synthesize();
const withEmail = synthesize({ env: 'prod', alarmEmail: 'ops@example.com' });
afterAll(() => {
  app.dispose();
  withEmail.dispose();
});
const dev = templateOf(app, 'goal-tracker-dev');
const prod = templateOf(app, 'goal-tracker-prod');

type Resource = { Type: string; Properties: Json } & Json;
const resources = (template: Template) =>
  (template.toJSON() as { Resources: Record<string, Resource> }).Resources;
const idOf = (template: Template, prefix: string) => {
  const ids = Object.keys(resources(template)).filter((id) =>
    new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id),
  );
  expect(ids).toHaveLength(1);
  return ids[0] as string;
};
const alarm = (template: Template, name: string) =>
  resources(template)[idOf(template, `Observability${name}`)]?.Properties as Json;

describe('CloudWatch log groups', () => {
  it.each([
    ['dev', dev, 14],
    ['prod', prod, 90],
  ] as const)(
    'when %s is synthesized, then every log group keeps its events %i days (config)',
    (env, template, days) => {
      const groups = resourcesOf(template, 'AWS::Logs::LogGroup');
      expect(
        groups.map(([, { Properties }]) => Properties.LogGroupName ?? 'unnamed').sort(),
      ).toEqual(
        [
          ...(env === 'prod'
            ? ['/aws/lambda/goaltrackerprodDatabaseInstanceRotationSingleUser0DD30CA7']
            : []),
          'unnamed', // the default security group's custom-resource Lambda
          `/aws/ec2/${env}-goal-tracker/backend`,
          `/aws/ec2/${env}-goal-tracker/frontend`,
          `/aws/rds/instance/${env}-goal-tracker-postgres/postgresql`,
          `/aws/rds/instance/${env}-goal-tracker-postgres/upgrade`,
          'unnamed', // flow logs
        ].sort(),
      );
      for (const [, group] of groups) expect(group.Properties.RetentionInDays).toBe(days);
    },
  );

  it.each([
    ['dev', dev],
    ['prod', prod],
  ] as const)(
    'when %s runs a Lambda (custom resource or rotation), then it logs into a group with a retention',
    (_, template) => {
      for (const [, fn] of resourcesOf(template, 'AWS::Lambda::Function')) {
        const ref = ((fn.Properties.LoggingConfig as Json).LogGroup as Json).Ref as string;
        expect(resources(template)[ref]?.Properties.RetentionInDays).toBeGreaterThan(0);
      }
      for (const [id, app] of resourcesOf(template, 'AWS::Serverless::Application')) {
        const name = (app.Properties.Parameters as Json).functionName as string;
        const groupId = resourcesOf(template, 'AWS::Logs::LogGroup', {
          Properties: { LogGroupName: `/aws/lambda/${name}` },
        })[0]?.[0];
        expect(resources(template)[id]?.DependsOn).toContain(groupId);
      }
    },
  );

  it('when dev is deleted, then its log groups go with it; prod keeps them, except after a failed first create', () => {
    for (const [, group] of resourcesOf(dev, 'AWS::Logs::LogGroup'))
      expect(group.DeletionPolicy).toBe('Delete');
    for (const [, group] of resourcesOf(prod, 'AWS::Logs::LogGroup'))
      expect(group.DeletionPolicy).toBe('RetainExceptOnCreate');
  });
});

describe('alarms to SNS', () => {
  const topicOf = (template: Template) => ({ Ref: idOf(template, 'ObservabilityAlarmTopic') });

  it('when alarms are counted, then there are the eight of the specification plus the four scaling alarms', () => {
    const alarms = resourcesOf(dev, 'AWS::CloudWatch::Alarm');
    const notifying = alarms.filter(([, { Properties }]) =>
      JSON.stringify(Properties.AlarmActions).includes('ObservabilityAlarmTopic'),
    );
    expect(notifying).toHaveLength(8);
    expect(alarms).toHaveLength(12);
  });

  it('when any alarm changes state, then the topic hears both ALARM and OK', () => {
    for (const [id, { Properties }] of resourcesOf(dev, 'AWS::CloudWatch::Alarm')) {
      if (!id.startsWith('Observability')) continue;
      expect(Properties.AlarmActions).toEqual([topicOf(dev)]);
      expect(Properties.OKActions).toEqual([topicOf(dev)]);
    }
  });

  it.each([
    ['frontend', 'Frontend'],
    ['backend', 'Backend'],
  ])('when %s CPU stays above 80 %% for 10 minutes, then an alarm fires', (tier, id) => {
    expect(alarm(dev, `${tier}HighCpu`)).toMatchObject({
      Namespace: 'AWS/EC2',
      MetricName: 'CPUUtilization',
      Dimensions: [{ Name: 'AutoScalingGroupName', Value: { Ref: idOf(dev, `${id}GroupASG`) } }],
      Statistic: 'Average',
      Period: 300,
      EvaluationPeriods: 2,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 80,
    });
  });

  it.each([
    ['frontend', 'PublicLoadBalancer'],
    ['backend', 'InternalLoadBalancer'],
  ])(
    'when the %s target group reports an unhealthy target for 3 minutes, then an alarm fires',
    (tier, lb) => {
      expect(alarm(dev, `${tier}UnhealthyTargets`)).toMatchObject({
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'UnHealthyHostCount',
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 3,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        Dimensions: expect.arrayContaining([
          {
            Name: 'TargetGroup',
            Value: { 'Fn::GetAtt': [idOf(dev, `${lb}Targets`), 'TargetGroupFullName'] },
          },
        ]) as unknown,
      });
    },
  );

  it.each([
    ['frontend', 'PublicLoadBalancer'],
    ['backend', 'InternalLoadBalancer'],
  ])('when the %s ALB answers more than 10 5xx in 5 minutes, then an alarm fires', (tier, lb) => {
    const properties = alarm(dev, `${tier}LoadBalancer5xx`);
    expect(properties).toMatchObject({
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 10,
      EvaluationPeriods: 1,
    });
    const metrics = properties.Metrics as Json[];
    expect(metrics[0]).toMatchObject({
      Expression: 'FILL(elb, 0) + FILL(targets, 0)',
      ReturnData: true,
    });
    const fullName = {
      Name: 'LoadBalancer',
      Value: { 'Fn::GetAtt': [idOf(dev, lb), 'LoadBalancerFullName'] },
    };
    for (const [metricId, metricName] of [
      ['elb', 'HTTPCode_ELB_5XX_Count'],
      ['targets', 'HTTPCode_Target_5XX_Count'],
    ]) {
      expect(metrics).toContainEqual({
        Id: metricId,
        ReturnData: false,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/ApplicationELB',
            MetricName: metricName,
            Dimensions: [fullName],
          },
          Period: 300,
          Stat: 'Sum',
        },
      });
    }
  });

  it('when RDS CPU stays above 80 % or free storage falls under 2 GiB, then an alarm fires', () => {
    const instance = {
      Name: 'DBInstanceIdentifier',
      Value: { Ref: idOf(dev, 'DatabaseInstance') },
    };
    expect(alarm(dev, 'DatabaseHighCpu')).toMatchObject({
      Namespace: 'AWS/RDS',
      MetricName: 'CPUUtilization',
      Dimensions: [instance],
      Threshold: 80,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
    });
    expect(alarm(dev, 'DatabaseLowFreeStorage')).toMatchObject({
      Namespace: 'AWS/RDS',
      MetricName: 'FreeStorageSpace',
      Dimensions: [instance],
      Statistic: 'Minimum',
      Threshold: 2 * 1024 ** 3,
      ComparisonOperator: 'LessThanThreshold',
    });
  });

  it('when an app tier launches or terminates an instance, then EventBridge forwards the event to the topic', () => {
    const [[, rule]] = resourcesOf(dev, 'AWS::Events::Rule') as [[string, Resource]];
    expect(rule.Properties).toMatchObject({
      State: 'ENABLED',
      EventPattern: {
        source: ['aws.autoscaling'],
        'detail-type': [
          'EC2 Instance Launch Successful',
          'EC2 Instance Launch Unsuccessful',
          'EC2 Instance Terminate Successful',
          'EC2 Instance Terminate Unsuccessful',
        ],
        detail: {
          AutoScalingGroupName: [
            { Ref: idOf(dev, 'BackendGroupASG') },
            { Ref: idOf(dev, 'FrontendGroupASG') },
          ],
        },
      },
      Targets: [{ Arn: topicOf(dev), Id: 'Target0' }],
    });
  });

  it("when CloudWatch or EventBridge publish, then the topic policy lets them, over TLS only, CloudWatch only for this account's alarms", () => {
    const [[, policy]] = resourcesOf(dev, 'AWS::SNS::TopicPolicy') as [[string, Resource]];
    expect(policy.Properties.Topics).toEqual([topicOf(dev)]);
    expect((policy.Properties.PolicyDocument as Json).Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
      {
        Sid: 'CloudWatchAlarmsOfThisAccount',
        Effect: 'Allow',
        Action: 'sns:Publish',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Resource: topicOf(dev),
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: {
            'aws:SourceArn': {
              'Fn::Join': [
                '',
                ['arn:aws:cloudwatch:us-east-1:', { Ref: 'AWS::AccountId' }, ':alarm:*'],
              ],
            },
          },
        },
      },
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'sns:Publish',
        Principal: { Service: 'events.amazonaws.com' },
      }),
    ]);
    expect(resources(dev)[topicOf(dev).Ref]?.Properties.TopicName).toBe('dev-goal-tracker-alarms');
  });

  it('when no alarm e-mail is configured, then nobody is subscribed; when one is, it is', () => {
    dev.resourceCountIs('AWS::SNS::Subscription', 0);
    const template = templateOf(withEmail, 'goal-tracker-prod');
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: topicOf(template),
    });
  });
});

describe('dashboard', () => {
  it("when the dashboard is opened, then it graphs the specification's metrics and the alarms", () => {
    const [[, dashboard]] = resourcesOf(dev, 'AWS::CloudWatch::Dashboard') as [[string, Resource]];
    expect(dashboard.Properties.DashboardName).toBe('dev-goal-tracker');
    const body = renderIntrinsic(dashboard.Properties.DashboardBody);
    const widgets = (JSON.parse(body) as { widgets: { properties: Json }[] }).widgets;
    const metricNames = new Set(
      widgets.flatMap(({ properties }) =>
        ((properties.metrics ?? []) as unknown[][]).flatMap((metric) =>
          metric.filter((part) => typeof part === 'string'),
        ),
      ),
    );
    for (const metric of [
      'CPUUtilization',
      'mem_used_percent',
      'disk_used_percent',
      'NetworkIn',
      'NetworkOut',
      'GroupInServiceInstances',
      'GroupDesiredCapacity',
      'RequestCount',
      'TargetResponseTime',
      'HTTPCode_Target_4XX_Count',
      'HTTPCode_Target_5XX_Count',
      'HTTPCode_ELB_5XX_Count',
      'HealthyHostCount',
      'UnHealthyHostCount',
      'DatabaseConnections',
      'ReadIOPS',
      'WriteIOPS',
      'FreeStorageSpace',
    ]) {
      expect(metricNames).toContain(metric);
    }
    const alarmWidget = widgets.find(({ properties }) => properties.title === 'Alarms');
    expect((alarmWidget?.properties.alarms as unknown[]).length).toBe(8);
  });
});

describe('outputs', () => {
  it.each([
    ['dev', dev],
    ['prod', prod],
  ] as const)('when %s is deployed, then it outputs exactly the agreed values', (env, template) => {
    const outputs = (template.toJSON() as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'ApplicationUrl',
        'BastionPublicIp',
        'BackendRepositoryUri',
        'DatabaseEndpoint',
        'DatabaseSecretName',
        'FrontendRepositoryUri',
        'LoadBalancerDnsName',
      ].sort(),
    );
    expect(outputs.DatabaseSecretName?.Value).toBe(`${env}-goal-tracker-db-credentials`);
    expect(outputs.DatabaseEndpoint?.Value).toEqual({
      'Fn::GetAtt': [idOf(template, 'DatabaseInstance'), 'Endpoint.Address'],
    });
  });
});
