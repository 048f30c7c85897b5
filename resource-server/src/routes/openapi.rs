//! `GET /openapi.json`: the API document, written by hand from the wire
//! contract (DESIGN.md §3).

use std::sync::OnceLock;

use actix_web::HttpResponse;
use serde_json::{Value, json};

/// The OpenAPI 3.1 description of this service.
pub async fn openapi() -> HttpResponse {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    HttpResponse::Ok().json(DOCUMENT.get_or_init(document))
}

fn document() -> Value {
    let error = json!({ "$ref": "#/components/schemas/Error" });
    // No `content` on 401: a request without a token gets a bare challenge
    // and an empty body (RFC 6750 §3.1: no error code when the client sent
    // no credentials), only an invalid token gets the JSON error. One
    // schema cannot say "JSON, or nothing" (schemathesis caught the old
    // document promising JSON for both).
    let bearer_errors = json!({
        "401": {
            "description": "No token: a bare `WWW-Authenticate: Bearer realm=...` challenge and an empty body. An invalid token: `error=\"invalid_token\"` in the challenge, and a JSON `Error` body with the same `error` and `error_description`."
        },
        "503": { "description": "Signing keys not loaded yet; retry after `Retry-After`" }
    });
    let with = |mut base: Value, extra: Value| {
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        base
    };
    let forbidden = json!({
        "403": {
            "description": "`insufficient_scope`; the challenge names the scope needed",
            "content": { "application/json": { "schema": error } }
        }
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "resource-server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Notes API protected by OAuth 2.0 bearer tokens (RFC 6750, RFC 9068), verified locally against the auth server's JWKS."
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT (at+jwt)" }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": { "type": "string" },
                        "error_description": { "type": "string" }
                    }
                },
                "Me": {
                    "type": "object",
                    "required": ["sub", "client_id", "scope", "exp"],
                    "properties": {
                        "sub": { "type": "string" },
                        "client_id": { "type": "string" },
                        "scope": { "type": "string", "description": "space-separated" },
                        "exp": { "type": "integer", "description": "Unix seconds" }
                    }
                },
                "Note": {
                    "type": "object",
                    "required": ["id", "text", "created_at"],
                    "properties": {
                        "id": { "type": "string", "format": "uuid" },
                        "text": { "type": "string" },
                        "created_at": { "type": "integer", "description": "Unix seconds" }
                    }
                },
                "NewNote": {
                    "type": "object",
                    "required": ["text"],
                    "additionalProperties": false,
                    "properties": { "text": { "type": "string", "minLength": 1, "maxLength": 1000 } }
                }
            }
        },
        "paths": {
            "/api/me": { "get": {
                "summary": "The caller, as the access token describes it",
                "security": [{ "bearer": [] }],
                "responses": with(json!({
                    "200": { "description": "The caller", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Me" } } } }
                }), bearer_errors.clone())
            }},
            "/api/notes": {
                "get": {
                    "summary": "The caller's notes, oldest first",
                    "security": [{ "bearer": ["notes:read"] }],
                    "responses": with(with(json!({
                        "200": { "description": "Notes", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Note" } } } } }
                    }), bearer_errors.clone()), forbidden.clone())
                },
                "post": {
                    "summary": "Add a note (at most 100 per subject)",
                    "security": [{ "bearer": ["notes:write"] }],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewNote" } } } },
                    "responses": with(with(json!({
                        "201": { "description": "The stored note", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Note" } } } },
                        "400": { "description": "`invalid_request`: not a JSON object with 1 to 1000 characters of `text`", "content": { "application/json": { "schema": error } } },
                        "409": { "description": "`note_limit_reached`", "content": { "application/json": { "schema": error } } },
                        "413": { "description": "`invalid_request`: the body is over 16 KiB", "content": { "application/json": { "schema": error } } },
                        "507": { "description": "`storage_full`", "content": { "application/json": { "schema": error } } }
                    }), bearer_errors), forbidden)
                }
            },
            "/healthz": { "get": { "summary": "Liveness", "responses": { "200": { "description": "Alive" } } } },
            "/readyz": { "get": { "summary": "Readiness: signing keys loaded", "responses": {
                "200": { "description": "Ready" },
                "503": { "description": "Keys not loaded yet" }
            } } },
            "/metrics": { "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "Text exposition format" } } } },
            "/openapi.json": { "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3.1" } } } }
        }
    })
}
