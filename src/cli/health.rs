//! `health`: asks the server's `grpc.health.v1.Health` service (which needs
//! no key) whether it serves, for scripts and probes: exits 0 when it says
//! SERVING, 1 when it answers anything else, 2 when it cannot be asked.

use std::process::ExitCode;

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use super::client::ClientArgs;
use super::{output, table};

/// `cartclick health`: which server, and which service of it.
#[derive(Debug, clap::Args)]
pub(crate) struct HealthArgs {
    /// Server (no key needed).
    #[command(flatten)]
    client: ClientArgs,
    /// One service's health, e.g. cartclick.v1.SaleService [default: the
    /// server's as a whole].
    #[arg(long, default_value = "")]
    service: String,
}

/// Asks, prints the status, and exits as the module says.
pub(super) async fn health(args: HealthArgs) -> ExitCode {
    match ask(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("cartclick: {message}");
            ExitCode::from(2)
        }
    }
}

/// Whether the server said SERVING, once the answer is printed.
async fn ask(args: &HealthArgs) -> Result<bool, String> {
    let HealthArgs { client, service } = args;
    let mut rpc = HealthClient::new(client.channel().await?);
    let request = HealthCheckRequest {
        service: service.clone(),
    };
    let response = client.answer(rpc.check(request).await, &[("service", "--service")])?;
    let status = response.status();
    match client.output {
        output::Format::Json => println!(
            "{}",
            output::json_line("grpc.health.v1.HealthCheckResponse", &response)?
        ),
        output::Format::Table => print_status(&response),
    }
    Ok(status == ServingStatus::Serving)
}

/// `status SERVING` (or NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN).
fn print_status(response: &HealthCheckResponse) {
    table::print(table::fields([(
        "status",
        response.status().as_str_name().to_owned(),
    )]));
}
