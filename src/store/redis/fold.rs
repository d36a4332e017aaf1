//! Folding the event streams into the counters (DESIGN.md, "Storage").
//!
//! A tap or a sale writes its event, not its counters; `fold.lua` folds a
//! bounded batch of one shard's events after its checkpoint into the
//! counters and top lists and moves the checkpoint, in one script, so any
//! replica may fold any shard as often as it likes and each event counts
//! once. This file decides when:
//!
//! - every replica folds, in the background, the shards it wrote to: every
//!   [`FOLD_EVERY`] or so (with jitter, so that replicas spread out), and at
//!   once after [`FOLD_SOON`] events on one shard;
//! - every counter read first folds the shards it reads until each is
//!   caught up, so that it sees every write acknowledged before it;
//! - while writes are refused (a node would evict, or the store is down)
//!   nothing folds, and reads read what is folded.
//!
//! Reconcile folds nothing: it adds the events not yet folded to the
//! counters it reads ([`RedisStore::counted_and_unfolded`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use redis::Script;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::model::{BucketRange, CounterCell, Counts, Dimension, Retention};
use crate::telemetry::metrics;

use super::codec::parse_event;
use super::connect::{Conn, run_call};
use super::eviction::Guard;
use super::keys::{counter_prefix, events_key, fold_state_key, joined, merchant_of_tag};
use super::{RedisOptions, RedisStore};

/// Events a fold script run folds at most. Its sums stay exact in Lua's
/// doubles: a thousand amounts of at most 10^12 are below 2^53.
pub(super) const FOLD_BATCH: usize = 1000;

/// How often a replica folds the shards it wrote to, at the longest.
pub(super) const FOLD_EVERY: Duration = Duration::from_millis(100);

/// Events on one shard after which a replica folds it at once.
pub(super) const FOLD_SOON: u32 = 256;

/// Batches one background round folds of one shard before it turns to the
/// others (the shard stays due for the next round).
const ROUND_BATCHES: usize = 20;

/// Shards folded at once.
const PARALLEL: usize = 16;

/// The store's folding: what the scripts and the background task share.
pub(super) struct Fold {
    shared: Arc<Folding>,
    /// The background task.
    task: JoinHandle<()>,
}

impl Drop for Fold {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Folding {
    conn: Conn,
    script: Script,
    guard: Arc<Guard>,
    timeout: Duration,
    retention: Retention,
    /// `max_unfolded_events`: past it a shard's taps are refused.
    max_unfolded: u64,
    /// Events on one shard after which it is folded at once ([`FOLD_SOON`]).
    fold_soon: u32,
    /// The shards this replica wrote events to since it last folded them,
    /// with how many.
    due: Mutex<HashMap<String, u32>>,
    /// Wakes the task before its time: a shard took `fold_soon` events.
    soon: Notify,
}

impl Fold {
    /// Starts folding in the background with `script` (`fold.lua`), every
    /// `options.fold_every` at the longest.
    pub(super) fn start(
        conn: Conn,
        script: Script,
        guard: Arc<Guard>,
        options: &RedisOptions,
    ) -> Fold {
        let shared = Arc::new(Folding {
            conn,
            script,
            guard,
            timeout: options.timeout,
            retention: options.retention,
            max_unfolded: options.max_unfolded_events,
            fold_soon: options.fold_soon,
            due: Mutex::new(HashMap::new()),
            soon: Notify::new(),
        });
        let task = tokio::spawn(keep_folding(Arc::clone(&shared), options.fold_every));
        Fold { shared, task }
    }

    /// `max_unfolded_events`, for the tap script.
    pub(super) fn max_unfolded(&self) -> u64 {
        self.shared.max_unfolded
    }

    /// Notes an event written to `tag`'s stream: the background task folds it.
    pub(super) fn wrote(&self, tag: &str) {
        let mut due = self.shared.due.lock().unwrap_or_else(|e| e.into_inner());
        let events = match due.get_mut(tag) {
            Some(events) => events,
            None => due.entry(tag.to_owned()).or_default(),
        };
        *events += 1;
        if *events == self.shared.fold_soon {
            self.shared.soon.notify_one();
        }
    }

    /// Notes a tap refused for the backlog of `tag`: the background task
    /// folds it next round, whoever wrote its events (the replicas that
    /// did may be gone, and a replica folds only what it wrote), so that
    /// taps resume without waiting for a counter read.
    pub(super) fn refused(&self, tag: &str) {
        self.shared.due_again(tag.to_owned());
    }

    /// Folds every shard of `tags` until each is caught up, in parallel,
    /// within the store timeout: then a read sees every write acknowledged
    /// before this call. Folds nothing while writes are refused (the read
    /// then sees what is folded). STORE_UNAVAILABLE when a shard could not
    /// catch up in time.
    pub(super) async fn catch_up(&self, tags: &[String]) -> Result<()> {
        let shared = &self.shared;
        if !shared.guard.writes_allowed() || tags.is_empty() {
            return Ok(());
        }
        // The futures made first: a closure in the stream would not be
        // general enough for the async trait methods that await this.
        let folds: Vec<_> = tags
            .iter()
            .map(|tag| shared.fold(tag, usize::MAX))
            .collect();
        let all = async {
            let done: Vec<Result<bool>> = futures_util::stream::iter(folds)
                .buffer_unordered(PARALLEL)
                .collect()
                .await;
            done.into_iter()
                .try_for_each(|caught_up| caught_up.map(drop))
        };
        match tokio::time::timeout(shared.timeout, all).await {
            Ok(done) => done,
            Err(_) => {
                tracing::warn!(
                    shards = tags.len(),
                    timeout_ms = shared.timeout.as_millis() as u64,
                    "counter read could not fold its shards in time"
                );
                Err(Error::StoreUnavailable)
            }
        }
    }
}

impl Folding {
    /// Folds `tag`, at most `batches` batches; whether it is caught up.
    async fn fold(&self, tag: &str, batches: usize) -> Result<bool> {
        for _ in 0..batches {
            if self.fold_batch(tag).await? < FOLD_BATCH {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// One run of `fold.lua` on `tag`: the events it folded.
    async fn fold_batch(&self, tag: &str) -> Result<usize> {
        let max_age = self
            .retention
            .events_max_age
            .map_or_else(String::new, |age| age.as_millis().to_string());
        let daily = self.retention.daily.as_millis() as u64;
        let folded: Result<(usize, u64)> = run_call(
            self.timeout,
            &self.guard,
            self.script
                .key(events_key(tag))
                .key(fold_state_key(tag))
                .arg(merchant_of_tag(tag))
                .arg(counter_prefix(tag))
                .arg(joined(&["t:{", tag, "}:"]))
                .arg(FOLD_BATCH)
                .arg(self.retention.hourly.as_millis() as u64)
                .arg(daily)
                .arg(self.retention.events_max_len)
                .arg(max_age)
                .arg(daily)
                .invoke_async(&mut self.conn.clone()),
        )
        .await;
        match folded {
            Ok((folded, _left)) => {
                metrics().fold_events.add(folded as u64, &[]);
                Ok(folded)
            }
            Err(error) => {
                metrics().fold_errors.add(1, &[]);
                Err(error)
            }
        }
    }

    /// The shards due, taken: the task folds them now.
    fn take_due(&self) -> Vec<String> {
        let mut due = self.due.lock().unwrap_or_else(|e| e.into_inner());
        due.drain().map(|(tag, _)| tag).collect()
    }

    /// `tag` is due (again): its fold failed, it is not caught up, or its
    /// backlog refused a tap.
    fn due_again(&self, tag: String) {
        let mut due = self.due.lock().unwrap_or_else(|e| e.into_inner());
        due.entry(tag).or_default();
    }
}

/// The background folder: every `every` (less up to a quarter, at random,
/// so that replicas spread their folds) or when a shard took [`FOLD_SOON`]
/// events, folds every shard due; one that fails or is not caught up after
/// [`ROUND_BATCHES`] batches is due again next round.
async fn keep_folding(shared: Arc<Folding>, every: Duration) {
    loop {
        let jitter = every.mul_f64(rand::random::<f64>() / 4.0);
        tokio::select! {
            () = tokio::time::sleep(every - jitter) => {}
            () = shared.soon.notified() => {}
        }
        if !shared.guard.writes_allowed() {
            continue;
        }
        let folds = shared.take_due().into_iter().map(|tag| {
            let shared = &shared;
            async move {
                match shared.fold(&tag, ROUND_BATCHES).await {
                    Ok(true) => {}
                    Ok(false) | Err(_) => shared.due_again(tag),
                }
            }
        });
        futures_util::stream::iter(folds)
            .buffer_unordered(PARALLEL)
            .collect::<()>()
            .await;
    }
}

/// Times reconcile reads a shard's counters again when a fold moved its
/// checkpoint during the read.
const RECOUNT_TRIES: usize = 10;

impl RedisStore {
    /// Shard `tag`'s counter cells of `range` plus what its events not yet
    /// folded will add to them: reconcile's counters, read without folding.
    /// The counters are read between two reads of the checkpoint, again
    /// while a fold (another replica's) moved it in between: an event
    /// folded then would be in neither half.
    pub(super) async fn counted_and_unfolded(
        &self,
        tag: &str,
        merchant_id: &str,
        range: BucketRange,
    ) -> Result<Vec<CounterCell>> {
        for _ in 0..RECOUNT_TRIES {
            let checkpoint = self.checkpoint(tag).await?;
            let mut cells = self.counter_cells(tag, range).await?;
            if self.checkpoint(tag).await? == checkpoint {
                self.unfolded_cells(tag, checkpoint, merchant_id, range, &mut cells)
                    .await?;
                return Ok(cells);
            }
        }
        tracing::warn!(
            tag,
            "reconcile: the shard kept folding while its counters were read"
        );
        Err(Error::StoreUnavailable)
    }

    /// The last event folded on shard `tag` (`0-0` before any).
    async fn checkpoint(&self, tag: &str) -> Result<String> {
        let checkpoint: Option<String> = self
            .run(redis::AsyncCommands::hget(
                &mut self.conn.clone(),
                fold_state_key(tag),
                "ck",
            ))
            .await?;
        Ok(checkpoint.unwrap_or_else(|| "0-0".to_owned()))
    }

    /// Adds to `cells` what the events of shard `tag` after `checkpoint`
    /// will add to them.
    async fn unfolded_cells(
        &self,
        tag: &str,
        checkpoint: String,
        merchant_id: &str,
        range: BucketRange,
        cells: &mut Vec<CounterCell>,
    ) -> Result<()> {
        let mut conn = self.conn.clone();
        let mut after = checkpoint;
        let end = range.first + i64::from(range.count) * range.granularity.seconds();
        let mut added: BTreeMap<(i64, Dimension, String), Counts> = BTreeMap::new();
        loop {
            let entries: Vec<(String, HashMap<String, String>)> = self
                .run(
                    redis::cmd("XRANGE")
                        .arg(events_key(tag))
                        .arg(joined(&["(", &after]))
                        .arg("+")
                        .arg("COUNT")
                        .arg(FOLD_BATCH)
                        .query_async(&mut conn),
                )
                .await?;
            let read = entries.len();
            for (id, mut fields) in entries {
                after.clone_from(&id);
                // Only events written to be folded count (`fold.lua`).
                if fields.remove("f").as_deref() != Some("1") {
                    continue;
                }
                let event = parse_event(merchant_id, id, fields)?;
                let start = range.granularity.bucket_start(event.at);
                let counts = event.counts();
                // Payouts and reviews count nothing.
                if !(range.first..end).contains(&start) || counts == Counts::default() {
                    continue;
                }
                for dimension in Dimension::ALL {
                    let id = event.attribution.id(dimension).to_owned();
                    added
                        .entry((start, dimension, id))
                        .or_default()
                        .add(&counts);
                }
            }
            if read < FOLD_BATCH {
                break;
            }
        }
        let mut at: HashMap<(i64, Dimension, String), usize> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| ((cell.start, cell.dimension, cell.id.clone()), i))
            .collect();
        for ((start, dimension, id), counts) in added {
            match at.get(&(start, dimension, id.clone())) {
                Some(i) => cells[*i].counts.add(&counts),
                None => {
                    at.insert((start, dimension, id.clone()), cells.len());
                    cells.push(CounterCell {
                        start,
                        dimension,
                        id,
                        counts,
                    });
                }
            }
        }
        Ok(())
    }
}
