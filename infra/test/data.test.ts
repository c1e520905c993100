import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { resourcesOf, synthesize, templateOf, type Json } from './support/synth.js';

const app = synthesize();
afterAll(() => app.dispose());
const dev = templateOf(app, 'goal-tracker-dev');
const prod = templateOf(app, 'goal-tracker-prod');
const registry = templateOf(app, 'goal-tracker-registry');
const environments = [
  ['dev', dev],
  ['prod', prod],
] as const;

type Resource = { Type: string; Properties: Json } & Json;
/** The database's secret (the CloudFront shape has a second one: the origin header). */
const databaseSecret = (template: Template): [string, Resource] => {
  const found = resourcesOf(template, 'AWS::SecretsManager::Secret').filter(([, secret]) =>
    String(secret.Properties.Name).endsWith('-db-credentials'),
  );
  if (found.length !== 1) throw new Error(`Expected one database secret, found ${found.length}`);
  return found[0] as [string, Resource];
};

const only = (template: Template, type: string): [string, Resource] => {
  const found = resourcesOf(template, type);
  expect(found).toHaveLength(1);
  return found[0] as [string, Resource];
};
const byId = (template: Template, id: string) =>
  (template.toJSON() as { Resources: Record<string, Resource> }).Resources[id] as Resource;

describe('RDS PostgreSQL', () => {
  it.each(environments)(
    'when %s is synthesized, then PostgreSQL 15 runs on db.t3.micro with 20 GB of encrypted gp3',
    (env, template) => {
      const [, instance] = only(template, 'AWS::RDS::DBInstance');
      expect(instance.Properties).toMatchObject({
        Engine: 'postgres',
        EngineVersion: '15',
        DBInstanceClass: 'db.t3.micro',
        AllocatedStorage: '20',
        StorageType: 'gp3',
        StorageEncrypted: true,
        DBName: 'goalsdb',
        DBInstanceIdentifier: `${env}-goal-tracker-postgres`,
        Port: '5432',
        PubliclyAccessible: false,
        CACertificateIdentifier: 'rds-ca-rsa2048-g1',
      });
    },
  );

  it.each(environments)(
    'when %s is synthesized, then the database lives only in the isolated database subnets',
    (_, template) => {
      const [groupId, group] = only(template, 'AWS::RDS::DBSubnetGroup');
      const databaseSubnets = resourcesOf(template, 'AWS::EC2::Subnet')
        .filter(([, { Properties }]) =>
          (Properties.Tags as { Key: string; Value: string }[]).some(
            (tag) => tag.Key === 'aws-cdk:subnet-name' && tag.Value === 'database',
          ),
        )
        .map(([id]) => ({ Ref: id }));
      expect(group.Properties.SubnetIds).toEqual(databaseSubnets);
      expect(only(template, 'AWS::RDS::DBInstance')[1].Properties.DBSubnetGroupName).toEqual({
        Ref: groupId,
      });
    },
  );

  it.each(environments)(
    'when %s backs up, then backups are kept 7 days and taken at 03:00 UTC',
    (_, template) => {
      expect(only(template, 'AWS::RDS::DBInstance')[1].Properties).toMatchObject({
        BackupRetentionPeriod: 7,
        PreferredBackupWindow: '03:00-03:30',
        PreferredMaintenanceWindow: 'sun:04:00-sun:04:30',
        CopyTagsToSnapshot: true,
      });
    },
  );

  it('when dev is synthesized, then it is single-AZ, deletable, without Performance Insights or enhanced monitoring', () => {
    const [, instance] = only(dev, 'AWS::RDS::DBInstance');
    expect(instance).toMatchObject({
      DeletionPolicy: 'Delete',
      Properties: { MultiAZ: false, DeletionProtection: false, EnablePerformanceInsights: false },
    });
    expect(instance.Properties).not.toHaveProperty('MonitoringInterval');
  });

  it('when prod is synthesized, then it is Multi-AZ, protected, retained on delete or replacement (but not after a failed first create), with PI and 60 s monitoring', () => {
    const [, instance] = only(prod, 'AWS::RDS::DBInstance');
    expect(instance).toMatchObject({
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        MultiAZ: true,
        DeletionProtection: true,
        EnablePerformanceInsights: true,
        PerformanceInsightsRetentionPeriod: 7,
        MonitoringInterval: 60,
      },
    });
    const roleId =
      ((instance.Properties.MonitoringRoleArn as Json)['Fn::GetAtt'] as string[])[0] ?? '';
    expect(byId(prod, roleId).Properties).toMatchObject({
      AssumeRolePolicyDocument: {
        Statement: [
          expect.objectContaining({ Principal: { Service: 'monitoring.rds.amazonaws.com' } }),
        ],
      },
    });
  });

  it.each([
    ['dev', dev, 14],
    ['prod', prod, 90],
  ] as const)(
    'when %s exports logs, then postgresql and upgrade go to log groups it creates first',
    (env, template, days) => {
      const [, instance] = only(template, 'AWS::RDS::DBInstance');
      expect(instance.Properties.EnableCloudwatchLogsExports).toEqual(['postgresql', 'upgrade']);
      for (const log of ['postgresql', 'upgrade']) {
        const [[id, group]] = resourcesOf(template, 'AWS::Logs::LogGroup', {
          Properties: { LogGroupName: `/aws/rds/instance/${env}-goal-tracker-postgres/${log}` },
        }) as [[string, Resource]];
        expect(group.Properties.RetentionInDays).toBe(days);
        expect(instance.DependsOn).toContain(id);
      }
    },
  );

  it('when a client connects without TLS, then the parameter group refuses it (rds.force_ssl = 1)', () => {
    const [groupId, group] = only(dev, 'AWS::RDS::DBParameterGroup');
    expect(group.Properties).toMatchObject({
      Family: 'postgres15',
      Parameters: { 'rds.force_ssl': '1' },
    });
    expect(only(dev, 'AWS::RDS::DBInstance')[1].Properties.DBParameterGroupName).toEqual({
      Ref: groupId,
    });
  });
});

describe('database credentials in Secrets Manager', () => {
  it.each(environments)(
    'when %s creates the secret, then it holds postgres, goalsdb and a generated 32-character password',
    (env, template) => {
      const [secretId, secret] = databaseSecret(template);
      expect(secret.Properties).toMatchObject({
        Name: `${env}-goal-tracker-db-credentials`,
        GenerateSecretString: {
          SecretStringTemplate: JSON.stringify({ username: 'postgres', dbname: 'goalsdb' }),
          GenerateStringKey: 'password',
          PasswordLength: 32,
        },
      });
      const [, instance] = only(template, 'AWS::RDS::DBInstance');
      expect(instance.Properties.MasterUsername).toEqual({
        'Fn::Join': [
          '',
          ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:username::}}'],
        ],
      });
      expect(instance.Properties.MasterUserPassword).toEqual({
        'Fn::Join': [
          '',
          ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:password::}}'],
        ],
      });
    },
  );

  it.each(environments)(
    'when %s is deleted, then its secret goes with the database (prod: both retained, except after a failed first create)',
    (env, template) => {
      const [, secret] = databaseSecret(template);
      const [, instance] = only(template, 'AWS::RDS::DBInstance');
      const policy = env === 'prod' ? 'RetainExceptOnCreate' : 'Delete';
      expect(secret.DeletionPolicy).toBe(policy);
      expect(instance.DeletionPolicy).toBe(policy);
    },
  );

  it('when prod is torn down or a first create fails, then every retained resource with a fixed name is RetainExceptOnCreate, so a failed create leaves no name behind', () => {
    const retained = Object.entries(
      prod.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>,
    ).filter(([, resource]) => resource.DeletionPolicy?.startsWith('Retain'));
    const plainRetain = retained
      .filter(([, resource]) => resource.DeletionPolicy === 'Retain')
      .map(([, resource]) => resource.Type);
    // The access-log bucket has a generated name (nothing to collide with on the next create)
    // and may already hold logs, which would make a rollback's delete fail.
    expect(plainRetain).toEqual(['AWS::S3::Bucket']);
    expect(retained.map(([, resource]) => resource.Type).sort()).toEqual(
      expect.arrayContaining([
        'AWS::Logs::LogGroup',
        'AWS::RDS::DBInstance',
        'AWS::SecretsManager::Secret',
      ]),
    );
  });

  it('when the instance exists, then the secret is attached to it, which adds engine, host and port', () => {
    const [secretId] = databaseSecret(dev);
    const [instanceId] = only(dev, 'AWS::RDS::DBInstance');
    expect(only(dev, 'AWS::SecretsManager::SecretTargetAttachment')[1].Properties).toEqual({
      SecretId: { Ref: secretId },
      TargetId: { Ref: instanceId },
      TargetType: 'AWS::RDS::DBInstance',
    });
  });

  it('when dev is synthesized, then its credentials are not rotated (config)', () => {
    dev.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    dev.resourceCountIs('AWS::Serverless::Application', 0);
  });

  it('when prod is synthesized, then its credentials rotate every 30 days from the backend subnets', () => {
    const [attachmentId] = only(prod, 'AWS::SecretsManager::SecretTargetAttachment');
    const [rotationId, rotation] = only(prod, 'AWS::Serverless::Application');
    expect(only(prod, 'AWS::SecretsManager::RotationSchedule')[1].Properties).toEqual({
      SecretId: { Ref: attachmentId },
      RotationLambdaARN: { 'Fn::GetAtt': [rotationId, 'Outputs.RotationLambdaARN'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    const subnetIds = renderSubnets(rotation.Properties.Parameters);
    expect(subnetIds).toMatch(
      /^NetworkVpcbackendSubnet1Subnet[0-9A-F]{8},NetworkVpcbackendSubnet2Subnet[0-9A-F]{8}$/,
    );
  });

  it.each(environments)(
    'when %s grants secret access, then exactly one role may read it: the backend instances',
    (_, template) => {
      const readers = resourcesOf(template, 'AWS::IAM::Policy').filter(([, { Properties }]) =>
        JSON.stringify(Properties.PolicyDocument).includes('secretsmanager:GetSecretValue'),
      );
      expect(readers).toHaveLength(1);
      expect((readers[0]?.[1].Properties.Roles as Json[])[0]?.Ref).toMatch(
        /^BackendInstanceRole[0-9A-F]{8}$/,
      );
    },
  );
});

function renderSubnets(parameters: unknown): string {
  const join = (parameters as { vpcSubnetIds: { 'Fn::Join': [string, { Ref: string }[]] } })
    .vpcSubnetIds['Fn::Join'];
  return join[1].map((part) => (typeof part === 'string' ? part : part.Ref)).join('');
}

describe('ECR registry', () => {
  it.each(['frontend', 'backend'])(
    'when the %s repository is created, then it scans on push, has immutable tags and expires only untagged and scratch- images',
    (tier) => {
      const [[, repository]] = resourcesOf(registry, 'AWS::ECR::Repository', {
        Properties: { RepositoryName: `goal-tracker-${tier}` },
      }) as [[string, Resource]];
      expect(repository).toMatchObject({
        Properties: {
          ImageScanningConfiguration: { ScanOnPush: true },
          ImageTagMutability: 'IMMUTABLE',
        },
      });
      const lifecycle = JSON.parse(
        (repository.Properties.LifecyclePolicy as { LifecyclePolicyText: string })
          .LifecyclePolicyText,
      ) as unknown;
      expect(lifecycle).toEqual({
        rules: [
          {
            rulePriority: 1,
            description: 'Expire untagged images after 1 day',
            selection: {
              tagStatus: 'untagged',
              countType: 'sinceImagePushed',
              countUnit: 'days',
              countNumber: 1,
            },
            action: { type: 'expire' },
          },
          {
            rulePriority: 2,
            description: 'Expire scratch-* images after 14 days',
            selection: {
              tagStatus: 'tagged',
              tagPrefixList: ['scratch-'],
              countType: 'sinceImagePushed',
              countUnit: 'days',
              countNumber: 14,
            },
            action: { type: 'expire' },
          },
        ],
      });
    },
  );

  it('when an environment is given a scratch- tag, then synth refuses it: the registry expires those', () => {
    expect(() => synthesize({ env: 'dev', imageTag: 'scratch-1' })).toThrow(
      /imageTag "scratch-1" starts with "scratch-"/,
    );
  });

  it('when the registry stack itself is deleted, then its repositories go too, so a redeploy can recreate them', () => {
    for (const [, repository] of resourcesOf(registry, 'AWS::ECR::Repository')) {
      expect(repository).toMatchObject({
        DeletionPolicy: 'Delete',
        Properties: { EmptyOnDelete: true },
      });
    }
  });

  it('when dev and prod are synthesized, then they share the registry by name and create no repository', () => {
    registry.resourceCountIs('AWS::ECR::Repository', 2);
    for (const [env, template] of [
      ['dev', dev],
      ['prod', prod],
    ] as const) {
      template.resourceCountIs('AWS::ECR::Repository', 0);
      for (const tier of ['Frontend', 'Backend']) {
        expect(template.toJSON()).toMatchObject({
          Outputs: {
            [`${tier}RepositoryUri`]: {
              Value: {
                'Fn::Join': [
                  '',
                  [
                    { Ref: 'AWS::AccountId' },
                    '.dkr.ecr.us-east-1.',
                    { Ref: 'AWS::URLSuffix' },
                    `/goal-tracker-${tier.toLowerCase()}`,
                  ],
                ],
              },
            },
          },
        });
      }
      expect(env).toBeTruthy();
    }
  });
});
