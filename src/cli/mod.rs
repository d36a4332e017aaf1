//! The binary's commands, one file a group:
//!
//! - `serve` (`serve`): runs the service; `--dev` seeds a demo first, and
//!   a demo day of taps and sales (`demo`) for the dashboard.
//! - `issue`, `confirm` and `reverse` (`tap`): a tap, its sale and a
//!   refund, as small gRPC clients for trying the service.
//! - `counters`, `top` and `watch` (`counters`): counters, top lists and
//!   the live current hour.
//! - `earnings`, `commissions`, `commission review`, `payout create` and
//!   `payouts` (`earnings`): creators' balances, commissions, reviews of
//!   held commissions and payouts (EarningsService).
//! - `admin merchant|campaign|key|viewer` (`admin`): the operator commands
//!   over gRPC.
//! - `health` (`health`): the server's gRPC health, as an exit code.
//! - `events tail` and `reconcile` (`store`): read the Redis store directly:
//!   a merchant's event stream, and a recount of its day against its
//!   counters.
//! - `bench` (`bench`): the load generator.
//!
//! Every RPC of every service has a command (`RPC_COMMANDS` below, held
//! to the contract by a test). The client commands share `client` (server,
//! key, a failed call in one line naming the flag), `flags` (values as a
//! person types them), `output` (`--output table|json`: a table, or the
//! answer in the protobuf JSON mapping a message a line) and `table` (how
//! tables and money are drawn). `--server`, `--api-key` and `--output` are
//! taken anywhere after the command's name.

mod admin;
mod bench;
mod client;
mod counters;
mod demo;
mod earnings;
mod flags;
mod health;
mod output;
mod serve;
mod store;
mod table;
mod tap;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) use admin::AdminArgs;
pub(crate) use counters::{CountersArgs, TopArgs, WatchArgs};
pub(crate) use earnings::{
    CommissionCommand, CommissionsArgs, EarningsArgs, PayoutCommand, PayoutsArgs,
};
pub(crate) use health::HealthArgs;
pub(crate) use serve::ServeCommand;
pub(crate) use store::{EventsCommand, ReconcileArgs};
pub(crate) use tap::{ConfirmArgs, IssueArgs, ReverseArgs};

use crate::telemetry::LogFormat;

/// cartclick: tap-to-sale attribution for shoppable short videos.
#[derive(Debug, Parser)]
#[command(name = "cartclick", version, about)]
pub struct Cli {
    /// Log lines as text or JSON (filter with RUST_LOG).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true, env = "CARTCLICK_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the gRPC service.
    Serve(ServeCommand),
    /// Report a tap (ClickService.IssueToken) and print the token and redirect URL.
    Issue(IssueArgs),
    /// Attribute a sale to a token (SaleService.ConfirmSale).
    Confirm(ConfirmArgs),
    /// Refund a sale in full or in part (SaleService.ReverseSale).
    Reverse(ReverseArgs),
    /// Recount a merchant's UTC day from the stored click and sale records
    /// and print any drift from the counters. Exits 0 when they agree, 1 on
    /// drift, 2 when it could not run. Reads the store directly; records
    /// are kept through the day after a click, so recount today or yesterday.
    Reconcile(ReconcileArgs),
    /// Show a top list (CounterService.ListTop) as a table.
    Top(TopArgs),
    /// The event stream of a merchant: every click, repeat tap, sale and
    /// reversal, as counted. Reads the store directly.
    Events {
        /// What to do with it.
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Load-test a running server: N streams over M connections, a warm-up,
    /// then a measured duration; prints a table and a JSON summary line.
    Bench(crate::loadgen::BenchArgs),
    /// Operator commands over gRPC (AdminService); need an admin key.
    Admin(AdminArgs),
    /// Read counters (CounterService.GetCounters).
    Counters(CountersArgs),
    /// Print the current hour's counters now and each time they change,
    /// until Ctrl-C (CounterService.WatchCounters).
    Watch(WatchArgs),
    /// Whether the server serves (grpc.health.v1.Health.Check): exits 0 when
    /// SERVING, 1 otherwise, 2 when it cannot be asked.
    Health(HealthArgs),
    /// A creator's balances, one per merchant and currency
    /// (EarningsService.GetEarnings).
    Earnings(EarningsArgs),
    /// List commissions, newest sale first (EarningsService.ListCommissions).
    Commissions(CommissionsArgs),
    /// Review a commission a fraud signal holds
    /// (EarningsService.ReviewCommission); needs an admin key.
    Commission {
        /// What to do.
        #[command(subcommand)]
        command: CommissionCommand,
    },
    /// Pay a creator (EarningsService.CreatePayout); needs a merchant key, or
    /// an admin key naming the merchant.
    Payout {
        /// What to do.
        #[command(subcommand)]
        command: PayoutCommand,
    },
    /// List payouts, newest first (EarningsService.ListPayouts).
    Payouts(PayoutsArgs),
}

/// Runs a parsed command line; the exit code says how it went.
pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve(command) => serve::serve(command).await,
        Command::Issue(args) => tap::issue(args).await,
        Command::Confirm(args) => tap::confirm(args).await,
        Command::Reverse(args) => tap::reverse(args).await,
        Command::Reconcile(args) => return store::reconcile(args).await,
        Command::Top(args) => counters::top(args).await,
        Command::Events { command } => store::events(command).await,
        Command::Bench(args) => bench::bench(args).await,
        Command::Admin(args) => admin::admin(args).await,
        Command::Counters(args) => counters::counters(args).await,
        Command::Watch(args) => counters::watch(args).await,
        Command::Health(args) => return health::health(args).await,
        Command::Earnings(args) => earnings::earnings(args).await,
        Command::Commissions(args) => earnings::commissions(args).await,
        Command::Commission { command } => earnings::commission(command).await,
        Command::Payout { command } => earnings::payout(command).await,
        Command::Payouts(args) => earnings::payouts(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cartclick: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The command of every RPC, by its full name: the contract's services and
/// the health service. A test holds it to the descriptors, so an RPC added
/// without a command fails the build's tests.
#[cfg(test)]
const RPC_COMMANDS: &[(&str, &str)] = &[
    ("cartclick.v1.ClickService.IssueToken", "issue"),
    ("cartclick.v1.SaleService.ConfirmSale", "confirm"),
    ("cartclick.v1.SaleService.ReverseSale", "reverse"),
    ("cartclick.v1.CounterService.GetCounters", "counters"),
    ("cartclick.v1.CounterService.ListTop", "top"),
    ("cartclick.v1.CounterService.WatchCounters", "watch"),
    (
        "cartclick.v1.AdminService.PutMerchant",
        "admin merchant put",
    ),
    (
        "cartclick.v1.AdminService.GetMerchant",
        "admin merchant get",
    ),
    ("cartclick.v1.AdminService.CreateApiKey", "admin key create"),
    ("cartclick.v1.AdminService.RevokeApiKey", "admin key revoke"),
    (
        "cartclick.v1.AdminService.PutCampaign",
        "admin campaign put",
    ),
    (
        "cartclick.v1.AdminService.ReviewCampaign",
        "admin campaign review",
    ),
    (
        "cartclick.v1.AdminService.GetCampaign",
        "admin campaign get",
    ),
    (
        "cartclick.v1.AdminService.EraseViewer",
        "admin viewer erase",
    ),
    (
        "cartclick.v1.AdminService.ListMerchants",
        "admin merchant list",
    ),
    (
        "cartclick.v1.AdminService.ListCampaigns",
        "admin campaign list",
    ),
    ("cartclick.v1.AdminService.ListApiKeys", "admin key list"),
    ("cartclick.v1.EarningsService.GetEarnings", "earnings"),
    (
        "cartclick.v1.EarningsService.ListCommissions",
        "commissions",
    ),
    ("cartclick.v1.EarningsService.CreatePayout", "payout create"),
    ("cartclick.v1.EarningsService.ListPayouts", "payouts"),
    (
        "cartclick.v1.EarningsService.ReviewCommission",
        "commission review",
    ),
    ("grpc.health.v1.Health.Check", "health"),
];

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    /// The clap command at `path` (`admin key create`), if there is one,
    /// built: with the global flags of the commands above it.
    fn command_at(path: &str) -> Option<clap::Command> {
        let mut command = Cli::command();
        command.build();
        for name in path.split(' ') {
            command = command.find_subcommand(name)?.clone();
        }
        Some(command)
    }

    #[test]
    fn every_rpc_of_the_contract_has_a_command() {
        let pool =
            prost_reflect::DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET).unwrap();
        let rpcs: Vec<String> = pool
            .services()
            .flat_map(|s| s.methods().collect::<Vec<_>>())
            .map(|m| m.full_name().to_owned())
            .collect();
        for rpc in &rpcs {
            assert!(
                RPC_COMMANDS.iter().any(|(name, _)| name == rpc),
                "{rpc} has no command: add one, and a line to RPC_COMMANDS"
            );
        }
        for (rpc, path) in RPC_COMMANDS {
            assert!(command_at(path).is_some(), "{rpc}: no command `{path}`");
        }
    }

    #[test]
    fn every_client_command_takes_output_server_and_key() {
        for (rpc, path) in RPC_COMMANDS {
            let command = command_at(path).unwrap();
            for flag in ["output", "server", "api_key"] {
                assert!(
                    command.get_arguments().any(|a| a.get_id() == flag),
                    "{rpc}: `{path}` lacks --{flag}"
                );
            }
        }
    }

    #[test]
    fn server_key_and_output_are_taken_after_the_subcommand_too() {
        let cli = Cli::try_parse_from([
            "cartclick",
            "admin",
            "key",
            "create",
            "--role",
            "feed",
            "--api-key",
            "k",
            "--server",
            "127.0.0.1:1",
            "--output",
            "json",
        ])
        .unwrap();
        let Command::Admin(args) = cli.command else {
            panic!("not admin: {cli:?}");
        };
        let debug = format!("{args:?}");
        assert!(debug.contains("api_key: Some(\"k\")"), "{debug}");
        assert!(debug.contains("server: \"127.0.0.1:1\""), "{debug}");
        assert!(debug.contains("output: Json"), "{debug}");
    }

    #[test]
    fn a_negative_amount_is_a_value_not_a_flag() {
        for command in ["confirm", "reverse"] {
            let mut args = vec![
                "cartclick",
                command,
                "--order",
                "o-1",
                "--amount-minor",
                "-100",
            ];
            args.extend(["--currency", "dkk", "--token", "t", "--reversal", "r-1"]);
            if command == "confirm" {
                args.truncate(args.len() - 2);
            } else {
                args.retain(|a| *a != "--token" && *a != "t");
            }
            let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            let debug = format!("{:?}", cli.command);
            assert!(debug.contains("amount_minor: -100"), "{debug}");
            assert!(debug.contains("currency: \"DKK\""), "{debug}");
        }
    }

    #[test]
    fn top_does_not_offer_merchants() {
        let error =
            Cli::try_parse_from(["cartclick", "top", "--dimension", "merchant"]).unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::InvalidValue,
            "{error}"
        );
        assert!(Cli::try_parse_from(["cartclick", "top", "--dimension", "campaign"]).is_ok());
    }

    #[test]
    fn a_bad_from_is_refused_naming_the_flag_and_the_formats() {
        let error = Cli::try_parse_from([
            "cartclick",
            "counters",
            "--dimension",
            "campaign",
            "--id",
            "c-1",
            "--from",
            "2026-11",
        ])
        .unwrap_err()
        .to_string();
        assert!(error.contains("--from"), "{error}");
        assert!(
            error.contains("2026-11-01") && error.contains("RFC 3339"),
            "{error}"
        );
    }
}
