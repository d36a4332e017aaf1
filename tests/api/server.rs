//! The server around the services: health, reflection, unimplemented RPCs,
//! graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use cartclick::proto::*;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1alpha;

use crate::support::*;

/// A ConfirmSale of 100 DKK for `token`, in a task of its own, that is
/// waiting at `store`'s gate when this returns.
async fn sale_at_the_gate(
    app: &TestApp,
    store: &GatedStore,
    token: &str,
) -> JoinHandle<Result<tonic::Response<ConfirmSaleResponse>, tonic::Status>> {
    let sales = app.sales();
    let key = app.keys.merchant.clone();
    let token = token.to_owned();
    let sale = tokio::spawn(async move {
        let mut sales = sales;
        let request = ConfirmSaleRequest {
            token,
            order_id: "order-1".into(),
            amount: Some(Money {
                currency_code: "DKK".into(),
                amount_minor: 100,
            }),
        };
        sales.confirm_sale(authed(&key, request)).await
    });
    tokio::time::timeout(Duration::from_secs(5), store.entered.notified())
        .await
        .expect("the sale reaches the store");
    sale
}

async fn health_serves_without_credentials(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;
    let mut health = HealthClient::new(app.channel.clone());

    for service in ["", "cartclick.v1.ClickService", "cartclick.v1.SaleService"] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
}

async fn reflection_lists_the_contracts_services(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;
    let mut reflection = ServerReflectionClient::new(app.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };

    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();

    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in REFLECTED {
        assert!(
            names.iter().any(|n| n == service),
            "{service} missing from {names:?}"
        );
    }
}

/// The services every reflection version must list.
const REFLECTED: [&str; 5] = [
    "cartclick.v1.ClickService",
    "cartclick.v1.SaleService",
    "cartclick.v1.CounterService",
    "cartclick.v1.AdminService",
    "grpc.health.v1.Health",
];

async fn reflection_v1alpha_lists_the_contracts_services(backend: Backend) {
    use v1alpha::server_reflection_client::ServerReflectionClient;
    use v1alpha::server_reflection_request::MessageRequest;
    use v1alpha::server_reflection_response::MessageResponse;

    let app = TestApp::builder().on(backend).spawn().await;
    let mut reflection = ServerReflectionClient::new(app.channel.clone());
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };

    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1alpha reflection is served")
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();

    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in REFLECTED {
        assert!(
            names.iter().any(|n| n == service),
            "{service} missing from {names:?}"
        );
    }
}

#[tokio::test]
async fn shutdown_reports_not_serving_and_lets_an_in_flight_call_finish() {
    let store = Arc::new(GatedStore::new());
    let mut app = TestApp::builder()
        .store(store.clone())
        .seeded()
        .spawn()
        .await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    let mut watch = HealthClient::new(app.channel.clone())
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.next().await.unwrap().unwrap().status(),
        ServingStatus::Serving
    );

    // A sale enters the store and waits there.
    let in_flight = sale_at_the_gate(&app, &store, &issued.token).await;

    app.begin_shutdown();

    let status = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("health changes")
        .unwrap()
        .unwrap()
        .status();
    assert_eq!(status, ServingStatus::NotServing);
    store.release.notify_one();
    let sale = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .expect("the in-flight call finishes")
        .unwrap();
    assert_eq!(sale.unwrap().into_inner().click_id, issued.click_id);
    drop(watch);
    let server = app.server.take().unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops within its grace period");
    assert!(stopped.unwrap().is_ok());
}

#[tokio::test]
async fn shutdown_ends_within_the_grace_period_even_when_a_call_never_finishes() {
    let store = Arc::new(GatedStore::new());
    let mut app = TestApp::builder()
        .store(store.clone())
        .config(|config| config.shutdown_grace = Duration::from_millis(300))
        .seeded()
        .spawn()
        .await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    let _stuck = sale_at_the_gate(&app, &store, &issued.token).await;

    app.begin_shutdown();

    let server = app.server.take().unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server gives up on the stuck call after its grace period");
    assert!(stopped.unwrap().is_ok());
}

on_all_backends!(
    health_serves_without_credentials,
    reflection_lists_the_contracts_services,
    reflection_v1alpha_lists_the_contracts_services,
);
