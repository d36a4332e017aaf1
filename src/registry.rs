//! A short-lived, in-process cache of registry reads on the hot path.
//!
//! A tap needs its campaign and merchant; reading both from the store on
//! every tap would triple its round trips. Entries live [`REGISTRY_TTL`]:
//! a review decision or a merchant change made on another replica takes
//! effect everywhere within that time, and at once on the replica that made
//! it (writes invalidate the local entry).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::{Campaign, Merchant};

/// How long a registry read is reused.
pub const REGISTRY_TTL: Duration = Duration::from_secs(1);
/// Entries per map before the cache starts over (a bound, not a tuning knob).
const MAX_ENTRIES: usize = 50_000;

/// Cached campaigns and merchants, misses included.
#[derive(Debug, Default)]
pub struct RegistryCache {
    /// Campaigns by id, with when they were read.
    campaigns: Mutex<HashMap<String, (Instant, Option<Campaign>)>>,
    /// Merchants by id, with when they were read.
    merchants: Mutex<HashMap<String, (Instant, Option<Merchant>)>>,
}

fn get<T: Clone>(
    map: &Mutex<HashMap<String, (Instant, Option<T>)>>,
    id: &str,
) -> Option<Option<T>> {
    let map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.get(id)
        .filter(|(at, _)| at.elapsed() < REGISTRY_TTL)
        .map(|(_, value)| value.clone())
}

fn put<T>(map: &Mutex<HashMap<String, (Instant, Option<T>)>>, id: &str, value: Option<T>) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(id.to_owned(), (Instant::now(), value));
}

impl RegistryCache {
    /// A cached campaign read: `Some(None)` is a cached miss, `None` not cached.
    pub fn campaign(&self, id: &str) -> Option<Option<Campaign>> {
        get(&self.campaigns, id)
    }

    /// Remembers a campaign read.
    pub fn put_campaign(&self, id: &str, campaign: Option<Campaign>) {
        put(&self.campaigns, id, campaign);
    }

    /// A cached merchant read.
    pub fn merchant(&self, id: &str) -> Option<Option<Merchant>> {
        get(&self.merchants, id)
    }

    /// Remembers a merchant read.
    pub fn put_merchant(&self, id: &str, merchant: Option<Merchant>) {
        put(&self.merchants, id, merchant);
    }

    /// Forgets a campaign this replica just wrote.
    pub fn forget_campaign(&self, id: &str) {
        self.campaigns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Forgets a merchant this replica just wrote.
    pub fn forget_merchant(&self, id: &str) {
        self.merchants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}
