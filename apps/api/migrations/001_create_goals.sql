-- The specification's table, exactly as it defines it. IF NOT EXISTS adopts a database the
-- specification's original backend already created, rows included.
CREATE TABLE IF NOT EXISTS goals (
  id SERIAL PRIMARY KEY,
  goal_name VARCHAR(255) NOT NULL
);
