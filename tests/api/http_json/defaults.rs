//! What the HTTP routes default that gRPC requires (API.md, "HTTP"): an
//! omitted granularity is hourly, an omitted range the current UTC day, an
//! omitted metric clicks, an omitted day today; gRPC still answers
//! INVALID_FIELD.

use cartclick::proto::*;
use reqwest::StatusCode;
use serde_json::json;
use tonic::Code;

use super::Http;
use crate::support::*;

/// The test clock's day, at midnight, as the JSON mapping writes it.
fn test_midnight() -> String {
    let day = start_time().date_naive().and_hms_opt(0, 0, 0).unwrap();
    day.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn counters_over_http_default_to_todays_hours(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.issue(tap("viewer-1")).await.unwrap();
    let http = Http::of(&app);

    let counters = http
        .get(
            &format!("/v1/counters?dimension=DIMENSION_CAMPAIGN&id={CAMPAIGN}"),
            Some(&app.keys.dashboard),
        )
        .await;

    assert_eq!(counters.status, StatusCode::OK, "{}", counters.body);
    let buckets = counters.body["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 24, "a day of hours");
    assert_eq!(buckets[0]["startTime"], test_midnight());
    assert_eq!(counters.body["total"]["clicks"], "1");
}

async fn top_over_http_defaults_to_todays_clicks(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.issue(tap("viewer-1")).await.unwrap();
    let http = Http::of(&app);

    let top = http
        .get(
            "/v1/top?dimension=DIMENSION_CAMPAIGN",
            Some(&app.keys.dashboard),
        )
        .await;

    assert_eq!(top.status, StatusCode::OK, "{}", top.body);
    assert_eq!(top.body["entries"], json!([{"id": CAMPAIGN, "value": "1"}]));
}

on_all_backends!(
    counters_over_http_default_to_todays_hours,
    top_over_http_defaults_to_todays_clicks,
);

#[tokio::test]
async fn half_a_range_over_http_is_still_invalid() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let http = Http::of(&app);

    let counters = http
        .get(
            &format!(
                "/v1/counters?dimension=DIMENSION_CAMPAIGN&id={CAMPAIGN}\
                 &startTime=2026-11-02T00:00:00Z"
            ),
            Some(&app.keys.dashboard),
        )
        .await;

    super::assert_status_json(&counters, 400, Code::InvalidArgument, "INVALID_FIELD");
    assert_eq!(counters.body["details"][0]["metadata"]["field"], "end_time");
}

#[tokio::test]
async fn a_day_given_empty_over_http_is_invalid_not_today() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let http = Http::of(&app);

    let top = http
        .get(
            "/v1/top?dimension=DIMENSION_VIDEO&day=",
            Some(&app.keys.dashboard),
        )
        .await;

    super::assert_status_json(&top, 400, Code::InvalidArgument, "INVALID_FIELD");
    assert_eq!(top.body["details"][0]["metadata"]["field"], "day");
}

#[tokio::test]
async fn grpc_still_refuses_what_http_defaults() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let key = &app.keys.dashboard;
    let mut counters = app.counters();
    let start = start_time() - chrono::TimeDelta::hours(10);
    let day = GetCountersRequest {
        dimension: Dimension::Campaign as i32,
        id: CAMPAIGN.into(),
        granularity: Granularity::Hour as i32,
        start_time: Some(ts(start)),
        end_time: Some(ts(start + chrono::TimeDelta::days(1))),
    };

    let no_granularity = GetCountersRequest {
        granularity: Granularity::Unspecified as i32,
        ..day.clone()
    };
    let no_range = GetCountersRequest {
        start_time: None,
        end_time: None,
        ..day
    };
    let top = ListTopRequest {
        dimension: Dimension::Campaign as i32,
        day: start_time().format("%Y-%m-%d").to_string(),
        metric: TopMetric::Clicks as i32,
        limit: 5,
        ..ListTopRequest::default()
    };
    let no_limit = ListTopRequest {
        limit: 0,
        ..top.clone()
    };
    let no_day = ListTopRequest {
        day: String::new(),
        ..top.clone()
    };
    let no_metric = ListTopRequest {
        metric: TopMetric::Unspecified as i32,
        ..top
    };

    let refusals = [
        (
            counters.get_counters(authed(key, no_granularity)).await,
            "granularity",
        ),
        (
            counters.get_counters(authed(key, no_range)).await,
            "start_time",
        ),
    ];
    for (answer, field) in refusals {
        assert_invalid_field(&answer.unwrap_err(), field);
    }
    for (request, field) in [(no_day, "day"), (no_metric, "metric"), (no_limit, "limit")] {
        let answer = counters.list_top(authed(key, request)).await;
        assert_invalid_field(&answer.unwrap_err(), field);
    }
}
