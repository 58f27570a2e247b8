//! `regimes.toml`: a destination's jurisdiction (countries, tax currency, rounding, customs value
//! basis) and its special regimes (cross-border retail, low-value, postal, courier).

use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

use super::super::error::RulePackError;
use super::super::rule_pack::{
    BuyerScope, CustomsValueBasis, DutyMode, Jurisdiction, RegimeRow, SingleItemOverLimit, TaxMode,
    ValueBasis,
};
use super::cells::{self, Problems, Row};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    jurisdiction: Spanned<RawJurisdiction>,
    #[serde(default)]
    regime: Vec<Spanned<RawRegime>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJurisdiction {
    id: String,
    name: String,
    countries: Vec<String>,
    tax_currency: String,
    rounding: String,
    customs_value: String,
    valid_from: Datetime,
    valid_to: Option<Datetime>,
    source: String,
    confidence: String,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegime {
    id: String,
    name: String,
    #[serde(default = "any")]
    buyer: String,
    limit_currency: Option<String>,
    per_order_limit: Option<String>,
    yearly_limit: Option<String>,
    #[serde(default = "goods")]
    value_basis: String,
    duty: String,
    flat_duty: Option<String>,
    taxes: String,
    tax_factor: Option<String>,
    flat_rate: Option<String>,
    #[serde(default = "refuse")]
    single_item_over_limit: String,
    #[serde(default)]
    requires_positive_list: bool,
    #[serde(default)]
    origins: Vec<String>,
    #[serde(default)]
    excluded_origins: Vec<String>,
    #[serde(default)]
    modes: Vec<String>,
    #[serde(default)]
    suspended: bool,
    valid_from: Datetime,
    valid_to: Option<Datetime>,
    source: String,
    confidence: String,
    #[serde(default)]
    note: String,
}

fn any() -> String {
    "any".to_owned()
}

fn goods() -> String {
    "goods".to_owned()
}

fn refuse() -> String {
    "refuse".to_owned()
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> u64 {
    let before = text.get(..offset).unwrap_or(text);
    u64::try_from(before.bytes().filter(|b| *b == b'\n').count()).unwrap_or(0) + 1
}

/// A TOML date (`2019-01-01`, no time) as text for the shared date reader.
fn toml_date(value: &Datetime) -> String {
    match (value.date, value.time, value.offset) {
        (Some(d), None, None) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        _ => format!("{value} (a date without time is expected)"),
    }
}

fn opt_toml_date(value: Option<&Datetime>) -> String {
    value.map(toml_date).unwrap_or_default()
}

/// Reads `regimes.toml`; the whole file is refused when any table or value is bad.
pub fn parse_regimes(
    file: &str,
    text: &str,
) -> Result<(Jurisdiction, Vec<RegimeRow>), RulePackError> {
    let mut problems = Problems::new(file);
    let raw: RawFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            let line = err.span().map_or(0, |span| line_of(text, span.start));
            problems.push(line, "toml", err.message().to_owned());
            return Err(problems.into_error());
        }
    };
    let line = line_of(text, raw.jurisdiction.span().start);
    let j = raw.jurisdiction.into_inner();
    let jurisdiction = {
        let mut row = problems.row(line);
        let meta = row.meta(
            &j.id,
            &toml_date(&j.valid_from),
            &opt_toml_date(j.valid_to.as_ref()),
            &j.source,
            &j.confidence,
            &j.note,
        );
        let name = row.check("name", cells::required(&j.name).map(str::to_owned));
        let countries: Option<Vec<_>> = j
            .countries
            .iter()
            .map(|c| row.check("countries", cells::country(c)))
            .collect();
        if countries.as_ref().is_some_and(Vec::is_empty) {
            row.problem("countries", "lists at least one country");
        }
        let currency = row.check("tax_currency", cells::currency(&j.tax_currency));
        let rounding = row.check("rounding", cells::rounding(&j.rounding));
        let basis = row.check(
            "customs_value",
            cells::choice(
                &j.customs_value,
                &[
                    ("cif", CustomsValueBasis::Cif),
                    ("fob", CustomsValueBasis::Fob),
                ],
            ),
        );
        match (meta, name, countries, currency, rounding, basis) {
            (
                Some(meta),
                Some(name),
                Some(countries),
                Some(tax_currency),
                Some(rounding),
                Some(customs_value),
            ) => Some(Jurisdiction {
                meta,
                name: name.into(),
                countries,
                tax_currency,
                rounding,
                customs_value,
            }),
            _ => None,
        }
    };
    let mut regimes = Vec::with_capacity(raw.regime.len());
    for spanned in raw.regime {
        let line = line_of(text, spanned.span().start);
        let r = spanned.into_inner();
        if let Some(regime) = regime_row(&mut problems.row(line), &r) {
            regimes.push(regime);
        }
    }
    match jurisdiction {
        Some(jurisdiction) => problems.finish((jurisdiction, regimes)),
        None => Err(problems.into_error()),
    }
}

fn regime_row(row: &mut Row<'_>, r: &RawRegime) -> Option<RegimeRow> {
    let meta = row.meta(
        &r.id,
        &toml_date(&r.valid_from),
        &opt_toml_date(r.valid_to.as_ref()),
        &r.source,
        &r.confidence,
        &r.note,
    );
    let name_ok = !r.name.is_empty()
        && r.name != "auto"
        && r.name != "general_trade"
        && r.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if !name_ok {
        row.problem(
            "name",
            format!(
                "{:?} is not a regime name: lowercase letters and '_', not auto or general_trade",
                r.name
            ),
        );
    }
    let buyer = row.check(
        "buyer",
        cells::choice(
            &r.buyer,
            &[("consumer", BuyerScope::Consumer), ("any", BuyerScope::Any)],
        ),
    );
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let limit_currency = row.check(
        "limit_currency",
        cells::optional(&text(&r.limit_currency), cells::currency),
    );
    let per_order = row.check(
        "per_order_limit",
        cells::optional(&text(&r.per_order_limit), cells::positive),
    );
    let yearly = row.check(
        "yearly_limit",
        cells::optional(&text(&r.yearly_limit), cells::positive),
    );
    let has_limit = matches!(per_order, Some(Some(_))) || matches!(yearly, Some(Some(_)));
    if has_limit && matches!(limit_currency, Some(None)) {
        row.problem("limit_currency", "is required with a limit");
    }
    let value_basis = row.check(
        "value_basis",
        cells::choice(
            &r.value_basis,
            &[
                ("goods", ValueBasis::Goods),
                ("goods_freight_insurance", ValueBasis::GoodsFreightInsurance),
            ],
        ),
    );
    let duty = match r.duty.as_str() {
        "none" => Some(DutyMode::None),
        "general" => Some(DutyMode::General),
        "flat_per_subheading" => row
            .check("flat_duty", cells::positive(&text(&r.flat_duty)))
            .map(DutyMode::FlatPerSubheading),
        other => {
            row.problem(
                "duty",
                format!("{other:?} is not one of none, general, flat_per_subheading"),
            );
            None
        }
    };
    let taxes = match r.taxes.as_str() {
        "none" => Some(TaxMode::None),
        "general" => row
            .check(
                "tax_factor",
                cells::fraction(r.tax_factor.as_deref().unwrap_or("1")),
            )
            .map(|factor| TaxMode::General { factor }),
        "flat_rate" => row
            .check("flat_rate", cells::fraction(&text(&r.flat_rate)))
            .map(TaxMode::FlatRate),
        other => {
            row.problem(
                "taxes",
                format!("{other:?} is not one of none, general, flat_rate"),
            );
            None
        }
    };
    let single = row.check(
        "single_item_over_limit",
        cells::choice(
            &r.single_item_over_limit,
            &[
                ("refuse", SingleItemOverLimit::Refuse),
                ("general_rates", SingleItemOverLimit::GeneralRates),
            ],
        ),
    );
    let origins = row.check("origins", cells::countries(&r.origins.join(" ")));
    let excluded = row.check(
        "excluded_origins",
        cells::countries(&r.excluded_origins.join(" ")),
    );
    let modes: Option<Vec<_>> = r
        .modes
        .iter()
        .map(|m| row.check("modes", cells::mode(m)))
        .collect();
    if !name_ok {
        return None;
    }
    Some(RegimeRow {
        meta: meta?,
        name: r.name.as_str().into(),
        buyer: buyer?,
        // Without limits the currency is never used; any value will do.
        limit_currency: limit_currency?.unwrap_or(crate::Currency::USD),
        per_order_limit: per_order?,
        yearly_limit: yearly?,
        value_basis: value_basis?,
        duty: duty?,
        taxes: taxes?,
        single_item_over_limit: single?,
        requires_positive_list: r.requires_positive_list,
        origins: origins?,
        excluded_origins: excluded?,
        modes: modes?,
        suspended: r.suspended,
    })
}
