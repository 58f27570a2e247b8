-- The outbox in publication order: each process's search index follows it by sequence number
-- (and re-reads a window behind its position, since transactions may commit out of order).
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    subject_id  TEXT NOT NULL
);
INSERT INTO outbox (kind, subject_id) SELECT kind, subject_id FROM domain_events ORDER BY id;
