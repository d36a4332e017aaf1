//! Categories: the slug rules match on, what a campaign's category may be,
//! and the platform's prohibited and age-restricted lists (API.md,
//! `CATEGORY_PROHIBITED`, `AGE_RESTRICTED`).

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::policy::MAX_ID_LEN;

/// The slug category rules match on: lower case, every run of characters that
/// are not letters or digits turned into one `-`, none at either end.
/// `"Adult Toys"`, `"adult_toys"` and `"adult-toys"` all give `"adult-toys"`.
pub(crate) fn category_slug(raw: &str) -> String {
    let mut slug = String::with_capacity(raw.len());
    let mut pending_dash = false;
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(c);
        } else {
            pending_dash = true;
        }
    }
    slug
}

/// Checks a campaign's category: at most [`MAX_ID_LEN`] bytes, with at least
/// one letter or digit (a non-empty slug). Fails with `INVALID_FIELD` naming
/// `field`.
pub(crate) fn validate_category(field: &str, raw: &str) -> Result<()> {
    if raw.trim().is_empty() {
        return Err(Error::invalid_field(field, "missing"));
    }
    if raw.len() > MAX_ID_LEN {
        return Err(Error::invalid_field(
            field,
            format!("too long: at most {MAX_ID_LEN} bytes"),
        ));
    }
    if category_slug(raw).is_empty() {
        return Err(Error::invalid_field(
            field,
            "must contain a letter or a digit",
        ));
    }
    Ok(())
}

/// The platform's category lists (configuration), held as slugs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRules {
    /// Categories that may never be promoted.
    pub(crate) prohibited: HashSet<String>,
    /// Categories never issued to a minor or a viewer of unknown age.
    pub(crate) age_restricted: HashSet<String>,
}

impl CategoryRules {
    /// Rules from the configured lists; entries are slugged, empty slugs dropped.
    pub fn new(prohibited: &[String], age_restricted: &[String]) -> Self {
        fn slugs(list: &[String]) -> HashSet<String> {
            list.iter()
                .map(|category| category_slug(category))
                .filter(|slug| !slug.is_empty())
                .collect()
        }
        CategoryRules {
            prohibited: slugs(prohibited),
            age_restricted: slugs(age_restricted),
        }
    }

    /// Whether `category` (as written; matched by slug) may never be promoted.
    pub(crate) fn is_prohibited(&self, category: &str) -> bool {
        self.prohibited.contains(&category_slug(category))
    }

    /// Whether `category` (as written; matched by slug) is age-restricted.
    pub(crate) fn is_age_restricted(&self, category: &str) -> bool {
        self.age_restricted.contains(&category_slug(category))
    }
}

impl Default for CategoryRules {
    /// The contract's defaults: alcohol and tobacco prohibited, nothing
    /// age-restricted.
    fn default() -> Self {
        CategoryRules::new(&["alcohol".to_owned(), "tobacco".to_owned()], &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::test_support::{message_of, strings};
    use proptest::prelude::*;

    #[test]
    fn category_slugs() {
        for (raw, want) in [
            ("Alcohol", "alcohol"),
            (" ALCOHOL ", "alcohol"),
            ("alcohol!", "alcohol"),
            ("Adult Toys", "adult-toys"),
            ("adult_toys", "adult-toys"),
            ("adult-toys", "adult-toys"),
            ("--Adult   &&  Toys--", "adult-toys"),
            ("Øl & Vin", "øl-vin"),
            ("CBD", "cbd"),
            ("18+", "18"),
            ("", ""),
            ("!!!", ""),
        ] {
            assert_eq!(category_slug(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn category_validation() {
        validate_category("campaign.category", "Sports Shoes").unwrap();
        assert_eq!(
            validate_category("campaign.category", " "),
            Err(Error::invalid_field("campaign.category", "missing"))
        );
        assert!(message_of(validate_category("c", "--!")).contains("letter"));
        assert!(
            message_of(validate_category("c", &"a".repeat(MAX_ID_LEN + 1))).contains("too long")
        );
    }

    // ---- CategoryRules ----

    #[test]
    fn default_rules_prohibit_alcohol_and_tobacco_only() {
        let rules = CategoryRules::default();
        assert!(rules.is_prohibited("alcohol"));
        assert!(rules.is_prohibited(" Alcohol! "));
        assert!(rules.is_prohibited("TOBACCO"));
        assert!(!rules.is_prohibited("shoes"));
        assert!(!rules.is_prohibited("alcohol-free beer"));
        assert!(rules.age_restricted.is_empty());
        assert!(!rules.is_age_restricted("alcohol"));
    }

    #[test]
    fn rules_slug_their_lists() {
        let rules = CategoryRules::new(
            &strings(&["Gambling", "!!"]),
            &strings(&["Adult Toys", "Energy_Drinks"]),
        );
        assert_eq!(rules.prohibited, HashSet::from(["gambling".to_owned()]));
        assert!(rules.is_prohibited("gambling"));
        assert!(!rules.is_prohibited("alcohol"));
        assert!(!rules.is_prohibited(""));
        assert!(rules.is_age_restricted("adult_toys"));
        assert!(rules.is_age_restricted("ENERGY DRINKS"));
        assert!(!rules.is_age_restricted("toys"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn category_slug_is_idempotent_and_clean(raw in ".*") {
            let slug = category_slug(&raw);
            prop_assert_eq!(category_slug(&slug), slug.clone());
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"));
            prop_assert!(slug.chars().all(|c| c == '-' || c.is_alphanumeric()));
        }
    }
}
