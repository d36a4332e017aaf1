//! Who may call what: an API key and the grant it carries. Shared by `auth`
//! (which finds a request's key) and the stores (which keep keys made by
//! CreateApiKey), so neither imports the other.

use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::ids::{KeyId, MerchantId};

/// What kind of caller a key is for (API.md, "Authentication and roles").
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
    /// The name used in config files and the store.
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

/// What a key may do: a role, and for a merchant key the merchant it acts
/// for. A merchant key without a merchant cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Grant {
    /// A feed service: ClickService.
    Feed,
    /// One merchant's shop: its sales and its counters.
    Merchant(MerchantId),
    /// A dashboard: every counter.
    Dashboard,
    /// An operator: everything.
    Admin,
}

/// Why a role and a merchant do not make a grant. Each place that builds a
/// grant words it for its own caller (a config key, a request field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantMismatch {
    /// A merchant key names no merchant.
    MerchantMissing,
    /// A key of another role names a merchant.
    MerchantNotAllowed,
}

impl Grant {
    /// The grant of a key of `role` bound to `merchant`: `None` when they
    /// do not go together (a merchant key needs its merchant; no other key
    /// has one).
    pub fn new(role: Role, merchant: Option<MerchantId>) -> Option<Grant> {
        Grant::bind(role, merchant, Ok, |_| ()).ok()
    }

    /// The one rule every place that builds a grant from a role and a
    /// merchant shares: a merchant key needs its merchant, no other key has
    /// one. `parse` turns the merchant into a [`MerchantId`] and runs only
    /// once the role fits it, so a caller reports a misplaced merchant before
    /// a malformed one; `mismatch` words the error for the caller.
    pub(crate) fn bind<M, E>(
        role: Role,
        merchant: Option<M>,
        parse: impl FnOnce(M) -> Result<MerchantId, E>,
        mismatch: impl FnOnce(GrantMismatch) -> E,
    ) -> Result<Grant, E> {
        match (role, merchant) {
            (Role::Merchant, None) => Err(mismatch(GrantMismatch::MerchantMissing)),
            (Role::Merchant, Some(merchant)) => Ok(Grant::Merchant(parse(merchant)?)),
            (Role::Feed | Role::Dashboard | Role::Admin, Some(_)) => {
                Err(mismatch(GrantMismatch::MerchantNotAllowed))
            }
            (Role::Feed, None) => Ok(Grant::Feed),
            (Role::Dashboard, None) => Ok(Grant::Dashboard),
            (Role::Admin, None) => Ok(Grant::Admin),
        }
    }

    /// The grant's role.
    pub(crate) fn role(&self) -> Role {
        match self {
            Grant::Feed => Role::Feed,
            Grant::Merchant(_) => Role::Merchant,
            Grant::Dashboard => Role::Dashboard,
            Grant::Admin => Role::Admin,
        }
    }

    /// The merchant a merchant key acts for.
    pub(crate) fn merchant(&self) -> Option<&MerchantId> {
        match self {
            Grant::Merchant(merchant_id) => Some(merchant_id),
            _ => None,
        }
    }
}

/// A known API key: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id, for logs and revocation.
    pub id: KeyId,
    /// What it may call.
    pub grant: Grant,
    /// SHA-256 of the secret.
    pub sha256: [u8; 32],
}

/// What an operator may know of a key (ListApiKeys): never its secret nor
/// its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// The key's id.
    pub key_id: KeyId,
    /// What it may call (and the merchant of a merchant key).
    pub grant: Grant,
    /// The note CreateApiKey was given; empty for the config file's keys.
    pub label: String,
    /// When CreateApiKey made it: `None` for the config file's keys and
    /// keys stored before creation times were kept.
    pub created_at: Option<DateTime<Utc>>,
    /// Revoked: refused from now on.
    pub revoked: bool,
    /// A bootstrap key of the config file, which only the file changes.
    pub from_config: bool,
}

/// Which keys a listing selects: each `None` is no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyQuery {
    /// Keys of this role.
    pub role: Option<Role>,
    /// Keys bound to this merchant.
    pub merchant_id: Option<MerchantId>,
}

impl KeyQuery {
    /// Whether a key with `grant` is selected.
    pub fn selects(&self, grant: &Grant) -> bool {
        self.role.is_none_or(|role| grant.role() == role)
            && self
                .merchant_id
                .as_ref()
                .is_none_or(|merchant| grant.merchant() == Some(merchant))
    }
}
