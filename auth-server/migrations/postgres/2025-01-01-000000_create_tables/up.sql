-- One schema for SQLite and PostgreSQL (the postgres twin differs only in
-- BYTEA for BLOB). Times are integer Unix seconds so both backends agree.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,   -- uuid; the token `sub`
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,               -- argon2id PHC string
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE clients (
    id            TEXT PRIMARY KEY NOT NULL,
    secret_hash   TEXT,                        -- hex sha256; NULL = public client
    grants        TEXT NOT NULL,               -- space-separated grant types
    scope         TEXT NOT NULL,               -- the most this client may ask for
    audience      TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,               -- space-separated
    created_at    BIGINT NOT NULL
);

-- Everything issued from one login: the refresh-token chain shares its
-- scope, audience and absolute lifetime, and is revoked as a whole.
CREATE TABLE token_families (
    id                  TEXT PRIMARY KEY NOT NULL,
    user_id             TEXT REFERENCES users (id) ON DELETE CASCADE,
    client_id           TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope               TEXT NOT NULL,
    audience            TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    revoked_at          BIGINT,
    revoked_reason      TEXT
);
CREATE INDEX token_families_user_id ON token_families (user_id);

-- Only the SHA-256 of a refresh token is stored, never the token.
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    family_id   TEXT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    parent_hash TEXT,
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,               -- idle expiry, capped by the family's
    used_at     BIGINT,                        -- set once, by the rotation that won
    revoked_at  BIGINT
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);

-- `generation` is unique, so two instances that both find no key (or rotate
-- at once) cannot both insert the next one: the loser gets a unique
-- violation and re-reads.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY NOT NULL,
    generation   BIGINT NOT NULL UNIQUE,
    alg          TEXT NOT NULL,
    private_key  BYTEA NOT NULL,               -- PKCS#8 DER
    public_jwk   TEXT NOT NULL,                -- JSON
    created_at   BIGINT NOT NULL,
    activates_at BIGINT NOT NULL,
    retires_at   BIGINT
);
