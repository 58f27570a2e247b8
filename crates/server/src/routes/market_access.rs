//! The market-access registry: where each HS line may go, from when, under which requirements.

use crate::auth::{Admin, Caller};
use crate::extract::{ApiPath, ApiQuery, CsvBody, file_problem};
use crate::json::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::routes::programmes::today;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pavilion_domain::hs::HsPrefix;
use pavilion_domain::market_access::{
    AccessDecision, AccessRule, Verdict, decide, parse_rules_csv,
};
use pavilion_domain::{Country, HsCode};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RuleView {
    #[schema(value_type = String, example = "KH")]
    pub origin: Country,
    #[schema(value_type = String, example = "CN")]
    pub destination: Country,
    /// 2 to 10 digits; the most specific matching prefix wins.
    #[schema(value_type = String, example = "081090")]
    pub hs_prefix: HsPrefix,
    /// `allowed` or `refused`.
    pub status: String,
    pub allowed_from: Option<Date>,
    #[serde(default)]
    pub requirements: Vec<String>,
    pub source: String,
    /// H, M or L.
    pub confidence: String,
}

impl From<AccessRule> for RuleView {
    fn from(r: AccessRule) -> Self {
        Self {
            origin: r.origin,
            destination: r.destination,
            hs_prefix: r.hs_prefix,
            status: r.verdict.as_str().to_owned(),
            allowed_from: r.allowed_from,
            requirements: r.requirements,
            source: r.source,
            confidence: r.confidence.to_string(),
        }
    }
}

impl TryFrom<RuleView> for AccessRule {
    type Error = ApiError;
    fn try_from(v: RuleView) -> Result<Self, ApiError> {
        let verdict = Verdict::parse(&v.status)
            .ok_or_else(|| ApiError::invalid("status", "allowed or refused"))?;
        let confidence = match v.confidence.as_str() {
            "H" => 'H',
            "M" => 'M',
            "L" => 'L',
            _ => return Err(ApiError::invalid("confidence", "H, M or L")),
        };
        if v.origin == v.destination {
            return Err(ApiError::invalid(
                "destination",
                "a rule is for goods crossing a border",
            ));
        }
        if v.source.trim().is_empty() || v.source.len() > 500 {
            return Err(ApiError::invalid(
                "source",
                "name the rule's source (1 to 500 characters)",
            ));
        }
        if let Some(i) = v
            .requirements
            .iter()
            .position(|r| r.trim().is_empty() || r.len() > 100)
        {
            return Err(ApiError::invalid(
                format!("requirements[{i}]"),
                "1 to 100 characters",
            ));
        }
        Ok(AccessRule {
            origin: v.origin,
            destination: v.destination,
            hs_prefix: v.hs_prefix,
            verdict,
            allowed_from: v.allowed_from,
            requirements: v.requirements,
            source: v.source,
            confidence,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RulesQuery {
    #[param(value_type = Option<String>)]
    pub origin: Option<Country>,
    #[param(value_type = Option<String>)]
    pub destination: Option<Country>,
}

/// The registry's rules, optionally between two countries.
#[utoipa::path(get, path = "/market-access/rules", tag = "market access", params(RulesQuery),
    description = "Permission: public.",
    responses((status = 200, body = Vec<RuleView>), (status = 422, body = Problem)))]
pub async fn list_rules(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RulesQuery>,
) -> ApiResult<axum::Json<Vec<RuleView>>> {
    let rules = state.store.access_rules(q.origin, q.destination).await?;
    Ok(axum::Json(rules.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedRules {
    pub imported: usize,
}

/// Import rules from CSV (`origin,destination,hs_prefix,status,allowed_from,requirements,source,confidence`),
/// adding or replacing them; a file with any bad line is refused whole.
#[utoipa::path(post, path = "/market-access/rules", tag = "market access",
    request_body(content = String, content_type = "text/csv"),
    description = "Permission: platform administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = ImportedRules), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn import_rules(
    State(state): State<AppState>,
    admin: Caller<Admin>,
    CsvBody(text): CsvBody,
) -> ApiResult<axum::Json<ImportedRules>> {
    let rules = parse_rules_csv(&text).map_err(file_problem)?;
    let imported = state
        .store
        .upsert_access_rules(&admin.audit(), &rules)
        .await?;
    Ok(axum::Json(ImportedRules { imported }))
}

/// Add or replace one rule.
#[utoipa::path(put, path = "/market-access/rule", tag = "market access", request_body = RuleView,
    description = "Permission: platform administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = RuleView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn put_rule(
    State(state): State<AppState>,
    admin: Caller<Admin>,
    ApiJson(view): ApiJson<RuleView>,
) -> ApiResult<axum::Json<RuleView>> {
    let rule = AccessRule::try_from(view)?;
    state
        .store
        .upsert_access_rules(&admin.audit(), std::slice::from_ref(&rule))
        .await?;
    Ok(axum::Json(rule.into()))
}

/// Remove a rule.
#[utoipa::path(delete, path = "/market-access/rules/{origin}/{destination}/{hs_prefix}", tag = "market access",
    params(("origin" = String, Path), ("destination" = String, Path), ("hs_prefix" = String, Path)),
    description = "Permission: platform administrators.",
    security(("session" = []), ("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_rule(
    State(state): State<AppState>,
    admin: Caller<Admin>,
    ApiPath((origin, destination, hs_prefix)): ApiPath<(Country, Country, HsPrefix)>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_access_rule(&admin.audit(), origin, destination, hs_prefix.digits())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    #[param(value_type = String, example = "KH")]
    pub origin: Country,
    #[param(value_type = String, example = "CN")]
    pub destination: Country,
    /// HS code, 6 to 10 digits.
    #[param(value_type = String, example = "0810.90.30")]
    pub hs: HsCode,
    /// Default today (UTC).
    pub date: Option<Date>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    pub allowed: bool,
    /// `allowed`, `not_yet`, `refused` or `not_cleared`.
    pub status: String,
    /// Why not, in words.
    pub reason: Option<String>,
    /// The rule that decided.
    pub rule: Option<RuleView>,
}

/// May this HS line go from origin to destination on that day, and under which requirements?
#[utoipa::path(get, path = "/market-access/check", tag = "market access", params(CheckQuery),
    description = "Permission: public.",
    responses((status = 200, body = CheckView), (status = 422, body = Problem)))]
pub async fn check(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CheckQuery>,
) -> ApiResult<axum::Json<CheckView>> {
    Ok(axum::Json(
        decide_view(&state, q.origin, q.destination, &q.hs, q.date).await?,
    ))
}

/// The registry's answer for one HS line between two countries on a day (default today).
pub async fn decide_view(
    state: &AppState,
    origin: Country,
    destination: Country,
    hs: &HsCode,
    date: Option<Date>,
) -> ApiResult<CheckView> {
    let rules = state
        .store
        .access_rules(Some(origin), Some(destination))
        .await?;
    let decision = decide(&rules, origin, destination, hs, date.unwrap_or_else(today));
    let reason = decision.reason(origin, destination, hs);
    let (status, rule) = match decision {
        AccessDecision::Allowed { rule } => ("allowed", Some(rule)),
        AccessDecision::NotYet { rule, .. } => ("not_yet", Some(rule)),
        AccessDecision::Refused { rule } => ("refused", Some(rule)),
        AccessDecision::NotCleared => ("not_cleared", None),
    };
    Ok(CheckView {
        allowed: status == "allowed",
        status: status.to_owned(),
        reason,
        rule: rule.map(Into::into),
    })
}
