//! The duty rate of a line: the base (MFN, or a provisional rate in force), a preference where the
//! origin qualifies and proof is given, plus additional duties by origin not suspended.

use rust_decimal::Decimal;
use time::Date;

use super::error::QuoteError;
use super::explanation::{Explanation, Step};
use super::input::QuoteLine;
use super::output::{DutyComponent, RuleList};
use super::rule_book::LineEntries;
use super::rule_pack::{RulePack, TariffCondition, TariffKind, TariffRow};

pub(crate) struct DutyRate {
    pub(crate) rate: Decimal,
    pub(crate) components: Vec<DutyComponent>,
}

fn component(row: &TariffRow, applied: bool, rules: &mut RuleList) -> DutyComponent {
    DutyComponent {
        kind: row.kind,
        rate: row.rate,
        applied,
        rule: rules.ix(&row.meta),
    }
}

pub(crate) fn duty_rate(
    entries: &LineEntries<'_>,
    pack: &RulePack,
    line: &QuoteLine,
    index: usize,
    date: Date,
    explain: &mut Vec<Explanation>,
    rules: &mut RuleList,
) -> Result<DutyRate, QuoteError> {
    let mut mfn: Option<&TariffRow> = None;
    let mut provisional: Option<&TariffRow> = None;
    let mut preferential: Option<&TariffRow> = None;
    let mut unproven: Option<&TariffRow> = None;
    let mut additional: Vec<&TariffRow> = Vec::new();
    let mut suspensions: Vec<&TariffRow> = Vec::new();
    for entry in entries.iter() {
        for row in entry
            .tariffs
            .iter()
            .filter_map(|i| pack.tariffs.get(*i as usize))
            .filter(|row| row.meta.valid_on(date) && row.applies_to(line.origin))
        {
            match row.kind {
                TariffKind::Mfn => {
                    mfn.get_or_insert(row);
                }
                TariffKind::Provisional => {
                    provisional.get_or_insert(row);
                }
                TariffKind::Preferential => {
                    let slot = if row.proof_required && !line.preferential_proof {
                        &mut unproven
                    } else {
                        &mut preferential
                    };
                    if slot.is_none_or(|best| row.rate < best.rate) {
                        *slot = Some(row);
                    }
                }
                TariffKind::Additional => {
                    let condition_met = match row.condition {
                        None => true,
                        Some(TariffCondition::OverQuota) => line.over_quota,
                    };
                    // The most specific row of a measure wins, and rows come most specific first.
                    if condition_met && !additional.iter().any(|a| a.measure == row.measure) {
                        additional.push(row);
                    }
                }
                TariffKind::Suspension => suspensions.push(row),
            }
        }
    }
    let base = provisional.or(mfn).ok_or_else(|| QuoteError::NoRule {
        field: format!("lines[{index}].hs"),
        what: "tariff (MFN)",
        hs: line.hs.formatted(),
        jurisdiction: pack.jurisdiction.name.clone(),
        date,
    })?;
    let mut components = Vec::with_capacity(2 + additional.len());
    let mut push = |step: Step,
                    row: &TariffRow,
                    applied: bool,
                    components: &mut Vec<DutyComponent>,
                    rules: &mut RuleList| {
        let component = component(row, applied, rules);
        explain.push(Explanation {
            line: Some(index),
            rule: Some(component.rule),
            step,
        });
        components.push(component);
    };
    let preference = preferential.filter(|p| p.rate < base.rate);
    push(
        Step::BaseTariff {
            provisional: base.kind == TariffKind::Provisional,
            rate: base.rate,
        },
        base,
        preference.is_none(),
        &mut components,
        rules,
    );
    let mut rate = base.rate;
    if let Some(p) = preference {
        rate = p.rate;
        push(
            Step::Preferential {
                agreement: p.agreement.clone(),
                rate: p.rate,
                applied: true,
            },
            p,
            true,
            &mut components,
            rules,
        );
    } else if let Some(u) = unproven.filter(|u| u.rate < base.rate) {
        push(
            Step::Preferential {
                agreement: u.agreement.clone(),
                rate: u.rate,
                applied: false,
            },
            u,
            false,
            &mut components,
            rules,
        );
    }
    for row in additional {
        match suspensions.iter().find(|s| s.measure == row.measure) {
            Some(suspension) => {
                push(
                    Step::Suspended {
                        measure: row.measure.clone(),
                    },
                    suspension,
                    true,
                    &mut components,
                    rules,
                );
                components.push(component(row, false, rules));
            }
            None => {
                rate += row.rate;
                push(
                    Step::Additional {
                        measure: row.measure.clone(),
                        rate: row.rate,
                    },
                    row,
                    true,
                    &mut components,
                    rules,
                );
            }
        }
    }
    Ok(DutyRate { rate, components })
}
