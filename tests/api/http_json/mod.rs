//! The merchant API over HTTP/JSON (`POST /v1/sales:confirm`,
//! `POST /v1/sales:reverse`, `GET /v1/counters`, `GET /v1/top`) on the second
//! port: the protobuf JSON mapping, the same keys and checks as gRPC (the same
//! adapters run), `google.rpc.Status` JSON errors under the HTTP status the
//! gRPC code maps to, and the limits of a gRPC call. EarningsService's
//! routes are in [`earnings`].

mod defaults;
mod earnings;
mod listing;
mod page;
mod probes;
mod watch_sse;

use std::num::NonZero;
use std::time::Duration;

use cartclick::proto::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tonic::{Code, Status};

use crate::support::*;

/// A client of one server's HTTP/JSON API.
struct Http {
    base: String,
    client: reqwest::Client,
}

/// An answer: the HTTP status, the headers and the JSON body.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Http {
    fn of(app: &TestApp) -> Http {
        Http::at(app.http_addr.expect("the test config serves HTTP"))
    }

    fn at(addr: std::net::SocketAddr) -> Http {
        Http {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, key: Option<&str>) -> Answer {
        let request = match key {
            Some(key) => request.bearer_auth(key),
            None => request,
        };
        let response = request.send().await.expect("the HTTP API answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a whole body");
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{status}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> Answer {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        self.send(request, key).await
    }

    async fn post_raw(&self, path: &str, key: Option<&str>, body: Vec<u8>) -> Answer {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        self.send(request, key).await
    }

    async fn get(&self, path_and_query: &str, key: Option<&str>) -> Answer {
        let request = self.client.get(format!("{}{path_and_query}", self.base));
        self.send(request, key).await
    }
}

fn confirm_body(token: &str, order_id: &str, amount_minor: i64, currency: &str) -> Value {
    json!({
        "token": token,
        "orderId": order_id,
        "amount": {"currencyCode": currency, "amountMinor": amount_minor.to_string()},
    })
}

/// The query of GetCounters over the test day, hourly.
fn counters_query(dimension: &str, id: &str) -> String {
    let start = start_time() - chrono::TimeDelta::hours(10);
    let end = start + chrono::TimeDelta::days(1);
    format!(
        "/v1/counters?dimension={dimension}&id={id}&granularity=GRANULARITY_HOUR\
         &startTime={}&endTime={}",
        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// Asserts a `google.rpc.Status` JSON error: the HTTP status, the code, and
/// an ErrorInfo of domain cartclick with `reason`.
#[track_caller]
fn assert_status_json(answer: &Answer, http: u16, code: Code, reason: &str) {
    assert_eq!(answer.status.as_u16(), http, "{}", answer.body);
    assert_eq!(
        answer.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(answer.body["code"], code as i32, "{}", answer.body);
    assert!(answer.body["message"].is_string(), "{}", answer.body);
    let info = &answer.body["details"][0];
    assert_eq!(
        info["@type"], "type.googleapis.com/google.rpc.ErrorInfo",
        "{}",
        answer.body
    );
    assert_eq!(info["domain"], "cartclick");
    assert_eq!(info["reason"], reason, "{}", answer.body);
}

/// The (code, reason, field) of a gRPC status, to compare with the JSON.
fn grpc_error(status: &Status) -> (i32, String, Option<String>) {
    use tonic_types::StatusExt;
    let info = status.get_details_error_info().expect("ErrorInfo");
    (
        status.code() as i32,
        info.reason,
        info.metadata.get("field").cloned(),
    )
}

/// The same of a JSON error.
fn json_error(answer: &Answer) -> (i32, String, Option<String>) {
    let info = &answer.body["details"][0];
    (
        answer.body["code"].as_i64().unwrap() as i32,
        info["reason"].as_str().unwrap().to_owned(),
        info["metadata"]["field"].as_str().map(str::to_owned),
    )
}

async fn a_shop_confirms_and_reverses_over_http_json_and_the_counters_count_it_once(
    backend: Backend,
) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    let http = Http::of(&app);
    let key = Some(app.keys.merchant.as_str());

    let sale = confirm_body(&issued.token, "order-1", 12_900, "DKK");
    let first = http.post("/v1/sales:confirm", key, &sale).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(
        first.headers.get("content-type").unwrap(),
        "application/json"
    );
    let body = &first.body;
    assert_eq!(body["clickId"], issued.click_id);
    assert_eq!(body["campaignId"], CAMPAIGN);
    assert_eq!(body["creatorId"], "cr-1");
    assert_eq!(body["videoId"], "vid-1");
    assert_eq!(body["productId"], "sku-1");
    // Every field is written, defaults too; timestamps in RFC 3339.
    assert_eq!(body["replayed"], false);
    let clicked_at = body["clickedAt"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(clicked_at).expect("RFC 3339");

    // The shop's retry after a lost answer: the first answer, counted once.
    let again = http.post("/v1/sales:confirm", key, &sale).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["replayed"], true);
    assert_eq!(again.body["confirmedAt"], first.body["confirmedAt"]);

    let refund = json!({
        "orderId": "order-1",
        "reversalId": "refund-1",
        "amount": {"currencyCode": "DKK", "amountMinor": 2_900},
    });
    let reversed = http.post("/v1/sales:reverse", key, &refund).await;
    assert_eq!(reversed.status, StatusCode::OK, "{}", reversed.body);
    assert_eq!(
        reversed.body,
        json!({
            "remaining": {"currencyCode": "DKK", "amountMinor": "10000"},
            "replayed": false,
            // The seeded campaign pays no commission.
            "commissionRemaining": {"currencyCode": "DKK", "amountMinor": "0"},
        })
    );

    // The counters, over HTTP with the merchant's own key, and over gRPC.
    let counters = http
        .get(&counters_query("DIMENSION_CAMPAIGN", CAMPAIGN), key)
        .await;
    assert_eq!(counters.status, StatusCode::OK, "{}", counters.body);
    let total = &counters.body["total"];
    assert_eq!(total["taps"], "1");
    assert_eq!(total["clicks"], "1");
    assert_eq!(total["conversions"], "1");
    assert_eq!(
        total["revenue"],
        json!([{"currencyCode": "DKK", "amountMinor": "12900"}])
    );
    assert_eq!(
        total["refunded"],
        json!([{"currencyCode": "DKK", "amountMinor": "2900"}])
    );
    assert_eq!(counters.body["buckets"].as_array().unwrap().len(), 24);
    let grpc = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!(
        (grpc.conversions, grpc.revenue[0].amount_minor),
        (1, 12_900)
    );
}

async fn a_merchant_reads_its_own_top_list_over_http(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.confirmed(&issued.token, "order-1", 500, "EUR").await;
    let http = Http::of(&app);
    let day = start_time().format("%Y-%m-%d");
    let top = http
        .get(
            &format!(
                "/v1/top?dimension=DIMENSION_VIDEO&day={day}&metric=TOP_METRIC_REVENUE\
                 &currencyCode=EUR&merchantId={MERCHANT}&limit=5"
            ),
            Some(&app.keys.merchant),
        )
        .await;
    assert_eq!(top.status, StatusCode::OK, "{}", top.body);
    assert_eq!(
        top.body["entries"],
        json!([{"id": "vid-1", "value": "500"}])
    );
}

on_all_backends!(
    a_shop_confirms_and_reverses_over_http_json_and_the_counters_count_it_once,
    a_merchant_reads_its_own_top_list_over_http,
);

#[tokio::test]
async fn http_and_grpc_refuse_the_same_requests_with_the_same_error() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.confirmed(&issued.token, "order-taken", 100, "DKK")
        .await;
    let http = Http::of(&app);
    let keys = &app.keys;
    let long_id = "o".repeat(129);
    // (key, token, order, amount, currency)
    let cases: Vec<(&str, &str, &str, i64, &str)> = vec![
        ("not-a-key", &issued.token, "o-1", 100, "DKK"),
        (&keys.feed, &issued.token, "o-1", 100, "DKK"),
        (&keys.dashboard, &issued.token, "o-1", 100, "DKK"),
        (&keys.merchant, "", "o-1", 100, "DKK"),
        (&keys.merchant, "forged", "o-1", 100, "DKK"),
        (&keys.merchant, &issued.token, "", 100, "DKK"),
        (&keys.merchant, &issued.token, &long_id, 100, "DKK"),
        (&keys.merchant, &issued.token, "o-1", -1, "DKK"),
        (&keys.merchant, &issued.token, "o-1", 100, "ZZZ"),
        (&keys.merchant, &issued.token, "o-1", 100, ""),
        (&keys.merchant, &issued.token, "order-taken", 999, "DKK"),
        (&keys.other_merchant, &issued.token, "o-1", 100, "DKK"),
    ];
    for (key, token, order, amount, currency) in cases {
        let grpc = app
            .confirm_as(key, token, order, amount, currency)
            .await
            .unwrap_err();
        let json = http
            .post(
                "/v1/sales:confirm",
                Some(key),
                &confirm_body(token, order, amount, currency),
            )
            .await;
        let case = format!("{token:.8} {order:.12} {amount} {currency}");
        assert_eq!(json_error(&json), grpc_error(&grpc), "{case}");
        let expected = match grpc.code() {
            Code::Unauthenticated => 401,
            Code::PermissionDenied => 403,
            Code::InvalidArgument | Code::FailedPrecondition => 400,
            Code::AlreadyExists => 409,
            other => panic!("{case}: unexpected {other:?}"),
        };
        assert_eq!(json.status.as_u16(), expected, "{case}: {}", json.body);
    }
    // Nothing refused was counted.
    let total = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!(total.conversions, 1);
}

#[tokio::test]
async fn errors_are_google_rpc_status_json_under_the_mapped_http_status() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    let http = Http::of(&app);
    let merchant = Some(app.keys.merchant.as_str());

    let anonymous = http
        .post(
            "/v1/sales:confirm",
            None,
            &confirm_body(&issued.token, "o-1", 1, "DKK"),
        )
        .await;
    assert_status_json(&anonymous, 401, Code::Unauthenticated, "UNAUTHENTICATED");

    let feed = http
        .post(
            "/v1/sales:confirm",
            Some(&app.keys.feed),
            &confirm_body(&issued.token, "o-1", 1, "DKK"),
        )
        .await;
    assert_status_json(&feed, 403, Code::PermissionDenied, "PERMISSION_DENIED");

    let forged = http
        .post(
            "/v1/sales:confirm",
            merchant,
            &confirm_body("AAAA", "o-1", 1, "DKK"),
        )
        .await;
    assert_status_json(&forged, 400, Code::InvalidArgument, "TOKEN_INVALID");

    let unknown_order = http
        .post(
            "/v1/sales:reverse",
            merchant,
            &json!({"orderId": "nope", "reversalId": "r-1",
                    "amount": {"currencyCode": "DKK", "amountMinor": "1"}}),
        )
        .await;
    assert_status_json(&unknown_order, 404, Code::NotFound, "ORDER_NOT_FOUND");

    http.post(
        "/v1/sales:confirm",
        merchant,
        &confirm_body(&issued.token, "o-1", 100, "DKK"),
    )
    .await;
    let conflict = http
        .post(
            "/v1/sales:confirm",
            merchant,
            &confirm_body(&issued.token, "o-1", 200, "DKK"),
        )
        .await;
    assert_status_json(&conflict, 409, Code::AlreadyExists, "ORDER_CONFLICT");

    let too_much = http
        .post(
            "/v1/sales:reverse",
            merchant,
            &json!({"orderId": "o-1", "reversalId": "r-1",
                    "amount": {"currencyCode": "DKK", "amountMinor": "101"}}),
        )
        .await;
    assert_status_json(
        &too_much,
        400,
        Code::FailedPrecondition,
        "REVERSAL_EXCEEDS_SALE",
    );

    // Another merchant's campaign: the merchant-scoped read of the contract.
    app.put_campaign("c-other", OTHER_MERCHANT, "apparel", &[])
        .await;
    let others = http
        .get(&counters_query("DIMENSION_CAMPAIGN", "c-other"), merchant)
        .await;
    assert_status_json(&others, 403, Code::PermissionDenied, "PERMISSION_DENIED");
}

/// The field an answer names, once it is 400 INVALID_FIELD.
fn invalid_field_of(answer: &Answer) -> String {
    assert_status_json(answer, 400, Code::InvalidArgument, "INVALID_FIELD");
    answer.body["details"][0]["metadata"]["field"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn malformed_json_and_queries_are_invalid_field_naming_the_field() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let http = Http::of(&app);
    let merchant = Some(app.keys.merchant.as_str());
    let field = invalid_field_of;

    let cases: [(&[u8], &str); 5] = [
        (br#"{"orderId": 17}"#, "order_id"),
        (br#"{"color": "red"}"#, "color"),
        (
            br#"{"token": "t", "orderId": "o", "amount": {"amountMinor": "many"}}"#,
            "amount.amount_minor",
        ),
        // Proto field names are read too; then the adapter's own checks run.
        (br#"{"token": "t", "order_id": "o"}"#, "amount"),
        (b"", "token"),
    ];
    for (body, expected) in cases {
        let answer = http
            .post_raw("/v1/sales:confirm", merchant, body.to_vec())
            .await;
        assert_eq!(
            field(&answer),
            expected,
            "{}",
            String::from_utf8_lossy(body)
        );
    }

    let dashboard = Some(app.keys.dashboard.as_str());
    for (query, expected) in [
        ("/v1/counters?colour=red", "colour"),
        ("/v1/counters?dimension=DIMENSION_SIZE", "dimension"),
        ("/v1/counters?id=a&id=b", "id"),
        (
            "/v1/counters?dimension=DIMENSION_CAMPAIGN&id=c-1&granularity=GRANULARITY_HOUR\
             &startTime=yesterday",
            "start_time",
        ),
        // A range left out whole is today (http_json::defaults); half of
        // one is still refused.
        (
            "/v1/counters?dimension=DIMENSION_CAMPAIGN&id=c-1&granularity=GRANULARITY_HOUR\
             &endTime=2026-11-03T00:00:00Z",
            "start_time",
        ),
    ] {
        let answer = http.get(query, dashboard).await;
        assert_eq!(field(&answer), expected, "{query}");
    }
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_request_too_large() {
    let app = TestApp::builder().memory().spawn().await;
    let http = Http::of(&app);
    let huge = json!({"token": "t", "orderId": "x".repeat(70 * 1024)});
    let answer = http
        .post("/v1/sales:confirm", Some(&app.keys.merchant), &huge)
        .await;
    assert_status_json(&answer, 413, Code::OutOfRange, "REQUEST_TOO_LARGE");
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let app = TestApp::builder().memory().spawn().await;
    let http = Http::of(&app);
    let missing = http.get("/v1/nothing", Some(&app.keys.admin)).await;
    assert_status_json(&missing, 404, Code::NotFound, "ROUTE_NOT_FOUND");

    let wrong = http
        .get("/v1/sales:confirm", Some(&app.keys.merchant))
        .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.body["code"], Code::NotFound as i32);
    assert_eq!(wrong.body["details"][0]["reason"], "ROUTE_NOT_FOUND");
    assert_eq!(wrong.headers.get("allow").unwrap(), "POST");

    let document = http
        .post("/openapi.yaml", None, &serde_json::json!({}))
        .await;
    assert_eq!(document.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(document.body["details"][0]["reason"], "ROUTE_NOT_FOUND");
    assert_eq!(document.headers.get("allow").unwrap(), "GET");
}

#[tokio::test]
async fn every_path_refuses_every_other_method_with_405_naming_its_own() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let base = format!("http://{}", app.http_addr.unwrap());
    let client = reqwest::Client::new();
    let paths: [(&str, &[&str]); 9] = [
        ("/v1/sales:confirm", &["POST"]),
        ("/v1/sales:reverse", &["POST"]),
        ("/v1/counters", &["GET"]),
        ("/v1/top", &["GET"]),
        ("/v1/earnings", &["GET"]),
        ("/v1/commissions", &["GET"]),
        // A list and its create share a path: Allow names both.
        ("/v1/payouts", &["GET", "POST"]),
        ("/v1/commissions:review", &["POST"]),
        ("/openapi.yaml", &["GET"]),
    ];
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];
    for (path, allowed) in paths {
        let allow = allowed.join(", ");
        for method in methods
            .into_iter()
            .filter(|method| !allowed.contains(method))
        {
            let response = client
                .request(method.parse().unwrap(), format!("{base}{path}"))
                .bearer_auth(&app.keys.admin)
                .send()
                .await
                .unwrap();
            let case = format!("{method} {path}");
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{case}");
            assert_eq!(response.headers().get("allow").unwrap(), &allow, "{case}");
            let bytes = response.bytes().await.unwrap();
            if method == "HEAD" {
                assert!(bytes.is_empty(), "{case}: a HEAD answer has no body");
                continue;
            }
            let body: Value = serde_json::from_slice(&bytes).expect("a JSON status");
            assert_eq!(body["code"], Code::NotFound as i32, "{case}");
            assert_eq!(body["details"][0]["reason"], "ROUTE_NOT_FOUND", "{case}");
        }
    }
    for path in [
        "/v1",
        "/v1/counters/",
        "/v1/sales%3Aconfirm",
        "/openapi.json",
    ] {
        let missing = Http::of(&app).get(path, Some(&app.keys.admin)).await;
        assert_status_json(&missing, 404, Code::NotFound, "ROUTE_NOT_FOUND");
    }
}

#[tokio::test]
async fn the_http_api_shares_the_servers_concurrency_limit() {
    let gated = gated_app(|config| config.max_concurrent_requests = NonZero::new(1).unwrap()).await;
    // A gRPC sale holds the one permit...
    let held = gated.hold_sale("order-1").await;
    // ...so an HTTP call is shed at once, with a hint to retry.
    let http = Http::of(&gated.app);
    let shed = tokio::time::timeout(
        BOUND,
        http.post(
            "/v1/sales:confirm",
            Some(&gated.app.keys.merchant),
            &confirm_body(&gated.token, "order-2", 100, "DKK"),
        ),
    )
    .await
    .expect("shed at once, not queued");
    assert_status_json(&shed, 429, Code::ResourceExhausted, "RATE_LIMITED");
    assert_eq!(shed.headers.get("retry-after").unwrap(), "1");

    gated.release();
    held.await.unwrap().expect("the held sale completes");
}

#[tokio::test]
async fn an_http_call_past_the_request_timeout_is_504_deadline_exceeded() {
    let gated = gated_app(|config| config.request_timeout = Duration::from_millis(300)).await;
    let http = Http::of(&gated.app);
    let answer = tokio::time::timeout(
        BOUND,
        http.post(
            "/v1/sales:confirm",
            Some(&gated.app.keys.merchant),
            &confirm_body(&gated.token, "order-1", 100, "DKK"),
        ),
    )
    .await
    .expect("the server answers at its deadline");
    assert_eq!(
        answer.status,
        StatusCode::GATEWAY_TIMEOUT,
        "{}",
        answer.body
    );
    assert_eq!(answer.body["code"], Code::DeadlineExceeded as i32);
    gated.release();
}

#[tokio::test]
async fn store_unavailable_is_503_with_retry_after() {
    let mut app = TestApp::builder().redis().seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.redis_mut().stop().await;
    let http = Http::of(&app);
    let answer = http
        .post(
            "/v1/sales:confirm",
            Some(&app.keys.merchant),
            &confirm_body(&issued.token, "order-1", 100, "DKK"),
        )
        .await;
    assert_status_json(&answer, 503, Code::Unavailable, "STORE_UNAVAILABLE");
    assert_eq!(answer.headers.get("retry-after").unwrap(), "1");
}

#[tokio::test]
async fn the_openapi_document_is_served_and_names_every_route() {
    let app = TestApp::builder().memory().spawn().await;
    let addr = app.http_addr.unwrap();
    let response = reqwest::get(format!("http://{addr}/openapi.yaml"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert_eq!(text, cartclick::OPENAPI);
    for path in [
        "/v1/sales:confirm",
        "/v1/sales:reverse",
        "/v1/counters",
        "/v1/top",
        "/v1/earnings",
        "/v1/commissions",
        "/v1/payouts",
        "/v1/commissions:review",
    ] {
        assert!(
            text.contains(&format!("  {path}:")),
            "{path} not documented"
        );
    }
}

#[tokio::test]
async fn the_binary_serves_http_json_on_its_second_port_unless_turned_off() {
    let server = ServerProcess::start(Launch::default()).await;
    let http = Http::at(server.http_addr());
    let answer = http
        .post(
            "/v1/sales:confirm",
            None,
            &confirm_body("t", "o-1", 1, "DKK"),
        )
        .await;
    assert_status_json(&answer, 401, Code::Unauthenticated, "UNAUTHENTICATED");

    let off = ServerProcess::start(Launch::default().setting("http_listen = \"off\"")).await;
    assert!(
        !off.lines()
            .iter()
            .any(|line| line.contains("serving") && line.contains("http_addr")),
        "{:#?}",
        off.lines()
    );
}

#[tokio::test]
async fn a_sale_in_flight_over_http_completes_when_the_server_shuts_down() {
    let mut gated = gated_app(|_| {}).await;
    let http = Http::of(&gated.app);
    let (key, token) = (gated.app.keys.merchant.clone(), gated.token.clone());
    let call = tokio::spawn(async move {
        http.post(
            "/v1/sales:confirm",
            Some(&key),
            &confirm_body(&token, "order-1", 100, "DKK"),
        )
        .await
    });
    tokio::time::timeout(BOUND, gated.store.entered.notified())
        .await
        .expect("the sale reaches the store");

    gated.app.begin_shutdown();
    let addr = gated.app.http_addr.unwrap();
    wait_for(
        "the HTTP port to refuse new connections",
        BOUND,
        || async move { tokio::net::TcpStream::connect(addr).await.is_err() },
    )
    .await;

    gated.release();
    let answer = tokio::time::timeout(BOUND, call)
        .await
        .expect("the held sale answers")
        .unwrap();
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["replayed"], false);
    let server = gated.app.server.take().unwrap();
    tokio::time::timeout(BOUND, server)
        .await
        .expect("the server stops once the call is done")
        .unwrap()
        .expect("a clean stop");
}
