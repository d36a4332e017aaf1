//! The ids and secrets a test deployment shares: the merchants and campaign
//! most tests sell for, the API keys of every role, and a signing key ring.
//! Keys are generated per test; nothing secret is committed.

use cartclick::auth::secret_sha256;
use cartclick::model::{ApiKey, Grant, KeyId, MerchantId, Role};
use cartclick::token::{KeyRing, SigningKey};

/// The merchant most tests sell for, on domain `shop.dk`.
pub const MERCHANT: &str = "m-1";
/// A second merchant, on `other.dk`.
pub const OTHER_MERCHANT: &str = "m-2";
/// An approved campaign of MERCHANT, any product, category apparel.
pub const CAMPAIGN: &str = "c-1";

/// A random secret per key and test.
fn secret(role: &str) -> String {
    format!("test-{role}-{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// The secrets of the keys a test app knows.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The feed's key: ClickService.
    pub feed: String,
    /// MERCHANT's key.
    pub merchant: String,
    /// OTHER_MERCHANT's key, for calls that must not reach MERCHANT's data.
    pub other_merchant: String,
    /// A dashboard's key: every counter.
    pub dashboard: String,
    /// The operators' key: everything.
    pub admin: String,
}

/// One API key of [`Keys`] as a config names it: id, role, merchant, secret.
pub type KeyEntry<'a> = (&'static str, Role, Option<&'static str>, &'a str);

impl Keys {
    /// Fresh random secrets for every role.
    pub fn new() -> Self {
        Keys {
            feed: secret("feed"),
            merchant: secret("merchant"),
            other_merchant: secret("merchant2"),
            dashboard: secret("dashboard"),
            admin: secret("admin"),
        }
    }

    /// Every key with its id, role and merchant: the one list both the
    /// in-process config ([`Keys::api_keys`]) and the binary's config file
    /// are written from.
    pub fn entries(&self) -> [KeyEntry<'_>; 5] {
        [
            ("feed", Role::Feed, None, &self.feed),
            ("merchant", Role::Merchant, Some(MERCHANT), &self.merchant),
            (
                "merchant2",
                Role::Merchant,
                Some(OTHER_MERCHANT),
                &self.other_merchant,
            ),
            ("dashboard", Role::Dashboard, None, &self.dashboard),
            ("admin", Role::Admin, None, &self.admin),
        ]
    }

    /// The keys as an in-process [`cartclick::config::Config`] holds them.
    pub fn api_keys(&self) -> Vec<ApiKey> {
        self.entries()
            .into_iter()
            .map(|(id, role, merchant, secret)| ApiKey {
                id: KeyId::stored(id),
                grant: Grant::new(role, merchant.map(MerchantId::stored))
                    .expect("entries pair merchant keys with their merchant"),
                sha256: secret_sha256(secret),
            })
            .collect()
    }
}

/// A fresh signing key ring, as an operator would configure one.
pub fn key_ring() -> KeyRing {
    KeyRing::new(vec![SigningKey {
        kid: "k1".into(),
        secret: rand::random::<[u8; 32]>().to_vec(),
        active: true,
    }])
    .expect("valid key ring")
}
