//! The domain's plain types: what the service stores, counts and returns.
//! No I/O and no protobuf here; `api/` converts to and from the wire types.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::token::ClickId;

/// Default attribution window of a campaign that sets none (API.md).
pub const DEFAULT_ATTRIBUTION_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
/// Shortest attribution window a campaign may set.
pub const MIN_ATTRIBUTION_WINDOW: Duration = Duration::from_secs(3600);
/// Longest attribution window a campaign may set.
pub const MAX_ATTRIBUTION_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);
/// The token parameter of a merchant that names none.
pub const DEFAULT_TOKEN_PARAM: &str = "cc";

/// A merchant: a webshop that pays for attributed sales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    /// The merchant's id.
    pub merchant_id: String,
    /// Name shown on dashboards.
    pub display_name: String,
    /// Registered domains, lower case and in punycode; landing URLs must be on one.
    pub allowed_domains: Vec<String>,
    /// The query parameter that carries the token into the shop.
    pub token_param: String,
}

/// Where a campaign stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignStatus {
    /// New or changed, waiting for review.
    Pending,
    /// Issues tokens.
    Approved,
    /// Reviewed and refused.
    Rejected,
    /// Stopped by an operator until approved again.
    Paused,
}

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewDecision {
    /// The campaign may issue tokens.
    Approve,
    /// The campaign may not issue tokens.
    Reject,
    /// The campaign stops issuing tokens for now.
    Pause,
}

/// A campaign: a merchant's products promoted in videos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// The campaign's id.
    pub campaign_id: String,
    /// The merchant that pays for it.
    pub merchant_id: String,
    /// The category as the merchant wrote it; rules match on its slug.
    pub category: String,
    /// How long after a click a sale is attributed to it.
    pub attribution_window: Duration,
    /// Products in the campaign; empty means any.
    pub product_ids: Vec<String>,
    /// Review status.
    pub status: CampaignStatus,
    /// The reason given with the last review decision.
    pub review_reason: String,
    /// Bumped on every write, so a review never applies to a campaign that
    /// changed under it (compare-and-set in the store).
    pub revision: u64,
}

/// A viewer's age bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeBracket {
    /// Age unknown: a minor for age-restricted categories.
    Unspecified,
    /// Under 13: never issued a token.
    Under13,
    /// 13 to 17.
    Teen,
    /// 18 or older.
    Adult,
}

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
    pub fn as_str(self) -> &'static str {
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
    pub const ALL: [Granularity; 2] = [Granularity::Hour, Granularity::Day];

    /// Length of one bucket in seconds.
    pub fn seconds(self) -> i64 {
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
    pub fn as_str(self) -> &'static str {
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
    pub fn starts(&self) -> impl Iterator<Item = i64> + '_ {
        (0..i64::from(self.count)).map(|i| self.first + i * self.granularity.seconds())
    }
}

/// An amount of money in minor units of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Money {
    /// ISO 4217 alphabetic code, upper case.
    pub currency: String,
    /// Amount in minor units, 0 to [`crate::policy::MAX_AMOUNT_MINOR`].
    pub amount_minor: i64,
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
}

impl Counts {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Counts) {
        self.taps += other.taps;
        self.clicks += other.clicks;
        self.conversions += other.conversions;
        for (currency, amount) in &other.revenue {
            *self.revenue.entry(currency.clone()).or_default() += amount;
        }
        for (currency, amount) in &other.refunded {
            *self.refunded.entry(currency.clone()).or_default() += amount;
        }
    }
}

/// The attribution a click carries to a sale: who gets credit for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    /// The merchant whose shop the viewer went to.
    pub merchant_id: String,
    /// The campaign of the cart.
    pub campaign_id: String,
    /// The creator of the video.
    pub creator_id: String,
    /// The video the viewer tapped on.
    pub video_id: String,
    /// The product in the cart.
    pub product_id: String,
}

impl Attribution {
    /// The id this attribution counts under in `dimension`.
    pub fn id(&self, dimension: Dimension) -> &str {
        match dimension {
            Dimension::Merchant => &self.merchant_id,
            Dimension::Campaign => &self.campaign_id,
            Dimension::Creator => &self.creator_id,
            Dimension::Video => &self.video_id,
            Dimension::Product => &self.product_id,
        }
    }
}

/// A stored click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickRecord {
    /// 128-bit id (120 random bits and the shard byte), also inside the token.
    pub click_id: ClickId,
    /// Who the click credits.
    pub attribution: Attribution,
    /// Keyed hash of the viewer id (never the id itself); `None` once erased.
    pub viewer_hash: Option<crate::privacy::ViewerHash>,
    /// When the viewer tapped.
    pub clicked_at: DateTime<Utc>,
    /// End of the attribution window.
    pub expires_at: DateTime<Utc>,
}

/// A tap to record: the click it makes if it is not a repeat, and how to know
/// a repeat.
#[derive(Debug, Clone)]
pub struct NewClick {
    /// The click to store if this tap is not a repeat.
    pub record: ClickRecord,
    /// The key id that signed the click's token: a repeat tap gets the same
    /// token, re-signed by the same key.
    pub kid: String,
    /// Keyed hash of (viewer, video, product, campaign): equal for repeat taps.
    pub dedup_key: [u8; 32],
    /// How long a repeat tap returns the same click.
    pub dedup_window: Duration,
    /// Taps a viewer may make per `tap_window` (per merchant); the store
    /// records no more (RATE_LIMITED).
    pub tap_limit: u32,
    /// The window the tap limit counts in: taps are counted per aligned
    /// window of this length (whole seconds, at least one).
    pub tap_window: Duration,
}

/// The first click of a run of repeat taps: what its token was made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstClick {
    /// Its click id.
    pub click_id: ClickId,
    /// When it was made (the token's issue time, in whole seconds).
    pub clicked_at: DateTime<Utc>,
    /// Its token's expiry.
    pub expires_at: DateTime<Utc>,
    /// The key that signed its token.
    pub kid: String,
}

/// A sale to attribute.
#[derive(Debug, Clone)]
pub struct NewSale {
    /// The calling merchant (the token verified for it).
    pub merchant_id: String,
    /// The shop's order id: idempotency key within the merchant.
    pub order_id: String,
    /// The click the token stands for.
    pub click_id: ClickId,
    /// The end of the click's attribution window, from the token.
    pub click_expires_at: DateTime<Utc>,
    /// The sale amount.
    pub amount: Money,
    /// Now, as the service sees it.
    pub now: DateTime<Utc>,
    /// The token's window has passed: refuse unless this order is a replay.
    pub token_expired: bool,
}

/// A confirmed sale, as first answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleRecord {
    /// The click the sale is attributed to.
    pub click_id: ClickId,
    /// Who the sale credits.
    pub attribution: Attribution,
    /// The sale amount.
    pub amount: Money,
    /// When the viewer tapped.
    pub clicked_at: DateTime<Utc>,
    /// When the sale was first confirmed.
    pub confirmed_at: DateTime<Utc>,
}

/// What confirming a sale did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleOutcome {
    /// The sale as first confirmed.
    pub sale: SaleRecord,
    /// An identical repeat: nothing was counted.
    pub replayed: bool,
}

/// A merchant's raw records over a time range: what `reconcile` recounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MerchantRecords {
    /// Clicks made in the range (still stored).
    pub clicks: Vec<ClickRecord>,
    /// Sales confirmed in the range (still stored).
    pub sales: Vec<SaleRecord>,
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
}

impl Retention {
    /// How long a click record is kept: through its attribution window, and
    /// at least through the day after the click, so `reconcile` can recount
    /// yesterday whatever the window.
    pub fn click_until(&self, click: &ClickRecord) -> DateTime<Utc> {
        let day = Granularity::Day.bucket_start(click.clicked_at) + 2 * Granularity::Day.seconds();
        let recount_until = DateTime::from_timestamp(day, 0).unwrap_or(click.expires_at);
        click.expires_at.max(recount_until)
    }

    /// How long a sale record is kept: replays and refunds find it until then.
    pub fn order_until(&self, sale: &SaleRecord, click_expires_at: DateTime<Utc>) -> DateTime<Utc> {
        click_expires_at.max(sale.confirmed_at) + self.orders
    }

    /// When a counter bucket starting at `start` expires.
    pub fn bucket_until(&self, granularity: Granularity, start: i64) -> DateTime<Utc> {
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
            events_max_len: 100_000,
            events_max_age: None,
        }
    }
}

/// A refund to record against a confirmed sale.
#[derive(Debug, Clone)]
pub struct NewReversal {
    /// The calling merchant.
    pub merchant_id: String,
    /// The order refunded.
    pub order_id: String,
    /// The shop's id for this refund: idempotency key within the merchant.
    pub reversal_id: String,
    /// The amount refunded, in the sale's currency.
    pub amount: Money,
    /// Now, as the service sees it.
    pub now: DateTime<Utc>,
}

/// What recording a refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalOutcome {
    /// The sale less all its reversals, as of this reversal.
    pub remaining: Money,
    /// An identical repeat: nothing was counted.
    pub replayed: bool,
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
}

/// One ranked id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopEntry {
    /// The id.
    pub id: String,
    /// Its value of the metric.
    pub value: i64,
}

/// Ranks summed values by id: largest first, ties by id, zeros dropped, at
/// most `limit`.
pub fn rank(values: impl IntoIterator<Item = (String, i64)>, limit: usize) -> Vec<TopEntry> {
    let mut entries: Vec<TopEntry> = values
        .into_iter()
        .filter(|(_, value)| *value != 0)
        .map(|(id, value)| TopEntry { id, value })
        .collect();
    entries.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.id.cmp(&b.id)));
    entries.truncate(limit);
    entries
}

/// The kinds of events the stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A new click: a tap and a click.
    Click,
    /// A repeat tap: a tap only.
    RepeatTap,
    /// A confirmed sale.
    Sale,
    /// A refund.
    Reversal,
}

impl EventKind {
    /// The one-letter code the Redis stream stores.
    pub fn code(self) -> &'static str {
        match self {
            EventKind::Click => "c",
            EventKind::RepeatTap => "t",
            EventKind::Sale => "s",
            EventKind::Reversal => "r",
        }
    }

    /// The kind of a stored code.
    pub fn from_code(code: &str) -> Option<EventKind> {
        [
            EventKind::Click,
            EventKind::RepeatTap,
            EventKind::Sale,
            EventKind::Reversal,
        ]
        .into_iter()
        .find(|kind| kind.code() == code)
    }
}

/// One entry of a merchant's event stream: everything counted, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The stream's id for it: ordered within the merchant.
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// When: decides its counter buckets.
    pub at: DateTime<Utc>,
    /// Who it credits.
    pub attribution: Attribution,
    /// The click (the first tap's for a repeat tap).
    pub click_id: ClickId,
    /// The order, for sales and reversals; empty otherwise.
    pub order_id: String,
    /// The reversal, for reversals; empty otherwise.
    pub reversal_id: String,
    /// The sale amount or the refund; `None` for taps.
    pub amount: Option<Money>,
}

impl Event {
    /// What this event adds to the counters of its attribution.
    pub fn counts(&self) -> Counts {
        let money = |amount: &Option<Money>| {
            amount
                .iter()
                .map(|m| (m.currency.clone(), m.amount_minor))
                .collect()
        };
        match self.kind {
            EventKind::Click => Counts {
                taps: 1,
                clicks: 1,
                ..Counts::default()
            },
            EventKind::RepeatTap => Counts {
                taps: 1,
                ..Counts::default()
            },
            EventKind::Sale => Counts {
                conversions: 1,
                revenue: money(&self.amount),
                ..Counts::default()
            },
            EventKind::Reversal => Counts {
                refunded: money(&self.amount),
                ..Counts::default()
            },
        }
    }
}
