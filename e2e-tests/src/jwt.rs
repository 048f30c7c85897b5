//! Reading a JWT's parts without verifying it: for narrating a token and for
//! forging bad ones in tests. Never use this to trust a token.

use anyhow::{Context, Result, anyhow};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The three dot-separated parts of a compact JWS, still encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts<'a> {
    /// base64url of the header JSON.
    pub header: &'a str,
    /// base64url of the claims JSON.
    pub claims: &'a str,
    /// base64url of the signature.
    pub signature: &'a str,
}

impl<'a> Parts<'a> {
    /// Splits `token` into its three parts.
    pub fn split(token: &'a str) -> Result<Self> {
        let mut parts = token.split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(header), Some(claims), Some(signature), None) => Ok(Self {
                header,
                claims,
                signature,
            }),
            _ => Err(anyhow!("a compact JWT has exactly three parts")),
        }
    }

    /// The decoded header.
    pub fn header_json(&self) -> Result<Value> {
        decode_json(self.header).context("JWT header")
    }

    /// The decoded claims.
    pub fn claims_json(&self) -> Result<Value> {
        decode_json(self.claims).context("JWT claims")
    }

    /// The decoded signature bytes.
    pub fn signature_bytes(&self) -> Result<Vec<u8>> {
        decode(self.signature).context("JWT signature")
    }
}

/// The unverified header of `token`.
pub fn header(token: &str) -> Result<Value> {
    Parts::split(token)?.header_json()
}

/// The unverified claims of `token`.
pub fn claims(token: &str) -> Result<Value> {
    Parts::split(token)?.claims_json()
}

/// base64url without padding, as JWS uses it.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding, e.g. a JWK's `x`.
pub fn decode(text: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).context("not base64url")
}

/// The base64url encoding of `value`'s JSON.
pub fn encode_json(value: &Value) -> String {
    encode(value.to_string().as_bytes())
}

fn decode_json(part: &str) -> Result<Value> {
    let bytes = decode(part)?;
    serde_json::from_slice(&bytes).context("not JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_token_reads_back_as_its_header_and_claims() {
        let token = format!(
            "{}.{}.{}",
            encode_json(&json!({"alg": "EdDSA", "typ": "at+jwt"})),
            encode_json(&json!({"sub": "alice"})),
            encode(b"sig")
        );
        assert_eq!(header(&token).expect("header")["typ"], "at+jwt");
        assert_eq!(claims(&token).expect("claims")["sub"], "alice");
        let parts = Parts::split(&token).expect("parts");
        assert_eq!(parts.signature_bytes().expect("signature"), b"sig");
    }

    #[test]
    fn anything_but_three_parts_is_refused() {
        assert!(Parts::split("a.b").is_err());
        assert!(Parts::split("a.b.c.d").is_err());
    }
}
