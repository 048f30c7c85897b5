//! The authorization code grant's token request (RFC 6749 §4.1.3) with PKCE
//! (RFC 7636 §4.5): the code is redeemed once, by the client it was issued
//! to, with the redirect URI it was sent to, by whoever holds the verifier.
//! A second redemption revokes what the first one issued (RFC 6749 §4.1.2).

use shared_claims::Scope;

use super::{GrantContext, GrantError, TokenResponse};
use crate::authorize::{AuthorizationCode, CodeChallenge, CodeVerifier};
use crate::clients::Client;
use crate::clock;
use crate::domain::GrantType;
use crate::storage::authorization_codes::{self, CodeRow, NewFamily, Redemption};
use crate::storage::refresh_tokens::FamilyRow;
use crate::storage::{self, StorageError};
use crate::tokens::{AccessGrant, RefreshToken};

/// The grant's parameters. `Debug` hides the code and the verifier.
#[derive(Debug)]
pub struct AuthorizationCodeRequest {
    /// `code`.
    pub code: AuthorizationCode,
    /// `redirect_uri`, if given.
    pub redirect_uri: Option<String>,
    /// `code_verifier` (syntax already checked).
    pub code_verifier: CodeVerifier,
}

/// Why a claimed code did not match the request. Each is `invalid_grant`;
/// the text tells the client's developer which binding failed.
#[derive(Debug)]
enum Mismatch {
    Client,
    RedirectUri,
    Verifier,
    CorruptScope,
}

/// Redeems the code and issues an access token, plus a refresh token in a
/// new family when the client may refresh.
pub async fn authorization_code(
    ctx: &GrantContext,
    client: &Client,
    req: AuthorizationCodeRequest,
) -> Result<TokenResponse, GrantError> {
    if !client.may_use(GrantType::AuthorizationCode) {
        return Err(GrantError::UnauthorizedClient(GrantType::AuthorizationCode));
    }
    let refresh_token = client
        .may_use(GrantType::RefreshToken)
        .then(RefreshToken::generate)
        .transpose()?;
    let now = clock::now();
    let code_hash = req.code.hash();
    let token_hash = refresh_token.as_ref().map(|t| t.hash().as_str().to_owned());
    let client_for_check = client.clone();
    let policy = ctx.policy.clone();

    let outcome = storage::write(&ctx.pool, move |conn| {
        authorization_codes::redeem(conn, &code_hash, now, |row| {
            check_bindings(row, &client_for_check, &req)?;
            Scope::parse(&row.scope).map_err(|_| Mismatch::CorruptScope)?;
            Ok(token_hash.map(|token_hash| NewFamily {
                family: FamilyRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    user_id: Some(row.user_id.clone()),
                    client_id: row.client_id.clone(),
                    scope: row.scope.clone(),
                    audience: client_for_check.audience.clone(),
                    created_at: now,
                    absolute_expires_at: now.saturating_add(policy.refresh_ttl),
                    revoked_at: None,
                    revoked_reason: None,
                },
                token_hash,
                idle_ttl: policy.refresh_idle_ttl,
            }))
        })
    })
    .await?;

    let row = match outcome {
        Redemption::Redeemed(row) => row,
        Redemption::Refused(Mismatch::Client) => {
            return Err(GrantError::InvalidGrant(
                "authorization code was issued to another client",
            ));
        }
        Redemption::Refused(Mismatch::RedirectUri) => {
            return Err(GrantError::InvalidGrant(
                "redirect_uri does not match the authorization request",
            ));
        }
        Redemption::Refused(Mismatch::Verifier) => {
            return Err(GrantError::InvalidGrant(
                "code_verifier does not match the code_challenge",
            ));
        }
        Redemption::Refused(Mismatch::CorruptScope) => {
            return Err(
                StorageError::unexpected("authorization code has an unparsable scope").into(),
            );
        }
        Redemption::Unknown => return Err(GrantError::InvalidGrant("unknown authorization code")),
        Redemption::Expired => return Err(GrantError::InvalidGrant("authorization code expired")),
        Redemption::UserDisabled => {
            return Err(GrantError::InvalidGrant(
                "authorization code is no longer valid",
            ));
        }
        Redemption::Reused { family_id } => {
            log::warn!(
                "authorization code redeemed twice (client {}): token family {} revoked",
                client.id,
                family_id.as_deref().unwrap_or("(none issued)")
            );
            // RFC 6749 §4.1.2: revoke the tokens issued from the code "when
            // possible". The refresh family is; the access token is a
            // self-contained JWT that resource servers verify offline, so
            // it lives until its `exp` (minutes), and the message says so.
            return Err(GrantError::InvalidGrant(
                "authorization code was already used; the refresh token issued from it is revoked",
            ));
        }
    };

    let scope = Scope::parse(&row.scope).map_err(|e| GrantError::Unexpected(Box::new(e)))?;
    let grant = AccessGrant {
        subject: row.user_id,
        client_id: row.client_id,
        audience: client.audience.clone(),
        scope,
    };
    ctx.respond(grant, refresh_token, now)
}

/// The code's bindings (RFC 6749 §4.1.3, RFC 7636 §4.6).
fn check_bindings(
    row: &CodeRow,
    client: &Client,
    req: &AuthorizationCodeRequest,
) -> Result<(), Mismatch> {
    if row.client_id != client.id {
        return Err(Mismatch::Client);
    }
    // Required and equal when the authorization request named it; when it
    // did not, a redirect_uri given anyway must still be the right one.
    let redirect_ok = match req.redirect_uri.as_deref() {
        Some(given) => given == row.redirect_uri,
        None => !row.redirect_uri_sent,
    };
    if !redirect_ok {
        return Err(Mismatch::RedirectUri);
    }
    let challenge = CodeChallenge::from_stored(row.code_challenge.clone());
    if !challenge.is_answered_by(&req.code_verifier) {
        return Err(Mismatch::Verifier);
    }
    Ok(())
}
