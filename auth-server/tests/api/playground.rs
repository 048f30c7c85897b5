//! `GET /playground`: off unless configured; when on, the page and its
//! assets under a policy that lets it talk only to this server and the
//! resource server.

use auth_server::playground::ResourceUrl;

use crate::helpers::{Options, TestApp, TestDb};

async fn with_playground() -> TestApp {
    TestApp::spawn_with(
        TestDb::sqlite(),
        Options {
            serve: |config| {
                config.playground_resource_url =
                    Some(ResourceUrl::parse("http://127.0.0.1:8081/").unwrap());
            },
            ..Options::default()
        },
    )
    .await
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn without_a_resource_url_there_is_no_playground() {
    let app = TestApp::spawn().await;
    for path in [
        "/playground",
        "/playground/playground.js",
        "/playground/playground.css",
    ] {
        assert_eq!(get(&app, path).await.status(), 404, "{path}");
    }
}

#[actix_web::test]
async fn the_page_may_connect_only_to_itself_and_the_resource_server() {
    let app = with_playground().await;

    let response = get(&app, "/playground").await;

    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let policy = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self' http://127.0.0.1:8081",
        "frame-ancestors 'none'",
    ] {
        assert!(
            policy.split(';').any(|d| d.trim() == directive),
            "{directive:?} in {policy}"
        );
    }
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"<meta name="resource-url" content="http://127.0.0.1:8081">"#));
    assert!(page.contains(r#"src="/playground/playground.js""#));
    assert!(page.contains(r#"href="/playground/playground.css""#));
}

#[actix_web::test]
async fn the_script_and_style_sheet_are_served_with_their_types() {
    let app = with_playground().await;
    for (path, content_type) in [
        (
            "/playground/playground.js",
            "text/javascript; charset=utf-8",
        ),
        ("/playground/playground.css", "text/css; charset=utf-8"),
    ] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert!(!response.text().await.unwrap().is_empty(), "{path}");
    }
}
