import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { createGoalTrackerApp, type GoalTrackerApp } from '../../lib/goal-tracker-app.js';

/** A CIDR from RFC 5737's documentation ranges, standing in for an operator's network. */
export const TEST_SSH_CIDR = '198.51.100.0/24';
/** The image tag tests deploy (synth of an environment needs one: there is no default). */
export const TEST_IMAGE_TAG = '0123abc';
/** A domain from RFC 2606's reserved names, and a hosted zone ID of the right form. */
export const TEST_DOMAIN = 'goals.example.com';
export const TEST_HOSTED_ZONE_ID = 'Z0123456789EXAMPLE';
export const WITH_DOMAIN = { domain: TEST_DOMAIN, hostedZoneId: TEST_HOSTED_ZONE_ID } as const;
export const TEST_CERTIFICATE_ARN =
  'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

const CDK_JSON = fileURLToPath(new URL('../../cdk.json', import.meta.url));

/** The context `cdk synth` sees from cdk.json, so tests build exactly what synth builds. */
export const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(CDK_JSON, 'utf8')) as { context: Record<string, unknown> }
).context;

export type Json = Record<string, unknown>;

export interface ValidationReport {
  pluginReports: { pluginName?: string; violations?: unknown[] }[];
}

export interface Synthesized extends GoalTrackerApp {
  /** Templates of every synthesized stack, by stack name. */
  readonly templates: Record<string, Template>;
  /** CDK's policy validation report (cdk-nag's findings, acknowledged or not). */
  readonly report: ValidationReport;
  /** Deletes the cloud assembly directory. */
  dispose(): void;
}

/**
 * Synthesizes the app once with cdk.json's context, the test SSH CIDR and image tag, and
 * `context` on top.
 * Synthesis runs cdk-nag and throws on any unacknowledged error, like `cdk synth`.
 * `beforeSynth` may change the built app first (tests of what the checks catch).
 */
export function synthesize(
  context: Json = {},
  beforeSynth?: (built: GoalTrackerApp) => void,
): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'goal-tracker-cdk-'));
  const built = createGoalTrackerApp({
    outdir,
    region: 'us-east-1',
    context: { ...CDK_JSON_CONTEXT, sshCidr: TEST_SSH_CIDR, imageTag: TEST_IMAGE_TAG, ...context },
  });
  try {
    beforeSynth?.(built);
    const assembly = built.app.synth();
    const stacks = [built.registry, ...Object.values(built.environments)];
    const templates = Object.fromEntries(
      stacks.map((stack) => [stack.stackName, Template.fromStack(stack)]),
    );
    const report = JSON.parse(
      readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'),
    ) as ValidationReport;
    return { ...built, templates, report, dispose: () => rmSync(outdir, { recursive: true }) };
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
}

/** The template of one stack; throws when it was not synthesized. */
export function templateOf(synthesized: Synthesized, stackName: string): Template {
  const template = synthesized.templates[stackName];
  if (!template) throw new Error(`Stack ${stackName} was not synthesized.`);
  return template;
}

/** Resources of one type as [logicalId, resource] pairs. */
export function resourcesOf(
  template: Template,
  type: string,
  props: Json = {},
): [string, { Properties: Json } & Json][] {
  return Object.entries(template.findResources(type, props)) as [
    string,
    { Properties: Json } & Json,
  ][];
}

/** The one resource of a type matching `props`; throws unless exactly one matches. */
export function onlyResource(template: Template, type: string, props: Json = {}) {
  const found = resourcesOf(template, type, props);
  if (found.length !== 1) {
    throw new Error(
      `Expected one ${type} matching ${JSON.stringify(props)}, found ${found.length}.`,
    );
  }
  return found[0] as [string, { Properties: Json } & Json];
}

/**
 * Flattens a CloudFormation string expression (Fn::Join, Fn::Base64) into text, writing each
 * reference as a stand-in a deploy would produce: `REF_<logicalId>`, a 12-digit account, ...
 */
export function renderIntrinsic(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value !== null && typeof value === 'object') {
    const object = value as Json;
    if ('Fn::Base64' in object) return renderIntrinsic(object['Fn::Base64']);
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(renderIntrinsic).join(separator);
    }
    if ('Ref' in object) {
      const ref = object.Ref as string;
      const pseudo: Record<string, string> = {
        'AWS::AccountId': '123456789012',
        'AWS::URLSuffix': 'amazonaws.com',
        'AWS::Region': 'us-east-1',
        'AWS::Partition': 'aws',
      };
      return pseudo[ref] ?? `REF_${ref}`;
    }
    if ('Fn::Select' in object) {
      const [index, list] = object['Fn::Select'] as [number, unknown];
      return `SELECT_${index}_OF_${renderIntrinsic(list)}`;
    }
    if ('Fn::Split' in object) {
      const [separator, source] = object['Fn::Split'] as [string, unknown];
      return `SPLIT_${separator}_${renderIntrinsic(source)}`;
    }
    if ('Fn::GetAtt' in object) {
      const [logicalId, attribute] = object['Fn::GetAtt'] as [string, string];
      return `GETATT_${logicalId}_${attribute.replaceAll('.', '_')}`;
    }
  }
  throw new Error(`Cannot render ${JSON.stringify(value)}`);
}
