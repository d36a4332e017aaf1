//! Redis time and `redis.call()`s per script: the real `RedisStore` runs
//! each script kind in its own phase (new clicks, repeat taps, sales,
//! refunds) on a redis-server this bench starts on a free port, with
//! `CONFIG RESETSTAT` before each phase, and prints from `INFO
//! commandstats` the EVALSHA time per call and the commands each script ran
//! (commands run inside Lua are counted there too). Redis time per call
//! barely depends on load from other processes, unlike wall-clock rates.
//!
//! cargo bench --bench redis_script

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use cartclick::model::{
    CommissionState, LedgerMove, MerchantId, Money, NewClick, NewReversal, NewSale, OrderId,
    RefundPlan, Retention, ReversalId,
};
use cartclick::store::Ledger;
use cartclick::store::redis::RedisStore;
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

/// One command's line of `INFO commandstats`: calls and µs per call.
struct Stat {
    calls: u64,
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
                usec_per_call: field("usec_per_call").parse().unwrap(),
            },
        );
    }
    stats
}

/// What one phase measured.
struct Phase {
    /// Scripts run (EVALSHA calls).
    scripts: u64,
    /// Redis's own time per EVALSHA, µs.
    usec_per_call: f64,
    /// redis-server CPU time (user + system) per script, µs: network and
    /// parsing included, and unlike a wall-clock figure it does not grow
    /// when other processes take the core away mid-script.
    cpu_per_script: f64,
    /// Commands per script, and each one's µs per call.
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

/// Resets the stats, runs `N` calls and reads what they cost.
async fn phase<F, Fut>(server: &support::Server, conn: &mut MultiplexedConnection, call: F) -> Phase
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
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
    run(N, call).await;
    let cpu = cpu_us(server.child.id(), ticks) - cpu_before;
    let mut commands = command_stats(conn).await;
    // This bench's own CONFIG and INFO are not the scripts'.
    commands.remove("config|resetstat");
    commands.remove("info");
    let scripts = commands.remove("evalsha").expect("scripts ran");
    Phase {
        scripts: scripts.calls,
        usec_per_call: scripts.usec_per_call,
        cpu_per_script: cpu / scripts.calls as f64,
        commands,
    }
}

/// Prints a phase's rounds: the least time of any round (the one least
/// disturbed by other load) and the commands per script.
fn report(name: &str, rounds: &[Phase]) {
    let least = |f: fn(&Phase) -> f64| rounds.iter().map(f).fold(f64::INFINITY, f64::min);
    let last = rounds.last().expect("a round");
    let per_script = |calls: u64| calls as f64 / last.scripts as f64;
    let total: u64 = last.commands.values().map(|s| s.calls).sum();
    let breakdown: Vec<String> = last
        .commands
        .iter()
        .map(|(command, stat)| {
            format!(
                "{command} {:.2} ({:.2} µs)",
                per_script(stat.calls),
                stat.usec_per_call
            )
        })
        .collect();
    let all: Vec<String> = rounds
        .iter()
        .map(|r| format!("{:.1}", r.usec_per_call))
        .collect();
    println!(
        "{name}: {:.1} µs a script (least of {} rounds of {}: {}), redis-server CPU {:.1} µs a script, {:.2} calls a script: {}",
        least(|r| r.usec_per_call),
        rounds.len(),
        last.scripts,
        all.join(" "),
        least(|r| r.cpu_per_script),
        per_script(total),
        breakdown.join(", ")
    );
}

#[tokio::main]
async fn main() {
    let server = support::Server::start();
    // A stream that is already full, as a busy merchant's is: every event
    // trims one (exact trimming, `MAXLEN =`), in every round alike.
    let store: Arc<RedisStore> = server
        .store(Retention {
            events_max_len: EVENTS_KEPT,
            ..Retention::default()
        })
        .await;
    let mut conn = server.connection().await;
    // One instant for every call: the same buckets whenever the bench runs.
    let now = Utc::now();

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

    let names = [
        "record_click, new click",
        "record_click, repeat tap",
        "confirm_sale",
        "reverse_sale",
    ];
    let mut rounds: [Vec<Phase>; 4] = Default::default();
    for round in 0..ROUNDS {
        let clicks: Arc<Vec<NewClick>> =
            Arc::new((0..N).map(|i| support::launch_day_click(i, now)).collect());

        let (s, c) = (store.clone(), clicks.clone());
        let measured = phase(&server, &mut conn, move |i| {
            let (s, c) = (s.clone(), c.clone());
            async move {
                s.record_click(&c[i]).await.unwrap();
            }
        })
        .await;
        rounds[0].push(measured);

        let (s, c) = (store.clone(), clicks.clone());
        let measured = phase(&server, &mut conn, move |i| {
            let (s, c) = (s.clone(), c.clone());
            async move {
                let mut repeat = c[i].clone();
                repeat.record.click_id = ClickId::random();
                s.record_click(&repeat).await.unwrap();
            }
        })
        .await;
        rounds[1].push(measured);

        let (s, c) = (store.clone(), clicks.clone());
        let measured = phase(&server, &mut conn, move |i| {
            let (s, c) = (s.clone(), c.clone());
            async move {
                s.confirm_sale(&sale(&c[i], &format!("order-{round}-{i}"), now))
                    .await
                    .unwrap();
            }
        })
        .await;
        rounds[2].push(measured);

        let s = store.clone();
        let measured = phase(&server, &mut conn, move |i| {
            let s = s.clone();
            async move {
                s.reverse_sale(&NewReversal {
                    merchant_id: MerchantId::stored(MERCHANT),
                    order_id: OrderId::stored(format!("order-{round}-{i}")),
                    reversal_id: ReversalId::stored(format!("refund-{round}-{i}")),
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
                })
                .await
                .unwrap();
            }
        })
        .await;
        rounds[3].push(measured);
    }
    for (name, phases) in names.iter().zip(&rounds) {
        report(name, phases);
    }
}
