//! docker-compose.yml, tested without a Docker engine: its services run here
//! as real processes with exactly the `command` and `environment` the file
//! gives them, against PostgreSQL, in the order `depends_on` sets:
//! auth-server, then setup (twice: it must be safe to repeat), then
//! resource-server, then the demo, whose narrated lifecycle is the story.
//!
//! Only network addresses are rewritten, as a container network would
//! resolve them:
//!
//! | in docker-compose.yml                        | here                                  |
//! |----------------------------------------------|---------------------------------------|
//! | `SERVICE:PORT` (e.g. `http://auth-server:8080`) | `127.0.0.1:P`, P a free port reserved for that service just before it starts |
//! | `0.0.0.0:PORT` in that service's `*_BIND`    | `127.0.0.1:P`, the same reserved port |
//! | the `postgres` service's URL                 | a fresh database on `TEST_DATABASE_URL`'s server |
//!
//! Everything else (subcommands, TTLs, audience, leeway, registration, log
//! level, the client's grants and scope) is used as written. A service's
//! port is reserved by binding port 0 and releasing it right before the
//! service binds it, because the auth server must know its issuer (its own
//! address) before it starts; another process could take the port in
//! between, so a start that fails is retried on a new port.

mod common;

use std::net::TcpListener;

use e2e_tests::fixture::{Invocation, InvokedServer};
use serde_yaml_ng::Value;

/// The compose file, resolved: aliases expanded and `<<` merge keys applied.
struct Compose {
    file: Value,
}

impl Compose {
    fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docker-compose.yml");
        let text = std::fs::read_to_string(path).expect("docker-compose.yml is readable");
        let mut file: Value = serde_yaml_ng::from_str(&text).expect("docker-compose.yml is YAML");
        file.apply_merge().expect("merge keys resolve");
        Self { file }
    }

    fn service(&self, name: &str) -> &Value {
        self.file["services"]
            .get(name)
            .unwrap_or_else(|| panic!("docker-compose.yml has a {name} service"))
    }

    fn service_names(&self) -> Vec<String> {
        self.file["services"]
            .as_mapping()
            .expect("services is a mapping")
            .keys()
            .map(|key| key.as_str().expect("service names are text").to_owned())
            .collect()
    }

    /// The service's `command`, in the list form (a plain string would need
    /// the shell-like splitting Compose does; the file does not use it).
    fn command(&self, name: &str) -> Vec<String> {
        self.service(name)["command"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}'s command is a list"))
            .iter()
            .map(|word| scalar(word).unwrap_or_else(|| panic!("{name}: command word {word:?}")))
            .collect()
    }

    /// The service's `environment`, in the mapping or the `KEY=VALUE` list form.
    fn environment(&self, name: &str) -> Vec<(String, String)> {
        let environment = &self.service(name)["environment"];
        if environment.is_null() {
            return Vec::new();
        }
        if let Some(list) = environment.as_sequence() {
            return list
                .iter()
                .map(|entry| {
                    let entry = entry.as_str().expect("KEY=VALUE");
                    let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
                    (key.to_owned(), value.to_owned())
                })
                .collect();
        }
        environment
            .as_mapping()
            .unwrap_or_else(|| panic!("{name}'s environment is a mapping or a list"))
            .iter()
            .map(|(key, value)| {
                let key = key.as_str().expect("variable names are text").to_owned();
                let value = scalar(value).unwrap_or_else(|| panic!("{name}: {key}={value:?}"));
                (key, value)
            })
            .collect()
    }

    /// The port the service listens on inside the network: from the
    /// `0.0.0.0:PORT` of its `*_BIND` variable, if it has one.
    fn port(&self, name: &str) -> Option<u16> {
        self.environment(name)
            .into_iter()
            .find(|(key, _)| key.ends_with("_BIND"))
            .map(|(key, bind)| {
                let port = bind
                    .strip_prefix("0.0.0.0:")
                    .unwrap_or_else(|| panic!("{name}: {key}={bind} binds every interface"));
                port.parse().expect("a port number")
            })
    }
}

/// Compose takes strings, numbers and booleans as values.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// What the container network would resolve, as text replacements.
struct Network {
    /// `(as written, as here)`, applied to every argument and value.
    replacements: Vec<(String, String)>,
    service_names: Vec<String>,
}

impl Network {
    /// `database_url` stands in for the postgres service's URL, which is
    /// read from the auth server's `AUTH_DATABASE_URL`.
    fn new(compose: &Compose, database_url: &str) -> Self {
        let written = compose
            .environment("auth-server")
            .into_iter()
            .find(|(key, _)| key == "AUTH_DATABASE_URL")
            .map(|(_, url)| url)
            .expect("auth-server has AUTH_DATABASE_URL");
        assert!(
            written.starts_with("postgres://") && written.contains("@postgres:"),
            "the auth server uses the postgres service: {written}"
        );
        Self {
            replacements: vec![(written, database_url.to_owned())],
            service_names: compose.service_names(),
        }
    }

    /// The service's command and environment with every known address
    /// rewritten; `bind` also maps its own `0.0.0.0:PORT`.
    fn invocation(&self, compose: &Compose, name: &str, bind: Option<(u16, u16)>) -> Invocation {
        let mut replacements = self.replacements.clone();
        if let Some((written, here)) = bind {
            replacements.push((format!("0.0.0.0:{written}"), format!("127.0.0.1:{here}")));
        }
        let rewrite = |text: &str| {
            let rewritten = replacements
                .iter()
                .fold(text.to_owned(), |text, (from, to)| text.replace(from, to));
            self.assert_resolved(name, &rewritten);
            rewritten
        };
        let argv: Vec<String> = compose.command(name).iter().map(|w| rewrite(w)).collect();
        let env = compose
            .environment(name)
            .into_iter()
            .map(|(key, value)| (key, rewrite(&value)))
            .collect();
        Invocation::new(&argv, env).expect("a command")
    }

    /// Starts a server service on a reserved port, which then stands for
    /// `SERVICE:PORT` in every later service.
    fn serve(&mut self, compose: &Compose, name: &str) -> InvokedServer {
        let port = compose
            .port(name)
            .unwrap_or_else(|| panic!("{name} has a *_BIND variable"));
        let mut failures = Vec::new();
        for _ in 0..3 {
            let here = free_port();
            let address = (format!("{name}:{port}"), format!("127.0.0.1:{here}"));
            self.replacements.push(address);
            match self.invocation(compose, name, Some((port, here))).serve() {
                Ok(server) => return server,
                // Most likely the port was taken in between: try another.
                Err(error) => failures.push(format!("{error:#}")),
            }
            self.replacements.pop();
        }
        panic!("{name} did not start:\n{}", failures.join("\n---\n"));
    }

    /// Nothing may still point into the compose network.
    fn assert_resolved(&self, service: &str, text: &str) {
        for name in &self.service_names {
            assert!(
                !text.contains(&format!("//{name}:")) && !text.contains(&format!("@{name}:")),
                "{service}: {text:?} still names the compose service {name}"
            );
        }
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound address").port()
}

#[test]
fn every_service_runs_a_binary_the_image_ships() {
    // Given the compose file and the Dockerfile that builds its image
    let compose = Compose::load();
    let dockerfile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile"))
        .expect("Dockerfile is readable");

    // Then every service built from it runs a program the image copies in
    for name in compose.service_names() {
        let service = compose.service(&name);
        if service.get("build").is_none() {
            continue; // postgres: an upstream image
        }
        let program = &compose.command(&name)[0];
        assert!(
            dockerfile.contains(&format!("target/release/{program}")),
            "{name} runs {program}, which the Dockerfile does not ship"
        );
    }
}

mod postgres {
    use super::*;

    #[test]
    fn the_compose_deployment_tells_the_whole_story() {
        let Some(database) = common::postgres(module_path!()) else {
            return;
        };
        // Given the compose file, and PostgreSQL standing in for its postgres
        let compose = Compose::load();
        let mut network = Network::new(&compose, database.url());

        // When the auth server starts as the file says
        let _auth = network.serve(&compose, "auth-server");

        // And setup runs, on a fresh deployment and again on a second `up`
        let setup = network.invocation(&compose, "setup", None);
        let first = setup.run("").expect("setup runs");
        first
            .success()
            .expect("setup succeeds on a fresh deployment");
        let again = setup.run("").expect("setup runs again");
        again.success().expect("setup succeeds when already done");
        assert!(
            again.stdout.contains("already exists"),
            "the second setup leaves the client alone: {}",
            again.stdout
        );

        // And the resource server starts as the file says
        let _api = network.serve(&compose, "resource-server");

        // Then the demo service tells the whole lifecycle against them
        let demo = network
            .invocation(&compose, "demo", None)
            .run("")
            .expect("demo runs");
        demo.success()
            .expect("the demo's story holds at every step");
        for step in [
            "Register a user",
            "Log in: the password grant",
            "Wait until the access token expires",
            "Refresh: trade the refresh token for a new pair",
            "Replay the old refresh token, as a thief would",
            "Try the newest refresh token",
        ] {
            assert!(demo.stdout.contains(step), "the demo told {step:?}");
        }
    }
}
