//! What the Redis benches share: a `redis-server` of their own on a free
//! loopback port, killed on drop, a `RedisStore` on it, and the shape of
//! the taps they record.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use cartclick::model::{
    Attribution, CampaignId, ClickRecord, CommissionTerms, CreatorId, FraudRules, MerchantId,
    NewClick, ProductId, Retention, Signals, TapFraud, VideoId,
};
use cartclick::store::redis::{RedisOptions, RedisStore};
use cartclick::token::ClickId;
use chrono::{DateTime, TimeDelta, Utc};

/// A redis-server this process started; killed on drop.
pub struct Server {
    /// The redis-server process (its id, for its CPU time).
    pub child: Child,
    /// `redis://127.0.0.1:<port>/0`.
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `redis-server` (defaults but for no persistence) on a free port.
    pub fn start() -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
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
            .expect("redis-server on PATH (apt-get install redis-server)");
        Server {
            child,
            url: format!("redis://127.0.0.1:{port}/0"),
        }
    }

    /// The real store on this server, once it answers.
    pub async fn store(&self, options: RedisOptions) -> Arc<RedisStore> {
        loop {
            match RedisStore::open(&self.url, options.clone()).await {
                Ok(store) => break Arc::new(store),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// A plain connection, for INFO and CONFIG.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

/// The options the benches open their store with: a timeout that calls
/// queued 16 deep behind each other stay well within.
pub fn options(retention: Retention) -> RedisOptions {
    RedisOptions {
        timeout: Duration::from_secs(2),
        retention,
        ..RedisOptions::default()
    }
}

/// The merchant of [`launch_day_click`].
pub const MERCHANT: &str = "merchant-1";

/// The `i`th tap of a launch day: one merchant ([`MERCHANT`]) and campaign,
/// 100 videos and creators, 10 products, every tap from a different viewer.
pub fn launch_day_click(i: usize, now: DateTime<Utc>) -> NewClick {
    NewClick {
        record: ClickRecord {
            click_id: ClickId::random(),
            attribution: Attribution {
                merchant_id: MerchantId::stored(MERCHANT),
                campaign_id: CampaignId::stored("campaign-1"),
                creator_id: CreatorId::stored(format!("creator-{}", i % 100)),
                video_id: VideoId::stored(format!("video-{}", i % 100)),
                product_id: ProductId::stored(format!("sku-{}", i % 10)),
            },
            // A campaign that pays 10 % after 30 days: every sale writes its
            // commission, as a launch day's would.
            terms: CommissionTerms {
                rate_bps: 1_000,
                holding_period: Duration::from_secs(30 * 86_400),
            },
            viewer_hash: Some(rand::random()),
            clicked_at: now,
            expires_at: now + TimeDelta::days(7),
            signals: Signals::NONE,
        },
        kid: "k1".into(),
        dedup_key: rand::random(),
        dedup_window: Duration::from_secs(1800),
        tap_limit: 60,
        tap_window: Duration::from_secs(60),
        fraud: fraud_rules().map(|rules| TapFraud {
            rules,
            self_referral: false,
        }),
    }
}

/// The fraud rules the benches run with: on, unless `CARTCLICK_BENCH_FRAUD=off`
/// (to measure what signals cost). The bench packs a launch day's taps into
/// one instant, so no creator's taps may flood: the counts are kept and
/// checked on every tap as in production, and no click is flagged.
pub fn fraud_rules() -> Option<FraudRules> {
    if std::env::var("CARTCLICK_BENCH_FRAUD").as_deref() == Ok("off") {
        return None;
    }
    Some(FraudRules {
        max_creator_taps_per_minute: std::num::NonZeroU32::MAX,
        ..FraudRules::default()
    })
}
