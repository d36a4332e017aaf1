//! What is counted and how it is read: dimensions, buckets, counts, top
//! lists and how long counters are kept.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::ledger::{ClickRecord, SaleRecord};

/// A dimension counters are kept by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
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

impl Dimension {
    /// Every dimension, in contract order: each event is counted once in each.
    pub const ALL: [Dimension; 5] = [
        Dimension::Merchant,
        Dimension::Campaign,
        Dimension::Creator,
        Dimension::Video,
        Dimension::Product,
    ];

    /// A short stable name, used in store keys and logs.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Dimension::Merchant => "merchant",
            Dimension::Campaign => "campaign",
            Dimension::Creator => "creator",
            Dimension::Video => "video",
            Dimension::Product => "product",
        }
    }
}

/// The width of a counter bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Granularity {
    /// One UTC hour.
    Hour,
    /// One UTC day.
    Day,
}

impl Granularity {
    /// Both granularities: each event is counted in one bucket of each.
    pub(crate) const ALL: [Granularity; 2] = [Granularity::Hour, Granularity::Day];

    /// Length of one bucket in seconds.
    pub(crate) fn seconds(self) -> i64 {
        match self {
            Granularity::Hour => 3600,
            Granularity::Day => 86_400,
        }
    }

    /// Start (unix seconds) of the bucket that holds `at`. Unix time has no leap
    /// seconds, so UTC hours and days are exact multiples.
    pub fn bucket_start(self, at: DateTime<Utc>) -> i64 {
        at.timestamp().div_euclid(self.seconds()) * self.seconds()
    }

    /// A short stable name, used in store keys.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Granularity::Hour => "h",
            Granularity::Day => "d",
        }
    }
}

/// A span of consecutive buckets of one granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketRange {
    /// Hourly or daily.
    pub granularity: Granularity,
    /// Start of the first bucket, unix seconds, aligned to the granularity.
    pub first: i64,
    /// Number of buckets.
    pub count: u32,
}

impl BucketRange {
    /// The start (unix seconds) of every bucket, oldest first.
    pub(crate) fn starts(&self) -> impl Iterator<Item = i64> + '_ {
        (0..i64::from(self.count)).map(|i| self.first + i * self.granularity.seconds())
    }
}

/// The counters of one bucket (or a sum of buckets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every tap, repeat taps included.
    pub taps: i64,
    /// Taps that made a new click.
    pub clicks: i64,
    /// Confirmed sales.
    pub conversions: i64,
    /// Confirmed sale amounts by currency, minor units.
    pub revenue: BTreeMap<String, i64>,
    /// Refunded amounts by currency, minor units.
    pub refunded: BTreeMap<String, i64>,
    /// Commission by currency, minor units: of the sales, less what the
    /// reversals took back.
    pub commission: BTreeMap<String, i64>,
    /// New clicks with a fraud signal (also in `clicks`).
    pub flagged_clicks: i64,
    /// Confirmed sales with a fraud signal (also in `conversions`).
    pub flagged_conversions: i64,
}

impl Counts {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Counts) {
        self.taps += other.taps;
        self.clicks += other.clicks;
        self.conversions += other.conversions;
        self.flagged_clicks += other.flagged_clicks;
        self.flagged_conversions += other.flagged_conversions;
        for (currency, amount) in &other.revenue {
            *self.revenue.entry(currency.clone()).or_default() += amount;
        }
        for (currency, amount) in &other.refunded {
            *self.refunded.entry(currency.clone()).or_default() += amount;
        }
        for (currency, amount) in &other.commission {
            *self.commission.entry(currency.clone()).or_default() += amount;
        }
    }
}

/// A commission of `amount` in `currency` as counters count it: nothing
/// for none (the stores write no commission field for none).
pub(crate) fn commission_count(currency: &str, amount: i64) -> BTreeMap<String, i64> {
    (amount != 0)
        .then(|| (currency.to_owned(), amount))
        .into_iter()
        .collect()
}

/// One stored counter cell of one merchant: the counts it contributed to an
/// id of a dimension in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterCell {
    /// Bucket start, unix seconds.
    pub start: i64,
    /// The dimension.
    pub dimension: Dimension,
    /// The id in that dimension.
    pub id: String,
    /// The counts.
    pub counts: Counts,
}

/// Counter retention: how long buckets are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Hourly buckets.
    pub hourly: Duration,
    /// Daily buckets.
    pub daily: Duration,
    /// Sale records, counted from the end of the click's attribution window:
    /// replays and refunds find the order until then.
    pub orders: Duration,
    /// The event stream keeps about this many events per merchant.
    pub events_max_len: u64,
    /// The event stream drops events older than this, when set.
    pub events_max_age: Option<Duration>,
    /// Payout records.
    pub payouts: Duration,
}

impl Retention {
    /// How long a click record is kept: through its attribution window, and
    /// at least through the day after the click, so `reconcile` can recount
    /// yesterday whatever the window.
    pub(crate) fn click_until(&self, click: &ClickRecord) -> DateTime<Utc> {
        let day = Granularity::Day.bucket_start(click.clicked_at) + 2 * Granularity::Day.seconds();
        let recount_until = DateTime::from_timestamp(day, 0).unwrap_or(click.expires_at);
        click.expires_at.max(recount_until)
    }

    /// How long a sale record (and its commission, once paid or void) is
    /// kept: replays and refunds find it until then. At least `orders`
    /// after the later of the attribution window's end and `payable_at`;
    /// a payout moves it on to `orders` after the payout.
    pub(crate) fn order_until(
        &self,
        sale: &SaleRecord,
        click_expires_at: DateTime<Utc>,
        payable_at: DateTime<Utc>,
    ) -> DateTime<Utc> {
        click_expires_at.max(sale.confirmed_at).max(payable_at) + self.orders
    }

    /// When a counter bucket starting at `start` expires.
    pub(crate) fn bucket_until(&self, granularity: Granularity, start: i64) -> DateTime<Utc> {
        let keep = match granularity {
            Granularity::Hour => self.hourly,
            Granularity::Day => self.daily,
        };
        DateTime::from_timestamp(start + granularity.seconds(), 0).unwrap_or_default() + keep
    }
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            hourly: Duration::from_secs(35 * 86_400),
            daily: Duration::from_secs(400 * 86_400),
            orders: Duration::from_secs(90 * 86_400),
            payouts: Duration::from_secs(400 * 86_400),
            events_max_len: 100_000,
            events_max_age: None,
        }
    }
}

/// What a top list ranks by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopMetric {
    /// New clicks.
    Clicks,
    /// Confirmed sales.
    Conversions,
    /// Confirmed revenue in one currency, minor units.
    Revenue(String),
    /// Commission in one currency, net of what reversals took back.
    Commission(String),
}

/// One ranked id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopEntry {
    /// The id.
    pub(crate) id: String,
    /// Its value of the metric.
    pub(crate) value: i64,
}

/// Ranks summed values by id: largest first, ties by id, zeros dropped, at
/// most `limit`.
pub(crate) fn rank(values: impl IntoIterator<Item = (String, i64)>, limit: usize) -> Vec<TopEntry> {
    let mut entries: Vec<TopEntry> = values
        .into_iter()
        .filter(|(_, value)| *value != 0)
        .map(|(id, value)| TopEntry { id, value })
        .collect();
    entries.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.id.cmp(&b.id)));
    entries.truncate(limit);
    entries
}
