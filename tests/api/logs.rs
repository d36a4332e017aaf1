//! The binary's logs on stderr: readable text by default, one JSON object a
//! line with `--log-format json` (or `CARTCLICK_LOG_FORMAT=json`), filtered
//! by `RUST_LOG` (default `info`); never a viewer id or a token.

use std::time::Duration;

use serde_json::Value;
use tonic::Code;

use crate::support::*;

/// How long the binary gets to exit after SIGTERM.
const EXIT_BOUND: Duration = Duration::from_secs(15);
/// How long a change of a Redis node's policy takes to be noticed: the
/// production check period (5 s), the health check's second, and slack.
const POLICY_BOUND: Duration = Duration::from_secs(15);

/// Makes the binary refuse a call (a forged token: TOKEN_INVALID), which
/// logs `rpc refused` at debug, then confirm a sale; returns the viewer and
/// tokens used. The access log's tests use it too.
pub(crate) async fn refuse_a_sale(server: &ServerProcess) -> (String, Vec<String>) {
    let client = server.client().await;
    client.seed().await;
    let viewer = unique_viewer();
    let issued = client.issue(tap(&viewer)).await.unwrap();
    let forged = tampered(&issued.token);
    let refused = client
        .confirm(&forged, "order-1", 12_500, "DKK")
        .await
        .unwrap_err();
    assert_error(&refused, Code::InvalidArgument, "TOKEN_INVALID");
    client
        .confirm(&issued.token, "order-2", 12_500, "DKK")
        .await
        .unwrap();
    (viewer, vec![issued.token, forged])
}

/// Every line as a JSON object; panics naming a line that is not one.
fn json_lines(lines: &[String]) -> Vec<serde_json::Map<String, Value>> {
    lines
        .iter()
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => object,
            other => panic!("not a JSON object: {line:?} ({other:?})"),
        })
        .collect()
}

fn has_line(lines: &[String], text: &str) -> bool {
    lines.iter().any(|line| line.contains(text))
}

#[tokio::test]
async fn logs_are_text_lines_with_time_level_target_and_fields_by_default() {
    let mut server = ServerProcess::start(Launch::default()).await;
    let addr = server.addr();

    let lines = server.stop(EXIT_BOUND).await;

    let serving = lines
        .iter()
        .find(|line| line.contains("serving"))
        .expect("a serving line");
    assert!(!serving.starts_with('{'), "{serving:?}");
    assert!(
        serving.starts_with(char::is_numeric),
        "starts with a timestamp: {serving:?}"
    );
    assert!(serving.contains(" INFO "), "{serving:?}");
    assert!(serving.contains("cartclick::startup"), "{serving:?}");
    assert!(serving.contains(&format!("addr={addr}")), "{serving:?}");
}

#[tokio::test]
async fn text_logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    let mut server = ServerProcess::start(Launch::default()).await;

    let lines = server.stop(EXIT_BOUND).await;

    assert!(
        !lines.iter().any(|line| line.contains('\u{1b}')),
        "escape codes in a pipe: {lines:?}"
    );
}

#[tokio::test]
async fn log_format_json_writes_every_line_as_one_json_object() {
    let mut server = ServerProcess::start(
        Launch::default()
            .global_arg("--log-format")
            .global_arg("json")
            .env("RUST_LOG", "info,cartclick=debug"),
    )
    .await;
    let addr = server.addr();
    refuse_a_sale(&server).await;

    let lines = server.stop(EXIT_BOUND).await;
    let objects = json_lines(&lines);

    assert!(objects.len() >= 4, "{lines:#?}");
    for object in &objects {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(object.contains_key(key), "{key} missing: {object:?}");
        }
    }
    let serving = objects
        .iter()
        .find(|object| object["message"] == "serving")
        .expect("a serving line");
    assert_eq!(serving["level"], "INFO");
    assert_eq!(serving["addr"], addr.to_string());
}

#[tokio::test]
async fn json_lines_logged_inside_an_rpc_carry_its_span_fields() {
    let mut server = ServerProcess::start(
        Launch::default()
            .global_arg("--log-format")
            .global_arg("json")
            .env("RUST_LOG", "info,cartclick::api=debug"),
    )
    .await;
    refuse_a_sale(&server).await;

    let lines = server.stop(EXIT_BOUND).await;
    let objects = json_lines(&lines);

    let refused = objects
        .iter()
        .find(|object| object["message"] == "rpc refused")
        .expect("an rpc refused line");
    assert_eq!(refused["level"], "DEBUG");
    assert_eq!(refused["reason"], "TOKEN_INVALID");
    let span = &refused["span"];
    assert_eq!(span["name"], "rpc", "{refused:?}");
    assert_eq!(span["rpc.method"], "ConfirmSale", "{refused:?}");
    assert_eq!(span["merchant_id"], MERCHANT, "{refused:?}");
    assert_eq!(span["outcome"], "error", "{refused:?}");
    assert_eq!(span["reason"], "TOKEN_INVALID", "{refused:?}");
}

#[tokio::test]
async fn cartclick_log_format_json_in_the_environment_selects_json() {
    let mut server =
        ServerProcess::start(Launch::default().env("CARTCLICK_LOG_FORMAT", "json")).await;

    let lines = server.stop(EXIT_BOUND).await;

    let objects = json_lines(&lines);
    assert!(
        objects.iter().any(|object| object["message"] == "serving"),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn the_default_filter_logs_info_and_above_but_not_debug() {
    let mut server = ServerProcess::start(Launch::default()).await;
    refuse_a_sale(&server).await;

    let lines = server.stop(EXIT_BOUND).await;

    assert!(has_line(&lines, "serving"), "{lines:#?}");
    assert!(has_line(&lines, "SIGTERM received"), "{lines:#?}");
    assert!(!has_line(&lines, "rpc refused"), "{lines:#?}");
    assert!(!has_line(&lines, "DEBUG"), "{lines:#?}");
}

#[tokio::test]
async fn rust_log_at_debug_shows_why_calls_were_refused() {
    let mut server =
        ServerProcess::start(Launch::default().env("RUST_LOG", "info,cartclick::api=debug")).await;
    refuse_a_sale(&server).await;

    let lines = server.stop(EXIT_BOUND).await;

    let refused = lines
        .iter()
        .find(|line| line.contains("rpc refused"))
        .unwrap_or_else(|| panic!("no rpc refused line: {lines:#?}"));
    assert!(refused.contains("DEBUG"), "{refused:?}");
    assert!(refused.contains("TOKEN_INVALID"), "{refused:?}");
}

#[tokio::test]
async fn rust_log_filters_by_target() {
    // Info from startup only; everything else at warn.
    let mut server =
        ServerProcess::start(Launch::default().env("RUST_LOG", "warn,cartclick::startup=info"))
            .await;

    let lines = server.stop(EXIT_BOUND).await;

    assert!(has_line(&lines, "serving"), "{lines:#?}");
    assert!(has_line(&lines, "reporting NOT_SERVING"), "{lines:#?}");
    // `SIGTERM received` is info from cartclick::cli.
    assert!(!has_line(&lines, "SIGTERM received"), "{lines:#?}");
}

#[tokio::test]
async fn logs_never_contain_viewer_ids_or_tokens_even_at_trace() {
    let mut server = ServerProcess::start(Launch::default().env("RUST_LOG", "trace")).await;
    let (viewer, tokens) = refuse_a_sale(&server).await;

    let lines = server.stop(EXIT_BOUND).await;

    assert!(has_line(&lines, "rpc refused"), "the calls were logged");
    for secret in std::iter::once(&viewer).chain(&tokens) {
        let leaks: Vec<&String> = lines
            .iter()
            .filter(|line| line.contains(secret.as_str()))
            .collect();
        assert!(leaks.is_empty(), "{secret:?} logged: {leaks:#?}");
    }
}

#[tokio::test]
async fn a_redis_that_may_evict_keys_is_logged_once_when_writes_stop_and_once_when_they_resume() {
    let redis = TestRedis::start().await;
    let mut server = ServerProcess::start(Launch {
        store: Some(redis.url()),
        ..Launch::default()
    })
    .await;
    let client = server.client().await;
    client.seed().await;
    let refusal = "redis node may evict keys";
    let resumed = "writes resume";

    set_maxmemory_policy(&redis.url(), "allkeys-lru").await;
    // The production period: every node is checked every 5 s.
    wait_for("the refusal to be logged", POLICY_BOUND, || {
        std::future::ready(has_line(&server.lines(), refusal))
    })
    .await;
    for i in 0..3 {
        let refused = client.issue(tap(&format!("viewer-{i}"))).await.unwrap_err();
        assert_error(&refused, Code::Unavailable, "STORE_UNAVAILABLE");
    }
    set_maxmemory_policy(&redis.url(), "noeviction").await;
    wait_for("the resumption to be logged", POLICY_BOUND, || {
        std::future::ready(has_line(&server.lines(), resumed))
    })
    .await;
    client.issue(tap("viewer-after")).await.unwrap();

    let lines = server.stop(EXIT_BOUND).await;
    let count = |text: &str| lines.iter().filter(|line| line.contains(text)).count();

    assert_eq!(count(refusal), 1, "{lines:#?}");
    let warning = lines.iter().find(|line| line.contains(refusal)).unwrap();
    assert!(warning.contains(" WARN "), "{warning:?}");
    assert!(warning.contains("allkeys-lru"), "{warning:?}");
    assert!(
        warning.contains(&format!("127.0.0.1:{}", redis.port())),
        "names the node: {warning:?}"
    );
    assert_eq!(count(resumed), 1, "{lines:#?}");
    assert_eq!(count("refuses writes: NOT_SERVING"), 1, "{lines:#?}");
    assert_eq!(
        count("redis call failed"),
        0,
        "no line per refused call: {lines:#?}"
    );
}
