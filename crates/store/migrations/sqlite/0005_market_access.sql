-- The market-access registry: may goods of an HS prefix go from origin to destination, from when,
-- under which requirements, on whose authority. One rule per (origin, destination, prefix).
CREATE TABLE market_access_rules (
    origin        TEXT NOT NULL,
    destination   TEXT NOT NULL,
    hs_prefix     TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('allowed', 'refused')),
    allowed_from  TEXT,
    requirements  TEXT NOT NULL,
    source        TEXT NOT NULL,
    confidence    TEXT NOT NULL CHECK (confidence IN ('H', 'M', 'L')),
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (origin, destination, hs_prefix),
    CHECK (origin <> destination)
);
