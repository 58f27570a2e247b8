-- Accounts: organisations, users, API tokens, sessions, sign-in throttling, audit log.
-- Portable column types only (TEXT, BIGINT, BYTEA) shared with the SQLite schema: ids are UUIDv7 text, instants are
-- RFC 3339 UTC text with microseconds (sortable as text), flags are nullable instants.

CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('platform', 'agency', 'seller', 'business_buyer')),
    name        TEXT NOT NULL,
    country     TEXT NOT NULL CHECK (length(country) = 2),
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    email            TEXT NOT NULL UNIQUE,
    password_hash    TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'agency_officer', 'seller', 'buyer', 'consumer')),
    organisation_id  TEXT REFERENCES organisations (id),
    created_at       TEXT NOT NULL,
    -- consumers belong to no organisation; every other role belongs to exactly one
    CHECK ((role = 'consumer') = (organisation_id IS NULL))
);
CREATE INDEX users_organisation ON users (organisation_id);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    data         TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE sign_in_failures (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      TEXT NOT NULL,
    client_ip  TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (email, at);
CREATE INDEX sign_in_failures_ip ON sign_in_failures (client_ip, at);

CREATE TABLE audit_log (
    id             TEXT PRIMARY KEY,
    at             TEXT NOT NULL,
    actor_user_id  TEXT,
    action         TEXT NOT NULL,
    entity_type    TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    before_json    TEXT,
    after_json     TEXT,
    request_id     TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);
