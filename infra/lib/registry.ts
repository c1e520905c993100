import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';
import { repositoryName, type TierName } from './naming.js';

/**
 * Tags with this prefix are throwaway builds (CI, experiments) and expire; an environment may
 * never run one (config/validate.ts refuses it), so expiry never pulls an image from under an
 * Auto Scaling group. Every other tag (the git commits deploys push) is kept until removed
 * by hand: a count- or age-based rule could expire the tag prod still runs while dev moves on.
 */
export const SCRATCH_TAG_PREFIX = 'scratch-';
export const SCRATCH_IMAGE_DAYS = 14;
/** Untagged images (layers a failed push left) serve nothing. */
export const UNTAGGED_IMAGE_DAYS = 1;

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
          description: `Expire untagged images after ${UNTAGGED_IMAGE_DAYS} day`,
          tagStatus: ecr.TagStatus.UNTAGGED,
          maxImageAge: Duration.days(UNTAGGED_IMAGE_DAYS),
        },
        {
          description: `Expire ${SCRATCH_TAG_PREFIX}* images after ${SCRATCH_IMAGE_DAYS} days`,
          tagStatus: ecr.TagStatus.TAGGED,
          tagPrefixList: [SCRATCH_TAG_PREFIX],
          maxImageAge: Duration.days(SCRATCH_IMAGE_DAYS),
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
