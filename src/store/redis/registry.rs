//! The registry's listings: merchants, campaigns and API keys walked in id
//! order through their listing indexes (sorted sets of score 0 in the
//! registry slot, walked by ZRANGE BYLEX), each written in the same step as
//! the record it indexes; and the one-time backfill of those indexes from
//! the records an older version wrote without them.

use std::collections::HashMap;

use redis::AsyncCommands;

use crate::error::Result;
use crate::model::{
    ApiKeyInfo, Campaign, CampaignQuery, Grant, KeyId, KeyQuery, Merchant, MerchantId, Page, Role,
};

use super::RedisStore;
use super::codec::{corrupt, from_millis, parse_campaign};
use super::keys::{
    REGISTRY_TAG, api_key_id_key, api_keys_index_key, campaign_key, campaigns_index_key,
    indexes_backfilled_key, merchant_campaigns_key, merchant_key, merchants_index_key,
};

/// Index members read at once.
const BATCH: usize = 100;
/// Index members one page looks at, at most: a filter that selects few
/// items ends a page early (its token goes on from the last member looked
/// at) rather than reading a whole index in one call.
const WALK_BUDGET: usize = 10_000;
/// Index entries the backfill writes in one pipeline.
const BACKFILL_CHUNK: usize = 1000;

/// A merchant from its registry hash; `None` when there is none.
pub(super) fn parse_merchant(
    merchant_id: &str,
    mut fields: HashMap<String, String>,
) -> Result<Option<Merchant>> {
    if fields.is_empty() {
        return Ok(None);
    }
    let mut take = |name: &str| fields.remove(name).ok_or_else(|| corrupt("merchant"));
    Ok(Some(Merchant {
        merchant_id: MerchantId::stored(merchant_id),
        display_name: take("n")?,
        allowed_domains: take("d")?
            .split(' ')
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect(),
        token_param: take("p")?,
    }))
}

/// What a listing may know of a stored key from its registry hash (never
/// its hash); `None` when there is none.
fn parse_key_info(key_id: &str, mut fields: HashMap<String, String>) -> Result<Option<ApiKeyInfo>> {
    if fields.is_empty() {
        return Ok(None);
    }
    let mut take = |name: &str| fields.remove(name).ok_or_else(|| corrupt("api key"));
    let role: Role = take("role")?.parse().map_err(|_| corrupt("api key"))?;
    let merchant = take("merchant")?;
    let merchant = (!merchant.is_empty()).then(|| MerchantId::stored(merchant));
    let grant = Grant::new(role, merchant).ok_or_else(|| corrupt("api key"))?;
    let revoked = take("revoked")? != "0";
    let label = take("label")?;
    // Keys stored before creation times were kept have none.
    let created_at = match fields.remove("at") {
        Some(ms) => Some(
            ms.parse()
                .ok()
                .and_then(from_millis)
                .ok_or_else(|| corrupt("api key"))?,
        ),
        None => None,
    };
    Ok(Some(ApiKeyInfo {
        key_id: KeyId::stored(key_id),
        grant,
        label,
        created_at,
        revoked,
        from_config: false,
    }))
}

impl RedisStore {
    /// One page of a walk over the listing index `index` after the member
    /// `after`: `read` reads a batch of members' records, `None` for one
    /// that is gone or not selected. The page goes on after its last item
    /// when another selected one follows, or after the last member looked
    /// at when the walk's budget ran out first.
    async fn walk_index<T, Read, Reading>(
        &self,
        index: &str,
        after: Option<&str>,
        limit: usize,
        read: Read,
        position: impl Fn(&T) -> String,
    ) -> Result<Page<T, String>>
    where
        Read: Fn(Vec<String>) -> Reading,
        Reading: Future<Output = Result<Vec<Option<T>>>>,
    {
        let limit = limit.max(1);
        let mut items = Vec::new();
        let mut start = after.map_or_else(|| "-".to_owned(), |after| format!("({after}"));
        let mut looked = 0;
        loop {
            let batch: Vec<String> = self
                .run(
                    redis::cmd("ZRANGE")
                        .arg(index)
                        .arg(&start)
                        .arg("+")
                        .arg("BYLEX")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(BATCH)
                        .query_async(&mut self.conn.clone()),
                )
                .await?;
            looked += batch.len();
            let records = if batch.is_empty() {
                Vec::new()
            } else {
                read(batch.clone()).await?
            };
            for item in records.into_iter().flatten() {
                if items.len() == limit {
                    let next = items.last().map(&position);
                    return Ok(Page { items, next });
                }
                items.push(item);
            }
            let Some(last) = batch.last().filter(|_| batch.len() == BATCH) else {
                return Ok(Page { items, next: None });
            };
            if looked >= WALK_BUDGET {
                return Ok(Page {
                    items,
                    next: Some(last.clone()),
                });
            }
            start = format!("({last}");
        }
    }

    /// Up to `limit` merchants after `after`, by id.
    pub(super) async fn list_merchants_indexed(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Merchant, String>> {
        let read = |ids: Vec<String>| async move {
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.hgetall(merchant_key(id));
            }
            let found: Vec<HashMap<String, String>> =
                self.run(pipe.query_async(&mut self.conn.clone())).await?;
            ids.iter()
                .zip(found)
                .map(|(id, fields)| parse_merchant(id, fields))
                .collect::<Result<Vec<_>>>()
        };
        self.walk_index(&merchants_index_key(), after, limit, read, |m| {
            m.merchant_id.to_string()
        })
        .await
    }

    /// Up to `limit` campaigns that `query` selects after `after`, by id:
    /// one merchant's walk that merchant's index. The record decides, so an
    /// index entry a concurrent move left behind selects nothing.
    pub(super) async fn list_campaigns_indexed(
        &self,
        query: &CampaignQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Campaign, String>> {
        let index = match &query.merchant_id {
            Some(merchant_id) => merchant_campaigns_key(merchant_id),
            None => campaigns_index_key(),
        };
        let read = |ids: Vec<String>| async move {
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.hgetall(campaign_key(id));
            }
            let found: Vec<HashMap<String, String>> =
                self.run(pipe.query_async(&mut self.conn.clone())).await?;
            let mut campaigns = Vec::with_capacity(ids.len());
            for (id, fields) in ids.iter().zip(found) {
                let campaign = if fields.is_empty() {
                    None
                } else {
                    Some(parse_campaign(id, fields)?).filter(|c| query.selects(c))
                };
                campaigns.push(campaign);
            }
            Ok::<_, crate::error::Error>(campaigns)
        };
        self.walk_index(&index, after, limit, read, |c| c.campaign_id.to_string())
            .await
    }

    /// Up to `limit` stored keys that `query` selects after `after`, by id:
    /// the id index, then each id's hash, then each key's record.
    pub(super) async fn list_api_keys_indexed(
        &self,
        query: &KeyQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ApiKeyInfo, String>> {
        let read = |ids: Vec<String>| async move {
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.get(api_key_id_key(id));
            }
            let hashes: Vec<Option<String>> =
                self.run(pipe.query_async(&mut self.conn.clone())).await?;
            let mut pipe = redis::pipe();
            for hash in &hashes {
                // A missing id reads an empty hash: no key.
                pipe.hgetall(format!(
                    "r:{{{REGISTRY_TAG}}}:k:{}",
                    hash.as_deref().unwrap_or("-")
                ));
            }
            let found: Vec<HashMap<String, String>> =
                self.run(pipe.query_async(&mut self.conn.clone())).await?;
            let mut keys = Vec::with_capacity(ids.len());
            for (id, fields) in ids.iter().zip(found) {
                let key = parse_key_info(id, fields)?.filter(|k| query.selects(&k.grant));
                keys.push(key);
            }
            Ok::<_, crate::error::Error>(keys)
        };
        self.walk_index(&api_keys_index_key(), after, limit, read, |k| {
            k.key_id.to_string()
        })
        .await
    }

    /// Puts every registry record into its listing indexes, once: records
    /// written by a version without the indexes have no entries. Found by
    /// SCAN of the registry slot (on a cluster, on the node that owns it);
    /// each ZADD is idempotent, so a backfill cut short is simply run again
    /// at the next start; the marker key, set last, says it is done.
    pub(super) async fn backfill_indexes(&self) -> Result<()> {
        let marker = indexes_backfilled_key();
        let done: bool = self.run(self.conn.clone().exists(&marker)).await?;
        if done {
            return Ok(());
        }
        let registry = format!("r:{{{REGISTRY_TAG}}}:");
        let ids = |keys: Vec<String>, kind: &str| -> Vec<String> {
            let prefix = format!("{registry}{kind}:");
            keys.into_iter()
                .filter_map(|key| key.strip_prefix(&prefix).map(str::to_owned))
                .collect()
        };
        let merchants = ids(
            self.scan(REGISTRY_TAG, &format!("{registry}m:*")).await?,
            "m",
        );
        let campaigns = ids(
            self.scan(REGISTRY_TAG, &format!("{registry}c:*")).await?,
            "c",
        );
        let keys = ids(
            self.scan(REGISTRY_TAG, &format!("{registry}kid:*")).await?,
            "kid",
        );
        let mut entries: Vec<(String, String)> = Vec::new();
        entries.extend(merchants.into_iter().map(|m| (merchants_index_key(), m)));
        entries.extend(keys.into_iter().map(|k| (api_keys_index_key(), k)));
        for chunk in campaigns.chunks(BACKFILL_CHUNK) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.hget(campaign_key(id), "m");
            }
            let owners: Vec<Option<String>> =
                self.run(pipe.query_async(&mut self.conn.clone())).await?;
            for (id, owner) in chunk.iter().zip(owners) {
                let Some(owner) = owner else { continue };
                entries.push((campaigns_index_key(), id.clone()));
                entries.push((merchant_campaigns_key(&owner), id.clone()));
            }
        }
        for chunk in entries.chunks(BACKFILL_CHUNK) {
            let mut pipe = redis::pipe();
            for (index, member) in chunk {
                pipe.zadd(index, member, 0).ignore();
            }
            self.run(pipe.query_async::<()>(&mut self.conn.clone()))
                .await?;
        }
        let _: () = self.run(self.conn.clone().set(&marker, "1")).await?;
        if !entries.is_empty() {
            tracing::info!(
                entries = entries.len(),
                "registry listing indexes backfilled"
            );
        }
        Ok(())
    }
}
