//! The category tree buyers browse: each category has a stable slug, a parent (none at the
//! root) and its names in the catalogue's languages.

use super::draft::{FieldError, MAX_TITLE_CHARS, is_slug};
use super::locale::{Locale, Localized};
use serde::{Deserialize, Serialize};

/// How deep the tree may go (the search index keeps the whole path of a product's category).
pub const MAX_DEPTH: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDraft {
    pub slug: String,
    /// The parent's slug; none for a top-level category.
    #[serde(default)]
    pub parent: Option<String>,
    /// At least the English name.
    pub names: Localized,
    /// Order among its siblings.
    #[serde(default)]
    pub position: u32,
}

impl CategoryDraft {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: String, message: &str| {
            errors.push(FieldError {
                field,
                message: message.into(),
            })
        };
        if !is_slug(&self.slug) {
            err("slug".into(), "1 to 64 of a-z, 0-9 and '-'");
        }
        if self.parent.as_deref().is_some_and(|p| !is_slug(p)) {
            err(
                "parent".into(),
                "the parent's slug: 1 to 64 of a-z, 0-9 and '-'",
            );
        }
        if self.parent.as_deref() == Some(self.slug.as_str()) {
            err("parent".into(), "a category is not its own parent");
        }
        if !self.names.contains_key(&Locale::En) {
            err("names.en".into(), "every category has an English name");
        }
        for (locale, name) in &self.names {
            let len = name.trim().chars().count();
            if len == 0 || len > MAX_TITLE_CHARS {
                err(format!("names.{locale}"), "names are 1 to 200 characters");
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_category_needs_a_slug_and_an_english_name() {
        let good = CategoryDraft {
            slug: "fresh-fruit".into(),
            parent: Some("food".into()),
            names: Localized::from([
                (Locale::En, "Fresh fruit".into()),
                (Locale::ZhCn, "新鲜水果".into()),
            ]),
            position: 0,
        };
        assert_eq!(good.validate(), Ok(()));
        let bad = CategoryDraft {
            slug: "Fresh Fruit".into(),
            parent: Some("Fresh Fruit".into()),
            names: Localized::from([(Locale::Fr, " ".into())]),
            position: 0,
        };
        let fields: Vec<_> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["slug", "parent", "parent", "names.en", "names.fr"]);
    }
}
