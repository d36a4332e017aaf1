//! A [`Store`] decorator that measures every call: latency by operation
//! (`cartclick.store.duration`) and failures (`cartclick.store.errors`),
//! the same for every store, in one place.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use opentelemetry::KeyValue;

use crate::error::{Error, Result};
use crate::model::ApiKey;
use crate::model::{
    BucketRange, Campaign, ClickOutcome, CounterCell, Counts, Dimension, Event, Merchant,
    MerchantRecords, NewClick, NewReversal, NewSale, ReversalOutcome, SaleOutcome, TopEntry,
    TopMetric,
};
use crate::privacy::ViewerHash;
use crate::store::Store;
use crate::telemetry::metrics;
use crate::token::ClickId;

/// Measures the store it wraps.
pub struct MeteredStore {
    /// The store measured.
    inner: Arc<dyn Store>,
}

impl MeteredStore {
    /// Measures `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        MeteredStore { inner }
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        let result = call.await;
        let attributes = [KeyValue::new("store.operation", operation)];
        metrics()
            .store_duration
            .record(started.elapsed().as_secs_f64(), &attributes);
        if matches!(result, Err(Error::StoreUnavailable)) {
            metrics().store_errors.add(1, &attributes);
        }
        result
    }
}

#[async_trait]
impl Store for MeteredStore {
    fn place_click(
        &self,
        merchant_id: &str,
        viewer: Option<&ViewerHash>,
        click_id: ClickId,
    ) -> ClickId {
        self.inner.place_click(merchant_id, viewer, click_id)
    }

    async fn check_connectivity(&self) -> Result<()> {
        self.timed("check_connectivity", self.inner.check_connectivity())
            .await
    }

    async fn put_merchant(&self, merchant: &Merchant) -> Result<()> {
        self.timed("put_merchant", self.inner.put_merchant(merchant))
            .await
    }

    async fn get_merchant(&self, merchant_id: &str) -> Result<Option<Merchant>> {
        self.timed("get_merchant", self.inner.get_merchant(merchant_id))
            .await
    }

    async fn get_campaign(&self, campaign_id: &str) -> Result<Option<Campaign>> {
        self.timed("get_campaign", self.inner.get_campaign(campaign_id))
            .await
    }

    async fn put_campaign(
        &self,
        campaign: &Campaign,
        expected_revision: Option<u64>,
    ) -> Result<bool> {
        self.timed(
            "put_campaign",
            self.inner.put_campaign(campaign, expected_revision),
        )
        .await
    }

    async fn record_click(&self, click: &NewClick) -> Result<ClickOutcome> {
        self.timed("record_click", self.inner.record_click(click))
            .await
    }

    async fn confirm_sale(&self, sale: &NewSale) -> Result<SaleOutcome> {
        self.timed("confirm_sale", self.inner.confirm_sale(sale))
            .await
    }

    async fn read_counters(
        &self,
        dimension: Dimension,
        id: &str,
        range: BucketRange,
        merchant: Option<&str>,
    ) -> Result<Vec<Counts>> {
        self.timed(
            "read_counters",
            self.inner.read_counters(dimension, id, range, merchant),
        )
        .await
    }

    async fn reverse_sale(&self, reversal: &NewReversal) -> Result<ReversalOutcome> {
        self.timed("reverse_sale", self.inner.reverse_sale(reversal))
            .await
    }

    async fn list_top(
        &self,
        dimension: Dimension,
        day_start: i64,
        metric: &TopMetric,
        limit: usize,
        merchant: Option<&str>,
    ) -> Result<Vec<TopEntry>> {
        let call = self
            .inner
            .list_top(dimension, day_start, metric, limit, merchant);
        self.timed("list_top", call).await
    }

    async fn read_events(
        &self,
        merchant_id: &str,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<Event>> {
        self.timed(
            "read_events",
            self.inner.read_events(merchant_id, after, count),
        )
        .await
    }

    async fn put_api_key(&self, key: &ApiKey, label: &str) -> Result<()> {
        self.timed("put_api_key", self.inner.put_api_key(key, label))
            .await
    }

    async fn find_api_key(&self, sha256: &[u8; 32]) -> Result<Option<ApiKey>> {
        self.timed("find_api_key", self.inner.find_api_key(sha256))
            .await
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool> {
        self.timed("revoke_api_key", self.inner.revoke_api_key(key_id))
            .await
    }

    async fn erase_viewer(&self, viewer: &ViewerHash) -> Result<u64> {
        self.timed("erase_viewer", self.inner.erase_viewer(viewer))
            .await
    }

    async fn merchant_counters(
        &self,
        merchant_id: &str,
        range: BucketRange,
    ) -> Result<Vec<CounterCell>> {
        self.timed(
            "merchant_counters",
            self.inner.merchant_counters(merchant_id, range),
        )
        .await
    }

    async fn merchant_records(
        &self,
        merchant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<MerchantRecords> {
        self.timed(
            "merchant_records",
            self.inner.merchant_records(merchant_id, from, to),
        )
        .await
    }
}
