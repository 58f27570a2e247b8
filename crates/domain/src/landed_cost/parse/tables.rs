//! CSV rule tables: tariffs, VAT, consumption taxes, the positive list, freight and insurance.
//!
//! Every file has a header row; `#` starts a comment line; cells are trimmed. Columns common to
//! all: `id, valid_from, valid_to, source, confidence, note` (valid_to and note may be empty).

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::super::error::RulePackError;
use super::super::rule_pack::{
    ConsumptionTaxKind, ConsumptionTaxRow, FreightRateRow, InsuranceRow, PositiveListRow,
    TariffCondition, TariffKind, TariffRow, VatRow,
};
use super::cells::{self, Problems, optional};

/// Reads the rows of `text` into raw string records, noting rows that do not even have the
/// expected shape. Returns the line number of each row read.
fn read_rows<R: DeserializeOwned>(problems: &mut Problems, text: &str) -> Vec<(u64, R)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(err) => {
            problems.push(1, "header", err.to_string());
            return Vec::new();
        }
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                problems.push(line, "row", csv_message(&err));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        match record.deserialize::<R>(Some(&headers)) {
            Ok(row) => rows.push((line, row)),
            Err(err) => {
                let field = match err.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => err
                        .field()
                        .and_then(|i| headers.get(usize::try_from(i).ok()?))
                        .unwrap_or("row")
                        .to_owned(),
                    _ => "row".to_owned(),
                };
                problems.push(line, &field, csv_message(&err));
            }
        }
    }
    rows
}

fn csv_message(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} cells, the header has {expected_len}"),
        _ => err.to_string(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTariff {
    id: String,
    kind: String,
    hs_prefix: String,
    #[serde(default)]
    origins: String,
    #[serde(default)]
    agreement: String,
    #[serde(default)]
    measure: String,
    rate: String,
    #[serde(default)]
    proof_required: String,
    #[serde(default)]
    condition: String,
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    source: String,
    confidence: String,
    #[serde(default)]
    note: String,
}

/// `tariffs.csv`: `id, kind, hs_prefix, origins, agreement, measure, rate, proof_required,
/// condition, valid_from, valid_to, source, confidence, note`.
pub fn parse_tariffs(file: &str, text: &str) -> Result<Vec<TariffRow>, RulePackError> {
    let mut problems = Problems::new(file);
    let raw = read_rows::<RawTariff>(&mut problems, text);
    let mut rows = Vec::with_capacity(raw.len());
    for (line, r) in raw {
        let mut row = problems.row(line);
        let meta = row.meta(
            &r.id,
            &r.valid_from,
            &r.valid_to,
            &r.source,
            &r.confidence,
            &r.note,
        );
        let kind = row.check(
            "kind",
            cells::choice(
                &r.kind,
                &[
                    ("mfn", TariffKind::Mfn),
                    ("provisional", TariffKind::Provisional),
                    ("preferential", TariffKind::Preferential),
                    ("additional", TariffKind::Additional),
                    ("suspension", TariffKind::Suspension),
                ],
            ),
        );
        let hs = row.check("hs_prefix", cells::prefix(&r.hs_prefix));
        let origins = row.check("origins", cells::countries(&r.origins));
        let rate = row.check("rate", cells::rate(&r.rate));
        let proof_required = row.check("proof_required", cells::boolean(&r.proof_required));
        let condition = row.check(
            "condition",
            optional(&r.condition, |c| {
                cells::choice(c, &[("over_quota", TariffCondition::OverQuota)])
            }),
        );
        let agreement = r.agreement.trim().to_owned();
        let measure = r.measure.trim().to_owned();
        if let (Some(kind), Some(origins)) = (kind, &origins) {
            match kind {
                TariffKind::Mfn | TariffKind::Provisional if !origins.is_empty() => {
                    row.problem(
                        "origins",
                        "MFN and provisional rates apply to every origin: leave origins empty",
                    );
                }
                TariffKind::Preferential if agreement.is_empty() => {
                    row.problem("agreement", "a preferential rate names its agreement");
                }
                TariffKind::Preferential if origins.is_empty() => {
                    row.problem("origins", "a preferential rate lists the origins it covers");
                }
                TariffKind::Additional | TariffKind::Suspension if measure.is_empty() => {
                    row.problem(
                        "measure",
                        "additional duties and suspensions name their measure",
                    );
                }
                _ => {}
            }
        }
        if let (
            Some(meta),
            Some(kind),
            Some(hs),
            Some(origins),
            Some(rate),
            Some(proof),
            Some(condition),
        ) = (meta, kind, hs, origins, rate, proof_required, condition)
        {
            rows.push(TariffRow {
                meta,
                kind,
                hs,
                origins,
                agreement: agreement.into(),
                measure: measure.into(),
                rate,
                proof_required: proof,
                condition,
            });
        }
    }
    problems.finish(rows)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVat {
    id: String,
    hs_prefix: String,
    #[serde(default)]
    countries: String,
    rate: String,
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    source: String,
    confidence: String,
    #[serde(default)]
    note: String,
}

/// `vat.csv`: `id, hs_prefix ("*" for all), countries, rate, valid_from, valid_to, source,
/// confidence, note`.
pub fn parse_vat(file: &str, text: &str) -> Result<Vec<VatRow>, RulePackError> {
    let mut problems = Problems::new(file);
    let raw = read_rows::<RawVat>(&mut problems, text);
    let mut rows = Vec::with_capacity(raw.len());
    for (line, r) in raw {
        let mut row = problems.row(line);
        let meta = row.meta(
            &r.id,
            &r.valid_from,
            &r.valid_to,
            &r.source,
            &r.confidence,
            &r.note,
        );
        let hs = row.check("hs_prefix", cells::prefix(&r.hs_prefix));
        let countries = row.check("countries", cells::countries(&r.countries));
        let rate = row.check("rate", cells::fraction(&r.rate));
        if let (Some(meta), Some(hs), Some(countries), Some(rate)) = (meta, hs, countries, rate) {
            rows.push(VatRow {
                meta,
                hs,
                countries,
                rate,
            });
        }
    }
    problems.finish(rows)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsumptionTax {
    id: String,
    hs_prefix: String,
    kind: String,
    #[serde(default)]
    rate: String,
    #[serde(default)]
    per_litre: String,
    #[serde(default)]
    min_price_per_ml: String,
    #[serde(default)]
    min_price_per_g: String,
    #[serde(default)]
    min_price_per_piece: String,
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    source: String,
    confidence: String,
    #[serde(default)]
    note: String,
}

/// `consumption_tax.csv`: `id, hs_prefix, kind (ad_valorem, specific, compound), rate,
/// per_litre, min_price_per_ml, min_price_per_g, min_price_per_piece, valid_from, valid_to,
/// source, confidence, note`. Amounts are in the destination's tax currency.
pub fn parse_consumption_taxes(
    file: &str,
    text: &str,
) -> Result<Vec<ConsumptionTaxRow>, RulePackError> {
    let mut problems = Problems::new(file);
    let raw = read_rows::<RawConsumptionTax>(&mut problems, text);
    let mut rows = Vec::with_capacity(raw.len());
    for (line, r) in raw {
        let mut row = problems.row(line);
        let meta = row.meta(
            &r.id,
            &r.valid_from,
            &r.valid_to,
            &r.source,
            &r.confidence,
            &r.note,
        );
        let hs = row.check("hs_prefix", cells::prefix(&r.hs_prefix));
        let kind = row.check(
            "kind",
            cells::choice(
                &r.kind,
                &[
                    ("ad_valorem", ConsumptionTaxKind::AdValorem),
                    ("specific", ConsumptionTaxKind::Specific),
                    ("compound", ConsumptionTaxKind::Compound),
                ],
            ),
        );
        let rate = row.check("rate", optional(&r.rate, cells::fraction));
        let per_litre = row.check("per_litre", optional(&r.per_litre, cells::amount));
        let per_ml = row.check(
            "min_price_per_ml",
            optional(&r.min_price_per_ml, cells::positive),
        );
        let per_g = row.check(
            "min_price_per_g",
            optional(&r.min_price_per_g, cells::positive),
        );
        let per_piece = row.check(
            "min_price_per_piece",
            optional(&r.min_price_per_piece, cells::positive),
        );
        let (Some(kind), Some(rate), Some(per_litre)) = (kind, rate, per_litre) else {
            continue;
        };
        let needs_rate = kind != ConsumptionTaxKind::Specific;
        let needs_litre = kind != ConsumptionTaxKind::AdValorem;
        if needs_rate && rate.is_none() {
            row.problem("rate", "is required for ad_valorem and compound taxes");
        }
        if rate.is_some_and(|r| r >= rust_decimal::Decimal::ONE) {
            row.problem(
                "rate",
                "must be below 1: the tax is levied on a tax-inclusive price",
            );
        }
        if needs_litre && per_litre.is_none() {
            row.problem("per_litre", "is required for specific and compound taxes");
        }
        if let (Some(meta), Some(hs), Some(per_ml), Some(per_g), Some(per_piece)) =
            (meta, hs, per_ml, per_g, per_piece)
        {
            rows.push(ConsumptionTaxRow {
                meta,
                hs,
                kind,
                rate: rate.unwrap_or_default(),
                per_litre: per_litre.unwrap_or_default(),
                min_price_per_ml: per_ml,
                min_price_per_g: per_g,
                min_price_per_piece: per_piece,
            });
        }
    }
    problems.finish(rows)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPositive {
    id: String,
    hs_prefix: String,
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    source: String,
    confidence: String,
    #[serde(default)]
    note: String,
}

/// `positive_list.csv`: `id, hs_prefix, valid_from, valid_to, source, confidence, note`.
pub fn parse_positive_list(file: &str, text: &str) -> Result<Vec<PositiveListRow>, RulePackError> {
    let mut problems = Problems::new(file);
    let raw = read_rows::<RawPositive>(&mut problems, text);
    let mut rows = Vec::with_capacity(raw.len());
    for (line, r) in raw {
        let mut row = problems.row(line);
        let meta = row.meta(
            &r.id,
            &r.valid_from,
            &r.valid_to,
            &r.source,
            &r.confidence,
            &r.note,
        );
        let hs = row.check("hs_prefix", cells::prefix(&r.hs_prefix));
        if let (Some(meta), Some(hs)) = (meta, hs) {
            rows.push(PositiveListRow { meta, hs });
        }
    }
    problems.finish(rows)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFreight {
    id: String,
    origin: String,
    destination: String,
    mode: String,
    min_chargeable_kg: String,
    per_kg: String,
    minimum_charge: String,
    currency: String,
    volumetric_divisor: String,
    #[serde(default)]
    cold_chain_surcharge: String,
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    source: String,
    confidence: String,
    #[serde(default)]
    note: String,
}

/// `freight/rates.csv`: `id, origin, destination, mode, min_chargeable_kg, per_kg,
/// minimum_charge, currency, volumetric_divisor, cold_chain_surcharge, valid_from, valid_to,
/// source, confidence, note`; one row per weight break of a lane.
pub fn parse_freight_rates(file: &str, text: &str) -> Result<Vec<FreightRateRow>, RulePackError> {
    let mut problems = Problems::new(file);
    let raw = read_rows::<RawFreight>(&mut problems, text);
    let mut rows = Vec::with_capacity(raw.len());
    for (line, r) in raw {
        let mut row = problems.row(line);
        let meta = row.meta(
            &r.id,
            &r.valid_from,
            &r.valid_to,
            &r.source,
            &r.confidence,
            &r.note,
        );
        let origin = row.check("origin", cells::country(&r.origin));
        let destination = row.check("destination", cells::country(&r.destination));
        let mode = row.check("mode", cells::mode(&r.mode));
        let min_kg = row.check("min_chargeable_kg", cells::amount(&r.min_chargeable_kg));
        let per_kg = row.check("per_kg", cells::amount(&r.per_kg));
        let minimum = row.check("minimum_charge", cells::amount(&r.minimum_charge));
        let currency = row.check("currency", cells::currency(&r.currency));
        let divisor = row.check("volumetric_divisor", cells::positive(&r.volumetric_divisor));
        let surcharge = row.check(
            "cold_chain_surcharge",
            optional(&r.cold_chain_surcharge, cells::rate),
        );
        if let (
            Some(meta),
            Some(origin),
            Some(destination),
            Some(mode),
            Some(min_chargeable_kg),
            Some(per_kg),
            Some(minimum_charge),
            Some(currency),
            Some(volumetric_divisor),
            Some(surcharge),
        ) = (
            meta,
            origin,
            destination,
            mode,
            min_kg,
            per_kg,
            minimum,
            currency,
            divisor,
            surcharge,
        ) {
            rows.push(FreightRateRow {
                meta,
                origin,
                destination,
                mode,
                min_chargeable_kg,
                per_kg,
                minimum_charge,
                currency,
                volumetric_divisor,
                cold_chain_surcharge: surcharge.unwrap_or_default(),
            });
        }
    }
    problems.finish(rows)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInsurance {
    id: String,
    destination: String,
    rate: String,
    minimum: String,
    currency: String,
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    source: String,
    confidence: String,
    #[serde(default)]
    note: String,
}

/// `freight/insurance.csv`: `id, destination ("*" for any), rate, minimum, currency, valid_from,
/// valid_to, source, confidence, note`.
pub fn parse_insurance(file: &str, text: &str) -> Result<Vec<InsuranceRow>, RulePackError> {
    let mut problems = Problems::new(file);
    let raw = read_rows::<RawInsurance>(&mut problems, text);
    let mut rows = Vec::with_capacity(raw.len());
    for (line, r) in raw {
        let mut row = problems.row(line);
        let meta = row.meta(
            &r.id,
            &r.valid_from,
            &r.valid_to,
            &r.source,
            &r.confidence,
            &r.note,
        );
        let destination = row.check(
            "destination",
            if r.destination.trim() == "*" {
                Ok(None)
            } else {
                cells::country(&r.destination).map(Some)
            },
        );
        let rate = row.check("rate", cells::fraction(&r.rate));
        let minimum = row.check("minimum", cells::amount(&r.minimum));
        let currency = row.check("currency", cells::currency(&r.currency));
        if let (Some(meta), Some(destination), Some(rate), Some(minimum), Some(currency)) =
            (meta, destination, rate, minimum, currency)
        {
            rows.push(InsuranceRow {
                meta,
                destination,
                rate,
                minimum,
                currency,
            });
        }
    }
    problems.finish(rows)
}
