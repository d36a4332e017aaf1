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

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde::Serialize;
use tonic::Code;
use tonic::metadata::MetadataMap;
use tonic_types::StatusExt;
use tracing::Instrument;

use crate::api::counter::CounterApi;
use crate::api::refused;
use crate::api::sale::SaleApi;
use crate::auth::Caller;
use crate::error::Error;
use crate::proto::counter_service_server::CounterService;
use crate::proto::sale_service_server::SaleService;
use crate::rpc_layer::{Admission, Measure, rpc_span};

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

/// The HTTP/JSON API: the gRPC adapters it calls, and the admission it
/// shares with the gRPC server.
pub struct HttpApi {
    sales: SaleApi,
    counters: CounterApi,
    /// The message types of each route, in the order of [`ROUTES`].
    messages: Vec<Messages>,
    /// The gRPC server's admission: one key check, body-read timeout and
    /// concurrency limit for both transports.
    admission: Arc<Admission>,
}

impl HttpApi {
    /// The API over the adapters' shared state. The descriptors come from the
    /// build's own descriptor set, so a route whose RPC they lack is a build
    /// error, caught by the first test that starts a server.
    pub fn new(state: crate::api::State, admission: Arc<Admission>) -> HttpApi {
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
            admission,
        }
    }

    /// The axum router: every request goes through [`handle`].
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .fallback(handle)
            .with_state(Arc::new(self))
    }

    /// Runs the RPC of route `index` for `caller` on a request's headers
    /// and input.
    async fn call(
        &self,
        index: usize,
        headers: HeaderMap,
        caller: Caller,
        input: Input,
    ) -> Result<Vec<u8>, tonic::Status> {
        let request = Call {
            messages: &self.messages[index],
            headers,
            caller,
            input,
        };
        match ROUTES[index].rpc {
            Rpc::ConfirmSale => request.run(|r| self.sales.confirm_sale(r)).await,
            Rpc::ReverseSale => request.run(|r| self.sales.reverse_sale(r)).await,
            Rpc::GetCounters => request.run(|r| self.counters.get_counters(r)).await,
            Rpc::ListTop => request.run(|r| self.counters.list_top(r)).await,
        }
    }
}

/// Where a request's message comes from: the JSON body of a POST, the query
/// string of a GET.
enum Input {
    Body(Bytes),
    Query(Option<String>),
}

/// Every request: find the route, then admit and run it as the gRPC
/// transport would (`rpc_layer`): the key from the headers first, then the
/// body under the body-read timeout, then a permit, then the call under the
/// request timeout.
async fn handle(State(api): State<Arc<HttpApi>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    if path == OPENAPI_PATH {
        if parts.method == Method::GET {
            return ([(CONTENT_TYPE, "application/yaml")], OPENAPI).into_response();
        }
        return wrong_method(path, &Method::GET, &parts.method);
    }
    let Some(index) = ROUTES.iter().position(|route| route.path == path) else {
        let missing = Error::RouteNotFound(format!("no route {path}"));
        return error_response(&refused(missing), None);
    };
    let route = &ROUTES[index];
    if parts.method != route.method {
        return wrong_method(path, &route.method, &parts.method);
    }

    let span = rpc_span("http", route.service, route.rpc.name(), &parts.headers);
    let mut measure = Measure::start(span.clone(), route.rpc.name());
    let admission = &api.admission;
    let limits = admission.limits();
    let deadline = tokio::time::Instant::now() + limits.request_timeout;
    // Each refusal with its HTTP status where the gRPC code's usual one
    // would mislead.
    let admitted = async {
        let caller = admission
            .authenticate(&parts.headers)
            .await
            .map_err(|error| (error, None))?;
        let input = if route.method == Method::GET {
            Input::Query(parts.uri.query().map(str::to_owned))
        } else {
            json_content_type(&parts.headers)
                .map_err(|error| (error, Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)))?;
            let body = admission
                .read_body(body, limits.max_request_bytes, deadline)
                .await
                .map_err(|error| {
                    let http = match &error {
                        Error::RequestTooLarge(_) => Some(StatusCode::PAYLOAD_TOO_LARGE),
                        // The client did not send its body in time: its
                        // fault (408), not a gateway's (504).
                        Error::DeadlineExceeded(_) => Some(StatusCode::REQUEST_TIMEOUT),
                        _ => None,
                    };
                    (error, http)
                })?;
            Input::Body(body)
        };
        Ok((caller, input))
    };
    let (caller, input) = match admitted.instrument(span.clone()).await {
        Ok(admitted) => admitted,
        Err((error, http)) => {
            measure.finish(error.code() as i32);
            return span.in_scope(|| error_response(&refused(error), http));
        }
    };
    let permit = match admission.permit(&mut measure) {
        Ok(permit) => permit,
        Err(error) => return span.in_scope(|| error_response(&refused(error), None)),
    };
    let call = api.call(index, parts.headers, caller, input);
    let outcome = tokio::time::timeout_at(deadline, call.instrument(span.clone())).await;
    let response = match outcome {
        Ok(Ok(json)) => {
            measure.finish(Code::Ok as i32);
            ([(CONTENT_TYPE, "application/json")], json).into_response()
        }
        Ok(Err(status)) => {
            measure.finish(status.code() as i32);
            error_response(&status, None)
        }
        Err(_) => {
            let late = Error::DeadlineExceeded(format!(
                "no answer within {} ms",
                limits.request_timeout.as_millis()
            ));
            measure.finish(late.code() as i32);
            span.in_scope(|| error_response(&refused(late), None))
        }
    };
    drop(permit);
    response
}

/// A known path asked with another method than its own: 405, and `Allow`
/// names the method it takes.
fn wrong_method(path: &str, allowed: &Method, asked: &Method) -> Response {
    let wrong = Error::RouteNotFound(format!("{path} takes {allowed}, not {asked}"));
    let mut response = error_response(&refused(wrong), Some(StatusCode::METHOD_NOT_ALLOWED));
    if let Ok(allow) = HeaderValue::from_str(allowed.as_str()) {
        response.headers_mut().insert(ALLOW, allow);
    }
    response
}

/// Refuses a body that is not declared JSON (415): a form or a gRPC
/// message read as JSON by accident could mean another request.
fn json_content_type(headers: &HeaderMap) -> Result<(), Error> {
    let media_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    match media_type {
        Some(media_type) if media_type.eq_ignore_ascii_case("application/json") => Ok(()),
        Some(other) => Err(Error::MalformedRequest(format!(
            "content-type {other} is not application/json"
        ))),
        None => Err(Error::MalformedRequest(
            "no content-type: send application/json".into(),
        )),
    }
}

/// One admitted call of a route's RPC.
struct Call<'a> {
    /// The route's message types.
    messages: &'a Messages,
    /// The HTTP headers, the adapter's metadata.
    headers: HeaderMap,
    /// Who calls, as authenticated.
    caller: Caller,
    /// Where the request message comes from.
    input: Input,
}

impl Call<'_> {
    /// Decodes the request message, calls the adapter with the HTTP headers
    /// as its metadata and the caller in its extensions, and encodes its
    /// answer.
    async fn run<Req, Res, Adapter, Fut>(self, adapter: Adapter) -> Result<Vec<u8>, tonic::Status>
    where
        Req: prost::Message + Default,
        Res: prost::Message,
        Adapter: FnOnce(tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Res>, tonic::Status>>,
    {
        let message = match self.input {
            Input::Body(body) => from_json(&self.messages.input, &body),
            Input::Query(query) => from_query(&self.messages.input, query.as_deref().unwrap_or("")),
        }
        .map_err(refused)?;
        let mut extensions = tonic::Extensions::default();
        extensions.insert(self.caller);
        let request = tonic::Request::from_parts(
            MetadataMap::from_headers(self.headers),
            extensions,
            message,
        );
        let response = adapter(request).await?;
        to_json(&self.messages.output, response.get_ref())
    }
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
    let UniqueKeys(json) = serde_json::from_slice(body)
        .map_err(|e| Error::MalformedRequest(format!("not valid JSON: {e}")))?;
    if !json.is_object() {
        return Err(Error::MalformedRequest("not a JSON object".into()));
    }
    check_fields(descriptor, &json, "")?;
    let message = read(descriptor, json)?;
    transcode(&message)
}

/// Refuses a key of `json` that is no field of the message (nor of its
/// nested messages), naming it dotted from `prefix` (INVALID_FIELD), and a
/// field given under both its names (`orderId` and `order_id`:
/// MALFORMED_REQUEST, as for a key given twice). Told apart here, because
/// the protobuf JSON reader refuses an unknown field before the path to it
/// is known.
fn check_fields(
    descriptor: &MessageDescriptor,
    json: &serde_json::Value,
    prefix: &str,
) -> Result<(), Error> {
    let serde_json::Value::Object(object) = json else {
        return Ok(());
    };
    let mut seen = Vec::with_capacity(object.len());
    for (key, value) in object {
        let Some(field) = field_named(descriptor, key) else {
            return Err(Error::invalid_field(
                format!("{prefix}{key}"),
                "not a field of this call",
            ));
        };
        if seen.contains(&field.number()) {
            return Err(Error::MalformedRequest(format!(
                "{prefix}{} is given twice",
                field.name()
            )));
        }
        seen.push(field.number());
        let Some(nested) = field.kind().as_message().cloned() else {
            continue;
        };
        if field.is_list() || field.is_map() || nested.full_name().starts_with("google.protobuf.") {
            continue;
        }
        check_fields(&nested, value, &format!("{prefix}{}.", field.name()))?;
    }
    Ok(())
}

/// A JSON value whose objects have no key twice. serde_json keeps the last
/// of a repeated key; a proxy in front of this service may keep the first,
/// and so see another request than the one served: refused instead.
struct UniqueKeys(serde_json::Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueKeysVisitor)
            .map(UniqueKeys)
    }
}

/// Builds a [`UniqueKeys`] value as serde_json's own `Value` would be built.
struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_i64<E>(self, value: i64) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_u64<E>(self, value: u64) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_f64<E>(self, value: f64) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
        Ok(value.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        while let Some(UniqueKeys(value)) = seq.next_element()? {
            values.push(value);
        }
        Ok(values.into())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "key {key:?} is given twice"
                )));
            }
            let UniqueKeys(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(object.into())
    }
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

/// An error answer: the status as JSON under `http`, or the HTTP status
/// its code maps to.
fn error_response(status: &tonic::Status, http: Option<StatusCode>) -> Response {
    let status = &crate::error::with_error_info(status.clone());
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
        http.unwrap_or_else(|| http_status(status.code())),
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
        let cases: [(&[u8], &str); 4] = [
            (
                br#"{"amount": {"amountMinor": "lots"}}"#,
                "amount.amount_minor",
            ),
            (br#"{"orderId": 7}"#, "order_id"),
            (br#"{"color": "red"}"#, "color"),
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
    fn bodies_that_are_no_json_object_or_give_a_key_twice_are_malformed() {
        let descriptor = message("cartclick.v1.ConfirmSaleRequest");
        for body in [
            b"{".as_slice(),
            br#"{"token": "t"} trailing"#,
            b"[1, 2]",
            b"\"text\"",
            br#"{"token": "a", "token": "b"}"#,
            br#"{"orderId": "a", "order_id": "b"}"#,
            br#"{"amount": {"currencyCode": "DKK", "currencyCode": "EUR"}}"#,
            br#"{"amount": {"amountMinor": "1", "amount_minor": "2"}}"#,
        ] {
            let error =
                from_json::<crate::proto::ConfirmSaleRequest>(&descriptor, body).unwrap_err();
            assert!(
                matches!(error, Error::MalformedRequest(_)),
                "{}: {error:?}",
                String::from_utf8_lossy(body)
            );
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
