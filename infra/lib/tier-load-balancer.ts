import { Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { PublicListener } from './public-entry.js';

/** The apps stop within 10 s of SIGTERM; draining longer than that only slows deploys. */
export const DEREGISTRATION_DELAY = Duration.seconds(10);

/** TLS 1.3 with TLS 1.2 fallback: AWS's recommended policy for internet-facing listeners. */
export const TLS_POLICY = elbv2.SslPolicy.RECOMMENDED_TLS;

export interface TierLoadBalancerProps {
  readonly vpc: ec2.IVpc;
  readonly internetFacing: boolean;
  readonly subnetGroupName: string;
  readonly securityGroup: ec2.ISecurityGroup;
  /** The HTTP listener's port (80 public, 8080 internal). */
  readonly listenerPort: number;
  readonly targetPort: number;
  readonly healthCheckPath: string;
  readonly healthCheckInterval: Duration;
  readonly healthCheckTimeout: Duration;
  /** Consecutive failed checks before a target stops receiving traffic. */
  readonly unhealthyThresholdCount: number;
  readonly accessLogBucket: s3.IBucket;
  readonly accessLogPrefix: string;
  /**
   * Unset: plain HTTP forwarding (the internal ALB). `https`: 443 with the certificate, and
   * the HTTP listener redirects to it. `origin-header`: HTTP forwards only requests carrying
   * the header's value (from CloudFront); anything else gets 403.
   */
  readonly publicListener?: PublicListener | undefined;
}

/**
 * An Application Load Balancer in front of one app tier: listener(s), the tier's target group
 * with its health check, invalid headers dropped, access logs to the log bucket. Used for the
 * public ALB (frontend) and the internal ALB (backend).
 */
export class TierLoadBalancer extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The path the target group checks (GET, 200 expected). */
  readonly healthCheckPath: string;
  /** The URL clients use (https:// when a certificate is configured, port when not 80). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: TierLoadBalancerProps) {
    super(scope, id);
    this.healthCheckPath = props.healthCheckPath;

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: props.internetFacing,
      vpcSubnets: { subnetGroupName: props.subnetGroupName },
      securityGroup: props.securityGroup,
      dropInvalidHeaderFields: true,
      http2Enabled: true,
    });
    this.loadBalancer.logAccessLogs(props.accessLogBucket, props.accessLogPrefix);

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      vpc: props.vpc,
      port: props.targetPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      deregistrationDelay: DEREGISTRATION_DELAY,
      healthCheck: {
        path: props.healthCheckPath,
        interval: props.healthCheckInterval,
        timeout: props.healthCheckTimeout,
        healthyThresholdCount: 2,
        unhealthyThresholdCount: props.unhealthyThresholdCount,
        healthyHttpCodes: '200',
      },
    });

    // Security groups are opened by SecurityGroups, not by the listeners (open: false).
    const shape = props.publicListener;
    if (shape === undefined) {
      this.loadBalancer.addListener('Http', {
        port: props.listenerPort,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultTargetGroups: [this.targetGroup],
      });
      const port = props.listenerPort === 80 ? '' : `:${props.listenerPort}`;
      this.url = `http://${this.loadBalancer.loadBalancerDnsName}${port}`;
    } else if (shape.kind === 'origin-header') {
      const http = this.loadBalancer.addListener('Http', {
        port: props.listenerPort,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultAction: elbv2.ListenerAction.fixedResponse(403, {
          contentType: 'text/plain',
          messageBody: 'Forbidden',
        }),
      });
      http.addTargetGroups('FromCloudFront', {
        priority: 1,
        conditions: [elbv2.ListenerCondition.httpHeader(shape.header, [shape.value])],
        targetGroups: [this.targetGroup],
      });
      this.url = `http://${this.loadBalancer.loadBalancerDnsName}`;
    } else {
      this.loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [shape.certificate],
        sslPolicy: TLS_POLICY,
        open: false,
        defaultTargetGroups: [this.targetGroup],
      });
      this.loadBalancer.addListener('Http', {
        port: props.listenerPort,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultAction: elbv2.ListenerAction.redirect({
          protocol: 'HTTPS',
          port: '443',
          permanent: true,
        }),
      });
      this.url = `https://${this.loadBalancer.loadBalancerDnsName}`;
    }
  }
}
