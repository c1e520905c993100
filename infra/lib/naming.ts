import type { EnvironmentName } from '../config/index.js';

/** The two app tiers; each has its own subnets, security group, ASG, image and log group. */
export type TierName = 'frontend' | 'backend';

export const PROJECT = 'goal-tracker';

/** CloudFront's WebACLs (scope CLOUDFRONT) exist only in us-east-1. */
export const CLOUDFRONT_REGION = 'us-east-1';
export const REGISTRY_STACK_NAME = `${PROJECT}-registry`;

export const environmentStackName = (envName: EnvironmentName) => `${PROJECT}-${envName}`;

/** The resource-name prefix of an environment, e.g. `dev-goal-tracker` (the spec's form). */
export const resourcePrefix = (envName: EnvironmentName) => `${envName}-${PROJECT}`;

export const repositoryName = (tier: TierName) => `${PROJECT}-${tier}`;

export const appLogGroupName = (envName: EnvironmentName, tier: TierName) =>
  `/aws/ec2/${resourcePrefix(envName)}/${tier}`;

export const databaseSecretName = (envName: EnvironmentName) =>
  `${resourcePrefix(envName)}-db-credentials`;

export const databaseInstanceIdentifier = (envName: EnvironmentName) =>
  `${resourcePrefix(envName)}-postgres`;

/** Ports the apps listen on (agreed with apps/web and apps/api). */
export const FRONTEND_PORT = 3000;
export const BACKEND_PORT = 8080;
export const POSTGRES_PORT = 5432;
export const DATABASE_NAME = 'goalsdb';
export const DATABASE_USERNAME = 'postgres';
