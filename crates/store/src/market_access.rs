//! The market-access registry.

use crate::audit::{self, AuditContext, Change};
use crate::sql::{self, Conn, row_struct};
use crate::values::{date_text, parse_date};
use crate::{Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::Country;
use pavilion_domain::market_access::{AccessRule, Verdict};

row_struct! {
    struct RuleRow {
        origin: String,
        destination: String,
        hs_prefix: String,
        status: String,
        allowed_from: Option<String>,
        requirements: String,
        source: String,
        confidence: String,
    }
}

const T: &str = "market_access_rules";

impl TryFrom<RuleRow> for AccessRule {
    type Error = StoreError;
    fn try_from(r: RuleRow) -> StoreResult<Self> {
        let bad = |e: &dyn std::fmt::Display| StoreError::corrupt(T, e);
        Ok(AccessRule {
            origin: r.origin.parse().map_err(|e| bad(&e))?,
            destination: r.destination.parse().map_err(|e| bad(&e))?,
            hs_prefix: r.hs_prefix.parse().map_err(|e| bad(&e))?,
            verdict: Verdict::parse(&r.status).ok_or_else(|| bad(&r.status))?,
            allowed_from: r.allowed_from.map(|d| parse_date(T, &d)).transpose()?,
            requirements: serde_json::from_str(&r.requirements).map_err(|e| bad(&e))?,
            source: r.source,
            confidence: r.confidence.chars().next().unwrap_or('L'),
        })
    }
}

impl Store {
    /// Adds or replaces rules (by origin, destination and prefix), all in one transaction.
    pub async fn upsert_access_rules(
        &self,
        ctx: &AuditContext,
        rules: &[AccessRule],
    ) -> StoreResult<usize> {
        self.write((ctx.clone(), rules.to_vec()), |tx, (ctx, rules)| {
            Box::pin(upsert_access_rules_in(tx, ctx, rules))
        })
        .await
    }

    /// The rules between two countries (all of them when either is `None`).
    pub async fn access_rules(
        &self,
        origin: Option<Country>,
        destination: Option<Country>,
    ) -> StoreResult<Vec<AccessRule>> {
        let rows: Vec<RuleRow> = sql::query_as(
            "SELECT origin, destination, hs_prefix, status, allowed_from, requirements, source, confidence \
             FROM market_access_rules WHERE ($1 IS NULL OR origin = $1) AND ($2 IS NULL OR destination = $2) \
             ORDER BY origin, destination, hs_prefix",
        )
        .bind(origin.map(|c| c.code().to_owned()))
        .bind(destination.map(|c| c.code().to_owned()))
        .fetch_all(&mut self.reader().await?)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn delete_access_rule(
        &self,
        ctx: &AuditContext,
        origin: Country,
        destination: Country,
        hs_prefix: &str,
    ) -> StoreResult<()> {
        let state = (ctx.clone(), origin, destination, hs_prefix.to_owned());
        self.write(state, |tx, (ctx, origin, destination, hs_prefix)| {
            Box::pin(delete_access_rule_in(
                tx,
                ctx,
                *origin,
                *destination,
                hs_prefix,
            ))
        })
        .await
    }
}

async fn upsert_access_rules_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    rules: &[AccessRule],
) -> StoreResult<usize> {
    let now = Timestamp::now().to_stored();
    for rule in rules {
        sql::query(
            "INSERT INTO market_access_rules (origin, destination, hs_prefix, status, allowed_from, requirements, \
             source, confidence, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (origin, destination, hs_prefix) DO UPDATE SET status = excluded.status, \
             allowed_from = excluded.allowed_from, requirements = excluded.requirements, \
             source = excluded.source, confidence = excluded.confidence, updated_at = excluded.updated_at",
        )
        .bind(rule.origin.code())
        .bind(rule.destination.code())
        .bind(rule.hs_prefix.digits())
        .bind(rule.verdict.as_str())
        .bind(rule.allowed_from.map(date_text))
        .bind(serde_json::to_string(&rule.requirements).map_err(|e| StoreError::corrupt(T, e))?)
        .bind(&rule.source)
        .bind(rule.confidence.to_string())
        .bind(&now)
        .execute(tx)
        .await?;
    }
    audit::record(
        tx,
        ctx,
        Change {
            action: "market_access.upsert",
            entity_type: "market_access_rules",
            entity_id: rules
                .first()
                .map(|r| format!("{}-{}-{}", r.origin, r.destination, r.hs_prefix.digits()))
                .unwrap_or_default(),
            before: None,
            after: Some(&rules),
        },
    )
    .await?;
    Ok(rules.len())
}

async fn delete_access_rule_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    origin: Country,
    destination: Country,
    hs_prefix: &str,
) -> StoreResult<()> {
    let deleted = sql::query(
        "DELETE FROM market_access_rules WHERE origin = $1 AND destination = $2 AND hs_prefix = $3",
    )
    .bind(origin.code())
    .bind(destination.code())
    .bind(hs_prefix)
    .execute(tx)
    .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            entity: "market-access rule",
        });
    }
    audit::record(
        tx,
        ctx,
        Change {
            action: "market_access.delete",
            entity_type: "market_access_rules",
            entity_id: format!("{origin}-{destination}-{hs_prefix}"),
            before: None,
            after: None,
        },
    )
    .await?;
    Ok(())
}
