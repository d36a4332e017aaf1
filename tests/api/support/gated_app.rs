//! [`GatedApp`]: a server on a [`GatedStore`] with a token ready to sell,
//! so overload, hostile-client and HTTP tests can hold sales in flight
//! inside the server and release them when they choose.

use std::sync::Arc;
use std::time::Duration;

use cartclick::config::Config;
use cartclick::proto::*;
use tokio::task::JoinHandle;
use tonic::Status;

use super::{BOUND, GatedStore, TestApp, authed, tap};

/// A server on a [`GatedStore`] with the test config changed by
/// `configure`, and a token to sell. The store is seeded and the token
/// issued by a replica with the unchanged config, so limits under test
/// (a short request timeout) cannot fail the setup.
pub async fn gated_app(configure: impl FnOnce(&mut Config)) -> GatedApp {
    let store = Arc::new(GatedStore::new());
    let seeder = TestApp::builder()
        .store(store.clone())
        .seeded()
        .spawn()
        .await;
    let token = seeder.issue(tap("viewer-1")).await.unwrap().token;
    let app = TestApp::builder()
        .like(&seeder)
        .config(configure)
        .store(store.clone())
        .spawn()
        .await;
    GatedApp {
        app,
        store,
        token,
        _seeder: seeder,
    }
}

/// A server whose sales wait at a gate, and what a test needs to hold one.
pub struct GatedApp {
    /// The server under test, with the changed config.
    pub app: TestApp,
    /// Its store, whose gate the test opens.
    pub store: Arc<GatedStore>,
    /// A token of a click on CAMPAIGN, ready to sell.
    pub token: String,
    /// The replica that seeded the store, kept serving for the test.
    _seeder: TestApp,
}

impl GatedApp {
    /// A ConfirmSale of `order_id` that is inside the store, waiting at the
    /// gate, when this returns.
    pub async fn hold_sale(
        &self,
        order_id: &str,
    ) -> JoinHandle<Result<ConfirmSaleResponse, Status>> {
        let call = self.sale_call(order_id, None);
        tokio::time::timeout(BOUND, self.store.entered.notified())
            .await
            .expect("the sale reaches the store");
        call
    }

    /// A ConfirmSale of `order_id`, with a `grpc-timeout` when given.
    pub fn sale_call(
        &self,
        order_id: &str,
        timeout: Option<Duration>,
    ) -> JoinHandle<Result<ConfirmSaleResponse, Status>> {
        let mut sales = self.app.sales();
        let mut request = authed(
            &self.app.keys.merchant,
            ConfirmSaleRequest {
                token: self.token.clone(),
                order_id: order_id.into(),
                amount: Some(Money {
                    currency_code: "DKK".into(),
                    amount_minor: 100,
                }),
            },
        );
        if let Some(timeout) = timeout {
            request.set_timeout(timeout);
        }
        tokio::spawn(async move { sales.confirm_sale(request).await.map(|r| r.into_inner()) })
    }

    /// Opens the gate for every call waiting at it.
    pub fn release(&self) {
        self.store.release.notify_waiters();
    }
}
