-- The specification's table, exactly as it defines it.
CREATE TABLE goals (
  id SERIAL PRIMARY KEY,
  goal_name VARCHAR(255) NOT NULL
);
