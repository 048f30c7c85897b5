//! What each subcommand does. Output goes to the writer passed in, so tests
//! can read it; diagnostics go to the log (stderr).

use std::io::{BufRead, Write};
use std::time::{Duration, UNIX_EPOCH};

use shared_claims::Scope;

use crate::admin;
use crate::cli::{
    Cli, ClientAddArgs, ClientsCommand, Command, DatabaseArgs, KeysCommand, UsersCommand,
};
use crate::clients::ClientSecret;
use crate::clock;
use crate::config::ServeConfig;
use crate::domain::{
    GrantType, GrantTypes, Password, PasswordPolicyError, Username, UsernameError,
};
use crate::keys::KeyError;
use crate::passwords::{self, HashError};
use crate::startup::Application;
use crate::storage::clients::ClientRow;
use crate::storage::{self, StorageError};

/// Why a command failed. Messages are for the operator.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The database failed.
    #[error(transparent)]
    Storage(StorageError),
    /// Key handling failed.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// Reading stdin or writing stdout failed.
    #[error("i/o")]
    Io(#[from] std::io::Error),
    /// A username that breaks the rules.
    #[error(transparent)]
    Username(#[from] UsernameError),
    /// A password that breaks the policy.
    #[error(transparent)]
    Password(#[from] PasswordPolicyError),
    /// The user or client already exists.
    #[error("{0} already exists")]
    Exists(String),
    /// Invalid arguments.
    #[error("{0}")]
    Invalid(String),
    /// The OS random source failed.
    #[error("could not generate a secret")]
    Random(#[from] getrandom::Error),
}

impl From<StorageError> for CommandError {
    fn from(err: StorageError) -> Self {
        Self::Storage(err)
    }
}

/// Runs the command line: `serve` (the default) or a management command.
pub fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let Cli {
        database,
        command,
        serve: default_serve,
    } = cli;
    let mut stdout = std::io::stdout();
    match command {
        None => serve(default_serve.into_config(&database))?,
        Some(Command::Serve(args)) => serve(args.into_config(&database))?,
        Some(Command::Users(cmd)) => {
            users(&database, cmd, &mut std::io::stdin().lock(), &mut stdout)?
        }
        Some(Command::Clients(cmd)) => clients(&database, cmd, &mut stdout)?,
        Some(Command::Keys(cmd)) => keys(&database, cmd, &mut stdout)?,
    }
    Ok(())
}

/// Starts the server and serves until SIGINT/SIGTERM. The first line of
/// standard output is `listening on http://ADDR`, flushed at once: parent
/// processes (tests, the demo) read it to learn a port picked with `:0`.
pub fn serve(config: ServeConfig) -> Result<(), Box<dyn std::error::Error>> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config).await?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{}", app.local_addr())?;
        stdout.flush()?;
        drop(stdout);
        app.run_until_stopped().await?;
        Ok(())
    })
}

/// Opens the database (running migrations) for one command.
fn open(database: &DatabaseArgs) -> Result<storage::PooledDb, CommandError> {
    let mut settings = database.pool_settings();
    settings.max_size = 1;
    let pool = storage::connect(&settings)?;
    Ok(pool.get().map_err(StorageError::from)?)
}

/// `users add NAME --password-stdin`; the other `users` commands are in
/// [`crate::admin`].
pub fn users(
    database: &DatabaseArgs,
    command: UsersCommand,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let (name, if_missing) = match command {
        UsersCommand::Add {
            name,
            password_stdin: _,
            if_missing,
        } => (name, if_missing),
        other => return admin::users(&mut *open(database)?, other, out),
    };
    let username = Username::parse(&name)?;
    let mut line = String::new();
    stdin.read_line(&mut line)?;
    let password = Password::new_checked(line.trim_end_matches(['\r', '\n']).to_owned())?;
    let hash = passwords::hash_blocking(&password)?;
    let mut conn = open(database)?;
    let user = match storage::users::create(&mut conn, username.as_str(), hash, clock::now()) {
        Err(StorageError::Conflict) if if_missing => {
            writeln!(out, "user {username} already exists; left unchanged")?;
            return Ok(());
        }
        Err(StorageError::Conflict) => {
            return Err(CommandError::Exists(format!("user {username}")));
        }
        other => other?,
    };
    writeln!(out, "created user {} (id {})", user.username, user.id)?;
    Ok(())
}

/// `clients add ...`.
pub fn clients(
    database: &DatabaseArgs,
    command: ClientsCommand,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let ClientsCommand::Add(args) = command;
    let if_missing = args.if_missing;
    let (row, secret) = client_row(args)?;
    let mut conn = open(database)?;
    match storage::clients::insert(&mut conn, &row) {
        Err(StorageError::Conflict) if if_missing => {
            writeln!(out, "client {} already exists; left unchanged", row.id)?;
            return Ok(());
        }
        Err(StorageError::Conflict) => {
            return Err(CommandError::Exists(format!("client {}", row.id)));
        }
        other => other?,
    }
    writeln!(out, "client_id: {}", row.id)?;
    if let Some(secret) = secret {
        writeln!(out, "client_secret: {}", secret.expose())?;
        writeln!(
            out,
            "(the secret is shown only this once; only its hash is stored)"
        )?;
    }
    Ok(())
}

/// Validates `clients add` arguments into a row, and a secret for a
/// confidential client.
fn client_row(args: ClientAddArgs) -> Result<(ClientRow, Option<ClientSecret>), CommandError> {
    if args.id.is_empty() || args.id.contains(|c: char| c.is_control() || c == ':') {
        return Err(CommandError::Invalid(
            "client id must be non-empty, without ':' or control characters".into(),
        ));
    }
    let grants: GrantTypes = args.grants.iter().copied().collect();
    if grants.allows(GrantType::ClientCredentials) && !args.confidential {
        return Err(CommandError::Invalid(
            "the client_credentials grant needs --confidential".into(),
        ));
    }
    let scope = Scope::parse(&args.scope).map_err(|e| CommandError::Invalid(e.to_string()))?;
    if args.audience.trim().is_empty() || args.audience.contains(char::is_whitespace) {
        return Err(CommandError::Invalid(
            "--audience must be one non-empty word".into(),
        ));
    }
    if let Some(bad) = args.redirect_uris.iter().find(|u| {
        !(u.starts_with("https://") || u.starts_with("http://")) || u.contains(char::is_whitespace)
    }) {
        return Err(CommandError::Invalid(format!(
            "redirect URI must be an absolute http(s) URL: {bad:?}"
        )));
    }
    let secret = args.confidential.then(ClientSecret::generate).transpose()?;
    let row = ClientRow {
        id: args.id,
        secret_hash: secret.as_ref().map(ClientSecret::hash),
        grants: grants.to_string(),
        scope: scope.to_string(),
        audience: args.audience,
        redirect_uris: args.redirect_uris.join(" "),
        created_at: clock::now(),
    };
    Ok((row, secret))
}

/// `keys list` / `keys rotate`.
pub fn keys(
    database: &DatabaseArgs,
    command: KeysCommand,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let mut conn = open(database)?;
    match command {
        KeysCommand::List => admin::list_keys(&mut conn, out),
        KeysCommand::Rotate(args) => admin::rotate_key(&mut conn, &args, out),
    }
}

/// Unix seconds as an RFC 3339 UTC time, for operator output.
pub(crate) fn rfc3339(unix: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(grants: &[GrantType], confidential: bool) -> ClientAddArgs {
        ClientAddArgs {
            id: "app".into(),
            confidential,
            grants: grants.to_vec(),
            scope: "notes:write notes:read".into(),
            audience: "resource-server".into(),
            redirect_uris: vec![],
            if_missing: false,
        }
    }

    /// A fresh SQLite database for one command-line test.
    fn scratch_database(dir: &tempfile::TempDir) -> DatabaseArgs {
        DatabaseArgs {
            database_url: crate::storage::DatabaseUrl::Sqlite(
                dir.path().join("auth.db").display().to_string(),
            ),
            db_pool_size: 1,
            db_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn if_missing_makes_adding_a_user_or_client_safe_to_repeat() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database = scratch_database(&dir);
        let add_user = |if_missing| {
            let command = UsersCommand::Add {
                name: "demo".into(),
                password_stdin: true,
                if_missing,
            };
            let mut stdin = "a long enough demo password\n".as_bytes();
            let mut out = Vec::new();
            users(&database, command, &mut stdin, &mut out)
                .map(|()| String::from_utf8_lossy(&out).into_owned())
        };
        let add_client = |if_missing| {
            let mut out = Vec::new();
            let command = ClientsCommand::Add(ClientAddArgs {
                if_missing,
                ..args(&[GrantType::Password], false)
            });
            clients(&database, command, &mut out)
                .map(|()| String::from_utf8_lossy(&out).into_owned())
        };

        assert!(
            add_user(true)
                .expect("created")
                .starts_with("created user demo")
        );
        assert!(add_user(true).expect("kept").contains("already exists"));
        assert!(matches!(add_user(false), Err(CommandError::Exists(_))));

        assert!(
            add_client(true)
                .expect("created")
                .contains("client_id: app")
        );
        assert!(add_client(true).expect("kept").contains("already exists"));
        assert!(matches!(add_client(false), Err(CommandError::Exists(_))));
    }

    #[test]
    fn confidential_clients_get_a_secret_stored_as_a_hash() {
        let (row, secret) = client_row(args(&[GrantType::ClientCredentials], true)).expect("valid");
        let secret = secret.expect("confidential");
        assert_eq!(row.secret_hash, Some(secret.hash()));
        assert_eq!(row.scope, "notes:read notes:write");
        let (public, none) = client_row(args(&[GrantType::Password], false)).expect("valid");
        assert!(public.secret_hash.is_none() && none.is_none());
    }

    #[test]
    fn client_credentials_needs_a_confidential_client() {
        assert!(client_row(args(&[GrantType::ClientCredentials], false)).is_err());
    }

    #[test]
    fn created_times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
