//! The acts every telling shares, whoever started the servers: log in, look
//! inside the token, use it, watch it expire, refresh, replay.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use e2e_tests::challenge::Challenge;
use e2e_tests::jwt;

use crate::interrupt::Interrupt;
use crate::show::{Exchange, Narrator, indent, pretty};
use crate::style::Style;

/// The scope the demo asks for: everything the notes API offers.
pub const SCOPE: &str = "notes:read notes:write";

/// Where the servers are and who logs in.
#[derive(Debug)]
pub struct Cast {
    /// The auth server's base URL.
    pub auth_url: String,
    /// The resource server's base URL.
    pub api_url: String,
    /// The user who logs in.
    pub username: String,
    /// Her password; only ever shown masked.
    pub password: String,
    /// The first-party client she logs in through.
    pub client_id: String,
}

/// Everything an act needs to talk and to wait: one per telling, whoever
/// started the servers.
#[derive(Debug)]
pub struct Stage<'a> {
    /// Colours for this terminal.
    pub style: &'a Style,
    /// Ctrl-C between and during steps.
    pub interrupt: &'a Interrupt,
    /// Sends requests and shows them.
    pub narrator: Narrator,
    /// Numbered step titles.
    steps: Steps,
}

impl<'a> Stage<'a> {
    /// A stage in `style`, numbering steps from 1.
    pub fn new(style: &'a Style, interrupt: &'a Interrupt) -> Result<Self> {
        Ok(Self {
            style,
            interrupt,
            narrator: Narrator::new(*style)?,
            steps: Steps::new(*style),
        })
    }

    /// A new numbered step.
    pub fn step(&mut self, title: &str) {
        self.steps.next(title);
    }

    /// An explanation in the background colour.
    pub fn explain(&self, text: &str) {
        explain(self.style, text);
    }

    /// The one line that matters most in a step, in the warning colour.
    pub fn alert(&self, text: &str) {
        println!("  {}", self.style.warn(text));
    }
}

/// Shows the keys the resource server trusts, from wherever it runs: the
/// part of every telling that explains why the API never calls the auth
/// server per request. `how` says how the resource server got them.
pub fn show_keys(stage: &Stage<'_>, auth_url: &str, how: &str) -> Result<()> {
    stage.explain(&format!(
        "{how} and verifies every token locally with them; it never asks the \
         auth server per request. These are the keys:"
    ));
    stage
        .narrator
        .get(auth_url, "/.well-known/jwks.json", None)?;
    stage.interrupt.check()
}

/// Numbered step titles.
#[derive(Debug)]
pub struct Steps {
    style: Style,
    number: u32,
}

impl Steps {
    /// Numbering starts at 1.
    pub fn new(style: Style) -> Self {
        Self { style, number: 0 }
    }

    /// Prints the next step's title.
    pub fn next(&mut self, title: &str) {
        self.number += 1;
        println!(
            "\n{}",
            self.style.title(&format!("{:>2}. {title}", self.number))
        );
    }
}

/// An explanation in the background colour.
fn explain(style: &Style, text: &str) {
    println!("  {}", style.dim(text));
}

/// From the login to the revoked family. `ttl_note` says where the access
/// token's lifetime comes from (a flag the demo set, or the deployment's
/// own setting), for the countdown's explanation.
pub fn tell(stage: &mut Stage<'_>, cast: &Cast, ttl_note: &str) -> Result<()> {
    let interrupt = stage.interrupt;

    stage.step("Log in: the password grant");
    let login = token_request(
        &stage.narrator,
        cast,
        &[
            ("grant_type", "password"),
            ("username", &cast.username),
            ("password", &cast.password),
            ("client_id", &cast.client_id),
            ("scope", SCOPE),
        ],
    )?;
    if login.field("error").ok().as_deref() == Some("invalid_client") {
        anyhow::bail!(
            "the auth server does not know client {:?}: register it with \
             `auth-server clients add {} --grant password --grant refresh_token \
             --scope \"{SCOPE}\" --audience resource-server`",
            cast.client_id,
            cast.client_id
        );
    }
    ensure!(login.status.is_success(), "the login failed");
    let access = login.field("access_token")?;
    let first_refresh = login.field("refresh_token")?;
    stage.explain(
        "no-store: tokens must never be cached. The refresh token is opaque random \
         bytes; the database keeps only its SHA-256.",
    );
    interrupt.check()?;

    stage.step("Look inside the access token");
    let header = jwt::header(&access)?;
    let claims = jwt::claims(&access)?;
    println!("  header\n{}", indent(&pretty(&header), 4));
    println!("  claims\n{}", indent(&pretty(&claims), 4));
    let iat = claims["iat"].as_u64().context("the token has no iat")?;
    let exp = claims["exp"].as_u64().context("the token has no exp")?;
    println!(
        "  {}",
        stage.style.key(&format!(
            "issued {} UTC, expires {} UTC: valid for {}s",
            clock_time(iat),
            clock_time(exp),
            exp.saturating_sub(iat)
        ))
    );
    stage.explain(
        "Signed, not encrypted: anyone can read this, only the auth server's \
         private key can sign it. The resource server picks the algorithm from \
         the key it trusts (kid), never from this header.",
    );
    interrupt.check()?;

    stage.step("Call the API with it");
    let me = stage
        .narrator
        .get(&cast.api_url, "/api/me", Some(&access))?;
    ensure!(me.status.is_success(), "the API refused a fresh token");
    interrupt.check()?;

    stage.step("Wait until the access token expires");
    let lifetime = login
        .json
        .as_ref()
        .and_then(|json| json["expires_in"].as_u64())
        .context("the token response has no expires_in")?;
    stage.explain(&format!(
        "expires_in says {lifetime}s: {ttl_note}. The countdown runs to the \
         token's own exp claim, which the resource server checks (plus any clock leeway it allows)."
    ));
    countdown(stage.style, interrupt, iat, exp)?;
    wait_for_refusal(&stage.narrator, interrupt, &cast.api_url, &access)?;
    let expired = stage
        .narrator
        .get(&cast.api_url, "/api/me", Some(&access))?;
    ensure!(expired.status == 401, "the expired token was not refused");
    let refusal = expired
        .header("www-authenticate")
        .and_then(Challenge::parse)
        .context("a 401 without a WWW-Authenticate challenge")?;
    ensure!(
        refusal.error() == Some("invalid_token"),
        "the refusal should say invalid_token: {refusal:?}"
    );
    stage.explain("401 with error=\"invalid_token\": the client's cue to use its refresh token.");

    stage.step("Refresh: trade the refresh token for a new pair");
    let renewed = refresh(&stage.narrator, cast, &first_refresh)?;
    ensure!(renewed.status.is_success(), "the refresh failed");
    let new_access = renewed.field("access_token")?;
    let newest_refresh = renewed.field("refresh_token")?;
    stage.explain(
        "Rotation: the old refresh token is now marked used; the new one belongs \
         to the same family, which started at the login.",
    );
    interrupt.check()?;

    stage.step("Call the API with the new access token");
    let me = stage
        .narrator
        .get(&cast.api_url, "/api/me", Some(&new_access))?;
    ensure!(me.status.is_success(), "the API refused the new token");
    interrupt.check()?;

    stage.step("Replay the old refresh token, as a thief would");
    let replay = refresh(&stage.narrator, cast, &first_refresh)?;
    ensure!(
        replay.status == 400 && replay.field("error").ok().as_deref() == Some("invalid_grant"),
        "the replay was not refused with invalid_grant"
    );
    stage.alert(
        "⚠ Reuse detected: this refresh token was already used, so the server revoked its whole family.",
    );
    stage.explain(
        "Two parties hold the family and the server cannot tell which is legitimate, \
         so neither keeps it (RFC 9700 §4.14.2).",
    );
    interrupt.check()?;

    stage.step("Try the newest refresh token");
    let after = refresh(&stage.narrator, cast, &newest_refresh)?;
    ensure!(after.status == 400, "the family was not revoked");
    stage.explain(
        "Dead too: the family is gone. The user logs in again; the thief got nothing \
         that lasts longer than one access token.",
    );
    Ok(())
}

fn token_request(narrator: &Narrator, cast: &Cast, form: &[(&str, &str)]) -> Result<Exchange> {
    narrator.post_form(&cast.auth_url, "/oauth/token", form)
}

fn refresh(narrator: &Narrator, cast: &Cast, refresh_token: &str) -> Result<Exchange> {
    token_request(
        narrator,
        cast,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &cast.client_id),
        ],
    )
}

/// Width of the countdown's bar, in characters.
const BAR_WIDTH: usize = 30;

/// Counts down to the moment the token is past `exp` (a JWT is expired once
/// the clock is beyond `exp`, so the wait ends one second after it), with a
/// bar that empties over the token's lifetime (`iat` to that moment).
fn countdown(style: &Style, interrupt: &Interrupt, iat: u64, exp: u64) -> Result<()> {
    let deadline = UNIX_EPOCH + Duration::from_secs(exp + 1);
    let lifetime = Duration::from_secs((exp + 1).saturating_sub(iat));
    let left = || {
        deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
    };
    if !style.is_terminal() {
        let left = left();
        println!("  waiting {}s for exp ({exp}) to pass", left.as_secs() + 1);
        return interrupt.sleep(left);
    }
    loop {
        let left = left();
        if left.is_zero() {
            break;
        }
        let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        print!(
            "\r  ⏳ {} expires in {seconds:>3}s ",
            style.key(&progress_bar(left, lifetime, BAR_WIDTH))
        );
        let _ = std::io::stdout().flush();
        // Often enough for the bar to move smoothly, rarely enough to be free.
        interrupt.sleep(left.min(Duration::from_millis(200)))?;
    }
    println!(
        "\r  ⌛ {} expired          ",
        style.bad(&progress_bar(Duration::ZERO, lifetime, BAR_WIDTH))
    );
    Ok(())
}

/// `width` cells, the first `left / total` of them full (rounded up, so the
/// bar only empties when no time is left).
fn progress_bar(left: Duration, total: Duration, width: usize) -> String {
    let full = if total.is_zero() {
        0
    } else {
        let cells = (left.as_millis() * width as u128).div_ceil(total.as_millis().max(1));
        usize::try_from(cells).unwrap_or(width).min(width)
    };
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}

/// `HH:MM:SS` of a Unix time, in UTC: enough to compare `iat` and `exp` with
/// the clock on the wall.
fn clock_time(unix_secs: u64) -> String {
    let of_day = unix_secs % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Clocks are whole seconds in a JWT, and a deployment's resource server
/// may allow some leeway; make sure it agrees the token is expired before
/// narrating the request that shows it.
fn wait_for_refusal(
    narrator: &Narrator,
    interrupt: &Interrupt,
    api: &str,
    token: &str,
) -> Result<()> {
    // Up to a minute: covers a leeway of that much on a deployment.
    for _ in 0..600 {
        if narrator.status_quietly(api, "/api/me", token)? == 401 {
            return Ok(());
        }
        interrupt.sleep(Duration::from_millis(100))?;
    }
    anyhow::bail!("the resource server still accepts the expired token")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_empties_with_the_time_left() {
        let total = Duration::from_secs(10);
        assert_eq!(progress_bar(total, total, 10), "█".repeat(10));
        assert_eq!(
            progress_bar(Duration::from_secs(5), total, 10),
            format!("{}{}", "█".repeat(5), "░".repeat(5))
        );
        // Any time left shows at least one full cell; none shows none.
        assert_eq!(
            progress_bar(Duration::from_millis(1), total, 10),
            format!("█{}", "░".repeat(9))
        );
        assert_eq!(progress_bar(Duration::ZERO, total, 10), "░".repeat(10));
        // More time left than the lifetime (a skewed clock) stays within the bar.
        assert_eq!(
            progress_bar(Duration::from_secs(60), total, 10),
            "█".repeat(10)
        );
        assert_eq!(
            progress_bar(Duration::from_secs(1), Duration::ZERO, 4),
            "░".repeat(4)
        );
    }

    #[test]
    fn clock_times_are_utc_hours_minutes_seconds() {
        assert_eq!(clock_time(0), "00:00:00");
        assert_eq!(clock_time(1_700_000_000), "22:13:20");
        assert_eq!(clock_time(86_399), "23:59:59");
    }
}
