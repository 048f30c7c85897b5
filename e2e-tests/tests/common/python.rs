//! Running the Python clients of `e2e-tests/python/` (authlib,
//! schemathesis) against the servers.
//!
//! Python is not a build dependency, so a developer without it, or without
//! the packages of `e2e-tests/python/requirements.txt`, sees these tests
//! skipped with the reason printed. Under CI (`CI` set) a missing
//! interpreter or package fails the test instead, as a skipped PostgreSQL
//! test does: CI must really run them.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use e2e_tests::fixture::{CliOutput, run_command};

/// The interpreter: `E2E_PYTHON` if set, else `python3` from `PATH`.
fn interpreter() -> String {
    std::env::var("E2E_PYTHON")
        .ok()
        .filter(|python| !python.is_empty())
        .unwrap_or_else(|| "python3".to_owned())
}

/// A Python interpreter that can import every one of `modules`, or `None`
/// (with a line saying why) when there is none outside CI. Under CI a
/// missing interpreter or module panics.
pub fn python_with(modules: &[&str], test: &str) -> Option<Python> {
    let python = interpreter();
    let imports = format!("import {}", modules.join(", "));
    let probe = Command::new(&python)
        .args(["-c", imports.as_str()])
        .output();
    let reason = match probe {
        Ok(output) if output.status.success() => return Some(Python { program: python }),
        Ok(output) => format!(
            "`{python} -c '{imports}'` failed ({}): {} \
             (pip install -r e2e-tests/python/requirements.txt)",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => format!("cannot run {python}: {error}"),
    };
    let in_ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
    assert!(!in_ci, "CI must run {test}, but {reason}");
    println!("skipped {test}: {reason}");
    None
}

/// An interpreter known to import what a test needs.
#[derive(Debug)]
pub struct Python {
    program: String,
}

impl Python {
    /// Runs `e2e-tests/python/<script>` with `args` and `envs`; fails the
    /// test with both outputs unless it exits successfully within `timeout`.
    pub fn run_script(
        &self,
        script: &str,
        args: &[&str],
        envs: &[(&str, &str)],
        timeout: Duration,
    ) -> CliOutput {
        let path = script_path(script);
        // Its own working directory: schemathesis keeps a cache
        // (`.schemathesis/`) there, which must neither land in the
        // checkout nor be shared between tests.
        let workdir = tempfile::tempdir().expect("a temporary directory");
        let mut command = Command::new(&self.program);
        command
            .current_dir(workdir.path())
            .arg(&path)
            .args(args)
            .envs(envs.iter().copied())
            // Unbuffered, so output up to a hang or a crash is kept.
            .env("PYTHONUNBUFFERED", "1");
        let output = run_command(command, "", timeout)
            .unwrap_or_else(|error| panic!("{}: {error:#}", path.display()));
        if let Err(error) = output.success() {
            panic!("{error:#}");
        }
        output
    }
}

/// `e2e-tests/python/<script>`.
pub fn script_path(script: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script)
}
