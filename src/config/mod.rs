//! Configuration: one [`Config`] from the TOML file, the environment and the
//! flags (flag over env over file over default), validated once at start. An
//! invalid config is a [`ConfigError`] whose one line names the setting.
//! Tests build a `Config` directly and never touch the process environment.
//!
//! The files: `file` (the TOML as written), `checks` (each setting from
//! what is written to what the server runs with, or the error naming it)
//! and `store_url` (`--store`); this one holds the `Config` itself, its
//! defaults and the order in which its settings are read.

mod checks;
mod file;
mod store_url;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use crate::model::ApiKey;
use crate::model::FraudRules;
use crate::model::Retention;
use crate::policy::CategoryRules;
use crate::privacy::{MIN_PEPPER_LEN, ViewerPepper};
use crate::token::KeyRing;

pub use store_url::StoreUrl;

use checks::{above_zero, days, decode_secret, hours, millis, secs};
use file::FileConfig;

/// Default listen address (API.md).
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// Default address of the HTTP/JSON API; `http_listen = "off"` turns it off.
pub(crate) const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";

/// The largest request message accepted: every request of the contract is
/// far smaller (ids of 128 bytes, URLs of 2048); bigger is OUT_OF_RANGE.
/// Not a setting: a limit of the contract, passed down to both transports.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// A configuration problem, one line, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    /// The problem `problem` with the setting `setting`.
    fn at(setting: impl std::fmt::Display, problem: impl std::fmt::Display) -> Self {
        ConfigError(format!("{setting}: {problem}"))
    }
}

/// The platform's rules, from `[policy]`.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Prohibited and age-restricted categories, as slugs.
    pub categories: CategoryRules,
    /// A repeat tap inside this window returns the same click.
    pub dedup_window: Duration,
    /// Taps a viewer may make a minute, across all replicas.
    pub tap_rate_limit_per_minute: NonZeroU32,
    /// How far a token's issue time may lie in the future of a sale (clocks
    /// of replicas disagree a little); a sale before its click beyond this
    /// is TOKEN_INVALID.
    pub clock_skew: Duration,
    /// The fraud signals' thresholds (`[fraud]`); `None` when they are
    /// off: nothing is flagged and nothing extra is written.
    pub fraud: Option<FraudRules>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            categories: CategoryRules::default(),
            dedup_window: Duration::from_secs(1800),
            tap_rate_limit_per_minute: NonZeroU32::new(60).expect("not zero"),
            clock_skew: Duration::from_secs(300),
            fraud: Some(FraudRules::default()),
        }
    }
}

/// The validated configuration of a server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Address of the HTTP/JSON API for merchants; `None` when turned off.
    pub http_listen: Option<SocketAddr>,
    /// Browser origins (`https://dash.example`, or `*` for any) whose pages
    /// may call the gRPC-Web API; empty allows none but the server's own.
    pub grpc_web_origins: Vec<String>,
    /// The store to run on.
    pub store: StoreUrl,
    /// Longest a store call may take before the RPC answers STORE_UNAVAILABLE.
    pub store_timeout: Duration,
    /// Longest in-flight calls get to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Calls in flight at once before new ones are shed (RATE_LIMITED).
    pub max_concurrent_requests: NonZeroUsize,
    /// Longest a call may run; a shorter client `grpc-timeout` wins.
    pub request_timeout: Duration,
    /// Longest a request's body may take to arrive once its headers have:
    /// a call holds a concurrency permit only once its body is in.
    pub body_read_timeout: Duration,
    /// Longest an HTTP/1.1 client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// Streams (calls) one HTTP/2 connection may have open at once.
    pub max_concurrent_streams: NonZeroU32,
    /// Connections are closed (gracefully) after this long, so clients
    /// reconnect and load spreads over new replicas behind a Service.
    pub max_connection_age: Duration,
    /// Token signing keys; `None` lets the memory store make an ephemeral one.
    pub signing_keys: Option<KeyRing>,
    /// Keys the viewer-id hash; `None` lets the memory store make an ephemeral one.
    pub viewer_pepper: Option<ViewerPepper>,
    /// Bootstrap API keys from the config file.
    pub api_keys: Vec<ApiKey>,
    /// The platform's rules.
    pub policy: Policy,
    /// How long counter buckets are kept.
    pub retention: Retention,
    /// Hot merchants spread over this many Redis shards (hash tags), from
    /// `[merchant_shards]`; absent merchants use one.
    pub merchant_shards: HashMap<String, u16>,
    /// Events not yet folded into the counters a shard may hold before its
    /// taps are refused (STORE_UNAVAILABLE); sales and the rest never are.
    pub max_unfolded_events: NonZeroU64,
    /// One info line per RPC (method, status, reason, duration, key and
    /// merchant): on unless turned off (`--no-access-log`,
    /// `CARTCLICK_ACCESS_LOG=false`, `access_log = false`).
    pub access_log: bool,
    /// How long an SSE stream (`GET /v1/counters:watch`) may stay quiet
    /// before a `: keep-alive` comment goes out, so proxies keep it open.
    /// Not in the file (15 s suits every proxy); tests shorten it.
    pub sse_keep_alive: Duration,
}

impl Default for Config {
    /// The quick-start configuration: memory store on the default address, no keys.
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("the default address parses"),
            http_listen: Some(
                DEFAULT_HTTP_LISTEN
                    .parse()
                    .expect("the default address parses"),
            ),
            grpc_web_origins: Vec::new(),
            store: StoreUrl::Memory,
            store_timeout: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(10),
            max_concurrent_requests: NonZeroUsize::new(1024).expect("not zero"),
            request_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(2),
            header_read_timeout: Duration::from_secs(5),
            max_concurrent_streams: NonZeroU32::new(256).expect("not zero"),
            max_connection_age: Duration::from_secs(300),
            signing_keys: None,
            viewer_pepper: None,
            api_keys: Vec::new(),
            policy: Policy::default(),
            retention: Retention::default(),
            merchant_shards: HashMap::new(),
            max_unfolded_events: NonZeroU64::new(crate::store::redis::MAX_UNFOLDED_EVENTS)
                .unwrap_or(NonZeroU64::MIN),
            access_log: true,
            sse_keep_alive: Duration::from_secs(15),
        }
    }
}

/// Flags (and their environment variables) of `cartclick serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ServeArgs {
    /// TOML config file.
    #[arg(long, env = "CARTCLICK_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long, env = "CARTCLICK_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Address of the HTTP/JSON API, or "off" [default: 127.0.0.1:8080].
    #[arg(long, env = "CARTCLICK_HTTP_LISTEN", value_name = "ADDR")]
    pub(crate) http_listen: Option<String>,
    /// Store URL: memory://, redis://host:port/db, rediss://…, redis+cluster://h:p,h:p [default: memory://].
    #[arg(long, env = "CARTCLICK_STORE", value_name = "URL")]
    pub(crate) store: Option<String>,
    /// Write no access-log line per RPC [default: one info line each].
    #[arg(long)]
    pub(crate) no_access_log: bool,
    /// Whether to write one access-log line per RPC (true or false)
    /// [default: true].
    #[arg(
        long,
        env = "CARTCLICK_ACCESS_LOG",
        value_name = "BOOL",
        conflicts_with = "no_access_log"
    )]
    pub(crate) access_log: Option<bool>,
}

impl Config {
    /// Loads the file named by the flags (if any) and applies the flags over it.
    pub(crate) fn load(args: &ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => file::read(path)?,
            None => FileConfig::default(),
        };
        Config::from_parts(file, args)
    }

    /// Parses config file text (flags empty): for tests and `--check`.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Config::from_parts(file::parse(text)?, &ServeArgs::default())
    }

    /// The file's settings under the flags', checked in the order they are
    /// written here: the first problem found is the one reported.
    fn from_parts(file: FileConfig, args: &ServeArgs) -> Result<Config, ConfigError> {
        let defaults = Config::default();
        let listen = match args.listen.as_deref().or(file.listen.as_deref()) {
            Some(raw) => raw.parse().map_err(|_| {
                ConfigError::at("listen", format!("not an ip:port address: {raw:?}"))
            })?,
            None => defaults.listen,
        };
        let http_listen = match args.http_listen.as_deref().or(file.http_listen.as_deref()) {
            Some("off") => None,
            Some(raw) => Some(raw.parse().map_err(|_| {
                ConfigError::at(
                    "http_listen",
                    format!("not an ip:port address or \"off\": {raw:?}"),
                )
            })?),
            None => defaults.http_listen,
        };
        let grpc_web_origins = checks::origins(file.grpc_web_origins)?;
        let store = match args.store.as_deref().or(file.store.as_deref()) {
            Some(raw) => StoreUrl::parse(raw)?,
            None => StoreUrl::Memory,
        };
        let store_timeout =
            millis("store_timeout_ms", file.store_timeout_ms)?.unwrap_or(defaults.store_timeout);
        // 0 is allowed: in-flight calls are cut at once.
        let shutdown_grace = file
            .shutdown_grace_seconds
            .map_or(defaults.shutdown_grace, Duration::from_secs);
        let max_concurrent_requests =
            above_zero::<NonZeroUsize, _>("max_concurrent_requests", file.max_concurrent_requests)?
                .unwrap_or(defaults.max_concurrent_requests);
        let request_timeout = millis("request_timeout_ms", file.request_timeout_ms)?
            .unwrap_or(defaults.request_timeout);
        let body_read_timeout = millis("body_read_timeout_ms", file.body_read_timeout_ms)?
            .unwrap_or(defaults.body_read_timeout);
        let header_read_timeout = millis("header_read_timeout_ms", file.header_read_timeout_ms)?
            .unwrap_or(defaults.header_read_timeout);
        let max_concurrent_streams =
            above_zero::<NonZeroU32, _>("max_concurrent_streams", file.max_concurrent_streams)?
                .unwrap_or(defaults.max_concurrent_streams);
        let max_connection_age = secs(
            "max_connection_age_seconds",
            file.max_connection_age_seconds,
        )?
        .unwrap_or(defaults.max_connection_age);
        let viewer_pepper = file
            .viewer_pepper_base64
            .as_deref()
            .map(|b64| {
                let secret = decode_secret("viewer_pepper_base64", b64, MIN_PEPPER_LEN)?;
                Ok::<_, ConfigError>(ViewerPepper::new(&secret))
            })
            .transpose()?;
        let signing_keys = checks::signing_keys(file.signing_keys)?;
        let api_keys = checks::api_keys(file.api_keys)?;
        let policy = checks::policy(file.policy, file.fraud)?;
        let retention = Retention {
            hourly: days(
                "retention.hourly_days",
                file.retention.hourly_days,
                defaults.retention.hourly,
            )?,
            daily: days(
                "retention.daily_days",
                file.retention.daily_days,
                defaults.retention.daily,
            )?,
            orders: days(
                "retention.orders_days",
                file.retention.orders_days,
                defaults.retention.orders,
            )?,
            events_max_len: above_zero::<NonZeroU64, _>(
                "retention.events_max_len",
                file.retention.events_max_len,
            )?
            .map_or(defaults.retention.events_max_len, NonZeroU64::get),
            events_max_age: hours(
                "retention.events_max_age_hours",
                file.retention.events_max_age_hours,
            )?,
            payouts: days(
                "retention.payouts_days",
                file.retention.payouts_days,
                defaults.retention.payouts,
            )?,
        };
        Ok(Config {
            listen,
            http_listen,
            grpc_web_origins,
            store,
            store_timeout,
            shutdown_grace,
            max_concurrent_requests,
            request_timeout,
            body_read_timeout,
            header_read_timeout,
            max_concurrent_streams,
            max_connection_age,
            signing_keys,
            viewer_pepper,
            api_keys,
            policy,
            retention,
            merchant_shards: checks::merchant_shards(file.merchant_shards)?,
            max_unfolded_events: above_zero::<NonZeroU64, _>(
                "max_unfolded_events",
                file.max_unfolded_events,
            )?
            .unwrap_or(defaults.max_unfolded_events),
            access_log: !args.no_access_log
                && args
                    .access_log
                    .or(file.access_log)
                    .unwrap_or(defaults.access_log),
            sse_keep_alive: defaults.sse_keep_alive,
        })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;

    use super::*;

    fn secret_b64() -> String {
        BASE64.encode([7u8; 32])
    }

    #[test]
    fn the_example_config_of_the_contract_loads() {
        let text = format!(
            r#"
viewer_pepper_base64 = "{s}"
[[signing_keys]]
kid = "k1"
secret_base64 = "{s}"
active = true
[[api_keys]]
id = "feed-1"
role = "feed"
sha256 = "{h}"
[[api_keys]]
id = "shop-1"
role = "merchant"
merchant_id = "m-1"
sha256 = "{h2}"
[policy]
prohibited_categories = ["alcohol", "tobacco"]
age_restricted_categories = ["Energy Drinks"]
dedup_window_seconds = 1800
tap_rate_limit_per_minute = 60
"#,
            s = secret_b64(),
            h = "a".repeat(64),
            h2 = "b".repeat(64),
        );
        let config = Config::from_toml(&text).expect("valid");
        assert_eq!(config.api_keys.len(), 2);
        assert_eq!(
            config.api_keys[1].grant,
            crate::model::Grant::Merchant(crate::model::MerchantId::stored("m-1"))
        );
        assert!(config.policy.categories.is_age_restricted("energy-drinks"));
        assert!(config.signing_keys.is_some());
        assert_eq!(config.store, StoreUrl::Memory);
    }

    #[test]
    fn unknown_keys_are_an_error_naming_the_key() {
        let err = Config::from_toml("listen_addr = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen_addr"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
        let err = Config::from_toml("[policy]\nfoo = 1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("foo"), "{err}");
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let cases = [
            (
                "viewer_pepper_base64 = \"c2hvcnQ=\"",
                "viewer_pepper_base64",
            ),
            ("store = \"postgres://x\"", "store"),
            ("listen = \"nope\"", "listen"),
            ("http_listen = \"8080\"", "http_listen"),
            ("body_read_timeout_ms = 0", "body_read_timeout_ms"),
            ("header_read_timeout_ms = 0", "header_read_timeout_ms"),
            ("max_concurrent_streams = 0", "max_concurrent_streams"),
            ("max_unfolded_events = 0", "max_unfolded_events"),
            (
                "grpc_web_origins = [\"*\", \"https://dash.example/app\"]",
                "grpc_web_origins[1]",
            ),
            (
                "grpc_web_origins = [\"dash.example\"]",
                "grpc_web_origins[0]",
            ),
            (
                "[policy]\ndedup_window_seconds = 0",
                "policy.dedup_window_seconds",
            ),
            ("[retention]\npayouts_days = 0", "retention.payouts_days"),
            (
                "[fraud]\nmax_creator_taps_per_minute = 0",
                "fraud.max_creator_taps_per_minute",
            ),
            (
                "[fraud]\nmax_creators_per_viewer_per_hour = 1001",
                "fraud.max_creators_per_viewer_per_hour",
            ),
            (
                "[fraud]\nmin_click_to_sale_seconds = 86401",
                "fraud.min_click_to_sale_seconds",
            ),
            (
                "[retention]\npayouts_days = 100000",
                "retention.payouts_days",
            ),
            (
                "[[api_keys]]\nid = \"a\"\nrole = \"root\"\nsha256 = \"\"",
                "api_keys[0].role",
            ),
            (
                "[[api_keys]]\nid = \"a\"\nrole = \"merchant\"\nsha256 = \"aa\"",
                "api_keys[0].sha256",
            ),
        ];
        for (text, setting) in cases {
            let err = Config::from_toml(text).unwrap_err().to_string();
            assert!(err.starts_with(setting), "{text:?} gave {err:?}");
        }
    }

    #[test]
    fn fraud_signals_are_on_by_default_with_the_contracts_thresholds() {
        let default = Config::from_toml("").unwrap();
        assert_eq!(default.policy.fraud, Some(FraudRules::default()));
        let rules = default.policy.fraud.unwrap();
        assert_eq!(rules.max_creator_taps_per_minute.get(), 600);
        assert_eq!(rules.max_creators_per_viewer_per_hour.get(), 10);
        assert_eq!(rules.min_click_to_sale, Duration::from_secs(10));
        let set = Config::from_toml(
            "[fraud]\nmax_creator_taps_per_minute = 5\nmax_creators_per_viewer_per_hour = 2\nmin_click_to_sale_seconds = 0",
        )
        .unwrap()
        .policy
        .fraud
        .unwrap();
        assert_eq!(set.max_creator_taps_per_minute.get(), 5);
        assert_eq!(set.max_creators_per_viewer_per_hour.get(), 2);
        assert_eq!(set.min_click_to_sale, Duration::ZERO);
        let off = Config::from_toml("[fraud]\nenabled = false").unwrap();
        assert_eq!(off.policy.fraud, None);
    }

    #[test]
    fn the_access_log_is_on_unless_a_flag_env_or_the_file_turns_it_off() {
        assert!(Config::from_toml("").unwrap().access_log);
        assert!(!Config::from_toml("access_log = false").unwrap().access_log);
        let file = file::parse("access_log = true").unwrap();
        let flag = ServeArgs {
            no_access_log: true,
            ..ServeArgs::default()
        };
        assert!(!Config::from_parts(file, &flag).unwrap().access_log);
        let env = ServeArgs {
            access_log: Some(false),
            ..ServeArgs::default()
        };
        let file = file::parse("access_log = true").unwrap();
        assert!(!Config::from_parts(file, &env).unwrap().access_log);
    }

    #[test]
    fn the_http_api_is_on_by_default_and_can_be_moved_or_turned_off() {
        let default = Config::from_toml("").unwrap();
        assert_eq!(
            default.http_listen,
            Some(DEFAULT_HTTP_LISTEN.parse().unwrap())
        );
        let moved = Config::from_toml("http_listen = \"0.0.0.0:9090\"").unwrap();
        assert_eq!(moved.http_listen, Some("0.0.0.0:9090".parse().unwrap()));
        let off = Config::from_toml("http_listen = \"off\"").unwrap();
        assert_eq!(off.http_listen, None);
        let origins = Config::from_toml(
            "grpc_web_origins = [\"https://dash.example\", \"http://localhost:3000\"]",
        )
        .unwrap();
        assert_eq!(
            origins.grpc_web_origins,
            ["https://dash.example", "http://localhost:3000"]
        );
    }
}
