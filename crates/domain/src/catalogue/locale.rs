use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The languages the catalogue is written and searched in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Locale {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
    #[serde(rename = "es")]
    Es,
    #[serde(rename = "fr")]
    Fr,
}

impl Locale {
    pub const ALL: [Locale; 4] = [Locale::ZhCn, Locale::En, Locale::Es, Locale::Fr];

    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
            Locale::Es => "es",
            Locale::Fr => "fr",
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Locale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Locale::ALL
            .into_iter()
            .find(|l| l.tag() == s)
            .ok_or_else(|| format!("{s:?} is not a catalogue locale (zh-CN, en, es, fr)"))
    }
}

/// Text by locale, e.g. a product's titles.
pub type Localized = BTreeMap<Locale, String>;
