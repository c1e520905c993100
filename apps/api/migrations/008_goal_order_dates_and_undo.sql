-- Issue 11: an order of the account's own, a target date, when a goal was achieved, and a
-- delete that can be undone. Metadata only (nullable columns, a constant default), so this
-- takes milliseconds however many goals there are; 009 fills the columns in batches.
ALTER TABLE goals
  ADD COLUMN target_date DATE,
  -- NULL for a goal not done, and for one done before this column existed (009 fills those
  -- with updated_at, the last time such a goal changed: usually when it was ticked).
  ADD COLUMN done_at TIMESTAMPTZ,
  -- Gap-based: ascending is top to bottom, so a new goal takes the lowest minus the gap, and a
  -- move takes the midpoint of its new neighbours (one UPDATE) until a gap is used up.
  ADD COLUMN position BIGINT,
  -- Counts changes to what PATCH sets, so an undo sent with If-Match cannot undo a newer one.
  ADD COLUMN version INTEGER NOT NULL DEFAULT 1,
  -- A deleted goal stays restorable for a while (POST /goals/{id}/restore), then is purged.
  ADD COLUMN deleted_at TIMESTAMPTZ;

-- Every insert gets a position on top of its account's list, whoever writes it: this API, or
-- an instance of the previous version during a rolling deploy. Until 009 has numbered a
-- goal from before, -id × gap puts a new goal above every goal that 009 will number so.
CREATE FUNCTION goals_top_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.position IS NULL THEN
    NEW.position := COALESCE(
      (SELECT min(position) FROM goals WHERE account_id = NEW.account_id) - 65536,
      -NEW.id * 65536);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER goals_top_position BEFORE INSERT ON goals
  FOR EACH ROW EXECUTE FUNCTION goals_top_position();
