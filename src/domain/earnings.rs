//! Earnings operations: balances, commission and payout listings, payouts,
//! and reviews of held commissions.
//! Who may read or pay for which merchant is `policy`'s; the exactly-once
//! payout is the store's, from a quote the domain accepts here.

use chrono::{DateTime, Utc};

use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::model::{
    Commission, CommissionCursor, CommissionDecision, CommissionQuery, CommissionReview,
    CommissionStatus, CreatorId, EarningsBalance, MerchantId, NewPayout, OrderId, Page, Payout,
    PayoutCursor, PayoutId, PayoutQuery,
};
use crate::policy;
use crate::store::{PayoutWrite, ReviewWrite};

use super::{Cartclick, MONEY_WRITE_ATTEMPTS};

/// A payout a caller asks for, validated.
#[derive(Debug, Clone)]
pub(crate) struct PayoutRequest {
    /// The caller's id for it.
    pub(crate) payout_id: PayoutId,
    /// The merchant named, if any.
    pub(crate) merchant_id: Option<MerchantId>,
    /// The creator paid.
    pub(crate) creator_id: CreatorId,
    /// The currency paid in.
    pub(crate) currency: String,
}

/// Which commissions a caller lists, validated: each `None` is no filter.
#[derive(Debug, Clone, Default)]
pub(crate) struct CommissionFilter {
    /// One creator's.
    pub(crate) creator_id: Option<CreatorId>,
    /// One merchant's (a merchant key's own when `None`).
    pub(crate) merchant_id: Option<MerchantId>,
    /// Those in this status.
    pub(crate) status: Option<CommissionStatus>,
    /// Those one payout paid.
    pub(crate) payout_id: Option<PayoutId>,
}

/// An admin's review of a held commission, validated.
#[derive(Debug, Clone)]
pub(crate) struct ReviewRequest {
    /// The merchant whose sale earned it.
    pub(crate) merchant_id: MerchantId,
    /// The order whose sale earned it.
    pub(crate) order_id: OrderId,
    /// Release it, or void it.
    pub(crate) decision: CommissionDecision,
    /// Why (may be empty).
    pub(crate) reason: String,
}

/// What making a payout did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PayoutOutcome {
    /// The payout as first made.
    pub(crate) payout: Payout,
    /// An identical repeat: nothing was paid again.
    pub(crate) replayed: bool,
}

impl Cartclick {
    /// A creator's balances with the merchant `caller` may read (named, or
    /// every merchant's for dashboards and admins).
    pub(crate) async fn earnings(
        &self,
        caller: &Caller,
        creator_id: &CreatorId,
        merchant_id: Option<MerchantId>,
    ) -> Result<Vec<EarningsBalance>> {
        let merchant = policy::earnings_scope(&caller.grant, merchant_id)?;
        self.store
            .earnings(creator_id, merchant.as_deref(), self.clock.now())
            .await
    }

    /// A page of commissions: of the merchant `caller` may read and the
    /// creator named, in a status, or paid by one payout; with the instant
    /// their statuses are told at (the one the status filter used).
    pub(crate) async fn list_commissions(
        &self,
        caller: &Caller,
        filter: CommissionFilter,
        after: Option<CommissionCursor>,
        limit: usize,
    ) -> Result<(Page<Commission, CommissionCursor>, DateTime<Utc>)> {
        let merchant_id = policy::earnings_scope(&caller.grant, filter.merchant_id)?;
        policy::check_listing_scope(merchant_id.as_ref(), filter.creator_id.is_some())?;
        let query = CommissionQuery {
            merchant_id,
            creator_id: filter.creator_id,
            status: filter.status,
            payout_id: filter.payout_id,
            now: self.clock.now(),
        };
        let page = self
            .store
            .list_commissions(&query, after.as_ref(), limit)
            .await?;
        Ok((page, query.now))
    }

    /// A page of payouts of the merchant `caller` may read and the creator
    /// named.
    pub(crate) async fn list_payouts(
        &self,
        caller: &Caller,
        creator_id: Option<CreatorId>,
        merchant_id: Option<MerchantId>,
        after: Option<PayoutCursor>,
        limit: usize,
    ) -> Result<Page<Payout, PayoutCursor>> {
        let merchant_id = policy::earnings_scope(&caller.grant, merchant_id)?;
        policy::check_listing_scope(merchant_id.as_ref(), creator_id.is_some())?;
        let query = PayoutQuery {
            merchant_id,
            creator_id,
            now: self.clock.now(),
        };
        self.store.list_payouts(&query, after.as_ref(), limit).await
    }

    /// Pays a creator's payable commissions with one merchant in one
    /// currency, less the outstanding clawback, exactly once per
    /// (merchant, payout_id): the store quotes what it would pay, the
    /// payout rule decides whether that is anything
    /// ([`policy::payout_amount`], `NOTHING_TO_PAY`), and the store pays
    /// that quote only if it still stands.
    pub(crate) async fn create_payout(
        &self,
        caller: &Caller,
        request: PayoutRequest,
    ) -> Result<PayoutOutcome> {
        let merchant_id = policy::payout_merchant(&caller.grant, request.merchant_id)?;
        let mut payout = NewPayout {
            payout_id: request.payout_id,
            merchant_id,
            creator_id: request.creator_id,
            currency: request.currency,
            now: self.clock.now(),
            max_commissions: policy::MAX_PAYOUT_COMMISSIONS,
            quoted: None,
        };
        for _ in 0..MONEY_WRITE_ATTEMPTS {
            match self.store.create_payout(&payout).await? {
                PayoutWrite::New(made) => {
                    return Ok(PayoutOutcome {
                        payout: made,
                        replayed: false,
                    });
                }
                PayoutWrite::Existing(first) => {
                    return if policy::is_same_payout(&first, &payout.creator_id, &payout.currency) {
                        Ok(PayoutOutcome {
                            payout: first,
                            replayed: true,
                        })
                    } else {
                        Err(Error::PayoutConflict)
                    };
                }
                PayoutWrite::Quote { payable, clawback } => {
                    payout.quoted = Some(policy::payout_amount(payable, clawback)?);
                }
            }
        }
        // Only while sales, refunds or payouts keep moving the ledger.
        Err(Error::StoreUnavailable)
    }

    /// Reviews the held commission of an order: RELEASE lets it be paid
    /// (PENDING or PAYABLE by its payable time), VOID makes it earn
    /// nothing. With the instant its status is told at. A commission not
    /// HELD, or a sale that earned none, is `COMMISSION_NOT_HELD`; an
    /// order never confirmed (or past its retention) `ORDER_NOT_FOUND`.
    pub(crate) async fn review_commission(
        &self,
        request: ReviewRequest,
    ) -> Result<(Commission, DateTime<Utc>)> {
        let review = CommissionReview {
            merchant_id: request.merchant_id,
            order_id: request.order_id,
            decision: request.decision,
            reason: request.reason,
            now: self.clock.now(),
        };
        match self.store.review_commission(&review).await? {
            ReviewWrite::Reviewed(commission) => Ok((*commission, review.now)),
            ReviewWrite::NotHeld => Err(Error::CommissionNotHeld),
            ReviewWrite::NoOrder => Err(Error::OrderNotFound),
        }
    }
}
