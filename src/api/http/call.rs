//! The transcoding glue: an admitted request's message decoded from JSON,
//! the very gRPC adapter of its RPC called with the HTTP headers as its
//! metadata and the authenticated caller in its extensions, and the answer
//! encoded as JSON. Keys, roles and every check are the adapter's, so they
//! are the same on both transports.

use axum::body::Bytes;
use http::HeaderMap;
use prost_reflect::MessageDescriptor;
use tonic::metadata::MetadataMap;

use super::HttpApi;
use super::defaults;
use super::json::{from_json, from_query, to_json};
use super::routes::{ROUTES, Rpc};
use crate::api::refused;
use crate::auth::Caller;
use crate::proto::admin_service_server::AdminService;
use crate::proto::counter_service_server::CounterService;
use crate::proto::earnings_service_server::EarningsService;
use crate::proto::sale_service_server::SaleService;

/// The request and response message types of one route's RPC.
pub(super) struct Messages {
    /// What the body or query is read into.
    pub(super) input: MessageDescriptor,
    /// What the answer is written from.
    pub(super) output: MessageDescriptor,
}

/// Where a request's message comes from: the JSON body of a POST, the query
/// string of a GET.
pub(super) enum Input {
    /// A POST's body, read whole under the body-read timeout.
    Body(Bytes),
    /// A GET's query string, if it has one.
    Query(Option<String>),
}

impl HttpApi {
    /// Runs the RPC of route `index` for `caller` on a request's headers
    /// and input.
    pub(super) async fn call(
        &self,
        index: usize,
        headers: HeaderMap,
        caller: Caller,
        input: Input,
    ) -> Result<Vec<u8>, tonic::Status> {
        let request = Call {
            messages: &self.messages[index],
            headers,
            caller,
            input,
        };
        let now = self.counters.state.domain.now();
        match ROUTES[index].rpc {
            Rpc::ConfirmSale => request.run(|r| self.sales.confirm_sale(r)).await,
            Rpc::ReverseSale => request.run(|r| self.sales.reverse_sale(r)).await,
            Rpc::GetCounters => {
                let fill = |r: &mut _, _: &str| defaults::get_counters(r, now);
                request
                    .run_filled(fill, |r| self.counters.get_counters(r))
                    .await
            }
            Rpc::ListTop => {
                let fill = |r: &mut _, query: &str| defaults::list_top(r, query, now);
                request
                    .run_filled(fill, |r| self.counters.list_top(r))
                    .await
            }
            Rpc::GetEarnings => request.run(|r| self.earnings.get_earnings(r)).await,
            Rpc::ListCommissions => request.run(|r| self.earnings.list_commissions(r)).await,
            Rpc::CreatePayout => request.run(|r| self.earnings.create_payout(r)).await,
            Rpc::ListPayouts => request.run(|r| self.earnings.list_payouts(r)).await,
            Rpc::ReviewCommission => request.run(|r| self.earnings.review_commission(r)).await,
            Rpc::ListMerchants => request.run(|r| self.admin.list_merchants(r)).await,
            Rpc::ListCampaigns => request.run(|r| self.admin.list_campaigns(r)).await,
            Rpc::ListApiKeys => request.run(|r| self.admin.list_api_keys(r)).await,
        }
    }
}

/// One admitted call of a route's RPC.
struct Call<'a> {
    /// The route's message types.
    messages: &'a Messages,
    /// The HTTP headers, the adapter's metadata.
    headers: HeaderMap,
    /// Who calls, as authenticated.
    caller: Caller,
    /// Where the request message comes from.
    input: Input,
}

impl Call<'_> {
    /// Decodes the request message, calls the adapter with the HTTP headers
    /// as its metadata and the caller in its extensions, and encodes its
    /// answer.
    async fn run<Req, Res, Adapter, Fut>(self, adapter: Adapter) -> Result<Vec<u8>, tonic::Status>
    where
        Req: prost::Message + Default,
        Res: prost::Message,
        Adapter: FnOnce(tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Res>, tonic::Status>>,
    {
        self.run_filled(|_: &mut Req, _: &str| {}, adapter).await
    }

    /// [`Call::run`], with `fill` applied to the decoded request and the
    /// query it came from (empty for a body) first: what the route defaults
    /// ([`defaults`]).
    async fn run_filled<Req, Res, Fill, Adapter, Fut>(
        self,
        fill: Fill,
        adapter: Adapter,
    ) -> Result<Vec<u8>, tonic::Status>
    where
        Req: prost::Message + Default,
        Res: prost::Message,
        Fill: FnOnce(&mut Req, &str),
        Adapter: FnOnce(tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Res>, tonic::Status>>,
    {
        let (message, query) = match self.input {
            Input::Body(body) => (from_json(&self.messages.input, &body), String::new()),
            Input::Query(query) => {
                let query = query.unwrap_or_default();
                (from_query(&self.messages.input, &query), query)
            }
        };
        let mut message = message.map_err(refused)?;
        fill(&mut message, &query);
        let mut extensions = tonic::Extensions::default();
        extensions.insert(self.caller);
        let request = tonic::Request::from_parts(
            MetadataMap::from_headers(self.headers),
            extensions,
            message,
        );
        let response = adapter(request).await?;
        to_json(&self.messages.output, response.get_ref())
    }
}
