//! The rule packs of every destination, indexed for quoting.
//!
//! The rows that can apply to a code are resolved once, when the book is built: for every HS
//! prefix a pack files rows under, the rows of that prefix and of every shorter one ("*"
//! included), most specific prefix first and newest first within a prefix, with the tariff rows
//! split by kind. A line's rules are then one hash probe on its 6-digit subheading (plus a look
//! at the few national lines filed under it) and a date filter on short lists.

use std::collections::{HashMap, HashSet};

use time::Date;

use crate::{Country, HsCode};

use super::error::RuleBookError;
use super::hs_key::{KeyHash, PrefixKey};
use super::incoterms::TransportMode;
use super::rule_pack::{
    FreightRateRow, FreightTables, InsuranceRow, RulePack, RuleRef, TariffKind,
};

/// A row of a resolved list: its index in the pack's table and its dates, copied here so that
/// the date filter reads no row; for tariff rows also the number of the measure it belongs to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dated {
    pub(crate) row: u32,
    /// Tariff rows: the measure's number (rows of one measure share it); otherwise 0.
    pub(crate) measure: u32,
    from: Date,
    /// `Date::MAX` for a row in force until further notice.
    to: Date,
}

impl Dated {
    fn new(row: usize, measure: u32, rule: &RuleRef) -> Dated {
        Dated {
            row: u32::try_from(row).unwrap_or(u32::MAX),
            measure,
            from: rule.0.valid_from,
            to: rule.0.valid_to.unwrap_or(Date::MAX),
        }
    }

    /// As [`RuleRef::valid_on`].
    pub(crate) fn valid_on(&self, date: Date) -> bool {
        self.from <= date && date <= self.to
    }
}

/// A run of the book's list of [`Dated`] rows.
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    start: u32,
    len: u32,
}

/// The resolved lists of one HS prefix (see the module's documentation).
#[derive(Clone, Copy, Debug, Default)]
struct Resolved {
    mfn: Span,
    provisional: Span,
    preferential: Span,
    additional: Span,
    suspension: Span,
    vat: Span,
    consumption_taxes: Span,
    positive_list: Span,
    /// On a 6-digit subheading: the 8- and 10-digit national lines filed under it (positions in
    /// `RuleBook::extensions`), longest first.
    extensions: Span,
}

/// The rows that may apply to one line's HS code, resolved at load time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineRules<'b> {
    dated: &'b [Dated],
    node: &'b Resolved,
}

impl<'b> LineRules<'b> {
    fn span(&self, span: Span) -> &'b [Dated] {
        let start = span.start as usize;
        self.dated
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    pub(crate) fn mfn(&self) -> &'b [Dated] {
        self.span(self.node.mfn)
    }

    pub(crate) fn provisional(&self) -> &'b [Dated] {
        self.span(self.node.provisional)
    }

    pub(crate) fn preferential(&self) -> &'b [Dated] {
        self.span(self.node.preferential)
    }

    pub(crate) fn additional(&self) -> &'b [Dated] {
        self.span(self.node.additional)
    }

    pub(crate) fn suspension(&self) -> &'b [Dated] {
        self.span(self.node.suspension)
    }

    pub(crate) fn vat(&self) -> &'b [Dated] {
        self.span(self.node.vat)
    }

    pub(crate) fn consumption_taxes(&self) -> &'b [Dated] {
        self.span(self.node.consumption_taxes)
    }

    pub(crate) fn positive_list(&self) -> &'b [Dated] {
        self.span(self.node.positive_list)
    }
}

/// No rows at all: a code under no prefix of its pack.
static NOTHING: Resolved = Resolved {
    mfn: Span { start: 0, len: 0 },
    provisional: Span { start: 0, len: 0 },
    preferential: Span { start: 0, len: 0 },
    additional: Span { start: 0, len: 0 },
    suspension: Span { start: 0, len: 0 },
    vat: Span { start: 0, len: 0 },
    consumption_taxes: Span { start: 0, len: 0 },
    positive_list: Span { start: 0, len: 0 },
    extensions: Span { start: 0, len: 0 },
};

/// The rows of one pack filed under one HS prefix (indexes into the pack's vectors), newest
/// `valid_from` first.
#[derive(Debug, Default)]
struct Filed {
    tariffs: Vec<u32>,
    vat: Vec<u32>,
    consumption_taxes: Vec<u32>,
    positive_list: Vec<u32>,
}

type Lane = (Country, Country, TransportMode);

/// Every rule pack, indexed. Built once (at start-up or after an import) and shared read-only.
#[derive(Debug)]
pub struct RuleBook {
    packs: Vec<RulePack>,
    /// Packs by country (`country_key`).
    by_country: HashMap<u64, usize, KeyHash>,
    /// Resolved lists by prefix key (`PrefixKey::index_key`), positions in `resolved`.
    hs: HashMap<u64, u32, KeyHash>,
    resolved: Vec<Resolved>,
    dated: Vec<Dated>,
    /// National lines under subheadings: the line's key and its position in `resolved`.
    extensions: Vec<(PrefixKey, u32)>,
    /// Weight breaks of each lane, highest break first.
    lanes: HashMap<Lane, Vec<FreightRateRow>>,
    insurance: Vec<InsuranceRow>,
}

/// A country's code as a number, for the packs' index.
fn country_key(country: Country) -> u64 {
    country
        .code()
        .bytes()
        .fold(0, |key, byte| (key << 8) | u64::from(byte))
}

fn span(start: usize, end: usize) -> Span {
    Span {
        start: u32::try_from(start).unwrap_or(u32::MAX),
        len: u32::try_from(end - start).unwrap_or(0),
    }
}

impl RuleBook {
    /// Indexes `packs` and the freight tables; refuses a country in two packs and a rule id used
    /// twice anywhere.
    pub fn new(packs: Vec<RulePack>, freight: FreightTables) -> Result<RuleBook, RuleBookError> {
        if packs.len() >= 1 << 24 {
            return Err(RuleBookError::TooManyPacks);
        }
        let mut ids = HashSet::new();
        let mut check_id = |id: &str| {
            if ids.insert(id.to_owned()) {
                Ok(())
            } else {
                Err(RuleBookError::DuplicateId { id: id.to_owned() })
            }
        };
        let mut by_country: HashMap<u64, usize, KeyHash> = HashMap::default();
        let mut filed: HashMap<(usize, PrefixKey), Filed> = HashMap::new();
        for (index, pack) in packs.iter().enumerate() {
            let name = &pack.jurisdiction.name;
            check_id(pack.jurisdiction.meta.id())?;
            for country in &pack.jurisdiction.countries {
                if let Some(first) = by_country.insert(country_key(*country), index) {
                    let first = packs
                        .get(first)
                        .map(|p| p.jurisdiction.name.to_string())
                        .unwrap_or_default();
                    return Err(RuleBookError::CountryInTwoPacks {
                        country: *country,
                        first,
                        second: name.to_string(),
                    });
                }
            }
            for regime in &pack.regimes {
                check_id(regime.meta.id())?;
            }
            let mut file = |key: PrefixKey, pick: fn(&mut Filed) -> &mut Vec<u32>, row: usize| {
                let row = u32::try_from(row).unwrap_or(u32::MAX);
                pick(filed.entry((index, key)).or_default()).push(row);
            };
            for (row, tariff) in pack.tariffs.iter().enumerate() {
                check_id(tariff.meta.id())?;
                file(tariff.hs, |e| &mut e.tariffs, row);
            }
            for (row, vat) in pack.vat.iter().enumerate() {
                check_id(vat.meta.id())?;
                file(vat.hs, |e| &mut e.vat, row);
            }
            for (row, tax) in pack.consumption_taxes.iter().enumerate() {
                check_id(tax.meta.id())?;
                file(tax.hs, |e| &mut e.consumption_taxes, row);
            }
            for (row, listed) in pack.positive_list.iter().enumerate() {
                check_id(listed.meta.id())?;
                file(listed.hs, |e| &mut e.positive_list, row);
            }
        }
        // Newest first within each prefix (a stable sort: rows of one date keep file order).
        for ((index, _), entry) in filed.iter_mut() {
            let Some(pack) = packs.get(*index) else {
                continue;
            };
            let newest_first = |rows: &mut Vec<u32>, from: &dyn Fn(usize) -> Option<Date>| {
                rows.sort_by_key(|i| std::cmp::Reverse(from(*i as usize)));
            };
            newest_first(&mut entry.tariffs, &|i| {
                pack.tariffs.get(i).map(|r| r.meta.0.valid_from)
            });
            newest_first(&mut entry.vat, &|i| {
                pack.vat.get(i).map(|r| r.meta.0.valid_from)
            });
            newest_first(&mut entry.consumption_taxes, &|i| {
                pack.consumption_taxes.get(i).map(|r| r.meta.0.valid_from)
            });
            newest_first(&mut entry.positive_list, &|i| {
                pack.positive_list.get(i).map(|r| r.meta.0.valid_from)
            });
        }
        let (hs, resolved, dated, extensions) = resolve(&packs, &filed);
        let mut lanes: HashMap<Lane, Vec<FreightRateRow>> = HashMap::new();
        for row in freight.rates {
            check_id(row.meta.id())?;
            lanes
                .entry((row.origin, row.destination, row.mode))
                .or_default()
                .push(row);
        }
        for rows in lanes.values_mut() {
            rows.sort_by_key(|row| std::cmp::Reverse(row.min_chargeable_kg));
        }
        for row in &freight.insurance {
            check_id(row.meta.id())?;
        }
        Ok(RuleBook {
            packs,
            by_country,
            hs,
            resolved,
            dated,
            extensions,
            lanes,
            insurance: freight.insurance,
        })
    }

    /// The pack covering `country`, with its index.
    pub(crate) fn pack_for(&self, country: Country) -> Option<(usize, &RulePack)> {
        let index = *self.by_country.get(&country_key(country))?;
        Some((index, self.packs.get(index)?))
    }

    pub fn packs(&self) -> &[RulePack] {
        &self.packs
    }

    fn node(&self, pack: usize, key: PrefixKey) -> Option<&Resolved> {
        let at = *self.hs.get(&key.index_key(pack))?;
        self.resolved.get(at as usize)
    }

    /// The rows of pack `pack` that may apply to `code`: those of its most specific prefix with
    /// rows, resolved with every shorter prefix's.
    pub(crate) fn line_rules(&self, pack: usize, code: &HsCode) -> LineRules<'_> {
        let full = PrefixKey::of_code(code);
        let node = match self.node(pack, full.head(6)) {
            Some(sub) => {
                let start = sub.extensions.start as usize;
                let national = self
                    .extensions
                    .get(start..start + sub.extensions.len as usize)
                    .unwrap_or_default()
                    .iter()
                    .find(|(key, _)| key.len() <= full.len() && full.head(key.len() as u8) == *key)
                    .and_then(|(_, at)| self.resolved.get(*at as usize));
                national.unwrap_or(sub)
            }
            None => [4, 2, 0]
                .into_iter()
                .find_map(|len| self.node(pack, full.head(len)))
                .unwrap_or(&NOTHING),
        };
        LineRules {
            dated: &self.dated,
            node,
        }
    }

    /// The weight breaks of a lane, highest first.
    pub(crate) fn lane(
        &self,
        origin: Country,
        destination: Country,
        mode: TransportMode,
    ) -> &[FreightRateRow] {
        self.lanes
            .get(&(origin, destination, mode))
            .map_or(&[], Vec::as_slice)
    }

    /// The insurance row in force for `destination` (a row for the country before one for all).
    pub(crate) fn insurance_for(&self, destination: Country, date: Date) -> Option<&InsuranceRow> {
        let valid = |r: &&InsuranceRow| r.meta.valid_on(date);
        self.insurance
            .iter()
            .filter(valid)
            .find(|r| r.destination == Some(destination))
            .or_else(|| {
                self.insurance
                    .iter()
                    .filter(valid)
                    .find(|r| r.destination.is_none())
            })
    }
}

type Index = (
    HashMap<u64, u32, KeyHash>,
    Vec<Resolved>,
    Vec<Dated>,
    Vec<(PrefixKey, u32)>,
);

/// The resolved lists of every prefix with rows, and of every subheading with national lines
/// filed under it.
fn resolve(packs: &[RulePack], filed: &HashMap<(usize, PrefixKey), Filed>) -> Index {
    // Measures numbered across the book, so that rows of one measure are matched by number.
    let mut measures: HashMap<&str, u32> = HashMap::new();
    for pack in packs {
        for row in &pack.tariffs {
            let next = u32::try_from(measures.len()).unwrap_or(u32::MAX);
            measures.entry(&*row.measure).or_insert(next);
        }
    }
    let mut keys: Vec<(usize, PrefixKey)> = filed.keys().copied().collect();
    for (pack, key) in filed.keys() {
        if key.len() > 6 {
            keys.push((*pack, key.head(6)));
        }
    }
    keys.sort_unstable();
    keys.dedup();

    let mut hs: HashMap<u64, u32, KeyHash> = HashMap::default();
    let mut resolved = Vec::with_capacity(keys.len());
    let mut dated = Vec::new();
    let none = Filed::default();
    for &(index, key) in &keys {
        let Some(pack) = packs.get(index) else {
            continue;
        };
        // This prefix's rows, then its parents', most specific first.
        let chain: Vec<&Filed> = std::iter::successors(Some(key), |k| k.parent())
            .map(|k| filed.get(&(index, k)).unwrap_or(&none))
            .collect();
        let mut node = Resolved::default();
        let kinds = [
            (TariffKind::Mfn, &mut node.mfn),
            (TariffKind::Provisional, &mut node.provisional),
            (TariffKind::Preferential, &mut node.preferential),
            (TariffKind::Additional, &mut node.additional),
            (TariffKind::Suspension, &mut node.suspension),
        ];
        for (kind, slot) in kinds {
            let start = dated.len();
            for row in chain.iter().flat_map(|f| &f.tariffs) {
                if let Some(tariff) = pack.tariffs.get(*row as usize)
                    && tariff.kind == kind
                {
                    let measure = measures.get(&*tariff.measure).copied().unwrap_or(0);
                    dated.push(Dated::new(*row as usize, measure, &tariff.meta));
                }
            }
            *slot = span(start, dated.len());
        }
        let start = dated.len();
        for row in chain.iter().flat_map(|f| &f.vat) {
            if let Some(vat) = pack.vat.get(*row as usize) {
                dated.push(Dated::new(*row as usize, 0, &vat.meta));
            }
        }
        node.vat = span(start, dated.len());
        let start = dated.len();
        for row in chain.iter().flat_map(|f| &f.consumption_taxes) {
            if let Some(tax) = pack.consumption_taxes.get(*row as usize) {
                dated.push(Dated::new(*row as usize, 0, &tax.meta));
            }
        }
        node.consumption_taxes = span(start, dated.len());
        let start = dated.len();
        for row in chain.iter().flat_map(|f| &f.positive_list) {
            if let Some(listed) = pack.positive_list.get(*row as usize) {
                dated.push(Dated::new(*row as usize, 0, &listed.meta));
            }
        }
        node.positive_list = span(start, dated.len());
        hs.insert(
            key.index_key(index),
            u32::try_from(resolved.len()).unwrap_or(u32::MAX),
        );
        resolved.push(node);
    }

    // National lines under each subheading, longest first.
    let mut national: Vec<(usize, PrefixKey)> = keys
        .iter()
        .filter(|(_, key)| key.len() > 6)
        .copied()
        .collect();
    national.sort_by_key(|(pack, key)| (*pack, key.head(6), std::cmp::Reverse(key.len())));
    let mut extensions = Vec::with_capacity(national.len());
    let mut at = 0;
    while let Some(&(pack, first)) = national.get(at) {
        let sub = first.head(6);
        let start = extensions.len();
        while let Some(&(p, key)) = national.get(at) {
            if p != pack || key.head(6) != sub {
                break;
            }
            if let Some(node) = hs.get(&key.index_key(p)) {
                extensions.push((key, *node));
            }
            at += 1;
        }
        if let Some(node) = hs
            .get(&sub.index_key(pack))
            .and_then(|n| resolved.get_mut(*n as usize))
        {
            node.extensions = span(start, extensions.len());
        }
    }
    (hs, resolved, dated, extensions)
}
