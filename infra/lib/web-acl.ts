import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** Requests per client IP per 5 minutes, over the whole site and on the sign-in paths. */
export const WAF_RATE_LIMITS = { perIp: 2000, signInPerIp: 100 } as const;
/** The sign-in paths the stricter rate applies to (form and API). */
export const SIGN_IN_PATHS = ['/signin', '/api/sessions'] as const;
/** AWS managed rule groups, in evaluation order after the rate rules. */
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
] as const;

export interface WebAclProps {
  /** REGIONAL for the ALB (domain shape), CLOUDFRONT for the distribution (us-east-1). */
  readonly scope: 'REGIONAL' | 'CLOUDFRONT';
  /** Prefix of the WebACL's and every rule's CloudWatch metric name. */
  readonly metricPrefix: string;
}

/**
 * The WAF in front of the public entry: a rate limit per client IP, a stricter one on the
 * sign-in paths, and AWS's Common and KnownBadInputs rule groups, each with its own metric.
 */
export class WebAcl extends Construct {
  readonly acl: wafv2.CfnWebACL;
  /** Rule names, in priority order (the dashboard graphs one line each). */
  readonly ruleNames: string[];
  private readonly scope: WebAclProps['scope'];
  private readonly metricPrefix: string;

  constructor(scope: Construct, id: string, props: WebAclProps) {
    super(scope, id);
    this.scope = props.scope;
    this.metricPrefix = props.metricPrefix;
    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName: `${props.metricPrefix}-${name}`,
      sampledRequestsEnabled: true,
    });
    const signInPath = (path: string): wafv2.CfnWebACL.StatementProperty => ({
      byteMatchStatement: {
        fieldToMatch: { uriPath: {} },
        positionalConstraint: 'STARTS_WITH',
        searchString: path,
        textTransformations: [{ priority: 0, type: 'LOWERCASE' }],
      },
    });
    const rules: wafv2.CfnWebACL.RuleProperty[] = [
      {
        name: 'RateLimitSignIn',
        priority: 0,
        action: { block: {} },
        statement: {
          rateBasedStatement: {
            limit: WAF_RATE_LIMITS.signInPerIp,
            evaluationWindowSec: 300,
            aggregateKeyType: 'IP',
            scopeDownStatement: { orStatement: { statements: SIGN_IN_PATHS.map(signInPath) } },
          },
        },
        visibilityConfig: visibility('RateLimitSignIn'),
      },
      {
        name: 'RateLimitPerIp',
        priority: 1,
        action: { block: {} },
        statement: {
          rateBasedStatement: {
            limit: WAF_RATE_LIMITS.perIp,
            evaluationWindowSec: 300,
            aggregateKeyType: 'IP',
          },
        },
        visibilityConfig: visibility('RateLimitPerIp'),
      },
      ...MANAGED_RULE_GROUPS.map((name, index): wafv2.CfnWebACL.RuleProperty => ({
        name,
        priority: 2 + index,
        overrideAction: { none: {} },
        statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
        visibilityConfig: visibility(name),
      })),
    ];
    this.ruleNames = rules.map((rule) => rule.name);
    this.acl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: props.scope,
      defaultAction: { allow: {} },
      description: 'Goal Tracker public entry: rate limits and AWS managed rule groups',
      rules,
      visibilityConfig: visibility('WebAcl'),
    });
  }

  /** Blocked requests per rule (5-minute sums), for the dashboard. */
  blockedRequestMetrics(): cloudwatch.IMetric[] {
    return this.ruleNames.map(
      (rule) =>
        new cloudwatch.Metric({
          namespace: 'AWS/WAFV2',
          metricName: 'BlockedRequests',
          label: rule,
          // Regional WebACLs carry a Region dimension; CloudFront's (us-east-1) have none.
          dimensionsMap: {
            WebACL: this.metricName('WebAcl'),
            Rule: this.metricName(rule),
            ...(this.scope === 'REGIONAL' ? { Region: this.acl.stack.region } : {}),
          },
          statistic: cloudwatch.Stats.SUM,
          period: Duration.minutes(5),
        }),
    );
  }

  private metricName(name: string): string {
    return `${this.metricPrefix}-${name}`;
  }
}
