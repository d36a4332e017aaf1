//! A memory store that holds `confirm_sale` calls at a gate, so shutdown
//! and overload tests can keep a call in flight for as long as they need.

use cartclick::model::Retention;
use cartclick::store::memory::MemoryStore;
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

// Every store trait forwarded to the memory store; `confirm_sale` first
// waits at the gate.
cartclick::forward_store!(GatedStore, inner, |this, operation, call| {
    if operation == "confirm_sale" {
        this.entered.notify_one();
        this.release.notified().await;
    }
    call.await
});
