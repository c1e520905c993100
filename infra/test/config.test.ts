import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import {
  devConfig,
  prodConfig,
  resolveEnvironmentConfig,
  selectEnvironments,
  type EnvironmentConfig,
} from '../config/index.js';
import { validateEnvironmentConfig } from '../config/validate.js';
import { EnvironmentStack } from '../lib/environment-stack.js';
import { createGoalTrackerApp, type GoalTrackerAppOptions } from '../lib/goal-tracker-app.js';
import {
  CDK_JSON_CONTEXT,
  TEST_CERTIFICATE_ARN,
  TEST_SSH_CIDR,
  WITH_DOMAIN,
} from './support/synth.js';

const valid: EnvironmentConfig = { ...devConfig, sshCidr: TEST_SSH_CIDR, imageTag: 'abc1234' };

// Apps are built, never synthesized, here; they still need a cloud assembly directory.
const outdir = mkdtempSync(join(tmpdir(), 'goal-tracker-config-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function createApp(options: GoalTrackerAppOptions) {
  return createGoalTrackerApp({ outdir, ...options });
}

/** Builds one environment stack from a config, the way the app does. */
function buildStack(config: EnvironmentConfig): EnvironmentStack {
  return new EnvironmentStack(new App({ outdir }), 'goal-tracker-test', { config });
}

describe('bad configuration fails synthesis with a clear message', () => {
  it('when the SSH CIDR is missing, then synthesis fails naming sshCidr and how to pass it', () => {
    expect(() => createApp({ context: { ...CDK_JSON_CONTEXT } })).toThrow(
      /sshCidr is missing.*-c sshCidr=<your public IP>\/32/s,
    );
  });

  it('when cdk.json is read, then it carries no default SSH CIDR', () => {
    expect(CDK_JSON_CONTEXT).not.toHaveProperty('sshCidr');
  });

  it('when the SSH CIDR is 0.0.0.0/0, then synthesis refuses to open SSH to the internet', () => {
    expect(() => createApp({ context: { ...CDK_JSON_CONTEXT, sshCidr: '0.0.0.0/0' } })).toThrow(
      /sshCidr "0\.0\.0\.0\/0" opens SSH to the whole internet/,
    );
  });

  it('when the SSH CIDR is not a CIDR, then synthesis fails showing the expected form', () => {
    expect(() => buildStack({ ...valid, sshCidr: '10.0.0.300/32' })).toThrow(
      /sshCidr "10\.0\.0\.300\/32" is not an IPv4 CIDR/,
    );
    expect(() => buildStack({ ...valid, sshCidr: 'my-laptop' })).toThrow(/is not an IPv4 CIDR/);
  });

  it.each([0, 3, 1.5])(
    'when the NAT gateway count is %s, then synthesis fails with the allowed range',
    (natGateways) => {
      expect(() => buildStack({ ...valid, natGateways })).toThrow(
        new RegExp(`natGateways ${natGateways} is out of range: expected an integer from 1 to 2`),
      );
    },
  );

  it('when the environment is unknown, then synthesis fails listing dev and prod', () => {
    expect(() =>
      createApp({
        context: { ...CDK_JSON_CONTEXT, sshCidr: TEST_SSH_CIDR, env: 'staging' },
      }),
    ).toThrow('Unknown environment "staging" (context "env"): expected one of dev, prod.');
  });

  it('when a config names an unknown environment, then validation fails listing dev and prod', () => {
    const staging = { ...valid, envName: 'staging' } as unknown as EnvironmentConfig;
    expect(() => validateEnvironmentConfig(staging)).toThrow(
      /envName "staging" is unknown: expected one of dev, prod/,
    );
  });

  it('when several settings are wrong, then one error lists every problem', () => {
    const broken: EnvironmentConfig = {
      ...valid,
      sshCidr: undefined,
      natGateways: 5,
      imageTag: 'not a tag',
      frontend: { minCapacity: 4, maxCapacity: 2 },
      logRetentionDays: 8,
      alarmEmail: 'nobody',
      certificateArn: 'arn:aws:iam::123456789012:role/not-a-certificate',
    };
    const error = (() => {
      try {
        validateEnvironmentConfig(broken);
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('validation passed');
    })();
    expect(error.message).toMatch(/^Invalid configuration for environment "dev":/);
    for (const setting of [
      'sshCidr is missing',
      'natGateways 5',
      'imageTag "not a tag"',
      'frontend capacity 4-2',
      'logRetentionDays 8',
      'alarmEmail "nobody"',
      'certificateArn',
    ]) {
      expect(error.message).toContain(setting);
    }
  });

  it('when the image tag is not a Docker tag, then synthesis fails before any template', () => {
    expect(() =>
      createApp({
        context: { ...CDK_JSON_CONTEXT, sshCidr: TEST_SSH_CIDR, imageTag: 'v1;reboot' },
      }),
    ).toThrow(/imageTag "v1;reboot" is not a Docker tag/);
  });
});

describe('public entry settings', () => {
  it('when there is no domain outside us-east-1, then synthesis fails: the CloudFront WAF lives only there', () => {
    expect(() =>
      createApp({ region: 'eu-west-1', context: { ...CDK_JSON_CONTEXT, sshCidr: TEST_SSH_CIDR } }),
    ).toThrow(/WAF must be in us-east-1; this stack is in eu-west-1.*-c domain=<name>/);
  });

  it('when a domain comes without its hosted zone, or a certificate without a domain, then validation names the fix', () => {
    expect(() => validateEnvironmentConfig({ ...valid, domain: 'goals.example.com' })).toThrow(
      /domain "goals.example.com" needs its Route 53 hosted zone: pass -c hostedZoneId=/,
    );
    expect(() =>
      validateEnvironmentConfig({ ...valid, certificateArn: TEST_CERTIFICATE_ARN }),
    ).toThrow(/certificateArn is set without a domain/);
    expect(() =>
      validateEnvironmentConfig({ ...valid, ...WITH_DOMAIN, domain: 'not a name' }),
    ).toThrow(/domain "not a name" is not a DNS name/);
  });

  it('when the domain is given with a trailing dot or capitals, then it is used as a plain lower-case name', () => {
    expect(
      resolveEnvironmentConfig('dev', { domain: 'Goals.Example.com.', hostedZoneId: 'Z1' }).domain,
    ).toBe('goals.example.com');
  });
});

describe('image tag', () => {
  it('when no imageTag is given, then synth of an environment fails saying how to pass one', () => {
    const { app } = createApp({
      context: { ...CDK_JSON_CONTEXT, sshCidr: TEST_SSH_CIDR, env: 'dev' },
    });
    expect(() => app.synth()).toThrow(
      /imageTag is missing for goal-tracker-dev: pass .* `-c imageTag=<tag>`.*`latest` is never pushed/,
    );
  }, 120_000);

  it('when the CLI builds no stack for real (cdk destroy, or deploy of the registry alone), then a missing imageTag is no error', () => {
    const { environments } = createApp({
      context: {
        ...CDK_JSON_CONTEXT,
        sshCidr: TEST_SSH_CIDR,
        env: 'dev',
        // What `cdk destroy` sets; `deploy goal-tracker-registry --exclusively` names only it.
        'aws:cdk:bundling-stacks': ['goal-tracker-registry'],
      },
    });
    const stack = environments.dev as EnvironmentStack;
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });

  it('when cdk.json is read, then it names no image tag (the old default, latest, is never pushed)', () => {
    expect(CDK_JSON_CONTEXT).not.toHaveProperty('imageTag');
    expect(devConfig.imageTag).toBeUndefined();
    expect(prodConfig.imageTag).toBeUndefined();
  });
});

describe('typed configuration', () => {
  it('when dev and prod are compared, then only the documented settings differ', () => {
    expect(devConfig).toMatchObject({
      natGateways: 1,
      database: { multiAz: false, deletionProtection: false, rotationDays: undefined },
    });
    expect(prodConfig).toMatchObject({
      natGateways: 2,
      database: { multiAz: true, deletionProtection: true, rotationDays: 30 },
    });
    for (const config of [devConfig, prodConfig]) {
      expect(config).toMatchObject({
        appInstanceType: 't3.micro',
        bastionInstanceType: 't2.micro',
        frontend: { minCapacity: 2, maxCapacity: 4 },
        backend: { minCapacity: 2, maxCapacity: 6 },
        database: { instanceType: 't3.micro', allocatedStorageGiB: 20 },
      });
      expect(() => validateEnvironmentConfig({ ...config, sshCidr: TEST_SSH_CIDR })).not.toThrow();
    }
  });

  it('when context values are given, then they override config and blanks are ignored', () => {
    const resolved = resolveEnvironmentConfig('prod', {
      sshCidr: ' 203.0.113.7/32 ',
      imageTag: 'abc1234',
      alarmEmail: '',
    });
    expect(resolved).toMatchObject({
      envName: 'prod',
      sshCidr: '203.0.113.7/32',
      imageTag: 'abc1234',
      alarmEmail: undefined,
      natGateways: 2,
    });
  });

  it('when env is unset, then both environments are built; when set, only that one', () => {
    expect(selectEnvironments(undefined)).toEqual(['dev', 'prod']);
    expect(selectEnvironments('prod')).toEqual(['prod']);
    const { registry, environments } = createApp({
      context: { ...CDK_JSON_CONTEXT, sshCidr: TEST_SSH_CIDR, env: 'dev' },
    });
    expect(registry.stackName).toBe('goal-tracker-registry');
    expect(Object.keys(environments)).toEqual(['dev']);
    expect(environments.dev?.stackName).toBe('goal-tracker-dev');
  });

  it('when a region has no pinned AMI, then building fails naming the region', () => {
    expect(() =>
      createApp({
        region: 'eu-west-1',
        context: { ...CDK_JSON_CONTEXT, sshCidr: TEST_SSH_CIDR, ...WITH_DOMAIN },
      }),
    ).toThrow(/no AMI specified for region 'eu-west-1'/);
  });

  it('when stacks are built, then they are account-agnostic so synthesis needs no credentials', () => {
    const { registry, environments } = createApp({
      region: 'us-east-1',
      context: { ...CDK_JSON_CONTEXT, sshCidr: TEST_SSH_CIDR, ...WITH_DOMAIN },
    });
    for (const stack of [registry, ...Object.values(environments)]) {
      expect(stack.region).toBe('us-east-1');
      expect(stack.account).toMatch(/^\$\{Token\[AWS\.AccountId/);
    }
  });
});
