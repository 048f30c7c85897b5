//! `GET /oauth/authorize` (the authorization request, RFC 6749 §4.1.1) and
//! `POST /oauth/authorize` (the login form it shows). Errors that cannot be
//! sent back to a verified redirect URI are shown as a page; the rest go
//! back to the client. Every answer is a page or a `303 See Other`.

mod csrf;
mod page;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::form_endpoint::FormBody;
use crate::authorize::{
    self, AuthorizationCode, AuthorizeErrorCode, CODE_TTL, CsrfToken, ErrorRedirect,
    PENDING_REQUEST_TTL, Rejection,
};
use crate::clock;
use crate::domain::Password;
use crate::form::Form;
use crate::grants::{self, GrantError};
use crate::oauth_error::OAuthError;
use crate::report::Chain;
use crate::startup::AppState;
use crate::storage::authorization_codes::{self, CodeRow};
use crate::storage::authorization_requests::{self, PendingRequestRow};
use crate::storage::{self, StorageError};
use page::{LoginPage, error_page, secured};

/// The one answer to a wrong password, an unknown user or a disabled one.
const BAD_LOGIN: &str = "The username or password is incorrect.";

/// The answer while the brute-force guard refuses tries (429).
const TOO_MANY_TRIES: &str = "Too many failed sign-ins. Wait a little, then try again.";

/// Validates the authorization request, stores it as pending and shows the
/// login form.
pub async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let params = match Form::parse(req.query_string().as_bytes()) {
        Ok(params) => params,
        Err(err) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &format!("The application sent a malformed request: {err}."),
            );
        }
    };
    let client = match params.get("client_id").map(str::to_owned) {
        Some(id) => {
            match storage::run(&state.grants.pool, move |conn| {
                storage::clients::find(conn, &id)
            })
            .await
            {
                Ok(row) => row,
                Err(err) => return trouble(&err),
            }
        }
        None => None,
    };
    let request = match authorize::validate(&params, client.as_ref()) {
        Ok(request) => request,
        Err(rejection) => return reject(&state, rejection),
    };

    let secure = is_secure(&state);
    let csrf = match csrf::from_cookie(&req, secure).map_or_else(CsrfToken::generate, Ok) {
        Ok(token) => token,
        Err(err) => return trouble(&err),
    };
    let now = clock::now();
    let pending = PendingRequestRow {
        id: uuid::Uuid::new_v4().simple().to_string(),
        csrf_hash: csrf.hash(),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        redirect_uri_sent: request.redirect_uri_sent,
        scope: request.scope.to_string(),
        state: request.state.clone(),
        code_challenge: request.code_challenge.as_str().to_owned(),
        created_at: now,
        expires_at: now.saturating_add(PENDING_REQUEST_TTL),
    };
    let stored = pending.clone();
    if let Err(err) = storage::write(&state.grants.pool, move |conn| {
        authorization_requests::insert(conn, &stored)
    })
    .await
    {
        return trouble(&err);
    }
    login_form(StatusCode::OK, &pending)
        .insert_header((header::SET_COOKIE, csrf::set_cookie(&csrf, secure)))
        .body(page_html(&pending, &csrf, "", None))
}

/// Handles the login form: checks the CSRF token, then the password, and
/// on success redirects to the client with a fresh code.
///
/// The body is read by the token endpoint's extractor ([`FormBody`]), so
/// the size limit and form rules are the same; its errors are OAuth JSON,
/// which a browser cannot use, so they become the HTML error page here
/// (keeping 413 for a body over the limit instead of actix's plain text).
pub async fn login(
    req: HttpRequest,
    body: Result<FormBody, OAuthError>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut form = match body {
        Ok(FormBody(form)) => form,
        Err(err) if err.status_code() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The sign-in form is too large.",
            );
        }
        Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "The sign-in form could not be read.",
            );
        }
    };
    let Some(request_id) = form.take("request_id") else {
        return error_page(StatusCode::BAD_REQUEST, "The sign-in form is incomplete.");
    };
    let now = clock::now();
    let id = request_id.clone();
    let pending = match storage::run(&state.grants.pool, move |conn| {
        authorization_requests::find_live(conn, &id, now)
    })
    .await
    {
        Ok(Some(pending)) => pending,
        Ok(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "This sign-in request has expired or was already used.",
            );
        }
        Err(err) => return trouble(&err),
    };
    let csrf = match csrf::from_cookie(&req, is_secure(&state)) {
        Some(cookie) if csrf::verify(&cookie, form.get("csrf_token"), &pending.csrf_hash) => cookie,
        _ => {
            return error_page(
                StatusCode::FORBIDDEN,
                "The sign-in form could not be verified (its security token is missing or wrong).",
            );
        }
    };

    if form.get("action") == Some("cancel") {
        return match take(&state, &pending.id, now).await {
            Ok(true) => reject(
                &state,
                Rejection::Redirect(ErrorRedirect {
                    redirect_uri: pending.redirect_uri,
                    error: AuthorizeErrorCode::AccessDenied,
                    description: "the user declined to sign in".into(),
                    state: pending.state,
                }),
            ),
            Ok(false) => already_used(),
            Err(err) => trouble(&err),
        };
    }

    let username = form.take("username").unwrap_or_default();
    let Some(password) = form.take("password") else {
        return login_form(StatusCode::BAD_REQUEST, &pending).body(page_html(
            &pending,
            &csrf,
            &username,
            Some("Enter your username and password."),
        ));
    };

    // The same brute-force guard as the password grant, keyed the same way
    // (the username as typed, and the client's network): checked after the
    // CSRF check and before any argon2 work, so a locked-out guess costs
    // nothing and learns nothing.
    let ip = super::form_endpoint::source_address(&req);
    let guard = &state.throttle.login;
    if let Err(throttled) = guard.check(&username, ip) {
        return login_form(StatusCode::TOO_MANY_REQUESTS, &pending)
            .insert_header((
                header::RETRY_AFTER,
                throttled.retry_after_secs().to_string(),
            ))
            .body(page_html(&pending, &csrf, &username, Some(TOO_MANY_TRIES)));
    }

    let user =
        match grants::check_credentials(&state.grants, &username, Password::new(password), now)
            .await
        {
            Ok(Some(user)) => {
                guard.record_success(&username, ip);
                user
            }
            Ok(None) => {
                guard.record_failure(&username, ip);
                return login_form(StatusCode::BAD_REQUEST, &pending).body(page_html(
                    &pending,
                    &csrf,
                    &username,
                    Some(BAD_LOGIN),
                ));
            }
            Err(GrantError::Storage(err)) => return trouble(&err),
            Err(err) => {
                log::error!("login page: {}", Chain(&err));
                return error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side.",
                );
            }
        };

    let code = match AuthorizationCode::generate() {
        Ok(code) => code,
        Err(err) => return trouble(&err),
    };
    let row = CodeRow {
        code_hash: code.hash(),
        client_id: pending.client_id.clone(),
        user_id: user.id,
        redirect_uri: pending.redirect_uri.clone(),
        redirect_uri_sent: pending.redirect_uri_sent,
        scope: pending.scope.clone(),
        code_challenge: pending.code_challenge.clone(),
        created_at: now,
        expires_at: now.saturating_add(CODE_TTL),
        used_at: None,
        family_id: None,
    };
    let pending_id = pending.id.clone();
    // Consuming the pending request and storing the code commit together:
    // one form post yields at most one code.
    let issued = storage::write(&state.grants.pool, move |conn| {
        use diesel::Connection;
        conn.transaction::<_, StorageError, _>(|conn| {
            if !authorization_requests::take(conn, &pending_id, now)? {
                return Ok(false);
            }
            authorization_codes::insert(conn, &row)?;
            Ok(true)
        })
    })
    .await;
    match issued {
        Ok(true) => {}
        Ok(false) => return already_used(),
        Err(err) => return trouble(&err),
    }

    let issuer = &state.grants.policy.issuer;
    let mut params = vec![("code", code.expose())];
    if let Some(client_state) = &pending.state {
        params.push(("state", client_state.as_str()));
    }
    params.push(("iss", issuer.as_str()));
    match authorize::redirect_uri_with(&pending.redirect_uri, &params) {
        Ok(location) => see_other(&location),
        Err(_) => error_page(
            StatusCode::BAD_REQUEST,
            "The application's redirect URI is unusable.",
        ),
    }
}

/// Consumes a pending request (the user cancelled).
async fn take(state: &AppState, id: &str, now: i64) -> Result<bool, StorageError> {
    let id = id.to_owned();
    storage::write(&state.grants.pool, move |conn| {
        authorization_requests::take(conn, &id, now)
    })
    .await
}

/// The login form's response headers, allowing the post's redirect to the
/// client's origin.
fn login_form(status: StatusCode, pending: &PendingRequestRow) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    let origin = url::Url::parse(&pending.redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let targets: Vec<&str> = [origin.as_str()]
        .into_iter()
        .filter(|o| !o.is_empty())
        .collect();
    secured(&mut builder, &targets);
    builder
}

/// The login form for `pending`, with the user's name kept after a failure.
fn page_html(
    pending: &PendingRequestRow,
    csrf: &CsrfToken,
    username: &str,
    error: Option<&str>,
) -> String {
    LoginPage {
        client_id: &pending.client_id,
        scope: &pending.scope,
        request_id: &pending.id,
        csrf_token: csrf.expose(),
        username,
        error,
    }
    .render()
}

/// The answer to a rejected authorization request.
fn reject(state: &AppState, rejection: Rejection) -> HttpResponse {
    match rejection {
        Rejection::Page(message) => error_page(StatusCode::BAD_REQUEST, &message),
        Rejection::Redirect(redirect) => match redirect.location(&state.grants.policy.issuer) {
            Ok(location) => see_other(&location),
            Err(_) => error_page(
                StatusCode::BAD_REQUEST,
                "The application's redirect URI is unusable.",
            ),
        },
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .finish()
}

fn already_used() -> HttpResponse {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in request was already used.",
    )
}

/// A server-side failure, logged; the browser gets a plain page.
fn trouble(err: &(dyn std::error::Error + 'static)) -> HttpResponse {
    let unavailable = err
        .downcast_ref::<StorageError>()
        .is_some_and(|e| matches!(e, StorageError::Unavailable(_)));
    if unavailable {
        log::warn!("authorization endpoint: {}", Chain(err));
        error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable. Try again in a moment.",
        )
    } else {
        log::error!("authorization endpoint: {}", Chain(err));
        error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side.",
        )
    }
}

/// Whether the issuer is HTTPS (then the CSRF cookie is `Secure`).
fn is_secure(state: &AppState) -> bool {
    state.grants.policy.issuer.starts_with("https://")
}
