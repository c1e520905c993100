import type {
  AllocateCidrRequest,
  IIpAddresses,
  SubnetIpamOptions,
  VpcIpamOptions,
} from 'aws-cdk-lib/aws-ec2';

/**
 * Gives every subnet the exact CIDR the specification draws, instead of the L2 Vpc's packed
 * allocation. The Vpc still builds the IGW, NAT gateways and route tables, and subnet
 * selection by group name keeps working.
 */
export class ExactSubnetCidrs implements IIpAddresses {
  /**
   * @param vpcCidr the VPC's CIDR block
   * @param subnetCidrs per subnet group name, one CIDR per AZ in AZ order
   */
  constructor(
    private readonly vpcCidr: string,
    private readonly subnetCidrs: Readonly<Record<string, readonly string[]>>,
  ) {}

  allocateVpcCidr(): VpcIpamOptions {
    return { cidrBlock: this.vpcCidr };
  }

  allocateSubnetsCidr(input: AllocateCidrRequest): SubnetIpamOptions {
    const nextIndex = new Map<string, number>();
    const allocatedSubnets = input.requestedSubnets.map(({ configuration }) => {
      const index = nextIndex.get(configuration.name) ?? 0;
      nextIndex.set(configuration.name, index + 1);
      const cidr = this.subnetCidrs[configuration.name]?.[index];
      if (cidr === undefined) {
        throw new Error(
          `No CIDR for subnet ${index + 1} of group "${configuration.name}": ` +
            `configured groups are ${Object.keys(this.subnetCidrs).join(', ')}.`,
        );
      }
      return { cidr };
    });
    for (const [group, cidrs] of Object.entries(this.subnetCidrs)) {
      if ((nextIndex.get(group) ?? 0) !== cidrs.length) {
        throw new Error(
          `Subnet group "${group}" lists ${cidrs.length} CIDRs but the VPC requested ` +
            `${nextIndex.get(group) ?? 0} subnets for it.`,
        );
      }
    }
    return { allocatedSubnets };
  }
}
