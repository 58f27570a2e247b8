//! The rule packs shipped in the repository's `rules/` folder, compiled in so that a fresh
//! instance (and every test) quotes with them; operators import newer files over them.

use super::error::{RuleBookError, RulePackError};
use super::parse;
use super::rule_book::RuleBook;
use super::rule_pack::{FreightTables, RulePack};

/// The texts of one destination's pack; a missing table is an empty string.
#[derive(Clone, Copy, Debug, Default)]
pub struct PackTexts<'a> {
    /// Folder name for messages, e.g. "rules/cn".
    pub dir: &'a str,
    pub regimes: &'a str,
    pub tariffs: &'a str,
    pub vat: &'a str,
    pub consumption_tax: &'a str,
    pub positive_list: &'a str,
}

/// Why the rule packs could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    File(#[from] RulePackError),
    #[error(transparent)]
    Book(#[from] RuleBookError),
}

fn table<T>(
    dir: &str,
    name: &str,
    text: &str,
    parse: fn(&str, &str) -> Result<Vec<T>, RulePackError>,
) -> Result<Vec<T>, RulePackError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    parse(&format!("{dir}/{name}"), text)
}

/// Parses one destination's files into a pack; the first bad file refuses the pack.
pub fn pack_from_texts(texts: &PackTexts<'_>) -> Result<RulePack, RulePackError> {
    let dir = texts.dir;
    let (jurisdiction, regimes) =
        parse::parse_regimes(&format!("{dir}/regimes.toml"), texts.regimes)?;
    let mut pack = RulePack::new(jurisdiction, regimes);
    pack.tariffs = table(dir, "tariffs.csv", texts.tariffs, parse::parse_tariffs)?;
    pack.vat = table(dir, "vat.csv", texts.vat, parse::parse_vat)?;
    pack.consumption_taxes = table(
        dir,
        "consumption_tax.csv",
        texts.consumption_tax,
        parse::parse_consumption_taxes,
    )?;
    pack.positive_list = table(
        dir,
        "positive_list.csv",
        texts.positive_list,
        parse::parse_positive_list,
    )?;
    Ok(pack)
}

macro_rules! shipped_pack {
    ($dir:literal) => {
        PackTexts {
            dir: concat!("rules/", $dir),
            regimes: include_str!(concat!("../../../../rules/", $dir, "/regimes.toml")),
            tariffs: include_str!(concat!("../../../../rules/", $dir, "/tariffs.csv")),
            vat: include_str!(concat!("../../../../rules/", $dir, "/vat.csv")),
            consumption_tax: include_str!(concat!(
                "../../../../rules/",
                $dir,
                "/consumption_tax.csv"
            )),
            positive_list: include_str!(concat!("../../../../rules/", $dir, "/positive_list.csv")),
        }
    };
}

/// Every shipped destination pack.
pub const PACKS: [PackTexts<'static>; 6] = [
    shipped_pack!("cn"),
    shipped_pack!("eu"),
    shipped_pack!("uk"),
    shipped_pack!("us"),
    shipped_pack!("ca"),
    shipped_pack!("mx"),
];

/// `rules/freight/rates.csv`.
pub const FREIGHT_RATES: &str = include_str!("../../../../rules/freight/rates.csv");
/// `rules/freight/insurance.csv`.
pub const INSURANCE: &str = include_str!("../../../../rules/freight/insurance.csv");

/// The freight and insurance tables from their texts.
pub fn freight_from_texts(rates: &str, insurance: &str) -> Result<FreightTables, RulePackError> {
    Ok(FreightTables {
        rates: table(
            "rules/freight",
            "rates.csv",
            rates,
            parse::parse_freight_rates,
        )?,
        insurance: table(
            "rules/freight",
            "insurance.csv",
            insurance,
            parse::parse_insurance,
        )?,
    })
}

/// The shipped packs, parsed and indexed.
pub fn rule_book() -> Result<RuleBook, LoadError> {
    let packs = PACKS
        .iter()
        .map(pack_from_texts)
        .collect::<Result<Vec<_>, _>>()?;
    let freight = freight_from_texts(FREIGHT_RATES, INSURANCE)?;
    Ok(RuleBook::new(packs, freight)?)
}
