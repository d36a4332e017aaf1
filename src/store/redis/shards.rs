//! Shards and the index: how many shards a merchant spreads its taps over,
//! the tags that may hold its data, and the index sets (written through a
//! short cache) that let reads across merchants find them.

use std::time::{Duration, Instant};

use redis::AsyncCommands;

use crate::error::Result;
use crate::model::Dimension;

use super::RedisStore;
use super::keys::{index_key, shard_tag};

/// How long an index entry ("merchant M counted for creator X") is trusted
/// by this process before it is written again (refreshing its TTL).
const INDEX_REFRESH: Duration = Duration::from_secs(3600);
/// Entries the index cache holds before it starts over.
const INDEX_CACHE_MAX: usize = 100_000;

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

    /// Adds `merchant` to each index set in `keys` that this process has not
    /// written lately (refreshing its TTL). The index sets live under other
    /// hash tags than the merchant's, so they cannot be in a script; they are
    /// written ahead of it, so a failure can leave an extra entry but never a
    /// counted click or sale that reads cannot find. A tap or sale costs a
    /// second round trip only the first time in an hour that this process
    /// sees a (set, merchant).
    pub(super) async fn index(&self, merchant: &str, keys: Vec<String>) -> Result<()> {
        let due: Vec<String> = {
            let mut indexed = self.indexed.lock().unwrap_or_else(|p| p.into_inner());
            if indexed.len() > INDEX_CACHE_MAX {
                indexed.clear();
            }
            let now = Instant::now();
            keys.into_iter()
                .filter(|key| {
                    let entry = (key.clone(), merchant.to_owned());
                    let fresh = indexed
                        .get(&entry)
                        .is_some_and(|at| now.duration_since(*at) < INDEX_REFRESH);
                    if !fresh {
                        indexed.insert(entry, now);
                    }
                    !fresh
                })
                .collect()
        };
        if due.is_empty() {
            return Ok(());
        }
        // One small pipeline per set: each set is its own slot on a cluster.
        let mut written = Ok(());
        for key in &due {
            let mut pipe = redis::pipe();
            pipe.sadd(key, merchant).ignore();
            pipe.expire(key, self.retention.daily.as_secs() as i64)
                .ignore();
            written = self
                .run(pipe.query_async::<()>(&mut self.conn.clone()))
                .await;
            if written.is_err() {
                break;
            }
        }
        if written.is_err() {
            let mut indexed = self.indexed.lock().unwrap_or_else(|p| p.into_inner());
            for key in due {
                indexed.remove(&(key, merchant.to_owned()));
            }
        }
        written
    }
}
