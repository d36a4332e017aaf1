//! Redis memory per stored click: `INFO memory` before and after recording
//! 100,000 clicks (dedup entries, click records, attributions, counters and
//! merchant index included) through the real store and scripts, on a
//! redis-server this bench starts on a free port.
//!
//! cargo bench --bench redis_memory

mod support;

use cartclick::model::Retention;
use cartclick::store::Ledger;
use chrono::Utc;

const CLICKS: usize = 100_000;
const CONCURRENCY: usize = 64;

async fn used_memory(server: &support::Server) -> i64 {
    let mut conn = server.connection().await;
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[tokio::main]
async fn main() {
    let server = support::Server::start();
    let store = server.store(support::options(Retention::default())).await;
    let before = used_memory(&server).await;
    let now = Utc::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..CONCURRENCY {
        let store = store.clone();
        tasks.spawn(async move {
            for i in (worker..CLICKS).step_by(CONCURRENCY) {
                let click = support::launch_day_click(i, now);
                store.record_click(&click).await.expect("click recorded");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let after = used_memory(&server).await;
    // The event stream is a bounded log for downstream consumers
    // (retention.events_max_len), not click storage: measure it apart.
    let mut conn = server.connection().await;
    let _: i64 = redis::cmd("DEL")
        .arg(format!("e:{{{}}}", support::MERCHANT))
        .query_async(&mut conn)
        .await
        .unwrap();
    let without_events = used_memory(&server).await;
    let per_click = (without_events - before) as f64 / CLICKS as f64;
    let per_event = (after - without_events) as f64 / CLICKS as f64;
    println!(
        "{{\"clicks\":{CLICKS},\"used_memory_before\":{before},\"used_memory_after\":{after},\"bytes_per_click\":{per_click:.1},\"event_stream_bytes_per_click\":{per_event:.1}}}"
    );
}
