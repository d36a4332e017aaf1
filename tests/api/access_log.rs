//! The access log: one info line per RPC (target `cartclick::access`) on
//! both transports, with method, status, reason, duration, key and
//! merchant; never a viewer id, a token or a secret; off with
//! `--no-access-log`, `CARTCLICK_ACCESS_LOG=false` or `access_log = false`.

use std::time::Duration;

use serde_json::{Map, Value};
use tonic::Code;

use crate::logs::refuse_a_sale;
use crate::support::*;

/// How long the binary gets to exit after SIGTERM.
const EXIT_BOUND: Duration = Duration::from_secs(15);

/// The method of ConfirmSale as access lines name it.
const CONFIRM_SALE: &str = "cartclick.v1.SaleService/ConfirmSale";

/// A server logging JSON, with `launch`'s extras.
async fn json_server(launch: Launch) -> ServerProcess {
    ServerProcess::start(launch.global_arg("--log-format").global_arg("json")).await
}

/// The access lines among `lines` (JSON objects of target cartclick::access).
fn access_lines(lines: &[String]) -> Vec<Map<String, Value>> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|value| match value {
            Value::Object(object) if object["target"] == "cartclick::access" => Some(object),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn each_rpc_logs_one_info_line_with_method_status_duration_key_and_merchant() {
    let mut server = json_server(Launch::default()).await;
    refuse_a_sale(&server).await;

    let lines = server.stop(EXIT_BOUND).await;
    let access = access_lines(&lines);

    let sales: Vec<&Map<String, Value>> = access
        .iter()
        .filter(|line| line["method"] == CONFIRM_SALE)
        .collect();
    assert_eq!(sales.len(), 2, "one line per call: {access:#?}");
    let confirmed = sales
        .iter()
        .find(|line| line["status"] == "OK")
        .expect("the confirmed sale's line");
    assert_eq!(confirmed["level"], "INFO");
    assert_eq!(confirmed["message"], "rpc");
    assert_eq!(confirmed["transport"], "grpc");
    assert_eq!(confirmed["code"], 0);
    assert_eq!(confirmed["merchant_id"], MERCHANT);
    assert!(confirmed["key_id"].is_string(), "{confirmed:?}");
    assert!(
        confirmed["duration_ms"]
            .as_f64()
            .is_some_and(|ms| ms >= 0.0),
        "{confirmed:?}"
    );
    assert!(!confirmed.contains_key("reason"), "{confirmed:?}");
    // The tap and the seeding calls are logged too, each once.
    let taps = access
        .iter()
        .filter(|line| line["method"] == "cartclick.v1.ClickService/IssueToken")
        .count();
    assert_eq!(taps, 1, "{access:#?}");
}

#[tokio::test]
async fn a_refused_rpc_logs_its_status_and_reason() {
    let mut server = json_server(Launch::default()).await;
    refuse_a_sale(&server).await;
    let client = server.client().await;
    let unknown = client
        .confirm_as("not-a-key", "token", "order-3", 1, "DKK")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::Unauthenticated);

    let lines = server.stop(EXIT_BOUND).await;
    let access = access_lines(&lines);

    let refused = access
        .iter()
        .find(|line| line["method"] == CONFIRM_SALE && line["status"] == "INVALID_ARGUMENT")
        .unwrap_or_else(|| panic!("no refused sale line: {access:#?}"));
    assert_eq!(refused["code"], 3);
    assert_eq!(refused["reason"], "TOKEN_INVALID");
    assert_eq!(refused["merchant_id"], MERCHANT);
    let unauthenticated = access
        .iter()
        .find(|line| line["status"] == "UNAUTHENTICATED")
        .unwrap_or_else(|| panic!("no unauthenticated line: {access:#?}"));
    assert_eq!(unauthenticated["reason"], "UNAUTHENTICATED");
    assert!(
        !unauthenticated.contains_key("key_id"),
        "{unauthenticated:?}"
    );
}

#[tokio::test]
async fn the_http_json_routes_log_their_calls_too() {
    let mut server = json_server(Launch::default()).await;
    let client = reqwest::Client::new();
    let answer = client
        .get(format!(
            "http://{}/v1/top?dimension=DIMENSION_MERCHANT",
            server.http_addr()
        ))
        .bearer_auth(&server.keys.dashboard)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);

    let lines = server.stop(EXIT_BOUND).await;
    let access = access_lines(&lines);

    let top = access
        .iter()
        .find(|line| line["method"] == "cartclick.v1.CounterService/ListTop")
        .unwrap_or_else(|| panic!("no ListTop line: {access:#?}"));
    assert_eq!(top["transport"], "http");
    assert_eq!(top["status"], "INVALID_ARGUMENT");
    assert_eq!(top["reason"], "INVALID_FIELD");
}

#[tokio::test]
async fn access_lines_never_carry_a_viewer_id_a_token_or_a_secret() {
    let mut server = ServerProcess::start(Launch::default()).await;
    let (viewer, tokens) = refuse_a_sale(&server).await;
    let keys = server.keys.clone();

    let lines = server.stop(EXIT_BOUND).await;

    let access: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("cartclick::access"))
        .collect();
    assert!(access.len() >= 4, "the calls were logged: {lines:#?}");
    let secrets = [&keys.admin, &keys.feed, &keys.merchant, &keys.dashboard];
    for secret in std::iter::once(&viewer).chain(&tokens).chain(secrets) {
        let leaks: Vec<&&String> = access
            .iter()
            .filter(|line| line.contains(secret.as_str()))
            .collect();
        assert!(leaks.is_empty(), "{secret:?} logged: {leaks:#?}");
    }
}

#[tokio::test]
async fn no_access_log_the_env_and_the_config_key_each_turn_it_off() {
    for launch in [
        Launch::default().serve_arg("--no-access-log"),
        Launch::default().env("CARTCLICK_ACCESS_LOG", "false"),
        Launch::default().setting("access_log = false"),
    ] {
        let what = format!("{launch:?}");
        let mut server = json_server(launch).await;
        refuse_a_sale(&server).await;

        let lines = server.stop(EXIT_BOUND).await;

        assert!(
            lines.iter().any(|line| line.contains("serving")),
            "{lines:#?}"
        );
        assert_eq!(access_lines(&lines), Vec::new(), "{what}");
    }
}
