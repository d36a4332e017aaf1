//! CounterService: dashboards read counters.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::api::{
    State, dimension, granularity, id, optional_id, refused, reply, timestamp, to_bucket,
};
use crate::auth::{Caller, caller};
use crate::domain::CounterSeries;
use crate::error::Error;
use crate::model::{Counts, Dimension, TopMetric};
use crate::model::{MerchantId, Role};
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
            let caller = reader(&request)?;
            let request = request.into_inner();
            let dimension = dimension("dimension", request.dimension)?;
            let id: String = id("id", request.id)?;
            let share = self
                .state
                .domain
                .authorize_counters(&caller, dimension, &id)
                .await?;
            // The first read answers now, so a bad request or a store
            // outage is the call's status, not a broken stream.
            let first = self
                .state
                .domain
                .current_hour(dimension, &id, share.as_deref())
                .await?;
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            tokio::spawn(watch(
                self.state.clone(),
                caller,
                dimension,
                id,
                share,
                first,
                tx,
            ));
            Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)) as WatchStream)
        };
        reply(result.await)
    }
}

/// How often a watched bucket is read again; also the most it is sent.
pub(crate) const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How often a stream asks whether its key is still live. With the key
/// cache's own TTL (`auth::KEY_CACHE_TTL`, 500 ms) a revoked key's stream
/// ends within a second of the revocation reaching the replica.
const KEY_RECHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Feeds one WatchCounters stream: the current hour's bucket now, then at
/// most once per [`WATCH_EVERY`] when it changed. Ends when the client goes
/// away (the send fails), the server shuts down (the stream then ends
/// cleanly, with an OK status), or the caller's key is revoked (the stream
/// ends UNAUTHENTICATED).
async fn watch(
    state: State,
    caller: Caller,
    dimension: Dimension,
    id: String,
    share: Option<MerchantId>,
    first: (chrono::DateTime<chrono::Utc>, Counts),
    tx: tokio::sync::mpsc::Sender<Result<WatchCountersResponse, Status>>,
) {
    let mut shutdown = state.shutdown.clone();
    let mut last = first;
    let message =
        |(start, counts): &(chrono::DateTime<chrono::Utc>, Counts)| WatchCountersResponse {
            bucket: Some(to_bucket(*start, counts)),
        };
    if tx.send(Ok(message(&last))).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tick.tick().await;
    let mut recheck = tokio::time::interval(KEY_RECHECK_EVERY);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let key_check_due = tokio::select! {
            _ = tick.tick() => false,
            _ = recheck.tick() => true,
            _ = shutdown.wait_for(|stopping| *stopping) => return,
            () = tx.closed() => return,
        };
        if key_check_due {
            // A store that does not answer is no revocation: the stream goes
            // on, as its reads do.
            if let Ok(false) = state.auth.is_live(&caller).await {
                tracing::info!(key_id = %caller.key_id, "api key revoked: ending its counters stream");
                let _ = tx.send(Err(refused(Error::Unauthenticated))).await;
                return;
            }
            continue;
        }
        // A read may wait on a slow store for up to its timeout; shutdown
        // does not wait for it.
        let read = state.domain.current_hour(dimension, &id, share.as_deref());
        let read = tokio::select! {
            read = read => read,
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        };
        match read {
            Ok(now) if now != last => {
                last = now;
                if tx.send(Ok(message(&last))).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            // The store is down: keep the stream and try again next tick;
            // health reports the outage.
            Err(_) => {}
        }
    }
}
