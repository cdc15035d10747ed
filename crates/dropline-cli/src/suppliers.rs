//! `dropline suppliers list|add|reconcile|export|import`: a store's suppliers from the
//! terminal: add one with its API connection, compare a supplier's order list with dropline's,
//! and exchange spreadsheets with a sourcing agent.

use crate::config::Settings;
use crate::database::Database;
use crate::output;
use anyhow::Context;
use clap::Subcommand;
use dropline_app::{App, AppError, NewSupplier, Scope};
use dropline_domain::catalog::{SupplierConnection, SupplierKind};
use dropline_domain::ids::{StoreId, SupplierId};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum SuppliersCommand {
    /// List the suppliers (of one store, or all)
    List {
        /// Only this store's suppliers
        #[arg(long)]
        store: Option<String>,
    },
    /// Add a supplier to a store
    Add {
        /// The store's id
        #[arg(long)]
        store: String,
        /// The supplier's name
        name: String,
        /// cj, aliexpress, agent, warehouse or manual
        #[arg(long, value_parser = parse_kind)]
        kind: SupplierKind,
        /// ISO 3166-1 alpha-2 country the goods leave from
        #[arg(long)]
        ships_from: Option<String>,
        /// Days from order to hand-over to the carrier
        #[arg(long, default_value_t = 0)]
        processing_days: u32,
        /// Days after acceptance within which tracking must come, else failover
        #[arg(long)]
        deadline_days: Option<u32>,
        /// How dropline reaches the supplier's API
        #[command(flatten)]
        connection: Box<ConnectionArgs>,
        /// An agent's spreadsheet layout (`Header=field, ...`)
        #[arg(long)]
        agent_layout: Option<String>,
    },
    /// Compare a supplier's own order list with dropline's (ghosts, duplicates, missing)
    Reconcile {
        /// The supplier's id
        supplier: String,
    },
    /// Write an agent's spreadsheet of open supplier orders (they become submitted)
    Export {
        /// The agent's id
        supplier: String,
        /// Also the supplier orders sent before and not answered yet
        #[arg(long)]
        all: bool,
        /// Write here instead of standard output
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Read an agent's return spreadsheet (order ids, costs, tracking numbers)
    Import {
        /// The agent's id
        supplier: String,
        /// The agent's CSV file
        file: PathBuf,
    },
}

/// The API connection of a supplier being added; secrets may come from the environment.
#[derive(Debug, clap::Args)]
pub struct ConnectionArgs {
    /// Base URL of the supplier's API when not its production address
    #[arg(long)]
    api_base: Option<String>,
    /// CJ: API key; AliExpress: app key
    #[arg(long, env = "DROPLINE_SUPPLIER_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// AliExpress: app secret
    #[arg(long, env = "DROPLINE_SUPPLIER_API_SECRET", hide_env_values = true)]
    api_secret: Option<String>,
    /// AliExpress: access token
    #[arg(long, env = "DROPLINE_SUPPLIER_ACCESS_TOKEN", hide_env_values = true)]
    access_token: Option<String>,
    /// AliExpress: refresh token
    #[arg(long, env = "DROPLINE_SUPPLIER_REFRESH_TOKEN", hide_env_values = true)]
    refresh_token: Option<String>,
    /// The account's rate limit, requests a second
    #[arg(long)]
    requests_per_second: Option<u32>,
    /// CJ: the account's openId, which signs its webhook messages
    #[arg(long, env = "DROPLINE_SUPPLIER_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
}

fn parse_kind(text: &str) -> Result<SupplierKind, String> {
    SupplierKind::parse(text.trim()).ok_or_else(|| {
        let names: Vec<&str> = SupplierKind::ALL.iter().map(SupplierKind::as_str).collect();
        format!("'{text}' is not a supplier kind (one of {})", names.join(", "))
    })
}

fn parse_id<T: std::str::FromStr>(text: &str, what: &str) -> anyhow::Result<T> {
    text.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("'{text}' is not a {what} id"))
}

/// One line naming every refused field, or the error with its context.
fn refusal(err: AppError, what: &str) -> anyhow::Error {
    match err {
        AppError::Invalid(fields) => {
            let reasons: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect();
            anyhow::anyhow!("{what}: {}", reasons.join("; "))
        }
        AppError::NotFound(thing) => anyhow::anyhow!("{what}: no such {thing}"),
        other => anyhow::anyhow!("{what}: {other}"),
    }
}

pub async fn run(settings: &Settings, command: SuppliersCommand, json: bool) -> anyhow::Result<ExitCode> {
    let app = dropline_connect::connected(App::new(Database::from_settings(settings)?.open().await?));
    match command {
        SuppliersCommand::List { store } => {
            let store_id = store.as_deref().map(|s| parse_id::<StoreId>(s, "store")).transpose()?;
            let suppliers = app
                .list_suppliers(Scope::Operator, store_id)
                .await
                .context("while listing suppliers")?;
            if json {
                let rows: Vec<_> = suppliers
                    .iter()
                    .map(|s| {
                        json!({
                            "id": s.id, "store_id": s.store_id, "name": s.name, "kind": s.kind,
                            "ships_from": s.ships_from, "processing_deadline_days": s.processing_deadline_days,
                            "connected": s.connection.is_configured(),
                            "last_reconciliation": s.last_reconciliation,
                        })
                    })
                    .collect();
                output::print_json(&rows)?;
            } else if suppliers.is_empty() {
                println!("no suppliers");
            } else {
                let mut table = output::table(["ID", "STORE", "NAME", "KIND", "API", "LAST RECONCILIATION"]);
                for s in &suppliers {
                    table.add_row([
                        s.id.to_string(),
                        s.store_id.to_string(),
                        s.name.clone(),
                        s.kind.to_string(),
                        if s.connection.is_configured() { "yes" } else { "-" }.to_string(),
                        s.last_reconciliation
                            .as_ref()
                            .map(|r| {
                                format!(
                                    "{}: {} ghost(s), {} duplicate(s), {} missing",
                                    output::short_time(r.at),
                                    r.ghosts.len(),
                                    r.duplicates.len(),
                                    r.missing.len()
                                )
                            })
                            .unwrap_or_else(|| "-".into()),
                    ]);
                }
                println!("{table}");
            }
        }
        SuppliersCommand::Add {
            store,
            name,
            kind,
            ships_from,
            processing_days,
            deadline_days,
            connection,
            agent_layout,
        } => {
            let ConnectionArgs {
                api_base,
                api_key,
                api_secret,
                access_token,
                refresh_token,
                requests_per_second,
                webhook_secret,
            } = *connection;
            let new = NewSupplier {
                store_id: parse_id(&store, "store")?,
                name,
                kind,
                ships_from,
                processing_days,
                rating: 0,
                processing_deadline_days: deadline_days,
                connection: SupplierConnection {
                    api_base,
                    api_key,
                    api_secret,
                    access_token,
                    refresh_token,
                    requests_per_second,
                    webhook_secret,
                },
                agent_layout,
                return_policy: Default::default(),
            };
            let supplier = app
                .create_supplier(Scope::Operator, new)
                .await
                .map_err(|err| refusal(err, "the supplier was not added"))?;
            if json {
                output::print_json(&json!({ "id": supplier.id, "name": supplier.name, "kind": supplier.kind }))?;
            } else {
                println!("supplier {} added: {}", supplier.name, supplier.id);
            }
        }
        SuppliersCommand::Reconcile { supplier } => {
            let id: SupplierId = parse_id(&supplier, "supplier")?;
            let report = app
                .reconcile_supplier(Scope::Operator, id)
                .await
                .map_err(|err| refusal(err, "no reconciliation"))?;
            let supplier = app
                .get_supplier(Scope::Operator, id)
                .await
                .map_err(|err| refusal(err, "no reconciliation"))?;
            if json {
                output::print_json(&report)?;
            } else {
                println!(
                    "{} order(s) at {}, {} matched{}; ghosts: {}; duplicates: {}; missing here: {}",
                    report.remote_orders,
                    supplier.name,
                    report.matched,
                    if report.complete { "" } else { " (list cut short)" },
                    list(&report.ghosts),
                    report.duplicates.len(),
                    report.missing.len()
                );
            }
        }
        SuppliersCommand::Export { supplier, all, output } => {
            let id: SupplierId = parse_id(&supplier, "supplier")?;
            let export = app
                .export_agent_orders(Scope::Operator, id, all)
                .await
                .map_err(|err| refusal(err, "nothing exported"))?;
            match &output {
                Some(path) => {
                    std::fs::write(path, &export.file).with_context(|| format!("while writing {}", path.display()))?
                }
                None => std::io::stdout()
                    .lock()
                    .write_all(&export.file)
                    .context("while writing the spreadsheet")?,
            }
            // The count goes to stderr so that stdout stays the file.
            eprintln!(
                "{} supplier order(s) exported, {} newly submitted",
                export.supplier_orders.len(),
                export.newly_submitted
            );
        }
        SuppliersCommand::Import { supplier, file } => {
            let id: SupplierId = parse_id(&supplier, "supplier")?;
            let bytes = std::fs::read(&file).with_context(|| format!("while reading {}", file.display()))?;
            let report = app
                .import_agent_results(Scope::Operator, id, &bytes)
                .await
                .map_err(|err| refusal(err, &format!("{} was not imported", file.display())))?;
            if json {
                output::print_json(&json!({
                    "accepted": report.accepted, "parcels_added": report.parcels_added, "unchanged": report.unchanged,
                }))?;
            } else {
                println!(
                    "{} supplier order(s) accepted, {} parcel(s) added, {} unchanged",
                    report.accepted.len(),
                    report.parcels_added,
                    report.unchanged.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
