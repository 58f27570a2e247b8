//! The quote: goods, freight and insurance → customs value → duty, consumption tax and VAT (or a
//! special regime's treatment) → totals in the buyer's currency, each figure with its rule.

use rust_decimal::Decimal;

use crate::money::{RoundingRule, integer_weights};
use crate::{Currency, Money};

use super::consumption_tax;
use super::error::QuoteError;
use super::explanation::{Explanation, Step};
use super::freight::{compute_freight, insurance_amount};
use super::fx::{Converter, Fx};
use super::input::QuoteInput;
use super::line_value::LineValue;
use super::output::{
    AssessedTotals, Components, ConsumptionTax, Duty, Figure, LineQuote, Quote, RegimeDecision,
    RuleIx, RuleList, Totals, Vat, YearlyUsage,
};
use super::regime::{self, Order};
use super::rounding;
use super::rule_book::{LineRules, RuleBook};
use super::rule_pack::{CustomsValueBasis, DutyMode, RegimeRow, RuleText, TaxMode, ValueBasis};
use super::tariff;
use super::vat;

/// Most lines one quote may have, so that a request cannot ask for unbounded work.
pub const MAX_LINES: usize = 1000;

/// Bounds that keep every later step far inside a `Decimal`'s range, so no arithmetic can
/// overflow: 10^15 in the tax currency for values, 10^12 for quantities, 10^9 for measures.
const VALUE_BOUND: u64 = 1_000_000_000_000_000;
const QUANTITY_BOUND: u64 = 1_000_000_000_000;
const MEASURE_BOUND: u64 = 1_000_000_000;

/// The name of the regime when no special one applies.
const GENERAL_TRADE: RuleText = RuleText::from_static("general_trade");

/// Whether `value` > `bound`, exactly, without bringing both to one scale as `Decimal`'s
/// comparison does: value > bound ⇔ mantissa > bound × 10^scale.
fn exceeds(value: Decimal, bound: u64) -> bool {
    if value.is_sign_negative() {
        return false;
    }
    rounding::pow10(value.scale())
        .and_then(|p| p.checked_mul(u128::from(bound)))
        .is_some_and(|limit| value.mantissa().unsigned_abs() > limit)
}

/// `value`, or the error naming `field` when it is above `bound`.
fn check_bound(
    value: Decimal,
    bound: u64,
    field: impl FnOnce() -> String,
) -> Result<Decimal, QuoteError> {
    if exceeds(value, bound) {
        Err(QuoteError::invalid(
            field(),
            format!("is too large (above {bound})"),
        ))
    } else {
        Ok(value)
    }
}

fn step(line: Option<usize>, rule: Option<RuleIx>, step: Step) -> Explanation {
    Explanation { line, rule, step }
}

fn not_negative(money: Option<&Money>, field: &str) -> Result<(), QuoteError> {
    match money {
        Some(m) if m.is_negative() => Err(QuoteError::invalid(field, "cannot be negative")),
        _ => Ok(()),
    }
}

fn validate(input: &QuoteInput) -> Result<(), QuoteError> {
    if input.lines.is_empty() {
        return Err(QuoteError::invalid(
            "lines",
            "a quote needs at least one line",
        ));
    }
    if input.lines.len() > MAX_LINES {
        return Err(QuoteError::invalid(
            "lines",
            format!("at most {MAX_LINES} lines per quote"),
        ));
    }
    not_negative(input.freight.as_ref(), "freight")?;
    not_negative(input.insurance.as_ref(), "insurance")?;
    not_negative(input.yearly_used.as_ref(), "yearly_used")?;
    for (i, line) in input.lines.iter().enumerate() {
        if line.quantity.is_zero() {
            return Err(QuoteError::invalid(
                format!("lines[{i}].quantity"),
                "must be greater than zero",
            ));
        }
        if line.unit_value.is_negative() {
            return Err(QuoteError::invalid(
                format!("lines[{i}].unit_value"),
                "cannot be negative",
            ));
        }
        check_bound(line.quantity.value(), QUANTITY_BOUND, || {
            format!("lines[{i}].quantity")
        })?;
        let m = &line.measures;
        for (name, value) in [
            ("litres_per_unit", m.litres_per_unit),
            ("ml_per_unit", m.ml_per_unit),
            ("grams_per_unit", m.grams_per_unit),
        ] {
            let Some(value) = value else {
                continue;
            };
            if value.is_zero() || value.is_sign_negative() {
                return Err(QuoteError::invalid(
                    format!("lines[{i}].measures.{name}"),
                    "must be greater than zero",
                ));
            }
            check_bound(value, MEASURE_BOUND, || {
                format!("lines[{i}].measures.{name}")
            })?;
        }
    }
    Ok(())
}

/// Rounds a tax-currency figure, then shows it in the buyer's currency.
struct Show<'f, 'r> {
    fx: &'f mut Fx<'r>,
    tax: Currency,
    tax_dp: u32,
    wanted: Currency,
    rounding: RoundingRule,
    /// The conversion from the tax currency to the buyer's, found at its first use.
    to_wanted: Option<Converter>,
}

impl Show<'_, '_> {
    /// `field` is (line, name); the text is made only for an error, off the hot path.
    fn assess(&self, amount: Decimal, field: (usize, &str)) -> Result<Money, QuoteError> {
        // A regime factor or a subtraction never makes a tax negative; clamp the sign of zero.
        let amount = if amount.is_sign_negative() {
            Decimal::ZERO
        } else {
            amount
        };
        rounding::round_at(amount, self.tax, self.tax_dp, self.rounding).map_err(|source| {
            QuoteError::Money {
                field: format!("lines[{}].{}", field.0, field.1),
                source,
            }
        })
    }

    /// (in the buyer's currency, as assessed)
    fn both(
        &mut self,
        amount: LineValue,
        field: (usize, &str),
    ) -> Result<(Money, Money), QuoteError> {
        // The usual case straight through in minor units: the same roundings as `assess` and
        // the conversion below, when each is decided by its integer division.
        let minor = match amount {
            LineValue::Ratio { .. } => amount.minor_units(self.tax_dp, self.rounding),
            LineValue::Decimal(value) if !value.is_sign_negative() => {
                rounding::minor_units(value, self.tax_dp, self.rounding)
            }
            LineValue::Decimal(_) => None,
        };
        let (assessed, minor) = match minor {
            Some(minor) => (
                Money::from_minor_at(minor, self.tax, self.tax_dp),
                Some(minor),
            ),
            None => (self.assess(amount.to_decimal(), field)?, None),
        };
        if self.tax == self.wanted {
            return Ok((assessed, assessed));
        }
        let tax_dp = self.tax_dp;
        let converter = self.wanted_converter()?;
        if let Some(shown) = minor.and_then(|minor| converter.divide_minor(minor, tax_dp)) {
            return Ok((shown, assessed));
        }
        let shown = converter.apply_rounded(assessed.amount(), || {
            format!("lines[{}].{}", field.0, field.1)
        })?;
        Ok((shown, assessed))
    }

    /// The conversion from the tax currency to the buyer's, found at its first use.
    fn wanted_converter(&mut self) -> Result<&Converter, QuoteError> {
        if self.to_wanted.is_none() {
            let converter = self
                .fx
                .converter(self.tax, self.wanted, self.rounding, self.tax_dp)?
                .clone();
            self.to_wanted = Some(converter);
        }
        // Set just above; the error only keeps this free of a panic.
        self.to_wanted.as_ref().ok_or(QuoteError::MissingRate {
            from: self.tax,
            to: self.wanted,
        })
    }
}

/// The total of minor units `minor` in `currency` (of `dp` decimals), as `Money::sum` answers
/// it.
fn total(minor: i128, (currency, dp): (Currency, u32), field: &str) -> Result<Money, QuoteError> {
    match i64::try_from(minor) {
        Ok(minor) => Ok(Money::from_minor_at(minor, currency, dp)),
        Err(_) => Money::sum_of_minor(minor, currency).map_err(QuoteError::money(field)),
    }
}

/// A figure's minor units (its scale is its currency's minor unit, so its mantissa counts them).
fn minor(money: Money) -> i128 {
    money.amount().mantissa()
}

/// The lines' figures summed in minor units as the lines are made (at most MAX_LINES figures
/// below 2^96 each: an i128 cannot overflow).
#[derive(Default)]
struct LineSums {
    goods: i128,
    freight: i128,
    insurance: i128,
    customs_value: i128,
    duty: i128,
    consumption_tax: i128,
    vat: i128,
    flat_rate_tax: i128,
    cross_border_tax: i128,
    any_cross_border: bool,
    total_tax: i128,
    duty_assessed: i128,
    consumption_tax_assessed: i128,
    vat_assessed: i128,
    flat_rate_tax_assessed: i128,
    total_tax_assessed: i128,
}

/// `amount × factor`; a factor of one leaves the value as it is, so the product is skipped.
fn times(amount: LineValue, factor: Decimal, unit: bool) -> LineValue {
    if unit { amount } else { amount.times(factor) }
}

/// What the quote keeps of a line between its passes.
pub(crate) struct LineWork<'b> {
    /// The goods in the tax currency, at full precision.
    goods: Decimal,
    goods_shown: Money,
    /// The line's rule rows, found once for the regime and the figures alike.
    pub(crate) found: LineRules<'b>,
    /// The line's shares of freight and insurance, in the buyer's currency.
    freight: Money,
    insurance: Money,
}

/// Which share of a line [`split`] fills.
#[derive(Clone, Copy)]
enum Share {
    Freight,
    Insurance,
}

impl LineWork<'_> {
    fn share(&mut self, share: Share) -> &mut Money {
        match share {
            Share::Freight => &mut self.freight,
            Share::Insurance => &mut self.insurance,
        }
    }
}

/// Splits `whole` over the lines by `weights` (each line's goods as shown; evenly when all are
/// zero), as `Money::allocate` does, into each line's `share`.
fn split(
    whole: &Money,
    weights: Option<(&[u128], u128)>,
    work: &mut [LineWork<'_>],
    share: Share,
    field: &str,
) -> Result<(), QuoteError> {
    match weights {
        Some((weights, total)) => whole.allocate_integers(weights, total, |index, part| {
            if let Some(line) = work.get_mut(index) {
                *line.share(share) = part;
            }
        }),
        None => {
            let mut lines = work.iter_mut();
            whole.allocate_evenly_into(lines.len(), |part| {
                if let Some(line) = lines.next() {
                    *line.share(share) = part;
                }
            })
        }
    }
    .map_err(QuoteError::money(field))
}

/// Computes a landed-cost quote for `input` under the rules of `book` in force on its date.
///
/// Pure: the same book and input always give the same quote. Conversions use only
/// `input.rates`; figures keep full precision until each final per-tax amount is rounded by the
/// destination's rounding rule.
pub fn quote(book: &RuleBook, input: &QuoteInput) -> Result<Quote, QuoteError> {
    validate(input)?;
    let date = input.date;
    let (pack_index, pack) =
        book.pack_for(input.destination)
            .ok_or(QuoteError::UnknownDestination {
                destination: input.destination,
            })?;
    let j = &pack.jurisdiction;
    if !j.meta.valid_on(date) {
        return Err(QuoteError::NoRulePackOnDate {
            jurisdiction: j.name.to_string(),
            date,
            starts: j.meta.0.valid_from,
        });
    }
    let tax = j.tax_currency;
    let tax_dp = tax.minor_units();
    let wanted = input.currency;
    let wanted_dp = wanted.minor_units();
    let mut fx = Fx::new(&input.rates);
    // Room for every step of a line (up to 8 with a preference and additional duties) and the
    // order's own, so that the list is not moved while it grows.
    let mut explain = Vec::with_capacity(10 + 8 * input.lines.len());
    // A line uses at most about five rows of its own; the order a few more.
    let mut rules = RuleList::with_capacity(8 + 4 * input.lines.len());
    let jurisdiction_rule = rules.ix(&j.meta);

    // Goods per line, in the tax currency at full precision, and each line's rules.
    let mut work = Vec::with_capacity(input.lines.len());
    let mut goods_total = Decimal::ZERO;
    for (i, line) in input.lines.iter().enumerate() {
        let field = || format!("lines[{i}].unit_value");
        let value = line
            .unit_value
            .mul_unrounded(line.quantity.value())
            .map_err(|e| QuoteError::money(field())(e))?;
        let in_tax = check_bound(
            fx.apply(value, line.unit_value.currency(), tax)?,
            VALUE_BOUND,
            field,
        )?;
        let shown = fx.apply(value, line.unit_value.currency(), wanted)?;
        let goods_shown = rounding::round_at(shown, wanted, wanted_dp, j.rounding)
            .map_err(|e| QuoteError::money(field())(e))?;
        goods_total += in_tax;
        work.push(LineWork {
            goods: in_tax,
            goods_shown,
            found: book.line_rules(pack_index, &line.hs),
            freight: goods_shown,
            insurance: goods_shown,
        });
    }
    let goods_total = check_bound(goods_total, VALUE_BOUND, || "lines".to_owned())?;
    let first_origin = input.lines.first().map(|l| l.origin);

    // Freight: given, or from the lane's rate table.
    let freight = match (&input.freight, &input.transport) {
        (Some(given), _) => {
            explain.push(step(None, None, Step::FreightGiven { amount: *given }));
            *given
        }
        (None, Some(transport)) => {
            let origin = transport
                .origin
                .or(first_origin)
                .unwrap_or(input.destination);
            let charge = compute_freight(book, transport, origin, input.destination, date)?;
            explain.push(step(
                None,
                Some(rules.ix(&charge.rule)),
                Step::Freight {
                    amount: charge.amount,
                    actual_kg: transport.actual_weight_kg,
                    volumetric_kg: charge.volumetric_kg,
                    chargeable_kg: charge.chargeable_kg,
                    per_kg: charge.per_kg,
                    cold_chain_surcharge: charge.surcharge,
                },
            ));
            charge.amount
        }
        (None, None) => {
            return Err(QuoteError::Freight {
                message: "give freight, or transport (mode and weight) to compute it".to_owned(),
            });
        }
    };
    let freight_tax = check_bound(
        fx.apply(freight.amount(), freight.currency(), tax)?,
        VALUE_BOUND,
        || "freight".to_owned(),
    )?;

    // Insurance: given, or a rate of goods + freight with a minimum.
    let insurance = match &input.insurance {
        Some(given) => {
            explain.push(step(None, None, Step::InsuranceGiven { amount: *given }));
            *given
        }
        None => {
            let row = book.insurance_for(input.destination, date).ok_or_else(|| {
                QuoteError::invalid(
                    "insurance",
                    format!(
                        "not given, and no insurance rule for {} on {date}",
                        input.destination
                    ),
                )
            })?;
            let minimum = fx.apply(row.minimum, row.currency, tax)?;
            let amount = insurance_amount(row, goods_total + freight_tax, minimum);
            let amount = rounding::round_at(amount, tax, tax_dp, RoundingRule::HalfUp)
                .map_err(QuoteError::money("insurance"))?;
            explain.push(step(
                None,
                Some(rules.ix(&row.meta)),
                Step::Insurance {
                    amount,
                    rate: row.rate,
                },
            ));
            amount
        }
    };
    let insurance_tax = check_bound(
        fx.apply(insurance.amount(), insurance.currency(), tax)?,
        VALUE_BOUND,
        || "insurance".to_owned(),
    )?;

    // Regime.
    let order = Order {
        buyer: input.buyer,
        lines: &input.lines,
        work: &work,
        mode: input.transport.as_ref().map(|t| t.mode),
        goods: goods_total,
        goods_freight_insurance: goods_total + freight_tax + insurance_tax,
        yearly_used: input.yearly_used.as_ref(),
    };
    let goods_freight_insurance = order.goods_freight_insurance;
    let selected = regime::select(pack, &input.regime, &order, date, &mut fx, &mut rules)?;
    let regime_rule = selected.regime.map(|r| rules.ix(&r.meta));
    for refusal in &selected.refusals {
        explain.push(step(
            None,
            Some(refusal.rule),
            Step::RegimeRefused {
                name: refusal.regime.clone(),
                reason: refusal.reason,
                detail: refusal.detail.clone(),
            },
        ));
    }
    let (duty_mode, tax_mode) = match selected.regime {
        Some(r) if !selected.full_rates => (r.duty, r.taxes),
        _ => (
            DutyMode::General,
            TaxMode::General {
                factor: Decimal::ONE,
            },
        ),
    };
    match selected.regime {
        Some(r) => explain.push(step(
            None,
            regime_rule,
            Step::Regime {
                name: r.name.clone(),
                full_rates: selected.full_rates,
            },
        )),
        None => explain.push(step(
            None,
            None,
            Step::GeneralTrade {
                requested: input.regime == super::input::RequestedRegime::GeneralTrade,
            },
        )),
    }
    match tax_mode {
        TaxMode::General { factor } if factor != Decimal::ONE => {
            explain.push(step(None, regime_rule, Step::TaxFactor { factor }));
        }
        TaxMode::None => explain.push(step(None, regime_rule, Step::NoTaxes)),
        _ => {}
    }
    explain.push(step(
        None,
        Some(jurisdiction_rule),
        Step::Rounding {
            rule: j.rounding,
            currency: tax,
        },
    ));

    // Freight and insurance shown per line: split by goods value so the lines add up exactly.
    let freight_shown = fx.convert(&freight, wanted, j.rounding, "freight")?;
    let insurance_shown = fx.convert(&insurance, wanted, j.rounding, "insurance")?;
    {
        let mut few = [0_u128; 16];
        let mut many = Vec::new();
        let weights: &mut [u128] = match few.get_mut(..work.len()) {
            Some(few) => few,
            None => {
                many.resize(work.len(), 0);
                &mut many
            }
        };
        let by_goods = if work.iter().all(|w| w.goods_shown.is_zero()) {
            None
        } else {
            let total = integer_weights(
                work.iter().map(|w| w.goods_shown.amount()),
                &freight_shown,
                weights,
            )
            .map_err(QuoteError::money("freight"))?;
            Some((&*weights, total))
        };
        split(
            &freight_shown,
            by_goods,
            &mut work,
            Share::Freight,
            "freight",
        )?;
        split(
            &insurance_shown,
            by_goods,
            &mut work,
            Share::Insurance,
            "insurance",
        )?;
    }

    let mut show = Show {
        fx: &mut fx,
        tax,
        tax_dp,
        wanted,
        rounding: j.rounding,
        to_wanted: None,
    };
    let zero = Money::from_minor_at(0, wanted, wanted_dp);
    let zero_assessed = Money::from_minor_at(0, tax, tax_dp);
    let count = Decimal::from(input.lines.len());
    let mut seen_subheadings: Vec<&str> = Vec::new();
    let mut lines = Vec::with_capacity(input.lines.len());
    let mut sums = LineSums::default();
    for ((i, line), w) in input.lines.iter().enumerate().zip(&work) {
        let g = w.goods;
        // Freight and insurance pro rata by goods value, exactly: g × (goods + freight +
        // insurance) / goods as a fraction (see [`LineValue`]). Where the quotient would leave a
        // Decimal's range (or there are no goods), by the ratio, which is ≤ 1.
        let cv = match j.customs_value {
            CustomsValueBasis::Cif => LineValue::share(g, goods_freight_insurance, goods_total)
                .unwrap_or_else(|| {
                    let ratio = if goods_total.is_zero() {
                        Decimal::ONE / count
                    } else {
                        g / goods_total
                    };
                    LineValue::Decimal(g + freight_tax * ratio + insurance_tax * ratio)
                }),
            CustomsValueBasis::Fob => LineValue::of(g),
        };
        let (cv_shown, cv_assessed) = show.both(cv, (i, "customs_value"))?;
        explain.push(step(
            Some(i),
            Some(jurisdiction_rule),
            Step::CustomsValue {
                basis: j.customs_value,
                value: cv_assessed,
            },
        ));

        // Duty.
        let mut duty_rate = None;
        let mut components = Components::default();
        let mut duty_rule = None;
        let duty = match duty_mode {
            DutyMode::General => {
                let record = tariff::Record {
                    explain: &mut explain,
                    rules: &mut rules,
                    components: &mut components,
                };
                let rate = tariff::duty_rate(&w.found, pack, line, i, date, record)?;
                duty_rate = Some(rate);
                cv.times(rate)
            }
            DutyMode::None => {
                explain.push(step(Some(i), regime_rule, Step::NoDuty));
                LineValue::of(Decimal::ZERO)
            }
            DutyMode::FlatPerSubheading(amount) => {
                let sub = line.hs.subheading();
                duty_rule = regime_rule;
                if seen_subheadings.contains(&sub) {
                    LineValue::of(Decimal::ZERO)
                } else {
                    seen_subheadings.push(sub);
                    let flat = show.assess(amount, (i, "duty"))?;
                    explain.push(step(
                        Some(i),
                        duty_rule,
                        Step::FlatDuty {
                            subheading: sub.to_owned(),
                            amount: flat,
                        },
                    ));
                    LineValue::of(amount)
                }
            }
        };
        let (duty_shown, duty_assessed) = show.both(duty, (i, "duty"))?;
        if let Some(rate) = duty_rate {
            explain.push(step(
                Some(i),
                None,
                Step::Duty {
                    rate,
                    amount: duty_assessed,
                },
            ));
        }

        // Consumption tax and VAT (or a flat rate replacing them).
        let mut ct = ConsumptionTax {
            amount: zero,
            assessed: zero_assessed,
            kind: None,
            rate: None,
            per_litre: None,
            litres: None,
            threshold: None,
            rule: None,
        };
        let mut vat_figure = Vat {
            amount: zero,
            assessed: zero_assessed,
            rate: None,
            rule: None,
        };
        let mut flat_rate_tax = None;
        let mut tax_factor = None;
        match tax_mode {
            TaxMode::General { factor } => {
                let unit = factor == Decimal::ONE;
                if !unit {
                    tax_factor = Some(factor);
                }
                let mut ct_full = None;
                if let Some(row) = consumption_tax::find(&w.found, pack, date) {
                    let assessment = consumption_tax::assess(row, line, i, cv, duty)?;
                    let rule = rules.ix(&row.meta);
                    let statutory = assessment.amount;
                    ct_full = Some(statutory);
                    let (shown, assessed) =
                        show.both(times(statutory, factor, unit), (i, "consumption_tax"))?;
                    match &assessment.threshold {
                        Some(t) if !t.met => explain.push(step(
                            Some(i),
                            Some(rule),
                            Step::BelowThreshold {
                                price: t.price,
                                per: t.per,
                                threshold: t.minimum,
                            },
                        )),
                        _ => explain.push(step(
                            Some(i),
                            Some(rule),
                            Step::ConsumptionTax {
                                kind: row.kind,
                                rate: row.rate,
                                per_litre: row.per_litre,
                                litres: assessment.litres.unwrap_or_default(),
                                amount: assessed,
                            },
                        )),
                    }
                    ct = ConsumptionTax {
                        amount: shown,
                        assessed,
                        kind: Some(row.kind),
                        rate: Some(row.rate),
                        per_litre: (!row.per_litre.is_zero()).then_some(row.per_litre),
                        litres: assessment.litres,
                        threshold: assessment.threshold,
                        rule: Some(rule),
                    };
                }
                let row = vat::find(&w.found, pack, line, i, input.destination, date)?;
                // VAT is on the statutory consumption tax; the regime factor applies after.
                let base = cv.plus(duty);
                let base = ct_full.map_or(base, |ct| base.plus(ct));
                let vat_full = base.times(row.rate);
                let (shown, assessed) = show.both(times(vat_full, factor, unit), (i, "vat"))?;
                let rule = rules.ix(&row.meta);
                explain.push(step(
                    Some(i),
                    Some(rule),
                    Step::Vat {
                        rate: row.rate,
                        amount: assessed,
                    },
                ));
                vat_figure = Vat {
                    amount: shown,
                    assessed,
                    rate: Some(row.rate),
                    rule: Some(rule),
                };
            }
            TaxMode::None => {}
            TaxMode::FlatRate(rate) => {
                let (shown, assessed) = show.both(cv.times(rate), (i, "flat_rate_tax"))?;
                let rule = regime_rule;
                explain.push(step(
                    Some(i),
                    rule,
                    Step::FlatRate {
                        rate,
                        amount: assessed,
                    },
                ));
                flat_rate_tax = Some(Figure {
                    amount: shown,
                    assessed,
                    rule,
                });
            }
        }
        let flat = flat_rate_tax.as_ref();
        let total_tax = total(
            minor(duty_shown)
                + minor(ct.amount)
                + minor(vat_figure.amount)
                + flat.map_or(0, |f| minor(f.amount)),
            (wanted, wanted_dp),
            "total_tax",
        )?;
        let total_tax_assessed = total(
            minor(duty_assessed)
                + minor(ct.assessed)
                + minor(vat_figure.assessed)
                + flat.map_or(0, |f| minor(f.assessed)),
            (tax, tax_dp),
            "total_tax",
        )?;
        let cross_border = selected
            .regime
            .filter(|_| tax_factor.is_some())
            .map(|_| total_tax);
        sums.goods += minor(w.goods_shown);
        sums.freight += minor(w.freight);
        sums.insurance += minor(w.insurance);
        sums.customs_value += minor(cv_shown);
        sums.duty += minor(duty_shown);
        sums.duty_assessed += minor(duty_assessed);
        sums.consumption_tax += minor(ct.amount);
        sums.consumption_tax_assessed += minor(ct.assessed);
        sums.vat += minor(vat_figure.amount);
        sums.vat_assessed += minor(vat_figure.assessed);
        if let Some(flat) = &flat_rate_tax {
            sums.flat_rate_tax += minor(flat.amount);
            sums.flat_rate_tax_assessed += minor(flat.assessed);
        }
        if let Some(cross) = cross_border {
            sums.cross_border_tax += minor(cross);
            sums.any_cross_border = true;
        }
        sums.total_tax += minor(total_tax);
        sums.total_tax_assessed += minor(total_tax_assessed);
        lines.push(LineQuote {
            hs: line.hs,
            origin: line.origin,
            goods: w.goods_shown,
            freight: w.freight,
            insurance: w.insurance,
            customs_value: Figure {
                amount: cv_shown,
                assessed: cv_assessed,
                rule: Some(jurisdiction_rule),
            },
            duty: Duty {
                amount: duty_shown,
                assessed: duty_assessed,
                rate: duty_rate,
                components,
                rule: duty_rule,
            },
            consumption_tax: ct,
            vat: vat_figure,
            flat_rate_tax,
            tax_factor,
            cross_border_tax: cross_border,
            total_tax,
            total_tax_assessed,
        });
    }

    // Totals: sums of the lines, so that they always add up.
    let charges = input.incoterm.buyer_charges();
    explain.push(step(
        None,
        None,
        Step::Incoterm {
            incoterm: input.incoterm,
            charges,
        },
    ));
    let goods_sum = total(sums.goods, (wanted, wanted_dp), "goods")?;
    let freight_sum = total(sums.freight, (wanted, wanted_dp), "freight")?;
    let insurance_sum = total(sums.insurance, (wanted, wanted_dp), "insurance")?;
    let total_tax = total(sums.total_tax, (wanted, wanted_dp), "total_tax")?;
    let charged = |yes: bool, m: Money| if yes { minor(m) } else { 0 };
    let landed = total(
        minor(goods_sum)
            + charged(charges.freight, freight_sum)
            + charged(charges.insurance, insurance_sum)
            + charged(charges.import_taxes, total_tax),
        (wanted, wanted_dp),
        "landed",
    )?;
    let cross_border_tax = if sums.any_cross_border {
        Some(total(
            sums.cross_border_tax,
            (wanted, wanted_dp),
            "cross_border_tax",
        )?)
    } else {
        None
    };
    let totals = Totals {
        goods: goods_sum,
        freight: freight_sum,
        insurance: insurance_sum,
        customs_value: total(sums.customs_value, (wanted, wanted_dp), "customs_value")?,
        duty: total(sums.duty, (wanted, wanted_dp), "duty")?,
        consumption_tax: total(sums.consumption_tax, (wanted, wanted_dp), "consumption_tax")?,
        vat: total(sums.vat, (wanted, wanted_dp), "vat")?,
        flat_rate_tax: total(sums.flat_rate_tax, (wanted, wanted_dp), "flat_rate_tax")?,
        cross_border_tax,
        total_tax,
        landed,
    };
    let assessed = AssessedTotals {
        duty: total(sums.duty_assessed, (tax, tax_dp), "duty")?,
        consumption_tax: total(
            sums.consumption_tax_assessed,
            (tax, tax_dp),
            "consumption_tax",
        )?,
        vat: total(sums.vat_assessed, (tax, tax_dp), "vat")?,
        flat_rate_tax: total(sums.flat_rate_tax_assessed, (tax, tax_dp), "flat_rate_tax")?,
        total_tax: total(sums.total_tax_assessed, (tax, tax_dp), "total_tax")?,
    };

    let yearly = yearly_usage(
        pack.regimes.as_slice(),
        selected.regime,
        input,
        (goods_total, goods_freight_insurance),
        tax,
        &mut fx,
        (&mut explain, &mut rules),
    )?;
    Ok(Quote {
        date,
        destination: input.destination,
        jurisdiction: j.name.clone(),
        currency: wanted,
        tax_currency: tax,
        incoterm: input.incoterm,
        charged_to_buyer: charges,
        regime: RegimeDecision {
            name: selected.regime.map_or(GENERAL_TRADE, |r| r.name.clone()),
            requested: input.regime.clone(),
            rule: regime_rule,
            full_rates: selected.full_rates,
            refusals: selected.refusals,
        },
        lines,
        totals,
        assessed,
        yearly,
        rates: fx.used().cloned().collect(),
        explanation: explain,
        rules: rules.into_vec(),
    })
}

/// The buyer's yearly allowance after this order, where the applied regime has one (or, under
/// general trade, where the destination has one and prior use was given: it stays unchanged).
fn yearly_usage(
    regimes: &[RegimeRow],
    applied: Option<&RegimeRow>,
    input: &QuoteInput,
    (goods, goods_freight_insurance): (Decimal, Decimal),
    tax: Currency,
    fx: &mut Fx<'_>,
    (explain, rules): (&mut Vec<Explanation>, &mut RuleList),
) -> Result<Option<YearlyUsage>, QuoteError> {
    let counted = applied.filter(|r| r.yearly_limit.is_some());
    let regime = match counted {
        Some(r) => r,
        None => match (
            &input.yearly_used,
            regimes
                .iter()
                .find(|r| r.yearly_limit.is_some() && r.meta.valid_on(input.date)),
        ) {
            (Some(_), Some(r)) => r,
            _ => return Ok(None),
        },
    };
    let Some(limit) = regime.yearly_limit else {
        return Ok(None);
    };
    let ccy = regime.limit_currency;
    let before = match &input.yearly_used {
        Some(used) => fx.convert(used, ccy, RoundingRule::HalfUp, "yearly_used")?,
        None => {
            explain.push(step(
                None,
                Some(rules.ix(&regime.meta)),
                Step::YearlyAssumedZero,
            ));
            Money::zero(ccy)
        }
    };
    let after = if counted.is_some() {
        let basis = match regime.value_basis {
            ValueBasis::Goods => goods,
            ValueBasis::GoodsFreightInsurance => goods_freight_insurance,
        };
        let value = fx.apply(basis, tax, ccy)?;
        let value = rounding::round(value, ccy, RoundingRule::HalfUp)
            .map_err(QuoteError::money("yearly_used"))?;
        before
            .checked_add(value)
            .map_err(QuoteError::money("yearly_used"))?
    } else {
        before
    };
    let limit = rounding::round(limit, ccy, RoundingRule::HalfUp)
        .map_err(QuoteError::money("yearly_used"))?;
    let rule = rules.ix(&regime.meta);
    explain.push(step(
        None,
        Some(rule),
        Step::Yearly {
            before,
            after,
            limit,
        },
    ));
    Ok(Some(YearlyUsage {
        limit,
        used_before: before,
        used_after: after,
        assumed_zero: input.yearly_used.is_none(),
        rule,
    }))
}
