import { Duration, Names, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DatabaseConfig } from '../config/index.js';
import { DATABASE_NAME, DATABASE_USERNAME, POSTGRES_PORT } from './naming.js';

export const PASSWORD_LENGTH = 32;
/** Characters kept out of generated passwords: they break connection strings or shells. */
export const PASSWORD_EXCLUDED_CHARACTERS = ' %+~`#$&*()|[]{}:;<>?!\'/@"\\';
export const BACKUP_RETENTION = Duration.days(7);
/** Daily backups start at 03:00 UTC (the specification); maintenance follows on Sundays. */
export const BACKUP_WINDOW = '03:00-03:30';
export const MAINTENANCE_WINDOW = 'sun:04:00-sun:04:30';
export const LOG_EXPORTS = ['postgresql', 'upgrade'] as const;

export interface DatabaseProps {
  readonly config: DatabaseConfig;
  readonly vpc: ec2.IVpc;
  readonly subnetGroupName: string;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly instanceIdentifier: string;
  readonly secretName: string;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Where the rotation function runs when rotation is on: subnets with a route to AWS APIs. */
  readonly rotationSubnetGroupName: string;
  /** The only clients the database admits (the backend tier). */
  readonly clientSecurityGroup: ec2.ISecurityGroup;
}

/**
 * RDS PostgreSQL 15 in the isolated database subnets, never public, TLS forced, with its
 * credentials in a Secrets Manager secret (`{env}-goal-tracker-db-credentials`) holding
 * username, password, engine, host, port and dbname.
 */
export class Database extends Construct {
  /** The credentials secret, attached to the instance (so it also carries host and port). */
  readonly secret: secretsmanager.ISecret;
  readonly instance: rds.DatabaseInstance;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { config } = props;
    const engine = rds.DatabaseInstanceEngine.postgres({
      version: rds.PostgresEngineVersion.VER_15,
    });

    // A plain Secret rather than rds.DatabaseSecret: only it takes the 32-character length.
    const credentials = new secretsmanager.Secret(this, 'Credentials', {
      secretName: props.secretName,
      description: `PostgreSQL credentials of ${props.instanceIdentifier}`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({
          username: DATABASE_USERNAME,
          dbname: DATABASE_NAME,
        }),
        generateStringKey: 'password',
        passwordLength: PASSWORD_LENGTH,
        excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
      },
      // The password of a retained database must outlive the stack with it.
      removalPolicy: config.retainOnDelete
        ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        : RemovalPolicy.DESTROY,
    });

    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'Goal Tracker PostgreSQL 15: TLS required for every connection',
      parameters: { 'rds.force_ssl': '1' },
    });

    // Created here rather than by RDS so that they have a retention (and no custom resource).
    const logGroups = LOG_EXPORTS.map(
      (log) =>
        new logs.LogGroup(this, `${log}LogGroup`, {
          logGroupName: `/aws/rds/instance/${props.instanceIdentifier}/${log}`,
          retention: props.logRetention,
          removalPolicy: props.logRemovalPolicy,
        }),
    );

    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      engine,
      instanceIdentifier: props.instanceIdentifier,
      instanceType: new ec2.InstanceType(config.instanceType),
      vpc: props.vpc,
      vpcSubnets: { subnetGroupName: props.subnetGroupName },
      securityGroups: [props.securityGroup],
      publiclyAccessible: false,
      port: POSTGRES_PORT,
      credentials: rds.Credentials.fromSecret(credentials),
      databaseName: DATABASE_NAME,
      allocatedStorage: config.allocatedStorageGiB,
      storageType: rds.StorageType.GP3,
      storageEncrypted: true,
      multiAz: config.multiAz,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      parameterGroup,
      backupRetention: BACKUP_RETENTION,
      preferredBackupWindow: BACKUP_WINDOW,
      preferredMaintenanceWindow: MAINTENANCE_WINDOW,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      cloudwatchLogsExports: [...LOG_EXPORTS],
      enablePerformanceInsights: config.performanceInsights,
      ...(config.performanceInsights
        ? { performanceInsightRetention: rds.PerformanceInsightRetention.DEFAULT }
        : {}),
      ...(config.enhancedMonitoringSeconds > 0
        ? { monitoringInterval: Duration.seconds(config.enhancedMonitoringSeconds) }
        : {}),
      deletionProtection: config.deletionProtection,
      // Retained, not snapshotted: the instance and its automated backups outlive the stack,
      // and RetainExceptOnCreate (RETAIN_ON_UPDATE_OR_DELETE) lets a failed first create clean up after itself.
      removalPolicy: config.retainOnDelete
        ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        : RemovalPolicy.DESTROY,
    });
    for (const logGroup of logGroups) this.instance.node.addDependency(logGroup);
    if (!this.instance.secret) throw new Error('The database instance has no attached secret.');
    this.secret = this.instance.secret;

    // Through the instance's connections: the rotation below opens the same rule the same way,
    // so CloudFormation sees one rule, not a duplicate it would reject.
    this.instance.connections.allowDefaultPortFrom(
      props.clientSecurityGroup,
      'PostgreSQL from the backend',
    );
    if (config.rotationDays !== undefined) {
      const rotation = this.instance.addRotationSingleUser({
        automaticallyAfter: Duration.days(config.rotationDays),
        excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
        vpcSubnets: { subnetGroupName: props.rotationSubnetGroupName },
        // The backend's group, so that RDS keeps admitting exactly one source.
        securityGroup: props.clientSecurityGroup,
      });
      // The rotation function comes from a Serverless Application Repository app; its name is
      // SecretRotation's (the last 64 characters of its unique ID), so its log group can be
      // made first, with a retention, instead of by Lambda on the first rotation.
      const uniqueId = Names.uniqueId(rotation);
      const functionName = uniqueId.substring(Math.max(uniqueId.length - 64, 0));
      const rotationLogs = new logs.LogGroup(this, 'RotationLogGroup', {
        logGroupName: `/aws/lambda/${functionName}`,
        retention: props.logRetention,
        removalPolicy: props.logRemovalPolicy,
      });
      rotation.node.addDependency(rotationLogs);
    }

    this.acknowledgeFindings(config, credentials);
  }

  private acknowledgeFindings(config: DatabaseConfig, credentials: secretsmanager.Secret): void {
    const instance = this.instance;
    Validations.of(instance).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        'The specification fixes PostgreSQL on 5432; the instance is private and admits only ' +
        'the backend security group, so a non-default port would add no protection.',
    });
    if (!config.multiAz) {
      Validations.of(instance).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason: 'Dev runs a single-AZ database by configuration (specification: "Dev: Single").',
      });
    }
    if (!config.deletionProtection) {
      Validations.of(instance).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: 'Dev is disposable; deletion protection is on in prod by configuration.',
      });
    }
    if (config.rotationDays === undefined) {
      Validations.of(credentials).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'Dev does not rotate its credentials; prod rotates them by configuration.',
      });
    }
    const monitoringRole = instance.node.tryFindChild('MonitoringRole');
    if (monitoringRole) {
      Validations.of(monitoringRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
        reason: 'The AWS managed policy RDS enhanced monitoring is designed to use.',
      });
    }
  }
}
