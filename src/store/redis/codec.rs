//! Codecs: what the store writes as values (click records, interned
//! attributions, times) and how it reads back script replies, orders,
//! events, counters and campaigns.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use itoa::Buffer as Digits;
use redis::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{
    Attribution, Campaign, CampaignStatus, ClickRecord, CommissionDecision, CommissionTerms,
    Counts, Event, EventKind, FirstClick, Money, SaleRecord, Signals,
};
use crate::model::{CampaignId, CreatorId, MerchantId, OrderId, ProductId, VideoId};
use crate::store::{RefundFacts, ReversalRecord};
use crate::token::ClickId;

use super::keys::joined;

/// Length of the attribution id (a truncated SHA-256 of the tuple).
pub(super) const ATTRIBUTION_ID_LEN: usize = 12;

/// The interned attribution of a click: ids joined by spaces (ids never
/// hold one), and its id, a truncated SHA-256 of that text.
pub(super) fn attribution_text(attribution: &Attribution) -> (String, [u8; ATTRIBUTION_ID_LEN]) {
    let text = joined(&[
        &attribution.campaign_id,
        " ",
        &attribution.creator_id,
        " ",
        &attribution.video_id,
        " ",
        &attribution.product_id,
    ]);
    let digest = Sha256::digest(text.as_bytes());
    let mut id = [0u8; ATTRIBUTION_ID_LEN];
    id.copy_from_slice(&digest[..ATTRIBUTION_ID_LEN]);
    (text, id)
}

/// Milliseconds until `until`, at least 1 (a TTL of 0 would be an error).
pub(super) fn ttl_ms(now: DateTime<Utc>, until: DateTime<Utc>) -> i64 {
    (until - now).num_milliseconds().max(1)
}

pub(super) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(super) fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// How long a fraud window's key lives: its window and a minute, from its
/// first write (so past the window's end, whenever in it that came).
pub(super) fn window_ttl_ms(window: Duration) -> u64 {
    (window + Duration::from_secs(60)).as_millis() as u64
}

/// A stored set of fraud signals (the sum of their bits, as digits), from
/// an optional field (a record's last, or a hash's): none when it is
/// missing.
pub(super) fn trailing_signals(field: Option<&str>) -> Option<Signals> {
    match field {
        None => Some(Signals::NONE),
        Some(digits) => digits.parse().ok().and_then(Signals::from_bits),
    }
}

/// A script answer: a tag and an optional payload.
pub(super) fn reply(value: Value) -> Result<(String, Option<Vec<u8>>)> {
    let corrupt = || {
        tracing::error!("unexpected script reply");
        Error::StoreUnavailable
    };
    let Value::Array(items) = value else {
        return Err(corrupt());
    };
    let mut items = items.into_iter();
    let tag = match items.next() {
        Some(Value::BulkString(bytes)) => String::from_utf8(bytes).map_err(|_| corrupt())?,
        Some(Value::SimpleString(s)) => s,
        _ => return Err(corrupt()),
    };
    let payload = match items.next() {
        Some(Value::BulkString(bytes)) => Some(bytes),
        None => None,
        _ => return Err(corrupt()),
    };
    Ok((tag, payload))
}

pub(super) fn corrupt(what: &str) -> Error {
    tracing::error!(what, "unreadable record in redis");
    Error::StoreUnavailable
}

/// Parses a dedup entry: click id, tap time ms, expiry s, kid.
pub(super) fn parse_first_click(value: &[u8]) -> Result<FirstClick> {
    if value.len() < 17 {
        return Err(corrupt("dedup entry"));
    }
    let click_id = ClickId::from_bytes(value[..16].try_into().map_err(|_| corrupt("dedup entry"))?);
    let rest = std::str::from_utf8(&value[16..]).map_err(|_| corrupt("dedup entry"))?;
    let mut parts = rest.split(' ');
    let clicked_ms = parts
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| corrupt("dedup entry"))?;
    let expires_s = parts
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| corrupt("dedup entry"))?;
    let kid = parts
        .next()
        .ok_or_else(|| corrupt("dedup entry"))?
        .to_owned();
    let signals = trailing_signals(parts.next()).ok_or_else(|| corrupt("dedup entry"))?;
    Ok(FirstClick {
        click_id,
        clicked_at: from_millis(whole_seconds_ms(clicked_ms))
            .ok_or_else(|| corrupt("dedup entry"))?,
        expires_at: DateTime::from_timestamp(expires_s, 0).ok_or_else(|| corrupt("dedup entry"))?,
        kid,
        signals,
    })
}

/// A time in ms rounded down to the whole second, still in ms: the token's
/// issue time is the tap time in whole seconds.
fn whole_seconds_ms(ms: i64) -> i64 {
    ms.div_euclid(1000) * 1000
}

/// The attribution of a stored record: its merchant and the four ids the
/// record keeps (campaign, creator, video, product).
pub(super) fn stored_attribution(
    merchant_id: &str,
    [campaign, creator, video, product]: [&str; 4],
) -> Attribution {
    Attribution {
        merchant_id: MerchantId::stored(merchant_id),
        campaign_id: CampaignId::stored(campaign),
        creator_id: CreatorId::stored(creator),
        video_id: VideoId::stored(video),
        product_id: ProductId::stored(product),
    }
}

/// A click value: attribution id, viewer hash (zeros once erased), then as
/// text: tap time ms, expiry s, the commission rate (bps) and holding
/// period (s) taken at the click.
pub(super) fn click_value(
    attribution_id: &[u8; ATTRIBUTION_ID_LEN],
    record: &ClickRecord,
) -> Vec<u8> {
    let mut value = Vec::with_capacity(56);
    value.extend_from_slice(attribution_id);
    match &record.viewer_hash {
        Some(hash) => value.extend_from_slice(hash),
        None => value.extend_from_slice(&[0u8; 16]),
    }
    value.extend_from_slice(Digits::new().format(millis(record.clicked_at)).as_bytes());
    value.push(b' ');
    value.extend_from_slice(
        Digits::new()
            .format(record.expires_at.timestamp())
            .as_bytes(),
    );
    value.push(b' ');
    value.extend_from_slice(Digits::new().format(record.terms.rate_bps).as_bytes());
    value.push(b' ');
    value.extend_from_slice(
        Digits::new()
            .format(record.terms.holding_period.as_secs())
            .as_bytes(),
    );
    value
}

/// The text of a click value after its 28 bytes: (tap time, expiry,
/// terms, signals). A click stored before terms has none
/// ([`CommissionTerms::NONE`]); one with no signal has no signals field.
pub(super) fn parse_click_tail(
    tail: &[u8],
) -> Option<(DateTime<Utc>, DateTime<Utc>, CommissionTerms, Signals)> {
    let text = std::str::from_utf8(tail).ok()?;
    let mut parts = text.split(' ');
    let clicked = parts.next()?.parse().ok().and_then(from_millis)?;
    let expires = DateTime::from_timestamp(parts.next()?.parse().ok()?, 0)?;
    let terms = match (parts.next(), parts.next()) {
        (Some(rate), Some(holding)) => CommissionTerms {
            rate_bps: rate.parse().ok()?,
            holding_period: Duration::from_secs(holding.parse().ok()?),
        },
        _ => CommissionTerms::NONE,
    };
    Some((clicked, expires, terms, trailing_signals(parts.next())?))
}

/// Parses a stored order into the sale it records.
pub(super) fn parse_order(merchant_id: &str, order: &[u8]) -> Result<SaleRecord> {
    let text = std::str::from_utf8(order).map_err(|_| corrupt("order"))?;
    let parts: Vec<&str> = text.split(' ').collect();
    // Orders stored before commissions have no tenth field: none earned;
    // an eleventh, the signals, only a flagged sale has.
    let (fields, earned, signals) = match parts.as_slice() {
        [fields @ .., earned, signals] if fields.len() == 9 => (fields, *earned, Some(*signals)),
        [fields @ .., earned] if fields.len() == 9 => (fields, *earned, None),
        fields => (fields, "0", None),
    };
    let [
        click,
        amount,
        currency,
        confirmed,
        clicked,
        campaign,
        creator,
        video,
        product,
    ] = fields
    else {
        return Err(corrupt("order"));
    };
    let ms = |s: &str| s.parse::<i64>().ok().and_then(from_millis);
    Ok(SaleRecord {
        click_id: ClickId::from_hex(click).ok_or_else(|| corrupt("order"))?,
        attribution: stored_attribution(merchant_id, [*campaign, *creator, *video, *product]),
        amount: Money {
            currency: (*currency).to_owned(),
            amount_minor: amount.parse().map_err(|_| corrupt("order"))?,
        },
        clicked_at: ms(clicked).ok_or_else(|| corrupt("order"))?,
        confirmed_at: ms(confirmed).ok_or_else(|| corrupt("order"))?,
        commission: Money {
            currency: (*currency).to_owned(),
            amount_minor: earned.parse().map_err(|_| corrupt("order"))?,
        },
        signals: trailing_signals(signals).ok_or_else(|| corrupt("order"))?,
    })
}

/// Parses a stored reversal (order id, amount, currency, what remained)
/// into the record it is.
pub(super) fn parse_reversal(merchant_id: &str, value: &[u8]) -> Result<ReversalRecord> {
    let text = std::str::from_utf8(value).map_err(|_| corrupt("reversal"))?;
    let parts: Vec<&str> = text.split(' ').collect();
    // Reversals stored before commissions have four fields; since, eleven.
    let (order_id, amount, currency, remaining, after, facts) = match parts.as_slice() {
        [order_id, amount, currency, remaining] => {
            (order_id, amount, currency, remaining, "0", None)
        }
        [
            order_id,
            amount,
            currency,
            remaining,
            after,
            at,
            taken,
            campaign,
            creator,
            video,
            product,
        ] => {
            let facts = RefundFacts {
                at: at
                    .parse()
                    .ok()
                    .and_then(from_millis)
                    .ok_or_else(|| corrupt("reversal"))?,
                attribution: stored_attribution(merchant_id, [campaign, creator, video, product]),
                commission_taken: taken.parse().map_err(|_| corrupt("reversal"))?,
            };
            (order_id, amount, currency, remaining, *after, Some(facts))
        }
        _ => return Err(corrupt("reversal")),
    };
    let money = |amount: &str| -> Result<Money> {
        Ok(Money {
            currency: (*currency).to_owned(),
            amount_minor: amount.parse().map_err(|_| corrupt("reversal"))?,
        })
    };
    Ok(ReversalRecord {
        order_id: OrderId::stored(*order_id),
        amount: money(amount)?,
        remaining: money(remaining)?,
        commission_remaining: money(after)?,
        facts,
    })
}

/// A stream entry as an Event.
pub(super) fn parse_event(
    merchant_id: &str,
    id: String,
    mut fields: HashMap<String, String>,
) -> Result<Event> {
    let mut take = |name: &str| fields.remove(name).unwrap_or_default();
    let kind = EventKind::from_code(&take("k")).ok_or_else(|| corrupt("event"))?;
    let at = take("at")
        .parse()
        .ok()
        .and_then(from_millis)
        .ok_or_else(|| corrupt("event"))?;
    let click_id = ClickId::from_hex(&take("cl")).ok_or_else(|| corrupt("event"))?;
    let attribution = take("a");
    let ids: Vec<&str> = attribution.split(' ').collect();
    let [campaign, creator, video, product] = ids.as_slice() else {
        return Err(corrupt("event"));
    };
    let currency = take("cu");
    let money = |field: String| -> Result<Option<Money>> {
        if field.is_empty() {
            return Ok(None);
        }
        Ok(Some(Money {
            amount_minor: field.parse().map_err(|_| corrupt("event"))?,
            currency: currency.clone(),
        }))
    };
    let amount = money(take("am"))?;
    let commission = money(take("km"))?;
    let signals = take("sg");
    let signals = trailing_signals((!signals.is_empty()).then_some(signals.as_str()))
        .ok_or_else(|| corrupt("event"))?;
    let decision = take("dc");
    let decision = match decision.as_str() {
        "" => None,
        code => Some(CommissionDecision::from_code(code).ok_or_else(|| corrupt("event"))?),
    };
    Ok(Event {
        id,
        kind,
        at,
        attribution: stored_attribution(merchant_id, [*campaign, *creator, *video, *product]),
        click_id,
        order_id: take("o"),
        reversal_id: take("rv"),
        amount,
        commission,
        payout_id: take("po"),
        signals,
        decision,
    })
}

/// A counter hash as Counts.
pub(super) fn parse_counts(fields: HashMap<String, i64>) -> Counts {
    let mut counts = Counts::default();
    for (field, value) in fields {
        match field.as_str() {
            "c" => {
                counts.clicks = value;
                counts.taps += value;
            }
            "d" => counts.taps += value,
            "v" => counts.conversions = value,
            "fc" => counts.flagged_clicks = value,
            "fv" => counts.flagged_conversions = value,
            _ => {
                if let Some(currency) = field.strip_prefix("r:") {
                    counts.revenue.insert(currency.to_owned(), value);
                } else if let Some(currency) = field.strip_prefix("f:") {
                    counts.refunded.insert(currency.to_owned(), value);
                } else if let Some(currency) = field.strip_prefix("k:") {
                    counts.commission.insert(currency.to_owned(), value);
                }
            }
        }
    }
    counts
}

pub(super) fn status_code(status: CampaignStatus) -> &'static str {
    match status {
        CampaignStatus::Pending => "pending",
        CampaignStatus::Approved => "approved",
        CampaignStatus::Rejected => "rejected",
        CampaignStatus::Paused => "paused",
    }
}

pub(super) fn parse_campaign(
    campaign_id: &str,
    mut fields: HashMap<String, String>,
) -> Result<Campaign> {
    // Stored before commissions: no commission.
    let terms = match (fields.remove("cr"), fields.remove("hp")) {
        (Some(rate), Some(holding)) => CommissionTerms {
            rate_bps: rate.parse().map_err(|_| corrupt("campaign"))?,
            holding_period: Duration::from_secs(holding.parse().map_err(|_| corrupt("campaign"))?),
        },
        _ => CommissionTerms::NONE,
    };
    let mut take = |name: &str| fields.remove(name).ok_or_else(|| corrupt("campaign"));
    let status = match take("s")?.as_str() {
        "pending" => CampaignStatus::Pending,
        "approved" => CampaignStatus::Approved,
        "rejected" => CampaignStatus::Rejected,
        "paused" => CampaignStatus::Paused,
        _ => return Err(corrupt("campaign")),
    };
    let products = take("p")?;
    Ok(Campaign {
        campaign_id: CampaignId::stored(campaign_id),
        merchant_id: MerchantId::stored(take("m")?),
        category: take("cat")?,
        attribution_window: Duration::from_secs(
            take("w")?.parse().map_err(|_| corrupt("campaign"))?,
        ),
        product_ids: products
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(ProductId::stored)
            .collect(),
        terms,
        status,
        review_reason: take("rr")?,
        revision: take("rev")?.parse().map_err(|_| corrupt("campaign"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_are_clicks_plus_repeat_taps() {
        let fields = HashMap::from([
            ("c".to_owned(), 3),
            ("d".to_owned(), 2),
            ("v".to_owned(), 1),
            ("r:DKK".to_owned(), 12_500),
            ("f:DKK".to_owned(), 2_500),
            ("fc".to_owned(), 2),
            ("fv".to_owned(), 1),
        ]);

        let counts = parse_counts(fields);

        assert_eq!((counts.taps, counts.clicks, counts.conversions), (5, 3, 1));
        assert_eq!((counts.flagged_clicks, counts.flagged_conversions), (2, 1));
        assert_eq!(counts.revenue, [("DKK".to_owned(), 12_500)].into());
        assert_eq!(counts.refunded, [("DKK".to_owned(), 2_500)].into());
    }
}
