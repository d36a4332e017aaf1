//! API keys and roles. A caller presents `authorization: Bearer <secret>`;
//! the SHA-256 of the secret is looked up among the known keys (only hashes
//! are ever kept). No key or an unknown one is UNAUTHENTICATED; a known key
//! whose role does not allow the call is PERMISSION_DENIED.
//!
//! Both transports authenticate from the request's headers before the call
//! takes a concurrency permit or its body is read (`rpc_layer`, `api::http`),
//! and hand the [`Caller`] to the adapters in the request's extensions
//! ([`caller`]): a client without a live key holds nothing that a real call
//! needs. Store lookups of secrets not seen live lately are bounded in
//! number ([`MAX_KEY_LOOKUPS`]), so a flood of made-up secrets can neither
//! queue on the store nor crowd out the lookups of real keys.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use foldhash::fast::RandomState;
use moka::future::Cache;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::model::{ApiKey, Grant, KeyId, MerchantId, Role};
use crate::store::Keys;

/// Who is calling: the key that authenticated the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The key's id (safe to log; the secret never is).
    pub(crate) key_id: KeyId,
    /// What the key may do.
    pub(crate) grant: Grant,
    /// The SHA-256 of the key's secret: how a long call (a stream) asks
    /// again whether the key is still live.
    pub(crate) sha256: [u8; 32],
}

/// The caller a transport authenticated and put in the request's
/// extensions; a request that reached an adapter without one (a transport
/// that skipped authentication) is refused, never served.
pub(crate) fn caller<T>(request: &tonic::Request<T>) -> Result<Caller> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or(Error::Unauthenticated)
}

impl Caller {
    /// Allows the call when the caller has one of `roles` (admin always may).
    pub(crate) fn require(&self, roles: &[Role]) -> Result<()> {
        let role = self.grant.role();
        if role == Role::Admin || roles.contains(&role) {
            Ok(())
        } else {
            Err(Error::PermissionDenied)
        }
    }

    /// The merchant a sale call acts for: a merchant key's own merchant, or,
    /// for an admin key, the merchant named in the [`ACT_AS_MERCHANT`] metadata.
    pub(crate) fn sale_merchant(
        &self,
        metadata: &tonic::metadata::MetadataMap,
    ) -> Result<MerchantId> {
        match &self.grant {
            Grant::Merchant(merchant_id) => Ok(merchant_id.clone()),
            Grant::Admin => {
                let merchant_id = metadata
                    .get(ACT_AS_MERCHANT)
                    .and_then(|value| value.to_str().ok())
                    .ok_or_else(|| Error::invalid_field(ACT_AS_MERCHANT, "missing"))?;
                MerchantId::parse(ACT_AS_MERCHANT, merchant_id)
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

/// How long a key lookup in the store is reused: a key revoked on any
/// replica is refused by every replica within this time.
pub const KEY_CACHE_TTL: Duration = Duration::from_millis(500);
/// Cached lookups at most (a bound against floods of made-up secrets, not
/// a tuning knob): the least used are dropped first.
const KEY_CACHE_MAX: u64 = 50_000;
/// Store lookups of secrets (cache misses) in flight at once; beyond it a
/// call is refused RATE_LIMITED before it holds anything else. The work a
/// client can cause before it proves it has a key stays this small.
pub(crate) const MAX_KEY_LOOKUPS: usize = 64;
/// How long a secret found live is exempt from [`MAX_KEY_LOOKUPS`].
const KNOWN_KEY_TTL: Duration = Duration::from_secs(600);

/// Finds the key behind a request's bearer secret: the bootstrap keys of
/// the config file, then keys made by CreateApiKey, looked up in the store
/// through a short cache (misses included). Every call looks its key up,
/// so the maps hash with foldhash (seeded per process) rather than SipHash:
/// their keys are SHA-256 digests, which no caller can aim at a bucket.
pub(crate) struct Authenticator {
    /// Bootstrap keys by the SHA-256 of their secret.
    by_hash: HashMap<[u8; 32], Caller, RandomState>,
    /// Where CreateApiKey keeps keys; `None` knows bootstrap keys only.
    store: Option<Arc<dyn Keys>>,
    /// Recent store lookups by secret hash (misses included), each for
    /// [`KEY_CACHE_TTL`]. Concurrent misses of one secret share a single
    /// store lookup: when a busy key's entry expires, its calls wait for
    /// one read rather than each making one.
    cache: Cache<[u8; 32], Option<Caller>, RandomState>,
    /// Secrets found live lately: their lookups are never refused by the
    /// bound, so a flood of made-up secrets cannot lock out real keys.
    known: Cache<[u8; 32], (), RandomState>,
    /// Permits for store lookups of other secrets ([`MAX_KEY_LOOKUPS`]).
    lookups: Semaphore,
}

impl Default for Authenticator {
    fn default() -> Self {
        Authenticator {
            by_hash: HashMap::default(),
            store: None,
            cache: Cache::builder()
                .max_capacity(KEY_CACHE_MAX)
                .time_to_live(KEY_CACHE_TTL)
                .build_with_hasher(RandomState::default()),
            known: Cache::builder()
                .max_capacity(KEY_CACHE_MAX)
                .time_to_live(KNOWN_KEY_TTL)
                .build_with_hasher(RandomState::default()),
            lookups: Semaphore::new(MAX_KEY_LOOKUPS),
        }
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("bootstrap_keys", &self.by_hash.len())
            .finish_non_exhaustive()
    }
}

fn caller_of(key: &ApiKey) -> Caller {
    Caller {
        key_id: key.id.clone(),
        grant: key.grant.clone(),
        sha256: key.sha256,
    }
}

impl Authenticator {
    /// An authenticator that knows the bootstrap `keys` only.
    pub(crate) fn new(keys: &[ApiKey]) -> Self {
        let by_hash = keys
            .iter()
            .map(|key| (key.sha256, caller_of(key)))
            .collect();
        Authenticator {
            by_hash,
            ..Authenticator::default()
        }
    }

    /// An authenticator that also knows the keys stored in `store`.
    pub(crate) fn with_store(keys: &[ApiKey], store: Arc<dyn Keys>) -> Self {
        Authenticator {
            store: Some(store),
            ..Authenticator::new(keys)
        }
    }

    /// Is `key_id` one of the config file's keys (which only the file revokes)?
    pub(crate) fn is_bootstrap(&self, key_id: &str) -> bool {
        self.by_hash.values().any(|caller| caller.key_id == key_id)
    }

    /// Drops every cached lookup: after a key is made or revoked here, this
    /// replica sees it at once.
    pub(crate) fn forget_cached(&self) {
        self.cache.invalidate_all();
    }

    /// The caller of a request, from its `authorization` header.
    pub(crate) async fn authenticate(&self, headers: &http::HeaderMap) -> Result<Caller> {
        let secret = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_secret)
            .ok_or(Error::Unauthenticated)?;
        // A lookup by hash: the hash of a guess tells nothing about a secret.
        self.find(&secret_sha256(secret))
            .await?
            .ok_or(Error::Unauthenticated)
    }

    /// Whether the key that made `caller` is still live (not revoked): asked
    /// by streams, which outlive the check at their start. A revocation on
    /// any replica is seen here within [`KEY_CACHE_TTL`].
    pub(crate) async fn is_live(&self, caller: &Caller) -> Result<bool> {
        Ok(self
            .find(&caller.sha256)
            .await?
            .is_some_and(|live| live.key_id == caller.key_id))
    }

    /// The key whose secret hashes to `hash`: a bootstrap key, else a stored
    /// one through the cache (misses included).
    async fn find(&self, hash: &[u8; 32]) -> Result<Option<Caller>> {
        if let Some(caller) = self.by_hash.get(hash) {
            return Ok(Some(caller.clone()));
        }
        let Some(store) = &self.store else {
            return Ok(None);
        };
        self.cache
            .try_get_with(*hash, async {
                let _lookup = if self.known.contains_key(hash) {
                    None
                } else {
                    let Ok(permit) = self.lookups.try_acquire() else {
                        return Err(Error::RateLimited);
                    };
                    Some(permit)
                };
                let caller = store.find_api_key(hash).await?.as_ref().map(caller_of);
                if caller.is_some() {
                    self.known.insert(*hash, ()).await;
                }
                Ok(caller)
            })
            .await
            .map_err(|error: Arc<Error>| (*error).clone())
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

    fn with_auth(value: &str) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        map.insert("authorization", value.parse().unwrap());
        map
    }

    fn auth() -> Authenticator {
        Authenticator::new(&[ApiKey {
            id: KeyId::stored("feed-1"),
            grant: Grant::Feed,
            sha256: secret_sha256("s3cret"),
        }])
    }

    #[tokio::test]
    async fn a_known_secret_authenticates() {
        let caller = auth()
            .authenticate(&with_auth("Bearer s3cret"))
            .await
            .unwrap();
        assert_eq!(caller.key_id, "feed-1");
        assert_eq!(caller.grant, Grant::Feed);
        assert!(
            auth()
                .authenticate(&with_auth("bearer s3cret"))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn missing_malformed_or_unknown_credentials_are_unauthenticated() {
        let a = auth();
        assert_eq!(
            a.authenticate(&http::HeaderMap::new()).await,
            Err(Error::Unauthenticated)
        );
        for value in ["s3cret", "Basic s3cret", "Bearer ", "Bearer wrong"] {
            assert_eq!(
                a.authenticate(&with_auth(value)).await,
                Err(Error::Unauthenticated),
                "{value}"
            );
        }
    }

    #[test]
    fn roles_allow_their_services_and_admin_everything() {
        let feed = Caller {
            key_id: KeyId::stored("f"),
            grant: Grant::Feed,
            sha256: [0; 32],
        };
        assert!(feed.require(&[Role::Feed]).is_ok());
        assert_eq!(
            feed.require(&[Role::Merchant]),
            Err(Error::PermissionDenied)
        );
        let admin = Caller {
            key_id: KeyId::stored("a"),
            grant: Grant::Admin,
            sha256: [0; 32],
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
