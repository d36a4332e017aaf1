//! The domain's plain types: what the service stores, counts and returns.
//! No I/O and no protobuf here; `api/` converts to and from the wire types.
//!
//! - [`ids`]: validated ids ([`MerchantId`], [`CampaignId`], …).
//! - [`access`]: API keys and their [`Grant`].
//! - [`registry`]: merchants and campaigns.
//! - [`ledger`]: clicks, sales and refunds.
//! - [`counters`]: dimensions, buckets, counts, top lists, retention.
//! - [`events`]: a merchant's event stream.

pub mod access;
pub mod counters;
pub mod events;
pub mod ids;
pub mod ledger;
pub mod registry;

pub use access::{ApiKey, Grant, Role};
pub use counters::{
    BucketRange, CounterCell, Counts, Dimension, Granularity, Retention, TopEntry, TopMetric, rank,
};
pub use events::{Event, EventKind};
pub use ids::{
    CampaignId, CreatorId, KeyId, MAX_ID_LEN, MerchantId, OrderId, ParseId, ProductId, ReversalId,
    VideoId,
};
pub use ledger::{
    Attribution, ClickRecord, FirstClick, MerchantRecords, Money, NewClick, NewReversal, NewSale,
    ReversalOutcome, SaleOutcome, SaleRecord,
};
pub use registry::{
    AgeBracket, Campaign, CampaignStatus, DEFAULT_ATTRIBUTION_WINDOW, DEFAULT_TOKEN_PARAM,
    MAX_ATTRIBUTION_WINDOW, MIN_ATTRIBUTION_WINDOW, Merchant, ReviewDecision,
};
