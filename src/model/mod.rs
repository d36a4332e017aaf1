//! The domain's plain types: what the service stores, counts and returns.
//! No I/O and no protobuf here; `api/` converts to and from the wire types.
//!
//! - [`ids`]: validated ids ([`MerchantId`], [`CampaignId`], …).
//! - [`access`]: API keys and their [`Grant`].
//! - [`registry`]: merchants and campaigns.
//! - [`ledger`]: clicks, sales and refunds.
//! - [`counters`]: dimensions, buckets, counts, top lists, retention.
//! - [`events`]: a merchant's event stream.
//! - [`earnings`]: commission terms, commissions, balances and payouts.
//! - [`fraud`]: fraud signals of taps and sales.

pub(crate) mod access;
pub(crate) mod counters;
pub(crate) mod earnings;
pub(crate) mod events;
pub(crate) mod fraud;
pub(crate) mod ids;
pub(crate) mod ledger;
pub(crate) mod registry;

pub use access::{ApiKey, ApiKeyInfo, Grant, KeyQuery, Role};
pub use counters::{
    BucketRange, CounterCell, Counts, Dimension, Granularity, Retention, TopEntry, TopMetric,
};
pub(crate) use counters::{commission_count, rank};
pub use earnings::{
    Commission, CommissionCursor, CommissionDecision, CommissionQuery, CommissionReview,
    CommissionState, CommissionStatus, CommissionTerms, EarningsBalance, LedgerMove, NewPayout,
    OrderState, Page, Payout, PayoutCursor, PayoutQuery, PayoutQuote, RefundPlan,
};
pub use events::{Event, EventKind};
pub use fraud::{FraudRules, FraudSignal, Signals, TapFraud};
pub use ids::{
    CampaignId, CreatorId, KeyId, MerchantId, OrderId, PayoutId, ProductId, ReversalId, VideoId,
};
pub use ledger::{
    Attribution, ClickRecord, FirstClick, LedgerTotals, MerchantRecords, Money, NewClick,
    NewReversal, NewSale, RefundFacts, ReversalRecord, SaleRecord,
};
pub(crate) use ledger::{ReversalOutcome, SaleOutcome};
pub(crate) use registry::{
    AgeBracket, DEFAULT_ATTRIBUTION_WINDOW, DEFAULT_TOKEN_PARAM, MAX_ATTRIBUTION_WINDOW,
    MIN_ATTRIBUTION_WINDOW, ReviewDecision,
};
pub use registry::{Campaign, CampaignQuery, CampaignStatus, Merchant};
