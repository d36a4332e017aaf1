//! One function a setting or table: each turns what the file says into the
//! value [`super::Config`] holds, or a [`ConfigError`] naming the setting.
//! Settings that cannot be 0 go through a `NonZero` type; the bounds of
//! the dedup window and the clock skew are said in seconds, as their keys
//! are, and in words (humantime).

use std::collections::HashMap;
use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::file::{FileApiKey, FileFraud, FilePolicy, FileSigningKey};
use super::{ConfigError, Policy};
use crate::model::FraudRules;
use crate::model::access::GrantMismatch;
use crate::model::{ApiKey, Grant, KeyId, MerchantId, Role};
use crate::policy::{CategoryRules, MAX_CLICK_TO_SALE, MAX_CREATORS_PER_VIEWER_LIMIT};
use crate::token::{KeyRing, SigningKey};

/// Most shards one merchant may be spread over.
pub(super) const MAX_SHARDS: u16 = 64;
/// The longest a retention in days may be.
const MAX_DAYS: u64 = 3650;
/// The longest dedup window.
const MAX_DEDUP_WINDOW: Duration = Duration::from_secs(86_400);
/// The largest clock skew allowed between a token and a sale.
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(3600);

/// A setting that cannot be 0, as the `NonZero` type `N`: `None` when the
/// file leaves it out.
pub(super) fn above_zero<N: TryFrom<T>, T>(
    setting: &str,
    value: Option<T>,
) -> Result<Option<N>, ConfigError> {
    value
        .map(|v| N::try_from(v).map_err(|_| ConfigError::at(setting, "must be above 0")))
        .transpose()
}

/// A duration in milliseconds that cannot be 0.
pub(super) fn millis(setting: &str, value: Option<u64>) -> Result<Option<Duration>, ConfigError> {
    Ok(above_zero::<NonZeroU64, _>(setting, value)?.map(|ms| Duration::from_millis(ms.get())))
}

/// A duration in seconds that cannot be 0.
pub(super) fn secs(setting: &str, value: Option<u64>) -> Result<Option<Duration>, ConfigError> {
    Ok(above_zero::<NonZeroU64, _>(setting, value)?.map(|s| Duration::from_secs(s.get())))
}

/// `value`, unless it is longer than `max`: then an error giving the bound
/// in seconds (the unit of the key) and in words.
fn at_most(setting: &str, value: Duration, max: Duration) -> Result<Duration, ConfigError> {
    if value > max {
        return Err(ConfigError::at(
            setting,
            format!(
                "must be at most {} ({})",
                max.as_secs(),
                humantime::format_duration(max)
            ),
        ));
    }
    Ok(value)
}

/// A retention in days: 1 to [`MAX_DAYS`].
pub(super) fn days(
    setting: &str,
    value: Option<u64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match above_zero::<NonZeroU64, _>(setting, value)? {
        None => Ok(default),
        Some(d) if d.get() > MAX_DAYS => Err(ConfigError::at(
            setting,
            format!("must be at most {MAX_DAYS}"),
        )),
        Some(d) => Ok(Duration::from_secs(d.get() * 86_400)),
    }
}

/// An age in hours that cannot be 0.
pub(super) fn hours(setting: &str, value: Option<u64>) -> Result<Option<Duration>, ConfigError> {
    above_zero::<NonZeroU64, _>(setting, value)?
        .map(|h| {
            h.get()
                .checked_mul(3600)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    ConfigError::at(setting, format!("must be at most {}", u64::MAX / 3600))
                })
        })
        .transpose()
}

/// A base64 secret of at least `min_len` bytes.
pub(super) fn decode_secret(
    setting: &str,
    b64: &str,
    min_len: usize,
) -> Result<Vec<u8>, ConfigError> {
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

/// `[[signing_keys]]` as a ring; none configured is `None`.
pub(super) fn signing_keys(keys: Vec<FileSigningKey>) -> Result<Option<KeyRing>, ConfigError> {
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

/// `[[api_keys]]`: ids, roles, hashes and the merchant of merchant keys.
pub(super) fn api_keys(keys: Vec<FileApiKey>) -> Result<Vec<ApiKey>, ConfigError> {
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
        let grant = Grant::bind(
            role,
            key.merchant_id,
            |merchant_id| {
                MerchantId::parse("merchant_id", merchant_id)
                    .map_err(|e| ConfigError::at(at("merchant_id"), e))
            },
            |mismatch| {
                ConfigError::at(
                    at("merchant_id"),
                    match mismatch {
                        GrantMismatch::MerchantMissing => "is required for role merchant",
                        GrantMismatch::MerchantNotAllowed => "is only for role merchant",
                    },
                )
            },
        )?;
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

/// The `[fraud]` table over the defaults: `None` when it turns signals off.
/// Its bounds are checked even then, so turning it on later cannot fail.
fn fraud(file: FileFraud) -> Result<Option<FraudRules>, ConfigError> {
    let defaults = FraudRules::default();
    let max_creator_taps_per_minute = above_zero::<NonZeroU32, _>(
        "fraud.max_creator_taps_per_minute",
        file.max_creator_taps_per_minute,
    )?
    .unwrap_or(defaults.max_creator_taps_per_minute);
    let setting = "fraud.max_creators_per_viewer_per_hour";
    let max_creators_per_viewer_per_hour =
        match above_zero::<NonZeroU32, _>(setting, file.max_creators_per_viewer_per_hour)? {
            Some(n) if n.get() > MAX_CREATORS_PER_VIEWER_LIMIT => {
                return Err(ConfigError::at(
                    setting,
                    format!("must be at most {MAX_CREATORS_PER_VIEWER_LIMIT}"),
                ));
            }
            Some(n) => n,
            None => defaults.max_creators_per_viewer_per_hour,
        };
    // 0 is allowed: no sale is too fast.
    let min_click_to_sale = match file.min_click_to_sale_seconds.map(Duration::from_secs) {
        Some(min) => at_most("fraud.min_click_to_sale_seconds", min, MAX_CLICK_TO_SALE)?,
        None => defaults.min_click_to_sale,
    };
    Ok(file.enabled.unwrap_or(true).then_some(FraudRules {
        max_creator_taps_per_minute,
        max_creators_per_viewer_per_hour,
        min_click_to_sale,
    }))
}

/// The `[policy]` and `[fraud]` tables over the defaults.
pub(super) fn policy(file: FilePolicy, fraud_file: FileFraud) -> Result<Policy, ConfigError> {
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
    let dedup_window = match secs("policy.dedup_window_seconds", file.dedup_window_seconds)? {
        Some(window) => at_most("policy.dedup_window_seconds", window, MAX_DEDUP_WINDOW)?,
        None => defaults.dedup_window,
    };
    let tap_rate_limit_per_minute = above_zero::<NonZeroU32, _>(
        "policy.tap_rate_limit_per_minute",
        file.tap_rate_limit_per_minute,
    )?
    .unwrap_or(defaults.tap_rate_limit_per_minute);
    // 0 is allowed: a sale may not come before its click at all.
    let clock_skew = match file.clock_skew_seconds.map(Duration::from_secs) {
        Some(skew) => at_most("policy.clock_skew_seconds", skew, MAX_CLOCK_SKEW)?,
        None => defaults.clock_skew,
    };
    Ok(Policy {
        categories: CategoryRules::new(&prohibited, &age_restricted),
        dedup_window,
        tap_rate_limit_per_minute,
        clock_skew,
        fraud: fraud(fraud_file)?,
    })
}

/// `[merchant_shards]`: valid merchant ids, 1 to [`MAX_SHARDS`] shards each.
pub(super) fn merchant_shards(
    shards: HashMap<String, u16>,
) -> Result<HashMap<String, u16>, ConfigError> {
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
pub(super) fn origins(origins: Vec<String>) -> Result<Vec<String>, ConfigError> {
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

#[cfg(test)]
mod tests {
    use crate::config::Config;

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
}
