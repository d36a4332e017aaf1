//! A merchant's event stream: everything counted, in order.

use chrono::{DateTime, Utc};

use super::counters::{Counts, commission_count};
use super::earnings::CommissionDecision;
use super::fraud::Signals;
use super::ledger::{Attribution, Money};
use crate::token::ClickId;

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
    /// A payout to a creator: counts nothing.
    Payout,
    /// An admin's review of a held commission: counts nothing.
    CommissionReviewed,
}

impl EventKind {
    /// The one-letter code the Redis stream stores.
    pub(crate) fn code(self) -> &'static str {
        match self {
            EventKind::Click => "c",
            EventKind::RepeatTap => "t",
            EventKind::Sale => "s",
            EventKind::Reversal => "r",
            EventKind::Payout => "p",
            EventKind::CommissionReviewed => "w",
        }
    }

    /// The kind of a stored code.
    pub(crate) fn from_code(code: &str) -> Option<EventKind> {
        [
            EventKind::Click,
            EventKind::RepeatTap,
            EventKind::Sale,
            EventKind::Reversal,
            EventKind::Payout,
            EventKind::CommissionReviewed,
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
    /// The sale amount, the refund or the amount paid out; `None` for taps.
    pub amount: Option<Money>,
    /// A sale's commission, what a refund took back from it, or the
    /// clawback a payout deducted; `None` for taps.
    pub commission: Option<Money>,
    /// The payout, for payouts; empty otherwise.
    pub payout_id: String,
    /// The fraud signals of a click (a repeat tap's first click's) or a
    /// sale (its click's and its own); none for the rest.
    pub signals: Signals,
    /// What a review decided, for reviews.
    pub decision: Option<CommissionDecision>,
}

impl Event {
    /// The event's commission, times `sign`, as counters count it.
    fn commission_by(&self, sign: i64) -> std::collections::BTreeMap<String, i64> {
        self.commission
            .as_ref()
            .map(|m| commission_count(&m.currency, sign * m.amount_minor))
            .unwrap_or_default()
    }

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
                flagged_clicks: i64::from(!self.signals.is_empty()),
                ..Counts::default()
            },
            EventKind::RepeatTap => Counts {
                taps: 1,
                ..Counts::default()
            },
            // A commission is counted only when there is one (as the
            // store writes no field for none).
            EventKind::Sale => Counts {
                conversions: 1,
                flagged_conversions: i64::from(!self.signals.is_empty()),
                revenue: money(&self.amount),
                commission: self.commission_by(1),
                ..Counts::default()
            },
            EventKind::Reversal => Counts {
                refunded: money(&self.amount),
                commission: self.commission_by(-1),
                ..Counts::default()
            },
            EventKind::Payout | EventKind::CommissionReviewed => Counts::default(),
        }
    }
}
