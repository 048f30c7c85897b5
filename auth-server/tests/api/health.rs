//! Liveness and readiness, and what a lost database looks like.

use std::time::Duration;

use crate::helpers::{Options, PASSWORD, TestApp, TestDb, error_of};

#[actix_web::test]
async fn healthz_and_readyz_answer_200_when_all_is_well() {
    let app = TestApp::spawn().await;
    assert_eq!(app.healthz().await.status(), 200);
    assert_eq!(app.readyz().await.status(), 200);
}

#[actix_web::test]
async fn a_lost_database_gives_503_and_retry_after() {
    // Only PostgreSQL can be taken away from under a running server.
    let Some(db) = TestDb::postgres() else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant skipped");
        return;
    };
    let options = Options {
        db_timeout: Duration::from_millis(300),
        ..Options::default()
    };
    let app = TestApp::spawn_with(db, options).await;
    assert_eq!(app.readyz().await.status(), 200);

    app.db.drop_now();

    assert_eq!(app.readyz().await.status(), 503);
    assert_eq!(app.healthz().await.status(), 200, "alive, just not ready");
    let response = app.login("alice", PASSWORD).await;
    assert_eq!(response.headers().get("retry-after").unwrap(), "5");
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (503, "temporarily_unavailable"));
}
