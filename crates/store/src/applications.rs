//! Exporters' applications to programmes, the officers' decisions on them, and the membership
//! invoices that approval and renewal issue.
//!
//! An approval is one transaction: the status change, its history entry, the first year's
//! invoice split between seller and agency (spending the sponsorship budget, which the database
//! caps), and the launch of any pavilion whose threshold it crosses.

use crate::audit::{self, AuditContext, Change};
use crate::membership::{plan_in, promotions_of};
use crate::pavilions::{Pavilion, launch_if_due, recount_approved};
use crate::programmes::programme_in;
use crate::sql::{self, Conn, row_struct};
use crate::values::{date_text, minor, money, parse_date, uuid};
use crate::{Backend, Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::Money;
use pavilion_domain::programmes::{ApplicationStatus, Channel, Payer, split_membership_fee};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// e.g. `registered_packhouse`, `orchard_code`, `phytosanitary`.
    pub kind: String,
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Application {
    pub id: Uuid,
    pub programme_id: Uuid,
    pub seller_id: Uuid,
    pub plan_id: Uuid,
    pub status: ApplicationStatus,
    pub registration_number: String,
    pub address: String,
    pub categories: Vec<String>,
    pub certificates: Vec<Certificate>,
    pub channels: Vec<Channel>,
    pub approved_on: Option<Date>,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewApplication {
    pub programme_id: Uuid,
    pub seller_id: Uuid,
    pub plan_id: Uuid,
    pub registration_number: String,
    pub address: String,
    pub categories: Vec<String>,
    pub certificates: Vec<Certificate>,
    pub channels: Vec<Channel>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationEvent {
    pub from_status: Option<ApplicationStatus>,
    pub to_status: ApplicationStatus,
    pub reason: String,
    pub actor_user_id: Option<Uuid>,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    pub payer: Payer,
    pub payer_org_id: Uuid,
    pub amount: Money,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invoice {
    pub id: Uuid,
    pub application_id: Uuid,
    pub seller_id: Uuid,
    pub plan_id: Uuid,
    pub period_start: Date,
    pub period_end: Date,
    pub list_fee: Money,
    pub discount: Money,
    pub discount_rule: Option<String>,
    pub total: Money,
    /// The agency's budget ran short, so the seller pays more than the sponsorship promised.
    pub budget_exhausted: bool,
    pub lines: Vec<InvoiceLine>,
    pub issued_at: Timestamp,
}

/// What a decision on an application brought about.
#[derive(Debug, Clone)]
pub struct Decision {
    pub application: Application,
    pub invoice: Option<Invoice>,
    pub launched: Vec<Pavilion>,
}

row_struct! {
    struct ApplicationRow {
        id: String,
        programme_id: String,
        seller_id: String,
        plan_id: String,
        status: String,
        registration_number: String,
        address: String,
        categories: String,
        certificates: String,
        approved_on: Option<String>,
        version: i64,
        created_at: String,
        updated_at: String,
    }
}

const T: &str = "seller_applications";
const COLUMNS: &str = "id, programme_id, seller_id, plan_id, status, registration_number, address, \
     categories, certificates, approved_on, version, created_at, updated_at";

fn bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(T, e)
}

async fn hydrate(tx: &mut Conn, r: ApplicationRow) -> StoreResult<Application> {
    let channels: Vec<(String,)> = sql::query_as(
        "SELECT channel FROM application_channels WHERE application_id = $1 ORDER BY channel",
    )
    .bind(&r.id)
    .fetch_all(tx)
    .await?;
    Ok(Application {
        id: uuid(T, &r.id)?,
        programme_id: uuid(T, &r.programme_id)?,
        seller_id: uuid(T, &r.seller_id)?,
        plan_id: uuid(T, &r.plan_id)?,
        status: ApplicationStatus::parse(&r.status).ok_or_else(|| bad(&r.status))?,
        registration_number: r.registration_number,
        address: r.address,
        categories: serde_json::from_str(&r.categories).map_err(bad)?,
        certificates: serde_json::from_str(&r.certificates).map_err(bad)?,
        channels: channels
            .into_iter()
            .map(|(c,)| Channel::parse(&c).ok_or_else(|| bad(&c)))
            .collect::<StoreResult<_>>()?,
        approved_on: r.approved_on.map(|d| parse_date(T, &d)).transpose()?,
        version: r.version,
        created_at: Timestamp::from_stored(&r.created_at).map_err(bad)?,
        updated_at: Timestamp::from_stored(&r.updated_at).map_err(bad)?,
    })
}

/// Reads an application in a write transaction, locking its row on PostgreSQL so that
/// decisions on it queue up (SQLite's write transactions are already exclusive).
async fn application_in(tx: &mut Conn, backend: Backend, id: Uuid) -> StoreResult<Application> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM seller_applications WHERE id = $1{lock}");
    let row: Option<ApplicationRow> = sql::query_as(&sql)
        .bind(id.to_string())
        .fetch_optional(tx)
        .await?;
    hydrate(
        tx,
        row.ok_or(StoreError::NotFound {
            entity: "application",
        })?,
    )
    .await
}

/// The last day of a membership year that starts on `start`.
fn year_end(start: Date) -> Date {
    // A year from 29 February runs to 28 February: the anniversary is taken as 1 March.
    let next = start
        .replace_year(start.year() + 1)
        .or_else(|_| Date::from_calendar_date(start.year() + 1, time::Month::March, 1))
        .unwrap_or(start);
    next.previous_day().unwrap_or(next)
}

/// Issues the membership invoice for the year starting `period_start`, split between the seller
/// and the programme's sponsoring agency, and records the agency's spend against its budget.
async fn issue_invoice(
    tx: &mut Conn,
    backend: Backend,
    ctx: &AuditContext,
    application: &Application,
    period_start: Date,
) -> StoreResult<Invoice> {
    let programme = programme_in(tx, backend, application.programme_id, true).await?;
    let plan = plan_in(tx, application.plan_id).await?;
    let promotions: Vec<_> = promotions_of(tx, plan.id)
        .await?
        .iter()
        .map(|p| p.rule())
        .collect();
    let sponsorship = programme.sponsorship.as_ref().map(|s| s.rule());
    let split = split_membership_fee(
        plan.annual_fee,
        &promotions,
        period_start,
        sponsorship.as_ref(),
    )
    .map_err(|e| StoreError::Rule {
        field: "sponsorship",
        detail: e.to_string(),
    })?;
    let currency = plan.annual_fee.currency();
    let invoice = Invoice {
        id: Uuid::now_v7(),
        application_id: application.id,
        seller_id: application.seller_id,
        plan_id: plan.id,
        period_start,
        period_end: year_end(period_start),
        list_fee: split.list_fee,
        discount: split
            .discount
            .as_ref()
            .map_or(Money::zero(currency), |(_, d)| *d),
        discount_rule: split.discount.as_ref().map(|(rule, _)| rule.clone()),
        total: split.discounted_fee,
        budget_exhausted: split.budget_exhausted,
        lines: split
            .lines
            .iter()
            .map(|l| InvoiceLine {
                payer: l.payer,
                payer_org_id: match l.payer {
                    Payer::Seller => application.seller_id,
                    Payer::Agency => programme.agency_id,
                },
                amount: l.amount,
                rule: l.rule.clone(),
            })
            .collect(),
        issued_at: Timestamp::now(),
    };
    sql::query(
        "INSERT INTO invoices (id, application_id, seller_id, plan_id, period_start, period_end, currency, \
         list_fee_minor, discount_minor, total_minor, discount_rule, budget_exhausted, issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(invoice.id.to_string())
    .bind(invoice.application_id.to_string())
    .bind(invoice.seller_id.to_string())
    .bind(invoice.plan_id.to_string())
    .bind(date_text(invoice.period_start))
    .bind(date_text(invoice.period_end))
    .bind(currency.code())
    .bind(minor(invoice.list_fee)?)
    .bind(minor(invoice.discount)?)
    .bind(minor(invoice.total)?)
    .bind(invoice.discount_rule.as_deref())
    .bind(i64::from(invoice.budget_exhausted))
    .bind(invoice.issued_at.to_stored())
    .execute(tx)
    .await
    .map_err(|e| {
        // One invoice per application and period.
        if e.is_unique_violation() {
            StoreError::InvalidState {
                detail: format!(
                    "the membership invoice for the year from {period_start} is already issued"
                ),
            }
        } else {
            e
        }
    })?;
    for (i, line) in invoice.lines.iter().enumerate() {
        sql::query(
            "INSERT INTO invoice_lines (invoice_id, position, payer, payer_org_id, amount_minor, rule) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(invoice.id.to_string())
        .bind(i64::try_from(i).unwrap_or(i64::MAX))
        .bind(match line.payer {
            Payer::Seller => "seller",
            Payer::Agency => "agency",
        })
        .bind(line.payer_org_id.to_string())
        .bind(minor(line.amount)?)
        .bind(&line.rule)
        .execute(tx)
        .await?;
    }
    if !split.agency_share.is_zero() {
        // The CHECK on sponsorships refuses spending past the budget, whatever process tries.
        sql::query(
            "UPDATE sponsorships SET spent_minor = spent_minor + $1, updated_at = $2 WHERE programme_id = $3",
        )
        .bind(minor(split.agency_share)?)
        .bind(Timestamp::now().to_stored())
        .bind(programme.id.to_string())
        .execute(tx)
        .await?;
    }
    audit::record(
        tx,
        ctx,
        Change::created("invoice.issue", "invoice", invoice.id.to_string(), &invoice),
    )
    .await?;
    Ok(invoice)
}

row_struct! {
    struct InvoiceRow {
        id: String,
        application_id: String,
        seller_id: String,
        plan_id: String,
        period_start: String,
        period_end: String,
        currency: String,
        list_fee_minor: i64,
        discount_minor: i64,
        total_minor: i64,
        discount_rule: Option<String>,
        budget_exhausted: i64,
        issued_at: String,
    }
}

row_struct! {
    struct InvoiceLineRow {
        payer: String,
        payer_org_id: String,
        amount_minor: i64,
        rule: String,
    }
}

row_struct! {
    struct EventRow {
        from_status: Option<String>,
        to_status: String,
        reason: String,
        actor_user_id: Option<String>,
        at: String,
    }
}

impl Store {
    pub async fn apply(
        &self,
        ctx: &AuditContext,
        new: &NewApplication,
    ) -> StoreResult<Application> {
        let state = (ctx.clone(), self.backend(), new.clone());
        self.write(state, |tx, (ctx, backend, new)| {
            Box::pin(apply_in(tx, ctx, *backend, new))
        })
        .await
    }

    pub async fn application(&self, id: Uuid) -> StoreResult<Application> {
        let mut tx = self.snapshot().await?;
        let sql = format!("SELECT {COLUMNS} FROM seller_applications WHERE id = $1");
        let row: Option<ApplicationRow> = sql::query_as(&sql)
            .bind(id.to_string())
            .fetch_optional(&mut tx)
            .await?;
        let a = hydrate(
            &mut tx,
            row.ok_or(StoreError::NotFound {
                entity: "application",
            })?,
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Applications to one programme, or one seller's, oldest first.
    pub async fn list_applications(
        &self,
        programme_id: Option<Uuid>,
        seller_id: Option<Uuid>,
    ) -> StoreResult<Vec<Application>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM seller_applications WHERE ($1 IS NULL OR programme_id = $1) \
             AND ($2 IS NULL OR seller_id = $2) ORDER BY id"
        );
        let mut tx = self.snapshot().await?;
        let rows: Vec<ApplicationRow> = sql::query_as(&sql)
            .bind(programme_id.map(|u| u.to_string()))
            .bind(seller_id.map(|u| u.to_string()))
            .fetch_all(&mut tx)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(hydrate(&mut tx, row).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn application_history(&self, id: Uuid) -> StoreResult<Vec<ApplicationEvent>> {
        let rows: Vec<EventRow> = sql::query_as(
            "SELECT from_status, to_status, reason, actor_user_id, at FROM application_events \
             WHERE application_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&mut self.reader().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ApplicationEvent {
                    from_status: r
                        .from_status
                        .map(|s| ApplicationStatus::parse(&s).ok_or_else(|| bad(&s)))
                        .transpose()?,
                    to_status: ApplicationStatus::parse(&r.to_status)
                        .ok_or_else(|| bad(&r.to_status))?,
                    reason: r.reason,
                    actor_user_id: r.actor_user_id.map(|a| uuid(T, &a)).transpose()?,
                    at: Timestamp::from_stored(&r.at).map_err(bad)?,
                })
            })
            .collect()
    }

    /// Moves an application to `to` for `reason`. The first approval issues the first year's
    /// invoice and may launch pavilions, all in the same transaction.
    pub async fn decide_application(
        &self,
        ctx: &AuditContext,
        id: Uuid,
        to: ApplicationStatus,
        reason: &str,
        today: Date,
    ) -> StoreResult<Decision> {
        let state = (
            ctx.clone(),
            self.backend(),
            (id, to, today),
            reason.to_owned(),
        );
        self.write(state, |tx, (ctx, backend, (id, to, today), reason)| {
            Box::pin(decide_in(tx, ctx, *backend, *id, *to, reason, *today))
        })
        .await
    }

    /// Issues the next membership year's invoice for an approved exporter.
    pub async fn renew_membership(
        &self,
        ctx: &AuditContext,
        application_id: Uuid,
    ) -> StoreResult<Invoice> {
        let state = (ctx.clone(), self.backend(), application_id);
        self.write(state, |tx, (ctx, backend, application_id)| {
            Box::pin(renew_in(tx, ctx, *backend, *application_id))
        })
        .await
    }

    /// A seller's invoices, newest period first.
    pub async fn invoices_of(&self, seller_id: Uuid) -> StoreResult<Vec<Invoice>> {
        let mut reader = self.reader().await?;
        let rows: Vec<InvoiceRow> = sql::query_as(
            "SELECT id, application_id, seller_id, plan_id, period_start, period_end, currency, list_fee_minor, \
             discount_minor, total_minor, discount_rule, budget_exhausted, issued_at FROM invoices \
             WHERE seller_id = $1 ORDER BY period_start DESC, id",
        )
        .bind(seller_id.to_string())
        .fetch_all(&mut reader)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            const I: &str = "invoices";
            let lines: Vec<InvoiceLineRow> = sql::query_as(
                "SELECT payer, payer_org_id, amount_minor, rule FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
            )
            .bind(&r.id)
            .fetch_all(&mut reader)
            .await?;
            out.push(Invoice {
                id: uuid(I, &r.id)?,
                application_id: uuid(I, &r.application_id)?,
                seller_id: uuid(I, &r.seller_id)?,
                plan_id: uuid(I, &r.plan_id)?,
                period_start: parse_date(I, &r.period_start)?,
                period_end: parse_date(I, &r.period_end)?,
                list_fee: money(I, r.list_fee_minor, &r.currency)?,
                discount: money(I, r.discount_minor, &r.currency)?,
                discount_rule: r.discount_rule,
                total: money(I, r.total_minor, &r.currency)?,
                budget_exhausted: r.budget_exhausted != 0,
                lines: lines
                    .into_iter()
                    .map(|l| {
                        Ok(InvoiceLine {
                            payer: if l.payer == "agency" {
                                Payer::Agency
                            } else {
                                Payer::Seller
                            },
                            payer_org_id: uuid(I, &l.payer_org_id)?,
                            amount: money(I, l.amount_minor, &r.currency)?,
                            rule: l.rule,
                        })
                    })
                    .collect::<StoreResult<_>>()?,
                issued_at: Timestamp::from_stored(&r.issued_at).map_err(bad)?,
            });
        }
        Ok(out)
    }
}

/// Submits an application with its channels and first history entry (see [`Store::apply`]).
async fn apply_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    backend: Backend,
    new: &NewApplication,
) -> StoreResult<Application> {
    let id = Uuid::now_v7();
    let now = Timestamp::now().to_stored();
    sql::query(
        "INSERT INTO seller_applications (id, programme_id, seller_id, plan_id, status, registration_number, \
         address, categories, certificates, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'applied', $5, $6, $7, $8, 1, $9, $9)",
    )
    .bind(id.to_string())
    .bind(new.programme_id.to_string())
    .bind(new.seller_id.to_string())
    .bind(new.plan_id.to_string())
    .bind(&new.registration_number)
    .bind(&new.address)
    .bind(serde_json::to_string(&new.categories).map_err(bad)?)
    .bind(serde_json::to_string(&new.certificates).map_err(bad)?)
    .bind(now)
    .execute(tx)
    .await
    .map_err(StoreError::unique_as("programme_id"))?;
    for channel in &new.channels {
        sql::query("INSERT INTO application_channels (application_id, channel) VALUES ($1, $2)")
            .bind(id.to_string())
            .bind(channel.as_str())
            .execute(tx)
            .await
            .map_err(StoreError::unique_as("channels"))?;
    }
    record_event(
        tx,
        ctx,
        id,
        None,
        ApplicationStatus::Applied,
        "application submitted",
    )
    .await?;
    let application = application_in(tx, backend, id).await?;
    audit::record(
        tx,
        ctx,
        Change::created(
            "application.submit",
            "application",
            id.to_string(),
            &application,
        ),
    )
    .await?;
    Ok(application)
}

/// Moves an application under its lock (see [`Store::decide_application`]).
async fn decide_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    backend: Backend,
    id: Uuid,
    to: ApplicationStatus,
    reason: &str,
    today: Date,
) -> StoreResult<Decision> {
    let before = application_in(tx, backend, id).await?;
    before
        .status
        .transition(to)
        .map_err(|e| StoreError::InvalidState {
            detail: e.to_string(),
        })?;
    let first_approval = to == ApplicationStatus::Approved && before.approved_on.is_none();
    sql::query(
        "UPDATE seller_applications SET status = $1, approved_on = COALESCE(approved_on, $2), \
         version = version + 1, updated_at = $3 WHERE id = $4 AND version = $5",
    )
    .bind(to.as_str())
    .bind(first_approval.then(|| date_text(today)))
    .bind(Timestamp::now().to_stored())
    .bind(id.to_string())
    .bind(before.version)
    .execute(tx)
    .await?;
    record_event(tx, ctx, id, Some(before.status), to, reason).await?;
    let invoice = if first_approval {
        Some(issue_invoice(tx, backend, ctx, &before, today).await?)
    } else {
        None
    };
    let mut launched = Vec::new();
    let approval_changed =
        (to == ApplicationStatus::Approved) != (before.status == ApplicationStatus::Approved);
    if approval_changed {
        let seller = crate::accounts::organisation_in(tx, before.seller_id).await?;
        // Before any launch, which locks some of the same pavilion rows: one lock order.
        recount_approved(tx, backend, seller.country).await?;
        if to == ApplicationStatus::Approved {
            for channel in &before.channels {
                if let Some(p) = launch_if_due(tx, backend, ctx, seller.country, *channel).await? {
                    launched.push(p);
                }
            }
        }
    }
    if approval_changed {
        crate::events::publish(
            tx,
            crate::events::SELLER_LISTING_CHANGED,
            "organisation",
            &before.seller_id.to_string(),
            &serde_json::json!({"status": to.as_str()}),
        )
        .await?;
    }
    let application = application_in(tx, backend, id).await?;
    audit::record(
        tx,
        ctx,
        Change {
            action: "application.decide",
            entity_type: "application",
            entity_id: id.to_string(),
            before: Some(&before),
            after: Some(&serde_json::json!({"status": to.as_str(), "reason": reason})),
        },
    )
    .await?;
    Ok(Decision {
        application,
        invoice,
        launched,
    })
}

/// Issues the year after the last invoiced one (see [`Store::renew_membership`]).
async fn renew_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    backend: Backend,
    application_id: Uuid,
) -> StoreResult<Invoice> {
    let application = application_in(tx, backend, application_id).await?;
    if application.status != ApplicationStatus::Approved {
        return Err(StoreError::InvalidState {
            detail: format!(
                "only an approved exporter's membership renews; this one is {}",
                application.status
            ),
        });
    }
    let (last_end,): (Option<String>,) =
        sql::query_as("SELECT MAX(period_end) FROM invoices WHERE application_id = $1")
            .bind(application_id.to_string())
            .fetch_one(tx)
            .await?;
    let start = match last_end {
        Some(end) => parse_date("invoices", &end)?
            .next_day()
            .ok_or_else(|| bad("date overflow"))?,
        None => application
            .approved_on
            .ok_or_else(|| bad("approved without a date"))?,
    };
    issue_invoice(tx, backend, ctx, &application, start).await
}

async fn record_event(
    tx: &mut Conn,
    ctx: &AuditContext,
    application_id: Uuid,
    from: Option<ApplicationStatus>,
    to: ApplicationStatus,
    reason: &str,
) -> StoreResult<()> {
    sql::query(
        "INSERT INTO application_events (id, application_id, from_status, to_status, reason, actor_user_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(application_id.to_string())
    .bind(from.map(|s| s.as_str()))
    .bind(to.as_str())
    .bind(reason)
    .bind(ctx.actor_user_id.map(|u| u.to_string()))
    .bind(Timestamp::now().to_stored())
    .execute(tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::year_end;
    use time::macros::date;

    #[test]
    fn membership_years_end_the_day_before_the_anniversary() {
        assert_eq!(year_end(date!(2026 - 01 - 15)), date!(2027 - 01 - 14));
        assert_eq!(year_end(date!(2028 - 02 - 29)), date!(2029 - 02 - 28));
    }
}
