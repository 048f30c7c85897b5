//! `cargo run --bin demo`: the token lifecycle, narrated for a learner.
//!
//! By default it starts both servers as separate processes on a temporary
//! SQLite database, creates a demo user and client through the auth
//! server's command line, then walks through login, use, expiry, refresh and
//! refresh-token reuse; it stops the servers and removes the database when
//! done or interrupted. With `--auth-url` and `--resource-url` it tells the
//! same story against a deployment it did not start (the compose `demo`
//! service does this).

mod acts;
mod by_hand;
mod interrupt;
mod local;
mod remote;
mod show;
mod style;

use std::process::ExitCode;

use clap::Parser;
use interrupt::{Interrupt, Interrupted};
use style::Style;

/// Narrates the OAuth 2.0 token lifecycle against the real auth-server and
/// resource-server: login, use, expiry, refresh, refresh-token reuse.
///
/// Without --auth-url it starts both servers itself (built first when run
/// through cargo) on a temporary database and leaves nothing behind. With
/// --auth-url and --resource-url it talks to servers that are already
/// running, e.g. `docker compose up`.
#[derive(Debug, Parser)]
#[command(
    name = "demo",
    after_help = "Honours NO_COLOR. E2E_NO_BUILD=1 skips the build and uses the \
                  binaries next to this one."
)]
pub struct Options {
    /// After the story, keep both servers up until Ctrl-C (only when the
    /// demo starts them).
    #[arg(long, conflicts_with = "auth_url")]
    pub keep_running: bool,
    /// A running auth server's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, requires = "resource_url")]
    pub auth_url: Option<String>,
    /// A running resource server's base URL, e.g. http://127.0.0.1:8081.
    #[arg(long, requires = "auth_url")]
    pub resource_url: Option<String>,
    /// The first-party client to log in through (password and
    /// refresh_token grants, scope "notes:read notes:write").
    #[arg(long, default_value = "demo-app")]
    pub client_id: String,
    /// Log in as this existing user (with --password-stdin) instead of
    /// registering a new one through POST /users. Only with --auth-url.
    #[arg(long, requires_all = ["auth_url", "password_stdin"])]
    pub username: Option<String>,
    /// Read --username's password from the first line of standard input.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

fn main() -> ExitCode {
    let options = Options::parse();
    // Early, so a Ctrl-C from here on lets the servers be stopped.
    let interrupt = match Interrupt::install() {
        Ok(interrupt) => interrupt,
        Err(error) => return fail(&format!("{error:#}")),
    };
    let style = Style::detect();

    let started_servers = options.auth_url.is_none();
    let outcome = match (&options.auth_url, &options.resource_url) {
        (Some(auth_url), Some(api_url)) => {
            let target = remote::Target {
                auth_url: auth_url.clone(),
                api_url: api_url.clone(),
                client_id: options.client_id.clone(),
                username: options.username.clone(),
            };
            remote::run(&style, &interrupt, target, &mut std::io::stdin().lock())
        }
        _ => local::run(&style, &interrupt, &options),
    };
    // By now the story has returned, so any servers it started were stopped
    // and the temporary directory removed, whatever happened.
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if interrupt.is_raised() || error.is::<Interrupted>() => {
            let what = if started_servers {
                "Interrupted: both servers stopped, temporary database removed."
            } else {
                "Interrupted."
            };
            println!("\n{}", style.dim(what));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Options::try_parse_from(std::iter::once("demo").chain(args.iter().copied()))
    }

    #[test]
    fn without_urls_the_demo_starts_its_own_servers() {
        let options = parse(&["--keep-running"]).expect("parses");
        assert!(options.keep_running && options.auth_url.is_none());
        assert_eq!(options.client_id, "demo-app");
    }

    #[test]
    fn a_deployment_needs_both_urls_and_a_named_user_needs_a_password() {
        let both = ["--auth-url", "http://a", "--resource-url", "http://r"];
        assert!(parse(&both).is_ok());
        assert!(parse(&both[..2]).is_err(), "--auth-url alone");
        assert!(parse(&[&both[..], &["--username", "bob"]].concat()).is_err());
        assert!(parse(&[&both[..], &["--username", "bob", "--password-stdin"]].concat()).is_ok());
        assert!(parse(&["--username", "bob", "--password-stdin"]).is_err());
        assert!(parse(&[&both[..], &["--keep-running"]].concat()).is_err());
    }
}
