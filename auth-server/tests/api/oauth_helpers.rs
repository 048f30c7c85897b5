//! Fixtures for the revocation, introspection, session and key tests: a
//! request method per endpoint, and a confidential first-party client.

use serde_json::Value;
use shared_claims::{AccessClaims, JwkSet, TrustedKeys, Verifier, VerifierConfig};

use crate::helpers::{PASSWORD, TestApp, add_client, assert_no_store};

/// The confidential client `web` (password, refresh_token; notes:read
/// notes:write): a first-party backend that can also introspect.
pub const WEB: &str = "web";

impl TestApp {
    /// Registers [`WEB`]; returns its secret.
    pub fn add_web_client(&self) -> String {
        add_client(
            &mut self.db.connection(),
            WEB,
            "password refresh_token",
            "notes:read notes:write",
            true,
        )
        .unwrap()
    }

    /// POST a form to `path`, with HTTP Basic client authentication when
    /// `basic` is given.
    pub async fn post_form(
        &self,
        path: &str,
        params: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}{path}", self.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(params).unwrap());
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        req.send().await.unwrap()
    }

    /// POST /oauth/revoke.
    pub async fn revoke(
        &self,
        params: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> reqwest::Response {
        self.post_form("/oauth/revoke", params, basic).await
    }

    /// POST /oauth/introspect.
    pub async fn introspect(
        &self,
        params: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> reqwest::Response {
        self.post_form("/oauth/introspect", params, basic).await
    }

    /// The introspection answer for `token`, asked by `client` (Basic).
    pub async fn introspect_as(&self, client: (&str, &str), token: &str) -> Value {
        let response = self.introspect(&[("token", token)], Some(client)).await;
        assert_eq!(response.status(), 200);
        assert_no_store(&response);
        response.json().await.unwrap()
    }

    /// POST /sessions/logout-all with `Authorization: Bearer token`.
    pub async fn logout_all(&self, token: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/sessions/logout-all", self.address));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    /// The password grant for the confidential [`WEB`] client.
    pub async fn login_web(&self, secret: &str) -> Value {
        let params = [
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
        ];
        tokens(self.token_basic(WEB, secret, &params).await).await
    }

    /// Verifies an access token as a resource server with audience
    /// `resource-server` would, trusting every algorithm we sign with.
    pub async fn verify(&self, access_token: &str) -> AccessClaims {
        let jwks: JwkSet = self.jwks().await.json().await.unwrap();
        let config = VerifierConfig::new(self.issuer.clone(), "resource-server");
        let (keys, rejected) = TrustedKeys::from_jwks(&jwks, &config.algorithms);
        assert!(rejected.is_empty(), "{rejected:?}");
        Verifier::new(config, keys)
            .verify(access_token)
            .expect("the token verifies")
    }
}

/// A 200 token response's body.
pub async fn tokens(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// A string member of a JSON body.
pub fn text<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}
