//! `/openapi.json` matches what the server really serves: every documented
//! operation exists, undocumented methods on documented paths do not, and
//! every route registered in the code is documented.

use auth_server::playground::ResourceUrl;
use serde_json::Value;

use crate::helpers::{Options, TestApp, TestDb};

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

fn document() -> Value {
    serde_json::from_str(auth_server::routes::OPENAPI_JSON).expect("openapi.json is JSON")
}

#[actix_web::test]
async fn the_document_is_served_as_is() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served: Value = response.json().await.unwrap();
    assert_eq!(served, document());
    assert_eq!(served["openapi"], "3.1.0");
}

#[actix_web::test]
async fn every_documented_operation_exists_and_nothing_else_on_its_path() {
    let app = TestApp::spawn_with(
        TestDb::sqlite(),
        Options {
            allow_registration: true,
            // The playground's paths exist only when it is on.
            serve: |config| {
                config.playground_resource_url =
                    Some(ResourceUrl::parse("http://127.0.0.1:8081").unwrap());
            },
            ..Options::default()
        },
    )
    .await;
    let doc = document();
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    for (path, item) in paths {
        for method in METHODS {
            let request = app.http.request(
                method.to_uppercase().parse().unwrap(),
                format!("{}{path}", app.address),
            );
            let status = request.send().await.unwrap().status().as_u16();
            if item.get(method).is_some() {
                assert!(
                    status != 404 && status != 405,
                    "{method} {path} is documented but answers {status}"
                );
                let documented = item[method]["responses"]
                    .as_object()
                    .unwrap()
                    .contains_key(&status.to_string());
                assert!(documented, "{method} {path}: {status} is not documented");
            } else {
                assert_eq!(
                    status, 405,
                    "{method} {path} is not documented: 405 Method Not Allowed"
                );
            }
        }
    }
}

#[test]
fn every_route_in_the_code_is_documented() {
    let doc = document();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in ["src/routes/mod.rs", "src/startup.rs"] {
        let source = std::fs::read_to_string(root.join(file)).unwrap();
        for line in source.lines().map(str::trim) {
            if line.starts_with("//") {
                continue;
            }
            // Every string literal that is an absolute path: the route
            // definitions (routes are registered nowhere else).
            for literal in line.split('"').skip(1).step_by(2) {
                if literal.starts_with('/') && !literal.contains(' ') {
                    found.push(literal.to_owned());
                }
            }
        }
    }
    assert!(found.len() >= 10, "the scan found the routes: {found:?}");
    for path in &found {
        assert!(
            doc["paths"].get(path.as_str()).is_some(),
            "route {path} is not in openapi.json"
        );
    }
}
