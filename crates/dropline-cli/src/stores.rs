//! `dropline stores list|create`: the stores an installation serves, so that an operator
//! without the API can get a store id (for `import orders`) and its token.

use crate::config::Settings;
use crate::database::Database;
use crate::output;
use anyhow::Context;
use clap::Subcommand;
use dropline_app::{App, AppError, NewStore, Scope};
use dropline_domain::catalog::{Platform, StoreSettings};
use dropline_domain::money::Currency;
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum StoresCommand {
    /// List the stores
    List,
    /// Create a store and print its API token (shown once)
    Create {
        /// The store's name
        name: String,
        /// ISO 4217 currency of the store's prices and orders
        #[arg(long, value_parser = parse_currency)]
        currency: Currency,
        /// Where its orders come from: shopify, woocommerce, wix, api or csv
        #[arg(long, default_value = "csv", value_parser = parse_platform)]
        platform: Platform,
    },
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
    let app = App::new(Database::from_settings(settings)?.open().await?);
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
        StoresCommand::Create {
            name,
            currency,
            platform,
        } => {
            let new = NewStore {
                name,
                platform,
                currency,
                address: None,
                settings: StoreSettings::default(),
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
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
