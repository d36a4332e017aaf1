//! EarningsService and the commission a sale earns: campaign terms taken at
//! the click, commissions written with their sale, refunds that take back
//! in proportion, balances, listings in pages, payouts exactly once, and
//! clawbacks deducted from the next payout. Every test runs on every store.

use std::collections::{HashMap, HashSet};

use cartclick::proto::*;
use chrono::TimeDelta;
use tonic::Code;

use crate::support::*;

/// A day, for holding periods.
const DAY: i64 = 86_400;

impl TestApp {
    /// EarningsService over the shared connection.
    pub(crate) fn earnings_client(
        &self,
    ) -> earnings_service_client::EarningsServiceClient<tonic::transport::Channel> {
        earnings_service_client::EarningsServiceClient::new(self.channel.clone())
    }

    /// Puts and approves campaign `id` of MERCHANT paying `rate_bps` after
    /// `holding_days`.
    pub(crate) async fn paying_campaign(
        &self,
        id: &str,
        rate_bps: u32,
        holding_days: i64,
    ) -> Campaign {
        let campaign = Campaign {
            commission_rate_bps: rate_bps,
            holding_period: Some(prost_types::Duration {
                seconds: holding_days * DAY,
                nanos: 0,
            }),
            ..campaign(id, MERCHANT, "apparel", &[])
        };
        self.try_put_campaign(campaign).await.expect("put campaign");
        self.review(id, ReviewDecision::Approve).await
    }

    /// A new click on `creator`'s video under `campaign`, and its token.
    pub(crate) async fn tap_for(&self, creator: &str, campaign: &str) -> String {
        let viewer = format!("viewer-{}", rand::random::<u64>());
        let request = IssueTokenRequest {
            creator_id: creator.into(),
            campaign_id: campaign.into(),
            ..tap(&viewer)
        };
        let token = self.issue(request).await.expect("tap").token;
        // A shop's checkout takes longer than the fraud rules' least click
        // to sale: these sales are not SALE_TOO_FAST, their commissions not
        // held (tests/api/fraud.rs tests those).
        self.clock.advance(TimeDelta::seconds(10));
        token
    }

    /// A sale of `amount_minor` DKK on `token` as MERCHANT; its commission.
    pub(crate) async fn sale(&self, token: &str, order_id: &str, amount_minor: i64) -> Money {
        self.confirm(token, order_id, amount_minor, "DKK")
            .await
            .expect("confirm sale")
            .commission
            .expect("a commission")
    }

    /// GetEarnings with `key`.
    async fn earnings_of(
        &self,
        key: &str,
        creator: &str,
        merchant: &str,
    ) -> Result<Vec<EarningsBalance>, tonic::Status> {
        let request = GetEarningsRequest {
            creator_id: creator.into(),
            merchant_id: merchant.into(),
        };
        Ok(self
            .earnings_client()
            .get_earnings(authed(key, request))
            .await?
            .into_inner()
            .balances)
    }

    /// The one DKK balance of `creator` with MERCHANT, as the dashboard
    /// reads it: (pending, payable, held, paid, clawback).
    pub(crate) async fn balance(&self, creator: &str) -> (i64, i64, i64, i64, i64) {
        let balances = self
            .earnings_of(&self.keys.dashboard, creator, MERCHANT)
            .await
            .expect("get earnings");
        let [balance] = balances.as_slice() else {
            panic!("one balance expected: {balances:?}");
        };
        let amount = |m: &Option<Money>| m.as_ref().expect("money").amount_minor;
        (
            amount(&balance.pending),
            amount(&balance.payable),
            amount(&balance.held),
            amount(&balance.paid),
            amount(&balance.clawback),
        )
    }

    /// ListCommissions with `key`.
    pub(crate) async fn commissions(
        &self,
        key: &str,
        request: ListCommissionsRequest,
    ) -> Result<ListCommissionsResponse, tonic::Status> {
        Ok(self
            .earnings_client()
            .list_commissions(authed(key, request))
            .await?
            .into_inner())
    }

    /// Every commission of `creator` with MERCHANT, walking pages of 1000.
    pub(crate) async fn all_commissions(&self, creator: &str) -> Vec<Commission> {
        let mut all = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .commissions(
                    &self.keys.merchant,
                    ListCommissionsRequest {
                        creator_id: creator.into(),
                        page_size: 1000,
                        page_token,
                        ..Default::default()
                    },
                )
                .await
                .expect("list commissions");
            all.extend(page.commissions);
            if page.next_page_token.is_empty() {
                return all;
            }
            page_token = page.next_page_token;
        }
    }

    /// CreatePayout with `key`.
    pub(crate) async fn payout(
        &self,
        key: &str,
        payout_id: &str,
        merchant: &str,
        creator: &str,
        currency: &str,
    ) -> Result<CreatePayoutResponse, tonic::Status> {
        let request = CreatePayoutRequest {
            payout_id: payout_id.into(),
            merchant_id: merchant.into(),
            creator_id: creator.into(),
            currency_code: currency.into(),
        };
        Ok(self
            .earnings_client()
            .create_payout(authed(key, request))
            .await?
            .into_inner())
    }

    /// A payout by MERCHANT's key to `creator` in DKK that must be made.
    pub(crate) async fn paid(&self, payout_id: &str, creator: &str) -> Payout {
        self.payout(&self.keys.merchant, payout_id, "", creator, "DKK")
            .await
            .expect("create payout")
            .payout
            .expect("a payout")
    }
}

fn amount(money: &Option<Money>) -> i64 {
    money.as_ref().expect("money").amount_minor
}

fn status_of(commission: &Commission) -> CommissionStatus {
    commission.status()
}

async fn a_sale_earns_the_commission_of_the_terms_in_force_at_its_click(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 7).await;
    let before = app.tap_for("cr-1", "c-pay").await;
    // A cut to 5 %: no review, and the click already made keeps 10 %.
    let cut = app.paying_campaign("c-pay", 500, 7).await;
    let after = app.tap_for("cr-1", "c-pay").await;

    let first = app.sale(&before, "order-1", 12_345).await;
    let replay = app.sale(&before, "order-1", 12_345).await;
    let second = app.sale(&after, "order-2", 10_000).await;
    let none = app
        .sale(&app.tap_for("cr-1", CAMPAIGN).await, "order-3", 10_000)
        .await;

    assert_eq!(cut.commission_rate_bps, 500);
    assert_eq!(cut.status(), CampaignStatus::Approved);
    assert_eq!(
        (first.amount_minor, first.currency_code.as_str()),
        (1_234, "DKK")
    );
    assert_eq!(replay, first);
    assert_eq!(second.amount_minor, 500);
    assert_eq!((none.amount_minor, none.currency_code.as_str()), (0, "DKK"));
    let listed = app.all_commissions("cr-1").await;
    let orders: HashSet<&str> = listed.iter().map(|c| c.order_id.as_str()).collect();
    assert_eq!(
        orders,
        HashSet::from(["order-1", "order-2"]),
        "no commission, no record"
    );
    let first = listed.iter().find(|c| c.order_id == "order-1").unwrap();
    assert_eq!(first.commission_rate_bps, 1_000);
    assert_eq!(status_of(first), CommissionStatus::Pending);
    assert_eq!(
        first.holding_period.as_ref().map(|d| d.seconds),
        Some(7 * DAY)
    );
    assert_eq!(app.balance("cr-1").await, (1_734, 0, 0, 0, 0));
}

async fn campaign_terms_are_validated_and_kept(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let too_much = Campaign {
        commission_rate_bps: 10_001,
        ..campaign("c-x", MERCHANT, "apparel", &[])
    };
    let too_long = Campaign {
        holding_period: Some(prost_types::Duration {
            seconds: 91 * DAY,
            nanos: 0,
        }),
        ..campaign("c-x", MERCHANT, "apparel", &[])
    };
    let negative = Campaign {
        holding_period: Some(prost_types::Duration {
            seconds: -1,
            nanos: 0,
        }),
        ..campaign("c-x", MERCHANT, "apparel", &[])
    };

    for (refused, field) in [
        (too_much, "campaign.commission_rate_bps"),
        (too_long, "campaign.holding_period"),
        (negative, "campaign.holding_period"),
    ] {
        let status = app.try_put_campaign(refused).await.unwrap_err();
        assert_invalid_field(&status, field);
    }
    let default = app.put_campaign("c-x", MERCHANT, "apparel", &[]).await;
    assert_eq!(default.commission_rate_bps, 0);
    assert_eq!(
        default.holding_period.map(|d| d.seconds),
        Some(30 * DAY),
        "30 days unless the campaign says"
    );
    let most = app.paying_campaign("c-x", 10_000, 90).await;
    let read = app
        .admin()
        .get_campaign(authed(
            &app.keys.admin,
            GetCampaignRequest {
                campaign_id: "c-x".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap();
    assert_eq!(read, most);
    assert_eq!(read.commission_rate_bps, 10_000);
}

async fn refunds_take_back_in_proportion_from_the_totals_and_void_at_zero(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 3_000, 7).await;
    let token = app.tap_for("cr-1", "c-pay").await;
    assert_eq!(app.sale(&token, "order-1", 10).await.amount_minor, 3);

    let mut left = Vec::new();
    for i in 0..10 {
        let answer = app.refund("order-1", &format!("r-{i}"), 1).await.unwrap();
        left.push(amount(&answer.commission_remaining));
    }
    let replay = app.refund("order-1", "r-3", 1).await.unwrap();

    // floor(3 * remaining / 10) for remaining 9..0: never the sum of
    // rounded steps (which would reach 0 after three refunds).
    assert_eq!(left, vec![2, 2, 2, 1, 1, 1, 0, 0, 0, 0]);
    assert_eq!(amount(&replay.commission_remaining), 1);
    assert!(replay.replayed);
    let listed = app.all_commissions("cr-1").await;
    let [commission] = listed.as_slice() else {
        panic!("{listed:?}");
    };
    assert_eq!(status_of(commission), CommissionStatus::Void);
    assert_eq!(amount(&commission.commission), 0);
    assert_eq!(amount(&commission.sale_amount), 0);
    assert_eq!(app.balance("cr-1").await, (0, 0, 0, 0, 0));
    let total = app.total(Dimension::Creator, "cr-1").await;
    assert_eq!(total.commission, vec![dkk(0)], "3 earned, 3 taken back");
}

async fn a_payout_pays_once_and_a_refund_after_it_is_clawed_back_from_the_next(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 1).await;
    let a = app.tap_for("cr-1", "c-pay").await;
    let b = app.tap_for("cr-1", "c-pay").await;
    app.sale(&a, "order-a", 10_000).await;
    app.sale(&b, "order-b", 5_000).await;
    let too_early = app
        .payout(&app.keys.merchant, "p-0", "", "cr-1", "DKK")
        .await;
    app.clock.advance(TimeDelta::days(1));
    assert_eq!(app.balance("cr-1").await, (0, 1_500, 0, 0, 0));

    let first = app.paid("p-1", "cr-1").await;
    let replay = app
        .payout(&app.keys.merchant, "p-1", "", "cr-1", "DKK")
        .await
        .unwrap();
    let conflict = app
        .payout(&app.keys.merchant, "p-1", "", "cr-1", "EUR")
        .await;
    let nothing = app
        .payout(&app.keys.merchant, "p-2", "", "cr-1", "DKK")
        .await;
    let half = app.refund("order-a", "r-a", 5_000).await.unwrap();
    let after_refund = app.balance("cr-1").await;
    let c = app.tap_for("cr-1", "c-pay").await;
    app.sale(&c, "order-c", 20_000).await;
    let small = app.tap_for("cr-1", "c-pay").await;
    app.sale(&small, "order-d", 1_000).await;
    app.clock.advance(TimeDelta::days(1));
    let next = app.paid("p-3", "cr-1").await;

    assert_eq!(too_early.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(amount(&first.amount), 1_500);
    assert_eq!(first.commissions, 2);
    assert_eq!(amount(&first.clawback_deducted), 0);
    assert!(replay.replayed);
    assert_eq!(replay.payout.as_ref(), Some(&first));
    assert_eq!(conflict.unwrap_err().code(), Code::AlreadyExists);
    let nothing = nothing.unwrap_err();
    assert_eq!(nothing.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&nothing), "NOTHING_TO_PAY");
    assert_eq!(amount(&half.commission_remaining), 500);
    assert_eq!(
        after_refund,
        (0, 0, 0, 1_500, 500),
        "paid stays, 500 to claw back"
    );
    assert_eq!(amount(&next.amount), 2_100 - 500);
    assert_eq!(amount(&next.clawback_deducted), 500);
    assert_eq!(next.commissions, 2);
    assert_eq!(app.balance("cr-1").await, (0, 0, 0, 3_100, 0));
    let listed = app.all_commissions("cr-1").await;
    let by_order: HashMap<&str, (&str, i64, CommissionStatus)> = listed
        .iter()
        .map(|c| {
            (
                c.order_id.as_str(),
                (c.payout_id.as_str(), amount(&c.commission), status_of(c)),
            )
        })
        .collect();
    assert_eq!(by_order["order-a"], ("p-1", 500, CommissionStatus::Paid));
    assert_eq!(by_order["order-b"], ("p-1", 500, CommissionStatus::Paid));
    assert_eq!(by_order["order-c"], ("p-3", 2_000, CommissionStatus::Paid));
    // A payout's statement, for a dashboard that names the creator only.
    let statement = app
        .commissions(
            &app.keys.dashboard,
            ListCommissionsRequest {
                creator_id: "cr-1".into(),
                payout_id: "p-1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut paid_by_first: Vec<&str> = statement
        .commissions
        .iter()
        .map(|c| c.order_id.as_str())
        .collect();
    paid_by_first.sort();
    assert_eq!(paid_by_first, vec!["order-a", "order-b"]);
    // pending + payable + held + paid - clawback = the commissions as they stand.
    let standing: i64 = listed.iter().map(|c| amount(&c.commission)).sum();
    assert_eq!(standing, 3_100);
}

async fn a_clawback_as_large_as_what_is_payable_pays_nothing_and_stays_whole(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    let a = app.tap_for("cr-1", "c-pay").await;
    app.sale(&a, "order-a", 10_000).await;
    app.paid("p-1", "cr-1").await;
    app.refund("order-a", "r-a", 10_000).await.unwrap();
    let b = app.tap_for("cr-1", "c-pay").await;
    app.sale(&b, "order-b", 10_000).await;

    let refused = app
        .payout(&app.keys.merchant, "p-2", "", "cr-1", "DKK")
        .await
        .unwrap_err();
    let unchanged = app.balance("cr-1").await;
    let statement = app
        .commissions(
            &app.keys.merchant,
            ListCommissionsRequest {
                payout_id: "p-2".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(error_reason(&refused), "NOTHING_TO_PAY");
    assert_eq!(unchanged, (0, 1_000, 0, 1_000, 1_000));
    assert!(statement.commissions.is_empty(), "p-2 stays unused");
}

async fn commissions_list_newest_first_in_pages_that_walk_each_once(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    let mut orders = Vec::new();
    for i in 0..7 {
        let token = app.tap_for("cr-1", "c-pay").await;
        app.sale(&token, &format!("order-{i}"), 1_000 * (i + 1))
            .await;
        orders.push(format!("order-{i}"));
        app.clock.advance(TimeDelta::seconds(1));
    }
    // Two more in the same millisecond: ordered by order id.
    for order in ["order-z", "order-y"] {
        let token = app.tap_for("cr-1", "c-pay").await;
        app.sale(&token, order, 100).await;
    }
    app.paid("p-1", "cr-1").await;
    let token = app.tap_for("cr-1", "c-pay").await;
    app.sale(&token, "order-new", 100).await;

    let mut walked = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .commissions(
                &app.keys.dashboard,
                ListCommissionsRequest {
                    merchant_id: MERCHANT.into(),
                    page_size: 3,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.commissions.len() <= 3);
        walked.extend(page.commissions.into_iter().map(|c| c.order_id));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let paid = app
        .commissions(
            &app.keys.merchant,
            ListCommissionsRequest {
                status: CommissionStatus::Paid.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let payable = app
        .commissions(
            &app.keys.merchant,
            ListCommissionsRequest {
                creator_id: "cr-1".into(),
                status: CommissionStatus::Payable.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let foreign = app
        .commissions(
            &app.keys.merchant,
            ListCommissionsRequest {
                creator_id: "cr-1".into(),
                page_token: page_token.clone(),
                ..Default::default()
            },
        )
        .await;

    let mut expected = vec!["order-new", "order-y", "order-z"];
    expected.extend(orders.iter().rev().map(String::as_str));
    assert_eq!(walked, expected);
    assert!(pages >= 4, "{pages} pages of 3 for 10 commissions");
    assert_eq!(paid.commissions.len(), 9);
    let payable: Vec<&str> = payable
        .commissions
        .iter()
        .map(|c| c.order_id.as_str())
        .collect();
    assert_eq!(payable, vec!["order-new"]);
    assert_invalid_field(&foreign.unwrap_err(), "page_token");
}

async fn keys_reach_the_earnings_their_role_allows(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    let token = app.tap_for("cr-1", "c-pay").await;
    app.sale(&token, "order-1", 10_000).await;

    let own = app
        .earnings_of(&app.keys.merchant, "cr-1", "")
        .await
        .unwrap();
    let other = app
        .earnings_of(&app.keys.other_merchant, "cr-1", MERCHANT)
        .await;
    let others_own = app
        .earnings_of(&app.keys.other_merchant, "cr-1", "")
        .await
        .unwrap();
    let all = app
        .earnings_of(&app.keys.dashboard, "cr-1", "")
        .await
        .unwrap();
    let feed = app.earnings_of(&app.keys.feed, "cr-1", "").await;
    let dashboard_pays = app
        .payout(&app.keys.dashboard, "p-1", MERCHANT, "cr-1", "DKK")
        .await;
    let admin_unnamed = app.payout(&app.keys.admin, "p-1", "", "cr-1", "DKK").await;
    let other_pays = app
        .payout(&app.keys.other_merchant, "p-1", MERCHANT, "cr-1", "DKK")
        .await;
    let admin_pays = app
        .payout(&app.keys.admin, "p-1", MERCHANT, "cr-1", "DKK")
        .await
        .unwrap();
    let unscoped = app
        .commissions(&app.keys.dashboard, ListCommissionsRequest::default())
        .await;

    assert_eq!(own.len(), 1);
    assert_eq!(amount(&own[0].payable), 1_000);
    assert_eq!(other.unwrap_err().code(), Code::PermissionDenied);
    assert!(others_own.is_empty(), "m-2 owes cr-1 nothing");
    assert_eq!(all, own);
    assert_eq!(feed.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(dashboard_pays.unwrap_err().code(), Code::PermissionDenied);
    assert_invalid_field(&admin_unnamed.unwrap_err(), "merchant_id");
    assert_eq!(other_pays.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(amount(&admin_pays.payout.unwrap().amount), 1_000);
    assert_invalid_field(&unscoped.unwrap_err(), "creator_id");
}

async fn malformed_earnings_requests_name_the_field(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let key = app.keys.merchant.clone();

    let no_creator = app.earnings_of(&key, "", "").await.unwrap_err();
    let bad_size = app
        .commissions(
            &key,
            ListCommissionsRequest {
                page_size: -1,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    let bad_status = app
        .commissions(
            &key,
            ListCommissionsRequest {
                status: 99,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    let forged = app
        .commissions(
            &key,
            ListCommissionsRequest {
                page_token: "bm90IGEgdG9rZW4".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    let no_payout_id = app.payout(&key, "", "", "cr-1", "DKK").await.unwrap_err();
    let no_currency = app.payout(&key, "p-1", "", "cr-1", "").await.unwrap_err();
    let bad_currency = app
        .payout(&key, "p-1", "", "cr-1", "XXX")
        .await
        .unwrap_err();
    let long_id = app
        .payout(&key, &"p".repeat(129), "", "cr-1", "DKK")
        .await
        .unwrap_err();

    assert_invalid_field(&no_creator, "creator_id");
    assert_invalid_field(&bad_size, "page_size");
    assert_invalid_field(&bad_status, "status");
    assert_invalid_field(&forged, "page_token");
    assert_invalid_field(&no_payout_id, "payout_id");
    assert_invalid_field(&no_currency, "currency_code");
    assert_eq!(bad_currency.code(), Code::InvalidArgument);
    assert_invalid_field(&long_id, "payout_id");
}

async fn commission_is_counted_net_of_refunds_and_ranked(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    let a = app.tap_for("cr-a", "c-pay").await;
    let b = app.tap_for("cr-b", "c-pay").await;
    app.sale(&a, "order-a", 10_000).await;
    app.sale(&b, "order-b", 30_000).await;
    app.refund("order-b", "r-b", 25_000).await.unwrap();

    let a_total = app.total(Dimension::Creator, "cr-a").await;
    let merchant = app.total(Dimension::Merchant, MERCHANT).await;
    let top = app
        .counters()
        .list_top(authed(
            &app.keys.dashboard,
            ListTopRequest {
                dimension: Dimension::Creator.into(),
                day: start_time().format("%Y-%m-%d").to_string(),
                metric: TopMetric::Commission.into(),
                currency_code: "DKK".into(),
                limit: 10,
                merchant_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner();

    assert_eq!(a_total.commission, vec![dkk(1_000)]);
    assert_eq!(
        merchant.commission,
        vec![dkk(1_500)],
        "3,000 less 2,500 taken back"
    );
    let ranked: Vec<(String, i64)> = top.entries.into_iter().map(|e| (e.id, e.value)).collect();
    assert_eq!(
        ranked,
        vec![("cr-a".to_owned(), 1_000), ("cr-b".to_owned(), 500)]
    );
}

async fn money_is_conserved_under_concurrent_sales_refunds_and_payouts(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_500, 0).await;
    let mut tokens = Vec::new();
    for _ in 0..24 {
        tokens.push(app.tap_for("cr-1", "c-pay").await);
    }
    let client = app.client.clone();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, token) in tokens.iter().enumerate() {
        let (client, token) = (client.clone(), token.clone());
        tasks.spawn(async move {
            let order = format!("order-{i}");
            // Each sale sent twice at once: one is a replay.
            let (a, b) = tokio::join!(
                client.confirm(&token, &order, 10_000 + i as i64, "DKK"),
                client.confirm(&token, &order, 10_000 + i as i64, "DKK")
            );
            a.unwrap();
            b.unwrap();
            for r in 0..3 {
                let refund = client.refund(&order, &format!("r-{i}-{r}"), 1_111).await;
                refund.unwrap();
            }
        });
    }
    for p in 0..6 {
        let client = client.clone();
        tasks.spawn(async move {
            // Each payout sent twice. While sales and refunds keep moving
            // what is payable, a payout may answer STORE_UNAVAILABLE (its
            // quote never stood long enough): safe to retry, as a shop does.
            let mut sent = 0;
            for attempt in 0..200 {
                let request = CreatePayoutRequest {
                    payout_id: format!("p-{p}"),
                    merchant_id: String::new(),
                    creator_id: "cr-1".into(),
                    currency_code: "DKK".into(),
                };
                let answer =
                    earnings_service_client::EarningsServiceClient::new(client.channel.clone())
                        .create_payout(authed(&client.keys.merchant, request))
                        .await;
                match answer {
                    Ok(_) => sent += 1,
                    Err(status) if error_reason(&status) == "NOTHING_TO_PAY" => sent += 1,
                    Err(status) if error_reason(&status) == "STORE_UNAVAILABLE" => {}
                    Err(status) => panic!("payout p-{p} attempt {attempt}: {status:?}"),
                }
                if sent == 2 {
                    break;
                }
            }
            assert_eq!(sent, 2, "payout p-{p} answered");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("no client panicked");
    }
    // What the refunds after a payout clawed back may cover what is left.
    let last = app
        .payout(&app.keys.merchant, "p-last", "", "cr-1", "DKK")
        .await;
    if let Err(status) = &last {
        assert_eq!(error_reason(status), "NOTHING_TO_PAY", "{status:?}");
    }

    let listed = app.all_commissions("cr-1").await;
    let payouts = app
        .earnings_client()
        .list_payouts(authed(
            &app.keys.merchant,
            ListPayoutsRequest {
                creator_id: "cr-1".into(),
                page_size: 1000,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .payouts;
    let (pending, payable, held, paid, clawback) = app.balance("cr-1").await;

    // Every sale earned floor(amount * 15 %), and three refunds of 1,111
    // left floor(earned * remaining / amount) of it.
    let expected: i64 = (0..24)
        .map(|i| {
            let sale = 10_000 + i;
            let earned = sale * 1_500 / 10_000;
            earned * (sale - 3_333) / sale
        })
        .sum();
    let standing: i64 = listed.iter().map(|c| amount(&c.commission)).sum();
    assert_eq!(listed.len(), 24);
    assert_eq!(standing, expected);
    assert_eq!(pending + payable + held + paid - clawback, standing);
    assert_eq!((pending, held), (0, 0), "no holding period, no signals");
    if last.is_ok() {
        assert_eq!((payable, clawback), (0, 0), "the last payout paid the rest");
    } else {
        assert!(
            clawback >= payable,
            "refused only when the clawback covers it"
        );
    }
    let sent: i64 = payouts.iter().map(|p| amount(&p.amount)).sum();
    assert_eq!(sent, paid, "the ledger's paid is what the payouts sent");
    let counted: i64 = payouts.iter().map(|p| p.commissions).sum();
    let paid_commissions = listed
        .iter()
        .filter(|c| status_of(c) == CommissionStatus::Paid)
        .count();
    assert_eq!(
        counted as usize, paid_commissions,
        "each paid by one payout"
    );
    let payout_ids: HashSet<&str> = payouts.iter().map(|p| p.payout_id.as_str()).collect();
    assert!(
        listed
            .iter()
            .filter(|c| status_of(c) == CommissionStatus::Paid)
            .all(|c| payout_ids.contains(c.payout_id.as_str()))
    );
    let ids: HashSet<&str> = payouts.iter().map(|p| p.payout_id.as_str()).collect();
    assert_eq!(ids.len(), payouts.len(), "no payout listed twice");
}

async fn payouts_list_newest_first_and_a_payout_is_an_event(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    for p in 0..3 {
        let token = app.tap_for("cr-1", "c-pay").await;
        app.sale(&token, &format!("order-{p}"), 1_000).await;
        app.paid(&format!("p-{p}"), "cr-1").await;
        app.clock.advance(TimeDelta::seconds(1));
    }

    let first = app
        .earnings_client()
        .list_payouts(authed(
            &app.keys.dashboard,
            ListPayoutsRequest {
                merchant_id: MERCHANT.into(),
                page_size: 2,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let second = app
        .earnings_client()
        .list_payouts(authed(
            &app.keys.dashboard,
            ListPayoutsRequest {
                merchant_id: MERCHANT.into(),
                page_size: 2,
                page_token: first.next_page_token.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let events = app
        .domain
        .store()
        .read_events(MERCHANT, None, 1_000)
        .await
        .unwrap();

    let ids = |page: &ListPayoutsResponse| -> Vec<String> {
        page.payouts.iter().map(|p| p.payout_id.clone()).collect()
    };
    assert_eq!(ids(&first), vec!["p-2", "p-1"]);
    assert_eq!(ids(&second), vec!["p-0"]);
    assert!(second.next_page_token.is_empty());
    let payout_events: Vec<(String, i64)> = events
        .iter()
        .filter(|e| e.kind == cartclick::model::EventKind::Payout)
        .map(|e| {
            (
                e.payout_id.clone(),
                e.amount.as_ref().map_or(0, |m| m.amount_minor),
            )
        })
        .collect();
    assert_eq!(
        payout_events,
        vec![
            ("p-0".to_owned(), 100),
            ("p-1".to_owned(), 100),
            ("p-2".to_owned(), 100)
        ]
    );
    let sale_commissions: Vec<i64> = events
        .iter()
        .filter(|e| e.kind == cartclick::model::EventKind::Sale)
        .map(|e| e.commission.as_ref().map_or(-1, |m| m.amount_minor))
        .collect();
    assert_eq!(sale_commissions, vec![100, 100, 100]);
}

/// A sale of 10,000 DKK by cr-1 under a campaign paying 10 % at once.
pub(crate) async fn pay_later_sale(app: &TestApp, order_id: &str) {
    app.paying_campaign("c-pay", 1_000, 0).await;
    let token = app.tap_for("cr-1", "c-pay").await;
    app.sale(&token, order_id, 10_000).await;
}

/// A day of earnings: sales under a paying campaign, a refund before and
/// a refund after a payout, and a sale that pays nothing.
pub(crate) async fn earnings_day(app: &TestApp) {
    app.seed().await;
    app.paying_campaign("c-pay", 1_000, 0).await;
    let a = app.tap_for("cr-1", "c-pay").await;
    let b = app.tap_for("cr-2", "c-pay").await;
    let c = app.tap_for("cr-1", CAMPAIGN).await;
    app.sale(&a, "order-a", 10_000).await;
    app.sale(&b, "order-b", 7_777).await;
    app.sale(&c, "order-c", 5_000).await;
    app.refund("order-b", "r-b", 777).await.unwrap();
    app.paid("p-1", "cr-1").await;
    app.refund("order-a", "r-a", 2_500).await.unwrap();
}

async fn reconcile_recounts_commissions_and_ledgers_without_drift(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;
    earnings_day(&app).await;

    let report = app
        .domain
        .reconcile(
            &cartclick::model::MerchantId::stored(MERCHANT),
            start_time().date_naive(),
        )
        .await
        .unwrap();

    assert_eq!(report.drift, Vec::<String>::new());
    assert_eq!((report.sales, report.refunds), (3, 2));
    assert_eq!((report.commissions, report.ledgers), (2, 2));
}

on_all_backends!(
    reconcile_recounts_commissions_and_ledgers_without_drift,
    a_sale_earns_the_commission_of_the_terms_in_force_at_its_click,
    campaign_terms_are_validated_and_kept,
    refunds_take_back_in_proportion_from_the_totals_and_void_at_zero,
    a_payout_pays_once_and_a_refund_after_it_is_clawed_back_from_the_next,
    a_clawback_as_large_as_what_is_payable_pays_nothing_and_stays_whole,
    commissions_list_newest_first_in_pages_that_walk_each_once,
    keys_reach_the_earnings_their_role_allows,
    malformed_earnings_requests_name_the_field,
    commission_is_counted_net_of_refunds_and_ranked,
    money_is_conserved_under_concurrent_sales_refunds_and_payouts,
    payouts_list_newest_first_and_a_payout_is_an_event,
);
