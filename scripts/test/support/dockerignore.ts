import { copyFile, mkdir, readFile, readdir } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';

/**
 * `.dockerignore` as Docker reads it (moby's patternmatcher), not as git would: a pattern is
 * anchored at the context root, `*` stays within one path segment, `**` spans any number,
 * a path is excluded when it or one of its parent directories matches, `!` re-includes, and
 * the last matching pattern wins.
 */
export interface DockerIgnore {
  readonly patterns: readonly { text: string; exclusion: boolean; regex: RegExp }[];
  ignores(path: string): boolean;
}

const REGEX_SPECIAL = new Set(['.', '+', '(', ')', '|', '{', '}', '$', '^']);

function compile(pattern: string): RegExp {
  let source = '^';
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index];
    if (char === '*') {
      if (pattern[index + 1] === '*') {
        index += 1;
        if (pattern[index + 1] === '/') index += 1;
        source += index + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else {
        source += '[^/]*';
      }
    } else if (char === '?') {
      source += '[^/]';
    } else if (char === '\\') {
      index += 1;
      source += `\\${pattern[index] ?? '\\'}`;
    } else if (char !== undefined && REGEX_SPECIAL.has(char)) {
      source += `\\${char}`;
    } else {
      source += char;
    }
  }
  return new RegExp(`${source}$`);
}

export function parseDockerIgnore(text: string): DockerIgnore {
  const patterns = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const exclusion = line.startsWith('!');
      const cleaned = posix
        .normalize((exclusion ? line.slice(1) : line).trim())
        .replace(/^\/+/, '')
        .replace(/\/+$/, '');
      return { text: line, exclusion, regex: compile(cleaned) };
    });

  return {
    patterns,
    ignores(path) {
      const parents = posix.dirname(path).split('/');
      let matched = false;
      for (const pattern of patterns) {
        if (pattern.exclusion !== matched) continue;
        let match = pattern.regex.test(path);
        if (!match && posix.dirname(path) !== '.') {
          match = parents.some((_, index) =>
            pattern.regex.test(parents.slice(0, index + 1).join('/')),
          );
        }
        if (match) matched = !pattern.exclusion;
      }
      return matched;
    },
  };
}

/**
 * Copies the build context Docker would send: every file under `root` that `.dockerignore`
 * keeps. Excluded directories are not entered unless a `!` pattern could bring something back.
 * Resolves with the copied paths, relative and `/`-separated.
 */
export async function copyBuildContext(root: string, destination: string): Promise<string[]> {
  const ignore = parseDockerIgnore(await readFile(join(root, '.dockerignore'), 'utf8'));
  const canPrune = !ignore.patterns.some((pattern) => pattern.exclusion);
  const copied: string[] = [];

  async function walk(relative: string): Promise<void> {
    const entries = await readdir(join(root, relative), { withFileTypes: true });
    for (const entry of entries) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      const ignored = ignore.ignores(path);
      if (entry.isDirectory()) {
        if (!(ignored && canPrune)) await walk(path);
      } else if (!ignored && (entry.isFile() || entry.isSymbolicLink())) {
        await mkdir(dirname(join(destination, path)), { recursive: true });
        await copyFile(join(root, path), join(destination, path));
        copied.push(path);
      }
    }
  }

  await walk('');
  return copied.sort();
}
