-- Cross-border retail checkout. What protects money and stock is enforced here, so that it holds
-- across server processes sharing one database: stock and seats are taken by conditional updates
-- against the CHECKs of 0006/0008; a person's yearly cross-border amount cannot pass its limit;
-- an order has at most one live payment; refunds never pass captures; an idempotency key is
-- used once per caller.

-- Carts belong to a signed-in user or to whoever holds the cart's token (kept as a hash).
CREATE TABLE carts (
    id              TEXT PRIMARY KEY,
    owner_user_id   TEXT REFERENCES users (id),
    token_hash      TEXT NOT NULL UNIQUE,
    destination     TEXT NOT NULL,
    currency        TEXT NOT NULL,
    checked_out_at  TEXT,
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE cart_lines (
    cart_id         TEXT NOT NULL REFERENCES carts (id),
    product_id      TEXT NOT NULL REFERENCES products (id),
    -- '' when the product has no variants / no departures (part of the key).
    variant_sku     TEXT NOT NULL DEFAULT '',
    departure_date  TEXT NOT NULL DEFAULT '',
    quantity        BIGINT NOT NULL CHECK (quantity > 0 AND quantity <= 9999),
    added_at        TEXT NOT NULL,
    PRIMARY KEY (cart_id, product_id, variant_sku, departure_date)
);

CREATE TABLE orders (
    id                  TEXT PRIMARY KEY,
    cart_id             TEXT REFERENCES carts (id),
    quote_id            TEXT REFERENCES quotes (id),
    buyer_user_id       TEXT REFERENCES users (id),
    -- Guests reach their order with its token (kept as a hash).
    token_hash          TEXT NOT NULL UNIQUE,
    buyer_name          TEXT NOT NULL,
    buyer_email         TEXT NOT NULL,
    ship_to             TEXT NOT NULL,
    destination         TEXT NOT NULL,
    currency            TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending_payment', 'authorised', 'paid', 'shipped', 'delivered', 'cancelled', 'expired', 'refunded')),
    regime              TEXT NOT NULL,
    goods_minor         BIGINT NOT NULL CHECK (goods_minor >= 0),
    shipping_minor      BIGINT NOT NULL CHECK (shipping_minor >= 0),
    tax_minor           BIGINT NOT NULL CHECK (tax_minor >= 0),
    total_minor         BIGINT NOT NULL CHECK (total_minor >= 0),
    captured_minor      BIGINT NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
    refunded_minor      BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    -- The person whose cross-border yearly amount this order counts against.
    person_hash         TEXT,
    person_last4        TEXT,
    limit_year          BIGINT,
    limit_minor         BIGINT,
    expires_at          TEXT NOT NULL,
    version             BIGINT NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    CHECK (captured_minor <= total_minor),
    CHECK (refunded_minor <= captured_minor)
);
CREATE INDEX orders_buyer ON orders (buyer_user_id, id);
CREATE INDEX orders_expiry ON orders (status, expires_at);

CREATE TABLE order_lines (
    order_id        TEXT NOT NULL REFERENCES orders (id),
    line_no         BIGINT NOT NULL,
    product_id      TEXT NOT NULL REFERENCES products (id),
    seller_id       TEXT NOT NULL REFERENCES organisations (id),
    variant_sku     TEXT NOT NULL DEFAULT '',
    departure_date  TEXT NOT NULL DEFAULT '',
    quantity        BIGINT NOT NULL CHECK (quantity > 0),
    title           TEXT NOT NULL,
    hs              TEXT NOT NULL,
    unit_price_minor BIGINT NOT NULL CHECK (unit_price_minor >= 0),
    -- What the buyer pays for the line: goods, its share of freight and insurance, its taxes.
    amount_minor    BIGINT NOT NULL CHECK (amount_minor >= 0),
    tax_minor       BIGINT NOT NULL CHECK (tax_minor >= 0),
    refunded_minor  BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    PRIMARY KEY (order_id, line_no),
    CHECK (refunded_minor <= amount_minor)
);
CREATE INDEX order_lines_seller ON order_lines (seller_id, order_id);

CREATE TABLE order_events (
    id           TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL REFERENCES orders (id),
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    note         TEXT NOT NULL,
    actor        TEXT,
    at           TEXT NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id);

-- A person's cross-border retail purchases in a calendar year, in the regime's currency.
CREATE TABLE person_limits (
    person_hash  TEXT NOT NULL,
    year         BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    used_minor   BIGINT NOT NULL CHECK (used_minor >= 0),
    limit_minor  BIGINT NOT NULL,
    PRIMARY KEY (person_hash, year),
    CHECK (used_minor <= limit_minor)
);

-- A request with an Idempotency-Key is done once per caller; its answer is kept for retries.
CREATE TABLE idempotency_keys (
    scope          TEXT NOT NULL,
    idem_key       TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    status_code    BIGINT NOT NULL,
    response_body  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE payments (
    id             TEXT PRIMARY KEY,
    order_id       TEXT NOT NULL REFERENCES orders (id),
    provider       TEXT NOT NULL,
    provider_ref   TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('authorised', 'captured', 'voided', 'failed')),
    amount_minor   BIGINT NOT NULL CHECK (amount_minor > 0),
    currency       TEXT NOT NULL,
    captured_minor BIGINT NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
    refunded_minor BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    failure        TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (provider, provider_ref),
    CHECK (captured_minor <= amount_minor),
    CHECK (refunded_minor <= captured_minor)
);
-- No double charge: one live (authorised or captured) payment per order.
CREATE UNIQUE INDEX payments_one_live ON payments (order_id) WHERE status IN ('authorised', 'captured');

CREATE TABLE refunds (
    id            TEXT PRIMARY KEY,
    order_id      TEXT NOT NULL REFERENCES orders (id),
    payment_id    TEXT NOT NULL REFERENCES payments (id),
    line_no       BIGINT NOT NULL,
    amount_minor  BIGINT NOT NULL CHECK (amount_minor > 0),
    reason        TEXT NOT NULL,
    -- The provider's reference for the refund, once the provider has taken it (`sent_at`). A
    -- refund is recorded here first (the CHECKs above guard the amounts), then sent; one not yet
    -- sent is retried in the background.
    provider_ref  TEXT,
    sent_at       TEXT,
    created_by    TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_id);
CREATE INDEX refunds_unsent ON refunds (sent_at, created_at);

-- Webhook events a provider sent and the platform applied, each once.
CREATE TABLE payment_events (
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    payment_id   TEXT NOT NULL REFERENCES payments (id),
    kind         TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX payment_events_payment ON payment_events (payment_id);

-- Each seller ships their own lines of an order, in one shipment.
CREATE TABLE shipments (
    id            TEXT PRIMARY KEY,
    order_id      TEXT NOT NULL REFERENCES orders (id),
    seller_id     TEXT NOT NULL REFERENCES organisations (id),
    carrier       TEXT NOT NULL,
    waybill       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('in_transit', 'delivered')),
    created_by    TEXT,
    created_at    TEXT NOT NULL,
    delivered_at  TEXT,
    UNIQUE (carrier, waybill),
    UNIQUE (order_id, seller_id)
);

CREATE TABLE tracking_events (
    id           TEXT PRIMARY KEY,
    shipment_id  TEXT NOT NULL REFERENCES shipments (id),
    at           TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('in_transit', 'out_for_delivery', 'delivered', 'exception')),
    location     TEXT NOT NULL,
    note         TEXT NOT NULL
);
CREATE INDEX tracking_events_shipment ON tracking_events (shipment_id, at);

-- The sandbox payment provider's own books (it is a sandbox: no money moves anywhere), and the
-- webhooks it owes the platform.
CREATE TABLE sandbox_payments (
    id             TEXT PRIMARY KEY,
    -- The platform's reference for the request that made it: the same request twice makes one.
    request_ref    TEXT NOT NULL UNIQUE,
    merchant_ref   TEXT NOT NULL,
    method         TEXT NOT NULL,
    decline_reason TEXT,
    amount_minor   BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    status         TEXT NOT NULL,
    captured_minor BIGINT NOT NULL DEFAULT 0,
    refunded_minor BIGINT NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE sandbox_webhooks (
    id            TEXT PRIMARY KEY,
    payment_id    TEXT NOT NULL REFERENCES sandbox_payments (id),
    event         TEXT NOT NULL,
    body          TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    delivered_at  TEXT
);
CREATE INDEX sandbox_webhooks_due ON sandbox_webhooks (delivered_at, due_at);

CREATE TABLE sandbox_refunds (
    id            TEXT PRIMARY KEY,
    payment_id    TEXT NOT NULL REFERENCES sandbox_payments (id),
    request_ref   TEXT NOT NULL UNIQUE,
    amount_minor  BIGINT NOT NULL CHECK (amount_minor > 0),
    created_at    TEXT NOT NULL
);

-- Secrets the platform makes for itself once and every process shares: keys for order tokens,
-- for the keyed hash of national IDs and for signing the sandbox's webhooks.
CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
