import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { afterAll, describe, expect, it } from 'vitest';
import { synthesize, templateOf, type Json } from './support/synth.js';

/** The CIDR `npm run synth` passes (infra/package.json): RFC 5737 TEST-NET-3. */
const SYNTH_SSH_CIDR = '203.0.113.0/24';
/** The image tag `npm run synth` passes: synth of an environment needs one. */
const SYNTH_IMAGE_TAG = 'synth-check';
const STACKS = ['goal-tracker-registry', 'goal-tracker-dev', 'goal-tracker-prod'];

const scratch = mkdtempSync(join(tmpdir(), 'goal-tracker-synth-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `npm run synth` as a fresh machine would run it: no AWS credentials, config or network. */
function runSynth(outdir: string) {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(AWS_|CDK_)/.test(key)) env[key] = value;
  }
  Object.assign(env, {
    HOME: scratch,
    AWS_CONFIG_FILE: join(scratch, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-aws-credentials'),
    // Any request that tried to leave the machine would fail here.
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '',
  });
  return spawnSync('npm', ['run', '--silent', 'synth', '--', '--output', outdir], {
    cwd: REPOSITORY_ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

/** A template without what only the CLI adds (version reporting, construct paths). */
function comparable(template: Json): Json {
  const { Resources, Conditions, ...rest } = template as {
    Resources: Record<string, Json>;
    Conditions?: Record<string, unknown>;
  };
  const resources = Object.fromEntries(
    Object.entries(Resources)
      .filter(([id]) => id !== 'CDKMetadata')
      .map(([id, resource]) => [id, { ...resource, Metadata: undefined }]),
  );
  const conditions = Object.fromEntries(
    Object.entries(Conditions ?? {}).filter(([id]) => id !== 'CDKMetadataAvailable'),
  );
  return { ...rest, Resources: resources, Conditions: conditions };
}

describe('npm run synth', () => {
  const outdir = join(scratch, 'cdk.out');
  const result = runSynth(outdir);

  it('when run without credentials or network, then it synthesizes every stack and exits 0', () => {
    expect(result.error).toBeUndefined();
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string }>;
    };
    const stacks = Object.entries(manifest.artifacts)
      .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
      .map(([name]) => name);
    expect(stacks.sort()).toEqual([...STACKS].sort());
  });

  it('when the tests build the app from cdk.json, then they see the templates synth writes', () => {
    const inProcess = synthesize({ sshCidr: SYNTH_SSH_CIDR, imageTag: SYNTH_IMAGE_TAG });
    try {
      for (const stack of STACKS) {
        const written = JSON.parse(
          readFileSync(join(outdir, `${stack}.template.json`), 'utf8'),
        ) as Json;
        expect(comparable(templateOf(inProcess, stack).toJSON()), stack).toEqual(
          comparable(written),
        );
      }
    } finally {
      inProcess.dispose();
    }
  }, 120_000);
});
