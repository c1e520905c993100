/** What the runner prints: one labelled, coloured line per event or per line a tier logs. */

export type Source = 'db' | 'api' | 'web' | 'stack';

const colours: Record<Source, string> = {
  db: '\x1b[33m',
  api: '\x1b[35m',
  web: '\x1b[36m',
  stack: '\x1b[32m',
};
const useColour = process.stdout.isTTY === true && !process.env.NO_COLOR;

export function say(source: Source, text: string): void {
  const label = source.padEnd(5);
  process.stdout.write(`${useColour ? `${colours[source]}${label}\x1b[0m` : label} ${text}\n`);
}

interface LogEntry {
  level?: number;
  msg?: string;
  err?: { message?: string };
  /** Set on the API's "migration applied" lines. */
  version?: number;
  name?: string;
}

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** pino's JSON made readable in a terminal: level, message, and what the message is about. */
export function formatLogLine(line: string): string | undefined {
  let entry: LogEntry;
  try {
    entry = JSON.parse(line) as LogEntry;
  } catch {
    return line;
  }
  // Request lines are noise in a terminal; LOG_LEVEL=debug in the environment shows them raw.
  if (entry.msg === 'incoming request' || entry.msg === 'request completed') return undefined;
  const level = LEVELS[entry.level ?? 30] ?? 'info';
  const migration =
    entry.version !== undefined && entry.name !== undefined
      ? ` ${String(entry.version).padStart(3, '0')}_${entry.name}`
      : '';
  const error = entry.err?.message ? `: ${entry.err.message}` : '';
  return `${level.padEnd(5)} ${entry.msg ?? ''}${migration}${error}`;
}
