//! Membership plans and their promotions.

use crate::audit::{self, AuditContext, Change};
use crate::sql::{self, Conn, row_struct};
use crate::values::{date_text, minor, money, parse_date, uuid};
use crate::{Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::Money;
use pavilion_domain::programmes::{DateRange, Percent, Promotion};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MembershipPlan {
    pub id: Uuid,
    pub tier: String,
    pub name: String,
    pub annual_fee: Money,
    /// Most products a member may list; `None` for unlimited.
    pub listing_limit: Option<i64>,
    pub wholesale_access: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewPlan {
    pub tier: String,
    pub name: String,
    pub annual_fee: Money,
    pub listing_limit: Option<i64>,
    pub wholesale_access: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPromotion {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub name: String,
    pub percent_off: Percent,
    pub starts_on: time::Date,
    pub ends_on: time::Date,
}

impl StoredPromotion {
    pub fn rule(&self) -> Promotion {
        Promotion {
            name: self.name.clone(),
            percent_off: self.percent_off,
            window: DateRange {
                start: self.starts_on,
                end: self.ends_on,
            },
        }
    }
}

row_struct! {
    struct PlanRow {
        id: String,
        tier: String,
        name: String,
        annual_fee_minor: i64,
        currency: String,
        listing_limit: Option<i64>,
        wholesale_access: i64,
        created_at: String,
    }
}

impl TryFrom<PlanRow> for MembershipPlan {
    type Error = StoreError;
    fn try_from(r: PlanRow) -> StoreResult<Self> {
        const T: &str = "membership_plans";
        Ok(MembershipPlan {
            id: uuid(T, &r.id)?,
            tier: r.tier,
            name: r.name,
            annual_fee: money(T, r.annual_fee_minor, &r.currency)?,
            listing_limit: r.listing_limit,
            wholesale_access: r.wholesale_access != 0,
            created_at: Timestamp::from_stored(&r.created_at)
                .map_err(|e| StoreError::corrupt(T, e))?,
        })
    }
}

row_struct! {
    struct PromotionRow {
        id: String,
        plan_id: String,
        name: String,
        percent_off: String,
        starts_on: String,
        ends_on: String,
    }
}

impl TryFrom<PromotionRow> for StoredPromotion {
    type Error = StoreError;
    fn try_from(r: PromotionRow) -> StoreResult<Self> {
        const T: &str = "promotions";
        Ok(StoredPromotion {
            id: uuid(T, &r.id)?,
            plan_id: uuid(T, &r.plan_id)?,
            name: r.name,
            percent_off: Percent::parse(&r.percent_off).map_err(|e| StoreError::corrupt(T, e))?,
            starts_on: parse_date(T, &r.starts_on)?,
            ends_on: parse_date(T, &r.ends_on)?,
        })
    }
}

const PLAN_COLUMNS: &str =
    "id, tier, name, annual_fee_minor, currency, listing_limit, wholesale_access, created_at";

impl Store {
    pub async fn create_plan(
        &self,
        ctx: &AuditContext,
        new: &NewPlan,
    ) -> StoreResult<MembershipPlan> {
        let plan = MembershipPlan {
            id: Uuid::now_v7(),
            tier: new.tier.clone(),
            name: new.name.clone(),
            annual_fee: new.annual_fee,
            listing_limit: new.listing_limit,
            wholesale_access: new.wholesale_access,
            created_at: Timestamp::now(),
        };
        self.write((ctx.clone(), plan), |tx, (ctx, plan)| {
            Box::pin(insert_plan(tx, ctx, plan))
        })
        .await
    }

    pub async fn plans(&self) -> StoreResult<Vec<MembershipPlan>> {
        let sql =
            format!("SELECT {PLAN_COLUMNS} FROM membership_plans ORDER BY annual_fee_minor, tier");
        let rows: Vec<PlanRow> = sql::query_as(&sql)
            .fetch_all(&mut self.reader().await?)
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn plan(&self, id: Uuid) -> StoreResult<MembershipPlan> {
        plan_in(&mut self.reader().await?, id).await
    }

    pub async fn add_promotion(
        &self,
        ctx: &AuditContext,
        plan_id: Uuid,
        promotion: &Promotion,
    ) -> StoreResult<StoredPromotion> {
        let stored = StoredPromotion {
            id: Uuid::now_v7(),
            plan_id,
            name: promotion.name.clone(),
            percent_off: promotion.percent_off,
            starts_on: promotion.window.start,
            ends_on: promotion.window.end,
        };
        self.write((ctx.clone(), stored), |tx, (ctx, stored)| {
            Box::pin(insert_promotion(tx, ctx, stored))
        })
        .await
    }

    pub async fn promotions(&self, plan_id: Uuid) -> StoreResult<Vec<StoredPromotion>> {
        promotions_of(&mut self.reader().await?, plan_id).await
    }
}

/// Stores a new plan (see [`Store::create_plan`]); its tier is unique.
async fn insert_plan(
    tx: &mut Conn,
    ctx: &AuditContext,
    plan: &MembershipPlan,
) -> StoreResult<MembershipPlan> {
    sql::query(
        "INSERT INTO membership_plans (id, tier, name, annual_fee_minor, currency, listing_limit, \
         wholesale_access, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(plan.id.to_string())
    .bind(&plan.tier)
    .bind(&plan.name)
    .bind(minor(plan.annual_fee)?)
    .bind(plan.annual_fee.currency().code())
    .bind(plan.listing_limit)
    .bind(i64::from(plan.wholesale_access))
    .bind(plan.created_at.to_stored())
    .execute(tx)
    .await
    .map_err(StoreError::unique_as("tier"))?;
    audit::record(
        tx,
        ctx,
        Change::created(
            "membership_plan.create",
            "membership_plan",
            plan.id.to_string(),
            plan,
        ),
    )
    .await?;
    Ok(plan.clone())
}

/// Stores a promotion of an existing plan (see [`Store::add_promotion`]).
async fn insert_promotion(
    tx: &mut Conn,
    ctx: &AuditContext,
    stored: &StoredPromotion,
) -> StoreResult<StoredPromotion> {
    // An unknown plan is reported as not found, not as a foreign-key failure.
    plan_in(tx, stored.plan_id).await?;
    sql::query(
        "INSERT INTO promotions (id, plan_id, name, percent_off, starts_on, ends_on, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(stored.id.to_string())
    .bind(stored.plan_id.to_string())
    .bind(&stored.name)
    .bind(String::from(stored.percent_off))
    .bind(date_text(stored.starts_on))
    .bind(date_text(stored.ends_on))
    .bind(Timestamp::now().to_stored())
    .execute(tx)
    .await?;
    audit::record(
        tx,
        ctx,
        Change::created(
            "promotion.create",
            "membership_plan",
            stored.plan_id.to_string(),
            stored,
        ),
    )
    .await?;
    Ok(stored.clone())
}

pub(crate) async fn promotions_of(
    conn: &mut Conn,
    plan_id: Uuid,
) -> StoreResult<Vec<StoredPromotion>> {
    let rows: Vec<PromotionRow> = sql::query_as(
        "SELECT id, plan_id, name, percent_off, starts_on, ends_on FROM promotions \
         WHERE plan_id = $1 ORDER BY starts_on, id",
    )
    .bind(plan_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

pub(crate) async fn plan_in(conn: &mut Conn, id: Uuid) -> StoreResult<MembershipPlan> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM membership_plans WHERE id = $1");
    let row: Option<PlanRow> = sql::query_as(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.ok_or(StoreError::NotFound {
        entity: "membership plan",
    })?
    .try_into()
}
