//! POST /users, when enabled.

use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, TestDb, error_of};

async fn open_registration() -> TestApp {
    TestApp::spawn_with(
        TestDb::sqlite(),
        Options {
            allow_registration: true,
            ..Options::default()
        },
    )
    .await
}

#[actix_web::test]
async fn registration_is_off_by_default() {
    let app = TestApp::spawn().await;
    let response = app
        .register(&json!({"username": "bob", "password": "long enough"}))
        .await;
    assert_eq!(response.status(), 404);
}

#[actix_web::test]
async fn a_registered_user_can_log_in() {
    let app = open_registration().await;
    let response = app
        .register(&json!({"username": "bob", "password": "long enough"}))
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["username"], "bob");
    assert!(uuid::Uuid::parse_str(created["id"].as_str().unwrap()).is_ok());
    assert_eq!(app.login("bob", "long enough").await.status(), 200);
}

#[actix_web::test]
async fn a_taken_username_is_a_conflict() {
    let app = open_registration().await;
    let (status, code, _) = error_of(
        app.register(&json!({"username": "alice", "password": "long enough"}))
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (409, "username_taken"));
}

#[actix_web::test]
async fn bad_input_is_explained() {
    let app = open_registration().await;
    let cases = [
        (
            json!({"username": "", "password": "long enough"}),
            "invalid_username",
        ),
        (
            json!({"username": "bob smith", "password": "long enough"}),
            "invalid_username",
        ),
        (
            json!({"username": "x".repeat(65), "password": "long enough"}),
            "invalid_username",
        ),
        (
            json!({"username": "bob", "password": "short"}),
            "invalid_password",
        ),
        (
            json!({"username": "bob", "password": "x".repeat(1025)}),
            "invalid_password",
        ),
        (json!({"username": "bob"}), "invalid_request"),
    ];
    for (body, want) in cases {
        let (status, code, response) = error_of(app.register(&body).await).await;
        assert_eq!((status, code.as_str()), (400, want), "{body}: {response}");
        assert!(
            response["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
}
