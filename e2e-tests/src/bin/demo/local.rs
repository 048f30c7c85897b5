//! The story on servers the demo starts itself: a temporary SQLite
//! database, both servers as child processes, a user and a client made with
//! the auth server's command line; all of it gone at the end.

use std::time::Duration;

use anyhow::Result;
use e2e_tests::fixture::{
    AuthServer, BuildOutput, DEFAULT_AUDIENCE, ResourceServer, ensure_built, reserve_local_address,
};

use crate::Options;
use crate::acts::{self, Cast, SCOPE, Stage};
use crate::by_hand;
use crate::interrupt::Interrupt;
use crate::style::Style;

/// Short enough to watch it expire, long enough to read the steps before.
const ACCESS_TTL: Duration = Duration::from_secs(5);
const REFRESH_TTL: Duration = Duration::from_secs(60 * 60);
const USER: &str = "demo";
/// A throwaway account in a database that is deleted at the end.
const PASSWORD: &str = "demo-password-for-a-temporary-db";
/// The client the playground page suggests (registered with --keep-running).
const PLAYGROUND_CLIENT: &str = "playground";

/// Runs the whole story. Both servers live inside this function, so they are
/// stopped (and the database removed) whenever it returns, even on `Err`.
pub fn run(style: &Style, interrupt: &Interrupt, options: &Options) -> Result<()> {
    let mut stage = Stage::new(style, interrupt)?;
    let client = options.client_id.as_str();
    println!(
        "{}",
        style.title("OAuth 2.0 tokens, live: issue, use, expire, refresh, reuse")
    );

    stage.step("Build the two servers");
    ensure_built(BuildOutput::Inherited)?;
    interrupt.check()?;

    stage.step("Start the auth server");
    // With --keep-running the auth server also serves the playground page,
    // which must know the resource server's address before either starts.
    let playground_api = options
        .keep_running
        .then(reserve_local_address)
        .transpose()?;
    let mut auth = AuthServer::builder()
        .access_ttl(ACCESS_TTL)
        .refresh_ttl(REFRESH_TTL);
    if let Some(address) = playground_api {
        auth = auth.playground_resource_url(format!("http://{address}"));
    }
    let mut auth = auth.start()?;
    let database_dir = auth.database().dir().map(ToOwned::to_owned);
    println!(
        "  auth-server (pid {}) listening on {}\n  database {}",
        auth.pid(),
        auth.url(),
        auth.database().url()
    );
    stage.explain(
        "It proves who you are and issues tokens: access tokens live 5s here \
         (--access-ttl 5s; minutes in real life), refresh tokens 1h.",
    );
    interrupt.check()?;

    stage.step("Create a user and a client with its command line");
    println!("  $ auth-server users add {USER} --password-stdin");
    auth.add_user(USER, PASSWORD)?;
    println!(
        "  $ auth-server clients add {client} --grant password --grant refresh_token \
         --scope \"{SCOPE}\" --audience {DEFAULT_AUDIENCE}"
    );
    auth.add_client(
        client,
        &["password", "refresh_token"],
        SCOPE,
        DEFAULT_AUDIENCE,
    )?;
    stage.explain(
        "The password goes in on stdin, never on a command line. The client \
         may use the password grant (first-party apps only) and ask for notes scopes.",
    );
    interrupt.check()?;

    stage.step("Start the resource server");
    let mut api = ResourceServer::builder(&auth).leeway(Some(Duration::ZERO));
    if let Some(address) = playground_api {
        // The page is served by the auth server: another origin for the API.
        api = api.bind(address).cors_origin(auth.url());
    }
    let mut api = api.start()?;
    println!(
        "  resource-server (pid {}) listening on {}",
        api.pid(),
        api.url()
    );
    acts::show_keys(
        &stage,
        auth.url(),
        "It fetched the auth server's public keys at start",
    )?;

    let cast = Cast {
        auth_url: auth.url().to_owned(),
        api_url: api.url().to_owned(),
        username: USER.to_owned(),
        password: PASSWORD.to_owned(),
        client_id: client.to_owned(),
    };
    acts::tell(
        &mut stage,
        &cast,
        "the --access-ttl 5s this demo started the auth server with",
    )?;

    if options.keep_running {
        auth.add_client(
            PLAYGROUND_CLIENT,
            &["password", "refresh_token"],
            SCOPE,
            DEFAULT_AUDIENCE,
        )?;
        keep_running(style, interrupt, &cast, &auth.endpoint("/playground"));
    }

    stage.step("Clean up");
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

fn keep_running(style: &Style, interrupt: &Interrupt, cast: &Cast, playground: &str) {
    println!(
        "\n{}\n  auth-server      {}\n  resource-server  {}\n\n{}\n{}\n{}\n  {}",
        style.title("Both servers keep running; Ctrl-C stops them."),
        cast.auth_url,
        cast.api_url,
        style.dim("Try the story by hand: paste these into a shell (sh, bash, zsh)."),
        by_hand::commands(cast, by_hand::Password::Shown(PASSWORD)),
        style.dim(&format!(
            "Or open the playground in a browser (client {PLAYGROUND_CLIENT}, user {USER}, password {PASSWORD}):"
        )),
        playground,
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
