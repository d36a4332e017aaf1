//! AdminService's listings over HTTP/JSON (`GET /v1/merchants`,
//! `GET /v1/campaigns`, `GET /v1/apiKeys`): query parameters in the
//! protobuf JSON mapping, answers and refusals as over gRPC, pages walked
//! with `nextPageToken`.

use reqwest::StatusCode;
use serde_json::Value;
use tonic::Code;

use super::{Http, assert_status_json};
use crate::support::*;

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

/// The values of `field` in the items of `list` of a page.
fn values<'a>(page: &'a Value, list: &str, field: &str) -> Vec<&'a str> {
    page[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn merchants_walk_over_http_pages_by_id_each_once() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    app.put_merchant("m-0", &["zero.dk"], "").await;
    let http = Http::of(&app);
    let mut seen = Vec::new();
    let mut token = String::new();
    for _ in 0..10 {
        let page = ok(
            &http,
            &format!("/v1/merchants?pageSize=2&pageToken={token}"),
            &app.keys.dashboard,
        )
        .await;
        seen.extend(
            values(&page, "merchants", "merchantId")
                .into_iter()
                .map(str::to_owned),
        );
        token = page["nextPageToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }

    assert_eq!(seen, ["m-0", MERCHANT, OTHER_MERCHANT]);
}

#[tokio::test]
async fn campaigns_and_keys_list_over_http_with_their_filters_as_over_grpc() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    app.put_campaign("c-2", OTHER_MERCHANT, "apparel", &[])
        .await;
    let http = Http::of(&app);

    let approved = ok(
        &http,
        "/v1/campaigns?status=CAMPAIGN_STATUS_APPROVED",
        &app.keys.admin,
    )
    .await;
    let own = ok(&http, "/v1/campaigns", &app.keys.merchant).await;
    let other = http
        .get(
            &format!("/v1/campaigns?merchantId={OTHER_MERCHANT}"),
            Some(&app.keys.merchant),
        )
        .await;
    let merchant_keys = ok(&http, "/v1/apiKeys?role=ROLE_MERCHANT", &app.keys.admin).await;
    let dashboard_keys = http.get("/v1/apiKeys", Some(&app.keys.dashboard)).await;
    let bad_role = http
        .get("/v1/apiKeys?role=ROLE_ROOT", Some(&app.keys.admin))
        .await;
    let bad_token = http
        .get("/v1/merchants?pageToken=forged", Some(&app.keys.admin))
        .await;

    assert_eq!(values(&approved, "campaigns", "campaignId"), [CAMPAIGN]);
    assert_eq!(
        approved["campaigns"][0]["status"],
        "CAMPAIGN_STATUS_APPROVED"
    );
    assert_eq!(values(&own, "campaigns", "campaignId"), [CAMPAIGN]);
    assert_status_json(&other, 403, Code::PermissionDenied, "PERMISSION_DENIED");
    assert_eq!(
        values(&merchant_keys, "apiKeys", "keyId"),
        ["merchant", "merchant2"]
    );
    let first = &merchant_keys["apiKeys"][0];
    assert_eq!(first["role"], "ROLE_MERCHANT");
    assert_eq!(first["merchantId"], MERCHANT);
    assert_eq!(first["fromConfig"], true);
    assert_eq!(first["revoked"], false);
    assert_eq!(merchant_keys["nextPageToken"], "");
    assert_status_json(
        &dashboard_keys,
        403,
        Code::PermissionDenied,
        "PERMISSION_DENIED",
    );
    assert_eq!(
        bad_role.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_role.body
    );
    assert_status_json(&bad_token, 400, Code::InvalidArgument, "INVALID_FIELD");
    assert_eq!(
        bad_token.body["details"][0]["metadata"]["field"],
        "page_token"
    );
}
