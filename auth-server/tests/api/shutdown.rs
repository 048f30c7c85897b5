//! Graceful shutdown of the real binary: after SIGTERM, a request already
//! accepted still completes (its argon2 and database work included), and the
//! process then exits cleanly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::helpers::{PASSWORD, TestDb, add_client, add_user};

/// Bounds every wait: generous, it only turns a hang into a failure.
const BOUND: Duration = Duration::from_secs(60);

/// The server process; killed if a test fails before it exited.
struct Server {
    child: Child,
    addr: SocketAddr,
    stderr_lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(db: &TestDb, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_auth-server"))
            .args(["serve", "--bind", "127.0.0.1:0", "--http-workers", "1"])
            .args(["--database-url", &db.url().to_string()])
            .args(extra)
            // Info: the test waits for actix's "starting graceful shutdown".
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the auth-server binary");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        // Forward stderr (the log) for diagnostics, and to the test.
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, stderr_lines) = mpsc::channel();
        thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                eprintln!("[auth-server] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            addr,
            stderr_lines,
        }
    }

    fn sigterm(&self) {
        let pid = i32::try_from(self.child.id()).unwrap();
        kill(Pid::from_raw(pid), Signal::SIGTERM).unwrap();
    }

    /// Waits for a log line containing `needle`.
    fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + BOUND;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => {}
                Err(e) => panic!("no log line containing {needle:?}: {e}"),
            }
        }
    }

    fn wait_for_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + BOUND;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http_requests_in_flight` from `/metrics` (this scrape included).
    fn requests_in_flight(&self) -> u64 {
        let text = get(self.addr, "/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix("http_requests_in_flight "))
            .expect("the gauge is exported")
            .parse()
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A GET on a connection of its own, closed after the answer: a short
/// connection that ends just before the SIGTERM, the case actix-server
/// before 2.10 got wrong (it counted a connection only after the worker
/// could finish it, so the worker looked idle and dropped the login).
fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_with_200() {
    let db = TestDb::sqlite();
    {
        let pool = db.pool();
        let mut conn = pool.get().unwrap();
        add_user(&mut conn, "alice");
        add_client(
            &mut conn,
            "app",
            "password refresh_token",
            "notes:read",
            false,
        );
    }
    let mut server = Server::start(&db, &["--shutdown-timeout", "30s"]);

    // A login whose body arrives in two parts: the server has accepted it
    // and is waiting for the rest, so it is in flight, deterministically,
    // for as long as the test likes.
    let body = serde_urlencoded::to_string([
        ("grant_type", "password"),
        ("client_id", "app"),
        ("username", "alice"),
        ("password", PASSWORD),
    ])
    .unwrap();
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut login = TcpStream::connect(server.addr).unwrap();
    login.set_read_timeout(Some(BOUND)).unwrap();
    write!(
        login,
        "POST /oauth/token HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{first_half}",
        server.addr,
        body.len()
    )
    .unwrap();
    login.flush().unwrap();
    let started = Instant::now();
    while server.requests_in_flight() < 2 {
        assert!(started.elapsed() < BOUND, "the login never arrived");
        thread::sleep(Duration::from_millis(10));
    }

    server.sigterm();
    server.wait_for_log("starting graceful shutdown");

    // Only now does the login run: argon2 and the database, after SIGTERM.
    login.write_all(second_half.as_bytes()).unwrap();
    let mut response = String::new();
    login.read_to_string(&mut response).unwrap();
    let (head, json) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete HTTP response: {response:?}"));
    assert!(head.starts_with("HTTP/1.1 200"), "{response}");
    let tokens: serde_json::Value = serde_json::from_str(json).unwrap();
    assert!(tokens["access_token"].is_string(), "{json}");
    assert!(tokens["refresh_token"].is_string(), "{json}");

    let status = server.wait_for_exit();
    assert!(status.success(), "exit status {status}");
}
