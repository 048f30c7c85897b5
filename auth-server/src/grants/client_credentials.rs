//! The client credentials grant (RFC 6749 §4.4): a confidential client asks
//! for a token on its own behalf.

use super::{GrantContext, GrantError, TokenResponse, narrow_scope, parse_requested_scope};
use crate::clients::Client;
use crate::clock;
use crate::domain::GrantType;
use crate::tokens::AccessGrant;

/// Issues an access token whose subject is the client itself. No refresh
/// token (RFC 6749 §4.4.3): the client can simply ask again.
pub async fn client_credentials(
    ctx: &GrantContext,
    client: &Client,
    scope: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    // Only a client that proved a secret may act on its own behalf.
    if !client.confidential || !client.may_use(GrantType::ClientCredentials) {
        return Err(GrantError::UnauthorizedClient(GrantType::ClientCredentials));
    }
    let requested = parse_requested_scope(scope)?;
    let scope = narrow_scope(&client.scope, requested.as_ref())?;
    let grant = AccessGrant {
        subject: client.id.clone(),
        client_id: client.id.clone(),
        audience: client.audience.clone(),
        scope,
    };
    ctx.respond(grant, None, clock::now())
}
