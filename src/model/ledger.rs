//! Clicks, sales and refunds: what a tap or a sale writes, what the store
//! keeps of it and what it answers.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::counters::Dimension;
use super::earnings::{CommissionTerms, RefundPlan};
use super::fraud::{FraudRules, Signals, TapFraud};
use super::ids::{CampaignId, CreatorId, MerchantId, OrderId, ProductId, ReversalId, VideoId};
use crate::token::ClickId;

/// An amount of money in minor units of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Money {
    /// ISO 4217 alphabetic code, upper case.
    pub currency: String,
    /// Amount in minor units, 0 to `MAX_AMOUNT_MINOR` (`policy/money.rs`).
    pub amount_minor: i64,
}

/// The attribution a click carries to a sale: who gets credit for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    /// The merchant whose shop the viewer went to.
    pub merchant_id: MerchantId,
    /// The campaign of the cart.
    pub campaign_id: CampaignId,
    /// The creator of the video.
    pub creator_id: CreatorId,
    /// The video the viewer tapped on.
    pub video_id: VideoId,
    /// The product in the cart.
    pub product_id: ProductId,
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
    /// The campaign's commission terms when the click was made.
    pub terms: CommissionTerms,
    /// Keyed hash of the viewer id (never the id itself); `None` once erased.
    pub viewer_hash: Option<crate::privacy::ViewerHash>,
    /// When the viewer tapped.
    pub clicked_at: DateTime<Utc>,
    /// End of the attribution window.
    pub expires_at: DateTime<Utc>,
    /// Its fraud signals, raised when it was made (the store raises them,
    /// from counts only it keeps; none until then).
    pub signals: Signals,
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
    /// The fraud rules to raise the click's signals by; `None` when fraud
    /// signals are off (nothing is counted for them).
    pub fraud: Option<TapFraud>,
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
    /// Its fraud signals: a repeat tap returns them.
    pub signals: Signals,
}

/// A sale to attribute.
#[derive(Debug, Clone)]
pub struct NewSale {
    /// The calling merchant (the token verified for it).
    pub merchant_id: MerchantId,
    /// The shop's order id: idempotency key within the merchant.
    pub order_id: OrderId,
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
    /// The fraud rules to raise the sale's signals by; `None` when fraud
    /// signals are off.
    pub fraud: Option<FraudRules>,
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
    /// What the sale earned its creator when confirmed, in its currency.
    pub commission: Money,
    /// Its fraud signals: the click's and its own. With any, its
    /// commission is held.
    pub signals: Signals,
}

/// What confirming a sale did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SaleOutcome {
    /// The sale as first confirmed.
    pub(crate) sale: SaleRecord,
    /// An identical repeat: nothing was counted.
    pub(crate) replayed: bool,
}

/// A merchant's raw records over a time range: what `reconcile` recounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MerchantRecords {
    /// Clicks made in the range (still stored).
    pub clicks: Vec<ClickRecord>,
    /// Sales confirmed in the range (still stored).
    pub sales: Vec<SaleRecord>,
    /// Refunds recorded in the range (still stored), and any stored before
    /// reversals kept their facts (time, attribution), whatever their time.
    pub refunds: Vec<ReversalRecord>,
    /// The merchant's commissions owed (unpaid or held, never expiring) and
    /// those still kept after payment, whatever their time.
    pub commissions: Vec<super::earnings::Commission>,
    /// The merchant's ledgers: (creator, currency) and their totals as
    /// (unpaid, held, paid, clawback).
    pub ledgers: Vec<LedgerTotals>,
}

/// A ledger's running totals, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerTotals {
    /// The creator.
    pub creator_id: CreatorId,
    /// The currency.
    pub currency: String,
    /// PENDING and PAYABLE commissions.
    pub unpaid: i64,
    /// HELD commissions.
    pub held: i64,
    /// Money sent.
    pub paid: i64,
    /// Taken back from paid commissions, not yet deducted.
    pub clawback: i64,
}

/// A refund to record against a confirmed sale.
#[derive(Debug, Clone)]
pub struct NewReversal {
    /// The calling merchant.
    pub merchant_id: MerchantId,
    /// The order refunded.
    pub order_id: OrderId,
    /// The shop's id for this refund: idempotency key within the merchant.
    pub reversal_id: ReversalId,
    /// The amount refunded, in the sale's currency.
    pub amount: Money,
    /// Now, as the service sees it.
    pub now: DateTime<Utc>,
    /// The commission's part, planned from what the store reported (see
    /// [`ReversalWrite::Quote`](crate::store::ReversalWrite::Quote)); `None`
    /// until then. A sale with no commission needs none.
    pub plan: Option<RefundPlan>,
}

/// What recording a refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReversalOutcome {
    /// The sale less all its reversals, as of this reversal.
    pub(crate) remaining: Money,
    /// What the sale's commission earns after them.
    pub(crate) commission_remaining: Money,
    /// An identical repeat: nothing was counted.
    pub(crate) replayed: bool,
}

/// A stored reversal, as first recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalRecord {
    /// The order it refunded.
    pub order_id: OrderId,
    /// The amount it refunded.
    pub amount: Money,
    /// What was left of the sale after it.
    pub remaining: Money,
    /// What the sale's commission earned after it.
    pub commission_remaining: Money,
    /// When it was recorded, whom it debits and what it took back from the
    /// commission: what `reconcile` recounts. `None` for a reversal stored
    /// before these were kept.
    pub facts: Option<RefundFacts>,
}

/// What a reversal counted, as `reconcile` recounts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFacts {
    /// When it was recorded: its counter buckets.
    pub at: DateTime<Utc>,
    /// The sale's attribution.
    pub attribution: Attribution,
    /// What it took back from the sale's commission.
    pub commission_taken: i64,
}
