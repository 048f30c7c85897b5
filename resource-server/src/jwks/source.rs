//! Fetching a JWK Set over HTTP, or reading one from a file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{StatusCode, Url};
use shared_claims::JwkSet;

/// A JWKS of a few keys is a few kilobytes; anything this big is not one,
/// and reading it whole would let a misbehaving server exhaust our memory.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Why fetching or reading a key set failed. The cached keys stay in use.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connection, TLS, timeout or body-read failure.
    #[error("request to {url} failed")]
    Http {
        /// The JWKS URL.
        url: Url,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered, but not with 200.
    #[error("{url} answered {status}")]
    Status {
        /// The JWKS URL.
        url: Url,
        /// The status it answered.
        status: StatusCode,
    },
    /// The body exceeded the size limit (256 KiB).
    #[error("the key set is larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    /// The key-set file could not be read.
    #[error("cannot read {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The body is not a JWK Set.
    #[error("not a JWK Set")]
    Json(#[from] serde_json::Error),
    /// The set parsed, but none of its keys is acceptable; installing it
    /// would reject every token, so the previous set is kept instead.
    #[error("the key set holds no usable signing key")]
    NoUsableKeys,
}

/// A remote JWKS endpoint with its HTTP client.
#[derive(Debug, Clone)]
pub struct JwksSource {
    client: reqwest::Client,
    url: Url,
}

impl JwksSource {
    /// A source for `url`; each fetch gives up after `timeout`.
    pub fn new(url: Url, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // The configured URL is the one we trust; a redirect elsewhere is
            // a misconfiguration to surface, not to follow.
            .redirect(reqwest::redirect::Policy::none())
            // Fetches are minutes apart, and they may run on any worker's
            // runtime: a pooled connection would be driven by the runtime
            // that opened it, so keep none.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("resource-server/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, url })
    }

    /// The JWKS URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Fetches and parses the key set once.
    pub async fn fetch(&self) -> Result<JwkSet, FetchError> {
        // Our own message names the URL; drop reqwest's copy of it.
        let http = |source: reqwest::Error| FetchError::Http {
            url: self.url.clone(),
            source: source.without_url(),
        };
        let mut response = self
            .client
            .get(self.url.clone())
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            .map_err(http)?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status {
                url: self.url.clone(),
                status: response.status(),
            });
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(serde_json::from_slice(&body)?)
    }
}

/// Reads a key set from a file (the offline alternative to fetching).
pub fn read_jwks_file(path: &Path) -> Result<JwkSet, FetchError> {
    let bytes = std::fs::read(path).map_err(|source| FetchError::File {
        path: path.to_owned(),
        source,
    })?;
    Ok(serde_json::from_slice(&bytes)?)
}
