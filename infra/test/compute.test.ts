import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { devConfig } from '../config/index.js';
import { renderAppUserData, USER_DATA_DIR } from '../lib/app-user-data.js';
import {
  renderIntrinsic,
  resourcesOf,
  synthesize,
  templateOf,
  WITH_DOMAIN,
  TEST_IMAGE_TAG,
  type Json,
} from './support/synth.js';

const app = synthesize();
const withDomain = synthesize({ env: 'dev', ...WITH_DOMAIN });
const newImage = synthesize({ env: 'dev', imageTag: 'abc1234' });
const scratch = mkdtempSync(join(tmpdir(), 'goal-tracker-user-data-'));
afterAll(() => {
  for (const synthesized of [app, withDomain, newImage]) synthesized.dispose();
  rmSync(scratch, { recursive: true, force: true });
});
const dev = templateOf(app, 'goal-tracker-dev');
const prod = templateOf(app, 'goal-tracker-prod');
const devWithDomain = templateOf(withDomain, 'goal-tracker-dev');

const TIERS = [
  {
    tier: 'frontend',
    id: 'Frontend',
    maxSize: '4',
    port: 3000,
    loadBalancer: 'PublicLoadBalancer',
    subnets: 'frontend',
  },
  {
    tier: 'backend',
    id: 'Backend',
    maxSize: '6',
    port: 8080,
    loadBalancer: 'InternalLoadBalancer',
    subnets: 'backend',
  },
] as const;

type Resources = Record<string, { Type: string; Properties: Json } & Json>;
const resources = (template: Template) => (template.toJSON() as { Resources: Resources }).Resources;

/** The logical ID of the one resource whose ID is `prefix` plus CDK's 8-hex-digit hash. */
function logicalId(template: Template, prefix: string): string {
  const ids = Object.keys(resources(template)).filter((id) =>
    new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id),
  );
  if (ids.length !== 1) throw new Error(`Expected one resource ${prefix}, found [${ids.join()}]`);
  return ids[0] as string;
}

function resource(template: Template, prefix: string) {
  return resources(template)[logicalId(template, prefix)] as { Properties: Json } & Json;
}

const subnetRefs = (template: Template, group: string) =>
  resourcesOf(template, 'AWS::EC2::Subnet')
    .filter(([, { Properties }]) =>
      (Properties.Tags as { Key: string; Value: string }[]).some(
        (tag) => tag.Key === 'aws-cdk:subnet-name' && tag.Value === group,
      ),
    )
    .map(([id]) => ({ Ref: id }));

const userDataOf = (template: Template, tierId: string) =>
  renderIntrinsic(
    (resource(template, `${tierId}LaunchTemplate`).Properties.LaunchTemplateData as Json).UserData,
  );

const roleOfLaunchTemplate = (template: Template, tierId: string) => {
  const data = resource(template, `${tierId}LaunchTemplate`).Properties.LaunchTemplateData as Json;
  const profileId = (((data.IamInstanceProfile as Json).Arn as Json)['Fn::GetAtt'] as string[])[0];
  const profile = resources(template)[profileId ?? ''];
  return ((profile?.Properties.Roles as Json[])[0] as Json).Ref as string;
};

function shellcheck(script: string, name: string) {
  const file = join(scratch, name);
  writeFileSync(file, script);
  const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', file], {
    encoding: 'utf8',
  });
  if (result.error) {
    throw new Error(`shellcheck is required (apt-get install shellcheck): ${result.error.message}`);
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('app tiers: launch templates', () => {
  it.each(TIERS)(
    'when the $tier tier launches, then it runs the pinned Amazon Linux 2023 AMI on t3.micro, IMDSv2 only, encrypted gp3',
    ({ id, tier }) => {
      const data = resource(dev, `${id}LaunchTemplate`).Properties.LaunchTemplateData as Json;
      expect(data).toMatchObject({
        InstanceType: 't3.micro',
        // Hop limit 2 only where the container itself uses the instance role (the backend
        // reads Secrets Manager): the extra hop is Docker's bridge.
        MetadataOptions: {
          HttpTokens: 'required',
          HttpEndpoint: 'enabled',
          HttpPutResponseHopLimit: tier === 'backend' ? 2 : 1,
        },
        BlockDeviceMappings: [
          {
            DeviceName: '/dev/xvda',
            Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 10, DeleteOnTermination: true },
          },
        ],
      });
      // A literal ID from config, never an SSM "latest" parameter that moves under a deploy.
      expect(data.ImageId).toBe(devConfig.machineImages['us-east-1']);
      expect(data.ImageId).toMatch(/^ami-[0-9a-f]{8,17}$/);
      // Unlimited, said outright rather than left to the account's default: a standard-mode
      // instance out of credits is held at 10 % per vCPU and never reaches the 70 % alarm.
      expect(data.CreditSpecification).toEqual({ CpuCredits: 'unlimited' });
      expect(resource(prod, `${id}LaunchTemplate`).Properties.LaunchTemplateData).toMatchObject({
        CreditSpecification: { CpuCredits: 'unlimited' },
      });
    },
  );

  it.each(TIERS)(
    'when the $tier group is created, then it waits for the NAT routes of its private subnets',
    ({ id, subnets }) => {
      const dependsOn = resource(dev, `${id}GroupASG`).DependsOn as string[];
      const routes = resourcesOf(dev, 'AWS::EC2::Route', {
        Properties: { DestinationCidrBlock: '0.0.0.0/0' },
      })
        .filter(([, { Properties }]) => 'NatGatewayId' in Properties)
        .map(([routeId]) => routeId)
        .filter((routeId) =>
          routeId.toLowerCase().startsWith(`network vpc${subnets}`.replaceAll(' ', '')),
        );
      expect(routes.length).toBeGreaterThan(0);
      expect(dependsOn).toEqual(expect.arrayContaining(routes));
    },
  );

  it.each(TIERS)(
    'when the $tier instance role is read, then it has the three specified managed policies',
    ({ id }) => {
      const role = resources(dev)[roleOfLaunchTemplate(dev, id)];
      expect(role?.Properties.ManagedPolicyArns).toEqual(
        [
          'AmazonEC2ContainerRegistryReadOnly',
          'AmazonSSMManagedInstanceCore',
          'CloudWatchAgentServerPolicy',
        ].map((name) => ({
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::aws:policy/${name}`]],
        })),
      );
    },
  );

  it('when the instance roles are read, then only the backend may read the secret, and only it', () => {
    const statementsOf = (tierId: string) => {
      const role = roleOfLaunchTemplate(dev, tierId);
      return resourcesOf(dev, 'AWS::IAM::Policy')
        .filter(([, { Properties }]) => (Properties.Roles as Json[]).some((r) => r.Ref === role))
        .flatMap(([, { Properties }]) => (Properties.PolicyDocument as Json).Statement as Json[]);
    };
    const signal = {
      Action: 'cloudformation:SignalResource',
      Effect: 'Allow',
      Resource: { Ref: 'AWS::StackId' },
    };
    const targetHealth = {
      Action: 'elasticloadbalancing:DescribeTargetHealth',
      Effect: 'Allow',
      Resource: '*',
    };
    expect(statementsOf('Frontend')).toEqual([targetHealth, signal]);
    expect(statementsOf('Backend')).toEqual([
      targetHealth,
      signal,
      {
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Effect: 'Allow',
        Resource: { Ref: logicalId(dev, 'DatabaseCredentialsAttachment') },
      },
    ]);
  });
});

describe('app tiers: Auto Scaling groups', () => {
  it.each(TIERS)(
    'when the $tier group is created, then it holds 2 to $maxSize instances in its own subnets',
    ({ id, maxSize, subnets, loadBalancer }) => {
      for (const template of [dev, prod]) {
        const group = resource(template, `${id}GroupASG`).Properties;
        expect(group).toMatchObject({
          MinSize: '2',
          MaxSize: maxSize,
          VPCZoneIdentifier: subnetRefs(template, subnets),
          TargetGroupARNs: [{ Ref: logicalId(template, `${loadBalancer}Targets`) }],
          LaunchTemplate: {
            LaunchTemplateId: { Ref: logicalId(template, `${id}LaunchTemplate`) },
            Version: {
              'Fn::GetAtt': [logicalId(template, `${id}LaunchTemplate`), 'LatestVersionNumber'],
            },
          },
        });
        // Desired starts at MinSize (2); leaving it unset keeps deploys from undoing a scale-out.
        expect(group).not.toHaveProperty('DesiredCapacity');
      }
    },
  );

  it.each(TIERS)(
    'when a $tier instance fails its target group check, then the group replaces it after the grace period',
    ({ id }) => {
      expect(resource(dev, `${id}GroupASG`).Properties).toMatchObject({
        HealthCheckType: 'ELB',
        HealthCheckGracePeriod: 300,
      });
    },
  );

  it.each(TIERS)(
    'when $tier CPU is above 70 % for 5 minutes, then one instance is added; below 30 %, one is removed',
    ({ id }) => {
      const group = logicalId(dev, `${id}GroupASG`);
      const scaleOut = logicalId(dev, `${id}ScaleOut`);
      const scaleIn = logicalId(dev, `${id}ScaleIn`);
      expect(resources(dev)[scaleOut]?.Properties).toEqual({
        AutoScalingGroupName: { Ref: group },
        PolicyType: 'StepScaling',
        AdjustmentType: 'ChangeInCapacity',
        MetricAggregationType: 'Average',
        EstimatedInstanceWarmup: 300,
        StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
      });
      expect(resources(dev)[scaleIn]?.Properties).toMatchObject({
        AutoScalingGroupName: { Ref: group },
        PolicyType: 'StepScaling',
        AdjustmentType: 'ChangeInCapacity',
        StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }],
      });
      const cpu = {
        Namespace: 'AWS/EC2',
        MetricName: 'CPUUtilization',
        Dimensions: [{ Name: 'AutoScalingGroupName', Value: { Ref: group } }],
        Statistic: 'Average',
        Period: 300,
        EvaluationPeriods: 1,
      };
      expect(resource(dev, `${id}ScaleOutAlarm`).Properties).toMatchObject({
        ...cpu,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 70,
        AlarmActions: [{ Ref: scaleOut }],
      });
      expect(resource(dev, `${id}ScaleInAlarm`).Properties).toMatchObject({
        ...cpu,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 30,
        AlarmActions: [{ Ref: scaleIn }],
      });
    },
  );

  it.each(TIERS)(
    'when the $tier group has scaled, then it waits the 300 s cooldown before the next simple adjustment',
    ({ id }) => {
      expect(resource(dev, `${id}GroupASG`).Properties.Cooldown).toBe('300');
    },
  );

  it.each(TIERS)(
    'when $tier instances are created or replaced, then each must signal success or the change rolls back',
    ({ id }) => {
      expect(resource(dev, `${id}GroupASG`)).toMatchObject({
        CreationPolicy: { ResourceSignal: { Count: 2, Timeout: 'PT15M' } },
        UpdatePolicy: {
          AutoScalingRollingUpdate: {
            MaxBatchSize: 1,
            MinInstancesInService: 2,
            WaitOnResourceSignals: true,
            PauseTime: 'PT15M',
            SuspendProcesses: expect.arrayContaining([
              'HealthCheck',
              'ReplaceUnhealthy',
              'AZRebalance',
              'AlarmNotification',
              'ScheduledActions',
            ]) as unknown,
          },
        },
      });
    },
  );

  it('when the image tag changes, then only the launch templates change, which rolls both groups', () => {
    const before = resources(dev);
    const after = resources(templateOf(newImage, 'goal-tracker-dev'));
    const changed = Object.keys(after).filter(
      (id) => JSON.stringify(after[id]) !== JSON.stringify(before[id]),
    );
    expect(changed.sort()).toEqual([
      logicalId(dev, 'BackendLaunchTemplate'),
      logicalId(dev, 'FrontendLaunchTemplate'),
    ]);
    expect(userDataOf(templateOf(newImage, 'goal-tracker-dev'), 'Frontend')).toContain(
      "readonly IMAGE='123456789012.dkr.ecr.us-east-1.amazonaws.com/goal-tracker-frontend:abc1234'",
    );
  });
});

describe('app tiers: user data', () => {
  const scripts = TIERS.map(({ tier, id }) => ({ tier, script: userDataOf(dev, id) }));

  it.each(scripts)(
    'when the $tier user data is rendered, then shellcheck finds nothing',
    ({ tier, script }) => {
      expect(shellcheck(script, `${tier}.sh`)).toEqual({ status: 0, output: '' });
    },
  );

  it('when the watchdog and a renderer output with awkward values are checked, then shellcheck is clean', () => {
    const rendered = renderAppUserData({
      tier: 'backend',
      region: 'eu-west-1',
      image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/goal-tracker-backend:v1.2_3',
      containerPort: 8080,
      healthPath: '/health',
      logGroupName: '/aws/ec2/prod-goal-tracker/backend',
      stackName: 'goal-tracker-prod',
      signalResource: 'BackendGroupASG0123ABCD',
      targetGroupArn:
        'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/goal-tracker/0123456789abcdef',
      environment: { QUOTED: `it's "quoted" & <odd>`, EMPTY: '' },
    });
    expect(shellcheck(rendered, 'rendered.sh')).toEqual({ status: 0, output: '' });
    expect(rendered).toContain(`'QUOTED=it'\\''s "quoted" & <odd>'`);
    const watchdog = readFileSync(join(USER_DATA_DIR, 'container-watchdog.sh'), 'utf8');
    expect(shellcheck(watchdog, 'watchdog.sh')).toEqual({ status: 0, output: '' });
  });

  it('when an environment variable name is not a shell name, then rendering refuses it', () => {
    expect(() =>
      renderAppUserData({
        tier: 'frontend',
        region: 'us-east-1',
        image: 'x/y:z',
        containerPort: 3000,
        healthPath: '/health',
        logGroupName: 'g',
        stackName: 's',
        signalResource: 'r',
        targetGroupArn: 't',
        environment: { 'BAD NAME': 'x' },
      }),
    ).toThrow('Invalid container environment name "BAD NAME".');
  });

  it.each(scripts)(
    'when the $tier user data is sent to EC2, then it fits the 16 KB user-data limit',
    ({ script }) => {
      // Deployed ARNs and DNS names add at most a few hundred bytes to these stand-ins.
      expect(Buffer.byteLength(script)).toBeLessThan(16 * 1024);
    },
  );

  it.each(scripts)(
    'when the $tier user data runs, then it starts in strict mode and is valid bash',
    ({ script }) => {
      const lines = script.split('\n');
      expect(lines[0]).toBe('#!/bin/bash');
      const firstCommand = lines.findIndex((line) => line.trim() !== '' && !line.startsWith('#'));
      expect(lines[firstCommand]).toBe('set -euo pipefail');
      const file = join(scratch, 'syntax.sh');
      writeFileSync(file, script);
      expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    },
  );

  it.each(TIERS)(
    'when the $tier user data runs, then it installs Docker, logs in to ECR and pulls its image by tag',
    ({ tier, id }) => {
      const script = userDataOf(dev, id);
      expect(script).toContain('dnf install -y docker aws-cfn-bootstrap amazon-cloudwatch-agent');
      expect(script).toContain('systemctl enable --now docker');
      expect(script).toContain(
        `readonly IMAGE='123456789012.dkr.ecr.us-east-1.amazonaws.com/goal-tracker-${tier}:${TEST_IMAGE_TAG}'`,
      );
      expect(script).toMatch(
        /aws ecr get-login-password --region "\$REGION" \|\s+docker login --username AWS --password-stdin "\$\{IMAGE%%\/\*\}"/,
      );
      expect(script).toContain('retry ecr_login');
      expect(script).toContain('retry docker pull "$IMAGE"');
    },
  );

  it.each(TIERS)(
    'when the $tier container runs, then systemd restarts it always and Docker ships its logs to its log group',
    ({ tier, id, port }) => {
      const script = userDataOf(dev, id);
      expect(script).toContain(`readonly LOG_GROUP='REF_${logicalId(dev, `${id}LogGroup`)}'`);
      expect(resource(dev, `${id}LogGroup`).Properties.LogGroupName).toBe(
        `/aws/ec2/dev-goal-tracker/${tier}`,
      );
      expect(script).toContain(`readonly CONTAINER_PORT='${port}'`);
      for (const option of [
        '--log-driver awslogs',
        '--log-opt "awslogs-group=${LOG_GROUP}"',
        '--log-opt "awslogs-region=${REGION}"',
        '--publish "${CONTAINER_PORT}:${CONTAINER_PORT}"',
        '--restart no',
      ]) {
        expect(script).toContain(option);
      }
      const unit = /cat >"\/etc\/systemd\/system\/\$\{SERVICE\}" <<UNIT\n([\s\S]*?)\nUNIT\n/.exec(
        script,
      )?.[1];
      expect(unit).toContain('Restart=always');
      expect(unit).toContain('ExecStart=/usr/bin/docker start --attach ${CONTAINER}');
      expect(unit).toContain('ExecStop=/usr/bin/docker stop --time 10 ${CONTAINER}');
      expect(unit).toContain('WantedBy=multi-user.target');
    },
  );

  it.each(TIERS)(
    'when the $tier container turns unhealthy, then the watchdog timer restarts its service',
    ({ id }) => {
      const script = userDataOf(dev, id);
      expect(script).toContain("readonly HEALTH_PATH='/health'");
      expect(script).toContain(
        `--health-cmd "node -e \\"fetch('http://127.0.0.1:\${CONTAINER_PORT}\${HEALTH_PATH}')`,
      );
      expect(script).toContain('--health-interval 15s --health-timeout 5s --health-retries 3');
      const watchdog = readFileSync(join(USER_DATA_DIR, 'container-watchdog.sh'), 'utf8').trimEnd();
      expect(script).toContain(`<<'WATCHDOG'\n${watchdog}\nWATCHDOG\n`);
      expect(watchdog).toMatch(
        /if \[\[ "\$status" == unhealthy \]\]; then[\s\S]*systemctl restart "\$service"/,
      );
      expect(script).toContain('ExecStart=${WATCHDOG} ${CONTAINER} ${SERVICE}');
      expect(script).toContain('OnUnitActiveSec=30s');
      expect(script).toContain('systemctl enable --now "$SERVICE" "${CONTAINER}-watchdog.timer"');
    },
  );

  it.each(TIERS)(
    'when the $tier container is started, then cfn-signal reports success only once its target is healthy in its target group',
    ({ id, port, loadBalancer }) => {
      const script = userDataOf(dev, id);
      expect(script).toContain("readonly STACK_NAME='goal-tracker-dev'");
      expect(script).toContain(`readonly SIGNAL_RESOURCE='${logicalId(dev, `${id}GroupASG`)}'`);
      const started = script.indexOf('systemctl enable --now "$SERVICE"');
      const success = script.indexOf('signal_cloudformation 0');
      expect(started).toBeGreaterThan(0);
      expect(success).toBeGreaterThan(started);
      expect(script.match(/signal_cloudformation 0/g)).toHaveLength(1);
      // First the container's own check, then the load balancer's, of the same path.
      const containerReady = script.search(
        /if \[\[ "\$\(container_health \|\| true\)" == healthy \]\]/,
      );
      expect(containerReady).toBeGreaterThan(started);
      expect(script).toMatch(
        /if \[\[ "\$\(target_health \|\| true\)" == healthy \]\]; then\n\s+signal_cloudformation 0\n/,
      );
      expect(success).toBeGreaterThan(containerReady);
      expect(script).toContain(
        `readonly TARGET_GROUP_ARN='REF_${logicalId(dev, `${loadBalancer}Targets`)}'`,
      );
      expect(script).toContain(
        'aws elbv2 describe-target-health --region "$REGION" --target-group-arn "$TARGET_GROUP_ARN"',
      );
      expect(script).toContain('--targets "Id=${instance_id},Port=${CONTAINER_PORT}"');
      expect(script).toContain(`readonly CONTAINER_PORT='${port}'`);
      expect(resource(dev, `${loadBalancer}Targets`).Properties.HealthCheckPath).toBe('/health');
      expect(script).toContain("readonly HEALTH_PATH='/health'");
      // Bounded: 36 x 10 s, well inside the 15-minute signal timeout.
      expect(script).toContain('readonly TARGET_WAIT_ATTEMPTS=36');
      expect(script).toMatch(
        /for \(\(attempt = 1; attempt <= TARGET_WAIT_ATTEMPTS; attempt\+\+\)\)/,
      );
      // Every failure path signals failure at once, so CloudFormation rolls back without waiting.
      expect(script).toContain('trap \'fail "command failed at line $LINENO"\' ERR');
      expect(script).toMatch(/fail\(\) \{[\s\S]*?signal_cloudformation 1/);
      expect(script).toContain('|| fail "${CONTAINER} did not become healthy"');
      expect(
        script
          .trimEnd()
          .endsWith(
            'fail "${instance_id}:${CONTAINER_PORT} did not become healthy in its target group"',
          ),
      ).toBe(true);
    },
  );

  it('when the frontend starts, then its API_URL is the internal ALB on 8080, and it trusts the VPC as proxies', () => {
    const internal = logicalId(dev, 'InternalLoadBalancer');
    expect(userDataOf(dev, 'Frontend')).toMatch(
      new RegExp(`\\n {2}'API_URL=http://GETATT_${internal}_DNSName:8080'\\n`),
    );
    expect(userDataOf(dev, 'Frontend')).toContain(`\n  'TRUSTED_PROXIES=10.0.0.0/16'\n`);
  });

  it.each(TIERS)(
    'when the $tier container starts, then WORKERS is left unset: one server process per vCPU',
    ({ id }) => {
      expect(userDataOf(dev, id)).not.toContain('WORKERS');
      expect(userDataOf(prod, id)).not.toContain('WORKERS');
    },
  );

  it('when the backend starts, then it is not given ALLOWED_HOSTS (only the web tier checks Host)', () => {
    expect(userDataOf(dev, 'Backend')).not.toContain('ALLOWED_HOSTS');
  });

  it('when the backend starts, then it gets the secret ARN, verified TLS to RDS and its region', () => {
    const script = userDataOf(dev, 'Backend');
    const attachment = logicalId(dev, 'DatabaseCredentialsAttachment');
    for (const variable of [
      'PORT=8080',
      'HOST=0.0.0.0',
      `DB_SECRET_ARN=REF_${attachment}`,
      'DB_SSL=verify-full',
      'DB_SSL_CA=/app/certs/rds-global-bundle.pem',
      'AWS_REGION=us-east-1',
      'TRUSTED_PROXIES=10.0.0.0/16',
      `WEBAUTHN_RP_ID=GETATT_${logicalId(dev, 'PublicEntryDistribution')}_DomainName`,
    ]) {
      expect(script).toContain(`\n  '${variable}'\n`);
    }
    // The password never passes through user data: the API reads the secret itself.
    expect(script).not.toContain('get-secret-value');
    expect(script).not.toMatch(/'[A-Z_]*PASSWORD[A-Z_]*=/);
  });
});

describe('load balancers', () => {
  it('when there is no domain, then the public ALB on 80 forwards to the frontend on 3000 only requests carrying the CloudFront origin secret; others get 403', () => {
    const publicAlb = resource(dev, 'PublicLoadBalancer').Properties;
    expect(publicAlb).toMatchObject({
      Scheme: 'internet-facing',
      Type: 'application',
      Subnets: subnetRefs(dev, 'public'),
    });
    const listeners = resourcesOf(dev, 'AWS::ElasticLoadBalancingV2::Listener').filter(
      ([, { Properties }]) =>
        (Properties.LoadBalancerArn as Json).Ref === logicalId(dev, 'PublicLoadBalancer'),
    );
    expect(listeners.map(([, { Properties }]) => Properties)).toEqual([
      expect.objectContaining({
        Port: 80,
        Protocol: 'HTTP',
        DefaultActions: [
          {
            Type: 'fixed-response',
            FixedResponseConfig: {
              StatusCode: '403',
              ContentType: 'text/plain',
              MessageBody: 'Forbidden',
            },
          },
        ],
      }),
    ]);
    const secret = logicalId(dev, 'PublicEntryOriginSecret');
    const secretValue = {
      'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secret }, ':SecretString:::}}']],
    };
    const rules = resourcesOf(dev, 'AWS::ElasticLoadBalancingV2::ListenerRule');
    expect(rules).toHaveLength(1);
    expect(rules[0]?.[1].Properties).toMatchObject({
      ListenerArn: { Ref: listeners[0]?.[0] },
      Priority: 1,
      Conditions: [
        {
          Field: 'http-header',
          HttpHeaderConfig: { HttpHeaderName: 'X-Origin-Verify', Values: [secretValue] },
        },
      ],
      Actions: [
        { Type: 'forward', TargetGroupArn: { Ref: logicalId(dev, 'PublicLoadBalancerTargets') } },
      ],
    });
    // Letters and digits only: * and ? are wildcards in ALB header conditions.
    expect(resource(dev, 'PublicEntryOriginSecret').Properties.GenerateSecretString).toMatchObject({
      PasswordLength: 48,
      ExcludePunctuation: true,
    });
    const distribution = resourcesOf(dev, 'AWS::CloudFront::Distribution')[0]?.[1];
    const config = distribution?.Properties.DistributionConfig as Json;
    expect((config.Origins as Json[])[0]).toMatchObject({
      DomainName: { 'Fn::GetAtt': [logicalId(dev, 'PublicLoadBalancer'), 'DNSName'] },
      CustomOriginConfig: { OriginProtocolPolicy: 'http-only' },
      OriginCustomHeaders: [{ HeaderName: 'X-Origin-Verify', HeaderValue: secretValue }],
    });
  });

  it('when there is no domain, then CloudFront redirects to HTTPS, caches nothing, allows every method and forwards headers, cookies and query', () => {
    for (const template of [dev, prod]) {
      const distribution = resourcesOf(template, 'AWS::CloudFront::Distribution')[0]?.[1];
      const config = distribution?.Properties.DistributionConfig as Json;
      expect(config.DefaultCacheBehavior).toMatchObject({
        ViewerProtocolPolicy: 'redirect-to-https',
        // Managed-CachingDisabled and Managed-AllViewerAndCloudFrontHeaders-2022-06.
        CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
        OriginRequestPolicyId: '33f36d7e-f396-46d9-90e0-52428a34d9dc',
        AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      });
      expect(config).not.toHaveProperty('ViewerCertificate');
      expect(config.WebACLId).toEqual({
        'Fn::GetAtt': [logicalId(template, 'WafWebAcl'), 'Arn'],
      });
      expect(template.toJSON()).toMatchObject({
        Outputs: {
          ApplicationUrl: {
            Value: {
              'Fn::Join': [
                '',
                [
                  'https://',
                  { 'Fn::GetAtt': [logicalId(template, 'PublicEntryDistribution'), 'DomainName'] },
                ],
              ],
            },
          },
        },
      });
    }
  });

  it('when there is no domain, then the public ALB admits only CloudFront origin-facing addresses, on 80', () => {
    expect(resource(dev, 'SecurityGroupsPublicAlb').Properties).not.toHaveProperty(
      'SecurityGroupIngress',
    );
    const ingress = resourcesOf(dev, 'AWS::EC2::SecurityGroupIngress').filter(
      ([, { Properties }]) =>
        ((Properties.GroupId as Json)['Fn::GetAtt'] as string[])[0] ===
        logicalId(dev, 'SecurityGroupsPublicAlb'),
    );
    expect(ingress.map(([, { Properties }]) => Properties)).toEqual([
      {
        GroupId: expect.anything() as unknown,
        IpProtocol: 'tcp',
        FromPort: 80,
        ToPort: 80,
        SourcePrefixListId: 'pl-3b927c52',
        Description: 'HTTP from CloudFront origin-facing addresses only',
      },
    ]);
  });

  it('when the frontend starts, then it answers to the public name and the ALB name, and trusts CloudFront-Forwarded-Proto only behind CloudFront', () => {
    const alb = `GETATT_${logicalId(dev, 'PublicLoadBalancer')}_DNSName`;
    const cloudFront = `GETATT_${logicalId(dev, 'PublicEntryDistribution')}_DomainName`;
    expect(userDataOf(dev, 'Frontend')).toContain(`\n  'ALLOWED_HOSTS=${cloudFront},${alb}'\n`);
    expect(userDataOf(dev, 'Frontend')).toContain(
      `\n  'FORWARDED_PROTO_HEADER=cloudfront-forwarded-proto'\n`,
    );
    const domainAlb = `GETATT_${logicalId(devWithDomain, 'PublicLoadBalancer')}_DNSName`;
    expect(userDataOf(devWithDomain, 'Frontend')).toContain(
      `\n  'ALLOWED_HOSTS=goals.example.com,${domainAlb}'\n`,
    );
    expect(userDataOf(devWithDomain, 'Frontend')).not.toContain('FORWARDED_PROTO_HEADER');
    expect(userDataOf(devWithDomain, 'Backend')).toContain(
      `\n  'WEBAUTHN_ORIGINS=https://goals.example.com'\n`,
    );
  });

  it('when the frontend target group checks health, then it is GET /health (200; a signed-out GET / answers 303) every 30 s on port 3000', () => {
    expect(resource(dev, 'PublicLoadBalancerTargets').Properties).toMatchObject({
      Port: 3000,
      Protocol: 'HTTP',
      TargetType: 'instance',
      HealthCheckPath: '/health',
      HealthCheckIntervalSeconds: 30,
      HealthCheckTimeoutSeconds: 10,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 3,
      Matcher: { HttpCode: '200' },
    });
  });

  it.each(['PublicLoadBalancerTargets', 'InternalLoadBalancerTargets'])(
    "when %s deregisters an instance, then it drains for the apps' 10 s shutdown",
    (targets) => {
      expect(resource(dev, targets).Properties.TargetGroupAttributes).toContainEqual({
        Key: 'deregistration_delay.timeout_seconds',
        Value: '10',
      });
    },
  );

  it('when the frontend calls the API, then an internal ALB in the backend subnets forwards 8080 to targets checked on /health every 10 s, out after 2 failures', () => {
    expect(resource(dev, 'InternalLoadBalancer').Properties).toMatchObject({
      Scheme: 'internal',
      Subnets: subnetRefs(dev, 'backend'),
    });
    expect(resource(dev, 'InternalLoadBalancerHttp').Properties).toMatchObject({
      Port: 8080,
      Protocol: 'HTTP',
      DefaultActions: [
        { Type: 'forward', TargetGroupArn: { Ref: logicalId(dev, 'InternalLoadBalancerTargets') } },
      ],
    });
    expect(resource(dev, 'InternalLoadBalancerTargets').Properties).toMatchObject({
      Port: 8080,
      Protocol: 'HTTP',
      HealthCheckPath: '/health',
      HealthCheckIntervalSeconds: 10,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
    });
  });

  it.each([
    ['PublicLoadBalancer', 'public'],
    ['InternalLoadBalancer', 'internal'],
  ])(
    'when %s receives headers that are not valid HTTP, then it drops them and logs to S3',
    (id, prefix) => {
      expect(resource(dev, id).Properties.LoadBalancerAttributes).toEqual(
        expect.arrayContaining([
          { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
          { Key: 'access_logs.s3.enabled', Value: 'true' },
          { Key: 'access_logs.s3.bucket', Value: { Ref: logicalId(dev, 'AccessLogsBucket') } },
          { Key: 'access_logs.s3.prefix', Value: prefix },
        ]),
      );
    },
  );

  it('when access logs are written, then the bucket is encrypted, private, TLS-only and expires them', () => {
    const bucket = resource(dev, 'AccessLogsBucket');
    expect(bucket).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: { Rules: [{ ExpirationInDays: 30, Status: 'Enabled' }] },
      },
    });
    expect(resource(prod, 'AccessLogsBucket').Properties.LifecycleConfiguration).toEqual({
      Rules: [{ ExpirationInDays: 90, Status: 'Enabled' }],
    });
    const statements = (resource(dev, 'AccessLogsBucketPolicy').Properties.PolicyDocument as Json)
      .Statement as Json[];
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    // us-east-1's Elastic Load Balancing log-delivery account.
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: 's3:PutObject',
        Principal: { AWS: 'arn:aws:iam::127311923021:root' },
      }),
    );
  });

  it('when a domain is configured, then 443 serves TLS 1.3 with a DNS-validated certificate, 80 redirects, an alias record names the ALB, and the URL is https://<domain>', () => {
    const template = devWithDomain;
    expect(resource(template, 'PublicEntryCertificate').Properties).toEqual({
      DomainName: 'goals.example.com',
      DomainValidationOptions: [
        { DomainName: 'goals.example.com', HostedZoneId: 'Z0123456789EXAMPLE' },
      ],
      ValidationMethod: 'DNS',
      Tags: expect.any(Array) as unknown,
    });
    expect(resource(template, 'PublicEntryAliasRecord').Properties).toMatchObject({
      Name: 'goals.example.com.',
      Type: 'A',
      HostedZoneId: 'Z0123456789EXAMPLE',
    });
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    expect(template.toJSON()).toMatchObject({
      Outputs: { ApplicationUrl: { Value: 'https://goals.example.com' } },
    });
    const https = resource(template, 'PublicLoadBalancerHttps').Properties;
    expect(https).toMatchObject({
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: { Ref: logicalId(template, 'PublicEntryCertificate') } }],
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      DefaultActions: [
        {
          Type: 'forward',
          TargetGroupArn: { Ref: logicalId(template, 'PublicLoadBalancerTargets') },
        },
      ],
    });
    expect(resource(template, 'PublicLoadBalancerHttp').Properties).toMatchObject({
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [
        {
          Type: 'redirect',
          RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' },
        },
      ],
    });
  });
});

describe('bastion', () => {
  it.each([
    ['dev', dev],
    ['prod', prod],
  ])(
    'when %s is synthesized, then a t2.micro bastion with a public IP sits in a public subnet',
    (_, template) => {
      const [[id, bastion]] = resourcesOf(template, 'AWS::EC2::Instance') as [
        [string, { Properties: Json }],
      ];
      expect(bastion.Properties).toMatchObject({
        InstanceType: 't2.micro',
        NetworkInterfaces: [
          expect.objectContaining({
            AssociatePublicIpAddress: true,
            DeviceIndex: '0',
            SubnetId: subnetRefs(template, 'public')[0],
          }),
        ],
        BlockDeviceMappings: [
          {
            DeviceName: '/dev/xvda',
            Ebs: expect.objectContaining({ Encrypted: true, VolumeType: 'gp3' }) as unknown,
          },
        ],
      });
      expect(template.toJSON()).toMatchObject({
        Outputs: { BastionPublicIp: { Value: { 'Fn::GetAtt': [id, 'PublicIp'] } } },
      });
    },
  );

  it('when the bastion boots, then IMDSv2 is required and Session Manager is its only permission', () => {
    const bastion = resource(dev, 'BastionInstance').Properties;
    const launchTemplate = ((bastion.LaunchTemplate as Json).Version as Json)[
      'Fn::GetAtt'
    ] as string[];
    expect(resources(dev)[launchTemplate[0] ?? '']?.Properties).toMatchObject({
      LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } },
    });
    const role = resource(dev, 'BastionRole');
    expect(role.Properties.ManagedPolicyArns).toEqual([
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore'],
        ],
      },
    ]);
    const bastionRole = logicalId(dev, 'BastionRole');
    const inline = resourcesOf(dev, 'AWS::IAM::Policy').filter(([, { Properties }]) =>
      (Properties.Roles as Json[]).some((r) => r.Ref === bastionRole),
    );
    expect(inline).toEqual([]);
  });
});
