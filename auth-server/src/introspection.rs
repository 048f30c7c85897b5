//! Token introspection (RFC 7662): is this token active, and what does it
//! say.
//!
//! An inactive token (unknown, expired, revoked, used, of a disabled user,
//! or not the caller's to ask about) is answered with exactly
//! `{"active": false}`: nothing else is disclosed (RFC 7662 §2.2).
//!
//! Who may ask about what (RFC 7662 §4 leaves it to the server): only
//! authenticated confidential clients call the endpoint at all. Any of them
//! may introspect an access token (a resource server checking a token it
//! received; the claims are readable by anyone holding the JWT anyway). A
//! refresh token is only described to the client it was issued to: no
//! other client has any business with it.

use serde::Serialize;
use shared_claims::Audience;

use crate::clients::Client;
use crate::clock;
use crate::grants::GrantContext;
use crate::own_tokens;
use crate::revocation::looks_like_jwt;
use crate::storage::{self, StorageError, refresh_tokens, users};
use crate::tokens::RefreshToken;

/// The introspection response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// Whether the token is active.
    pub active: bool,
    /// The token's details, only when active.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<TokenDetails>,
}

impl Introspection {
    /// `{"active": false}`.
    pub fn inactive() -> Self {
        Self {
            active: false,
            details: None,
        }
    }

    fn active(details: TokenDetails) -> Self {
        Self {
            active: true,
            details: Some(details),
        }
    }
}

/// What RFC 7662 §2.2 says about an active token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenDetails {
    /// Granted scope, space-separated.
    pub scope: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The user's login name, for tokens issued to a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    pub token_type: &'static str,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issue time, Unix seconds.
    pub iat: i64,
    /// Not-before, Unix seconds (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Subject: the user id, or the client id for client credentials.
    pub sub: String,
    /// Audience.
    pub aud: Audience,
    /// Issuer.
    pub iss: String,
    /// Token id (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// Introspects `token` for the authenticated confidential `caller`.
pub async fn introspect(
    ctx: &GrantContext,
    caller: &Client,
    token: String,
) -> Result<Introspection, StorageError> {
    let now = clock::now();
    if looks_like_jwt(&token) {
        access_token(ctx, &token, now).await
    } else {
        refresh_token(ctx, caller, token, now).await
    }
}

async fn access_token(
    ctx: &GrantContext,
    token: &str,
    now: i64,
) -> Result<Introspection, StorageError> {
    let keys = ctx.keys.current();
    let Ok(claims) = own_tokens::verify(&keys, &ctx.policy.issuer, token, now) else {
        return Ok(Introspection::inactive());
    };
    // A user id is a uuid and a client id is the subject of client
    // credentials tokens; look the subject up as a user only when the token
    // was not issued to the client on its own behalf.
    let user = if claims.sub == claims.client_id {
        None
    } else {
        let sub = claims.sub.clone();
        storage::run(&ctx.pool, move |conn| users::find_by_id(conn, &sub)).await?
    };
    if user.as_ref().is_some_and(|u| !u.is_enabled(now)) {
        return Ok(Introspection::inactive());
    }
    Ok(Introspection::active(TokenDetails {
        scope: claims.scope.to_string(),
        client_id: claims.client_id,
        username: user.map(|u| u.username),
        token_type: "Bearer",
        exp: claims.exp,
        iat: claims.iat,
        nbf: Some(claims.nbf),
        sub: claims.sub,
        aud: claims.aud,
        iss: claims.iss,
        jti: Some(claims.jti),
    }))
}

async fn refresh_token(
    ctx: &GrantContext,
    caller: &Client,
    token: String,
    now: i64,
) -> Result<Introspection, StorageError> {
    let hash = RefreshToken::from_presented(token).hash();
    let found = storage::run(&ctx.pool, move |conn| {
        let Some((token, family)) = refresh_tokens::find_token(conn, hash.as_str())? else {
            return Ok(None);
        };
        let user = match &family.user_id {
            Some(id) => users::find_by_id(conn, id)?,
            None => None,
        };
        Ok::<_, StorageError>(Some((token, family, user)))
    })
    .await?;
    let Some((token, family, user)) = found else {
        return Ok(Introspection::inactive());
    };
    let live = token.used_at.is_none()
        && token.revoked_at.is_none()
        && token.expires_at > now
        && family.revoked_at.is_none()
        && family.absolute_expires_at > now
        && family.client_id == caller.id
        && user.as_ref().is_none_or(|u| u.is_enabled(now))
        && (family.user_id.is_none() || user.is_some());
    if !live {
        return Ok(Introspection::inactive());
    }
    Ok(Introspection::active(TokenDetails {
        scope: family.scope,
        sub: family.user_id.unwrap_or_else(|| family.client_id.clone()),
        client_id: family.client_id,
        username: user.map(|u| u.username),
        token_type: "refresh_token",
        exp: token.expires_at,
        iat: token.issued_at,
        nbf: None,
        aud: Audience::single(family.audience),
        iss: ctx.policy.issuer.clone(),
        jti: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inactive_answer_discloses_nothing_else() {
        assert_eq!(
            serde_json::to_value(Introspection::inactive()).expect("json"),
            serde_json::json!({"active": false})
        );
    }
}
