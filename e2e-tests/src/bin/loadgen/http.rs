//! A minimal HTTP/1.1 keep-alive client: just enough protocol for driving
//! our own servers (sized bodies, no chunking, no TLS), with none of a
//! general client's per-request cost, so the driver's core stays cheaper
//! than the server's.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One keep-alive connection.
pub struct Connection {
    addr: SocketAddr,
    stream: Option<BufReader<TcpStream>>,
    line: String,
}

/// A response: status and body.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Connection {
    /// A connection to `addr`, opened on first use.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            line: String::with_capacity(256),
        }
    }

    /// Sends one complete request and reads its response. On any error the
    /// connection is dropped and reopened by the next call.
    pub async fn send(&mut self, request: &[u8]) -> Result<Response> {
        let result = self.exchange(request).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    /// Drops the connection (say, after a request was abandoned halfway):
    /// the next request opens a new one.
    pub fn reset(&mut self) {
        self.stream = None;
    }

    async fn exchange(&mut self, request: &[u8]) -> Result<Response> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr)
                .await
                .with_context(|| format!("connecting to {}", self.addr))?;
            stream.set_nodelay(true)?;
            self.stream = Some(BufReader::with_capacity(16 * 1024, stream));
        }
        let Some(stream) = self.stream.as_mut() else {
            bail!("no connection");
        };
        stream.get_mut().write_all(request).await?;

        self.line.clear();
        if stream.read_line(&mut self.line).await? == 0 {
            bail!("connection closed before the status line");
        }
        let status: u16 = self
            .line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("malformed status line")?;
        let mut length = 0usize;
        let mut close = false;
        loop {
            self.line.clear();
            if stream.read_line(&mut self.line).await? == 0 {
                bail!("connection closed in the headers");
            }
            let header = self.line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().context("bad content-length")?;
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("chunked responses are not supported by this driver");
                } else if name.eq_ignore_ascii_case("connection")
                    && value.eq_ignore_ascii_case("close")
                {
                    close = true;
                }
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await?;
        if close {
            self.stream = None;
        }
        Ok(Response { status, body })
    }
}

/// `GET path`, with an optional bearer token.
pub fn get(host: &str, path: &str, bearer: Option<&str>) -> Vec<u8> {
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n").into_bytes()
}

/// `POST path` with a form body and optional extra header lines.
pub fn post_form(host: &str, path: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\n{extra_headers}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
