//! The merchant API over HTTP/JSON, on its own port, for shops that cannot
//! speak gRPC (PHP, hosted shop platforms, plain JavaScript on a server):
//!
//! | route | RPC |
//! |---|---|
//! | `POST /v1/sales:confirm` | `SaleService.ConfirmSale` |
//! | `POST /v1/sales:reverse` | `SaleService.ReverseSale` |
//! | `GET /v1/counters?dimension=…&id=…&granularity=…&startTime=…&endTime=…` | `CounterService.GetCounters` |
//! | `GET /v1/top?dimension=…&day=…&metric=…` | `CounterService.ListTop` |
//! | `GET /openapi.yaml` | this API's OpenAPI document |
//!
//! This is a transcoder, not a second implementation: the body (or the query)
//! is read with the protobuf JSON mapping (prost-reflect over the same
//! descriptors the gRPC server reflects) into the request message, and the
//! very gRPC adapter of the RPC is called with the HTTP headers as its
//! metadata, so keys, roles and every check are the same. Answers are
//! protobuf JSON with every field present; errors are the JSON form of
//! `google.rpc.Status` with its `ErrorInfo`, under the HTTP status the
//! standard gRPC-to-HTTP mapping gives the code. Each call has the span,
//! latency metric, concurrency permit and time limit of a gRPC call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde::Serialize;
use tokio::sync::Semaphore;
use tonic::Code;
use tonic::metadata::MetadataMap;
use tonic_types::StatusExt;
use tracing::Instrument;

use crate::api::State as ApiState;
use crate::api::counter::CounterApi;
use crate::api::refused;
use crate::api::sale::SaleApi;
use crate::error::Error;
use crate::proto::counter_service_server::CounterService;
use crate::proto::sale_service_server::SaleService;
use crate::rpc_layer::{Measure, rpc_span};
use crate::startup::MAX_REQUEST_BYTES;

/// The OpenAPI document of this API, served at `/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../openapi/cartclick.yaml");

/// One route: its HTTP method and path, and the RPC it runs.
struct Route {
    method: Method,
    path: &'static str,
    service: &'static str,
    rpc: Rpc,
}

/// The RPCs served over HTTP.
#[derive(Debug, Clone, Copy)]
enum Rpc {
    ConfirmSale,
    ReverseSale,
    GetCounters,
    ListTop,
}

impl Rpc {
    /// The method's name in the proto.
    fn name(self) -> &'static str {
        match self {
            Rpc::ConfirmSale => "ConfirmSale",
            Rpc::ReverseSale => "ReverseSale",
            Rpc::GetCounters => "GetCounters",
            Rpc::ListTop => "ListTop",
        }
    }
}

/// The routes, in the order of the module docs.
const ROUTES: [Route; 4] = [
    Route {
        method: Method::POST,
        path: "/v1/sales:confirm",
        service: "cartclick.v1.SaleService",
        rpc: Rpc::ConfirmSale,
    },
    Route {
        method: Method::POST,
        path: "/v1/sales:reverse",
        service: "cartclick.v1.SaleService",
        rpc: Rpc::ReverseSale,
    },
    Route {
        method: Method::GET,
        path: "/v1/counters",
        service: "cartclick.v1.CounterService",
        rpc: Rpc::GetCounters,
    },
    Route {
        method: Method::GET,
        path: "/v1/top",
        service: "cartclick.v1.CounterService",
        rpc: Rpc::ListTop,
    },
];

/// Where the OpenAPI document is served.
const OPENAPI_PATH: &str = "/openapi.yaml";

/// The request and response message types of one route's RPC.
struct Messages {
    input: MessageDescriptor,
    output: MessageDescriptor,
}

/// The HTTP/JSON API: the gRPC adapters it calls, and the limits it shares
/// with the gRPC server.
pub struct HttpApi {
    sales: SaleApi,
    counters: CounterApi,
    /// The message types of each route, in the order of [`ROUTES`].
    messages: Vec<Messages>,
    /// The gRPC server's permits: one concurrency limit for both transports.
    permits: Arc<Semaphore>,
    /// Longest a call may run.
    request_timeout: Duration,
}

impl HttpApi {
    /// The API over the adapters' shared state. The descriptors come from the
    /// build's own descriptor set, so a route whose RPC they lack is a build
    /// error, caught by the first test that starts a server.
    pub fn new(state: ApiState, permits: Arc<Semaphore>, request_timeout: Duration) -> HttpApi {
        let pool = DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("the build's descriptor set decodes");
        let messages = ROUTES
            .iter()
            .map(|route| {
                let rpc = pool
                    .get_service_by_name(route.service)
                    .and_then(|service| service.methods().find(|m| m.name() == route.rpc.name()))
                    .expect("every route names an RPC of the contract");
                Messages {
                    input: rpc.input(),
                    output: rpc.output(),
                }
            })
            .collect();
        HttpApi {
            sales: SaleApi {
                state: state.clone(),
            },
            counters: CounterApi { state },
            messages,
            permits,
            request_timeout,
        }
    }

    /// The axum router: every request goes through [`handle`].
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .fallback(handle)
            .with_state(Arc::new(self))
    }

    /// Runs the RPC of route `index` on a request's headers and input.
    async fn call(
        &self,
        index: usize,
        headers: HeaderMap,
        input: Input,
    ) -> Result<Vec<u8>, tonic::Status> {
        let messages = &self.messages[index];
        match ROUTES[index].rpc {
            Rpc::ConfirmSale => {
                unary(messages, headers, input, |r| self.sales.confirm_sale(r)).await
            }
            Rpc::ReverseSale => {
                unary(messages, headers, input, |r| self.sales.reverse_sale(r)).await
            }
            Rpc::GetCounters => {
                unary(messages, headers, input, |r| self.counters.get_counters(r)).await
            }
            Rpc::ListTop => unary(messages, headers, input, |r| self.counters.list_top(r)).await,
        }
    }
}

/// Where a request's message comes from: the JSON body of a POST, the query
/// string of a GET.
enum Input {
    Body(Bytes),
    Query(Option<String>),
}

/// Every request: find the route, then run it as an RPC would run.
async fn handle(State(api): State<Arc<HttpApi>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    if path == OPENAPI_PATH && parts.method == Method::GET {
        return ([(CONTENT_TYPE, "application/yaml")], OPENAPI).into_response();
    }
    let Some(index) = ROUTES.iter().position(|route| route.path == path) else {
        let status = tonic::Status::not_found(format!("no route {path}"));
        return error_response(&status);
    };
    let route = &ROUTES[index];
    if parts.method != route.method {
        // UNIMPLEMENTED, under 405 rather than its usual 501: the route
        // exists, with another method (as grpc-gateway answers).
        let status = tonic::Status::unimplemented(format!(
            "{path} takes {}, not {}",
            route.method, parts.method
        ));
        let mut response = error_response(&status);
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(route.method.as_str()));
        return response;
    }

    let span = rpc_span("http", route.service, route.rpc.name(), &parts.headers);
    let mut measure = Measure::start(span.clone(), route.rpc.name());
    let Ok(permit) = api.permits.clone().try_acquire_owned() else {
        return error_response(&measure.shed().into());
    };
    let call = async {
        let input = if route.method == Method::GET {
            Input::Query(parts.uri.query().map(str::to_owned))
        } else {
            match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
                Ok(bytes) => Input::Body(bytes),
                Err(_) => {
                    let too_big = Error::invalid_field(
                        "body",
                        format!("larger than {MAX_REQUEST_BYTES} bytes, or cut short"),
                    );
                    return Err(refused(too_big));
                }
            }
        };
        api.call(index, parts.headers, input).await
    };
    let outcome = tokio::time::timeout(api.request_timeout, call.instrument(span.clone())).await;
    let response = match outcome {
        Ok(Ok(json)) => {
            measure.finish(Code::Ok as i32);
            ([(CONTENT_TYPE, "application/json")], json).into_response()
        }
        Ok(Err(status)) => {
            measure.finish(status.code() as i32);
            error_response(&status)
        }
        Err(_) => {
            span.record("outcome", "error");
            measure.finish(Code::DeadlineExceeded as i32);
            let status = tonic::Status::deadline_exceeded(format!(
                "no answer within {} ms",
                api.request_timeout.as_millis()
            ));
            error_response(&status)
        }
    };
    drop(permit);
    response
}

/// Decodes the request message, calls the adapter with the HTTP headers as
/// its metadata, and encodes its answer.
async fn unary<Req, Res, Call, Fut>(
    messages: &Messages,
    headers: HeaderMap,
    input: Input,
    call: Call,
) -> Result<Vec<u8>, tonic::Status>
where
    Req: prost::Message + Default,
    Res: prost::Message,
    Call: FnOnce(tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Res>, tonic::Status>>,
{
    let message = match input {
        Input::Body(body) => from_json(&messages.input, &body),
        Input::Query(query) => from_query(&messages.input, query.as_deref().unwrap_or("")),
    }
    .map_err(refused)?;
    let request = tonic::Request::from_parts(
        MetadataMap::from_headers(headers),
        tonic::Extensions::default(),
        message,
    );
    let response = call(request).await?;
    to_json(&messages.output, response.get_ref())
}

/// Reads a JSON body in the protobuf JSON mapping (field names in camelCase
/// or as in the proto, 64-bit integers as strings or numbers, enums by name).
/// An empty body is the empty message, so a missing field is named as such.
fn from_json<T: prost::Message + Default>(
    descriptor: &MessageDescriptor,
    body: &[u8],
) -> Result<T, Error> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| Error::invalid_field("body", e.to_string()))?;
    if !json.is_object() {
        return Err(Error::invalid_field("body", "not a JSON object"));
    }
    if let Some(field) = unknown_field(descriptor, &json) {
        return Err(Error::invalid_field(field, "not a field of this call"));
    }
    let message = read(descriptor, json)?;
    transcode(&message)
}

/// The dotted name of the first key of `json` that is no field of the
/// message (nor of its nested messages): told apart here, because the
/// protobuf JSON reader refuses one before the path to it is known.
fn unknown_field(descriptor: &MessageDescriptor, json: &serde_json::Value) -> Option<String> {
    let serde_json::Value::Object(object) = json else {
        return None;
    };
    object.iter().find_map(|(key, value)| {
        let Some(field) = field_named(descriptor, key) else {
            return Some(key.clone());
        };
        let nested = field.kind().as_message().cloned()?;
        if field.is_list() || field.is_map() || nested.full_name().starts_with("google.protobuf.") {
            return None;
        }
        unknown_field(&nested, value).map(|inner| format!("{}.{inner}", field.name()))
    })
}

/// Reads a query string into a message: each parameter a field of the
/// request (camelCase or as in the proto), with its value as the JSON
/// mapping would have it in a string.
fn from_query<T: prost::Message + Default>(
    descriptor: &MessageDescriptor,
    query: &str,
) -> Result<T, Error> {
    let mut object = serde_json::Map::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let field = field_named(descriptor, &key)
            .ok_or_else(|| Error::invalid_field(key.as_ref(), "not a parameter of this call"))?;
        if field.is_list() || field.is_map() {
            return Err(Error::invalid_field(
                field.name(),
                "cannot be given in a query",
            ));
        }
        let value = serde_json::Value::String(value.into_owned());
        if object.insert(field.json_name().to_owned(), value).is_some() {
            return Err(Error::invalid_field(field.name(), "given more than once"));
        }
    }
    let message = read(descriptor, serde_json::Value::Object(object))?;
    transcode(&message)
}

/// A message in the protobuf JSON mapping from any serde source; an error
/// names the field it is in.
fn read<'de, D: serde::Deserializer<'de>>(
    descriptor: &MessageDescriptor,
    source: D,
) -> Result<DynamicMessage, Error> {
    let mut track = serde_path_to_error::Track::new();
    DynamicMessage::deserialize(
        descriptor.clone(),
        serde_path_to_error::Deserializer::new(source, &mut track),
    )
    .map_err(|e| Error::invalid_field(field_path(descriptor, &track.path()), e.to_string()))
}

/// The generated type of a dynamic message: both come from the same
/// descriptors, so this fails only on a broken build.
fn transcode<T: prost::Message + Default>(message: &DynamicMessage) -> Result<T, Error> {
    T::decode(prost::Message::encode_to_vec(message).as_slice())
        .map_err(|e| Error::invalid_field("body", e.to_string()))
}

/// A message's field by its JSON name (`orderId`) or its proto name
/// (`order_id`), as the protobuf JSON mapping reads them.
fn field_named(
    descriptor: &MessageDescriptor,
    name: &str,
) -> Option<prost_reflect::FieldDescriptor> {
    descriptor
        .get_field_by_json_name(name)
        .or_else(|| descriptor.get_field_by_name(name))
}

/// The proto field path (`amount.currency_code`) of a JSON path
/// (`amount.currencyCode`), for `ErrorInfo.metadata["field"]`.
fn field_path(descriptor: &MessageDescriptor, path: &serde_path_to_error::Path) -> String {
    let mut names = Vec::new();
    let mut message = Some(descriptor.clone());
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Map { key } => {
                let field = message.as_ref().and_then(|m| field_named(m, key));
                names.push(field.as_ref().map_or(key.as_str(), |f| f.name()).to_owned());
                message = field.and_then(|f| f.kind().as_message().cloned());
            }
            serde_path_to_error::Segment::Seq { index } => {
                if let Some(last) = names.last_mut() {
                    last.push_str(&format!("[{index}]"));
                }
            }
            _ => {}
        }
    }
    if names.is_empty() {
        "body".to_owned()
    } else {
        names.join(".")
    }
}

/// Writes a response message in the protobuf JSON mapping, every field
/// present (a `false` or `0` is written, not left out).
fn to_json<T: prost::Message>(
    descriptor: &MessageDescriptor,
    message: &T,
) -> Result<Vec<u8>, tonic::Status> {
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "cannot write a response as JSON");
        tonic::Status::internal("cannot write the response")
    };
    let dynamic = DynamicMessage::decode(descriptor.clone(), message.encode_to_vec().as_slice())
        .map_err(|e| internal(&e))?;
    let mut json = serde_json::Serializer::new(Vec::new());
    dynamic
        .serialize_with_options(
            &mut json,
            &SerializeOptions::new().skip_default_fields(false),
        )
        .map_err(|e| internal(&e))?;
    Ok(json.into_inner())
}

/// The JSON form of `google.rpc.Status`.
#[derive(Serialize)]
struct StatusJson<'a> {
    code: i32,
    message: &'a str,
    details: Vec<ErrorInfoJson>,
}

/// The JSON form of a `google.rpc.ErrorInfo` inside an `Any`.
#[derive(Serialize)]
struct ErrorInfoJson {
    #[serde(rename = "@type")]
    type_url: &'static str,
    reason: String,
    domain: String,
    metadata: BTreeMap<String, String>,
}

/// An error answer: the status as JSON under its HTTP status code.
fn error_response(status: &tonic::Status) -> Response {
    let details = status
        .get_details_error_info()
        .map(|info| ErrorInfoJson {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo",
            reason: info.reason,
            domain: info.domain,
            metadata: info.metadata.into_iter().collect(),
        })
        .into_iter()
        .collect();
    let body = StatusJson {
        code: status.code() as i32,
        message: status.message(),
        details,
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = (
        http_status(status.code()),
        [(CONTENT_TYPE, "application/json")],
        Body::from(json),
    )
        .into_response();
    if matches!(status.code(), Code::Unavailable | Code::ResourceExhausted) {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The HTTP status of a gRPC code, as google.rpc.Code documents it (and
/// grpc-gateway and Envoy's transcoder answer).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a status code"),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> DescriptorPool {
        DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET).unwrap()
    }

    fn message(name: &str) -> MessageDescriptor {
        pool().get_message_by_name(name).unwrap()
    }

    #[test]
    fn a_body_reads_in_the_protobuf_json_mapping() {
        let request: crate::proto::ConfirmSaleRequest = from_json(
            &message("cartclick.v1.ConfirmSaleRequest"),
            br#"{"token": "t", "order_id": "o-1", "amount": {"currencyCode": "DKK", "amountMinor": "12900"}}"#,
        )
        .unwrap();
        assert_eq!(request.token, "t");
        assert_eq!(request.order_id, "o-1");
        let amount = request.amount.unwrap();
        assert_eq!(
            (amount.currency_code.as_str(), amount.amount_minor),
            ("DKK", 12900)
        );
    }

    #[test]
    fn a_bad_body_names_the_field_as_the_proto_does() {
        let descriptor = message("cartclick.v1.ConfirmSaleRequest");
        let cases: [(&[u8], &str); 6] = [
            (
                br#"{"amount": {"amountMinor": "lots"}}"#,
                "amount.amount_minor",
            ),
            (br#"{"orderId": 7}"#, "order_id"),
            (br#"{"color": "red"}"#, "color"),
            (b"{", "body"),
            (br#"{"token": "t"} trailing"#, "body"),
            (br#"{"amount": {"cents": 1}}"#, "amount.cents"),
        ];
        for (body, field) in cases {
            let error =
                from_json::<crate::proto::ConfirmSaleRequest>(&descriptor, body).unwrap_err();
            match error {
                Error::InvalidField { field: named, .. } => {
                    assert_eq!(named, field, "{}", String::from_utf8_lossy(body))
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn an_empty_body_is_the_empty_message() {
        let request: crate::proto::ConfirmSaleRequest =
            from_json(&message("cartclick.v1.ConfirmSaleRequest"), b" \n").unwrap();
        assert_eq!(request, crate::proto::ConfirmSaleRequest::default());
    }

    #[test]
    fn a_query_reads_enums_by_name_and_timestamps_as_rfc3339() {
        let request: crate::proto::GetCountersRequest = from_query(
            &message("cartclick.v1.GetCountersRequest"),
            "dimension=DIMENSION_CAMPAIGN&id=c%201&granularity=GRANULARITY_DAY\
             &startTime=2026-11-01T00:00:00Z&end_time=2026-11-03T00:00:00Z",
        )
        .unwrap();
        assert_eq!(request.dimension, crate::proto::Dimension::Campaign as i32);
        assert_eq!(request.id, "c 1");
        assert_eq!(request.granularity, crate::proto::Granularity::Day as i32);
        assert_eq!(request.start_time.unwrap().seconds, 1_793_491_200);
        assert_eq!(
            request.end_time.unwrap().seconds,
            1_793_491_200 + 2 * 86_400
        );
    }

    #[test]
    fn a_bad_query_names_the_parameter() {
        let descriptor = message("cartclick.v1.GetCountersRequest");
        for (query, field) in [
            ("color=red", "color"),
            ("id=a&id=b", "id"),
            ("dimension=DIMENSION_NOPE", "dimension"),
            ("startTime=yesterday", "start_time"),
        ] {
            match from_query::<crate::proto::GetCountersRequest>(&descriptor, query) {
                Err(Error::InvalidField { field: named, .. }) => {
                    assert_eq!(named, field, "{query}")
                }
                other => panic!("{query}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_answer_writes_every_field_in_the_json_mapping() {
        let response = crate::proto::ReverseSaleResponse {
            remaining: Some(crate::proto::Money {
                currency_code: "EUR".into(),
                amount_minor: 0,
            }),
            replayed: false,
        };
        let json = to_json(&message("cartclick.v1.ReverseSaleResponse"), &response).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "remaining": {"currencyCode": "EUR", "amountMinor": "0"},
                "replayed": false
            })
        );
    }

    /// The (method, path) operations under `paths:` of the OpenAPI
    /// document: each path key (`  /v1/top:`) and the method keys nested in
    /// it (`    get:`). Enough of YAML for the layout the document keeps;
    /// schemathesis (openapi/schemathesis.sh) reads it in full.
    fn documented_operations() -> Vec<(String, String)> {
        let mut operations = Vec::new();
        let mut in_paths = false;
        let mut path = None;
        for line in OPENAPI.lines() {
            if !line.starts_with(' ') && !line.is_empty() {
                in_paths = line == "paths:";
                continue;
            }
            if !in_paths {
                continue;
            }
            if let Some(key) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
                path = Some(format!("/{key}"));
            } else if let (Some(path), Some(method)) = (
                &path,
                line.strip_prefix("    ")
                    .and_then(|l| l.strip_suffix(':'))
                    .filter(|key| !key.starts_with(' ')),
            ) {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
        operations
    }

    #[test]
    fn the_openapi_document_has_exactly_the_routes_served() {
        assert!(OPENAPI.starts_with("openapi: 3.0.3\n"));
        let mut documented = documented_operations();
        documented.sort();
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .map(|route| (route.method.to_string(), route.path.to_owned()))
            .chain([("GET".to_owned(), OPENAPI_PATH.to_owned())])
            .collect();
        served.sort();
        assert_eq!(documented, served);
        for route in &ROUTES {
            assert!(
                OPENAPI.contains(&format!(
                    "({}.{})",
                    route.service.rsplit('.').next().unwrap(),
                    route.rpc.name()
                )),
                "the summary of {} names its RPC",
                route.path
            );
        }
    }

    #[test]
    fn codes_map_to_http_as_google_rpc_code_documents() {
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(
            http_status(Code::FailedPrecondition),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(http_status(Code::PermissionDenied), StatusCode::FORBIDDEN);
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_status(Code::AlreadyExists), StatusCode::CONFLICT);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            http_status(Code::DeadlineExceeded),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
    }
}
