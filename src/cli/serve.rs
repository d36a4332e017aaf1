//! `serve`: runs the service until SIGTERM or Ctrl-C; with `--dev`, first
//! seeds a demo merchant, an approved campaign, a key for every role and a
//! demo day of taps and sales ([`demo`](super::demo)) on the memory store,
//! and prints how to try them and the dashboard's address.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth::secret_sha256;
use crate::config::{Config, ServeArgs, StoreUrl};
use crate::domain::CampaignSpec;
use crate::model::{
    ApiKey, CampaignId, CommissionTerms, DEFAULT_ATTRIBUTION_WINDOW, Grant, KeyId, Merchant,
    MerchantId, ReviewDecision, Role,
};
use crate::policy;
use crate::startup::{Application, open_store};

use super::demo::{DemoClock, DemoDay, seed_day};

/// `cartclick serve`: where and how to run.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeCommand {
    /// Where and how to run.
    #[command(flatten)]
    args: ServeArgs,
    /// Quick start: seed a demo merchant, an approved demo campaign and
    /// API keys for every role, and print them (memory store only).
    #[arg(long)]
    dev: bool,
}

/// Builds the server from the config (and the demo, with `--dev`) and
/// serves until a shutdown signal.
pub(super) async fn serve(command: ServeCommand) -> Result<(), String> {
    let ServeCommand { args, dev } = command;
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
    let clock = Arc::new(DemoClock::default());
    let app = if dev {
        // The demo day is seeded at its own instants: see `cli::demo`.
        let store = open_store(&config).await.map_err(|e| e.to_string())?;
        Application::build_with(config, store, clock.clone()).await
    } else {
        Application::build(config).await
    }
    .map_err(|e| e.to_string())?;
    if let Some(keys) = printed {
        seed_demo(&app).await?;
        let day = seed_day(
            &app.domain(),
            &clock,
            DEMO_MERCHANT,
            DEMO_CAMPAIGN,
            chrono::Utc::now(),
        )
        .await?;
        println!(
            "{}",
            dev_banner(&app.local_addr().to_string(), app.http_addr(), &keys, &day)
        );
    }
    app.run_until_stopped(shutdown)
        .await
        .map_err(|e| e.to_string())
}

/// The demo merchant of `serve --dev`.
const DEMO_MERCHANT: &str = "demo-shop";
/// The demo merchant's approved campaign.
const DEMO_CAMPAIGN: &str = "demo-campaign";
/// The demo merchant's registered domain.
const DEMO_DOMAIN: &str = "shop.example";

/// Fresh random keys, one per role, and how to print them.
fn dev_keys() -> (Vec<ApiKey>, Vec<(Role, String)>) {
    let grants = [
        Grant::Feed,
        Grant::Merchant(MerchantId::stored(DEMO_MERCHANT)),
        Grant::Dashboard,
        Grant::Admin,
    ];
    let mut keys = Vec::new();
    let mut secrets = Vec::new();
    for grant in grants {
        let role = grant.role();
        let secret = format!(
            "dev-{}-{}",
            role.as_str(),
            URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>())
        );
        keys.push(ApiKey {
            id: KeyId::stored(format!("dev-{}", role.as_str())),
            grant,
            sha256: secret_sha256(&secret),
        });
        secrets.push((role, secret));
    }
    (keys, secrets)
}

/// Registers the demo merchant and its campaign, approved.
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
            terms: CommissionTerms {
                rate_bps: 1_000,
                holding_period: policy::DEFAULT_HOLDING_PERIOD,
            },
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

/// What `--dev` prints: the demo, then `export` lines (the server's
/// addresses and a key per role) to paste into another terminal, where
/// README's quick start runs as written.
fn dev_banner(
    addr: &str,
    http: Option<std::net::SocketAddr>,
    keys: &[(Role, String)],
    day: &DemoDay,
) -> String {
    let mut out = format!(
        "cartclick dev server: gRPC on {addr}{http} (memory store: nothing is kept after exit)\n\
         demo merchant {DEMO_MERCHANT} (https://{DEMO_DOMAIN}), approved campaign {DEMO_CAMPAIGN} \
         paying 10 % commission\n\
         demo day: {taps} taps and {sales} sales since yesterday, a refund, a held commission, \
         a payout\n\
         paste these into another terminal (the keys live as long as this process), \
         then follow README's quick start:\n\
         export CARTCLICK_SERVER=http://{addr}\n",
        http = http.map_or_else(String::new, |http| format!(", HTTP/JSON on {http}")),
        taps = day.taps,
        sales = day.sales,
    );
    if let Some(http) = http {
        out.push_str(&format!("export CARTCLICK_HTTP=http://{http}\n"));
    }
    for (role, secret) in keys {
        out.push_str(&format!(
            "export {}_KEY={secret}\n",
            role.as_str().to_ascii_uppercase()
        ));
    }
    // The fragment never reaches a server; the page keeps the key in the
    // tab only and clears it from the address bar.
    let dashboard = keys.iter().find(|(role, _)| *role == Role::Dashboard);
    if let (Some(http), Some((_, secret))) = (http, dashboard) {
        out.push_str(&format!("dashboard: http://{http}/#key={secret}\n"));
    }
    out.pop();
    out
}

/// A future that completes on SIGTERM or Ctrl-C. The handlers are installed
/// here, before the server starts, not when the future is first polled: a
/// signal that arrives while the server is still starting must not kill the
/// process outright.
pub(crate) fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send, String> {
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
