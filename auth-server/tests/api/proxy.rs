//! A TCP proxy a test can cut and restore: put between the server and
//! PostgreSQL, it makes the database go away and come back without stopping
//! the PostgreSQL that other tests share.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

pub struct CuttableProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    upstream: SocketAddr,
    closing: AtomicBool,
    state: Mutex<State>,
}

/// The cut flag and the open sockets under one lock, so no connection can
/// be accepted "just before" a cut and survive it.
#[derive(Default)]
struct State {
    cut: bool,
    open: Vec<TcpStream>,
}

impl CuttableProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream,
            closing: AtomicBool::new(false),
            state: Mutex::default(),
        });
        let accepting = Arc::clone(&shared);
        thread::spawn(move || accept_loop(&listener, &accepting));
        Self { addr, shared }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every open connection and closes new ones at once, as a
    /// stopped database (or a dead network path with resets) would.
    pub fn cut(&self) {
        let mut state = self.shared.lock();
        state.cut = true;
        close_all(&mut state.open);
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.shared.lock().cut = false;
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        close_all(&mut self.shared.lock().open);
        // Wakes the accept loop so it sees `closing`.
        drop(TcpStream::connect(self.addr));
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn close_all(open: &mut Vec<TcpStream>) {
    for stream in open.drain(..) {
        // Already closed by the other side: nothing to do.
        let _ = stream.shutdown(Shutdown::Both);
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.closing.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        // A refused upstream drops the client, as the database would.
        let Ok(server) = TcpStream::connect(shared.upstream) else {
            continue;
        };
        let mut state = shared.lock();
        if state.cut {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) else {
            continue;
        };
        state.open.push(c);
        state.open.push(s);
        drop(state);
        pipe(&client, &server);
        pipe(&server, &client);
    }
}

/// Copies `from` into `to` on a thread until either side closes, then
/// closes both.
fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    thread::spawn(move || {
        let _: io::Result<u64> = io::copy(&mut from, &mut to);
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}
