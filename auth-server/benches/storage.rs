//! The storage-only cost of the refresh grant, per backend: one rotation
//! transaction (`auth_server::storage::refresh_tokens::rotate`) on a chain
//! where each rotation presents the token the previous one issued, as a
//! client does. Also one argon2id verification at the server's parameters:
//! `verify` allocates argon2's 19 MiB per call (the CLI path, and what every
//! login did before the hash pool), `verify_hash_pool` goes through the
//! server's `Hasher`, whose threads reuse one preallocated area.
//!
//! PostgreSQL runs when `TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::convert::Infallible;

use auth_server::domain::Password;
use auth_server::passwords;
use auth_server::storage::clients::{self, ClientRow};
use auth_server::storage::refresh_tokens::{
    self, FamilyRow, ReuseGrace, Rotation, RotationOutcome,
};
use auth_server::tokens::sha256_hex;
use criterion::{Criterion, criterion_group, criterion_main};

const IDLE_TTL: i64 = 7 * 86_400;

fn rotation(c: &mut Criterion) {
    let mut group = c.benchmark_group("rotation");
    for db in common::backends() {
        let mut conn = db.pool.get().expect("connection");
        let now = auth_server::clock::now();
        // Unique ids: a PostgreSQL database is shared with earlier runs.
        let run = uuid::Uuid::new_v4().to_string();
        let client_id = format!("bench-{run}");
        clients::insert(
            &mut conn,
            &ClientRow {
                id: client_id.clone(),
                secret_hash: None,
                grants: "refresh_token".into(),
                scope: "notes:read".into(),
                audience: "resource-server".into(),
                redirect_uris: String::new(),
                created_at: now,
            },
        )
        .expect("client");
        let family = FamilyRow {
            id: run.clone(),
            user_id: None,
            client_id: client_id.clone(),
            scope: "notes:read".into(),
            audience: "resource-server".into(),
            created_at: now,
            absolute_expires_at: now + 30 * 86_400,
            revoked_at: None,
            revoked_reason: None,
        };
        let mut n: u64 = 0;
        let mut current = sha256_hex(format!("{run}-{n}").as_bytes());
        refresh_tokens::start_family(&mut conn, &family, &current, IDLE_TTL).expect("family");

        group.bench_function(db.label, |b| {
            b.iter(|| {
                n += 1;
                let successor = sha256_hex(format!("{run}-{n}").as_bytes());
                let outcome = refresh_tokens::rotate(
                    &mut conn,
                    Rotation {
                        presented_hash: &current,
                        successor_hash: &successor,
                        client_id: &client_id,
                        now,
                        idle_ttl: IDLE_TTL,
                        grace: ReuseGrace::OFF,
                    },
                    |_| Ok::<(), Infallible>(()),
                )
                .expect("rotation");
                assert!(matches!(outcome, RotationOutcome::Rotated { .. }));
                current = successor;
            });
        });
    }
    group.finish();
}

fn argon2id(c: &mut Criterion) {
    let password = Password::new("correct horse battery staple".into());
    let phc = passwords::hash_blocking(&password).expect("hash");
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(20);
    group.bench_function("verify", |b| {
        b.iter(|| passwords::verify_blocking(&password, &phc).expect("verify"));
    });
    let hasher = passwords::Hasher::new(1).expect("hasher");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    group.bench_function("verify_hash_pool", |b| {
        b.iter(|| {
            let check = hasher.verify(password.clone(), Some(phc.clone()));
            assert!(runtime.block_on(check).expect("verify"));
        });
    });
    group.finish();
}

criterion_group!(benches, rotation, argon2id);
criterion_main!(benches);
