//! The earnings commands of the `cartclick` binary (`earnings`,
//! `commissions`, `commission review`, `payout create`, `payouts`) against
//! a served app: the
//! figures they print, and how they refuse. The campaign is set up with
//! `cartclick admin`, so its commission flags are checked end to end too.

use std::process::Output;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::support::*;

/// When the first sale is confirmed: a minute after the tap.
fn first_sale_time() -> DateTime<Utc> {
    start_time() + TimeDelta::minutes(1)
}

/// `at` as the tables print a time: UTC, to the second.
fn in_table(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Runs a client command with `key`, and fails the test unless it exits 0;
/// the listing tests run theirs with it too.
pub(crate) async fn run_ok(app: &TestApp, key: &str, args: &[&str]) -> Vec<String> {
    let output = client_command(app.addr, key, args).await;
    assert!(
        output.status.success(),
        "{args:?} exited with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    lines(&output)
}

/// Stdout's lines, each with its runs of spaces made one, so a test compares
/// a row's words and not the table's column widths.
fn lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Whether `lines` has `line`, said with every line when it has not.
#[track_caller]
fn assert_line(lines: &[String], line: &str) {
    assert!(
        lines.iter().any(|l| l == line),
        "no line {line:?} in {lines:#?}"
    );
}

/// A balance row of m-1 in DKK: pending, payable, held, paid and clawback
/// as the table prints money.
fn balance_row(amounts: [i64; 5]) -> String {
    let money = amounts.map(|minor| format!("{minor} ({}.{:02} DKK)", minor / 100, minor % 100));
    format!("m-1 DKK {}", money.join(" "))
}

/// Whether `stderr` is the one line of a refusal: the code in words first,
/// the contract's reason last.
#[track_caller]
fn assert_refused(stderr: &str, code: &str, reason: &str) {
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("cartclick: {code}: ")),
        "{stderr}"
    );
    assert!(
        stderr.trim_end().ends_with(&format!("({reason})")),
        "{stderr}"
    );
}

/// A served app with MERCHANT and CAMPAIGN made with `cartclick admin`, the
/// campaign paying 10 % with no holding period, and creator cr-1's sale
/// order-1 of 12500 DKK, which earns 1250.
async fn app_with_a_sale() -> TestApp {
    let app = TestApp::builder().spawn().await;
    let admin = app.keys.admin.clone();
    let merchant = ["admin", "merchant", "put", "--id", MERCHANT];
    run_ok(
        &app,
        &admin,
        &[&merchant[..], &["--domain", "shop.dk"]].concat(),
    )
    .await;
    let campaign = run_ok(
        &app,
        &admin,
        &[
            "admin",
            "campaign",
            "put",
            "--id",
            CAMPAIGN,
            "--merchant",
            MERCHANT,
            "--category",
            "apparel",
            "--commission-rate-bps",
            "1000",
            "--holding-days",
            "0",
        ],
    )
    .await;
    assert_line(&campaign, "commission_rate_bps 1000");
    assert_line(&campaign, "holding_period 0 days");
    let review = ["admin", "campaign", "review", "--id", CAMPAIGN];
    run_ok(
        &app,
        &admin,
        &[&review[..], &["--decision", "approve"]].concat(),
    )
    .await;

    let issued = app.issue(tap("viewer-1")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(1));
    let sale = app
        .confirm(&issued.token, "order-1", 12_500, "DKK")
        .await
        .unwrap();
    assert_eq!(sale.commission, Some(dkk(1250)), "the campaign's rate");
    app
}

/// Pays cr-1 with payout p-1 as MERCHANT and returns what was printed.
async fn pay(app: &TestApp) -> Vec<String> {
    let args = ["payout", "create", "--id", "p-1", "--creator", "cr-1"];
    run_ok(
        app,
        &app.keys.merchant,
        &[&args[..], &["--currency", "DKK"]].concat(),
    )
    .await
}

#[tokio::test]
async fn earnings_prints_the_creators_balance_in_minor_units_and_in_kroner() {
    let app = app_with_a_sale().await;

    let out = run_ok(
        &app,
        &app.keys.dashboard,
        &["earnings", "--creator", "cr-1"],
    )
    .await;

    assert_eq!(
        out[0],
        "merchant currency pending payable held paid clawback"
    );
    assert_line(&out, &balance_row([0, 1250, 0, 0, 0]));
    assert_eq!(out.len(), 2, "{out:#?}");
}

#[tokio::test]
async fn payout_create_pays_the_payable_commission_once() {
    let app = app_with_a_sale().await;

    let first = pay(&app).await;
    let again = pay(&app).await;

    for (out, replayed) in [(&first, "false"), (&again, "true")] {
        assert_line(out, "payout_id p-1");
        assert_line(out, "merchant_id m-1");
        assert_line(out, "creator_id cr-1");
        assert_line(out, "amount 1250 (12.50 DKK)");
        assert_line(out, "commissions 1");
        assert_line(out, "clawback_deducted 0 (0.00 DKK)");
        assert_line(
            out,
            &format!("created_at {}", first_sale_time().to_rfc3339()),
        );
        assert_line(out, &format!("replayed {replayed}"));
    }
    let balance = run_ok(
        &app,
        &app.keys.dashboard,
        &["earnings", "--creator", "cr-1", "--merchant", MERCHANT],
    )
    .await;
    assert_line(&balance, &balance_row([0, 0, 0, 1250, 0]));
}

#[tokio::test]
async fn payouts_lists_the_payout() {
    let app = app_with_a_sale().await;
    let before = run_ok(&app, &app.keys.dashboard, &["payouts", "--creator", "cr-1"]).await;
    pay(&app).await;

    let after = run_ok(&app, &app.keys.dashboard, &["payouts", "--creator", "cr-1"]).await;

    assert_line(&before, "(no payouts)");
    assert_eq!(
        after[0],
        "created_at payout merchant creator amount commissions clawback_deducted"
    );
    let row = format!(
        "{} p-1 m-1 cr-1 1250 (12.50 DKK) 1 0 (0.00 DKK)",
        in_table(first_sale_time())
    );
    assert_eq!(after[1..], [row], "one payout, no next page");
}

#[tokio::test]
async fn commissions_status_paid_lists_the_paid_order() {
    let app = app_with_a_sale().await;
    let paid = ["commissions", "--creator", "cr-1", "--status", "paid"];
    let before = run_ok(&app, &app.keys.dashboard, &paid).await;
    pay(&app).await;

    let after = run_ok(&app, &app.keys.dashboard, &paid).await;

    assert_line(&before, "(no commissions)");
    assert_eq!(
        after[0],
        "confirmed_at merchant order creator campaign sale_amount commission status payable_at payout signals"
    );
    let at = in_table(first_sale_time());
    let row =
        format!("{at} m-1 order-1 cr-1 c-1 12500 (125.00 DKK) 1250 (12.50 DKK) PAID {at} p-1 none");
    assert_eq!(after[1..], [row], "one commission, no next page");
}

#[tokio::test]
async fn commissions_all_follows_the_page_tokens_to_the_end() {
    let app = app_with_a_sale().await;
    let issued = app.issue(tap_on("viewer-2", "vid-2")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(1));
    app.confirmed(&issued.token, "order-2", 5_000, "DKK").await;
    let list = ["commissions", "--merchant", MERCHANT, "--page-size", "1"];

    let first = run_ok(&app, &app.keys.dashboard, &list).await;
    let token = first
        .iter()
        .find_map(|l| l.strip_prefix("next_page_token "))
        .unwrap_or_else(|| panic!("a next page token in {first:#?}"))
        .to_owned();
    let second = run_ok(
        &app,
        &app.keys.dashboard,
        &[&list[..], &["--page-token", &token]].concat(),
    )
    .await;
    let all = run_ok(&app, &app.keys.dashboard, &[&list[..], &["--all"]].concat()).await;

    let orders = |out: &[String]| -> Vec<String> {
        out[1..]
            .iter()
            .filter(|l| !l.starts_with("next_page_token"))
            .map(|l| l.split(' ').nth(2).unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(orders(&first), ["order-2"], "newest sale first");
    assert_eq!(orders(&second), ["order-1"]);
    assert!(
        !second.iter().any(|l| l.starts_with("next_page_token")),
        "the last page has no next token: {second:#?}"
    );
    assert_eq!(orders(&all), ["order-2", "order-1"]);
    assert!(!all.iter().any(|l| l.starts_with("next_page_token")));
    assert!(
        all[1].contains(" m-1 order-2 cr-1 c-1 5000 (50.00 DKK) 500 (5.00 DKK) PAYABLE "),
        "{all:#?}"
    );
}

#[tokio::test]
async fn commissions_all_as_json_prints_a_line_a_page() {
    let app = app_with_a_sale().await;
    let issued = app.issue(tap_on("viewer-2", "vid-2")).await.unwrap();
    app.clock.advance(TimeDelta::minutes(1));
    app.confirmed(&issued.token, "order-2", 5_000, "DKK").await;
    let list = ["commissions", "--merchant", MERCHANT, "--page-size", "1"];

    let all = run_ok(
        &app,
        &app.keys.dashboard,
        &[&list[..], &["--all", "--output", "json"]].concat(),
    )
    .await;

    let pages: Vec<serde_json::Value> = all
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(pages.len(), 2, "{all:#?}");
    assert_eq!(pages[0]["commissions"][0]["orderId"], "order-2");
    assert_ne!(
        pages[0]["nextPageToken"], "",
        "the first page names the next"
    );
    assert_eq!(pages[1]["commissions"][0]["orderId"], "order-1");
    assert_eq!(pages[1]["nextPageToken"], "", "the last page names none");
}

#[tokio::test]
async fn a_bad_status_fails_naming_the_flag_and_its_values() {
    let app = TestApp::builder().spawn().await;

    let output = client_command(
        app.addr,
        &app.keys.dashboard,
        &["commissions", "--creator", "cr-1", "--status", "nope"],
    )
    .await;

    assert_eq!(output.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid value 'nope' for '--status <STATUS>'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[possible values: pending, payable, held, paid, void]"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn a_refused_payout_prints_the_reason_in_one_line() {
    let app = app_with_a_sale().await;

    let output = client_command(
        app.addr,
        &app.keys.merchant,
        &[
            "payout",
            "create",
            "--id",
            "p-2",
            "--creator",
            "cr-nobody",
            "--currency",
            "DKK",
        ],
    )
    .await;

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_refused(&stderr, "failed precondition", "NOTHING_TO_PAY");
    assert!(output.stdout.is_empty());
}

/// The review command's arguments for `order` with `decision` flags.
fn review_args<'a>(order: &'a str, decision: &[&'a str]) -> Vec<&'a str> {
    let review = [
        "commission",
        "review",
        "--merchant",
        MERCHANT,
        "--order",
        order,
    ];
    [&review[..], decision].concat()
}

#[tokio::test]
async fn commission_review_releases_a_held_commission_and_prints_it() {
    let app = app_with_a_sale().await;
    // Confirmed at once after its tap: SALE_TOO_FAST holds it.
    let issued = app.issue(tap("viewer-2")).await.unwrap();
    app.confirm(&issued.token, "order-2", 5_000, "DKK")
        .await
        .unwrap();
    let held = run_ok(
        &app,
        &app.keys.dashboard,
        &["earnings", "--creator", "cr-1"],
    )
    .await;
    let listed = run_ok(
        &app,
        &app.keys.dashboard,
        &["commissions", "--creator", "cr-1", "--status", "held"],
    )
    .await;

    let released = run_ok(
        &app,
        &app.keys.admin,
        &review_args(
            "order-2",
            &["--release", "--reason", "checked with the shop"],
        ),
    )
    .await;
    let again = client_command(
        app.addr,
        &app.keys.admin,
        &review_args("order-2", &["--void"]),
    )
    .await;
    let by_merchant = client_command(
        app.addr,
        &app.keys.merchant,
        &review_args("order-2", &["--void"]),
    )
    .await;
    let both = client_command(
        app.addr,
        &app.keys.admin,
        &review_args("order-2", &["--release", "--void"]),
    )
    .await;
    let neither = client_command(app.addr, &app.keys.admin, &review_args("order-2", &[])).await;
    let after = run_ok(
        &app,
        &app.keys.dashboard,
        &["earnings", "--creator", "cr-1"],
    )
    .await;

    assert_line(&held, &balance_row([0, 1250, 500, 0, 0]));
    assert_eq!(listed.len(), 2, "the header and the held one: {listed:?}");
    assert!(
        listed[1].contains(" order-2 cr-1 c-1 5000 (50.00 DKK) 500 (5.00 DKK) HELD ")
            && listed[1].ends_with(" - SALE_TOO_FAST"),
        "{listed:?}"
    );
    assert_line(&released, "merchant_id m-1");
    assert_line(&released, "order_id order-2");
    assert_line(&released, "creator_id cr-1");
    assert_line(&released, "commission 500 (5.00 DKK)");
    assert_line(&released, "status PAYABLE");
    assert_line(&released, "signals SALE_TOO_FAST");
    assert_line(&released, "review_reason checked with the shop");
    assert_line(
        &released,
        &format!("reviewed_at {}", first_sale_time().to_rfc3339()),
    );
    for (output, reason) in [
        (&again, ("failed precondition", "COMMISSION_NOT_HELD")),
        (&by_merchant, ("permission denied", "PERMISSION_DENIED")),
    ] {
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_refused(&stderr, reason.0, reason.1);
        assert!(output.stdout.is_empty());
    }
    for usage in [&both, &neither] {
        assert_eq!(usage.status.code(), Some(2), "a usage error");
        let stderr = String::from_utf8_lossy(&usage.stderr);
        assert!(stderr.contains("--release"), "{stderr}");
    }
    assert_line(&after, &balance_row([0, 1750, 0, 0, 0]));
}
