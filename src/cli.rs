//! The binary's commands: `serve` runs the service; `issue`, `confirm`,
//! `counters`, `top`, `events` and `admin` are small gRPC clients for
//! trying it and for operators; `reconcile` recounts a merchant's day
//! against its counters; `bench` is the load generator.

use std::process::ExitCode;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::auth::secret_sha256;
use crate::config::{Config, ServeArgs, StoreUrl};
use crate::domain::CampaignSpec;
use crate::model::{ApiKey, CampaignId, Grant, KeyId, MerchantId, Role};
use crate::model::{DEFAULT_ATTRIBUTION_WINDOW, Merchant, ReviewDecision};
use crate::proto;
use crate::startup::Application;
use crate::telemetry::LogFormat;

/// cartclick: tap-to-sale attribution for shoppable short videos.
#[derive(Debug, Parser)]
#[command(name = "cartclick", version, about)]
pub struct Cli {
    /// Log lines as text or JSON (filter with RUST_LOG).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true, env = "CARTCLICK_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC service.
    Serve {
        /// Where and how to run.
        #[command(flatten)]
        args: ServeArgs,
        /// Quick start: seed a demo merchant, an approved demo campaign and
        /// API keys for every role, and print them (memory store only).
        #[arg(long)]
        dev: bool,
    },
    /// Report a tap (ClickService.IssueToken) and print the token and redirect URL.
    Issue {
        /// Server and key.
        #[command(flatten)]
        client: ClientArgs,
        /// The campaign of the cart.
        #[arg(long)]
        campaign: String,
        /// The product in the cart.
        #[arg(long)]
        product: String,
        /// The video tapped on.
        #[arg(long)]
        video: String,
        /// The video's creator.
        #[arg(long)]
        creator: String,
        /// The viewer (hashed by the server, never stored as given).
        #[arg(long)]
        viewer: String,
        /// The merchant landing page (https on a registered domain).
        #[arg(long)]
        landing_url: String,
        /// The viewer's age bracket.
        #[arg(long, value_enum, default_value_t = Age::Adult)]
        age: Age,
    },
    /// Attribute a sale to a token (SaleService.ConfirmSale).
    Confirm {
        /// Server and key (a merchant key).
        #[command(flatten)]
        client: ClientArgs,
        /// The token from the landing URL.
        #[arg(long)]
        token: String,
        /// The shop's order id (idempotency key).
        #[arg(long)]
        order: String,
        /// Amount in minor units (øre, cents): 12500 is 125.00.
        #[arg(long)]
        amount_minor: i64,
        /// ISO 4217 currency code.
        #[arg(long)]
        currency: String,
    },
    /// Recount a merchant's UTC day from the stored click and sale records
    /// and print any drift from the counters. Exits 0 when they agree, 1 on
    /// drift, 2 when it could not run. Reads the store directly; records
    /// are kept through the day after a click, so recount today or yesterday.
    Reconcile {
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
    },
    /// Show a top list (CounterService.ListTop) as a table.
    Top {
        /// Server and key (a dashboard, merchant or admin key).
        #[command(flatten)]
        client: ClientArgs,
        /// What to rank: campaign, creator, video or product.
        #[arg(long, value_enum)]
        dimension: DimensionArg,
        /// The UTC day, YYYY-MM-DD [default: today].
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
        /// Rank by clicks, conversions or revenue.
        #[arg(long, value_enum, default_value_t = MetricArg::Clicks)]
        metric: MetricArg,
        /// The currency, for --metric revenue.
        #[arg(long)]
        currency: Option<String>,
        /// How many entries, 1 to 100.
        #[arg(long, default_value_t = 10)]
        limit: i32,
        /// Rank within one merchant only.
        #[arg(long)]
        merchant: Option<String>,
    },
    /// The event stream of a merchant: every click, repeat tap, sale and
    /// reversal, as counted. Reads the store directly.
    Events {
        /// What to do with it.
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Load-test a running server: N streams over M connections, a warm-up,
    /// then a measured duration; prints a table and a JSON summary line.
    Bench(crate::loadgen::BenchArgs),
    /// Operator commands over gRPC (AdminService); need an admin key.
    Admin {
        /// Server and key (an admin key).
        #[command(flatten)]
        client: ClientArgs,
        /// What to manage.
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Read counters (CounterService.GetCounters).
    Counters {
        /// Server and key (a dashboard, merchant or admin key).
        #[command(flatten)]
        client: ClientArgs,
        /// The dimension of the id.
        #[arg(long, value_enum)]
        dimension: DimensionArg,
        /// The merchant, campaign, creator, video or product id.
        #[arg(long)]
        id: String,
        /// Bucket width.
        #[arg(long, value_enum, default_value_t = GranularityArg::Hour)]
        granularity: GranularityArg,
        /// Start of the range, RFC 3339 [default: 24 hours ago].
        #[arg(long)]
        from: Option<DateTime<Utc>>,
        /// End of the range, RFC 3339, exclusive [default: now].
        #[arg(long)]
        to: Option<DateTime<Utc>>,
    },
}

/// `cartclick events …`
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
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

/// A top list metric on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MetricArg {
    /// New clicks.
    Clicks,
    /// Confirmed sales.
    Conversions,
    /// Revenue in --currency.
    Revenue,
}

/// What `cartclick admin` manages.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Merchants: webshops and their registered domains.
    Merchant {
        /// put or get.
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// Campaigns and their review.
    Campaign {
        /// put, get or review.
        #[command(subcommand)]
        command: CampaignCommand,
    },
    /// API keys.
    Key {
        /// create or revoke.
        #[command(subcommand)]
        command: KeyCommand,
    },
}

/// `cartclick admin merchant …`
#[derive(Debug, Subcommand)]
pub enum MerchantCommand {
    /// Create or replace a merchant.
    Put {
        /// The merchant's id.
        #[arg(long)]
        id: String,
        /// Name shown on dashboards.
        #[arg(long, default_value = "")]
        name: String,
        /// A registered domain (repeat for more); subdomains are allowed too.
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
        /// The query parameter that carries the token [default: cc].
        #[arg(long, default_value = "")]
        token_param: String,
    },
    /// Show a merchant.
    Get {
        /// The merchant's id.
        #[arg(long)]
        id: String,
    },
}

/// `cartclick admin campaign …`
#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Create or update a campaign (new or changed campaigns wait for review).
    Put {
        /// The campaign's id.
        #[arg(long)]
        id: String,
        /// The merchant that pays for it.
        #[arg(long)]
        merchant: String,
        /// The product category.
        #[arg(long)]
        category: String,
        /// Attribution window in hours, 1 to 720 [default: 168, 7 days].
        #[arg(long)]
        window_hours: Option<u32>,
        /// A product in the campaign (repeat for more); none means any.
        #[arg(long = "product")]
        products: Vec<String>,
    },
    /// Show a campaign and its review status.
    Get {
        /// The campaign's id.
        #[arg(long)]
        id: String,
    },
    /// Approve, reject or pause a campaign.
    Review {
        /// The campaign's id.
        #[arg(long)]
        id: String,
        /// The decision.
        #[arg(long, value_enum)]
        decision: DecisionArg,
        /// Why: kept with the campaign.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

/// `cartclick admin key …`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key; its secret is printed once.
    Create {
        /// The key's role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The merchant a merchant key acts for.
        #[arg(long)]
        merchant: Option<String>,
        /// Who holds the key.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke an API key.
    Revoke {
        /// The key's id.
        #[arg(long)]
        id: String,
    },
}

/// A review decision on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DecisionArg {
    /// The campaign may issue tokens.
    Approve,
    /// The campaign may not issue tokens.
    Reject,
    /// The campaign stops issuing tokens until approved again.
    Pause,
}

/// A key role on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Feed services.
    Feed,
    /// A merchant's shop (needs --merchant).
    Merchant,
    /// Dashboards.
    Dashboard,
    /// Operators.
    Admin,
}

/// Where a client command connects, and with which key.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The server's address.
    #[arg(
        long,
        env = "CARTCLICK_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// The API key secret, sent as `authorization: Bearer <secret>`.
    #[arg(long, env = "CARTCLICK_API_KEY", hide_env_values = true)]
    pub api_key: String,
}

/// A viewer's age bracket on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Age {
    /// Age not known.
    Unknown,
    /// Under 13.
    Under13,
    /// 13 to 17.
    Teen,
    /// 18 or older.
    Adult,
}

/// A counter dimension on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DimensionArg {
    /// By merchant.
    Merchant,
    /// By campaign.
    Campaign,
    /// By creator.
    Creator,
    /// By video.
    Video,
    /// By product.
    Product,
}

/// A bucket width on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GranularityArg {
    /// Hourly buckets.
    Hour,
    /// Daily buckets.
    Day,
}

/// Runs a parsed command line; the exit code says how it went.
pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve { args, dev } => serve(args, dev).await,
        Command::Top {
            client,
            dimension,
            day,
            metric,
            currency,
            limit,
            merchant,
        } => {
            let request = proto::ListTopRequest {
                dimension: dimension_proto(dimension).into(),
                day: day.unwrap_or_else(|| Utc::now().date_naive()).to_string(),
                metric: match metric {
                    MetricArg::Clicks => proto::TopMetric::Clicks,
                    MetricArg::Conversions => proto::TopMetric::Conversions,
                    MetricArg::Revenue => proto::TopMetric::Revenue,
                }
                .into(),
                currency_code: currency.unwrap_or_default(),
                limit,
                merchant_id: merchant.unwrap_or_default(),
            };
            top(client, request).await
        }
        Command::Events {
            command:
                EventsCommand::Tail {
                    store,
                    merchant,
                    after,
                    count,
                    follow,
                },
        } => events_tail(store, merchant, after, count, follow).await,
        Command::Reconcile {
            store,
            config,
            merchant,
            day,
        } => {
            return reconcile(store, config, merchant, day).await;
        }
        Command::Issue {
            client,
            campaign,
            product,
            video,
            creator,
            viewer,
            landing_url,
            age,
        } => {
            let request = proto::IssueTokenRequest {
                viewer_id: viewer,
                video_id: video,
                creator_id: creator,
                campaign_id: campaign,
                product_id: product,
                landing_url,
                age_bracket: match age {
                    Age::Unknown => proto::AgeBracket::Unspecified,
                    Age::Under13 => proto::AgeBracket::Under13,
                    Age::Teen => proto::AgeBracket::AgeBracket13To17,
                    Age::Adult => proto::AgeBracket::AgeBracket18Plus,
                }
                .into(),
            };
            issue(client, request).await
        }
        Command::Confirm {
            client,
            token,
            order,
            amount_minor,
            currency,
        } => {
            let request = proto::ConfirmSaleRequest {
                token,
                order_id: order,
                amount: Some(proto::Money {
                    currency_code: currency,
                    amount_minor,
                }),
            };
            confirm(client, request).await
        }
        Command::Admin { client, command } => admin(client, command).await,
        Command::Bench(args) => bench(args).await,
        Command::Counters {
            client,
            dimension,
            id,
            granularity,
            from,
            to,
        } => {
            let to = to.unwrap_or_else(Utc::now);
            let from = from.unwrap_or(to - chrono::TimeDelta::hours(24));
            let request = proto::GetCountersRequest {
                dimension: dimension_proto(dimension).into(),
                id,
                granularity: match granularity {
                    GranularityArg::Hour => proto::Granularity::Hour,
                    GranularityArg::Day => proto::Granularity::Day,
                }
                .into(),
                start_time: Some(crate::api::to_timestamp(from)),
                end_time: Some(crate::api::to_timestamp(to)),
            };
            counters(client, request).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cartclick: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs, dev: bool) -> Result<(), String> {
    let shutdown = shutdown_signal()?;
    let mut config = Config::load(&args).map_err(|e| e.to_string())?;
    let mut printed = None;
    if dev {
        if config.store != StoreUrl::Memory {
            return Err("--dev runs on the memory store only; drop --store".into());
        }
        let (keys, text) = dev_keys();
        config.api_keys.extend(keys);
        printed = Some(text);
    }
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(keys) = printed {
        seed_demo(&app).await?;
        println!(
            "{}",
            dev_banner(&app.local_addr().to_string(), app.http_addr(), &keys)
        );
    }
    app.run_until_stopped(shutdown)
        .await
        .map_err(|e| e.to_string())
}

fn dimension_proto(dimension: DimensionArg) -> proto::Dimension {
    match dimension {
        DimensionArg::Merchant => proto::Dimension::Merchant,
        DimensionArg::Campaign => proto::Dimension::Campaign,
        DimensionArg::Creator => proto::Dimension::Creator,
        DimensionArg::Video => proto::Dimension::Video,
        DimensionArg::Product => proto::Dimension::Product,
    }
}

async fn top(client: ClientArgs, request: proto::ListTopRequest) -> Result<(), String> {
    let mut rpc = proto::counter_service_client::CounterServiceClient::new(channel(&client).await?);
    let response = rpc
        .list_top(authorized(&client, request)?)
        .await
        .map_err(|s| describe(&s))?
        .into_inner();
    println!("{:>4}  {:<40} {:>14}", "rank", "id", "value");
    for (rank, entry) in response.entries.iter().enumerate() {
        println!("{:>4}  {:<40} {:>14}", rank + 1, entry.id, entry.value);
    }
    if response.entries.is_empty() {
        println!("(nothing counted that day)");
    }
    Ok(())
}

/// One event as one line.
fn event_line(event: &crate::model::Event) -> String {
    let kind = match event.kind {
        crate::model::EventKind::Click => "click",
        crate::model::EventKind::RepeatTap => "repeat_tap",
        crate::model::EventKind::Sale => "sale",
        crate::model::EventKind::Reversal => "reversal",
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
    if let Some(amount) = &event.amount {
        line.push_str(&format!(
            " amount={} {}",
            amount.amount_minor, amount.currency
        ));
    }
    line
}

async fn events_tail(
    store: String,
    merchant: String,
    mut after: Option<String>,
    count: usize,
    follow: bool,
) -> Result<(), String> {
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

async fn bench(args: crate::loadgen::BenchArgs) -> Result<(), String> {
    let report = crate::loadgen::run(&args).await?;
    println!(
        "{:<8} {:>7} {:>5} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9}  errors",
        "scenario", "streams", "conns", "requests", "rps", "p50 µs", "p99 µs", "p99.9 µs", "max µs"
    );
    let errors = if report.errors.is_empty() {
        "-".to_owned()
    } else {
        report
            .errors
            .iter()
            .map(|(code, n)| format!("{code}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "{:<8} {:>7} {:>5} {:>10} {:>10.0} {:>9} {:>9} {:>9} {:>9}  {errors}",
        format!("{:?}", report.scenario).to_lowercase(),
        report.streams,
        report.connections,
        report.ok,
        report.rps(),
        report.p50_us,
        report.p99_us,
        report.p999_us,
        report.max_us
    );
    println!("{}", report.json());
    Ok(())
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

async fn reconcile(
    store: String,
    config: Option<std::path::PathBuf>,
    merchant: String,
    day: chrono::NaiveDate,
) -> ExitCode {
    let result = async {
        let args = ServeArgs {
            config,
            store: Some(store),
            ..ServeArgs::default()
        };
        let config = Config::load(&args).map_err(|e| e.to_string())?;
        let store = open_redis(&config).await?;
        crate::reconcile::reconcile(&store, &merchant, day)
            .await
            .map_err(|e| format!("reconcile: {e}"))
    }
    .await;
    match result {
        Ok(report) => {
            println!(
                "merchant {} day {}: {} click records, {} sale records",
                report.merchant_id, report.day, report.clicks, report.sales
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

/// The demo merchant and campaign of `serve --dev`.
const DEMO_MERCHANT: &str = "demo-shop";
const DEMO_CAMPAIGN: &str = "demo-campaign";
const DEMO_DOMAIN: &str = "shop.example";

/// Fresh random keys, one per role, and how to print them.
fn dev_keys() -> (Vec<ApiKey>, Vec<(Role, String)>) {
    let roles = [Role::Feed, Role::Merchant, Role::Dashboard, Role::Admin];
    let mut keys = Vec::new();
    let mut secrets = Vec::new();
    for role in roles {
        let secret = format!(
            "dev-{}-{}",
            role.as_str(),
            URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>())
        );
        keys.push(ApiKey {
            id: KeyId::stored(format!("dev-{}", role.as_str())),
            grant: match role {
                Role::Merchant => Grant::Merchant(MerchantId::stored(DEMO_MERCHANT)),
                Role::Feed => Grant::Feed,
                Role::Dashboard => Grant::Dashboard,
                Role::Admin => Grant::Admin,
            },
            sha256: secret_sha256(&secret),
        });
        secrets.push((role, secret));
    }
    (keys, secrets)
}

async fn seed_demo(app: &Application) -> Result<(), String> {
    let domain = app.domain();
    domain
        .put_merchant(Merchant {
            merchant_id: MerchantId::stored(DEMO_MERCHANT),
            display_name: "Demo Shop".into(),
            allowed_domains: vec![DEMO_DOMAIN.into()],
            token_param: crate::model::DEFAULT_TOKEN_PARAM.into(),
        })
        .await
        .map_err(|e| format!("seeding the demo merchant: {e}"))?;
    domain
        .put_campaign(CampaignSpec {
            campaign_id: CampaignId::stored(DEMO_CAMPAIGN),
            merchant_id: MerchantId::stored(DEMO_MERCHANT),
            category: "apparel".into(),
            attribution_window: DEFAULT_ATTRIBUTION_WINDOW,
            product_ids: Vec::new(),
        })
        .await
        .map_err(|e| format!("seeding the demo campaign: {e}"))?;
    domain
        .review_campaign(
            &CampaignId::stored(DEMO_CAMPAIGN),
            ReviewDecision::Approve,
            "demo".into(),
        )
        .await
        .map_err(|e| format!("approving the demo campaign: {e}"))?;
    Ok(())
}

fn dev_banner(addr: &str, http: Option<std::net::SocketAddr>, keys: &[(Role, String)]) -> String {
    let key = |role: Role| {
        keys.iter()
            .find(|(r, _)| *r == role)
            .map(|(_, secret)| secret.as_str())
            .unwrap_or_default()
    };
    format!(
        "cartclick dev server on {addr} (memory store: nothing is kept after exit)\n\
         demo merchant {DEMO_MERCHANT} (https://{DEMO_DOMAIN}), approved campaign {DEMO_CAMPAIGN}\n\
         api keys (valid until this process exits):\n  \
           feed      {feed}\n  merchant  {merchant}   (for {DEMO_MERCHANT})\n  \
           dashboard {dashboard}\n  admin     {admin}\n\
         try it, in another terminal:\n  \
           cartclick issue --server http://{addr} --api-key {feed} --campaign {DEMO_CAMPAIGN} --product sku-1 --video vid-1 --creator cr-1 --viewer viewer-1 --landing-url https://{DEMO_DOMAIN}/p/sku-1\n  \
           cartclick confirm --server http://{addr} --api-key {merchant} --token <token> --order order-1 --amount-minor 12500 --currency DKK\n  \
           cartclick counters --server http://{addr} --api-key {dashboard} --dimension campaign --id {DEMO_CAMPAIGN}{http}",
        http = match http {
            Some(http) => format!(
                "\nthe shop's side over HTTP/JSON on {http}:\n  \
                 curl -s http://{http}/v1/sales:confirm -H 'authorization: Bearer {merchant}' \
                 -d '{{\"token\": \"<token>\", \"orderId\": \"order-2\", \"amount\": {{\"currencyCode\": \"DKK\", \"amountMinor\": \"12500\"}}}}'",
                merchant = key(Role::Merchant),
            ),
            None => String::new(),
        },
        feed = key(Role::Feed),
        merchant = key(Role::Merchant),
        dashboard = key(Role::Dashboard),
        admin = key(Role::Admin),
    )
}

/// A future that completes on SIGTERM or Ctrl-C. The handlers are installed
/// here, before the server starts, not when the future is first polled: a
/// signal that arrives while the server is still starting must not kill the
/// process outright.
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())
            .map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
        let mut interrupt = signal(SignalKind::interrupt())
            .map_err(|e| format!("cannot listen for SIGINT: {e}"))?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
                _ = interrupt.recv() => tracing::info!("SIGINT received"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// Connects to the server named by `client`.
async fn channel(client: &ClientArgs) -> Result<Channel, String> {
    Channel::from_shared(client.server.clone())
        .map_err(|e| format!("--server {:?}: {e}", client.server))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", client.server))
}

/// A request with the client's key attached.
fn authorized<T>(client: &ClientArgs, message: T) -> Result<tonic::Request<T>, String> {
    let mut request = tonic::Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {}", client.api_key)
        .parse()
        .map_err(|_| "--api-key: not a valid header value".to_owned())?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// A status as one line: code, contract reason, field, message.
fn describe(status: &tonic::Status) -> String {
    match status.get_details_error_info() {
        Some(info) => match info.metadata.get("field") {
            Some(field) => format!(
                "{:?} {} (field {field}): {}",
                status.code(),
                info.reason,
                status.message()
            ),
            None => format!("{:?} {}: {}", status.code(), info.reason, status.message()),
        },
        None => format!("{:?}: {}", status.code(), status.message()),
    }
}

fn print_time(label: &str, at: Option<prost_types::Timestamp>) {
    let text = at
        .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map_or_else(String::new, |t| t.to_rfc3339());
    println!("{label:<13}{text}");
}

fn print_merchant(merchant: Option<proto::Merchant>) {
    let merchant = merchant.unwrap_or_default();
    println!("{:<16}{}", "merchant_id", merchant.merchant_id);
    println!("{:<16}{}", "display_name", merchant.display_name);
    println!(
        "{:<16}{}",
        "allowed_domains",
        merchant.allowed_domains.join(", ")
    );
    println!("{:<16}{}", "token_param", merchant.token_param);
}

fn print_campaign(campaign: Option<proto::Campaign>) {
    let campaign = campaign.unwrap_or_default();
    let window = campaign.attribution_window.map_or(0, |d| d.seconds / 3600);
    println!("{:<20}{}", "campaign_id", campaign.campaign_id);
    println!("{:<20}{}", "merchant_id", campaign.merchant_id);
    println!("{:<20}{}", "category", campaign.category);
    println!("{:<20}{window} hours", "attribution_window");
    let products = if campaign.product_ids.is_empty() {
        "(any)".to_owned()
    } else {
        campaign.product_ids.join(", ")
    };
    println!("{:<20}{products}", "product_ids");
    let status = campaign.status().as_str_name();
    println!(
        "{:<20}{}",
        "status",
        status.trim_start_matches("CAMPAIGN_STATUS_")
    );
    println!("{:<20}{}", "review_reason", campaign.review_reason);
}

async fn admin(client: ClientArgs, command: AdminCommand) -> Result<(), String> {
    let mut rpc = proto::admin_service_client::AdminServiceClient::new(channel(&client).await?);
    let fail = |s: tonic::Status| describe(&s);
    match command {
        AdminCommand::Merchant {
            command:
                MerchantCommand::Put {
                    id,
                    name,
                    domains,
                    token_param,
                },
        } => {
            let merchant = proto::Merchant {
                merchant_id: id,
                display_name: name,
                allowed_domains: domains,
                token_param,
            };
            let request = proto::PutMerchantRequest {
                merchant: Some(merchant),
            };
            let response = rpc
                .put_merchant(authorized(&client, request)?)
                .await
                .map_err(fail)?;
            print_merchant(response.into_inner().merchant);
        }
        AdminCommand::Merchant {
            command: MerchantCommand::Get { id },
        } => {
            let request = proto::GetMerchantRequest { merchant_id: id };
            let response = rpc
                .get_merchant(authorized(&client, request)?)
                .await
                .map_err(fail)?;
            print_merchant(response.into_inner().merchant);
        }
        AdminCommand::Campaign {
            command:
                CampaignCommand::Put {
                    id,
                    merchant,
                    category,
                    window_hours,
                    products,
                },
        } => {
            let campaign = proto::Campaign {
                campaign_id: id,
                merchant_id: merchant,
                category,
                attribution_window: window_hours.map(|hours| prost_types::Duration {
                    seconds: i64::from(hours) * 3600,
                    nanos: 0,
                }),
                product_ids: products,
                ..proto::Campaign::default()
            };
            let request = proto::PutCampaignRequest {
                campaign: Some(campaign),
            };
            let response = rpc
                .put_campaign(authorized(&client, request)?)
                .await
                .map_err(fail)?;
            print_campaign(response.into_inner().campaign);
        }
        AdminCommand::Campaign {
            command: CampaignCommand::Get { id },
        } => {
            let request = proto::GetCampaignRequest { campaign_id: id };
            let response = rpc
                .get_campaign(authorized(&client, request)?)
                .await
                .map_err(fail)?;
            print_campaign(response.into_inner().campaign);
        }
        AdminCommand::Campaign {
            command:
                CampaignCommand::Review {
                    id,
                    decision,
                    reason,
                },
        } => {
            let decision = match decision {
                DecisionArg::Approve => proto::ReviewDecision::Approve,
                DecisionArg::Reject => proto::ReviewDecision::Reject,
                DecisionArg::Pause => proto::ReviewDecision::Pause,
            };
            let request = proto::ReviewCampaignRequest {
                campaign_id: id,
                decision: decision.into(),
                reason,
            };
            let response = rpc
                .review_campaign(authorized(&client, request)?)
                .await
                .map_err(fail)?;
            print_campaign(response.into_inner().campaign);
        }
        AdminCommand::Key {
            command:
                KeyCommand::Create {
                    role,
                    merchant,
                    label,
                },
        } => {
            let role = match role {
                RoleArg::Feed => proto::Role::Feed,
                RoleArg::Merchant => proto::Role::Merchant,
                RoleArg::Dashboard => proto::Role::Dashboard,
                RoleArg::Admin => proto::Role::Admin,
            };
            let request = proto::CreateApiKeyRequest {
                role: role.into(),
                merchant_id: merchant.unwrap_or_default(),
                label,
            };
            let response = rpc
                .create_api_key(authorized(&client, request)?)
                .await
                .map_err(fail)?;
            let key = response.into_inner();
            println!("{:<8}{}", "key_id", key.key_id);
            println!("{:<8}{}", "secret", key.secret);
            eprintln!("the secret is shown once: store it now");
        }
        AdminCommand::Key {
            command: KeyCommand::Revoke { id },
        } => {
            let request = proto::RevokeApiKeyRequest { key_id: id.clone() };
            rpc.revoke_api_key(authorized(&client, request)?)
                .await
                .map_err(fail)?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

async fn issue(client: ClientArgs, request: proto::IssueTokenRequest) -> Result<(), String> {
    let mut rpc = proto::click_service_client::ClickServiceClient::new(channel(&client).await?);
    let response = rpc
        .issue_token(authorized(&client, request)?)
        .await
        .map_err(|s| describe(&s))?
        .into_inner();
    println!("{:<13}{}", "token", response.token);
    println!("{:<13}{}", "redirect_url", response.redirect_url);
    println!("{:<13}{}", "click_id", response.click_id);
    print_time("expires_at", response.expires_at);
    println!("{:<13}{}", "deduplicated", response.deduplicated);
    Ok(())
}

async fn confirm(client: ClientArgs, request: proto::ConfirmSaleRequest) -> Result<(), String> {
    let mut rpc = proto::sale_service_client::SaleServiceClient::new(channel(&client).await?);
    let response = rpc
        .confirm_sale(authorized(&client, request)?)
        .await
        .map_err(|s| describe(&s))?
        .into_inner();
    println!("{:<13}{}", "click_id", response.click_id);
    println!("{:<13}{}", "campaign_id", response.campaign_id);
    println!("{:<13}{}", "creator_id", response.creator_id);
    println!("{:<13}{}", "video_id", response.video_id);
    println!("{:<13}{}", "product_id", response.product_id);
    print_time("clicked_at", response.clicked_at);
    print_time("confirmed_at", response.confirmed_at);
    println!("{:<13}{}", "replayed", response.replayed);
    Ok(())
}

fn money_text(money: &[proto::Money]) -> String {
    if money.is_empty() {
        return "-".into();
    }
    money
        .iter()
        .map(|m| format!("{} {}", m.amount_minor, m.currency_code))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn counters(client: ClientArgs, request: proto::GetCountersRequest) -> Result<(), String> {
    let mut rpc = proto::counter_service_client::CounterServiceClient::new(channel(&client).await?);
    let response = rpc
        .get_counters(authorized(&client, request)?)
        .await
        .map_err(|s| describe(&s))?
        .into_inner();
    println!(
        "{:<26} {:>8} {:>8} {:>11}  {:<24} refunded (minor units)",
        "start (UTC)", "taps", "clicks", "conversions", "revenue (minor units)"
    );
    let row = |label: String, b: &proto::CounterBucket| {
        println!(
            "{label:<26} {:>8} {:>8} {:>11}  {:<24} {}",
            b.taps,
            b.clicks,
            b.conversions,
            money_text(&b.revenue),
            money_text(&b.refunded)
        );
    };
    for bucket in &response.buckets {
        let start = bucket
            .start_time
            .and_then(|t| DateTime::from_timestamp(t.seconds, 0))
            .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M").to_string());
        row(start, bucket);
    }
    if let Some(total) = &response.total {
        row("total".into(), total);
    }
    Ok(())
}
