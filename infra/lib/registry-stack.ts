import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Registry } from './registry.js';

/** `goal-tracker-registry`: the ECR repositories every environment pulls from. */
export class RegistryStack extends Stack {
  readonly registry: Registry;

  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    this.registry = new Registry(this, 'Registry');
    new CfnOutput(this, 'FrontendRepositoryUri', { value: this.registry.frontend.repositoryUri });
    new CfnOutput(this, 'BackendRepositoryUri', { value: this.registry.backend.repositoryUri });
  }
}
