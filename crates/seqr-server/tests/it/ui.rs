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
    // As sent: the nonce is case-sensitive.
    let (status, page_head, page) = server.request_exact("GET", "/", &[], "");
    let head = page_head.to_ascii_lowercase();
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
    // The page's policy allows styles carrying this response's nonce (the code editor injects
    // its styles so), and only those; script stays same-origin files only.
    let nonce = page
        .split(r#"<meta name="csp-nonce" content=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a style nonce in the page");
    assert!(nonce.len() >= 22, "128 random bits: {nonce}");
    let policy = |head: &str| {
        head.lines()
            .find(|l| {
                l.to_ascii_lowercase()
                    .starts_with("content-security-policy:")
            })
            .map(str::to_owned)
            .unwrap_or_default()
    };
    let page_nonce = policy(&page_head)
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .map(str::to_owned)
        .expect("a nonce in the page's policy");
    assert_eq!(page_nonce, nonce, "the page's nonce is its policy's");
    assert!(policy(&page_head).contains("script-src 'self';"));
    let (_, head_again, page_again) = server.request_exact("GET", "/", &[], "");
    assert!(
        !page_again.contains(nonce) && !head_again.contains(nonce),
        "a fresh nonce per page"
    );
    let (_, api_head, _) = server.request("GET", "/api", "");
    assert!(api_head.contains("style-src 'self';"), "{api_head}");
    let (status, _, body) = server.request("GET", "/assets/nope.js", "");
    assert_eq!(status, 404);
    assert!(body.starts_with(r#"{"Error":"#), "{body}");
    // Path segments cannot climb out of the asset folder.
    let (status, _, _) = server.request("GET", "/assets/..%2Findex.html", "");
    assert_eq!(status, 404);
}
