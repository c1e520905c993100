import type { LoadResult } from './wrk.js';

export interface ScenarioRow {
  id: string;
  label: string;
  result: LoadResult;
  /** Peak RSS of the process serving it during the run, in MB (undefined for pgbench). */
  peakRssMb?: number;
  /**
   * CPU microseconds per request: of the serving process, and of PostgreSQL (all backends).
   * Unlike req/s these barely move when other work shares the machine.
   */
  serverCpuUs?: number;
  databaseCpuUs: number;
  /** Scenario id of the database ceiling this figure is judged against. */
  ceiling?: string;
  /** req/s as a fraction of the ceiling's tps. */
  fractionOfCeiling?: number;
  load: string;
}

export interface TargetCheck {
  name: string;
  value: number;
  unit: string;
  comparison: '>=' | '<=';
  threshold: number;
  pass: boolean;
}

export function checkTarget(
  name: string,
  value: number,
  comparison: '>=' | '<=',
  threshold: number,
  unit = '',
): TargetCheck {
  const pass = comparison === '>=' ? value >= threshold : value <= threshold;
  return { name, value, unit, comparison, threshold, pass };
}

const fixed = (value: number, digits: number) => value.toFixed(digits);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) =>
    Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  return [
    line(header),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

export function scenarioTable(rows: readonly ScenarioRow[]): string {
  return table(
    [
      'scenario',
      'req/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'peak RSS MB',
      'of ceiling',
      'server µs/req',
      'db µs/req',
      'machine',
    ],
    rows.map((row) => [
      row.label,
      fixed(row.result.rps, 0),
      fixed(row.result.p50Ms, 2),
      fixed(row.result.p99Ms, 2),
      String(row.result.errors),
      row.peakRssMb === undefined ? '-' : fixed(row.peakRssMb, 1),
      row.fractionOfCeiling === undefined ? '-' : fixed(row.fractionOfCeiling, 2),
      row.serverCpuUs === undefined ? '-' : fixed(row.serverCpuUs, 0),
      fixed(row.databaseCpuUs, 0),
      row.load,
    ]),
  );
}

export function targetTable(checks: readonly TargetCheck[]): string {
  return table(
    ['target', 'measured', 'needed', 'result'],
    checks.map((check) => [
      check.name,
      `${fixed(check.value, check.value < 10 ? 2 : 0)}${check.unit}`,
      `${check.comparison} ${check.threshold}${check.unit}`,
      check.pass ? 'PASS' : 'FAIL',
    ]),
  );
}
