//! Consumption (excise) tax at import: ad valorem on a tax-inclusive base, specific per litre, or
//! both (compound), with price thresholds per ml, g or piece (high-end cosmetics, watches).

use rust_decimal::Decimal;
use time::Date;

use crate::Unit;

use super::error::QuoteError;
use super::input::QuoteLine;
use super::line_value::LineValue;
use super::output::Threshold;
use super::rule_book::LineRules;
use super::rule_pack::{ConsumptionTaxKind, ConsumptionTaxRow, RulePack};

/// The row in force for a line, most specific prefix first; `None`: the goods bear no such tax.
pub(crate) fn find<'p>(
    found: &LineRules<'_>,
    pack: &'p RulePack,
    date: Date,
) -> Option<&'p ConsumptionTaxRow> {
    let first = found
        .consumption_taxes()
        .iter()
        .find(|d| d.valid_on(date))?;
    pack.consumption_taxes.get(first.row as usize)
}

/// The statutory tax, at full precision, before any regime factor.
pub(crate) struct Assessment {
    pub(crate) amount: LineValue,
    pub(crate) litres: Option<Decimal>,
    pub(crate) threshold: Option<Threshold>,
}

fn missing(index: usize, field: &str, row: &ConsumptionTaxRow, needed: &'static str) -> QuoteError {
    QuoteError::MissingMeasure {
        field: format!("lines[{index}].measures.{field}"),
        rule: row.meta.id().to_owned(),
        needed,
    }
}

fn overflow(index: usize) -> QuoteError {
    QuoteError::invalid(
        format!("lines[{index}]"),
        "the consumption tax overflowed: check quantity and measures",
    )
}

/// Litres in the line: its quantity when counted in litres, else units × litres per unit.
fn litres(line: &QuoteLine, index: usize, row: &ConsumptionTaxRow) -> Result<Decimal, QuoteError> {
    if line.quantity.unit() == Unit::Litre {
        return Ok(line.quantity.value());
    }
    let per_unit = line.measures.litres_per_unit.ok_or_else(|| {
        missing(
            index,
            "litres_per_unit",
            row,
            "litres per unit (this tax is charged per litre)",
        )
    })?;
    per_unit
        .checked_mul(line.quantity.value())
        .ok_or_else(|| overflow(index))
}

/// Whether the line's taxable price per ml, g or piece reaches the row's threshold.
fn threshold(
    row: &ConsumptionTaxRow,
    line: &QuoteLine,
    index: usize,
    customs_value: LineValue,
) -> Result<Option<Threshold>, QuoteError> {
    if !row.has_threshold() {
        return Ok(None);
    }
    let customs_value = customs_value.to_decimal();
    let quantity = line.quantity.value();
    let unit_price = customs_value
        .checked_div(quantity)
        .ok_or_else(|| overflow(index))?;
    let m = &line.measures;
    let (per, measure, minimum) = match (m.ml_per_unit, m.grams_per_unit) {
        (Some(ml), _) if row.min_price_per_ml.is_some() => ("ml", Some(ml), row.min_price_per_ml),
        (_, Some(g)) if row.min_price_per_g.is_some() => ("g", Some(g), row.min_price_per_g),
        _ if row.min_price_per_piece.is_some() && line.quantity.unit().is_countable() => {
            ("piece", None, row.min_price_per_piece)
        }
        _ => {
            return Err(missing(
                index,
                "ml_per_unit",
                row,
                "ml_per_unit or grams_per_unit (the tax depends on the price per ml or g)",
            ));
        }
    };
    let price = match measure {
        Some(measure) if measure.is_zero() => {
            return Err(QuoteError::invalid(
                format!("lines[{index}].measures.{per}_per_unit"),
                "must be greater than zero",
            ));
        }
        Some(measure) => unit_price
            .checked_div(measure)
            .ok_or_else(|| overflow(index))?,
        None => unit_price,
    };
    let minimum = minimum.unwrap_or_default();
    Ok(Some(Threshold {
        per,
        price,
        minimum,
        met: price >= minimum,
    }))
}

/// The statutory consumption tax of a line on `customs_value + duty`.
pub(crate) fn assess(
    row: &ConsumptionTaxRow,
    line: &QuoteLine,
    index: usize,
    customs_value: LineValue,
    duty: LineValue,
) -> Result<Assessment, QuoteError> {
    let threshold = threshold(row, line, index, customs_value)?;
    if threshold.as_ref().is_some_and(|t| !t.met) {
        return Ok(Assessment {
            amount: LineValue::of(Decimal::ZERO),
            litres: None,
            threshold,
        });
    }
    // On a tax-inclusive base: base / (1 − rate) × rate. A rate of 100% or more is refused when
    // the rule pack is read.
    let ad_valorem = |base: LineValue| base.over(Decimal::ONE - row.rate).times(row.rate);
    let specific = |q: Decimal| {
        q.checked_mul(row.per_litre)
            .map(LineValue::of)
            .ok_or_else(|| overflow(index))
    };
    let (amount, litres) = match row.kind {
        ConsumptionTaxKind::AdValorem => (ad_valorem(customs_value.plus(duty)), None),
        ConsumptionTaxKind::Specific => {
            let q = litres(line, index, row)?;
            (specific(q)?, Some(q))
        }
        ConsumptionTaxKind::Compound => {
            let q = litres(line, index, row)?;
            let specific = specific(q)?;
            let base = customs_value.plus(duty).plus(specific);
            (ad_valorem(base).plus(specific), Some(q))
        }
    };
    Ok(Assessment {
        amount,
        litres,
        threshold,
    })
}
