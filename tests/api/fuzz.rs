//! A fuzz test of the running server: random and mutated bytes at every
//! RPC's decoder (over bare HTTP/2, with a key that may call it) and at
//! every HTTP route. Whatever arrives, the server answers: never INTERNAL
//! or UNKNOWN, never a 5xx, never without an ErrorInfo, never a panic (a
//! panic would reset the stream, which the raw client refuses).
//!
//! Bounded so CI stays quick: `CASES` inputs per RPC and per route, from a
//! seed printed at the start; `CARTCLICK_FUZZ_SEED` replays one run, and
//! `CARTCLICK_FUZZ_CASES` runs more.

use bytes::Bytes;
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use tonic::Code;

use crate::hostile::every_rpc;
use crate::support::raw_client::{RawGrpc, frame};
use crate::support::*;

/// Inputs per RPC and per HTTP route unless `CARTCLICK_FUZZ_CASES` says.
const CASES: usize = 150;

fn cases() -> usize {
    std::env::var("CARTCLICK_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(CASES)
}

/// A generator seeded from `CARTCLICK_FUZZ_SEED`, or at random; the seed is
/// printed so that a failure can be replayed.
fn rng(test: &str) -> StdRng {
    let seed = std::env::var("CARTCLICK_FUZZ_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("{test}: CARTCLICK_FUZZ_SEED={seed}");
    StdRng::seed_from_u64(seed)
}

/// `valid` mutated one way or another: bytes flipped, cut, inserted,
/// repeated; or bytes that owe nothing to it.
fn mutate(rng: &mut StdRng, valid: &[u8]) -> Vec<u8> {
    let mut bytes = valid.to_vec();
    match rng.random_range(0..6) {
        0 => {
            let mut random = vec![0; rng.random_range(0..200)];
            rng.fill_bytes(&mut random);
            return random;
        }
        1 if !bytes.is_empty() => {
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bytes.len());
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
        }
        2 if !bytes.is_empty() => bytes.truncate(rng.random_range(0..bytes.len())),
        3 => {
            let at = rng.random_range(0..=bytes.len());
            let mut random = vec![0; rng.random_range(1..20)];
            rng.fill_bytes(&mut random);
            bytes.splice(at..at, random);
        }
        4 => bytes.extend_from_slice(valid),
        _ => {
            if !bytes.is_empty() {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
        }
    }
    bytes
}

/// A request of each RPC with plausible values: the seed that mutations
/// start from (it need not pass the checks, only decode).
fn valid_request(method: &prost_reflect::MethodDescriptor, token: &str) -> Vec<u8> {
    use prost_reflect::{Kind, Value};
    let mut message = prost_reflect::DynamicMessage::new(method.input());
    for field in method.input().fields() {
        let value = match field.kind() {
            Kind::String if field.name() == "token" => Value::String(token.to_owned()),
            // A listing's first page: a made-up token is refused before
            // anything else is looked at.
            Kind::String if field.name() == "page_token" => continue,
            Kind::String if field.name().ends_with("url") => {
                Value::String("https://shop.example.dk/p/1".into())
            }
            // Ids the seeded app does not use: a mutated admin call (a
            // review, a revocation) cannot change what the last check needs.
            Kind::String => Value::String("fuzz-1".into()),
            Kind::Enum(_) => Value::EnumNumber(1),
            Kind::Int32 => Value::I32(5),
            Kind::Uint32 => Value::U32(5),
            Kind::Int64 => Value::I64(5),
            _ => continue,
        };
        if value.is_valid_for_field(&field) {
            message.set_field(&field, value);
        }
    }
    message.encode_to_vec()
}

#[tokio::test]
async fn random_and_mutated_bytes_at_every_rpc_are_answered_with_a_status_and_its_error_info() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let token = app.issue(tap("viewer-1")).await.unwrap().token;
    let mut rng = rng("grpc");
    let mut raw = RawGrpc::connect(app.addr).await;
    for (path, method) in every_rpc() {
        let valid = valid_request(&method, &token);
        for _ in 0..cases() {
            let message = mutate(&mut rng, &valid);
            // Mostly whole frames of the mutated message; now and then the
            // frame itself mutated too.
            let body = if rng.random_ratio(1, 5) {
                Bytes::from(mutate(&mut rng, &frame(&message)))
            } else {
                frame(&message)
            };
            let answer = raw.call(&path, Some(&app.keys.admin), body.clone()).await;
            assert!(
                !matches!(answer.code, Code::Internal | Code::Unknown | Code::DataLoss),
                "{path} {:?}: {answer:?}",
                body.as_ref()
            );
            if answer.code != Code::Ok {
                assert!(
                    answer.reason.is_some(),
                    "{path} {:?}: {answer:?}",
                    body.as_ref()
                );
            }
        }
    }
    // Still serving.
    assert!(app.issue(tap("viewer-2")).await.is_ok());
}

/// A JSON body of each POST route, and a query of each GET route, that the
/// route reads.
fn http_routes(token: &str) -> Vec<(reqwest::Method, &'static str, String)> {
    vec![
        (
            reqwest::Method::POST,
            "/v1/sales:confirm",
            format!(
                r#"{{"token": "{token}", "orderId": "o-1", "amount": {{"currencyCode": "DKK", "amountMinor": "100"}}}}"#
            ),
        ),
        (
            reqwest::Method::POST,
            "/v1/sales:reverse",
            r#"{"orderId": "o-1", "reversalId": "r-1", "amount": {"currencyCode": "DKK", "amountMinor": "50"}}"#.into(),
        ),
        (
            reqwest::Method::GET,
            "/v1/counters",
            "dimension=DIMENSION_CAMPAIGN&id=c-1&granularity=GRANULARITY_HOUR\
             &startTime=2026-11-24T00:00:00Z&endTime=2026-11-25T00:00:00Z"
                .into(),
        ),
        (
            reqwest::Method::GET,
            "/v1/top",
            "dimension=DIMENSION_CAMPAIGN&day=2026-11-24&metric=TOP_METRIC_CLICKS&limit=5".into(),
        ),
        (
            reqwest::Method::GET,
            "/v1/earnings",
            "creatorId=cr-1&merchantId=m-1".into(),
        ),
        (
            reqwest::Method::GET,
            "/v1/commissions",
            "creatorId=cr-1&merchantId=m-1&status=COMMISSION_STATUS_PAYABLE&payoutId=p-1\
             &pageSize=5&pageToken="
                .into(),
        ),
        (
            reqwest::Method::POST,
            "/v1/payouts",
            r#"{"payoutId": "p-1", "merchantId": "m-1", "creatorId": "cr-1", "currencyCode": "DKK"}"#
                .into(),
        ),
        (
            reqwest::Method::GET,
            "/v1/payouts",
            "merchantId=m-1&creatorId=cr-1&pageSize=5&pageToken=".into(),
        ),
        (
            reqwest::Method::POST,
            "/v1/commissions:review",
            r#"{"merchantId": "m-1", "orderId": "o-1", "decision": "COMMISSION_DECISION_RELEASE", "reason": "fuzz"}"#
                .into(),
        ),
        (
            reqwest::Method::GET,
            "/v1/merchants",
            "pageSize=5&pageToken=".into(),
        ),
        (
            reqwest::Method::GET,
            "/v1/campaigns",
            "merchantId=m-1&status=CAMPAIGN_STATUS_APPROVED&pageSize=5&pageToken=".into(),
        ),
        (
            reqwest::Method::GET,
            "/v1/apiKeys",
            "role=ROLE_MERCHANT&merchantId=m-1&pageSize=5&pageToken=".into(),
        ),
        (
            reqwest::Method::GET,
            "/v1/counters:watch",
            "dimension=DIMENSION_CAMPAIGN&id=c-1".into(),
        ),
    ]
}

#[tokio::test]
async fn random_and_mutated_requests_at_every_http_route_are_answered_without_a_5xx() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let token = app.issue(tap("viewer-1")).await.unwrap().token;
    let base = format!("http://{}", app.http_addr.unwrap());
    let client = reqwest::Client::new();
    let mut rng = rng("http");
    let methods = [
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ];
    for (method, path, valid) in http_routes(&token) {
        for _ in 0..cases() {
            let mutated = mutate(&mut rng, valid.as_bytes());
            let (method, path) = if rng.random_ratio(1, 10) {
                let path = String::from_utf8_lossy(&mutate(&mut rng, path.as_bytes()))
                    .chars()
                    .filter(|c| c.is_ascii_graphic() && !matches!(c, '?' | '#' | '%'))
                    .collect::<String>();
                (
                    methods[rng.random_range(0..methods.len())].clone(),
                    format!("/{path}"),
                )
            } else {
                (method.clone(), path.to_owned())
            };
            let mut request = if method == reqwest::Method::GET {
                let query = String::from_utf8_lossy(&mutated)
                    .chars()
                    .filter(|c| c.is_ascii_graphic() && !matches!(c, '#' | '%'))
                    .collect::<String>();
                client.get(format!("{base}{path}?{query}"))
            } else {
                client
                    .request(method.clone(), format!("{base}{path}"))
                    .header("content-type", "application/json")
                    .body(mutated.clone())
            };
            request = request.bearer_auth(&app.keys.admin);
            request = request.header("x-cartclick-merchant-id", MERCHANT);
            let response = request.send().await.expect("the server answers");
            let status = response.status();
            let streams = response
                .headers()
                .get("content-type")
                .is_some_and(|value| value == "text/event-stream");
            if status.is_success() && streams {
                // A started event stream never ends by itself: its start
                // is the answer.
                continue;
            }
            let body = response.bytes().await.unwrap();
            assert!(
                !status.is_server_error(),
                "{method} {path} {:?}: {status} {}",
                String::from_utf8_lossy(&mutated),
                String::from_utf8_lossy(&body)
            );
            if !status.is_success() {
                let json: serde_json::Value = serde_json::from_slice(&body)
                    .unwrap_or_else(|e| panic!("{method} {path}: {status}, not JSON ({e})"));
                assert!(
                    json["details"][0]["reason"].is_string(),
                    "{method} {path}: {status} {json}"
                );
            }
        }
    }
    assert!(app.issue(tap("viewer-2")).await.is_ok());
}
