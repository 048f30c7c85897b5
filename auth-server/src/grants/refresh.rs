//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2).

use shared_claims::Scope;

use super::{GrantContext, GrantError, TokenResponse, parse_requested_scope};
use crate::clients::Client;
use crate::clock;
use crate::domain::GrantType;
use crate::storage::refresh_tokens::{self, FamilyRow, Rotation, RotationOutcome};
use crate::storage::{self, StorageError};
use crate::tokens::{AccessGrant, RefreshToken};

/// The grant's parameters. `Debug` hides the token.
#[derive(Debug)]
pub struct RefreshRequest {
    /// `refresh_token`.
    pub refresh_token: RefreshToken,
    /// `scope`, if given: may narrow the original grant, never widen it.
    pub scope: Option<String>,
}

/// Why the admission check refused a valid token.
enum Refusal {
    /// The requested scope is outside the original grant.
    Widening(Scope),
    /// The family's stored scope does not parse.
    CorruptScope,
}

/// Exchanges a refresh token for a new access token and a new refresh
/// token in the same family. The presented token is used up. Presenting a
/// used token again revokes its whole family.
pub async fn refresh(
    ctx: &GrantContext,
    client: &Client,
    req: RefreshRequest,
) -> Result<TokenResponse, GrantError> {
    if !client.may_use(GrantType::RefreshToken) {
        return Err(GrantError::UnauthorizedClient(GrantType::RefreshToken));
    }
    let requested = parse_requested_scope(req.scope.as_deref())?;
    let successor = RefreshToken::generate()?;
    let presented_hash = req.refresh_token.hash();
    let successor_hash = successor.hash();
    let client_id = client.id.clone();
    let idle_ttl = ctx.policy.refresh_idle_ttl;
    let grace = ctx.policy.reuse_grace;
    let now = clock::now();

    let admit_scope = requested.clone();
    let outcome = storage::write(&ctx.pool, move |conn| {
        let rotation = Rotation {
            presented_hash: presented_hash.as_str(),
            successor_hash: successor_hash.as_str(),
            client_id: &client_id,
            now,
            idle_ttl,
            grace,
        };
        refresh_tokens::rotate(conn, rotation, |family: &FamilyRow| {
            let granted = Scope::parse(&family.scope).map_err(|_| Refusal::CorruptScope)?;
            granted
                .narrow(admit_scope.as_ref())
                .map(drop)
                .map_err(Refusal::Widening)
        })
    })
    .await?;

    let family = match outcome {
        RotationOutcome::Rotated {
            family,
            grace_replay,
            ..
        } => {
            ctx.metrics.refresh_rotated();
            if grace_replay {
                log::info!(
                    "refresh token replayed within the reuse grace window (client {}, family {})",
                    client.id,
                    family.id
                );
            }
            family
        }
        RotationOutcome::Reused { family_id } => {
            ctx.metrics.refresh_reuse_detected();
            log::warn!(
                "refresh token reuse detected (client {}): token family {family_id} revoked",
                client.id
            );
            return Err(GrantError::InvalidGrant(
                "refresh token was already used; its token family is revoked",
            ));
        }
        RotationOutcome::Unknown => return Err(GrantError::InvalidGrant("unknown refresh token")),
        RotationOutcome::WrongClient => {
            return Err(GrantError::InvalidGrant(
                "refresh token was issued to another client",
            ));
        }
        RotationOutcome::Revoked => {
            return Err(GrantError::InvalidGrant("refresh token was revoked"));
        }
        RotationOutcome::Expired => return Err(GrantError::InvalidGrant("refresh token expired")),
        RotationOutcome::UserDisabled => {
            return Err(GrantError::InvalidGrant("refresh token is no longer valid"));
        }
        RotationOutcome::Refused(Refusal::Widening(extra)) => {
            return Err(GrantError::InvalidScope(format!(
                "scope exceeds the original grant: {extra}"
            )));
        }
        RotationOutcome::Refused(Refusal::CorruptScope) => {
            return Err(StorageError::unexpected("token family has an unparsable scope").into());
        }
    };

    let granted = Scope::parse(&family.scope).map_err(|e| GrantError::Unexpected(Box::new(e)))?;
    let scope = granted
        .narrow(requested.as_ref())
        .map_err(|extra| GrantError::InvalidScope(extra.to_string()))?;
    let grant = AccessGrant {
        subject: family.user_id.unwrap_or_else(|| family.client_id.clone()),
        client_id: family.client_id,
        audience: family.audience,
        scope,
    };
    ctx.respond(grant, Some(successor), now)
}
