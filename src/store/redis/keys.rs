//! Key building: every key of the table in `mod.rs`, the shard tags and
//! the click and dedup bucket helpers.

use chrono::{DateTime, Utc};
use itoa::Buffer as Digits;

use crate::model::{Dimension, Granularity, TopMetric};
use crate::privacy::ViewerHash;
use crate::token::ClickId;

use super::codec::{from_millis, millis};

/// Buckets per dedup window and per click expiry hour.
const BUCKETS: u16 = 1024;

pub(super) fn dimension_code(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Merchant => "m",
        Dimension::Campaign => "c",
        Dimension::Creator => "r",
        Dimension::Video => "v",
        Dimension::Product => "p",
    }
}

pub(super) fn dimension_from_code(code: &str) -> Option<Dimension> {
    Dimension::ALL
        .into_iter()
        .find(|d| dimension_code(*d) == code)
}

/// Which of the [`BUCKETS`] buckets a 16-byte id falls in.
fn bucket_of(id: &[u8]) -> u16 {
    u16::from_be_bytes([id[0], id[1]]) % BUCKETS
}

/// A key (or value) from its parts: one allocation of the exact size and
/// none of `format!`'s machinery. A tap builds about twenty keys; made with
/// `format!` they cost a sixth of the server's instructions per IssueToken
/// (BENCHMARKS.md).
pub(super) fn joined(parts: &[&str]) -> String {
    parts.concat()
}

/// `<kind>:{merchant}:<period>:<bucket of id>`: the bucket hashes that
/// hold dedup entries and rate-limit counters as fields.
fn bucket_key(kind: &str, merchant: &str, period: i64, id: &[u8]) -> String {
    joined(&[
        kind,
        ":{",
        merchant,
        "}:",
        Digits::new().format(period),
        ":",
        Digits::new().format(bucket_of(id)),
    ])
}

pub(super) fn dedup_bucket_key(merchant: &str, window: i64, field: &[u8]) -> String {
    bucket_key("d", merchant, window, field)
}

pub(super) fn click_bucket_key(
    merchant: &str,
    expires_at: DateTime<Utc>,
    click_id: &ClickId,
) -> String {
    joined(&[
        "k:{",
        merchant,
        "}:",
        Digits::new().format(expires_at.timestamp().div_euclid(3600)),
        ":",
        Digits::new().format(bucket_of(click_id.as_bytes())),
    ])
}

/// When a click bucket (and an attribution) is set to expire when a click
/// needs it to live longer: the click's `click_until`, rounded up to the
/// hour. The clicks of a bucket expire in the same hour, so the script
/// moves the bucket's expiry about once per bucket rather than once per
/// click; a record outlives its own `click_until` by less than an hour.
pub(super) fn click_bucket_until(click_until: DateTime<Utc>) -> DateTime<Utc> {
    let hour_ms = 3_600_000;
    let up = (millis(click_until) + hour_ms - 1).div_euclid(hour_ms) * hour_ms;
    from_millis(up).unwrap_or(click_until)
}

pub(super) fn attribution_prefix(merchant: &str) -> String {
    joined(&["a:{", merchant, "}:"])
}

pub(super) fn order_key(merchant: &str, order_id: &str) -> String {
    format!("o:{{{merchant}}}:{order_id}")
}

pub(super) fn counter_prefix(merchant: &str) -> String {
    format!("n:{{{merchant}}}:")
}

pub(super) fn counter_key(
    merchant: &str,
    granularity: Granularity,
    start: i64,
    dimension: Dimension,
    id: &str,
) -> String {
    joined(&[
        "n:{",
        merchant,
        "}:",
        granularity.as_str(),
        ":",
        Digits::new().format(start),
        ":",
        dimension_code(dimension),
        ":",
        id,
    ])
}

pub(super) fn rate_key(merchant: &str, viewer: &ViewerHash, minute: i64) -> String {
    bucket_key("q", merchant, minute, viewer)
}

/// `g:{m}:<minute>`: each creator's taps at the merchant's shard in this
/// UTC minute (TAP_FLOOD).
pub(super) fn flood_key(merchant: &str, minute: i64) -> String {
    joined(&["g:{", merchant, "}:", Digits::new().format(minute)])
}

/// `h:{m}:<hour>:<n>`: the creators each viewer tapped at the merchant's
/// shard in this UTC hour (CREATOR_HOPPING), bucketed by viewer as the
/// rate limit is.
pub(super) fn hopping_key(merchant: &str, viewer: &ViewerHash, hour: i64) -> String {
    bucket_key("h", merchant, hour, viewer)
}

/// The hash tag of one shard of a merchant: the merchant id for shard 0,
/// "<merchant> <n>" for the others (ids hold no spaces).
pub(super) fn shard_tag(merchant: &str, shard: u16) -> String {
    if shard == 0 {
        merchant.to_owned()
    } else {
        format!("{merchant} {shard}")
    }
}

/// The merchant id of a shard tag (see [`shard_tag`]).
pub(super) fn merchant_of_tag(tag: &str) -> &str {
    tag.split_once(' ').map_or(tag, |(merchant, _)| merchant)
}

/// The shard a click id was placed in (see `RedisStore::place`).
pub(super) fn click_shard(click_id: &ClickId) -> u16 {
    u16::from(click_id.as_bytes()[15])
}

/// The registry's hash tag: merchants, campaigns and API keys share one slot,
/// so an operator can list them with one SCAN on a cluster too.
pub(super) const REGISTRY_TAG: &str = "r";

pub(super) fn api_key_key(sha256: &[u8; 32]) -> String {
    format!("r:{{{REGISTRY_TAG}}}:k:{}", hex::encode(sha256))
}

pub(super) fn api_key_id_key(key_id: &str) -> String {
    format!("r:{{{REGISTRY_TAG}}}:kid:{key_id}")
}

/// Prefix of the day index sets: `x:day:<day start>`.
const DAY_INDEX: &str = "x:day:";

/// The merchants that counted anything on a day: where global top lists look.
pub(super) fn day_index_key(day_start: i64) -> String {
    joined(&[DAY_INDEX, Digits::new().format(day_start)])
}

pub(super) fn events_key(merchant: &str) -> String {
    joined(&["e:{", merchant, "}"])
}

/// `z:{m}`: the fold state of the shard's event stream (`fold.lua`).
pub(super) fn fold_state_key(merchant: &str) -> String {
    joined(&["z:{", merchant, "}"])
}

/// Prefix of a merchant's top lists of a day: `<prefix><dimension>:<metric>`.
pub(super) fn top_prefix(merchant: &str, day_start: i64) -> String {
    joined(&["t:{", merchant, "}:", Digits::new().format(day_start), ":"])
}

pub(super) fn top_metric_code(metric: &TopMetric) -> String {
    match metric {
        TopMetric::Clicks => "c".to_owned(),
        TopMetric::Conversions => "v".to_owned(),
        TopMetric::Revenue(currency) => format!("r:{currency}"),
        TopMetric::Commission(currency) => format!("k:{currency}"),
    }
}

/// The parts of the index set of `dimension`'s `id`: `x:<dimension>:<id>`.
fn index_parts(dimension: Dimension, id: &str) -> [&str; 4] {
    ["x:", dimension_code(dimension), ":", id]
}

pub(super) fn index_key(dimension: Dimension, id: &str) -> String {
    joined(&index_parts(dimension, id))
}

/// One index entry: a shard tag, `member`, in an index set, kept as the
/// one string `<set> <member>` (set keys hold no space: ids never do), so
/// that a tap builds each entry with one allocation and the index cache
/// looks it up as built.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct IndexEntry {
    /// `<set> <member>`.
    text: String,
    /// Where the set key ends.
    set_len: usize,
    /// Whether the set expires after daily retention without writes (the
    /// earnings index never does: it lives as long as the ledgers).
    expires: bool,
}

impl IndexEntry {
    /// `member` in the index set of `dimension`'s `id`.
    pub(super) fn of(dimension: Dimension, id: &str, member: &str) -> IndexEntry {
        let [x, code, colon, id] = index_parts(dimension, id);
        IndexEntry::joined(&[x, code, colon, id], member)
    }

    /// `member` in the index set of the merchants that counted on the day
    /// starting at `day_start`.
    pub(super) fn day(day_start: i64, member: &str) -> IndexEntry {
        IndexEntry::joined(&[DAY_INDEX, Digits::new().format(day_start)], member)
    }

    /// `merchant_id` in the earnings index of `creator`: the merchants the
    /// creator may have ledgers with. Written at a tap on a campaign that
    /// pays commission, ahead of any sale of that click; never expires.
    pub(super) fn earnings(creator: &str, merchant_id: &str) -> IndexEntry {
        IndexEntry {
            expires: false,
            ..IndexEntry::joined(&[EARNINGS_INDEX, creator], merchant_id)
        }
    }

    /// Whether the set expires (see the field).
    pub(super) fn expires(&self) -> bool {
        self.expires
    }

    /// The entry from the set key's parts: one allocation of the exact size.
    fn joined(set: &[&str], member: &str) -> IndexEntry {
        let set_len = set.iter().map(|part| part.len()).sum();
        let mut text = String::with_capacity(set_len + 1 + member.len());
        for part in set {
            text.push_str(part);
        }
        text.push(' ');
        text.push_str(member);
        IndexEntry {
            text,
            set_len,
            expires: true,
        }
    }

    /// The index set's key.
    pub(super) fn set(&self) -> &str {
        &self.text[..self.set_len]
    }

    /// The shard tag the entry adds to the set.
    pub(super) fn member(&self) -> &str {
        &self.text[self.set_len + 1..]
    }

    /// `<set> <member>`: the entry's key in the index cache.
    pub(super) fn as_str(&self) -> &str {
        &self.text
    }
}

/// Prefix of the earnings index sets: `x:earn:<creator>`.
const EARNINGS_INDEX: &str = "x:earn:";

/// The merchants a creator may have ledgers with.
pub(super) fn earnings_index_key(creator: &str) -> String {
    joined(&[EARNINGS_INDEX, creator])
}

/// A merchant's own hash tag, `{merchant}`: where its orders, commissions,
/// ledgers and payouts live (shard 0).
pub(super) fn own_tag(merchant: &str) -> String {
    joined(&["{", merchant, "}"])
}

/// The reversal ids of an order: a payout keeps them as long as the order,
/// so a refund sent again is always known while its order is.
pub(super) fn reversal_ids_key(merchant: &str, order_id: &str) -> String {
    joined(&["w:{", merchant, "}:", order_id])
}

pub(super) fn commission_key(merchant: &str, order_id: &str) -> String {
    joined(&["c:{", merchant, "}:", order_id])
}

/// Prefix of a merchant's commission records: `c:{m}:`, then the order id.
pub(super) fn commission_prefix(merchant: &str) -> String {
    joined(&["c:{", merchant, "}:"])
}

/// The ledger of (merchant, creator, currency): `l:{m}:<creator>:<currency>`.
pub(super) fn ledger_key(merchant: &str, creator: &str, currency: &str) -> String {
    joined(&["l:{", merchant, "}:", creator, ":", currency])
}

/// A ledger's unpaid commissions by payable time: `u:{m}:<creator>:<currency>`.
pub(super) fn unpaid_key(merchant: &str, creator: &str, currency: &str) -> String {
    joined(&["u:{", merchant, "}:", creator, ":", currency])
}

/// The currencies a creator has ledgers in with a merchant.
pub(super) fn currencies_key(merchant: &str, creator: &str) -> String {
    joined(&["y:{", merchant, "}:", creator])
}

/// A merchant's commissions listing index, or one creator's there.
pub(super) fn commission_index_key(merchant: &str, creator: Option<&str>) -> String {
    match creator {
        Some(creator) => joined(&["i:{", merchant, "}:", creator]),
        None => joined(&["i:{", merchant, "}"]),
    }
}

/// The commissions a payout paid, as a listing index.
pub(super) fn payout_commissions_key(merchant: &str, payout_id: &str) -> String {
    joined(&["j:{", merchant, "}:", payout_id])
}

pub(super) fn payout_key(merchant: &str, payout_id: &str) -> String {
    joined(&["p:{", merchant, "}:", payout_id])
}

/// Prefix of a merchant's payout records: `p:{m}:`, then the payout id.
pub(super) fn payout_prefix(merchant: &str) -> String {
    joined(&["p:{", merchant, "}:"])
}

/// A merchant's payouts listing index, or one creator's there.
pub(super) fn payout_index_key(merchant: &str, creator: Option<&str>) -> String {
    match creator {
        Some(creator) => joined(&["s:{", merchant, "}:", creator]),
        None => joined(&["s:{", merchant, "}"]),
    }
}

pub(super) fn merchant_key(merchant_id: &str) -> String {
    format!("r:{{{REGISTRY_TAG}}}:m:{merchant_id}")
}

pub(super) fn campaign_key(campaign_id: &str) -> String {
    format!("r:{{{REGISTRY_TAG}}}:c:{campaign_id}")
}

/// The listing index of every merchant: a sorted set, score 0, members the
/// merchant ids, walked by ZRANGE BYLEX.
pub(super) fn merchants_index_key() -> String {
    format!("r:{{{REGISTRY_TAG}}}:ix:m")
}

/// The listing index of every campaign (as [`merchants_index_key`]).
pub(super) fn campaigns_index_key() -> String {
    format!("r:{{{REGISTRY_TAG}}}:ix:c")
}

/// Prefix of the listing indexes of one merchant's campaigns: the prefix
/// and the merchant id make the key (a script that moves a campaign builds
/// its old merchant's from it).
pub(super) fn merchant_campaigns_prefix() -> String {
    format!("r:{{{REGISTRY_TAG}}}:ix:cm:")
}

/// The listing index of one merchant's campaigns.
pub(super) fn merchant_campaigns_key(merchant_id: &str) -> String {
    joined(&[&merchant_campaigns_prefix(), merchant_id])
}

/// The listing index of every stored API key, members the key ids.
pub(super) fn api_keys_index_key() -> String {
    format!("r:{{{REGISTRY_TAG}}}:ix:k")
}

/// Set once the listing indexes hold every record an older version wrote
/// without them (see `registry::backfill_indexes`).
pub(super) fn indexes_backfilled_key() -> String {
    format!("r:{{{REGISTRY_TAG}}}:ix:backfilled")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_bucket_expires_on_the_hour_after_its_latest_click() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();

        assert_eq!(
            click_bucket_until(at("2026-11-23T10:00:00.001Z")),
            at("2026-11-23T11:00:00Z")
        );
        assert_eq!(
            click_bucket_until(at("2026-11-23T10:59:59.999Z")),
            at("2026-11-23T11:00:00Z")
        );
        assert_eq!(
            click_bucket_until(at("2026-11-23T10:00:00Z")),
            at("2026-11-23T10:00:00Z")
        );
    }
}
