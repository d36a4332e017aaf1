//! Configuration: one [`Config`] from the TOML file, the environment and the
//! flags (flag over env over file over default), validated once at start. An
//! invalid config is a [`ConfigError`] whose one line names the setting.
//! Tests build a `Config` directly and never touch the process environment.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use crate::model::Retention;
use crate::model::{ApiKey, Grant, KeyId, MerchantId, Role};
use crate::policy::CategoryRules;
use crate::privacy::{MIN_PEPPER_LEN, ViewerPepper};
use crate::token::{KeyRing, SigningKey};

/// Default listen address (API.md).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// Default address of the HTTP/JSON API; `http_listen = "off"` turns it off.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";

/// A configuration problem, one line, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn at(setting: impl std::fmt::Display, problem: impl std::fmt::Display) -> Self {
        ConfigError(format!("{setting}: {problem}"))
    }
}

/// Which store to run on, from `--store`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `memory://`: embedded, nothing kept after exit.
    Memory,
    /// `redis://…` or `rediss://…`: one Redis server.
    Redis(String),
    /// `redis+cluster://host:port,host:port,…`: a Redis Cluster, by its seed nodes.
    RedisCluster(Vec<String>),
}

impl StoreUrl {
    /// Parses a store URL as API.md spells them.
    pub fn parse(raw: &str) -> Result<StoreUrl, ConfigError> {
        let bad = |why: &str| ConfigError::at("store", format!("{why} (got {raw:?})"));
        if let Some(rest) = raw.strip_prefix("redis+cluster://") {
            let nodes: Vec<String> = rest
                .trim_end_matches('/')
                .split(',')
                .map(|node| format!("redis://{node}"))
                .collect();
            for node in &nodes {
                let url = url::Url::parse(node).map_err(|_| bad("not a host:port list"))?;
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(bad("a cluster node has no host"));
                }
            }
            return Ok(StoreUrl::RedisCluster(nodes));
        }
        let url = url::Url::parse(raw)
            .map_err(|_| bad("must be memory://, redis://, rediss:// or redis+cluster://"))?;
        match url.scheme() {
            "memory" => Ok(StoreUrl::Memory),
            "redis" | "rediss" if url.host_str().is_some_and(|h| !h.is_empty()) => {
                Ok(StoreUrl::Redis(raw.to_owned()))
            }
            "redis" | "rediss" => Err(bad("has no host")),
            _ => Err(bad(
                "must be memory://, redis://, rediss:// or redis+cluster://",
            )),
        }
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
    pub tap_rate_limit_per_minute: u32,
    /// How far a token's issue time may lie in the future of a sale (clocks
    /// of replicas disagree a little); a sale before its click beyond this
    /// is TOKEN_INVALID.
    pub clock_skew: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            categories: CategoryRules::default(),
            dedup_window: Duration::from_secs(1800),
            tap_rate_limit_per_minute: 60,
            clock_skew: Duration::from_secs(300),
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
    pub max_concurrent_requests: usize,
    /// Longest a call may run; a shorter client `grpc-timeout` wins.
    pub request_timeout: Duration,
    /// Longest a request's body may take to arrive once its headers have:
    /// a call holds a concurrency permit only once its body is in.
    pub body_read_timeout: Duration,
    /// Longest an HTTP/1.1 client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// Streams (calls) one HTTP/2 connection may have open at once.
    pub max_concurrent_streams: u32,
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
            max_concurrent_requests: 1024,
            request_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(2),
            header_read_timeout: Duration::from_secs(5),
            max_concurrent_streams: 256,
            max_connection_age: Duration::from_secs(300),
            signing_keys: None,
            viewer_pepper: None,
            api_keys: Vec::new(),
            policy: Policy::default(),
            retention: Retention::default(),
            merchant_shards: HashMap::new(),
        }
    }
}

/// Flags (and their environment variables) of `cartclick serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML config file.
    #[arg(long, env = "CARTCLICK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long, env = "CARTCLICK_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Address of the HTTP/JSON API, or "off" [default: 127.0.0.1:8080].
    #[arg(long, env = "CARTCLICK_HTTP_LISTEN", value_name = "ADDR")]
    pub http_listen: Option<String>,
    /// Store URL: memory://, redis://host:port/db, rediss://…, redis+cluster://h:p,h:p [default: memory://].
    #[arg(long, env = "CARTCLICK_STORE", value_name = "URL")]
    pub store: Option<String>,
}

/// The config file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    http_listen: Option<String>,
    #[serde(default)]
    grpc_web_origins: Vec<String>,
    store: Option<String>,
    store_timeout_ms: Option<u64>,
    shutdown_grace_seconds: Option<u64>,
    max_concurrent_requests: Option<usize>,
    request_timeout_ms: Option<u64>,
    body_read_timeout_ms: Option<u64>,
    header_read_timeout_ms: Option<u64>,
    max_concurrent_streams: Option<u32>,
    max_connection_age_seconds: Option<u64>,
    viewer_pepper_base64: Option<String>,
    #[serde(default)]
    signing_keys: Vec<FileSigningKey>,
    #[serde(default)]
    api_keys: Vec<FileApiKey>,
    #[serde(default)]
    policy: FilePolicy,
    #[serde(default)]
    retention: FileRetention,
    #[serde(default)]
    merchant_shards: HashMap<String, u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSigningKey {
    kid: String,
    secret_base64: String,
    #[serde(default)]
    active: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileApiKey {
    id: String,
    role: String,
    sha256: String,
    merchant_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePolicy {
    prohibited_categories: Option<Vec<String>>,
    age_restricted_categories: Option<Vec<String>>,
    dedup_window_seconds: Option<u64>,
    tap_rate_limit_per_minute: Option<u32>,
    clock_skew_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetention {
    hourly_days: Option<u64>,
    daily_days: Option<u64>,
    orders_days: Option<u64>,
    events_max_len: Option<u64>,
    events_max_age_hours: Option<u64>,
}

impl Config {
    /// Loads the file named by the flags (if any) and applies the flags over it.
    pub fn load(args: &ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Config::from_parts(file, args)
    }

    /// Parses config file text (flags empty): for tests and `--check`.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let file = toml::from_str(text).map_err(|e| ConfigError(one_line(&e.to_string())))?;
        Config::from_parts(file, &ServeArgs::default())
    }

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
        let grpc_web_origins = origins(file.grpc_web_origins)?;
        let store = match args.store.as_deref().or(file.store.as_deref()) {
            Some(raw) => StoreUrl::parse(raw)?,
            None => StoreUrl::Memory,
        };
        let store_timeout = match file.store_timeout_ms {
            Some(0) => return Err(ConfigError::at("store_timeout_ms", "must be above 0")),
            Some(ms) => Duration::from_millis(ms),
            None => defaults.store_timeout,
        };
        let shutdown_grace = file
            .shutdown_grace_seconds
            .map_or(defaults.shutdown_grace, Duration::from_secs);
        let max_concurrent_requests = match file.max_concurrent_requests {
            Some(0) => {
                return Err(ConfigError::at(
                    "max_concurrent_requests",
                    "must be above 0",
                ));
            }
            Some(n) => n,
            None => defaults.max_concurrent_requests,
        };
        let request_timeout = match file.request_timeout_ms {
            Some(0) => return Err(ConfigError::at("request_timeout_ms", "must be above 0")),
            Some(ms) => Duration::from_millis(ms),
            None => defaults.request_timeout,
        };
        let body_read_timeout = match file.body_read_timeout_ms {
            Some(0) => return Err(ConfigError::at("body_read_timeout_ms", "must be above 0")),
            Some(ms) => Duration::from_millis(ms),
            None => defaults.body_read_timeout,
        };
        let header_read_timeout = match file.header_read_timeout_ms {
            Some(0) => {
                return Err(ConfigError::at("header_read_timeout_ms", "must be above 0"));
            }
            Some(ms) => Duration::from_millis(ms),
            None => defaults.header_read_timeout,
        };
        let max_concurrent_streams = match file.max_concurrent_streams {
            Some(0) => {
                return Err(ConfigError::at("max_concurrent_streams", "must be above 0"));
            }
            Some(n) => n,
            None => defaults.max_concurrent_streams,
        };
        let max_connection_age = match file.max_connection_age_seconds {
            Some(0) => {
                return Err(ConfigError::at(
                    "max_connection_age_seconds",
                    "must be above 0",
                ));
            }
            Some(secs) => Duration::from_secs(secs),
            None => defaults.max_connection_age,
        };
        let viewer_pepper = file
            .viewer_pepper_base64
            .as_deref()
            .map(|b64| {
                let secret = decode_secret("viewer_pepper_base64", b64, MIN_PEPPER_LEN)?;
                Ok::<_, ConfigError>(ViewerPepper::new(&secret))
            })
            .transpose()?;
        let signing_keys = signing_keys(file.signing_keys)?;
        let api_keys = api_keys(file.api_keys)?;
        let policy = policy(file.policy)?;
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
            events_max_len: match file.retention.events_max_len {
                Some(0) => {
                    return Err(ConfigError::at(
                        "retention.events_max_len",
                        "must be above 0",
                    ));
                }
                Some(n) => n,
                None => defaults.retention.events_max_len,
            },
            events_max_age: match file.retention.events_max_age_hours {
                Some(0) => {
                    return Err(ConfigError::at(
                        "retention.events_max_age_hours",
                        "must be above 0",
                    ));
                }
                Some(hours) => Some(Duration::from_secs(hours * 3600)),
                None => None,
            },
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
            merchant_shards: merchant_shards(file.merchant_shards)?,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::at("config", format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        ConfigError(format!(
            "config {}: {}",
            path.display(),
            one_line(&e.to_string())
        ))
    })
}

/// toml's errors span several lines with a source excerpt; keep the message
/// and the location.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with('|')
                && !line.chars().all(|c| c == '^' || c == ' ')
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn decode_secret(setting: &str, b64: &str, min_len: usize) -> Result<Vec<u8>, ConfigError> {
    let secret = BASE64
        .decode(b64.trim())
        .map_err(|_| ConfigError::at(setting, "is not valid base64"))?;
    if secret.len() < min_len {
        return Err(ConfigError::at(
            setting,
            format!(
                "must decode to at least {min_len} bytes, got {}",
                secret.len()
            ),
        ));
    }
    Ok(secret)
}

fn signing_keys(keys: Vec<FileSigningKey>) -> Result<Option<KeyRing>, ConfigError> {
    if keys.is_empty() {
        return Ok(None);
    }
    let mut ring = Vec::with_capacity(keys.len());
    for (i, key) in keys.into_iter().enumerate() {
        let secret = decode_secret(
            &format!("signing_keys[{i}].secret_base64"),
            &key.secret_base64,
            crate::token::MIN_SECRET_LEN,
        )?;
        ring.push(SigningKey {
            kid: key.kid,
            secret,
            active: key.active,
        });
    }
    KeyRing::new(ring)
        .map(Some)
        .map_err(|e| ConfigError::at("signing_keys", e))
}

fn api_keys(keys: Vec<FileApiKey>) -> Result<Vec<ApiKey>, ConfigError> {
    let mut out: Vec<ApiKey> = Vec::with_capacity(keys.len());
    for (i, key) in keys.into_iter().enumerate() {
        let at = |field: &str| format!("api_keys[{i}].{field}");
        let id = KeyId::parse("id", key.id).map_err(|e| ConfigError::at(at("id"), e))?;
        let role: Role = key.role.parse().map_err(|_| {
            ConfigError::at(at("role"), "must be feed, merchant, dashboard or admin")
        })?;
        let sha256: [u8; 32] = hex::decode(key.sha256.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| ConfigError::at(at("sha256"), "must be 64 hex digits"))?;
        let grant = match (role, key.merchant_id) {
            (Role::Merchant, None) => {
                return Err(ConfigError::at(
                    at("merchant_id"),
                    "is required for role merchant",
                ));
            }
            (Role::Merchant, Some(merchant_id)) => Grant::Merchant(
                MerchantId::parse("merchant_id", merchant_id)
                    .map_err(|e| ConfigError::at(at("merchant_id"), e))?,
            ),
            (_, Some(_)) => {
                return Err(ConfigError::at(
                    at("merchant_id"),
                    "is only for role merchant",
                ));
            }
            (Role::Feed, None) => Grant::Feed,
            (Role::Dashboard, None) => Grant::Dashboard,
            (Role::Admin, None) => Grant::Admin,
        };
        if out.iter().any(|k| k.id == id) {
            return Err(ConfigError::at(
                at("id"),
                format!("duplicate key id {:?}", id.as_str()),
            ));
        }
        if out.iter().any(|k| k.sha256 == sha256) {
            return Err(ConfigError::at(
                at("sha256"),
                "the same secret is used by another key",
            ));
        }
        out.push(ApiKey { id, grant, sha256 });
    }
    Ok(out)
}

fn policy(file: FilePolicy) -> Result<Policy, ConfigError> {
    let defaults = Policy::default();
    let prohibited = file
        .prohibited_categories
        .unwrap_or_else(|| defaults.categories.prohibited.iter().cloned().collect());
    let age_restricted = file.age_restricted_categories.unwrap_or_default();
    for (setting, list) in [
        ("policy.prohibited_categories", &prohibited),
        ("policy.age_restricted_categories", &age_restricted),
    ] {
        if let Some(bad) = list
            .iter()
            .find(|c| crate::policy::category_slug(c).is_empty())
        {
            return Err(ConfigError::at(
                setting,
                format!("{bad:?} is not a category"),
            ));
        }
    }
    let dedup_window = match file.dedup_window_seconds {
        Some(0) => {
            return Err(ConfigError::at(
                "policy.dedup_window_seconds",
                "must be above 0",
            ));
        }
        Some(secs) if secs > 86_400 => {
            return Err(ConfigError::at(
                "policy.dedup_window_seconds",
                "must be at most 86400",
            ));
        }
        Some(secs) => Duration::from_secs(secs),
        None => defaults.dedup_window,
    };
    let tap_rate_limit_per_minute = match file.tap_rate_limit_per_minute {
        Some(0) => {
            return Err(ConfigError::at(
                "policy.tap_rate_limit_per_minute",
                "must be above 0",
            ));
        }
        Some(limit) => limit,
        None => defaults.tap_rate_limit_per_minute,
    };
    let clock_skew = match file.clock_skew_seconds {
        Some(secs) if secs > 3600 => {
            return Err(ConfigError::at(
                "policy.clock_skew_seconds",
                "must be at most 3600",
            ));
        }
        Some(secs) => Duration::from_secs(secs),
        None => defaults.clock_skew,
    };
    Ok(Policy {
        categories: CategoryRules::new(&prohibited, &age_restricted),
        dedup_window,
        tap_rate_limit_per_minute,
        clock_skew,
    })
}

/// Most shards one merchant may be spread over.
const MAX_SHARDS: u16 = 64;

fn merchant_shards(shards: HashMap<String, u16>) -> Result<HashMap<String, u16>, ConfigError> {
    for (merchant, count) in &shards {
        let setting = format!("merchant_shards.{merchant}");
        crate::policy::validate_id("merchant_id", merchant)
            .map_err(|e| ConfigError::at(&setting, e))?;
        if !(1..=MAX_SHARDS).contains(count) {
            return Err(ConfigError::at(
                setting,
                format!("must be 1 to {MAX_SHARDS}"),
            ));
        }
    }
    Ok(shards)
}

/// Browser origins for gRPC-Web: `*`, or each a bare origin
/// (`scheme://host[:port]`, nothing after it), as browsers send it.
fn origins(origins: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for (i, origin) in origins.iter().enumerate() {
        if origin == "*" {
            continue;
        }
        let bare = url::Url::parse(origin)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .map(|url| url.origin().ascii_serialization())
            .is_some_and(|serialized| serialized == *origin);
        if !bare {
            return Err(ConfigError::at(
                format!("grpc_web_origins[{i}]"),
                format!("not \"*\" or an origin like https://dash.example: {origin:?}"),
            ));
        }
    }
    Ok(origins)
}

fn days(setting: &str, value: Option<u64>, default: Duration) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(0) => Err(ConfigError::at(setting, "must be above 0")),
        Some(d) if d > 3650 => Err(ConfigError::at(setting, "must be at most 3650")),
        Some(d) => Ok(Duration::from_secs(d * 86_400)),
    }
}

#[cfg(test)]
mod tests {
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
            Grant::Merchant(MerchantId::stored("m-1"))
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

    #[test]
    fn merchant_keys_need_a_merchant_and_others_must_not_have_one() {
        let h = "c".repeat(64);
        let err = Config::from_toml(&format!(
            "[[api_keys]]\nid = \"a\"\nrole = \"merchant\"\nsha256 = \"{h}\""
        ))
        .unwrap_err();
        assert!(err.to_string().starts_with("api_keys[0].merchant_id"));
        let err = Config::from_toml(&format!(
            "[[api_keys]]\nid = \"a\"\nrole = \"feed\"\nmerchant_id = \"m\"\nsha256 = \"{h}\""
        ))
        .unwrap_err();
        assert!(err.to_string().starts_with("api_keys[0].merchant_id"));
    }

    #[test]
    fn store_urls_parse_as_the_contract_spells_them() {
        assert_eq!(StoreUrl::parse("memory://").unwrap(), StoreUrl::Memory);
        assert!(matches!(
            StoreUrl::parse("redis://127.0.0.1:6379/0").unwrap(),
            StoreUrl::Redis(_)
        ));
        assert!(matches!(
            StoreUrl::parse("rediss://cache.internal:6380").unwrap(),
            StoreUrl::Redis(_)
        ));
        assert_eq!(
            StoreUrl::parse("redis+cluster://10.0.0.1:7000,10.0.0.2:7000").unwrap(),
            StoreUrl::RedisCluster(vec![
                "redis://10.0.0.1:7000".into(),
                "redis://10.0.0.2:7000".into()
            ])
        );
        assert!(StoreUrl::parse("mysql://x").is_err());
        assert!(StoreUrl::parse("redis://").is_err());
    }
}
