//! The Redis store: the production store, on one Redis server or a Redis
//! Cluster (7.x).
//!
//! Every write that must happen together happens in one Lua script (files in
//! `src/store/lua/`), run with EVALSHA and a NOSCRIPT fallback, so a crash never leaves
//! a sale recorded without its event; each script checks its own idempotency
//! key first, so running it twice (a retry after a lost reply) counts once.
//! Counters and top lists are folded from the events, exactly once
//! (`fold`): a counter read folds what it reads first.
//! A script writes or reports what it found (an order id already taken, a
//! click that is gone, a refund above what is left) and writes nothing;
//! the domain decides what that means. A tap and a sale cost one round
//! trip each.
//!
//! Exactly-once also needs Redis never to evict a key: the store refuses to
//! open on a node whose `maxmemory-policy` is not `noeviction`, and keeps
//! checking every node while it runs (`eviction`): while one would evict,
//! or after a connection error until the next check, writes answer
//! STORE_UNAVAILABLE and `check_connectivity` fails; reads go on.
//!
//! # Keys
//!
//! Every key a tap or a sale touches carries the merchant's hash tag
//! `{merchant}`, so one script's keys share a Redis Cluster slot. A hot
//! merchant configured with `n` shards spreads its taps over the tags
//! `{merchant}`, `{merchant 1}` … `{merchant n-1}` (the viewer picks the
//! shard, and the click id's last byte records it, so the count may change);
//! its sales, orders and reversals stay on `{merchant}`; reads sum over the
//! shards configured and every shard its taps have used (`x:m:<merchant>`).
//! Below, `{m}` is such a tag:
//!
//! | key | type | holds | expires |
//! |---|---|---|---|
//! | `d:{m}:<window>:<n>` | hash | dedup entries of one dedup window: field = 16 bytes of the dedup key, value = first click id, tap time (ms), expiry, key id, and the click's fraud signals (the sum of their bits) when it has any | two dedup windows |
//! | `k:{m}:<expiry hour>:<n>` | hash | click records: field = click id (16 bytes), value = attribution id (12 bytes), viewer hash (16 bytes, zeros once erased), tap time (ms), expiry (s), commission rate (bps), holding period (s), and its fraud signals when it has any | the later of the attribution window and the day after the click, rounded up to the hour |
//! | `a:{m}:<attribution id>` | string | `campaign creator video product`, shared by every click on that cart | as long as its longest-lived click (rounded up to the hour) |
//! | `o:{m}:<order id>` | string | the confirmed sale, with its commission | the click's window + order retention, at least order retention after the commission's payable time, and after its payout |
//! | `n:{m}:<h\|d>:<bucket start>:<dimension>:<id>` | hash | counters, folded from the events (`fold.lua`): `c` clicks, `d` repeat taps (taps are `c` + `d`), `v` conversions, `r:<CUR>` revenue, `f:<CUR>` refunds, `k:<CUR>` commission, `fc` flagged clicks, `fv` flagged conversions | bucket end + hourly or daily retention |
//! | `g:{m}:<minute>` | hash | TAP_FLOOD's count: each creator's taps answered OK at this shard in this UTC minute (minutes since the epoch) | its minute and one more |
//! | `h:{m}:<hour>:<n>` | hash | CREATOR_HOPPING's count: field = viewer hash (16 bytes), value = the creators the viewer tapped at this shard in this UTC hour, each after a `\n` and the last followed by one (at most the limit and one more) | its hour and a minute |
//! | `q:{m}:<window>:<n>` | hash | taps in this rate-limit window at this merchant (the window is `policy::TAP_RATE_WINDOW`, a minute, so `<window>` is the minute since the epoch): field = viewer hash (16 bytes), value = count (rate limit) | two windows |
//! | `f:{m}:<order id>` | string | what has been refunded of the sale | with the order |
//! | `v:{m}:<reversal id>` | string | the recorded reversal: order, amount, currency, what remained, the commission after it, when, what it took back of the commission, the sale's attribution | with the order |
//! | `w:{m}:<order id>` | set | the order's reversal ids, so that a payout keeps them as long as the order | with the order |
//! | `c:{m}:<order id>` | hash | the sale's commission (when above zero): state `st` (`u` unpaid, `h` held, `p` paid, `v` void), `c` now, `c0` at the sale, `a0` the sale, `sa` the sale less refunds, `cu`, `cf` confirmed ms, `pa` payable ms, `r` rate, `h` holding s, `a` attribution, `po` payout, `sg` the sale's fraud signals (the sum of their bits) when it has any, `rr` review reason and `ra` reviewed ms once an admin reviewed it (`review_commission.lua`) | never while owed; once paid, order retention after the payout; once void, with the order (voided on review after its order is gone: order retention) |
//! | `l:{m}:<creator>:<currency>` | hash | the ledger: `u` unpaid (pending and payable), `h` held, `p` paid, `cb` clawback | never: money owed |
//! | `u:{m}:<creator>:<currency>` | sorted set | the ledger's unpaid commissions: order id by payable ms (payouts take the earliest); a held one only once released on review | never (empty once all are paid) |
//! | `y:{m}:<creator>` | set | the currencies the creator has ledgers in | never |
//! | `i:{m}`, `i:{m}:<creator>` | sorted set | listing indexes of the merchant's commissions, and of a creator's there: members `<13 digits, newest first>\|<order id>` | never; each sale drops the oldest member whose commission expired |
//! | `p:{m}:<payout id>` | string | the payout: creator, currency, amount, commissions, clawback deducted, created ms | payout retention |
//! | `s:{m}`, `s:{m}:<creator>` | sorted set | listing indexes of the merchant's payouts, and of a creator's there | payout retention after the last payout |
//! | `j:{m}:<payout id>` | sorted set | the commissions a payout paid (its statement) | payout retention |
//! | `x:earn:<creator>` | set | the merchants a creator may have ledgers with (written at the taps of campaigns that pay) | never: as long as the ledgers |
//! | `e:{m}` | stream | the merchant's events: every click, repeat tap, sale and reversal, written by the same script as its record, marked `f` (to fold: an older version's, unmarked, were counted as written); payouts and commission reviews, which count nothing | trimmed by the fold, behind its checkpoint only, to `events_max_len` folded events (and `events_max_age_hours`); the key itself after daily retention without writes |
//! | `z:{m}` | hash | the stream's fold state: `ck` the last event folded, `n` events written since and not yet folded (taps are refused past `max_unfolded_events`) | with the stream |
//! | `t:{m}:<day start>:<dimension>:<metric>` | sorted set | the day's top list of campaigns, creators, videos or products by clicks `c`, conversions `v`, revenue `r:<CUR>` or commission `k:<CUR>`, folded from the events | the day's end + daily retention |
//! | `x:day:<day start>` | set | the merchants that counted anything that day: where global top lists look | daily retention |
//! | `x:<dimension>:<id>` | set | the merchants (their shard tags) that counted for a campaign, creator, video or product; for a merchant id, the shard tags its taps used | daily retention |
//! | `r:{r}:m:<id>`, `r:{r}:c:<id>`, `r:{r}:k:<sha256>`, `r:{r}:kid:<id>` | hash, string | the registry: merchants, campaigns, API keys (by the hash of the secret, with `at` its creation ms when made since listings; and id to hash) | never: configuration, not flow data |
//! | `r:{r}:ix:m`, `r:{r}:ix:c`, `r:{r}:ix:cm:<merchant>`, `r:{r}:ix:k` | sorted set | the registry's listing indexes, score 0, walked by ZRANGE BYLEX: merchant ids, campaign ids, one merchant's campaign ids, stored key ids; each written in the same step as its record (MULTI, or `put_campaign.lua`, which also moves a campaign between merchants' indexes) | never, as the registry |
//! | `r:{r}:ix:backfilled` | string | set once the listing indexes hold the records an older version wrote without them (`registry`: a SCAN at open) | never |
//!
//! Click and dedup records are fields of bucket hashes, 1024 buckets per
//! window or expiry hour, so that they stay in Redis's compact listpack
//! encoding (values under 64 bytes, ~100 entries a hash under load) instead
//! of paying a key's overhead each: this is what keeps a click, its dedup
//! entry included, within the memory budget (BENCHMARKS.md).
//!
//! # Files
//!
//! This file owns the store and its implementations of the store traits:
//! each operation builds its keys and arguments, runs one script or
//! pipeline, and reads the answer into what it found. The rest, one
//! concern a file:
//!
//! - `connect`: connections (one server or a cluster), opening a store, and
//!   running each call under the store timeout.
//! - `keys`: the keys of the table above, shard tags, bucket helpers.
//! - `codec`: stored values and script replies, written and parsed.
//! - `scripts`: the Lua scripts, hashed once and loaded at start.
//! - `fold`: when the events are folded into the counters (in the
//!   background, and before every counter read), and the events not yet
//!   folded as reconcile counts them.
//! - `earnings`: balances, commission and payout listings (merged across
//!   a creator's merchants), payouts.
//! - `shards`: a merchant's shards and tags, where a new click is placed,
//!   and the index sets, written through a moka cache of the entries this
//!   process wrote lately.
//! - `registry`: listings of merchants, campaigns and API keys through
//!   their indexes, and the indexes' one-time backfill at open.
//! - `scan`: operator reads by SCAN (reconcile) and a viewer's erasure.
//! - `eviction`: the guard that allows writes only while no node would evict.

mod codec;
mod connect;
mod earnings;
mod eviction;
mod fold;
mod keys;
mod registry;
mod scan;
mod scripts;
mod shards;

pub use connect::{MAX_UNFOLDED_EVENTS, OpenError, RedisOptions};

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use itoa::Buffer as Digits;
use redis::{AsyncCommands, Value};

use crate::error::{Error, Result};
use crate::model::{
    ApiKey, ApiKeyInfo, BucketRange, Campaign, CampaignQuery, CounterCell, Counts, Dimension,
    Event, Grant, Granularity, KeyId, KeyQuery, Merchant, MerchantId, MerchantRecords, Money,
    NewClick, NewReversal, NewSale, Page, Retention, Role, TopEntry, TopMetric, rank,
};
use crate::model::{CommissionState, OrderState};
use crate::policy::{self, CREATOR_HOPPING_WINDOW, TAP_FLOOD_WINDOW};
use crate::privacy::ViewerHash;
use crate::store::{
    ClickWrite, Counters, Health, Keys, Ledger, Operator, Registry, ReversalWrite, SaleWrite,
};

use codec::{
    attribution_text, click_value, corrupt, millis, parse_campaign, parse_counts, parse_event,
    parse_first_click, parse_order, parse_reversal, reply, status_code, trailing_signals, ttl_ms,
    window_ttl_ms,
};
use connect::Conn;
use keys::{
    IndexEntry, REGISTRY_TAG, api_key_id_key, api_key_key, api_keys_index_key, attribution_prefix,
    campaign_key, campaigns_index_key, click_bucket_key, click_bucket_until, click_shard,
    commission_key, counter_key, day_index_key, dedup_bucket_key, dimension_code, events_key,
    flood_key, fold_state_key, hopping_key, index_key, joined, merchant_campaigns_key,
    merchant_campaigns_prefix, merchant_key, merchants_index_key, order_key, own_tag, rate_key,
    reversal_ids_key, shard_tag, top_metric_code, top_prefix,
};
use scripts::Scripts;
use shards::{INDEXED, IndexCache, cart_key};

/// The production store.
pub struct RedisStore {
    /// A connection that reconnects by itself.
    conn: Conn,
    /// Shard counts of hot merchants (absent: one shard).
    merchant_shards: HashMap<String, u16>,
    /// Outer bound on every call, on top of the connection's own timeouts.
    timeout: Duration,
    /// TTLs of records and counters.
    retention: Retention,
    /// The Lua scripts.
    scripts: Scripts,
    /// Index entries this process wrote lately, so a tap adds its index
    /// entries once an hour, not every time (see [`shards::IndexCache`]).
    indexed: IndexCache,
    /// Whether writes may go on: no node would evict (see [`eviction`]),
    /// and the task that keeps checking.
    eviction: eviction::Watch,
    /// Folding the event streams into the counters (see [`fold`]).
    fold: fold::Fold,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Health for RedisStore {
    async fn check_connectivity(&self) -> Result<()> {
        let _: String = self
            .run(redis::cmd("PING").query_async(&mut self.conn.clone()))
            .await?;
        // Answering is not enough: a store that refuses writes (a node
        // would evict) is not ready either.
        self.writable()
    }
}

#[async_trait]
impl Registry for RedisStore {
    async fn put_merchant(&self, merchant: &Merchant) -> Result<()> {
        self.writable()?;
        let key = merchant_key(&merchant.merchant_id);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(&key)
            .hset_multiple(
                &key,
                &[
                    ("n", merchant.display_name.as_str()),
                    ("d", &merchant.allowed_domains.join(" ")),
                    ("p", merchant.token_param.as_str()),
                ],
            )
            .ignore()
            .zadd(merchants_index_key(), merchant.merchant_id.as_str(), 0)
            .ignore();
        self.run(pipe.query_async::<()>(&mut self.conn.clone()))
            .await
    }

    async fn get_merchant(&self, merchant_id: &str) -> Result<Option<Merchant>> {
        let fields: HashMap<String, String> = self
            .run(self.conn.clone().hgetall(merchant_key(merchant_id)))
            .await?;
        registry::parse_merchant(merchant_id, fields)
    }

    async fn get_campaign(&self, campaign_id: &str) -> Result<Option<Campaign>> {
        let fields: HashMap<String, String> = self
            .run(self.conn.clone().hgetall(campaign_key(campaign_id)))
            .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        parse_campaign(campaign_id, fields).map(Some)
    }

    async fn put_campaign(
        &self,
        campaign: &Campaign,
        expected_revision: Option<u64>,
    ) -> Result<bool> {
        self.writable()?;
        let mut invocation = self
            .scripts
            .put_campaign
            .key(campaign_key(&campaign.campaign_id));
        invocation
            .key(campaigns_index_key())
            .key(merchant_campaigns_key(&campaign.merchant_id))
            .arg(expected_revision.map(|r| r.to_string()).unwrap_or_default())
            .arg(campaign.campaign_id.as_str())
            .arg(merchant_campaigns_prefix());
        for (field, value) in [
            ("m", campaign.merchant_id.to_string()),
            ("cat", campaign.category.clone()),
            ("w", campaign.attribution_window.as_secs().to_string()),
            ("p", campaign.product_ids.join(" ")),
            ("cr", campaign.terms.rate_bps.to_string()),
            ("hp", campaign.terms.holding_period.as_secs().to_string()),
            ("s", status_code(campaign.status).to_owned()),
            ("rr", campaign.review_reason.clone()),
            ("rev", campaign.revision.to_string()),
        ] {
            invocation.arg(field).arg(value);
        }
        let written: i64 = self
            .run(invocation.invoke_async(&mut self.conn.clone()))
            .await?;
        Ok(written == 1)
    }

    async fn list_merchants(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Merchant, String>> {
        self.list_merchants_indexed(after, limit).await
    }

    async fn list_campaigns(
        &self,
        query: &CampaignQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Campaign, String>> {
        self.list_campaigns_indexed(query, after, limit).await
    }
}

#[async_trait]
impl Ledger for RedisStore {
    async fn record_click(&self, click: &NewClick) -> Result<ClickWrite> {
        self.writable()?;
        let record = &click.record;
        let merchant_id = record.attribution.merchant_id.as_str();
        let click_id = self.place(merchant_id, record.viewer_hash.as_ref(), record.click_id);
        // Every key of the tap carries the tag of the click's shard (shard 0,
        // the merchant's own tag, unless the merchant is sharded); the index
        // sets name that tag, so reads find it.
        let tag = shard_tag(merchant_id, click_shard(&click_id));
        let merchant = tag.as_str();
        let now = record.clicked_at;
        let window_ms = click.dedup_window.as_millis().max(1) as i64;
        let window = millis(now).div_euclid(window_ms);
        let field = &click.dedup_key[..16];
        let (attribution, attribution_id) = attribution_text(&record.attribution);

        let viewer = record.viewer_hash.unwrap_or_default();
        let tap_window = click.tap_window.as_secs().max(1) as i64;
        let minute = policy::window_number(now, TAP_FLOOD_WINDOW);
        let hour = policy::window_number(now, CREATOR_HOPPING_WINDOW);
        let mut invocation = self.scripts.record_click.prepare_invoke();
        invocation
            .key(dedup_bucket_key(merchant, window, field))
            .key(dedup_bucket_key(merchant, window - 1, field))
            .key(click_bucket_key(merchant, record.expires_at, &click_id))
            .key(joined(&[
                &attribution_prefix(merchant),
                &hex::encode(attribution_id),
            ]))
            .key(rate_key(
                merchant,
                &viewer,
                now.timestamp().div_euclid(tap_window),
            ))
            .key(events_key(merchant))
            .key(fold_state_key(merchant))
            .key(flood_key(merchant, minute))
            .key(hopping_key(merchant, &viewer, hour));
        let mut first = click_id.as_bytes().to_vec();
        first.extend_from_slice(
            joined(&[
                Digits::new().format(millis(now)),
                " ",
                Digits::new().format(record.expires_at.timestamp()),
                " ",
                &click.kid,
            ])
            .as_bytes(),
        );
        let dedup_ttl = 2 * window_ms;
        let click_until = self.retention.click_until(record);
        let record_ttl = ttl_ms(now, click_until);
        let bucket_ttl = ttl_ms(now, click_bucket_until(click_until));
        invocation
            .arg(field)
            .arg(click_id.as_bytes().as_slice())
            .arg(first)
            .arg(click_value(&attribution_id, record))
            .arg(millis(now))
            .arg(window_ms)
            .arg(dedup_ttl)
            .arg(record_ttl)
            .arg(attribution)
            .arg(click.tap_limit)
            .arg(viewer.as_slice())
            .arg(self.events_ttl())
            .arg(record.attribution.creator_id.as_str())
            .arg(click_id.to_hex())
            .arg(bucket_ttl)
            .arg(2 * tap_window * 1000);
        // The fraud rules only when signals are on.
        match &click.fraud {
            Some(fraud) => invocation
                .arg(fraud.rules.max_creator_taps_per_minute.get())
                .arg(fraud.rules.max_creators_per_viewer_per_hour.get())
                .arg(u8::from(fraud.self_referral))
                .arg(window_ttl_ms(TAP_FLOOD_WINDOW))
                .arg(window_ttl_ms(CREATOR_HOPPING_WINDOW)),
            None => invocation.arg("").arg("").arg("").arg("").arg(""),
        };
        invocation.arg(self.fold.max_unfolded());

        let day = Granularity::Day.bucket_start(now);
        let pays = record.terms.rate_bps > 0;
        let cart = cart_key(merchant, day, &record.attribution, pays);
        self.index_cart(&cart, || {
            let mut index = Vec::with_capacity(INDEXED.len() + 3);
            index.extend(
                INDEXED
                    .iter()
                    .map(|d| IndexEntry::of(*d, record.attribution.id(*d), merchant)),
            );
            index.push(IndexEntry::day(day, merchant));
            index.push(IndexEntry::of(Dimension::Merchant, merchant_id, merchant));
            if pays {
                index.push(IndexEntry::earnings(
                    &record.attribution.creator_id,
                    merchant_id,
                ));
            }
            index
        })
        .await?;
        let value: Value = self
            .run(invocation.invoke_async(&mut self.conn.clone()))
            .await?;
        let write = match reply(value)? {
            (tag, Some(signals)) if tag == "new" => ClickWrite::New(
                click_id,
                std::str::from_utf8(&signals)
                    .ok()
                    .and_then(|digits| trailing_signals(Some(digits)))
                    .ok_or_else(|| corrupt("record_click reply"))?,
            ),
            (tag, Some(first)) if tag == "retry" => {
                ClickWrite::New(click_id, parse_first_click(&first)?.signals)
            }
            (tag, None) if tag == "limited" => return Ok(ClickWrite::Limited),
            (tag, None) if tag == "backlog" => {
                self.fold.refused(merchant);
                return Err(Error::Backlog);
            }
            (tag, Some(first)) if tag == "dup" => ClickWrite::Repeat(parse_first_click(&first)?),
            _ => return Err(corrupt("record_click reply")),
        };
        self.fold.wrote(merchant);
        Ok(write)
    }

    async fn confirm_sale(&self, sale: &NewSale) -> Result<SaleWrite> {
        self.writable()?;
        let merchant = sale.merchant_id.as_str();
        let expires_at = sale.click_expires_at;
        let day = Granularity::Day.bucket_start(sale.now);
        let mut invocation = self.scripts.confirm_sale.prepare_invoke();
        invocation
            .key(order_key(merchant, &sale.order_id))
            .key(click_bucket_key(merchant, expires_at, &sale.click_id))
            .key(events_key(merchant))
            .key(fold_state_key(merchant))
            .arg(sale.click_id.as_bytes().as_slice())
            .arg(sale.amount.amount_minor)
            .arg(&sale.amount.currency)
            .arg(millis(sale.now))
            .arg(if sale.token_expired { "1" } else { "0" })
            .arg(ttl_ms(
                sale.now,
                expires_at.max(sale.now) + self.retention.orders,
            ))
            .arg(attribution_prefix(merchant))
            .arg(sale.click_id.to_hex())
            .arg(sale.order_id.as_str())
            .arg(self.events_ttl());
        // A sharded merchant's click lives in its own shard, its sales on
        // shard 0: read the click there first (a second round trip, for
        // sharded merchants only), and hand its attribution to the script.
        let shard = click_shard(&sale.click_id);
        let mut index = vec![IndexEntry::day(day, merchant)];
        if shard != 0 {
            let tag = shard_tag(merchant, shard);
            let found: Vec<Vec<u8>> = self
                .run(
                    self.scripts
                        .read_click
                        .key(click_bucket_key(&tag, expires_at, &sale.click_id))
                        .arg(sale.click_id.as_bytes().as_slice())
                        .arg(attribution_prefix(&tag))
                        .invoke_async(&mut self.conn.clone()),
                )
                .await?;
            match found.as_slice() {
                [click, attribution] => {
                    // The sale counts on shard 0, where the click's taps may
                    // never have indexed its attribution: reads must find it.
                    let ids = std::str::from_utf8(attribution)
                        .map_err(|_| corrupt("attribution"))?
                        .split(' ');
                    index.extend(
                        INDEXED
                            .iter()
                            .zip(ids)
                            .map(|(dimension, id)| IndexEntry::of(*dimension, id, merchant)),
                    );
                    invocation
                        .arg(attribution.as_slice())
                        .arg(click.get(28..).unwrap_or_default())
                }
                // Gone: the script reads shard 0's bucket, which has no
                // such click, and reports it.
                _ => invocation.arg("").arg(""),
            };
        } else {
            invocation.arg("").arg("");
        }
        invocation
            .arg(own_tag(merchant))
            .arg(self.retention.orders.as_millis() as i64);
        match &sale.fraud {
            Some(rules) => invocation.arg(rules.min_click_to_sale.as_millis() as u64),
            None => invocation.arg(""),
        };
        self.index(index).await?;
        let value: Value = self
            .run(invocation.invoke_async(&mut self.conn.clone()))
            .await?;
        match reply(value)? {
            (tag, Some(order)) if tag == "new" => {
                self.fold.wrote(merchant);
                Ok(SaleWrite::New(parse_order(merchant, &order)?))
            }
            (tag, Some(order)) if tag == "existing" => {
                // A retry after a lost reply: the first run's event may
                // still wait, so the shard is due for a fold all the same.
                self.fold.wrote(merchant);
                Ok(SaleWrite::Existing(parse_order(merchant, &order)?))
            }
            (tag, None) if tag == "expired" => Ok(SaleWrite::Expired),
            (tag, None) if tag == "no_click" => Ok(SaleWrite::NoClick),
            _ => Err(corrupt("confirm_sale reply")),
        }
    }

    async fn reverse_sale(&self, reversal: &NewReversal) -> Result<ReversalWrite> {
        self.writable()?;
        let merchant = reversal.merchant_id.as_str();
        // A refund counts on its day, which the day's index must name.
        let day = Granularity::Day.bucket_start(reversal.now);
        self.index(vec![IndexEntry::day(day, merchant)]).await?;
        let order = order_key(merchant, &reversal.order_id);
        let mut invocation = self.scripts.reverse_sale.prepare_invoke();
        invocation
            .key(format!("v:{{{merchant}}}:{}", reversal.reversal_id))
            .key(&order)
            .key(format!("f:{{{merchant}}}:{}", reversal.order_id))
            .key(events_key(merchant))
            .key(commission_key(merchant, &reversal.order_id))
            .key(reversal_ids_key(merchant, &reversal.order_id))
            .key(fold_state_key(merchant))
            .arg(reversal.order_id.as_str())
            .arg(reversal.amount.amount_minor)
            .arg(&reversal.amount.currency)
            .arg(millis(reversal.now))
            .arg(reversal.reversal_id.as_str())
            .arg(self.events_ttl());
        match reversal.plan {
            Some(plan) => invocation
                .arg(plan.refunded_before)
                .arg(plan.state_before.code())
                .arg(plan.commission_after)
                .arg(plan.state_after.code())
                .arg(plan.taken)
                .arg(plan.ledger.unpaid)
                .arg(plan.ledger.held)
                .arg(plan.ledger.clawback),
            None => invocation
                .arg("")
                .arg("")
                .arg(0)
                .arg("")
                .arg(0)
                .arg(0)
                .arg(0)
                .arg(0),
        };
        invocation.arg(own_tag(merchant));
        let value: Value = self
            .run(invocation.invoke_async(&mut self.conn.clone()))
            .await?;
        let money = |currency: &str, amount: &[u8]| -> Result<Money> {
            Ok(Money {
                currency: currency.to_owned(),
                amount_minor: std::str::from_utf8(amount)
                    .ok()
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| corrupt("reversal"))?,
            })
        };
        // What is left, and what remains, are in the sale's currency: the
        // reversal's, once the script has found them the same.
        let currency = reversal.amount.currency.as_str();
        let numbers = |text: &[u8]| -> Result<Vec<i64>> {
            std::str::from_utf8(text)
                .map_err(|_| corrupt("reversal"))?
                .split(' ')
                .map(|n| n.parse().map_err(|_| corrupt("reversal")))
                .collect()
        };
        match reply(value)? {
            (tag, Some(figures)) if tag == "new" => match numbers(&figures)?.as_slice() {
                [remaining, after] => {
                    self.fold.wrote(merchant);
                    Ok(ReversalWrite::New {
                        remaining: money(currency, remaining.to_string().as_bytes())?,
                        commission_remaining: money(currency, after.to_string().as_bytes())?,
                    })
                }
                _ => Err(corrupt("reverse_sale reply")),
            },
            (tag, Some(quote)) if tag == "quote" => {
                let text = std::str::from_utf8(&quote).map_err(|_| corrupt("reversal quote"))?;
                let (figures, state) = text
                    .rsplit_once(' ')
                    .ok_or_else(|| corrupt("reversal quote"))?;
                let state =
                    CommissionState::from_code(state).ok_or_else(|| corrupt("reversal quote"))?;
                match numbers(figures.as_bytes())?.as_slice() {
                    [amount, refunded, earned, commission] => {
                        Ok(ReversalWrite::Quote(OrderState {
                            amount: Money {
                                currency: currency.to_owned(),
                                amount_minor: *amount,
                            },
                            refunded: *refunded,
                            earned: *earned,
                            commission: *commission,
                            state,
                        }))
                    }
                    _ => Err(corrupt("reversal quote")),
                }
            }
            (tag, Some(first)) if tag == "existing" => {
                // As a sale's retry: the first run's event may still wait.
                self.fold.wrote(merchant);
                Ok(ReversalWrite::Existing(parse_reversal(merchant, &first)?))
            }
            (tag, None) if tag == "no_order" => Ok(ReversalWrite::NoOrder),
            (tag, Some(sale_currency)) if tag == "currency" => Ok(ReversalWrite::CurrencyDiffers {
                sale_currency: String::from_utf8(sale_currency).map_err(|_| corrupt("reversal"))?,
            }),
            (tag, Some(left)) if tag == "exceeds" => Ok(ReversalWrite::Exceeds {
                left: money(currency, &left)?,
            }),
            _ => Err(corrupt("reverse_sale reply")),
        }
    }
}

#[async_trait]
impl Counters for RedisStore {
    async fn read_counters(
        &self,
        dimension: Dimension,
        id: &str,
        range: BucketRange,
        merchant: Option<&str>,
    ) -> Result<Vec<Counts>> {
        // The shard tags that counted for the id: index members are tags.
        let tags: Vec<String> = match (dimension, merchant) {
            (_, Some(only)) => self.tags(only).await?,
            (Dimension::Merchant, None) => self.tags(id).await?,
            (_, None) => {
                self.run(self.conn.clone().smembers(index_key(dimension, id)))
                    .await?
            }
        };
        self.fold.catch_up(&tags).await?;
        let starts: Vec<i64> = range.starts().collect();
        let mut buckets = vec![Counts::default(); starts.len()];
        // One pipeline per tag: a tag's keys share a slot on a cluster.
        for tag in &tags {
            let mut pipe = redis::pipe();
            for start in &starts {
                pipe.hgetall(counter_key(tag, range.granularity, *start, dimension, id));
            }
            let cells: Vec<HashMap<String, i64>> =
                self.run(pipe.query_async(&mut self.conn.clone())).await?;
            for (bucket, cell) in buckets.iter_mut().zip(cells) {
                bucket.add(&parse_counts(cell));
            }
        }
        Ok(buckets)
    }

    async fn list_top(
        &self,
        dimension: Dimension,
        day_start: i64,
        metric: &TopMetric,
        limit: usize,
        merchant: Option<&str>,
    ) -> Result<Vec<TopEntry>> {
        // The shard tags that counted that day (members of the day index).
        let tags: Vec<String> = match merchant {
            Some(only) => self.tags(only).await?,
            None => {
                self.run(self.conn.clone().smembers(day_index_key(day_start)))
                    .await?
            }
        };
        self.fold.catch_up(&tags).await?;
        // Whole lists, summed: an id's rank is over all merchants and shards
        // together. One read per tag: each is its own slot on a cluster.
        let mut by_id: HashMap<String, i64> = HashMap::new();
        for tag in &tags {
            let key = format!(
                "{}{}:{}",
                top_prefix(tag, day_start),
                dimension_code(dimension),
                top_metric_code(metric)
            );
            let list: Vec<(String, i64)> = self
                .run(self.conn.clone().zrange_withscores(key, 0, -1))
                .await?;
            for (id, value) in list {
                *by_id.entry(id).or_default() += value;
            }
        }
        Ok(rank(by_id, limit))
    }

    async fn read_events(
        &self,
        merchant_id: &str,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<Event>> {
        // A sharded merchant has a stream per shard: read each after the
        // cursor and merge by id (ids are Redis milliseconds and a sequence).
        let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let mut events = Vec::new();
        for tag in self.tags(merchant_id).await? {
            let entries: Vec<(String, HashMap<String, String>)> = self
                .run(
                    redis::cmd("XRANGE")
                        .arg(events_key(&tag))
                        .arg(&start)
                        .arg("+")
                        .arg("COUNT")
                        .arg(count)
                        .query_async(&mut self.conn.clone()),
                )
                .await?;
            for (id, fields) in entries {
                events.push(parse_event(merchant_id, id, fields)?);
            }
        }
        let order = |id: &str| -> (u64, u64) {
            let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
            (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
        };
        events.sort_by_key(|e| order(&e.id));
        events.truncate(count);
        Ok(events)
    }
}

#[async_trait]
impl Keys for RedisStore {
    async fn put_api_key(
        &self,
        key: &ApiKey,
        label: &str,
        created_at: DateTime<Utc>,
    ) -> Result<()> {
        self.writable()?;
        let hash_key = api_key_key(&key.sha256);
        let created_ms = millis(created_at).to_string();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(
                &hash_key,
                &[
                    ("id", key.id.as_str()),
                    ("role", key.grant.role().as_str()),
                    ("merchant", key.grant.merchant().map_or("", |m| m.as_str())),
                    ("label", label),
                    ("revoked", "0"),
                    ("at", &created_ms),
                ],
            )
            .ignore()
            .set(api_key_id_key(&key.id), hex::encode(key.sha256))
            .ignore()
            .zadd(api_keys_index_key(), key.id.as_str(), 0)
            .ignore();
        self.run(pipe.query_async::<()>(&mut self.conn.clone()))
            .await
    }

    async fn find_api_key(&self, sha256: &[u8; 32]) -> Result<Option<ApiKey>> {
        let mut fields: HashMap<String, String> = self
            .run(self.conn.clone().hgetall(api_key_key(sha256)))
            .await?;
        if fields.is_empty() || fields.get("revoked").map(String::as_str) != Some("0") {
            return Ok(None);
        }
        let mut take = |name: &str| fields.remove(name).ok_or_else(|| corrupt("api key"));
        let role: Role = take("role")?.parse().map_err(|_| corrupt("api key"))?;
        let merchant = take("merchant")?;
        let merchant = (!merchant.is_empty()).then(|| MerchantId::stored(merchant));
        let grant = Grant::new(role, merchant).ok_or_else(|| corrupt("api key"))?;
        Ok(Some(ApiKey {
            id: KeyId::stored(take("id")?),
            grant,
            sha256: *sha256,
        }))
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool> {
        self.writable()?;
        let mut conn = self.conn.clone();
        let hash: Option<String> = self.run(conn.get(api_key_id_key(key_id))).await?;
        let Some(hash) = hash else {
            return Ok(false);
        };
        let _: () = self
            .run(conn.hset(format!("r:{{{REGISTRY_TAG}}}:k:{hash}"), "revoked", "1"))
            .await?;
        Ok(true)
    }

    async fn list_api_keys(
        &self,
        query: &KeyQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ApiKeyInfo, String>> {
        self.list_api_keys_indexed(query, after, limit).await
    }
}

#[async_trait]
impl Operator for RedisStore {
    async fn erase_viewer(&self, viewer: &ViewerHash) -> Result<u64> {
        self.erase_viewer_by_scan(viewer).await
    }

    async fn merchant_counters(
        &self,
        merchant_id: &str,
        range: BucketRange,
    ) -> Result<Vec<CounterCell>> {
        self.merchant_counters_by_scan(merchant_id, range).await
    }

    async fn merchant_records(
        &self,
        merchant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<MerchantRecords> {
        self.merchant_records_by_scan(merchant_id, from, to).await
    }
}
