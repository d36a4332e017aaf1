//! Validated ids. Parse, don't validate: an id is checked once, where it
//! enters (a request, a config file), and from then on it is a
//! [`MerchantId`], a [`CampaignId`], …, which cannot hold an unchecked
//! string. Ids the store reads back were checked when they were written
//! ([`MerchantId::stored`]).
//!
//! Each id reads as a `&str` (`Deref`), so code that only looks at the text
//! (a store key, a log field) takes it as it is.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use crate::error::{Error, Result};

/// Longest id (merchant, campaign, product, viewer, order, ...) in bytes.
pub(crate) const MAX_ID_LEN: usize = 128;

/// Checks an id: 1 to [`MAX_ID_LEN`] bytes of printable ASCII without spaces
/// (0x21 to 0x7E). Fails with `INVALID_FIELD` naming `field`.
pub(crate) fn check_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_field(field, "missing"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(Error::invalid_field(
            field,
            format!("too long: at most {MAX_ID_LEN} bytes"),
        ));
    }
    if !value.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
        return Err(Error::invalid_field(
            field,
            "must be printable ascii without spaces",
        ));
    }
    Ok(())
}

/// An id type that can be parsed from a request's field: each id newtype,
/// and `String` for ids kept only as text (a viewer's, before it is hashed;
/// an id of any dimension in a counter read).
pub(crate) trait ParseId: Sized {
    /// Checks `value` (see [`check_id`]); the error names `field`.
    fn parse_id(field: &str, value: String) -> Result<Self>;
}

impl ParseId for String {
    fn parse_id(field: &str, value: String) -> Result<Self> {
        check_id(field, &value)?;
        Ok(value)
    }
}

/// Declares an id newtype over `String` that only [`check_id`] or the
/// store's read-back can make.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks `value` (see [`check_id`]); the error names `field`.
            pub(crate) fn parse(field: &str, value: impl Into<String>) -> Result<Self> {
                let value = value.into();
                check_id(field, &value)?;
                Ok($name(value))
            }

            /// An id read back from the store (or made by the service): it
            /// was checked when it was written.
            pub fn stored(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The id's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl ParseId for $name {
            fn parse_id(field: &str, value: String) -> Result<Self> {
                $name::parse(field, value)
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

id_type!(
    /// A merchant: a webshop that pays for attributed sales.
    MerchantId
);
id_type!(
    /// A merchant's campaign.
    CampaignId
);
id_type!(
    /// A creator: whose videos carry the carts.
    CreatorId
);
id_type!(
    /// A video a cart was tapped on.
    VideoId
);
id_type!(
    /// A product in a cart.
    ProductId
);
id_type!(
    /// A shop's order: the idempotency key of a sale within its merchant.
    OrderId
);
id_type!(
    /// A shop's refund: the idempotency key of a reversal within its merchant.
    ReversalId
);
id_type!(
    /// An API key's id: for logs and revocation, never the secret.
    KeyId
);
id_type!(
    /// A payout: the idempotency key of a payout within its merchant.
    PayoutId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_parses_only_when_it_passes_the_check() {
        let id = MerchantId::parse("merchant_id", "shop-1").unwrap();
        assert_eq!(id, "shop-1");
        assert_eq!(id.len(), 6);
        assert_eq!(id.to_string(), "shop-1");
        let error = MerchantId::parse("merchant_id", "two words").unwrap_err();
        assert!(matches!(error, Error::InvalidField { field, .. } if field == "merchant_id"));
    }
}
