//! The dashboard page (DESIGN.md, "The dashboard page"): the bundle built
//! from `web/dashboard/` into `web/dashboard/dist/`, embedded in the binary
//! with `rust-embed` (in debug builds too, so tests serve what a release
//! serves), served without a key: the page signs in itself, and its data
//! routes check the key it sends.
//!
//! - `GET /`: `index.html`, `cache-control: no-cache` (revalidated each
//!   time, so a new release is seen at once);
//! - `GET /assets/<file>`: a hashed asset, its content type from its
//!   extension, `cache-control: public, max-age=31536000, immutable` (a new
//!   build names new files).
//!
//! Both carry an `ETag` (the file's SHA-256, computed at build time) and
//! answer `If-None-Match` with 304, and a strict Content-Security-Policy:
//! nothing from another origin, no inline script or style. An asset the
//! bundle lacks is 404 ROUTE_NOT_FOUND, as every unknown path.

use axum::body::Body;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderName, IF_NONE_MATCH,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use rust_embed::{EmbeddedFile, RustEmbed};

use super::error::error_response;
use crate::api::refused;
use crate::error::Error;

/// The built bundle: `index.html` and `assets/`.
#[derive(RustEmbed)]
#[folder = "web/dashboard/dist/"]
struct Bundle;

/// Where the page is served.
pub(super) const PAGE_PATH: &str = "/";

/// Where its assets are served.
pub(super) const ASSETS_PATH: &str = "/assets/{file}";

/// The page's Content-Security-Policy: its own origin only, for scripts,
/// styles, fetches and fonts; images also as data URLs (the CSV export's
/// and chart's); no base, no framing, forms post only to itself.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How the page is cached: revalidated on every load.
const PAGE_CACHE: &str = "no-cache";

/// How an asset is cached: for a year, never revalidated (its name
/// changes with its content).
const ASSET_CACHE: &str = "public, max-age=31536000, immutable";

/// `GET /`: the page.
pub(super) async fn page(headers: HeaderMap) -> Response {
    match Bundle::get("index.html") {
        Some(file) => serve(&file, "text/html; charset=utf-8", PAGE_CACHE, &headers),
        // A build without a bundle: a packaging error, said plainly.
        None => {
            let missing = Error::RouteNotFound("this build has no dashboard bundle".into());
            error_response(&refused(missing), None)
        }
    }
}

/// `GET /assets/<file>`: one asset of the bundle, or 404.
pub(super) async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let found = Bundle::get(&format!("assets/{file}"));
    match found {
        Some(found) => {
            let mime = found.metadata.mimetype();
            let content_type = if mime.starts_with("text/") || mime == "application/javascript" {
                format!("{mime}; charset=utf-8")
            } else {
                mime.to_owned()
            };
            serve(&found, &content_type, ASSET_CACHE, &headers)
        }
        None => {
            let missing = Error::RouteNotFound(format!("no route /assets/{file}"));
            error_response(&refused(missing), None)
        }
    }
}

/// `file` with its headers, or 304 when `If-None-Match` names its ETag.
fn serve(
    file: &EmbeddedFile,
    content_type: &str,
    cache: &'static str,
    asked: &HeaderMap,
) -> Response {
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let fresh = asked
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*");
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        // A release build embeds the bundle as statics: serve them without a copy.
        let bytes = match file.data.clone() {
            std::borrow::Cow::Borrowed(data) => bytes::Bytes::from_static(data),
            std::borrow::Cow::Owned(data) => bytes::Bytes::from(data),
        };
        let mut response = Body::from(bytes).into_response();
        if let Ok(value) = HeaderValue::from_str(content_type) {
            response.headers_mut().insert(CONTENT_TYPE, value);
        }
        response
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    secure(headers);
    response
}

/// The headers every page response carries: the Content-Security-Policy,
/// no MIME sniffing, no referrer (a fragment never leaves, but the path's
/// filters need not either), no framing for browsers that predate
/// `frame-ancestors`.
fn secure(headers: &mut HeaderMap) {
    let pairs: [(HeaderName, &'static str); 4] = [
        (CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_VALUE),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (REFERRER_POLICY, "no-referrer"),
        (X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
}
