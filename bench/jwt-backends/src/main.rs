//! Times `jsonwebtoken::encode` and `jsonwebtoken::decode` for EdDSA, ES256
//! and RS256 with whichever backend this build enabled, on claims shaped
//! like our access tokens. Usage: `jwt-backends KEY_DIR` where KEY_DIR holds
//! `{ed25519,p256,rsa}{,.pub}.pem` (run.sh makes them with openssl).
//! Prints one JSON line per operation: the median of 7 batches, µs per call.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    nbf: u64,
    jti: String,
    client_id: String,
    scope: String,
}

const BATCHES: usize = 7;

/// Median µs per call of `f`, over `BATCHES` batches of `n` calls.
fn time(n: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let mut batches: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    batches[BATCHES / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: jwt-backends KEY_DIR")?;
    let dir = Path::new(&dir);
    let backend = if cfg!(feature = "aws_lc_rs") {
        "aws_lc_rs"
    } else {
        "rust_crypto"
    };
    let now = 1_800_000_000;
    let claims = Claims {
        iss: "http://127.0.0.1:8080".into(),
        sub: "bee709cc-dee5-43a7-9cbf-f6d1a79d81ce".into(),
        aud: "resource-server".into(),
        exp: now + 900,
        iat: now,
        nbf: now,
        jti: "5f0c6f1e-3b7a-4c55-9a51-0f7f6f1e2d3c".into(),
        client_id: "cli".into(),
        scope: "notes:read notes:write".into(),
    };
    for (alg, name, file, n_sign) in [
        (Algorithm::EdDSA, "EdDSA", "ed25519", 2000),
        (Algorithm::ES256, "ES256", "p256", 500),
        (Algorithm::RS256, "RS256", "rsa", 50),
    ] {
        let private = std::fs::read(dir.join(format!("{file}.pem")))?;
        let public = std::fs::read(dir.join(format!("{file}.pub.pem")))?;
        let (encoding, decoding) = match alg {
            Algorithm::EdDSA => (
                EncodingKey::from_ed_pem(&private)?,
                DecodingKey::from_ed_pem(&public)?,
            ),
            Algorithm::ES256 => (
                EncodingKey::from_ec_pem(&private)?,
                DecodingKey::from_ec_pem(&public)?,
            ),
            _ => (
                EncodingKey::from_rsa_pem(&private)?,
                DecodingKey::from_rsa_pem(&public)?,
            ),
        };
        let mut header = Header::new(alg);
        header.typ = Some("at+jwt".into());
        let token = encode(&header, &claims, &encoding)?;
        let mut validation = Validation::new(alg);
        validation.set_audience(&["resource-server"]);
        validation.validate_exp = false;
        decode::<Claims>(&token, &decoding, &validation)?;
        let sign = time(n_sign, || {
            black_box(encode(&header, &claims, &encoding).ok());
        });
        let verify = time(2000, || {
            black_box(decode::<Claims>(black_box(&token), &decoding, &validation).ok());
        });
        println!(
            r#"{{"backend":"{backend}","alg":"{name}","sign_us":{sign:.1},"verify_us":{verify:.1}}}"#
        );
    }
    Ok(())
}
