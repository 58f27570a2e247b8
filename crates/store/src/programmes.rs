//! Programmes (agency partnerships): terms with renewals, targets, sponsorship.

use crate::audit::{self, AuditContext, Change};
use crate::sql::{self, Conn, row_struct};
use crate::values::{currency, date_text, minor, parse_date, uuid};
use crate::{Backend, Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::programmes::term::validate_terms;
use pavilion_domain::programmes::{DateRange, Metric, Percent, TargetPeriod, Term, TermKind};
use pavilion_domain::{Country, Money};
use rust_decimal::Decimal;
use serde::Serialize;
use time::Date;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub id: Uuid,
    pub metric: Metric,
    pub target: Decimal,
    pub unit: String,
    pub period: TargetPeriod,
    pub hs_prefix: Option<String>,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct NewTarget {
    pub metric: Metric,
    pub target: Decimal,
    pub unit: String,
    pub period: TargetPeriod,
    pub hs_prefix: Option<String>,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredTerm {
    pub kind: TermKind,
    pub starts_on: Date,
    pub ends_on: Date,
    pub note: Option<String>,
}

impl StoredTerm {
    pub fn term(&self) -> Term {
        Term {
            kind: self.kind,
            dates: DateRange {
                start: self.starts_on,
                end: self.ends_on,
            },
        }
    }
}

/// The agency's share of its exporters' membership fees under a programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SponsorshipTerms {
    pub name: String,
    pub percent: Percent,
    pub cap_per_seller: Option<Money>,
    pub budget: Option<Money>,
    /// What the agency has paid so far.
    pub spent: Money,
}

impl SponsorshipTerms {
    pub fn remaining(&self) -> Option<Money> {
        self.budget.and_then(|b| b.checked_sub(self.spent).ok())
    }

    pub fn rule(&self) -> pavilion_domain::programmes::Sponsorship {
        pavilion_domain::programmes::Sponsorship {
            name: self.name.clone(),
            percent: self.percent,
            cap_per_seller: self.cap_per_seller,
            budget_remaining: self.remaining(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Programme {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub country: Country,
    pub title: String,
    pub signed_on: Option<Date>,
    pub terms: Vec<StoredTerm>,
    pub targets: Vec<Target>,
    pub sponsorship: Option<SponsorshipTerms>,
    pub version: i64,
    pub created_at: Timestamp,
}

impl Programme {
    pub fn domain_terms(&self) -> Vec<Term> {
        self.terms.iter().map(StoredTerm::term).collect()
    }
}

/// Sponsorship terms as set by an officer; what was spent is kept across changes.
#[derive(Debug, Clone)]
pub struct NewSponsorship {
    pub name: String,
    pub percent: Percent,
    pub currency: pavilion_domain::Currency,
    pub cap_per_seller: Option<Money>,
    pub budget: Option<Money>,
}

#[derive(Debug, Clone)]
pub struct NewProgramme {
    pub agency_id: Uuid,
    pub title: String,
    pub signed_on: Option<Date>,
    pub initial_term: DateRange,
    pub targets: Vec<NewTarget>,
}

row_struct! {
    struct ProgrammeRow {
        id: String,
        agency_id: String,
        country: String,
        title: String,
        signed_on: Option<String>,
        version: i64,
        created_at: String,
    }
}

row_struct! {
    struct TermRow {
        kind: String,
        starts_on: String,
        ends_on: String,
        note: Option<String>,
    }
}

row_struct! {
    struct TargetRow {
        id: String,
        metric: String,
        target: String,
        unit: String,
        period: String,
        hs_prefix: Option<String>,
        label: String,
    }
}

row_struct! {
    struct SponsorshipRow {
        name: String,
        percent: String,
        currency: String,
        cap_per_seller_minor: Option<i64>,
        budget_minor: Option<i64>,
        spent_minor: i64,
    }
}

const T: &str = "programmes";

fn bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(T, e)
}

async fn load(tx: &mut Conn, row: ProgrammeRow) -> StoreResult<Programme> {
    let terms: Vec<TermRow> = sql::query_as(
        "SELECT kind, starts_on, ends_on, note FROM programme_terms WHERE programme_id = $1 ORDER BY position",
    )
    .bind(&row.id)
    .fetch_all(tx)
    .await?;
    let targets: Vec<TargetRow> = sql::query_as(
        "SELECT id, metric, target, unit, period, hs_prefix, label FROM programme_targets \
         WHERE programme_id = $1 ORDER BY id",
    )
    .bind(&row.id)
    .fetch_all(tx)
    .await?;
    let sponsorship: Option<SponsorshipRow> = sql::query_as(
        "SELECT name, percent, currency, cap_per_seller_minor, budget_minor, spent_minor \
         FROM sponsorships WHERE programme_id = $1",
    )
    .bind(&row.id)
    .fetch_optional(tx)
    .await?;
    Ok(Programme {
        id: uuid(T, &row.id)?,
        agency_id: uuid(T, &row.agency_id)?,
        country: row.country.parse().map_err(bad)?,
        title: row.title,
        signed_on: row.signed_on.map(|d| parse_date(T, &d)).transpose()?,
        terms: terms
            .into_iter()
            .map(|t| {
                Ok(StoredTerm {
                    kind: TermKind::parse(&t.kind).ok_or_else(|| bad(&t.kind))?,
                    starts_on: parse_date(T, &t.starts_on)?,
                    ends_on: parse_date(T, &t.ends_on)?,
                    note: t.note,
                })
            })
            .collect::<StoreResult<_>>()?,
        targets: targets
            .into_iter()
            .map(|t| {
                Ok(Target {
                    id: uuid(T, &t.id)?,
                    metric: Metric::parse(&t.metric).ok_or_else(|| bad(&t.metric))?,
                    target: t.target.parse().map_err(bad)?,
                    unit: t.unit,
                    period: TargetPeriod::parse(&t.period).ok_or_else(|| bad(&t.period))?,
                    hs_prefix: t.hs_prefix,
                    label: t.label,
                })
            })
            .collect::<StoreResult<_>>()?,
        sponsorship: sponsorship
            .map(|s| {
                let c = currency(T, &s.currency)?;
                Ok::<_, StoreError>(SponsorshipTerms {
                    name: s.name,
                    percent: Percent::parse(&s.percent).map_err(bad)?,
                    cap_per_seller: s.cap_per_seller_minor.map(|m| Money::from_minor(m, c)),
                    budget: s.budget_minor.map(|m| Money::from_minor(m, c)),
                    spent: Money::from_minor(s.spent_minor, c),
                })
            })
            .transpose()?,
        version: row.version,
        created_at: Timestamp::from_stored(&row.created_at).map_err(bad)?,
    })
}

const SELECT_PROGRAMME: &str = "SELECT p.id, p.agency_id, o.country, p.title, p.signed_on, p.version, \
     p.created_at FROM programmes p JOIN organisations o ON o.id = p.agency_id";

/// Reads a programme inside a transaction, locking its row on PostgreSQL so that concurrent
/// changes to it queue up (SQLite's write transactions are already exclusive).
pub(crate) async fn programme_in(
    tx: &mut Conn,
    backend: Backend,
    id: Uuid,
    lock: bool,
) -> StoreResult<Programme> {
    let lock_clause = if lock && backend == Backend::Postgres {
        " FOR UPDATE OF p"
    } else {
        ""
    };
    let sql = format!("{SELECT_PROGRAMME} WHERE p.id = $1{lock_clause}");
    let row: Option<ProgrammeRow> = sql::query_as(&sql)
        .bind(id.to_string())
        .fetch_optional(tx)
        .await?;
    load(
        tx,
        row.ok_or(StoreError::NotFound {
            entity: "programme",
        })?,
    )
    .await
}

async fn insert_term(
    tx: &mut Conn,
    programme_id: Uuid,
    position: usize,
    term: &StoredTerm,
) -> StoreResult<()> {
    sql::query(
        "INSERT INTO programme_terms (id, programme_id, position, kind, starts_on, ends_on, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(programme_id.to_string())
    .bind(i64::try_from(position).unwrap_or(i64::MAX))
    .bind(term.kind.as_str())
    .bind(date_text(term.starts_on))
    .bind(date_text(term.ends_on))
    .bind(term.note.as_deref())
    .bind(Timestamp::now().to_stored())
    .execute(tx)
    .await?;
    Ok(())
}

impl Store {
    pub async fn create_programme(
        &self,
        ctx: &AuditContext,
        new: &NewProgramme,
    ) -> StoreResult<Programme> {
        let state = (ctx.clone(), self.backend(), new.clone());
        self.write(state, |tx, (ctx, backend, new)| {
            Box::pin(create_programme_in(tx, ctx, *backend, new))
        })
        .await
    }

    pub async fn programme(&self, id: Uuid) -> StoreResult<Programme> {
        let mut tx = self.snapshot().await?;
        let p = programme_in(&mut tx, self.backend(), id, false).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Programmes, optionally of one country, oldest first.
    pub async fn list_programmes(&self, country: Option<Country>) -> StoreResult<Vec<Programme>> {
        let sql = format!("{SELECT_PROGRAMME} WHERE ($1 IS NULL OR o.country = $1) ORDER BY p.id");
        let mut tx = self.snapshot().await?;
        let rows: Vec<ProgrammeRow> = sql::query_as(&sql)
            .bind(country.map(|c| c.code().to_owned()))
            .fetch_all(&mut tx)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(load(&mut tx, row).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Adds a renewal or extension; the terms must still follow each other without overlap.
    pub async fn add_term(
        &self,
        ctx: &AuditContext,
        programme_id: Uuid,
        term: StoredTerm,
    ) -> StoreResult<Result<Programme, pavilion_domain::programmes::term::TermError>> {
        let state = (ctx.clone(), self.backend(), programme_id, term);
        self.write(state, |tx, (ctx, backend, programme_id, term)| {
            Box::pin(add_term_in(tx, ctx, *backend, *programme_id, term))
        })
        .await
    }

    /// Sets (or replaces) the programme's sponsorship, keeping what has been spent.
    pub async fn set_sponsorship(
        &self,
        ctx: &AuditContext,
        programme_id: Uuid,
        terms: &NewSponsorship,
    ) -> StoreResult<Programme> {
        let state = (ctx.clone(), self.backend(), programme_id, terms.clone());
        self.write(state, |tx, (ctx, backend, programme_id, terms)| {
            Box::pin(set_sponsorship_in(tx, ctx, *backend, *programme_id, terms))
        })
        .await
    }
}

/// Creates a programme with its initial term and targets (see [`Store::create_programme`]).
async fn create_programme_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    backend: Backend,
    new: &NewProgramme,
) -> StoreResult<Programme> {
    let id = Uuid::now_v7();
    let now = Timestamp::now().to_stored();
    sql::query(
        "INSERT INTO programmes (id, agency_id, title, signed_on, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 1, $5, $5)",
    )
    .bind(id.to_string())
    .bind(new.agency_id.to_string())
    .bind(&new.title)
    .bind(new.signed_on.map(date_text))
    .bind(now)
    .execute(tx)
    .await?;
    let initial = StoredTerm {
        kind: TermKind::Initial,
        starts_on: new.initial_term.start,
        ends_on: new.initial_term.end,
        note: None,
    };
    insert_term(tx, id, 0, &initial).await?;
    for t in &new.targets {
        sql::query(
            "INSERT INTO programme_targets (id, programme_id, metric, target, unit, period, hs_prefix, label) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(id.to_string())
        .bind(t.metric.as_str())
        .bind(t.target.to_string())
        .bind(&t.unit)
        .bind(t.period.as_str())
        .bind(t.hs_prefix.as_deref())
        .bind(&t.label)
        .execute(tx)
        .await?;
    }
    let programme = programme_in(tx, backend, id, false).await?;
    audit::record(
        tx,
        ctx,
        Change::created("programme.create", "programme", id.to_string(), &programme),
    )
    .await?;
    Ok(programme)
}

/// Adds a term under the programme's lock (see [`Store::add_term`]); terms that do not follow
/// each other are answered, with nothing written.
async fn add_term_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    backend: Backend,
    programme_id: Uuid,
    term: &StoredTerm,
) -> StoreResult<Result<Programme, pavilion_domain::programmes::term::TermError>> {
    let before = programme_in(tx, backend, programme_id, true).await?;
    let mut terms = before.domain_terms();
    terms.push(term.term());
    if let Err(e) = validate_terms(&terms) {
        return Ok(Err(e));
    }
    insert_term(tx, programme_id, before.terms.len(), term).await?;
    sql::query("UPDATE programmes SET version = version + 1, updated_at = $1 WHERE id = $2")
        .bind(Timestamp::now().to_stored())
        .bind(programme_id.to_string())
        .execute(tx)
        .await?;
    let after = programme_in(tx, backend, programme_id, false).await?;
    audit::record(
        tx,
        ctx,
        Change {
            action: "programme.add_term",
            entity_type: "programme",
            entity_id: programme_id.to_string(),
            before: Some(&before.terms),
            after: Some(&after.terms),
        },
    )
    .await?;
    Ok(Ok(after))
}

/// Upserts the sponsorship under the programme's lock (see [`Store::set_sponsorship`]).
async fn set_sponsorship_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    backend: Backend,
    programme_id: Uuid,
    terms: &NewSponsorship,
) -> StoreResult<Programme> {
    let before = programme_in(tx, backend, programme_id, true).await?;
    let now = Timestamp::now().to_stored();
    // A sponsorship keeps its currency: the conditional upsert changes nothing otherwise.
    let updated = sql::query(
        "INSERT INTO sponsorships (programme_id, name, percent, currency, cap_per_seller_minor, \
         budget_minor, spent_minor, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) \
         ON CONFLICT (programme_id) DO UPDATE SET name = excluded.name, percent = excluded.percent, \
         cap_per_seller_minor = excluded.cap_per_seller_minor, budget_minor = excluded.budget_minor, \
         updated_at = excluded.updated_at WHERE sponsorships.currency = excluded.currency",
    )
    .bind(programme_id.to_string())
    .bind(&terms.name)
    .bind(String::from(terms.percent))
    .bind(terms.currency.code())
    .bind(terms.cap_per_seller.map(minor).transpose()?)
    .bind(terms.budget.map(minor).transpose()?)
    .bind(now)
    .execute(tx)
    .await
    .map_err(|e| {
        // The CHECK refuses a budget below what was already spent.
        if e.is_check_violation() {
            StoreError::Conflict { field: "budget" }
        } else {
            e
        }
    })?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::Conflict { field: "currency" });
    }
    let after = programme_in(tx, backend, programme_id, false).await?;
    audit::record(
        tx,
        ctx,
        Change {
            action: "programme.set_sponsorship",
            entity_type: "programme",
            entity_id: programme_id.to_string(),
            before: Some(&before.sponsorship),
            after: Some(&after.sponsorship),
        },
    )
    .await?;
    Ok(after)
}
