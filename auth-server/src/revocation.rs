//! Token revocation (RFC 7009): what revoking each kind of token does.
//!
//! - A refresh token: its whole family is revoked, which is how a user logs
//!   out of one session. Every refresh token of the family is dead at once.
//! - An access token: nothing can be done. Our access tokens are
//!   self-contained JWTs that resource servers verify offline, so there is
//!   nothing to revoke them in; they die at `exp` (minutes). The request is
//!   still answered 200, as RFC 7009 §2.2 allows, rather than
//!   `unsupported_token_type`, so generic clients that revoke both tokens
//!   at logout do not see an error. Revoke the refresh token to end the
//!   session.
//! - Anything unknown, expired or already revoked: 200 and nothing happens
//!   (RFC 7009 §2.2: "invalid tokens do not cause an error response").

use crate::clients::Client;
use crate::clock;
use crate::grants::GrantContext;
use crate::own_tokens;
use crate::storage::{self, StorageError, refresh_tokens, sessions};
use crate::tokens::RefreshToken;

/// What a revocation request did (for the log; the client always sees 200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// The refresh token's family was revoked now (`true`) or already was.
    Family {
        /// The family.
        id: String,
        /// Whether this request revoked it.
        now: bool,
    },
    /// A valid access token of the client: nothing to do (see the module
    /// documentation).
    AccessToken,
    /// Not a token we know, or no longer a valid one.
    Unknown,
}

/// Why a revocation request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    /// The token was issued to another client.
    #[error("the token was issued to another client")]
    NotIssuedToClient,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Revokes `token` on behalf of the authenticated `client`.
///
/// Ownership: RFC 7009 §2.1 says the server "verifies whether the token
/// was issued to the client making the revocation request. If this
/// validation fails, the request is refused and the client is informed of
/// the error", with the error codes of RFC 6749 §5.2 (RFC 7009 §2.2.1).
/// Of those, `invalid_grant` is the one whose definition names this case
/// ("... or was issued to another client"), so a known token of another
/// client is refused with it and left untouched: a client can never revoke
/// another client's tokens. The type hint is not needed: a JWT and an
/// opaque refresh token tell themselves apart (RFC 7009 §2.1 lets the
/// server ignore the hint).
pub async fn revoke(
    ctx: &GrantContext,
    client: &Client,
    token: String,
) -> Result<Revoked, RevocationError> {
    let now = clock::now();
    if looks_like_jwt(&token) {
        let keys = ctx.keys.current();
        return match own_tokens::verify(&keys, &ctx.policy.issuer, &token, now) {
            Ok(claims) if claims.client_id == client.id => Ok(Revoked::AccessToken),
            Ok(_) => Err(RevocationError::NotIssuedToClient),
            Err(_) => Ok(Revoked::Unknown),
        };
    }
    let hash = RefreshToken::from_presented(token).hash();
    let client_id = client.id.clone();
    storage::write(&ctx.pool, move |conn| {
        let Some((_, family)) = refresh_tokens::find_token(conn, hash.as_str())? else {
            return Ok(Revoked::Unknown);
        };
        if family.client_id != client_id {
            return Err(RevocationError::NotIssuedToClient);
        }
        let now_revoked =
            refresh_tokens::revoke_family(conn, &family.id, sessions::REVOKED_BY_CLIENT, now)?;
        Ok(Revoked::Family {
            id: family.id,
            now: now_revoked,
        })
    })
    .await
}

/// A compact JWS has two dots; our refresh tokens are base64url, which has
/// none.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|&b| b == b'.').count() == 2
}
