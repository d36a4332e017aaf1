//! The `cartclick` binary: parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator: a call allocates many small,
/// short-lived buffers across tokio's worker threads, where glibc's malloc
/// spends about a quarter of the server's instructions (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cartclick::cli::Cli::parse();
    let telemetry = cartclick::telemetry::init(cli.log_format);
    let code = cartclick::cli::run(cli).await;
    telemetry.shutdown();
    code
}
