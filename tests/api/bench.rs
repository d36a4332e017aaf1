//! `cartclick bench` owns what it makes: everything named `bench-…`, its
//! keys revoked and its campaign paused when it ends; it reads the server
//! from `CARTCLICK_SERVER`.

use cartclick::proto::*;

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_cartclick");

/// Runs a one-second bench against `app`, the server and key from the
/// environment only.
async fn short_bench(app: &TestApp, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "bench",
        "--scenario",
        "issue",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--streams",
        "2",
        "--connections",
        "1",
    ];
    args.extend_from_slice(extra);
    let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
    let server = format!("http://{}", app.addr);
    let key = app.keys.admin.clone();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(args)
            .env_clear()
            .env("CARTCLICK_SERVER", server)
            .env("CARTCLICK_API_KEY", key)
            .output()
            .expect("runs cartclick bench")
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn bench_reads_the_server_from_the_env_and_ends_with_its_keys_revoked_and_campaign_paused() {
    let app = TestApp::builder().memory().spawn().await;

    let run = short_bench(&app, &[]).await;

    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("bench: revoked key ").count(),
        2,
        "the feed and the merchant key: {stderr}"
    );
    let campaign = stderr
        .lines()
        .find_map(|line| line.strip_prefix("bench: paused campaign "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no paused campaign: {stderr}"))
        .to_owned();
    assert!(campaign.starts_with("bench-"), "{campaign}");
    let stored = app
        .admin()
        .get_campaign(authed(
            &app.keys.admin,
            GetCampaignRequest {
                campaign_id: campaign.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap();
    assert_eq!(stored.status(), CampaignStatus::Paused);
    assert!(stored.merchant_id.starts_with("bench-"), "{stored:?}");
    let keys = app
        .admin()
        .list_api_keys(authed(&app.keys.admin, ListApiKeysRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .api_keys;
    let made: Vec<&ApiKeyInfo> = keys.iter().filter(|k| !k.from_config).collect();
    assert_eq!(made.len(), 2, "the feed and the merchant key: {keys:?}");
    for key in made {
        assert!(key.label.starts_with("bench-"), "{key:?}");
        assert!(key.revoked, "left live: {key:?}");
    }
}

#[tokio::test]
async fn bench_refuses_a_store_holding_other_merchants_unless_told_yes() {
    let app = TestApp::builder().memory().spawn().await;
    app.admin()
        .put_merchant(authed(
            &app.keys.admin,
            PutMerchantRequest {
                merchant: Some(Merchant {
                    merchant_id: "m-real-shop".into(),
                    allowed_domains: vec!["real.example".into()],
                    ..Merchant::default()
                }),
            },
        ))
        .await
        .unwrap();

    let refused = short_bench(&app, &[]).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("m-real-shop") && stderr.contains("--yes"),
        "{stderr}"
    );
    let merchants = app
        .admin()
        .list_merchants(authed(&app.keys.admin, ListMerchantsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .merchants;
    assert_eq!(
        merchants.len(),
        1,
        "a refused run makes nothing: {merchants:?}"
    );

    let told = short_bench(&app, &["--yes"]).await;
    assert!(
        told.status.success(),
        "{}",
        String::from_utf8_lossy(&told.stderr)
    );
}

#[tokio::test]
async fn bench_refuses_a_merchant_not_named_bench() {
    let app = TestApp::builder().memory().spawn().await;

    let run = short_bench(&app, &["--merchant", "m-real"]).await;

    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("bench-"), "{stderr}");
}
