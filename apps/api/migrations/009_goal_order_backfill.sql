-- migrate: no-transaction
-- Fills 008's columns for the goals from before it, 10,000 rows per transaction, and builds
-- the paging indexes without blocking writes. Each statement can run again after an
-- interruption.

-- Newest first, as the list showed them by id until now: the higher the id, the higher up.
-- A done goal from before gets its last change as the time it was achieved.
DO $$
DECLARE
  filled INTEGER;
BEGIN
  LOOP
    UPDATE goals
      SET position = -id * 65536,
        done_at = CASE WHEN done THEN COALESCE(done_at, updated_at) END
      WHERE id IN (SELECT id FROM goals WHERE position IS NULL LIMIT 10000);
    GET DIAGNOSTICS filled = ROW_COUNT;
    COMMIT;
    EXIT WHEN filled = 0;
  END LOOP;
END
$$;

-- Keyset paging in the account's order (position, newest id first on a tie), all or by done;
-- the first also finds the top of the list for the next new goal.
DROP INDEX CONCURRENTLY IF EXISTS goals_account_id_position_idx;
CREATE INDEX CONCURRENTLY goals_account_id_position_idx
  ON goals (account_id, position, id DESC);
DROP INDEX CONCURRENTLY IF EXISTS goals_account_id_done_position_idx;
CREATE INDEX CONCURRENTLY goals_account_id_done_position_idx
  ON goals (account_id, done, position, id DESC);
-- The hourly purge of goals deleted longer ago than the undo window.
DROP INDEX CONCURRENTLY IF EXISTS goals_deleted_at_idx;
CREATE INDEX CONCURRENTLY goals_deleted_at_idx ON goals (deleted_at) WHERE deleted_at IS NOT NULL;

-- The id-order indexes of 006 served the old order only.
DROP INDEX CONCURRENTLY IF EXISTS goals_account_id_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS goals_account_id_done_id_idx;

-- Every goal has a position from now on (the trigger sees to new ones); VALIDATE scans under
-- a lock that lets reads and writes go on.
ALTER TABLE goals DROP CONSTRAINT IF EXISTS goals_position_not_null;
ALTER TABLE goals
  ADD CONSTRAINT goals_position_not_null CHECK (position IS NOT NULL) NOT VALID;
ALTER TABLE goals VALIDATE CONSTRAINT goals_position_not_null;
