//! Parsers from rule pack text (CSV and TOML) to rows. Each refuses a file with any bad row
//! whole, listing every bad row with its line and field.

mod cells;
mod regimes;
mod tables;

pub use regimes::parse_regimes;
pub use tables::{
    parse_consumption_taxes, parse_freight_rates, parse_insurance, parse_positive_list,
    parse_tariffs, parse_vat,
};
