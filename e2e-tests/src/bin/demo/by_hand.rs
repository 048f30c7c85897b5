//! The story again, as shell commands a reader can paste: log in, call the
//! API, refresh, replay, log out. Printed when the servers stay up.

use crate::acts::{Cast, SCOPE};

/// How the commands get the user's password.
#[derive(Debug, Clone, Copy)]
pub enum Password<'a> {
    /// Written into the command: a throwaway password of a throwaway database.
    Shown(&'a str),
    /// Read from the terminal by the shell (`read -rs`), never printed.
    Prompted,
}

/// Shell commands (POSIX sh, curl, sed) that replay the story against
/// `cast`'s servers, one comment line per step.
pub fn commands(cast: &Cast, password: Password<'_>) -> String {
    let Cast {
        auth_url,
        api_url,
        username,
        client_id,
        ..
    } = cast;
    let token_url = format!("{auth_url}/oauth/token");
    let password_setup = match password {
        Password::Shown(password) => format!("PASSWORD={}", shell_quote(password)),
        Password::Prompted => {
            "printf 'password of %s: ' {user}; read -rs PASSWORD; echo".replace("{user}", username)
        }
    };
    // `field NAME` picks a string member out of the JSON in $RESPONSE; sed,
    // because it is everywhere and the responses are compact one-liners.
    format!(
        r#"{password_setup}
field() {{ printf '%s' "$RESPONSE" | sed -E "s/.*\"$1\":\"([^\"]*)\".*/\1/"; }}

# Log in (password grant) and keep both tokens:
RESPONSE=$(curl -s {token_url} -d grant_type=password -d client_id={client_id} \
  -d username={username} --data-urlencode "password=$PASSWORD" -d 'scope={SCOPE}')
echo "$RESPONSE"; ACCESS=$(field access_token); REFRESH=$(field refresh_token)

# Call the API; look inside the token (paste it at any JWT decoder, or):
curl -s {api_url}/api/me -H "Authorization: Bearer $ACCESS"; echo
printf '%s' "$ACCESS" | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null; echo

# Refresh; then replay the old refresh token and watch the family die:
OLD=$REFRESH
RESPONSE=$(curl -s {token_url} -d grant_type=refresh_token -d client_id={client_id} -d "refresh_token=$OLD")
echo "$RESPONSE"; ACCESS=$(field access_token); REFRESH=$(field refresh_token)
curl -s {token_url} -d grant_type=refresh_token -d client_id={client_id} -d "refresh_token=$OLD"; echo
curl -s {token_url} -d grant_type=refresh_token -d client_id={client_id} -d "refresh_token=$REFRESH"; echo

# Log out: revoking a refresh token revokes its family (RFC 7009):
curl -si {auth_url}/oauth/revoke -d client_id={client_id} -d "token=$REFRESH" | head -n1

# The public keys the API verifies with:
curl -s {auth_url}/.well-known/jwks.json; echo"#
    )
}

/// `value` in single quotes for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast() -> Cast {
        Cast {
            auth_url: "http://127.0.0.1:8080".to_owned(),
            api_url: "http://127.0.0.1:8081".to_owned(),
            username: "demo".to_owned(),
            password: "it's secret".to_owned(),
            client_id: "demo-app".to_owned(),
        }
    }

    #[test]
    fn every_step_of_the_story_is_there() {
        let text = commands(&cast(), Password::Prompted);
        for needle in [
            "grant_type=password",
            "http://127.0.0.1:8081/api/me",
            "grant_type=refresh_token",
            "http://127.0.0.1:8080/oauth/revoke",
            "/.well-known/jwks.json",
            "scope=notes:read notes:write",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }

    #[test]
    fn a_prompted_password_never_appears() {
        let text = commands(&cast(), Password::Prompted);
        assert!(!text.contains("secret"));
        assert!(text.contains("read -rs PASSWORD"));
    }

    #[test]
    fn a_shown_password_is_quoted_for_the_shell() {
        let text = commands(&cast(), Password::Shown("it's secret"));
        assert!(text.starts_with(r"PASSWORD='it'\''s secret'"), "{text}");
    }
}
