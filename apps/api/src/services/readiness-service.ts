import type { Database } from '../db/database.js';
import { DatabaseUnavailableError } from '../errors.js';

/** /ready answers within this, even when the database does not. */
const READY_TIMEOUT_MS = 500;

/** Ready means: the schema is migrated and the database answers now. */
export function readinessService(db: Database) {
  return {
    async check(): Promise<void> {
      if (db.migratedVersion === undefined) throw new DatabaseUnavailableError();
      await db.ping(READY_TIMEOUT_MS);
    },
  };
}
export type ReadinessService = ReturnType<typeof readinessService>;
