//! API keys and roles. A caller presents `authorization: Bearer <secret>`;
//! the SHA-256 of the secret is looked up among the known keys (only hashes
//! are ever kept). No key or an unknown one is UNAUTHENTICATED; a known key
//! whose role does not allow the call is PERMISSION_DENIED.

use std::collections::HashMap;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// What a key may do (API.md, "Authentication and roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Feed services: ClickService.
    Feed,
    /// One merchant's shop: its sales and its counters.
    Merchant,
    /// Dashboards: every counter.
    Dashboard,
    /// Operators: everything.
    Admin,
}

impl Role {
    /// The name used in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Feed => "feed",
            Role::Merchant => "merchant",
            Role::Dashboard => "dashboard",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "feed" => Ok(Role::Feed),
            "merchant" => Ok(Role::Merchant),
            "dashboard" => Ok(Role::Dashboard),
            "admin" => Ok(Role::Admin),
            _ => Err(()),
        }
    }
}

/// A known API key: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id, for logs and revocation.
    pub id: String,
    /// What it may call.
    pub role: Role,
    /// The merchant a merchant key is bound to.
    pub merchant_id: Option<String>,
    /// SHA-256 of the secret.
    pub sha256: [u8; 32],
}

/// Who is calling: the key that authenticated the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's id (safe to log; the secret never is).
    pub key_id: String,
    /// The key's role.
    pub role: Role,
    /// For merchant keys, the merchant they act for.
    pub merchant_id: Option<String>,
}

impl Caller {
    /// Allows the call when the caller has one of `roles` (admin always may).
    pub fn require(&self, roles: &[Role]) -> Result<()> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(Error::PermissionDenied)
        }
    }

    /// The merchant a sale call acts for: a merchant key's own merchant, or,
    /// for an admin key, the merchant named in the [`ACT_AS_MERCHANT`] metadata.
    pub fn sale_merchant(&self, metadata: &tonic::metadata::MetadataMap) -> Result<String> {
        match (self.role, &self.merchant_id) {
            (Role::Merchant, Some(merchant_id)) => Ok(merchant_id.clone()),
            (Role::Admin, _) => {
                let merchant_id = metadata
                    .get(ACT_AS_MERCHANT)
                    .and_then(|value| value.to_str().ok())
                    .ok_or_else(|| Error::invalid_field(ACT_AS_MERCHANT, "missing"))?;
                crate::policy::validate_id(ACT_AS_MERCHANT, merchant_id)?;
                Ok(merchant_id.to_owned())
            }
            _ => Err(Error::PermissionDenied),
        }
    }
}

/// Metadata an admin key sends on SaleService calls to act for a merchant
/// (support staff replaying a shop's sale); merchant keys need none.
pub const ACT_AS_MERCHANT: &str = "x-cartclick-merchant-id";

/// The SHA-256 of a secret, as config files and the store keep it.
pub fn secret_sha256(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Finds the key behind a request's bearer secret.
#[derive(Debug, Default)]
pub struct Authenticator {
    /// Keys by the SHA-256 of their secret.
    by_hash: HashMap<[u8; 32], Caller>,
}

impl Authenticator {
    /// An authenticator that knows `keys`.
    pub fn new(keys: &[ApiKey]) -> Self {
        let by_hash = keys
            .iter()
            .map(|key| {
                let caller = Caller {
                    key_id: key.id.clone(),
                    role: key.role,
                    merchant_id: key.merchant_id.clone(),
                };
                (key.sha256, caller)
            })
            .collect();
        Authenticator { by_hash }
    }

    /// The caller of a request, from its `authorization` metadata.
    pub fn authenticate(&self, metadata: &tonic::metadata::MetadataMap) -> Result<Caller> {
        let secret = metadata
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_secret)
            .ok_or(Error::Unauthenticated)?;
        // A lookup by hash: the hash of a guess tells nothing about a secret.
        self.by_hash
            .get(&secret_sha256(secret))
            .cloned()
            .ok_or(Error::Unauthenticated)
    }
}

/// The secret of an `authorization: Bearer <secret>` value; the scheme is
/// case-insensitive (RFC 7235).
fn bearer_secret(value: &str) -> Option<&str> {
    let (scheme, secret) = value.trim().split_once(' ')?;
    let secret = secret.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty()).then_some(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::metadata::MetadataMap;

    fn with_auth(value: &str) -> MetadataMap {
        let mut map = MetadataMap::new();
        map.insert("authorization", value.parse().unwrap());
        map
    }

    fn auth() -> Authenticator {
        Authenticator::new(&[ApiKey {
            id: "feed-1".into(),
            role: Role::Feed,
            merchant_id: None,
            sha256: secret_sha256("s3cret"),
        }])
    }

    #[test]
    fn a_known_secret_authenticates() {
        let caller = auth().authenticate(&with_auth("Bearer s3cret")).unwrap();
        assert_eq!(caller.key_id, "feed-1");
        assert_eq!(caller.role, Role::Feed);
        assert!(auth().authenticate(&with_auth("bearer s3cret")).is_ok());
    }

    #[test]
    fn missing_malformed_or_unknown_credentials_are_unauthenticated() {
        let a = auth();
        assert_eq!(
            a.authenticate(&MetadataMap::new()),
            Err(Error::Unauthenticated)
        );
        for value in ["s3cret", "Basic s3cret", "Bearer ", "Bearer wrong"] {
            assert_eq!(
                a.authenticate(&with_auth(value)),
                Err(Error::Unauthenticated),
                "{value}"
            );
        }
    }

    #[test]
    fn roles_allow_their_services_and_admin_everything() {
        let feed = Caller {
            key_id: "f".into(),
            role: Role::Feed,
            merchant_id: None,
        };
        assert!(feed.require(&[Role::Feed]).is_ok());
        assert_eq!(
            feed.require(&[Role::Merchant]),
            Err(Error::PermissionDenied)
        );
        let admin = Caller {
            key_id: "a".into(),
            role: Role::Admin,
            merchant_id: None,
        };
        assert!(admin.require(&[Role::Merchant]).is_ok());
        assert!(matches!(
            admin.sale_merchant(&MetadataMap::new()),
            Err(Error::InvalidField { .. })
        ));
        let mut acting = MetadataMap::new();
        acting.insert(ACT_AS_MERCHANT, "m-1".parse().unwrap());
        assert_eq!(admin.sale_merchant(&acting).as_deref(), Ok("m-1"));
        assert_eq!(feed.sale_merchant(&acting), Err(Error::PermissionDenied));
    }
}
