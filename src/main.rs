//! The `cartclick` binary: parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cartclick::cli::Cli::parse();
    let telemetry = cartclick::telemetry::init(cli.log_format);
    let code = cartclick::cli::run(cli).await;
    telemetry.shutdown();
    code
}
