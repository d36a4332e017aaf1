//! The dashboard page at `GET /` and its assets at `GET /assets/<file>`:
//! from the bundle embedded in the binary, without a key, with a strict
//! Content-Security-Policy, cache headers and ETags.

use reqwest::StatusCode;
use tonic::Code;

use super::{Http, assert_status_json};
use crate::support::*;

/// The page's policy: nothing from another origin, no inline script.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// The first `/assets/…` file `index.html` names.
fn first_asset(html: &str) -> String {
    let start = html.find("/assets/").expect("the page names an asset");
    html[start..].split(['"', '\'']).next().unwrap().to_owned()
}

#[track_caller]
fn assert_secured(headers: &reqwest::header::HeaderMap) {
    assert_eq!(headers["content-security-policy"], CSP);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn the_page_is_html_without_a_key_with_a_strict_csp_and_no_cache() {
    let app = TestApp::builder().memory().spawn().await;
    let base = format!("http://{}", app.http_addr.unwrap());
    let client = reqwest::Client::new();

    let page = client.get(format!("{base}/")).send().await.unwrap();
    let headers = page.headers().clone();
    let status = page.status();
    let html = page.text().await.unwrap();

    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_secured(&headers);
    assert!(
        html.to_ascii_lowercase().starts_with("<!doctype html"),
        "{html}"
    );
    // Revalidation: the same ETag is not sent again.
    let etag = headers["etag"].to_str().unwrap();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let again = client
        .get(format!("{base}/"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"], etag);
    assert_secured(again.headers());
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_asset_has_its_content_type_and_is_cached_for_good() {
    let app = TestApp::builder().memory().spawn().await;
    let base = format!("http://{}", app.http_addr.unwrap());
    let html = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let asset = first_asset(&html);

    let response = reqwest::get(format!("{base}{asset}")).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK, "{asset}");
    let headers = response.headers();
    let content_type = headers["content-type"].to_str().unwrap();
    let expected = if asset.ends_with(".js") {
        "text/javascript"
    } else {
        "text/css"
    };
    assert!(
        content_type.starts_with(expected),
        "{asset}: {content_type}"
    );
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(headers.contains_key("etag"));
    assert_secured(headers);
    assert!(!response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_unknown_asset_is_404_route_not_found() {
    let app = TestApp::builder().memory().spawn().await;
    let http = Http::of(&app);
    for path in [
        "/assets/app-ffffffff.js",
        "/assets/",
        "/assets/../Cargo.toml",
        "/assets/%2e%2e%2fCargo.toml",
        "/index.html",
    ] {
        let missing = http.get(path, None).await;
        assert_status_json(&missing, 404, Code::NotFound, "ROUTE_NOT_FOUND");
    }
}

#[tokio::test]
async fn the_page_and_assets_take_only_get_as_every_route() {
    let app = TestApp::builder().memory().spawn().await;
    let base = format!("http://{}", app.http_addr.unwrap());
    let client = reqwest::Client::new();
    for path in ["/", "/assets/app-00000000.js"] {
        for method in ["HEAD", "POST", "PUT", "DELETE"] {
            let response = client
                .request(method.parse().unwrap(), format!("{base}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(response.headers()["allow"], "GET", "{method} {path}");
        }
    }
}
