//! Building and running the server. [`Application::build`] binds the listener
//! (port 0 picks a free one) and wires the store, keys and services;
//! [`Application::run_until_stopped`] serves until the shutdown future
//! completes, then drains: health goes NOT_SERVING first, new connections are
//! refused, in-flight calls get the grace period to finish. The binary passes
//! SIGTERM-or-Ctrl-C; tests pass a oneshot.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper::body::Incoming;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tonic_web::GrpcWebLayer;
use tower::ServiceBuilder;

use crate::api::admin::AdminApi;
use crate::api::click::ClickApi;
use crate::api::counter::CounterApi;
use crate::api::earnings::EarningsApi;
use crate::api::http::HttpApi;
use crate::api::sale::SaleApi;
use crate::api::watch::Watchers;
use crate::api::{ApiState, State};
use crate::auth::Authenticator;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, MAX_REQUEST_BYTES, StoreUrl};
use crate::domain::Cartclick;
use crate::grpc_web;
use crate::privacy::ViewerPepper;
use crate::proto::admin_service_server::AdminServiceServer;
use crate::proto::click_service_server::ClickServiceServer;
use crate::proto::counter_service_server::CounterServiceServer;
use crate::proto::earnings_service_server::EarningsServiceServer;
use crate::proto::sale_service_server::SaleServiceServer;
use crate::rpc_layer::{Admission, CallLimits, RpcLayer};
use crate::serve::{ConnectionLimits, serve};
use crate::store::Store;
use crate::store::memory::MemoryStore;
use crate::store::metered::MeteredStore;
use crate::store::redis::{RedisOptions, RedisStore};
use crate::token::KeyRing;

/// How often the health service re-checks the store.
const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(1);

/// A health service name for liveness probes: SERVING from start until
/// shutdown, whatever the store does, so a Redis outage takes replicas out
/// of rotation (readiness, on "") without restarting them.
pub const LIVENESS: &str = "liveness";

/// The gRPC services whose health is reported, by their full names.
const SERVICE_NAMES: [&str; 4] = [
    "cartclick.v1.ClickService",
    "cartclick.v1.SaleService",
    "cartclick.v1.CounterService",
    "cartclick.v1.AdminService",
];

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration cannot run as given.
    #[error("{0}")]
    Config(String),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Reflection could not load the descriptors (a build problem).
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// A server, bound and ready to run.
pub struct Application {
    /// The bound listener.
    listener: TcpListener,
    /// Where it is bound (the real port when 0 was asked for).
    local_addr: SocketAddr,
    /// The HTTP/JSON API's listener and address, unless turned off.
    http: Option<(TcpListener, SocketAddr)>,
    /// Browser origins allowed to call gRPC-Web.
    grpc_web_origins: Vec<String>,
    /// What the services share.
    state: State,
    /// Longest in-flight calls get after shutdown begins.
    shutdown_grace: Duration,
    /// Tells streams the server is shutting down.
    shutdown_tx: tokio::sync::watch::Sender<bool>,
    /// Concurrency, time and connection limits.
    limits: Limits,
    /// Whether each RPC writes its access-log line.
    access_log: bool,
    /// How long an SSE stream may stay quiet before a keep-alive comment.
    sse_keep_alive: Duration,
}

/// The server's limits, from the config.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// What a call is admitted under.
    calls: CallLimits,
    /// What a connection is served under.
    connections: ConnectionLimits,
}

/// HTTP/2 pings on idle connections, to find dead peers behind load balancers.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered before the connection is closed.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

impl Application {
    /// Opens the store the config names and binds the listener.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let store = open_store(&config).await?;
        Application::build_with(config, store, Arc::new(SystemClock)).await
    }

    /// Binds the listener over a given store and clock: for tests.
    pub async fn build_with(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Application, StartupError> {
        let memory = config.store == StoreUrl::Memory;
        let store: Arc<dyn Store> = Arc::new(MeteredStore::new(store));
        let keys = match config.signing_keys.clone() {
            Some(keys) => keys,
            None if memory => {
                tracing::warn!(
                    "no [[signing_keys]] configured: signing with an ephemeral key; tokens die with this process"
                );
                KeyRing::ephemeral()
            }
            None => return Err(StartupError::Config(NO_SIGNING_KEYS.into())),
        };
        let pepper = match config.viewer_pepper.clone() {
            Some(pepper) => pepper,
            None if memory => ViewerPepper::ephemeral(),
            None => return Err(StartupError::Config(NO_PEPPER.into())),
        };
        if config.api_keys.is_empty() {
            tracing::warn!(
                "no [[api_keys]] configured: only keys made with CreateApiKey will be accepted"
            );
        }
        let auth = Arc::new(Authenticator::with_store(&config.api_keys, store.clone()));
        let domain = Cartclick::new(
            store,
            keys,
            pepper,
            config.policy.clone(),
            clock,
            &config.api_keys,
        );
        let (shutdown_tx, shutdown) = tokio::sync::watch::channel(false);
        let domain = Arc::new(domain);
        let watchers = Watchers::new(domain.clone(), auth.clone(), shutdown.clone());
        let state = Arc::new(ApiState {
            domain,
            auth,
            shutdown,
            watchers,
        });
        let (listener, local_addr) = bind(config.listen).await?;
        let http = match config.http_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        Ok(Application {
            listener,
            local_addr,
            http,
            grpc_web_origins: config.grpc_web_origins,
            access_log: config.access_log,
            sse_keep_alive: config.sse_keep_alive,
            state,
            shutdown_grace: config.shutdown_grace,
            shutdown_tx,
            limits: Limits {
                calls: CallLimits {
                    max_in_flight: config.max_concurrent_requests.get(),
                    request_timeout: config.request_timeout,
                    body_read_timeout: config.body_read_timeout,
                    max_request_bytes: MAX_REQUEST_BYTES,
                },
                connections: ConnectionLimits {
                    header_read_timeout: config.header_read_timeout,
                    max_concurrent_streams: config.max_concurrent_streams.get(),
                    keepalive_interval: KEEPALIVE_INTERVAL,
                    keepalive_timeout: KEEPALIVE_TIMEOUT,
                    max_connection_age: Some(config.max_connection_age),
                },
            },
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the HTTP/JSON API, unless it is turned off.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(|(_, addr)| *addr)
    }

    /// The domain, for operator commands that run in-process (the dev seed).
    pub fn domain(&self) -> Arc<Cartclick> {
        self.state.domain.clone()
    }

    /// Serves until `shutdown` completes, then drains within the grace period.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), StartupError> {
        let (health, health_service) = tonic_health::server::health_reporter();
        set_health(&health, ServingStatus::Serving).await;
        health
            .set_service_status(LIVENESS, ServingStatus::Serving)
            .await;
        // `/readyz` on the HTTP port reports what gRPC health reports on "".
        let ready = Arc::new(AtomicBool::new(true));
        let health_task = tokio::spawn(watch_store(
            self.state.domain.clone(),
            health.clone(),
            ready.clone(),
        ));

        // Both reflection versions: grpcurl and grpcui speak v1, older
        // clients (grpcio-reflection, older grpcurl) only v1alpha.
        let reflection = reflection_builder().build_v1()?;
        let reflection_v1alpha = reflection_builder().build_v1alpha()?;

        let (drain_started, drain_rx) = tokio::sync::oneshot::channel::<()>();
        let shutdown_tx = self.shutdown_tx;
        let signal = {
            let health = health.clone();
            let ready = ready.clone();
            async move {
                shutdown.await;
                tracing::info!("shutdown: reporting NOT_SERVING, draining in-flight calls");
                health_task.abort();
                ready.store(false, Ordering::Relaxed);
                set_health(&health, ServingStatus::NotServing).await;
                health
                    .set_service_status(LIVENESS, ServingStatus::NotServing)
                    .await;
                // Both ports stop accepting and close their connections
                // gracefully; streams (WatchCounters) end; unary calls finish.
                let _ = shutdown_tx.send(true);
                let _ = drain_started.send(());
            }
        };
        let state = &self.state;
        let limits = self.limits;
        let admission = Arc::new(Admission::new(
            state.auth.clone(),
            limits.calls,
            self.access_log,
        ));

        let mut routes = Routes::builder();
        routes
            .add_service(health_service)
            .add_service(reflection)
            .add_service(reflection_v1alpha)
            .add_service(
                ClickServiceServer::new(ClickApi {
                    state: state.clone(),
                })
                .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .add_service(
                SaleServiceServer::new(SaleApi {
                    state: state.clone(),
                })
                .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .add_service(
                CounterServiceServer::new(CounterApi {
                    state: state.clone(),
                })
                .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .add_service(
                AdminServiceServer::new(AdminApi {
                    state: state.clone(),
                })
                .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .add_service(
                EarningsServiceServer::new(EarningsApi {
                    state: state.clone(),
                })
                .max_decoding_message_size(MAX_REQUEST_BYTES),
            );
        let grpc = ServiceBuilder::new()
            .map_request(|request: http::Request<Incoming>| request.map(tonic::body::Body::new))
            // gRPC-Web (HTTP/1.1 too) for browser dashboards, CORS first so
            // preflights are answered before anything else looks at them.
            .layer(grpc_web::cors(&self.grpc_web_origins))
            .layer(GrpcWebLayer::new())
            .layer(RpcLayer::new(admission.clone()))
            .service(routes.routes());
        let grpc = serve(
            self.listener,
            grpc,
            limits.connections,
            state.shutdown.clone(),
        );
        let http_addr = self.http.as_ref().map(|(_, addr)| *addr);
        let http = self.http.map(|(listener, _)| {
            let api = HttpApi::new(state.clone(), admission, ready, self.sse_keep_alive);
            serve(
                listener,
                api.router(),
                limits.connections,
                state.shutdown.clone(),
            )
        });
        let http = async move {
            if let Some(http) = http {
                http.await;
            }
        };
        match http_addr {
            Some(http_addr) => tracing::info!(addr = %self.local_addr, %http_addr, "serving"),
            None => tracing::info!(addr = %self.local_addr, "serving"),
        }

        let servers = async {
            tokio::join!(signal, grpc, http);
        };
        tokio::pin!(servers);
        let grace = self.shutdown_grace;
        tokio::select! {
            () = &mut servers => {}
            () = async {
                // Pending until the drain starts; then the grace period runs.
                if drain_rx.await.is_ok() {
                    tokio::time::sleep(grace).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                tracing::warn!(grace_seconds = grace.as_secs(), "shutdown: grace period over, closing remaining calls");
            }
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Server reflection over the contract's descriptors and health's.
fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// A listener on `addr`, and the address it got (the real port for 0).
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartupError> {
    let bind_error = |source| StartupError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local))
}

/// The store the config names. A persistent store needs signing keys and a
/// pepper: checked first, so a misconfigured server never touches Redis.
pub(crate) async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartupError> {
    let opened = match &config.store {
        StoreUrl::Memory => return Ok(Arc::new(MemoryStore::new(config.retention))),
        StoreUrl::Redis(url) => {
            require_persistent_secrets(config)?;
            RedisStore::open(url, redis_options(config)).await
        }
        StoreUrl::RedisCluster(nodes) => {
            require_persistent_secrets(config)?;
            RedisStore::open_cluster(nodes, redis_options(config)).await
        }
    };
    let store = opened.map_err(|e| StartupError::Config(e.to_string()))?;
    Ok(Arc::new(store))
}

/// The Redis store's settings from the config.
pub(crate) fn redis_options(config: &Config) -> RedisOptions {
    RedisOptions {
        timeout: config.store_timeout,
        retention: config.retention,
        merchant_shards: config.merchant_shards.clone(),
        max_unfolded_events: config.max_unfolded_events.get(),
        ..RedisOptions::default()
    }
}

fn require_persistent_secrets(config: &Config) -> Result<(), StartupError> {
    if config.signing_keys.is_none() {
        return Err(StartupError::Config(NO_SIGNING_KEYS.into()));
    }
    if config.viewer_pepper.is_none() {
        return Err(StartupError::Config(NO_PEPPER.into()));
    }
    Ok(())
}

const NO_SIGNING_KEYS: &str = "no [[signing_keys]] configured: a persistent store needs a signing key; add [[signing_keys]] with kid, secret_base64 (32+ random bytes) and active = true";
const NO_PEPPER: &str = "no viewer_pepper_base64 configured: a persistent store needs one; add viewer_pepper_base64 = \"<32+ random bytes, base64>\"";

async fn set_health(health: &HealthReporter, status: ServingStatus) {
    health.set_service_status("", status).await;
    for name in SERVICE_NAMES {
        health.set_service_status(name, status).await;
    }
}

/// Keeps the health service (and `ready`, which `/readyz` reads) in step
/// with the store: NOT_SERVING while it does not answer or refuses writes
/// (a Redis node would evict; the store logs which), SERVING again when it
/// answers and takes writes.
async fn watch_store(domain: Arc<Cartclick>, health: HealthReporter, ready: Arc<AtomicBool>) {
    let mut serving = true;
    let mut tick = tokio::time::interval(HEALTH_CHECK_EVERY);
    loop {
        tick.tick().await;
        let up = domain.store().check_connectivity().await.is_ok();
        if up != serving {
            serving = up;
            if up {
                tracing::info!("store answers and takes writes again: SERVING");
            } else {
                tracing::warn!("store does not answer or refuses writes: NOT_SERVING");
            }
            ready.store(up, Ordering::Relaxed);
            let status = if up {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            set_health(&health, status).await;
        }
    }
}
