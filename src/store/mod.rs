//! Storage behind narrow traits that speak the domain, one per concern:
//! [`Registry`] (merchants, campaigns), [`Keys`] (API keys), [`Ledger`]
//! (clicks, sales, reversals), [`Earnings`] (commissions, balances,
//! payouts), [`Counters`] (counter reads, top lists, events), [`Operator`]
//! (erasure and the reads `reconcile` makes) and [`Health`]. [`Store`] is all of them, for the service that needs them
//! all; code that needs one concern can take only that trait.
//!
//! The store does mechanics and reports what it found: each write is done
//! atomically (a tap recorded with its counters, a sale confirmed exactly
//! once with its counters) or not at all, and answers with an
//! [`outcome`] (`SaleWrite::Existing`, `ReversalWrite::Exceeds`, ...). What
//! that means to a caller (`ORDER_CONFLICT`, `TOKEN_EXPIRED`, ...) the
//! domain decides, with rules from `policy`. The embedded
//! [`memory::MemoryStore`] and the Redis store pass the same conformance
//! suite (`tests/api/store_conformance.rs`); wrappers (the metered store, the
//! tests' gated store) forward every trait with [`forward_store!`](crate::forward_store).

pub mod memory;
pub(crate) mod metered;
pub(crate) mod outcome;
pub mod redis;

pub use outcome::{
    ClickWrite, PayoutWrite, RefundFacts, ReversalRecord, ReversalWrite, ReviewWrite, SaleWrite,
};

/// What [`forward_store!`](crate::forward_store) names when it expands in another crate.
#[doc(hidden)]
pub mod macro_support {
    pub use async_trait::async_trait;
    pub use chrono::{DateTime, Utc};
}

use async_trait::async_trait;

use crate::error::Result;
use chrono::{DateTime, Utc};

use crate::privacy::ViewerHash;

use crate::model::{ApiKey, ApiKeyInfo, CampaignQuery, KeyQuery};
use crate::model::{
    BucketRange, Campaign, Commission, CommissionCursor, CommissionQuery, CommissionReview,
    CounterCell, Counts, Dimension, EarningsBalance, Event, Merchant, MerchantRecords, NewClick,
    NewPayout, NewReversal, NewSale, Page, Payout, PayoutCursor, PayoutQuery, TopEntry, TopMetric,
};

/// Whether the store can serve: drives the health service.
#[async_trait]
pub trait Health: Send + Sync + 'static {
    /// Answers when the store is reachable and takes writes (a Redis store
    /// refuses them while a node would evict).
    async fn check_connectivity(&self) -> Result<()>;
}

/// Merchants and campaigns: configuration, written by admins and read on
/// every tap (through the domain's short cache).
#[async_trait]
pub trait Registry: Send + Sync + 'static {
    /// Creates or replaces a merchant.
    async fn put_merchant(&self, merchant: &Merchant) -> Result<()>;

    /// Reads a merchant.
    async fn get_merchant(&self, merchant_id: &str) -> Result<Option<Merchant>>;

    /// Reads a campaign.
    async fn get_campaign(&self, campaign_id: &str) -> Result<Option<Campaign>>;

    /// Writes a campaign if the stored one is still at `expected_revision`
    /// (`None`: there must be none). Returns false, writing nothing, when
    /// another write came first; the caller reads again and retries.
    async fn put_campaign(
        &self,
        campaign: &Campaign,
        expected_revision: Option<u64>,
    ) -> Result<bool>;

    /// Up to `limit` merchants after the merchant id `after`, by merchant
    /// id; the page's `next` is its last id while more follow.
    ///
    /// Every listing's page holds each selected item up to where its
    /// `next` goes on (its last item's id, or a later id where a walk's
    /// budget ran out), and `next` is `None` only when none follows.
    async fn list_merchants(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Merchant, String>>;

    /// Up to `limit` campaigns that `query` selects, after the campaign id
    /// `after`, by campaign id; the page's `next` is where the walk goes on
    /// while more that `query` selects may follow.
    async fn list_campaigns(
        &self,
        query: &CampaignQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Campaign, String>>;
}

/// API keys made by CreateApiKey (the config file's keys live in config).
#[async_trait]
pub trait Keys: Send + Sync + 'static {
    /// Stores an API key made by CreateApiKey at `created_at` (its hash,
    /// never the secret).
    async fn put_api_key(&self, key: &ApiKey, label: &str, created_at: DateTime<Utc>)
    -> Result<()>;

    /// The live key whose secret hashes to `sha256`; `None` when unknown or revoked.
    async fn find_api_key(&self, sha256: &[u8; 32]) -> Result<Option<ApiKey>>;

    /// Revokes a stored key; false when no stored key has that id.
    async fn revoke_api_key(&self, key_id: &str) -> Result<bool>;

    /// Up to `limit` stored keys (revoked ones included) that `query`
    /// selects, after the key id `after`, by key id; the page's `next` is
    /// where the walk goes on while more that `query` selects may follow.
    /// Never a secret nor its hash.
    async fn list_api_keys(
        &self,
        query: &KeyQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ApiKeyInfo, String>>;
}

/// The flow: clicks, sales and reversals, each written exactly once with
/// its counters and event, or not at all.
#[async_trait]
pub trait Ledger: Send + Sync + 'static {
    /// Records a tap, atomically: a new click, counted as a tap and a click
    /// in every dimension, under the given click id placed where the store
    /// keeps it (a sharded Redis merchant records the viewer's shard in its
    /// last byte; the memory store keeps it as it is); or a repeat inside
    /// the dedup window, counted as a tap and answered with the first
    /// click; or, past `click.tap_limit` taps of the viewer in the current
    /// `click.tap_window`, nothing but the tap towards the limit. With
    /// `click.fraud`, every tap answered OK also counts in the fraud
    /// windows, and a new click's signals are raised from those counts
    /// ([`crate::policy::click_signals`]), kept with it (a repeat answers
    /// them) and counted as a flagged click, all in the same step.
    async fn record_click(&self, click: &NewClick) -> Result<ClickWrite>;

    /// Confirms a sale exactly once per (merchant, order_id): the order's
    /// first sale when the id is taken, else `Expired` when
    /// `sale.token_expired`, `NoClick` when the merchant has no such click
    /// record, else the new sale, counted as a conversion, revenue and
    /// commission in every dimension of the click. Only the last writes
    /// anything. The new sale's commission, from the click's terms
    /// ([`crate::policy::commission`]), is written with it: a commission
    /// record (when it is above zero) and the creator's ledger. With
    /// `sale.fraud`, its signals are the click's and its own
    /// ([`crate::policy::sale_signals`]); with any, it counts as a flagged
    /// conversion and its commission is held.
    async fn confirm_sale(&self, sale: &NewSale) -> Result<SaleWrite>;

    /// Records a refund exactly once per (merchant, reversal_id): the first
    /// reversal when the id is taken, else `NoOrder` for an order never
    /// confirmed (or past its retention), `CurrencyDiffers` or `Exceeds`
    /// when the refund is not in the sale's currency or above what is left
    /// of it, `Quote` when the sale has a commission and `reversal.plan` is
    /// missing or was made from a refunded total that no longer stands,
    /// else the new reversal, counted as refunded in every dimension of the
    /// sale, with the commission lowered to the plan's figure (void at
    /// zero; what is taken back from a paid one becomes the ledger's
    /// clawback). Only the last writes anything.
    async fn reverse_sale(&self, reversal: &NewReversal) -> Result<ReversalWrite>;
}

/// What creators earned: commissions, the ledgers' balances and payouts.
/// A commission is written with its sale and changed with its reversals
/// ([`Ledger`]); these read them and make payouts.
#[async_trait]
pub trait Earnings: Send + Sync + 'static {
    /// A creator's balances, one per merchant and currency, by merchant then
    /// currency: with one merchant's only when `merchant` is given.
    /// PENDING and PAYABLE are told apart by `now`.
    async fn earnings(
        &self,
        creator_id: &str,
        merchant: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<EarningsBalance>>;

    /// Up to `limit` commissions that `query` selects, after `after`,
    /// newest sale first (then merchant and order ascending).
    async fn list_commissions(
        &self,
        query: &CommissionQuery,
        after: Option<&CommissionCursor>,
        limit: usize,
    ) -> Result<Page<Commission, CommissionCursor>>;

    /// Makes a payout exactly once per (merchant, payout_id): the payout
    /// first made under the id when it is taken; else a `Quote` of what it
    /// would pay when `payout.quoted` is missing or no longer what it would
    /// pay; else pays, atomically, the creator's PAYABLE commissions in the
    /// currency (earliest `payable_at` first, at most
    /// `payout.max_commissions`) less the outstanding clawback. Only the
    /// last writes anything; the caller decides whether a quote is worth
    /// paying.
    async fn create_payout(&self, payout: &NewPayout) -> Result<PayoutWrite>;

    /// Up to `limit` payouts that `query` selects, after `after`, newest
    /// first (then payout id and merchant ascending).
    async fn list_payouts(
        &self,
        query: &PayoutQuery,
        after: Option<&PayoutCursor>,
        limit: usize,
    ) -> Result<Page<Payout, PayoutCursor>>;

    /// Reviews the commission of an order, atomically: `NoOrder` when there
    /// is neither the order nor a commission, `NotHeld` when the commission
    /// is not HELD or the sale earned none, else the decision applied (a
    /// released one unpaid again, PENDING or PAYABLE by its payable time; a
    /// voided one VOID at 0, kept as long as its order), the ledger's held
    /// total moved, the reason and time kept, and a review event appended.
    /// Only the last writes anything; no counter moves.
    async fn review_commission(&self, review: &CommissionReview) -> Result<ReviewWrite>;
}

/// What the flow counted: counters, top lists and the event streams.
#[async_trait]
pub trait Counters: Send + Sync + 'static {
    /// The counters of `id` in `dimension`, one per bucket of `range`, oldest
    /// first: summed over every merchant that counted for the id, or only
    /// `merchant`'s share when one is given (a merchant reading its product).
    async fn read_counters(
        &self,
        dimension: Dimension,
        id: &str,
        range: BucketRange,
        merchant: Option<&str>,
    ) -> Result<Vec<Counts>>;

    /// The top `limit` ids of `dimension` on the UTC day starting at
    /// `day_start` by `metric`, largest first (ties by id), over every
    /// merchant or only `merchant`.
    async fn list_top(
        &self,
        dimension: Dimension,
        day_start: i64,
        metric: &TopMetric,
        limit: usize,
        merchant: Option<&str>,
    ) -> Result<Vec<TopEntry>>;

    /// Up to `count` events of a merchant's stream after the event id
    /// `after` (from the oldest kept when `None`), oldest first.
    async fn read_events(
        &self,
        merchant_id: &str,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<Event>>;
}

/// Operator work over whole merchants or viewers: erasure, and the raw
/// reads `reconcile` recounts. Slow (a Redis store scans), never on the
/// hot path.
#[async_trait]
pub trait Operator: Send + Sync + 'static {
    /// Removes every stored link to a viewer: the viewer field of its click
    /// records, its dedup entries and its rate-limit counters. Counted
    /// figures stay. Returns how many click records it unlinked.
    async fn erase_viewer(&self, viewer: &ViewerHash) -> Result<u64>;

    /// Every counter cell one merchant wrote in `range`, in any dimension:
    /// what `reconcile` compares with the recount.
    async fn merchant_counters(
        &self,
        merchant_id: &str,
        range: BucketRange,
    ) -> Result<Vec<CounterCell>>;

    /// The merchant's click and sale records made in `[from, to)`, as far
    /// as they are still stored.
    async fn merchant_records(
        &self,
        merchant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<MerchantRecords>;
}

/// Everything the service needs from its storage, as one trait object
/// (`Arc<dyn Store>`). Errors are the domain's: a store that cannot answer
/// in time returns [`crate::error::Error::StoreUnavailable`]; what a write
/// found is its outcome, not an error.
pub trait Store: Health + Registry + Keys + Ledger + Earnings + Counters + Operator {}

impl<T: Health + Registry + Keys + Ledger + Earnings + Counters + Operator> Store for T {}

/// Implements every store trait for a wrapper by forwarding to its field
/// `inner`, with `around` run around each call: `this` is the wrapper,
/// `operation` the method's name (`"confirm_sale"`), `call` the inner
/// call's future, to await. So a wrapper says only what it adds:
///
/// ```ignore
/// cartclick::forward_store!(MeteredStore, inner, |this, operation, call| {
///     this.timed(operation, call).await
/// });
/// ```
///
/// `inner` may be any store or a pointer to one (`Arc<dyn Store>`). The
/// method list below repeats the traits' signatures: a method added to a
/// trait is added there too (the compiler names any the list lacks).
#[macro_export]
macro_rules! forward_store {
    ($wrapper:ty, $inner:ident, |$this:ident, $operation:ident, $call:ident| $around:block) => {
        $crate::forward_store!(@impl $wrapper, $inner, $this, $operation, $call, $around,
            Health {
                check_connectivity() -> ();
            }
            Registry {
                put_merchant(merchant: &$crate::model::Merchant) -> ();
                get_merchant(merchant_id: &str) -> Option<$crate::model::Merchant>;
                get_campaign(campaign_id: &str) -> Option<$crate::model::Campaign>;
                put_campaign(campaign: &$crate::model::Campaign, expected_revision: Option<u64>) -> bool;
                list_merchants(after: Option<&str>, limit: usize)
                    -> $crate::model::Page<$crate::model::Merchant, String>;
                list_campaigns(
                    query: &$crate::model::CampaignQuery,
                    after: Option<&str>,
                    limit: usize
                ) -> $crate::model::Page<$crate::model::Campaign, String>;
            }
            Keys {
                put_api_key(
                    key: &$crate::model::ApiKey,
                    label: &str,
                    created_at: $crate::store::macro_support::DateTime<$crate::store::macro_support::Utc>
                ) -> ();
                find_api_key(sha256: &[u8; 32]) -> Option<$crate::model::ApiKey>;
                revoke_api_key(key_id: &str) -> bool;
                list_api_keys(
                    query: &$crate::model::KeyQuery,
                    after: Option<&str>,
                    limit: usize
                ) -> $crate::model::Page<$crate::model::ApiKeyInfo, String>;
            }
            Ledger {
                record_click(click: &$crate::model::NewClick) -> $crate::store::ClickWrite;
                confirm_sale(sale: &$crate::model::NewSale) -> $crate::store::SaleWrite;
                reverse_sale(reversal: &$crate::model::NewReversal) -> $crate::store::ReversalWrite;
            }
            Earnings {
                earnings(
                    creator_id: &str,
                    merchant: Option<&str>,
                    now: $crate::store::macro_support::DateTime<$crate::store::macro_support::Utc>
                ) -> Vec<$crate::model::EarningsBalance>;
                list_commissions(
                    query: &$crate::model::CommissionQuery,
                    after: Option<&$crate::model::CommissionCursor>,
                    limit: usize
                ) -> $crate::model::Page<$crate::model::Commission, $crate::model::CommissionCursor>;
                create_payout(payout: &$crate::model::NewPayout) -> $crate::store::PayoutWrite;
                list_payouts(
                    query: &$crate::model::PayoutQuery,
                    after: Option<&$crate::model::PayoutCursor>,
                    limit: usize
                ) -> $crate::model::Page<$crate::model::Payout, $crate::model::PayoutCursor>;
                review_commission(review: &$crate::model::CommissionReview)
                    -> $crate::store::ReviewWrite;
            }
            Counters {
                read_counters(
                    dimension: $crate::model::Dimension,
                    id: &str,
                    range: $crate::model::BucketRange,
                    merchant: Option<&str>
                ) -> Vec<$crate::model::Counts>;
                list_top(
                    dimension: $crate::model::Dimension,
                    day_start: i64,
                    metric: &$crate::model::TopMetric,
                    limit: usize,
                    merchant: Option<&str>
                ) -> Vec<$crate::model::TopEntry>;
                read_events(merchant_id: &str, after: Option<&str>, count: usize)
                    -> Vec<$crate::model::Event>;
            }
            Operator {
                erase_viewer(viewer: &$crate::privacy::ViewerHash) -> u64;
                merchant_counters(merchant_id: &str, range: $crate::model::BucketRange)
                    -> Vec<$crate::model::CounterCell>;
                merchant_records(
                    merchant_id: &str,
                    from: $crate::store::macro_support::DateTime<$crate::store::macro_support::Utc>,
                    to: $crate::store::macro_support::DateTime<$crate::store::macro_support::Utc>
                ) -> $crate::model::MerchantRecords;
            }
        );
    };
    (@impl $wrapper:ty, $inner:ident, $this:ident, $operation:ident, $call:ident, $around:block,
        $($trait:ident {
            $($method:ident($($arg:ident: $arg_ty:ty),*) -> $out:ty;)*
        })*
    ) => {
        $(
            #[$crate::store::macro_support::async_trait]
            impl $crate::store::$trait for $wrapper {
                $(
                    #[allow(unused_variables)]
                    async fn $method(&self, $($arg: $arg_ty),*) -> $crate::error::Result<$out> {
                        #[allow(unused_imports)]
                        use $crate::store::$trait as _;
                        let $this = self;
                        let $operation: &'static str = stringify!($method);
                        let $call = $this.$inner.$method($($arg),*);
                        $around
                    }
                )*
            }
        )*
    };
}
