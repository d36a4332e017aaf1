//! `admin`: the operator commands over gRPC (AdminService), for merchants,
//! campaigns and their review, API keys, and erasing a viewer; they need an
//! admin key (a dashboard key lists merchants and campaigns, a merchant key
//! its own campaigns). The `list` commands walk every page.

use std::collections::HashSet;

use clap::{Subcommand, ValueEnum};

use super::client::{ClientArgs, Flags};
use super::{output, table};
use crate::proto;

/// `admin merchant put|get`'s flags by the fields they set.
const MERCHANT_FLAGS: Flags = &[
    ("merchant.merchant_id", "--id"),
    ("merchant.display_name", "--name"),
    ("merchant.allowed_domains", "--domain"),
    ("merchant.token_param", "--token-param"),
    ("merchant_id", "--id"),
];

/// `admin campaign put|get|review`'s flags by the fields they set.
const CAMPAIGN_FLAGS: Flags = &[
    ("campaign.campaign_id", "--id"),
    ("campaign.merchant_id", "--merchant"),
    ("campaign.category", "--category"),
    ("campaign.attribution_window", "--window-hours"),
    ("campaign.product_ids", "--product"),
    ("campaign.commission_rate_bps", "--commission-rate-bps"),
    ("campaign.holding_period", "--holding-days"),
    ("campaign_id", "--id"),
    ("decision", "--decision"),
    ("reason", "--reason"),
];

/// `admin key create|revoke`'s flags by the fields they set.
const KEY_FLAGS: Flags = &[
    ("role", "--role"),
    ("merchant_id", "--merchant"),
    ("label", "--label"),
    ("key_id", "--id"),
];

/// `admin viewer erase`'s flags by the fields they set.
const VIEWER_FLAGS: Flags = &[("viewer_id", "--viewer")];
/// The list commands' flags, by the request fields they fill.
const LIST_FLAGS: Flags = &[
    ("merchant_id", "--merchant"),
    ("status", "--status"),
    ("role", "--role"),
];

/// `cartclick admin`: the server and key, and what to manage.
#[derive(Debug, clap::Args)]
pub(crate) struct AdminArgs {
    /// Server and key (an admin key).
    #[command(flatten)]
    client: ClientArgs,
    /// What to manage.
    #[command(subcommand)]
    command: AdminCommand,
}

/// What `cartclick admin` manages.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Merchants: webshops and their registered domains.
    Merchant {
        /// put, get or list.
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// Campaigns and their review.
    Campaign {
        /// put, get, review or list.
        #[command(subcommand)]
        command: CampaignCommand,
    },
    /// API keys.
    Key {
        /// create, revoke or list.
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Viewers: erasing every link from stored data to one.
    Viewer {
        /// erase.
        #[command(subcommand)]
        command: ViewerCommand,
    },
}

/// `cartclick admin viewer …`
#[derive(Debug, Subcommand)]
pub(crate) enum ViewerCommand {
    /// Remove every link from stored data to a viewer (clicks keep counting
    /// in the figures, unlinked); prints how many clicks were unlinked.
    Erase {
        /// The viewer's id, as the feed reported it.
        #[arg(long)]
        viewer: String,
    },
}

/// `cartclick admin merchant …`
#[derive(Debug, Subcommand)]
pub(crate) enum MerchantCommand {
    /// Create or replace a merchant.
    Put {
        /// The merchant's id.
        #[arg(long)]
        id: String,
        /// Name shown on dashboards.
        #[arg(long, default_value = "")]
        name: String,
        /// A registered domain (repeat for more); subdomains are allowed too.
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
        /// The query parameter that carries the token [default: cc].
        #[arg(long, default_value = "")]
        token_param: String,
    },
    /// Show a merchant.
    Get {
        /// The merchant's id.
        #[arg(long)]
        id: String,
    },
    /// List every merchant, by id.
    List,
}

/// `cartclick admin campaign …`
#[derive(Debug, Subcommand)]
pub(crate) enum CampaignCommand {
    /// Create or update a campaign (new or changed campaigns wait for review).
    Put {
        /// The campaign's id.
        #[arg(long)]
        id: String,
        /// The merchant that pays for it.
        #[arg(long)]
        merchant: String,
        /// The product category.
        #[arg(long)]
        category: String,
        /// Attribution window in hours, 1 to 720 [default: 168, 7 days].
        #[arg(long)]
        window_hours: Option<u32>,
        /// A product in the campaign (repeat for more); none means any.
        #[arg(long = "product")]
        products: Vec<String>,
        /// The creator's commission in basis points, 0 to 10000 (1000 = 10 %)
        /// [default: 0, no commission].
        #[arg(long)]
        commission_rate_bps: Option<u32>,
        /// Days a commission is held before it may be paid, 0 to 90
        /// [default: 30].
        #[arg(long)]
        holding_days: Option<u32>,
    },
    /// Show a campaign and its review status.
    Get {
        /// The campaign's id.
        #[arg(long)]
        id: String,
    },
    /// Approve, reject or pause a campaign.
    Review {
        /// The campaign's id.
        #[arg(long)]
        id: String,
        /// The decision.
        #[arg(long, value_enum)]
        decision: DecisionArg,
        /// Why: kept with the campaign.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// List campaigns by id: every merchant's, or one's.
    List {
        /// Only this merchant's (a merchant key: its own).
        #[arg(long)]
        merchant: Option<String>,
        /// Only those in this review status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
    },
}

/// `cartclick admin key …`
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Create an API key; its secret is printed once.
    Create {
        /// The key's role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The merchant a merchant key acts for.
        #[arg(long)]
        merchant: Option<String>,
        /// Who holds the key.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke an API key.
    Revoke {
        /// The key's id.
        #[arg(long)]
        id: String,
    },
    /// List API keys by id (the config file's and made ones; never a secret).
    List {
        /// Only keys of this role.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Only the keys bound to this merchant.
        #[arg(long)]
        merchant: Option<String>,
    },
}

/// A campaign review status on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StatusArg {
    /// Waiting for review.
    Pending,
    /// Issues tokens.
    Approved,
    /// Refused.
    Rejected,
    /// Stopped until approved again.
    Paused,
}

/// A review decision on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DecisionArg {
    /// The campaign may issue tokens.
    Approve,
    /// The campaign may not issue tokens.
    Reject,
    /// The campaign stops issuing tokens until approved again.
    Pause,
}

/// A key role on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    /// Feed services.
    Feed,
    /// A merchant's shop (needs --merchant).
    Merchant,
    /// Dashboards.
    Dashboard,
    /// Operators.
    Admin,
}

impl RoleArg {
    /// The role on the wire.
    fn proto(self) -> proto::Role {
        match self {
            RoleArg::Feed => proto::Role::Feed,
            RoleArg::Merchant => proto::Role::Merchant,
            RoleArg::Dashboard => proto::Role::Dashboard,
            RoleArg::Admin => proto::Role::Admin,
        }
    }
}

/// Every page of a listing: `fetch` asks for the page at a token (empty for
/// the first), `next` reads the page's next token, until one is empty. A
/// server that answered the same token twice would never end the walk, so
/// that stops it with an error.
async fn every_page<R, F, Fut>(next: impl Fn(&R) -> &str, mut fetch: F) -> Result<Vec<R>, String>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<R, String>>,
{
    let mut pages = Vec::new();
    let mut seen = HashSet::new();
    let mut token = String::new();
    loop {
        let page = fetch(token).await?;
        let after = next(&page).to_owned();
        pages.push(page);
        if after.is_empty() {
            return Ok(pages);
        }
        if !seen.insert(after.clone()) {
            return Err("the server answered the same page token twice".into());
        }
        token = after;
    }
}

/// An enum's name on the wire without its prefix, lower case
/// (`CAMPAIGN_STATUS_APPROVED` as `approved`).
fn short_name(name: &str, prefix: &str) -> String {
    name.trim_start_matches(prefix).to_ascii_lowercase()
}

/// Merchants, one a row.
fn print_merchants(merchants: Vec<proto::Merchant>) {
    let mut rows = table::table(&[
        "merchant_id",
        "display_name",
        "allowed_domains",
        "token_param",
    ]);
    for merchant in merchants {
        rows.add_row(vec![
            merchant.merchant_id,
            merchant.display_name,
            merchant.allowed_domains.join(","),
            merchant.token_param,
        ]);
    }
    table::print(rows);
}

/// Campaigns, one a row.
fn print_campaigns(campaigns: Vec<proto::Campaign>) {
    let mut rows = table::table(&[
        "campaign_id",
        "merchant_id",
        "category",
        "status",
        "commission_rate_bps",
        "products",
    ]);
    for campaign in campaigns {
        let status = short_name(campaign.status().as_str_name(), "CAMPAIGN_STATUS_");
        let products = if campaign.product_ids.is_empty() {
            "(any)".to_owned()
        } else {
            campaign.product_ids.join(",")
        };
        rows.add_row(vec![
            campaign.campaign_id,
            campaign.merchant_id,
            campaign.category,
            status,
            campaign.commission_rate_bps.to_string(),
            products,
        ]);
    }
    table::align_right(&mut rows, &[4]);
    table::print(rows);
}

/// API keys, one a row: never a secret (the server sends none).
fn print_keys(keys: Vec<proto::ApiKeyInfo>) {
    let mut rows = table::table(&[
        "key_id",
        "role",
        "merchant_id",
        "label",
        "created_at",
        "revoked",
        "source",
    ]);
    for key in keys {
        let role = short_name(key.role().as_str_name(), "ROLE_");
        let created_at = key
            .created_at
            .and_then(|at| chrono::DateTime::from_timestamp(at.seconds, 0))
            .map_or_else(
                || "-".to_owned(),
                |at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            );
        rows.add_row(vec![
            key.key_id,
            role,
            key.merchant_id,
            key.label,
            created_at,
            if key.revoked { "yes" } else { "no" }.to_owned(),
            if key.from_config { "config" } else { "stored" }.to_owned(),
        ]);
    }
    table::print(rows);
}

/// A merchant as `name value` lines.
fn print_merchant(merchant: Option<&proto::Merchant>) {
    let merchant = merchant.cloned().unwrap_or_default();
    table::print(table::fields([
        ("merchant_id", merchant.merchant_id),
        ("display_name", merchant.display_name),
        ("allowed_domains", merchant.allowed_domains.join(", ")),
        ("token_param", merchant.token_param),
    ]));
}

/// A campaign and its review as `name value` lines.
fn print_campaign(campaign: Option<&proto::Campaign>) {
    let campaign = campaign.cloned().unwrap_or_default();
    let window = campaign.attribution_window.map_or(0, |d| d.seconds / 3600);
    let holding = campaign.holding_period.map_or(0, |d| d.seconds / 86_400);
    let products = if campaign.product_ids.is_empty() {
        "(any)".to_owned()
    } else {
        campaign.product_ids.join(", ")
    };
    let status = campaign.status().as_str_name();
    table::print(table::fields([
        ("campaign_id", campaign.campaign_id),
        ("merchant_id", campaign.merchant_id),
        ("category", campaign.category),
        ("attribution_window", format!("{window} hours")),
        ("product_ids", products),
        (
            "commission_rate_bps",
            campaign.commission_rate_bps.to_string(),
        ),
        ("holding_period", format!("{holding} days")),
        (
            "status",
            status.trim_start_matches("CAMPAIGN_STATUS_").to_owned(),
        ),
        ("review_reason", campaign.review_reason),
    ]));
}

/// Runs one admin command and prints what the server answered.
pub(super) async fn admin(args: AdminArgs) -> Result<(), String> {
    let AdminArgs { client, command } = args;
    let mut rpc = proto::admin_service_client::AdminServiceClient::new(client.channel().await?);
    let format = client.output;
    match command {
        AdminCommand::Merchant {
            command:
                MerchantCommand::Put {
                    id,
                    name,
                    domains,
                    token_param,
                },
        } => {
            let merchant = proto::Merchant {
                merchant_id: id,
                display_name: name,
                allowed_domains: domains,
                token_param,
            };
            let request = proto::PutMerchantRequest {
                merchant: Some(merchant),
            };
            let response = client.answer(
                rpc.put_merchant(client.authorized(request)?).await,
                MERCHANT_FLAGS,
            )?;
            output::print(format, &response, |r| print_merchant(r.merchant.as_ref()))?;
        }
        AdminCommand::Merchant {
            command: MerchantCommand::Get { id },
        } => {
            let request = proto::GetMerchantRequest { merchant_id: id };
            let response = client.answer(
                rpc.get_merchant(client.authorized(request)?).await,
                MERCHANT_FLAGS,
            )?;
            output::print(format, &response, |r| print_merchant(r.merchant.as_ref()))?;
        }
        AdminCommand::Campaign {
            command:
                CampaignCommand::Put {
                    id,
                    merchant,
                    category,
                    window_hours,
                    products,
                    commission_rate_bps,
                    holding_days,
                },
        } => {
            let campaign = proto::Campaign {
                campaign_id: id,
                merchant_id: merchant,
                category,
                attribution_window: window_hours.map(|hours| prost_types::Duration {
                    seconds: i64::from(hours) * 3600,
                    nanos: 0,
                }),
                product_ids: products,
                commission_rate_bps: commission_rate_bps.unwrap_or(0),
                holding_period: holding_days.map(|days| prost_types::Duration {
                    seconds: i64::from(days) * 86_400,
                    nanos: 0,
                }),
                ..proto::Campaign::default()
            };
            let request = proto::PutCampaignRequest {
                campaign: Some(campaign),
            };
            let response = client.answer(
                rpc.put_campaign(client.authorized(request)?).await,
                CAMPAIGN_FLAGS,
            )?;
            output::print(format, &response, |r| print_campaign(r.campaign.as_ref()))?;
        }
        AdminCommand::Campaign {
            command: CampaignCommand::Get { id },
        } => {
            let request = proto::GetCampaignRequest { campaign_id: id };
            let response = client.answer(
                rpc.get_campaign(client.authorized(request)?).await,
                CAMPAIGN_FLAGS,
            )?;
            output::print(format, &response, |r| print_campaign(r.campaign.as_ref()))?;
        }
        AdminCommand::Campaign {
            command:
                CampaignCommand::Review {
                    id,
                    decision,
                    reason,
                },
        } => {
            let decision = match decision {
                DecisionArg::Approve => proto::ReviewDecision::Approve,
                DecisionArg::Reject => proto::ReviewDecision::Reject,
                DecisionArg::Pause => proto::ReviewDecision::Pause,
            };
            let request = proto::ReviewCampaignRequest {
                campaign_id: id,
                decision: decision.into(),
                reason,
            };
            let response = client.answer(
                rpc.review_campaign(client.authorized(request)?).await,
                CAMPAIGN_FLAGS,
            )?;
            output::print(format, &response, |r| print_campaign(r.campaign.as_ref()))?;
        }
        AdminCommand::Key {
            command:
                KeyCommand::Create {
                    role,
                    merchant,
                    label,
                },
        } => {
            let request = proto::CreateApiKeyRequest {
                role: role.proto().into(),
                merchant_id: merchant.unwrap_or_default(),
                label,
            };
            let key = client.answer(
                rpc.create_api_key(client.authorized(request)?).await,
                KEY_FLAGS,
            )?;
            output::print(format, &key, |k| {
                table::print(table::fields([
                    ("key_id", k.key_id.clone()),
                    ("secret", k.secret.clone()),
                ]));
            })?;
            eprintln!("the secret is shown once: store it now");
        }
        AdminCommand::Key {
            command: KeyCommand::Revoke { id },
        } => {
            let request = proto::RevokeApiKeyRequest { key_id: id.clone() };
            let response = client.answer(
                rpc.revoke_api_key(client.authorized(request)?).await,
                KEY_FLAGS,
            )?;
            output::print(format, &response, |_| println!("revoked {id}"))?;
        }
        AdminCommand::Viewer {
            command: ViewerCommand::Erase { viewer },
        } => {
            let request = proto::EraseViewerRequest { viewer_id: viewer };
            let response = client.answer(
                rpc.erase_viewer(client.authorized(request)?).await,
                VIEWER_FLAGS,
            )?;
            output::print(format, &response, |r| {
                table::print(table::fields([(
                    "clicks_erased",
                    r.clicks_erased.to_string(),
                )]));
            })?;
        }
        AdminCommand::Merchant {
            command: MerchantCommand::List,
        } => {
            let pages = every_page(
                |page: &proto::ListMerchantsResponse| &page.next_page_token,
                |page_token| {
                    let mut rpc = rpc.clone();
                    let request = client.authorized(proto::ListMerchantsRequest {
                        page_size: 1000,
                        page_token,
                    });
                    let client = &client;
                    async move { client.answer(rpc.list_merchants(request?).await, LIST_FLAGS) }
                },
            )
            .await?;
            output::print_pages(format, &pages, |pages| {
                print_merchants(pages.iter().flat_map(|p| p.merchants.clone()).collect());
            })?;
        }
        AdminCommand::Campaign {
            command: CampaignCommand::List { merchant, status },
        } => {
            let status = status.map_or(proto::CampaignStatus::Unspecified, |status| match status {
                StatusArg::Pending => proto::CampaignStatus::Pending,
                StatusArg::Approved => proto::CampaignStatus::Approved,
                StatusArg::Rejected => proto::CampaignStatus::Rejected,
                StatusArg::Paused => proto::CampaignStatus::Paused,
            });
            let pages = every_page(
                |page: &proto::ListCampaignsResponse| &page.next_page_token,
                |page_token| {
                    let mut rpc = rpc.clone();
                    let request = client.authorized(proto::ListCampaignsRequest {
                        merchant_id: merchant.clone().unwrap_or_default(),
                        status: status.into(),
                        page_size: 1000,
                        page_token,
                    });
                    let client = &client;
                    async move { client.answer(rpc.list_campaigns(request?).await, LIST_FLAGS) }
                },
            )
            .await?;
            output::print_pages(format, &pages, |pages| {
                print_campaigns(pages.iter().flat_map(|p| p.campaigns.clone()).collect());
            })?;
        }
        AdminCommand::Key {
            command: KeyCommand::List { role, merchant },
        } => {
            let role = role.map_or(proto::Role::Unspecified, RoleArg::proto);
            let pages = every_page(
                |page: &proto::ListApiKeysResponse| &page.next_page_token,
                |page_token| {
                    let mut rpc = rpc.clone();
                    let request = client.authorized(proto::ListApiKeysRequest {
                        role: role.into(),
                        merchant_id: merchant.clone().unwrap_or_default(),
                        page_size: 1000,
                        page_token,
                    });
                    let client = &client;
                    async move { client.answer(rpc.list_api_keys(request?).await, LIST_FLAGS) }
                },
            )
            .await?;
            output::print_pages(format, &pages, |pages| {
                print_keys(pages.iter().flat_map(|p| p.api_keys.clone()).collect());
            })?;
        }
    }
    Ok(())
}
