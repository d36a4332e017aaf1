//! EarningsService: what creators earned, payouts, and reviews of held
//! commissions.

use tonic::{Request, Response, Status};

use crate::api::pages::Binding;
use crate::api::{
    State, id, optional_id, reply, required_enum, to_money, to_signals, to_timestamp,
};
use crate::auth::{Caller, caller};
use crate::domain::{CommissionFilter, PayoutRequest, ReviewRequest};
use crate::error::{Error, Result};
use crate::model::{
    Commission, CommissionCursor, CommissionDecision, CommissionStatus, CreatorId, EarningsBalance,
    MerchantId, Money, Payout, PayoutCursor, Role,
};
use crate::policy;
use crate::proto;
use crate::proto::earnings_service_server::EarningsService;
use crate::proto::{
    CreatePayoutRequest, CreatePayoutResponse, GetEarningsRequest, GetEarningsResponse,
    ListCommissionsRequest, ListCommissionsResponse, ListPayoutsRequest, ListPayoutsResponse,
    ReviewCommissionRequest, ReviewCommissionResponse,
};

/// The EarningsService adapter.
pub(crate) struct EarningsApi {
    /// Domain and keys.
    pub state: State,
}

/// The caller of an earnings read: merchant, dashboard or admin (an admin
/// key passes every role check); which merchant it reaches is policy's.
fn reader<T>(request: &Request<T>) -> Result<Caller> {
    let caller = caller(request)?;
    caller.require(&[Role::Merchant, Role::Dashboard])?;
    Ok(caller)
}

/// An optional commission status: unspecified means any.
fn status_filter(value: i32) -> Result<Option<CommissionStatus>> {
    match proto::CommissionStatus::try_from(value) {
        Ok(proto::CommissionStatus::Unspecified) => Ok(None),
        Ok(proto::CommissionStatus::Pending) => Ok(Some(CommissionStatus::Pending)),
        Ok(proto::CommissionStatus::Payable) => Ok(Some(CommissionStatus::Payable)),
        Ok(proto::CommissionStatus::Held) => Ok(Some(CommissionStatus::Held)),
        Ok(proto::CommissionStatus::Paid) => Ok(Some(CommissionStatus::Paid)),
        Ok(proto::CommissionStatus::Void) => Ok(Some(CommissionStatus::Void)),
        Err(_) => Err(Error::invalid_field("status", "unknown value")),
    }
}

/// A required review decision.
fn decision(value: i32) -> Result<CommissionDecision> {
    required_enum("decision", value, |value| match value {
        proto::CommissionDecision::Release => Some(CommissionDecision::Release),
        proto::CommissionDecision::Void => Some(CommissionDecision::Void),
        proto::CommissionDecision::Unspecified => None,
    })
}

fn to_status(status: CommissionStatus) -> proto::CommissionStatus {
    match status {
        CommissionStatus::Pending => proto::CommissionStatus::Pending,
        CommissionStatus::Payable => proto::CommissionStatus::Payable,
        CommissionStatus::Held => proto::CommissionStatus::Held,
        CommissionStatus::Paid => proto::CommissionStatus::Paid,
        CommissionStatus::Void => proto::CommissionStatus::Void,
    }
}

fn money_in(currency: &str, amount_minor: i64) -> Option<proto::Money> {
    Some(to_money(&Money {
        currency: currency.to_owned(),
        amount_minor,
    }))
}

fn to_balance(balance: EarningsBalance) -> proto::EarningsBalance {
    let currency = balance.currency.as_str();
    proto::EarningsBalance {
        merchant_id: balance.merchant_id.to_string(),
        creator_id: balance.creator_id.to_string(),
        currency_code: balance.currency.clone(),
        pending: money_in(currency, balance.pending),
        payable: money_in(currency, balance.payable),
        held: money_in(currency, balance.held),
        paid: money_in(currency, balance.paid),
        clawback: money_in(currency, balance.clawback),
    }
}

/// The wire form of a commission, its status as of `now`.
pub(crate) fn to_commission(
    commission: Commission,
    now: chrono::DateTime<chrono::Utc>,
) -> proto::Commission {
    let status = to_status(commission.status(now));
    let attribution = commission.attribution;
    proto::Commission {
        merchant_id: attribution.merchant_id.into(),
        order_id: commission.order_id.into(),
        campaign_id: attribution.campaign_id.into(),
        creator_id: attribution.creator_id.into(),
        video_id: attribution.video_id.into(),
        product_id: attribution.product_id.into(),
        sale_amount: Some(to_money(&commission.sale_amount)),
        commission: Some(to_money(&commission.commission)),
        commission_rate_bps: commission.terms.rate_bps,
        holding_period: Some(prost_types::Duration {
            seconds: commission.terms.holding_period.as_secs() as i64,
            nanos: 0,
        }),
        status: status.into(),
        confirmed_at: Some(to_timestamp(commission.confirmed_at)),
        payable_at: Some(to_timestamp(commission.payable_at)),
        payout_id: commission.payout_id.map(String::from).unwrap_or_default(),
        signals: to_signals(commission.signals),
        review_reason: commission.review_reason,
        reviewed_at: commission.reviewed_at.map(to_timestamp),
    }
}

/// The wire form of a payout.
pub(crate) fn to_payout(payout: Payout) -> proto::Payout {
    proto::Payout {
        payout_id: payout.payout_id.into(),
        merchant_id: payout.merchant_id.into(),
        creator_id: payout.creator_id.into(),
        amount: Some(to_money(&payout.amount)),
        commissions: payout.commissions,
        clawback_deducted: Some(to_money(&payout.clawback_deducted)),
        created_at: Some(to_timestamp(payout.created_at)),
    }
}

/// A commission cursor as a page token carries it.
type CommissionPosition = (i64, String, String);
/// A payout cursor as a page token carries it.
type PayoutPosition = (i64, String, String);

#[tonic::async_trait]
impl EarningsService for EarningsApi {
    async fn get_earnings(
        &self,
        request: Request<GetEarningsRequest>,
    ) -> Result<Response<GetEarningsResponse>, Status> {
        let result = async {
            let caller = reader(&request)?;
            let request = request.into_inner();
            let creator_id: CreatorId = id("creator_id", request.creator_id)?;
            let merchant_id = optional_id("merchant_id", request.merchant_id)?;
            let balances = self
                .state
                .domain
                .earnings(&caller, &creator_id, merchant_id)
                .await?;
            Ok(GetEarningsResponse {
                balances: balances.into_iter().map(to_balance).collect(),
            })
        };
        reply(result.await)
    }

    async fn list_commissions(
        &self,
        request: Request<ListCommissionsRequest>,
    ) -> Result<Response<ListCommissionsResponse>, Status> {
        let result = async {
            let caller = reader(&request)?;
            let request = request.into_inner();
            let status = request.status;
            let filters = [
                request.creator_id.as_str(),
                request.merchant_id.as_str(),
                &status.to_string(),
                request.payout_id.as_str(),
            ]
            .map(str::to_owned);
            let filters = filters.each_ref().map(String::as_str);
            let binding = Binding {
                key: self.state.domain.page_key(),
                rpc: "ListCommissions",
                key_id: &caller.key_id,
                filters: &filters,
            };
            let filter = CommissionFilter {
                creator_id: optional_id("creator_id", request.creator_id.clone())?,
                merchant_id: optional_id("merchant_id", request.merchant_id.clone())?,
                status: status_filter(status)?,
                payout_id: optional_id("payout_id", request.payout_id.clone())?,
            };
            let limit = policy::page_size("page_size", request.page_size)?;
            let after = binding
                .cursor::<CommissionPosition>(&request.page_token)?
                .map(|(newest_first, merchant_id, order_id)| CommissionCursor {
                    newest_first,
                    merchant_id,
                    order_id,
                });
            let (page, now) = self
                .state
                .domain
                .list_commissions(&caller, filter, after, limit)
                .await?;
            let next = page
                .next
                .map(|c| -> CommissionPosition { (c.newest_first, c.merchant_id, c.order_id) });
            Ok(ListCommissionsResponse {
                commissions: page
                    .items
                    .into_iter()
                    .map(|c| to_commission(c, now))
                    .collect(),
                next_page_token: binding.token(next.as_ref()),
            })
        };
        reply(result.await)
    }

    async fn create_payout(
        &self,
        request: Request<CreatePayoutRequest>,
    ) -> Result<Response<CreatePayoutResponse>, Status> {
        let result = async {
            let caller = caller(&request)?;
            caller.require(&[Role::Merchant])?;
            let request = request.into_inner();
            let payout_id = id("payout_id", request.payout_id)?;
            let merchant_id = optional_id("merchant_id", request.merchant_id)?;
            let creator_id = id("creator_id", request.creator_id)?;
            if request.currency_code.is_empty() {
                return Err(Error::invalid_field("currency_code", "missing"));
            }
            policy::validate_currency("currency_code", &request.currency_code)?;
            let outcome = self
                .state
                .domain
                .create_payout(
                    &caller,
                    PayoutRequest {
                        payout_id,
                        merchant_id,
                        creator_id,
                        currency: request.currency_code,
                    },
                )
                .await?;
            Ok(CreatePayoutResponse {
                payout: Some(to_payout(outcome.payout)),
                replayed: outcome.replayed,
            })
        };
        reply(result.await)
    }

    async fn list_payouts(
        &self,
        request: Request<ListPayoutsRequest>,
    ) -> Result<Response<ListPayoutsResponse>, Status> {
        let result = async {
            let caller = reader(&request)?;
            let request = request.into_inner();
            let filters = [request.merchant_id.as_str(), request.creator_id.as_str()];
            let binding = Binding {
                key: self.state.domain.page_key(),
                rpc: "ListPayouts",
                key_id: &caller.key_id,
                filters: &filters,
            };
            let merchant_id =
                optional_id::<MerchantId>("merchant_id", request.merchant_id.clone())?;
            let creator_id = optional_id::<CreatorId>("creator_id", request.creator_id.clone())?;
            let limit = policy::page_size("page_size", request.page_size)?;
            let after = binding.cursor::<PayoutPosition>(&request.page_token)?.map(
                |(newest_first, payout_id, merchant_id)| PayoutCursor {
                    newest_first,
                    payout_id,
                    merchant_id,
                },
            );
            let page = self
                .state
                .domain
                .list_payouts(&caller, creator_id, merchant_id, after, limit)
                .await?;
            let next = page
                .next
                .map(|c| -> PayoutPosition { (c.newest_first, c.payout_id, c.merchant_id) });
            Ok(ListPayoutsResponse {
                payouts: page.items.into_iter().map(to_payout).collect(),
                next_page_token: binding.token(next.as_ref()),
            })
        };
        reply(result.await)
    }

    async fn review_commission(
        &self,
        request: Request<ReviewCommissionRequest>,
    ) -> Result<Response<ReviewCommissionResponse>, Status> {
        let result = async {
            caller(&request)?.require(&[Role::Admin])?;
            let request = request.into_inner();
            let merchant_id = id("merchant_id", request.merchant_id)?;
            let order_id = id("order_id", request.order_id)?;
            let decision = decision(request.decision)?;
            policy::validate_text("reason", &request.reason)?;
            let (commission, now) = self
                .state
                .domain
                .review_commission(ReviewRequest {
                    merchant_id,
                    order_id,
                    decision,
                    reason: request.reason,
                })
                .await?;
            Ok(ReviewCommissionResponse {
                commission: Some(to_commission(commission, now)),
            })
        };
        reply(result.await)
    }
}
