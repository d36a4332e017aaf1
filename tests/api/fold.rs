//! Counters folded from the event streams (DESIGN.md, "Storage"): a read
//! sees every tap acknowledged before it however many replicas fold at
//! once; a replica killed before its fold, a failover while folding, a
//! folder stalled for thousands of taps and a backlog past
//! `max_unfolded_events` leave each event counted once and no drift; and a
//! fold of a mixed batch counts what each event counts alone.

use std::collections::{BTreeSet, HashMap};
use std::num::{NonZeroU32, NonZeroU64};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cartclick::model::{self, MerchantId};
use cartclick::proto::*;
use cartclick::store::Store;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use futures_util::future::join_all;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::*;

/// MERCHANT's (only) shard's event stream and fold state.
const EVENTS: &str = "e:{m-1}";
const FOLD_STATE: &str = "z:{m-1}";

/// Events one run of the fold script folds at most (`fold.rs`).
const FOLD_BATCH: usize = 1_000;

/// A tap by a viewer of its own: a new click.
fn new_tap(viewer: &str) -> IssueTokenRequest {
    tap(&format!("viewer-{viewer}"))
}

/// Reconciles MERCHANT's `day` and asserts no drift: counters plus the
/// events not yet folded equal a recount of the records.
async fn assert_no_drift(app: &TestApp, day: NaiveDate) -> cartclick::ReconcileReport {
    let report = app
        .domain
        .reconcile(&MerchantId::stored(MERCHANT), day)
        .await
        .expect("reconcile");
    assert_eq!(report.drift, Vec::<String>::new(), "{report:?}");
    report
}

/// The value of `id` in the test day's top list of `dimension` by clicks
/// (0 when it is not listed).
async fn top_clicks(client: &Client, dimension: Dimension, id: &str) -> i64 {
    client
        .top_of_day(dimension, TopMetric::Clicks, "", "")
        .await
        .into_iter()
        .find(|(listed, _)| listed == id)
        .map_or(0, |(_, value)| value)
}

/// MERCHANT's shard as Redis holds it: its fold state and its stream.
#[derive(Debug, PartialEq)]
struct Backlog {
    /// `n`: events written and not yet folded, as the scripts count them.
    unfolded: u64,
    /// `ck`: the last event folded, if any was.
    checkpoint: Option<String>,
    /// The ids of the events in the stream, oldest first.
    events: Vec<String>,
}

impl Backlog {
    /// MERCHANT's shard on `redis`, read now.
    async fn of(redis: &TestRedis) -> Backlog {
        let mut connection = redis.connection().await;
        let (unfolded, checkpoint): (Option<u64>, Option<String>) = ::redis::cmd("HMGET")
            .arg(FOLD_STATE)
            .arg("n")
            .arg("ck")
            .query_async(&mut connection)
            .await
            .expect("HMGET of the fold state");
        let entries: Vec<(String, HashMap<String, String>)> = ::redis::cmd("XRANGE")
            .arg(EVENTS)
            .arg("-")
            .arg("+")
            .query_async(&mut connection)
            .await
            .expect("XRANGE of the stream");
        Backlog {
            unfolded: unfolded.unwrap_or(0),
            checkpoint,
            events: entries.into_iter().map(|(id, _)| id).collect(),
        }
    }

    /// The events of the stream after the checkpoint: not yet folded.
    fn after_checkpoint(&self) -> usize {
        let order = |id: &str| -> (u64, u64) {
            let (ms, seq) = id.split_once('-').expect("a stream id");
            (ms.parse().unwrap(), seq.parse().unwrap())
        };
        match &self.checkpoint {
            None => self.events.len(),
            Some(checkpoint) => self
                .events
                .iter()
                .filter(|id| order(id) > order(checkpoint))
                .count(),
        }
    }
}

/// Tasks that tap new clicks while others read.
const TAPPERS: usize = 4;
/// Taps each of them makes.
const TAPS_EACH: usize = 40;
/// Tasks that read meanwhile.
const READERS: usize = 2;

/// Taps `TAPS_EACH` new clicks, counting each acknowledged in `acknowledged`.
async fn tap_counting(client: Client, tapper: usize, acknowledged: Arc<AtomicUsize>) {
    for i in 0..TAPS_EACH {
        client
            .issue(new_tap(&format!("{tapper}-{i}")))
            .await
            .expect("a tap");
        acknowledged.fetch_add(1, Ordering::SeqCst);
    }
}

/// Reads MERCHANT's counters and the creators' top list until every tap is
/// acknowledged (and once more): each read must count every tap
/// acknowledged before it started. Returns how many rounds it read.
async fn read_your_writes(client: Client, acknowledged: Arc<AtomicUsize>) -> usize {
    let all = (TAPPERS * TAPS_EACH) as i64;
    let mut rounds = 0;
    loop {
        let before = acknowledged.load(Ordering::SeqCst) as i64;
        let total = client.total(Dimension::Merchant, MERCHANT).await;
        assert!(
            total.taps >= before && total.clicks >= before,
            "a read started after {before} acknowledged taps counted {total:?}"
        );
        let before = acknowledged.load(Ordering::SeqCst) as i64;
        let listed = top_clicks(&client, Dimension::Creator, "cr-1").await;
        assert!(
            listed >= before,
            "a top list read after {before} acknowledged taps listed {listed}"
        );
        rounds += 1;
        if before == all {
            return rounds;
        }
    }
}

async fn a_read_counts_every_tap_acknowledged_before_it_while_taps_go_on(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let acknowledged = Arc::new(AtomicUsize::new(0));

    let tappers: Vec<_> = (0..TAPPERS)
        .map(|tapper| {
            tokio::spawn(tap_counting(
                app.client.clone(),
                tapper,
                acknowledged.clone(),
            ))
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|_| tokio::spawn(read_your_writes(app.client.clone(), acknowledged.clone())))
        .collect();
    for tapper in tappers {
        tapper.await.expect("the tapper tapped");
    }
    let rounds: Vec<usize> = join_all(readers)
        .await
        .into_iter()
        .map(|reader| reader.expect("every read counted every earlier tap"))
        .collect();

    let all = (TAPPERS * TAPS_EACH) as i64;
    eprintln!("read rounds while tapping: {rounds:?}");
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    assert_eq!((total.taps, total.clicks), (all, all), "{total:?}");
    assert_eq!(top_clicks(&app, Dimension::Creator, "cr-1").await, all);
    let report = assert_no_drift(&app, start_time().date_naive()).await;
    assert_eq!(report.clicks as i64, all);
}

on_all_backends!(a_read_counts_every_tap_acknowledged_before_it_while_taps_go_on);

/// Binaries started before one is killed between its tap and its fold.
const KILL_ATTEMPTS: usize = 10;

#[tokio::test]
async fn a_replica_killed_between_a_tap_and_its_fold_leaves_the_tap_for_another_to_count_once() {
    let redis = TestRedis::start().await;
    let started = Utc::now();
    let mut taps = 0;
    let mut caught = None;
    for attempt in 0..KILL_ATTEMPTS {
        let mut server = ServerProcess::start(Launch {
            store: Some(redis.url()),
            ..Launch::default()
        })
        .await;
        let client = server.client().await;
        if attempt == 0 {
            client.seed().await;
        }
        client
            .issue(new_tap(&attempt.to_string()))
            .await
            .expect("a tap");
        server.sigkill(BOUND).await;
        taps += 1;
        // Its background fold comes within 100 ms of the tap: if it came
        // before the kill, try again.
        let backlog = Backlog::of(&redis).await;
        if backlog.after_checkpoint() >= 1 {
            caught = Some(backlog);
            break;
        }
    }
    let backlog = caught.unwrap_or_else(|| {
        panic!("in {KILL_ATTEMPTS} attempts the fold always came before the kill")
    });
    eprintln!("killed before its fold at attempt {taps}: {backlog:?}");
    assert!(backlog.unfolded >= 1, "{backlog:?}");

    let replica = TestApp::builder().redis_at(&redis.url()).spawn().await;
    let hours = model::BucketRange {
        granularity: model::Granularity::Hour,
        first: model::Granularity::Hour.bucket_start(started),
        count: 2,
    };
    let counted = replica
        .domain
        .store()
        .read_counters(model::Dimension::Merchant, MERCHANT, hours, None)
        .await
        .expect("a counter read");

    let mut total = model::Counts::default();
    counted.iter().for_each(|bucket| total.add(bucket));
    assert_eq!((total.taps, total.clicks), (taps, taps), "{backlog:?}");
    assert_eq!(Backlog::of(&redis).await.after_checkpoint(), 0);
    let days: BTreeSet<NaiveDate> = [started, Utc::now()]
        .iter()
        .map(DateTime::date_naive)
        .collect();
    for day in days {
        assert_no_drift(&replica, day).await;
    }
}

/// Taps, repeat taps and sales through one app.
#[derive(Debug, Default)]
struct Written {
    taps: i64,
    clicks: i64,
    sales: i64,
    revenue: i64,
}

/// Taps `rounds` new clicks, every fourth twice, and sells every third.
async fn tap_and_sell(app: &TestApp, rounds: usize) -> Written {
    let mut written = Written::default();
    for i in 0..rounds {
        let viewer = i.to_string();
        let issued = app.issue(new_tap(&viewer)).await.expect("a tap");
        written.taps += 1;
        written.clicks += 1;
        if i % 4 == 0 {
            app.issue(new_tap(&viewer)).await.expect("a repeat tap");
            written.taps += 1;
        }
        if i % 3 == 0 {
            let amount = 100 + i as i64;
            app.confirmed(&issued.token, &format!("order-{i}"), amount, "DKK")
                .await;
            written.sales += 1;
            written.revenue += amount;
        }
    }
    written
}

/// Reads MERCHANT's counters and top list through `store` until `done`:
/// each read folds. Returns how many rounds it read.
async fn read_until(store: &dyn Store, done: &AtomicBool) -> usize {
    let hour = model::BucketRange {
        granularity: model::Granularity::Hour,
        first: start_time().timestamp(),
        count: 1,
    };
    let day = model::Granularity::Day.bucket_start(start_time());
    let mut rounds = 0;
    while !done.load(Ordering::SeqCst) {
        store
            .read_counters(model::Dimension::Merchant, MERCHANT, hour, None)
            .await
            .expect("a counter read");
        store
            .list_top(
                model::Dimension::Creator,
                day,
                &model::TopMetric::Clicks,
                10,
                None,
            )
            .await
            .expect("a top list read");
        rounds += 1;
    }
    rounds
}

/// Rounds of taps and sales while the folders race.
const RACING_ROUNDS: usize = 120;

/// Taps and sales through one app while `folders` other stores on its
/// Redis read (and so fold) all along: each event is counted once.
async fn folders_racing_on_one_shard_count_each_event_once(folders: usize) {
    let app = TestApp::builder().redis().seeded().spawn().await;
    let mut stores = Vec::new();
    for _ in 0..folders {
        stores.push(open_redis_store_with(&app.redis().url(), redis_options(&app.config)).await);
    }
    let done = AtomicBool::new(false);

    let writing = async {
        let written = tap_and_sell(&app, RACING_ROUNDS).await;
        done.store(true, Ordering::SeqCst);
        written
    };
    let reading = join_all(stores.iter().map(|store| read_until(&**store, &done)));
    let (written, rounds) = tokio::join!(writing, reading);

    eprintln!("{written:?}; read rounds of each folder: {rounds:?}");
    assert!(rounds.iter().all(|r| *r > 0), "{rounds:?}");
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    assert_eq!(
        (total.taps, total.clicks, total.conversions),
        (written.taps, written.clicks, written.sales),
        "{total:?}"
    );
    assert_eq!(
        total.revenue,
        [Money {
            currency_code: "DKK".into(),
            amount_minor: written.revenue
        }]
    );
    let report = assert_no_drift(&app, start_time().date_naive()).await;
    assert_eq!(report.sales as i64, written.sales);
}

#[tokio::test]
async fn two_folders_racing_on_one_shard_count_each_event_once() {
    folders_racing_on_one_shard_count_each_event_once(2).await;
}

#[tokio::test]
async fn ten_folders_racing_on_one_shard_count_each_event_once() {
    folders_racing_on_one_shard_count_each_event_once(10).await;
}

/// Taps acknowledged after the failover before the load stops.
const AFTER_FAILOVER: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_in_the_middle_of_folding_leaves_no_drift() {
    let app = TestApp::builder().cluster().seeded().spawn().await;
    let cluster = app.cluster();
    let primary = cluster.primary_of(cluster.keyslot("{m-1}").await).await;
    let replica = cluster.replica_of(primary).await;
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));

    let tapper = {
        let (client, acknowledged, stop) = (app.client.clone(), acknowledged.clone(), stop.clone());
        tokio::spawn(async move {
            let mut unavailable = 0;
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                match client.issue(new_tap(&i.to_string())).await {
                    Ok(_) => drop(acknowledged.fetch_add(1, Ordering::SeqCst)),
                    Err(status) if status.code() == Code::Unavailable => unavailable += 1,
                    Err(status) => panic!("tap {i}: {status:?}"),
                }
            }
            unavailable
        })
    };
    let reader = {
        let (client, stop) = (app.client.clone(), stop.clone());
        tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(Ordering::SeqCst) {
                let read = client.try_counters_of(Dimension::Merchant, MERCHANT, Granularity::Day);
                match read.await {
                    Ok(_) => reads += 1,
                    Err(status) if status.code() == Code::Unavailable => {}
                    Err(status) => panic!("a counter read: {status:?}"),
                }
            }
            reads
        })
    };
    let acknowledged_past = |taps: usize| {
        let acknowledged = acknowledged.clone();
        move || std::future::ready(acknowledged.load(Ordering::SeqCst) >= taps)
    };
    wait_for("taps before the failover", BOUND, acknowledged_past(50)).await;
    cluster.failover(replica).await;
    let at_failover = acknowledged.load(Ordering::SeqCst);
    wait_for(
        "taps after the failover",
        BOUND,
        acknowledged_past(at_failover + AFTER_FAILOVER),
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    let unavailable = tapper.await.expect("the tapper tapped");
    let reads = reader.await.expect("the reader read");

    let acknowledged = acknowledged.load(Ordering::SeqCst) as i64;
    eprintln!(
        "{acknowledged} taps acknowledged ({at_failover} before the failover), \
         {unavailable} UNAVAILABLE, {reads} counter reads"
    );
    assert_eq!(
        cluster.primary_of(cluster.keyslot("{m-1}").await).await,
        replica
    );
    // A read folds (and so reads its writes) only while writes are allowed.
    wait_for("the server to serve again", BOUND, || {
        health_is(&app, ServingStatus::Serving)
    })
    .await;
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    let report = assert_no_drift(&app, start_time().date_naive()).await;
    // A tap that answered UNAVAILABLE may have been recorded: the counters
    // hold what the records hold, at least every acknowledged tap.
    assert_eq!(total.clicks, report.clicks as i64, "{total:?} {report:?}");
    assert_eq!(total.taps, total.clicks, "{total:?}");
    assert!(total.clicks >= acknowledged, "{total:?}");
}

/// Taps made while the folder is stalled: more than three fold batches.
const STALLED_TAPS: usize = 3_200;
/// Tasks that make them.
const STALLED_TAPPERS: usize = 8;
/// Events the stream keeps once folded.
const KEPT: u64 = 100;

#[tokio::test]
async fn a_folder_stalled_for_thousands_of_taps_catches_up_at_a_read_and_trims_only_folded_events()
{
    let app = TestApp::builder()
        .redis()
        .stalled_folder()
        .config(|config| config.retention.events_max_len = KEPT)
        .seeded()
        .spawn()
        .await;

    let tappers = (0..STALLED_TAPPERS).map(|tapper| {
        let client = &app.client;
        async move {
            for i in (tapper..STALLED_TAPS).step_by(STALLED_TAPPERS) {
                client
                    .issue(new_tap(&i.to_string()))
                    .await
                    .expect("a tap while the folder is stalled");
            }
        }
    });
    join_all(tappers).await;
    let stalled = Backlog::of(app.redis()).await;
    let reading = std::time::Instant::now();
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    eprintln!("the read that caught up took {:?}", reading.elapsed());
    let caught_up = Backlog::of(app.redis()).await;

    assert_eq!(stalled.unfolded, STALLED_TAPS as u64);
    assert_eq!(stalled.checkpoint, None);
    assert_eq!(stalled.events.len(), STALLED_TAPS);
    let all = STALLED_TAPS as i64;
    assert_eq!((total.taps, total.clicks), (all, all), "{total:?}");
    assert_eq!(caught_up.unfolded, 0);
    assert_eq!(caught_up.events.len() as u64, KEPT);
    assert_eq!(caught_up.events.last(), caught_up.checkpoint.as_ref());
    assert_eq!(
        caught_up.events[..],
        stalled.events[STALLED_TAPS - KEPT as usize..]
    );
    assert_no_drift(&app, start_time().date_naive()).await;
}

/// The backlog past which taps are refused, in the tests of it.
const MAX_UNFOLDED: u64 = 5;

/// An app on a Redis of its own whose taps are refused past
/// [`MAX_UNFOLDED`] events not yet folded, whose viewers may tap twice a
/// minute, and whose stream keeps two folded events.
fn backlogged() -> TestAppBuilder {
    TestApp::builder().redis().config(|config| {
        config.max_unfolded_events = NonZeroU64::new(MAX_UNFOLDED).unwrap();
        config.policy.tap_rate_limit_per_minute = NonZeroU32::new(2).unwrap();
        config.retention.events_max_len = 2;
    })
}

#[tokio::test]
async fn past_max_unfolded_events_a_tap_is_refused_writing_nothing_while_sales_go_on() {
    let app = backlogged().stalled_folder().seeded().spawn().await;
    let mut tokens = Vec::new();
    for viewer in 0..MAX_UNFOLDED {
        let issued = app.issue(new_tap(&viewer.to_string())).await;
        tokens.push(issued.expect("a tap up to the backlog").token);
    }
    let full = Backlog::of(app.redis()).await;

    // viewer-0 has tapped once of the two taps a minute it may.
    for _ in 0..3 {
        let refused = app
            .issue(tap_on("viewer-0", "vid-refused"))
            .await
            .unwrap_err();
        assert_error(&refused, Code::Unavailable, "STORE_UNAVAILABLE");
    }
    let after_refusals = Backlog::of(app.redis()).await;
    let records = assert_no_drift(&app, start_time().date_naive()).await;
    app.clock.advance(TimeDelta::seconds(10));
    app.confirmed(&tokens[1], "order-1", 10_000, "DKK").await;
    let refund = app.refund("order-1", "refund-1", 4_000).await;
    let after_sales = Backlog::of(app.redis()).await;
    let refused_video = app.total(Dimension::Video, "vid-refused").await;
    let again = app.issue(tap_on("viewer-0", "vid-refused")).await;

    assert_eq!(full.unfolded, MAX_UNFOLDED);
    assert_eq!(after_refusals, full, "a refused tap writes no event");
    assert_eq!(records.clicks as u64, MAX_UNFOLDED, "no click record");
    assert!(refund.is_ok(), "{refund:?}");
    assert_eq!(after_sales.unfolded, MAX_UNFOLDED + 2);
    assert_eq!((refused_video.taps, refused_video.clicks), (0, 0));
    // Its second tap of the minute: the refused ones took none.
    assert!(again.is_ok(), "after a read folded: {again:?}");
    let total = app.total(Dimension::Merchant, MERCHANT).await;
    assert_eq!(
        (total.taps, total.clicks, total.conversions),
        (6, 6, 1),
        "{total:?}"
    );
    assert_eq!(total.refunded, [dkk(4_000)]);
    let report = assert_no_drift(&app, start_time().date_naive()).await;
    assert_eq!((report.clicks, report.sales, report.refunds), (6, 1, 1));
    assert_eq!(Backlog::of(app.redis()).await.events.len(), 2);
}

#[tokio::test]
async fn a_replica_whose_tap_a_backlog_refuses_folds_that_backlog_without_a_read() {
    let writer = backlogged().stalled_folder().seeded().spawn().await;
    for viewer in 0..MAX_UNFOLDED {
        let issued = writer.issue(new_tap(&viewer.to_string())).await;
        issued.expect("a tap up to the backlog");
    }
    // Another replica, its folder running, that wrote nothing yet.
    let other = writer.replica().spawn().await;

    let refused = other.issue(new_tap("late")).await.unwrap_err();
    assert_error(&refused, Code::Unavailable, "STORE_UNAVAILABLE");
    wait_for(
        "the refusing replica to fold the backlog",
        BOUND,
        || async { Backlog::of(writer.redis()).await.unfolded == 0 },
    )
    .await;
    let late = other.issue(new_tap("late")).await;

    assert!(late.is_ok(), "{late:?}");
}

/// A paying campaign of MERCHANT for the mixed batch: 10 %.
const PAYING: &str = "c-pay";

/// A tap by `viewer` on `creator`'s video `vid-<creator>` of `campaign`.
fn tap_of(viewer: &str, creator: &str, campaign: &str) -> IssueTokenRequest {
    IssueTokenRequest {
        creator_id: creator.into(),
        video_id: format!("vid-{creator}"),
        campaign_id: campaign.into(),
        ..tap(viewer)
    }
}

/// `amount_minor` in euros, the mixed batch's second currency.
fn eur(amount_minor: i64) -> Money {
    Money {
        currency_code: "EUR".into(),
        amount_minor,
    }
}

/// One of each kind of event, in one hour and the next: new clicks, repeat
/// taps (one in the next hour), a self-referral's flagged click and its
/// sale, sales with and without commission in DKK and EUR, one too fast
/// (flagged), a partial refund in the next hour, and a sale with its full
/// refund (its commission back to 0).
async fn mixed_batch(app: &TestApp) {
    app.paying_campaign(PAYING, 1_000, 30).await;
    let a = app.issue(tap_of("viewer-a", "cr-a", PAYING)).await.unwrap();
    app.issue(tap_of("viewer-a", "cr-a", PAYING)).await.unwrap();
    let b = app
        .issue(tap_of("viewer-b", "cr-b", CAMPAIGN))
        .await
        .unwrap();
    let own = app.issue(tap_of("cr-a", "cr-a", PAYING)).await.unwrap();
    let full = app
        .issue(tap_of("viewer-f", "cr-full", PAYING))
        .await
        .unwrap();
    app.clock.advance(TimeDelta::seconds(5));
    app.confirmed(&own.token, "o-own", 2_500, "EUR").await;
    app.clock
        .advance(TimeDelta::minutes(59) + TimeDelta::seconds(50));
    app.confirmed(&a.token, "o-a", 10_000, "DKK").await;
    app.confirmed(&b.token, "o-b", 3_333, "EUR").await;
    let late = app
        .issue(tap_of("viewer-l", "cr-b", CAMPAIGN))
        .await
        .unwrap();
    app.clock.advance(TimeDelta::seconds(10));
    app.issue(tap_of("viewer-l", "cr-b", CAMPAIGN))
        .await
        .unwrap();
    app.confirmed(&late.token, "o-late", 999, "DKK").await;
    app.confirmed(&full.token, "o-full", 7_777, "DKK").await;
    app.refund("o-full", "r-full", 7_777).await.unwrap();
    app.refund("o-a", "r-a", 4_000).await.unwrap();
    app.reverse("o-b", "r-b", eur(1_000)).await.unwrap();
}

#[tokio::test]
async fn a_fold_of_a_mixed_batch_counts_what_each_event_counts_alone() {
    let memory = TestApp::builder().seeded().spawn().await;
    let redis = TestApp::builder()
        .redis()
        .stalled_folder()
        .seeded()
        .spawn()
        .await;
    mixed_batch(&memory).await;
    mixed_batch(&redis).await;
    let batch = Backlog::of(redis.redis()).await;
    assert_eq!(batch.checkpoint, None, "nothing folded yet");
    assert_eq!(batch.unfolded as usize, batch.events.len());
    assert!(batch.events.len() < FOLD_BATCH, "one batch: {batch:?}");

    for (dimension, id) in [
        (Dimension::Merchant, MERCHANT),
        (Dimension::Campaign, CAMPAIGN),
        (Dimension::Campaign, PAYING),
        (Dimension::Creator, "cr-a"),
        (Dimension::Creator, "cr-b"),
        (Dimension::Creator, "cr-full"),
        (Dimension::Video, "vid-cr-a"),
        (Dimension::Video, "vid-cr-b"),
        (Dimension::Video, "vid-cr-full"),
        (Dimension::Product, "sku-1"),
    ] {
        for granularity in [Granularity::Hour, Granularity::Day] {
            assert_eq!(
                redis.counters_of(dimension, id, granularity).await,
                memory.counters_of(dimension, id, granularity).await,
                "{dimension:?} {id} by {granularity:?}"
            );
        }
    }
    for dimension in RANKED {
        for (metric, currency) in [
            (TopMetric::Clicks, ""),
            (TopMetric::Conversions, ""),
            (TopMetric::Revenue, "DKK"),
            (TopMetric::Revenue, "EUR"),
            (TopMetric::Commission, "DKK"),
            (TopMetric::Commission, "EUR"),
        ] {
            assert_eq!(
                redis.top_of_day(dimension, metric, currency, "").await,
                memory.top_of_day(dimension, metric, currency, "").await,
                "{dimension:?} by {metric:?} {currency}"
            );
        }
    }
    let full = redis.total(Dimension::Video, "vid-cr-full").await;
    assert_eq!(full.commission, [dkk(0)], "{full:?}");
    let merchant = redis.total(Dimension::Merchant, MERCHANT).await;
    assert_eq!(
        (merchant.taps, merchant.clicks, merchant.flagged_clicks),
        (7, 5, 1)
    );
    assert_no_drift(&redis, start_time().date_naive()).await;
}
