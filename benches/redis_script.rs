//! Redis time and `redis.call()`s per script and per folded event: the
//! real `RedisStore` runs each script kind in its own phase (new clicks,
//! repeat taps, sales, refunds) on a redis-server this bench starts on a
//! free port, and after each one folds that phase's events into the
//! counters with a counter read, in a phase of its own; `CONFIG RESETSTAT`
//! before each phase. From `INFO commandstats` it prints the EVALSHA time
//! per script (or per event folded) and the commands each script ran
//! (commands run inside Lua are counted there too), and the two added up:
//! what a tap or a sale costs Redis with its share of the fold. The
//! background fold is stalled, so a write phase runs no fold script. All
//! of it at two shapes: the launch day of the memory bench, whose taps
//! share their counters (100 creators and videos), and a long tail, every
//! tap another creator and video. Redis time per call barely depends on
//! load from other processes, unlike wall-clock rates.
//!
//! cargo bench --bench redis_script

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use cartclick::model::{
    BucketRange, CommissionState, CreatorId, Dimension, Granularity, LedgerMove, MerchantId, Money,
    NewClick, NewReversal, NewSale, OrderId, RefundPlan, Retention, ReversalId, VideoId,
};
use cartclick::store::redis::{RedisOptions, RedisStore};
use cartclick::store::{Counters, Ledger};
use cartclick::token::ClickId;
use chrono::{DateTime, Utc};
use redis::aio::MultiplexedConnection;
use support::MERCHANT;

/// Scripts run per phase.
const N: usize = 20_000;
/// Clicks recorded before the first phase: every cart of the launch-day shape,
/// so index entries and counter keys exist as in a running service, and
/// more events than the stream keeps.
const WARM_UP: usize = 12_000;
/// Events kept per stream (`retention.events_max_len`).
const EVENTS_KEPT: u64 = 10_000;
/// Rounds of every phase: the least time of them is reported.
const ROUNDS: usize = 3;
/// Calls in flight.
const CONCURRENCY: usize = 16;
/// The merchant's fold state (`z:{m}`): `n` its events not yet folded.
const FOLD_STATE: &str = "z:{merchant-1}";

/// Whose taps a round records.
#[derive(Clone, Copy)]
enum Shape {
    /// [`support::launch_day_click`]: 100 creators and videos, 10
    /// products, so a fold batch's events share most counter keys.
    LaunchDay,
    /// Every tap another creator and video: a fold sums nothing across
    /// taps but the merchant's, campaign's and products' counters.
    Spread,
}

impl Shape {
    const ALL: [Shape; 2] = [Shape::LaunchDay, Shape::Spread];

    fn title(self) -> &'static str {
        match self {
            Shape::LaunchDay => "launch day: 1 campaign, 100 creators and videos, 10 products",
            Shape::Spread => "spread: every tap another creator and video, 10 products",
        }
    }

    /// The `i`th tap of round `round`.
    fn click(self, round: usize, i: usize, now: DateTime<Utc>) -> NewClick {
        let mut click = support::launch_day_click(i, now);
        if let Shape::Spread = self {
            let n = round * N + i;
            let attribution = &mut click.record.attribution;
            attribution.creator_id = CreatorId::stored(format!("spread-creator-{n}"));
            attribution.video_id = VideoId::stored(format!("spread-video-{n}"));
        }
        click
    }

    /// Order ids of this shape's sales: `<shape>-<round>-<i>`.
    fn order(self, round: usize, i: usize) -> String {
        let shape = match self {
            Shape::LaunchDay => "launch",
            Shape::Spread => "spread",
        };
        format!("order-{shape}-{round}-{i}")
    }
}

/// A sale of 125.00 DKK on `click`, a minute after it (not too fast).
fn sale(click: &NewClick, order_id: &str, now: DateTime<Utc>) -> NewSale {
    NewSale {
        merchant_id: MerchantId::stored(MERCHANT),
        order_id: OrderId::stored(order_id),
        click_id: click.record.click_id,
        click_expires_at: click.record.expires_at,
        amount: Money {
            currency: "DKK".into(),
            amount_minor: 12_500,
        },
        now: now + chrono::TimeDelta::minutes(1),
        token_expired: false,
        fraud: support::fraud_rules(),
    }
}

/// A refund of 25.00 DKK of `order_id` (a sale of [`sale`]), its first.
fn refund(order_id: &str, now: DateTime<Utc>) -> NewReversal {
    NewReversal {
        merchant_id: MerchantId::stored(MERCHANT),
        order_id: OrderId::stored(order_id),
        reversal_id: ReversalId::stored(format!("refund-of-{order_id}")),
        amount: Money {
            currency: "DKK".into(),
            amount_minor: 2_500,
        },
        now: now + chrono::TimeDelta::minutes(2),
        // The plan the domain makes from the store's quote: the
        // sale of 12,500 earned 1,250; 10,000 of it remains.
        plan: Some(RefundPlan {
            refunded_before: 0,
            state_before: CommissionState::Unpaid,
            commission_after: 1_000,
            state_after: CommissionState::Unpaid,
            taken: 250,
            ledger: LedgerMove {
                unpaid: -250,
                ..LedgerMove::default()
            },
        }),
    }
}

/// Runs `call(i)` for `i` in `0..n`, `CONCURRENCY` at a time.
async fn run<F, Fut>(n: usize, call: F)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..CONCURRENCY {
        let call = call.clone();
        tasks.spawn(async move {
            for i in (worker..n).step_by(CONCURRENCY) {
                call(i).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

/// One command's line of `INFO commandstats`: calls, µs in all and per call.
struct Stat {
    calls: u64,
    usec: u64,
    usec_per_call: f64,
}

async fn command_stats(conn: &mut MultiplexedConnection) -> BTreeMap<String, Stat> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    let mut stats = BTreeMap::new();
    for line in info.lines() {
        // cmdstat_hincrby:calls=10,usec=12,usec_per_call=1.20,...
        let Some((name, fields)) = line
            .strip_prefix("cmdstat_")
            .and_then(|l| l.split_once(':'))
        else {
            continue;
        };
        let field = |key: &str| {
            fields
                .split(',')
                .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("0")
                .to_owned()
        };
        stats.insert(
            name.to_owned(),
            Stat {
                calls: field("calls").parse().unwrap(),
                usec: field("usec").parse().unwrap(),
                usec_per_call: field("usec_per_call").parse().unwrap(),
            },
        );
    }
    stats
}

/// What one phase measured, per unit: a script run, or an event folded.
struct Phase {
    /// Scripts run, or events folded.
    units: u64,
    /// EVALSHA calls (for a fold, runs of `fold.lua`).
    scripts: u64,
    /// Redis's own time in EVALSHA per unit, µs.
    usec: f64,
    /// redis-server CPU time (user + system) per unit, µs: network and
    /// parsing included, and unlike a wall-clock figure it does not grow
    /// when other processes take the core away mid-script.
    cpu: f64,
    /// Commands, and each one's µs per call.
    commands: BTreeMap<String, Stat>,
}

/// CPU time redis-server has used, µs.
fn cpu_us(pid: u32, ticks_per_second: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after "pid (comm) ": state is the 3rd field, utime the 14th.
    let rest: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    let ticks: f64 = rest[11].parse::<f64>().unwrap() + rest[12].parse::<f64>().unwrap();
    ticks * 1e6 / ticks_per_second
}

/// Resets the stats, runs `work` and reads what it cost, per unit: per
/// EVALSHA, or per one of `units` when given. `own` are the commands of
/// this bench's own, not the scripts'.
async fn measure(
    server: &support::Server,
    conn: &mut MultiplexedConnection,
    work: impl Future<Output = ()>,
    units: Option<u64>,
    own: &[&str],
) -> Phase {
    let ticks: f64 = String::from_utf8(
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(conn)
        .await
        .unwrap();
    let cpu_before = cpu_us(server.child.id(), ticks);
    work.await;
    let cpu = cpu_us(server.child.id(), ticks) - cpu_before;
    let mut commands = command_stats(conn).await;
    for command in ["config|resetstat", "info"].iter().chain(own) {
        commands.remove(*command);
    }
    let scripts = commands.remove("evalsha").expect("scripts ran");
    let units = units.unwrap_or(scripts.calls);
    Phase {
        units,
        scripts: scripts.calls,
        usec: scripts.usec as f64 / units as f64,
        cpu: cpu / units as f64,
        commands,
    }
}

/// Runs `N` calls of a script.
async fn writes<F, Fut>(
    server: &support::Server,
    conn: &mut MultiplexedConnection,
    call: F,
) -> Phase
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    measure(server, conn, run(N, call), None, &[]).await
}

/// The merchant's events not yet folded.
async fn backlog(conn: &mut MultiplexedConnection) -> u64 {
    let n: Option<u64> = redis::cmd("HGET")
        .arg(FOLD_STATE)
        .arg("n")
        .query_async(conn)
        .await
        .unwrap();
    n.unwrap_or(0)
}

/// Folds the merchant's backlog as a counter read does (it folds until
/// caught up before it reads), and reads what that cost per event.
async fn fold(
    server: &support::Server,
    conn: &mut MultiplexedConnection,
    store: &RedisStore,
    now: DateTime<Utc>,
) -> Phase {
    let events = backlog(conn).await;
    let read = async {
        let range = BucketRange {
            granularity: Granularity::Hour,
            first: Granularity::Hour.bucket_start(now),
            count: 1,
        };
        store
            .read_counters(Dimension::Merchant, MERCHANT, range, None)
            .await
            .unwrap();
    };
    // The read's own: the merchant's shard tags and its one bucket.
    let folded = measure(server, conn, read, Some(events), &["smembers", "hgetall"]).await;
    assert_eq!(backlog(conn).await, 0, "the read folded every event");
    folded
}

/// A write phase and the fold of its events.
struct Step {
    write: Phase,
    fold: Phase,
}

/// A write phase and the fold of its events after it: each of its `N`
/// calls wrote one, and none was folded before (the background fold is
/// stalled).
async fn step(
    write: Phase,
    server: &support::Server,
    conn: &mut MultiplexedConnection,
    store: &RedisStore,
    now: DateTime<Utc>,
) -> Step {
    let fold = fold(server, conn, store, now).await;
    assert_eq!(fold.units, N as u64, "one event a call, none folded yet");
    Step { write, fold }
}

/// Least, median and every value, one decimal each.
fn summary(values: impl Iterator<Item = f64>) -> (f64, f64, String) {
    let mut values: Vec<f64> = values.collect();
    let all: Vec<String> = values.iter().map(|v| format!("{v:.1}")).collect();
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    let median = if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    };
    (values[0], median, all.join(" "))
}

/// Prints a phase's rounds: the least time of any round (the one least
/// disturbed by other load), the median, and the commands per unit.
fn report(name: &str, unit: &str, rounds: &[&Phase]) {
    let last = rounds.last().expect("a round");
    let per_unit = |calls: u64| calls as f64 / last.units as f64;
    let total: u64 = last.commands.values().map(|s| s.calls).sum();
    let breakdown: Vec<String> = last
        .commands
        .iter()
        .map(|(command, stat)| {
            format!(
                "{command} {:.2} ({:.2} µs)",
                per_unit(stat.calls),
                stat.usec_per_call
            )
        })
        .collect();
    let (least, median, all) = summary(rounds.iter().map(|r| r.usec));
    let (cpu, _, _) = summary(rounds.iter().map(|r| r.cpu));
    let runs = if last.units == last.scripts {
        String::new()
    } else {
        format!(" in {} runs", last.scripts)
    };
    println!(
        "{name}: {least:.1} µs {unit} (least of {} rounds of {}{runs}: {all}; median {median:.1}), redis-server CPU {cpu:.1} µs {unit}, {:.2} calls {unit}: {}",
        rounds.len(),
        last.units,
        per_unit(total),
        breakdown.join(", ")
    );
}

/// Prints a write phase, the fold of its events, and the two added up
/// round by round: what a `what` costs Redis with its share of the fold.
fn report_step(name: &str, what: &str, steps: &[Step]) {
    report(
        name,
        "a script",
        &steps.iter().map(|s| &s.write).collect::<Vec<_>>(),
    );
    report(
        "  its events folded",
        "an event",
        &steps.iter().map(|s| &s.fold).collect::<Vec<_>>(),
    );
    let (least, median, all) = summary(steps.iter().map(|s| s.write.usec + s.fold.usec));
    let (cpu, cpu_median, _) = summary(steps.iter().map(|s| s.write.cpu + s.fold.cpu));
    println!(
        "  {what} with its fold: {least:.1} µs (least of the rounds' sums: {all}; median {median:.1}), redis-server CPU {cpu:.1} µs (median {cpu_median:.1})"
    );
}

/// One round at `shape`: new clicks, repeat taps of them, sales of them and
/// refunds of the sales, each folded after it.
async fn round(
    server: &support::Server,
    conn: &mut MultiplexedConnection,
    store: &Arc<RedisStore>,
    shape: Shape,
    round: usize,
    now: DateTime<Utc>,
) -> [Step; 4] {
    let clicks: Arc<Vec<NewClick>> = Arc::new((0..N).map(|i| shape.click(round, i, now)).collect());

    let (s, c) = (store.clone(), clicks.clone());
    let write = writes(server, conn, move |i| {
        let (s, c) = (s.clone(), c.clone());
        async move {
            s.record_click(&c[i]).await.unwrap();
        }
    })
    .await;
    let new = step(write, server, conn, store, now).await;

    let (s, c) = (store.clone(), clicks.clone());
    let write = writes(server, conn, move |i| {
        let (s, c) = (s.clone(), c.clone());
        async move {
            let mut repeat = c[i].clone();
            repeat.record.click_id = ClickId::random();
            s.record_click(&repeat).await.unwrap();
        }
    })
    .await;
    let repeat = step(write, server, conn, store, now).await;

    let (s, c) = (store.clone(), clicks.clone());
    let write = writes(server, conn, move |i| {
        let (s, c) = (s.clone(), c.clone());
        async move {
            s.confirm_sale(&sale(&c[i], &shape.order(round, i), now))
                .await
                .unwrap();
        }
    })
    .await;
    let sold = step(write, server, conn, store, now).await;

    let s = store.clone();
    let write = writes(server, conn, move |i| {
        let s = s.clone();
        async move {
            s.reverse_sale(&refund(&shape.order(round, i), now))
                .await
                .unwrap();
        }
    })
    .await;
    let refunded = step(write, server, conn, store, now).await;
    [new, repeat, sold, refunded]
}

#[tokio::main]
async fn main() {
    let server = support::Server::start();
    let store: Arc<RedisStore> = server
        .store(RedisOptions {
            // No background fold: a write phase runs its own scripts only,
            // and each phase's events wait for the fold phase after it.
            fold_every: Duration::from_secs(3600),
            fold_soon: u32::MAX,
            // Above any backlog: the warm-up's, or one phase's.
            max_unfolded_events: (WARM_UP + N) as u64,
            // A fold phase's one counter read folds a phase's 20,000
            // events, within the store timeout.
            timeout: Duration::from_secs(60),
            ..support::options(Retention {
                events_max_len: EVENTS_KEPT,
                ..Retention::default()
            })
        })
        .await;
    let mut conn = server.connection().await;
    // One instant for every call: the same buckets whenever the bench runs.
    let now = Utc::now();

    // Every launch-day cart and counter key, and a stream that is already
    // full, as a busy merchant's is: each fold trims as many as it folded.
    let warm: Vec<NewClick> = (0..WARM_UP)
        .map(|i| support::launch_day_click(i, now))
        .collect();
    for new in &warm {
        store.record_click(new).await.unwrap();
    }
    store
        .confirm_sale(&sale(&warm[0], "warm-up", now))
        .await
        .unwrap();
    fold(&server, &mut conn, &store, now).await;

    let names = [
        ("record_click, new click", "a new click"),
        ("record_click, repeat tap", "a repeat tap"),
        ("confirm_sale", "a sale"),
        ("reverse_sale", "a refund"),
    ];
    for shape in Shape::ALL {
        let mut steps: [Vec<Step>; 4] = Default::default();
        for r in 0..ROUNDS {
            let measured = round(&server, &mut conn, &store, shape, r, now).await;
            for (kind, step) in measured.into_iter().enumerate() {
                steps[kind].push(step);
            }
        }
        println!("{}", shape.title());
        for ((name, what), steps) in names.iter().zip(&steps) {
            report_step(name, what, steps);
        }
    }
}
