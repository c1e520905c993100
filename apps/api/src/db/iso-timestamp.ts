/**
 * SQL for a timestamptz column as the contract's date-time (ISO-8601, UTC, milliseconds).
 * PostgreSQL formats it, so rows go to the client as they come and no Date is built per row.
 */
export function isoTimestamp(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
