//! Spans and metrics over OTLP, against the real binary (telemetry is
//! process-global and configured by the standard `OTEL_*` variables) and a
//! real OTLP/gRPC receiver inside the test.
//!
//! Most tests look at one shared run ([`exported`]): the binary with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointed at the receiver is seeded, issues
//! two tokens (one with a `traceparent`), confirms one sale, refuses a
//! forged token and confirms a second sale over HTTP/JSON, then stops on SIGTERM, which flushes what it holds. The
//! rest need a store that fails or stalls and run a binary of their own.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use tonic::Code;

use crate::support::otlp_receiver::*;
use crate::support::*;

/// How long exports get to arrive (they are sent every 100-200 ms).
const EXPORT_BOUND: Duration = Duration::from_secs(15);
/// How long the binary gets to exit after SIGTERM.
const EXIT_BOUND: Duration = Duration::from_secs(15);

const RPC_DURATION: &str = "cartclick.rpc.duration";
const TOKENS_ISSUED: &str = "cartclick.tokens.issued";
const SALES_CONFIRMED: &str = "cartclick.sales.confirmed";
const SALE_TOO_FAST: &str = "cartclick.fraud.sale_too_fast";
const STORE_ERRORS: &str = "cartclick.store.errors";
const STORE_DURATION: &str = "cartclick.store.duration";

/// The environment that turns OTLP export on, pointed at `receiver`,
/// exporting often so tests do not wait.
fn exporting_to(receiver: &OtlpReceiver) -> Launch {
    Launch::default()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_METRIC_EXPORT_INTERVAL", "200")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
}

/// What the shared run sent and what the receiver got.
struct Exported {
    received: Received,
    /// The viewers of the two taps.
    viewers: [String; 2],
    /// The tokens issued, and the forged one.
    tokens: Vec<String>,
    /// The `traceparent` the second tap carried: trace id and span id.
    trace_id: [u8; 16],
    caller_span_id: [u8; 8],
    /// The `traceparent` span id of the sale confirmed over HTTP/JSON (same
    /// trace id).
    http_caller_span_id: [u8; 8],
    /// Everything the binary logged.
    lines: Vec<String>,
}

/// The shared run, made once by the first test that asks, on a runtime
/// of its own (tests each have theirs, and end at different times).
fn exported() -> &'static Exported {
    static EXPORTED: OnceLock<Exported> = OnceLock::new();
    EXPORTED.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap()
                .block_on(shared_run())
        })
        .join()
        .expect("the shared telemetry run succeeds")
    })
}

async fn shared_run() -> Exported {
    let receiver = OtlpReceiver::start().await;
    let mut server =
        ServerProcess::start(exporting_to(&receiver).env("RUST_LOG", "info,cartclick=debug")).await;
    let client = server.client().await;
    client.seed().await;

    let viewers = [unique_viewer(), unique_viewer()];
    let issued = client.issue(tap(&viewers[0])).await.unwrap();
    client
        .confirm(&issued.token, "order-1", 12_500, "DKK")
        .await
        .unwrap();
    let forged = tampered(&issued.token);
    let refused = client
        .confirm(&forged, "order-2", 12_500, "DKK")
        .await
        .unwrap_err();
    assert_error(&refused, Code::InvalidArgument, "TOKEN_INVALID");

    let trace_id: [u8; 16] = rand::random();
    let caller_span_id: [u8; 8] = rand::random();
    let mut traced = authed(&client.keys.feed, tap(&viewers[1]));
    traced.metadata_mut().insert(
        "traceparent",
        format!(
            "00-{}-{}-01",
            hex::encode(trace_id),
            hex::encode(caller_span_id)
        )
        .parse()
        .unwrap(),
    );
    let traced = client.issue_request(traced).await.unwrap();

    // A sale over the HTTP/JSON API, with a traceparent of its own.
    let http_caller_span_id: [u8; 8] = rand::random();
    let over_http = reqwest::Client::new()
        .post(format!("http://{}/v1/sales:confirm", server.http_addr()))
        .bearer_auth(&client.keys.merchant)
        .header("content-type", "application/json")
        .header(
            "traceparent",
            format!(
                "00-{}-{}-01",
                hex::encode(trace_id),
                hex::encode(http_caller_span_id)
            ),
        )
        .body(format!(
            r#"{{"token": "{}", "orderId": "order-3", "amount": {{"currencyCode": "DKK", "amountMinor": "100"}}}}"#,
            traced.token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(over_http.status(), reqwest::StatusCode::OK);

    wait_for("the spans and metrics of the run", EXPORT_BOUND, || {
        let received = receiver.received();
        std::future::ready(
            received.spans_named("IssueToken").len() >= 2
                && received.spans_named("ConfirmSale").len() >= 3
                && [
                    RPC_DURATION,
                    TOKENS_ISSUED,
                    SALES_CONFIRMED,
                    STORE_DURATION,
                    SALE_TOO_FAST,
                ]
                .iter()
                .all(|name| !received.metrics_named(name).is_empty()),
        )
    })
    .await;
    let lines = server.stop(EXIT_BOUND).await;
    Exported {
        received: receiver.received(),
        viewers,
        tokens: vec![issued.token, forged, traced.token],
        trace_id,
        caller_span_id,
        http_caller_span_id,
        lines,
    }
}

#[track_caller]
fn assert_string(attributes: &[KeyValue], key: &str, expected: &str) {
    assert_eq!(
        string_attribute(attributes, key),
        Some(expected),
        "{key} in {attributes:#?}"
    );
}

/// The first gRPC span named `method` whose `outcome` is `outcome`.
fn span_with_outcome(
    exported: &Exported,
    method: &str,
    outcome: &str,
) -> opentelemetry_proto::tonic::trace::v1::Span {
    let spans: Vec<_> = exported
        .received
        .spans_named(method)
        .into_iter()
        .filter(|span| string_attribute(&span.attributes, "outcome") == Some(outcome))
        .filter(|span| string_attribute(&span.attributes, "rpc.system") == Some("grpc"))
        .collect();
    assert!(
        !spans.is_empty(),
        "no {method} span with outcome {outcome}: {:#?}",
        exported.received.spans()
    );
    spans[0].clone()
}

#[test]
fn each_rpc_is_a_server_span_named_after_its_method() {
    let exported = exported();
    let span = span_with_outcome(exported, "IssueToken", "ok");

    assert_eq!(span.kind(), SpanKind::Server);
    assert_string(&span.attributes, "rpc.system", "grpc");
    assert_string(&span.attributes, "rpc.service", "cartclick.v1.ClickService");
    assert_string(&span.attributes, "rpc.method", "IssueToken");
    assert_eq!(
        int_attribute(&span.attributes, "rpc.grpc.status_code"),
        Some(0),
        "{span:#?}"
    );
    for method in [
        "PutMerchant",
        "PutCampaign",
        "ReviewCampaign",
        "ConfirmSale",
    ] {
        assert!(
            !exported.received.spans_named(method).is_empty(),
            "no {method} span"
        );
    }
}

#[test]
fn a_span_carries_the_merchant_and_campaign_ids_and_the_outcome() {
    let exported = exported();
    let issue = span_with_outcome(exported, "IssueToken", "ok");
    let sale = span_with_outcome(exported, "ConfirmSale", "ok");

    for span in [issue, sale] {
        assert_string(&span.attributes, "merchant_id", MERCHANT);
        assert_string(&span.attributes, "campaign_id", CAMPAIGN);
        assert_string(&span.attributes, "outcome", "ok");
        assert_eq!(
            string_attribute(&span.attributes, "reason"),
            None,
            "{span:#?}"
        );
    }
}

#[test]
fn a_failed_call_s_span_carries_the_error_reason_and_status_code() {
    let exported = exported();
    let span = span_with_outcome(exported, "ConfirmSale", "error");

    assert_string(&span.attributes, "reason", "TOKEN_INVALID");
    assert_string(&span.attributes, "merchant_id", MERCHANT);
    assert_eq!(
        int_attribute(&span.attributes, "rpc.grpc.status_code"),
        Some(Code::InvalidArgument as i64),
        "{span:#?}"
    );
}

#[test]
fn a_call_with_a_traceparent_is_a_child_of_the_callers_span() {
    let exported = exported();

    let joined: Vec<_> = exported
        .received
        .spans_named("IssueToken")
        .into_iter()
        .filter(|span| span.trace_id == exported.trace_id)
        .collect();

    assert_eq!(joined.len(), 1, "{:#?}", exported.received.spans());
    assert_eq!(joined[0].parent_span_id, exported.caller_span_id);
}

#[test]
fn a_call_over_http_json_is_a_span_of_its_rpc_joined_to_the_callers_trace() {
    let exported = exported();
    let over_http: Vec<_> = exported
        .received
        .spans_named("ConfirmSale")
        .into_iter()
        .filter(|span| string_attribute(&span.attributes, "rpc.system") == Some("http"))
        .collect();

    assert_eq!(over_http.len(), 1, "{:#?}", exported.received.spans());
    let span = &over_http[0];
    assert_eq!(span.kind(), SpanKind::Server);
    assert_string(&span.attributes, "rpc.service", "cartclick.v1.SaleService");
    assert_string(&span.attributes, "rpc.method", "ConfirmSale");
    assert_string(&span.attributes, "merchant_id", MERCHANT);
    assert_string(&span.attributes, "campaign_id", CAMPAIGN);
    assert_string(&span.attributes, "outcome", "ok");
    assert_eq!(
        int_attribute(&span.attributes, "rpc.grpc.status_code"),
        Some(0)
    );
    assert_eq!(span.trace_id, exported.trace_id);
    assert_eq!(span.parent_span_id, exported.http_caller_span_id);
}

#[test]
fn a_call_without_a_traceparent_starts_a_trace_of_its_own() {
    let exported = exported();

    let span = span_with_outcome(exported, "ConfirmSale", "ok");

    assert!(span.parent_span_id.is_empty(), "{span:#?}");
    assert_eq!(span.trace_id.len(), 16);
    assert_ne!(span.trace_id, exported.trace_id);
}

#[test]
fn exported_telemetry_never_contains_viewer_ids_or_tokens() {
    let exported = exported();
    let encoded = exported.received.encoded();
    let contains = |needle: &str| {
        encoded.iter().any(|blob| {
            blob.windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
    };

    assert!(contains(CAMPAIGN), "the search finds what is exported");
    for secret in exported.viewers.iter().chain(&exported.tokens) {
        assert!(!contains(secret), "{secret:?} was exported");
    }
    // And the logs, at debug, say neither.
    for secret in exported.viewers.iter().chain(&exported.tokens) {
        assert!(
            !exported
                .lines
                .iter()
                .any(|line| line.contains(secret.as_str())),
            "{secret:?} was logged"
        );
    }
}

#[test]
fn exported_telemetry_names_the_service_cartclick() {
    let exported = exported();
    let resources: Vec<Vec<KeyValue>> = exported
        .received
        .spans()
        .into_iter()
        .map(|(resource, _)| resource)
        .chain(
            exported
                .received
                .metrics()
                .into_iter()
                .map(|(resource, _)| resource),
        )
        .collect();

    assert!(!resources.is_empty());
    for resource in resources {
        assert_string(&resource, "service.name", "cartclick");
    }
}

#[test]
fn rpc_latency_is_a_histogram_in_seconds_by_method_and_status_code() {
    let exported = exported();
    let metric = &exported.received.metrics_named(RPC_DURATION)[0];
    let points = exported.received.histogram_points(RPC_DURATION);
    let has = |method: &str, code: Code| {
        points.iter().any(|attributes| {
            string_attribute(attributes, "rpc.method") == Some(method)
                && int_attribute(attributes, "rpc.grpc.status_code") == Some(code as i64)
        })
    };

    assert_eq!(metric.unit, "s");
    assert!(has("IssueToken", Code::Ok), "{points:#?}");
    assert!(has("ConfirmSale", Code::Ok), "{points:#?}");
    assert!(has("ConfirmSale", Code::InvalidArgument), "{points:#?}");
}

#[test]
fn tokens_issued_and_sales_confirmed_are_counted() {
    let exported = exported();

    assert_eq!(exported.received.counter_total(TOKENS_ISSUED), 2);
    // One over gRPC, one over HTTP/JSON.
    assert_eq!(exported.received.counter_total(SALES_CONFIRMED), 2);
}

#[test]
fn each_fraud_signal_is_a_counter_of_the_clicks_and_sales_it_flagged() {
    let exported = exported();

    // Both sales came within a second of their taps, under the default
    // ten seconds: SALE_TOO_FAST, counted as sales.
    assert_eq!(exported.received.counter_total(SALE_TOO_FAST), 2);
    for point in exported.received.sum_points(SALE_TOO_FAST) {
        assert_string(&point.attributes, "cartclick.flagged", "sale");
    }
    assert!(
        exported
            .received
            .metrics_named("cartclick.fraud.self_referral")
            .is_empty(),
        "no viewer was its creator"
    );
}

#[test]
fn store_latency_is_a_histogram_in_seconds_by_operation() {
    let exported = exported();
    let metric = &exported.received.metrics_named(STORE_DURATION)[0];
    let points = exported.received.histogram_points(STORE_DURATION);
    let operations: Vec<&str> = points
        .iter()
        .filter_map(|attributes| string_attribute(attributes, "store.operation"))
        .collect();

    assert_eq!(metric.unit, "s");
    for operation in ["put_merchant", "record_click", "confirm_sale"] {
        assert!(operations.contains(&operation), "{operations:?}");
    }
}

#[test]
fn the_binary_says_it_exports_over_otlp_when_an_endpoint_is_set() {
    let exported = exported();

    assert!(
        exported
            .lines
            .iter()
            .any(|line| line.contains("exporting telemetry over otlp")),
        "{:#?}",
        exported.lines
    );
}

#[tokio::test]
async fn nothing_is_exported_without_an_otlp_endpoint() {
    // Every other OTEL_* setting, but no endpoint.
    let mut server = ServerProcess::start(
        Launch::default()
            .env("OTEL_METRIC_EXPORT_INTERVAL", "200")
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("OTEL_SERVICE_NAME", "cartclick-test"),
    )
    .await;
    let client = server.client().await;
    client.seed().await;
    client.issue(tap("viewer-1")).await.unwrap();

    let lines = server.stop(EXIT_BOUND).await;

    assert!(
        !lines
            .iter()
            .any(|line| line.contains("exporting telemetry over otlp")),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|line| line.contains("telemetry export")),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn store_errors_are_counted_by_operation() {
    let receiver = OtlpReceiver::start().await;
    let mut redis = TestRedis::start().await;
    let server = ServerProcess::start(Launch {
        store: Some(redis.url()),
        ..exporting_to(&receiver).setting("store_timeout_ms = 200")
    })
    .await;
    let client = server.client().await;
    client.seed().await;

    redis.stop().await;
    let failed = client.issue(tap("viewer-1")).await.unwrap_err();
    assert_error(&failed, Code::Unavailable, "STORE_UNAVAILABLE");

    wait_for("store errors to be exported", EXPORT_BOUND, || {
        let received = receiver.received();
        std::future::ready(received.counter_total(STORE_ERRORS) >= 1)
    })
    .await;
    let points = receiver.received().sum_points(STORE_ERRORS);
    assert!(
        points
            .iter()
            .all(|point| string_attribute(&point.attributes, "store.operation").is_some()),
        "{points:#?}"
    );
}

#[tokio::test]
async fn a_call_that_times_out_is_still_measured_and_its_span_ends_with_its_status_code() {
    let receiver = OtlpReceiver::start().await;
    // The server's timer starts when it has the call, so the call is
    // certainly inside the server when it times out.
    let (server, proxy, _redis) = binary_on_proxied_redis(
        exporting_to(&receiver)
            .setting("store_timeout_ms = 60000")
            .setting("request_timeout_ms = 1000"),
    )
    .await;
    let client = server.client().await;
    client.seed().await;
    let issued = client.issue(tap("viewer-1")).await.unwrap();

    proxy.pause();
    let timed_out = client
        .confirm(&issued.token, "order-1", 12_500, "DKK")
        .await
        .unwrap_err();
    proxy.resume();
    assert!(
        matches!(timed_out.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{timed_out:?}"
    );
    let code = timed_out.code() as i64;

    wait_for("the timed-out call to be measured", EXPORT_BOUND, || {
        let received = receiver.received();
        let measured = received
            .histogram_points(RPC_DURATION)
            .iter()
            .any(|attributes| {
                string_attribute(attributes, "rpc.method") == Some("ConfirmSale")
                    && int_attribute(attributes, "rpc.grpc.status_code") == Some(code)
            });
        let spanned = received
            .spans_named("ConfirmSale")
            .iter()
            .any(|span| int_attribute(&span.attributes, "rpc.grpc.status_code") == Some(code));
        std::future::ready(measured && spanned)
    })
    .await;
}

#[tokio::test]
async fn a_shed_call_is_measured_as_resource_exhausted_and_has_its_span() {
    let receiver = OtlpReceiver::start().await;
    let (server, proxy, _redis) = binary_on_proxied_redis(
        exporting_to(&receiver)
            .setting("store_timeout_ms = 20000")
            .setting("max_concurrent_requests = 1"),
    )
    .await;
    let client = server.client().await;
    client.seed().await;
    let issued = client.issue(tap("viewer-1")).await.unwrap();

    proxy.pause();
    let scripts = proxy.sent("EVALSHA");
    let held = {
        let client = client.clone();
        let token = issued.token.clone();
        tokio::spawn(async move { client.confirm(&token, "order-1", 12_500, "DKK").await })
    };
    wait_for("the sale to reach redis", EXPORT_BOUND, || {
        std::future::ready(proxy.sent("EVALSHA") > scripts)
    })
    .await;
    let shed = client.issue(tap("viewer-2")).await.unwrap_err();
    proxy.resume();
    assert_error(&shed, Code::ResourceExhausted, "RATE_LIMITED");
    held.await.unwrap().expect("the held sale completes");

    wait_for("the shed call to be measured", EXPORT_BOUND, || {
        let received = receiver.received();
        std::future::ready(
            received
                .histogram_points(RPC_DURATION)
                .iter()
                .any(|attributes| {
                    string_attribute(attributes, "rpc.method") == Some("IssueToken")
                        && int_attribute(attributes, "rpc.grpc.status_code")
                            == Some(Code::ResourceExhausted as i64)
                }),
        )
    })
    .await;
    wait_for("the shed call's span", EXPORT_BOUND, || {
        let spans = receiver.received().spans_named("IssueToken");
        std::future::ready(spans.iter().any(|span| {
            string_attribute(&span.attributes, "reason") == Some("RATE_LIMITED")
                && string_attribute(&span.attributes, "outcome") == Some("error")
        }))
    })
    .await;
}
