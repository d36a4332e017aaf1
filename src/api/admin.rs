//! AdminService: operators manage merchants, campaigns, review, keys, erasure.

use std::time::Duration;

use tonic::{Request, Response, Status};

use crate::api::{State, id, reply, required, required_enum};
use crate::auth::caller;
use crate::domain::CampaignSpec;
use crate::error::{Error, Result};
use crate::model::{
    Campaign, CampaignId, CampaignStatus, CommissionTerms, KeyId, Merchant, MerchantId,
    ReviewDecision, Role,
};
use crate::policy;
use crate::proto::admin_service_server::AdminService;
use crate::proto::{
    self, CreateApiKeyRequest, CreateApiKeyResponse, EraseViewerRequest, EraseViewerResponse,
    GetCampaignRequest, GetCampaignResponse, GetMerchantRequest, GetMerchantResponse,
    PutCampaignRequest, PutCampaignResponse, PutMerchantRequest, PutMerchantResponse,
    ReviewCampaignRequest, ReviewCampaignResponse, RevokeApiKeyRequest, RevokeApiKeyResponse,
};

/// The AdminService adapter.
pub(crate) struct AdminApi {
    /// Domain and keys.
    pub state: State,
}

/// Free text from the wire, checked by `policy::validate_text`.
fn text(field: &str, value: String) -> Result<String> {
    policy::validate_text(field, &value)?;
    Ok(value)
}

fn decode_merchant(merchant: Option<proto::Merchant>) -> Result<Merchant> {
    let merchant = required("merchant", merchant)?;
    let allowed_domains =
        policy::allowed_domains("merchant.allowed_domains", &merchant.allowed_domains)?;
    Ok(Merchant {
        merchant_id: id("merchant.merchant_id", merchant.merchant_id)?,
        display_name: text("merchant.display_name", merchant.display_name)?,
        allowed_domains,
        token_param: policy::normalize_token_param("merchant.token_param", &merchant.token_param)?,
    })
}

fn encode_merchant(merchant: Merchant) -> proto::Merchant {
    proto::Merchant {
        merchant_id: merchant.merchant_id.into(),
        display_name: merchant.display_name,
        allowed_domains: merchant.allowed_domains,
        token_param: merchant.token_param,
    }
}

/// An optional Duration, unset as `None`; a negative or malformed one is
/// `INVALID_FIELD` naming `field` (the bounds are the policy's).
fn duration(field: &str, value: Option<prost_types::Duration>) -> Result<Option<Duration>> {
    value
        .map(|d| {
            u64::try_from(d.seconds)
                .ok()
                .filter(|_| (0..1_000_000_000).contains(&d.nanos))
                .map(|secs| Duration::new(secs, d.nanos as u32))
                .ok_or_else(|| Error::invalid_field(field, "must not be negative"))
        })
        .transpose()
}

fn decode_campaign(campaign: Option<proto::Campaign>) -> Result<CampaignSpec> {
    let campaign = required("campaign", campaign)?;
    policy::validate_category("campaign.category", &campaign.category)?;
    let window = duration("campaign.attribution_window", campaign.attribution_window)?;
    let product_ids = policy::campaign_products("campaign.product_ids", campaign.product_ids)?;
    let holding_period = duration("campaign.holding_period", campaign.holding_period)?;
    let terms = CommissionTerms {
        rate_bps: policy::commission_rate(
            "campaign.commission_rate_bps",
            campaign.commission_rate_bps,
        )?,
        holding_period: policy::holding_period("campaign.holding_period", holding_period)?,
    };
    Ok(CampaignSpec {
        campaign_id: id("campaign.campaign_id", campaign.campaign_id)?,
        merchant_id: id("campaign.merchant_id", campaign.merchant_id)?,
        category: campaign.category,
        attribution_window: policy::attribution_window("campaign.attribution_window", window)?,
        product_ids,
        terms,
    })
}

fn encode_campaign(campaign: Campaign) -> proto::Campaign {
    let status = match campaign.status {
        CampaignStatus::Pending => proto::CampaignStatus::Pending,
        CampaignStatus::Approved => proto::CampaignStatus::Approved,
        CampaignStatus::Rejected => proto::CampaignStatus::Rejected,
        CampaignStatus::Paused => proto::CampaignStatus::Paused,
    };
    proto::Campaign {
        campaign_id: campaign.campaign_id.into(),
        merchant_id: campaign.merchant_id.into(),
        category: campaign.category,
        attribution_window: Some(prost_types::Duration {
            seconds: campaign.attribution_window.as_secs() as i64,
            nanos: 0,
        }),
        product_ids: campaign.product_ids.into_iter().map(String::from).collect(),
        status: status.into(),
        review_reason: campaign.review_reason,
        commission_rate_bps: campaign.terms.rate_bps,
        holding_period: Some(prost_types::Duration {
            seconds: campaign.terms.holding_period.as_secs() as i64,
            nanos: 0,
        }),
    }
}

/// A required review decision.
fn decision(value: i32) -> Result<ReviewDecision> {
    required_enum("decision", value, |value| match value {
        proto::ReviewDecision::Approve => Some(ReviewDecision::Approve),
        proto::ReviewDecision::Reject => Some(ReviewDecision::Reject),
        proto::ReviewDecision::Pause => Some(ReviewDecision::Pause),
        proto::ReviewDecision::Unspecified => None,
    })
}

/// A required key role.
fn role(value: i32) -> Result<Role> {
    required_enum("role", value, |value| match value {
        proto::Role::Feed => Some(Role::Feed),
        proto::Role::Merchant => Some(Role::Merchant),
        proto::Role::Dashboard => Some(Role::Dashboard),
        proto::Role::Admin => Some(Role::Admin),
        proto::Role::Unspecified => None,
    })
}

impl AdminApi {
    fn admin<T>(&self, request: &Request<T>) -> Result<()> {
        caller(request)?.require(&[Role::Admin])
    }
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn put_merchant(
        &self,
        request: Request<PutMerchantRequest>,
    ) -> Result<Response<PutMerchantResponse>, Status> {
        let result = async {
            self.admin(&request)?;
            let merchant = decode_merchant(request.into_inner().merchant)?;
            let merchant = self.state.domain.put_merchant(merchant).await?;
            Ok(PutMerchantResponse {
                merchant: Some(encode_merchant(merchant)),
            })
        };
        reply(result.await)
    }

    async fn get_merchant(
        &self,
        request: Request<GetMerchantRequest>,
    ) -> Result<Response<GetMerchantResponse>, Status> {
        let result = async {
            self.admin(&request)?;
            let merchant_id: MerchantId = id("merchant_id", request.into_inner().merchant_id)?;
            let merchant = self.state.domain.get_merchant(&merchant_id).await?;
            Ok(GetMerchantResponse {
                merchant: Some(encode_merchant(merchant)),
            })
        };
        reply(result.await)
    }

    async fn create_api_key(
        &self,
        request: Request<CreateApiKeyRequest>,
    ) -> Result<Response<CreateApiKeyResponse>, Status> {
        let result = async {
            self.admin(&request)?;
            let request = request.into_inner();
            let role = role(request.role)?;
            let grant = policy::key_grant(role, request.merchant_id)?;
            let label = text("label", request.label)?;
            let created = self.state.domain.create_api_key(grant, &label).await?;
            self.state.auth.forget_cached();
            Ok(CreateApiKeyResponse {
                key_id: created.key_id.into(),
                secret: created.secret,
            })
        };
        reply(result.await)
    }

    async fn revoke_api_key(
        &self,
        request: Request<RevokeApiKeyRequest>,
    ) -> Result<Response<RevokeApiKeyResponse>, Status> {
        let result = async {
            self.admin(&request)?;
            let key_id: KeyId = id("key_id", request.into_inner().key_id)?;
            if self.state.auth.is_bootstrap(&key_id) {
                return Err(Error::invalid_field(
                    "key_id",
                    "a bootstrap key from the config file: remove it there",
                ));
            }
            if !self.state.domain.revoke_api_key(&key_id).await? {
                return Err(Error::invalid_field("key_id", "no such key"));
            }
            self.state.auth.forget_cached();
            Ok(RevokeApiKeyResponse {})
        };
        reply(result.await)
    }

    async fn put_campaign(
        &self,
        request: Request<PutCampaignRequest>,
    ) -> Result<Response<PutCampaignResponse>, Status> {
        let result = async {
            self.admin(&request)?;
            let spec = decode_campaign(request.into_inner().campaign)?;
            let campaign = self.state.domain.put_campaign(spec).await?;
            Ok(PutCampaignResponse {
                campaign: Some(encode_campaign(campaign)),
            })
        };
        reply(result.await)
    }

    async fn review_campaign(
        &self,
        request: Request<ReviewCampaignRequest>,
    ) -> Result<Response<ReviewCampaignResponse>, Status> {
        let result = async {
            self.admin(&request)?;
            let request = request.into_inner();
            let campaign_id: CampaignId = id("campaign_id", request.campaign_id)?;
            let decision = decision(request.decision)?;
            let reason = text("reason", request.reason)?;
            let campaign = self
                .state
                .domain
                .review_campaign(&campaign_id, decision, reason)
                .await?;
            Ok(ReviewCampaignResponse {
                campaign: Some(encode_campaign(campaign)),
            })
        };
        reply(result.await)
    }

    async fn get_campaign(
        &self,
        request: Request<GetCampaignRequest>,
    ) -> Result<Response<GetCampaignResponse>, Status> {
        let result = async {
            self.admin(&request)?;
            let campaign_id: CampaignId = id("campaign_id", request.into_inner().campaign_id)?;
            let campaign = self.state.domain.get_campaign(&campaign_id).await?;
            Ok(GetCampaignResponse {
                campaign: Some(encode_campaign(campaign)),
            })
        };
        reply(result.await)
    }

    async fn erase_viewer(
        &self,
        request: Request<EraseViewerRequest>,
    ) -> Result<Response<EraseViewerResponse>, Status> {
        let result = async {
            self.admin(&request)?;
            let viewer_id: String = id("viewer_id", request.into_inner().viewer_id)?;
            let clicks_erased = self.state.domain.erase_viewer(&viewer_id).await?;
            Ok(EraseViewerResponse {
                clicks_erased: i64::try_from(clicks_erased).unwrap_or(i64::MAX),
            })
        };
        reply(result.await)
    }
}
