import { RemovalPolicy } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';
import { repositoryName, type TierName } from './naming.js';

/** How many images each repository keeps; older ones expire. */
export const IMAGES_KEPT = 20;

/**
 * The ECR repositories `goal-tracker-frontend` and `goal-tracker-backend`. They live in their
 * own stack, shared by every environment, so images can be pushed before any environment
 * exists; environment stacks import them by name with `Registry.repositories`.
 */
export class Registry extends Construct {
  readonly frontend: ecr.Repository;
  readonly backend: ecr.Repository;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.frontend = this.repository('Frontend', 'frontend');
    this.backend = this.repository('Backend', 'backend');
  }

  /** Imports both repositories by name (no cross-stack export to pin them). */
  static repositories(scope: Construct): Record<TierName, ecr.IRepository> {
    return {
      frontend: ecr.Repository.fromRepositoryName(
        scope,
        'FrontendRepository',
        repositoryName('frontend'),
      ),
      backend: ecr.Repository.fromRepositoryName(
        scope,
        'BackendRepository',
        repositoryName('backend'),
      ),
    };
  }

  private repository(id: string, tier: TierName): ecr.Repository {
    return new ecr.Repository(this, id, {
      repositoryName: repositoryName(tier),
      imageScanOnPush: true,
      // Deploys name images by git commit; a tag can never be repointed under a running ASG.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      encryption: ecr.RepositoryEncryption.AES_256,
      lifecycleRules: [
        {
          description: `Keep the last ${IMAGES_KEPT} images`,
          tagStatus: ecr.TagStatus.ANY,
          maxImageCount: IMAGES_KEPT,
        },
      ],
      // Environment stacks come and go without touching the registry; deleting the registry
      // stack itself (`npm run destroy -- --with-registry`) is the explicit way to drop the
      // images, and leaves no repository behind that would block the next deploy.
      removalPolicy: RemovalPolicy.DESTROY,
      emptyOnDelete: true,
    });
  }
}
