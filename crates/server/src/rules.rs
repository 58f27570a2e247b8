//! The rule book every quote uses: the rule packs shipped in the binary, with the files an
//! administrator imported (`pavilion rules import`) laid over them. Each server process polls
//! the store's rule-pack version and rebuilds its book when another process imported a pack.

use pavilion_domain::landed_cost::RuleBook;
use pavilion_domain::landed_cost::shipped::{self, PackTexts};
use pavilion_store::Store;
use pavilion_store::quotes::ImportedPack;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

/// The files of a jurisdiction's pack, by name.
pub const PACK_FILES: [&str; 5] = [
    "regimes.toml",
    "tariffs.csv",
    "vat.csv",
    "consumption_tax.csv",
    "positive_list.csv",
];
/// The files of the freight pack (named `freight`).
pub const FREIGHT_FILES: [&str; 2] = ["rates.csv", "insurance.csv"];
pub const FREIGHT_PACK: &str = "freight";

fn shipped_dir<'a>(pack: &PackTexts<'a>) -> &'a str {
    pack.dir.trim_start_matches("rules/")
}

fn texts<'a>(
    dir: &'a str,
    base: PackTexts<'a>,
    over: Option<&'a BTreeMap<String, String>>,
) -> PackTexts<'a> {
    let file = |name: &str, shipped: &'a str| {
        over.and_then(|o| o.get(name))
            .map_or(shipped, String::as_str)
    };
    PackTexts {
        dir,
        regimes: file("regimes.toml", base.regimes),
        tariffs: file("tariffs.csv", base.tariffs),
        vat: file("vat.csv", base.vat),
        consumption_tax: file("consumption_tax.csv", base.consumption_tax),
        positive_list: file("positive_list.csv", base.positive_list),
    }
}

/// Builds the book: every shipped pack, each file replaced by its imported version if any, plus
/// imported packs of jurisdictions not shipped. Errors say which file and line is wrong.
pub fn build(imported: &[ImportedPack]) -> Result<RuleBook, String> {
    let by_name: BTreeMap<&str, &BTreeMap<String, String>> = imported
        .iter()
        .map(|p| (p.pack.as_str(), &p.files))
        .collect();
    let mut packs = Vec::new();
    for base in shipped::PACKS {
        let dir = shipped_dir(&base);
        let pack = shipped::pack_from_texts(&texts(base.dir, base, by_name.get(dir).copied()))
            .map_err(|e| e.to_string())?;
        packs.push(pack);
    }
    for (name, files) in &by_name {
        let known = *name == FREIGHT_PACK || shipped::PACKS.iter().any(|p| shipped_dir(p) == *name);
        if !known {
            let pack = shipped::pack_from_texts(&texts(name, PackTexts::default(), Some(files)))
                .map_err(|e| e.to_string())?;
            packs.push(pack);
        }
    }
    let freight = by_name.get(FREIGHT_PACK);
    let file = |name: &str, shipped: &'static str| {
        freight
            .and_then(|f| f.get(name))
            .map_or(shipped, |s| s.as_str())
    };
    let freight = shipped::freight_from_texts(
        file("rates.csv", shipped::FREIGHT_RATES),
        file("insurance.csv", shipped::INSURANCE),
    )
    .map_err(|e| e.to_string())?;
    RuleBook::new(packs, freight).map_err(|e| e.to_string())
}

/// Checks a pack about to be imported: known file names only, and the whole book still builds
/// with it (so a bad file is refused before it is stored).
pub fn validate_import(
    pack: &str,
    files: &BTreeMap<String, String>,
    current: &[ImportedPack],
) -> Result<(), String> {
    let valid_name = !pack.is_empty()
        && pack.len() <= 20
        && pack.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if !valid_name {
        return Err(format!(
            "pack name {pack:?}: lower-case letters and underscores, e.g. cn or eu"
        ));
    }
    let allowed: &[&str] = if pack == FREIGHT_PACK {
        &FREIGHT_FILES
    } else {
        &PACK_FILES
    };
    if let Some(unknown) = files.keys().find(|f| !allowed.contains(&f.as_str())) {
        return Err(format!(
            "{unknown}: not a file of a rule pack (expected {})",
            allowed.join(", ")
        ));
    }
    if files.is_empty() {
        return Err(format!("no files given (expected {})", allowed.join(", ")));
    }
    let mut next: Vec<ImportedPack> = current.iter().filter(|p| p.pack != pack).cloned().collect();
    next.push(ImportedPack {
        pack: pack.to_owned(),
        files: files.clone(),
        version: 0,
        imported_at: pavilion_store::Timestamp::now(),
    });
    build(&next).map(|_| ())
}

/// The current rule book, swapped whole when packs change.
pub struct Rules {
    book: RwLock<Arc<RuleBook>>,
    version: AtomicI64,
}

impl Rules {
    pub async fn load(store: &Store) -> Result<Self, String> {
        let (version, imported) = store
            .imported_rule_packs()
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            book: RwLock::new(Arc::new(build(&imported)?)),
            version: AtomicI64::new(version),
        })
    }

    pub fn current(&self) -> Arc<RuleBook> {
        match self.book.read() {
            Ok(book) => book.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Rebuilds the book if packs were imported since it was built (by any process).
    pub async fn refresh(&self, store: &Store) -> Result<bool, String> {
        let latest = store
            .rule_packs_version()
            .await
            .map_err(|e| e.to_string())?;
        if latest == self.version.load(Ordering::Acquire) {
            return Ok(false);
        }
        let (version, imported) = store
            .imported_rule_packs()
            .await
            .map_err(|e| e.to_string())?;
        let book = Arc::new(build(&imported)?);
        match self.book.write() {
            Ok(mut current) => *current = book,
            Err(poisoned) => *poisoned.into_inner() = book,
        }
        self.version.store(version, Ordering::Release);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_packs_build() {
        assert!(build(&[]).is_ok());
    }

    #[test]
    fn imports_are_validated_against_the_whole_book() {
        let files =
            BTreeMap::from([("tariffs.csv".to_owned(), "not,a,tariff\n1,2,3\n".to_owned())]);
        let err = validate_import("cn", &files, &[]).unwrap_err();
        assert!(err.contains("tariffs.csv"), "{err}");
        let unknown = BTreeMap::from([("prices.csv".to_owned(), String::new())]);
        assert!(
            validate_import("cn", &unknown, &[])
                .unwrap_err()
                .contains("prices.csv")
        );
        assert!(validate_import("C N", &files, &[]).is_err());
        let same = BTreeMap::from([("vat.csv".to_owned(), shipped::PACKS[0].vat.to_owned())]);
        assert_eq!(validate_import("cn", &same, &[]), Ok(()));
    }
}
