//! CounterService: dashboards read counters.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::api::{State, dimension, granularity, id, reply, timestamp, to_bucket};
use crate::auth::Role;
use crate::domain::CounterSeries;
use crate::error::Error;
use crate::proto::counter_service_server::CounterService;
use crate::proto::{
    GetCountersRequest, GetCountersResponse, ListTopRequest, ListTopResponse, WatchCountersRequest,
    WatchCountersResponse,
};

/// The CounterService adapter.
pub struct CounterApi {
    /// Domain and keys.
    pub state: State,
}

fn encode(series: CounterSeries) -> GetCountersResponse {
    GetCountersResponse {
        buckets: series
            .buckets
            .iter()
            .map(|(start, counts)| to_bucket(*start, counts))
            .collect(),
        total: Some(to_bucket(series.start, &series.total)),
    }
}

/// The stream type of WatchCounters.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchCountersResponse, Status>> + Send>>;

#[tonic::async_trait]
impl CounterService for CounterApi {
    #[tracing::instrument(name = "GetCounters", skip_all)]
    async fn get_counters(
        &self,
        request: Request<GetCountersRequest>,
    ) -> Result<Response<GetCountersResponse>, Status> {
        let result = async {
            let caller = self.state.auth.authenticate(request.metadata()).await?;
            caller.require(&[Role::Dashboard, Role::Merchant])?;
            let request = request.into_inner();
            let dimension = dimension("dimension", request.dimension)?;
            let id = id("id", request.id)?;
            let granularity = granularity("granularity", request.granularity)?;
            let start = timestamp("start_time", request.start_time)?;
            let end = timestamp("end_time", request.end_time)?;
            let share = self
                .state
                .domain
                .authorize_counters(&caller, dimension, &id)
                .await?;
            self.state
                .domain
                .get_counters(dimension, &id, granularity, start, end, share.as_deref())
                .await
                .map(encode)
        };
        reply(result.await)
    }

    #[tracing::instrument(name = "ListTop", skip_all)]
    async fn list_top(
        &self,
        request: Request<ListTopRequest>,
    ) -> Result<Response<ListTopResponse>, Status> {
        let result = async {
            let caller = self.state.auth.authenticate(request.metadata()).await?;
            caller.require(&[Role::Dashboard, Role::Merchant])?;
            Err(Error::Unimplemented)
        };
        reply(result.await)
    }

    type WatchCountersStream = WatchStream;

    #[tracing::instrument(name = "WatchCounters", skip_all)]
    async fn watch_counters(
        &self,
        request: Request<WatchCountersRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let result = async {
            let caller = self.state.auth.authenticate(request.metadata()).await?;
            caller.require(&[Role::Dashboard, Role::Merchant])?;
            Err(Error::Unimplemented)
        };
        reply(result.await)
    }
}
