//! Access: what a key reaches beyond the services its role may call (API.md,
//! "Authentication and roles"). A merchant key reads its own merchant's
//! counters, campaigns and share of products, ranks top lists within its own
//! merchant, and a key is bound to a merchant exactly when it is a merchant
//! key.
//!
//! Each rule reads the key's [`Grant`], so a merchant key always has its
//! merchant and no rule checks for one that has none.

use crate::error::{Error, Result};
use crate::model::access::GrantMismatch;
use crate::model::{Dimension, Grant, MerchantId, Role};

/// The merchant whose share of the counters a key with `grant` reads:
/// `None` (every merchant's) for dashboard and admin keys, `Some(own)` for a
/// merchant key; any other key is `PERMISSION_DENIED`.
pub(crate) fn counter_share(grant: &Grant) -> Result<Option<&MerchantId>> {
    match grant {
        Grant::Admin | Grant::Dashboard => Ok(None),
        Grant::Merchant(own) => Ok(Some(own)),
        Grant::Feed => Err(Error::PermissionDenied),
    }
}

/// Whether merchant `own` may read the counters of `id` in `dimension`: its
/// own merchant, a campaign of its own (`campaign_merchant`: the merchant of
/// campaign `id`, `None` when there is no such campaign), and its share of
/// any product; never a creator's or a video's. Else `PERMISSION_DENIED`.
pub(crate) fn check_counter_read(
    own: &MerchantId,
    dimension: Dimension,
    id: &str,
    campaign_merchant: Option<&MerchantId>,
) -> Result<()> {
    let allowed = match dimension {
        Dimension::Merchant => id == own,
        Dimension::Campaign => campaign_merchant == Some(own),
        Dimension::Product => true,
        Dimension::Creator | Dimension::Video => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::PermissionDenied)
    }
}

/// The merchant a top list ranks within, from the one the request names
/// (`requested`): a merchant key ranks within its own merchant only (naming
/// none means its own, naming another is `PERMISSION_DENIED`); other keys
/// rank within the merchant they name, or across every merchant.
pub(crate) fn top_list_scope(
    grant: &Grant,
    requested: Option<MerchantId>,
) -> Result<Option<MerchantId>> {
    match (grant, requested) {
        (Grant::Merchant(own), None) => Ok(Some(own.clone())),
        (Grant::Merchant(own), Some(asked)) if *own != asked => Err(Error::PermissionDenied),
        (_, requested) => Ok(requested),
    }
}

/// The merchant whose earnings a key with `grant` reads, from the one the
/// request names (`requested`): a merchant key its own (naming none means
/// its own, naming another is `PERMISSION_DENIED`); dashboard and admin
/// keys the one they name, or every merchant (`None`); any other key is
/// `PERMISSION_DENIED`.
pub(crate) fn earnings_scope(
    grant: &Grant,
    requested: Option<MerchantId>,
) -> Result<Option<MerchantId>> {
    match grant {
        Grant::Feed => Err(Error::PermissionDenied),
        _ => top_list_scope(grant, requested),
    }
}

/// The merchant whose campaigns a key with `grant` lists, from the one the
/// request names: as [`earnings_scope`] (a merchant key its own; naming
/// another is `PERMISSION_DENIED`; dashboard and admin keys the one they
/// name, or every merchant's).
pub(crate) fn campaign_scope(
    grant: &Grant,
    requested: Option<MerchantId>,
) -> Result<Option<MerchantId>> {
    earnings_scope(grant, requested)
}

/// Whether a key with `grant` may read merchant `merchant_id`: an admin
/// key any, a merchant key its own; else `PERMISSION_DENIED`.
pub(crate) fn check_merchant_read(grant: &Grant, merchant_id: &MerchantId) -> Result<()> {
    match grant {
        Grant::Admin => Ok(()),
        Grant::Merchant(own) if own == merchant_id => Ok(()),
        _ => Err(Error::PermissionDenied),
    }
}

/// The merchant that makes a payout, from the one the request names: a
/// merchant key its own (as [`earnings_scope`]); an admin key must name one
/// (`INVALID_FIELD`, `merchant_id`); dashboard and feed keys may not pay.
pub(crate) fn payout_merchant(grant: &Grant, requested: Option<MerchantId>) -> Result<MerchantId> {
    match grant {
        Grant::Feed | Grant::Dashboard => Err(Error::PermissionDenied),
        _ => earnings_scope(grant, requested)?.ok_or_else(|| {
            Error::invalid_field("merchant_id", "missing: a payout is made by one merchant")
        }),
    }
}

/// A listing of commissions or payouts names at least one of a creator
/// and a merchant (a merchant key always has its own): else
/// `INVALID_FIELD`, `creator_id`.
pub(crate) fn check_listing_scope(
    merchant: Option<&MerchantId>,
    creator_present: bool,
) -> Result<()> {
    if merchant.is_none() && !creator_present {
        return Err(Error::invalid_field(
            "creator_id",
            "missing: name a creator, a merchant, or both",
        ));
    }
    Ok(())
}

/// The grant of a new key of `role`, from the request's `merchant_id`
/// (empty when it names none): a merchant key must name one, any other key
/// must name none. Fails with `INVALID_FIELD` naming `merchant_id`.
pub(crate) fn key_grant(role: Role, merchant_id: String) -> Result<Grant> {
    let merchant_id = (!merchant_id.is_empty()).then_some(merchant_id);
    Grant::bind(
        role,
        merchant_id,
        |merchant_id| MerchantId::parse("merchant_id", merchant_id),
        |mismatch| {
            Error::invalid_field(
                "merchant_id",
                match mismatch {
                    GrantMismatch::MerchantMissing => {
                        "missing: a merchant key is bound to one merchant"
                    }
                    GrantMismatch::MerchantNotAllowed => {
                        "only merchant keys are bound to a merchant"
                    }
                },
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str) -> MerchantId {
        MerchantId::stored(id)
    }

    #[test]
    fn dashboards_and_admins_read_every_merchants_counters() {
        assert_eq!(counter_share(&Grant::Dashboard), Ok(None));
        assert_eq!(counter_share(&Grant::Admin), Ok(None));
    }

    #[test]
    fn a_merchant_key_reads_its_own_share_only() {
        assert_eq!(
            counter_share(&Grant::Merchant(m("m-1"))),
            Ok(Some(&m("m-1")))
        );
        assert_eq!(counter_share(&Grant::Feed), Err(Error::PermissionDenied));
    }

    #[test]
    fn a_merchant_reads_itself_its_campaigns_and_products() {
        assert_eq!(
            check_counter_read(&m("m-1"), Dimension::Merchant, "m-1", None),
            Ok(())
        );
        assert_eq!(
            check_counter_read(&m("m-1"), Dimension::Merchant, "m-2", None),
            Err(Error::PermissionDenied)
        );
        assert_eq!(
            check_counter_read(&m("m-1"), Dimension::Campaign, "c-1", Some(&m("m-1"))),
            Ok(())
        );
        for other in [Some(&m("m-2")), None] {
            assert_eq!(
                check_counter_read(&m("m-1"), Dimension::Campaign, "c-1", other),
                Err(Error::PermissionDenied),
                "{other:?}"
            );
        }
        assert_eq!(
            check_counter_read(&m("m-1"), Dimension::Product, "p-1", None),
            Ok(())
        );
        for dimension in [Dimension::Creator, Dimension::Video] {
            assert_eq!(
                check_counter_read(&m("m-1"), dimension, "x", Some(&m("m-1"))),
                Err(Error::PermissionDenied),
                "{dimension:?}"
            );
        }
    }

    #[test]
    fn a_merchant_key_ranks_within_its_own_merchant() {
        let merchant = Grant::Merchant(m("m-1"));
        assert_eq!(top_list_scope(&merchant, None), Ok(Some(m("m-1"))));
        assert_eq!(
            top_list_scope(&merchant, Some(m("m-1"))),
            Ok(Some(m("m-1")))
        );
        assert_eq!(
            top_list_scope(&merchant, Some(m("m-2"))),
            Err(Error::PermissionDenied)
        );
    }

    #[test]
    fn other_keys_rank_within_what_they_name() {
        for grant in [Grant::Dashboard, Grant::Admin] {
            assert_eq!(top_list_scope(&grant, None), Ok(None));
            assert_eq!(top_list_scope(&grant, Some(m("m-2"))), Ok(Some(m("m-2"))));
        }
    }

    #[test]
    fn a_merchant_key_lists_and_reads_its_own_merchant_only() {
        let merchant = Grant::Merchant(m("m-1"));
        assert_eq!(campaign_scope(&merchant, None), Ok(Some(m("m-1"))));
        assert_eq!(
            campaign_scope(&merchant, Some(m("m-2"))),
            Err(Error::PermissionDenied)
        );
        assert_eq!(campaign_scope(&Grant::Dashboard, None), Ok(None));
        assert_eq!(
            campaign_scope(&Grant::Feed, None),
            Err(Error::PermissionDenied)
        );
        assert_eq!(check_merchant_read(&merchant, &m("m-1")), Ok(()));
        assert_eq!(check_merchant_read(&Grant::Admin, &m("m-2")), Ok(()));
        for grant in [merchant, Grant::Dashboard, Grant::Feed] {
            assert_eq!(
                check_merchant_read(&grant, &m("m-2")),
                Err(Error::PermissionDenied),
                "{grant:?}"
            );
        }
    }

    #[test]
    fn only_merchant_keys_are_bound_to_a_merchant() {
        assert_eq!(
            key_grant(Role::Merchant, "m-1".to_owned()),
            Ok(Grant::Merchant(m("m-1")))
        );
        assert_eq!(
            key_grant(Role::Merchant, String::new()),
            Err(Error::invalid_field(
                "merchant_id",
                "missing: a merchant key is bound to one merchant"
            ))
        );
        assert!(matches!(
            key_grant(Role::Merchant, "has space".to_owned()),
            Err(Error::InvalidField { field, .. }) if field == "merchant_id"
        ));
        for role in [Role::Feed, Role::Dashboard, Role::Admin] {
            assert_eq!(
                key_grant(role, String::new()).map(|g| g.role()),
                Ok(role),
                "{role:?}"
            );
            assert_eq!(
                key_grant(role, "m-1".to_owned()),
                Err(Error::invalid_field(
                    "merchant_id",
                    "only merchant keys are bound to a merchant"
                )),
                "{role:?}"
            );
        }
    }
}
