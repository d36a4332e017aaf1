//! The client commands of the `cartclick` binary against a served app, for
//! what is theirs rather than an RPC's: `reverse`, `watch`, `admin viewer
//! erase` and `health`; `--output json`; flags taken anywhere after the
//! command; values as people type them; a failed call in one line naming
//! the flag; a server that cannot be reached or does not speak gRPC; and
//! the counters table (a column per currency, money in both units, only
//! the buckets with data unless `--all`).

use std::process::Output;

use cartclick::proto::Dimension;
use chrono::TimeDelta;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::*;

/// Stdout's lines, each with its runs of spaces made one.
fn lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Stderr, for assertions and their messages.
fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Stdout's lines, failing the test unless the command exited 0.
#[track_caller]
fn ok_lines(output: &Output) -> Vec<String> {
    assert!(
        output.status.success(),
        "exited with {}: {}",
        output.status,
        stderr(output)
    );
    lines(output)
}

/// Whether `lines` has `line`, said with every line when it has not.
#[track_caller]
fn assert_line(lines: &[String], line: &str) {
    assert!(
        lines.iter().any(|l| l == line),
        "no line {line:?} in {lines:#?}"
    );
}

/// Whether a command failed with exit code 1 and exactly the one line
/// `cartclick: <said>` on stderr, and printed nothing.
#[track_caller]
fn assert_refused(output: &Output, said: &str) {
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    assert_eq!(stderr(output), format!("cartclick: {said}\n"));
    assert!(output.stdout.is_empty(), "{:?}", lines(output));
}

/// A seeded app with order-1, a sale of 12500 DKK by viewer-1's tap.
async fn app_with_a_sale() -> TestApp {
    let app = TestApp::builder().seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.confirmed(&issued.token, "order-1", 12_500, "DKK").await;
    app
}

/// `counters` for CAMPAIGN on the test day, with `more` flags.
async fn campaign_counters(app: &TestApp, more: &[&str]) -> Output {
    let args = [
        "counters",
        "--dimension",
        "campaign",
        "--id",
        CAMPAIGN,
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-03",
    ];
    client_command(app.addr, &app.keys.dashboard, &[&args[..], more].concat()).await
}

#[tokio::test]
async fn reverse_refunds_part_of_a_sale_in_a_lower_case_currency_and_prints_what_remains() {
    let app = app_with_a_sale().await;

    let args = ["reverse", "--order", "order-1", "--reversal", "r-1"];
    let out = client_command(
        app.addr,
        &app.keys.merchant,
        &[&args[..], &["--amount-minor", "2500", "--currency", "dkk"]].concat(),
    )
    .await;

    let out = ok_lines(&out);
    assert_line(&out, "remaining 10000 (100.00 DKK)");
    assert_line(&out, "replayed false");
    let total = app.total(Dimension::Campaign, CAMPAIGN).await;
    assert_eq!(total.refunded, vec![dkk(2500)], "the refund was recorded");
}

#[tokio::test]
async fn a_negative_amount_is_read_as_a_value_and_refused_by_the_server_naming_the_flag() {
    let app = app_with_a_sale().await;

    let args = ["reverse", "--order", "order-1", "--reversal", "r-1"];
    let out = client_command(
        app.addr,
        &app.keys.merchant,
        &[&args[..], &["--amount-minor", "-100", "--currency", "DKK"]].concat(),
    )
    .await;

    assert_refused(
        &out,
        "invalid argument: invalid amount: --amount-minor must not be negative (INVALID_AMOUNT)",
    );
}

#[tokio::test]
async fn a_refused_field_is_said_once_with_its_flag_the_code_in_words_and_the_reason() {
    let app = TestApp::builder().spawn().await;

    let out = client_command(
        app.addr,
        &app.keys.admin,
        &["admin", "key", "revoke", "--id", "nope"],
    )
    .await;

    assert_refused(&out, "invalid argument: --id: no such key (INVALID_FIELD)");
}

#[tokio::test]
async fn server_key_and_output_are_taken_after_the_subcommand() {
    let app = TestApp::builder().spawn().await;
    let server = app.addr.to_string();

    let out = bare_command(&[
        "admin",
        "key",
        "create",
        "--role",
        "feed",
        "--api-key",
        &app.keys.admin,
        "--server",
        &server,
        "--output",
        "json",
    ])
    .await;

    let out = ok_lines(&out);
    assert_eq!(out.len(), 1, "one JSON line: {out:#?}");
    let key: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
    assert!(
        key["keyId"].as_str().is_some_and(|id| !id.is_empty()),
        "{key}"
    );
    assert!(
        key["secret"].as_str().is_some_and(|s| !s.is_empty()),
        "{key}"
    );
}

#[tokio::test]
async fn a_server_without_a_scheme_is_taken_as_http() {
    let app = app_with_a_sale().await;
    let server = app.addr.to_string();

    let out = bare_command(&[
        "earnings",
        "--creator",
        "cr-1",
        "--server",
        &server,
        "--api-key",
        &app.keys.dashboard,
    ])
    .await;

    assert_eq!(
        ok_lines(&out)[0],
        "merchant currency pending payable held paid clawback"
    );
}

#[tokio::test]
async fn a_server_that_refuses_the_connection_is_said_so() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let out = bare_command(&["health", "--server", &closed.to_string()]).await;

    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("cartclick: cannot connect to http://{closed}: connection refused\n")
    );
}

#[tokio::test]
async fn the_http_port_is_said_not_to_answer_grpc() {
    let app = TestApp::builder().spawn().await;
    let http = app.http_addr.expect("the test config serves HTTP");

    let out = bare_command(&[
        "earnings",
        "--creator",
        "cr-1",
        "--server",
        &http.to_string(),
        "--api-key",
        &app.keys.dashboard,
    ])
    .await;

    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert!(
        said.starts_with(&format!(
            "cartclick: the server at http://{http} did not answer gRPC (is this the HTTP port?"
        )),
        "{said}"
    );
    assert!(!said.contains("compression flag"), "{said}");
}

#[tokio::test]
async fn a_day_is_taken_for_from_and_to_and_the_table_has_only_the_hours_with_data() {
    let app = app_with_a_sale().await;

    let out = ok_lines(&campaign_counters(&app, &[]).await);

    assert_eq!(out.len(), 3, "the header, 10:00 and the total: {out:#?}");
    assert!(out[0].starts_with("start (UTC) taps clicks"), "{}", out[0]);
    assert!(out[1].starts_with("2026-11-02 10:00 1 1 0 1 "), "{out:#?}");
    assert!(out[2].starts_with("total 1 1 0 1 "), "{out:#?}");
}

#[tokio::test]
async fn all_prints_every_bucket_of_the_range() {
    let app = app_with_a_sale().await;

    let out = ok_lines(&campaign_counters(&app, &["--all"]).await);

    assert_eq!(out.len(), 1 + 24 + 1, "the header, 24 hours, the total");
    assert!(out[1].starts_with("2026-11-02 00:00 0 0 0 0 0"), "{out:#?}");
}

#[tokio::test]
async fn counters_say_when_nothing_happened_in_the_range() {
    let app = TestApp::builder().seeded().spawn().await;

    let out = ok_lines(&campaign_counters(&app, &[]).await);

    assert_eq!(
        out,
        ["no activity from 2026-11-02 00:00 to 2026-11-03 00:00 (UTC)"]
    );
}

#[tokio::test]
async fn counters_have_a_column_per_currency_with_money_in_minor_units_and_in_its_own() {
    let app = app_with_a_sale().await;
    let second = app.issue(tap("viewer-2")).await.unwrap();
    app.confirmed(&second.token, "order-2", 990, "EUR").await;

    let out = ok_lines(&campaign_counters(&app, &[]).await);

    assert!(
        out[0].ends_with(
            "revenue DKK refunded DKK commission DKK revenue EUR refunded EUR commission EUR"
        ),
        "{}",
        out[0]
    );
    assert!(
        out[2].ends_with(
            "12500 (125.00 DKK) 0 (0.00 DKK) 0 (0.00 DKK) 990 (9.90 EUR) 0 (0.00 EUR) 0 (0.00 EUR)"
        ),
        "{}",
        out[2]
    );
}

#[tokio::test]
async fn a_range_error_names_the_flag_typed() {
    let app = TestApp::builder().seeded().spawn().await;

    let args = ["counters", "--dimension", "campaign", "--id", CAMPAIGN];
    let out = client_command(
        app.addr,
        &app.keys.dashboard,
        &[&args[..], &["--from", "2026-01-01", "--to", "2026-11-02"]].concat(),
    )
    .await;

    assert_refused(
        &out,
        "invalid argument: --to: the range spans 7320 buckets, at most 744 a call (INVALID_FIELD)",
    );
}

#[tokio::test]
async fn json_output_is_the_answer_in_the_protobuf_mapping_on_one_line() {
    let app = app_with_a_sale().await;

    let out = ok_lines(&campaign_counters(&app, &["--output", "json"]).await);

    assert_eq!(out.len(), 1, "{out:#?}");
    let json: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
    assert_eq!(
        json["buckets"].as_array().unwrap().len(),
        24,
        "every bucket"
    );
    assert_eq!(json["total"]["conversions"], "1", "int64 as a string");
    assert_eq!(json["total"]["revenue"][0]["amountMinor"], "12500");
    assert_eq!(json["total"]["revenue"][0]["currencyCode"], "DKK");
}

#[tokio::test]
async fn top_ranks_revenue_in_a_lower_case_currency_and_prints_money_in_both_units() {
    let app = app_with_a_sale().await;

    let out = client_command(
        app.addr,
        &app.keys.dashboard,
        &[
            "top",
            "--dimension",
            "campaign",
            "--day",
            "2026-11-02",
            "--metric",
            "revenue",
            "--currency",
            "dkk",
        ],
    )
    .await;

    let out = ok_lines(&out);
    assert_eq!(out, ["rank id value", "1 c-1 12500 (125.00 DKK)"]);
}

#[tokio::test]
async fn watch_prints_the_current_hour_now_and_again_when_it_changes_until_ctrl_c() {
    let app = TestApp::builder().seeded().spawn().await;
    let args = ["watch", "--dimension", "campaign", "--id", CAMPAIGN];
    let mut watch = spawn_client_command(app.addr, &app.keys.dashboard, &args);

    let first = watch.next_line(BOUND).await;
    app.issue(tap("viewer-1")).await.unwrap();
    let second = watch.next_line(BOUND).await;
    let status = watch.interrupt(BOUND).await;

    assert!(
        first.starts_with("2026-11-02 10:00 UTC  taps 0  clicks 0"),
        "{first}"
    );
    assert!(
        second.starts_with("2026-11-02 10:00 UTC  taps 1  clicks 1"),
        "{second}"
    );
    assert!(status.success(), "Ctrl-C ends a watch cleanly: {status}");
}

#[tokio::test]
async fn watch_prints_a_json_line_a_message() {
    let app = TestApp::builder().seeded().spawn().await;
    let args = ["watch", "--dimension", "campaign", "--id", CAMPAIGN];
    let mut watch = spawn_client_command(
        app.addr,
        &app.keys.dashboard,
        &[&args[..], &["--output", "json"]].concat(),
    );

    let first = watch.next_line(BOUND).await;
    app.issue(tap("viewer-1")).await.unwrap();
    let second = watch.next_line(BOUND).await;

    let taps = |line: &str| {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        json["bucket"]["taps"].as_str().unwrap().to_owned()
    };
    assert_eq!((taps(&first), taps(&second)), ("0".into(), "1".into()));
}

#[tokio::test]
async fn admin_viewer_erase_prints_how_many_clicks_were_unlinked() {
    let app = app_with_a_sale().await;
    app.issue(tap_on("viewer-1", "video-2")).await.unwrap();

    let out = client_command(
        app.addr,
        &app.keys.admin,
        &["admin", "viewer", "erase", "--viewer", "viewer-1"],
    )
    .await;

    assert_eq!(ok_lines(&out), ["clicks_erased 2"]);
}

#[tokio::test]
async fn health_exits_zero_and_prints_serving_with_no_key() {
    let app = TestApp::builder().spawn().await;

    let out = bare_command(&["health", "--server", &app.addr.to_string()]).await;

    assert_eq!(ok_lines(&out), ["status SERVING"]);
}

#[tokio::test]
async fn health_exits_one_and_prints_the_status_while_the_store_is_down() {
    let mut app = TestApp::builder().redis().spawn().await;
    app.redis_mut().stop().await;
    wait_for("health to report NOT_SERVING", BOUND, || {
        health_is(&app, ServingStatus::NotServing)
    })
    .await;

    let out = bare_command(&[
        "health",
        "--server",
        &app.addr.to_string(),
        "--output",
        "json",
    ])
    .await;

    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(lines(&out), [r#"{"status":"NOT_SERVING"}"#]);
}

#[tokio::test]
async fn a_sale_confirmed_a_minute_later_prints_its_commission_in_both_units() {
    let app = TestApp::builder().seeded().spawn().await;
    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(1));

    let out = client_command(
        app.addr,
        &app.keys.merchant,
        &[
            "confirm",
            "--token",
            &issued.token,
            "--order",
            "order-1",
            "--amount-minor",
            "12500",
            "--currency",
            "dkk",
        ],
    )
    .await;

    let out = ok_lines(&out);
    assert_line(&out, "commission 0 (0.00 DKK)");
    assert_line(&out, "signals none");
}
