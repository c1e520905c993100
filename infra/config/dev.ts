import type { EnvironmentConfig } from './types.js';

/** Dev: the specification's sizes, one NAT gateway, single-AZ database, no rotation. */
export const devConfig: EnvironmentConfig = {
  envName: 'dev',
  natGateways: 1,
  sshCidr: undefined,
  certificateArn: undefined,
  alarmEmail: undefined,
  imageTag: 'latest',
  appInstanceType: 't3.micro',
  bastionInstanceType: 't2.micro',
  rootVolumeGiB: 10,
  frontend: { minCapacity: 2, maxCapacity: 4 },
  backend: { minCapacity: 2, maxCapacity: 6 },
  healthCheckGraceSeconds: 300,
  database: {
    instanceType: 't3.micro',
    allocatedStorageGiB: 20,
    multiAz: false,
    deletionProtection: false,
    snapshotOnDelete: false,
    performanceInsights: false,
    enhancedMonitoringSeconds: 0,
    rotationDays: undefined,
  },
  logRetentionDays: 14,
  accessLogRetentionDays: 30,
  terminationProtection: false,
};
