//! gRPC-Web on the gRPC port, for browser dashboards: the generated client
//! over tonic-web's client layer on plain HTTP/1.1 (what a browser speaks),
//! and the CORS answers a browser needs before it sends one, given only to
//! the configured origins.

use cartclick::proto::counter_service_client::CounterServiceClient;
use cartclick::proto::*;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prost::Message;
use reqwest::StatusCode;
use tonic::Code;
use tonic_web::GrpcWebClientLayer;

use crate::support::*;

const DASHBOARD_ORIGIN: &str = "https://dash.example";

/// A server whose config lets pages of DASHBOARD_ORIGIN call it.
async fn app_for_dashboards() -> TestApp {
    TestApp::builder()
        .memory()
        .config(|config| config.grpc_web_origins = vec![DASHBOARD_ORIGIN.into()])
        .spawn()
        .await
}

fn counters_request() -> GetCountersRequest {
    let start = start_time() - chrono::TimeDelta::hours(10);
    GetCountersRequest {
        dimension: Dimension::Campaign.into(),
        id: CAMPAIGN.into(),
        granularity: Granularity::Day.into(),
        start_time: Some(ts(start)),
        end_time: Some(ts(start + chrono::TimeDelta::days(1))),
    }
}

#[tokio::test]
async fn a_dashboard_reads_counters_over_grpc_web_on_http1() {
    let app = app_for_dashboards().await;
    app.seed().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.confirmed(&issued.token, "order-1", 4_200, "EUR").await;

    // HTTP/1.1 only, as from a browser's fetch.
    let http1 = Client::builder(TokioExecutor::new()).build_http();
    let web = tower::ServiceBuilder::new()
        .layer(GrpcWebClientLayer::new())
        .service(http1);
    let mut counters =
        CounterServiceClient::with_origin(web, format!("http://{}", app.addr).parse().unwrap());

    let response = counters
        .get_counters(authed(&app.keys.dashboard, counters_request()))
        .await
        .expect("gRPC-Web answers")
        .into_inner();
    let total = response.total.unwrap();
    assert_eq!((total.clicks, total.conversions), (1, 1));
    assert_eq!(total.revenue[0].amount_minor, 4_200);

    // Errors arrive with their code and ErrorInfo, as over gRPC.
    let refused = counters
        .get_counters(authed("not-a-key", counters_request()))
        .await
        .unwrap_err();
    assert_error(&refused, Code::Unauthenticated, "UNAUTHENTICATED");
}

/// A CORS preflight for a gRPC-Web call from `origin`.
async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!(
                "http://{}/cartclick.v1.CounterService/GetCounters",
                app.addr
            ),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-grpc-web,x-user-agent",
        )
        .send()
        .await
        .expect("the server answers a preflight")
}

#[tokio::test]
async fn cors_lets_the_configured_origins_call_and_no_others() {
    let app = app_for_dashboards().await;

    let allowed = preflight(&app, DASHBOARD_ORIGIN).await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let headers = allowed.headers();
    assert_eq!(
        headers.get("access-control-allow-origin").unwrap(),
        DASHBOARD_ORIGIN
    );
    let allow_headers = headers
        .get("access-control-allow-headers")
        .unwrap()
        .to_str()
        .unwrap();
    for header in [
        "authorization",
        "content-type",
        "x-grpc-web",
        "x-user-agent",
    ] {
        assert!(allow_headers.contains(header), "{allow_headers}");
    }

    let stranger = preflight(&app, "https://evil.example").await;
    assert!(
        stranger
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // The default config allows no other origin at all.
    let default = TestApp::builder().memory().spawn().await;
    let refused = preflight(&default, DASHBOARD_ORIGIN).await;
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn a_cross_origin_grpc_web_call_exposes_its_status_to_the_page() {
    let app = app_for_dashboards().await;
    app.seed().await;
    // A gRPC-Web frame, as a browser client sends it: flag, length, message.
    let message = counters_request().encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(&message);

    let response = reqwest::Client::new()
        .post(format!(
            "http://{}/cartclick.v1.CounterService/GetCounters",
            app.addr
        ))
        .header("origin", DASHBOARD_ORIGIN)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .bearer_auth(&app.keys.dashboard)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(
        headers.get("access-control-allow-origin").unwrap(),
        DASHBOARD_ORIGIN
    );
    let exposed = headers
        .get("access-control-expose-headers")
        .unwrap()
        .to_str()
        .unwrap();
    for header in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(exposed.contains(header), "{exposed}");
    }
    assert!(
        headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/grpc-web"),
        "{headers:?}"
    );
    // A data frame with the response, then the trailers frame (flag 0x80)
    // with grpc-status 0.
    let bytes = response.bytes().await.unwrap();
    assert_eq!(bytes[0], 0, "a data frame first");
    let len = u32::from_be_bytes(bytes[1..5].try_into().unwrap()) as usize;
    let counters = GetCountersResponse::decode(&bytes[5..5 + len]).unwrap();
    assert_eq!(counters.buckets.len(), 1);
    let trailers = &bytes[5 + len..];
    assert_eq!(trailers[0], 0x80, "a trailers frame last");
    let text = String::from_utf8_lossy(&trailers[5..]).to_lowercase();
    assert!(text.contains("grpc-status:0"), "{text}");
}
