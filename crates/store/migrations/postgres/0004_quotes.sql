-- Landed-cost quotes as shown to a buyer, kept so that checkout charges exactly what was quoted
-- until the quote expires; and rule packs imported by administrators over the shipped ones.
CREATE TABLE quotes (
    id             TEXT PRIMARY KEY,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    created_by     TEXT REFERENCES users (id),
    input          TEXT NOT NULL,
    output         TEXT NOT NULL
);
CREATE INDEX quotes_expiry ON quotes (expires_at);

CREATE TABLE rule_packs (
    pack         TEXT PRIMARY KEY,
    files        TEXT NOT NULL,
    version      BIGINT NOT NULL,
    imported_at  TEXT NOT NULL,
    imported_by  TEXT
);
