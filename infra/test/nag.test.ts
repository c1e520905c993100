import { App, Stack, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import type { EnvironmentStack } from '../lib/environment-stack.js';
import {
  resourcesOf,
  synthesize,
  templateOf,
  TEST_SSH_CIDR,
  WITH_DOMAIN,
  type Json,
  type Synthesized,
} from './support/synth.js';

const app = synthesize();
const devWithCertificate = synthesize({ env: 'dev', ...WITH_DOMAIN });
const prodWithDomain = synthesize({ env: 'prod', ...WITH_DOMAIN, alarmEmail: 'ops@example.com' });
const variants: [string, Synthesized][] = [
  ['dev and prod behind CloudFront', app],
  ['dev with a domain', devWithCertificate],
  ['prod with a domain and an alarm e-mail', prodWithDomain],
];
afterAll(() => {
  for (const [, synthesized] of variants) synthesized.dispose();
});

/** Synthesizes dev with a certificate after `mutate` has changed its environment stack. */
function synthesizeDevWith(mutate: (stack: EnvironmentStack) => void): Synthesized {
  return synthesize({ env: 'dev', ...WITH_DOMAIN }, ({ environments }) => {
    if (!environments.dev) throw new Error('dev was not built');
    mutate(environments.dev);
  });
}

interface Finding {
  rule: string;
  path: string;
}

/** AwsSolutions findings as if nothing were acknowledged (cdk-nag's own check, acks ignored). */
function rawFindings(scope: IConstruct): Finding[] {
  const pack = new AwsSolutionsChecks();
  // isAcknowledged is cdk-nag's private filter; were it renamed, every acknowledgement below
  // would stop matching a finding, and the test would fail rather than pass silently.
  Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
  return pack.validateScope(scope).violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      rule: violation.ruleName,
      path: resource.constructPath ?? '',
    })),
  );
}

interface Acknowledgement extends Finding {
  reason: string;
  construct: IConstruct;
}

function acknowledgements(scope: IConstruct): Acknowledgement[] {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .filter(([id]) => /^annotation::AwsSolutions-/i.test(id))
      .map(([id, reason]) => ({
        rule: id.replace(/^annotation::/i, ''),
        path: construct.node.path,
        reason,
        construct,
      })),
  );
}

const policy = (name: string) =>
  `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`;
const INSTANCE_POLICIES = [
  'AmazonEC2ContainerRegistryReadOnly',
  'AmazonSSMManagedInstanceCore',
  'CloudWatchAgentServerPolicy',
].map(policy);

/** Every acknowledgement, by environment: the rule and the construct it sits on. */
const EXPECTED_ACKNOWLEDGEMENTS = (env: 'dev' | 'prod', domain: boolean) => [
  ...['Frontend', 'Backend'].flatMap((tier) => [
    ...INSTANCE_POLICIES.map((rule) => `${tier}/InstanceRole ${rule}`),
    `${tier}/Group AwsSolutions-AS3`,
    `${tier}/InstanceRole/DefaultPolicy AwsSolutions-IAM5[Resource::*]`,
  ]),
  `Bastion/Role ${policy('AmazonSSMManagedInstanceCore')}`,
  'Bastion/Instance AwsSolutions-EC28',
  'Bastion/Instance AwsSolutions-EC29',
  ...(domain
    ? ['SecurityGroups/PublicAlb AwsSolutions-EC23']
    : [
        'PublicEntry/OriginSecret AwsSolutions-SMG4',
        ...['CFR1', 'CFR3', 'CFR4', 'CFR5'].map(
          (rule) => `PublicEntry/Distribution AwsSolutions-${rule}`,
        ),
      ]),
  'AccessLogs/Bucket AwsSolutions-S1',
  'Database/Instance AwsSolutions-RDS11',
  ...(env === 'dev'
    ? [
        'Database/Instance AwsSolutions-RDS3',
        'Database/Instance AwsSolutions-RDS10',
        'Database/Credentials AwsSolutions-SMG4',
      ]
    : [
        `Database/Instance/MonitoringRole ${policy('service-role/AmazonRDSEnhancedMonitoringRole')}`,
      ]),
];

describe('cdk-nag AwsSolutions on every synthesis', () => {
  it.each(variants)(
    'when %s is synthesized, then no finding is left unacknowledged',
    (_, synthesized) => {
      const violations = synthesized.report.pluginReports.flatMap(
        (report) => report.violations ?? [],
      );
      expect(violations).toEqual([]);
    },
  );

  it.each(variants)(
    'when %s is synthesized, then every finding has exactly one acknowledgement and every acknowledgement a finding',
    (_, synthesized) => {
      const findings = rawFindings(synthesized.app);
      const acks = acknowledgements(synthesized.app);
      const covers = (ack: Acknowledgement, finding: Finding) =>
        ack.rule === finding.rule &&
        (finding.path === ack.path || finding.path.startsWith(`${ack.path}/`));
      for (const finding of findings) {
        expect(
          acks.filter((ack) => covers(ack, finding)),
          `${finding.rule} at ${finding.path}`,
        ).toHaveLength(1);
      }
      for (const ack of acks) {
        expect(
          findings.some((finding) => covers(ack, finding)),
          `${ack.rule} at ${ack.path}`,
        ).toBe(true);
      }
    },
  );

  it('when acknowledgements are listed, then each names its rule on the narrowest construct, with a reason', () => {
    const acks = acknowledgements(app.app);
    for (const env of ['dev', 'prod'] as const) {
      expect(
        acks
          .filter(({ path }) => path.startsWith(`goal-tracker-${env}/`))
          .map(({ path, rule }) => `${path.replace(`goal-tracker-${env}/`, '')} ${rule}`)
          .sort(),
      ).toEqual(EXPECTED_ACKNOWLEDGEMENTS(env, false).sort());
    }
    for (const [env, synthesized] of [
      ['dev', devWithCertificate],
      ['prod', prodWithDomain],
    ] as const) {
      expect(
        acknowledgements(synthesized.app)
          .filter(({ path }) => path.startsWith(`goal-tracker-${env}/`))
          .map(({ path, rule }) => `${path.replace(`goal-tracker-${env}/`, '')} ${rule}`)
          .sort(),
      ).toEqual(EXPECTED_ACKNOWLEDGEMENTS(env, true).sort());
    }
    expect(acks.filter(({ path }) => path.startsWith('goal-tracker-registry'))).toEqual([]);
    for (const ack of acks) {
      expect(Stack.isStack(ack.construct) || App.isApp(ack.construct), ack.path).toBe(false);
      expect(ack.reason.length, `${ack.rule} at ${ack.path}`).toBeGreaterThanOrEqual(40);
    }
  });

  it('when a construct breaks a rule and nobody acknowledges it, then synthesis fails naming the rule', () => {
    expect(() =>
      synthesizeDevWith((stack) => {
        new s3.Bucket(stack, 'CarelessBucket');
      }),
    ).toThrow(/require requests to use SSL[\s\S]*CarelessBucket[\s\S]*AwsSolutions-S10/);
  });
});

/**
 * Properties AwsSolutions does not check, asserted here instead. Each check runs on the real
 * templates, then on a dev app broken in exactly those properties: cdk-nag lets the broken app
 * through, the check does not.
 */
const NOT_CHECKED_BY_AWS_SOLUTIONS: [string, (template: Template) => void][] = [
  [
    'IMDSv2 is required on every instance',
    (template) => {
      const launchTemplates = resourcesOf(template, 'AWS::EC2::LaunchTemplate');
      expect(launchTemplates).toHaveLength(3); // frontend, backend, bastion
      for (const [id, { Properties }] of launchTemplates) {
        expect((Properties.LaunchTemplateData as Json).MetadataOptions, id).toMatchObject({
          HttpTokens: 'required',
        });
      }
    },
  ],
  [
    'with a domain, HTTP redirects to HTTPS',
    (template) => {
      const listeners = resourcesOf(template, 'AWS::ElasticLoadBalancingV2::Listener').map(
        ([, { Properties }]) => Properties,
      );
      const http = listeners.filter((listener) => listener.Port === 80);
      expect(http).toHaveLength(1);
      expect(http[0]?.DefaultActions).toEqual([
        {
          Type: 'redirect',
          RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' },
        },
      ]);
      expect(listeners.filter((listener) => listener.Port === 443)).toEqual([
        expect.objectContaining({
          Protocol: 'HTTPS',
          SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        }),
      ]);
    },
  ],
  [
    'both load balancers drop invalid header fields',
    (template) => {
      const balancers = resourcesOf(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
      expect(balancers).toHaveLength(2);
      for (const [id, { Properties }] of balancers) {
        expect(Properties.LoadBalancerAttributes, id).toContainEqual({
          Key: 'routing.http.drop_invalid_header_fields.enabled',
          Value: 'true',
        });
      }
    },
  ],
  [
    'both Auto Scaling groups use ELB health checks with a grace period',
    (template) => {
      const groups = resourcesOf(template, 'AWS::AutoScaling::AutoScalingGroup');
      expect(groups).toHaveLength(2);
      for (const [id, { Properties }] of groups) {
        expect(Properties, id).toMatchObject({
          HealthCheckType: 'ELB',
          HealthCheckGracePeriod: 300,
        });
        expect(Properties.TargetGroupARNs, id).toHaveLength(1);
      }
    },
  ],
  [
    'the database is not publicly accessible',
    (template) => {
      const [[, instance]] = resourcesOf(template, 'AWS::RDS::DBInstance') as [
        [string, { Properties: Json }],
      ];
      expect(instance.Properties.PubliclyAccessible).toBe(false);
    },
  ],
  [
    'SSH reaches the bastion only from the configured CIDR, and app instances only from the bastion',
    (template) => {
      const ssh = (rule: Json) =>
        rule.IpProtocol === '-1' ||
        ((rule.FromPort as number) <= 22 && (rule.ToPort as number) >= 22);
      const inline = resourcesOf(template, 'AWS::EC2::SecurityGroup').flatMap(
        ([id, { Properties }]) =>
          ((Properties.SecurityGroupIngress ?? []) as Json[])
            .filter(ssh)
            .map((rule) => ({ id, rule })),
      );
      expect(inline).toEqual([
        {
          id: expect.stringMatching(/^SecurityGroupsBastion[0-9A-F]{8}$/) as unknown,
          rule: expect.objectContaining({ CidrIp: TEST_SSH_CIDR }) as unknown,
        },
      ]);
      const separate = resourcesOf(template, 'AWS::EC2::SecurityGroupIngress')
        .map(([, { Properties }]) => Properties)
        .filter(ssh);
      expect(separate).toHaveLength(2);
      for (const rule of separate) {
        expect(rule.CidrIp).toBeUndefined();
        expect(rule.SourceSecurityGroupId).toEqual({
          'Fn::GetAtt': [expect.stringMatching(/^SecurityGroupsBastion[0-9A-F]{8}$/), 'GroupId'],
        });
      }
    },
  ],
];

/** Breaks every property above with escape hatches that AwsSolutions does not look at. */
function breakUncheckedProperties(stack: EnvironmentStack): void {
  for (const tier of [stack.tiers.frontend, stack.tiers.backend]) {
    (tier.launchTemplate.node.defaultChild as ec2.CfnLaunchTemplate).addPropertyOverride(
      'LaunchTemplateData.MetadataOptions.HttpTokens',
      'optional',
    );
    (tier.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup).healthCheckType =
      'EC2';
  }
  const http = stack.loadBalancers.frontend.loadBalancer.node.findChild('Http').node
    .defaultChild as elbv2.CfnListener;
  http.addPropertyOverride('DefaultActions', [
    { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200' } },
  ]);
  stack.loadBalancers.backend.loadBalancer.setAttribute(
    'routing.http.drop_invalid_header_fields.enabled',
    'false',
  );
  (stack.database.instance.node.defaultChild as rds.CfnDBInstance).publiclyAccessible = true;
  // Half the internet: no 0.0.0.0/0, so AwsSolutions-EC23 stays quiet.
  stack.securityGroups.bastion.addIngressRule(ec2.Peer.ipv4('0.0.0.0/1'), ec2.Port.tcp(22));
}

describe('what AwsSolutions does not check', () => {
  const real = templateOf(devWithCertificate, 'goal-tracker-dev');
  const broken = synthesizeDevWith(breakUncheckedProperties);
  afterAll(() => broken.dispose());
  const brokenTemplate = templateOf(broken, 'goal-tracker-dev');

  it('when those properties are broken, then synthesis with cdk-nag still succeeds (so these tests are needed)', () => {
    // Synthesis got this far, so no plugin reported an error; only CDK's own template
    // validation may add a warning (it flags a public database), AwsSolutions nothing.
    const reports = broken.report.pluginReports;
    expect(reports.map(({ pluginName }) => pluginName)).toEqual(['CloudFormation Validate']);
    const severities = reports.flatMap(({ violations }) =>
      ((violations ?? []) as { severity: string }[]).map(({ severity }) => severity),
    );
    expect(new Set(severities)).toEqual(new Set(['warning']));
  });

  it.each(NOT_CHECKED_BY_AWS_SOLUTIONS)('when the stack is checked, then %s', (_, check) => {
    check(real);
    expect(() => check(brokenTemplate)).toThrow();
  });

  it.each(NOT_CHECKED_BY_AWS_SOLUTIONS.filter(([name]) => !name.startsWith('with a domain')))(
    'when dev and prod behind CloudFront are checked, then %s',
    (_, check) => {
      check(templateOf(app, 'goal-tracker-dev'));
      check(templateOf(app, 'goal-tracker-prod'));
    },
  );
});
