//! The embedded store (`memory://`): everything in one process, nothing kept
//! after exit. It is the quick start's store and the reference the Redis store
//! is checked against: the same conformance suite runs on both. Every
//! operation runs under one lock, which makes each as atomic as a Lua script:
//! a write either happens whole or reports what it found instead
//! ([`crate::store::outcome`]).

mod earnings;
mod fraud;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::model::FirstClick;
use crate::model::{
    ApiKey, ApiKeyInfo, CampaignId, CampaignQuery, KeyQuery, MerchantId, OrderId, Page, ReversalId,
};
use crate::model::{
    Attribution, BucketRange, Campaign, ClickRecord, CounterCell, Counts, Dimension, Event,
    EventKind, Granularity, Merchant, MerchantRecords, Money, NewClick, NewReversal, NewSale,
    Retention, SaleRecord, Signals, TopEntry, TopMetric, rank,
};
use crate::model::{Commission, CommissionState, OrderState};
use crate::policy;
use crate::privacy::ViewerHash;
use crate::store::{
    ClickWrite, Counters, Health, Keys, Ledger, Operator, RefundFacts, Registry, ReversalRecord,
    ReversalWrite, SaleWrite,
};
use crate::token::ClickId;

/// How many writes between sweeps of expired entries.
const SWEEP_EVERY: u64 = 4096;

/// The embedded store.
#[derive(Debug)]
pub struct MemoryStore {
    /// All data, behind one lock: each operation is atomic.
    inner: Mutex<Inner>,
    /// How long counter buckets and orders are kept.
    retention: Retention,
}

/// A value that the store forgets at `until`, as Redis forgets a key at its TTL.
#[derive(Debug, Clone)]
struct Expiring<T> {
    value: T,
    until: DateTime<Utc>,
}

impl<T> Expiring<T> {
    fn live(&self, now: DateTime<Utc>) -> Option<&T> {
        (now < self.until).then_some(&self.value)
    }
}

/// Identifies one counter cell: what one merchant counted for an id in a
/// bucket (the Redis store keeps the same cells under the merchant's hash tag).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CounterKey {
    merchant: MerchantId,
    dimension: Dimension,
    id: String,
    granularity: Granularity,
    start: i64,
}

/// An API key made by CreateApiKey, as the store keeps it.
#[derive(Debug, Clone)]
struct StoredKey {
    /// The key (its hash, never the secret).
    key: ApiKey,
    /// The note it was made with.
    label: String,
    /// When it was made.
    created_at: DateTime<Utc>,
    /// Refused from now on.
    revoked: bool,
}

/// The entries of `map` after `after` (all for `None`), in key order.
fn after<'a, K: std::borrow::Borrow<str> + Ord, V>(
    map: &'a BTreeMap<K, V>,
    after: Option<&'a str>,
) -> impl Iterator<Item = &'a V> {
    let from = after.map_or(Bound::Unbounded, Bound::Excluded);
    map.range::<str, _>((from, Bound::Unbounded))
        .map(|(_, value)| value)
}

#[derive(Debug, Default)]
struct Inner {
    /// Merchants by id, in id order for listings.
    merchants: BTreeMap<MerchantId, Merchant>,
    /// Campaigns by id, in id order for listings.
    campaigns: BTreeMap<CampaignId, Campaign>,
    clicks: HashMap<ClickId, Expiring<ClickRecord>>,
    dedup: HashMap<[u8; 32], Expiring<FirstClick>>,
    /// Confirmed sales by (merchant, order_id).
    orders: HashMap<(MerchantId, OrderId), Expiring<SaleRecord>>,
    counters: HashMap<CounterKey, Expiring<Counts>>,
    /// The merchants that counted for each (dimension, id).
    counted_by: HashMap<(Dimension, String), HashSet<MerchantId>>,
    /// Taps per (merchant, viewer, window number), for the rate limit.
    taps: HashMap<(MerchantId, ViewerHash, i64), Expiring<u32>>,
    /// Stored API keys by the SHA-256 of their secret.
    api_keys: HashMap<[u8; 32], StoredKey>,
    /// Refunded amount per (merchant, order_id).
    refunded: HashMap<(MerchantId, OrderId), i64>,
    /// Recorded reversals by (merchant, reversal_id).
    reversals: HashMap<(MerchantId, ReversalId), Expiring<ReversalRecord>>,
    /// Each merchant's event stream, oldest first.
    events: HashMap<MerchantId, VecDeque<Event>>,
    /// Sequence of the last event, across merchants.
    event_seq: u64,
    /// Commissions, ledgers and payouts.
    book: earnings::Book,
    /// The counts fraud signals are raised from.
    fraud: fraud::FraudCounts,
    /// Writes since start, to pace sweeps.
    writes: u64,
}

impl MemoryStore {
    /// An empty store that keeps counters and orders as long as `retention` says.
    pub fn new(retention: Retention) -> Self {
        MemoryStore {
            inner: Mutex::new(Inner::default()),
            retention,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic under the lock cannot leave a half-done operation behind
        // that matters more than refusing every later call would.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The event of a tap.
fn tap_event(
    kind: EventKind,
    click_id: ClickId,
    attribution: &Attribution,
    at: DateTime<Utc>,
    signals: Signals,
) -> Event {
    Event {
        id: String::new(),
        kind,
        at,
        attribution: attribution.clone(),
        click_id,
        order_id: String::new(),
        reversal_id: String::new(),
        amount: None,
        commission: None,
        payout_id: String::new(),
        signals,
        decision: None,
    }
}

impl Inner {
    /// Counts an event and appends it to the stream: the one way anything
    /// is counted, so the stream always replays to the counters.
    fn record(&mut self, event: Event, retention: &Retention) {
        self.count(&event.attribution, event.at, &event.counts(), retention);
        self.emit(event, retention);
    }

    /// Appends an event to the merchant's stream, trimmed as Redis trims it.
    fn emit(&mut self, mut event: Event, retention: &Retention) {
        self.event_seq += 1;
        event.id = format!("{}-{}", event.at.timestamp_millis(), self.event_seq);
        let stream = self
            .events
            .entry(event.attribution.merchant_id.clone())
            .or_default();
        stream.push_back(event);
        while stream.len() as u64 > retention.events_max_len {
            stream.pop_front();
        }
        if let (Some(age), Some(last)) = (retention.events_max_age, stream.back()) {
            let oldest = last.at - age;
            while stream.front().is_some_and(|e| e.at < oldest) {
                stream.pop_front();
            }
        }
    }

    /// Adds `delta` to the hourly and daily bucket of every dimension of `attribution`.
    fn count(
        &mut self,
        attribution: &Attribution,
        at: DateTime<Utc>,
        delta: &Counts,
        retention: &Retention,
    ) {
        for dimension in Dimension::ALL {
            for granularity in Granularity::ALL {
                let start = granularity.bucket_start(at);
                let until = retention.bucket_until(granularity, start);
                let key = CounterKey {
                    merchant: attribution.merchant_id.clone(),
                    dimension,
                    id: attribution.id(dimension).to_owned(),
                    granularity,
                    start,
                };
                let entry = self.counters.entry(key).or_insert_with(|| Expiring {
                    value: Counts::default(),
                    until,
                });
                entry.value.add(delta);
                entry.until = until;
            }
            self.counted_by
                .entry((dimension, attribution.id(dimension).to_owned()))
                .or_default()
                .insert(attribution.merchant_id.clone());
        }
    }

    /// Forgets expired entries now and then, as Redis expires keys.
    fn wrote(&mut self, now: DateTime<Utc>) {
        self.writes += 1;
        if !self.writes.is_multiple_of(SWEEP_EVERY) {
            return;
        }
        self.clicks.retain(|_, e| e.until > now);
        self.dedup.retain(|_, e| e.until > now);
        self.orders.retain(|_, e| e.until > now);
        self.taps.retain(|_, e| e.until > now);
        self.counters.retain(|_, e| e.until > now);
        self.book.sweep(now);
    }
}

#[async_trait]
impl Health for MemoryStore {
    async fn check_connectivity(&self) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Registry for MemoryStore {
    async fn put_merchant(&self, merchant: &Merchant) -> Result<()> {
        self.lock()
            .merchants
            .insert(merchant.merchant_id.clone(), merchant.clone());
        Ok(())
    }

    async fn get_merchant(&self, merchant_id: &str) -> Result<Option<Merchant>> {
        Ok(self.lock().merchants.get(merchant_id).cloned())
    }

    async fn get_campaign(&self, campaign_id: &str) -> Result<Option<Campaign>> {
        Ok(self.lock().campaigns.get(campaign_id).cloned())
    }

    async fn put_campaign(
        &self,
        campaign: &Campaign,
        expected_revision: Option<u64>,
    ) -> Result<bool> {
        let mut inner = self.lock();
        let stored = inner
            .campaigns
            .get(&campaign.campaign_id)
            .map(|c| c.revision);
        if stored != expected_revision {
            return Ok(false);
        }
        inner
            .campaigns
            .insert(campaign.campaign_id.clone(), campaign.clone());
        Ok(true)
    }

    async fn list_merchants(
        &self,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Page<Merchant, String>> {
        let inner = self.lock();
        Ok(Page::first(
            after(&inner.merchants, after_id).cloned(),
            limit,
            |m| m.merchant_id.to_string(),
        ))
    }

    async fn list_campaigns(
        &self,
        query: &CampaignQuery,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Page<Campaign, String>> {
        let inner = self.lock();
        Ok(Page::first(
            after(&inner.campaigns, after_id)
                .filter(|c| query.selects(c))
                .cloned(),
            limit,
            |c| c.campaign_id.to_string(),
        ))
    }
}

#[async_trait]
impl Ledger for MemoryStore {
    async fn record_click(&self, click: &NewClick) -> Result<ClickWrite> {
        let now = click.record.clicked_at;
        let attribution = &click.record.attribution;
        let mut inner = self.lock();
        inner.wrote(now);
        let repeat = inner
            .dedup
            .get(&click.dedup_key)
            .and_then(|e| e.live(now))
            .cloned();
        if repeat
            .as_ref()
            .is_some_and(|first| first.click_id == click.record.click_id)
        {
            // This very tap, retried after its answer was lost: already counted.
            let signals = repeat.map(|first| first.signals).unwrap_or_default();
            return Ok(ClickWrite::New(click.record.click_id, signals));
        }
        if let Some(viewer) = click.record.viewer_hash {
            let window = click.tap_window.as_secs().max(1) as i64;
            let period = now.timestamp().div_euclid(window);
            let key = (attribution.merchant_id.clone(), viewer, period);
            let until = DateTime::from_timestamp((period + 1) * window, 0).unwrap_or(now);
            let taps = &mut inner
                .taps
                .entry(key)
                .or_insert(Expiring { value: 0, until })
                .value;
            *taps += 1;
            if *taps > click.tap_limit {
                return Ok(ClickWrite::Limited);
            }
        }
        // Every tap answered OK counts towards the fraud windows; only a new
        // click is judged by them (a repeat returns its first tap's signals).
        let counts = click.fraud.map(|fraud| {
            let counts = inner.fraud.count_tap(
                &fraud.rules,
                attribution,
                click.record.viewer_hash.as_ref(),
                fraud.self_referral,
                now,
            );
            (fraud.rules, counts)
        });
        if let Some(first) = repeat {
            let event = tap_event(
                EventKind::RepeatTap,
                first.click_id,
                attribution,
                now,
                first.signals,
            );
            inner.record(event, &self.retention);
            return Ok(ClickWrite::Repeat(first));
        }
        let signals = counts.map_or(Signals::NONE, |(rules, counts)| {
            policy::click_signals(&rules, counts)
        });
        let dedup_until = now + click.dedup_window;
        inner.dedup.insert(
            click.dedup_key,
            Expiring {
                value: FirstClick {
                    click_id: click.record.click_id,
                    clicked_at: click.record.clicked_at,
                    expires_at: click.record.expires_at,
                    kid: click.kid.clone(),
                    signals,
                },
                until: dedup_until,
            },
        );
        inner.clicks.insert(
            click.record.click_id,
            Expiring {
                value: ClickRecord {
                    signals,
                    ..click.record.clone()
                },
                until: self.retention.click_until(&click.record),
            },
        );
        let event = tap_event(
            EventKind::Click,
            click.record.click_id,
            attribution,
            now,
            signals,
        );
        inner.record(event, &self.retention);
        Ok(ClickWrite::New(click.record.click_id, signals))
    }

    async fn confirm_sale(&self, sale: &NewSale) -> Result<SaleWrite> {
        let mut inner = self.lock();
        inner.wrote(sale.now);
        let order_key = (sale.merchant_id.clone(), sale.order_id.clone());
        if let Some(first) = inner.orders.get(&order_key).and_then(|e| e.live(sale.now)) {
            return Ok(SaleWrite::Existing(first.clone()));
        }
        if sale.token_expired {
            return Ok(SaleWrite::Expired);
        }
        let Some(click) = inner
            .clicks
            .get(&sale.click_id)
            .and_then(|e| e.live(sale.now))
            .filter(|click| click.attribution.merchant_id == sale.merchant_id)
            .cloned()
        else {
            return Ok(SaleWrite::NoClick);
        };
        let signals = sale.fraud.map_or(Signals::NONE, |rules| {
            policy::sale_signals(&rules, click.signals, click.clicked_at, sale.now)
        });
        let commission = policy::sale_commission(&sale.amount, &click.terms);
        let payable_at = policy::payable_at(sale.now, &click.terms);
        let commission_earned = commission.amount_minor;
        let record = SaleRecord {
            click_id: click.click_id,
            attribution: click.attribution,
            amount: sale.amount.clone(),
            clicked_at: click.clicked_at,
            confirmed_at: sale.now,
            commission: commission.clone(),
            signals,
        };
        if commission.amount_minor > 0 {
            inner.book.add(Commission {
                order_id: sale.order_id.clone(),
                attribution: record.attribution.clone(),
                sale_total: sale.amount.clone(),
                sale_amount: sale.amount.clone(),
                earned: commission.amount_minor,
                commission: commission.clone(),
                terms: click.terms,
                // Flagged, never blocked: held until an admin reviews it.
                state: if signals.is_empty() {
                    CommissionState::Unpaid
                } else {
                    CommissionState::Held
                },
                confirmed_at: sale.now,
                payable_at,
                payout_id: None,
                signals,
                review_reason: String::new(),
                reviewed_at: None,
            });
        }
        let event = Event {
            id: String::new(),
            kind: EventKind::Sale,
            at: sale.now,
            attribution: record.attribution.clone(),
            click_id: record.click_id,
            order_id: sale.order_id.to_string(),
            reversal_id: String::new(),
            amount: Some(sale.amount.clone()),
            commission: Some(commission),
            payout_id: String::new(),
            signals,
            decision: None,
        };
        inner.record(event, &self.retention);
        // An order is kept past its commission's payable time only when it
        // has a commission (as the Redis script keeps it).
        let kept_for = if commission_earned > 0 {
            payable_at
        } else {
            sale.now
        };
        let until = self
            .retention
            .order_until(&record, click.expires_at, kept_for);
        inner.orders.insert(
            order_key,
            Expiring {
                value: record.clone(),
                until,
            },
        );
        Ok(SaleWrite::New(record))
    }

    async fn reverse_sale(&self, reversal: &NewReversal) -> Result<ReversalWrite> {
        let mut inner = self.lock();
        inner.wrote(reversal.now);
        let key = (reversal.merchant_id.clone(), reversal.reversal_id.clone());
        if let Some(first) = inner.reversals.get(&key).and_then(|e| e.live(reversal.now)) {
            return Ok(ReversalWrite::Existing(first.clone()));
        }
        let order_key = (reversal.merchant_id.clone(), reversal.order_id.clone());
        let Some((sale, until)) = inner
            .orders
            .get(&order_key)
            .filter(|e| e.live(reversal.now).is_some())
            .map(|e| (e.value.clone(), e.until))
        else {
            return Ok(ReversalWrite::NoOrder);
        };
        if sale.amount.currency != reversal.amount.currency {
            return Ok(ReversalWrite::CurrencyDiffers {
                sale_currency: sale.amount.currency,
            });
        }
        let refunded = inner.refunded.get(&order_key).copied().unwrap_or(0);
        let left = sale.amount.amount_minor - refunded;
        if reversal.amount.amount_minor > left {
            return Ok(ReversalWrite::Exceeds {
                left: Money {
                    currency: sale.amount.currency,
                    amount_minor: left,
                },
            });
        }
        let commission = inner
            .book
            .commissions
            .get(&order_key)
            .filter(|kept| kept.until.is_none_or(|until| until > reversal.now))
            .map(|kept| &kept.commission);
        let plan = match (commission, reversal.plan) {
            (None, _) => None,
            (Some(commission), Some(plan))
                if plan.refunded_before == refunded && plan.state_before == commission.state =>
            {
                Some(plan)
            }
            (Some(commission), _) => {
                return Ok(ReversalWrite::Quote(OrderState {
                    amount: sale.amount,
                    refunded,
                    earned: commission.earned,
                    commission: commission.commission.amount_minor,
                    state: commission.state,
                }));
            }
        };
        inner
            .refunded
            .insert(order_key.clone(), refunded + reversal.amount.amount_minor);
        let remaining = Money {
            currency: sale.amount.currency.clone(),
            amount_minor: left - reversal.amount.amount_minor,
        };
        if let Some(plan) = &plan {
            inner
                .book
                .refund(&order_key, remaining.amount_minor, plan, until);
        }
        let (commission_after, taken) = plan.map_or((0, 0), |p| (p.commission_after, p.taken));
        let commission_remaining = Money {
            currency: sale.amount.currency.clone(),
            amount_minor: commission_after,
        };
        inner.reversals.insert(
            key,
            Expiring {
                value: ReversalRecord {
                    order_id: reversal.order_id.clone(),
                    amount: reversal.amount.clone(),
                    remaining: remaining.clone(),
                    commission_remaining: commission_remaining.clone(),
                    facts: Some(RefundFacts {
                        at: reversal.now,
                        attribution: sale.attribution.clone(),
                        commission_taken: taken,
                    }),
                },
                until,
            },
        );
        let event = Event {
            id: String::new(),
            kind: EventKind::Reversal,
            at: reversal.now,
            attribution: sale.attribution,
            click_id: sale.click_id,
            order_id: reversal.order_id.to_string(),
            reversal_id: reversal.reversal_id.to_string(),
            amount: Some(reversal.amount.clone()),
            commission: Some(Money {
                currency: sale.amount.currency.clone(),
                amount_minor: taken,
            }),
            payout_id: String::new(),
            signals: Signals::NONE,
            decision: None,
        };
        inner.record(event, &self.retention);
        Ok(ReversalWrite::New {
            remaining,
            commission_remaining,
        })
    }
}

#[async_trait]
impl Counters for MemoryStore {
    async fn read_counters(
        &self,
        dimension: Dimension,
        id: &str,
        range: BucketRange,
        merchant: Option<&str>,
    ) -> Result<Vec<Counts>> {
        let inner = self.lock();
        let mut merchants = inner
            .counted_by
            .get(&(dimension, id.to_owned()))
            .cloned()
            .unwrap_or_default();
        if let Some(only) = merchant {
            merchants.retain(|m| m == only);
        }
        let buckets = range
            .starts()
            .map(|start| {
                let mut sum = Counts::default();
                for merchant in &merchants {
                    let key = CounterKey {
                        merchant: merchant.clone(),
                        dimension,
                        id: id.to_owned(),
                        granularity: range.granularity,
                        start,
                    };
                    if let Some(cell) = inner.counters.get(&key) {
                        sum.add(&cell.value);
                    }
                }
                sum
            })
            .collect();
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
        let inner = self.lock();
        let mut by_id: HashMap<String, i64> = HashMap::new();
        for (key, cell) in &inner.counters {
            if key.dimension != dimension
                || key.granularity != Granularity::Day
                || key.start != day_start
                || merchant.is_some_and(|m| m != key.merchant)
            {
                continue;
            }
            let value = match metric {
                TopMetric::Clicks => cell.value.clicks,
                TopMetric::Conversions => cell.value.conversions,
                TopMetric::Revenue(currency) => {
                    cell.value.revenue.get(currency).copied().unwrap_or(0)
                }
                TopMetric::Commission(currency) => {
                    cell.value.commission.get(currency).copied().unwrap_or(0)
                }
            };
            *by_id.entry(key.id.clone()).or_default() += value;
        }
        Ok(rank(by_id, limit))
    }

    async fn read_events(
        &self,
        merchant_id: &str,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<Event>> {
        let sequence = |id: &str| {
            id.rsplit_once('-')
                .and_then(|(_, seq)| seq.parse::<u64>().ok())
        };
        let after = after.and_then(sequence).unwrap_or(0);
        let inner = self.lock();
        Ok(inner
            .events
            .get(merchant_id)
            .map(|stream| {
                stream
                    .iter()
                    .filter(|e| sequence(&e.id).is_some_and(|seq| seq > after))
                    .take(count)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[async_trait]
impl Keys for MemoryStore {
    async fn put_api_key(
        &self,
        key: &ApiKey,
        label: &str,
        created_at: DateTime<Utc>,
    ) -> Result<()> {
        let stored = StoredKey {
            key: key.clone(),
            label: label.to_owned(),
            created_at,
            revoked: false,
        };
        self.lock().api_keys.insert(key.sha256, stored);
        Ok(())
    }

    async fn find_api_key(&self, sha256: &[u8; 32]) -> Result<Option<ApiKey>> {
        let inner = self.lock();
        Ok(inner
            .api_keys
            .get(sha256)
            .filter(|stored| !stored.revoked)
            .map(|stored| stored.key.clone()))
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool> {
        let mut inner = self.lock();
        let mut found = false;
        for stored in inner.api_keys.values_mut() {
            if stored.key.id == key_id {
                stored.revoked = true;
                found = true;
            }
        }
        Ok(found)
    }

    async fn list_api_keys(
        &self,
        query: &KeyQuery,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Page<ApiKeyInfo, String>> {
        let inner = self.lock();
        // Few keys: a sorted scan of the map.
        let mut keys: Vec<&StoredKey> = inner
            .api_keys
            .values()
            .filter(|stored| after_id.is_none_or(|after| stored.key.id.as_str() > after))
            .filter(|stored| query.selects(&stored.key.grant))
            .collect();
        keys.sort_by(|a, b| a.key.id.cmp(&b.key.id));
        let infos = keys.into_iter().map(|stored| ApiKeyInfo {
            key_id: stored.key.id.clone(),
            grant: stored.key.grant.clone(),
            label: stored.label.clone(),
            created_at: Some(stored.created_at),
            revoked: stored.revoked,
            from_config: false,
        });
        Ok(Page::first(infos, limit, |info| info.key_id.to_string()))
    }
}

#[async_trait]
impl Operator for MemoryStore {
    async fn erase_viewer(&self, viewer: &ViewerHash) -> Result<u64> {
        let mut inner = self.lock();
        let mut erased = HashSet::new();
        for entry in inner.clicks.values_mut() {
            if entry.value.viewer_hash.as_ref() == Some(viewer) {
                entry.value.viewer_hash = None;
                erased.insert(entry.value.click_id);
            }
        }
        inner
            .dedup
            .retain(|_, e| !erased.contains(&e.value.click_id));
        inner.taps.retain(|(_, v, _), _| v != viewer);
        inner.fraud.erase(viewer);
        Ok(erased.len() as u64)
    }

    async fn merchant_counters(
        &self,
        merchant_id: &str,
        range: BucketRange,
    ) -> Result<Vec<CounterCell>> {
        let end = range.first + i64::from(range.count) * range.granularity.seconds();
        let inner = self.lock();
        let cells = inner
            .counters
            .iter()
            .filter(|(key, _)| {
                key.merchant == merchant_id
                    && key.granularity == range.granularity
                    && (range.first..end).contains(&key.start)
            })
            .map(|(key, cell)| CounterCell {
                start: key.start,
                dimension: key.dimension,
                id: key.id.clone(),
                counts: cell.value.clone(),
            })
            .collect();
        Ok(cells)
    }

    async fn merchant_records(
        &self,
        merchant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<MerchantRecords> {
        let inner = self.lock();
        let clicks = inner
            .clicks
            .values()
            .map(|e| &e.value)
            .filter(|c| c.attribution.merchant_id == merchant_id)
            .filter(|c| (from..to).contains(&c.clicked_at))
            .cloned()
            .collect();
        let sales = inner
            .orders
            .iter()
            .filter(|((merchant, _), _)| merchant == merchant_id)
            .map(|(_, e)| &e.value)
            .filter(|s| (from..to).contains(&s.confirmed_at))
            .cloned()
            .collect();
        let refunds = inner
            .reversals
            .iter()
            .filter(|((merchant, _), _)| merchant == merchant_id)
            .map(|(_, e)| &e.value)
            .filter(|r| r.facts.as_ref().is_some_and(|f| (from..to).contains(&f.at)))
            .cloned()
            .collect();
        let (commissions, ledgers) = inner.book.of_merchant(merchant_id);
        Ok(MerchantRecords {
            clicks,
            sales,
            refunds,
            commissions,
            ledgers,
        })
    }
}
