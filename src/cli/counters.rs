//! `counters`, `top` and `watch`: what the dashboards read
//! (CounterService), as tables: the buckets of a range with a column per
//! currency, trimmed to the buckets with data unless `--all`; a day's top
//! list; and the current hour's bucket, a line each time it changes.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use clap::ValueEnum;

use super::client::{ClientArgs, Flags};
use super::{flags, output, table};
use crate::proto;
use crate::proto::counter_service_client::CounterServiceClient;

/// `cartclick counters`: which counters, over which range.
#[derive(Debug, clap::Args)]
pub(crate) struct CountersArgs {
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
    /// Start of the range: a UTC day (2026-11-01, its midnight) or an RFC
    /// 3339 time [default: 24 hours before --to].
    #[arg(long, value_parser = flags::instant)]
    from: Option<DateTime<Utc>>,
    /// End of the range, exclusive: a UTC day or an RFC 3339 time
    /// [default: now].
    #[arg(long, value_parser = flags::instant)]
    to: Option<DateTime<Utc>>,
    /// Print every bucket of the range in the table, the empty ones too
    /// (JSON always has every bucket, as the server answers).
    #[arg(long)]
    all: bool,
}

/// `cartclick top`: which top list.
#[derive(Debug, clap::Args)]
pub(crate) struct TopArgs {
    /// Server and key (a dashboard, merchant or admin key).
    #[command(flatten)]
    client: ClientArgs,
    /// What to rank (merchants are not ranked).
    #[arg(long, value_enum)]
    dimension: TopDimensionArg,
    /// The UTC day, YYYY-MM-DD [default: today].
    #[arg(long)]
    day: Option<chrono::NaiveDate>,
    /// Rank by clicks, conversions, revenue or commission.
    #[arg(long, value_enum, default_value_t = MetricArg::Clicks)]
    metric: MetricArg,
    /// The currency, for --metric revenue or commission (upper-cased).
    #[arg(long, value_parser = flags::currency)]
    currency: Option<String>,
    /// How many entries, 1 to 100.
    #[arg(long, default_value_t = 10)]
    limit: i32,
    /// Rank within one merchant only.
    #[arg(long)]
    merchant: Option<String>,
}

/// `cartclick watch`: whose current hour.
#[derive(Debug, clap::Args)]
pub(crate) struct WatchArgs {
    /// Server and key (a dashboard, merchant or admin key).
    #[command(flatten)]
    client: ClientArgs,
    /// The dimension of the id.
    #[arg(long, value_enum)]
    dimension: DimensionArg,
    /// The merchant, campaign, creator, video or product id.
    #[arg(long)]
    id: String,
}

/// A top list metric on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum MetricArg {
    /// New clicks.
    Clicks,
    /// Confirmed sales.
    Conversions,
    /// Revenue in --currency.
    Revenue,
    /// Creators' commission in --currency.
    Commission,
}

/// A counter dimension on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DimensionArg {
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

/// What a top list ranks: every dimension but merchants, which ListTop
/// refuses (`policy::top_dimension`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TopDimensionArg {
    /// Campaigns.
    Campaign,
    /// Creators.
    Creator,
    /// Videos.
    Video,
    /// Products.
    Product,
}

/// A bucket width on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum GranularityArg {
    /// Hourly buckets.
    Hour,
    /// Daily buckets.
    Day,
}

/// The flags of `top` by the fields they set.
const TOP_FLAGS: Flags = &[
    ("dimension", "--dimension"),
    ("day", "--day"),
    ("metric", "--metric"),
    ("currency_code", "--currency"),
    ("limit", "--limit"),
    ("merchant_id", "--merchant"),
];

/// The flags of `watch` by the fields they set.
const WATCH_FLAGS: Flags = &[("dimension", "--dimension"), ("id", "--id")];

/// The contract's dimension for the flag's.
fn dimension_proto(dimension: DimensionArg) -> proto::Dimension {
    match dimension {
        DimensionArg::Merchant => proto::Dimension::Merchant,
        DimensionArg::Campaign => proto::Dimension::Campaign,
        DimensionArg::Creator => proto::Dimension::Creator,
        DimensionArg::Video => proto::Dimension::Video,
        DimensionArg::Product => proto::Dimension::Product,
    }
}

/// Amounts as `12500 (125.00 DKK), 300 (3.00 EUR)`, or `-` for none.
fn money_list(money: &[proto::Money]) -> String {
    if money.is_empty() {
        return "-".into();
    }
    money
        .iter()
        .map(|m| table::money(m.amount_minor, &m.currency_code))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The amount in `currency` of a list of Money, 0 when it has none.
fn amount_in(money: &[proto::Money], currency: &str) -> i64 {
    money
        .iter()
        .filter(|m| m.currency_code == currency)
        .map(|m| m.amount_minor)
        .sum()
}

/// Whether a bucket counted anything.
fn has_data(b: &proto::CounterBucket) -> bool {
    let money = [&b.revenue, &b.refunded, &b.commission];
    b.taps != 0
        || b.clicks != 0
        || b.conversions != 0
        || b.flagged_clicks != 0
        || b.flagged_conversions != 0
        || money.iter().any(|m| m.iter().any(|m| m.amount_minor != 0))
}

/// A bucket's start as a table prints it: `2026-11-02 10:00`, UTC.
fn bucket_start(b: &proto::CounterBucket) -> String {
    b.start_time
        .and_then(|t| DateTime::from_timestamp(t.seconds, 0))
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// Prints the buckets of the range with data (every one with `--all`) and
/// their total, a column per currency for revenue, refunds and commission.
pub(super) async fn counters(args: CountersArgs) -> Result<(), String> {
    let CountersArgs {
        client,
        dimension,
        id,
        granularity,
        from,
        to,
        all,
    } = args;
    // The server names `end_time` for any range it refuses; the user typed
    // --from, --to or both.
    let range_flag = if to.is_none() && from.is_some() {
        "--from"
    } else {
        "--to"
    };
    let flags: Flags = &[
        ("dimension", "--dimension"),
        ("id", "--id"),
        ("granularity", "--granularity"),
        ("start_time", "--from"),
        ("end_time", range_flag),
    ];
    let to_given = to.is_some();
    let to = to.unwrap_or_else(Utc::now);
    let from = from.unwrap_or(to - chrono::TimeDelta::hours(24));
    if from >= to {
        let to_said = if to_given { "" } else { " (now)" };
        let said = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        return Err(format!(
            "--from {} is not before --to {}{to_said}",
            said(from),
            said(to)
        ));
    }
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
    let mut rpc = CounterServiceClient::new(client.channel().await?);
    let response = client.answer(rpc.get_counters(client.authorized(request)?).await, flags)?;
    output::print(client.output, &response, |r| {
        print_counters(r, all, from, to);
    })
}

/// The counters table: one row a bucket (with data, or every one with
/// `all`), then the total; "no activity" when no bucket has data.
fn print_counters(
    response: &proto::GetCountersResponse,
    all: bool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) {
    let shown: Vec<&proto::CounterBucket> = response
        .buckets
        .iter()
        .filter(|b| all || has_data(b))
        .collect();
    if shown.is_empty() {
        println!(
            "no activity from {} to {} (UTC)",
            from.format("%Y-%m-%d %H:%M"),
            to.format("%Y-%m-%d %H:%M")
        );
        return;
    }
    let currencies: BTreeSet<&str> = response
        .buckets
        .iter()
        .chain(&response.total)
        .flat_map(|b| b.revenue.iter().chain(&b.refunded).chain(&b.commission))
        .map(|m| m.currency_code.as_str())
        .collect();
    let mut header = vec![
        "start (UTC)".to_owned(),
        "taps".to_owned(),
        "clicks".to_owned(),
        "flagged clicks".to_owned(),
        "conversions".to_owned(),
        "flagged conversions".to_owned(),
    ];
    for currency in &currencies {
        for measure in ["revenue", "refunded", "commission"] {
            header.push(format!("{measure} {currency}"));
        }
    }
    let mut out = table::table(&header.iter().map(String::as_str).collect::<Vec<_>>());
    let row = |label: String, b: &proto::CounterBucket| {
        let mut row = vec![
            label,
            b.taps.to_string(),
            b.clicks.to_string(),
            b.flagged_clicks.to_string(),
            b.conversions.to_string(),
            b.flagged_conversions.to_string(),
        ];
        for currency in &currencies {
            for money in [&b.revenue, &b.refunded, &b.commission] {
                row.push(table::money(amount_in(money, currency), currency));
            }
        }
        row
    };
    for bucket in shown {
        out.add_row(row(bucket_start(bucket), bucket));
    }
    if let Some(total) = &response.total {
        out.add_row(row("total".into(), total));
    }
    table::align_right(&mut out, &(1..header.len()).collect::<Vec<_>>());
    table::print(out);
}

/// Prints a top list, ranked.
pub(super) async fn top(args: TopArgs) -> Result<(), String> {
    let TopArgs {
        client,
        dimension,
        day,
        metric,
        currency,
        limit,
        merchant,
    } = args;
    let request = proto::ListTopRequest {
        dimension: match dimension {
            TopDimensionArg::Campaign => proto::Dimension::Campaign,
            TopDimensionArg::Creator => proto::Dimension::Creator,
            TopDimensionArg::Video => proto::Dimension::Video,
            TopDimensionArg::Product => proto::Dimension::Product,
        }
        .into(),
        day: day.unwrap_or_else(|| Utc::now().date_naive()).to_string(),
        metric: match metric {
            MetricArg::Clicks => proto::TopMetric::Clicks,
            MetricArg::Conversions => proto::TopMetric::Conversions,
            MetricArg::Revenue => proto::TopMetric::Revenue,
            MetricArg::Commission => proto::TopMetric::Commission,
        }
        .into(),
        currency_code: currency.clone().unwrap_or_default(),
        limit,
        merchant_id: merchant.unwrap_or_default(),
    };
    let mut rpc = CounterServiceClient::new(client.channel().await?);
    let response = client.answer(rpc.list_top(client.authorized(request)?).await, TOP_FLAGS)?;
    output::print(client.output, &response, |r| {
        let value = |v: i64| match (metric, &currency) {
            (MetricArg::Revenue | MetricArg::Commission, Some(code)) => table::money(v, code),
            _ => v.to_string(),
        };
        let mut out = table::table(&["rank", "id", "value"]);
        for (rank, entry) in r.entries.iter().enumerate() {
            out.add_row(vec![
                (rank + 1).to_string(),
                entry.id.clone(),
                value(entry.value),
            ]);
        }
        table::align_right(&mut out, &[0, 2]);
        table::print(out);
        if r.entries.is_empty() {
            println!("(nothing counted that day)");
        }
    })
}

/// A watched bucket as one line of `name value` pairs, two spaces apart.
fn bucket_line(b: &proto::CounterBucket) -> String {
    [
        format!("{} UTC", bucket_start(b)),
        format!("taps {}", b.taps),
        format!("clicks {}", b.clicks),
        format!("flagged_clicks {}", b.flagged_clicks),
        format!("conversions {}", b.conversions),
        format!("flagged_conversions {}", b.flagged_conversions),
        format!("revenue {}", money_list(&b.revenue)),
        format!("refunded {}", money_list(&b.refunded)),
        format!("commission {}", money_list(&b.commission)),
    ]
    .join("  ")
}

/// Prints the current hour's bucket now and each time it changes, until
/// Ctrl-C (exit 0), the server ends the stream (exit 0, said on stderr) or
/// the stream fails (exit 1, the status in one line).
pub(super) async fn watch(args: WatchArgs) -> Result<(), String> {
    let WatchArgs {
        client,
        dimension,
        id,
    } = args;
    let request = proto::WatchCountersRequest {
        dimension: dimension_proto(dimension).into(),
        id,
    };
    let mut rpc = CounterServiceClient::new(client.stream_channel().await?);
    let mut stream = client.answer(
        rpc.watch_counters(client.authorized(request)?).await,
        WATCH_FLAGS,
    )?;
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(()),
            next = stream.message() => match next {
                Ok(Some(message)) => output::print(client.output, &message, |m| {
                    let bucket = m.bucket.clone().unwrap_or_default();
                    println!("{}", bucket_line(&bucket));
                })?,
                Ok(None) => {
                    eprintln!("the server ended the stream");
                    return Ok(());
                }
                Err(status) => return Err(client.describe(&status, WATCH_FLAGS)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dkk(amount_minor: i64) -> proto::Money {
        proto::Money {
            currency_code: "DKK".into(),
            amount_minor,
        }
    }

    #[test]
    fn an_empty_bucket_has_no_data_and_any_count_or_amount_is_data() {
        let empty = proto::CounterBucket::default();
        assert!(!has_data(&empty));
        assert!(!has_data(&proto::CounterBucket {
            revenue: vec![dkk(0)],
            ..Default::default()
        }));
        assert!(has_data(&proto::CounterBucket {
            taps: 1,
            ..Default::default()
        }));
        assert!(has_data(&proto::CounterBucket {
            refunded: vec![dkk(100)],
            ..Default::default()
        }));
    }

    #[test]
    fn a_watched_bucket_is_one_line_with_money_in_both_units() {
        let line = bucket_line(&proto::CounterBucket {
            start_time: Some(prost_types::Timestamp {
                seconds: 1_793_613_600,
                nanos: 0,
            }),
            taps: 3,
            clicks: 2,
            conversions: 1,
            revenue: vec![dkk(12_500)],
            ..Default::default()
        });
        assert_eq!(
            line,
            "2026-11-02 10:00 UTC  taps 3  clicks 2  flagged_clicks 0  conversions 1  \
             flagged_conversions 0  revenue 12500 (125.00 DKK)  refunded -  commission -"
        );
    }
}
