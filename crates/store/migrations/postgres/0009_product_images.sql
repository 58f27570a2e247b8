-- Product images, kept in the database rather than on a disk so that every server process sharing
-- it can serve every image. `position` is a slot from 0 to 11 and unique per product: that is
-- what holds a product to at most 12 images (MAX_IMAGES_PER_PRODUCT) across processes. The
-- bytes were checked by the domain (type sniffed from them, dimensions read from the header).
CREATE TABLE product_images (
    id            TEXT PRIMARY KEY,
    product_id    TEXT NOT NULL REFERENCES products (id),
    position      BIGINT NOT NULL CHECK (position >= 0 AND position < 12),
    content_type  TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    width         BIGINT NOT NULL CHECK (width BETWEEN 1 AND 8000),
    height        BIGINT NOT NULL CHECK (height BETWEEN 1 AND 8000),
    byte_size     BIGINT NOT NULL CHECK (byte_size BETWEEN 1 AND 5242880),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    alt           TEXT,
    bytes         BYTEA NOT NULL,
    created_at    TEXT NOT NULL,
    CHECK (byte_size = length(bytes)),
    UNIQUE (product_id, position)
);
