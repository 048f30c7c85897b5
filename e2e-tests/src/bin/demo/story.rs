//! The story itself: one function per act, in the order a learner meets them.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use e2e_tests::challenge::Challenge;
use e2e_tests::fixture::{AuthServer, BuildOutput, DEFAULT_AUDIENCE, ResourceServer, ensure_built};
use e2e_tests::jwt;

use crate::Options;
use crate::interrupt::Interrupt;
use crate::show::{Exchange, Narrator, indent, pretty};
use crate::style::Style;

/// Short enough to watch it expire, long enough to read the steps before.
const ACCESS_TTL: Duration = Duration::from_secs(5);
const REFRESH_TTL: Duration = Duration::from_secs(60 * 60);
const USER: &str = "demo";
/// A throwaway account in a database that is deleted at the end.
const PASSWORD: &str = "demo-password-for-a-temporary-db";
const CLIENT: &str = "demo-app";
const SCOPE: &str = "notes:read notes:write";

/// Runs the whole story. Both servers live inside this function, so they are
/// stopped (and the database removed) whenever it returns, even on `Err`.
pub fn run(style: &Style, interrupt: &Interrupt, options: &Options) -> Result<()> {
    let narrator = Narrator::new(*style)?;
    let mut step = Steps::new(*style);
    println!(
        "{}",
        style.title("OAuth 2.0 tokens, live: issue, use, expire, refresh, reuse")
    );

    step.next("Build the two servers");
    ensure_built(BuildOutput::Inherited)?;
    interrupt.check()?;

    step.next("Start the auth server");
    let mut auth = AuthServer::builder()
        .access_ttl(ACCESS_TTL)
        .refresh_ttl(REFRESH_TTL)
        .start()?;
    let database_dir = auth.database().dir().map(ToOwned::to_owned);
    println!(
        "  auth-server (pid {}) listening on {}\n  database {}",
        auth.pid(),
        auth.url(),
        auth.database().url()
    );
    explain(
        style,
        "It proves who you are and issues tokens: access tokens live 5s here \
         (--access-ttl 5s; minutes in real life), refresh tokens 1h.",
    );
    interrupt.check()?;

    step.next("Create a user and a client with its command line");
    println!("  $ auth-server users add {USER} --password-stdin");
    auth.add_user(USER, PASSWORD)?;
    println!(
        "  $ auth-server clients add {CLIENT} --grant password --grant refresh_token \
         --scope \"{SCOPE}\" --audience {DEFAULT_AUDIENCE}"
    );
    auth.add_client(
        CLIENT,
        &["password", "refresh_token"],
        SCOPE,
        DEFAULT_AUDIENCE,
    )?;
    explain(
        style,
        "The password goes in on stdin, never on a command line. The client \
         may use the password grant (first-party apps only) and ask for notes scopes.",
    );
    interrupt.check()?;

    step.next("Start the resource server");
    let mut api = ResourceServer::builder(&auth)
        .leeway(Some(Duration::ZERO))
        .start()?;
    println!(
        "  resource-server (pid {}) listening on {}",
        api.pid(),
        api.url()
    );
    explain(
        style,
        "It fetched the auth server's public keys once and verifies every token \
         locally; it never asks the auth server per request. These are the keys:",
    );
    narrator.get(auth.url(), "/.well-known/jwks.json", None)?;
    interrupt.check()?;

    step.next("Log in: the password grant");
    let login = token_request(
        &narrator,
        &auth,
        &[
            ("grant_type", "password"),
            ("username", USER),
            ("password", PASSWORD),
            ("client_id", CLIENT),
            ("scope", SCOPE),
        ],
    )?;
    ensure!(login.status.is_success(), "the login failed");
    let access = login.field("access_token")?;
    let first_refresh = login.field("refresh_token")?;
    explain(
        style,
        "no-store: tokens must never be cached. The refresh token is opaque random \
         bytes; the database keeps only its SHA-256.",
    );
    interrupt.check()?;

    step.next("Look inside the access token");
    let header = jwt::header(&access)?;
    let claims = jwt::claims(&access)?;
    println!("  header\n{}", indent(&pretty(&header), 4));
    println!("  claims\n{}", indent(&pretty(&claims), 4));
    explain(
        style,
        "Signed, not encrypted: anyone can read this, only the auth server's \
         private key can sign it. The resource server picks the algorithm from \
         the key it trusts (kid), never from this header.",
    );
    interrupt.check()?;

    step.next("Call the API with it");
    let me = narrator.get(api.url(), "/api/me", Some(&access))?;
    ensure!(me.status.is_success(), "the API refused a fresh token");
    interrupt.check()?;

    step.next("Wait until the access token expires");
    let exp = claims["exp"].as_u64().context("the token has no exp")?;
    countdown(style, interrupt, exp)?;
    wait_for_refusal(&narrator, interrupt, api.url(), &access)?;
    let expired = narrator.get(api.url(), "/api/me", Some(&access))?;
    ensure!(expired.status == 401, "the expired token was not refused");
    let refusal = expired
        .header("www-authenticate")
        .and_then(Challenge::parse)
        .context("a 401 without a WWW-Authenticate challenge")?;
    ensure!(
        refusal.error() == Some("invalid_token"),
        "the refusal should say invalid_token: {refusal:?}"
    );
    explain(
        style,
        "401 with error=\"invalid_token\": the client's cue to use its refresh token.",
    );

    step.next("Refresh: trade the refresh token for a new pair");
    let renewed = refresh(&narrator, &auth, &first_refresh)?;
    ensure!(renewed.status.is_success(), "the refresh failed");
    let new_access = renewed.field("access_token")?;
    let newest_refresh = renewed.field("refresh_token")?;
    explain(
        style,
        "Rotation: the old refresh token is now marked used; the new one belongs \
         to the same family, which started at the login.",
    );
    interrupt.check()?;

    step.next("Call the API with the new access token");
    let me = narrator.get(api.url(), "/api/me", Some(&new_access))?;
    ensure!(me.status.is_success(), "the API refused the new token");
    interrupt.check()?;

    step.next("Replay the old refresh token, as a thief would");
    let replay = refresh(&narrator, &auth, &first_refresh)?;
    ensure!(replay.status == 400, "the replay was not refused");
    explain(
        style,
        "Reuse detected: a used refresh token came back, so two parties hold this \
         family; the server cannot tell which is legitimate and revokes the whole \
         family (RFC 9700 §4.14).",
    );
    interrupt.check()?;

    step.next("Try the newest refresh token");
    let after = refresh(&narrator, &auth, &newest_refresh)?;
    ensure!(after.status == 400, "the family was not revoked");
    explain(
        style,
        "Dead too: the family is gone. The user logs in again; the thief got nothing \
         that lasts longer than one access token.",
    );

    if options.keep_running {
        keep_running(style, interrupt, &auth, &api);
    }

    step.next("Clean up");
    let api_status = api.stop();
    let auth_status = auth.stop();
    println!("  resource-server stopped ({})", status_text(api_status));
    println!("  auth-server stopped ({})", status_text(auth_status));
    drop(api);
    drop(auth);
    if let Some(dir) = database_dir {
        println!(
            "  temporary database {} ({})",
            if dir.exists() {
                "NOT removed"
            } else {
                "removed"
            },
            dir.display()
        );
    }
    println!("{}", style.good("Done. Nothing left running."));
    Ok(())
}

/// Numbered step titles.
struct Steps {
    style: Style,
    number: u32,
}

impl Steps {
    fn new(style: Style) -> Self {
        Self { style, number: 0 }
    }

    fn next(&mut self, title: &str) {
        self.number += 1;
        println!(
            "\n{}",
            self.style.title(&format!("{:>2}. {title}", self.number))
        );
    }
}

fn explain(style: &Style, text: &str) {
    println!("  {}", style.dim(text));
}

fn token_request(
    narrator: &Narrator,
    auth: &AuthServer,
    form: &[(&str, &str)],
) -> Result<Exchange> {
    narrator.post_form(auth.url(), "/oauth/token", form)
}

fn refresh(narrator: &Narrator, auth: &AuthServer, refresh_token: &str) -> Result<Exchange> {
    token_request(
        narrator,
        auth,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT),
        ],
    )
}

/// Shows the seconds left until the token is past `exp` (a JWT is expired
/// once the clock is beyond `exp`, so the wait ends one second after it).
fn countdown(style: &Style, interrupt: &Interrupt, exp: u64) -> Result<()> {
    let deadline = UNIX_EPOCH + Duration::from_secs(exp + 1);
    if !style.is_terminal() {
        let left = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        println!("  waiting {}s for exp ({exp}) to pass", left.as_secs() + 1);
        return interrupt.sleep(left);
    }
    loop {
        let left = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        if left.is_zero() {
            break;
        }
        let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        print!("\r  ⏳ the access token expires in {seconds:>2}s ");
        let _ = std::io::stdout().flush();
        // Wake when the displayed number changes.
        let to_next = Duration::from_nanos(u64::from(left.subsec_nanos()));
        interrupt.sleep(if to_next.is_zero() {
            Duration::from_secs(1)
        } else {
            to_next
        })?;
    }
    println!("\r  ⌛ the access token has expired       ");
    Ok(())
}

/// Clocks are whole seconds in a JWT; make sure the resource server agrees
/// the token is expired before narrating the request that shows it.
fn wait_for_refusal(
    narrator: &Narrator,
    interrupt: &Interrupt,
    api: &str,
    token: &str,
) -> Result<()> {
    for _ in 0..100 {
        if narrator.status_quietly(api, "/api/me", token)? == 401 {
            return Ok(());
        }
        interrupt.sleep(Duration::from_millis(100))?;
    }
    anyhow::bail!("the resource server still accepts the expired token")
}

fn keep_running(style: &Style, interrupt: &Interrupt, auth: &AuthServer, api: &ResourceServer) {
    println!(
        "\n{}\n  auth-server      {}\n  resource-server  {}\n  log in again:\n    \
         curl -s -d grant_type=password -d username={USER} -d 'password={PASSWORD}' \
         -d client_id={CLIENT} {}\n  then:\n    curl -s -H \"Authorization: Bearer $TOKEN\" {}",
        style.title("Both servers keep running; Ctrl-C stops them."),
        auth.url(),
        api.url(),
        auth.token_url(),
        api.endpoint("/api/me"),
    );
    while !interrupt.is_raised() {
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn status_text(status: Option<std::process::ExitStatus>) -> String {
    status.map_or_else(
        || "exit status unknown".to_owned(),
        |status| status.to_string(),
    )
}
