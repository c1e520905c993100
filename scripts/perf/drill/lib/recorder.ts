import type { HttpOutcome, Recorded } from '../../harness/http-client.js';
import { startBenchDatabase, type BenchDatabase } from '../../harness/postgres.js';
import { stopAllServers } from '../../harness/server.js';

export interface DrillResult {
  name: string;
  passed: boolean;
  /** What happened, line by line, as printed. */
  lines: string[];
  /** The checks that failed; empty when the drill passed. */
  failures: string[];
  /** Figures for the record (counts, milliseconds). */
  facts: Record<string, number | string>;
}

export interface DrillOptions {
  /** Where progress lines go; console.log by default. */
  log?: (line: string) => void;
}

/** Collects what a drill saw and the checks it made, and prints as it goes. */
export class DrillRecorder {
  readonly lines: string[] = [];
  readonly failures: string[] = [];
  readonly facts: Record<string, number | string> = {};
  private readonly started = performance.now();

  constructor(
    readonly name: string,
    private readonly print: (line: string) => void = (line) => console.log(line),
  ) {}

  /** Milliseconds since the drill started. */
  elapsed(): number {
    return performance.now() - this.started;
  }

  note(line: string): void {
    this.lines.push(line);
    this.print(`[${this.name} ${(this.elapsed() / 1000).toFixed(1).padStart(5)} s] ${line}`);
  }

  fact(key: string, value: number | string): void {
    this.facts[key] = typeof value === 'number' ? Math.round(value * 100) / 100 : value;
  }

  check(ok: boolean, what: string): boolean {
    this.note(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (!ok) this.failures.push(what);
    return ok;
  }

  /** Records an unexpected error (e.g. a server that would not start) as a failure. */
  crash(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.check(false, `drill could not run: ${message}`);
  }

  result(): DrillResult {
    return {
      name: this.name,
      passed: this.failures.length === 0,
      lines: this.lines,
      failures: this.failures,
      facts: this.facts,
    };
  }
}

/**
 * Runs a drill's body against a fresh throwaway database. Whatever happens, `cleanup` runs,
 * every server the body started is stopped and the database is deleted; an error the body
 * throws is recorded as a failed check. Returns the drill's result.
 */
export async function onThrowawayDatabase(
  drill: DrillRecorder,
  body: (database: BenchDatabase) => Promise<void>,
  cleanup?: () => Promise<unknown>,
): Promise<DrillResult> {
  const database = await startBenchDatabase();
  try {
    await body(database);
  } catch (error) {
    drill.crash(error);
  } finally {
    await cleanup?.().catch(() => undefined);
    await stopAllServers();
    await database.dispose();
  }
  return drill.result();
}

/** What kind of answer an outcome is: `201`, `503`, `ECONNRESET`, `TIMEOUT`... */
export function outcomeKind(outcome: HttpOutcome): string {
  if (outcome.error) return outcome.truncated ? `truncated ${outcome.error}` : outcome.error;
  return String(outcome.status);
}

/** Counts of each kind of answer, e.g. `{ "200": 812, "503": 4, ECONNREFUSED: 20 }`. */
export function tally(
  records: readonly Recorded[],
  kindOf: (record: Recorded) => string = ({ outcome }) => outcomeKind(outcome),
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) {
    const kind = kindOf(record);
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

export const describeTally = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, count]) => `${count} × ${kind}`)
    .join(', ') || 'none';

export const isSuccess = (outcome: HttpOutcome) =>
  !outcome.error && outcome.status >= 200 && outcome.status < 300;

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Parses `{ id }` out of a created goal's JSON body, or undefined. */
export function createdId(outcome: HttpOutcome): number | undefined {
  if (outcome.status !== 201) return undefined;
  try {
    const body = JSON.parse(outcome.body) as { id?: unknown };
    return typeof body.id === 'number' ? body.id : undefined;
  } catch {
    return undefined;
  }
}
