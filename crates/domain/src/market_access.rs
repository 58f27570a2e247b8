//! Market access (sanitary and phytosanitary clearance): may goods of one HS line go from one
//! country to another on a given day, and under which requirements? Rules are data: (origin,
//! destination, HS prefix) → allowed from a date with requirements, or refused, each with its
//! source. The most specific prefix wins; no rule means not cleared.

use crate::fx::{FileErrors, RowError};
use crate::{Country, HsCode, hs::HsPrefix};
use serde::Serialize;
use time::Date;
use time::macros::format_description;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    Refused,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "allowed" => Some(Verdict::Allowed),
            "refused" => Some(Verdict::Refused),
            _ => None,
        }
    }
}

/// One rule of the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessRule {
    pub origin: Country,
    pub destination: Country,
    pub hs_prefix: HsPrefix,
    pub verdict: Verdict,
    /// First day goods may go; `None` when allowed but the date is not on record.
    pub allowed_from: Option<Date>,
    /// e.g. `phytosanitary_certificate`, `registered_packhouse`, `cold_treatment`.
    pub requirements: Vec<String>,
    /// Where the rule comes from (protocol, notice), and how sure we are: H, M or L.
    pub source: String,
    pub confidence: char,
}

/// The answer for one product, destination and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AccessDecision {
    Allowed {
        rule: AccessRule,
    },
    /// Allowed, but not yet on this day.
    NotYet {
        rule: AccessRule,
        allowed_from: Date,
    },
    Refused {
        rule: AccessRule,
    },
    /// No rule clears this HS line between these countries.
    NotCleared,
}

impl AccessDecision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, AccessDecision::Allowed { .. })
    }

    /// Why not, in words; `None` when allowed.
    pub fn reason(&self, origin: Country, destination: Country, hs: &HsCode) -> Option<String> {
        match self {
            AccessDecision::Allowed { .. } => None,
            AccessDecision::NotYet { rule, allowed_from } => Some(format!(
                "HS {} from {origin} to {destination} is allowed only from {allowed_from} ({})",
                hs.formatted(),
                rule.source
            )),
            AccessDecision::Refused { rule } => Some(format!(
                "HS {} from {origin} to {destination} is refused ({})",
                hs.formatted(),
                rule.source
            )),
            AccessDecision::NotCleared => Some(format!(
                "no market-access rule clears HS {} from {origin} to {destination}",
                hs.formatted()
            )),
        }
    }
}

/// Decides access for `hs` from `origin` to `destination` on `day`: the rule with the longest
/// matching prefix between those two countries applies.
pub fn decide(
    rules: &[AccessRule],
    origin: Country,
    destination: Country,
    hs: &HsCode,
    day: Date,
) -> AccessDecision {
    let best = rules
        .iter()
        .filter(|r| r.origin == origin && r.destination == destination && r.hs_prefix.matches(hs))
        .max_by_key(|r| r.hs_prefix.len());
    match best {
        None => AccessDecision::NotCleared,
        Some(rule) if rule.verdict == Verdict::Refused => {
            AccessDecision::Refused { rule: rule.clone() }
        }
        Some(rule) => match rule.allowed_from {
            Some(from) if day < from => AccessDecision::NotYet {
                rule: rule.clone(),
                allowed_from: from,
            },
            _ => AccessDecision::Allowed { rule: rule.clone() },
        },
    }
}

pub const CSV_HEADER: &str =
    "origin,destination,hs_prefix,status,allowed_from,requirements,source,confidence";

/// Reads the registry's CSV (`CSV_HEADER`; requirements separated by `;`), refusing the whole
/// file if any row is bad, every bad row listed with its line number.
pub fn parse_rules_csv(text: &str) -> Result<Vec<AccessRule>, FileErrors> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .map(|h| h.iter().map(str::to_owned).collect())
        .unwrap_or_default();
    if header.join(",") != CSV_HEADER {
        return Err(FileErrors(vec![RowError {
            line: 1,
            field: "header".into(),
            message: format!("expected {CSV_HEADER}"),
        }]));
    }
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (index, record) in rdr.records().enumerate() {
        let line = index as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    line,
                    field: "row".into(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let cell = |i: usize| record.get(i).unwrap_or("");
        let mut bad = |field: &str, message: String| {
            errors.push(RowError {
                line,
                field: field.into(),
                message,
            })
        };
        let origin = cell(0)
            .parse::<Country>()
            .map_err(|e| bad("origin", e.to_string()))
            .ok();
        let destination = cell(1)
            .parse::<Country>()
            .map_err(|e| bad("destination", e.to_string()))
            .ok();
        let prefix = cell(2)
            .parse::<HsPrefix>()
            .map_err(|e| bad("hs_prefix", e.to_string()))
            .ok();
        let verdict = Verdict::parse(cell(3));
        if verdict.is_none() {
            bad(
                "status",
                format!("{:?} is neither allowed nor refused", cell(3)),
            );
        }
        let allowed_from = match cell(4) {
            "" => Some(None),
            text => Date::parse(text, format_description!("[year]-[month]-[day]"))
                .map(Some)
                .map_err(|_| {
                    bad(
                        "allowed_from",
                        format!("{text:?} is not a date like 2022-03-16"),
                    )
                })
                .ok(),
        };
        let source = cell(6).to_owned();
        if source.is_empty() {
            bad("source", "every rule names its source".into());
        }
        let confidence = match cell(7) {
            "H" => Some('H'),
            "M" => Some('M'),
            "L" => Some('L'),
            other => {
                bad("confidence", format!("{other:?} is not H, M or L"));
                None
            }
        };
        if let (
            Some(origin),
            Some(destination),
            Some(hs_prefix),
            Some(verdict),
            Some(allowed_from),
            Some(confidence),
        ) = (
            origin,
            destination,
            prefix,
            verdict,
            allowed_from,
            confidence,
        ) {
            if origin == destination {
                bad(
                    "destination",
                    "a rule is for goods crossing a border".into(),
                );
                continue;
            }
            let requirements = cell(5)
                .split(';')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect();
            rules.push(AccessRule {
                origin,
                destination,
                hs_prefix,
                verdict,
                allowed_from,
                requirements,
                source,
                confidence,
            });
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(FileErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const SHIPPED: &str = include_str!("../../../rules/market_access.csv");

    fn country(c: &str) -> Country {
        c.parse().unwrap()
    }

    fn hs(c: &str) -> HsCode {
        c.parse().unwrap()
    }

    #[test]
    fn the_shipped_registry_parses_and_clears_the_designs_cases() {
        let rules = parse_rules_csv(SHIPPED).unwrap();
        let (kh, cn) = (country("KH"), country("CN"));
        let longan = decide(&rules, kh, cn, &hs("0810.90.30"), date!(2026 - 01 - 01));
        assert!(longan.is_allowed(), "{longan:?}");
        let before = decide(&rules, kh, cn, &hs("081090"), date!(2022 - 03 - 15));
        assert!(
            matches!(before, AccessDecision::NotYet { allowed_from, .. } if allowed_from == date!(2022 - 03 - 16))
        );
        assert!(decide(&rules, kh, cn, &hs("080450"), date!(2026 - 01 - 01)).is_allowed());
        assert!(decide(&rules, kh, cn, &hs("080390"), date!(2026 - 01 - 01)).is_allowed());
        assert!(
            decide(
                &rules,
                country("RW"),
                cn,
                &hs("090421"),
                date!(2026 - 01 - 01)
            )
            .is_allowed()
        );
        assert!(
            decide(
                &rules,
                country("CA"),
                cn,
                &hs("080929"),
                date!(2026 - 01 - 01)
            )
            .is_allowed()
        );
        let durian_from_kh = decide(&rules, kh, cn, &hs("081060"), date!(2026 - 01 - 01));
        assert_eq!(durian_from_kh, AccessDecision::NotCleared);
        assert!(
            durian_from_kh
                .reason(kh, cn, &hs("081060"))
                .unwrap()
                .contains("0810.60")
        );
    }

    #[test]
    fn the_most_specific_prefix_wins() {
        let rules = parse_rules_csv(&format!(
            "{CSV_HEADER}\nMX,CN,08,refused,,,notice A,M\nMX,CN,0804,allowed,2020-01-01,phytosanitary_certificate;registered_orchard,protocol B,H\n"
        ))
        .unwrap();
        let (mx, cn) = (country("MX"), country("CN"));
        let avocado = decide(&rules, mx, cn, &hs("080440"), date!(2026 - 01 - 01));
        let AccessDecision::Allowed { rule } = &avocado else {
            panic!("{avocado:?}")
        };
        assert_eq!(
            rule.requirements,
            ["phytosanitary_certificate", "registered_orchard"]
        );
        assert!(matches!(
            decide(&rules, mx, cn, &hs("081090"), date!(2026 - 01 - 01)),
            AccessDecision::Refused { .. }
        ));
    }

    #[test]
    fn bad_rows_are_all_reported() {
        let err = parse_rules_csv(&format!(
            "{CSV_HEADER}\nKH,CN,081090,allowed,2022-03-16,,protocol,H\nKH,XX,0810,maybe,16/03/2022,,,Q\nKH,KH,0810,allowed,,,x,H\n"
        ))
        .unwrap_err();
        let fields: Vec<(u64, &str)> = err.0.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            fields,
            [
                (3, "destination"),
                (3, "status"),
                (3, "allowed_from"),
                (3, "source"),
                (3, "confidence"),
                (4, "destination")
            ]
        );
    }
}
