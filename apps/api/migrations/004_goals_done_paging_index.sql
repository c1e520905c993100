-- Keyset paging filtered by done: WHERE done = $1 AND id > $2 ORDER BY id LIMIT n walks this
-- index in order. Unfiltered paging uses the primary key.
CREATE INDEX goals_done_id_idx ON goals (done, id);
