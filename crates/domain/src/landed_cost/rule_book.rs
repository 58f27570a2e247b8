//! The rule packs of every destination, indexed for quoting: per pack and HS prefix, so that a
//! line's rules are found with one hash probe per prefix length, never by scanning rows.

use std::collections::{HashMap, HashSet};

use time::Date;

use crate::{Country, HsCode};

use super::error::RuleBookError;
use super::hs_key::{KeyHash, PrefixKey, prefixes_of};
use super::incoterms::TransportMode;
use super::rule_pack::{FreightRateRow, FreightTables, InsuranceRow, RulePack};

/// The rows of one pack filed under one HS prefix (indexes into the pack's vectors), newest
/// `valid_from` first so that the first row in force on a date is the current one.
#[derive(Debug, Default)]
pub(crate) struct HsEntry {
    pub(crate) tariffs: Vec<u32>,
    pub(crate) vat: Vec<u32>,
    pub(crate) consumption_taxes: Vec<u32>,
    pub(crate) positive_list: Vec<u32>,
}

/// Prefixes of an HS code (6, 8 or 10 digits) at most: 10, 8, 6, 4, 2 digits and "*".
const MAX_PREFIXES: usize = 6;

/// The entries filed under each prefix of one line's HS code, most specific first: looked up
/// once per line and shared by the tariff, the taxes and the positive list.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LineEntries<'b> {
    found: [Option<&'b HsEntry>; MAX_PREFIXES],
}

impl<'b> LineEntries<'b> {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'b HsEntry> {
        self.found.into_iter().flatten()
    }
}

type Lane = (Country, Country, TransportMode);

/// Every rule pack, indexed. Built once (at start-up or after an import) and shared read-only.
#[derive(Debug)]
pub struct RuleBook {
    packs: Vec<RulePack>,
    by_country: HashMap<Country, usize>,
    hs: HashMap<u64, HsEntry, KeyHash>,
    /// Weight breaks of each lane, highest break first.
    lanes: HashMap<Lane, Vec<FreightRateRow>>,
    insurance: Vec<InsuranceRow>,
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
        let mut by_country = HashMap::new();
        let mut hs: HashMap<u64, HsEntry, KeyHash> = HashMap::default();
        for (index, pack) in packs.iter().enumerate() {
            let name = &pack.jurisdiction.name;
            check_id(pack.jurisdiction.meta.id())?;
            for country in &pack.jurisdiction.countries {
                if let Some(first) = by_country.insert(*country, index) {
                    let first = packs
                        .get(first)
                        .map(|p| p.jurisdiction.name.clone())
                        .unwrap_or_default();
                    return Err(RuleBookError::CountryInTwoPacks {
                        country: *country,
                        first,
                        second: name.clone(),
                    });
                }
            }
            for regime in &pack.regimes {
                check_id(regime.meta.id())?;
            }
            let mut file = |key: PrefixKey, pick: fn(&mut HsEntry) -> &mut Vec<u32>, row: usize| {
                let row = u32::try_from(row).unwrap_or(u32::MAX);
                pick(hs.entry(key.index_key(index)).or_default()).push(row);
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
        // Newest first within each prefix, so lookups stop at the first row in force.
        let packs_ref = &packs;
        for (key, entry) in hs.iter_mut() {
            let Some(pack) = usize::try_from(key >> 40)
                .ok()
                .and_then(|i| packs_ref.get(i))
            else {
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
            lanes,
            insurance: freight.insurance,
        })
    }

    /// The pack covering `country`, with its index.
    pub(crate) fn pack_for(&self, country: Country) -> Option<(usize, &RulePack)> {
        let index = *self.by_country.get(&country)?;
        Some((index, self.packs.get(index)?))
    }

    pub fn packs(&self) -> &[RulePack] {
        &self.packs
    }

    /// The entries filed under each prefix of `code` in pack `pack`, most specific first.
    pub(crate) fn entries(&self, pack: usize, code: &HsCode) -> LineEntries<'_> {
        let mut entries = LineEntries::default();
        let found = prefixes_of(code).filter_map(|prefix| self.hs.get(&prefix.index_key(pack)));
        for (slot, entry) in entries.found.iter_mut().zip(found) {
            *slot = Some(entry);
        }
        entries
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
