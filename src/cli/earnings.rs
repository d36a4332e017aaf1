//! `earnings`, `commissions`, `commission review`, `payout create` and
//! `payouts`: what creators earned, the review of what a fraud signal
//! holds, and how it was paid (EarningsService), as tables. Amounts are
//! printed as every table prints money (`1250 (12.50 DKK)`); the lists walk
//! their pages one at a time, or to the end with `--all` (with `--output
//! json`, a line a page).

use std::future::Future;

use chrono::{DateTime, SecondsFormat};
use clap::{Subcommand, ValueEnum};
use tonic::transport::Channel;

use super::client::{ClientArgs, Flags, signals_text, time_text};
use super::{flags, output, table};
use crate::proto;
use crate::proto::earnings_service_client::EarningsServiceClient;

/// The flags of the earnings commands by the fields they set (`--id` is
/// `payout create`'s payout id; `commissions` calls it `--payout`).
const EARNINGS_FLAGS: Flags = &[
    ("creator_id", "--creator"),
    ("merchant_id", "--merchant"),
    ("status", "--status"),
    ("currency_code", "--currency"),
    ("order_id", "--order"),
    ("decision", "--release/--void"),
    ("reason", "--reason"),
    ("page_size", "--page-size"),
    ("page_token", "--page-token"),
];

/// `payout create`'s flags: the payout's id is `--id`.
const PAYOUT_FLAGS: Flags = &[
    ("payout_id", "--id"),
    ("creator_id", "--creator"),
    ("merchant_id", "--merchant"),
    ("currency_code", "--currency"),
];

/// `commissions`' flags: a payout statement's payout is `--payout`.
const COMMISSIONS_FLAGS: Flags = &[
    ("payout_id", "--payout"),
    ("creator_id", "--creator"),
    ("merchant_id", "--merchant"),
    ("status", "--status"),
    ("page_size", "--page-size"),
    ("page_token", "--page-token"),
];

/// `cartclick earnings`: whose balances.
#[derive(Debug, clap::Args)]
pub(crate) struct EarningsArgs {
    /// Server and key (a dashboard, merchant or admin key).
    #[command(flatten)]
    client: ClientArgs,
    /// The creator.
    #[arg(long)]
    creator: String,
    /// One merchant's balances only [default: every merchant the key reads].
    #[arg(long)]
    merchant: Option<String>,
}

/// Which page to start from and how far to walk: what every list command
/// shares.
#[derive(Debug, clap::Args)]
pub(crate) struct PageArgs {
    /// Items a page, 1 to 1000 [default: 50].
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=1000))]
    page_size: Option<i32>,
    /// Start from this page (a `next_page_token` printed before).
    #[arg(long)]
    page_token: Option<String>,
    /// Follow the page tokens to the last page and print every item.
    #[arg(long)]
    all: bool,
}

/// `cartclick commissions`: which commissions.
#[derive(Debug, clap::Args)]
pub(crate) struct CommissionsArgs {
    /// Server and key (a dashboard, merchant or admin key).
    #[command(flatten)]
    client: ClientArgs,
    /// The creator (at least one of --creator and --merchant).
    #[arg(long)]
    creator: Option<String>,
    /// The merchant [default: a merchant key's own].
    #[arg(long)]
    merchant: Option<String>,
    /// Only commissions in this status [default: every status].
    #[arg(long, value_enum)]
    status: Option<StatusArg>,
    /// Only the commissions this payout paid (a payout statement).
    #[arg(long)]
    payout: Option<String>,
    /// Paging.
    #[command(flatten)]
    page: PageArgs,
}

/// `cartclick payouts`: which payouts.
#[derive(Debug, clap::Args)]
pub(crate) struct PayoutsArgs {
    /// Server and key (a dashboard, merchant or admin key).
    #[command(flatten)]
    client: ClientArgs,
    /// The creator (at least one of --creator and --merchant).
    #[arg(long)]
    creator: Option<String>,
    /// The merchant [default: a merchant key's own].
    #[arg(long)]
    merchant: Option<String>,
    /// Paging.
    #[command(flatten)]
    page: PageArgs,
}

/// `cartclick payout …`
#[derive(Debug, Subcommand)]
pub(crate) enum PayoutCommand {
    /// Pay a creator's payable commissions with one merchant in one currency,
    /// less the outstanding clawback; repeating the same --id pays nothing
    /// again.
    Create(PayoutCreateArgs),
}

/// `cartclick payout create`: the payout to make.
#[derive(Debug, clap::Args)]
pub(crate) struct PayoutCreateArgs {
    /// Server and key (a merchant key, or an admin key with --merchant).
    #[command(flatten)]
    client: ClientArgs,
    /// The payout's id: the idempotency key, unique per merchant.
    #[arg(long)]
    id: String,
    /// The creator paid.
    #[arg(long)]
    creator: String,
    /// The currency paid in, e.g. DKK (upper-cased).
    #[arg(long, value_parser = flags::currency)]
    currency: String,
    /// The merchant that pays [default: a merchant key's own].
    #[arg(long)]
    merchant: Option<String>,
}

/// `cartclick commission …`
#[derive(Debug, Subcommand)]
pub(crate) enum CommissionCommand {
    /// Release or void a commission a fraud signal holds (an admin's
    /// review); a commission not held is refused.
    Review(CommissionReviewArgs),
}

/// `cartclick commission review`: the commission and the decision.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("decision").required(true).args(["release", "void"])))]
pub(crate) struct CommissionReviewArgs {
    /// Server and key (an admin key).
    #[command(flatten)]
    client: ClientArgs,
    /// The merchant whose sale earned it.
    #[arg(long)]
    merchant: String,
    /// The order whose sale earned it.
    #[arg(long)]
    order: String,
    /// Let it be paid: PENDING or PAYABLE by its payable time.
    #[arg(long)]
    release: bool,
    /// Make it VOID: it earns nothing.
    #[arg(long)]
    void: bool,
    /// Why, kept with the commission.
    #[arg(long, default_value = "")]
    reason: String,
}

/// A commission status on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StatusArg {
    /// In the holding period.
    Pending,
    /// Past its holding period: the next payout pays it.
    Payable,
    /// Held by a fraud signal until reviewed.
    Held,
    /// Paid by a payout.
    Paid,
    /// Reversed to zero, or voided on review.
    Void,
}

/// The contract's status for the flag's.
fn status_proto(status: StatusArg) -> proto::CommissionStatus {
    match status {
        StatusArg::Pending => proto::CommissionStatus::Pending,
        StatusArg::Payable => proto::CommissionStatus::Payable,
        StatusArg::Held => proto::CommissionStatus::Held,
        StatusArg::Paid => proto::CommissionStatus::Paid,
        StatusArg::Void => proto::CommissionStatus::Void,
    }
}

/// A time in a table: UTC to the second (`2026-11-02T10:01:00Z`), which
/// keeps the column narrow; nothing when absent or out of range.
fn table_time(at: Option<prost_types::Timestamp>) -> String {
    at.and_then(|t| DateTime::from_timestamp(t.seconds, 0))
        .map_or_else(String::new, |t| {
            t.to_rfc3339_opts(SecondsFormat::Secs, true)
        })
}

/// A value, or `-` when empty, so every row has every column.
fn or_dash(value: String) -> String {
    if value.is_empty() {
        "-".to_owned()
    } else {
        value
    }
}

/// The page at `page.page_token`, or every page from there with `--all`.
/// `fetch` asks for the page at a token; `next` reads a page's
/// `next_page_token`. A server that answered the same token twice would
/// never end the walk, so that stops it with an error.
async fn walk<R, F, Fut>(
    page: &PageArgs,
    next: impl Fn(&R) -> &str,
    mut fetch: F,
) -> Result<Vec<R>, String>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<R, String>>,
{
    let mut pages = Vec::new();
    let mut token = page.page_token.clone().unwrap_or_default();
    loop {
        let response = fetch(token.clone()).await?;
        let after = next(&response).to_owned();
        pages.push(response);
        if !page.all || after.is_empty() {
            return Ok(pages);
        }
        if after == token {
            return Err(format!("the server repeated page token {after}"));
        }
        token = after;
    }
}

/// Prints the token of the next page, if there is one, as a
/// `next_page_token <token>` line a script can pick up.
fn print_next(next: &str) {
    if !next.is_empty() {
        println!("next_page_token  {next}");
    }
}

/// The EarningsService client over a new connection to the server.
async fn connect(client: &ClientArgs) -> Result<EarningsServiceClient<Channel>, String> {
    Ok(EarningsServiceClient::new(client.channel().await?))
}

/// Prints a creator's balances, one row per merchant and currency.
pub(super) async fn earnings(args: EarningsArgs) -> Result<(), String> {
    let EarningsArgs {
        client,
        creator,
        merchant,
    } = args;
    let request = proto::GetEarningsRequest {
        creator_id: creator,
        merchant_id: merchant.unwrap_or_default(),
    };
    let mut rpc = connect(&client).await?;
    let response = client.answer(
        rpc.get_earnings(client.authorized(request)?).await,
        EARNINGS_FLAGS,
    )?;
    output::print(client.output, &response, |r| {
        let mut out = table::table(&[
            "merchant", "currency", "pending", "payable", "held", "paid", "clawback",
        ]);
        for b in &r.balances {
            out.add_row(vec![
                b.merchant_id.clone(),
                b.currency_code.clone(),
                table::money_of(b.pending.as_ref()),
                table::money_of(b.payable.as_ref()),
                table::money_of(b.held.as_ref()),
                table::money_of(b.paid.as_ref()),
                table::money_of(b.clawback.as_ref()),
            ]);
        }
        table::align_right(&mut out, &[2, 3, 4, 5, 6]);
        table::print(out);
        if r.balances.is_empty() {
            println!("(nothing earned)");
        }
    })
}

/// A commission's status without the enum's prefix (`PAYABLE`).
fn status_text(c: &proto::Commission) -> String {
    c.status()
        .as_str_name()
        .trim_start_matches("COMMISSION_STATUS_")
        .to_owned()
}

/// Prints a page of commissions, or every page with `--all`.
pub(super) async fn commissions(args: CommissionsArgs) -> Result<(), String> {
    let CommissionsArgs {
        client,
        creator,
        merchant,
        status,
        payout,
        page,
    } = args;
    let rpc = connect(&client).await?;
    let request = proto::ListCommissionsRequest {
        creator_id: creator.unwrap_or_default(),
        merchant_id: merchant.unwrap_or_default(),
        status: status.map_or(proto::CommissionStatus::Unspecified, status_proto) as i32,
        payout_id: payout.unwrap_or_default(),
        page_size: page.page_size.unwrap_or(0),
        page_token: String::new(),
    };
    let pages = walk(
        &page,
        |r: &proto::ListCommissionsResponse| &r.next_page_token,
        |page_token| {
            let mut rpc = rpc.clone();
            let request = client.authorized(proto::ListCommissionsRequest {
                page_token,
                ..request.clone()
            });
            let client = &client;
            async move { client.answer(rpc.list_commissions(request?).await, COMMISSIONS_FLAGS) }
        },
    )
    .await?;
    output::print_pages(client.output, &pages, |pages| {
        let mut out = table::table(&[
            "confirmed_at",
            "merchant",
            "order",
            "creator",
            "campaign",
            "sale_amount",
            "commission",
            "status",
            "payable_at",
            "payout",
            "signals",
        ]);
        let items: Vec<&proto::Commission> = pages.iter().flat_map(|p| &p.commissions).collect();
        for c in &items {
            out.add_row(vec![
                table_time(c.confirmed_at),
                c.merchant_id.clone(),
                c.order_id.clone(),
                c.creator_id.clone(),
                c.campaign_id.clone(),
                table::money_of(c.sale_amount.as_ref()),
                table::money_of(c.commission.as_ref()),
                status_text(c),
                table_time(c.payable_at),
                or_dash(c.payout_id.clone()),
                signals_text(&c.signals),
            ]);
        }
        table::print(out);
        if items.is_empty() {
            println!("(no commissions)");
        }
        print_next(pages.last().map_or("", |p| &p.next_page_token));
    })
}

/// Reviews a held commission and prints it as it then stands.
pub(super) async fn commission(command: CommissionCommand) -> Result<(), String> {
    let CommissionCommand::Review(CommissionReviewArgs {
        client,
        merchant,
        order,
        release,
        void: _,
        reason,
    }) = command;
    // clap lets exactly one of --release and --void through.
    let decision = if release {
        proto::CommissionDecision::Release
    } else {
        proto::CommissionDecision::Void
    };
    let request = proto::ReviewCommissionRequest {
        merchant_id: merchant,
        order_id: order,
        decision: decision as i32,
        reason,
    };
    let mut rpc = connect(&client).await?;
    let response = client.answer(
        rpc.review_commission(client.authorized(request)?).await,
        EARNINGS_FLAGS,
    )?;
    output::print(client.output, &response, |r| {
        let c = r.commission.clone().unwrap_or_default();
        let signals = c
            .signals()
            .map(|s| s.as_str_name().trim_start_matches("FRAUD_SIGNAL_"))
            .collect::<Vec<_>>()
            .join(" ");
        table::print(table::fields([
            ("merchant_id", c.merchant_id.clone()),
            ("order_id", c.order_id.clone()),
            ("creator_id", c.creator_id.clone()),
            ("commission", table::money_of(c.commission.as_ref())),
            ("status", status_text(&c)),
            ("payable_at", time_text(c.payable_at)),
            ("signals", or_dash(signals)),
            ("review_reason", or_dash(c.review_reason.clone())),
            ("reviewed_at", time_text(c.reviewed_at)),
        ]));
    })
}

/// Makes a payout and prints it, and whether it repeats one already made.
pub(super) async fn payout(command: PayoutCommand) -> Result<(), String> {
    let PayoutCommand::Create(PayoutCreateArgs {
        client,
        id,
        creator,
        currency,
        merchant,
    }) = command;
    let request = proto::CreatePayoutRequest {
        payout_id: id,
        merchant_id: merchant.unwrap_or_default(),
        creator_id: creator,
        currency_code: currency,
    };
    let mut rpc = connect(&client).await?;
    let response = client.answer(
        rpc.create_payout(client.authorized(request)?).await,
        PAYOUT_FLAGS,
    )?;
    output::print(client.output, &response, |r| {
        let payout = r.payout.clone().unwrap_or_default();
        table::print(table::fields([
            ("payout_id", payout.payout_id),
            ("merchant_id", payout.merchant_id),
            ("creator_id", payout.creator_id),
            ("amount", table::money_of(payout.amount.as_ref())),
            ("commissions", payout.commissions.to_string()),
            (
                "clawback_deducted",
                table::money_of(payout.clawback_deducted.as_ref()),
            ),
            ("created_at", time_text(payout.created_at)),
            ("replayed", r.replayed.to_string()),
        ]));
    })
}

/// Prints a page of payouts, or every page with `--all`.
pub(super) async fn payouts(args: PayoutsArgs) -> Result<(), String> {
    let PayoutsArgs {
        client,
        creator,
        merchant,
        page,
    } = args;
    let rpc = connect(&client).await?;
    let request = proto::ListPayoutsRequest {
        merchant_id: merchant.unwrap_or_default(),
        creator_id: creator.unwrap_or_default(),
        page_size: page.page_size.unwrap_or(0),
        page_token: String::new(),
    };
    let pages = walk(
        &page,
        |r: &proto::ListPayoutsResponse| &r.next_page_token,
        |page_token| {
            let mut rpc = rpc.clone();
            let request = client.authorized(proto::ListPayoutsRequest {
                page_token,
                ..request.clone()
            });
            let client = &client;
            async move { client.answer(rpc.list_payouts(request?).await, EARNINGS_FLAGS) }
        },
    )
    .await?;
    output::print_pages(client.output, &pages, |pages| {
        let mut out = table::table(&[
            "created_at",
            "payout",
            "merchant",
            "creator",
            "amount",
            "commissions",
            "clawback_deducted",
        ]);
        let items: Vec<&proto::Payout> = pages.iter().flat_map(|p| &p.payouts).collect();
        for p in &items {
            out.add_row(vec![
                table_time(p.created_at),
                p.payout_id.clone(),
                p.merchant_id.clone(),
                p.creator_id.clone(),
                table::money_of(p.amount.as_ref()),
                p.commissions.to_string(),
                table::money_of(p.clawback_deducted.as_ref()),
            ]);
        }
        table::align_right(&mut out, &[5]);
        table::print(out);
        if items.is_empty() {
            println!("(no payouts)");
        }
        print_next(pages.last().map_or("", |p| &p.next_page_token));
    })
}
