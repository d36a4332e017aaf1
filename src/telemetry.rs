//! Logs, traces and metrics.
//!
//! Logs go to stderr through `tracing`, readable by default or one JSON
//! object a line (`--log-format json`), filtered by `RUST_LOG` (default
//! `info`). When the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or the
//! traces/metrics-specific variant) is set, spans and metrics are also
//! exported over OTLP/gRPC, configured by the other standard `OTEL_*`
//! variables (headers, timeout, `OTEL_METRIC_EXPORT_INTERVAL`,
//! `OTEL_SERVICE_NAME`, …); when it is not, nothing is exported and the
//! metric instruments are no-ops.
//!
//! The instruments ([`Metrics`]): `cartclick.rpc.duration` (seconds, by
//! `rpc.method` and `rpc.grpc.status_code`), `cartclick.tokens.issued`,
//! `cartclick.sales.confirmed`, `cartclick.store.errors`,
//! `cartclick.store.duration` (seconds, by `store.operation`),
//! `cartclick.fold.events` and `cartclick.fold.errors`.

use std::io::IsTerminal;
use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::model::{FraudSignal, Signals};

/// How log lines look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line, for log pipelines.
    Json,
}

/// The installed exporters, flushed on [`Telemetry::shutdown`].
#[derive(Debug, Default)]
pub struct Telemetry {
    /// Exports spans, when OTLP is configured.
    tracer_provider: Option<SdkTracerProvider>,
    /// Exports metrics, when OTLP is configured.
    meter_provider: Option<SdkMeterProvider>,
}

/// Is OTLP export asked for, by the standard variables?
fn otlp_configured(signal: &str) -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", signal]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

fn resource() -> Resource {
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES still win: the builder
    // reads them; this is the default name.
    Resource::builder()
        .with_service_name(
            std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "cartclick".to_owned()),
        )
        .build()
}

/// Colours in text logs only for a person at a terminal (and not with
/// `NO_COLOR`): a pipe, a file or a log collector gets plain text.
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Installs the global subscriber (and OTLP exporters when configured);
/// call once, from `main`, inside the tokio runtime.
pub fn init(format: LogFormat) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let mut telemetry = Telemetry::default();
    let mut problems = Vec::new();

    let otel_layer = if otlp_configured("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
        {
            Ok(exporter) => {
                let provider = SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource())
                    .build();
                let tracer = provider.tracer("cartclick");
                telemetry.tracer_provider = Some(provider);
                Some(tracing_opentelemetry::layer().with_tracer(tracer))
            }
            Err(error) => {
                problems.push(format!("otlp traces: {error}"));
                None
            }
        }
    } else {
        None
    };
    // Incoming `traceparent` is read whether or not we export: spans then
    // join the caller's trace in logs too.
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    if otlp_configured("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
        match opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .build()
        {
            Ok(exporter) => {
                let provider = SdkMeterProvider::builder()
                    .with_periodic_exporter(exporter)
                    .with_resource(resource())
                    .build();
                opentelemetry::global::set_meter_provider(provider.clone());
                telemetry.meter_provider = Some(provider);
            }
            Err(error) => problems.push(format!("otlp metrics: {error}")),
        }
    }

    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    match format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(colour())
                    .with_writer(std::io::stderr),
            )
            .init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
    for problem in problems {
        tracing::warn!(%problem, "telemetry export disabled");
    }
    if telemetry.tracer_provider.is_some() || telemetry.meter_provider.is_some() {
        tracing::info!("exporting telemetry over otlp");
    }
    telemetry
}

impl Telemetry {
    /// Flushes what the exporters hold; call before the process exits.
    pub fn shutdown(self) {
        if let Some(provider) = self.tracer_provider {
            let _ = provider.shutdown();
        }
        if let Some(provider) = self.meter_provider {
            let _ = provider.shutdown();
        }
    }
}

/// The service's metric instruments (no-ops when nothing is exported).
pub(crate) struct Metrics {
    /// Latency of every RPC, by method and gRPC status code.
    pub(crate) rpc_duration: Histogram<f64>,
    /// Tokens issued for new clicks.
    pub(crate) tokens_issued: Counter<u64>,
    /// Sales confirmed (replays excluded).
    pub(crate) sales_confirmed: Counter<u64>,
    /// Store calls that failed (STORE_UNAVAILABLE).
    pub(crate) store_errors: Counter<u64>,
    /// Latency of store calls, by operation.
    pub(crate) store_duration: Histogram<f64>,
    /// Events folded into the counters (Redis).
    pub(crate) fold_events: Counter<u64>,
    /// Fold runs that failed (Redis): their shards stay due.
    pub(crate) fold_errors: Counter<u64>,
    /// One counter per fraud signal (in `FraudSignal::ALL` order): new
    /// clicks and new sales it flagged, by `cartclick.flagged` (`click` or
    /// `sale`), so an operator can alert on a surge of one.
    fraud_signals: [Counter<u64>; 4],
}

impl Metrics {
    /// Counts a new click's or sale's signals (`flagged` says which).
    pub(crate) fn flagged(&self, signals: Signals, flagged: &'static str) {
        for signal in signals.iter() {
            // The enum's order is ALL's, from 0.
            self.fraud_signals[signal as usize]
                .add(1, &[KeyValue::new("cartclick.flagged", flagged)]);
        }
    }
}

/// The instruments, made on first use from the global meter provider (so
/// after [`init`] has installed it).
pub(crate) fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let meter = opentelemetry::global::meter("cartclick");
        Metrics {
            rpc_duration: meter
                .f64_histogram("cartclick.rpc.duration")
                .with_unit("s")
                .with_description("Latency of RPCs by method and gRPC status code")
                .build(),
            tokens_issued: meter
                .u64_counter("cartclick.tokens.issued")
                .with_description("Tokens issued for new clicks")
                .build(),
            sales_confirmed: meter
                .u64_counter("cartclick.sales.confirmed")
                .with_description("Sales confirmed, replays excluded")
                .build(),
            store_errors: meter
                .u64_counter("cartclick.store.errors")
                .with_description("Store calls that failed or timed out")
                .build(),
            store_duration: meter
                .f64_histogram("cartclick.store.duration")
                .with_unit("s")
                .with_description("Latency of store calls by operation")
                .build(),
            fold_events: meter
                .u64_counter("cartclick.fold.events")
                .with_description("Events folded into the counters")
                .build(),
            fold_errors: meter
                .u64_counter("cartclick.fold.errors")
                .with_description("Fold runs that failed; their shards fold on the next")
                .build(),
            fraud_signals: FraudSignal::ALL.map(|signal| {
                meter
                    .u64_counter(format!(
                        "cartclick.fraud.{}",
                        signal.as_str().to_ascii_lowercase()
                    ))
                    .with_description(format!(
                        "New clicks and sales flagged {} (by cartclick.flagged)",
                        signal.as_str()
                    ))
                    .build()
            }),
        }
    })
}

/// Attributes of an RPC measurement.
pub(crate) fn rpc_attributes(method: String, code: i32) -> [KeyValue; 2] {
    [
        KeyValue::new("rpc.method", method),
        KeyValue::new("rpc.grpc.status_code", i64::from(code)),
    ]
}
