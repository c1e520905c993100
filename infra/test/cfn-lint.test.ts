import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CFN_LINT_IGNORES } from './cfn-lint-ignores.js';
import { synthesize, WITH_DOMAIN, type Synthesized } from './support/synth.js';

/** Every shape: dev and prod, behind CloudFront (no domain) and with a domain. */
const shapes: [string, Synthesized][] = [
  ['without a domain', synthesize()],
  ['with a domain', synthesize({ ...WITH_DOMAIN })],
];
afterAll(() => {
  for (const [, synthesized] of shapes) synthesized.dispose();
});

const templateFiles = shapes.flatMap(([, { app, registry, environments }]) =>
  [registry, ...Object.values(environments)].map((stack) => join(app.outdir, stack.templateFile)),
);

/** cfn-lint's findings, one `file:line:col:line:col:RULE:message` line each. */
function cfnLint(ignore: readonly string[]): { status: number | null; findings: string[] } {
  const args = ['--format', 'parseable', ...(ignore.length ? ['--ignore-checks', ...ignore] : [])];
  const result = spawnSync('cfn-lint', [...args, '--', ...templateFiles], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  if (result.error) {
    throw new Error(
      `cfn-lint is required for this test (pipx install cfn-lint; CI has 1.51): ${result.error.message}`,
    );
  }
  const findings = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line !== '');
  return { status: result.status, findings };
}

const ruleOf = (finding: string) => finding.split(':')[5] ?? finding;

describe('cfn-lint on every synthesized template', () => {
  it('when dev, prod and the registry are linted in both shapes, then cfn-lint finds nothing beyond the listed ignores', () => {
    expect(templateFiles).toHaveLength(6);
    expect(cfnLint(Object.keys(CFN_LINT_IGNORES))).toEqual({ status: 0, findings: [] });
  }, 300_000);

  it('when the ignores are dropped, then each ignored rule still has a real finding', () => {
    const rules = new Set(cfnLint([]).findings.map(ruleOf));
    for (const [rule, reason] of Object.entries(CFN_LINT_IGNORES)) {
      expect(rules.has(rule), `${rule} no longer fires: remove its ignore`).toBe(true);
      expect(reason.length, rule).toBeGreaterThanOrEqual(40);
    }
  }, 300_000);
});
