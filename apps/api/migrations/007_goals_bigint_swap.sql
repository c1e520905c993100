-- The swap: metadata changes only, under a lock held for milliseconds. id_big (bigint, filled
-- and indexed by 006) becomes id; the old integer column goes.
LOCK TABLE goals, idempotency_keys IN ACCESS EXCLUSIVE MODE;

ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_goal_id_fkey;
ALTER TABLE goals DROP CONSTRAINT goals_pkey;
DROP TRIGGER goals_copy_id_to_id_big ON goals;
DROP FUNCTION goals_copy_id_to_id_big();
ALTER TABLE goals RENAME COLUMN id TO id_integer;
ALTER TABLE goals RENAME COLUMN id_big TO id;
ALTER TABLE goals ALTER COLUMN id SET NOT NULL;
ALTER TABLE goals DROP CONSTRAINT goals_id_big_not_null;
ALTER TABLE goals ADD CONSTRAINT goals_pkey PRIMARY KEY USING INDEX goals_id_big_key;
ALTER TABLE goals ALTER COLUMN id SET DEFAULT nextval('goals_id_seq');
-- Before the old column goes, or the sequence it owns would go with it.
ALTER SEQUENCE goals_id_seq OWNED BY goals.id;
-- Marks the column dropped (no rewrite); its index goals_done_id_idx goes with it.
ALTER TABLE goals DROP COLUMN id_integer;

-- The keys table holds a day of keys: small, so its column is converted in place.
ALTER TABLE idempotency_keys ALTER COLUMN goal_id TYPE BIGINT;
ALTER TABLE idempotency_keys
  ADD CONSTRAINT idempotency_keys_goal_id_fkey FOREIGN KEY (goal_id)
  REFERENCES goals (id) ON DELETE SET NULL;
