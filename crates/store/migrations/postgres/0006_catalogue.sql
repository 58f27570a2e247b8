-- The catalogue. A product's description lives in `body` (JSON, shaped by the domain's
-- ProductDraft); what the database must guard or filter on has columns of its own: the seller,
-- the stock (never negative) and the seats of each departure (never oversold).
CREATE TABLE products (
    id                TEXT PRIMARY KEY,
    seller_id         TEXT NOT NULL REFERENCES organisations (id),
    kind              TEXT NOT NULL CHECK (kind IN ('goods', 'bulk_commodity', 'travel_package')),
    origin            TEXT NOT NULL,
    hs                TEXT NOT NULL,
    body              TEXT NOT NULL,
    stock             BIGINT CHECK (stock IS NULL OR stock >= 0),
    archived_at       TEXT,
    version           BIGINT NOT NULL DEFAULT 1,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX products_seller ON products (seller_id, id);

CREATE TABLE departures (
    product_id   TEXT NOT NULL REFERENCES products (id),
    date         TEXT NOT NULL,
    seats        BIGINT NOT NULL CHECK (seats > 0),
    seats_sold   BIGINT NOT NULL DEFAULT 0 CHECK (seats_sold >= 0),
    PRIMARY KEY (product_id, date),
    CHECK (seats_sold <= seats)
);

CREATE TABLE pavilion_featured_products (
    pavilion_id  TEXT NOT NULL REFERENCES pavilions (id),
    product_id   TEXT NOT NULL REFERENCES products (id),
    position     BIGINT NOT NULL,
    PRIMARY KEY (pavilion_id, product_id)
);
