-- Trade programmes: agency partnerships, memberships, exporter onboarding, invoices, pavilions,
-- training, and the outbox of domain events. Dates are 'YYYY-MM-DD' text; money is integer minor
-- units beside its ISO 4217 code; percentages and decimals are exact decimal text.

CREATE TABLE domain_events (
    id            TEXT PRIMARY KEY,
    at            TEXT NOT NULL,
    kind          TEXT NOT NULL,
    subject_type  TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    payload       TEXT NOT NULL
);
CREATE INDEX domain_events_subject ON domain_events (subject_type, subject_id);

CREATE TABLE programmes (
    id          TEXT PRIMARY KEY,
    agency_id   TEXT NOT NULL REFERENCES organisations (id),
    title       TEXT NOT NULL,
    signed_on   TEXT,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX programmes_agency ON programmes (agency_id);

CREATE TABLE programme_terms (
    id            TEXT PRIMARY KEY,
    programme_id  TEXT NOT NULL REFERENCES programmes (id),
    position      INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('initial', 'renewal', 'extension')),
    starts_on     TEXT NOT NULL,
    ends_on       TEXT NOT NULL,
    note          TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (programme_id, position),
    CHECK (ends_on >= starts_on)
);

CREATE TABLE programme_targets (
    id            TEXT PRIMARY KEY,
    programme_id  TEXT NOT NULL REFERENCES programmes (id),
    metric        TEXT NOT NULL CHECK (metric IN ('approved_exporters', 'trainees', 'trade_weight', 'trade_value')),
    target        TEXT NOT NULL,
    unit          TEXT NOT NULL,
    period        TEXT NOT NULL CHECK (period IN ('programme', 'year')),
    hs_prefix     TEXT,
    label         TEXT NOT NULL
);
CREATE INDEX programme_targets_programme ON programme_targets (programme_id);

CREATE TABLE membership_plans (
    id                TEXT PRIMARY KEY,
    tier              TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    annual_fee_minor  INTEGER NOT NULL CHECK (annual_fee_minor >= 0),
    currency          TEXT NOT NULL,
    listing_limit     INTEGER CHECK (listing_limit IS NULL OR listing_limit > 0),
    wholesale_access  INTEGER NOT NULL CHECK (wholesale_access IN (0, 1)),
    created_at        TEXT NOT NULL
);

CREATE TABLE promotions (
    id           TEXT PRIMARY KEY,
    plan_id      TEXT NOT NULL REFERENCES membership_plans (id),
    name         TEXT NOT NULL,
    percent_off  TEXT NOT NULL,
    starts_on    TEXT NOT NULL,
    ends_on      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    CHECK (ends_on >= starts_on)
);
CREATE INDEX promotions_plan ON promotions (plan_id);

-- The budget is enforced here: spending beyond it violates the CHECK, whichever process tries.
CREATE TABLE sponsorships (
    programme_id          TEXT PRIMARY KEY REFERENCES programmes (id),
    name                  TEXT NOT NULL,
    percent               TEXT NOT NULL,
    currency              TEXT NOT NULL,
    cap_per_seller_minor  INTEGER CHECK (cap_per_seller_minor IS NULL OR cap_per_seller_minor >= 0),
    budget_minor          INTEGER CHECK (budget_minor IS NULL OR budget_minor >= 0),
    spent_minor           INTEGER NOT NULL DEFAULT 0 CHECK (spent_minor >= 0),
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    CHECK (budget_minor IS NULL OR spent_minor <= budget_minor)
);

CREATE TABLE seller_applications (
    id                   TEXT PRIMARY KEY,
    programme_id         TEXT NOT NULL REFERENCES programmes (id),
    seller_id            TEXT NOT NULL REFERENCES organisations (id),
    plan_id              TEXT NOT NULL REFERENCES membership_plans (id),
    status               TEXT NOT NULL CHECK (status IN ('applied', 'verified', 'approved', 'suspended', 'rejected')),
    registration_number  TEXT NOT NULL,
    address              TEXT NOT NULL,
    categories           TEXT NOT NULL,
    certificates         TEXT NOT NULL,
    approved_on          TEXT,
    version              INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (programme_id, seller_id)
);
CREATE INDEX seller_applications_seller ON seller_applications (seller_id);

CREATE TABLE application_channels (
    application_id  TEXT NOT NULL REFERENCES seller_applications (id),
    channel         TEXT NOT NULL CHECK (channel IN ('wholesale', 'retail', 'travel')),
    PRIMARY KEY (application_id, channel)
);

CREATE TABLE application_events (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES seller_applications (id),
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    reason          TEXT NOT NULL,
    actor_user_id   TEXT,
    at              TEXT NOT NULL
);
CREATE INDEX application_events_application ON application_events (application_id);

-- One invoice per application and membership year: a retry cannot charge twice.
CREATE TABLE invoices (
    id                TEXT PRIMARY KEY,
    application_id    TEXT NOT NULL REFERENCES seller_applications (id),
    seller_id         TEXT NOT NULL REFERENCES organisations (id),
    plan_id           TEXT NOT NULL REFERENCES membership_plans (id),
    period_start      TEXT NOT NULL,
    period_end        TEXT NOT NULL,
    currency          TEXT NOT NULL,
    list_fee_minor    INTEGER NOT NULL,
    discount_minor    INTEGER NOT NULL,
    total_minor       INTEGER NOT NULL,
    discount_rule     TEXT,
    budget_exhausted  INTEGER NOT NULL CHECK (budget_exhausted IN (0, 1)),
    issued_at         TEXT NOT NULL,
    UNIQUE (application_id, period_start)
);
CREATE INDEX invoices_seller ON invoices (seller_id);

CREATE TABLE invoice_lines (
    invoice_id     TEXT NOT NULL REFERENCES invoices (id),
    position       INTEGER NOT NULL,
    payer          TEXT NOT NULL CHECK (payer IN ('seller', 'agency')),
    payer_org_id   TEXT NOT NULL REFERENCES organisations (id),
    amount_minor   INTEGER NOT NULL CHECK (amount_minor >= 0),
    rule           TEXT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

CREATE TABLE pavilions (
    id           TEXT PRIMARY KEY,
    country      TEXT NOT NULL,
    channel      TEXT NOT NULL CHECK (channel IN ('wholesale', 'retail', 'travel')),
    slug         TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    story        TEXT NOT NULL,
    threshold    INTEGER NOT NULL CHECK (threshold > 0),
    launched_at  TEXT,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (country, channel)
);

CREATE TABLE pavilion_featured_sellers (
    pavilion_id  TEXT NOT NULL REFERENCES pavilions (id),
    seller_id    TEXT NOT NULL REFERENCES organisations (id),
    position     INTEGER NOT NULL,
    PRIMARY KEY (pavilion_id, seller_id)
);

CREATE TABLE courses (
    id           TEXT PRIMARY KEY,
    agency_id    TEXT NOT NULL REFERENCES organisations (id),
    title        TEXT NOT NULL,
    description  TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

-- Seats are enforced here: `enrolled` can never pass `seats`.
CREATE TABLE cohorts (
    id            TEXT PRIMARY KEY,
    course_id     TEXT NOT NULL REFERENCES courses (id),
    programme_id  TEXT NOT NULL REFERENCES programmes (id),
    name          TEXT NOT NULL,
    starts_on     TEXT NOT NULL,
    ends_on       TEXT NOT NULL,
    seats         INTEGER NOT NULL CHECK (seats > 0),
    enrolled      INTEGER NOT NULL DEFAULT 0 CHECK (enrolled >= 0),
    created_at    TEXT NOT NULL,
    CHECK (enrolled <= seats),
    CHECK (ends_on >= starts_on)
);

CREATE TABLE enrollments (
    id                TEXT PRIMARY KEY,
    cohort_id         TEXT NOT NULL REFERENCES cohorts (id),
    participant_name  TEXT NOT NULL,
    participant_email TEXT NOT NULL,
    seller_id         TEXT REFERENCES organisations (id),
    status            TEXT NOT NULL CHECK (status IN ('enrolled', 'completed')),
    enrolled_at       TEXT NOT NULL,
    completed_at      TEXT,
    UNIQUE (cohort_id, participant_email)
);
