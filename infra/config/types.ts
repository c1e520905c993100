/** The environments this app deploys; `env` context and stack names use these exact names. */
export const ENVIRONMENT_NAMES = ['dev', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/** Auto Scaling bounds of one app tier (the specification's Min / Desired / Max boxes). */
export interface TierCapacity {
  readonly minCapacity: number;
  readonly maxCapacity: number;
}

export interface DatabaseConfig {
  /** RDS instance class, e.g. `t3.micro` (the `db.` prefix is implied). */
  readonly instanceType: string;
  readonly allocatedStorageGiB: number;
  /** The specification: "Multi-AZ: Optional (Dev: Single)". */
  readonly multiAz: boolean;
  readonly deletionProtection: boolean;
  /**
   * Prod keeps the instance (and its secret) when the stack or the resource goes away, except
   * when its own first create fails; dev deletes it outright.
   */
  readonly retainOnDelete: boolean;
  readonly performanceInsights: boolean;
  /** Enhanced monitoring interval in seconds; 0 turns it off. */
  readonly enhancedMonitoringSeconds: 0 | 1 | 5 | 10 | 15 | 30 | 60;
  /** Days between automatic password rotations; undefined means no rotation. */
  readonly rotationDays: number | undefined;
}

/**
 * Everything that differs between environments. `config/dev.ts` and `config/prod.ts` hold the
 * values; the deploy-time context (`sshCidr`, `certificateArn`, `alarmEmail`, `imageTag`)
 * overrides the matching fields, see `resolveEnvironmentConfig`.
 */
export interface EnvironmentConfig {
  readonly envName: EnvironmentName;
  /** NAT gateways (each with an Elastic IP): 1 in dev, one per AZ (2) in prod. */
  readonly natGateways: number;
  /** The only source allowed to SSH into the bastion. Required; never 0.0.0.0/0. */
  readonly sshCidr: string | undefined;
  /**
   * The site's DNS name (e.g. goals.example.com): TLS on the public ALB with an ACM
   * certificate and an alias record in `hostedZoneId`. Undefined: CloudFront in front, on its
   * own *.cloudfront.net name (us-east-1 only, for its WAF).
   */
  readonly domain: string | undefined;
  /** The Route 53 hosted zone of `domain` (required with it). */
  readonly hostedZoneId: string | undefined;
  /** An existing ACM certificate for `domain`; unset, a DNS-validated one is created. */
  readonly certificateArn: string | undefined;
  /** `com.amazonaws.global.cloudfront.origin-facing` in us-east-1, which admits CloudFront. */
  readonly cloudFrontPrefixListId: string;
  /** Optional e-mail subscribed to the alarm topic. */
  readonly alarmEmail: string | undefined;
  /**
   * Image tag both tiers run; the deploy script passes the git commit. No default: `latest`
   * is never pushed, so an environment synthesized without a tag fails (see EnvironmentStack).
   */
  readonly imageTag: string | undefined;
  readonly appInstanceType: string;
  /** The app instances' AMI by region (Amazon Linux 2023, x86_64), pinned; see infra/README.md. */
  readonly machineImages: Readonly<Record<string, string>>;
  readonly bastionInstanceType: string;
  readonly rootVolumeGiB: number;
  readonly frontend: TierCapacity;
  readonly backend: TierCapacity;
  /** Seconds an instance may take to boot and pull its image before ELB checks count. */
  readonly healthCheckGraceSeconds: number;
  readonly database: DatabaseConfig;
  /** Retention of every CloudWatch log group this stack creates (apps, RDS, flow logs). */
  readonly logRetentionDays: number;
  /** Days ALB access logs stay in their bucket. */
  readonly accessLogRetentionDays: number;
  /** CloudFormation termination protection on the environment stack. */
  readonly terminationProtection: boolean;
}
