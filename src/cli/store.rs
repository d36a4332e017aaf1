//! `events tail` and `reconcile`: operator commands that read the Redis
//! store directly (no server, no key): a merchant's event stream, and a
//! recount of its day against its counters (of a merchant the registry
//! knows: an unknown one exits 2, "merchant not found"), its progress on
//! stderr, a line a step.

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use crate::config::{Config, ServeArgs, StoreUrl};

/// `cartclick reconcile`: the store, and which merchant's day.
#[derive(Debug, clap::Args)]
pub(crate) struct ReconcileArgs {
    /// The store to read: redis://… or rediss://….
    #[arg(long, env = "CARTCLICK_STORE", value_name = "URL")]
    store: String,
    /// Optional config file, for store_timeout_ms and [retention].
    #[arg(long, env = "CARTCLICK_CONFIG", value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// The merchant to recount.
    #[arg(long)]
    merchant: String,
    /// The UTC day, YYYY-MM-DD.
    #[arg(long)]
    day: chrono::NaiveDate,
}

/// `cartclick events …`
#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// Print a merchant's events, oldest first; with --follow, keep printing new ones.
    Tail {
        /// The store: redis://… or rediss://….
        #[arg(long, env = "CARTCLICK_STORE", value_name = "URL")]
        store: String,
        /// The merchant whose stream to read.
        #[arg(long)]
        merchant: String,
        /// Start after this event id [default: the oldest kept].
        #[arg(long)]
        after: Option<String>,
        /// Print at most this many events (without --follow).
        #[arg(long, default_value_t = 100)]
        count: usize,
        /// Keep waiting for new events (Ctrl-C to stop).
        #[arg(long)]
        follow: bool,
    },
}

/// One event as one line.
fn event_line(event: &crate::model::Event) -> String {
    let kind = match event.kind {
        crate::model::EventKind::Click => "click",
        crate::model::EventKind::RepeatTap => "repeat_tap",
        crate::model::EventKind::Sale => "sale",
        crate::model::EventKind::Reversal => "reversal",
        crate::model::EventKind::Payout => "payout",
        crate::model::EventKind::CommissionReviewed => "reviewed",
    };
    let a = &event.attribution;
    let mut line = format!(
        "{} {} {kind:<10} click={} campaign={} creator={} video={} product={}",
        event.id,
        event
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        event.click_id,
        a.campaign_id,
        a.creator_id,
        a.video_id,
        a.product_id
    );
    if !event.order_id.is_empty() {
        line.push_str(&format!(" order={}", event.order_id));
    }
    if !event.reversal_id.is_empty() {
        line.push_str(&format!(" reversal={}", event.reversal_id));
    }
    if !event.payout_id.is_empty() {
        line.push_str(&format!(" payout={}", event.payout_id));
    }
    if let Some(amount) = &event.amount {
        line.push_str(&format!(
            " amount={} {}",
            amount.amount_minor, amount.currency
        ));
    }
    if let Some(commission) = &event.commission {
        line.push_str(&format!(
            " commission={} {}",
            commission.amount_minor, commission.currency
        ));
    }
    if !event.signals.is_empty() {
        let signals: Vec<&str> = event.signals.iter().map(|s| s.as_str()).collect();
        line.push_str(&format!(" signals={}", signals.join(",")));
    }
    if let Some(decision) = event.decision {
        line.push_str(match decision {
            crate::model::CommissionDecision::Release => " decision=release",
            crate::model::CommissionDecision::Void => " decision=void",
        });
    }
    line
}

/// Prints a merchant's events, oldest first, a page at a time; with
/// `follow`, waits for new ones forever.
pub(super) async fn events(command: EventsCommand) -> Result<(), String> {
    let EventsCommand::Tail {
        store,
        merchant,
        mut after,
        count,
        follow,
    } = command;
    let args = ServeArgs {
        config: None,
        store: Some(store),
        ..ServeArgs::default()
    };
    let config = Config::load(&args).map_err(|e| e.to_string())?;
    let store = open_redis(&config).await?;
    let mut left = count;
    loop {
        let page = if follow { 1000 } else { left.min(1000) };
        let events = crate::store::Counters::read_events(&store, &merchant, after.as_deref(), page)
            .await
            .map_err(|e| format!("events: {e}"))?;
        for event in &events {
            println!("{}", event_line(event));
        }
        if let Some(last) = events.last() {
            after = Some(last.id.clone());
        }
        if !follow {
            left -= events.len();
            if left == 0 || events.len() < page {
                return Ok(());
            }
        } else if events.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The Redis store (single node or cluster) a direct-read command names.
async fn open_redis(config: &Config) -> Result<crate::store::redis::RedisStore, String> {
    let options = crate::startup::redis_options(config);
    let opened = match &config.store {
        StoreUrl::Redis(url) => crate::store::redis::RedisStore::open(url, options).await,
        StoreUrl::RedisCluster(nodes) => {
            crate::store::redis::RedisStore::open_cluster(nodes, options).await
        }
        StoreUrl::Memory => {
            return Err(
                "this reads a redis store: pass --store redis://… or redis+cluster://…".into(),
            );
        }
    };
    opened.map_err(|e| e.to_string())
}

/// Recounts the day and prints the drift; the exit code says whether
/// there was any (0 none, 1 drift, 2 could not run).
pub(super) async fn reconcile(args: ReconcileArgs) -> ExitCode {
    let ReconcileArgs {
        store,
        config,
        merchant,
        day,
    } = args;
    let result = async {
        let args = ServeArgs {
            config,
            store: Some(store),
            ..ServeArgs::default()
        };
        let config = Config::load(&args).map_err(|e| e.to_string())?;
        let store = open_redis(&config).await?;
        // A typo must not read as "no drift": the merchant must exist.
        let known = crate::store::Registry::get_merchant(&store, &merchant)
            .await
            .map_err(|e| format!("reconcile: {e}"))?;
        if known.is_none() {
            return Err(format!("merchant not found: {merchant}"));
        }
        let started = std::time::Instant::now();
        let progress = |step: &str| {
            eprintln!(
                "reconcile: {step} ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        };
        crate::reconcile::reconcile_with(&store, &merchant, day, &progress)
            .await
            .map_err(|e| format!("reconcile: {e}"))
    }
    .await;
    match result {
        Ok(report) => {
            println!(
                "merchant {} day {}: {} click records, {} sale records, {} refund records; \
                 {} commissions, {} earnings ledgers",
                report.merchant_id,
                report.day,
                report.clicks,
                report.sales,
                report.refunds,
                report.commissions,
                report.ledgers
            );
            if report.drift.is_empty() {
                println!("no drift");
                ExitCode::SUCCESS
            } else {
                for line in &report.drift {
                    println!("drift: {line}");
                }
                ExitCode::from(1)
            }
        }
        Err(message) => {
            eprintln!("cartclick: {message}");
            ExitCode::from(2)
        }
    }
}
