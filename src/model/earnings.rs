//! Earnings: the commission terms a click carries, the commission a sale
//! earns its creator, the ledgers that keep running balances, and payouts
//! (API.md, "Earnings").

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::ids::{CreatorId, MerchantId, OrderId, PayoutId};
use super::ledger::{Attribution, Money};

/// A campaign's commission terms, as taken at a click: a later change of
/// the campaign never reaches a click already made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommissionTerms {
    /// The creator's share of a sale, in basis points (0 to 10000).
    pub rate_bps: u32,
    /// How long a commission waits after its sale before it may be paid.
    pub holding_period: Duration,
}

impl CommissionTerms {
    /// No commission: the terms of a click stored before there were terms.
    pub const NONE: CommissionTerms = CommissionTerms {
        rate_bps: 0,
        holding_period: Duration::ZERO,
    };
}

/// Where a commission stands, as stored. Unpaid commissions are PENDING or
/// PAYABLE by their `payable_at` and the clock (see [`Commission::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommissionState {
    /// Waiting for its payable time, or payable.
    Unpaid,
    /// A fraud signal holds it until an admin reviews it.
    Held,
    /// Paid by a payout.
    Paid,
    /// Reversed to zero, or voided on review.
    Void,
}

impl CommissionState {
    /// The one-letter code stores keep.
    pub(crate) fn code(self) -> &'static str {
        match self {
            CommissionState::Unpaid => "u",
            CommissionState::Held => "h",
            CommissionState::Paid => "p",
            CommissionState::Void => "v",
        }
    }

    /// The state of a stored code.
    pub(crate) fn from_code(code: &str) -> Option<CommissionState> {
        [
            CommissionState::Unpaid,
            CommissionState::Held,
            CommissionState::Paid,
            CommissionState::Void,
        ]
        .into_iter()
        .find(|state| state.code() == code)
    }
}

/// A commission's status as the contract names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommissionStatus {
    /// In its holding period.
    Pending,
    /// Past its holding period, not yet paid.
    Payable,
    /// Held by a fraud signal.
    Held,
    /// Paid.
    Paid,
    /// Reversed to zero, or voided on review.
    Void,
}

/// What an admin decides about a held commission (`ReviewCommission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommissionDecision {
    /// It becomes PENDING or PAYABLE by its payable time.
    Release,
    /// It becomes VOID: it earns nothing.
    Void,
}

impl CommissionDecision {
    /// The one-letter code stores keep (in review events).
    pub(crate) fn code(self) -> &'static str {
        match self {
            CommissionDecision::Release => "r",
            CommissionDecision::Void => "v",
        }
    }

    /// The decision of a stored code.
    pub(crate) fn from_code(code: &str) -> Option<CommissionDecision> {
        [CommissionDecision::Release, CommissionDecision::Void]
            .into_iter()
            .find(|decision| decision.code() == code)
    }
}

/// One sale's commission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commission {
    /// The order whose sale earned it.
    pub order_id: OrderId,
    /// Who the sale credits (merchant, campaign, creator, video, product).
    pub attribution: Attribution,
    /// The sale as first confirmed.
    pub sale_total: Money,
    /// The sale less its reversals.
    pub sale_amount: Money,
    /// What the sale earned when confirmed.
    pub earned: i64,
    /// What it earns now, in the sale's currency.
    pub commission: Money,
    /// The terms taken at the click.
    pub terms: CommissionTerms,
    /// Where it stands.
    pub state: CommissionState,
    /// When the sale was confirmed.
    pub confirmed_at: DateTime<Utc>,
    /// When it may be paid.
    pub payable_at: DateTime<Utc>,
    /// The payout that paid it.
    pub payout_id: Option<PayoutId>,
    /// The fraud signals of its sale: with any, it was held.
    pub signals: super::fraud::Signals,
    /// The reason given when an admin reviewed it.
    pub review_reason: String,
    /// When an admin reviewed it.
    pub reviewed_at: Option<DateTime<Utc>>,
}

impl Commission {
    /// Its status at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> CommissionStatus {
        match self.state {
            CommissionState::Unpaid if now < self.payable_at => CommissionStatus::Pending,
            CommissionState::Unpaid => CommissionStatus::Payable,
            CommissionState::Held => CommissionStatus::Held,
            CommissionState::Paid => CommissionStatus::Paid,
            CommissionState::Void => CommissionStatus::Void,
        }
    }
}

/// A creator's balance with one merchant in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarningsBalance {
    /// The merchant that owes it.
    pub merchant_id: MerchantId,
    /// The creator it is owed to.
    pub creator_id: CreatorId,
    /// Its currency.
    pub currency: String,
    /// Commissions in their holding period.
    pub pending: i64,
    /// Commissions that may be paid.
    pub payable: i64,
    /// Commissions a fraud signal holds.
    pub held: i64,
    /// Money sent: payout amounts, net of the clawback they deducted.
    pub paid: i64,
    /// Taken back from paid commissions and not yet deducted.
    pub clawback: i64,
}

/// A payout: a creator's payable commissions with one merchant in one
/// currency, paid at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// The caller's id for it: the idempotency key within the merchant.
    pub payout_id: PayoutId,
    /// The merchant that pays.
    pub merchant_id: MerchantId,
    /// The creator paid.
    pub creator_id: CreatorId,
    /// What was sent: the commissions less the clawback deducted.
    pub amount: Money,
    /// How many commissions it paid.
    pub commissions: i64,
    /// The outstanding clawback it deducted.
    pub clawback_deducted: Money,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A payout to make.
#[derive(Debug, Clone)]
pub struct NewPayout {
    /// The caller's id for it.
    pub payout_id: PayoutId,
    /// The merchant that pays.
    pub merchant_id: MerchantId,
    /// The creator paid.
    pub creator_id: CreatorId,
    /// The currency paid in.
    pub currency: String,
    /// Now: commissions payable at or before it are paid.
    pub now: DateTime<Utc>,
    /// Commissions a payout pays at most.
    pub max_commissions: usize,
    /// The quote the caller accepted and what it pays: the store pays only
    /// if the quote still stands, else quotes again. `None` asks for a
    /// quote and writes nothing.
    pub quoted: Option<PayoutQuote>,
}

/// An admin's review of a held commission to write (`ReviewCommission`).
#[derive(Debug, Clone)]
pub struct CommissionReview {
    /// The merchant whose sale earned it.
    pub merchant_id: MerchantId,
    /// The order whose sale earned it.
    pub order_id: OrderId,
    /// Release it, or void it.
    pub decision: CommissionDecision,
    /// Why, as the admin wrote it (may be empty).
    pub reason: String,
    /// Now: when it is reviewed.
    pub now: DateTime<Utc>,
}

/// A payout's quote, and what the payout rule
/// ([`crate::policy::payout_amount`]) makes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutQuote {
    /// The sum of the payable commissions it pays.
    pub payable: i64,
    /// The outstanding clawback.
    pub clawback: i64,
    /// What it sends.
    pub amount: i64,
    /// The clawback it deducts.
    pub deducted: i64,
}

/// A refund's effect on a sale's commission, planned by the domain
/// ([`crate::policy::refund_plan`]) from what the store quoted
/// ([`OrderState`]); the store applies it only if the order's refunded
/// total and the commission's state still stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundPlan {
    /// The order's refunded total the plan was made from.
    pub refunded_before: i64,
    /// The commission's state the plan was made from.
    pub state_before: CommissionState,
    /// What the commission earns after this refund.
    pub commission_after: i64,
    /// Its state after this refund.
    pub state_after: CommissionState,
    /// What this refund takes back from it.
    pub taken: i64,
    /// What the ledger's unpaid, held and clawback totals move by.
    pub ledger: LedgerMove,
}

/// How a ledger's totals move, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerMove {
    /// PENDING and PAYABLE commissions.
    pub unpaid: i64,
    /// HELD commissions.
    pub held: i64,
    /// Taken back from paid commissions, not yet deducted.
    pub clawback: i64,
}

/// An order with a commission, as stored: what a refund plans from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    /// The sale's amount as confirmed.
    pub amount: Money,
    /// What its reversals refunded so far.
    pub refunded: i64,
    /// What the sale earned when confirmed.
    pub earned: i64,
    /// What the commission earns now.
    pub commission: i64,
    /// Where the commission stands.
    pub state: CommissionState,
}

/// Which commissions a listing reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionQuery {
    /// One merchant's, or (with a creator) every merchant's.
    pub merchant_id: Option<MerchantId>,
    /// One creator's, or (with a merchant) every creator's.
    pub creator_id: Option<CreatorId>,
    /// Only those in this status at `now`.
    pub status: Option<CommissionStatus>,
    /// Only those one payout paid.
    pub payout_id: Option<PayoutId>,
    /// Now, for PENDING and PAYABLE.
    pub now: DateTime<Utc>,
}

/// Where a walk through commissions (newest first, then merchant and order
/// ascending) stands: after this position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CommissionCursor {
    /// Minus the confirmed time in ms, so that ascending is newest first.
    pub newest_first: i64,
    /// The merchant.
    pub merchant_id: String,
    /// The order.
    pub order_id: String,
}

impl CommissionCursor {
    /// The position of `commission`.
    pub fn of(commission: &Commission) -> CommissionCursor {
        CommissionCursor {
            newest_first: -commission.confirmed_at.timestamp_millis(),
            merchant_id: commission.attribution.merchant_id.to_string(),
            order_id: commission.order_id.to_string(),
        }
    }
}

/// Which payouts a listing reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutQuery {
    /// One merchant's, or (with a creator) every merchant's.
    pub merchant_id: Option<MerchantId>,
    /// One creator's, or (with a merchant) every creator's.
    pub creator_id: Option<CreatorId>,
    /// Now: payouts kept until before it are gone.
    pub now: DateTime<Utc>,
}

/// Where a walk through payouts (newest first, then payout id and merchant
/// ascending) stands: after this position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PayoutCursor {
    /// Minus the creation time in ms.
    pub newest_first: i64,
    /// The payout.
    pub payout_id: String,
    /// The merchant.
    pub merchant_id: String,
}

impl PayoutCursor {
    /// The position of `payout`.
    pub fn of(payout: &Payout) -> PayoutCursor {
        PayoutCursor {
            newest_first: -payout.created_at.timestamp_millis(),
            payout_id: payout.payout_id.to_string(),
            merchant_id: payout.merchant_id.to_string(),
        }
    }
}

/// One page of a walk: the items, and where the next page starts when there
/// may be more (a position that need not be an item's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    /// The items, in walk order.
    pub items: Vec<T>,
    /// After this position, the walk goes on; `None` on the last page.
    pub next: Option<C>,
}

impl<T> Page<T, String> {
    /// The first `limit` of `items` (in walk order), going on after the
    /// last one's position (`position`) only when another item follows.
    pub fn first(
        items: impl IntoIterator<Item = T>,
        limit: usize,
        position: impl Fn(&T) -> String,
    ) -> Self {
        let mut items = items.into_iter();
        let page: Vec<T> = items.by_ref().take(limit).collect();
        let next = match (page.last(), items.next()) {
            (Some(last), Some(_)) => Some(position(last)),
            _ => None,
        };
        Page { items: page, next }
    }
}
