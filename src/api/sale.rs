//! SaleService: merchant shops confirm and reverse sales.

use tonic::{Request, Response, Status};

use crate::api::{State, id, money, reply, to_money, to_signals, to_timestamp};
use crate::auth::caller;
use crate::error::{Error, Result};
use crate::model::SaleOutcome;
use crate::model::{MerchantId, Role};
use crate::proto::sale_service_server::SaleService;
use crate::proto::{
    ConfirmSaleRequest, ConfirmSaleResponse, ReverseSaleRequest, ReverseSaleResponse,
};

/// The SaleService adapter.
pub(crate) struct SaleApi {
    /// Domain and keys.
    pub state: State,
}

fn encode(outcome: SaleOutcome) -> ConfirmSaleResponse {
    let sale = outcome.sale;
    tracing::Span::current().record("campaign_id", sale.attribution.campaign_id.as_str());
    ConfirmSaleResponse {
        click_id: sale.click_id.to_hex(),
        campaign_id: sale.attribution.campaign_id.into(),
        creator_id: sale.attribution.creator_id.into(),
        video_id: sale.attribution.video_id.into(),
        product_id: sale.attribution.product_id.into(),
        clicked_at: Some(to_timestamp(sale.clicked_at)),
        confirmed_at: Some(to_timestamp(sale.confirmed_at)),
        replayed: outcome.replayed,
        commission: Some(to_money(&sale.commission)),
        signals: to_signals(sale.signals),
    }
}

impl SaleApi {
    /// Authenticates a sale call and names the merchant it acts for (also
    /// on the RPC's span).
    async fn merchant<T>(&self, request: &Request<T>) -> Result<MerchantId> {
        let caller = caller(request)?;
        caller.require(&[Role::Merchant])?;
        let merchant_id = caller.sale_merchant(request.metadata())?;
        tracing::Span::current().record("merchant_id", merchant_id.as_str());
        Ok(merchant_id)
    }
}

#[tonic::async_trait]
impl SaleService for SaleApi {
    async fn confirm_sale(
        &self,
        request: Request<ConfirmSaleRequest>,
    ) -> Result<Response<ConfirmSaleResponse>, Status> {
        let result = async {
            let merchant_id = self.merchant(&request).await?;
            let request = request.into_inner();
            // An empty token is a missing field; every other check of a
            // token (its length first) is `KeyRing::verify`'s, in the domain.
            if request.token.is_empty() {
                return Err(Error::invalid_field("token", "missing"));
            }
            let order_id = id("order_id", request.order_id)?;
            let amount = money("amount", request.amount)?;
            self.state
                .domain
                .confirm_sale(&merchant_id, &request.token, order_id, amount)
                .await
                .map(encode)
        };
        reply(result.await)
    }

    async fn reverse_sale(
        &self,
        request: Request<ReverseSaleRequest>,
    ) -> Result<Response<ReverseSaleResponse>, Status> {
        let result = async {
            let merchant_id = self.merchant(&request).await?;
            let request = request.into_inner();
            let order_id = id("order_id", request.order_id)?;
            let reversal_id = id("reversal_id", request.reversal_id)?;
            let amount = money("amount", request.amount)?;
            let outcome = self
                .state
                .domain
                .reverse_sale(&merchant_id, order_id, reversal_id, amount)
                .await?;
            Ok(ReverseSaleResponse {
                remaining: Some(to_money(&outcome.remaining)),
                replayed: outcome.replayed,
                commission_remaining: Some(to_money(&outcome.commission_remaining)),
            })
        };
        reply(result.await)
    }
}
