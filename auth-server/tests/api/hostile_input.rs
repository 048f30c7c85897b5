//! Hostile input: oversized, malformed, mistyped and misplaced requests
//! all get a clear 4xx with an RFC error code (as JSON wherever the
//! application sees the request), never a 500 or a dropped connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Options, PASSWORD, TestApp, TestDb, assert_no_store, error_of};
use crate::oauth_helpers::tokens;

/// The form endpoints, which share the body rules.
const FORM_ENDPOINTS: [&str; 3] = ["/oauth/token", "/oauth/revoke", "/oauth/introspect"];

/// The body limit of the form endpoints (`routes::TOKEN_BODY_LIMIT`).
const BODY_LIMIT: usize = 16 * 1024;

impl TestApp {
    /// POST raw bytes to `path` with `content_type` (none when `None`).
    async fn post_bytes(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> reqwest::Response {
        let mut req = self.http.post(format!("{}{path}", self.address)).body(body);
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        req.send().await.unwrap()
    }

    /// Sends `request` as is over a fresh connection and returns the status
    /// code and the body of the answer. For what an HTTP client library
    /// would refuse to send.
    async fn raw(&self, request: Vec<u8>) -> (u16, String) {
        let addr = self.address.trim_start_matches("http://").to_owned();
        tokio::task::spawn_blocking(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            // The server may answer and close before reading everything.
            let _ = stream.write_all(&request);
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            let answer = String::from_utf8_lossy(&answer).into_owned();
            let status = answer
                .split(' ')
                .nth(1)
                .and_then(|code| code.parse().ok())
                .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"));
            let body = answer
                .split_once("\r\n\r\n")
                .map(|(_, body)| body.to_owned())
                .unwrap_or_default();
            (status, body)
        })
        .await
        .unwrap()
    }
}

/// Asserts a 4xx OAuth JSON error with `code` and the no-store headers.
async fn assert_oauth_error(response: reqwest::Response, status: u16, code: &str, case: &str) {
    assert_no_store(&response);
    let (got_status, got_code, body) = error_of(response).await;
    assert_eq!(
        (got_status, got_code.as_str()),
        (status, code),
        "{case}: {body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{case}: {body}"
    );
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(pairs).unwrap().into_bytes()
}

#[actix_web::test]
async fn oversized_bodies_get_413_invalid_request_as_json() {
    let app = TestApp::spawn().await;
    let body = format!("token={}", "a".repeat(BODY_LIMIT)).into_bytes();
    for path in FORM_ENDPOINTS {
        let response = app
            .post_bytes(
                path,
                Some("application/x-www-form-urlencoded"),
                body.clone(),
            )
            .await;
        assert_oauth_error(response, 413, "invalid_request", path).await;
    }
}

#[actix_web::test]
async fn oversized_chunked_bodies_get_413_too() {
    let app = TestApp::spawn().await;
    // No Content-Length: the limit must hold while streaming.
    let chunk = "a".repeat(4096);
    let mut request = b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
        Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for _ in 0..(BODY_LIMIT / chunk.len() + 2) {
        request.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = app.raw(request).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("invalid_request"), "{body}");
}

#[actix_web::test]
async fn malformed_forms_are_invalid_requests_on_every_form_endpoint() {
    let app = TestApp::spawn().await;
    let many: Vec<String> = (0..33).map(|i| format!("p{i}=v")).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("33 parameters", many.join("&").into_bytes()),
        (
            "a value over 8 KiB",
            form(&[("token", &"t".repeat(8 * 1024 + 1))]),
        ),
        ("a 65-byte name", form(&[(&"n".repeat(65), "x")])),
        ("a repeated parameter", b"token=a&token=b".to_vec()),
        ("a broken escape", b"token=%zz".to_vec()),
        ("a truncated escape", b"token=abc%4".to_vec()),
        ("percent-encoded non-UTF-8", b"token=%ff%fe".to_vec()),
        ("raw non-UTF-8", b"token=\xff\xfe".to_vec()),
        ("a non-UTF-8 name", b"\xff=x".to_vec()),
    ];
    for path in FORM_ENDPOINTS {
        for (case, body) in &cases {
            let response = app
                .post_bytes(
                    path,
                    Some("application/x-www-form-urlencoded"),
                    body.clone(),
                )
                .await;
            assert_oauth_error(response, 400, "invalid_request", &format!("{path}: {case}")).await;
        }
    }
}

#[actix_web::test]
async fn wrong_content_types_are_invalid_requests() {
    let app = TestApp::spawn().await;
    let body = form(&[
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
        ("client_id", "app"),
    ]);
    for content_type in [
        None,
        Some("application/json"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        Some("application/x-www-form-urlencodedx"),
    ] {
        for path in FORM_ENDPOINTS {
            let response = app.post_bytes(path, content_type, body.clone()).await;
            let case = format!("{path} with {content_type:?}");
            assert_oauth_error(response, 400, "invalid_request", &case).await;
        }
    }
    // Parameters and letter case of the media type are fine.
    let response = app
        .post_bytes(
            "/oauth/token",
            Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
            body,
        )
        .await;
    tokens(response).await;
}

#[actix_web::test]
async fn oauth_parameters_in_the_url_are_refused_without_echoing_them() {
    let app = TestApp::spawn().await;
    let body = form(&[
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
        ("client_id", "app"),
    ]);
    for query in [
        "client_secret=s3cret-in-url",
        "password=s3cret-in-url",
        "refresh_token=s3cret-in-url",
        "x=1&username=s3cret-in-url",
        "x=%ffs3cret-in-url",
    ] {
        let path = format!("/oauth/token?{query}");
        let response = app
            .post_bytes(
                &path,
                Some("application/x-www-form-urlencoded"),
                body.clone(),
            )
            .await;
        let (status, code, answer) = error_of(response).await;
        assert_eq!((status, code.as_str()), (400, "invalid_request"), "{query}");
        assert!(!answer.to_string().contains("s3cret"), "{answer}");
    }
    // A query without OAuth parameters (a cache buster) is left alone.
    let response = app
        .post_bytes(
            "/oauth/token?_=123",
            Some("application/x-www-form-urlencoded"),
            body,
        )
        .await;
    tokens(response).await;
}

#[actix_web::test]
async fn hostile_authorization_headers_are_refused_cleanly() {
    let app = TestApp::spawn().await;
    let body = form(&[("grant_type", "client_credentials")]);
    let send = |value: Vec<u8>| {
        app.http
            .post(format!("{}/oauth/token", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                reqwest::header::HeaderValue::from_bytes(&value).unwrap(),
            )
            .body(body.clone())
            .send()
    };
    let huge = format!("Basic {}", "A".repeat(8 * 1024)).into_bytes();
    assert_oauth_error(
        send(huge).await.unwrap(),
        400,
        "invalid_request",
        "a huge header",
    )
    .await;
    for (case, value) in [
        ("non-UTF-8", b"Basic \xff\xfe".to_vec()),
        ("not base64", b"Basic !!!!".to_vec()),
        ("base64 of non-UTF-8", b"Basic //79".to_vec()),
        ("another scheme", b"Bearer abc".to_vec()),
        ("no credentials", b"Basic".to_vec()),
    ] {
        let response = send(value).await.unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Basic realm=\"oauth\"",
            "{case}"
        );
        assert_oauth_error(response, 401, "invalid_client", case).await;
    }
}

#[actix_web::test]
async fn tokens_of_any_size_within_the_limits_are_just_invalid() {
    let app = TestApp::spawn().await;
    let web_secret = app.add_web_client();
    let long = "r".repeat(8 * 1024);
    for token in ["x", long.as_str(), "\u{0}", "a.b.c", "\u{1F600}"] {
        let response = app.refresh(token).await;
        let (status, code, _) = error_of(response).await;
        assert_eq!((status, code.as_str()), (400, "invalid_grant"));
        let answer = app.introspect_as(("web", &web_secret), token).await;
        assert_eq!(answer, json!({"active": false}));
        let response = app
            .revoke(&[("token", token)], Some(("web", &web_secret)))
            .await;
        assert_eq!(response.status(), 200);
    }
}

#[actix_web::test]
async fn request_heads_too_large_for_the_server_are_refused_before_the_app() {
    let app = TestApp::spawn().await;
    // actix-web caps a request head at 128 KiB and 96 headers, answering
    // 431 itself (plain, before any route runs).
    let huge = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    assert_eq!(app.raw(huge.into_bytes()).await.0, 431);
    let mut many = "POST /oauth/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_owned();
    for i in 0..120 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(app.raw(many.into_bytes()).await.0, 431);
    // The server is still serving.
    tokens(app.login("alice", PASSWORD).await).await;
}

#[actix_web::test]
async fn unknown_paths_and_methods_are_4xx() {
    let app = TestApp::spawn().await;
    let cases = [
        ("GET", "/oauth/token", 405),
        ("PUT", "/oauth/revoke", 405),
        ("POST", "/.well-known/jwks.json", 405),
        ("GET", "/nope", 404),
        ("GET", "/oauth/token/%ff", 404),
        ("GET", "/healthz/../../etc/passwd", 404),
    ];
    for (method, path, expected) in cases {
        let response = app
            .http
            .request(method.parse().unwrap(), format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{method} {path}");
    }
    // A request line no client library would send.
    let (status, _) = app
        .raw(b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec())
        .await;
    assert!((400..500).contains(&status), "{status}");
}

#[actix_web::test]
async fn registration_refuses_hostile_json_with_its_json_errors() {
    let app = TestApp::spawn_with(
        TestDb::sqlite(),
        Options {
            allow_registration: true,
            ..Options::default()
        },
    )
    .await;
    let post = |content_type: &'static str, body: Vec<u8>| {
        app.http
            .post(format!("{}/users", app.address))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let huge = json!({"username": "bob", "password": "p".repeat(5000)}).to_string();
    let response = post("application/json", huge.into_bytes()).await.unwrap();
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (413, "invalid_request"));

    let cases: [(&str, &str, &[u8]); 7] = [
        ("malformed", "application/json", b"{\"username\":"),
        (
            "non-UTF-8",
            "application/json",
            b"{\"username\":\"\xff\",\"password\":\"x\"}",
        ),
        ("an array", "application/json", b"[]"),
        ("missing fields", "application/json", b"{}"),
        (
            "wrong types",
            "application/json",
            b"{\"username\":1,\"password\":[]}",
        ),
        (
            "a form",
            "application/x-www-form-urlencoded",
            b"username=a&password=b",
        ),
        ("deep nesting", "application/json", &[b'['; 4000]),
    ];
    for (case, content_type, body) in cases {
        let response = post(content_type, body.to_vec()).await.unwrap();
        let (status, code, body) = error_of(response).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "invalid_request"),
            "{case}: {body}"
        );
    }
    let response = app
        .register(&json!({"username": "u".repeat(1000), "password": "long enough password"}))
        .await;
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (400, "invalid_username"));
}

#[actix_web::test]
async fn no_garbage_body_makes_a_form_endpoint_fail_on_our_side() {
    let app = TestApp::spawn().await;
    let bodies: [&[u8]; 12] = [
        b"",
        b"=",
        b"&&&",
        b"%",
        b"a=%",
        b"grant_type",
        b"grant_type=",
        b"grant_type=%00",
        b"grant_type=password&username=%00&password=%00&client_id=app",
        b"grant_type=refresh_token&refresh_token=..&client_id=app",
        b"grant_type=client_credentials&client_id=%E2%80%AE&client_secret=x",
        b"\x00\x01\x02\x03",
    ];
    for path in FORM_ENDPOINTS {
        for body in bodies {
            let response = app
                .post_bytes(
                    path,
                    Some("application/x-www-form-urlencoded"),
                    body.to_vec(),
                )
                .await;
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap();
            assert!(
                (400..500).contains(&status) && answer["error"].is_string(),
                "{path} {body:?}: {status} {answer}"
            );
        }
    }
}
