//! AdminService: merchants, campaigns, review.

use cartclick::proto::*;
use tonic::Code;

use crate::support::*;

async fn a_merchant_reads_back_as_stored_with_normalised_domains(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;
    let stored = app
        .put_merchant(MERCHANT, &["Shop.DK", "bücher.example"], "")
        .await;

    let read = app
        .admin()
        .get_merchant(authed(
            &app.keys.admin,
            GetMerchantRequest {
                merchant_id: MERCHANT.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .merchant
        .unwrap();

    assert_eq!(read, stored);
    assert_eq!(
        read.allowed_domains,
        vec!["shop.dk", "xn--bcher-kva.example"]
    );
    assert_eq!(read.token_param, "cc");
}

async fn get_merchant(app: &TestApp, id: &str) -> Result<Merchant, tonic::Status> {
    Ok(app
        .admin()
        .get_merchant(authed(
            &app.keys.admin,
            GetMerchantRequest {
                merchant_id: id.into(),
            },
        ))
        .await?
        .into_inner()
        .merchant
        .unwrap())
}

async fn a_public_suffix_is_refused_as_a_merchant_domain_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    for suffix in ["co.uk", "github.io", "com", "dk"] {
        for merchant_id in [MERCHANT, "m-new"] {
            let merchant = Merchant {
                merchant_id: merchant_id.into(),
                display_name: "Everything under a suffix".into(),
                allowed_domains: vec!["shop.dk".into(), suffix.into()],
                token_param: String::new(),
            };

            let status = app
                .admin()
                .put_merchant(authed(
                    &app.keys.admin,
                    PutMerchantRequest {
                        merchant: Some(merchant),
                    },
                ))
                .await
                .unwrap_err();

            assert_invalid_field(&status, "merchant.allowed_domains");
        }
    }
    let kept = get_merchant(&app, MERCHANT).await.unwrap();
    assert_eq!(kept.allowed_domains, vec!["shop.dk"]);
    assert_eq!(kept.display_name, format!("Shop {MERCHANT}"));
    let never_made = get_merchant(&app, "m-new").await.unwrap_err();
    assert_error(&never_made, Code::NotFound, "MERCHANT_NOT_FOUND");
}

async fn a_domain_under_a_public_suffix_is_registered_and_only_it_is_a_landing_host(
    backend: Backend,
) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let stored = app
        .put_merchant(
            MERCHANT,
            &["example.co.uk", "shop.example.dk", "MyShop.GitHub.io"],
            "",
        )
        .await;
    let landing = tap_landing_on;

    let own = app.issue(landing("https://myshop.github.io/p")).await;
    let neighbour = app
        .issue(landing("https://othershop.github.io/p"))
        .await
        .unwrap_err();

    assert_eq!(
        stored.allowed_domains,
        vec!["example.co.uk", "myshop.github.io", "shop.example.dk"]
    );
    assert!(own.is_ok(), "{own:?}");
    assert_error(&neighbour, Code::InvalidArgument, "LANDING_URL_NOT_ALLOWED");
}

async fn an_unknown_merchant_is_not_found(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;

    let status = app
        .admin()
        .get_merchant(authed(
            &app.keys.admin,
            GetMerchantRequest {
                merchant_id: "nobody".into(),
            },
        ))
        .await
        .unwrap_err();
    let campaign_status = app
        .try_put_campaign(campaign("c-x", "nobody", "apparel", &[]))
        .await
        .unwrap_err();

    assert_error(&status, Code::NotFound, "MERCHANT_NOT_FOUND");
    assert_error(&campaign_status, Code::NotFound, "MERCHANT_NOT_FOUND");
}

async fn a_new_campaign_is_pending_with_the_default_window(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let created = app
        .put_campaign("c-new", MERCHANT, "apparel", &["sku-1"])
        .await;

    assert_eq!(created.status(), CampaignStatus::Pending);
    assert_eq!(created.attribution_window.unwrap().seconds, 7 * 86_400);
    let read = app
        .admin()
        .get_campaign(authed(
            &app.keys.admin,
            GetCampaignRequest {
                campaign_id: "c-new".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap();
    assert_eq!(read, created);
}

async fn changing_category_or_products_goes_back_to_review_and_the_window_does_not(
    backend: Backend,
) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let mut longer = campaign(CAMPAIGN, MERCHANT, "apparel", &[]);
    longer.attribution_window = Some(prost_types::Duration {
        seconds: 86_400,
        nanos: 0,
    });
    let window_changed = app.try_put_campaign(longer).await.unwrap();
    let category_changed = app.put_campaign(CAMPAIGN, MERCHANT, "shoes", &[]).await;
    app.review(CAMPAIGN, ReviewDecision::Approve).await;
    let products_changed = app
        .put_campaign(CAMPAIGN, MERCHANT, "shoes", &["sku-1"])
        .await;

    assert_eq!(window_changed.status(), CampaignStatus::Approved);
    assert_eq!(category_changed.status(), CampaignStatus::Pending);
    assert_eq!(products_changed.status(), CampaignStatus::Pending);
}

async fn a_campaign_window_sets_the_token_expiry(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let mut short = campaign(CAMPAIGN, MERCHANT, "apparel", &[]);
    short.attribution_window = Some(prost_types::Duration {
        seconds: 3600,
        nanos: 0,
    });
    app.try_put_campaign(short).await.unwrap();

    let issued = app.issue(tap("viewer-1")).await.unwrap();

    assert_eq!(
        issued.expires_at.unwrap().seconds,
        start_time().timestamp() + 3600
    );
}

async fn a_prohibited_category_can_never_be_approved(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.put_campaign("c-beer", MERCHANT, "Alcohol", &[]).await;

    let status = app
        .try_review("c-beer", ReviewDecision::Approve)
        .await
        .unwrap_err();

    assert_error(&status, Code::FailedPrecondition, "CATEGORY_PROHIBITED");
    let mut request = tap("viewer-1");
    request.campaign_id = "c-beer".into();
    let issue = app.issue(request).await.unwrap_err();
    assert_error(&issue, Code::FailedPrecondition, "CATEGORY_PROHIBITED");
}

async fn review_with_reason(
    app: &TestApp,
    id: &str,
    decision: ReviewDecision,
    reason: &str,
) -> Campaign {
    app.admin()
        .review_campaign(authed(
            &app.keys.admin,
            ReviewCampaignRequest {
                campaign_id: id.into(),
                decision: decision.into(),
                reason: reason.into(),
            },
        ))
        .await
        .expect("review")
        .into_inner()
        .campaign
        .unwrap()
}

async fn get_campaign(app: &TestApp, id: &str) -> Campaign {
    app.admin()
        .get_campaign(authed(
            &app.keys.admin,
            GetCampaignRequest {
                campaign_id: id.into(),
            },
        ))
        .await
        .expect("get campaign")
        .into_inner()
        .campaign
        .unwrap()
}

async fn every_review_decision_keeps_its_reason(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    app.put_campaign("c-new", MERCHANT, "apparel", &[]).await;

    for (decision, reason, status) in [
        (
            ReviewDecision::Reject,
            "misleading claims",
            CampaignStatus::Rejected,
        ),
        (
            ReviewDecision::Approve,
            "claims fixed, ok by legal",
            CampaignStatus::Approved,
        ),
        (
            ReviewDecision::Pause,
            "stock-out until monday",
            CampaignStatus::Paused,
        ),
    ] {
        let reviewed = review_with_reason(&app, "c-new", decision, reason).await;

        assert_eq!(reviewed.status(), status);
        assert_eq!(reviewed.review_reason, reason);
        assert_eq!(get_campaign(&app, "c-new").await, reviewed);
    }
}

async fn a_change_of_merchant_goes_back_to_review(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    let moved = app
        .put_campaign(CAMPAIGN, OTHER_MERCHANT, "apparel", &[])
        .await;

    assert_eq!(moved.status(), CampaignStatus::Pending);
    assert_eq!(
        get_campaign(&app, CAMPAIGN).await.merchant_id,
        OTHER_MERCHANT
    );
}

async fn the_longest_window_of_30_days_is_accepted_and_sets_the_token_expiry(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let thirty_days = 30 * 86_400;
    let mut longest = campaign(CAMPAIGN, MERCHANT, "apparel", &[]);
    longest.attribution_window = Some(prost_types::Duration {
        seconds: thirty_days,
        nanos: 0,
    });
    let stored = app.try_put_campaign(longest).await.unwrap();
    app.clock.advance(chrono::TimeDelta::hours(2));

    let issued = app.issue(tap("viewer-1")).await.unwrap();

    assert_eq!(stored.attribution_window.unwrap().seconds, thirty_days);
    assert_eq!(
        issued.expires_at.unwrap().seconds,
        start_time().timestamp() + 2 * 3600 + thirty_days
    );
}

async fn a_prohibited_category_is_refused_whatever_its_case_or_spacing(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;

    for category in ["TOBACCO ", "Tobacco", " tobacco", "ALCOHOL"] {
        app.put_campaign("c-smoke", MERCHANT, category, &[]).await;

        let status = app
            .try_review("c-smoke", ReviewDecision::Approve)
            .await
            .unwrap_err();

        assert_error(&status, Code::FailedPrecondition, "CATEGORY_PROHIBITED");
    }
}

async fn configured_categories_match_on_a_normalised_slug(backend: Backend) {
    let app = TestApp::builder()
        .on(backend)
        .config(|config| {
            config.policy.categories = cartclick::policy::CategoryRules::new(
                &["Adult Toys".into()],
                &["energy drinks".into()],
            )
        })
        .seeded()
        .spawn()
        .await;
    app.put_campaign("c-energy", MERCHANT, "Energy_Drinks", &[])
        .await;
    app.review("c-energy", ReviewDecision::Approve).await;

    for category in ["adult_toys", "ADULT-TOYS", "adult  toys"] {
        app.put_campaign("c-toys", MERCHANT, category, &[]).await;
        let status = app
            .try_review("c-toys", ReviewDecision::Approve)
            .await
            .unwrap_err();
        assert_error(&status, Code::FailedPrecondition, "CATEGORY_PROHIBITED");
    }
    let teen = app
        .issue(IssueTokenRequest {
            campaign_id: "c-energy".into(),
            age_bracket: AgeBracket::AgeBracket13To17.into(),
            ..tap("viewer-1")
        })
        .await
        .unwrap_err();
    assert_error(&teen, Code::PermissionDenied, "AGE_RESTRICTED");
}

async fn reviewing_an_unknown_campaign_is_not_found(backend: Backend) {
    let app = TestApp::builder().on(backend).spawn().await;

    let status = app
        .try_review("nope", ReviewDecision::Approve)
        .await
        .unwrap_err();

    assert_error(&status, Code::NotFound, "CAMPAIGN_NOT_FOUND");
}

async fn malformed_admin_requests_name_the_field(backend: Backend) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let merchant = |domains: &[&str], token_param: &str| Merchant {
        merchant_id: "m-x".into(),
        display_name: "x".into(),
        allowed_domains: domains.iter().map(|d| d.to_string()).collect(),
        token_param: token_param.into(),
    };
    for (field, merchant) in [
        ("merchant", None),
        (
            "merchant.merchant_id",
            Some(Merchant {
                merchant_id: String::new(),
                ..merchant(&["a.dk"], "")
            }),
        ),
        ("merchant.allowed_domains", Some(merchant(&[], ""))),
        (
            "merchant.allowed_domains",
            Some(merchant(&["https://a.dk/"], "")),
        ),
        (
            "merchant.allowed_domains",
            Some(merchant(&["10.0.0.1"], "")),
        ),
        (
            "merchant.token_param",
            Some(merchant(&["a.dk"], "bad param")),
        ),
    ] {
        let status = app
            .admin()
            .put_merchant(authed(&app.keys.admin, PutMerchantRequest { merchant }))
            .await
            .unwrap_err();
        assert_invalid_field(&status, field);
    }

    let window = |seconds| Campaign {
        attribution_window: Some(prost_types::Duration { seconds, nanos: 0 }),
        ..campaign("c-w", MERCHANT, "apparel", &[])
    };
    for (field, campaign) in [
        (
            "campaign.campaign_id",
            campaign("", MERCHANT, "apparel", &[]),
        ),
        ("campaign.merchant_id", campaign("c-w", "", "apparel", &[])),
        ("campaign.category", campaign("c-w", MERCHANT, "", &[])),
        (
            "campaign.product_ids",
            campaign("c-w", MERCHANT, "apparel", &[""]),
        ),
        ("campaign.attribution_window", window(3599)),
        ("campaign.attribution_window", window(30 * 86_400 + 1)),
        ("campaign.attribution_window", window(-5)),
    ] {
        let status = app.try_put_campaign(campaign).await.unwrap_err();
        assert_invalid_field(&status, field);
    }

    let status = app
        .try_review(CAMPAIGN, ReviewDecision::Unspecified)
        .await
        .unwrap_err();
    assert_invalid_field(&status, "decision");
}

on_all_backends!(
    a_merchant_reads_back_as_stored_with_normalised_domains,
    a_public_suffix_is_refused_as_a_merchant_domain_and_nothing_is_stored,
    a_domain_under_a_public_suffix_is_registered_and_only_it_is_a_landing_host,
    an_unknown_merchant_is_not_found,
    a_new_campaign_is_pending_with_the_default_window,
    changing_category_or_products_goes_back_to_review_and_the_window_does_not,
    a_campaign_window_sets_the_token_expiry,
    a_prohibited_category_can_never_be_approved,
    every_review_decision_keeps_its_reason,
    a_change_of_merchant_goes_back_to_review,
    the_longest_window_of_30_days_is_accepted_and_sets_the_token_expiry,
    a_prohibited_category_is_refused_whatever_its_case_or_spacing,
    configured_categories_match_on_a_normalised_slug,
    reviewing_an_unknown_campaign_is_not_found,
    malformed_admin_requests_name_the_field,
);
