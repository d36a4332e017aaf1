//! The config file as written: TOML into plain structs whose fields are
//! the keys of README.md's example, unknown keys refused. Nothing here
//! checks a value; `checks` does, naming the key.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::ConfigError;

/// The config file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) listen: Option<String>,
    pub(super) http_listen: Option<String>,
    #[serde(default)]
    pub(super) grpc_web_origins: Vec<String>,
    pub(super) store: Option<String>,
    pub(super) store_timeout_ms: Option<u64>,
    pub(super) shutdown_grace_seconds: Option<u64>,
    pub(super) max_concurrent_requests: Option<usize>,
    pub(super) request_timeout_ms: Option<u64>,
    pub(super) body_read_timeout_ms: Option<u64>,
    pub(super) header_read_timeout_ms: Option<u64>,
    pub(super) max_concurrent_streams: Option<u32>,
    pub(super) max_connection_age_seconds: Option<u64>,
    pub(super) access_log: Option<bool>,
    pub(super) max_unfolded_events: Option<u64>,
    pub(super) viewer_pepper_base64: Option<String>,
    #[serde(default)]
    pub(super) signing_keys: Vec<FileSigningKey>,
    #[serde(default)]
    pub(super) api_keys: Vec<FileApiKey>,
    #[serde(default)]
    pub(super) policy: FilePolicy,
    #[serde(default)]
    pub(super) retention: FileRetention,
    #[serde(default)]
    pub(super) fraud: FileFraud,
    #[serde(default)]
    pub(super) merchant_shards: HashMap<String, u16>,
}

/// One `[[signing_keys]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSigningKey {
    pub(super) kid: String,
    pub(super) secret_base64: String,
    #[serde(default)]
    pub(super) active: bool,
}

/// One `[[api_keys]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileApiKey {
    pub(super) id: String,
    pub(super) role: String,
    pub(super) sha256: String,
    pub(super) merchant_id: Option<String>,
}

/// The `[policy]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilePolicy {
    pub(super) prohibited_categories: Option<Vec<String>>,
    pub(super) age_restricted_categories: Option<Vec<String>>,
    pub(super) dedup_window_seconds: Option<u64>,
    pub(super) tap_rate_limit_per_minute: Option<u32>,
    pub(super) clock_skew_seconds: Option<u64>,
}

/// The `[retention]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRetention {
    pub(super) hourly_days: Option<u64>,
    pub(super) daily_days: Option<u64>,
    pub(super) orders_days: Option<u64>,
    pub(super) events_max_len: Option<u64>,
    pub(super) events_max_age_hours: Option<u64>,
    pub(super) payouts_days: Option<u64>,
}

/// The `[fraud]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileFraud {
    pub(super) enabled: Option<bool>,
    pub(super) max_creator_taps_per_minute: Option<u32>,
    pub(super) max_creators_per_viewer_per_hour: Option<u32>,
    pub(super) min_click_to_sale_seconds: Option<u64>,
}

/// Reads and parses the file at `path`; an error names the file.
pub(super) fn read(path: &Path) -> Result<FileConfig, ConfigError> {
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

/// Parses config file text.
pub(super) fn parse(text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError(one_line(&e.to_string())))
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
