//! Storage behind one trait that speaks the domain. Each method is one
//! operation the service needs, done atomically by the store: a tap recorded
//! with its counters, a sale confirmed exactly once with its counters. The
//! embedded [`memory::MemoryStore`] and the Redis store pass the same
//! conformance suite (`tests/api/store_conformance.rs`).

pub mod memory;

use async_trait::async_trait;

use crate::error::Result;
use crate::model::{
    BucketRange, Campaign, ClickOutcome, Counts, Dimension, Merchant, NewClick, NewSale,
    SaleOutcome,
};

/// The operations the service needs from its storage.
///
/// Errors are the domain's: a store that cannot answer in time returns
/// [`crate::error::Error::StoreUnavailable`], and outcomes that depend on
/// stored state (a conflicting order, a vanished click) return their
/// contract error, decided atomically with the write.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the store is reachable: drives the health service.
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

    /// The counters of `id` in `dimension`, one per bucket of `range`, oldest first.
    async fn read_counters(
        &self,
        dimension: Dimension,
        id: &str,
        range: BucketRange,
    ) -> Result<Vec<Counts>>;
}
