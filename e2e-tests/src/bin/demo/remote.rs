//! The story against a deployment the demo did not start (for example
//! `docker compose up`): it only talks HTTP, registers its own user when the
//! auth server allows registration, and leaves everything running.

use std::io::BufRead;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::acts::{self, Cast, Stage};
use crate::by_hand;
use crate::interrupt::Interrupt;
use crate::style::Style;

/// Where the deployment is, and who logs in.
#[derive(Debug)]
pub struct Target {
    /// The auth server's base URL.
    pub auth_url: String,
    /// The resource server's base URL.
    pub api_url: String,
    /// The client the user logs in through; it must be registered.
    pub client_id: String,
    /// An existing (or to-be-registered) user; `None`: register a new one.
    pub username: Option<String>,
}

/// Tells the story against `target`. The password of a named user is read
/// from the first line of `stdin`.
pub fn run(
    style: &Style,
    interrupt: &Interrupt,
    target: Target,
    stdin: &mut dyn BufRead,
) -> Result<()> {
    let mut stage = Stage::new(style, interrupt)?;
    let auth_url = target.auth_url.trim_end_matches('/').to_owned();
    let api_url = target.api_url.trim_end_matches('/').to_owned();
    println!(
        "{}",
        style.title(
            "OAuth 2.0 tokens, live on a running deployment: issue, use, expire, refresh, reuse"
        )
    );

    stage.step("Meet the deployment");
    println!("  auth-server      {auth_url}\n  resource-server  {api_url}");
    stage.explain(
        "Both were started elsewhere (docker compose, say); this demo only speaks \
         HTTP to them. The auth server describes itself (RFC 8414):",
    );
    let metadata =
        stage
            .narrator
            .get(&auth_url, "/.well-known/oauth-authorization-server", None)?;
    if !metadata.status.is_success() {
        bail!(
            "{auth_url} does not look like the auth server (metadata: {})",
            metadata.status
        );
    }
    acts::show_keys(
        &stage,
        &auth_url,
        "The resource server fetched the public keys",
    )?;

    // `named`: the reader chose the user, who may exist already.
    let (username, password, named) = match target.username {
        Some(name) => (name, read_password(stdin)?, true),
        None => {
            let (name, password) = generated_user()?;
            (name, password, false)
        }
    };
    stage.step("Register a user");
    let registered = stage.narrator.post_json(
        &auth_url,
        "/users",
        &json!({"username": username, "password": password}),
    )?;
    match registered.status.as_u16() {
        200..=299 if named => stage.explain(
            "Registration is open on this deployment (--allow-registration), and \
             the user is new. The password travels in the body, never in a URL.",
        ),
        200..=299 => stage.explain(
            "Registration is open on this deployment (--allow-registration), so the \
             demo made its own user. The password travels in the body, never in a URL.",
        ),
        409 if named => stage.explain("Already registered: the demo logs in with it."),
        404 | 405 if named => stage.explain(
            "Registration is closed here; the user must exist already \
             (auth-server users add NAME --password-stdin).",
        ),
        404 | 405 => bail!(
            "registration is closed on {auth_url}; name an existing user with \
             --username NAME --password-stdin"
        ),
        other => bail!("registering {username} failed with status {other}"),
    }
    interrupt.check()?;

    let cast = Cast {
        auth_url,
        api_url,
        username,
        password,
        client_id: target.client_id,
    };
    acts::tell(
        &mut stage,
        &cast,
        "the deployment's own access-token lifetime (its --access-ttl, \
         AUTH_ACCESS_TTL), which this demo does not choose",
    )?;

    println!(
        "\n{}\n\n{}\n{}",
        style.good(&format!(
            "Done. The deployment keeps running; user {} stays registered.",
            cast.username
        )),
        style.dim("Try the story by hand: paste these into a shell (sh, bash, zsh)."),
        by_hand::commands(&cast, by_hand::Password::Prompted),
    );
    Ok(())
}

/// Users the demo registers for itself are called `demo-<random>`.
const GENERATED_PREFIX: &str = "demo-";

/// A new user name and a random password (128 bits from the OS), so every
/// run starts a fresh story and no password needs configuring.
fn generated_user() -> Result<(String, String)> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let password = uuid::Uuid::new_v4().simple().to_string();
    Ok((format!("{GENERATED_PREFIX}{}", &id[..8]), password))
}

/// The first line of `stdin`, without its line ending.
fn read_password(stdin: &mut dyn BufRead) -> Result<String> {
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("--password-stdin: standard input held no password");
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_the_first_line_of_stdin_without_its_ending() {
        let mut input = "s3cret pass\r\nignored\n".as_bytes();
        assert_eq!(read_password(&mut input).expect("password"), "s3cret pass");
        assert!(read_password(&mut "".as_bytes()).is_err());
    }

    #[test]
    fn generated_users_are_recognisable_and_never_repeat() {
        let (first, first_password) = generated_user().expect("user");
        let (second, second_password) = generated_user().expect("user");
        assert!(first.starts_with(GENERATED_PREFIX));
        assert_ne!(first, second);
        assert_ne!(first_password, second_password);
        assert!(first_password.len() >= 32);
    }
}
