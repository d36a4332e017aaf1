//! `admin`: the operator commands over gRPC (AdminService), for merchants,
//! campaigns and their review, and API keys; they need an admin key (a
//! dashboard key lists merchants and campaigns, a merchant key its own
//! campaigns). The `list` commands walk every page.

use std::collections::HashSet;

use clap::{Subcommand, ValueEnum};

use super::client::{ClientArgs, answer, authorized, channel};
use super::table;
use crate::proto;

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

/// Every item of a listing: `fetch` asks for the page at a token (empty
/// for the first) and answers its items and the next token, until one is
/// empty. A server that answered the same token twice would never end the
/// walk, so that stops it with an error.
async fn every_page<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, String>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, String), String>>,
{
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut token = String::new();
    loop {
        let (mut page, next) = fetch(token).await?;
        items.append(&mut page);
        if next.is_empty() {
            return Ok(items);
        }
        if !seen.insert(next.clone()) {
            return Err("the server answered the same page token twice".into());
        }
        token = next;
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
fn print_merchant(merchant: Option<proto::Merchant>) {
    let merchant = merchant.unwrap_or_default();
    table::print(table::fields([
        ("merchant_id", merchant.merchant_id),
        ("display_name", merchant.display_name),
        ("allowed_domains", merchant.allowed_domains.join(", ")),
        ("token_param", merchant.token_param),
    ]));
}

/// A campaign and its review as `name value` lines.
fn print_campaign(campaign: Option<proto::Campaign>) {
    let campaign = campaign.unwrap_or_default();
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
    let mut rpc = proto::admin_service_client::AdminServiceClient::new(channel(&client).await?);
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
            print_merchant(answer(rpc.put_merchant(authorized(&client, request)?).await)?.merchant);
        }
        AdminCommand::Merchant {
            command: MerchantCommand::Get { id },
        } => {
            let request = proto::GetMerchantRequest { merchant_id: id };
            print_merchant(answer(rpc.get_merchant(authorized(&client, request)?).await)?.merchant);
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
            print_campaign(answer(rpc.put_campaign(authorized(&client, request)?).await)?.campaign);
        }
        AdminCommand::Campaign {
            command: CampaignCommand::Get { id },
        } => {
            let request = proto::GetCampaignRequest { campaign_id: id };
            print_campaign(answer(rpc.get_campaign(authorized(&client, request)?).await)?.campaign);
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
            print_campaign(
                answer(rpc.review_campaign(authorized(&client, request)?).await)?.campaign,
            );
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
            let key = answer(rpc.create_api_key(authorized(&client, request)?).await)?;
            table::print(table::fields([
                ("key_id", key.key_id),
                ("secret", key.secret),
            ]));
            eprintln!("the secret is shown once: store it now");
        }
        AdminCommand::Key {
            command: KeyCommand::Revoke { id },
        } => {
            let request = proto::RevokeApiKeyRequest { key_id: id.clone() };
            answer(rpc.revoke_api_key(authorized(&client, request)?).await)?;
            println!("revoked {id}");
        }
        AdminCommand::Merchant {
            command: MerchantCommand::List,
        } => {
            let merchants = every_page(|page_token| {
                let mut rpc = rpc.clone();
                let request = authorized(
                    &client,
                    proto::ListMerchantsRequest {
                        page_size: 1000,
                        page_token,
                    },
                );
                async move {
                    let page = answer(rpc.list_merchants(request?).await)?;
                    Ok((page.merchants, page.next_page_token))
                }
            })
            .await?;
            print_merchants(merchants);
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
            let campaigns = every_page(|page_token| {
                let mut rpc = rpc.clone();
                let request = authorized(
                    &client,
                    proto::ListCampaignsRequest {
                        merchant_id: merchant.clone().unwrap_or_default(),
                        status: status.into(),
                        page_size: 1000,
                        page_token,
                    },
                );
                async move {
                    let page = answer(rpc.list_campaigns(request?).await)?;
                    Ok((page.campaigns, page.next_page_token))
                }
            })
            .await?;
            print_campaigns(campaigns);
        }
        AdminCommand::Key {
            command: KeyCommand::List { role, merchant },
        } => {
            let role = role.map_or(proto::Role::Unspecified, RoleArg::proto);
            let keys = every_page(|page_token| {
                let mut rpc = rpc.clone();
                let request = authorized(
                    &client,
                    proto::ListApiKeysRequest {
                        role: role.into(),
                        merchant_id: merchant.clone().unwrap_or_default(),
                        page_size: 1000,
                        page_token,
                    },
                );
                async move {
                    let page = answer(rpc.list_api_keys(request?).await)?;
                    Ok((page.api_keys, page.next_page_token))
                }
            })
            .await?;
            print_keys(keys);
        }
    }
    Ok(())
}
