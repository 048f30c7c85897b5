"""A standard OAuth 2.0 client library (authlib) against the real servers.

Driven by e2e-tests/tests/standard_clients.rs, which starts both binaries,
registers the clients and the user through the auth server's command line,
and passes everything in the environment:

    AUTH_URL, API_URL        the servers' base URLs
    SERVICE_ID, SERVICE_SECRET   a confidential client_credentials client
    WEB_ID, WEB_SECRET       a confidential first-party client (password,
                             refresh_token)
    USERNAME, PASSWORD       a user

Every OAuth request below is made by authlib's OAuth2Session (fetch_token,
refresh_token, revoke_token, introspect_token, and its Bearer-authenticated
get): nothing is hand-built, so anything a stock client does that the servers
do not expect fails here. The endpoints come from the RFC 8414 metadata
document, as a client configured by discovery would find them.

Prints `ok <check>` per passed check; exits non-zero at the first failure.
"""

import os
import sys

# The servers under test listen on loopback over plain HTTP; authlib refuses
# that unless told it is intended.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.integrations.base_client import OAuthError  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402

TIMEOUT = 10


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set")
    return value


AUTH_URL = env("AUTH_URL")
API_URL = env("API_URL")
SERVICE_ID = env("SERVICE_ID")
SERVICE_SECRET = env("SERVICE_SECRET")
WEB_ID = env("WEB_ID")
WEB_SECRET = env("WEB_SECRET")
USERNAME = env("USERNAME")
PASSWORD = env("PASSWORD")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def ok(name):
    print(f"ok {name}", flush=True)


def discover():
    """The endpoints from the authorization server's metadata (RFC 8414)."""
    with OAuth2Session() as session:
        # A public document: no token to send (yet).
        response = session.get(
            f"{AUTH_URL}/.well-known/oauth-authorization-server",
            withhold_token=True,
            timeout=TIMEOUT,
        )
    response.raise_for_status()
    metadata = response.json()
    check(metadata["issuer"] == AUTH_URL, f"issuer {metadata['issuer']!r}")
    for method in ("client_secret_basic", "client_secret_post"):
        check(
            method in metadata["token_endpoint_auth_methods_supported"],
            f"{method} advertised",
        )
    ok("discovery")
    return metadata


def session(client_id, secret, method, scope=None):
    return OAuth2Session(
        client_id,
        secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        scope=scope,
    )


def me(client):
    """GET /api/me with the session's current access token."""
    response = client.get(f"{API_URL}/api/me", timeout=TIMEOUT)
    check(response.status_code == 200, f"/api/me answered {response.status_code}")
    return response.json()


def client_credentials(metadata, method):
    with session(SERVICE_ID, SERVICE_SECRET, method, scope="notes:read") as client:
        token = client.fetch_token(
            metadata["token_endpoint"], grant_type="client_credentials", timeout=TIMEOUT
        )
        check(token["token_type"].lower() == "bearer", f"token_type {token['token_type']}")
        check(token["expires_in"] > 0, "expires_in")
        check(token["scope"] == "notes:read", f"scope {token['scope']!r}")
        check("refresh_token" not in token, "client_credentials issues no refresh token")
        who = me(client)
        check(who["sub"] == SERVICE_ID, f"sub {who['sub']!r} is the client")
        check(who["client_id"] == SERVICE_ID, "client_id")
    ok(f"client_credentials with {method}")
    return token


def introspect(metadata, token, hint):
    with session(SERVICE_ID, SERVICE_SECRET, "client_secret_basic") as client:
        response = client.introspect_token(
            metadata["introspection_endpoint"],
            token=token,
            token_type_hint=hint,
            timeout=TIMEOUT,
        )
    check(response.status_code == 200, f"introspection answered {response.status_code}")
    return response.json()


def password_refresh_revoke(metadata):
    endpoint = metadata["token_endpoint"]
    with session(WEB_ID, WEB_SECRET, "client_secret_post", scope="notes:read notes:write") as web:
        login = web.fetch_token(
            endpoint, username=USERNAME, password=PASSWORD, timeout=TIMEOUT
        )
        check("refresh_token" in login, "the password grant issues a refresh token")
        check(set(login["scope"].split()) == {"notes:read", "notes:write"}, "scope")
        user = me(web)["sub"]
        check(user != USERNAME and user, "sub is the user's stable id")
        ok("password grant")

        first_refresh = login["refresh_token"]
        refreshed = web.refresh_token(endpoint, timeout=TIMEOUT)
        check(refreshed["refresh_token"] != first_refresh, "the refresh token rotates")
        check(refreshed["access_token"] != login["access_token"], "a new access token")
        check(me(web)["sub"] == user, "the refreshed token is the same user's")
        ok("refresh")

        # A refresh may narrow the scope (RFC 6749 §6).
        narrowed = web.refresh_token(endpoint, scope="notes:read", timeout=TIMEOUT)
        check(narrowed["scope"] == "notes:read", f"narrowed scope {narrowed['scope']!r}")
        ok("refresh narrowing the scope")

        # A resource server introspects the user's access token...
        about = introspect(metadata, narrowed["access_token"], "access_token")
        check(about["active"] is True, f"access token active: {about}")
        check(about["sub"] == user and about["client_id"] == WEB_ID, f"claims: {about}")
        check(about["scope"] == "notes:read", f"scope: {about}")
        # ...but a refresh token is only described to the client holding it.
        other = introspect(metadata, narrowed["refresh_token"], "refresh_token")
        check(other == {"active": False}, f"another client's refresh token: {other}")
        ok("introspection")

        # Logging out: revoke the refresh token (RFC 7009), ending the session.
        live = narrowed["refresh_token"]
        response = web.revoke_token(
            metadata["revocation_endpoint"],
            token=live,
            token_type_hint="refresh_token",
            timeout=TIMEOUT,
        )
        check(response.status_code == 200, f"revocation answered {response.status_code}")
        try:
            web.refresh_token(endpoint, refresh_token=live, timeout=TIMEOUT)
        except OAuthError as error:
            check(error.error == "invalid_grant", f"refresh after revocation: {error.error}")
        else:
            raise AssertionError("a revoked refresh token still refreshed")
        # An unknown token is no error (RFC 7009 §2.2).
        response = web.revoke_token(
            metadata["revocation_endpoint"], token="no-such-token", timeout=TIMEOUT
        )
        check(response.status_code == 200, f"unknown token: {response.status_code}")
        ok("revocation")


def bad_credentials(metadata):
    with session(SERVICE_ID, "not-the-secret", "client_secret_basic") as client:
        try:
            client.fetch_token(
                metadata["token_endpoint"], grant_type="client_credentials", timeout=TIMEOUT
            )
        except OAuthError as error:
            check(error.error == "invalid_client", f"wrong secret: {error.error}")
        else:
            raise AssertionError("a wrong client secret got a token")
    ok("invalid_client")


def main():
    metadata = discover()
    basic = client_credentials(metadata, "client_secret_basic")
    client_credentials(metadata, "client_secret_post")
    about = introspect(metadata, basic["access_token"], "access_token")
    check(about["active"] is True and about["client_id"] == SERVICE_ID, f"{about}")
    password_refresh_revoke(metadata)
    bad_credentials(metadata)
    ok("all")


if __name__ == "__main__":
    main()
