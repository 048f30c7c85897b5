-- The authorization-code grant (RFC 6749 §4.1 with RFC 7636 PKCE).
-- Identical on SQLite and PostgreSQL.

-- A validated authorization request waiting for the user to log in. It lives
-- in the database, not in one process, so the login form may be posted to any
-- instance behind a load balancer. The CSRF token is stored as its SHA-256:
-- the browser holds the token (cookie + hidden field), the row only proves it.
CREATE TABLE authorization_requests (
    id             TEXT PRIMARY KEY NOT NULL,  -- random, in the login form
    csrf_hash      TEXT NOT NULL,              -- hex sha256 of the CSRF token
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,              -- the effective one
    redirect_uri_sent BOOLEAN NOT NULL,        -- given in the request (RFC 6749 §4.1.3)
    scope          TEXT NOT NULL,
    state          TEXT,
    code_challenge TEXT NOT NULL,              -- S256 only
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX authorization_requests_expires_at ON authorization_requests (expires_at);

-- Only the SHA-256 of a code is stored. `used_at` is set once, by the one
-- conditional update that redeems it; `family_id` names the refresh-token
-- family issued from it, so that a second redemption can revoke it.
CREATE TABLE authorization_codes (
    code_hash      TEXT PRIMARY KEY NOT NULL,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    redirect_uri_sent BOOLEAN NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    family_id      TEXT REFERENCES token_families (id) ON DELETE SET NULL
);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);
