//! Overload and limits: a server-wide concurrency limit that sheds calls at
//! once (RESOURCE_EXHAUSTED / RATE_LIMITED) instead of queueing them, the
//! client's `grpc-timeout` under the server's `request_timeout`, the 64 KiB
//! request limit, and a maximum connection age after which clients
//! reconnect (so load spreads over new replicas behind a Service).
//!
//! Calls are held in flight with the [`GatedStore`], whose `confirm_sale`
//! waits at a gate. These tests run on the current-thread runtime, so a
//! held call has registered at the gate by the time the test sees it enter.

use std::num::NonZero;
use std::time::Duration;

use cartclick::config::MAX_REQUEST_BYTES;
use cartclick::proto::click_service_client::ClickServiceClient;
use cartclick::proto::sale_service_client::SaleServiceClient;
use cartclick::proto::*;
use prost::Message;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::*;

/// A second connection to the same server.
async fn another_connection(app: &TestApp) -> Channel {
    Client::connect(app.addr, app.keys.clone()).await.channel
}

async fn health_status(channel: Channel) -> ServingStatus {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status()
}

#[tokio::test]
async fn calls_beyond_the_concurrency_limit_are_shed_at_once_with_rate_limited() {
    let gated = gated_app(|config| config.max_concurrent_requests = NonZero::new(2).unwrap()).await;
    let _first = gated.hold_sale("order-1").await;
    let _second = gated.hold_sale("order-2").await;

    // Any RPC, on another connection (the limit is the server's), with a
    // deadline a queueing server would run into.
    let mut request = authed(&gated.app.keys.feed, tap("viewer-2"));
    request.set_timeout(Duration::from_secs(5));
    let shed = ClickServiceClient::new(another_connection(&gated.app).await)
        .issue_token(request)
        .await
        .unwrap_err();

    assert_error(&shed, Code::ResourceExhausted, "RATE_LIMITED");
    gated.release();
}

#[tokio::test]
async fn health_checks_are_never_shed() {
    let gated = gated_app(|config| config.max_concurrent_requests = NonZero::new(2).unwrap()).await;
    let _first = gated.hold_sale("order-1").await;
    let _second = gated.hold_sale("order-2").await;

    let status = health_status(another_connection(&gated.app).await).await;

    assert_eq!(status, ServingStatus::Serving);
    gated.release();
}

#[tokio::test]
async fn the_calls_in_flight_finish_and_new_calls_are_served_once_the_load_passes() {
    let gated = gated_app(|config| config.max_concurrent_requests = NonZero::new(2).unwrap()).await;
    let first = gated.hold_sale("order-1").await;
    let second = gated.hold_sale("order-2").await;
    let shed = gated.app.issue(tap("viewer-2")).await.unwrap_err();
    assert_error(&shed, Code::ResourceExhausted, "RATE_LIMITED");

    gated.release();
    let first = first.await.unwrap();
    let second = second.await.unwrap();
    // Twice the limit, one after the other: every permit came back.
    let mut later = Vec::new();
    for viewer in ["viewer-3", "viewer-4", "viewer-5", "viewer-6"] {
        later.push(gated.app.issue(tap(viewer)).await);
    }

    assert!(first.is_ok(), "{first:?}");
    assert!(second.is_ok(), "{second:?}");
    for result in later {
        assert!(result.is_ok(), "{result:?}");
    }
}

/// A held call that the server ended for taking too long: tonic answers
/// CANCELLED ("Timeout expired"); DEADLINE_EXCEEDED would do as well.
#[track_caller]
fn assert_timed_out(result: Result<ConfirmSaleResponse, Status>) {
    let status = result.expect_err("the held call ends with an error");
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
}

/// The `grpc-status` of one unary call sent over a bare HTTP/2 connection
/// (no gRPC client library, so nothing on the client side enforces the
/// `grpc-timeout` header: only the server can).
async fn raw_unary_status(
    addr: std::net::SocketAddr,
    path: &str,
    secret: &str,
    grpc_timeout: &str,
    message: impl Message,
) -> String {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", grpc_timeout)
        .header("authorization", format!("Bearer {secret}"))
        .body(())
        .unwrap();
    let (response, mut body) = client.send_request(request, false).unwrap();
    let payload = message.encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    body.send_data(tonic::codegen::Bytes::from(frame), true)
        .unwrap();

    let response = response.await.expect("the server answers");
    let (head, mut body) = response.into_parts();
    // An error answered at once is trailers-only: the status is a header.
    if let Some(status) = head.headers.get("grpc-status") {
        return status.to_str().unwrap().to_owned();
    }
    while let Some(data) = body.data().await {
        data.unwrap();
    }
    let trailers = body.trailers().await.unwrap().expect("trailers");
    trailers["grpc-status"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_server_ends_a_call_at_the_clients_grpc_timeout() {
    // Far beyond the test's bound: only the header can end the call in time.
    let gated = gated_app(|config| config.request_timeout = Duration::from_secs(600)).await;
    let sale = ConfirmSaleRequest {
        token: gated.token.clone(),
        order_id: "order-1".into(),
        amount: Some(Money {
            currency_code: "DKK".into(),
            amount_minor: 100,
        }),
    };

    let status = tokio::time::timeout(
        BOUND,
        raw_unary_status(
            gated.app.addr,
            "/cartclick.v1.SaleService/ConfirmSale",
            &gated.app.keys.merchant,
            "300m",
            sale,
        ),
    )
    .await
    .expect("the server ends the call at the client's deadline");

    // CANCELLED (what tonic answers) or DEADLINE_EXCEEDED.
    let code = Code::from_i32(status.parse().unwrap());
    assert!(
        matches!(code, Code::Cancelled | Code::DeadlineExceeded),
        "{code:?}"
    );
}

#[tokio::test]
async fn the_request_timeout_ends_a_call_without_a_client_deadline() {
    let gated = gated_app(|config| config.request_timeout = Duration::from_millis(300)).await;

    let call = gated.sale_call("order-1", None);
    let ended = tokio::time::timeout(BOUND, call)
        .await
        .expect("the call ends at the server's request timeout")
        .unwrap();

    assert_timed_out(ended);
}

#[tokio::test]
async fn a_longer_client_deadline_does_not_extend_the_request_timeout() {
    let gated = gated_app(|config| config.request_timeout = Duration::from_millis(300)).await;

    let call = gated.sale_call("order-1", Some(Duration::from_secs(60)));
    let ended = tokio::time::timeout(BOUND, call)
        .await
        .expect("the call ends at the server's request timeout")
        .unwrap();

    assert_timed_out(ended);
}

/// A tap whose encoded size is exactly `size` bytes, padded with a long
/// viewer id.
fn tap_of_encoded_size(size: usize) -> IssueTokenRequest {
    let mut request = tap("");
    let mut len = size;
    loop {
        request.viewer_id = "v".repeat(len);
        if request.encoded_len() <= size {
            break;
        }
        len -= 1;
    }
    assert_eq!(request.encoded_len(), size, "no viewer id fits exactly");
    request
}

#[tokio::test]
async fn a_request_of_exactly_64_kib_is_read_and_validated() {
    let app = TestApp::builder().memory().seeded().spawn().await;

    let status = app
        .issue(tap_of_encoded_size(MAX_REQUEST_BYTES))
        .await
        .unwrap_err();

    assert_eq!(MAX_REQUEST_BYTES, 64 * 1024);
    assert_invalid_field(&status, "viewer_id");
}

#[tokio::test]
async fn a_request_over_64_kib_is_refused_out_of_range_and_the_server_keeps_serving() {
    let app = TestApp::builder().memory().seeded().spawn().await;

    let refused = app
        .issue(tap_of_encoded_size(MAX_REQUEST_BYTES + 1))
        .await
        .unwrap_err();
    let next = app.issue(tap("viewer-1")).await;

    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
    assert!(next.is_ok(), "{next:?}");
}

/// A channel to `addr` through a proxy that counts its connections.
async fn counted_channel(addr: std::net::SocketAddr) -> (Channel, TcpProxy) {
    let proxy = TcpProxy::start(addr.port()).await;
    let channel = Channel::from_shared(format!("http://127.0.0.1:{}", proxy.port()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    (channel, proxy)
}

/// tonic's client does not retry a call that meets a connection going away
/// (gRPC's own clients retry those transparently): when a GOAWAY arrives
/// while a call is being dispatched on that connection, or while the
/// connection still carries a stream, the next call fails with the
/// client's own CANCELLED ("operation was canceled": never sent, safe to
/// retry) and the one after goes over a new connection. At most one call
/// per recycled connection may fail so; nothing else may.
#[track_caller]
fn assert_at_most_one_connection_error(failures: &[Status]) {
    let connection_error = |status: &Status| match status.code() {
        Code::Cancelled => status.message() == "operation was canceled",
        Code::Unknown | Code::Unavailable => status.message().contains("transport error"),
        _ => false,
    };
    assert!(failures.len() <= 1, "{failures:#?}");
    assert!(failures.iter().all(connection_error), "{failures:#?}");
}

/// Health checks over `channel` every 50 ms until the proxy has relayed a
/// second connection; the statuses of those that failed.
async fn call_until_reconnected(channel: &Channel, proxy: &TcpProxy) -> Vec<Status> {
    let mut failures = Vec::new();
    let deadline = tokio::time::Instant::now() + BOUND;
    while proxy.connections() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first connection was not closed within {BOUND:?}"
        );
        if let Err(status) = HealthClient::new(channel.clone())
            .check(HealthCheckRequest::default())
            .await
        {
            failures.push(status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    failures
}

#[tokio::test]
async fn connections_are_closed_gracefully_at_max_connection_age_and_clients_reconnect() {
    let app = TestApp::builder()
        .memory()
        .config(|config| {
            config.max_connection_age = Duration::from_millis(300);
            // Beyond the test's bound: the close at max age is not a timeout's.
            config.shutdown_grace = Duration::from_secs(30);
        })
        .spawn()
        .await;
    let (channel, proxy) = counted_channel(app.addr).await;

    let failures = call_until_reconnected(&channel, &proxy).await;
    let after = health_status(channel).await;

    assert_eq!(after, ServingStatus::Serving);
    assert_at_most_one_connection_error(&failures);
}

#[tokio::test]
async fn a_call_in_flight_when_its_connection_reaches_max_age_finishes() {
    let gated = gated_app(|config| {
        config.max_connection_age = Duration::from_secs(1);
        config.shutdown_grace = Duration::from_millis(300);
    })
    .await;
    let (channel, proxy) = counted_channel(gated.app.addr).await;
    let held = {
        let mut sales = SaleServiceClient::new(channel.clone());
        let request = authed(
            &gated.app.keys.merchant,
            ConfirmSaleRequest {
                token: gated.token.clone(),
                order_id: "order-1".into(),
                amount: Some(Money {
                    currency_code: "DKK".into(),
                    amount_minor: 100,
                }),
            },
        );
        tokio::spawn(async move { sales.confirm_sale(request).await })
    };
    tokio::time::timeout(BOUND, gated.store.entered.notified())
        .await
        .expect("the sale reaches the store");

    // Past max age, new calls go over a new connection, while the old one
    // still carries the sale.
    let failures = call_until_reconnected(&channel, &proxy).await;
    gated.release();
    let sale = tokio::time::timeout(BOUND, held)
        .await
        .expect("the sale finishes")
        .unwrap();

    assert!(sale.is_ok(), "{sale:?}");
    assert_at_most_one_connection_error(&failures);
}
