-- The change feed's NOTIFYs about goals get a number, the same on every instance, so an event
-- stream (GET /goals/events) can resume on any instance from the Last-Event-ID a client
-- heard on another. The advisory lock, held until the NOTIFY commits, makes the numbers
-- commit in order: every listener hears 41 before 42. NOTIFYs already queue for one global
-- lock at commit, so this serialises nothing that was not serialised before.
CREATE SEQUENCE goal_events_seq AS BIGINT;

CREATE FUNCTION goals_notify(channel TEXT, payload TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
  number BIGINT;
BEGIN
  PERFORM pg_advisory_xact_lock(4741203011);
  number := nextval('goal_events_seq');
  PERFORM pg_notify(channel, '#' || number || ' ' || payload);
  RETURN number;
END
$$;
