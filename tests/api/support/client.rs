//! One client helper for every server a test drives, in process
//! ([`super::TestApp`] derefs to it) or the built binary
//! ([`super::ServerProcess::client`]): the generated gRPC clients over one
//! connection, the test keys to authenticate with, and the calls most tests
//! make (seed the registry, tap, sell, read counters, check health).

use std::net::SocketAddr;

use cartclick::proto::admin_service_client::AdminServiceClient;
use cartclick::proto::click_service_client::ClickServiceClient;
use cartclick::proto::counter_service_client::CounterServiceClient;
use cartclick::proto::sale_service_client::SaleServiceClient;
use cartclick::proto::*;
use tonic::transport::Channel;
use tonic::{Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::{CAMPAIGN, Keys, MERCHANT, OTHER_MERCHANT, campaign, dkk, start_time, ts};

/// `message` with `authorization: Bearer <secret>`.
pub fn authed<T>(secret: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {secret}").parse().unwrap());
    request
}

/// A connection to a server under test and the keys it knows.
#[derive(Clone)]
pub struct Client {
    /// The connection every client of this helper shares.
    pub channel: Channel,
    /// The secrets of the server's API keys, one per role.
    pub keys: Keys,
}

impl Client {
    /// A new connection to the gRPC port at `addr`.
    pub async fn connect(addr: SocketAddr, keys: Keys) -> Client {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap_or_else(|error| panic!("connects to {addr}: {error}"));
        Client { channel, keys }
    }

    /// ClickService over the shared connection.
    pub fn clicks(&self) -> ClickServiceClient<Channel> {
        ClickServiceClient::new(self.channel.clone())
    }

    /// SaleService over the shared connection.
    pub fn sales(&self) -> SaleServiceClient<Channel> {
        SaleServiceClient::new(self.channel.clone())
    }

    /// CounterService over the shared connection.
    pub fn counters(&self) -> CounterServiceClient<Channel> {
        CounterServiceClient::new(self.channel.clone())
    }

    /// AdminService over the shared connection.
    pub fn admin(&self) -> AdminServiceClient<Channel> {
        AdminServiceClient::new(self.channel.clone())
    }

    /// Creates the two merchants and the approved campaign most tests use.
    pub async fn seed(&self) {
        self.put_merchant(MERCHANT, &["shop.dk"], "").await;
        self.put_merchant(OTHER_MERCHANT, &["other.dk"], "").await;
        self.put_campaign(CAMPAIGN, MERCHANT, "apparel", &[]).await;
        self.review(CAMPAIGN, ReviewDecision::Approve).await;
    }

    /// Creates or replaces merchant `id`, as the admin.
    pub async fn put_merchant(&self, id: &str, domains: &[&str], token_param: &str) -> Merchant {
        let merchant = Merchant {
            merchant_id: id.into(),
            display_name: format!("Shop {id}"),
            allowed_domains: domains.iter().map(|d| d.to_string()).collect(),
            token_param: token_param.into(),
        };
        self.admin()
            .put_merchant(authed(
                &self.keys.admin,
                PutMerchantRequest {
                    merchant: Some(merchant),
                },
            ))
            .await
            .expect("put merchant")
            .into_inner()
            .merchant
            .unwrap()
    }

    /// Creates or replaces campaign `id` (pending review), as the admin.
    pub async fn put_campaign(
        &self,
        id: &str,
        merchant: &str,
        category: &str,
        products: &[&str],
    ) -> Campaign {
        self.try_put_campaign(campaign(id, merchant, category, products))
            .await
            .expect("put campaign")
    }

    /// PutCampaign as the admin, for tests of its refusals.
    pub async fn try_put_campaign(&self, campaign: Campaign) -> Result<Campaign, Status> {
        Ok(self
            .admin()
            .put_campaign(authed(
                &self.keys.admin,
                PutCampaignRequest {
                    campaign: Some(campaign),
                },
            ))
            .await?
            .into_inner()
            .campaign
            .unwrap())
    }

    /// Reviews campaign `id`, as the admin.
    pub async fn review(&self, id: &str, decision: ReviewDecision) -> Campaign {
        self.try_review(id, decision).await.expect("review")
    }

    /// ReviewCampaign as the admin, for tests of its refusals.
    pub async fn try_review(&self, id: &str, decision: ReviewDecision) -> Result<Campaign, Status> {
        Ok(self
            .admin()
            .review_campaign(authed(
                &self.keys.admin,
                ReviewCampaignRequest {
                    campaign_id: id.into(),
                    decision: decision.into(),
                    reason: "test".into(),
                },
            ))
            .await?
            .into_inner()
            .campaign
            .unwrap())
    }

    /// IssueToken as the feed.
    pub async fn issue(&self, tap: IssueTokenRequest) -> Result<IssueTokenResponse, Status> {
        self.issue_request(authed(&self.keys.feed, tap)).await
    }

    /// IssueToken with a request the caller prepared (metadata, timeout).
    pub async fn issue_request(
        &self,
        request: Request<IssueTokenRequest>,
    ) -> Result<IssueTokenResponse, Status> {
        Ok(self.clicks().issue_token(request).await?.into_inner())
    }

    /// ConfirmSale as MERCHANT.
    pub async fn confirm(
        &self,
        token: &str,
        order_id: &str,
        amount_minor: i64,
        currency: &str,
    ) -> Result<ConfirmSaleResponse, Status> {
        self.confirm_as(&self.keys.merchant, token, order_id, amount_minor, currency)
            .await
    }

    /// ConfirmSale with the merchant key, for a test whose setup needs the
    /// sale recorded: fails the test if it is refused.
    pub async fn confirmed(&self, token: &str, order_id: &str, amount_minor: i64, currency: &str) {
        if let Err(status) = self.confirm(token, order_id, amount_minor, currency).await {
            panic!("ConfirmSale {order_id} was refused: {status:?}");
        }
    }

    /// ConfirmSale with the key `key`.
    pub async fn confirm_as(
        &self,
        key: &str,
        token: &str,
        order_id: &str,
        amount_minor: i64,
        currency: &str,
    ) -> Result<ConfirmSaleResponse, Status> {
        let request = ConfirmSaleRequest {
            token: token.into(),
            order_id: order_id.into(),
            amount: Some(Money {
                currency_code: currency.into(),
                amount_minor,
            }),
        };
        Ok(self
            .sales()
            .confirm_sale(authed(key, request))
            .await?
            .into_inner())
    }

    /// ReverseSale as MERCHANT.
    pub async fn reverse(
        &self,
        order_id: &str,
        reversal_id: &str,
        amount: Money,
    ) -> Result<ReverseSaleResponse, Status> {
        self.reverse_as(&self.keys.merchant, order_id, reversal_id, amount)
            .await
    }

    /// ReverseSale with the key `key`.
    pub async fn reverse_as(
        &self,
        key: &str,
        order_id: &str,
        reversal_id: &str,
        amount: Money,
    ) -> Result<ReverseSaleResponse, Status> {
        let request = ReverseSaleRequest {
            order_id: order_id.into(),
            reversal_id: reversal_id.into(),
            amount: Some(amount),
        };
        Ok(self
            .sales()
            .reverse_sale(authed(key, request))
            .await?
            .into_inner())
    }

    /// A refund of `amount_minor` DKK as MERCHANT (ReverseSale).
    pub async fn refund(
        &self,
        order_id: &str,
        reversal_id: &str,
        amount_minor: i64,
    ) -> Result<ReverseSaleResponse, Status> {
        self.reverse(order_id, reversal_id, dkk(amount_minor)).await
    }

    /// Counters of one id over the test day, by `granularity`.
    pub async fn counters_of(
        &self,
        dimension: Dimension,
        id: &str,
        granularity: Granularity,
    ) -> GetCountersResponse {
        self.try_counters_of(dimension, id, granularity)
            .await
            .expect("get counters")
    }

    /// GetCounters of one id over the test day, for tests where a read
    /// may be refused.
    pub async fn try_counters_of(
        &self,
        dimension: Dimension,
        id: &str,
        granularity: Granularity,
    ) -> Result<GetCountersResponse, Status> {
        let start = start_time() - chrono::TimeDelta::hours(10);
        let request = GetCountersRequest {
            dimension: dimension.into(),
            id: id.into(),
            granularity: granularity.into(),
            start_time: Some(ts(start)),
            end_time: Some(ts(start + chrono::TimeDelta::days(1))),
        };
        Ok(self
            .counters()
            .get_counters(authed(&self.keys.dashboard, request))
            .await?
            .into_inner())
    }

    /// The test day's top list of `dimension` by `metric` (in `currency`),
    /// whole: `merchant`'s, or ("") over every merchant.
    pub async fn top_of_day(
        &self,
        dimension: Dimension,
        metric: TopMetric,
        currency: &str,
        merchant: &str,
    ) -> Vec<(String, i64)> {
        let request = ListTopRequest {
            dimension: dimension.into(),
            day: start_time().date_naive().to_string(),
            metric: metric.into(),
            currency_code: currency.into(),
            limit: 100,
            merchant_id: merchant.into(),
        };
        self.counters()
            .list_top(authed(&self.keys.dashboard, request))
            .await
            .expect("list top")
            .into_inner()
            .entries
            .into_iter()
            .map(|entry| (entry.id, entry.value))
            .collect()
    }

    /// Totals of one id over the test day.
    pub async fn total(&self, dimension: Dimension, id: &str) -> CounterBucket {
        self.counters_of(dimension, id, Granularity::Hour)
            .await
            .total
            .unwrap()
    }
}

/// Does the server's overall health (service "") report `status`?
pub async fn health_is(client: &Client, status: ServingStatus) -> bool {
    service_health_is(client, "", status).await
}

/// Whether the health of `service` is `status`.
pub async fn service_health_is(client: &Client, service: &str, status: ServingStatus) -> bool {
    let mut health = HealthClient::new(client.channel.clone());
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    health
        .check(request)
        .await
        .is_ok_and(|response| response.into_inner().status() == status)
}
