//! Diesel table definitions, written by hand to match both migration sets
//! (`migrations/sqlite`, `migrations/postgres`).

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        disabled_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        secret_hash -> Nullable<Text>,
        grants -> Text,
        scope -> Text,
        audience -> Text,
        redirect_uris -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    token_families (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        client_id -> Text,
        scope -> Text,
        audience -> Text,
        created_at -> BigInt,
        absolute_expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        parent_hash -> Nullable<Text>,
        issued_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        grace_replays -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        generation -> BigInt,
        alg -> Text,
        private_key -> Binary,
        public_jwk -> Text,
        created_at -> BigInt,
        activates_at -> BigInt,
        retires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    authorization_requests (id) {
        id -> Text,
        csrf_hash -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        redirect_uri_sent -> Bool,
        scope -> Text,
        state -> Nullable<Text>,
        code_challenge -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        user_id -> Text,
        redirect_uri -> Text,
        redirect_uri_sent -> Bool,
        scope -> Text,
        code_challenge -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        family_id -> Nullable<Text>,
    }
}

diesel::joinable!(refresh_tokens -> token_families (family_id));
diesel::joinable!(token_families -> clients (client_id));
diesel::joinable!(token_families -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    clients,
    token_families,
    refresh_tokens,
    signing_keys,
    authorization_requests,
    authorization_codes,
);
