//! A memory store that holds `confirm_sale` calls at a gate, so shutdown
//! and overload tests can keep a call in flight for as long as they need.

use async_trait::async_trait;
use cartclick::error::Result as StoreResult;
use cartclick::model::{
    BucketRange, ClickOutcome, Counts, NewClick, NewSale, Retention, SaleOutcome,
};
use cartclick::store::Store;
use cartclick::store::memory::MemoryStore;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

/// A memory store whose `confirm_sale` waits at a gate: lets a test hold a
/// call in flight (for shutdown tests). Everything else passes straight through.
pub struct GatedStore {
    pub inner: MemoryStore,
    /// Notified when a confirm_sale call reaches the gate.
    pub entered: Notify,
    /// Opens the gate.
    pub release: Notify,
}

impl GatedStore {
    pub fn new() -> Self {
        GatedStore {
            inner: MemoryStore::new(Retention::default()),
            entered: Notify::new(),
            release: Notify::new(),
        }
    }
}

#[async_trait]
impl Store for GatedStore {
    async fn check_connectivity(&self) -> StoreResult<()> {
        self.inner.check_connectivity().await
    }
    async fn put_merchant(&self, merchant: &cartclick::model::Merchant) -> StoreResult<()> {
        self.inner.put_merchant(merchant).await
    }
    async fn get_merchant(&self, id: &str) -> StoreResult<Option<cartclick::model::Merchant>> {
        self.inner.get_merchant(id).await
    }
    async fn get_campaign(&self, id: &str) -> StoreResult<Option<cartclick::model::Campaign>> {
        self.inner.get_campaign(id).await
    }
    async fn put_campaign(
        &self,
        c: &cartclick::model::Campaign,
        rev: Option<u64>,
    ) -> StoreResult<bool> {
        self.inner.put_campaign(c, rev).await
    }
    async fn record_click(&self, click: &NewClick) -> StoreResult<ClickOutcome> {
        self.inner.record_click(click).await
    }
    async fn confirm_sale(&self, sale: &NewSale) -> StoreResult<SaleOutcome> {
        self.entered.notify_one();
        self.release.notified().await;
        self.inner.confirm_sale(sale).await
    }
    async fn read_counters(
        &self,
        d: cartclick::model::Dimension,
        id: &str,
        r: BucketRange,
        merchant: Option<&str>,
    ) -> StoreResult<Vec<Counts>> {
        self.inner.read_counters(d, id, r, merchant).await
    }
    async fn reverse_sale(
        &self,
        reversal: &cartclick::model::NewReversal,
    ) -> StoreResult<cartclick::model::ReversalOutcome> {
        self.inner.reverse_sale(reversal).await
    }
    async fn list_top(
        &self,
        dimension: cartclick::model::Dimension,
        day_start: i64,
        metric: &cartclick::model::TopMetric,
        limit: usize,
        merchant: Option<&str>,
    ) -> StoreResult<Vec<cartclick::model::TopEntry>> {
        self.inner
            .list_top(dimension, day_start, metric, limit, merchant)
            .await
    }
    async fn read_events(
        &self,
        merchant_id: &str,
        after: Option<&str>,
        count: usize,
    ) -> StoreResult<Vec<cartclick::model::Event>> {
        self.inner.read_events(merchant_id, after, count).await
    }
    async fn put_api_key(&self, key: &cartclick::model::ApiKey, label: &str) -> StoreResult<()> {
        self.inner.put_api_key(key, label).await
    }
    async fn find_api_key(
        &self,
        sha256: &[u8; 32],
    ) -> StoreResult<Option<cartclick::model::ApiKey>> {
        self.inner.find_api_key(sha256).await
    }
    async fn revoke_api_key(&self, key_id: &str) -> StoreResult<bool> {
        self.inner.revoke_api_key(key_id).await
    }
    async fn erase_viewer(&self, viewer: &cartclick::privacy::ViewerHash) -> StoreResult<u64> {
        self.inner.erase_viewer(viewer).await
    }
    async fn merchant_counters(
        &self,
        merchant_id: &str,
        range: BucketRange,
    ) -> StoreResult<Vec<cartclick::model::CounterCell>> {
        self.inner.merchant_counters(merchant_id, range).await
    }
    async fn merchant_records(
        &self,
        merchant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<cartclick::model::MerchantRecords> {
        self.inner.merchant_records(merchant_id, from, to).await
    }
}
