import {
  Annotations,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  Tags,
  type StackProps,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/index.js';
import { validateEnvironmentConfig } from '../config/validate.js';
import { AccessLogBucket } from './access-log-bucket.js';
import { AppTier } from './app-tier.js';
import { Bastion } from './bastion.js';
import { Database } from './database.js';
import {
  appLogGroupName,
  BACKEND_PORT,
  databaseInstanceIdentifier,
  databaseSecretName,
  FRONTEND_PORT,
  PROJECT,
  resourcePrefix,
  type TierName,
} from './naming.js';
import { Network, SubnetGroup, VPC_CIDR } from './network.js';
import { Observability } from './observability.js';
import { PublicEntry } from './public-entry.js';
import { WebAcl } from './web-acl.js';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Registry } from './registry.js';
import { SecurityGroups } from './security-groups.js';
import { TierLoadBalancer } from './tier-load-balancer.js';

/** Stands in for a missing imageTag so that the error above can be reported, never deployed. */
const MISSING_IMAGE_TAG = 'missing-image-tag';

/** Where the API image carries the RDS CA bundle (agreed with the Dockerfile's api target). */
export const RDS_CA_BUNDLE_PATH = '/app/certs/rds-global-bundle.pem';

export interface EnvironmentStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/**
 * One environment of Goal Tracker (`goal-tracker-dev`, `goal-tracker-prod`): the whole
 * architecture of the specification, sized by the environment's typed config.
 */
export class EnvironmentStack extends Stack {
  readonly network: Network;
  readonly securityGroups: SecurityGroups;
  readonly database: Database;
  readonly loadBalancers: Record<TierName, TierLoadBalancer>;
  readonly tiers: Record<TierName, AppTier>;
  readonly bastion: Bastion;
  readonly observability: Observability;
  readonly publicEntry: PublicEntry;
  readonly webAcl: WebAcl;

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    const { config } = props;
    validateEnvironmentConfig(config);
    super(scope, id, { ...props, terminationProtection: config.terminationProtection });
    // Only where the CLI builds this stack for real (synth, deploy, diff of it): `cdk destroy`
    // and a `deploy goal-tracker-registry --exclusively` synthesize it too, and need no tag.
    if (config.imageTag === undefined && this.bundlingRequired) {
      Annotations.of(this).addError(
        `imageTag is missing for ${id}: pass the image both tiers run with ` +
          '`-c imageTag=<tag>` (the deploy script passes the git commit). There is no default: ' +
          '`latest` is never pushed.',
      );
    }
    const imageTag = config.imageTag ?? MISSING_IMAGE_TAG;
    const sshCidr = config.sshCidr as string; // validated above
    const prefix = resourcePrefix(config.envName);
    const disposable = config.envName === 'dev';
    // Prod keeps its logs, except after a failed first create: plain RETAIN would leave the
    // named groups behind and the next create would fail on "already exists".
    const logRemovalPolicy = disposable
      ? RemovalPolicy.DESTROY
      : RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    // Not on listeners, listener rules or dashboards: CloudFormation takes Tags there only
    // since recently, and cfn-lint's schema (infra/test/cfn-lint.test.ts) still refuses them.
    // Costs are found by the tags on the load balancers and everything else.
    const untagged = {
      excludeResourceTypes: [
        'AWS::ElasticLoadBalancingV2::Listener',
        'AWS::ElasticLoadBalancingV2::ListenerRule',
        'AWS::CloudWatch::Dashboard',
      ],
    };
    Tags.of(this).add('Project', PROJECT, untagged);
    Tags.of(this).add('Environment', config.envName, untagged);

    this.network = new Network(this, 'Network', {
      natGateways: config.natGateways,
      flowLogRetention: config.logRetentionDays,
      removalPolicy: logRemovalPolicy,
    });
    const { vpc } = this.network;
    this.publicEntry = new PublicEntry(this, 'PublicEntry', {
      domain: config.domain,
      hostedZoneId: config.hostedZoneId,
      certificateArn: config.certificateArn,
    });
    const behindCloudFront = this.publicEntry.listener.kind === 'origin-header';
    this.securityGroups = new SecurityGroups(this, 'SecurityGroups', {
      vpc,
      sshCidr,
      publicAlbSource: behindCloudFront
        ? { cloudFrontPrefixListId: config.cloudFrontPrefixListId }
        : 'internet',
    });
    const groups = this.securityGroups;

    this.database = new Database(this, 'Database', {
      config: config.database,
      vpc,
      subnetGroupName: SubnetGroup.database,
      securityGroup: groups.database,
      instanceIdentifier: databaseInstanceIdentifier(config.envName),
      secretName: databaseSecretName(config.envName),
      logRetention: config.logRetentionDays,
      logRemovalPolicy,
      rotationSubnetGroupName: SubnetGroup.backend,
      clientSecurityGroup: groups.backend,
    });

    const accessLogs = new AccessLogBucket(this, 'AccessLogs', {
      retentionDays: config.accessLogRetentionDays,
    });
    this.loadBalancers = {
      frontend: new TierLoadBalancer(this, 'PublicLoadBalancer', {
        vpc,
        internetFacing: true,
        subnetGroupName: SubnetGroup.public,
        securityGroup: groups.publicAlb,
        listenerPort: 80,
        targetPort: FRONTEND_PORT,
        // The specification says GET /, but a signed-out GET / answers 303 (to /signin), which
        // would mark every target unhealthy. /health is the web tier's own liveness (200 even
        // while the API is down), so an API outage cannot cycle the frontend either.
        healthCheckPath: '/health',
        healthCheckInterval: Duration.seconds(30),
        // Longer than the web tier's 5 s API timeout, so a slow API cannot fail the check.
        healthCheckTimeout: Duration.seconds(10),
        unhealthyThresholdCount: 3,
        accessLogBucket: accessLogs.bucket,
        accessLogPrefix: 'public',
        publicListener: this.publicEntry.listener,
      }),
      backend: new TierLoadBalancer(this, 'InternalLoadBalancer', {
        vpc,
        internetFacing: false,
        subnetGroupName: SubnetGroup.backend,
        securityGroup: groups.internalAlb,
        listenerPort: BACKEND_PORT,
        targetPort: BACKEND_PORT,
        // Liveness, not /ready: a database outage must not make the group replace every
        // backend instance.
        healthCheckPath: '/health',
        // Not in the specification (it has no internal ALB). A dead API instance keeps getting
        // a share of the web tier's calls until it fails this check: 2 x 10 s bounds that to
        // about 20 s, where 3 x 30 s meant 90 s of retries (measured by the instance-loss drill).
        healthCheckInterval: Duration.seconds(10),
        healthCheckTimeout: Duration.seconds(5),
        unhealthyThresholdCount: 2,
        accessLogBucket: accessLogs.bucket,
        accessLogPrefix: 'internal',
      }),
    };

    const publicAlb = this.loadBalancers.frontend.loadBalancer;
    // On the public entry: CloudFront when it fronts the site, else the ALB itself.
    this.webAcl = new WebAcl(this, 'Waf', {
      scope: behindCloudFront ? 'CLOUDFRONT' : 'REGIONAL',
      metricPrefix: prefix,
    });
    this.publicEntry.connect(publicAlb, this.webAcl.acl.attrArn);
    if (!behindCloudFront) {
      new wafv2.CfnWebACLAssociation(this, 'WafAssociation', {
        resourceArn: publicAlb.loadBalancerArn,
        webAclArn: this.webAcl.acl.attrArn,
      });
    }
    const publicHost = this.publicEntry.hostName;

    const registry = Registry.repositories(this);
    const tier = (name: TierName, containerPort: number, environment: Record<string, string>) =>
      new AppTier(this, name === 'frontend' ? 'Frontend' : 'Backend', {
        tier: name,
        vpc,
        subnetGroupName: SubnetGroup[name],
        securityGroup: groups[name],
        instanceType: config.appInstanceType,
        rootVolumeGiB: config.rootVolumeGiB,
        minCapacity: config[name].minCapacity,
        maxCapacity: config[name].maxCapacity,
        healthCheckGrace: Duration.seconds(config.healthCheckGraceSeconds),
        repository: registry[name],
        imageTag,
        containerPort,
        targetGroup: this.loadBalancers[name].targetGroup,
        healthPath: this.loadBalancers[name].healthCheckPath,
        containerEnvironment: {
          PORT: String(containerPort),
          HOST: '0.0.0.0',
          LOG_LEVEL: 'info',
          ...environment,
        },
        logGroupName: appLogGroupName(config.envName, name),
        logRetention: config.logRetentionDays,
        removalPolicy: logRemovalPolicy,
        autoScalingGroupName: `${prefix}-${name}`,
        // The backend container reads Secrets Manager with the instance role; the frontend's
        // needs no AWS credentials at all.
        metadataHopLimit: name === 'backend' ? 2 : 1,
        machineImages: config.machineImages,
      });
    this.tiers = {
      backend: tier('backend', BACKEND_PORT, {
        AWS_REGION: this.region,
        DB_SECRET_ARN: this.database.secret.secretArn,
        DB_SSL: 'verify-full',
        DB_SSL_CA: RDS_CA_BUNDLE_PATH,
        // The web tier and both load balancers are inside the VPC: the client address the
        // sign-in limits count is the nearest X-Forwarded-For entry outside it.
        TRUSTED_PROXIES: VPC_CIDR,
        // Passkeys belong to the site people open: the domain or the CloudFront name.
        WEBAUTHN_RP_ID: publicHost,
        WEBAUTHN_ORIGINS: this.publicEntry.url,
      }),
      frontend: tier('frontend', FRONTEND_PORT, {
        API_URL: this.loadBalancers.backend.url,
        TRUSTED_PROXIES: VPC_CIDR,
        // The names the site is opened by (the public name, and the ALB's own for operators
        // and checks): any other Host, a DNS-rebinding page's, is refused.
        ALLOWED_HOSTS: `${publicHost},${publicAlb.loadBalancerDnsName}`,
        // Behind CloudFront the ALB overwrites X-Forwarded-Proto with "http"; the viewer's
        // scheme arrives in CloudFront-Forwarded-Proto, which only CloudFront can have set
        // (the ALB forwards nothing without the origin secret).
        ...(behindCloudFront ? { FORWARDED_PROTO_HEADER: 'cloudfront-forwarded-proto' } : {}),
      }),
    };
    this.database.secret.grantRead(this.tiers.backend.role);

    this.bastion = new Bastion(this, 'Bastion', {
      vpc,
      subnetGroupName: SubnetGroup.public,
      securityGroup: groups.bastion,
      instanceType: config.bastionInstanceType,
      instanceName: `${prefix}-bastion`,
    });

    this.observability = new Observability(this, 'Observability', {
      namePrefix: prefix,
      tiers: this.tiers,
      loadBalancers: this.loadBalancers,
      database: this.database,
      alarmEmail: config.alarmEmail,
      webAcl: this.webAcl,
    });

    new CfnOutput(this, 'ApplicationUrl', { value: this.publicEntry.url });
    new CfnOutput(this, 'LoadBalancerDnsName', { value: publicAlb.loadBalancerDnsName });
    new CfnOutput(this, 'BastionPublicIp', { value: this.bastion.instance.instancePublicIp });
    new CfnOutput(this, 'DatabaseEndpoint', {
      value: this.database.instance.dbInstanceEndpointAddress,
    });
    new CfnOutput(this, 'DatabaseSecretName', { value: databaseSecretName(config.envName) });
    new CfnOutput(this, 'FrontendRepositoryUri', { value: registry.frontend.repositoryUri });
    new CfnOutput(this, 'BackendRepositoryUri', { value: registry.backend.repositoryUri });
  }
}
