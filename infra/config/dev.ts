import { specificationDefaults } from './shared.js';
import type { EnvironmentConfig } from './types.js';

/** Dev: the specification's sizes, one NAT gateway, single-AZ database, no rotation. */
export const devConfig: EnvironmentConfig = {
  envName: 'dev',
  natGateways: 1,
  ...specificationDefaults,
  database: {
    instanceType: 't3.micro',
    allocatedStorageGiB: 20,
    multiAz: false,
    deletionProtection: false,
    retainOnDelete: false,
    performanceInsights: false,
    enhancedMonitoringSeconds: 0,
    rotationDays: undefined,
  },
  logRetentionDays: 14,
  accessLogRetentionDays: 30,
  terminationProtection: false,
};
