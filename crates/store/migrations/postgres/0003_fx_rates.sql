-- Exchange rates by day: 1 base = rate quote, as published by `source`. Rates are exact decimal
-- text; a day's rate for a pair is replaced, not duplicated, when a file is imported again.
CREATE TABLE fx_rates (
    date         TEXT NOT NULL,
    base         TEXT NOT NULL,
    quote        TEXT NOT NULL,
    rate         TEXT NOT NULL,
    source       TEXT NOT NULL,
    imported_at  TEXT NOT NULL,
    PRIMARY KEY (date, base, quote),
    CHECK (base <> quote)
);
