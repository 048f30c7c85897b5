//! The extractors: [`Authenticated`] for any valid token, [`Scoped`] for a
//! valid token that also carries one scope.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::credentials::bearer_token;
use super::{BearerChallenge, BearerConfig, BearerError, DEFAULT_REALM, TokenVerifier};
use crate::AccessClaims;

/// The verified claims of the request's bearer token.
///
/// Extracting it fails with a [`BearerChallenge`] that answers exactly as
/// RFC 6750 §3 says (see the [module docs](super)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated(pub AccessClaims);

impl Authenticated {
    /// The verified claims.
    pub fn claims(&self) -> &AccessClaims {
        &self.0
    }

    /// The verified claims, owned.
    pub fn into_claims(self) -> AccessClaims {
        self.0
    }

    /// `Ok` when the token grants `scope`, else the 403 `insufficient_scope`
    /// error to return with `?`. Prefer [`Scoped`] when the scope is fixed per
    /// route; it also answers under the configured realm.
    pub fn require_scope(&self, scope: &str) -> Result<(), BearerError> {
        if self.0.scope.contains(scope) {
            Ok(())
        } else {
            Err(BearerError::InsufficientScope {
                scope: scope.to_owned(),
            })
        }
    }
}

impl Deref for Authenticated {
    type Target = AccessClaims;

    fn deref(&self) -> &AccessClaims {
        &self.0
    }
}

impl FromRequest for Authenticated {
    type Error = BearerChallenge;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let realm = Realm::of(req);
        let token = bearer_token(req);
        let verifier = req.app_data::<web::Data<dyn TokenVerifier>>().cloned();
        Box::pin(async move {
            authenticate(token, verifier)
                .await
                .map(Self)
                .map_err(|e| e.with_realm(realm.name()))
        })
    }
}

async fn authenticate(
    token: Result<String, BearerError>,
    verifier: Option<web::Data<dyn TokenVerifier>>,
) -> Result<AccessClaims, BearerError> {
    // A request without a token is answered with the bare challenge whatever
    // the verifier's state: asking for credentials is right either way.
    let token = token?;
    let verifier = verifier
        .filter(|v| v.is_ready())
        .ok_or(BearerError::Unavailable)?;
    verifier.verify(&token).await.map_err(|error| {
        // The reason and the (attacker-chosen, hence escaped) kid only; never
        // the token itself.
        match &error {
            crate::VerifyError::UnknownKey { kid } => {
                log::debug!("bearer token refused: {} (kid {:?})", error.reason(), kid);
            }
            _ => log::debug!("bearer token refused: {}", error.reason()),
        }
        BearerError::InvalidToken(error)
    })
}

/// The realm from `web::Data<BearerConfig>` (or a bare `BearerConfig` in
/// `app_data`), else [`DEFAULT_REALM`].
/// Where the realm of a challenge comes from. Only a refusal needs the name,
/// so the accepted path keeps a handle (a reference count) instead of
/// copying the string for every request.
enum Realm {
    Configured(web::Data<BearerConfig>),
    Named(String),
    Default,
}

impl Realm {
    fn of(req: &HttpRequest) -> Self {
        if let Some(config) = req.app_data::<web::Data<BearerConfig>>() {
            Self::Configured(config.clone())
        } else if let Some(config) = req.app_data::<BearerConfig>() {
            Self::Named(config.realm.clone())
        } else {
            Self::Default
        }
    }

    fn name(self) -> String {
        match self {
            Self::Configured(config) => config.realm.clone(),
            Self::Named(realm) => realm,
            Self::Default => DEFAULT_REALM.to_owned(),
        }
    }
}

/// A scope a route requires, named by a marker type so the requirement is
/// part of the handler's signature:
///
/// ```
/// use shared_claims::actix::RequiredScope;
/// struct NotesRead;
/// impl RequiredScope for NotesRead {
///     const SCOPE: &'static str = "notes:read";
/// }
/// ```
pub trait RequiredScope {
    /// The scope token the route requires.
    const SCOPE: &'static str;
}

/// The verified claims of a bearer token that grants `S::SCOPE`; a valid token
/// without it is refused with 403 `insufficient_scope`.
pub struct Scoped<S: RequiredScope>(pub AccessClaims, PhantomData<fn() -> S>);

impl<S: RequiredScope> Scoped<S> {
    /// The verified claims.
    pub fn claims(&self) -> &AccessClaims {
        &self.0
    }

    /// The verified claims, owned.
    pub fn into_claims(self) -> AccessClaims {
        self.0
    }
}

impl<S: RequiredScope> Deref for Scoped<S> {
    type Target = AccessClaims;

    fn deref(&self) -> &AccessClaims {
        &self.0
    }
}

impl<S: RequiredScope> fmt::Debug for Scoped<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped")
            .field("scope", &S::SCOPE)
            .field("claims", &self.0)
            .finish()
    }
}

impl<S: RequiredScope> Clone for Scoped<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<S: RequiredScope + 'static> FromRequest for Scoped<S> {
    type Error = BearerChallenge;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let authenticated = Authenticated::from_request(req, payload);
        let realm = Realm::of(req);
        Box::pin(async move {
            let auth = authenticated.await?;
            auth.require_scope(S::SCOPE)
                .map_err(|e| e.with_realm(realm.name()))?;
            Ok(Self(auth.0, PhantomData))
        })
    }
}
