//! `issue` and `confirm`: a tap as a feed reports it, and the sale a shop
//! confirms with its token, for trying the service by hand.

use clap::ValueEnum;

use super::client::{ClientArgs, answer, authorized, channel, signals_text, time_text};
use super::table;
use crate::proto;

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
    #[arg(long)]
    amount_minor: i64,
    /// ISO 4217 currency code.
    #[arg(long)]
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
    let mut rpc = proto::click_service_client::ClickServiceClient::new(channel(&client).await?);
    let response = answer(rpc.issue_token(authorized(&client, request)?).await)?;
    table::print(table::fields([
        ("token", response.token),
        ("redirect_url", response.redirect_url),
        ("click_id", response.click_id),
        ("expires_at", time_text(response.expires_at)),
        ("deduplicated", response.deduplicated.to_string()),
        ("signals", signals_text(&response.signals)),
    ]));
    Ok(())
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
    let mut rpc = proto::sale_service_client::SaleServiceClient::new(channel(&client).await?);
    let response = answer(rpc.confirm_sale(authorized(&client, request)?).await)?;
    table::print(table::fields([
        ("click_id", response.click_id),
        ("campaign_id", response.campaign_id),
        ("creator_id", response.creator_id),
        ("video_id", response.video_id),
        ("product_id", response.product_id),
        ("clicked_at", time_text(response.clicked_at)),
        ("confirmed_at", time_text(response.confirmed_at)),
        ("replayed", response.replayed.to_string()),
        ("signals", signals_text(&response.signals)),
    ]));
    Ok(())
}
