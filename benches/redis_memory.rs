//! Redis memory per stored click: `INFO memory` before and after recording
//! 100,000 clicks (dedup entries, click records, attributions, counters and
//! merchant index included) through the real store and scripts, on a
//! redis-server this bench starts on a free port.
//!
//! cargo bench --bench redis_memory

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cartclick::model::{Attribution, ClickRecord, NewClick};
use cartclick::store::Store;
use cartclick::store::redis::{RedisOptions, RedisStore};
use cartclick::token::ClickId;
use chrono::{TimeDelta, Utc};

const CLICKS: usize = 100_000;
const CONCURRENCY: usize = 64;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn used_memory(url: &str) -> i64 {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (apt-get install redis-server)"),
    );
    let url = format!("redis://127.0.0.1:{port}/0");
    let options = RedisOptions {
        timeout: Duration::from_secs(2),
        ..RedisOptions::default()
    };
    let store = loop {
        match RedisStore::open(&url, options.clone()).await {
            Ok(store) => break std::sync::Arc::new(store),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let before = used_memory(&url).await;
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
    let after = used_memory(&url).await;
    // The event stream is a bounded log for downstream consumers
    // (retention.events_max_len), not click storage: measure it apart.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("DEL")
        .arg("e:{merchant-1}")
        .query_async(&mut conn)
        .await
        .unwrap();
    let without_events = used_memory(&url).await;
    let per_click = (without_events - before) as f64 / CLICKS as f64;
    let per_event = (after - without_events) as f64 / CLICKS as f64;
    println!(
        "{{\"clicks\":{CLICKS},\"used_memory_before\":{before},\"used_memory_after\":{after},\"bytes_per_click\":{per_click:.1},\"event_stream_bytes_per_click\":{per_event:.1}}}"
    );
}
