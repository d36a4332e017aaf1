//! ClickService: feed services report taps.

use tonic::{Request, Response, Status};

use crate::api::{State, age_bracket, id, reply, to_signals, to_timestamp};
use crate::auth::caller;
use crate::domain::{IssuedToken, Tap};
use crate::error::Result;
use crate::model::Role;
use crate::proto::click_service_server::ClickService;
use crate::proto::{IssueTokenRequest, IssueTokenResponse};

/// The ClickService adapter.
pub(crate) struct ClickApi {
    /// Domain and keys.
    pub state: State,
}

/// A tap from the wire: its ids checked; the landing URL is the domain's
/// to check (`policy::check_landing_url`), against the campaign's merchant.
fn decode_tap(request: IssueTokenRequest) -> Result<Tap> {
    Ok(Tap {
        viewer_id: id("viewer_id", request.viewer_id)?,
        video_id: id("video_id", request.video_id)?,
        creator_id: id("creator_id", request.creator_id)?,
        campaign_id: id("campaign_id", request.campaign_id)?,
        product_id: id("product_id", request.product_id)?,
        landing_url: request.landing_url,
        age: age_bracket("age_bracket", request.age_bracket)?,
    })
}

fn encode(issued: IssuedToken) -> IssueTokenResponse {
    IssueTokenResponse {
        token: issued.token,
        redirect_url: issued.redirect_url,
        click_id: issued.click_id.to_hex(),
        expires_at: Some(to_timestamp(issued.expires_at)),
        deduplicated: issued.deduplicated,
        signals: to_signals(issued.signals),
    }
}

#[tonic::async_trait]
impl ClickService for ClickApi {
    async fn issue_token(
        &self,
        request: Request<IssueTokenRequest>,
    ) -> Result<Response<IssueTokenResponse>, Status> {
        let result = async {
            let caller = caller(&request)?;
            caller.require(&[Role::Feed])?;
            let tap = decode_tap(request.into_inner())?;
            tracing::Span::current().record("campaign_id", tap.campaign_id.as_str());
            self.state.domain.issue_token(tap).await.map(encode)
        };
        reply(result.await)
    }
}
