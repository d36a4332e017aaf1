//! `issue`, `confirm` and `reverse`: a tap as a feed reports it, the sale a
//! shop confirms with its token, and its refund, for trying the service by
//! hand.

use clap::ValueEnum;

use super::client::{ClientArgs, Flags, signals_text, time_text};
use super::{flags, output, table};
use crate::proto;
use crate::proto::sale_service_client::SaleServiceClient;

/// The flags of `issue` by the fields they set.
const ISSUE_FLAGS: Flags = &[
    ("viewer_id", "--viewer"),
    ("video_id", "--video"),
    ("creator_id", "--creator"),
    ("campaign_id", "--campaign"),
    ("product_id", "--product"),
    ("landing_url", "--landing-url"),
    ("age_bracket", "--age"),
];

/// The flags of `confirm` and `reverse` by the fields they set.
const SALE_FLAGS: Flags = &[
    ("token", "--token"),
    ("order_id", "--order"),
    ("reversal_id", "--reversal"),
    ("amount.currency_code", "--currency"),
    ("currency_code", "--currency"),
    ("amount.amount_minor", "--amount-minor"),
    ("amount_minor", "--amount-minor"),
];

/// `cartclick issue`: the flags of a tap.
#[derive(Debug, clap::Args)]
pub(crate) struct IssueArgs {
    /// Server and key.
    #[command(flatten)]
    client: ClientArgs,
    /// The campaign of the cart.
    #[arg(long)]
    campaign: String,
    /// The product in the cart.
    #[arg(long)]
    product: String,
    /// The video tapped on.
    #[arg(long)]
    video: String,
    /// The video's creator.
    #[arg(long)]
    creator: String,
    /// The viewer (hashed by the server, never stored as given).
    #[arg(long)]
    viewer: String,
    /// The merchant landing page (https on a registered domain).
    #[arg(long)]
    landing_url: String,
    /// The viewer's age bracket.
    #[arg(long, value_enum, default_value_t = Age::Adult)]
    age: Age,
}

/// `cartclick confirm`: the flags of a sale.
#[derive(Debug, clap::Args)]
pub(crate) struct ConfirmArgs {
    /// Server and key (a merchant key).
    #[command(flatten)]
    client: ClientArgs,
    /// The token from the landing URL.
    #[arg(long)]
    token: String,
    /// The shop's order id (idempotency key).
    #[arg(long)]
    order: String,
    /// Amount in minor units (øre, cents): 12500 is 125.00.
    #[arg(long, allow_negative_numbers = true)]
    amount_minor: i64,
    /// ISO 4217 currency code, e.g. DKK (upper-cased).
    #[arg(long, value_parser = flags::currency)]
    currency: String,
}

/// `cartclick reverse`: the flags of a refund.
#[derive(Debug, clap::Args)]
pub(crate) struct ReverseArgs {
    /// Server and key (a merchant key).
    #[command(flatten)]
    client: ClientArgs,
    /// The order refunded, as confirmed.
    #[arg(long)]
    order: String,
    /// The refund's id (idempotency key).
    #[arg(long)]
    reversal: String,
    /// Amount refunded in minor units: a full or partial refund.
    #[arg(long, allow_negative_numbers = true)]
    amount_minor: i64,
    /// ISO 4217 currency code of the sale, e.g. DKK (upper-cased).
    #[arg(long, value_parser = flags::currency)]
    currency: String,
}

/// A viewer's age bracket on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Age {
    /// Age not known.
    Unknown,
    /// Under 13.
    Under13,
    /// 13 to 17.
    Teen,
    /// 18 or older.
    Adult,
}

/// Reports the tap and prints the token, redirect URL and click.
pub(super) async fn issue(args: IssueArgs) -> Result<(), String> {
    let IssueArgs {
        client,
        campaign,
        product,
        video,
        creator,
        viewer,
        landing_url,
        age,
    } = args;
    let request = proto::IssueTokenRequest {
        viewer_id: viewer,
        video_id: video,
        creator_id: creator,
        campaign_id: campaign,
        product_id: product,
        landing_url,
        age_bracket: match age {
            Age::Unknown => proto::AgeBracket::Unspecified,
            Age::Under13 => proto::AgeBracket::Under13,
            Age::Teen => proto::AgeBracket::AgeBracket13To17,
            Age::Adult => proto::AgeBracket::AgeBracket18Plus,
        }
        .into(),
    };
    let mut rpc = proto::click_service_client::ClickServiceClient::new(client.channel().await?);
    let response = client.answer(
        rpc.issue_token(client.authorized(request)?).await,
        ISSUE_FLAGS,
    )?;
    output::print(client.output, &response, |r| {
        table::print(table::fields([
            ("token", r.token.clone()),
            ("redirect_url", r.redirect_url.clone()),
            ("click_id", r.click_id.clone()),
            ("expires_at", time_text(r.expires_at)),
            ("deduplicated", r.deduplicated.to_string()),
            ("signals", signals_text(&r.signals)),
        ]));
    })
}

/// Confirms the sale and prints what it was attributed to.
pub(super) async fn confirm(args: ConfirmArgs) -> Result<(), String> {
    let ConfirmArgs {
        client,
        token,
        order,
        amount_minor,
        currency,
    } = args;
    let request = proto::ConfirmSaleRequest {
        token,
        order_id: order,
        amount: Some(proto::Money {
            currency_code: currency,
            amount_minor,
        }),
    };
    let mut rpc = SaleServiceClient::new(client.channel().await?);
    let response = client.answer(
        rpc.confirm_sale(client.authorized(request)?).await,
        SALE_FLAGS,
    )?;
    output::print(client.output, &response, |r| {
        table::print(table::fields([
            ("click_id", r.click_id.clone()),
            ("campaign_id", r.campaign_id.clone()),
            ("creator_id", r.creator_id.clone()),
            ("video_id", r.video_id.clone()),
            ("product_id", r.product_id.clone()),
            ("clicked_at", time_text(r.clicked_at)),
            ("confirmed_at", time_text(r.confirmed_at)),
            ("commission", table::money_of(r.commission.as_ref())),
            ("replayed", r.replayed.to_string()),
            ("signals", signals_text(&r.signals)),
        ]));
    })
}

/// Refunds a sale, in full or in part, and prints what remains of it and
/// of its commission.
pub(super) async fn reverse(args: ReverseArgs) -> Result<(), String> {
    let ReverseArgs {
        client,
        order,
        reversal,
        amount_minor,
        currency,
    } = args;
    let request = proto::ReverseSaleRequest {
        order_id: order,
        reversal_id: reversal,
        amount: Some(proto::Money {
            currency_code: currency,
            amount_minor,
        }),
    };
    let mut rpc = SaleServiceClient::new(client.channel().await?);
    let response = client.answer(
        rpc.reverse_sale(client.authorized(request)?).await,
        SALE_FLAGS,
    )?;
    output::print(client.output, &response, |r| {
        table::print(table::fields([
            ("remaining", table::money_of(r.remaining.as_ref())),
            (
                "commission_remaining",
                table::money_of(r.commission_remaining.as_ref()),
            ),
            ("replayed", r.replayed.to_string()),
        ]));
    })
}
