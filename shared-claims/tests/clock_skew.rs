//! Clock skew between the issuer and this verifier, at the leeway's edges,
//! told as a table with the verifier's clock injected (`verify_at`).
//!
//! The rule (RFC 7519 §4.1.4-4.1.6 with a leeway L, in whole seconds):
//! a token is valid while `now < exp + L`, once `nbf <= now + L`, and when
//! `iat <= now + L`. So each time claim has exactly one last good second
//! and one first bad second; every row below sits on one of them.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use shared_claims::{VerifierConfig, VerifyError};

/// One way the clocks can disagree.
struct Row {
    what: &'static str,
    /// The verifier's leeway.
    leeway: Duration,
    /// Changes to the valid token's claims (`iat` = `nbf` = NOW, `exp` =
    /// NOW + 900 before them).
    claims: serde_json::Value,
    /// The verifier's clock.
    now: i64,
    expected: Result<(), VerifyError>,
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn table() -> Vec<Row> {
    use VerifyError::*;
    let mut rows = Vec::new();
    for l in [0, 1, 5, 60, 300] {
        let leeway = secs(l);
        let l = i64::try_from(l).unwrap_or(i64::MAX);
        rows.extend([
            // The verifier's clock runs ahead: the token looks older.
            Row {
                what: "exp: last second inside the leeway",
                leeway,
                claims: json!({}),
                now: EXP + l - 1,
                expected: Ok(()),
            },
            Row {
                what: "exp: exactly exp + leeway is expired",
                leeway,
                claims: json!({}),
                now: EXP + l,
                expected: Err(Expired),
            },
            // The verifier's clock runs behind: the token looks early.
            Row {
                what: "nbf: exactly leeway seconds early is accepted",
                leeway,
                claims: json!({"iat": NOW - 1000}),
                now: NOW - l,
                expected: Ok(()),
            },
            Row {
                what: "nbf: leeway + 1 seconds early is refused",
                leeway,
                claims: json!({"iat": NOW - 1000}),
                now: NOW - l - 1,
                expected: Err(NotYetValid),
            },
            Row {
                what: "iat: issued exactly leeway seconds in our future",
                leeway,
                claims: json!({"nbf": NOW - 1000}),
                now: NOW - l,
                expected: Ok(()),
            },
            Row {
                what: "iat: issued leeway + 1 seconds in our future",
                leeway,
                claims: json!({"nbf": NOW - 1000}),
                now: NOW - l - 1,
                expected: Err(IssuedInFuture),
            },
        ]);
    }
    rows.extend([
        Row {
            what: "fractions of a second in the leeway are ignored (1.9s acts as 1s)",
            leeway: Duration::from_millis(1900),
            claims: json!({}),
            now: EXP + 1,
            expected: Err(VerifyError::Expired),
        },
        Row {
            what: "a sub-second leeway is no leeway",
            leeway: Duration::from_millis(999),
            claims: json!({"iat": NOW - 1000}),
            now: NOW - 1,
            expected: Err(VerifyError::NotYetValid),
        },
        Row {
            what: "a token whose nbf equals its exp is never valid without leeway",
            leeway: Duration::ZERO,
            claims: json!({"nbf": EXP, "iat": NOW}),
            now: EXP,
            expected: Err(VerifyError::Expired),
        },
        Row {
            what: "expiry is judged before nbf: a long-expired token is expired",
            leeway: secs(5),
            claims: json!({"nbf": NOW + 10_000, "exp": NOW - 10_000}),
            now: NOW,
            expected: Err(VerifyError::Expired),
        },
    ]);
    rows
}

#[test]
fn every_skew_at_the_leeway_edges_gets_its_exact_answer() {
    let mut failures = Vec::new();
    for row in table() {
        let verifier = verifier_with(config().with_leeway(row.leeway));
        let token = sign(&header(), &claims_with(row.claims.clone()));
        let got = verifier.verify_at(&token, row.now).map(|_| ());
        if got != row.expected {
            failures.push(format!(
                "{} (leeway {:?}, now {}): expected {:?}, got {:?}",
                row.what, row.leeway, row.now, row.expected, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_default_leeway_is_five_seconds_at_both_edges() {
    assert_eq!(VerifierConfig::DEFAULT_LEEWAY, secs(5));
    let verifier = verifier();
    let token = valid_token();
    assert!(verifier.verify_at(&token, EXP + 4).is_ok());
    assert_eq!(
        verifier.verify_at(&token, EXP + 5).map(|_| ()),
        Err(VerifyError::Expired)
    );
    assert!(verifier.verify_at(&token, NOW - 5).is_ok());
    assert_eq!(
        verifier.verify_at(&token, NOW - 6).map(|_| ()),
        Err(VerifyError::NotYetValid)
    );
}
