//! Storage behind one trait that speaks the domain. Each method is one
//! operation the service needs, done atomically by the store: a tap recorded
//! with its counters, a sale confirmed exactly once with its counters. The
//! embedded [`memory::MemoryStore`] and the Redis store pass the same
//! conformance suite (`tests/api/store_conformance.rs`).

pub mod memory;
pub mod metered;
pub mod redis;

use async_trait::async_trait;

use crate::error::Result;
use chrono::{DateTime, Utc};

use crate::privacy::ViewerHash;
use crate::token::ClickId;

use crate::model::ApiKey;
use crate::model::{
    BucketRange, Campaign, ClickOutcome, CounterCell, Counts, Dimension, Event, Merchant,
    MerchantRecords, NewClick, NewReversal, NewSale, ReversalOutcome, SaleOutcome, TopEntry,
    TopMetric,
};

/// The operations the service needs from its storage.
///
/// Errors are the domain's: a store that cannot answer in time returns
/// [`crate::error::Error::StoreUnavailable`], and outcomes that depend on
/// stored state (a conflicting order, a vanished click) return their
/// contract error, decided atomically with the write.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Where a new click lives: the store may adjust the random click id
    /// (a sharded Redis merchant records the viewer's shard in it) before
    /// the token is signed. The memory store keeps it as it is.
    fn place_click(
        &self,
        _merchant_id: &str,
        _viewer: Option<&ViewerHash>,
        click_id: ClickId,
    ) -> ClickId {
        click_id
    }

    /// Answers when the store is reachable and takes writes (a Redis store
    /// refuses them while a node would evict): drives the health service.
    async fn check_connectivity(&self) -> Result<()>;

    /// Creates or replaces a merchant.
    async fn put_merchant(&self, merchant: &Merchant) -> Result<()>;

    /// Reads a merchant.
    async fn get_merchant(&self, merchant_id: &str) -> Result<Option<Merchant>>;

    /// Reads a campaign.
    async fn get_campaign(&self, campaign_id: &str) -> Result<Option<Campaign>>;

    /// Writes a campaign if the stored one is still at `expected_revision`
    /// (`None`: there must be none). Returns false, writing nothing, when
    /// another write came first; the caller reads again and retries.
    async fn put_campaign(
        &self,
        campaign: &Campaign,
        expected_revision: Option<u64>,
    ) -> Result<bool>;

    /// Records a tap: a new click, counted as a tap and a click in every
    /// dimension, or a repeat inside the dedup window, counted as a tap and
    /// answered with the first click.
    async fn record_click(&self, click: &NewClick) -> Result<ClickOutcome>;

    /// Confirms a sale exactly once per (merchant, order_id): counts a
    /// conversion and the revenue in every dimension of the click, or returns
    /// the first answer for an identical repeat, or `OrderConflict` for a
    /// different one. `ClickNotFound` when the click record is gone, and
    /// `TokenExpired` when `sale.token_expired` and this is no replay.
    async fn confirm_sale(&self, sale: &NewSale) -> Result<SaleOutcome>;

    /// The counters of `id` in `dimension`, one per bucket of `range`, oldest
    /// first: summed over every merchant that counted for the id, or only
    /// `merchant`'s share when one is given (a merchant reading its product).
    async fn read_counters(
        &self,
        dimension: Dimension,
        id: &str,
        range: BucketRange,
        merchant: Option<&str>,
    ) -> Result<Vec<Counts>>;

    /// Records a refund exactly once per (merchant, reversal_id): never above
    /// what is left of the sale, never in another currency
    /// (`ReversalExceedsSale`); `OrderNotFound` for an order never confirmed
    /// (or past its retention); `OrderConflict` for the same reversal id with
    /// another order or amount. Counts the amount as refunded in every
    /// dimension of the sale.
    async fn reverse_sale(&self, reversal: &NewReversal) -> Result<ReversalOutcome>;

    /// The top `limit` ids of `dimension` on the UTC day starting at
    /// `day_start` by `metric`, largest first (ties by id), over every
    /// merchant or only `merchant`.
    async fn list_top(
        &self,
        dimension: Dimension,
        day_start: i64,
        metric: &TopMetric,
        limit: usize,
        merchant: Option<&str>,
    ) -> Result<Vec<TopEntry>>;

    /// Up to `count` events of a merchant's stream after the event id
    /// `after` (from the oldest kept when `None`), oldest first.
    async fn read_events(
        &self,
        merchant_id: &str,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<Event>>;

    /// Stores an API key made by CreateApiKey (its hash, never the secret).
    async fn put_api_key(&self, key: &ApiKey, label: &str) -> Result<()>;

    /// The live key whose secret hashes to `sha256`; `None` when unknown or revoked.
    async fn find_api_key(&self, sha256: &[u8; 32]) -> Result<Option<ApiKey>>;

    /// Revokes a stored key; false when no stored key has that id.
    async fn revoke_api_key(&self, key_id: &str) -> Result<bool>;

    /// Removes every stored link to a viewer: the viewer field of its click
    /// records, its dedup entries and its rate-limit counters. Counted
    /// figures stay. Returns how many click records it unlinked.
    async fn erase_viewer(&self, viewer: &ViewerHash) -> Result<u64>;

    /// Every counter cell one merchant wrote in `range`, in any dimension:
    /// what `reconcile` compares with the recount.
    async fn merchant_counters(
        &self,
        merchant_id: &str,
        range: BucketRange,
    ) -> Result<Vec<CounterCell>>;

    /// The merchant's click and sale records made in `[from, to)`, as far
    /// as they are still stored.
    async fn merchant_records(
        &self,
        merchant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<MerchantRecords>;
}
