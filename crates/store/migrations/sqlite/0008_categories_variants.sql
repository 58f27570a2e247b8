-- The category tree (each node names its parent; slugs are stable addresses and never change)
-- and per-variant stock, which like the product's stock the database keeps from going negative.
CREATE TABLE categories (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    parent_id   TEXT REFERENCES categories (id),
    names       TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE INDEX categories_parent ON categories (parent_id, position);

ALTER TABLE products ADD COLUMN category TEXT REFERENCES categories (slug);
CREATE INDEX products_category ON products (category);

CREATE TABLE product_variants (
    product_id  TEXT NOT NULL REFERENCES products (id),
    sku         TEXT NOT NULL,
    stock       INTEGER CHECK (stock IS NULL OR stock >= 0),
    PRIMARY KEY (product_id, sku)
);
