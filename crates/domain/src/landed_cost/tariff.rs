//! The duty rate of a line: the base (MFN, or a provisional rate in force), a preference where the
//! origin qualifies and proof is given, plus additional duties by origin not suspended.

use rust_decimal::Decimal;
use time::Date;

use super::error::QuoteError;
use super::explanation::{Explanation, Step};
use super::input::QuoteLine;
use super::output::{Components, DutyComponent, RuleList};
use super::rule_book::{Dated, LineRules};
use super::rule_pack::{RulePack, TariffCondition, TariffKind, TariffRow};

fn component(row: &TariffRow, applied: bool, rules: &mut RuleList) -> DutyComponent {
    DutyComponent {
        kind: row.kind,
        rate: row.rate,
        applied,
        rule: rules.ix(&row.meta),
    }
}

/// The measures met so far on a line: a few, kept inline.
#[derive(Default)]
struct Measures {
    inline: [u32; 4],
    len: usize,
    more: Vec<u32>,
}

impl Measures {
    /// False when `measure` was met before.
    fn insert(&mut self, measure: u32) -> bool {
        let inline = self.inline.get(..self.len).unwrap_or_default();
        if inline.contains(&measure) || self.more.contains(&measure) {
            return false;
        }
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = measure;
                self.len += 1;
            }
            None => self.more.push(measure),
        }
        true
    }
}

/// The rows of `list` in force on `date` for goods of `origin`, in list order.
fn in_force<'p>(
    list: &'p [Dated],
    rows: &'p [TariffRow],
    date: Date,
    origin: crate::Country,
) -> impl Iterator<Item = (&'p Dated, &'p TariffRow)> {
    list.iter()
        .filter(move |d| d.valid_on(date))
        .filter_map(|d| Some((d, rows.get(d.row as usize)?)))
        .filter(move |(_, row)| row.applies_to(origin))
}

/// Where a line's duty rate is recorded: its steps, its components and the rows they name.
pub(crate) struct Record<'a> {
    pub(crate) explain: &'a mut Vec<Explanation>,
    pub(crate) rules: &'a mut RuleList,
    pub(crate) components: &'a mut Components,
}

impl Record<'_> {
    /// A component of `row` and its step, for line `line`.
    fn note(&mut self, line: usize, row: &TariffRow, applied: bool, step: Step) {
        let component = component(row, applied, self.rules);
        self.explain.push(Explanation {
            line: Some(line),
            rule: Some(component.rule),
            step,
        });
        self.components.push(component);
    }
}

/// The ad valorem duty rate of a line (base or preference, plus additional duties), each row
/// that made it recorded.
pub(crate) fn duty_rate(
    found: &LineRules<'_>,
    pack: &RulePack,
    line: &QuoteLine,
    index: usize,
    date: Date,
    mut record: Record<'_>,
) -> Result<Decimal, QuoteError> {
    let rows = pack.tariffs.as_slice();
    let origin = line.origin;
    // The first row in force of each base kind; the lowest preference, proven or not.
    let mfn = in_force(found.mfn(), rows, date, origin).next();
    let provisional = in_force(found.provisional(), rows, date, origin).next();
    let mut preferential: Option<&TariffRow> = None;
    let mut unproven: Option<&TariffRow> = None;
    for (_, row) in in_force(found.preferential(), rows, date, origin) {
        let slot = if row.proof_required && !line.preferential_proof {
            &mut unproven
        } else {
            &mut preferential
        };
        if slot.is_none_or(|best| row.rate < best.rate) {
            *slot = Some(row);
        }
    }
    let base = provisional
        .or(mfn)
        .map(|(_, row)| row)
        .ok_or_else(|| QuoteError::NoRule {
            field: format!("lines[{index}].hs"),
            what: "tariff (MFN)",
            hs: line.hs.formatted(),
            jurisdiction: pack.jurisdiction.name.to_string(),
            date,
        })?;
    let preference = preferential.filter(|p| p.rate < base.rate);
    record.note(
        index,
        base,
        preference.is_none(),
        Step::BaseTariff {
            provisional: base.kind == TariffKind::Provisional,
            rate: base.rate,
        },
    );
    let mut rate = base.rate;
    if let Some(p) = preference {
        rate = p.rate;
        let step = Step::Preferential {
            agreement: p.agreement.clone(),
            rate: p.rate,
            applied: true,
        };
        record.note(index, p, true, step);
    } else if let Some(u) = unproven.filter(|u| u.rate < base.rate) {
        let step = Step::Preferential {
            agreement: u.agreement.clone(),
            rate: u.rate,
            applied: false,
        };
        record.note(index, u, false, step);
    }
    // Additional duties whose condition is met, the most specific row of each measure (rows come
    // most specific first), unless a suspension of the measure is in force.
    let condition_met = |row: &TariffRow| match row.condition {
        None => true,
        Some(TariffCondition::OverQuota) => line.over_quota,
    };
    let mut seen = Measures::default();
    for (dated, row) in in_force(found.additional(), rows, date, origin) {
        if !condition_met(row) || !seen.insert(dated.measure) {
            continue;
        }
        let suspension = in_force(found.suspension(), rows, date, origin)
            .find(|(d, _)| d.measure == dated.measure)
            .map(|(_, row)| row);
        match suspension {
            Some(suspension) => {
                let step = Step::Suspended {
                    measure: row.measure.clone(),
                };
                record.note(index, suspension, true, step);
                let component = component(row, false, record.rules);
                record.components.push(component);
            }
            None => {
                rate += row.rate;
                let step = Step::Additional {
                    measure: row.measure.clone(),
                    rate: row.rate,
                };
                record.note(index, row, true, step);
            }
        }
    }
    Ok(rate)
}
