//! The gRPC adapters, one file per service. Each method takes the caller its
//! transport authenticated (`auth::caller`), checks the caller's role,
//! decodes and validates the request into domain types, calls the domain,
//! and converts the answer or the error. No business rule lives here.
//! `watch` holds the counter subscriptions that WatchCounters streams share
//! on both transports; `http` is the HTTP/JSON transport.

pub(crate) mod admin;
pub(crate) mod click;
pub(crate) mod counter;
pub(crate) mod earnings;
pub(crate) mod http;
pub(crate) mod pages;
pub(crate) mod sale;
pub(crate) mod watch;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tonic::{Response, Status};

use crate::auth::Authenticator;
use crate::domain::Cartclick;
use crate::error::{Error, Result};
use crate::model::ids::ParseId;
use crate::model::{AgeBracket, Counts, Dimension, FraudSignal, Granularity, Money, Signals};
use crate::policy;
use crate::proto;

/// What every adapter needs: the domain and the key table.
pub(crate) struct ApiState {
    /// The service's operations.
    pub domain: Arc<Cartclick>,
    /// Known API keys.
    pub auth: Arc<Authenticator>,
    /// Turns true when the server begins to shut down: streams end then.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// The counter subscriptions both transports' streams share.
    pub watchers: watch::Watchers,
}

/// Logs the outcome of an RPC and converts it for tonic. Expected failures
/// (bad input, unknown ids) log at debug; the store failing logs at warn.
/// The outcome and reason go on the RPC's span (see `rpc_layer`).
pub(crate) fn reply<T>(result: Result<T>) -> Result<Response<T>, Status> {
    let span = tracing::Span::current();
    match result {
        Ok(message) => {
            span.record("outcome", "ok");
            Ok(Response::new(message))
        }
        Err(error) => Err(refused(error)),
    }
}

/// Logs a failed RPC, records it on the RPC's span, and converts the error:
/// the error half of [`reply`], also for requests the HTTP transport
/// refuses before they reach an adapter.
pub(crate) fn refused(error: Error) -> Status {
    let span = tracing::Span::current();
    let reason = error.reason();
    span.record("outcome", "error");
    span.record("reason", reason);
    match error {
        Error::StoreUnavailable | Error::Backlog => tracing::warn!(reason, %error, "rpc failed"),
        _ => tracing::debug!(reason, %error, "rpc refused"),
    }
    error.into()
}

/// A required id field (1..128 printable ASCII bytes), as the id type the
/// caller wants.
pub(crate) fn id<T: ParseId>(field: &str, value: String) -> Result<T> {
    T::parse_id(field, value)
}

/// An optional id field: empty means none.
pub(crate) fn optional_id<T: ParseId>(field: &str, value: String) -> Result<Option<T>> {
    if value.is_empty() {
        Ok(None)
    } else {
        id(field, value).map(Some)
    }
}

/// A required nested message.
pub(crate) fn required<T>(field: &str, value: Option<T>) -> Result<T> {
    value.ok_or_else(|| Error::invalid_field(field, "missing"))
}

/// A timestamp in the range chrono and protobuf agree on.
pub(crate) fn timestamp(
    field: &str,
    value: Option<prost_types::Timestamp>,
) -> Result<DateTime<Utc>> {
    let value = required(field, value)?;
    u32::try_from(value.nanos)
        .ok()
        .filter(|nanos| *nanos < 1_000_000_000)
        .and_then(|nanos| DateTime::from_timestamp(value.seconds, nanos))
        .ok_or_else(|| Error::invalid_field(field, "not a valid timestamp"))
}

/// The wire form of an instant.
pub(crate) fn to_timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// A required Money: `field.currency_code` must be present; the amount rules
/// are the policy's (INVALID_AMOUNT).
pub(crate) fn money(field: &str, value: Option<proto::Money>) -> Result<Money> {
    let value = required(field, value)?;
    if value.currency_code.is_empty() {
        return Err(Error::invalid_field(
            format!("{field}.currency_code"),
            "missing",
        ));
    }
    policy::validate_money(&value.currency_code, value.amount_minor)
}

/// The wire form of Money.
pub(crate) fn to_money(money: &Money) -> proto::Money {
    proto::Money {
        currency_code: money.currency.clone(),
        amount_minor: money.amount_minor,
    }
}

/// A required proto enum field, as the domain type `known` maps it to: a
/// number the proto does not know is an unknown value, and the variant
/// `known` maps to `None` (the proto's `Unspecified`) is missing.
pub(crate) fn required_enum<P: TryFrom<i32>, T>(
    field: &str,
    value: i32,
    known: impl FnOnce(P) -> Option<T>,
) -> Result<T> {
    let value = P::try_from(value).map_err(|_| Error::invalid_field(field, "unknown value"))?;
    known(value).ok_or_else(|| Error::invalid_field(field, "missing"))
}

/// A required Dimension enum.
pub(crate) fn dimension(field: &str, value: i32) -> Result<Dimension> {
    required_enum(field, value, |value| match value {
        proto::Dimension::Merchant => Some(Dimension::Merchant),
        proto::Dimension::Campaign => Some(Dimension::Campaign),
        proto::Dimension::Creator => Some(Dimension::Creator),
        proto::Dimension::Video => Some(Dimension::Video),
        proto::Dimension::Product => Some(Dimension::Product),
        proto::Dimension::Unspecified => None,
    })
}

/// A required Granularity enum.
pub(crate) fn granularity(field: &str, value: i32) -> Result<Granularity> {
    required_enum(field, value, |value| match value {
        proto::Granularity::Hour => Some(Granularity::Hour),
        proto::Granularity::Day => Some(Granularity::Day),
        proto::Granularity::Unspecified => None,
    })
}

/// An AgeBracket enum; unspecified is a valid answer ("unknown age").
pub(crate) fn age_bracket(field: &str, value: i32) -> Result<AgeBracket> {
    match proto::AgeBracket::try_from(value) {
        Ok(proto::AgeBracket::Unspecified) => Ok(AgeBracket::Unspecified),
        Ok(proto::AgeBracket::Under13) => Ok(AgeBracket::Under13),
        Ok(proto::AgeBracket::AgeBracket13To17) => Ok(AgeBracket::Teen),
        Ok(proto::AgeBracket::AgeBracket18Plus) => Ok(AgeBracket::Adult),
        Err(_) => Err(Error::invalid_field(field, "unknown value")),
    }
}

/// The wire form of a bucket of counters; money sorted by currency.
pub(crate) fn to_bucket(start: DateTime<Utc>, counts: &Counts) -> proto::CounterBucket {
    let money = |by_currency: &std::collections::BTreeMap<String, i64>| {
        by_currency
            .iter()
            .map(|(currency, amount)| proto::Money {
                currency_code: currency.clone(),
                amount_minor: *amount,
            })
            .collect()
    };
    proto::CounterBucket {
        start_time: Some(to_timestamp(start)),
        taps: counts.taps,
        clicks: counts.clicks,
        conversions: counts.conversions,
        revenue: money(&counts.revenue),
        refunded: money(&counts.refunded),
        commission: money(&counts.commission),
        flagged_clicks: counts.flagged_clicks,
        flagged_conversions: counts.flagged_conversions,
    }
}

/// The wire form of a set of fraud signals, in the contract's order.
pub(crate) fn to_signals(signals: Signals) -> Vec<i32> {
    signals
        .iter()
        .map(|signal| {
            (match signal {
                FraudSignal::SelfReferral => proto::FraudSignal::SelfReferral,
                FraudSignal::TapFlood => proto::FraudSignal::TapFlood,
                FraudSignal::CreatorHopping => proto::FraudSignal::CreatorHopping,
                FraudSignal::SaleTooFast => proto::FraudSignal::SaleTooFast,
            }) as i32
        })
        .collect()
}

/// Shared handle type the service structs hold.
pub(crate) type State = Arc<ApiState>;
