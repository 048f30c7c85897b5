//! Taking a compact JWS apart (RFC 7515 §7.1) and checking its claims.
//!
//! Parsing is our own rather than `jsonwebtoken::decode`, so that every
//! failure maps to exactly one [`VerifyError`] by construction, with no
//! matching on a library's error kinds or messages.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{VerifierConfig, VerifyError};
use crate::{ACCESS_TOKEN_TYP, AccessClaims, Audience, Scope};

/// The three segments of a compact JWS, with header and payload decoded.
pub(super) struct Parts<'a> {
    signing_input: &'a str,
    signature: &'a str,
    header: Vec<u8>,
    payload: Vec<u8>,
}

impl<'a> Parts<'a> {
    /// Splits `header.payload.signature` and base64url-decodes each segment
    /// (strictly: no padding, no stray characters).
    pub(super) fn split(token: &'a str) -> Result<Self, VerifyError> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(VerifyError::Malformed)?;
        let (header, payload) = signing_input
            .split_once('.')
            .ok_or(VerifyError::Malformed)?;
        if payload.contains('.') {
            return Err(VerifyError::Malformed);
        }
        let decode = |s: &str| {
            URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|_| VerifyError::Malformed)
        };
        // The signature is decoded again by the crypto backend; decoding it
        // here too keeps "not base64" a shape error rather than a bad signature.
        decode(signature)?;
        Ok(Self {
            signing_input,
            signature,
            header: decode(header)?,
            payload: decode(payload)?,
        })
    }

    /// `base64url(header) "." base64url(payload)`, the bytes that were signed.
    pub(super) fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The signature segment, still base64url.
    pub(super) fn signature(&self) -> &str {
        self.signature
    }

    /// The JOSE header. Members we do not read (`jku`, `x5u`, `jwk`, `x5c`
    /// among them) are skipped unparsed: they never choose a key.
    pub(super) fn header(&self) -> Result<Header, VerifyError> {
        let raw: RawHeader =
            serde_json::from_slice(&self.header).map_err(|_| VerifyError::Malformed)?;
        // RFC 7515 §4.1.11: a recipient must refuse a `crit` it does not
        // understand, and we implement no extension.
        if raw.crit.is_some() {
            return Err(VerifyError::Malformed);
        }
        Ok(Header {
            alg: Algorithm::from_str(&raw.alg).ok(),
            typ: raw.typ,
            kid: raw.kid,
        })
    }

    /// The claims, with each required one present and well-typed.
    pub(super) fn claims(&self) -> Result<AccessClaims, VerifyError> {
        let raw: RawClaims =
            serde_json::from_slice(&self.payload).map_err(|_| VerifyError::Malformed)?;
        raw.into_claims()
    }
}

/// The header members the verifier reads.
pub(super) struct Header {
    /// `None` for `none` or any name `jsonwebtoken` does not know; such a
    /// token then fails the algorithm check.
    pub(super) alg: Option<Algorithm>,
    pub(super) typ: Option<String>,
    pub(super) kid: Option<String>,
}

impl Header {
    /// RFC 9068 §4: `typ` is `at+jwt`, or `application/at+jwt` (RFC 7515
    /// §4.1.9 lets the prefix be omitted), compared case-insensitively.
    pub(super) fn has_access_token_type(&self) -> bool {
        self.typ.as_deref().is_some_and(|typ| {
            let typ = match typ.get(..12) {
                Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
                _ => typ,
            };
            typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
        })
    }
}

/// Duplicate members are refused by serde's derive, so a header cannot carry
/// two `alg`s for two different parsers to disagree on.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

/// Claims as they arrive: every required one optional, so an absent claim is
/// reported by name while a claim of the wrong type fails the parse.
#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
    client_id: Option<String>,
    #[serde(default)]
    scope: Option<Scope>,
}

impl RawClaims {
    fn into_claims(self) -> Result<AccessClaims, VerifyError> {
        fn required<T>(value: Option<T>, name: &'static str) -> Result<T, VerifyError> {
            value.ok_or(VerifyError::MissingClaim(name))
        }
        Ok(AccessClaims {
            iss: required(self.iss, "iss")?,
            sub: required(self.sub, "sub")?,
            aud: required(self.aud, "aud")?,
            exp: required(self.exp, "exp")?,
            iat: required(self.iat, "iat")?,
            nbf: required(self.nbf, "nbf")?,
            jti: required(self.jti, "jti")?,
            client_id: required(self.client_id, "client_id")?,
            scope: self.scope.unwrap_or_default(),
        })
    }
}

/// Issuer, audience, then the three times, against `now` with the leeway.
pub(super) fn check_claims(
    claims: &AccessClaims,
    config: &VerifierConfig,
    now: i64,
) -> Result<(), VerifyError> {
    if claims.iss != config.issuer {
        return Err(VerifyError::WrongIssuer);
    }
    if !claims.aud.contains(&config.audience) {
        return Err(VerifyError::WrongAudience);
    }
    let leeway = config.leeway_secs();
    // Valid while now < exp + leeway; saturating so a signed but absurd
    // `exp` cannot overflow into the past.
    if now >= claims.exp.saturating_add(leeway) {
        return Err(VerifyError::Expired);
    }
    let latest = now.saturating_add(leeway);
    if claims.nbf > latest {
        return Err(VerifyError::NotYetValid);
    }
    if claims.iat > latest {
        return Err(VerifyError::IssuedInFuture);
    }
    Ok(())
}
