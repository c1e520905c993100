-- What the API contract adds to a goal: whether it is done, and when it was made and changed.
-- Defaults fill existing rows, so this applies to a table that already holds the spec's data.
ALTER TABLE goals
  ADD COLUMN done BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();

-- The API trims names and refuses blank ones; the database backs that up for every writer.
-- NOT VALID: rows written before the API existed are not re-checked.
ALTER TABLE goals
  ADD CONSTRAINT goals_goal_name_not_blank CHECK (btrim(goal_name) <> '') NOT VALID;
