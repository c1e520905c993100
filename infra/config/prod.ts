import type { EnvironmentConfig } from './types.js';

/** Prod: one NAT gateway per AZ, Multi-AZ database kept on delete, rotation, longer retention. */
export const prodConfig: EnvironmentConfig = {
  envName: 'prod',
  natGateways: 2,
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
    multiAz: true,
    deletionProtection: true,
    snapshotOnDelete: true,
    performanceInsights: true,
    enhancedMonitoringSeconds: 60,
    rotationDays: 30,
  },
  logRetentionDays: 90,
  accessLogRetentionDays: 90,
  terminationProtection: true,
};
