//! `auth-server`: parse the command line, set up logging, dispatch.

use std::process::ExitCode;

use auth_server::cli::Cli;
use auth_server::report::Chain;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match auth_server::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            log::error!("{}", Chain(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}
