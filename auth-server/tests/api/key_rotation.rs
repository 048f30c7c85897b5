//! Signing keys: EdDSA, ES256 and RS256; rotation that publishes first,
//! signs later, and retires the old key once its tokens have expired.

use std::time::{Duration, Instant};

use auth_server::cli::{DatabaseArgs, KeysCommand, KeysRotateArgs};
use auth_server::domain::SigningAlg;
use auth_server::keys::{self, KeyState, RotatePlan};
use auth_server::{clock, commands};
use serde_json::Value;
use shared_claims::JwkSet;

use crate::helpers::{Options, PASSWORD, TestApp, TestDb, on_both_backends};
use crate::oauth_helpers::{text, tokens};

const T0: i64 = 1_700_000_000;

on_both_backends!(a_key_goes_from_pending_to_active_to_published_to_retired);

fn states(db: &TestDb, now: i64) -> Vec<(String, KeyState)> {
    keys::list(&mut db.connection(), now)
        .unwrap()
        .into_iter()
        .map(|k| (k.kid, k.state))
        .collect()
}

fn a_key_goes_from_pending_to_active_to_published_to_retired(db: &TestDb) {
    let mut conn = db.connection();
    keys::ensure_active_key(&mut conn, T0).unwrap();
    let old = keys::load_key_set(&mut conn, T0).unwrap().signing;
    let plan = RotatePlan {
        alg: SigningAlg::ES256,
        activation_delay: 600,
        retire_after: 3600,
    };
    let new = keys::rotate(&mut conn, T0 + 10, &plan).unwrap();
    assert_eq!(new.activates_at, T0 + 610);
    let (old, new) = (old.kid().to_owned(), new.kid);

    // Published at once, but not signing before its activation second.
    assert_eq!(
        states(db, T0 + 10),
        vec![
            (old.clone(), KeyState::Active),
            (new.clone(), KeyState::Pending)
        ]
    );
    let set = keys::load_key_set(&mut conn, T0 + 10).unwrap();
    let published: Vec<_> = set.jwks.keys.iter().filter_map(|k| k.kid.clone()).collect();
    assert_eq!(published, vec![new.clone(), old.clone()]);
    assert_eq!(set.signer_at(T0 + 609).kid(), old);
    assert_eq!(set.signer_at(T0 + 610).kid(), new);

    // Active from then on; the old key only verifies...
    assert_eq!(
        states(db, T0 + 610),
        vec![
            (old.clone(), KeyState::Published),
            (new.clone(), KeyState::Active)
        ]
    );
    assert_eq!(
        keys::load_key_set(&mut conn, T0 + 610)
            .unwrap()
            .signing
            .kid(),
        new
    );
    // ...until retire_after past the activation, when it is gone.
    assert_eq!(
        states(db, T0 + 610 + 3600),
        vec![
            (old.clone(), KeyState::Retired),
            (new.clone(), KeyState::Active)
        ]
    );
    let later = keys::load_key_set(&mut conn, T0 + 610 + 3600).unwrap();
    assert_eq!(later.jwks.keys.len(), 1);
    assert_eq!(later.jwks.keys[0].kid.as_deref(), Some(new.as_str()));

    // A second rotation schedules the first new key's retirement and keeps
    // the older, earlier retirement as it was.
    let third = keys::rotate(&mut conn, T0 + 700, &plan).unwrap();
    let rows = auth_server::storage::signing_keys::all(&mut conn).unwrap();
    let retires: Vec<_> = rows.iter().map(|k| (k.kid.clone(), k.retires_at)).collect();
    assert_eq!(
        retires,
        vec![
            (old, Some(T0 + 610 + 3600)),
            (new, Some(T0 + 1300 + 3600)),
            (third.kid, None)
        ]
    );
}

async fn spawn_with_alg(alg: SigningAlg) -> TestApp {
    let serve: fn(&mut auth_server::config::ServeConfig) = match alg {
        SigningAlg::EdDSA => |c| c.signing_alg = SigningAlg::EdDSA,
        SigningAlg::ES256 => |c| c.signing_alg = SigningAlg::ES256,
        SigningAlg::RS256 => |c| c.signing_alg = SigningAlg::RS256,
    };
    TestApp::spawn_with(
        TestDb::sqlite(),
        Options {
            serve,
            ..Options::default()
        },
    )
    .await
}

#[actix_web::test]
async fn es256_and_rs256_keys_sign_tokens_that_verify_through_the_jwks() {
    for (alg, kty, members) in [
        (SigningAlg::ES256, "EC", &["crv", "x", "y"][..]),
        (SigningAlg::RS256, "RSA", &["n", "e"][..]),
    ] {
        let app = spawn_with_alg(alg).await;
        let jwks: Value = app.jwks().await.json().await.unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], kty);
        assert_eq!(key["alg"], alg.as_str());
        for member in members {
            assert!(key[member].is_string(), "{alg}: {member} in {key}");
        }
        assert!(
            key.get("d").is_none() && key.get("p").is_none(),
            "public only"
        );

        let login = tokens(app.login("alice", PASSWORD).await).await;
        let access = text(&login, "access_token");
        let header = jsonwebtoken::decode_header(access).unwrap();
        assert_eq!(header.alg, alg.algorithm());
        assert_eq!(header.kid.as_deref(), key["kid"].as_str());
        assert_eq!(app.verify(access).await.sub, app.alice_id);
    }
}

#[actix_web::test]
async fn a_rotation_publishes_first_and_signs_from_the_activation_second_on() {
    let app = TestApp::spawn_with(
        TestDb::sqlite(),
        Options {
            key_refresh_interval: Duration::from_secs(1),
            ..Options::default()
        },
    )
    .await;
    let before = tokens(app.login("alice", PASSWORD).await).await;
    let old_kid = jsonwebtoken::decode_header(text(&before, "access_token"))
        .unwrap()
        .kid
        .unwrap();

    // Given a rotation to RS256 made by the CLI, signing in two seconds...
    let plan = RotatePlan {
        alg: SigningAlg::RS256,
        activation_delay: 2,
        retire_after: 3600,
    };
    let new = keys::rotate(&mut app.db.connection(), clock::now(), &plan).unwrap();

    // ...the server publishes the new key before it signs with it...
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let jwks: JwkSet = app.jwks().await.json().await.unwrap();
        if jwks.keys.len() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "new key never published");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // ...signs with the old key until the activation second and with the
    // new one from then on, and tokens of both keys verify throughout.
    loop {
        let login = tokens(app.login("alice", PASSWORD).await).await;
        let access = text(&login, "access_token");
        let kid = jsonwebtoken::decode_header(access).unwrap().kid.unwrap();
        let claims = app.verify(access).await;
        let expected = if claims.iat >= new.activates_at {
            &new.kid
        } else {
            &old_kid
        };
        assert_eq!(
            &kid, expected,
            "iat {} activation {}",
            claims.iat, new.activates_at
        );
        if kid == new.kid {
            break;
        }
        assert!(Instant::now() < deadline, "new key never signed");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    app.verify(text(&before, "access_token")).await;
}

#[actix_web::test]
async fn the_keys_commands_rotate_and_list() {
    let db = TestDb::sqlite();
    keys::ensure_active_key(&mut db.connection(), clock::now()).unwrap();
    let database = DatabaseArgs {
        database_url: db.url(),
        db_pool_size: 1,
        db_timeout: Duration::from_secs(5),
    };
    let mut out = Vec::new();
    let rotate = KeysRotateArgs {
        alg: SigningAlg::RS256,
        activation_delay: Duration::from_secs(600),
        retire_after: Duration::from_secs(3600),
        access_ttl: Duration::from_secs(900),
    };
    commands::keys(&database, KeysCommand::Rotate(rotate), &mut out).unwrap();
    let said = String::from_utf8(out).unwrap();
    assert!(said.starts_with("new RS256 signing key: "), "{said}");
    assert!(
        !said.contains("warning"),
        "a safe retirement warns of nothing: {said}"
    );

    let mut out = Vec::new();
    commands::keys(&database, KeysCommand::List, &mut out).unwrap();
    let listing = String::from_utf8(out).unwrap();
    let states: Vec<(&str, &str)> = listing
        .lines()
        .skip(1)
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words[1], words[words.len() - 1])
        })
        .collect();
    assert_eq!(
        states,
        vec![("EdDSA", "active"), ("RS256", "pending")],
        "{listing}"
    );
}

#[test]
fn keys_rotate_parses_its_flags_and_defaults_to_a_ten_minute_delay() {
    use auth_server::cli::{Cli, Command};
    use clap::Parser;
    let cli = Cli::try_parse_from(["auth-server", "keys", "rotate", "--alg", "ES256"]).unwrap();
    let Some(Command::Keys(KeysCommand::Rotate(args))) = cli.command else {
        panic!("keys rotate")
    };
    assert_eq!(args.alg, SigningAlg::ES256);
    assert_eq!(args.activation_delay, Duration::from_secs(600));
    assert!(Cli::try_parse_from(["auth-server", "keys", "rotate", "--alg", "HS256"]).is_err());
}

#[actix_web::test]
async fn a_retired_keys_tokens_are_refused() {
    let app = TestApp::spawn_with(
        TestDb::sqlite(),
        Options {
            key_refresh_interval: Duration::from_secs(1),
            ..Options::default()
        },
    )
    .await;
    let web_secret = app.add_web_client();
    let before = app.login_web(&web_secret).await;
    let old_token = text(&before, "access_token");
    assert_eq!(
        app.introspect_as((crate::oauth_helpers::WEB, &web_secret), old_token)
            .await["active"],
        true
    );

    // Given a rotation that retires the old key at once (an operator who
    // accepts that its tokens die early)...
    let plan = RotatePlan {
        alg: SigningAlg::ES256,
        activation_delay: 0,
        retire_after: 0,
    };
    let new = keys::rotate(&mut app.db.connection(), clock::now(), &plan).unwrap();
    // ...once the server has reloaded, only the new key is published...
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let jwks: JwkSet = app.jwks().await.json().await.unwrap();
        let kids: Vec<_> = jwks.keys.iter().filter_map(|k| k.kid.clone()).collect();
        if kids == [new.kid.clone()] {
            break;
        }
        assert!(Instant::now() < deadline, "old key never retired: {kids:?}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // ...and tokens it signed are no longer active, while new ones are.
    assert_eq!(
        app.introspect_as((crate::oauth_helpers::WEB, &web_secret), old_token)
            .await,
        serde_json::json!({"active": false})
    );
    let after = app.login_web(&web_secret).await;
    assert_eq!(
        app.verify(text(&after, "access_token")).await.sub,
        app.alice_id
    );
}
