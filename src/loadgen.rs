//! The load generator behind `cartclick bench`: N concurrent streams over M
//! HTTP/2 connections against a running server, a warm-up, then a fixed
//! measured duration. Latencies go into an HDR histogram (microseconds);
//! the report gives requests per second, p50/p99/p99.9 and errors by status
//! code, as a table and a final JSON line.
//!
//! Scenarios: `issue` (IssueToken, a new viewer each call), `confirm`
//! (ConfirmSale of tokens issued beforehand), `mixed` (95% issue, 5% confirm
//! of tokens issued during the run) and `echo` (grpc.health.v1 Check on the
//! same server and connections: what this box's gRPC stack does with no
//! work behind it, the ceiling the others are compared with).
//!
//! Setup uses an admin key: it registers a merchant and an approved
//! campaign and makes a feed and a merchant key for the run, all named
//! `bench-<run>` (ids and key labels). The run owns them: when it ends
//! (done, failed, or Ctrl-C) it revokes its keys and pauses its campaign
//! (the contract has no DeleteMerchant or DeleteCampaign: the paused
//! campaign issues nothing more, and what the run recorded expires by
//! `[retention]`). It refuses a store that holds merchants not named
//! `bench-…` unless `--yes` ([`other_merchants`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::Mutex;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::proto;
use crate::proto::admin_service_client::AdminServiceClient;
use crate::proto::click_service_client::ClickServiceClient;
use crate::proto::sale_service_client::SaleServiceClient;

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Scenario {
    /// IssueToken, a new viewer each call.
    Issue,
    /// ConfirmSale of tokens issued before the run.
    Confirm,
    /// 95% IssueToken, 5% ConfirmSale.
    Mixed,
    /// grpc.health.v1 Check: the gRPC ceiling.
    Echo,
}

/// How to run it.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct BenchArgs {
    /// The server.
    #[arg(
        long,
        env = "CARTCLICK_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// An admin key, to set up a merchant, campaign and keys for the run.
    #[arg(long, env = "CARTCLICK_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// The scenario.
    #[arg(long, value_enum, default_value_t = Scenario::Issue)]
    pub scenario: Scenario,
    /// Concurrent request streams.
    #[arg(long, default_value_t = 64)]
    pub streams: usize,
    /// HTTP/2 connections the streams share.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Warm-up seconds, not measured.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// Tokens issued before a confirm run.
    #[arg(long, default_value_t = 200_000)]
    pub tokens: usize,
    /// The merchant id to register and load (default: `bench-<random>`), so
    /// that a server's `[merchant_shards]` can name it; must start `bench-`.
    #[arg(long)]
    pub merchant: Option<String>,
    /// Run even though the store holds merchants other than bench ones.
    #[arg(long)]
    pub yes: bool,
}

/// The prefix of everything a run makes.
pub(crate) const BENCH_PREFIX: &str = "bench-";

/// What a run measured.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// The scenario.
    pub scenario: Scenario,
    /// Streams and connections.
    pub streams: usize,
    /// HTTP/2 connections.
    pub connections: usize,
    /// Measured seconds.
    pub seconds: f64,
    /// Successful calls measured.
    pub ok: u64,
    /// Failed calls by gRPC code name.
    pub errors: BTreeMap<String, u64>,
    /// Latency percentiles of successful calls, microseconds.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
}

impl Report {
    /// Successful calls per second.
    pub(crate) fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    /// The one-line JSON summary.
    pub(crate) fn json(&self) -> String {
        let errors = self
            .errors
            .iter()
            .map(|(code, n)| format!("\"{code}\":{n}"))
            .collect::<Vec<_>>()
            .join(",");
        format!(
            "{{\"scenario\":\"{:?}\",\"streams\":{},\"connections\":{},\"seconds\":{:.1},\"requests\":{},\"rps\":{:.0},\"p50_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{},\"errors\":{{{errors}}}}}",
            self.scenario,
            self.streams,
            self.connections,
            self.seconds,
            self.ok,
            self.rps(),
            self.p50_us,
            self.p99_us,
            self.p999_us,
            self.max_us,
        )
        .to_lowercase()
    }
}

/// The keys and ids a run uses.
struct Setup {
    /// The feed key's secret.
    feed: String,
    /// The merchant key's secret.
    merchant: String,
    /// The campaign the taps go to.
    campaign: String,
}

/// What a run made, to undo when it ends: filled in as it is made, so a
/// setup that fails half way is undone as far as it got.
#[derive(Debug, Default)]
pub(crate) struct Made {
    /// The campaign, once put.
    campaign: Option<String>,
    /// The ids of the keys made.
    keys: Vec<String>,
}

fn authed<T>(secret: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = format!("Bearer {secret}").parse::<MetadataValue<_>>() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

async fn connect(server: &str, connections: usize) -> Result<Vec<Channel>, String> {
    let endpoint = Endpoint::from_shared(server.to_owned())
        .map_err(|e| format!("--server: {e}"))?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5));
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        channels.push(
            endpoint
                .connect()
                .await
                .map_err(|e| format!("cannot connect to {server}: {e}"))?,
        );
    }
    Ok(channels)
}

/// The merchants the store holds that a bench run did not make: every
/// page of `AdminService.ListMerchants`, less the `bench-…` ones.
async fn other_merchants(channel: Channel, admin_key: &str) -> Result<Vec<String>, String> {
    let mut admin = AdminServiceClient::new(channel);
    let mut others = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = proto::ListMerchantsRequest {
            page_size: 1000,
            page_token,
        };
        let page = admin
            .list_merchants(authed(admin_key, request))
            .await
            .map_err(|s| format!("checking the store: {}", s.message()))?
            .into_inner();
        others.extend(
            page.merchants
                .into_iter()
                .map(|m| m.merchant_id)
                .filter(|id| !id.starts_with(BENCH_PREFIX)),
        );
        if page.next_page_token.is_empty() {
            return Ok(others);
        }
        page_token = page.next_page_token;
    }
}

/// Registers a merchant and an approved campaign, and makes keys, for this
/// run, noting each in `made` as it is made.
async fn set_up(
    channel: Channel,
    admin_key: &str,
    merchant: Option<&str>,
    made: &Mutex<Made>,
) -> Result<Setup, String> {
    let mut admin = AdminServiceClient::new(channel);
    let run = hex::encode(rand::random::<[u8; 4]>());
    let merchant_id = merchant.map_or_else(|| format!("{BENCH_PREFIX}{run}"), str::to_owned);
    let campaign_id = format!("{BENCH_PREFIX}campaign-{run}");
    let fail = |what: &str, status: tonic::Status| format!("setup {what}: {}", status.message());
    eprintln!("bench: putting merchant {merchant_id}");
    let merchant = proto::Merchant {
        merchant_id: merchant_id.clone(),
        display_name: format!("{BENCH_PREFIX}{run}"),
        allowed_domains: vec!["bench.example".into()],
        token_param: String::new(),
    };
    admin
        .put_merchant(authed(
            admin_key,
            proto::PutMerchantRequest {
                merchant: Some(merchant),
            },
        ))
        .await
        .map_err(|s| fail("merchant", s))?;
    eprintln!("bench: putting and approving campaign {campaign_id}");
    let campaign = proto::Campaign {
        campaign_id: campaign_id.clone(),
        merchant_id: merchant_id.clone(),
        category: "apparel".into(),
        ..proto::Campaign::default()
    };
    admin
        .put_campaign(authed(
            admin_key,
            proto::PutCampaignRequest {
                campaign: Some(campaign),
            },
        ))
        .await
        .map_err(|s| fail("campaign", s))?;
    made.lock().await.campaign = Some(campaign_id.clone());
    let review = proto::ReviewCampaignRequest {
        campaign_id: campaign_id.clone(),
        decision: proto::ReviewDecision::Approve.into(),
        reason: "bench".into(),
    };
    admin
        .review_campaign(authed(admin_key, review))
        .await
        .map_err(|s| fail("review", s))?;
    eprintln!("bench: making a feed and a merchant key");
    let key = |role: proto::Role, merchant: &str, label: String| {
        let request = proto::CreateApiKeyRequest {
            role: role.into(),
            merchant_id: merchant.to_owned(),
            label,
        };
        let mut admin = admin.clone();
        async move {
            let made_key = admin
                .create_api_key(authed(admin_key, request))
                .await?
                .into_inner();
            made.lock().await.keys.push(made_key.key_id);
            Ok::<_, tonic::Status>(made_key.secret)
        }
    };
    let feed = key(proto::Role::Feed, "", format!("{BENCH_PREFIX}{run}-feed"))
        .await
        .map_err(|s| fail("feed key", s))?;
    let merchant = key(
        proto::Role::Merchant,
        &merchant_id,
        format!("{BENCH_PREFIX}{run}-merchant"),
    )
    .await
    .map_err(|s| fail("merchant key", s))?;
    Ok(Setup {
        feed,
        merchant,
        campaign: campaign_id,
    })
}

/// A tap by a viewer never seen before (no dedup, no rate limit).
fn tap(campaign: &str, n: u64) -> proto::IssueTokenRequest {
    proto::IssueTokenRequest {
        viewer_id: format!("bench-viewer-{n}"),
        video_id: format!("bench-video-{}", n % 1000),
        creator_id: format!("bench-creator-{}", n % 100),
        campaign_id: campaign.to_owned(),
        product_id: format!("bench-sku-{}", n % 50),
        landing_url: "https://shop.bench.example/p".into(),
        age_bracket: proto::AgeBracket::AgeBracket18Plus.into(),
    }
}

fn sale(token: String, n: u64) -> proto::ConfirmSaleRequest {
    proto::ConfirmSaleRequest {
        token,
        order_id: format!("bench-order-{n}-{}", hex::encode(rand::random::<[u8; 4]>())),
        amount: Some(proto::Money {
            currency_code: "DKK".into(),
            amount_minor: 12_500,
        }),
    }
}

/// Undoes what a run made: revokes its keys and pauses its campaign, each
/// step tried whatever the others did; says on stderr what it did.
async fn clean_up(channel: Channel, admin_key: &str, made: &Made) -> Result<(), String> {
    let mut admin = AdminServiceClient::new(channel);
    let mut problems = Vec::new();
    for key_id in &made.keys {
        let request = proto::RevokeApiKeyRequest {
            key_id: key_id.clone(),
        };
        match admin.revoke_api_key(authed(admin_key, request)).await {
            Ok(_) => eprintln!("bench: revoked key {key_id}"),
            Err(status) => problems.push(format!("revoking key {key_id}: {}", status.message())),
        }
    }
    if let Some(campaign_id) = &made.campaign {
        let request = proto::ReviewCampaignRequest {
            campaign_id: campaign_id.clone(),
            decision: proto::ReviewDecision::Pause.into(),
            reason: "bench run ended".into(),
        };
        match admin.review_campaign(authed(admin_key, request)).await {
            Ok(_) => {
                eprintln!("bench: paused campaign {campaign_id} (its data expires by [retention])")
            }
            Err(status) => problems.push(format!(
                "pausing campaign {campaign_id}: {}",
                status.message()
            )),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("cleaning up: {}", problems.join("; ")))
    }
}

/// Runs the scenario and reports; whatever the run made is undone when it
/// ends, Ctrl-C included (which then fails the run).
pub(crate) async fn run(args: &BenchArgs) -> Result<Report, String> {
    if let Some(merchant) = &args.merchant
        && !merchant.starts_with(BENCH_PREFIX)
    {
        return Err(format!(
            "--merchant: a bench merchant's id starts with {BENCH_PREFIX:?}, so it can be told from real ones"
        ));
    }
    let channels = connect(&args.server, args.connections).await?;
    if args.scenario != Scenario::Echo && !args.yes {
        let others = other_merchants(channels[0].clone(), &args.api_key).await?;
        if !others.is_empty() {
            return Err(format!(
                "the store holds merchants other than bench ones ({}): pass --yes to run here anyway",
                others.join(", ")
            ));
        }
    }
    let made = Mutex::new(Made::default());
    let outcome = tokio::select! {
        outcome = measure(args, &channels, &made) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_owned()),
    };
    let cleaned = clean_up(channels[0].clone(), &args.api_key, &*made.lock().await).await;
    let report = outcome?;
    cleaned.map(|()| report)
}

/// Sets up, warms up and measures; what it makes goes into `made`.
async fn measure(
    args: &BenchArgs,
    channels: &[Channel],
    made: &Mutex<Made>,
) -> Result<Report, String> {
    let setup = match args.scenario {
        Scenario::Echo => None,
        _ => Some(Arc::new(
            set_up(
                channels[0].clone(),
                &args.api_key,
                args.merchant.as_deref(),
                made,
            )
            .await?,
        )),
    };
    let next = Arc::new(AtomicU64::new(0));
    // Tokens to confirm: issued before a confirm run, during a mixed one.
    let tokens: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    if let (Scenario::Confirm, Some(setup)) = (args.scenario, &setup) {
        eprintln!("bench: issuing {} tokens to confirm", args.tokens);
        let step = (args.tokens as u64 / 10).max(1);
        let mut tasks = tokio::task::JoinSet::new();
        for stream in 0..args.streams {
            let mut clicks = ClickServiceClient::new(channels[stream % channels.len()].clone());
            let (setup, next, tokens) = (setup.clone(), next.clone(), tokens.clone());
            let total = args.tokens as u64;
            tasks.spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return;
                    }
                    if n > 0 && n % step == 0 {
                        eprintln!("bench: {n} of {total} tokens issued");
                    }
                    if let Ok(issued) = clicks
                        .issue_token(authed(&setup.feed, tap(&setup.campaign, n)))
                        .await
                    {
                        tokens.lock().await.push(issued.into_inner().token);
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    }

    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for stream in 0..args.streams {
        let channel = channels[stream % channels.len()].clone();
        let (setup, next, tokens) = (setup.clone(), next.clone(), tokens.clone());
        let (measuring, stop) = (measuring.clone(), stop.clone());
        let scenario = args.scenario;
        tasks.spawn(async move {
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            let mut clicks = ClickServiceClient::new(channel.clone());
            let mut sales = SaleServiceClient::new(channel.clone());
            let mut health = HealthClient::new(channel);
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let outcome: Result<(), tonic::Status> = match (scenario, &setup) {
                    (Scenario::Echo, _) | (_, None) => health
                        .check(HealthCheckRequest {
                            service: String::new(),
                        })
                        .await
                        .map(drop),
                    (Scenario::Issue, Some(setup)) => clicks
                        .issue_token(authed(&setup.feed, tap(&setup.campaign, n)))
                        .await
                        .map(drop),
                    (Scenario::Confirm, Some(setup)) => {
                        // Take the token first: a guard in the match scrutinee
                        // would be held across the call and serialise every stream.
                        let token = tokens.lock().await.pop();
                        match token {
                            Some(token) => sales
                                .confirm_sale(authed(&setup.merchant, sale(token, n)))
                                .await
                                .map(drop),
                            None => {
                                stop.store(true, Ordering::Relaxed);
                                Err(tonic::Status::out_of_range(
                                    "ran out of tokens: raise --tokens",
                                ))
                            }
                        }
                    }
                    (Scenario::Mixed, Some(setup)) => {
                        let token = if n % 20 == 0 {
                            tokens.lock().await.pop()
                        } else {
                            None
                        };
                        match token {
                            Some(token) => sales
                                .confirm_sale(authed(&setup.merchant, sale(token, n)))
                                .await
                                .map(drop),
                            None => match clicks
                                .issue_token(authed(&setup.feed, tap(&setup.campaign, n)))
                                .await
                            {
                                Ok(issued) => {
                                    let mut tokens = tokens.lock().await;
                                    if tokens.len() < 10_000 {
                                        tokens.push(issued.into_inner().token);
                                    }
                                    Ok(())
                                }
                                Err(status) => Err(status),
                            },
                        }
                    }
                };
                if !measuring.load(Ordering::Relaxed) {
                    continue;
                }
                match outcome {
                    Ok(()) => {
                        let micros = started.elapsed().as_micros().max(1) as u64;
                        let _ = histogram.record(micros);
                    }
                    Err(status) => *errors.entry(format!("{:?}", status.code())).or_default() += 1,
                }
            }
            (histogram, errors)
        });
    }

    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    measuring.store(true, Ordering::Relaxed);
    eprintln!("measuring for {} s", args.duration);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    measuring.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);

    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
    let mut errors = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        let (stream_histogram, stream_errors) =
            done.map_err(|e| format!("a stream failed: {e}"))?;
        histogram
            .add(&stream_histogram)
            .map_err(|e| format!("histogram: {e}"))?;
        for (code, n) in stream_errors {
            *errors.entry(code).or_default() += n;
        }
    }
    Ok(Report {
        scenario: args.scenario,
        streams: args.streams,
        connections: args.connections,
        seconds,
        ok: histogram.len(),
        errors,
        p50_us: histogram.value_at_quantile(0.50),
        p99_us: histogram.value_at_quantile(0.99),
        p999_us: histogram.value_at_quantile(0.999),
        max_us: histogram.max(),
    })
}
