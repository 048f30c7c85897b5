//! `cargo run --bin demo`: the token lifecycle, narrated for a learner.
//!
//! Starts both servers as separate processes on a temporary SQLite database,
//! creates a demo user and client through the auth server's command line,
//! then walks through login, use, expiry, refresh and refresh-token reuse.
//! It stops the servers and removes the database when done or interrupted.

mod interrupt;
mod show;
mod story;
mod style;

use std::process::ExitCode;

use interrupt::{Interrupt, Interrupted};
use style::Style;

const USAGE: &str = "\
usage: demo [--keep-running]

Narrates the OAuth 2.0 token lifecycle against the real auth-server and
resource-server binaries (built first when run through cargo).

  --keep-running   after the story, keep both servers up until Ctrl-C
  -h, --help       this text

Honours NO_COLOR; E2E_NO_BUILD=1 skips the build and uses the binaries
next to this one. Leaves nothing running and no files behind.";

/// What the reader asked for on the command line.
#[derive(Debug, Default)]
pub struct Options {
    /// Keep both servers up after the story until Ctrl-C.
    pub keep_running: bool,
}

fn main() -> ExitCode {
    let mut options = Options::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--keep-running" => options.keep_running = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return fail(&format!("unknown argument {other:?}\n\n{USAGE}")),
        }
    }
    // Early, so a Ctrl-C from here on lets the servers be stopped.
    let interrupt = match Interrupt::install() {
        Ok(interrupt) => interrupt,
        Err(error) => return fail(&format!("{error:#}")),
    };
    let style = Style::detect();

    let outcome = story::run(&style, &interrupt, &options);
    // By now `run` has returned, so its servers were stopped and the
    // temporary directory removed, whatever happened.
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if interrupt.is_raised() || error.is::<Interrupted>() => {
            println!(
                "\n{}",
                style.dim("Interrupted: both servers stopped, temporary database removed.")
            );
            ExitCode::from(130)
        }
        Err(error) => fail(&format!("{error:#}")),
    }
}

/// The demo's one place to report a failure, on stderr where it belongs.
#[allow(clippy::print_stderr)]
fn fail(message: &str) -> ExitCode {
    eprintln!("demo: {message}");
    ExitCode::FAILURE
}
