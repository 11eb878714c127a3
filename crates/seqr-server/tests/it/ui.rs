//! The web UI is served from the binary (debug builds read `ui/dist`, which `make test`
//! builds first) to anyone, with the strict security headers, and only its own files.

use crate::TestServer;

/// The built UI, or `None` (with the reason printed) where it has not been built; under CI
/// a missing build is a failure, since `make test` builds it.
fn built() -> Option<()> {
    let index = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/dist/index.html");
    if std::path::Path::new(index).exists() {
        return Some(());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "ui/dist is missing: `make test` builds it with `make ui`"
    );
    eprintln!("skipped: ui/dist is not built (run `make ui`)");
    None
}

#[test]
fn the_page_and_its_assets_are_served_without_signing_in() {
    if built().is_none() {
        return;
    }
    let server = TestServer::start_authenticating();
    let (status, head, page) = server.request("GET", "/", "");
    assert_eq!(status, 200, "{head}\n{page}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(head.contains("script-src 'self'"), "{head}");
    assert!(page.contains(r#"<div id="app">"#), "{page}");
    // No inline script, and nothing loaded from another origin.
    assert!(!page.contains("<script>"), "{page}");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    let script = page
        .split(r#"src="/assets/"#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a script under /assets/");
    let (status, head, js) = server.request("GET", &format!("/assets/{script}"), "");
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("content-type: text/javascript"), "{head}");
    assert!(head.contains("immutable"), "{head}");
    assert!(
        js.contains("/api/users/login"),
        "the app signs in through the API"
    );
    let (status, _, body) = server.request("GET", "/assets/nope.js", "");
    assert_eq!(status, 404);
    assert!(body.starts_with(r#"{"Error":"#), "{body}");
    // Path segments cannot climb out of the asset folder.
    let (status, _, _) = server.request("GET", "/assets/..%2Findex.html", "");
    assert_eq!(status, 404);
}
