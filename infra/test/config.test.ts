import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
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
import { CDK_JSON_CONTEXT, TEST_SSH_CIDR } from './support/synth.js';

const valid: EnvironmentConfig = { ...devConfig, sshCidr: TEST_SSH_CIDR };

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

  it('when stacks are built, then they are account-agnostic so synthesis needs no credentials', () => {
    const { registry, environments } = createApp({
      region: 'eu-west-1',
      context: { ...CDK_JSON_CONTEXT, sshCidr: TEST_SSH_CIDR },
    });
    for (const stack of [registry, ...Object.values(environments)]) {
      expect(stack.region).toBe('eu-west-1');
      expect(stack.account).toMatch(/^\$\{Token\[AWS\.AccountId/);
    }
  });
});
