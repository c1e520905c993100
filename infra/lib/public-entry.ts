import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CLOUDFRONT_REGION } from './naming.js';

/** The header CloudFront adds to every origin request and the public ALB insists on. */
export const ORIGIN_VERIFY_HEADER = 'X-Origin-Verify';

export interface PublicEntryProps {
  /** The site's name (e.g. goals.example.com); undefined puts CloudFront in front instead. */
  readonly domain: string | undefined;
  /** The Route 53 hosted zone that holds `domain` (required with it). */
  readonly hostedZoneId: string | undefined;
  /** An existing ACM certificate for `domain`; without one, a DNS-validated one is created. */
  readonly certificateArn: string | undefined;
}

/** The public ALB's listener for each shape (see TierLoadBalancer). */
export type PublicListener =
  | { readonly kind: 'https'; readonly certificate: acm.ICertificate }
  | { readonly kind: 'origin-header'; readonly header: string; readonly value: string };

/**
 * How people reach the site over HTTPS, in one of two shapes.
 *
 * With a domain: an ACM certificate validated through the domain's hosted zone, HTTPS on the
 * public ALB (80 redirects), and an alias A record. Without one: a CloudFront distribution
 * with its default certificate in front of the ALB, which then admits only CloudFront (the
 * origin-facing prefix list, in SecurityGroups) carrying a generated secret header.
 *
 * Built in two steps: the listener shape before the load balancer, `connect` after it.
 */
export class PublicEntry extends Construct {
  readonly listener: PublicListener;
  /** Where the CloudFront shape keeps its header value (rotation: infra/README.md). */
  readonly originSecret: secretsmanager.Secret | undefined;
  private readonly domain: string | undefined;
  private readonly zone: route53.IHostedZone | undefined;
  private connected: { hostName: string; distribution?: cloudfront.Distribution } | undefined;

  constructor(scope: Construct, id: string, props: PublicEntryProps) {
    super(scope, id);
    this.domain = props.domain;
    if (props.domain !== undefined) {
      if (props.hostedZoneId === undefined) throw new Error('domain needs hostedZoneId.');
      // By ID, not fromLookup: a lookup needs an account, and these stacks stay account-
      // agnostic so that synth runs offline.
      this.zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
        hostedZoneId: props.hostedZoneId,
        zoneName: props.domain,
      });
      const certificate =
        props.certificateArn === undefined
          ? new acm.Certificate(this, 'Certificate', {
              domainName: props.domain,
              validation: acm.CertificateValidation.fromDns(this.zone),
            })
          : acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn);
      this.listener = { kind: 'https', certificate };
      this.originSecret = undefined;
      return;
    }

    const region = Stack.of(this).region;
    if (region !== CLOUDFRONT_REGION) {
      // CloudFront's WebACL must live in us-east-1, and a second stack only for it would
      // need cross-region references; a domain (ALB + regional WebACL) works anywhere.
      throw new Error(
        `Without a domain the site sits behind CloudFront, whose WAF must be in ${CLOUDFRONT_REGION}; ` +
          `this stack is in ${region}. Deploy to ${CLOUDFRONT_REGION}, or pass -c domain=<name> -c hostedZoneId=<id>.`,
      );
    }
    this.zone = undefined;
    this.originSecret = new secretsmanager.Secret(this, 'OriginSecret', {
      description: `Value CloudFront sends in ${ORIGIN_VERIFY_HEADER}; the public ALB forwards only requests carrying it`,
      generateSecretString: {
        passwordLength: 48,
        // Letters and digits only: ALB header conditions treat * and ? as wildcards.
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    Validations.of(this.originSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The origin header value is copied into the CloudFront distribution and the ALB ' +
        'listener rule at deploy time; a rotation Lambda would change it under neither. It is ' +
        'rotated by hand (infra/README.md, runbook).',
    });
    this.listener = {
      kind: 'origin-header',
      header: ORIGIN_VERIFY_HEADER,
      value: this.originSecret.secretValue.unsafeUnwrap(),
    };
  }

  /**
   * Points the public name at the load balancer: an alias record, or a CloudFront
   * distribution (under the given CLOUDFRONT-scope WebACL).
   */
  connect(
    loadBalancer: elbv2.ApplicationLoadBalancer,
    cloudFrontWebAclArn: string,
  ): cloudfront.Distribution | undefined {
    if (this.domain !== undefined && this.zone !== undefined) {
      new route53.ARecord(this, 'AliasRecord', {
        zone: this.zone,
        recordName: `${this.domain}.`,
        target: route53.RecordTarget.fromAlias(new route53Targets.LoadBalancerTarget(loadBalancer)),
      });
      this.connected = { hostName: this.domain };
      return undefined;
    }
    if (this.listener.kind !== 'origin-header') throw new Error('PublicEntry has no shape.');
    const distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Goal Tracker ${Stack.of(this).stackName}`,
      defaultBehavior: {
        // HTTP to the origin: the ALB has no certificate for a name of its own. Only
        // CloudFront's addresses reach it, and only with the secret header.
        origin: new origins.HttpOrigin(loadBalancer.loadBalancerDnsName, {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
          customHeaders: { [this.listener.header]: this.listener.value },
          readTimeout: Duration.seconds(30),
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        // Every page is per user and dynamic: nothing is cached at the edge.
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        // All viewer headers (Host included, which ALLOWED_HOSTS checks), cookies and query
        // strings, plus CloudFront-Forwarded-Proto: the ALB overwrites X-Forwarded-Proto
        // with "http", so the web tier learns the viewer's scheme from that header.
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_AND_CLOUDFRONT_2022,
        compress: true,
      },
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      webAclId: cloudFrontWebAclArn,
    });
    Validations.of(distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'The site serves every country; no geo restriction is required.',
    });
    Validations.of(distribution).acknowledge({
      id: 'AwsSolutions-CFR3',
      reason:
        'Every request CloudFront forwards is logged by the public ALB (access-log bucket); ' +
        'standard CloudFront logging would need ACLs on that bucket.',
    });
    Validations.of(distribution).acknowledge({
      id: 'AwsSolutions-CFR4',
      reason:
        'The CloudFront default certificate (no domain configured) allows no minimum TLS ' +
        'version; pass a domain for TLS 1.2+ on an ACM certificate.',
    });
    Validations.of(distribution).acknowledge({
      id: 'AwsSolutions-CFR5',
      reason:
        'The origin leg is plain HTTP (the ALB has no name a certificate could cover without ' +
        'a domain); only CloudFront addresses with the secret header reach it. A domain puts ' +
        'TLS on the ALB itself.',
    });
    this.connected = { hostName: distribution.distributionDomainName, distribution };
    return distribution;
  }

  /** The name people open (the domain, or the distribution's *.cloudfront.net name). */
  get hostName(): string {
    if (!this.connected) throw new Error('PublicEntry.connect() has not run yet.');
    return this.connected.hostName;
  }

  get url(): string {
    return `https://${this.hostName}`;
  }
}
