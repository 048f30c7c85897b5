//! Ctrl-C without losing cleanup. A watcher thread receives SIGINT and
//! SIGTERM (through tokio's safe signal API) and only raises a flag. The
//! story checks the flag between steps and while waiting, and returns, so
//! the servers' destructors stop them and the temporary database is removed.
//!
//! Why not block the signals and `sigwait` for them: a blocked signal mask
//! is inherited by child processes, and the servers would then ignore the
//! SIGTERM meant to stop them. A handler, by contrast, is reset by `exec`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::signal::unix::{SignalKind, signal};

/// The story was cut short by the reader.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// The flag the watcher thread raises.
#[derive(Debug, Clone)]
pub struct Interrupt {
    raised: Arc<AtomicBool>,
}

impl Interrupt {
    /// Installs the handlers before returning, so from here on a Ctrl-C
    /// never kills the demo before it has stopped its servers.
    pub fn install() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .context("cannot start the signal watcher")?;
        let (mut interrupt, mut terminate) = {
            let _context = runtime.enter();
            (
                signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
                signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            )
        };
        let raised = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&raised);
        std::thread::spawn(move || {
            runtime.block_on(async move {
                loop {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                    if flag.swap(true, Ordering::SeqCst) {
                        // A second Ctrl-C: the reader insists. The servers got
                        // the terminal's SIGINT too, so nothing is left behind.
                        std::process::exit(130);
                    }
                }
            });
        });
        Ok(Self { raised })
    }

    /// Whether the reader asked to stop.
    pub fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    /// `Err(Interrupted)` once the reader asked to stop.
    pub fn check(&self) -> Result<()> {
        if self.is_raised() {
            Err(Interrupted.into())
        } else {
            Ok(())
        }
    }

    /// Sleeps for `duration`, waking early (with `Err`) on Ctrl-C.
    pub fn sleep(&self, duration: Duration) -> Result<()> {
        let until = Instant::now() + duration;
        loop {
            self.check()?;
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}
