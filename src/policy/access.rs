//! Access: what a key reaches beyond the services its role may call (API.md,
//! "Authentication and roles"). A merchant key reads its own merchant's
//! counters, campaigns and share of products, ranks top lists within its own
//! merchant, and a key is bound to a merchant exactly when it is a merchant
//! key.
//!
//! Each rule reads the caller's role and merchant in one function, so the
//! key's type can change in one place.

use crate::auth::{Caller, Role};
use crate::error::{Error, Result};
use crate::model::Dimension;
use crate::policy::validate_id;

/// The merchant whose share of the counters `caller` reads: `None` (every
/// merchant's) for dashboard and admin keys, `Some(own)` for a merchant key;
/// any other key is `PERMISSION_DENIED`.
pub fn counter_share(caller: &Caller) -> Result<Option<&str>> {
    match (caller.role, caller.merchant_id.as_deref()) {
        (Role::Admin | Role::Dashboard, _) => Ok(None),
        (Role::Merchant, Some(own)) => Ok(Some(own)),
        _ => Err(Error::PermissionDenied),
    }
}

/// Whether merchant `own` may read the counters of `id` in `dimension`: its
/// own merchant, a campaign of its own (`campaign_merchant`: the merchant of
/// campaign `id`, `None` when there is no such campaign), and its share of
/// any product; never a creator's or a video's. Else `PERMISSION_DENIED`.
pub fn check_counter_read(
    own: &str,
    dimension: Dimension,
    id: &str,
    campaign_merchant: Option<&str>,
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
/// (`requested`, an id already checked): a merchant key ranks within its own
/// merchant only (naming none means its own, naming another is
/// `PERMISSION_DENIED`); other keys rank within the merchant they name, or
/// across every merchant.
pub fn top_list_scope(caller: &Caller, requested: Option<String>) -> Result<Option<String>> {
    match (&caller.merchant_id, requested) {
        (Some(own), None) if caller.role == Role::Merchant => Ok(Some(own.clone())),
        (Some(own), Some(asked)) if caller.role == Role::Merchant => {
            if *own != asked {
                return Err(Error::PermissionDenied);
            }
            Ok(Some(asked))
        }
        (_, requested) => Ok(requested),
    }
}

/// The merchant a new key of `role` is bound to, from the request's
/// `merchant_id` (empty when it names none): a merchant key must name one,
/// any other key must name none. Fails with `INVALID_FIELD` naming
/// `merchant_id`.
pub fn key_merchant(role: Role, merchant_id: String) -> Result<Option<String>> {
    match (role, merchant_id.is_empty()) {
        (Role::Merchant, true) => Err(Error::invalid_field(
            "merchant_id",
            "missing: a merchant key is bound to one merchant",
        )),
        (Role::Merchant, false) => {
            validate_id("merchant_id", &merchant_id)?;
            Ok(Some(merchant_id))
        }
        (_, true) => Ok(None),
        (_, false) => Err(Error::invalid_field(
            "merchant_id",
            "only merchant keys are bound to a merchant",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(role: Role, merchant_id: Option<&str>) -> Caller {
        Caller {
            key_id: "k".to_owned(),
            role,
            merchant_id: merchant_id.map(str::to_owned),
            sha256: [0; 32],
        }
    }

    #[test]
    fn dashboards_and_admins_read_every_merchants_counters() {
        assert_eq!(counter_share(&key(Role::Dashboard, None)), Ok(None));
        assert_eq!(counter_share(&key(Role::Admin, None)), Ok(None));
    }

    #[test]
    fn a_merchant_key_reads_its_own_share_only() {
        assert_eq!(
            counter_share(&key(Role::Merchant, Some("m-1"))),
            Ok(Some("m-1"))
        );
        assert_eq!(
            counter_share(&key(Role::Merchant, None)),
            Err(Error::PermissionDenied)
        );
        assert_eq!(
            counter_share(&key(Role::Feed, None)),
            Err(Error::PermissionDenied)
        );
    }

    #[test]
    fn a_merchant_reads_itself_its_campaigns_and_products() {
        assert_eq!(
            check_counter_read("m-1", Dimension::Merchant, "m-1", None),
            Ok(())
        );
        assert_eq!(
            check_counter_read("m-1", Dimension::Merchant, "m-2", None),
            Err(Error::PermissionDenied)
        );
        assert_eq!(
            check_counter_read("m-1", Dimension::Campaign, "c-1", Some("m-1")),
            Ok(())
        );
        for other in [Some("m-2"), None] {
            assert_eq!(
                check_counter_read("m-1", Dimension::Campaign, "c-1", other),
                Err(Error::PermissionDenied),
                "{other:?}"
            );
        }
        assert_eq!(
            check_counter_read("m-1", Dimension::Product, "p-1", None),
            Ok(())
        );
        for dimension in [Dimension::Creator, Dimension::Video] {
            assert_eq!(
                check_counter_read("m-1", dimension, "x", Some("m-1")),
                Err(Error::PermissionDenied),
                "{dimension:?}"
            );
        }
    }

    #[test]
    fn a_merchant_key_ranks_within_its_own_merchant() {
        let merchant = key(Role::Merchant, Some("m-1"));
        assert_eq!(top_list_scope(&merchant, None), Ok(Some("m-1".to_owned())));
        assert_eq!(
            top_list_scope(&merchant, Some("m-1".to_owned())),
            Ok(Some("m-1".to_owned()))
        );
        assert_eq!(
            top_list_scope(&merchant, Some("m-2".to_owned())),
            Err(Error::PermissionDenied)
        );
    }

    #[test]
    fn other_keys_rank_within_what_they_name() {
        for caller in [key(Role::Dashboard, None), key(Role::Admin, None)] {
            assert_eq!(top_list_scope(&caller, None), Ok(None));
            assert_eq!(
                top_list_scope(&caller, Some("m-2".to_owned())),
                Ok(Some("m-2".to_owned()))
            );
        }
    }

    #[test]
    fn only_merchant_keys_are_bound_to_a_merchant() {
        assert_eq!(
            key_merchant(Role::Merchant, "m-1".to_owned()),
            Ok(Some("m-1".to_owned()))
        );
        assert_eq!(
            key_merchant(Role::Merchant, String::new()),
            Err(Error::invalid_field(
                "merchant_id",
                "missing: a merchant key is bound to one merchant"
            ))
        );
        assert!(matches!(
            key_merchant(Role::Merchant, "has space".to_owned()),
            Err(Error::InvalidField { field, .. }) if field == "merchant_id"
        ));
        for role in [Role::Feed, Role::Dashboard, Role::Admin] {
            assert_eq!(key_merchant(role, String::new()), Ok(None), "{role:?}");
            assert_eq!(
                key_merchant(role, "m-1".to_owned()),
                Err(Error::invalid_field(
                    "merchant_id",
                    "only merchant keys are bound to a merchant"
                )),
                "{role:?}"
            );
        }
    }
}
