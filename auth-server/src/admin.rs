//! Operator commands on sessions and keys: `users disable | enable |
//! sessions` and `keys list | rotate`. Output goes to the writer passed in,
//! so tests can read it.

use std::io::Write;

use crate::cli::{KeysRotateArgs, UsersCommand};
use crate::clock;
use crate::commands::{CommandError, rfc3339};
use crate::domain::Username;
use crate::keys::{self, RotatePlan};
use crate::storage::{DbConnection, sessions, users};

/// `users disable | enable | sessions NAME` (`users add` lives with the
/// password handling in [`crate::commands`]).
pub fn users(
    conn: &mut DbConnection,
    command: UsersCommand,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let now = clock::now();
    match command {
        UsersCommand::Add { .. } => Err(CommandError::Invalid(
            "users add is handled by commands::users".into(),
        )),
        UsersCommand::Disable { name } => {
            let name = Username::parse(&name)?;
            let (user, revoked) =
                sessions::disable(conn, name.as_str(), now)?.ok_or_else(|| no_such_user(&name))?;
            writeln!(
                out,
                "disabled user {} (id {}); revoked {revoked} session(s)",
                user.username, user.id
            )?;
            writeln!(
                out,
                "access tokens already issued stay valid until they expire"
            )?;
            Ok(())
        }
        UsersCommand::Enable { name } => {
            let name = Username::parse(&name)?;
            let user = sessions::enable(conn, name.as_str())?.ok_or_else(|| no_such_user(&name))?;
            writeln!(out, "enabled user {} (id {})", user.username, user.id)?;
            Ok(())
        }
        UsersCommand::Sessions { name } => {
            let name = Username::parse(&name)?;
            let user =
                users::find_by_username(conn, name.as_str())?.ok_or_else(|| no_such_user(&name))?;
            let sessions = sessions::active(conn, &user.id, now)?;
            writeln!(
                out,
                "{:<36}  {:<20}  {:<20}  {:<20}  {:<20}  SCOPE",
                "FAMILY", "CLIENT", "CREATED", "LAST REFRESH", "EXPIRES"
            )?;
            for s in sessions {
                writeln!(
                    out,
                    "{:<36}  {:<20}  {:<20}  {:<20}  {:<20}  {}",
                    s.family.id,
                    s.family.client_id,
                    rfc3339(s.family.created_at),
                    rfc3339(s.last_refresh_at),
                    rfc3339(s.expires_at),
                    s.family.scope
                )?;
            }
            Ok(())
        }
    }
}

fn no_such_user(name: &Username) -> CommandError {
    CommandError::Invalid(format!("no user named {name}"))
}

/// `keys list`: every key, oldest first, with its state now.
pub fn list_keys(conn: &mut DbConnection, out: &mut dyn Write) -> Result<(), CommandError> {
    let keys = keys::list(conn, clock::now())?;
    writeln!(
        out,
        "{:<44}  {:<5}  {:<20}  {:<20}  {:<20}  STATE",
        "KID", "ALG", "CREATED", "ACTIVATES", "RETIRES"
    )?;
    for key in keys {
        writeln!(
            out,
            "{:<44}  {:<5}  {:<20}  {:<20}  {:<20}  {}",
            key.kid,
            key.alg,
            rfc3339(key.created_at),
            rfc3339(key.activates_at),
            key.retires_at.map_or_else(|| "-".to_owned(), rfc3339),
            key.state.as_str()
        )?;
    }
    Ok(())
}

/// The resource servers' default JWKS refresh interval.
const RESOURCE_SERVER_JWKS_REFRESH: std::time::Duration = std::time::Duration::from_secs(300);

/// `keys rotate`: adds the new key and schedules the old ones' retirement.
pub fn rotate_key(
    conn: &mut DbConnection,
    args: &KeysRotateArgs,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let secs = |d: std::time::Duration, flag: &str| {
        i64::try_from(d.as_secs()).map_err(|_| CommandError::Invalid(format!("{flag} is too long")))
    };
    let plan = RotatePlan {
        alg: args.alg,
        activation_delay: secs(args.activation_delay, "--activation-delay")?,
        retire_after: secs(args.retire_after, "--retire-after")?,
    };
    if args.activation_delay < RESOURCE_SERVER_JWKS_REFRESH {
        log::warn!(
            "--activation-delay is shorter than the resource servers' default JWKS refresh \
             interval (5m): a server may meet a token from the new key before it has fetched \
             the key (it then refetches on the unknown kid, within its cooldown)"
        );
    }
    let safe_retirement = args.access_ttl + RESOURCE_SERVER_JWKS_REFRESH;
    if args.retire_after < safe_retirement {
        // A warning, not a refusal: retiring a compromised key at once is
        // exactly this, and then stranding its tokens is the point.
        writeln!(
            out,
            "warning: --retire-after {} is shorter than --access-ttl {} plus the resource \
             servers' JWKS refresh interval (5m): tokens the old key signs until the switch \
             will be refused before they expire",
            humantime::format_duration(args.retire_after),
            humantime::format_duration(args.access_ttl),
        )?;
    }
    let key = keys::rotate(conn, clock::now(), &plan)?;
    let retires = key.activates_at.saturating_add(plan.retire_after);
    writeln!(out, "new {} signing key: {}", key.alg, key.kid)?;
    writeln!(
        out,
        "published now; signs from {} (running servers switch at that time)",
        rfc3339(key.activates_at)
    )?;
    writeln!(
        out,
        "older keys stay published until {} (at the latest), then retire",
        rfc3339(retires)
    )?;
    Ok(())
}
