//! `resource-server`: parse the command line, start, serve.

use std::io::Write as _;

use clap::Parser as _;
use resource_server::{Application, Config};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let config = Config::parse();
    let app = Application::build(config)?;
    // A parent process (the e2e tests) reads this exact first line to learn
    // the port; flush so it is not stuck in a buffer.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{}", app.local_addr())?;
    stdout.flush()?;
    drop(stdout);
    app.run_until_stopped().await?;
    Ok(())
}
