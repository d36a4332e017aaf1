//! Operator reads and erasure: SCAN over one shard tag's slot, and what is
//! built on it (a merchant's counter cells and raw records for reconcile,
//! a viewer's erasure). Never on the hot path.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{AsyncCommands, Value};

use crate::error::Result;
use crate::model::{
    BucketRange, ClickRecord, CounterCell, CreatorId, LedgerTotals, MerchantRecords,
};
use crate::privacy::ViewerHash;
use crate::token::ClickId;

use super::RedisStore;
use super::codec::{
    ATTRIBUTION_ID_LEN, corrupt, parse_click_tail, parse_counts, parse_order, parse_reversal,
    stored_attribution,
};
use super::connect::Conn;
use super::earnings::parse_commission;
use super::keys::{REGISTRY_TAG, attribution_prefix, counter_prefix, dimension_from_code};

/// SCAN page size for operator reads (reconcile).
const SCAN_COUNT: usize = 1000;

impl RedisStore {
    /// Every key matching `pattern` in the slot of the hash tag `tag`, by
    /// SCAN (operator reads only). On a cluster the SCAN goes to the primary
    /// that owns the slot; the pattern must name keys of that tag.
    pub(super) async fn scan(&self, tag: &str, pattern: &str) -> Result<Vec<String>> {
        let route = match &self.conn {
            Conn::Single(_) => None,
            Conn::Cluster(_) => {
                let slot: u16 = self
                    .run(
                        redis::cmd("CLUSTER")
                            .arg("KEYSLOT")
                            .arg(format!("{{{tag}}}"))
                            .query_async(&mut self.conn.clone()),
                    )
                    .await?;
                Some(RoutingInfo::SingleNode(
                    SingleNodeRoutingInfo::SpecificNode(redis::cluster_routing::Route::new(
                        slot,
                        redis::cluster_routing::SlotAddr::Master,
                    )),
                ))
            }
        };
        let mut cursor: u64 = 0;
        let mut keys = Vec::new();
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, page): (u64, Vec<String>) = match (&self.conn, &route) {
                (Conn::Cluster(conn), Some(route)) => {
                    let mut conn = conn.clone();
                    let value = self.run(conn.route_command(cmd, route.clone())).await?;
                    redis::from_redis_value(value).map_err(|_| corrupt("scan reply"))?
                }
                _ => self.run(cmd.query_async(&mut self.conn.clone())).await?,
            };
            keys.extend(page);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    /// The counter cells of one shard tag in `range` (operator reads).
    pub(super) async fn counter_cells(
        &self,
        tag: &str,
        range: BucketRange,
    ) -> Result<Vec<CounterCell>> {
        let prefix = counter_prefix(tag);
        let pattern = format!(
            "n:{{{}}}:{}:*",
            glob_escape(tag),
            range.granularity.as_str()
        );
        let prefix_len = prefix.len() + 2;
        let end = range.first + i64::from(range.count) * range.granularity.seconds();
        let mut wanted = Vec::new();
        for key in self.scan(tag, &pattern).await? {
            // <start>:<dimension>:<id>; the id is last and may hold ':'.
            let Some(rest) = key.get(prefix_len..) else {
                continue;
            };
            let mut parts = rest.splitn(3, ':');
            let (Some(start), Some(code), Some(id)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let (Ok(start), Some(dimension)) = (start.parse::<i64>(), dimension_from_code(code))
            else {
                continue;
            };
            if (range.first..end).contains(&start) {
                wanted.push((key.clone(), start, dimension, id.to_owned()));
            }
        }
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (key, ..) in &wanted {
            pipe.hgetall(key);
        }
        let cells: Vec<HashMap<String, i64>> =
            self.run(pipe.query_async(&mut self.conn.clone())).await?;
        Ok(wanted
            .into_iter()
            .zip(cells)
            .map(|((_, start, dimension, id), fields)| CounterCell {
                start,
                dimension,
                id,
                counts: parse_counts(fields),
            })
            .collect())
    }

    /// Erases a viewer's hash from every click of every merchant, and its
    /// dedup, rate and creator-hopping entries (`Store::erase_viewer`).
    pub(super) async fn erase_viewer_by_scan(&self, viewer: &ViewerHash) -> Result<u64> {
        self.writable()?;
        // Erasure is rare and offline-ish: it walks every click and dedup
        // bucket rather than keeping a per-viewer index on the hot path.
        // Each step is idempotent, so a failed erasure is simply run again.
        let mut conn = self.conn.clone();
        let mut erased: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
        let registry = format!("r:{{{REGISTRY_TAG}}}:m:");
        let merchants: Vec<String> = self
            .scan(REGISTRY_TAG, &format!("{registry}*"))
            .await?
            .into_iter()
            .filter_map(|key| key.strip_prefix(&registry).map(str::to_owned))
            .collect();
        let mut tags = Vec::new();
        for merchant in &merchants {
            tags.extend(self.tags(merchant).await?);
        }
        for tag in tags {
            let glob = glob_escape(&tag);
            for key in self.scan(&tag, &format!("k:{{{glob}}}:*")).await? {
                let entries: Vec<(Vec<u8>, Vec<u8>)> = self.run(conn.hgetall(&key)).await?;
                for (field, mut value) in entries {
                    if value.len() >= 28 && value[ATTRIBUTION_ID_LEN..28] == viewer[..] {
                        value[ATTRIBUTION_ID_LEN..28].fill(0);
                        let _: i64 = self
                            .run(
                                self.scripts
                                    .unlink_viewer
                                    .key(&key)
                                    .arg(field.as_slice())
                                    .arg(value)
                                    .invoke_async(&mut conn),
                            )
                            .await?;
                        erased.insert(field);
                    }
                }
            }
            for key in self.scan(&tag, &format!("d:{{{glob}}}:*")).await? {
                let entries: Vec<(Vec<u8>, Vec<u8>)> = self.run(conn.hgetall(&key)).await?;
                for (field, value) in entries {
                    if value.len() >= 16 && erased.contains(&value[..16]) {
                        let _: i64 = self.run(conn.hdel(&key, field)).await?;
                    }
                }
            }
            // The viewer's rate-limit taps and the creators it tapped
            // (CREATOR_HOPPING's count).
            for kind in ["q", "h"] {
                for key in self.scan(&tag, &format!("{kind}:{{{glob}}}:*")).await? {
                    let _: i64 = self.run(conn.hdel(&key, viewer.as_slice())).await?;
                }
            }
        }
        Ok(erased.len() as u64)
    }

    /// Every counter cell of a merchant's shards in `range`
    /// (`Store::merchant_counters`).
    pub(super) async fn merchant_counters_by_scan(
        &self,
        merchant_id: &str,
        range: BucketRange,
    ) -> Result<Vec<CounterCell>> {
        let mut cells = Vec::new();
        for tag in self.tags(merchant_id).await? {
            cells.extend(self.counted_and_unfolded(&tag, merchant_id, range).await?);
        }
        Ok(cells)
    }

    /// A merchant's raw click and sale records between `from` and `to`
    /// (`Store::merchant_records`).
    pub(super) async fn merchant_records_by_scan(
        &self,
        merchant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<MerchantRecords> {
        let mut conn = self.conn.clone();
        let mut records = MerchantRecords::default();
        // Attributions are interned per shard: keyed by (tag, attribution id).
        let mut attributions: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
        let mut raw_clicks = Vec::new();
        for tag in self.tags(merchant_id).await? {
            let pattern = format!("k:{{{}}}:*", glob_escape(&tag));
            for key in self.scan(&tag, &pattern).await? {
                let entries: Vec<(Vec<u8>, Vec<u8>)> = self.run(conn.hgetall(&key)).await?;
                for (field, value) in entries {
                    if field.len() != 16 || value.len() < 30 {
                        return Err(corrupt("click record"));
                    }
                    let attribution = (tag.clone(), hex::encode(&value[..ATTRIBUTION_ID_LEN]));
                    attributions.entry(attribution.clone()).or_default();
                    raw_clicks.push((field, value, attribution));
                }
            }
        }
        for ((tag, attribution_id), text) in attributions.iter_mut() {
            *text = self
                .run(conn.get(format!("{}{attribution_id}", attribution_prefix(tag))))
                .await?;
        }
        for (field, value, attribution_id) in raw_clicks {
            let (clicked_at, expires_at, terms, signals) =
                parse_click_tail(&value[28..]).ok_or_else(|| corrupt("click record"))?;
            if !(from..to).contains(&clicked_at) {
                continue;
            }
            let Some(Some(text)) = attributions.get(&attribution_id) else {
                continue;
            };
            let ids: Vec<&str> = text.split(' ').collect();
            let [campaign, creator, video, product] = ids.as_slice() else {
                return Err(corrupt("attribution"));
            };
            let viewer: [u8; 16] = value[ATTRIBUTION_ID_LEN..28]
                .try_into()
                .map_err(|_| corrupt("click record"))?;
            records.clicks.push(ClickRecord {
                click_id: ClickId::from_bytes(
                    field
                        .as_slice()
                        .try_into()
                        .map_err(|_| corrupt("click record"))?,
                ),
                attribution: stored_attribution(
                    merchant_id,
                    [*campaign, *creator, *video, *product],
                ),
                terms,
                viewer_hash: (viewer != [0u8; 16]).then_some(viewer),
                clicked_at,
                expires_at,
                signals,
            });
        }
        let orders = format!("o:{{{}}}:*", glob_escape(merchant_id));
        for key in self.scan(merchant_id, &orders).await? {
            let order: Option<Vec<u8>> = self.run(conn.get(&key)).await?;
            if let Some(order) = order {
                let sale = parse_order(merchant_id, &order)?;
                if (from..to).contains(&sale.confirmed_at) {
                    records.sales.push(sale);
                }
            }
        }
        let tag = glob_escape(merchant_id);
        for key in self.scan(merchant_id, &format!("v:{{{tag}}}:*")).await? {
            let reversal: Option<Vec<u8>> = self.run(conn.get(&key)).await?;
            if let Some(reversal) = reversal {
                let reversal = parse_reversal(merchant_id, &reversal)?;
                // One stored before reversals kept their facts has no
                // time: it is returned, for `reconcile` to know of it.
                if reversal
                    .facts
                    .as_ref()
                    .is_none_or(|facts| (from..to).contains(&facts.at))
                {
                    records.refunds.push(reversal);
                }
            }
        }
        let commissions = format!("c:{{{tag}}}:");
        for key in self.scan(merchant_id, &format!("{commissions}*")).await? {
            let fields: Value = self.run(conn.hgetall(&key)).await?;
            let order = key.strip_prefix(&commissions).unwrap_or_default();
            if let Some(commission) = parse_commission(merchant_id, order, fields)? {
                records.commissions.push(commission);
            }
        }
        let ledgers = format!("l:{{{tag}}}:");
        for key in self.scan(merchant_id, &format!("{ledgers}*")).await? {
            let totals: HashMap<String, i64> = self.run(conn.hgetall(&key)).await?;
            // `<creator>:<currency>`: a currency code holds no colon.
            let Some((creator, currency)) = key
                .strip_prefix(&ledgers)
                .and_then(|rest| rest.rsplit_once(':'))
            else {
                return Err(corrupt("ledger"));
            };
            let total = |field: &str| totals.get(field).copied().unwrap_or(0);
            records.ledgers.push(LedgerTotals {
                creator_id: CreatorId::stored(creator),
                currency: currency.to_owned(),
                unpaid: total("u"),
                held: total("h"),
                paid: total("p"),
                clawback: total("cb"),
            });
        }
        Ok(records)
    }
}

/// `text` with SCAN glob metacharacters escaped, to match it literally.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
