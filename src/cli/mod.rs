//! The binary's commands, one file a group:
//!
//! - `serve` (`serve`): runs the service; `--dev` seeds a demo first.
//! - `issue` and `confirm` (`tap`): a tap and its sale, as small gRPC
//!   clients for trying the service.
//! - `counters` and `top` (`counters`): counters and top lists, as tables.
//! - `earnings`, `commissions`, `commission review`, `payout create` and
//!   `payouts` (`earnings`): creators' balances, commissions, reviews of
//!   held commissions and payouts (EarningsService), as tables.
//! - `admin merchant|campaign|key` (`admin`): the operator commands over
//!   gRPC.
//! - `events tail` and `reconcile` (`store`): read the Redis store directly:
//!   a merchant's event stream, and a recount of its day against its
//!   counters.
//! - `bench` (`bench`): the load generator.
//!
//! `client` holds what the gRPC clients share (server, key, errors in one
//! line) and `table` how output is drawn.

mod admin;
mod bench;
mod client;
mod counters;
mod earnings;
mod serve;
mod store;
mod table;
mod tap;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) use admin::AdminArgs;
pub(crate) use counters::{CountersArgs, TopArgs};
pub(crate) use earnings::{
    CommissionCommand, CommissionsArgs, EarningsArgs, PayoutCommand, PayoutsArgs,
};
pub(crate) use serve::ServeCommand;
pub(crate) use store::{EventsCommand, ReconcileArgs};
pub(crate) use tap::{ConfirmArgs, IssueArgs};

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
        Command::Reconcile(args) => return store::reconcile(args).await,
        Command::Top(args) => counters::top(args).await,
        Command::Events { command } => store::events(command).await,
        Command::Bench(args) => bench::bench(args).await,
        Command::Admin(args) => admin::admin(args).await,
        Command::Counters(args) => counters::counters(args).await,
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
