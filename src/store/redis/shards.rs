//! Shards and the index: how many shards a merchant spreads its taps over,
//! where a new click is placed, the tags that may hold a merchant's data,
//! and the index sets (written through a short cache) that let reads across
//! merchants find them.

use std::sync::Arc;
use std::time::Duration;

use foldhash::fast::RandomState;
use moka::future::Cache;
use redis::AsyncCommands;

use crate::error::Result;
use crate::model::{Attribution, Dimension};
use crate::privacy::ViewerHash;
use crate::token::ClickId;

use super::RedisStore;
use super::keys::{IndexEntry, index_key, shard_tag};

/// How long an index entry ("merchant M counted for creator X") is trusted
/// by this process before it is written again (refreshing its TTL).
const INDEX_REFRESH: Duration = Duration::from_secs(3600);
/// Entries the index cache holds at most (the least used go first).
const INDEX_CACHE_MAX: u64 = 100_000;

/// The index entries this process wrote lately (`<set> <member>`, see
/// [`IndexEntry`]), each for [`INDEX_REFRESH`]: a tap adds its entries
/// once an hour, not every time. Every tap looks up six entries, so the
/// cache hashes with foldhash (seeded per process) rather than SipHash.
pub(super) type IndexCache = Cache<String, (), RandomState>;

/// An empty index cache.
pub(super) fn index_cache() -> IndexCache {
    Cache::builder()
        .max_capacity(INDEX_CACHE_MAX)
        .time_to_live(INDEX_REFRESH)
        .build_with_hasher(RandomState::default())
}

/// The dimensions read through the merchant index (merchant counters are
/// found by their own tag).
pub(super) const INDEXED: [Dimension; 4] = [
    Dimension::Campaign,
    Dimension::Creator,
    Dimension::Video,
    Dimension::Product,
];

impl RedisStore {
    /// How many shards `merchant` is spread over.
    pub(super) fn shards(&self, merchant: &str) -> u16 {
        self.merchant_shards
            .get(merchant)
            .copied()
            .unwrap_or(1)
            .max(1)
    }

    /// Where a new click lives: `click_id` with the viewer's shard in its
    /// last byte. The viewer picks the shard (so a viewer's dedup entries
    /// and rate counter stay together). The shard byte (0 in a fresh id)
    /// records it whatever the merchant's shard count (0 when unsharded):
    /// so a sale finds its click after the count has changed. The first two
    /// bytes, which pick the click's bucket, stay as they are.
    pub(super) fn place(
        &self,
        merchant: &str,
        viewer: Option<&ViewerHash>,
        click_id: ClickId,
    ) -> ClickId {
        let shards = self.shards(merchant);
        let shard = viewer.map_or(0, |v| u16::from(v[0]) % shards);
        let mut bytes = *click_id.as_bytes();
        bytes[15] = shard as u8;
        ClickId::from_bytes(bytes)
    }

    /// The hash tags of every shard of `merchant` that may hold its data,
    /// shard 0 first: the shards configured now, and those its taps used
    /// under an earlier shard count, which the merchant's index set names
    /// (taps add their tag to it, as to the other dimensions' sets).
    pub(super) async fn tags(&self, merchant: &str) -> Result<Vec<String>> {
        let mut tags: Vec<String> = (0..self.shards(merchant))
            .map(|shard| shard_tag(merchant, shard))
            .collect();
        let used: Vec<String> = self
            .run(
                self.conn
                    .clone()
                    .smembers(index_key(Dimension::Merchant, merchant)),
            )
            .await?;
        for tag in used {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(tags)
    }

    /// Writes the index entries of a tap on `cart` (the tap's shard tag,
    /// day and attribution, see [`cart_key`]) unless this process indexed
    /// that cart lately: most taps repeat a cart, so one cache look-up
    /// stands for the six of [`RedisStore::index`], and the entries are
    /// built only on a miss. Concurrent taps on a cart not yet indexed wait
    /// for the one that writes its entries (see [`RedisStore::index`]).
    pub(super) async fn index_cart(
        &self,
        cart: &str,
        entries: impl FnOnce() -> Vec<IndexEntry>,
    ) -> Result<()> {
        if self.indexed.contains_key(cart) {
            return Ok(());
        }
        self.indexed
            .try_get_with_by_ref(cart, async { self.index(entries()).await })
            .await
            .map_err(Arc::unwrap_or_clone)
    }

    /// Writes each index entry that this process has not written lately
    /// (adding the member, refreshing the set's TTL). The index sets live
    /// under other hash tags than the merchant's, so they cannot be in a
    /// script; they are written ahead of it, so a failure can leave an extra
    /// entry but never a counted click or sale that reads cannot find. An
    /// entry is cached once written, not before: concurrent calls with an
    /// entry in flight wait for its write (the cache runs one write a key),
    /// so none goes on to its script, and is acknowledged, before the
    /// entry is in Redis. A tap or sale costs a second round trip only the
    /// first time in an hour that this process sees an entry.
    pub(super) async fn index(&self, entries: Vec<IndexEntry>) -> Result<()> {
        for entry in &entries {
            // A look-up that allocates nothing, for the entries written lately.
            if self.indexed.contains_key(entry.as_str()) {
                continue;
            }
            self.indexed
                .try_get_with_by_ref(entry.as_str(), self.write_index_entry(entry))
                .await
                .map_err(Arc::unwrap_or_clone)?;
        }
        Ok(())
    }

    /// Writes one index entry: one small pipeline per set, as each set is
    /// its own slot on a cluster.
    async fn write_index_entry(&self, entry: &IndexEntry) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.sadd(entry.set(), entry.member()).ignore();
        if entry.expires() {
            pipe.expire(entry.set(), self.retention.daily.as_secs() as i64)
                .ignore();
        }
        self.run(pipe.query_async::<()>(&mut self.conn.clone()))
            .await
    }
}

/// The index cache's key for the taps of one cart on one shard and day,
/// and whether its campaign pays commission (its taps then add the
/// earnings index entry too):
/// the fields after a newline, which no id holds (ids are printable) and
/// no [`IndexEntry`] starts with, so it collides with neither.
pub(super) fn cart_key(tag: &str, day_start: i64, attribution: &Attribution, pays: bool) -> String {
    let mut digits = itoa::Buffer::new();
    let parts = [
        tag,
        digits.format(day_start),
        if pays { "$" } else { "" },
        &attribution.campaign_id,
        &attribution.creator_id,
        &attribution.video_id,
        &attribution.product_id,
    ];
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for part in parts {
        key.push('\n');
        key.push_str(part);
    }
    key
}
