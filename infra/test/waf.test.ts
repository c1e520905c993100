import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { resourcesOf, synthesize, templateOf, WITH_DOMAIN, type Json } from './support/synth.js';

const noDomain = synthesize();
const withDomain = synthesize({ ...WITH_DOMAIN });
afterAll(() => {
  noDomain.dispose();
  withDomain.dispose();
});
const shapes = [
  ['dev behind CloudFront', templateOf(noDomain, 'goal-tracker-dev'), 'CLOUDFRONT'],
  ['prod behind CloudFront', templateOf(noDomain, 'goal-tracker-prod'), 'CLOUDFRONT'],
  ['dev with a domain', templateOf(withDomain, 'goal-tracker-dev'), 'REGIONAL'],
  ['prod with a domain', templateOf(withDomain, 'goal-tracker-prod'), 'REGIONAL'],
] as const;

const webAcl = (template: Template) => {
  const acls = resourcesOf(template, 'AWS::WAFv2::WebACL');
  expect(acls).toHaveLength(1);
  return acls[0] as [string, { Properties: Json }];
};
const rules = (template: Template) => webAcl(template)[1].Properties.Rules as Json[];

describe('AWS WAF on the public entry', () => {
  it.each(shapes)(
    'when %s is synthesized, then one WebACL of scope %s guards it',
    (_, template, scope) => {
      const [id, acl] = webAcl(template);
      expect(acl.Properties).toMatchObject({ Scope: scope, DefaultAction: { Allow: {} } });
      if (scope === 'CLOUDFRONT') {
        const [[, distribution]] = resourcesOf(template, 'AWS::CloudFront::Distribution') as [
          [string, { Properties: Json }],
        ];
        expect((distribution.Properties.DistributionConfig as Json).WebACLId).toEqual({
          'Fn::GetAtt': [id, 'Arn'],
        });
        template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
      } else {
        const [[, association]] = resourcesOf(template, 'AWS::WAFv2::WebACLAssociation') as [
          [string, { Properties: Json }],
        ];
        expect(association.Properties).toMatchObject({
          WebACLArn: { 'Fn::GetAtt': [id, 'Arn'] },
          ResourceArn: { Ref: expect.stringMatching(/^PublicLoadBalancer/) as unknown },
        });
      }
    },
  );

  it.each(shapes)(
    'when %s is synthesized, then the rules are sign-in rate, per-IP rate, Common and KnownBadInputs, each with metrics',
    (_, template) => {
      expect(rules(template).map((rule) => rule.Name)).toEqual([
        'RateLimitSignIn',
        'RateLimitPerIp',
        'AWSManagedRulesCommonRuleSet',
        'AWSManagedRulesKnownBadInputsRuleSet',
      ]);
      for (const rule of rules(template)) {
        expect(rule.VisibilityConfig).toMatchObject({
          CloudWatchMetricsEnabled: true,
          SampledRequestsEnabled: true,
          MetricName: expect.stringMatching(new RegExp(`-${String(rule.Name)}$`)) as unknown,
        });
      }
    },
  );

  it('when a client sends too much, then it is blocked per IP: 2000 per 5 minutes, 100 on /signin and /api/sessions', () => {
    const [signIn, perIp] = rules(templateOf(noDomain, 'goal-tracker-dev'));
    expect(perIp).toMatchObject({
      Action: { Block: {} },
      Statement: {
        RateBasedStatement: { Limit: 2000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 },
      },
    });
    expect(signIn).toMatchObject({
      Action: { Block: {} },
      Statement: {
        RateBasedStatement: {
          Limit: 100,
          AggregateKeyType: 'IP',
          ScopeDownStatement: {
            OrStatement: {
              Statements: ['/signin', '/api/sessions'].map((path) => ({
                ByteMatchStatement: expect.objectContaining({
                  SearchString: path,
                  PositionalConstraint: 'STARTS_WITH',
                  FieldToMatch: { UriPath: {} },
                }) as unknown,
              })),
            },
          },
        },
      },
    });
  });

  it('when the managed rule groups match, then their own actions apply (no override to count)', () => {
    for (const rule of rules(templateOf(withDomain, 'goal-tracker-prod')).slice(2)) {
      expect(rule).toMatchObject({
        OverrideAction: { None: {} },
        Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: rule.Name } },
      });
    }
  });

  it.each(shapes)(
    'when the %s dashboard is opened, then it graphs WAF blocks per rule',
    (_, template) => {
      const [[, dashboard]] = resourcesOf(template, 'AWS::CloudWatch::Dashboard') as [
        [string, { Properties: Json }],
      ];
      const body = JSON.stringify(dashboard.Properties.DashboardBody);
      expect(body).toContain('WAF blocked requests per rule');
      for (const rule of ['RateLimitSignIn', 'RateLimitPerIp', 'AWSManagedRulesCommonRuleSet']) {
        expect(body).toContain(`-goal-tracker-${rule}`);
      }
      expect(body).toContain('AWS/WAFV2');
    },
  );
});
