//! `dropline stores list|add|test|pull`: the stores an installation serves and their platform
//! connections, so that an operator without the API can connect a storefront, check its
//! credentials and pull its catalogue.

use crate::config::Settings;
use crate::database::Database;
use crate::output;
use anyhow::Context;
use clap::Subcommand;
use dropline_app::{App, AppError, NewStore, Scope};
use dropline_domain::catalog::{Platform, StoreConnection, StoreSettings};
use dropline_domain::ids::StoreId;
use dropline_domain::money::Currency;
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum StoresCommand {
    /// List the stores
    List,
    /// Add a store (and its platform connection) and print its API token (shown once)
    #[command(alias = "create")]
    Add {
        /// The store's name
        name: String,
        /// ISO 4217 currency of the store's prices and orders
        #[arg(long, value_parser = parse_currency)]
        currency: Currency,
        /// Where its orders come from: shopify, woocommerce, wix, api or csv
        #[arg(long, default_value = "csv", value_parser = parse_platform)]
        platform: Platform,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Check a store's credentials against its platform
    Test {
        /// The store's id
        store: String,
    },
    /// Import a store's products and variants from its platform (all pages)
    Pull {
        /// The store's id
        store: String,
    },
}

/// A store's platform connection. Secrets are best given by environment variable (they
/// would otherwise show in the process list).
#[derive(Debug, clap::Args)]
pub struct ConnectionArgs {
    /// The shop's domain on its platform (example.myshopify.com, shop.example)
    #[arg(long)]
    domain: Option<String>,
    /// Base URL of the platform's API when not https://DOMAIN
    #[arg(long)]
    api_base: Option<String>,
    /// The secret the platform signs webhooks with (Wix: path of the app's public key PEM
    /// file, prefixed with @); twice during a rotation, newest first
    #[arg(long = "webhook-secret", env = "DROPLINE_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secrets: Vec<String>,
    /// Shopify: Admin API access token; Wix: API key
    #[arg(long, env = "DROPLINE_ACCESS_TOKEN", hide_env_values = true)]
    access_token: Option<String>,
    /// WooCommerce: consumer key; Wix: site id
    #[arg(long, env = "DROPLINE_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// WooCommerce: consumer secret
    #[arg(long, env = "DROPLINE_API_SECRET", hide_env_values = true)]
    api_secret: Option<String>,
}

impl ConnectionArgs {
    fn into_connection(self) -> anyhow::Result<StoreConnection> {
        let mut secrets = Vec::new();
        for secret in self.webhook_secrets {
            match secret.strip_prefix('@') {
                Some(path) => secrets.push(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("while reading the webhook secret file {path}"))?
                        .trim()
                        .to_string(),
                ),
                None => secrets.push(secret),
            }
        }
        Ok(StoreConnection {
            domain: self.domain,
            api_base: self.api_base,
            access_token: self.access_token,
            api_key: self.api_key,
            api_secret: self.api_secret,
            webhook_secrets: secrets,
        })
    }
}

fn parse_store_id(text: &str) -> anyhow::Result<StoreId> {
    text.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("'{text}' is not a store id"))
}

fn parse_currency(text: &str) -> Result<Currency, String> {
    Currency::parse(text.trim()).map_err(|err| err.to_string())
}

fn parse_platform(text: &str) -> Result<Platform, String> {
    Platform::parse(text.trim()).ok_or_else(|| {
        let names: Vec<&str> = Platform::ALL.iter().map(Platform::as_str).collect();
        format!("'{text}' is not a platform (one of {})", names.join(", "))
    })
}

pub async fn run(settings: &Settings, command: StoresCommand, json: bool) -> anyhow::Result<ExitCode> {
    let app = dropline_connect::connected(App::new(Database::from_settings(settings)?.open().await?));
    match command {
        StoresCommand::List => {
            let stores = app.list_stores(Scope::Operator).await.context("while listing stores")?;
            if json {
                let rows: Vec<_> = stores
                    .iter()
                    .map(|record| json!({ "store": record.store, "created_at": record.created_at.to_string() }))
                    .collect();
                output::print_json(&rows)?;
            } else if stores.is_empty() {
                println!("no stores");
            } else {
                let mut table = output::table(["ID", "NAME", "PLATFORM", "CURRENCY", "AUTO-ACCEPT"]);
                for record in &stores {
                    let store = &record.store;
                    table.add_row([
                        store.id.to_string(),
                        store.name.clone(),
                        store.platform.to_string(),
                        store.currency.to_string(),
                        if store.settings.auto_accept.enabled {
                            "on"
                        } else {
                            "off"
                        }
                        .to_string(),
                    ]);
                }
                println!("{table}");
            }
        }
        StoresCommand::Test { store } => {
            let store_id = parse_store_id(&store)?;
            match app.test_store_connection(Scope::Operator, store_id).await {
                Ok(info) => {
                    if json {
                        output::print_json(&json!({ "ok": true, "shop_name": info.name, "currency": info.currency }))?;
                    } else {
                        println!(
                            "ok: the platform knows the shop '{}'{}",
                            info.name,
                            info.currency.map(|c| format!(" ({c})")).unwrap_or_default()
                        );
                    }
                }
                Err(AppError::NotFound(_)) => anyhow::bail!("no store {store_id}"),
                Err(err) => anyhow::bail!("the connection of store {store_id} does not work: {err}"),
            }
        }
        StoresCommand::Pull { store } => {
            let store_id = parse_store_id(&store)?;
            let mut cursor: Option<String> = None;
            let mut total = dropline_app::ports::CatalogImport::default();
            let mut pages = 0u32;
            loop {
                let (import, next) = app
                    .import_catalog_page(Scope::Operator, store_id, cursor.as_deref())
                    .await
                    .map_err(|err| anyhow::anyhow!("pulling the catalogue of store {store_id} failed: {err}"))?;
                pages += 1;
                total.products_created += import.products_created;
                total.products_updated += import.products_updated;
                total.variants_created += import.variants_created;
                total.variants_updated += import.variants_updated;
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            if json {
                output::print_json(&json!({
                    "pages": pages,
                    "products_created": total.products_created,
                    "products_updated": total.products_updated,
                    "variants_created": total.variants_created,
                    "variants_updated": total.variants_updated,
                }))?;
            } else {
                println!(
                    "{pages} page(s): {} product(s) new, {} updated; {} variant(s) new, {} updated",
                    total.products_created, total.products_updated, total.variants_created, total.variants_updated
                );
            }
        }
        StoresCommand::Add {
            name,
            currency,
            platform,
            connection,
        } => {
            let new = NewStore {
                name,
                platform,
                currency,
                address: None,
                settings: StoreSettings::default(),
                connection: connection.into_connection()?,
            };
            let (record, token) = match app.create_store(Scope::Operator, new).await {
                Ok(created) => created,
                Err(AppError::Invalid(fields)) => {
                    let reasons: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect();
                    anyhow::bail!("the store was not created: {}", reasons.join("; "))
                }
                Err(err) => return Err(err).context("while creating the store"),
            };
            if json {
                output::print_json(&json!({ "store": record.store, "token": token }))?;
            } else {
                println!("store {} created: {}", record.store.name, record.store.id);
                println!("API token (shown once): {token}");
                if dropline_app::connected::is_connected_platform(record.store.platform) {
                    println!(
                        "webhook address: https://YOUR-DROPLINE-HOST/webhooks/{}/{}",
                        record.store.platform, record.store.id
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
