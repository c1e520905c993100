import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  DEFAULT_REGION,
  resolveEnvironmentConfig,
  selectEnvironments,
  type EnvironmentName,
} from '../config/index.js';
import { EnvironmentStack } from './environment-stack.js';
import { environmentStackName, REGISTRY_STACK_NAME } from './naming.js';
import { RegistryStack } from './registry-stack.js';

export interface GoalTrackerApp {
  readonly app: App;
  readonly registry: RegistryStack;
  readonly environments: Partial<Record<EnvironmentName, EnvironmentStack>>;
}

function contextString(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new Error(`Context "${key}" must be a string.`);
  return value;
}

export interface GoalTrackerAppOptions extends AppProps {
  /** The region every stack targets. */
  readonly region?: string;
}

/**
 * Builds the CDK app: the registry stack plus the environment stacks selected by the `env`
 * context (all when unset), with cdk-nag's AwsSolutions checks run on every synthesis.
 */
export function createGoalTrackerApp(options: GoalTrackerAppOptions = {}): GoalTrackerApp {
  const { region = DEFAULT_REGION, ...props } = options;
  const app = new App(props);
  // Account-agnostic (no credentials needed to synthesize), region-specific: see DEFAULT_REGION.
  const env = { region };
  const registry = new RegistryStack(app, REGISTRY_STACK_NAME, {
    env,
    stackName: REGISTRY_STACK_NAME,
    description: 'Goal Tracker ECR repositories shared by every environment',
  });
  const overrides = {
    sshCidr: contextString(app, 'sshCidr'),
    certificateArn: contextString(app, 'certificateArn'),
    domain: contextString(app, 'domain'),
    hostedZoneId: contextString(app, 'hostedZoneId'),
    alarmEmail: contextString(app, 'alarmEmail'),
    imageTag: contextString(app, 'imageTag'),
  };
  const environments: Partial<Record<EnvironmentName, EnvironmentStack>> = {};
  for (const envName of selectEnvironments(contextString(app, 'env'))) {
    const stackName = environmentStackName(envName);
    environments[envName] = new EnvironmentStack(app, stackName, {
      env,
      stackName,
      description: `Goal Tracker ${envName} environment`,
      config: resolveEnvironmentConfig(envName, overrides),
    });
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, registry, environments };
}
