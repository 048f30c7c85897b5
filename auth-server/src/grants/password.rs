//! The resource owner password credentials grant (RFC 6749 §4.3), for
//! first-party clients registered with `--grant password`.

use shared_claims::Scope;

use super::{GrantContext, GrantError, TokenResponse, narrow_scope, parse_requested_scope};
use crate::clients::Client;
use crate::clock;
use crate::domain::{GrantType, Password, Username};
use crate::storage::{self, refresh_tokens, users};
use crate::tokens::{AccessGrant, RefreshToken};

/// The one answer for every bad login, so it does not tell which part was
/// wrong, or whether the user exists.
const BAD_CREDENTIALS: &str = "invalid username or password";

/// The grant's parameters. `Debug` hides the password.
#[derive(Debug)]
pub struct PasswordRequest {
    /// `username`.
    pub username: String,
    /// `password`.
    pub password: Password,
    /// `scope`, if given.
    pub scope: Option<String>,
}

/// Checks the user's password and issues an access token, and a refresh
/// token in a new family when the client may refresh.
///
/// Unknown users, malformed usernames, wrong passwords and disabled users
/// all get the same error after the same argon2 work.
pub async fn password(
    ctx: &GrantContext,
    client: &Client,
    req: PasswordRequest,
) -> Result<TokenResponse, GrantError> {
    if !client.may_use(GrantType::Password) {
        return Err(GrantError::UnauthorizedClient(GrantType::Password));
    }
    let requested = parse_requested_scope(req.scope.as_deref())?;
    let scope = narrow_scope(&client.scope, requested.as_ref())?;
    let now = clock::now();
    let Some(user) = check_credentials(ctx, &req.username, req.password, now).await? else {
        return Err(GrantError::InvalidGrant(BAD_CREDENTIALS));
    };

    let refresh_token = if client.may_use(GrantType::RefreshToken) {
        Some(start_family(ctx, client, &user.id, &scope, now).await?)
    } else {
        None
    };
    let grant = AccessGrant {
        subject: user.id,
        client_id: client.id.clone(),
        audience: client.audience.clone(),
        scope,
    };
    ctx.respond(grant, refresh_token, now)
}

/// The one login check, shared by the password grant and the login page:
/// the enabled user whose password this is, or `None`. Unknown users,
/// malformed usernames, wrong passwords and disabled users all cost the
/// same argon2 work (a dummy hash stands in for a missing user).
pub async fn check_credentials(
    ctx: &GrantContext,
    username: &str,
    password: Password,
    now: i64,
) -> Result<Option<users::UserRow>, GrantError> {
    if password.exceeds_max_len() {
        // No account can have such a password; refuse before hashing it.
        return Ok(None);
    }
    let user = match Username::parse(username) {
        Ok(name) => {
            storage::run(&ctx.pool, move |conn| {
                users::find_by_username(conn, name.as_str())
            })
            .await?
        }
        Err(_) => None,
    };
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = ctx.hasher.verify(password, stored_hash).await?;
    Ok(user.filter(|user| password_ok && user.is_enabled(now)))
}

/// Stores a new family and its first refresh token.
async fn start_family(
    ctx: &GrantContext,
    client: &Client,
    user_id: &str,
    scope: &Scope,
    now: i64,
) -> Result<RefreshToken, GrantError> {
    let token = RefreshToken::generate()?;
    let family = refresh_tokens::FamilyRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: Some(user_id.to_owned()),
        client_id: client.id.clone(),
        scope: scope.to_string(),
        audience: client.audience.clone(),
        created_at: now,
        absolute_expires_at: now.saturating_add(ctx.policy.refresh_ttl),
        revoked_at: None,
        revoked_reason: None,
    };
    let hash = token.hash();
    let idle = ctx.policy.refresh_idle_ttl;
    let started = storage::write(&ctx.pool, move |conn| {
        refresh_tokens::start_family(conn, &family, hash.as_str(), idle)
    })
    .await?;
    match started {
        refresh_tokens::FamilyStart::Started => Ok(token),
        // Disabled while the password was being checked.
        refresh_tokens::FamilyStart::UserDisabled => Err(GrantError::InvalidGrant(BAD_CREDENTIALS)),
    }
}
