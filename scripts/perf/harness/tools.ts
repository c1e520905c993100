import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A system program the harness needs, where Debian puts it, and how to get it. */
interface Tool {
  readonly name: string;
  readonly candidates: readonly string[];
  readonly install: string;
}

const TOOLS = {
  // Debian's own pgbench from postgresql-15, so the ceiling uses the server's major version.
  pgbench: {
    name: 'pgbench',
    candidates: ['/usr/lib/postgresql/15/bin/pgbench'],
    install:
      'apt-get install -y postgresql-15   (Debian 12; provides /usr/lib/postgresql/15/bin/pgbench)',
  },
  wrk: { name: 'wrk', candidates: ['wrk'], install: 'apt-get install -y wrk' },
  haproxy: { name: 'haproxy', candidates: ['haproxy'], install: 'apt-get install -y haproxy' },
} satisfies Record<string, Tool>;

export type ToolName = keyof typeof TOOLS;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function resolveCandidate(candidate: string): string | undefined {
  if (candidate.includes('/')) return isExecutable(candidate) ? candidate : undefined;
  const searchPath = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  return searchPath.map((dir) => join(dir, candidate)).find(isExecutable);
}

/** The tool's path, or undefined when it is not installed. */
export function findTool(name: ToolName): string | undefined {
  for (const candidate of TOOLS[name].candidates) {
    const found = resolveCandidate(candidate);
    if (found) return found;
  }
  return undefined;
}

/** The tool's path; throws a message saying how to install it when it is missing. */
export function requireTool(name: ToolName): string {
  const found = findTool(name);
  if (found) return found;
  const tool = TOOLS[name];
  throw new Error(`${tool.name} is not installed. Install it with:\n  ${tool.install}`);
}
