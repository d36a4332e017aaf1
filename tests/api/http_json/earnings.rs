//! EarningsService over HTTP/JSON (`GET /v1/earnings`, `GET /v1/commissions`,
//! `POST /v1/payouts`, `GET /v1/payouts`, `POST /v1/commissions:review`):
//! each route answers what its gRPC
//! RPC answers for the same key and request, commissions of sales confirmed
//! over HTTP included, and refuses what it refuses, naming the field.

use cartclick::proto::earnings_service_client::EarningsServiceClient;
use cartclick::proto::*;
use prost::Message;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tonic::Code;
use tonic::transport::Channel;

use super::{Http, assert_status_json, confirm_body, grpc_error, json_error};
use crate::support::*;

/// A day, to move the clock past a holding period of one.
const DAY: i64 = 86_400;

/// An app seeded as most tests are, whose CAMPAIGN pays 10 % commission
/// held `holding_seconds` before it may be paid.
async fn paying_app(holding_seconds: i64) -> TestApp {
    let app = TestApp::builder().memory().seeded().spawn().await;
    app.try_put_campaign(Campaign {
        commission_rate_bps: 1000,
        holding_period: Some(prost_types::Duration {
            seconds: holding_seconds,
            nanos: 0,
        }),
        ..campaign(CAMPAIGN, MERCHANT, "apparel", &[])
    })
    .await
    .expect("put a paying campaign");
    app.review(CAMPAIGN, ReviewDecision::Approve).await;
    app
}

/// EarningsService over the app's connection.
fn earnings(app: &TestApp) -> EarningsServiceClient<Channel> {
    EarningsServiceClient::new(app.channel.clone())
}

/// A sale of `amount_minor` DKK on a new click by `viewer`, confirmed over
/// HTTP as `order_id`; its answer.
async fn sold_over_http(app: &TestApp, viewer: &str, order_id: &str, amount_minor: i64) -> Value {
    let issued = app.issue(tap(viewer)).await.unwrap();
    // Not SALE_TOO_FAST: its commission is not held.
    app.clock.advance(chrono::TimeDelta::seconds(10));
    let answer = Http::of(app)
        .post(
            "/v1/sales:confirm",
            Some(&app.keys.merchant),
            &confirm_body(&issued.token, order_id, amount_minor, "DKK"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

/// A gRPC answer in the protobuf JSON mapping, every field present: what
/// the HTTP route must answer to the same request.
fn as_json<T: Message>(message_name: &str, message: &T) -> Value {
    let pool = prost_reflect::DescriptorPool::decode(cartclick::proto::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set decodes");
    let descriptor = pool.get_message_by_name(message_name).unwrap();
    let dynamic =
        prost_reflect::DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
            .unwrap();
    let mut json = serde_json::Serializer::new(Vec::new());
    dynamic
        .serialize_with_options(
            &mut json,
            &prost_reflect::SerializeOptions::new().skip_default_fields(false),
        )
        .unwrap();
    serde_json::from_slice(&json.into_inner()).unwrap()
}

/// GET `path_and_query` as `key`, which must answer 200; its body.
async fn ok(http: &Http, path_and_query: &str, key: &str) -> Value {
    let answer = http.get(path_and_query, Some(key)).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{path_and_query}: {}",
        answer.body
    );
    answer.body
}

#[tokio::test]
async fn a_commission_sold_over_http_reads_as_pending_and_nothing_is_paid_before_its_holding_period()
 {
    let app = paying_app(30 * DAY).await;
    let sale = sold_over_http(&app, "viewer-1", "order-1", 12_900).await;
    assert_eq!(
        sale["commission"],
        json!({"currencyCode": "DKK", "amountMinor": "1290"})
    );
    let http = Http::of(&app);
    for key in [&app.keys.merchant, &app.keys.dashboard] {
        let balances = ok(&http, "/v1/earnings?creatorId=cr-1", key).await;
        let grpc = earnings(&app)
            .get_earnings(authed(
                key,
                GetEarningsRequest {
                    creator_id: "cr-1".into(),
                    merchant_id: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(balances, as_json("cartclick.v1.GetEarningsResponse", &grpc));
        let balance = &balances["balances"][0];
        assert_eq!(balance["merchantId"], MERCHANT);
        assert_eq!(balance["pending"]["amountMinor"], "1290");
        assert_eq!(balance["payable"]["amountMinor"], "0");

        let listed = ok(&http, "/v1/commissions?creatorId=cr-1", key).await;
        let commissions = listed["commissions"].as_array().unwrap();
        assert_eq!(commissions.len(), 1, "{listed}");
        assert_eq!(commissions[0]["orderId"], "order-1");
        assert_eq!(commissions[0]["status"], "COMMISSION_STATUS_PENDING");
        assert_eq!(commissions[0]["commissionRateBps"], 1000);
        assert_eq!(commissions[0]["holdingPeriod"], "2592000s");
        assert_eq!(listed["nextPageToken"], "");
    }

    let early = http
        .post(
            "/v1/payouts",
            Some(&app.keys.merchant),
            &json!({"payoutId": "p-1", "creatorId": "cr-1", "currencyCode": "DKK"}),
        )
        .await;
    assert_status_json(&early, 400, Code::FailedPrecondition, "NOTHING_TO_PAY");
    // Nothing was recorded: still pending, no payout listed.
    let payouts = ok(&http, "/v1/payouts?creatorId=cr-1", &app.keys.merchant).await;
    assert_eq!(payouts, json!({"payouts": [], "nextPageToken": ""}));
}

#[tokio::test]
async fn a_payout_over_http_pays_the_payable_commission_once_and_every_route_shows_it() {
    let app = paying_app(0).await;
    sold_over_http(&app, "viewer-1", "order-1", 12_900).await;
    let http = Http::of(&app);
    let merchant = Some(app.keys.merchant.as_str());
    let payable = ok(
        &http,
        "/v1/commissions?creatorId=cr-1&status=COMMISSION_STATUS_PAYABLE",
        &app.keys.merchant,
    )
    .await;
    assert_eq!(payable["commissions"][0]["orderId"], "order-1");

    let request = json!({"payoutId": "p-1", "creatorId": "cr-1", "currencyCode": "DKK"});
    let paid = http.post("/v1/payouts", merchant, &request).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
    let payout = &paid.body["payout"];
    assert_eq!(paid.body["replayed"], false);
    assert_eq!(payout["payoutId"], "p-1");
    assert_eq!(payout["merchantId"], MERCHANT);
    assert_eq!(payout["creatorId"], "cr-1");
    assert_eq!(
        payout["amount"],
        json!({"currencyCode": "DKK", "amountMinor": "1290"})
    );
    assert_eq!(payout["commissions"], "1");

    // The retry after a lost answer: the first payout, nothing paid again;
    // the same id for another currency is a conflict.
    let again = http.post("/v1/payouts", merchant, &request).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["replayed"], true);
    assert_eq!(again.body["payout"], *payout);
    let other = json!({"payoutId": "p-1", "creatorId": "cr-1", "currencyCode": "EUR"});
    let conflict = http.post("/v1/payouts", merchant, &other).await;
    assert_status_json(&conflict, 409, Code::AlreadyExists, "PAYOUT_CONFLICT");

    for key in [&app.keys.merchant, &app.keys.dashboard] {
        let payouts = ok(&http, "/v1/payouts?creatorId=cr-1", key).await;
        let grpc = earnings(&app)
            .list_payouts(authed(
                key,
                ListPayoutsRequest {
                    creator_id: "cr-1".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(payouts, as_json("cartclick.v1.ListPayoutsResponse", &grpc));
        assert_eq!(payouts["payouts"], json!([payout]));

        // The payout statement: the commission it paid, PAID by it. A
        // payout id is the merchant's, so the statement names the merchant
        // (a merchant key's own without naming it).
        let statement = ok(&http, "/v1/commissions?merchantId=m-1&payoutId=p-1", key).await;
        let grpc = earnings(&app)
            .list_commissions(authed(
                key,
                ListCommissionsRequest {
                    merchant_id: MERCHANT.into(),
                    payout_id: "p-1".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            statement,
            as_json("cartclick.v1.ListCommissionsResponse", &grpc)
        );
        let paid = &statement["commissions"][0];
        assert_eq!(paid["status"], "COMMISSION_STATUS_PAID");
        assert_eq!(paid["payoutId"], "p-1");

        let balances = ok(&http, "/v1/earnings?creatorId=cr-1&merchantId=m-1", key).await;
        let balance = &balances["balances"][0];
        assert_eq!(balance["paid"]["amountMinor"], "1290");
        assert_eq!(balance["payable"]["amountMinor"], "0");
    }
}

#[tokio::test]
async fn a_walk_over_http_pages_visits_every_commission_once_in_order() {
    let app = paying_app(30 * DAY).await;
    for (viewer, order) in [("viewer-1", "order-1"), ("viewer-2", "order-2")] {
        sold_over_http(&app, viewer, order, 1_000).await;
        app.clock.advance(chrono::TimeDelta::seconds(60));
    }
    sold_over_http(&app, "viewer-3", "order-3", 1_000).await;
    let http = Http::of(&app);
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = ok(
            &http,
            &format!("/v1/commissions?merchantId=m-1&pageSize=1&pageToken={token}"),
            &app.keys.merchant,
        )
        .await;
        for commission in page["commissions"].as_array().unwrap() {
            seen.push(commission["orderId"].as_str().unwrap().to_owned());
        }
        token = page["nextPageToken"].as_str().unwrap().to_owned();
        if token.is_empty() || seen.len() > 3 {
            break;
        }
    }
    assert_eq!(
        seen,
        ["order-3", "order-2", "order-1"],
        "newest first, once"
    );
}

#[tokio::test]
async fn bad_earnings_requests_are_refused_over_http_as_over_grpc_naming_the_field() {
    let app = paying_app(0).await;
    sold_over_http(&app, "viewer-1", "order-1", 1_000).await;
    sold_over_http(&app, "viewer-2", "order-2", 1_000).await;
    let http = Http::of(&app);
    let keys = &app.keys;
    // A real token of the first page of ListCommissions for the merchant:
    // good there, forged anywhere else.
    let first = ok(
        &http,
        "/v1/commissions?creatorId=cr-1&pageSize=1",
        &keys.merchant,
    )
    .await;
    let issued = first["nextPageToken"].as_str().unwrap().to_owned();
    assert!(!issued.is_empty(), "{first}");
    let forged = tampered(&issued);

    // (key, path and query, field)
    let reads: Vec<(&str, String, &str)> = vec![
        (&keys.merchant, "/v1/earnings".into(), "creator_id"),
        (
            &keys.dashboard,
            "/v1/earnings?merchantId=m-1".into(),
            "creator_id",
        ),
        (
            &keys.merchant,
            "/v1/earnings?creatorId=cr%201".into(),
            "creator_id",
        ),
        (&keys.dashboard, "/v1/commissions".into(), "creator_id"),
        (
            &keys.merchant,
            "/v1/commissions?creatorId=cr-1&pageSize=-1".into(),
            "page_size",
        ),
        (
            &keys.merchant,
            format!("/v1/commissions?creatorId=cr-1&pageToken={forged}"),
            "page_token",
        ),
        // Bound to the key, the filters and the RPC.
        (
            &keys.dashboard,
            format!("/v1/commissions?creatorId=cr-1&pageToken={issued}"),
            "page_token",
        ),
        (
            &keys.merchant,
            format!("/v1/commissions?creatorId=cr-2&pageToken={issued}"),
            "page_token",
        ),
        (
            &keys.merchant,
            format!("/v1/payouts?creatorId=cr-1&pageToken={issued}"),
            "page_token",
        ),
        (
            &keys.merchant,
            "/v1/commissions?creatorId=cr-1&status=COMMISSION_STATUS_LOST".into(),
            "status",
        ),
        (
            &keys.merchant,
            "/v1/commissions?creatorId=cr-1&status=PAID".into(),
            "status",
        ),
        (&keys.dashboard, "/v1/payouts".into(), "creator_id"),
        (
            &keys.merchant,
            "/v1/payouts?creatorId=cr-1&pageSize=-5".into(),
            "page_size",
        ),
        (
            &keys.merchant,
            "/v1/payouts?creatorId=cr-1&pageToken=AAAA".into(),
            "page_token",
        ),
        (
            &keys.merchant,
            "/v1/payouts?creatorId=cr-1&colour=red".into(),
            "colour",
        ),
    ];
    for (key, query, expected) in reads {
        let answer = http.get(&query, Some(key)).await;
        assert_status_json(&answer, 400, Code::InvalidArgument, "INVALID_FIELD");
        assert_eq!(json_error(&answer).2.as_deref(), Some(expected), "{query}");
    }
    // The one the proto can also carry: the same refusal over gRPC.
    let grpc = earnings(&app)
        .list_commissions(authed(
            &keys.merchant,
            ListCommissionsRequest {
                creator_id: "cr-1".into(),
                page_size: -1,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    let answer = http
        .get(
            "/v1/commissions?creatorId=cr-1&pageSize=-1",
            Some(&keys.merchant),
        )
        .await;
    assert_eq!(json_error(&answer), grpc_error(&grpc));

    // (body, field)
    let bodies = [
        (json!({}), "payout_id"),
        (
            json!({"payoutId": "p-1", "currencyCode": "DKK"}),
            "creator_id",
        ),
        (
            json!({"payoutId": "p-1", "creatorId": "cr-1"}),
            "currency_code",
        ),
        (
            json!({"payoutId": "p-1", "creatorId": "cr-1", "currencyCode": "ZZZ"}),
            "currency_code",
        ),
        (
            json!({"payoutId": "p 1", "creatorId": "cr-1", "currencyCode": "DKK"}),
            "payout_id",
        ),
        (
            json!({"payoutId": "p-1", "creatorId": "cr-1", "currencyCode": "DKK", "amount": 1}),
            "amount",
        ),
    ];
    for (body, expected) in bodies {
        let answer = http.post("/v1/payouts", Some(&keys.merchant), &body).await;
        assert_status_json(&answer, 400, Code::InvalidArgument, "INVALID_FIELD");
        assert_eq!(json_error(&answer).2.as_deref(), Some(expected), "{body}");
    }
    // Nothing refused paid anything.
    let payouts = ok(&http, "/v1/payouts?creatorId=cr-1", &keys.merchant).await;
    assert_eq!(payouts["payouts"], json!([]));
}

#[tokio::test]
async fn only_merchant_keys_pay_and_only_earnings_roles_read_over_http() {
    let app = paying_app(0).await;
    sold_over_http(&app, "viewer-1", "order-1", 1_000).await;
    let http = Http::of(&app);
    let keys = &app.keys;
    let payout = json!({"payoutId": "p-1", "creatorId": "cr-1", "currencyCode": "DKK"});

    let dashboard = http
        .post("/v1/payouts", Some(&keys.dashboard), &payout)
        .await;
    assert_status_json(&dashboard, 403, Code::PermissionDenied, "PERMISSION_DENIED");
    let grpc = earnings(&app)
        .create_payout(authed(
            &keys.dashboard,
            CreatePayoutRequest {
                payout_id: "p-1".into(),
                creator_id: "cr-1".into(),
                currency_code: "DKK".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(json_error(&dashboard), grpc_error(&grpc));

    let feed = http
        .get("/v1/earnings?creatorId=cr-1", Some(&keys.feed))
        .await;
    assert_status_json(&feed, 403, Code::PermissionDenied, "PERMISSION_DENIED");
    let anonymous = http.get("/v1/payouts?creatorId=cr-1", None).await;
    assert_status_json(&anonymous, 401, Code::Unauthenticated, "UNAUTHENTICATED");
    // Another merchant's key may not name this merchant.
    let other = http
        .get("/v1/commissions?merchantId=m-1", Some(&keys.other_merchant))
        .await;
    assert_status_json(&other, 403, Code::PermissionDenied, "PERMISSION_DENIED");

    // Still payable, and payable once, by the merchant's own key.
    let paid = http
        .post("/v1/payouts", Some(&keys.merchant), &payout)
        .await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
    assert_eq!(paid.body["payout"]["amount"]["amountMinor"], "100");
}

#[tokio::test]
async fn an_admin_reviews_a_held_commission_over_http_and_only_an_admin() {
    let app = paying_app(0).await;
    let http = Http::of(&app);
    // Confirmed at once after its tap: SALE_TOO_FAST holds it.
    for (viewer, order, amount) in [
        ("viewer-1", "order-1", 12_900),
        ("viewer-2", "order-2", 1_000),
    ] {
        let issued = app.issue(tap(viewer)).await.unwrap();
        let body = confirm_body(&issued.token, order, amount, "DKK");
        let sale = http
            .post("/v1/sales:confirm", Some(&app.keys.merchant), &body)
            .await;
        assert_eq!(sale.status, StatusCode::OK, "{}", sale.body);
        assert_eq!(sale.body["signals"], json!(["FRAUD_SIGNAL_SALE_TOO_FAST"]));
    }
    let keys = &app.keys;
    let release = json!({
        "merchantId": MERCHANT,
        "orderId": "order-1",
        "decision": "COMMISSION_DECISION_RELEASE",
        "reason": "checked with the shop",
    });

    for key in [&keys.merchant, &keys.dashboard, &keys.feed] {
        let denied = http
            .post("/v1/commissions:review", Some(key), &release)
            .await;
        assert_status_json(&denied, 403, Code::PermissionDenied, "PERMISSION_DENIED");
    }
    // (body, field)
    let bodies = [
        (
            json!({"orderId": "order-1", "decision": "COMMISSION_DECISION_RELEASE"}),
            "merchant_id",
        ),
        (
            json!({"merchantId": MERCHANT, "decision": "COMMISSION_DECISION_VOID"}),
            "order_id",
        ),
        (
            json!({"merchantId": MERCHANT, "orderId": "order-1"}),
            "decision",
        ),
        (
            json!({"merchantId": MERCHANT, "orderId": "order-1", "decision": "COMMISSION_DECISION_MAYBE"}),
            "decision",
        ),
        (
            json!({"merchantId": MERCHANT, "orderId": "order-1",
                   "decision": "COMMISSION_DECISION_VOID", "reason": "r".repeat(257)}),
            "reason",
        ),
    ];
    for (body, expected) in bodies {
        let answer = http
            .post("/v1/commissions:review", Some(&keys.admin), &body)
            .await;
        assert_status_json(&answer, 400, Code::InvalidArgument, "INVALID_FIELD");
        assert_eq!(json_error(&answer).2.as_deref(), Some(expected), "{body}");
    }
    let held = ok(
        &http,
        "/v1/commissions?creatorId=cr-1&status=COMMISSION_STATUS_HELD",
        &keys.merchant,
    )
    .await;
    assert_eq!(held["commissions"].as_array().unwrap().len(), 2, "{held}");

    let released = http
        .post("/v1/commissions:review", Some(&keys.admin), &release)
        .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.body);
    let commission = &released.body["commission"];
    assert_eq!(commission["orderId"], "order-1");
    assert_eq!(commission["status"], "COMMISSION_STATUS_PAYABLE");
    assert_eq!(
        commission["commission"],
        json!({"currencyCode": "DKK", "amountMinor": "1290"})
    );
    assert_eq!(commission["signals"], json!(["FRAUD_SIGNAL_SALE_TOO_FAST"]));
    assert_eq!(commission["reviewReason"], "checked with the shop");
    assert!(commission["reviewedAt"].is_string(), "{commission}");
    // What the listing says of it now, field for field.
    let listed = ok(
        &http,
        "/v1/commissions?creatorId=cr-1&status=COMMISSION_STATUS_PAYABLE",
        &keys.merchant,
    )
    .await;
    assert_eq!(listed["commissions"], json!([commission]));

    let again = http
        .post("/v1/commissions:review", Some(&keys.admin), &release)
        .await;
    assert_status_json(&again, 400, Code::FailedPrecondition, "COMMISSION_NOT_HELD");
    let grpc = earnings(&app)
        .review_commission(authed(
            &keys.admin,
            ReviewCommissionRequest {
                merchant_id: MERCHANT.into(),
                order_id: "order-1".into(),
                decision: CommissionDecision::Release.into(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(json_error(&again), grpc_error(&grpc));
    let unknown = http
        .post(
            "/v1/commissions:review",
            Some(&keys.admin),
            &json!({"merchantId": MERCHANT, "orderId": "order-9",
                    "decision": "COMMISSION_DECISION_VOID"}),
        )
        .await;
    assert_status_json(&unknown, 404, Code::NotFound, "ORDER_NOT_FOUND");

    let balances = ok(&http, "/v1/earnings?creatorId=cr-1", &keys.merchant).await;
    let balance = &balances["balances"][0];
    assert_eq!(balance["payable"]["amountMinor"], "1290");
    assert_eq!(
        balance["held"]["amountMinor"], "100",
        "order-2 is still held"
    );
}
