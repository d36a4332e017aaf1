//! EarningsService.ReviewCommission: a sale that raised a fraud signal has
//! its commission HELD, never paid, until an admin releases it (PENDING or
//! PAYABLE by its payable time, then paid once) or voids it (VOID, earning
//! 0). Only a held commission is reviewed, only by an admin, once; a
//! review is an event and moves no counter; refunds and reviews of the same
//! commissions at once leave every ledger equal to its commissions. Every
//! test runs on every store.
//!
//! A sale confirmed at once after its tap (the test clock standing still)
//! raises SALE_TOO_FAST (`min_click_to_sale_seconds` is 10 by default): its
//! commission is held. Moving the clock 11 s between them makes a clean one.

use cartclick::model::{EventKind, MerchantId};
use cartclick::proto::*;
use chrono::TimeDelta;
use tonic::{Code, Status};

use crate::support::*;

/// A day, for holding periods.
const DAY: i64 = 86_400;

impl TestApp {
    /// ReviewCommission with `key`: the commission as it then stands.
    async fn review_commission_as(
        &self,
        key: &str,
        merchant: &str,
        order: &str,
        decision: CommissionDecision,
        reason: &str,
    ) -> Result<Commission, Status> {
        let request = ReviewCommissionRequest {
            merchant_id: merchant.into(),
            order_id: order.into(),
            decision: decision.into(),
            reason: reason.into(),
        };
        let response = self
            .earnings_client()
            .review_commission(authed(key, request))
            .await?
            .into_inner();
        Ok(response.commission.expect("a commission"))
    }

    /// An admin's review of MERCHANT's `order`.
    async fn review_commission(
        &self,
        order: &str,
        decision: CommissionDecision,
        reason: &str,
    ) -> Result<Commission, Status> {
        self.review_commission_as(&self.keys.admin, MERCHANT, order, decision, reason)
            .await
    }

    /// A sale of `amount` DKK by `creator` under `campaign`, confirmed
    /// `after` its tap (by a viewer of its own); the commission it earned.
    async fn sale_after(
        &self,
        creator: &str,
        campaign: &str,
        order: &str,
        amount: i64,
        after: TimeDelta,
    ) -> i64 {
        let request = IssueTokenRequest {
            creator_id: creator.into(),
            campaign_id: campaign.into(),
            ..tap(&unique_viewer())
        };
        let token = self.issue(request).await.expect("tap").token;
        self.clock.advance(after);
        let sale = self.confirm(&token, order, amount, "DKK").await;
        sale.expect("confirm sale")
            .commission
            .expect("a commission")
            .amount_minor
    }

    /// A sale confirmed at once after its tap: SALE_TOO_FAST holds its
    /// commission, returned.
    async fn held_sale(&self, creator: &str, campaign: &str, order: &str, amount: i64) -> i64 {
        self.sale_after(creator, campaign, order, amount, TimeDelta::zero())
            .await
    }

    /// A sale 11 s after its tap: no signal.
    async fn clean_sale(&self, creator: &str, campaign: &str, order: &str, amount: i64) -> i64 {
        self.sale_after(creator, campaign, order, amount, TimeDelta::seconds(11))
            .await
    }

    /// The one commission of `creator` listed for `order`.
    async fn commission_of(&self, creator: &str, order: &str) -> Commission {
        let listed = self.all_commissions(creator).await;
        listed
            .into_iter()
            .find(|c| c.order_id == order)
            .unwrap_or_else(|| panic!("no commission of {order}"))
    }

    /// MERCHANT's commission-review events, oldest first.
    async fn review_events(&self) -> Vec<cartclick::model::Event> {
        let events = self
            .domain
            .store()
            .read_events(MERCHANT, None, 10_000)
            .await
            .expect("read events");
        events
            .into_iter()
            .filter(|e| e.kind == EventKind::CommissionReviewed)
            .collect()
    }
}

fn amount(money: &Option<Money>) -> i64 {
    money.as_ref().expect("money").amount_minor
}

fn signals_of(commission: &Commission) -> Vec<FraudSignal> {
    commission.signals().collect()
}

#[track_caller]
fn assert_not_held(answer: Result<Commission, Status>) {
    assert_error(
        &answer.expect_err("refused"),
        Code::FailedPrecondition,
        "COMMISSION_NOT_HELD",
    );
}

async fn a_flagged_sales_commission_is_held_and_never_paid_until_released(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 1).await;
    assert_eq!(
        app.held_sale("cr-1", "c-pay", "order-1", 10_000).await,
        1_000
    );

    let held = app.commission_of("cr-1", "order-1").await;
    let listed_held = app
        .commissions(
            &app.keys.dashboard,
            ListCommissionsRequest {
                merchant_id: MERCHANT.into(),
                status: CommissionStatus::Held.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.clock.advance(TimeDelta::days(2));
    let while_held = app
        .payout(&app.keys.merchant, "p-0", "", "cr-1", "DKK")
        .await;
    let balance_held = app.balance("cr-1").await;

    let released = app
        .review_commission(
            "order-1",
            CommissionDecision::Release,
            "checked with the shop",
        )
        .await
        .unwrap();
    let balance_released = app.balance("cr-1").await;
    let paid = app.paid("p-1", "cr-1").await;
    let again = app
        .payout(&app.keys.merchant, "p-2", "", "cr-1", "DKK")
        .await;
    let second_review = app
        .review_commission("order-1", CommissionDecision::Void, "")
        .await;

    assert_eq!(held.status(), CommissionStatus::Held);
    assert_eq!(signals_of(&held), vec![FraudSignal::SaleTooFast]);
    assert_eq!(amount(&held.commission), 1_000);
    assert_eq!(held.review_reason, "");
    assert_eq!(held.reviewed_at, None);
    let held_orders: Vec<&str> = listed_held
        .commissions
        .iter()
        .map(|c| c.order_id.as_str())
        .collect();
    assert_eq!(held_orders, vec!["order-1"]);
    assert_error(
        &while_held.unwrap_err(),
        Code::FailedPrecondition,
        "NOTHING_TO_PAY",
    );
    assert_eq!(balance_held, (0, 0, 1_000, 0, 0));

    assert_eq!(released.status(), CommissionStatus::Payable);
    assert_eq!(amount(&released.commission), 1_000);
    assert_eq!(released.review_reason, "checked with the shop");
    assert_eq!(
        released.reviewed_at,
        Some(ts(start_time() + TimeDelta::days(2)))
    );
    assert_eq!(signals_of(&released), vec![FraudSignal::SaleTooFast]);
    assert_eq!(balance_released, (0, 1_000, 0, 0, 0));
    assert_eq!((amount(&paid.amount), paid.commissions), (1_000, 1));
    assert_error(
        &again.unwrap_err(),
        Code::FailedPrecondition,
        "NOTHING_TO_PAY",
    );
    assert_not_held(second_review);
    let after = app.commission_of("cr-1", "order-1").await;
    assert_eq!(after.status(), CommissionStatus::Paid);
    assert_eq!(after.payout_id, "p-1");
    assert_eq!(after.review_reason, "checked with the shop");
    assert_eq!(app.balance("cr-1").await, (0, 0, 0, 1_000, 0));
}

async fn a_released_commission_in_its_holding_period_is_pending_and_a_voided_one_earns_nothing(
    backend: Backend,
) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 7).await;
    app.held_sale("cr-1", "c-pay", "order-1", 10_000).await;
    app.held_sale("cr-1", "c-pay", "order-2", 5_000).await;
    assert_eq!(app.balance("cr-1").await, (0, 0, 1_500, 0, 0));

    let released = app
        .review_commission("order-1", CommissionDecision::Release, "")
        .await
        .unwrap();
    let voided = app
        .review_commission("order-2", CommissionDecision::Void, "a bot")
        .await
        .unwrap();
    let balance = app.balance("cr-1").await;
    let release_voided = app
        .review_commission("order-2", CommissionDecision::Release, "")
        .await;
    // A refund of a void commission changes only its sale amount.
    let refund = app.refund("order-2", "r-2", 1_000).await.unwrap();
    app.clock.advance(TimeDelta::days(8));
    let payout = app.paid("p-1", "cr-1").await;

    assert_eq!(released.status(), CommissionStatus::Pending);
    assert_eq!(amount(&released.commission), 1_000);
    assert_eq!(voided.status(), CommissionStatus::Void);
    assert_eq!(amount(&voided.commission), 0);
    assert_eq!(amount(&voided.sale_amount), 5_000);
    assert_eq!(voided.review_reason, "a bot");
    assert_eq!(voided.reviewed_at, Some(ts(start_time())));
    assert_eq!(balance, (1_000, 0, 0, 0, 0));
    assert_not_held(release_voided);
    assert_eq!(amount(&refund.commission_remaining), 0);
    assert_eq!(
        (amount(&payout.amount), payout.commissions),
        (1_000, 1),
        "the released commission only"
    );
    let void = app.commission_of("cr-1", "order-2").await;
    assert_eq!(void.status(), CommissionStatus::Void);
    assert_eq!(amount(&void.commission), 0);
    assert_eq!(amount(&void.sale_amount), 4_000);
    assert_eq!(app.balance("cr-1").await, (0, 0, 0, 1_000, 0));
}

async fn only_a_held_commission_is_reviewed(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    app.clean_sale("cr-1", "c-pay", "order-clean", 10_000).await;
    // CAMPAIGN pays nothing: a flagged sale with no commission.
    let none = app.held_sale("cr-1", CAMPAIGN, "order-free", 10_000).await;
    app.held_sale("cr-2", "c-pay", "order-held", 10_000).await;
    let before = app.review_events().await;

    let clean = app
        .review_commission("order-clean", CommissionDecision::Void, "")
        .await;
    let free = app
        .review_commission("order-free", CommissionDecision::Release, "")
        .await;
    let unknown = app
        .review_commission("order-never", CommissionDecision::Release, "")
        .await;
    // Another merchant's name for MERCHANT's held order: not its order.
    let elsewhere = app
        .review_commission_as(
            &app.keys.admin,
            OTHER_MERCHANT,
            "order-held",
            CommissionDecision::Void,
            "",
        )
        .await;

    assert_eq!(none, 0);
    assert_not_held(clean);
    assert_not_held(free);
    assert_error(&unknown.unwrap_err(), Code::NotFound, "ORDER_NOT_FOUND");
    assert_error(&elsewhere.unwrap_err(), Code::NotFound, "ORDER_NOT_FOUND");
    assert_eq!(app.balance("cr-1").await, (0, 1_000, 0, 0, 0));
    assert_eq!(app.balance("cr-2").await, (0, 0, 1_000, 0, 0));
    let clean = app.commission_of("cr-1", "order-clean").await;
    assert_eq!(clean.status(), CommissionStatus::Payable);
    assert_eq!(clean.reviewed_at, None);
    assert_eq!(app.review_events().await, before, "no review recorded");
}

async fn only_an_admin_key_reviews(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    app.held_sale("cr-1", "c-pay", "order-1", 10_000).await;

    let keys = &app.keys;
    for (name, key, merchant) in [
        ("merchant", &keys.merchant, MERCHANT),
        ("merchant, naming none", &keys.merchant, ""),
        ("other merchant", &keys.other_merchant, MERCHANT),
        ("dashboard", &keys.dashboard, MERCHANT),
        ("feed", &keys.feed, MERCHANT),
    ] {
        let denied = app
            .review_commission_as(key, merchant, "order-1", CommissionDecision::Release, "")
            .await
            .expect_err(name);
        assert_error(&denied, Code::PermissionDenied, "PERMISSION_DENIED");
    }
    let unknown = app
        .review_commission_as(
            "not-a-key",
            MERCHANT,
            "order-1",
            CommissionDecision::Release,
            "",
        )
        .await
        .unwrap_err();

    assert_eq!(unknown.code(), Code::Unauthenticated);
    let held = app.commission_of("cr-1", "order-1").await;
    assert_eq!(held.status(), CommissionStatus::Held);
    assert_eq!(app.balance("cr-1").await, (0, 0, 1_000, 0, 0));
    assert!(app.review_events().await.is_empty());
    let admin = app
        .review_commission("order-1", CommissionDecision::Release, "")
        .await
        .unwrap();
    assert_eq!(admin.status(), CommissionStatus::Payable);
}

async fn malformed_reviews_name_the_field_and_change_nothing(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    app.held_sale("cr-1", "c-pay", "order-1", 10_000).await;
    let admin = app.keys.admin.clone();
    let request =
        |merchant: &str, order: &str, decision: i32, reason: &str| ReviewCommissionRequest {
            merchant_id: merchant.into(),
            order_id: order.into(),
            decision,
            reason: reason.into(),
        };
    let release = CommissionDecision::Release as i32;

    // (request, field)
    let cases = [
        (request("", "order-1", release, ""), "merchant_id"),
        (request("m 1", "order-1", release, ""), "merchant_id"),
        (request(MERCHANT, "", release, ""), "order_id"),
        (request(MERCHANT, &"o".repeat(129), release, ""), "order_id"),
        (request(MERCHANT, "order\n1", release, ""), "order_id"),
        (
            request(
                MERCHANT,
                "order-1",
                CommissionDecision::Unspecified as i32,
                "",
            ),
            "decision",
        ),
        (request(MERCHANT, "order-1", 99, ""), "decision"),
        (
            request(MERCHANT, "order-1", release, &"r".repeat(257)),
            "reason",
        ),
        (
            request(MERCHANT, "order-1", release, "bad\u{7}bell"),
            "reason",
        ),
    ];
    for (bad, field) in cases {
        let answer = app
            .earnings_client()
            .review_commission(authed(&admin, bad.clone()))
            .await
            .expect_err(field);
        assert_invalid_field(&answer, field);
    }
    let longest = app
        .review_commission("order-1", CommissionDecision::Release, &"ø".repeat(128))
        .await;

    assert_eq!(
        app.review_events().await.len(),
        1,
        "only the good review was recorded"
    );
    let reviewed = longest.expect("a reason of 256 bytes is fine");
    assert_eq!(reviewed.status(), CommissionStatus::Payable);
    assert_eq!(reviewed.review_reason, "ø".repeat(128));
}

async fn a_refund_lowers_a_held_commission_which_stays_held_until_reviewed(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    app.held_sale("cr-1", "c-pay", "order-1", 10_000).await;

    let refund = app.refund("order-1", "r-1", 4_000).await.unwrap();
    let held = app.commission_of("cr-1", "order-1").await;
    let balance_held = app.balance("cr-1").await;
    let nothing = app
        .payout(&app.keys.merchant, "p-0", "", "cr-1", "DKK")
        .await;
    let released = app
        .review_commission("order-1", CommissionDecision::Release, "ok")
        .await
        .unwrap();
    let refund_after = app.refund("order-1", "r-2", 1_000).await.unwrap();
    let payout = app.paid("p-1", "cr-1").await;

    assert_eq!(amount(&refund.commission_remaining), 600);
    assert_eq!(held.status(), CommissionStatus::Held);
    assert_eq!(amount(&held.commission), 600);
    assert_eq!(amount(&held.sale_amount), 6_000);
    assert_eq!(balance_held, (0, 0, 600, 0, 0));
    assert_error(
        &nothing.unwrap_err(),
        Code::FailedPrecondition,
        "NOTHING_TO_PAY",
    );
    assert_eq!(released.status(), CommissionStatus::Payable);
    assert_eq!(amount(&released.commission), 600);
    assert_eq!(amount(&refund_after.commission_remaining), 500);
    assert_eq!(amount(&payout.amount), 500);
    assert_eq!(app.balance("cr-1").await, (0, 0, 0, 500, 0));
}

async fn a_review_is_an_event_of_the_merchant_and_counts_nothing(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    app.held_sale("cr-1", "c-pay", "order-1", 10_000).await;
    app.held_sale("cr-1", "c-pay", "order-2", 2_000).await;
    let counted = app.total(Dimension::Creator, "cr-1").await;
    let merchant_counted = app.total(Dimension::Merchant, MERCHANT).await;
    app.clock.advance(TimeDelta::minutes(5));

    app.review_commission("order-1", CommissionDecision::Release, "fine")
        .await
        .unwrap();
    app.review_commission("order-2", CommissionDecision::Void, "")
        .await
        .unwrap();
    let events = app
        .domain
        .store()
        .read_events(MERCHANT, None, 10_000)
        .await
        .unwrap();

    let sale_click = |order: &str| {
        events
            .iter()
            .find(|e| e.kind == EventKind::Sale && e.order_id == order)
            .expect("the sale's event")
            .click_id
    };
    let reviews: Vec<&cartclick::model::Event> = events
        .iter()
        .filter(|e| e.kind == EventKind::CommissionReviewed)
        .collect();
    let [release, void] = reviews.as_slice() else {
        panic!("two reviews expected: {reviews:?}");
    };
    for (event, order, decision, commission) in [
        (
            release,
            "order-1",
            cartclick::model::CommissionDecision::Release,
            1_000,
        ),
        (
            void,
            "order-2",
            cartclick::model::CommissionDecision::Void,
            200,
        ),
    ] {
        assert_eq!(event.order_id, order);
        assert_eq!(event.decision, Some(decision));
        assert_eq!(
            event
                .commission
                .as_ref()
                .map(|m| (m.amount_minor, m.currency.as_str())),
            Some((commission, "DKK")),
            "what was reviewed"
        );
        assert_eq!(event.amount, None);
        assert_eq!(event.at, start_time() + TimeDelta::minutes(5));
        assert_eq!(event.click_id, sale_click(order));
        assert_eq!(event.attribution.creator_id.to_string(), "cr-1");
        assert_eq!(event.attribution.campaign_id.to_string(), "c-pay");
        assert!(
            event
                .signals
                .contains(cartclick::model::FraudSignal::SaleTooFast),
            "{:?}",
            event.signals
        );
    }
    assert_eq!(app.total(Dimension::Creator, "cr-1").await, counted);
    assert_eq!(
        app.total(Dimension::Merchant, MERCHANT).await,
        merchant_counted
    );
}

async fn money_is_conserved_under_concurrent_reviews_and_refunds(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_500, 0).await;
    const ORDERS: i64 = 12;
    for i in 0..ORDERS {
        app.held_sale("cr-1", "c-pay", &format!("order-{i}"), 10_000 + i)
            .await;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..ORDERS {
        let order = format!("order-{i}");
        let decision = if i % 2 == 0 {
            CommissionDecision::Release
        } else {
            CommissionDecision::Void
        };
        // Two admins review each commission at once: one review stands.
        for _ in 0..2 {
            let (client, order) = (app.client.clone(), order.clone());
            tasks.spawn(async move {
                let request = ReviewCommissionRequest {
                    merchant_id: MERCHANT.into(),
                    order_id: order.clone(),
                    decision: decision.into(),
                    reason: "concurrent".into(),
                };
                let answer =
                    earnings_service_client::EarningsServiceClient::new(client.channel.clone())
                        .review_commission(authed(&client.keys.admin, request))
                        .await;
                match answer {
                    Ok(_) => 1,
                    Err(status) if error_reason(&status) == "COMMISSION_NOT_HELD" => 0,
                    Err(status) => panic!("review of {order}: {status:?}"),
                }
            });
        }
        // And the shop refunds three times meanwhile.
        let client = app.client.clone();
        tasks.spawn(async move {
            for r in 0..3 {
                let mut retries = 0;
                retry_unavailable(BOUND, &mut retries, || {
                    let (client, order) = (client.clone(), order.clone());
                    async move {
                        let reversal = format!("r-{order}-{r}");
                        client.refund(&order, &reversal, 1_111).await
                    }
                })
                .await
                .unwrap_or_else(|status| panic!("refund of {order}: {status:?}"));
            }
            0
        });
    }
    // A payout now and then, of what release made payable.
    for p in 0..3 {
        let client = app.client.clone();
        tasks.spawn(async move {
            let request = CreatePayoutRequest {
                payout_id: format!("p-{p}"),
                merchant_id: String::new(),
                creator_id: "cr-1".into(),
                currency_code: "DKK".into(),
            };
            let mut retries = 0;
            let answer = retry_unavailable(BOUND, &mut retries, || {
                let mut rpc =
                    earnings_service_client::EarningsServiceClient::new(client.channel.clone());
                let request = authed(&client.keys.merchant, request.clone());
                async move { rpc.create_payout(request).await }
            })
            .await;
            if let Err(status) = answer {
                assert_eq!(error_reason(&status), "NOTHING_TO_PAY", "{status:?}");
            }
            0
        });
    }
    let mut reviews = 0;
    while let Some(done) = tasks.join_next().await {
        reviews += done.expect("no client panicked");
    }

    let listed = app.all_commissions("cr-1").await;
    let (pending, payable, held, paid, clawback) = app.balance("cr-1").await;
    let report = app
        .domain
        .reconcile(&MerchantId::stored(MERCHANT), start_time().date_naive())
        .await
        .unwrap();

    assert_eq!(reviews, ORDERS, "each commission reviewed exactly once");
    assert_eq!(listed.len(), ORDERS as usize);
    for commission in &listed {
        let i: i64 = commission.order_id["order-".len()..].parse().unwrap();
        let sale = 10_000 + i;
        assert_eq!(amount(&commission.sale_amount), sale - 3_333);
        assert_eq!(commission.review_reason, "concurrent");
        if i % 2 == 0 {
            let earned = sale * 1_500 / 10_000;
            assert_eq!(
                amount(&commission.commission),
                earned * (sale - 3_333) / sale,
                "{commission:?}"
            );
            assert!(
                matches!(
                    commission.status(),
                    CommissionStatus::Payable | CommissionStatus::Paid
                ),
                "{commission:?}"
            );
        } else {
            assert_eq!(commission.status(), CommissionStatus::Void);
            assert_eq!(amount(&commission.commission), 0);
        }
    }
    let standing: i64 = listed.iter().map(|c| amount(&c.commission)).sum();
    assert_eq!(pending + payable + held + paid - clawback, standing);
    assert_eq!((pending, held), (0, 0), "every held commission reviewed");
    assert_eq!(report.drift, Vec::<String>::new());
    assert_eq!(report.commissions, ORDERS as usize);
}

async fn a_held_commission_that_outlived_its_order_is_still_reviewed(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    app.held_sale("cr-1", "c-pay", "order-1", 10_000).await;
    app.held_sale("cr-1", "c-pay", "order-2", 10_000).await;
    // Past order retention (90 days): the orders are gone, the held
    // commissions (money owed) are not. Redis expires by its own clock, so
    // there the orders are removed as their expiry would.
    app.clock.advance(TimeDelta::days(200));
    forget_orders(&app, &["order-1", "order-2"]).await;

    let released = app
        .review_commission("order-1", CommissionDecision::Release, "")
        .await
        .unwrap();
    let voided = app
        .review_commission("order-2", CommissionDecision::Void, "")
        .await
        .unwrap();
    let reviews = app.review_events().await;
    let payout = app.paid("p-1", "cr-1").await;

    assert_eq!(released.status(), CommissionStatus::Payable);
    assert_eq!(voided.status(), CommissionStatus::Void);
    assert_eq!(reviews.len(), 2);
    assert!(
        reviews
            .iter()
            .all(|e| e.click_id == cartclick::token::ClickId::from_bytes([0; 16])),
        "no order, no click: {reviews:?}"
    );
    assert_eq!(amount(&payout.amount), 1_000);
    assert_eq!(app.balance("cr-1").await, (0, 0, 0, 1_000, 0));
    // A voided commission is kept order retention from its review, then
    // expires as its order would have.
    match backend {
        Backend::Memory => {
            app.clock.advance(TimeDelta::days(91));
            let listed = app.all_commissions("cr-1").await;
            let orders: Vec<&str> = listed.iter().map(|c| c.order_id.as_str()).collect();
            assert!(!orders.contains(&"order-2"), "{orders:?}");
        }
        _ => {
            let ttl = commission_ttl_ms(&app, "order-2").await;
            let retention = 90 * DAY * 1_000;
            assert!(
                (retention - 60_000..=retention).contains(&ttl),
                "PTTL {ttl}"
            );
        }
    }
}

/// Removes MERCHANT's order records as their expiry would (the memory
/// store forgets them by its clock already).
async fn forget_orders(app: &TestApp, orders: &[&str]) {
    for order in orders {
        let key = format!("o:{{{MERCHANT}}}:{order}");
        match (&app.redis, &app.cluster) {
            (Some(redis), _) => {
                let mut conn = redis.connection().await;
                let _: () = ::redis::cmd("DEL")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
            (_, Some(cluster)) => {
                let mut conn = cluster.connection().await;
                let _: () = ::redis::cmd("DEL")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
            _ => {}
        }
    }
}

/// The PTTL of MERCHANT's commission record of `order`.
async fn commission_ttl_ms(app: &TestApp, order: &str) -> i64 {
    let key = format!("c:{{{MERCHANT}}}:{order}");
    match (&app.redis, &app.cluster) {
        (Some(redis), _) => {
            let mut conn = redis.connection().await;
            ::redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap()
        }
        (_, Some(cluster)) => {
            let mut conn = cluster.connection().await;
            ::redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap()
        }
        _ => panic!("no redis"),
    }
}

on_all_backends!(
    a_flagged_sales_commission_is_held_and_never_paid_until_released,
    a_released_commission_in_its_holding_period_is_pending_and_a_voided_one_earns_nothing,
    only_a_held_commission_is_reviewed,
    only_an_admin_key_reviews,
    malformed_reviews_name_the_field_and_change_nothing,
    a_refund_lowers_a_held_commission_which_stays_held_until_reviewed,
    a_review_is_an_event_of_the_merchant_and_counts_nothing,
    money_is_conserved_under_concurrent_reviews_and_refunds,
    a_held_commission_that_outlived_its_order_is_still_reviewed,
);
