import { specificationDefaults } from './shared.js';
import type { EnvironmentConfig } from './types.js';

/** Prod: one NAT gateway per AZ, Multi-AZ database retained on delete, rotation, longer retention. */
export const prodConfig: EnvironmentConfig = {
  envName: 'prod',
  natGateways: 2,
  ...specificationDefaults,
  database: {
    instanceType: 't3.micro',
    allocatedStorageGiB: 20,
    multiAz: true,
    deletionProtection: true,
    retainOnDelete: true,
    performanceInsights: true,
    enhancedMonitoringSeconds: 60,
    rotationDays: 30,
  },
  logRetentionDays: 90,
  accessLogRetentionDays: 90,
  terminationProtection: true,
};
