-- POST /goals with an Idempotency-Key: the key remembers the goal it created, so a retried
-- request returns that goal instead of creating a second one. request_name tells a genuine
-- retry from a different request that reuses the key.
CREATE TABLE idempotency_keys (
  key VARCHAR(255) PRIMARY KEY,
  request_name VARCHAR(255) NOT NULL,
  goal_id INTEGER REFERENCES goals (id) ON DELETE SET NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Deleting a goal nulls its key's goal_id; without this index every delete scans all keys.
CREATE INDEX idempotency_keys_goal_id_idx ON idempotency_keys (goal_id);
-- Lets old keys be pruned by age.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
