//! A short-lived, in-process cache of registry reads on the hot path.
//!
//! A tap needs its campaign and merchant; reading both from the store on
//! every tap would triple its round trips. Entries live [`REGISTRY_TTL`]:
//! a review decision or a merchant change made on another replica takes
//! effect everywhere within that time, and at once on the replica that made
//! it (writes invalidate the local entry). Misses are cached too, so a
//! flood of taps on an unknown campaign reads the store once a TTL.
//!
//! The maps are `moka` caches: entries expire [`REGISTRY_TTL`] after they
//! were read from the store, and past [`MAX_ENTRIES`] a map evicts the
//! entries least likely to be read again rather than starting over. They
//! hold their records behind an `Arc`: a read hands out the record, not a
//! copy of its strings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use foldhash::fast::RandomState;
use moka::sync::Cache;

use crate::model::{Campaign, Merchant};

/// How long a registry read is reused.
pub(crate) const REGISTRY_TTL: Duration = Duration::from_secs(1);
/// Entries per map at most (a bound on memory, not a tuning knob).
pub(crate) const MAX_ENTRIES: u64 = 50_000;

/// Cached campaigns and merchants, misses included.
pub(crate) struct RegistryCache {
    /// Campaigns by id; `None` is a campaign the store does not have.
    campaigns: Cache<String, Option<Arc<Campaign>>, RandomState>,
    /// Merchants by id; `None` is a merchant the store does not have.
    merchants: Cache<String, Option<Arc<Merchant>>, RandomState>,
}

impl Default for RegistryCache {
    /// The cache with [`REGISTRY_TTL`] and [`MAX_ENTRIES`].
    fn default() -> Self {
        RegistryCache::new(REGISTRY_TTL, MAX_ENTRIES)
    }
}

impl fmt::Debug for RegistryCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryCache")
            .field("campaigns", &self.campaigns.entry_count())
            .field("merchants", &self.merchants.entry_count())
            .finish()
    }
}

/// One map: entries live `ttl` from their insertion, at most `max_entries`.
/// A tap reads two, so keys hash with foldhash (seeded per process), not
/// SipHash.
fn map<V: Clone + Send + Sync + 'static>(
    ttl: Duration,
    max_entries: u64,
) -> Cache<String, V, RandomState> {
    Cache::builder()
        .time_to_live(ttl)
        .max_capacity(max_entries)
        .build_with_hasher(RandomState::default())
}

impl RegistryCache {
    /// A cache whose reads live `ttl`, at most `max_entries` per map.
    #[must_use]
    pub(crate) fn new(ttl: Duration, max_entries: u64) -> Self {
        RegistryCache {
            campaigns: map(ttl, max_entries),
            merchants: map(ttl, max_entries),
        }
    }

    /// A cached campaign read: `Some(None)` is a cached miss, `None` not cached.
    pub(crate) fn campaign(&self, id: &str) -> Option<Option<Arc<Campaign>>> {
        self.campaigns.get(id)
    }

    /// Remembers a campaign read.
    pub(crate) fn put_campaign(&self, id: &str, campaign: Option<Arc<Campaign>>) {
        self.campaigns.insert(id.to_owned(), campaign);
    }

    /// A cached merchant read.
    pub(crate) fn merchant(&self, id: &str) -> Option<Option<Arc<Merchant>>> {
        self.merchants.get(id)
    }

    /// Remembers a merchant read.
    pub(crate) fn put_merchant(&self, id: &str, merchant: Option<Arc<Merchant>>) {
        self.merchants.insert(id.to_owned(), merchant);
    }

    /// Forgets a campaign this replica just wrote.
    pub(crate) fn forget_campaign(&self, id: &str) {
        self.campaigns.invalidate(id);
    }

    /// Forgets a merchant this replica just wrote.
    pub(crate) fn forget_merchant(&self, id: &str) {
        self.merchants.invalidate(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MerchantId;

    fn merchant(id: &str) -> Arc<Merchant> {
        Arc::new(Merchant {
            merchant_id: MerchantId::stored(id),
            display_name: String::new(),
            allowed_domains: vec!["shop.example".into()],
            token_param: crate::model::DEFAULT_TOKEN_PARAM.into(),
        })
    }

    #[test]
    fn reads_and_misses_are_cached_until_forgotten() {
        let cache = RegistryCache::default();
        assert_eq!(cache.merchant("m-1"), None);
        cache.put_merchant("m-1", Some(merchant("m-1")));
        cache.put_merchant("m-2", None);
        assert_eq!(cache.merchant("m-1"), Some(Some(merchant("m-1"))));
        assert_eq!(cache.merchant("m-2"), Some(None));
        cache.forget_merchant("m-1");
        assert_eq!(cache.merchant("m-1"), None);
        assert_eq!(cache.merchant("m-2"), Some(None));
        cache.put_campaign("c-1", None);
        assert_eq!(cache.campaign("c-1"), Some(None));
        assert_eq!(cache.merchant("c-1"), None);
        cache.forget_campaign("c-1");
        assert_eq!(cache.campaign("c-1"), None);
    }

    #[test]
    fn reads_expire_after_the_ttl() {
        let cache = RegistryCache::new(Duration::from_millis(50), MAX_ENTRIES);
        cache.put_merchant("m-1", Some(merchant("m-1")));
        assert!(cache.merchant("m-1").is_some());
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(cache.merchant("m-1"), None);
    }
}
