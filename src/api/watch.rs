//! Watching a counter's current hour, for both transports' streams
//! (gRPC `WatchCounters`, the HTTP port's Server-Sent Events): one
//! subscription per (dimension, id, merchant share), shared by every stream
//! that watches it, so the store is read at most once per [`WATCH_EVERY`]
//! per watched id however many streams watch it.
//!
//! A subscription is a task that reads the bucket every [`WATCH_EVERY`] and
//! publishes it on a `tokio::sync::watch` channel when it changed: each
//! stream sees the latest bucket only, so a slow client costs one bucket,
//! never a queue. The task ends when its last stream goes away, or when the
//! server shuts down. A store that fails a read keeps the last bucket (the
//! streams go on; health reports the outage), as a read of the next tick may
//! answer again.
//!
//! A stream that joins a live subscription starts from its latest bucket:
//! at most [`WATCH_EVERY`] old while the store answers, the last one read
//! during an outage; what changed since comes with the next tick.
//!
//! Streams are capped at [`MAX_WATCH_STREAMS`] a server, both transports
//! together: a stream holds no concurrency permit once it started, so this
//! is what keeps a flood of streams on made-up ids from becoming a store
//! read a second each; past it a new one is RATE_LIMITED. A subscription
//! whose task panicked leaves the map with it (a [`Leave`] guard), so new
//! streams start a fresh one.
//!
//! Each stream ([`Watch`]) also asks, every [`KEY_RECHECK_EVERY`], whether
//! its caller's key is still live, and ends on revocation or shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::auth::{Authenticator, Caller};
use crate::domain::Cartclick;
use crate::error::{Error, Result};
use crate::model::{Counts, Dimension, MerchantId};

/// How often a watched bucket is read again; also the most it is sent.
pub(crate) const WATCH_EVERY: Duration = Duration::from_secs(1);

/// How often a stream asks whether its key is still live. With the key
/// cache's own TTL (`auth::KEY_CACHE_TTL`, 500 ms) a revoked key's stream
/// ends within a second of the revocation reaching the replica.
const KEY_RECHECK_EVERY: Duration = Duration::from_millis(250);

/// Streams one server keeps open at most, both transports together.
pub(crate) const MAX_WATCH_STREAMS: usize = 10_000;

/// One hour's bucket: its start and its counts.
pub(crate) type Bucket = (DateTime<Utc>, Counts);

/// What a subscription is shared by: streams of the same id that read the
/// same share of it (all merchants', or one merchant's).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Watched {
    /// The counter's dimension.
    dimension: Dimension,
    /// The counter's id.
    id: String,
    /// The merchant whose share is read; `None` for all merchants'.
    share: Option<MerchantId>,
}

/// The live subscriptions of a server: see the module docs.
pub(crate) struct Watchers {
    /// Reads the buckets.
    domain: Arc<Cartclick>,
    /// Tells whether a stream's key is still live.
    auth: Arc<Authenticator>,
    /// Turns true when the server begins to shut down: subscriptions and
    /// streams end then.
    shutdown: watch::Receiver<bool>,
    /// Each watched id's channel, while any stream watches it. Locked only
    /// to find, add or remove one, never across an await.
    live: Arc<Mutex<HashMap<Watched, watch::Sender<Bucket>>>>,
    /// A permit per open stream, [`MAX_WATCH_STREAMS`] in all.
    streams: Arc<tokio::sync::Semaphore>,
}

/// What a stream is to send next.
#[derive(Debug)]
pub(crate) enum Next {
    /// The current hour's bucket: the first, or one that changed.
    Bucket(Bucket),
    /// The caller's key was revoked: end with UNAUTHENTICATED.
    Revoked,
    /// The server is shutting down: end.
    ShuttingDown,
}

/// One stream's view of a subscription.
pub(crate) struct Watch {
    /// The latest bucket of the subscription; ends when it does.
    bucket: watch::Receiver<Bucket>,
    /// Who watches, for the key rechecks.
    caller: Caller,
    /// Tells whether the key is still live.
    auth: Arc<Authenticator>,
    /// Turns true on shutdown.
    shutdown: watch::Receiver<bool>,
    /// When to ask about the key again.
    recheck: tokio::time::Interval,
    /// Whether the first bucket was sent.
    started: bool,
    /// This stream's place among [`MAX_WATCH_STREAMS`], given back when
    /// the stream is dropped.
    _place: tokio::sync::OwnedSemaphorePermit,
}

impl Watchers {
    /// No subscriptions yet, over `domain`, checking keys with `auth`.
    pub(crate) fn new(
        domain: Arc<Cartclick>,
        auth: Arc<Authenticator>,
        shutdown: watch::Receiver<bool>,
    ) -> Watchers {
        Watchers {
            domain,
            auth,
            shutdown,
            live: Arc::default(),
            streams: Arc::new(tokio::sync::Semaphore::new(MAX_WATCH_STREAMS)),
        }
    }

    /// A stream of the current hour of `dimension`/`id` (`share`'s share of
    /// it) for `caller`, who is authorized to read it: joins the live
    /// subscription, or starts one with a first read now, so a store outage
    /// is the caller's error, not a broken stream; RATE_LIMITED when
    /// [`MAX_WATCH_STREAMS`] are open.
    pub(crate) async fn watch(
        &self,
        caller: Caller,
        dimension: Dimension,
        id: String,
        share: Option<MerchantId>,
    ) -> Result<Watch> {
        let place = self
            .streams
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::RateLimited)?;
        let watched = Watched {
            dimension,
            id,
            share,
        };
        let bucket = match self.join(&watched) {
            Some(bucket) => bucket,
            None => {
                let first = self
                    .domain
                    .current_hour(dimension, &watched.id, watched.share.as_deref())
                    .await?;
                self.start(watched, first)
            }
        };
        let mut recheck = tokio::time::interval(KEY_RECHECK_EVERY);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        Ok(Watch {
            bucket,
            caller,
            auth: self.auth.clone(),
            shutdown: self.shutdown.clone(),
            recheck,
            started: false,
            _place: place,
        })
    }

    /// A receiver of `watched`'s live subscription, if there is one.
    fn join(&self, watched: &Watched) -> Option<watch::Receiver<Bucket>> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get(watched).map(watch::Sender::subscribe)
    }

    /// Starts `watched`'s subscription at `first`, unless another stream
    /// started it meanwhile (then joins that one), and returns a receiver.
    fn start(&self, watched: Watched, first: Bucket) -> watch::Receiver<Bucket> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = live.get(&watched) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(first);
        live.insert(watched.clone(), sender.clone());
        tokio::spawn(poll(
            self.domain.clone(),
            self.live.clone(),
            watched,
            sender,
            self.shutdown.clone(),
        ));
        receiver
    }
}

/// Takes a subscription out of the live map when its task ends without
/// doing so itself (a panic): its streams then see the channel close, and
/// the next stream of the id starts a fresh subscription.
struct Leave {
    /// The live map.
    live: Arc<Mutex<HashMap<Watched, watch::Sender<Bucket>>>>,
    /// The subscription, until the task took it out itself.
    watched: Option<Watched>,
}

impl Drop for Leave {
    fn drop(&mut self) {
        if let Some(watched) = self.watched.take() {
            self.live
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&watched);
        }
    }
}

/// A subscription's task: reads `watched` every [`WATCH_EVERY`] and
/// publishes a bucket that changed; ends (and leaves `live`) when no stream
/// watches any more, or on shutdown.
async fn poll(
    domain: Arc<Cartclick>,
    live: Arc<Mutex<HashMap<Watched, watch::Sender<Bucket>>>>,
    watched: Watched,
    sender: watch::Sender<Bucket>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut leave = Leave {
        live: live.clone(),
        watched: Some(watched.clone()),
    };
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = sender.closed() => {}
            _ = shutdown.wait_for(|stopping| *stopping) => break,
        }
        {
            // Under the lock, so no stream joins a subscription that is
            // leaving.
            let mut live = live.lock().unwrap_or_else(|p| p.into_inner());
            if sender.receiver_count() == 0 {
                live.remove(&watched);
                leave.watched = None;
                return;
            }
        }
        // A read may wait on a slow store for up to its timeout; shutdown
        // does not wait for it.
        let read = domain.current_hour(watched.dimension, &watched.id, watched.share.as_deref());
        let read = tokio::select! {
            read = read => read,
            _ = shutdown.wait_for(|stopping| *stopping) => break,
        };
        // A failed read keeps the last bucket: see the module docs.
        if let Ok(now) = read {
            sender.send_if_modified(|last| {
                let changed = *last != now;
                if changed {
                    *last = now;
                }
                changed
            });
        }
    }
    // `leave` takes it out of the map as the task ends.
    drop(leave);
}

impl Watch {
    /// What the stream sends next: the current bucket at first, then each
    /// bucket that changed (the latest, when several did since the last
    /// send); [`Next::Revoked`] once the caller's key is revoked, and
    /// [`Next::ShuttingDown`] on shutdown.
    pub(crate) async fn next(&mut self) -> Next {
        if !self.started {
            self.started = true;
            return Next::Bucket(self.bucket.borrow_and_update().clone());
        }
        loop {
            let recheck_due = tokio::select! {
                changed = self.bucket.changed() => match changed {
                    Ok(()) => return Next::Bucket(self.bucket.borrow_and_update().clone()),
                    // The subscription ends on shutdown, or when its task
                    // failed: either way this stream ends.
                    Err(_) => return Next::ShuttingDown,
                },
                _ = self.recheck.tick() => true,
                _ = self.shutdown.wait_for(|stopping| *stopping) => false,
            };
            if !recheck_due {
                return Next::ShuttingDown;
            }
            // A store that does not answer is no revocation: the stream goes
            // on, as its reads do.
            if let Ok(false) = self.auth.is_live(&self.caller).await {
                tracing::info!(key_id = %self.caller.key_id, "api key revoked: ending its counters stream");
                return Next::Revoked;
            }
        }
    }
}
