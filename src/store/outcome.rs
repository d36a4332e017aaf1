//! What a store found when it wrote. A write is one atomic step (one lock
//! section, one Lua script) that either writes or reports why it did not;
//! the store never decides what that means to a caller. The domain turns
//! these into answers and contract errors with rules from `policy`
//! (`ORDER_CONFLICT`, `TOKEN_EXPIRED`, `REVERSAL_EXCEEDS_SALE`, ...).

use crate::model::{Commission, FirstClick, Money, OrderState, Payout, SaleRecord, Signals};
pub use crate::model::{RefundFacts, ReversalRecord};
use crate::token::ClickId;

/// What recording a tap found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClickWrite {
    /// A new click, stored and counted (a tap and a click), under this id:
    /// the id given, with the shard the store placed it on. Also the answer
    /// when this very tap (the same click id) is recorded again after its
    /// reply was lost: it is counted once. With the click's fraud signals.
    New(ClickId, Signals),
    /// A repeat tap inside the dedup window, counted as a repeat tap only:
    /// the first click of the run, whose token the repeat gets again.
    Repeat(FirstClick),
    /// The viewer is over the tap limit it was given for this window:
    /// nothing recorded but the tap towards the limit.
    Limited,
}

/// What confirming a sale found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaleWrite {
    /// The order was new: the sale is stored and counted.
    New(SaleRecord),
    /// The order id was taken: the sale first stored under it, nothing
    /// written. Whether this is a replay or a conflict is for the caller.
    Existing(SaleRecord),
    /// No click record under that id for that merchant (never made, another
    /// merchant's, or past its retention): nothing written.
    NoClick,
    /// The order id was free but the sale was marked as allowed to replay
    /// only (`NewSale::token_expired`): nothing written.
    Expired,
}

/// What recording a refund found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversalWrite {
    /// The reversal id was new: the refund is stored and counted.
    New {
        /// What is left of the sale after it.
        remaining: Money,
        /// What the sale's commission earns after it.
        commission_remaining: Money,
    },
    /// The sale has a commission, and the refund came with no plan for it
    /// or with one made from a refunded total that no longer stands:
    /// nothing written. The caller plans from this and sends it again.
    Quote(OrderState),
    /// The reversal id was taken: the reversal first stored under it,
    /// nothing written. Whether this is a replay or a conflict is for the
    /// caller.
    Existing(ReversalRecord),
    /// No stored sale under that order id (never confirmed, or past its
    /// retention): nothing written.
    NoOrder,
    /// The sale is in another currency than the refund: nothing written.
    CurrencyDiffers {
        /// The sale's currency.
        sale_currency: String,
    },
    /// The refund is more than what is left of the sale: nothing written.
    Exceeds {
        /// What is left of the sale, in its currency.
        left: Money,
    },
}

/// What making a payout found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutWrite {
    /// Paid: the commissions it paid are PAID, the ledger moved.
    New(Payout),
    /// The payout id was taken: the payout first made under it, nothing
    /// written. Whether this is a replay or a conflict is for the caller.
    Existing(Payout),
    /// What a payout would pay now: no quote was given, or the one given no
    /// longer stands. Nothing written; the caller decides (NOTHING_TO_PAY)
    /// or sends it again with this quote.
    Quote {
        /// The sum of the payable commissions it would pay.
        payable: i64,
        /// The outstanding clawback.
        clawback: i64,
    },
}

/// What reviewing a held commission found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewWrite {
    /// It was HELD: released or voided as decided, with the reason and
    /// time kept and an event appended. The commission as it now stands
    /// (boxed: the other answers carry nothing).
    Reviewed(Box<Commission>),
    /// The order has a commission that is not HELD (unpaid, paid, void, or
    /// reviewed before), or was confirmed with none: nothing written.
    NotHeld,
    /// No stored order and no commission under that id (never confirmed,
    /// or past its retention): nothing written.
    NoOrder,
}
