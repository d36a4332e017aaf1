//! A real OTLP/gRPC receiver inside the test: the collector's trace and
//! metrics services (from `opentelemetry-proto`) on 127.0.0.1:0, keeping
//! every export request they receive, for tests to look at what a server
//! exported and how it named it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use opentelemetry_proto::tonic::metrics::v1::{Metric, NumberDataPoint};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

/// What the receiver was sent, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// Every trace export, as sent.
    pub traces: Vec<ExportTraceServiceRequest>,
    /// Every metrics export, as sent.
    pub metrics: Vec<ExportMetricsServiceRequest>,
}

/// Each item (a span, a metric) of each resource in `resources`, with the
/// attributes of the resource that sent it: traces and metrics nest alike.
fn by_resource<'a, R: 'a, T: Clone + 'a, I: Iterator<Item = &'a T>>(
    resources: impl Iterator<Item = &'a R>,
    resource_of: impl Fn(&'a R) -> Option<&'a Resource>,
    items_of: impl Fn(&'a R) -> I,
) -> Vec<(Vec<KeyValue>, T)> {
    resources
        .flat_map(|resource| {
            let attributes = resource_of(resource)
                .map(|r| r.attributes.clone())
                .unwrap_or_default();
            items_of(resource).map(move |item| (attributes.clone(), item.clone()))
        })
        .collect()
}

impl Received {
    /// Every span, with the attributes of the resource that sent it.
    pub fn spans(&self) -> Vec<(Vec<KeyValue>, Span)> {
        by_resource(
            self.traces
                .iter()
                .flat_map(|request| &request.resource_spans),
            |resource| resource.resource.as_ref(),
            |resource| resource.scope_spans.iter().flat_map(|scope| &scope.spans),
        )
    }

    /// The spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<Span> {
        self.spans()
            .into_iter()
            .map(|(_, span)| span)
            .filter(|span| span.name == name)
            .collect()
    }

    /// Every metric of every export, with the attributes of its resource.
    pub fn metrics(&self) -> Vec<(Vec<KeyValue>, Metric)> {
        by_resource(
            self.metrics
                .iter()
                .flat_map(|request| &request.resource_metrics),
            |resource| resource.resource.as_ref(),
            |resource| {
                resource
                    .scope_metrics
                    .iter()
                    .flat_map(|scope| &scope.metrics)
            },
        )
    }

    /// The exports of the metric named `name` (one per export interval).
    pub fn metrics_named(&self, name: &str) -> Vec<Metric> {
        self.metrics()
            .into_iter()
            .map(|(_, metric)| metric)
            .filter(|metric| metric.name == name)
            .collect()
    }

    /// The attributes of every histogram data point of the metric `name`.
    pub fn histogram_points(&self, name: &str) -> Vec<Vec<KeyValue>> {
        self.metrics_named(name)
            .into_iter()
            .flat_map(|metric| -> Vec<Vec<KeyValue>> {
                match metric.data {
                    Some(Data::Histogram(histogram)) => histogram
                        .data_points
                        .into_iter()
                        .map(|point| point.attributes)
                        .collect(),
                    other => panic!("{name} is not a histogram: {other:?}"),
                }
            })
            .collect()
    }

    /// The data points of the counter `name`, in every export.
    pub fn sum_points(&self, name: &str) -> Vec<NumberDataPoint> {
        self.metrics_named(name)
            .into_iter()
            .flat_map(|metric| match metric.data {
                Some(Data::Sum(sum)) => sum.data_points,
                other => panic!("{name} is not a sum: {other:?}"),
            })
            .collect()
    }

    /// The largest value the counter `name` was exported with (counters
    /// are cumulative, so the latest total), 0 if it never was.
    pub fn counter_total(&self, name: &str) -> i64 {
        self.sum_points(name)
            .iter()
            .map(|point| match point.value {
                Some(number_data_point::Value::AsInt(n)) => n,
                Some(number_data_point::Value::AsDouble(x)) => x as i64,
                None => 0,
            })
            .max()
            .unwrap_or(0)
    }

    /// Every request received, protobuf-encoded: to search for bytes that
    /// must not be anywhere in what was exported.
    pub fn encoded(&self) -> Vec<Vec<u8>> {
        self.traces
            .iter()
            .map(Message::encode_to_vec)
            .chain(self.metrics.iter().map(Message::encode_to_vec))
            .collect()
    }
}

/// The value of attribute `key`, if present.
pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value: &AnyValue| value.value.as_ref())
}

/// The string attribute `key`, if present and a string.
pub fn string_attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attribute(attributes, key) {
        Some(Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// The integer attribute `key`, if present and an integer.
pub fn int_attribute(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attribute(attributes, key) {
        Some(Value::IntValue(n)) => Some(*n),
        _ => None,
    }
}

#[derive(Clone)]
struct Collector(Arc<Mutex<Received>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.0.lock().unwrap().traces.push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.0.lock().unwrap().metrics.push(request.into_inner());
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// The receiver, serving until dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    received: Arc<Mutex<Received>>,
    _stop: oneshot::Sender<()>,
}

impl OtlpReceiver {
    /// Serves the trace and metrics collector services on 127.0.0.1:0.
    pub async fn start() -> OtlpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Received::default()));
        let collector = Collector(received.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(collector.clone()))
                .add_service(MetricsServiceServer::new(collector))
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                }),
        );
        OtlpReceiver {
            addr,
            received,
            _stop: stop,
        }
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it has received so far.
    pub fn received(&self) -> Received {
        self.received.lock().unwrap().clone()
    }
}
