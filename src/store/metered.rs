//! A [`Store`] decorator that measures every call: latency by operation
//! (`cartclick.store.duration`) and failures (`cartclick.store.errors`),
//! the same for every store, in one place.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use opentelemetry::KeyValue;

use crate::error::{Error, Result};
use crate::store::Store;
use crate::telemetry::metrics;

/// Measures the store it wraps.
pub(crate) struct MeteredStore {
    /// The store measured.
    inner: Arc<dyn Store>,
}

impl MeteredStore {
    /// Measures `inner`.
    pub(crate) fn new(inner: Arc<dyn Store>) -> Self {
        MeteredStore { inner }
    }

    /// Runs `call`, recording its latency under `operation` and counting
    /// it as a failure when the store was unavailable.
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
        if matches!(result, Err(Error::StoreUnavailable | Error::Backlog)) {
            metrics().store_errors.add(1, &attributes);
        }
        result
    }
}

// Every trait of the store, each call timed under its method's name.
crate::forward_store!(MeteredStore, inner, |this, operation, call| {
    this.timed(operation, call).await
});
