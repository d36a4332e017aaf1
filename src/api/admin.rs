//! AdminService: operators manage merchants, campaigns, review, keys, erasure.

use std::time::Duration;

use tonic::{Request, Response, Status};

use crate::api::pages::Binding;
use crate::api::{State, id, optional_id, reply, required, required_enum, to_timestamp};
use crate::auth::caller;
use crate::domain::CampaignSpec;
use crate::error::{Error, Result};
use crate::model::{
    ApiKeyInfo, Campaign, CampaignId, CampaignStatus, CommissionTerms, KeyId, KeyQuery, Merchant,
    MerchantId, ReviewDecision, Role,
};
use crate::policy;
use crate::proto::admin_service_server::AdminService;
use crate::proto::{
    self, CreateApiKeyRequest, CreateApiKeyResponse, EraseViewerRequest, EraseViewerResponse,
    GetCampaignRequest, GetCampaignResponse, GetMerchantRequest, GetMerchantResponse,
    ListApiKeysRequest, ListApiKeysResponse, ListCampaignsRequest, ListCampaignsResponse,
    ListMerchantsRequest, ListMerchantsResponse, PutCampaignRequest, PutCampaignResponse,
    PutMerchantRequest, PutMerchantResponse, ReviewCampaignRequest, ReviewCampaignResponse,
    RevokeApiKeyRequest, RevokeApiKeyResponse,
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

/// A role of the wire; `None` for unspecified.
fn known_role(value: proto::Role) -> Option<Role> {
    match value {
        proto::Role::Feed => Some(Role::Feed),
        proto::Role::Merchant => Some(Role::Merchant),
        proto::Role::Dashboard => Some(Role::Dashboard),
        proto::Role::Admin => Some(Role::Admin),
        proto::Role::Unspecified => None,
    }
}

/// A required key role.
fn role(value: i32) -> Result<Role> {
    required_enum("role", value, known_role)
}

/// An optional role filter: unspecified means any.
fn role_filter(value: i32) -> Result<Option<Role>> {
    proto::Role::try_from(value)
        .map(known_role)
        .map_err(|_| Error::invalid_field("role", "unknown value"))
}

/// An optional campaign status filter: unspecified means any.
fn status_filter(value: i32) -> Result<Option<CampaignStatus>> {
    match proto::CampaignStatus::try_from(value) {
        Ok(proto::CampaignStatus::Unspecified) => Ok(None),
        Ok(proto::CampaignStatus::Pending) => Ok(Some(CampaignStatus::Pending)),
        Ok(proto::CampaignStatus::Approved) => Ok(Some(CampaignStatus::Approved)),
        Ok(proto::CampaignStatus::Rejected) => Ok(Some(CampaignStatus::Rejected)),
        Ok(proto::CampaignStatus::Paused) => Ok(Some(CampaignStatus::Paused)),
        Err(_) => Err(Error::invalid_field("status", "unknown value")),
    }
}

/// The wire form of a role.
fn encode_role(role: Role) -> proto::Role {
    match role {
        Role::Feed => proto::Role::Feed,
        Role::Merchant => proto::Role::Merchant,
        Role::Dashboard => proto::Role::Dashboard,
        Role::Admin => proto::Role::Admin,
    }
}

/// The wire form of what a listing shows of a key: never a secret nor
/// its hash (the model has neither).
fn encode_key_info(key: ApiKeyInfo) -> proto::ApiKeyInfo {
    proto::ApiKeyInfo {
        key_id: key.key_id.into(),
        role: encode_role(key.grant.role()).into(),
        merchant_id: key
            .grant
            .merchant()
            .map(|m| m.to_string())
            .unwrap_or_default(),
        label: key.label,
        created_at: key.created_at.map(to_timestamp),
        revoked: key.revoked,
        from_config: key.from_config,
    }
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
            let caller = caller(&request)?;
            caller.require(&[Role::Merchant])?;
            let merchant_id: MerchantId = id("merchant_id", request.into_inner().merchant_id)?;
            let merchant = self
                .state
                .domain
                .get_merchant(&caller, &merchant_id)
                .await?;
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

    async fn list_merchants(
        &self,
        request: Request<ListMerchantsRequest>,
    ) -> Result<Response<ListMerchantsResponse>, Status> {
        let result = async {
            let caller = caller(&request)?;
            caller.require(&[Role::Dashboard])?;
            let request = request.into_inner();
            let binding = Binding {
                key: self.state.domain.page_key(),
                rpc: "ListMerchants",
                key_id: &caller.key_id,
                filters: &[],
            };
            let limit = policy::page_size("page_size", request.page_size)?;
            let after = binding.cursor::<String>(&request.page_token)?;
            let page = self.state.domain.list_merchants(after, limit).await?;
            Ok(ListMerchantsResponse {
                merchants: page.items.into_iter().map(encode_merchant).collect(),
                next_page_token: binding.token(page.next.as_ref()),
            })
        };
        reply(result.await)
    }

    async fn list_campaigns(
        &self,
        request: Request<ListCampaignsRequest>,
    ) -> Result<Response<ListCampaignsResponse>, Status> {
        let result = async {
            let caller = caller(&request)?;
            caller.require(&[Role::Merchant, Role::Dashboard])?;
            let request = request.into_inner();
            let status = request.status.to_string();
            let filters = [request.merchant_id.as_str(), status.as_str()];
            let binding = Binding {
                key: self.state.domain.page_key(),
                rpc: "ListCampaigns",
                key_id: &caller.key_id,
                filters: &filters,
            };
            let merchant_id = optional_id("merchant_id", request.merchant_id.clone())?;
            let status = status_filter(request.status)?;
            let limit = policy::page_size("page_size", request.page_size)?;
            let after = binding.cursor::<String>(&request.page_token)?;
            let page = self
                .state
                .domain
                .list_campaigns(&caller, merchant_id, status, after, limit)
                .await?;
            Ok(ListCampaignsResponse {
                campaigns: page.items.into_iter().map(encode_campaign).collect(),
                next_page_token: binding.token(page.next.as_ref()),
            })
        };
        reply(result.await)
    }

    async fn list_api_keys(
        &self,
        request: Request<ListApiKeysRequest>,
    ) -> Result<Response<ListApiKeysResponse>, Status> {
        let result = async {
            let caller = caller(&request)?;
            caller.require(&[Role::Admin])?;
            let request = request.into_inner();
            let role = request.role.to_string();
            let filters = [role.as_str(), request.merchant_id.as_str()];
            let binding = Binding {
                key: self.state.domain.page_key(),
                rpc: "ListApiKeys",
                key_id: &caller.key_id,
                filters: &filters,
            };
            let query = KeyQuery {
                role: role_filter(request.role)?,
                merchant_id: optional_id("merchant_id", request.merchant_id.clone())?,
            };
            let limit = policy::page_size("page_size", request.page_size)?;
            let after = binding.cursor::<String>(&request.page_token)?;
            let page = self
                .state
                .domain
                .list_api_keys(&query, after, limit)
                .await?;
            Ok(ListApiKeysResponse {
                api_keys: page.items.into_iter().map(encode_key_info).collect(),
                next_page_token: binding.token(page.next.as_ref()),
            })
        };
        reply(result.await)
    }
}
