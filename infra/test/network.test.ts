import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import {
  onlyResource,
  resourcesOf,
  synthesize,
  templateOf,
  TEST_SSH_CIDR,
  type Json,
} from './support/synth.js';

const synthesized = synthesize();
afterAll(() => synthesized.dispose());
const dev = templateOf(synthesized, 'goal-tracker-dev');
const prod = templateOf(synthesized, 'goal-tracker-prod');
const environments = [
  ['dev', dev],
  ['prod', prod],
] as const;

const SPEC_SUBNETS: Record<string, [string, string]> = {
  public: ['10.0.1.0/24', '10.0.2.0/24'],
  frontend: ['10.0.11.0/24', '10.0.12.0/24'],
  backend: ['10.0.21.0/24', '10.0.22.0/24'],
  database: ['10.0.31.0/24', '10.0.32.0/24'],
};

interface Subnet {
  logicalId: string;
  group: string;
  cidr: string;
  azIndex: number;
  mapsPublicIp: boolean;
}

function subnets(template: Template): Subnet[] {
  return resourcesOf(template, 'AWS::EC2::Subnet').map(([logicalId, { Properties }]) => {
    const tags = Properties.Tags as { Key: string; Value: string }[];
    const az = Properties.AvailabilityZone as { 'Fn::Select': [number, unknown] };
    return {
      logicalId,
      group: tags.find((tag) => tag.Key === 'aws-cdk:subnet-name')?.Value ?? '',
      cidr: Properties.CidrBlock as string,
      azIndex: az['Fn::Select'][0],
      mapsPublicIp: Properties.MapPublicIpOnLaunch as boolean,
    };
  });
}

/** The routes of each subnet: subnet -> association -> route table -> routes. */
function routesOf(template: Template, subnetLogicalId: string): Json[] {
  const association = resourcesOf(template, 'AWS::EC2::SubnetRouteTableAssociation').find(
    ([, { Properties }]) => (Properties.SubnetId as Json).Ref === subnetLogicalId,
  );
  const routeTable = ((association?.[1].Properties.RouteTableId ?? {}) as Json).Ref;
  expect(routeTable).toBeDefined();
  return resourcesOf(template, 'AWS::EC2::Route')
    .map(([, { Properties }]) => Properties)
    .filter((route) => (route.RouteTableId as Json).Ref === routeTable);
}

describe('VPC and subnets', () => {
  it.each(environments)(
    'when %s is synthesized, then the VPC is 10.0.0.0/16 with DNS support',
    (_, template) => {
      template.resourceCountIs('AWS::EC2::VPC', 1);
      template.hasResourceProperties('AWS::EC2::VPC', {
        CidrBlock: '10.0.0.0/16',
        EnableDnsHostnames: true,
        EnableDnsSupport: true,
      });
    },
  );

  it.each(environments)(
    'when %s is synthesized, then it has the eight /24 subnets at the exact CIDRs, one per AZ',
    (_, template) => {
      const found = subnets(template);
      expect(found).toHaveLength(8);
      for (const [group, cidrs] of Object.entries(SPEC_SUBNETS)) {
        const inGroup = found
          .filter((subnet) => subnet.group === group)
          .sort((a, b) => a.azIndex - b.azIndex);
        expect(inGroup.map(({ cidr, azIndex }) => [cidr, azIndex])).toEqual([
          [cidrs[0], 0],
          [cidrs[1], 1],
        ]);
      }
    },
  );

  it('when instances launch in any subnet, then none gets a public IP implicitly', () => {
    expect(subnets(dev).every((subnet) => !subnet.mapsPublicIp)).toBe(true);
  });

  it.each(environments)(
    'when %s is synthesized, then an internet gateway is attached and public subnets route to it',
    (_, template) => {
      template.resourceCountIs('AWS::EC2::InternetGateway', 1);
      template.resourceCountIs('AWS::EC2::VPCGatewayAttachment', 1);
      const [gateway] = Object.keys(template.findResources('AWS::EC2::InternetGateway'));
      for (const subnet of subnets(template).filter(({ group }) => group === 'public')) {
        expect(routesOf(template, subnet.logicalId)).toEqual([
          expect.objectContaining({
            DestinationCidrBlock: '0.0.0.0/0',
            GatewayId: { Ref: gateway },
          }),
        ]);
      }
    },
  );

  it('when dev is synthesized, then one NAT gateway with an Elastic IP serves both AZs', () => {
    dev.resourceCountIs('AWS::EC2::NatGateway', 1);
    dev.resourceCountIs('AWS::EC2::EIP', 1);
    const [nat] = Object.keys(dev.findResources('AWS::EC2::NatGateway'));
    for (const subnet of subnets(dev).filter(({ group }) =>
      ['frontend', 'backend'].includes(group),
    )) {
      expect(routesOf(dev, subnet.logicalId)).toEqual([
        expect.objectContaining({ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: { Ref: nat } }),
      ]);
    }
  });

  it('when prod is synthesized, then each AZ has its own NAT gateway and Elastic IP', () => {
    prod.resourceCountIs('AWS::EC2::NatGateway', 2);
    prod.resourceCountIs('AWS::EC2::EIP', 2);
    const publicSubnets = subnets(prod).filter(({ group }) => group === 'public');
    const natByAz = new Map<number, string>();
    for (const [logicalId, { Properties }] of resourcesOf(prod, 'AWS::EC2::NatGateway')) {
      const subnet = publicSubnets.find((s) => s.logicalId === (Properties.SubnetId as Json).Ref);
      expect(subnet).toBeDefined();
      expect(Properties.AllocationId).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/EIP/), 'AllocationId'],
      });
      natByAz.set(subnet?.azIndex ?? -1, logicalId);
    }
    expect([...natByAz.keys()].sort()).toEqual([0, 1]);
    for (const subnet of subnets(prod).filter(({ group }) =>
      ['frontend', 'backend'].includes(group),
    )) {
      expect(routesOf(prod, subnet.logicalId)).toEqual([
        expect.objectContaining({ NatGatewayId: { Ref: natByAz.get(subnet.azIndex) } }),
      ]);
    }
  });

  it.each(environments)(
    'when %s is synthesized, then the database subnets have no route out at all',
    (_, template) => {
      const database = subnets(template).filter(({ group }) => group === 'database');
      expect(database).toHaveLength(2);
      for (const subnet of database) expect(routesOf(template, subnet.logicalId)).toEqual([]);
    },
  );

  it.each([
    ['dev', 14, dev],
    ['prod', 90, prod],
  ] as const)(
    'when %s is synthesized, then VPC flow logs capture all traffic into a log group kept %i days',
    (_, days, template) => {
      const [, flowLog] = onlyResource(template, 'AWS::EC2::FlowLog');
      expect(flowLog.Properties).toMatchObject({
        ResourceType: 'VPC',
        TrafficType: 'ALL',
        LogDestinationType: 'cloud-watch-logs',
      });
      const logGroup = (flowLog.Properties.LogGroupName as Json).Ref as string;
      expect(template.toJSON()).toMatchObject({
        Resources: { [logGroup]: { Properties: { RetentionInDays: days } } },
      });
    },
  );
});

type Rule = string; // "tcp/80 from 0.0.0.0/0", "tcp/3000 to sg:Frontend"

/** Every ingress and egress rule of each of the stack's security groups, by group name. */
function securityGroupRules(template: Template): Record<string, { in: Rule[]; out: Rule[] }> {
  const name = (reference: unknown) => {
    const logicalId = ((reference as Json)['Fn::GetAtt'] as string[])[0] ?? '';
    return /^SecurityGroups([A-Za-z]+)[0-9A-F]{8}$/.exec(logicalId)?.[1] ?? logicalId;
  };
  const peer = (rule: Json) =>
    (rule.CidrIp as string | undefined) ??
    (rule.SourcePrefixListId as string | undefined) ??
    `sg:${name(rule.SourceSecurityGroupId ?? rule.DestinationSecurityGroupId)}`;
  // The database's port is the instance's Endpoint.Port attribute (5432, asserted elsewhere).
  const port = (value: unknown) =>
    typeof value === 'number' ? String(value) : `${((value as Json)['Fn::GetAtt'] as string[])[1]}`;
  const render = (rule: Json, direction: 'from' | 'to') =>
    `${rule.IpProtocol as string}/${port(rule.FromPort)}${
      JSON.stringify(rule.ToPort) === JSON.stringify(rule.FromPort) ? '' : `-${port(rule.ToPort)}`
    } ${direction} ${peer(rule)}`;

  const groups: Record<string, { in: Rule[]; out: Rule[] }> = {};
  for (const [logicalId, { Properties }] of resourcesOf(template, 'AWS::EC2::SecurityGroup')) {
    const group = name({ 'Fn::GetAtt': [logicalId, 'GroupId'] });
    groups[group] = {
      in: ((Properties.SecurityGroupIngress ?? []) as Json[]).map((rule) => render(rule, 'from')),
      out: ((Properties.SecurityGroupEgress ?? []) as Json[]).map((rule) => render(rule, 'to')),
    };
  }
  for (const [, { Properties }] of resourcesOf(template, 'AWS::EC2::SecurityGroupIngress')) {
    groups[name(Properties.GroupId)]?.in.push(render(Properties, 'from'));
  }
  for (const [, { Properties }] of resourcesOf(template, 'AWS::EC2::SecurityGroupEgress')) {
    groups[name(Properties.GroupId)]?.out.push(render(Properties, 'to'));
  }
  for (const group of Object.values(groups)) {
    group.in.sort();
    group.out.sort();
  }
  return groups;
}

describe('security groups chained as the specification draws them', () => {
  it.each(environments)(
    'when %s is synthesized, then each group admits exactly its predecessor in the chain',
    (_, template) => {
      const nothing = 'icmp/252-86 to 255.255.255.255/32'; // CDK's "no traffic" placeholder
      expect(securityGroupRules(template)).toEqual({
        PublicAlb: {
          // CloudFront's origin-facing prefix list only (no domain: CloudFront in front).
          in: ['tcp/80 from pl-3b927c52'],
          out: ['tcp/3000 to sg:Frontend'],
        },
        Frontend: {
          in: ['tcp/22 from sg:Bastion', 'tcp/3000 from sg:PublicAlb'],
          out: ['tcp/443 to 0.0.0.0/0', 'tcp/8080 to sg:InternalAlb'],
        },
        InternalAlb: { in: ['tcp/8080 from sg:Frontend'], out: ['tcp/8080 to sg:Backend'] },
        Backend: {
          in: ['tcp/22 from sg:Bastion', 'tcp/8080 from sg:InternalAlb'],
          out: ['tcp/443 to 0.0.0.0/0', 'tcp/Endpoint.Port to sg:Database'],
        },
        Database: { in: ['tcp/Endpoint.Port from sg:Backend'], out: [nothing] },
        Bastion: {
          in: [`tcp/22 from ${TEST_SSH_CIDR}`],
          out: ['tcp/22 to sg:Backend', 'tcp/22 to sg:Frontend', 'tcp/443 to 0.0.0.0/0'],
        },
      });
    },
  );

  it.each(environments)(
    'when %s is synthesized, then every resource sits behind the group of its tier',
    (_, template) => {
      const group = (name: string) => ({
        'Fn::GetAtt': [Match.stringLikeRegexp(`^SecurityGroups${name}[0-9A-F]{8}$`), 'GroupId'],
      });
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Scheme: 'internet-facing',
        SecurityGroups: [group('PublicAlb')],
      });
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Scheme: 'internal',
        SecurityGroups: [group('InternalAlb')],
      });
      for (const tier of ['Frontend', 'Backend']) {
        template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
          LaunchTemplateData: { SecurityGroupIds: [group(tier)] },
        });
      }
      template.hasResourceProperties('AWS::RDS::DBInstance', {
        VPCSecurityGroups: [group('Database')],
      });
      template.hasResourceProperties('AWS::EC2::Instance', {
        NetworkInterfaces: [Match.objectLike({ GroupSet: [group('Bastion')] })],
      });
    },
  );

  it('when prod rotates the database password, then the rotation function uses the backend group', () => {
    prod.hasResourceProperties('AWS::Serverless::Application', {
      Parameters: {
        vpcSecurityGroupIds: {
          'Fn::GetAtt': [Match.stringLikeRegexp('^SecurityGroupsBackend[0-9A-F]{8}$'), 'GroupId'],
        },
      },
    });
  });
});
