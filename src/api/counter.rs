//! CounterService: dashboards read counters.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::api::watch::{Next, Watch};
use crate::api::{
    State, dimension, granularity, id, optional_id, refused, reply, timestamp, to_bucket,
};
use crate::auth::{Caller, caller};
use crate::domain::CounterSeries;
use crate::error::Error;
use crate::model::Role;
use crate::model::{Dimension, TopMetric};
use crate::policy;
use crate::proto;
use crate::proto::counter_service_server::CounterService;
use crate::proto::{
    GetCountersRequest, GetCountersResponse, ListTopRequest, ListTopResponse, WatchCountersRequest,
    WatchCountersResponse,
};

/// The CounterService adapter.
pub(crate) struct CounterApi {
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

/// The caller of a counter read: a dashboard or merchant key (an admin key
/// passes every role check); how far a merchant key reads is the domain's.
fn reader<T>(request: &Request<T>) -> Result<Caller, Error> {
    let caller = caller(request)?;
    caller.require(&[Role::Dashboard, Role::Merchant])?;
    Ok(caller)
}

/// The stream type of WatchCounters.
pub(crate) type WatchStream =
    Pin<Box<dyn Stream<Item = Result<WatchCountersResponse, Status>> + Send>>;

#[tonic::async_trait]
impl CounterService for CounterApi {
    async fn get_counters(
        &self,
        request: Request<GetCountersRequest>,
    ) -> Result<Response<GetCountersResponse>, Status> {
        let result = async {
            let caller = reader(&request)?;
            let request = request.into_inner();
            let dimension = dimension("dimension", request.dimension)?;
            let id: String = id("id", request.id)?;
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

    async fn list_top(
        &self,
        request: Request<ListTopRequest>,
    ) -> Result<Response<ListTopResponse>, Status> {
        let result = async {
            let caller = reader(&request)?;
            let request = request.into_inner();
            let dimension =
                policy::top_dimension("dimension", dimension("dimension", request.dimension)?)?;
            let day = policy::utc_day("day", &request.day)?;
            let metric = match (
                proto::TopMetric::try_from(request.metric),
                request.currency_code.is_empty(),
            ) {
                (Ok(proto::TopMetric::Clicks), true) => TopMetric::Clicks,
                (Ok(proto::TopMetric::Conversions), true) => TopMetric::Conversions,
                (Ok(proto::TopMetric::Revenue), false) => {
                    policy::validate_currency("currency_code", &request.currency_code)?;
                    TopMetric::Revenue(request.currency_code)
                }
                (Ok(proto::TopMetric::Commission), false) => {
                    policy::validate_currency("currency_code", &request.currency_code)?;
                    TopMetric::Commission(request.currency_code)
                }
                (Ok(proto::TopMetric::Revenue), true) => {
                    return Err(Error::invalid_field(
                        "currency_code",
                        "missing: revenue is ranked in one currency",
                    ));
                }
                (Ok(proto::TopMetric::Commission), true) => {
                    return Err(Error::invalid_field(
                        "currency_code",
                        "missing: commission is ranked in one currency",
                    ));
                }
                (Ok(proto::TopMetric::Clicks | proto::TopMetric::Conversions), false) => {
                    return Err(Error::invalid_field(
                        "currency_code",
                        "only for TOP_METRIC_REVENUE and TOP_METRIC_COMMISSION",
                    ));
                }
                (Ok(proto::TopMetric::Unspecified), _) => {
                    return Err(Error::invalid_field("metric", "missing"));
                }
                (Err(_), _) => return Err(Error::invalid_field("metric", "unknown value")),
            };
            let limit = policy::top_limit("limit", request.limit)?;
            let requested = optional_id("merchant_id", request.merchant_id)?;
            let entries = self
                .state
                .domain
                .list_top(&caller, dimension, day, metric, limit, requested)
                .await?;
            Ok(ListTopResponse {
                entries: entries
                    .into_iter()
                    .map(|e| proto::TopEntry {
                        id: e.id,
                        value: e.value,
                    })
                    .collect(),
            })
        };
        reply(result.await)
    }

    type WatchCountersStream = WatchStream;

    async fn watch_counters(
        &self,
        request: Request<WatchCountersRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let result = async {
            let (caller, dimension, id) = watch_request(&request)?;
            let watch = self.open_watch(caller, dimension, id).await?;
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            tokio::spawn(feed(watch, tx));
            Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)) as WatchStream)
        };
        reply(result.await)
    }
}

/// The caller and the validated dimension and id of a WatchCounters
/// request: what both transports' streams start from.
pub(crate) fn watch_request(
    request: &Request<WatchCountersRequest>,
) -> Result<(Caller, Dimension, String), Error> {
    let caller = reader(request)?;
    let message = request.get_ref();
    let dimension = dimension("dimension", message.dimension)?;
    let id: String = id("id", message.id.clone())?;
    Ok((caller, dimension, id))
}

impl CounterApi {
    /// A stream of the current hour of `dimension`/`id` for `caller`, once
    /// the caller may read it: joins or starts the shared subscription
    /// (`api::watch`); a new one reads its first bucket now, so a bad
    /// request or a store outage is the call's status, not a broken stream.
    pub(crate) async fn open_watch(
        &self,
        caller: Caller,
        dimension: Dimension,
        id: String,
    ) -> Result<Watch, Error> {
        let share = self
            .state
            .domain
            .authorize_counters(&caller, dimension, &id)
            .await?;
        self.state
            .watchers
            .watch(caller, dimension, id, share)
            .await
    }
}

/// Feeds one WatchCounters stream from its watch: the current hour's bucket
/// now, then each change, at most once per `api::watch::WATCH_EVERY`. Ends
/// when the client goes away, the server shuts down (the stream then ends
/// cleanly, with an OK status), or the caller's key is revoked (the stream
/// ends UNAUTHENTICATED).
async fn feed(
    mut watch: Watch,
    tx: tokio::sync::mpsc::Sender<Result<WatchCountersResponse, Status>>,
) {
    loop {
        let next = tokio::select! {
            next = watch.next() => next,
            () = tx.closed() => return,
        };
        let (message, last) = match next {
            Next::Bucket((start, counts)) => (
                Ok(WatchCountersResponse {
                    bucket: Some(to_bucket(start, &counts)),
                }),
                false,
            ),
            Next::Revoked => (Err(refused(Error::Unauthenticated)), true),
            Next::ShuttingDown => return,
        };
        if tx.send(message).await.is_err() || last {
            return;
        }
    }
}
