//! `GET /v1/counters:watch`: WatchCounters as Server-Sent Events. The key
//! from `authorization` only; each event a CounterBucket in JSON, the
//! current hour now and on every change; `: keep-alive` comments; one
//! `event: error` at the end (revocation, shutdown); one store read a
//! second per watched id however many streams watch it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cartclick::proto::*;
use reqwest::StatusCode;
use serde_json::Value;
use tonic::Code;

use super::{Http, assert_status_json};
use crate::support::*;

/// How soon a tap must show in a watching stream (the issue's bound).
const LIVE_BOUND: Duration = Duration::from_secs(2);

/// The path and query of a watch.
fn watch_path(dimension: &str, id: &str) -> String {
    format!("/v1/counters:watch?dimension={dimension}&id={id}")
}

/// One event of a stream, as sent.
#[derive(Debug, PartialEq)]
enum Sse {
    /// `data: …` under the default event type, read as JSON.
    Data(Value),
    /// `event: <name>` with its `data`, read as JSON.
    Named(String, Value),
    /// A comment line, without its `: `.
    Comment(String),
}

/// An open event stream, read one event at a time.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    /// Opens the stream on `path` with `key`; panics unless it starts.
    async fn open(app: &TestApp, path: &str, key: &str) -> Stream {
        let response = reqwest::Client::new()
            .get(format!("http://{}{path}", app.http_addr.unwrap()))
            .bearer_auth(key)
            .send()
            .await
            .expect("the HTTP port answers");
        assert_eq!(response.status(), StatusCode::OK);
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event, within `bound`; `None` when the stream ended.
    async fn next(&mut self, bound: Duration) -> Option<Sse> {
        tokio::time::timeout(bound, self.read())
            .await
            .unwrap_or_else(|_| panic!("no event within {bound:?}"))
    }

    async fn read(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(block.trim_end()));
            }
            match self.response.chunk().await.expect("the stream reads") {
                Some(chunk) => self.buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
                None => {
                    assert!(self.buffer.is_empty(), "cut short: {:?}", self.buffer);
                    return None;
                }
            }
        }
    }

    /// The next bucket event within `bound`, past keep-alives.
    async fn bucket(&mut self, bound: Duration) -> Value {
        loop {
            match self.next(bound).await {
                Some(Sse::Data(bucket)) => return bucket,
                Some(Sse::Comment(_)) => continue,
                other => panic!("expected a bucket, got {other:?}"),
            }
        }
    }
}

/// One event block.
fn parse(block: &str) -> Sse {
    let mut event = None;
    let mut data = None;
    for line in block.lines() {
        if let Some(comment) = line.strip_prefix(": ") {
            return Sse::Comment(comment.to_owned());
        } else if let Some(name) = line.strip_prefix("event: ") {
            event = Some(name.to_owned());
        } else if let Some(json) = line.strip_prefix("data: ") {
            assert!(data.is_none(), "one data line an event: {block}");
            data = Some(serde_json::from_str(json).expect("JSON data"));
        } else {
            panic!("unexpected line {line:?} in {block:?}");
        }
    }
    let data = data.unwrap_or_else(|| panic!("no data in {block:?}"));
    match event {
        Some(name) => Sse::Named(name, data),
        None => Sse::Data(data),
    }
}

/// Asserts the last event of a stream: `event: error` with a Status of
/// `code` and `reason`, and nothing after it.
async fn assert_ends_with_error(stream: &mut Stream, code: Code, reason: &str) {
    let end = loop {
        match stream.next(BOUND).await {
            Some(Sse::Data(_) | Sse::Comment(_)) => continue,
            other => break other,
        }
    };
    let Some(Sse::Named(name, status)) = end else {
        panic!("expected event: error, got {end:?}");
    };
    assert_eq!(name, "error");
    assert_eq!(status["code"], code as i32, "{status}");
    assert_eq!(status["details"][0]["reason"], reason, "{status}");
    assert_eq!(status["details"][0]["domain"], "cartclick");
    assert_eq!(stream.next(BOUND).await, None, "the stream ends after it");
}

async fn the_first_event_is_the_current_hour_and_a_tap_moves_the_next_within_two_seconds(
    backend: Backend,
) {
    let app = TestApp::builder().on(backend).seeded().spawn().await;
    let mut stream = Stream::open(
        &app,
        &watch_path("DIMENSION_CAMPAIGN", CAMPAIGN),
        &app.keys.dashboard,
    )
    .await;
    let headers = stream.response.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-store");

    let first = stream.bucket(BOUND).await;
    let tapped = Instant::now();
    app.issue(tap("viewer-1")).await.unwrap();
    let second = stream.bucket(LIVE_BOUND).await;
    let took = tapped.elapsed();

    let hour = start_time().format("%Y-%m-%dT%H:00:00Z").to_string();
    assert_eq!(first["startTime"], hour.as_str(), "{first}");
    assert_eq!(
        (&first["taps"], &first["clicks"]),
        (&"0".into(), &"0".into())
    );
    // The protobuf JSON mapping, every field present.
    assert_eq!(first["revenue"], serde_json::json!([]));
    assert_eq!(second["startTime"], first["startTime"]);
    assert_eq!(
        (&second["taps"], &second["clicks"]),
        (&"1".into(), &"1".into())
    );
    assert!(took <= LIVE_BOUND, "the tap showed after {took:?}");
}

on_all_backends!(the_first_event_is_the_current_hour_and_a_tap_moves_the_next_within_two_seconds);

#[tokio::test]
async fn the_key_is_read_from_the_authorization_header_only() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let http = Http::of(&app);
    let path = watch_path("DIMENSION_CAMPAIGN", CAMPAIGN);

    let in_query = http
        .get(&format!("{path}&key={}", app.keys.dashboard), None)
        .await;
    let as_token = http
        .get(&format!("{path}&access_token={}", app.keys.dashboard), None)
        .await;
    let without = http.get(&path, None).await;
    // With a header, a key in the query is an unknown parameter like any.
    let both = http
        .get(
            &format!("{path}&key={}", app.keys.dashboard),
            Some(&app.keys.dashboard),
        )
        .await;

    for answer in [&in_query, &as_token, &without] {
        assert_status_json(answer, 401, Code::Unauthenticated, "UNAUTHENTICATED");
    }
    assert_status_json(&both, 400, Code::InvalidArgument, "INVALID_FIELD");
    assert_eq!(both.body["details"][0]["metadata"]["field"], "key");
}

#[tokio::test]
async fn bad_queries_and_roles_are_refused_before_the_stream_starts() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let http = Http::of(&app);
    let dashboard = Some(app.keys.dashboard.as_str());
    let field = super::invalid_field_of;
    let long_id = "x".repeat(129);
    for (query, expected) in [
        ("/v1/counters:watch?id=c-1", "dimension"),
        (
            "/v1/counters:watch?dimension=DIMENSION_SIZE&id=c-1",
            "dimension",
        ),
        (
            "/v1/counters:watch?dimension=DIMENSION_UNSPECIFIED&id=c-1",
            "dimension",
        ),
        ("/v1/counters:watch?dimension=DIMENSION_CAMPAIGN", "id"),
        ("/v1/counters:watch?dimension=DIMENSION_CAMPAIGN&id=", "id"),
        (
            &format!("/v1/counters:watch?dimension=DIMENSION_CAMPAIGN&id={long_id}"),
            "id",
        ),
        (
            "/v1/counters:watch?dimension=DIMENSION_CAMPAIGN&id=a&id=b",
            "id",
        ),
    ] {
        let answer = http.get(query, dashboard).await;
        assert_eq!(field(&answer), expected, "{query}");
    }

    let feed = http
        .get(
            &watch_path("DIMENSION_CAMPAIGN", CAMPAIGN),
            Some(&app.keys.feed),
        )
        .await;
    assert_status_json(&feed, 403, Code::PermissionDenied, "PERMISSION_DENIED");
    app.put_campaign("c-other", OTHER_MERCHANT, "apparel", &[])
        .await;
    let others = http
        .get(
            &watch_path("DIMENSION_CAMPAIGN", "c-other"),
            Some(&app.keys.merchant),
        )
        .await;
    assert_status_json(&others, 403, Code::PermissionDenied, "PERMISSION_DENIED");
}

#[tokio::test]
async fn a_revoked_keys_stream_ends_with_event_error_unauthenticated() {
    let app = TestApp::builder().memory().seeded().spawn().await;
    let created = app
        .admin()
        .create_api_key(authed(
            &app.keys.admin,
            CreateApiKeyRequest {
                role: Role::Dashboard.into(),
                merchant_id: String::new(),
                label: "sse test".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut stream = Stream::open(
        &app,
        &watch_path("DIMENSION_MERCHANT", MERCHANT),
        &created.secret,
    )
    .await;
    stream.bucket(BOUND).await;

    app.admin()
        .revoke_api_key(authed(
            &app.keys.admin,
            RevokeApiKeyRequest {
                key_id: created.key_id,
            },
        ))
        .await
        .unwrap();

    assert_ends_with_error(&mut stream, Code::Unauthenticated, "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn shutdown_ends_the_stream_with_event_error_unavailable_and_the_server_stops() {
    let mut app = TestApp::builder().memory().seeded().spawn().await;
    let mut stream = Stream::open(
        &app,
        &watch_path("DIMENSION_MERCHANT", MERCHANT),
        &app.keys.dashboard,
    )
    .await;
    stream.bucket(BOUND).await;

    app.begin_shutdown();

    assert_ends_with_error(&mut stream, Code::Unavailable, "STORE_UNAVAILABLE").await;
    // Well within the 5 s grace of the test config: the stream did not
    // hold shutdown up.
    let server = app.server.take().unwrap();
    tokio::time::timeout(Duration::from_secs(3), server)
        .await
        .expect("the server stops without waiting out its grace")
        .unwrap()
        .expect("a clean stop");
}

#[tokio::test]
async fn a_quiet_stream_sends_keep_alive_comments() {
    let app = TestApp::builder()
        .memory()
        .seeded()
        .config(|config| config.sse_keep_alive = Duration::from_millis(200))
        .spawn()
        .await;
    let mut stream = Stream::open(
        &app,
        &watch_path("DIMENSION_MERCHANT", MERCHANT),
        &app.keys.dashboard,
    )
    .await;
    stream.bucket(BOUND).await;

    // Nothing changes: the next thing sent is a keep-alive.
    assert_eq!(
        stream.next(BOUND).await,
        Some(Sse::Comment("keep-alive".into()))
    );
}

#[tokio::test]
async fn many_streams_on_one_id_read_the_store_at_most_once_a_second() {
    let store = Arc::new(CountingStore::new());
    let app = TestApp::builder()
        .store(store.clone())
        .seeded()
        .spawn()
        .await;
    let path = watch_path("DIMENSION_CAMPAIGN", CAMPAIGN);
    let mut streams = Vec::new();
    for _ in 0..8 {
        let mut stream = Stream::open(&app, &path, &app.keys.dashboard).await;
        stream.bucket(BOUND).await;
        streams.push(stream);
    }
    let (reads_before, since) = (store.counter_reads(), Instant::now());

    // Over a window of three seconds, eight streams on their own would read
    // 24 times; shared, once a second (and one tick of slack).
    wait_for("three seconds of watching", BOUND, || async {
        since.elapsed() >= Duration::from_secs(3)
    })
    .await;
    let reads = store.counter_reads() - reads_before;
    let seconds = since.elapsed().as_secs_f64();
    // Every stream still gets each change.
    app.issue(tap("viewer-1")).await.unwrap();
    for stream in &mut streams {
        assert_eq!(stream.bucket(LIVE_BOUND).await["taps"], "1");
    }

    assert!(
        (reads as f64) <= seconds + 1.0,
        "{reads} store reads in {seconds:.1} s for 8 streams"
    );
}

#[tokio::test]
async fn a_stream_holds_no_concurrency_permit_once_it_started() {
    let app = TestApp::builder()
        .memory()
        .seeded()
        .config(|config| config.max_concurrent_requests = std::num::NonZero::new(1).unwrap())
        .spawn()
        .await;
    let mut stream = Stream::open(
        &app,
        &watch_path("DIMENSION_MERCHANT", MERCHANT),
        &app.keys.dashboard,
    )
    .await;
    stream.bucket(BOUND).await;

    // The one permit is free: a read is not shed.
    let counters = Http::of(&app)
        .get(
            "/v1/counters?dimension=DIMENSION_MERCHANT&id=m-1",
            Some(&app.keys.dashboard),
        )
        .await;
    assert_eq!(counters.status, StatusCode::OK, "{}", counters.body);
}
