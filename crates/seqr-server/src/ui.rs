//! The web UI: the single-page app built from `ui/` (`make ui` writes `ui/dist`), embedded in
//! release binaries and read from disk by debug builds. It is served from the same origin as
//! the API and loads nothing from elsewhere; the security headers (`headers.rs`) forbid inline
//! script, so everything it runs comes from these files.
//!
//! A binary built without the UI answers its pages with an error that says how to build it,
//! instead of failing to build.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::AppState;
use crate::error::ApiError;

#[derive(RustEmbed)]
#[folder = "../../ui/dist/"]
#[allow_missing = true]
struct Assets;

/// Where `ui/index.html` carries the style nonce for the page's script to use.
const NONCE_PLACEHOLDER: &str = "__SEQR_STYLE_NONCE__";
/// Where it carries the base URI's path, for the script's API calls.
const BASE_PATH_PLACEHOLDER: &str = "__SEQR_BASE_PATH__";

/// `GET /`: the app's page, never cached, so a new version is picked up on reload. Each
/// answer has a fresh style nonce, in its policy and in the page for the script to read.
/// Behind a proxy with a path prefix, the page's asset links and API calls carry it (the
/// prefix holds only plain path characters, see `listen::base_path`).
pub(crate) async fn page(State(state): State<AppState>) -> Response {
    match Assets::get("index.html") {
        Some(file) => {
            let nonce = seqr_meta::token::generate_nonce();
            let prefix = &*state.path_prefix;
            let html = String::from_utf8_lossy(&file.data)
                .replace(NONCE_PLACEHOLDER, &nonce)
                .replace(BASE_PATH_PLACEHOLDER, prefix)
                .replace("=\"/assets/", &format!("=\"{prefix}/assets/"));
            let mut response = respond(html.into_bytes(), "text/html; charset=utf-8", "no-cache");
            if let Ok(policy) = HeaderValue::from_str(&crate::headers::page_policy(&nonce)) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, policy);
            }
            response
        }
        None => ApiError::not_found(
            "This seqr binary was built without its web UI: run `make build` (or `make ui` and \
             rebuild). The API is available under /api.",
        )
        .into_response(),
    }
}

/// `GET /assets/{file}`: the app's scripts and styles. Their names carry a content hash, so
/// they may be cached for good.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    // Vite names assets `name-hash.ext`: anything else (a decoded `/`, `..`) is refused before
    // a debug build would look on disk.
    let plain = !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    let found = if plain {
        Assets::get(&format!("assets/{file}"))
    } else {
        None
    };
    match found {
        Some(f) => respond(
            f.data.into_owned(),
            content_type(&file),
            "public, max-age=31536000, immutable",
        ),
        None => ApiError::not_found(format!("The web UI has no asset `{file}`.")).into_response(),
    }
}

fn respond(body: Vec<u8>, content_type: &'static str, cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The types a Vite build emits.
fn content_type(file: &str) -> &'static str {
    match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("json" | "map") => "application/json",
        _ => "application/octet-stream",
    }
}
