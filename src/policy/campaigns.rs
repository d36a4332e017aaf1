//! Campaigns: who may be issued a token under one, what a review decision
//! makes of it, which writes send it back to review, and the products it may
//! list (API.md, ClickService and AdminService).

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::model::{AgeBracket, Campaign, CampaignStatus, ProductId, ReviewDecision};
use crate::policy::{CategoryRules, category_slug};

/// Whether `campaign` may issue a token to a viewer of `age` for `product_id`.
/// Returns the first failure, in this order:
///
/// 1. the category is prohibited (even if approved before the list changed):
///    `CATEGORY_PROHIBITED`;
/// 2. the campaign is not approved: `CAMPAIGN_NOT_APPROVED`;
/// 3. the campaign lists products and this is not one: `PRODUCT_NOT_IN_CAMPAIGN`;
/// 4. the viewer is under 13: `VIEWER_UNDERAGE`;
/// 5. the category is age-restricted and the viewer is 13-17 or of unknown
///    age: `AGE_RESTRICTED`.
pub(crate) fn check_issue(
    campaign: &Campaign,
    rules: &CategoryRules,
    age: AgeBracket,
    product_id: &str,
) -> Result<()> {
    if rules.is_prohibited(&campaign.category) {
        return Err(Error::CategoryProhibited);
    }
    if campaign.status != CampaignStatus::Approved {
        return Err(Error::CampaignNotApproved);
    }
    if !campaign.product_ids.is_empty() && !campaign.product_ids.iter().any(|p| p == product_id) {
        return Err(Error::ProductNotInCampaign);
    }
    match age {
        AgeBracket::Under13 => Err(Error::ViewerUnderage),
        AgeBracket::Teen | AgeBracket::Unspecified
            if rules.is_age_restricted(&campaign.category) =>
        {
            Err(Error::AgeRestricted)
        }
        AgeBracket::Teen | AgeBracket::Unspecified | AgeBracket::Adult => Ok(()),
    }
}

/// The status a review decision gives `campaign`, from any current status:
/// approve gives approved (`CATEGORY_PROHIBITED` if its category is
/// prohibited), reject gives rejected, pause gives paused.
pub(crate) fn review(
    campaign: &Campaign,
    decision: ReviewDecision,
    rules: &CategoryRules,
) -> Result<CampaignStatus> {
    match decision {
        ReviewDecision::Approve if rules.is_prohibited(&campaign.category) => {
            Err(Error::CategoryProhibited)
        }
        ReviewDecision::Approve => Ok(CampaignStatus::Approved),
        ReviewDecision::Reject => Ok(CampaignStatus::Rejected),
        ReviewDecision::Pause => Ok(CampaignStatus::Paused),
    }
}

/// The status of a campaign after a write: pending when it is new or its
/// merchant, category slug or set of products changed; otherwise (only the
/// attribution window, say) the existing status is kept.
pub(crate) fn status_after_put(
    existing: Option<&Campaign>,
    merchant_id: &str,
    category: &str,
    product_ids: &[ProductId],
) -> CampaignStatus {
    let Some(existing) = existing else {
        return CampaignStatus::Pending;
    };
    let old_products: HashSet<&ProductId> = existing.product_ids.iter().collect();
    let new_products: HashSet<&ProductId> = product_ids.iter().collect();
    if existing.merchant_id != merchant_id
        || category_slug(&existing.category) != category_slug(category)
        || old_products != new_products
    {
        CampaignStatus::Pending
    } else {
        existing.status
    }
}

/// Most products a campaign may list.
pub(crate) const MAX_PRODUCTS: usize = 1000;

/// A campaign's products as stored: at most [`MAX_PRODUCTS`] as sent, each a
/// [`ProductId`], sorted, repeats dropped; none means any product.
/// Fails with `INVALID_FIELD` naming `field`.
pub(crate) fn campaign_products(field: &str, raw: Vec<String>) -> Result<Vec<ProductId>> {
    if raw.len() > MAX_PRODUCTS {
        return Err(Error::invalid_field(
            field,
            format!("at most {MAX_PRODUCTS} products"),
        ));
    }
    let mut products = raw
        .into_iter()
        .map(|product| ProductId::parse(field, product))
        .collect::<Result<Vec<_>>>()?;
    products.sort();
    products.dedup();
    Ok(products)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::test_support::{campaign, products, strings};

    #[test]
    fn issue_to_adult_on_approved_campaign() {
        let rules = CategoryRules::default();
        let c = campaign("shoes", CampaignStatus::Approved, &[]);
        for age in [AgeBracket::Adult, AgeBracket::Teen, AgeBracket::Unspecified] {
            assert_eq!(check_issue(&c, &rules, age, "any-product"), Ok(()));
        }
    }

    #[test]
    fn issue_prohibited_category_first_even_if_approved() {
        let rules = CategoryRules::default();
        let c = campaign("Alcohol", CampaignStatus::Approved, &["p"]);
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Adult, "p"),
            Err(Error::CategoryProhibited)
        );
        let c = campaign("tobacco", CampaignStatus::Pending, &["p"]);
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Under13, "other"),
            Err(Error::CategoryProhibited)
        );
    }

    #[test]
    fn issue_needs_approval() {
        let rules = CategoryRules::default();
        for status in [
            CampaignStatus::Pending,
            CampaignStatus::Rejected,
            CampaignStatus::Paused,
        ] {
            let c = campaign("shoes", status, &["p"]);
            assert_eq!(
                check_issue(&c, &rules, AgeBracket::Under13, "other"),
                Err(Error::CampaignNotApproved)
            );
        }
    }

    #[test]
    fn issue_checks_products_before_age() {
        let rules = CategoryRules::default();
        let c = campaign("shoes", CampaignStatus::Approved, &["p1", "p2"]);
        assert_eq!(check_issue(&c, &rules, AgeBracket::Adult, "p2"), Ok(()));
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Adult, "p3"),
            Err(Error::ProductNotInCampaign)
        );
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Under13, "p3"),
            Err(Error::ProductNotInCampaign)
        );
    }

    #[test]
    fn issue_never_to_under_13() {
        let rules = CategoryRules::default();
        let c = campaign("shoes", CampaignStatus::Approved, &[]);
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Under13, "p"),
            Err(Error::ViewerUnderage)
        );
        let restricted = CategoryRules::new(&[], &strings(&["shoes"]));
        assert_eq!(
            check_issue(&c, &restricted, AgeBracket::Under13, "p"),
            Err(Error::ViewerUnderage)
        );
    }

    #[test]
    fn issue_age_restricted_only_to_adults() {
        let rules = CategoryRules::new(&[], &strings(&["energy drinks"]));
        let c = campaign("Energy-Drinks", CampaignStatus::Approved, &[]);
        assert_eq!(check_issue(&c, &rules, AgeBracket::Adult, "p"), Ok(()));
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Teen, "p"),
            Err(Error::AgeRestricted)
        );
        assert_eq!(
            check_issue(&c, &rules, AgeBracket::Unspecified, "p"),
            Err(Error::AgeRestricted)
        );
    }

    // ---- review ----

    #[test]
    fn review_transitions_from_any_status() {
        let rules = CategoryRules::default();
        for status in [
            CampaignStatus::Pending,
            CampaignStatus::Approved,
            CampaignStatus::Rejected,
            CampaignStatus::Paused,
        ] {
            let c = campaign("shoes", status, &[]);
            assert_eq!(
                review(&c, ReviewDecision::Approve, &rules),
                Ok(CampaignStatus::Approved)
            );
            assert_eq!(
                review(&c, ReviewDecision::Reject, &rules),
                Ok(CampaignStatus::Rejected)
            );
            assert_eq!(
                review(&c, ReviewDecision::Pause, &rules),
                Ok(CampaignStatus::Paused)
            );
        }
    }

    #[test]
    fn review_cannot_approve_a_prohibited_category() {
        let rules = CategoryRules::default();
        let c = campaign("Tobacco", CampaignStatus::Pending, &[]);
        assert_eq!(
            review(&c, ReviewDecision::Approve, &rules),
            Err(Error::CategoryProhibited)
        );
        assert_eq!(
            review(&c, ReviewDecision::Reject, &rules),
            Ok(CampaignStatus::Rejected)
        );
        assert_eq!(
            review(&c, ReviewDecision::Pause, &rules),
            Ok(CampaignStatus::Paused)
        );
    }

    // ---- status_after_put ----

    #[test]
    fn new_campaign_is_pending() {
        assert_eq!(
            status_after_put(None, "m-1", "shoes", &[]),
            CampaignStatus::Pending
        );
    }

    #[test]
    fn unchanged_review_inputs_keep_the_status() {
        let c = campaign("Sports Shoes", CampaignStatus::Approved, &["p1", "p2"]);
        assert_eq!(
            status_after_put(Some(&c), "m-1", "Sports Shoes", &products(&["p1", "p2"])),
            CampaignStatus::Approved
        );
        // Same slug, same set (order and repeats do not matter).
        assert_eq!(
            status_after_put(
                Some(&c),
                "m-1",
                "sports_shoes",
                &products(&["p2", "p1", "p2"])
            ),
            CampaignStatus::Approved
        );
        let paused = campaign("shoes", CampaignStatus::Paused, &[]);
        assert_eq!(
            status_after_put(Some(&paused), "m-1", "shoes", &[]),
            CampaignStatus::Paused
        );
    }

    #[test]
    fn changed_review_inputs_go_back_to_pending() {
        let c = campaign("shoes", CampaignStatus::Approved, &["p1"]);
        assert_eq!(
            status_after_put(Some(&c), "m-2", "shoes", &products(&["p1"])),
            CampaignStatus::Pending
        );
        assert_eq!(
            status_after_put(Some(&c), "m-1", "boots", &products(&["p1"])),
            CampaignStatus::Pending
        );
        assert_eq!(
            status_after_put(Some(&c), "m-1", "shoes", &products(&["p1", "p2"])),
            CampaignStatus::Pending
        );
        assert_eq!(
            status_after_put(Some(&c), "m-1", "shoes", &[]),
            CampaignStatus::Pending
        );
        let rejected = campaign("shoes", CampaignStatus::Rejected, &[]);
        assert_eq!(
            status_after_put(Some(&rejected), "m-1", "shoes", &products(&["p"])),
            CampaignStatus::Pending
        );
    }

    // ---- campaign_products ----

    #[test]
    fn campaign_products_are_sorted_and_deduplicated() {
        assert_eq!(campaign_products("p", Vec::new()), Ok(Vec::new()));
        assert_eq!(
            campaign_products("p", strings(&["p2", "p1", "p2"])),
            Ok(products(&["p1", "p2"]))
        );
    }

    #[test]
    fn campaign_products_are_at_most_1000_ids() {
        let field = "campaign.product_ids";
        let most: Vec<String> = (0..MAX_PRODUCTS).map(|i| format!("p{i}")).collect();
        assert_eq!(
            campaign_products(field, most).map(|p| p.len()),
            Ok(MAX_PRODUCTS)
        );
        // Counted as sent, before repeats are dropped.
        assert_eq!(
            campaign_products(field, vec!["p".to_owned(); MAX_PRODUCTS + 1]),
            Err(Error::invalid_field(field, "at most 1000 products"))
        );
        assert_eq!(
            campaign_products(field, strings(&["p1", ""])),
            Err(Error::invalid_field(field, "missing"))
        );
        assert!(matches!(
            campaign_products(field, strings(&["has space"])),
            Err(Error::InvalidField { field: f, .. }) if f == field
        ));
    }
}
