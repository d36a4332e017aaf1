//! A memory store that counts its counter reads, so a test can hold how
//! often the server polls the store (WatchCounters' shared subscriptions).

use std::sync::atomic::{AtomicUsize, Ordering};

use cartclick::model::Retention;
use cartclick::store::memory::MemoryStore;

/// A memory store counting `read_counters` calls; everything passes
/// straight through.
pub struct CountingStore {
    pub inner: MemoryStore,
    /// `read_counters` calls so far.
    reads: AtomicUsize,
}

impl CountingStore {
    pub fn new() -> Self {
        CountingStore {
            inner: MemoryStore::new(Retention::default()),
            reads: AtomicUsize::new(0),
        }
    }

    /// The counter reads so far.
    pub fn counter_reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

// Every store trait forwarded to the memory store; `read_counters` counted.
cartclick::forward_store!(CountingStore, inner, |this, operation, call| {
    if operation == "read_counters" {
        this.reads.fetch_add(1, Ordering::SeqCst);
    }
    call.await
});
