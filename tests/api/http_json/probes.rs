//! `GET /healthz` and `GET /readyz` on the HTTP port: probes for load
//! balancers that do not speak gRPC health; no key, small plain bodies.

use std::time::Duration;

use reqwest::StatusCode;

use crate::support::*;

/// How long a store outage takes to show in readiness: the health check's
/// second, the store's timeout, and slack.
const READY_BOUND: Duration = Duration::from_secs(20);

/// The status and body of a GET of `path` on the app's HTTP port, no key.
async fn probe(app: &TestApp, path: &str) -> (StatusCode, String) {
    let addr = app.http_addr.expect("the test config serves HTTP");
    let response = reqwest::get(format!("http://{addr}{path}"))
        .await
        .expect("the HTTP port answers");
    let status = response.status();
    (status, response.text().await.expect("a whole body"))
}

async fn healthz_and_readyz_answer_200_without_a_key(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;

    assert_eq!(
        probe(&app, "/healthz").await,
        (StatusCode::OK, "ok\n".into())
    );
    assert_eq!(
        probe(&app, "/readyz").await,
        (StatusCode::OK, "ready\n".into())
    );
}

on_all_backends!(healthz_and_readyz_answer_200_without_a_key);

#[tokio::test]
async fn probes_take_only_get_and_say_so_in_allow() {
    let app = TestApp::builder().memory().spawn().await;
    let addr = app.http_addr.unwrap();
    let client = reqwest::Client::new();

    for path in ["/healthz", "/readyz"] {
        let response = client
            .post(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(response.headers()["allow"], "GET", "{path}");
    }
}

#[tokio::test]
async fn readyz_is_503_while_redis_is_down_and_healthz_stays_200() {
    let mut app = TestApp::builder().redis().spawn().await;

    app.redis_mut().stop().await;
    wait_for("readyz to answer 503", READY_BOUND, || async {
        probe(&app, "/readyz").await.0 == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    let (status, body) = probe(&app, "/readyz").await;
    let health_while_down = probe(&app, "/healthz").await;
    app.redis_mut().restart().await;
    wait_for("readyz to answer 200 again", READY_BOUND, || async {
        probe(&app, "/readyz").await.0 == StatusCode::OK
    })
    .await;

    assert_eq!(
        (status, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    );
    // Liveness is not readiness: a store outage must not restart replicas.
    assert_eq!(health_while_down, (StatusCode::OK, "ok\n".into()));
}
