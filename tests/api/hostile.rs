//! Slow and hostile clients: calls that hold nothing until they have proved
//! their key and sent their body, connection limits, shedding without
//! dropped calls, revoked keys on open streams, and every refusal with its
//! ErrorInfo (issue 14).

use std::num::NonZero;
use std::time::Duration;

use bytes::Bytes;
use cartclick::proto::admin_service_client::AdminServiceClient;
use cartclick::proto::click_service_client::ClickServiceClient;
use cartclick::proto::*;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;
use tonic::Code;

use crate::support::raw_client::{RawGrpc, answer_of, frame};
use crate::support::*;

const ISSUE_TOKEN: &str = "/cartclick.v1.ClickService/IssueToken";

/// A memory-store app whose config `configure` changed, seeded.
async fn app_with(configure: impl FnOnce(&mut cartclick::config::Config)) -> TestApp {
    TestApp::builder()
        .memory()
        .config(configure)
        .seeded()
        .spawn()
        .await
}

#[tokio::test]
async fn calls_without_a_key_are_refused_from_their_headers_and_hold_no_slot() {
    let app = app_with(|config| config.max_concurrent_requests = NonZero::new(4).unwrap()).await;
    let mut raw = RawGrpc::connect(app.addr).await;
    // Headers only, never a body: each stream stays open on the client's
    // side for the whole test.
    let mut bodies = Vec::new();
    for _ in 0..50 {
        let (response, body) = raw.start(ISSUE_TOKEN, None).await;
        let answer = answer_of(response).await;
        assert_eq!(answer.code, Code::Unauthenticated, "{answer:?}");
        assert_eq!(answer.reason.as_deref(), Some("UNAUTHENTICATED"));
        bodies.push(body);
    }

    // Their bodies are still unsent: before, each held a permit until the
    // request timeout.
    let real = app.issue(tap("viewer-1")).await;

    assert!(real.is_ok(), "{real:?}");
    drop(bodies);
}

#[tokio::test]
async fn a_call_whose_body_never_comes_holds_no_slot_and_ends_at_the_body_read_timeout() {
    let app = app_with(|config| {
        config.max_concurrent_requests = NonZero::new(4).unwrap();
        config.body_read_timeout = Duration::from_secs(3);
        config.request_timeout = Duration::from_secs(600);
    })
    .await;
    let mut raw = RawGrpc::connect(app.addr).await;
    let mut stalled = Vec::new();
    for _ in 0..20 {
        stalled.push(raw.start(ISSUE_TOKEN, Some(&app.keys.feed)).await);
    }

    // On the same connection, after them: the server has taken in the 20
    // stalled calls before it answers this one.
    let real = raw
        .call(
            ISSUE_TOKEN,
            Some(&app.keys.feed),
            frame(&tap("viewer-1").encode_to_vec()),
        )
        .await;

    assert_eq!(real.code, Code::Ok, "{real:?}");
    for (response, _stream) in stalled {
        // Far sooner than the request timeout: the body-read timeout ends it.
        let answer = answer_of(response).await;
        assert_eq!(answer.code, Code::DeadlineExceeded, "{answer:?}");
        assert_eq!(answer.reason.as_deref(), Some("DEADLINE_EXCEEDED"));
    }
}

#[tokio::test]
async fn an_http2_connection_may_open_max_concurrent_streams_at_once() {
    for (configured, expected) in [(None, 256), (Some(8), 8)] {
        let app = app_with(|config| {
            if let Some(streams) = configured {
                config.max_concurrent_streams = NonZero::new(streams).unwrap();
            }
        })
        .await;
        let mut raw = RawGrpc::connect(app.addr).await;
        // An answered call means the server's SETTINGS have been read.
        raw.call(ISSUE_TOKEN, None, frame(b"")).await;

        assert_eq!(raw.max_streams(), expected);
    }
}

/// Writes `request` on a new HTTP/1.1 connection to `addr`.
async fn http1_send(addr: std::net::SocketAddr, request: &[u8]) -> tokio::net::TcpStream {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    tcp
}

/// Reads until the server closes `tcp` (or `BOUND` passes): what it
/// answered.
async fn http1_answer(mut tcp: tokio::net::TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(BOUND, tcp.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes the connection in time")
        .unwrap_or_default();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn http_requests_whose_body_stops_short_hold_no_slot_and_get_408_at_the_body_read_timeout() {
    let app = app_with(|config| {
        config.max_concurrent_requests = NonZero::new(4).unwrap();
        config.body_read_timeout = Duration::from_secs(3);
        config.request_timeout = Duration::from_secs(600);
    })
    .await;
    let http = app.http_addr.unwrap();
    let half_body = format!(
        "POST /v1/sales:confirm HTTP/1.1\r\nhost: shop\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{{\"token\":",
        app.keys.merchant
    );
    let mut stalled = Vec::new();
    for _ in 0..20 {
        stalled.push(http1_send(http, half_body.as_bytes()).await);
    }

    let real = reqwest::Client::new()
        .get(format!(
            "http://{http}/v1/top?dimension=DIMENSION_CAMPAIGN&day=2026-11-24&metric=TOP_METRIC_CLICKS&limit=5"
        ))
        .bearer_auth(&app.keys.dashboard)
        .send()
        .await
        .unwrap();

    assert_eq!(real.status(), reqwest::StatusCode::OK);
    for stalled in stalled {
        let answer = http1_answer(stalled).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("DEADLINE_EXCEEDED"), "{answer}");
    }
}

#[tokio::test]
async fn an_http_client_that_trickles_its_headers_is_closed_at_the_header_read_timeout() {
    let app = app_with(|config| config.header_read_timeout = Duration::from_millis(300)).await;
    let unfinished = b"GET /v1/top?dimension=DIMENSION_CAMPAIGN HTTP/1.1\r\nhost: shop\r\n";

    let tcp = http1_send(app.http_addr.unwrap(), unfinished).await;
    // Well within the default (5 s): the configured timeout closed it.
    let answer = tokio::time::timeout(Duration::from_secs(3), http1_answer(tcp))
        .await
        .expect("closed at the configured header read timeout");

    // Closed (hyper may say 408 first), never served.
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_client_that_connects_and_says_nothing_is_closed_at_the_header_read_timeout() {
    let app = app_with(|config| config.header_read_timeout = Duration::from_millis(300)).await;
    for addr in [app.addr, app.http_addr.unwrap()] {
        let tcp = http1_send(addr, b"").await;

        // Well within the default (5 s): the configured timeout closed it.
        let answer = tokio::time::timeout(Duration::from_secs(3), http1_answer(tcp))
            .await
            .expect("closed at the configured header read timeout");

        assert!(answer.is_empty(), "{answer}");
    }
}

#[tokio::test]
async fn under_overload_every_call_is_answered_ok_or_rate_limited_on_one_open_connection() {
    let gated = gated_app(|config| config.max_concurrent_requests = NonZero::new(4).unwrap()).await;
    let held: Vec<_> = {
        let mut held = Vec::new();
        for order in 0..4 {
            held.push(gated.hold_sale(&format!("order-{order}")).await);
        }
        held
    };
    let proxy = TcpProxy::start(gated.app.addr.port()).await;
    let channel =
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{}", proxy.port()))
            .unwrap()
            .connect()
            .await
            .unwrap();

    let calls: Vec<_> = (0..600)
        .map(|n| {
            let mut clicks = ClickServiceClient::new(channel.clone());
            let request = authed(&gated.app.keys.feed, tap(&format!("viewer-{n}")));
            tokio::spawn(async move { clicks.issue_token(request).await })
        })
        .collect();
    let mut shed = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => {}
            Err(status) => {
                assert_error(&status, Code::ResourceExhausted, "RATE_LIMITED");
                shed += 1;
            }
        }
    }
    gated.release();
    for call in held {
        assert!(call.await.unwrap().is_ok());
    }
    let after = ClickServiceClient::new(channel)
        .issue_token(authed(&gated.app.keys.feed, tap("viewer-after")))
        .await;

    assert_eq!(shed, 600, "every permit was held: each call is shed");
    assert!(after.is_ok(), "{after:?}");
    assert_eq!(proxy.connections(), 1, "shedding closed no connection");
}

/// Creates a key of `role` through `app` (CreateApiKey), returning its id
/// and secret.
async fn stored_key(app: &TestApp, role: Role) -> (String, String) {
    let created = app
        .admin()
        .create_api_key(authed(
            &app.keys.admin,
            CreateApiKeyRequest {
                role: role.into(),
                merchant_id: String::new(),
                label: "hostile".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    (created.key_id, created.secret)
}

/// A WatchCounters stream opened with a key made for it, its first bucket
/// read, then the key revoked through `revoker` (this replica or another):
/// the stream ends UNAUTHENTICATED.
async fn a_watch_ends_unauthenticated_once_its_key_is_revoked(app: &TestApp, revoker: &TestApp) {
    let (key_id, secret) = stored_key(app, Role::Dashboard).await;
    let mut stream = app
        .counters()
        .watch_counters(authed(
            &secret,
            WatchCountersRequest {
                dimension: Dimension::Campaign.into(),
                id: CAMPAIGN.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    stream.next().await.unwrap().unwrap();

    AdminServiceClient::new(revoker.channel.clone())
        .revoke_api_key(authed(&revoker.keys.admin, RevokeApiKeyRequest { key_id }))
        .await
        .unwrap();

    let ended = tokio::time::timeout(BOUND, async {
        loop {
            match stream.next().await {
                Some(Ok(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends");
    let status = ended.expect("an error ends it").unwrap_err();
    assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_watch_ends_when_its_key_is_revoked_on_the_same_replica() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    a_watch_ends_unauthenticated_once_its_key_is_revoked(&app, &app).await;
}

#[tokio::test]
async fn a_watch_ends_when_its_key_is_revoked_on_another_replica() {
    let app = TestApp::builder().redis().seeded().spawn().await;
    let other = app.replica().spawn().await;
    a_watch_ends_unauthenticated_once_its_key_is_revoked(&app, &other).await;
}

/// Every request message path of the contract's services, by the build's
/// own descriptors.
pub(crate) fn every_rpc() -> Vec<(String, prost_reflect::MethodDescriptor)> {
    let pool =
        prost_reflect::DescriptorPool::decode(cartclick::proto::FILE_DESCRIPTOR_SET).unwrap();
    pool.services()
        .filter(|service| service.package_name() == "cartclick.v1")
        .flat_map(|service| {
            service
                .methods()
                .map(|method| {
                    (
                        format!("/{}/{}", service.full_name(), method.name()),
                        method,
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn bytes_that_are_no_message_are_malformed_request_on_every_rpc() {
    let app = app_with(|_| {}).await;
    let mut raw = RawGrpc::connect(app.addr).await;
    let undecodable: [(&str, Bytes); 6] = [
        // Field 1 of every request: a string, an enum or a message.
        (
            "invalid UTF-8 in a string",
            frame(&[0x0a, 0x02, 0xff, 0xfe]),
        ),
        ("a wrong wire type", frame(&[0x0d, 0x01, 0x02, 0x03, 0x04])),
        ("a truncated field", frame(&[0x0a, 0x05, b'a'])),
        ("a truncated frame", frame(b"\x12\x01a").slice(..6)),
        ("an empty body", Bytes::new()),
        ("a compressed frame", {
            let mut framed = frame(b"").to_vec();
            framed[0] = 1;
            framed.into()
        }),
    ];
    for (path, _) in every_rpc() {
        for (what, body) in &undecodable {
            let answer = raw.call(&path, Some(&app.keys.admin), body.clone()).await;
            assert_eq!(
                answer.code,
                Code::InvalidArgument,
                "{path}, {what}: {answer:?}"
            );
            assert_eq!(
                answer.reason.as_deref(),
                Some("MALFORMED_REQUEST"),
                "{path}, {what}: {answer:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_empty_grpc_web_body_is_malformed_request() {
    let app = app_with(|_| {}).await;
    let response = reqwest::Client::new()
        .post(format!("http://{}{ISSUE_TOKEN}", app.addr))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .bearer_auth(&app.keys.feed)
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    let status = tonic::Status::from_header_map(response.headers()).expect("a grpc-status");
    let info = tonic_types::StatusExt::get_details_error_info(&status).expect("an ErrorInfo");

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(info.reason, "MALFORMED_REQUEST");
}

#[tokio::test]
async fn transport_refusals_carry_their_error_info() {
    let gated = gated_app(|config| config.request_timeout = Duration::from_secs(600)).await;
    let app = &gated.app;
    let mut raw = RawGrpc::connect(app.addr).await;

    let mut too_big = tap("viewer-1");
    too_big.viewer_id = "v".repeat(70 * 1024);
    let large = raw
        .call(
            ISSUE_TOKEN,
            Some(&app.keys.feed),
            frame(&too_big.encode_to_vec()),
        )
        .await;
    let unknown = raw
        .call(
            "/cartclick.v1.ClickService/Teleport",
            Some(&app.keys.feed),
            frame(b""),
        )
        .await;
    let unknown_service = raw
        .call("/shop.v1.Cart/Add", Some(&app.keys.feed), frame(b""))
        .await;
    let late = {
        let sale = ConfirmSaleRequest {
            token: gated.token.clone(),
            order_id: "order-late".into(),
            amount: Some(Money {
                currency_code: "DKK".into(),
                amount_minor: 100,
            }),
        };
        let (response, mut body) = raw
            .start_with(
                "/cartclick.v1.SaleService/ConfirmSale",
                Some(&app.keys.merchant),
                &[("grpc-timeout", "300m")],
            )
            .await;
        body.send_data(frame(&sale.encode_to_vec()), true).unwrap();
        answer_of(response).await
    };

    assert_eq!(large.code, Code::OutOfRange, "{large:?}");
    assert_eq!(large.reason.as_deref(), Some("REQUEST_TOO_LARGE"));
    assert_eq!(unknown.code, Code::Unimplemented, "{unknown:?}");
    assert_eq!(unknown.reason.as_deref(), Some("ROUTE_NOT_FOUND"));
    assert_eq!(unknown_service.reason.as_deref(), Some("ROUTE_NOT_FOUND"));
    assert_eq!(late.code, Code::DeadlineExceeded, "{late:?}");
    assert_eq!(late.reason.as_deref(), Some("DEADLINE_EXCEEDED"));
    gated.release();
}

/// An HTTP request's status, content type and ErrorInfo reason.
async fn http_refusal(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.expect("a JSON status");
    let reason = body["details"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, reason)
}

#[tokio::test]
async fn http_bodies_of_another_content_type_are_415_and_repeated_keys_400() {
    let app = app_with(|_| {}).await;
    let url = format!("http://{}/v1/sales:confirm", app.http_addr.unwrap());
    let client = reqwest::Client::new();
    let sale = r#"{"token": "t", "orderId": "o-1", "amount": {"currencyCode": "DKK", "amountMinor": "100"}}"#;
    let post = |content_type: Option<&str>, body: &str| {
        let request = client
            .post(&url)
            .bearer_auth(&app.keys.merchant)
            .body(body.to_owned());
        match content_type {
            Some(content_type) => request.header("content-type", content_type),
            None => request,
        }
    };

    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/grpc"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let refused = http_refusal(post(content_type, sale)).await;
        assert_eq!(
            refused,
            (415, "MALFORMED_REQUEST".into()),
            "{content_type:?}"
        );
    }
    let charset = http_refusal(post(Some("application/json; charset=utf-8"), sale)).await;
    assert_eq!(charset, (400, "TOKEN_INVALID".into()), "read as JSON");
    for body in [
        r#"{"orderId": "o-1", "orderId": "o-2"}"#,
        r#"{"orderId": "o-1", "order_id": "o-2"}"#,
        r#"{"amount": {"amountMinor": "1", "amountMinor": "2"}}"#,
        "{not json",
        "[1, 2]",
    ] {
        let refused = http_refusal(post(Some("application/json"), body)).await;
        assert_eq!(refused, (400, "MALFORMED_REQUEST".into()), "{body}");
    }
}

#[tokio::test]
async fn a_burst_of_calls_with_a_stored_key_shares_one_lookup_and_none_is_refused() {
    // On Redis, where a lookup is a round trip and lookups overlap.
    let app = TestApp::builder().redis().seeded().spawn().await;
    let (_, secret) = stored_key(&app, Role::Feed).await;
    // Past the key cache's TTL, every call of the burst misses it at once.
    tokio::time::sleep(cartclick::auth::KEY_CACHE_TTL).await;

    let calls: Vec<_> = (0..300)
        .map(|n| {
            let mut clicks = app.clicks();
            let request = authed(&secret, tap(&format!("viewer-{n}")));
            tokio::spawn(async move { clicks.issue_token(request).await })
        })
        .collect();

    for call in calls {
        let answer = call.await.unwrap();
        assert!(answer.is_ok(), "{answer:?}");
    }
}
