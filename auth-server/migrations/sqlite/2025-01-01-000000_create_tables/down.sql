DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE token_families;
DROP TABLE clients;
DROP TABLE users;
