/** The Dockerfile both images are built from, with the repository root as context. */
export const DOCKERFILE = 'Dockerfile';

/** The two images as the rules agree them: Dockerfile target, port, ECR repository. */
export const TIERS = [
  {
    tier: 'api',
    port: 8080,
    workdir: '/app/apps/api',
    repository: 'goal-tracker-backend',
  },
  {
    tier: 'web',
    port: 3000,
    workdir: '/app/apps/web',
    repository: 'goal-tracker-frontend',
  },
] as const;

export const RDS_CA_URL = 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem';
export const RDS_CA_PATH = '/app/certs/rds-global-bundle.pem';
