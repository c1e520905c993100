-- migrate: no-transaction
-- Run statement by statement, outside a transaction, so nothing here holds a lock that
-- blocks reads or writes for long, however many goals there are. Each statement can run
-- again after an interruption.

-- Copies the ids into id_big 10,000 rows per transaction (the trigger from 005 does the
-- copying, and keeps new and changed rows current meanwhile).
DO $$
DECLARE
  copied INTEGER;
BEGIN
  LOOP
    UPDATE goals SET id_big = id
      WHERE id IN (SELECT id FROM goals WHERE id_big IS NULL LIMIT 10000);
    GET DIAGNOSTICS copied = ROW_COUNT;
    COMMIT;
    EXIT WHEN copied = 0;
  END LOOP;
END
$$;

-- Built without blocking writes. A build that was interrupted leaves an invalid index: drop
-- it first, so running this again builds it whole.
DROP INDEX CONCURRENTLY IF EXISTS goals_id_big_key;
CREATE UNIQUE INDEX CONCURRENTLY goals_id_big_key ON goals (id_big);

-- Keyset paging per account, in id order, all or filtered by done.
DROP INDEX CONCURRENTLY IF EXISTS goals_account_id_id_idx;
CREATE INDEX CONCURRENTLY goals_account_id_id_idx ON goals (account_id, id_big);
DROP INDEX CONCURRENTLY IF EXISTS goals_account_id_done_id_idx;
CREATE INDEX CONCURRENTLY goals_account_id_done_id_idx ON goals (account_id, done, id_big);

-- Finds the goals from before accounts quickly, while there are any.
DROP INDEX CONCURRENTLY IF EXISTS goals_unowned_idx;
CREATE INDEX CONCURRENTLY goals_unowned_idx ON goals (id_big) WHERE account_id IS NULL;

-- Lets SET NOT NULL in 007 skip scanning the table.
ALTER TABLE goals DROP CONSTRAINT IF EXISTS goals_id_big_not_null;
ALTER TABLE goals
  ADD CONSTRAINT goals_id_big_not_null CHECK (id_big IS NOT NULL) NOT VALID;
-- VALIDATE scans, but under a lock that lets reads and writes go on.
ALTER TABLE goals VALIDATE CONSTRAINT goals_id_big_not_null;
ALTER TABLE goals VALIDATE CONSTRAINT goals_account_id_fkey;
