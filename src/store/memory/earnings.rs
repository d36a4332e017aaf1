//! The embedded store's earnings: commissions, the (merchant, creator,
//! currency) ledgers and payouts, kept beside the orders under the same
//! lock, so a sale and its commission, a refund and its clawback, and a
//! payout are each one atomic step, as they are one script on Redis.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::model::{
    Commission, CommissionCursor, CommissionDecision, CommissionQuery, CommissionReview,
    CommissionState, CreatorId, EarningsBalance, Event, EventKind, LedgerTotals, MerchantId, Money,
    NewPayout, OrderId, Page, Payout, PayoutCursor, PayoutId, PayoutQuery, RefundPlan,
};
use crate::store::{Earnings, PayoutWrite, ReviewWrite};
use crate::token::ClickId;

use super::MemoryStore;

/// A ledger's running totals, in minor units of its currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Totals {
    /// PENDING and PAYABLE commissions (told apart by the clock).
    pub(super) unpaid: i64,
    /// HELD commissions.
    pub(super) held: i64,
    /// Money sent: payouts net of the clawback they deducted.
    pub(super) paid: i64,
    /// Taken back from paid commissions, not yet deducted.
    pub(super) clawback: i64,
}

/// A ledger's key: (merchant, creator, currency).
pub(super) type LedgerKey = (MerchantId, CreatorId, String);

/// A commission and how long it is kept: for ever while it is owed
/// (unpaid or held), else until `until`.
#[derive(Debug, Clone)]
pub(super) struct Kept {
    pub(super) commission: Commission,
    pub(super) until: Option<DateTime<Utc>>,
}

/// Everything earnings keep.
#[derive(Debug, Default)]
pub(super) struct Book {
    /// Commissions by (merchant, order).
    pub(super) commissions: HashMap<(MerchantId, OrderId), Kept>,
    /// Ledgers, in (merchant, creator, currency) order.
    pub(super) ledgers: BTreeMap<LedgerKey, Totals>,
    /// Payouts by (merchant, payout id), each kept until its expiry.
    pub(super) payouts: HashMap<(MerchantId, PayoutId), (Payout, DateTime<Utc>)>,
}

impl Book {
    /// Records a new sale's commission: owed until paid or void.
    pub(super) fn add(&mut self, commission: Commission) {
        let ledger = self.ledger(&commission);
        match commission.state {
            CommissionState::Held => ledger.held += commission.commission.amount_minor,
            _ => ledger.unpaid += commission.commission.amount_minor,
        }
        let key = (
            commission.attribution.merchant_id.clone(),
            commission.order_id.clone(),
        );
        self.commissions.insert(
            key,
            Kept {
                commission,
                until: None,
            },
        );
    }

    /// The ledger a commission is kept in, made empty when missing.
    fn ledger(&mut self, commission: &Commission) -> &mut Totals {
        self.ledgers
            .entry((
                commission.attribution.merchant_id.clone(),
                commission.attribution.creator_id.clone(),
                commission.commission.currency.clone(),
            ))
            .or_default()
    }

    /// Applies a refund's plan to the commission of an order, which
    /// leaves `remaining` of its sale: its figure and state, and the
    /// ledger's totals, as planned; a commission that became VOID is kept
    /// until `void_until` (its order's end).
    pub(super) fn refund(
        &mut self,
        key: &(MerchantId, OrderId),
        remaining: i64,
        plan: &RefundPlan,
        void_until: DateTime<Utc>,
    ) {
        let Some(mut kept) = self.commissions.remove(key) else {
            return;
        };
        let ledger = self.ledger(&kept.commission);
        ledger.unpaid += plan.ledger.unpaid;
        ledger.held += plan.ledger.held;
        ledger.clawback += plan.ledger.clawback;
        let commission = &mut kept.commission;
        commission.sale_amount.amount_minor = remaining;
        commission.commission.amount_minor = plan.commission_after;
        commission.state = plan.state_after;
        if commission.state == CommissionState::Void && kept.until.is_none() {
            kept.until = Some(void_until);
        }
        self.commissions.insert(key.clone(), kept);
    }

    /// Applies an admin's review to the HELD commission under `key`: out
    /// of the ledger's held total, and into its unpaid total when released;
    /// a voided one earns 0 and is kept until `void_until` (its order's
    /// end). The commission as it then stands, and what it was at review.
    pub(super) fn review(
        &mut self,
        key: &(MerchantId, OrderId),
        review: &CommissionReview,
        void_until: DateTime<Utc>,
    ) -> Option<(Commission, i64)> {
        let mut kept = self.commissions.remove(key)?;
        let reviewed = kept.commission.commission.amount_minor;
        let ledger = self.ledger(&kept.commission);
        ledger.held -= reviewed;
        let commission = &mut kept.commission;
        match review.decision {
            CommissionDecision::Release => {
                ledger.unpaid += reviewed;
                commission.state = CommissionState::Unpaid;
            }
            CommissionDecision::Void => {
                commission.state = CommissionState::Void;
                commission.commission.amount_minor = 0;
                kept.until = Some(void_until);
            }
        }
        commission.review_reason = review.reason.clone();
        commission.reviewed_at = Some(review.now);
        let after = kept.commission.clone();
        self.commissions.insert(key.clone(), kept);
        Some((after, reviewed))
    }

    /// The unpaid commissions of a ledger that are payable at `now`,
    /// earliest `payable_at` first (then order id), at most `max`.
    fn payable(&self, ledger: &LedgerKey, now: DateTime<Utc>, max: usize) -> Vec<&Commission> {
        let mut payable: Vec<&Commission> = self
            .commissions
            .values()
            .map(|kept| &kept.commission)
            .filter(|c| {
                c.attribution.merchant_id == ledger.0
                    && c.attribution.creator_id == ledger.1
                    && c.commission.currency == ledger.2
                    && c.state == CommissionState::Unpaid
                    && c.payable_at <= now
            })
            .collect();
        payable.sort_by(|a, b| (a.payable_at, &a.order_id).cmp(&(b.payable_at, &b.order_id)));
        payable.truncate(max);
        payable
    }

    /// A merchant's commissions and ledgers, for `reconcile`.
    pub(super) fn of_merchant(&self, merchant_id: &str) -> (Vec<Commission>, Vec<LedgerTotals>) {
        let commissions = self
            .commissions
            .values()
            .map(|kept| &kept.commission)
            .filter(|c| c.attribution.merchant_id == merchant_id)
            .cloned()
            .collect();
        let ledgers = self
            .ledgers
            .iter()
            .filter(|((merchant, _, _), _)| merchant == merchant_id)
            .map(|((_, creator, currency), totals)| LedgerTotals {
                creator_id: creator.clone(),
                currency: currency.clone(),
                unpaid: totals.unpaid,
                held: totals.held,
                paid: totals.paid,
                clawback: totals.clawback,
            })
            .collect();
        (commissions, ledgers)
    }

    /// Forgets what has expired, as Redis expires keys.
    pub(super) fn sweep(&mut self, now: DateTime<Utc>) {
        self.commissions
            .retain(|_, kept| kept.until.is_none_or(|until| until > now));
        self.payouts.retain(|_, (_, until)| *until > now);
    }
}

/// Whether `commission` is one `query` selects.
fn selects(query: &CommissionQuery, commission: &Commission) -> bool {
    let attribution = &commission.attribution;
    query
        .merchant_id
        .as_ref()
        .is_none_or(|m| *m == attribution.merchant_id)
        && query
            .creator_id
            .as_ref()
            .is_none_or(|c| *c == attribution.creator_id)
        && query
            .status
            .is_none_or(|status| commission.status(query.now) == status)
        && query
            .payout_id
            .as_ref()
            .is_none_or(|payout| commission.payout_id.as_ref() == Some(payout))
}

/// The first `limit` of `items` after `after` in their order, and where the
/// next page starts.
fn page<T, C: Ord + Clone>(mut items: Vec<(C, T)>, after: Option<&C>, limit: usize) -> Page<T, C> {
    items.retain(|(position, _)| after.is_none_or(|after| position > after));
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more {
        items.last().map(|(position, _)| position.clone())
    } else {
        None
    };
    Page {
        items: items.into_iter().map(|(_, item)| item).collect(),
        next,
    }
}

#[async_trait]
impl Earnings for MemoryStore {
    async fn earnings(
        &self,
        creator_id: &str,
        merchant: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<EarningsBalance>> {
        let inner = self.lock();
        let book = &inner.book;
        let balances = book
            .ledgers
            .iter()
            .filter(|((m, c, _), _)| **c == *creator_id && merchant.is_none_or(|only| **m == *only))
            .map(|(key, totals)| {
                let payable: i64 = book
                    .payable(key, now, usize::MAX)
                    .iter()
                    .map(|c| c.commission.amount_minor)
                    .sum();
                EarningsBalance {
                    merchant_id: key.0.clone(),
                    creator_id: key.1.clone(),
                    currency: key.2.clone(),
                    pending: totals.unpaid - payable,
                    payable,
                    held: totals.held,
                    paid: totals.paid,
                    clawback: totals.clawback,
                }
            })
            .collect();
        Ok(balances)
    }

    async fn list_commissions(
        &self,
        query: &CommissionQuery,
        after: Option<&CommissionCursor>,
        limit: usize,
    ) -> Result<Page<Commission, CommissionCursor>> {
        let inner = self.lock();
        let book = &inner.book;
        let items = book
            .commissions
            .values()
            .filter(|kept| kept.until.is_none_or(|until| until > query.now))
            .map(|kept| &kept.commission)
            .filter(|c| selects(query, c))
            .map(|c| (CommissionCursor::of(c), c.clone()))
            .collect();
        Ok(page(items, after, limit))
    }

    async fn create_payout(&self, payout: &NewPayout) -> Result<PayoutWrite> {
        let mut inner = self.lock();
        inner.wrote(payout.now);
        let key = (payout.merchant_id.clone(), payout.payout_id.clone());
        if let Some((first, until)) = inner.book.payouts.get(&key)
            && *until > payout.now
        {
            return Ok(PayoutWrite::Existing(first.clone()));
        }
        let ledger = (
            payout.merchant_id.clone(),
            payout.creator_id.clone(),
            payout.currency.clone(),
        );
        let paying: Vec<(OrderId, i64)> = inner
            .book
            .payable(&ledger, payout.now, payout.max_commissions)
            .iter()
            .map(|c| (c.order_id.clone(), c.commission.amount_minor))
            .collect();
        let payable: i64 = paying.iter().map(|(_, amount)| amount).sum();
        let clawback = inner
            .book
            .ledgers
            .get(&ledger)
            .map_or(0, |totals| totals.clawback);
        let quote = match payout.quoted {
            Some(quote) if (quote.payable, quote.clawback) == (payable, clawback) => quote,
            _ => return Ok(PayoutWrite::Quote { payable, clawback }),
        };
        let money = |amount_minor: i64| Money {
            currency: payout.currency.clone(),
            amount_minor,
        };
        let made = Payout {
            payout_id: payout.payout_id.clone(),
            merchant_id: payout.merchant_id.clone(),
            creator_id: payout.creator_id.clone(),
            amount: money(quote.amount),
            commissions: paying.len() as i64,
            clawback_deducted: money(quote.deducted),
            created_at: payout.now,
        };
        // A paid order, its reversals and its commission are kept at least
        // order retention from now, and the commission as long as its order.
        let kept_until = payout.now + self.retention.orders;
        for (order_id, _) in &paying {
            let order = (payout.merchant_id.clone(), order_id.clone());
            // An order past its end is gone, as on Redis: not brought back.
            let until = inner
                .orders
                .get_mut(&order)
                .filter(|sale| sale.until > payout.now)
                .map_or(kept_until, |sale| {
                    sale.until = sale.until.max(kept_until);
                    sale.until
                });
            for ((merchant, _), reversal) in inner.reversals.iter_mut() {
                if *merchant == payout.merchant_id && reversal.value.order_id == *order_id {
                    reversal.until = reversal.until.max(until);
                }
            }
            if let Some(kept) = inner.book.commissions.get_mut(&order) {
                kept.commission.state = CommissionState::Paid;
                kept.commission.payout_id = Some(payout.payout_id.clone());
                kept.until = Some(until);
            }
        }
        let totals = inner.book.ledgers.entry(ledger).or_default();
        totals.unpaid -= payable;
        totals.paid += quote.amount;
        totals.clawback -= quote.deducted;
        let payouts_until = payout.now + self.retention.payouts;
        inner
            .book
            .payouts
            .insert(key, (made.clone(), payouts_until));
        let event = payout_event(&made);
        inner.emit(event, &self.retention);
        Ok(PayoutWrite::New(made))
    }

    async fn review_commission(&self, review: &CommissionReview) -> Result<ReviewWrite> {
        let mut inner = self.lock();
        inner.wrote(review.now);
        let key = (review.merchant_id.clone(), review.order_id.clone());
        let order = inner
            .orders
            .get(&key)
            .filter(|sale| sale.live(review.now).is_some())
            .map(|sale| (sale.value.click_id, sale.until));
        let state = inner
            .book
            .commissions
            .get(&key)
            .filter(|kept| kept.until.is_none_or(|until| until > review.now))
            .map(|kept| kept.commission.state);
        match (state, order) {
            (None, None) => return Ok(ReviewWrite::NoOrder),
            (Some(CommissionState::Held), _) => {}
            _ => return Ok(ReviewWrite::NotHeld),
        }
        // A held commission outlives its order when the order's retention
        // ends first: a voided one then keeps order retention from now,
        // and its event names no click.
        let void_until = order.map_or(review.now + self.retention.orders, |(_, until)| until);
        let click_id = order.map_or(ClickId::from_bytes([0; 16]), |(click_id, _)| click_id);
        let Some((commission, reviewed)) = inner.book.review(&key, review, void_until) else {
            return Ok(ReviewWrite::NotHeld);
        };
        let event = review_event(&commission, reviewed, click_id, review);
        inner.emit(event, &self.retention);
        Ok(ReviewWrite::Reviewed(Box::new(commission)))
    }

    async fn list_payouts(
        &self,
        query: &PayoutQuery,
        after: Option<&PayoutCursor>,
        limit: usize,
    ) -> Result<Page<Payout, PayoutCursor>> {
        let inner = self.lock();
        let items = inner
            .book
            .payouts
            .values()
            .filter(|(_, until)| *until > query.now)
            .map(|(payout, _)| payout)
            .filter(|p| {
                query
                    .merchant_id
                    .as_ref()
                    .is_none_or(|m| *m == p.merchant_id)
                    && query.creator_id.as_ref().is_none_or(|c| *c == p.creator_id)
            })
            .map(|p| (PayoutCursor::of(p), p.clone()))
            .collect();
        Ok(page(items, after, limit))
    }
}

/// The event of a review: the commission's sale (its click, attribution
/// and order), what the commission was when reviewed, the decision and
/// the signals that held it.
fn review_event(
    commission: &Commission,
    reviewed: i64,
    click_id: ClickId,
    review: &CommissionReview,
) -> Event {
    Event {
        id: String::new(),
        kind: EventKind::CommissionReviewed,
        at: review.now,
        attribution: commission.attribution.clone(),
        click_id,
        order_id: commission.order_id.to_string(),
        reversal_id: String::new(),
        amount: None,
        commission: Some(Money {
            currency: commission.commission.currency.clone(),
            amount_minor: reviewed,
        }),
        payout_id: String::new(),
        signals: commission.signals,
        decision: Some(review.decision),
    }
}

/// The event of a payout: the merchant and creator, the amount sent and
/// the clawback deducted.
fn payout_event(payout: &Payout) -> Event {
    Event {
        id: String::new(),
        kind: EventKind::Payout,
        at: payout.created_at,
        attribution: crate::model::Attribution {
            merchant_id: payout.merchant_id.clone(),
            campaign_id: crate::model::CampaignId::stored(""),
            creator_id: payout.creator_id.clone(),
            video_id: crate::model::VideoId::stored(""),
            product_id: crate::model::ProductId::stored(""),
        },
        click_id: crate::token::ClickId::from_bytes([0; 16]),
        order_id: String::new(),
        reversal_id: String::new(),
        amount: Some(payout.amount.clone()),
        commission: Some(payout.clawback_deducted.clone()),
        payout_id: payout.payout_id.to_string(),
        signals: crate::model::Signals::NONE,
        decision: None,
    }
}
