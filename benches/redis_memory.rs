//! Redis memory per stored click: `INFO memory` before and after recording
//! 100,000 clicks (dedup entries, click records, attributions, counters and
//! merchant index included) through the real store and scripts, on a
//! redis-server this bench starts on a free port.
//!
//! cargo bench --bench redis_memory

mod support;

use cartclick::model::{Attribution, ClickRecord, NewClick, Retention};
use cartclick::store::Store;
use cartclick::token::ClickId;
use chrono::{TimeDelta, Utc};
use std::time::Duration;

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
    let store = server.store(Retention::default()).await;
    let before = used_memory(&server).await;
    let now = Utc::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..CONCURRENCY {
        let store = store.clone();
        tasks.spawn(async move {
            for i in (worker..CLICKS).step_by(CONCURRENCY) {
                // A launch-day shape: one merchant and campaign, 100 videos and
                // creators, 10 products, every tap from a different viewer.
                let click = NewClick {
                    record: ClickRecord {
                        click_id: ClickId::random(),
                        attribution: Attribution {
                            merchant_id: "merchant-1".into(),
                            campaign_id: "campaign-1".into(),
                            creator_id: format!("creator-{}", i % 100),
                            video_id: format!("video-{}", i % 100),
                            product_id: format!("sku-{}", i % 10),
                        },
                        viewer_hash: Some(rand::random()),
                        clicked_at: now,
                        expires_at: now + TimeDelta::days(7),
                    },
                    kid: "k1".into(),
                    dedup_key: rand::random(),
                    dedup_window: Duration::from_secs(1800),
                    taps_per_minute: 60,
                };
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
        .arg("e:{merchant-1}")
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
