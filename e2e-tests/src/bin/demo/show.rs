//! Narrated HTTP: each exchange printed compactly (method, path, status, the
//! headers that matter, the body) with tokens abbreviated and the password
//! masked, so the screen shows the protocol rather than base64.

use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::style::Style;

/// Response headers worth a learner's attention.
const KEY_HEADERS: [&str; 5] = [
    "cache-control",
    "pragma",
    "www-authenticate",
    "retry-after",
    "content-type",
];
/// Fields whose values are credentials: shown abbreviated.
const TOKEN_FIELDS: [&str; 3] = ["access_token", "refresh_token", "id_token"];

/// One request and its answer, kept for the story's next step.
#[derive(Debug)]
pub struct Exchange {
    /// The answer's status.
    pub status: StatusCode,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The answer's body, parsed if it was JSON.
    pub json: Option<Value>,
}

impl Exchange {
    /// A string member of the JSON body.
    pub fn field(&self, name: &str) -> Result<String> {
        self.json
            .as_ref()
            .and_then(|json| json[name].as_str())
            .map(str::to_owned)
            .with_context(|| format!("the answer has no {name:?} (status {})", self.status))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Sends requests and tells the reader about them.
#[derive(Debug)]
pub struct Narrator {
    style: Style,
    http: Client,
}

impl Narrator {
    /// A narrator printing in `style`.
    pub fn new(style: Style) -> Result<Self> {
        // No pooled connections: an idle keep-alive connection would hold a
        // server's graceful shutdown open at the end of the story.
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { style, http })
    }

    /// `POST base+path` with a form body.
    pub fn post_form(&self, base: &str, path: &str, form: &[(&str, &str)]) -> Result<Exchange> {
        self.announce("POST", path);
        let shown: Vec<String> = form
            .iter()
            .map(|(name, value)| format!("{}={}", self.style.key(name), shown_value(name, value)))
            .collect();
        println!("    {}", shown.join("  "));
        self.send(self.http.post(format!("{base}{path}")).form(form))
    }

    /// `POST base+path` with a JSON body (a `password` member is masked).
    pub fn post_json(&self, base: &str, path: &str, body: &Value) -> Result<Exchange> {
        self.announce("POST", path);
        println!("{}", indent(&pretty(&masked(body)), 4));
        self.send(self.http.post(format!("{base}{path}")).json(body))
    }

    /// `GET base+path`, with a bearer token if given.
    pub fn get(&self, base: &str, path: &str, bearer: Option<&str>) -> Result<Exchange> {
        self.announce("GET", path);
        let mut request = self.http.get(format!("{base}{path}"));
        if let Some(token) = bearer {
            println!(
                "    {}: Bearer {}",
                self.style.key("Authorization"),
                abbreviate(token)
            );
            request = request.bearer_auth(token);
        }
        self.send(request)
    }

    /// `GET base+path` with a bearer token, printing nothing: for polling.
    pub fn status_quietly(&self, base: &str, path: &str, bearer: &str) -> Result<u16> {
        let response = self
            .http
            .get(format!("{base}{path}"))
            .bearer_auth(bearer)
            .send()
            .context("the server did not answer")?;
        Ok(response.status().as_u16())
    }

    fn announce(&self, method: &str, path: &str) {
        println!("  {} {}", self.style.request(&format!("→ {method}")), path);
    }

    fn send(&self, request: RequestBuilder) -> Result<Exchange> {
        let response = request.send().context("the server did not answer")?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().unwrap_or_default();
        let json: Option<Value> = serde_json::from_str(&text).ok();

        let status_text = format!("← {status}");
        let status_text = if status.is_success() {
            self.style.good(&status_text)
        } else {
            self.style.bad(&status_text)
        };
        println!("  {status_text}");
        for name in KEY_HEADERS {
            if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
                println!("    {}: {value}", self.style.key(name));
            }
        }
        match &json {
            Some(json) => println!("{}", indent(&pretty(&masked(json)), 4)),
            None if !text.is_empty() => println!("    {text}"),
            None => {}
        }
        Ok(Exchange {
            status,
            headers,
            json,
        })
    }
}

/// A form value as it may appear on screen.
fn shown_value(name: &str, value: &str) -> String {
    match name {
        "password" => "•".repeat(8),
        _ if TOKEN_FIELDS.contains(&name) => abbreviate(value),
        _ => value.to_owned(),
    }
}

/// `eyJhbGciOiJF…W3Qg (243 chars)`: enough to tell tokens apart on screen.
pub fn abbreviate(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    if chars.len() <= 24 {
        return token.to_owned();
    }
    let head: String = chars[..12].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail} ({} chars)", chars.len())
}

/// `json` with every token field abbreviated and passwords masked.
fn masked(json: &Value) -> Value {
    match json {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let value = match value {
                        Value::String(token) if TOKEN_FIELDS.contains(&key.as_str()) => {
                            Value::String(abbreviate(token))
                        }
                        Value::String(password) if key == "password" => {
                            Value::String(shown_value(key, password))
                        }
                        other => masked(other),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(masked).collect()),
        other => other.clone(),
    }
}

/// Pretty JSON (falls back to compact, which cannot fail for a `Value`).
pub fn pretty(json: &Value) -> String {
    serde_json::to_string_pretty(json).unwrap_or_else(|_| json.to_string())
}

/// Every line of `text` indented by `width` spaces.
pub fn indent(text: &str, width: usize) -> String {
    let pad = " ".repeat(width);
    text.lines()
        .map(|line| format!("{pad}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_tokens_are_shortened_and_short_values_kept() {
        let token = "a".repeat(100);
        assert_eq!(abbreviate(&token), "aaaaaaaaaaaa…aaaa (100 chars)");
        assert_eq!(abbreviate("Bearer"), "Bearer");
    }

    #[test]
    fn token_fields_are_abbreviated_and_passwords_never_shown() {
        let body = masked(&json!({"refresh_token": "r".repeat(43), "scope": "notes:read"}));
        assert_eq!(body["refresh_token"], "rrrrrrrrrrrr…rrrr (43 chars)");
        assert_eq!(body["scope"], "notes:read");
        assert_eq!(shown_value("password", "hunter2"), "••••••••");
        let registration = masked(&json!({"username": "demo", "password": "hunter2"}));
        assert_eq!(registration["password"], "••••••••");
        assert_eq!(registration["username"], "demo");
    }
}
