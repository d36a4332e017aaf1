//! Commissions: a campaign's terms, what a sale earns its creator, what a
//! refund takes back, and what a payout pays (API.md, "Earnings").
//!
//! Exact integer arithmetic only. A product of two amounts can pass 2^63
//! (10^12 x 10^12), so the proportional rule works in `i128`. The sale's
//! commission is also computed inside the Redis sale script, in Lua's
//! doubles, by splitting the amount (see [`commission`]); a test on a real
//! redis-server holds the two equal at the range's edges and at 2,000
//! random points of it (`tests/api/redis_store.rs`).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::model::{
    CommissionState, CommissionTerms, CreatorId, LedgerMove, Money, OrderState, Payout,
    PayoutQuote, RefundPlan,
};

/// The highest rate, in basis points: the whole sale.
pub(crate) const MAX_COMMISSION_RATE_BPS: u32 = 10_000;
/// A holding period when the campaign names none: the usual return window.
pub(crate) const DEFAULT_HOLDING_PERIOD: Duration = Duration::from_secs(30 * 86_400);
/// The longest holding period.
pub(crate) const MAX_HOLDING_PERIOD: Duration = Duration::from_secs(90 * 86_400);
/// Basis points in the whole.
const BPS: i128 = 10_000;
/// Commissions one payout pays at most; another payout pays the rest.
pub(crate) const MAX_PAYOUT_COMMISSIONS: usize = 10_000;

/// Checks a campaign's commission rate: 0 to [`MAX_COMMISSION_RATE_BPS`].
pub(crate) fn commission_rate(field: &str, rate_bps: u32) -> Result<u32> {
    if rate_bps > MAX_COMMISSION_RATE_BPS {
        return Err(Error::invalid_field(
            field,
            format!("must be 0 to {MAX_COMMISSION_RATE_BPS} basis points"),
        ));
    }
    Ok(rate_bps)
}

/// Checks a campaign's holding period: 0 to 90 days, whole seconds;
/// `None` (unset) is [`DEFAULT_HOLDING_PERIOD`].
pub(crate) fn holding_period(field: &str, period: Option<Duration>) -> Result<Duration> {
    let Some(period) = period else {
        return Ok(DEFAULT_HOLDING_PERIOD);
    };
    if period > MAX_HOLDING_PERIOD {
        return Err(Error::invalid_field(field, "must be 0 to 90 days"));
    }
    if period.subsec_nanos() != 0 {
        return Err(Error::invalid_field(field, "must be whole seconds"));
    }
    Ok(period)
}

/// What a sale of `amount_minor` earns at `rate_bps`:
/// `floor(amount_minor * rate_bps / 10000)`.
///
/// The Redis sale script computes the same in Lua, whose numbers are
/// doubles exact only to 2^53, by splitting the amount so that no step
/// passes 10^12: `q = amount // 10000`, `r = amount % 10000`, commission
/// `q * rate + (r * rate) // 10000`.
pub fn commission(amount_minor: i64, rate_bps: u32) -> i64 {
    let earned = i128::from(amount_minor) * i128::from(rate_bps) / BPS;
    // At most the amount itself (the rate is at most the whole).
    earned as i64
}

/// The commission of a sale of `terms` for `amount`, in its currency.
pub(crate) fn sale_commission(amount: &Money, terms: &CommissionTerms) -> Money {
    Money {
        currency: amount.currency.clone(),
        amount_minor: commission(amount.amount_minor, terms.rate_bps),
    }
}

/// What is left of a commission when refunds leave `remaining` of a sale of
/// `amount`: `floor(commission * remaining / amount)`, from the totals, so
/// that many small refunds never drift from one large one.
pub(crate) fn commission_after_refunds(commission: i64, amount: i64, remaining: i64) -> i64 {
    if amount <= 0 {
        return 0;
    }
    let left = i128::from(commission) * i128::from(remaining.clamp(0, amount)) / i128::from(amount);
    left as i64
}

/// When a commission of a sale confirmed at `confirmed_at` may be paid.
pub(crate) fn payable_at(confirmed_at: DateTime<Utc>, terms: &CommissionTerms) -> DateTime<Utc> {
    confirmed_at
        + chrono::Duration::from_std(terms.holding_period).unwrap_or(chrono::Duration::zero())
}

/// A refund of `refund` minor units on an order as quoted: the
/// commission becomes what the proportional rule leaves of what the sale
/// earned ([`commission_after_refunds`]), in the same state, except that
/// one unpaid or held that reaches zero is VOID; what is taken back lowers
/// the ledger's unpaid or held total, or, from a PAID commission, becomes
/// clawback. A VOID commission earns 0 and stays VOID.
pub(crate) fn refund_plan(order: &OrderState, refund: i64) -> RefundPlan {
    let remaining = order.amount.amount_minor - order.refunded - refund;
    let (commission_after, state_after) = match order.state {
        CommissionState::Void => (0, CommissionState::Void),
        state => {
            let after =
                commission_after_refunds(order.earned, order.amount.amount_minor, remaining);
            let state = match state {
                CommissionState::Unpaid | CommissionState::Held if after == 0 => {
                    CommissionState::Void
                }
                state => state,
            };
            (after, state)
        }
    };
    let taken = order.commission - commission_after;
    let ledger = match order.state {
        CommissionState::Unpaid => LedgerMove {
            unpaid: -taken,
            ..LedgerMove::default()
        },
        CommissionState::Held => LedgerMove {
            held: -taken,
            ..LedgerMove::default()
        },
        CommissionState::Paid => LedgerMove {
            clawback: taken,
            ..LedgerMove::default()
        },
        CommissionState::Void => LedgerMove::default(),
    };
    RefundPlan {
        refunded_before: order.refunded,
        state_before: order.state,
        commission_after,
        state_after,
        taken,
        ledger,
    }
}

/// Whether a payout id sent again repeats the payout first made under it:
/// the same creator and currency (what was payable may have changed since,
/// and the first payout is the answer). Anything else is `PAYOUT_CONFLICT`.
pub(crate) fn is_same_payout(first: &Payout, creator_id: &CreatorId, currency: &str) -> bool {
    first.creator_id == *creator_id && first.amount.currency == currency
}

/// What a payout of `payable` (the sum of the commissions it pays) sends
/// when `clawback` is outstanding: the difference, and the clawback it
/// deducts; `NOTHING_TO_PAY` when nothing is payable or the clawback is as
/// large.
pub(crate) fn payout_amount(payable: i64, clawback: i64) -> Result<PayoutQuote> {
    if payable <= 0 || clawback >= payable {
        return Err(Error::NothingToPay);
    }
    // A clawback is never below zero; were one, it would deduct nothing.
    let deducted = clawback.max(0);
    Ok(PayoutQuote {
        payable,
        clawback,
        amount: payable - deducted,
        deducted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The split of the Lua script, in doubles as Lua has them (its `%` is
    /// `a - floor(a / b) * b`): each step exact below 2^53.
    fn split_in_doubles(amount: i64, rate: u32) -> i64 {
        let amount = amount as f64;
        let rate = f64::from(rate);
        let r = amount - (amount / 10_000.0).floor() * 10_000.0;
        let q = (amount - r) / 10_000.0;
        (q * rate + ((r * rate) / 10_000.0).floor()) as i64
    }

    #[test]
    fn a_commission_is_rounded_down_in_minor_units() {
        assert_eq!(commission(12_345, 1_000), 1_234);
        assert_eq!(commission(9, 1_000), 0);
        assert_eq!(commission(1_000_000_000_000, 10_000), 1_000_000_000_000);
        assert_eq!(commission(1_000_000_000_000, 9_999), 999_900_000_000);
        assert_eq!(commission(999_999_999_999, 1), 99_999_999);
        assert_eq!(commission(0, 5_000), 0);
    }

    #[test]
    fn refunds_take_back_in_proportion_from_the_totals() {
        // 10 refunds of 1 from a sale of 10 with commission 3: from the
        // totals, never the sum of rounded steps.
        let steps: Vec<i64> = (0..=10)
            .rev()
            .map(|left| commission_after_refunds(3, 10, left))
            .collect();
        assert_eq!(steps, vec![3, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0]);
        assert_eq!(
            commission_after_refunds(1_000_000_000_000, 1_000_000_000_000, 999_999_999_999),
            999_999_999_999
        );
        assert_eq!(commission_after_refunds(5, 0, 0), 0);
    }

    fn order(refunded: i64, commission: i64, state: CommissionState) -> OrderState {
        OrderState {
            amount: Money {
                currency: "DKK".into(),
                amount_minor: 10_000,
            },
            refunded,
            earned: 1_000,
            commission,
            state,
        }
    }

    #[test]
    fn a_refund_lowers_the_ledger_it_stands_in_or_becomes_clawback_once_paid() {
        let unpaid = refund_plan(&order(0, 1_000, CommissionState::Unpaid), 2_500);
        let held = refund_plan(&order(2_500, 750, CommissionState::Held), 2_500);
        let paid = refund_plan(&order(0, 1_000, CommissionState::Paid), 10_000);
        let to_zero = refund_plan(&order(5_000, 500, CommissionState::Unpaid), 5_000);
        let void = refund_plan(&order(5_000, 0, CommissionState::Void), 1_000);

        assert_eq!(
            (unpaid.commission_after, unpaid.state_after, unpaid.taken),
            (750, CommissionState::Unpaid, 250)
        );
        assert_eq!(unpaid.ledger.unpaid, -250);
        assert_eq!((held.commission_after, held.ledger.held), (500, -250));
        assert_eq!(
            (
                paid.commission_after,
                paid.state_after,
                paid.ledger.clawback
            ),
            (0, CommissionState::Paid, 1_000),
            "a paid commission stays paid; what is taken back is clawback"
        );
        assert_eq!(to_zero.state_after, CommissionState::Void);
        assert_eq!((to_zero.taken, to_zero.ledger.unpaid), (500, -500));
        assert_eq!((void.commission_after, void.taken), (0, 0));
        assert_eq!(void.ledger, LedgerMove::default());
    }

    #[test]
    fn rates_and_holding_periods_are_bounded() {
        assert_eq!(commission_rate("r", 10_000), Ok(10_000));
        assert!(commission_rate("r", 10_001).is_err());
        assert_eq!(holding_period("h", None), Ok(DEFAULT_HOLDING_PERIOD));
        assert_eq!(
            holding_period("h", Some(Duration::ZERO)),
            Ok(Duration::ZERO)
        );
        assert_eq!(
            holding_period("h", Some(MAX_HOLDING_PERIOD)),
            Ok(MAX_HOLDING_PERIOD)
        );
        assert!(holding_period("h", Some(MAX_HOLDING_PERIOD + Duration::from_secs(1))).is_err());
        assert!(holding_period("h", Some(Duration::from_millis(1500))).is_err());
    }

    #[test]
    fn a_payout_deducts_the_clawback_or_pays_nothing() {
        let paid = |q: PayoutQuote| (q.amount, q.deducted);
        assert_eq!(payout_amount(1_000, 0).map(paid), Ok((1_000, 0)));
        assert_eq!(payout_amount(1_000, 300).map(paid), Ok((700, 300)));
        assert_eq!(payout_amount(1_000, 1_000), Err(Error::NothingToPay));
        assert_eq!(payout_amount(0, 0), Err(Error::NothingToPay));
    }

    proptest! {
        #[test]
        fn the_split_in_doubles_equals_the_exact_rule(
            amount in 0i64..=1_000_000_000_000,
            rate in 0u32..=10_000,
        ) {
            prop_assert_eq!(split_in_doubles(amount, rate), commission(amount, rate));
        }

        #[test]
        fn a_refunded_commission_never_grows_nor_passes_the_rule(
            amount in 1i64..=1_000_000_000_000,
            rate in 0u32..=10_000,
            refunded in 0i64..=1_000_000_000_000,
        ) {
            let earned = commission(amount, rate);
            let remaining = amount - refunded.min(amount);
            let left = commission_after_refunds(earned, amount, remaining);
            prop_assert!(left <= earned);
            prop_assert!(left >= 0);
            prop_assert_eq!(commission_after_refunds(earned, amount, amount), earned);
            prop_assert_eq!(commission_after_refunds(earned, amount, 0), 0);
        }
    }
}
