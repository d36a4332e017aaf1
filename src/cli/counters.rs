//! `counters` and `top`: what the dashboards read (CounterService), as
//! tables.

use chrono::{DateTime, Utc};
use clap::ValueEnum;

use super::client::{ClientArgs, answer, authorized, channel};
use super::table;
use crate::proto;

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
    /// Start of the range, RFC 3339 [default: 24 hours ago].
    #[arg(long)]
    from: Option<DateTime<Utc>>,
    /// End of the range, RFC 3339, exclusive [default: now].
    #[arg(long)]
    to: Option<DateTime<Utc>>,
}

/// `cartclick top`: which top list.
#[derive(Debug, clap::Args)]
pub(crate) struct TopArgs {
    /// Server and key (a dashboard, merchant or admin key).
    #[command(flatten)]
    client: ClientArgs,
    /// What to rank: campaign, creator, video or product.
    #[arg(long, value_enum)]
    dimension: DimensionArg,
    /// The UTC day, YYYY-MM-DD [default: today].
    #[arg(long)]
    day: Option<chrono::NaiveDate>,
    /// Rank by clicks, conversions or revenue.
    #[arg(long, value_enum, default_value_t = MetricArg::Clicks)]
    metric: MetricArg,
    /// The currency, for --metric revenue.
    #[arg(long)]
    currency: Option<String>,
    /// How many entries, 1 to 100.
    #[arg(long, default_value_t = 10)]
    limit: i32,
    /// Rank within one merchant only.
    #[arg(long)]
    merchant: Option<String>,
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

/// A bucket width on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum GranularityArg {
    /// Hourly buckets.
    Hour,
    /// Daily buckets.
    Day,
}

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

/// Amounts as `12500 DKK, 300 EUR`, or `-` for none.
fn money_text(money: &[proto::Money]) -> String {
    if money.is_empty() {
        return "-".into();
    }
    money
        .iter()
        .map(|m| format!("{} {}", m.amount_minor, m.currency_code))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints the buckets of the range and their total.
pub(super) async fn counters(args: CountersArgs) -> Result<(), String> {
    let CountersArgs {
        client,
        dimension,
        id,
        granularity,
        from,
        to,
    } = args;
    let to = to.unwrap_or_else(Utc::now);
    let from = from.unwrap_or(to - chrono::TimeDelta::hours(24));
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
    let mut rpc = proto::counter_service_client::CounterServiceClient::new(channel(&client).await?);
    let response = answer(rpc.get_counters(authorized(&client, request)?).await)?;
    let mut out = table::table(&[
        "start (UTC)",
        "taps",
        "clicks",
        "conversions",
        "revenue (minor units)",
        "refunded (minor units)",
        "flagged clicks",
        "flagged conversions",
    ]);
    let row = |label: String, b: &proto::CounterBucket| {
        vec![
            label,
            b.taps.to_string(),
            b.clicks.to_string(),
            b.conversions.to_string(),
            money_text(&b.revenue),
            money_text(&b.refunded),
            b.flagged_clicks.to_string(),
            b.flagged_conversions.to_string(),
        ]
    };
    for bucket in &response.buckets {
        let start = bucket
            .start_time
            .and_then(|t| DateTime::from_timestamp(t.seconds, 0))
            .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M").to_string());
        out.add_row(row(start, bucket));
    }
    if let Some(total) = &response.total {
        out.add_row(row("total".into(), total));
    }
    table::align_right(&mut out, &[1, 2, 3, 6, 7]);
    table::print(out);
    Ok(())
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
        dimension: dimension_proto(dimension).into(),
        day: day.unwrap_or_else(|| Utc::now().date_naive()).to_string(),
        metric: match metric {
            MetricArg::Clicks => proto::TopMetric::Clicks,
            MetricArg::Conversions => proto::TopMetric::Conversions,
            MetricArg::Revenue => proto::TopMetric::Revenue,
        }
        .into(),
        currency_code: currency.unwrap_or_default(),
        limit,
        merchant_id: merchant.unwrap_or_default(),
    };
    let mut rpc = proto::counter_service_client::CounterServiceClient::new(channel(&client).await?);
    let response = answer(rpc.list_top(authorized(&client, request)?).await)?;
    let mut out = table::table(&["rank", "id", "value"]);
    for (rank, entry) in response.entries.iter().enumerate() {
        out.add_row(vec![
            (rank + 1).to_string(),
            entry.id.clone(),
            entry.value.to_string(),
        ]);
    }
    table::align_right(&mut out, &[0, 2]);
    table::print(out);
    if response.entries.is_empty() {
        println!("(nothing counted that day)");
    }
    Ok(())
}
