//! The quote: goods, freight and insurance → customs value → duty, consumption tax and VAT (or a
//! special regime's treatment) → totals in the buyer's currency, each figure with its rule.

use rust_decimal::Decimal;

use crate::money::RoundingRule;
use crate::{Currency, Money};

use super::consumption_tax;
use super::error::QuoteError;
use super::exact;
use super::explanation::{Explanation, Step};
use super::freight::{compute_freight, insurance_amount};
use super::fx::Fx;
use super::input::QuoteInput;
use super::output::{
    AssessedTotals, ConsumptionTax, Duty, Figure, LineQuote, Quote, RegimeDecision, RuleIx,
    RuleList, Totals, Vat, YearlyUsage,
};
use super::regime::{self, Order};
use super::rounding;
use super::rule_book::RuleBook;
use super::rule_pack::{CustomsValueBasis, DutyMode, RegimeRow, TaxMode, ValueBasis};
use super::tariff;
use super::vat;

/// Most lines one quote may have, so that a request cannot ask for unbounded work.
pub const MAX_LINES: usize = 1000;

/// Bounds that keep every later step far inside a `Decimal`'s range, so no arithmetic can
/// overflow: 10^15 in the tax currency for values, 10^12 for quantities, 10^9 for measures.
fn value_bound() -> Decimal {
    Decimal::from(1_000_000_000_000_000_i64)
}

fn check_bound(
    value: Decimal,
    bound: Decimal,
    field: impl Into<String>,
) -> Result<Decimal, QuoteError> {
    if value > bound {
        Err(QuoteError::invalid(
            field,
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
        let max_quantity = Decimal::from(1_000_000_000_000_i64);
        if line.quantity.value() > max_quantity {
            check_bound(
                line.quantity.value(),
                max_quantity,
                format!("lines[{i}].quantity"),
            )?;
        }
        let m = &line.measures;
        for (name, value) in [
            ("litres_per_unit", m.litres_per_unit),
            ("ml_per_unit", m.ml_per_unit),
            ("grams_per_unit", m.grams_per_unit),
        ] {
            if value.is_some_and(|v| v <= Decimal::ZERO) {
                return Err(QuoteError::invalid(
                    format!("lines[{i}].measures.{name}"),
                    "must be greater than zero",
                ));
            }
            if let Some(v) = value.filter(|v| *v > Decimal::from(1_000_000_000_i64)) {
                check_bound(
                    v,
                    Decimal::from(1_000_000_000_i64),
                    format!("lines[{i}].measures.{name}"),
                )?;
            }
        }
    }
    Ok(())
}

/// Rounds a tax-currency figure, then shows it in the buyer's currency.
struct Show<'f, 'r> {
    fx: &'f mut Fx<'r>,
    tax: Currency,
    wanted: Currency,
    rounding: RoundingRule,
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
        rounding::round(amount, self.tax, self.rounding).map_err(|source| QuoteError::Money {
            field: format!("lines[{}].{}", field.0, field.1),
            source,
        })
    }

    /// (in the buyer's currency, as assessed)
    fn both(
        &mut self,
        amount: Decimal,
        field: (usize, &str),
    ) -> Result<(Money, Money), QuoteError> {
        let assessed = self.assess(amount, field)?;
        if assessed.currency() == self.wanted {
            return Ok((assessed, assessed));
        }
        let shown = self.fx.apply_rounded(
            assessed.amount(),
            self.tax,
            self.wanted,
            self.rounding,
            || format!("lines[{}].{}", field.0, field.1),
        )?;
        Ok((shown, assessed))
    }
}

/// The total of `items`, all in `currency`, as `Money::sum` gives it. Summed inline where every
/// item is in `currency` and the minor units stay within an `i64` (always, within the value
/// bounds); anything else takes `Money::sum`'s way, errors included.
fn sum<I>(currency: Currency, items: I, field: &str) -> Result<Money, QuoteError>
where
    I: Iterator<Item = Money> + Clone,
{
    let inline = items.clone().try_fold(0_i64, |total, item| {
        if item.currency() != currency {
            return None;
        }
        total.checked_add(item.to_minor().ok()?)
    });
    match inline {
        Some(total) => Ok(Money::from_minor(total, currency)),
        None => Money::sum(currency, items).map_err(QuoteError::money(field)),
    }
}

/// The total over the lines of the figure `pick` reads.
fn line_total(
    lines: &[LineQuote],
    currency: Currency,
    pick: impl Fn(&LineQuote) -> Money + Clone,
    field: &str,
) -> Result<Money, QuoteError> {
    sum(currency, lines.iter().map(pick), field)
}

/// The lines' figures summed in minor units (each figure's scale is its currency's minor unit,
/// so its mantissa counts minor units), in one pass rather than one per total.
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

impl LineSums {
    fn add(&mut self, l: &LineQuote) {
        let minor = |m: Money| m.amount().mantissa();
        // At most MAX_LINES figures below 2^96 each: an i128 cannot overflow.
        self.goods += minor(l.goods);
        self.freight += minor(l.freight);
        self.insurance += minor(l.insurance);
        self.customs_value += minor(l.customs_value.amount);
        self.duty += minor(l.duty.amount);
        self.consumption_tax += minor(l.consumption_tax.amount);
        self.vat += minor(l.vat.amount);
        if let Some(flat) = &l.flat_rate_tax {
            self.flat_rate_tax += minor(flat.amount);
            self.flat_rate_tax_assessed += minor(flat.assessed);
        }
        if let Some(cross) = l.cross_border_tax {
            self.cross_border_tax += minor(cross);
            self.any_cross_border = true;
        }
        self.total_tax += minor(l.total_tax);
        self.duty_assessed += minor(l.duty.assessed);
        self.consumption_tax_assessed += minor(l.consumption_tax.assessed);
        self.vat_assessed += minor(l.vat.assessed);
        self.total_tax_assessed += minor(l.total_tax_assessed);
    }
}

/// `amount × factor`; a factor of one leaves the value as it is, so the product is skipped.
fn times(amount: Decimal, factor: Decimal, unit: bool) -> Decimal {
    if unit { amount } else { amount * factor }
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
            jurisdiction: j.name.clone(),
            date,
            starts: j.meta.0.valid_from,
        });
    }
    let tax = j.tax_currency;
    let wanted = input.currency;
    let mut fx = Fx::new(&input.rates);
    // Room for every step of a line (up to 8 with a preference and additional duties) and the
    // order's own, so that the list is not moved while it grows.
    let mut explain = Vec::with_capacity(10 + 8 * input.lines.len());
    // A line uses at most about five rows of its own; the order a few more.
    let mut rules = RuleList::with_capacity(8 + 4 * input.lines.len());
    let jurisdiction_rule = rules.ix(&j.meta);

    // Goods per line, in the tax currency at full precision.
    let mut goods = Vec::with_capacity(input.lines.len());
    let mut goods_shown = Vec::with_capacity(input.lines.len());
    for (i, line) in input.lines.iter().enumerate() {
        let field = || format!("lines[{i}].unit_value");
        let value = line
            .unit_value
            .mul_unrounded(line.quantity.value())
            .map_err(|e| QuoteError::money(field())(e))?;
        let in_tax = fx.apply(value, line.unit_value.currency(), tax)?;
        if in_tax > value_bound() {
            check_bound(in_tax, value_bound(), field())?;
        }
        goods.push(in_tax);
        let shown = fx.apply(value, line.unit_value.currency(), wanted)?;
        goods_shown.push(
            rounding::round(shown, wanted, j.rounding)
                .map_err(|e| QuoteError::money(field())(e))?,
        );
    }
    let goods_total = check_bound(goods.iter().copied().sum(), value_bound(), "lines")?;
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
        value_bound(),
        "freight",
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
            let amount = rounding::round(amount, tax, RoundingRule::HalfUp)
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
        value_bound(),
        "insurance",
    )?;

    // Each line's rules are looked up once, for the regime and the line's figures alike.
    let entries: Vec<_> = input
        .lines
        .iter()
        .map(|line| book.entries(pack_index, &line.hs))
        .collect();

    // Regime.
    let order = Order {
        buyer: input.buyer,
        lines: &input.lines,
        entries: &entries,
        mode: input.transport.as_ref().map(|t| t.mode),
        goods: goods_total,
        goods_freight_insurance: goods_total + freight_tax + insurance_tax,
        yearly_used: input.yearly_used.as_ref(),
    };
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
    let weights: Vec<Decimal> = goods_shown.iter().map(Money::amount).collect();
    let split = |total: &Money, field: &str| -> Result<Vec<Money>, QuoteError> {
        if weights.iter().all(Decimal::is_zero) {
            total.allocate_evenly(weights.len())
        } else {
            total.allocate(&weights)
        }
        .map_err(QuoteError::money(field))
    };
    let freight_lines = split(&freight_shown, "freight")?;
    let insurance_lines = split(&insurance_shown, "insurance")?;

    let mut show = Show {
        fx: &mut fx,
        tax,
        wanted,
        rounding: j.rounding,
    };
    let zero = Money::zero(wanted);
    let zero_assessed = Money::zero(tax);
    let count = Decimal::from(input.lines.len());
    let mut seen_subheadings: Vec<&str> = Vec::new();
    let mut lines = Vec::with_capacity(input.lines.len());
    for ((i, line), entries) in input.lines.iter().enumerate().zip(&entries) {
        let g = goods.get(i).copied().unwrap_or_default();
        // Freight and insurance pro rata by goods value, at full precision: g × (goods + freight
        // + insurance) / goods in one division, the product kept exact (see [`exact`]). Where
        // the quotient would leave a Decimal's range (or there are no goods), by the ratio,
        // which is ≤ 1.
        let cif =
            exact::mul_div(g, order.goods_freight_insurance, goods_total).unwrap_or_else(|| {
                let ratio = if goods_total.is_zero() {
                    Decimal::ONE / count
                } else {
                    g / goods_total
                };
                g + freight_tax * ratio + insurance_tax * ratio
            });
        let cv = match j.customs_value {
            CustomsValueBasis::Cif => cif,
            CustomsValueBasis::Fob => g,
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
        let mut components = Vec::new();
        let mut duty_rule = None;
        let duty = match duty_mode {
            DutyMode::General => {
                let rate =
                    tariff::duty_rate(entries, pack, line, i, date, &mut explain, &mut rules)?;
                duty_rate = Some(rate.rate);
                components = rate.components;
                cv * rate.rate
            }
            DutyMode::None => {
                explain.push(step(Some(i), regime_rule, Step::NoDuty));
                Decimal::ZERO
            }
            DutyMode::FlatPerSubheading(amount) => {
                let sub = line.hs.subheading();
                duty_rule = regime_rule;
                if seen_subheadings.contains(&sub) {
                    Decimal::ZERO
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
                    amount
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
                let mut ct_full = Decimal::ZERO;
                if let Some(row) = consumption_tax::find(entries, pack, date) {
                    let assessment = consumption_tax::assess(row, line, i, cv, duty)?;
                    let rule = rules.ix(&row.meta);
                    ct_full = assessment.amount;
                    let (shown, assessed) =
                        show.both(times(ct_full, factor, unit), (i, "consumption_tax"))?;
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
                let row = vat::find(entries, pack, line, i, input.destination, date)?;
                // VAT is on the statutory consumption tax; the regime factor applies after.
                let vat_full = (cv + duty + ct_full) * row.rate;
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
                let (shown, assessed) = show.both(cv * rate, (i, "flat_rate_tax"))?;
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
        let flat_shown = flat_rate_tax.as_ref().map(|f| f.amount);
        let flat_assessed = flat_rate_tax.as_ref().map(|f| f.assessed);
        let total_tax = sum(
            wanted,
            [duty_shown, ct.amount, vat_figure.amount]
                .into_iter()
                .chain(flat_shown),
            "total_tax",
        )?;
        let total_tax_assessed = sum(
            tax,
            [duty_assessed, ct.assessed, vat_figure.assessed]
                .into_iter()
                .chain(flat_assessed),
            "total_tax",
        )?;
        let cross_border = selected
            .regime
            .filter(|_| tax_factor.is_some())
            .map(|_| total_tax);
        lines.push(LineQuote {
            hs: line.hs,
            origin: line.origin,
            goods: goods_shown.get(i).copied().unwrap_or(zero),
            freight: freight_lines.get(i).copied().unwrap_or(zero),
            insurance: insurance_lines.get(i).copied().unwrap_or(zero),
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
    let mut sums = LineSums::default();
    for l in &lines {
        sums.add(l);
    }
    // Each total from the one-pass sums; a total beyond an i64 of minor units takes the checked
    // way, which names the figure in its error.
    let total = |minor: i128, currency: Currency, pick: fn(&LineQuote) -> Option<Money>, field| {
        match i64::try_from(minor) {
            Ok(minor) => Ok(Money::from_minor(minor, currency)),
            Err(_) => line_total(
                &lines,
                currency,
                |l| pick(l).unwrap_or(Money::zero(currency)),
                field,
            ),
        }
    };
    let goods_sum = total(sums.goods, wanted, |l| Some(l.goods), "goods")?;
    let freight_sum = total(sums.freight, wanted, |l| Some(l.freight), "freight")?;
    let insurance_sum = total(sums.insurance, wanted, |l| Some(l.insurance), "insurance")?;
    let total_tax = total(sums.total_tax, wanted, |l| Some(l.total_tax), "total_tax")?;
    let landed = sum(
        wanted,
        [
            goods_sum,
            if charges.freight { freight_sum } else { zero },
            if charges.insurance {
                insurance_sum
            } else {
                zero
            },
            if charges.import_taxes {
                total_tax
            } else {
                zero
            },
        ]
        .into_iter(),
        "landed",
    )?;
    let cross_border_tax = if sums.any_cross_border {
        Some(total(
            sums.cross_border_tax,
            wanted,
            |l| l.cross_border_tax,
            "cross_border_tax",
        )?)
    } else {
        None
    };
    let totals = Totals {
        goods: goods_sum,
        freight: freight_sum,
        insurance: insurance_sum,
        customs_value: total(
            sums.customs_value,
            wanted,
            |l| Some(l.customs_value.amount),
            "customs_value",
        )?,
        duty: total(sums.duty, wanted, |l| Some(l.duty.amount), "duty")?,
        consumption_tax: total(
            sums.consumption_tax,
            wanted,
            |l| Some(l.consumption_tax.amount),
            "consumption_tax",
        )?,
        vat: total(sums.vat, wanted, |l| Some(l.vat.amount), "vat")?,
        flat_rate_tax: total(
            sums.flat_rate_tax,
            wanted,
            |l| l.flat_rate_tax.as_ref().map(|f| f.amount),
            "flat_rate_tax",
        )?,
        cross_border_tax,
        total_tax,
        landed,
    };
    let assessed = AssessedTotals {
        duty: total(sums.duty_assessed, tax, |l| Some(l.duty.assessed), "duty")?,
        consumption_tax: total(
            sums.consumption_tax_assessed,
            tax,
            |l| Some(l.consumption_tax.assessed),
            "consumption_tax",
        )?,
        vat: total(sums.vat_assessed, tax, |l| Some(l.vat.assessed), "vat")?,
        flat_rate_tax: total(
            sums.flat_rate_tax_assessed,
            tax,
            |l| l.flat_rate_tax.as_ref().map(|f| f.assessed),
            "flat_rate_tax",
        )?,
        total_tax: total(
            sums.total_tax_assessed,
            tax,
            |l| Some(l.total_tax_assessed),
            "total_tax",
        )?,
    };

    let yearly = yearly_usage(
        pack.regimes.as_slice(),
        selected.regime,
        input,
        &order,
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
            name: selected
                .regime
                .map_or_else(|| "general_trade".to_owned(), |r| r.name.clone()),
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
    order: &Order<'_>,
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
            ValueBasis::Goods => order.goods,
            ValueBasis::GoodsFreightInsurance => order.goods_freight_insurance,
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
