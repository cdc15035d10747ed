//! `dropline catalogue import|map|unmapped`, `dropline stock sync|show` and `dropline prices
//! preview|apply|changes|approve|reject`: mapping the catalogue onto suppliers, stock and
//! pricing rules, as the operator (the CLI is the operator). Rules files are read exactly as
//! the API reads a `PricingSettings` body.

use crate::config::Settings;
use crate::database::Database;
use crate::orders::refused;
use crate::output::{self, short_time};
use anyhow::Context;
use clap::Subcommand;
use dropline_app::catalogue::MapVariant;
use dropline_app::{App, AppError, Scope};
use dropline_domain::catalog::{OfferPriority, ShippingMethod};
use dropline_domain::ids::{PriceChangeId, StoreId, SupplierId, VariantId};
use dropline_domain::inventory::{PriceChangeStatus, PricingSettings};
use dropline_domain::money::Money;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Days a preview looks back unless told.
const DEFAULT_DAYS: u32 = 30;

#[derive(Debug, Subcommand)]
pub enum CatalogueCommand {
    /// Import a product from a supplier's catalogue, or a supplier's price list (CSV)
    Import {
        /// Supplier id
        supplier: String,
        /// The supplier's product id (CJ pid, AliExpress product id)
        product_id: Option<String>,
        /// A price list (CSV, costs in the store's currency) instead of a product id
        #[arg(long, conflicts_with = "product_id")]
        price_list: Option<PathBuf>,
    },
    /// Map a store variant to a supplier variant (refused when their options contradict)
    Map {
        /// Variant id
        variant: String,
        /// Supplier id
        supplier: String,
        /// The supplier's SKU
        #[arg(long)]
        sku: String,
        /// The supplier's option text, such as "Black / XL"
        #[arg(long, default_value = "")]
        options: String,
        /// Unit cost, a decimal in the store's currency (12.50)
        #[arg(long)]
        cost: String,
        /// Supplier units per store unit (a bundle)
        #[arg(long, default_value_t = 1)]
        units: u32,
        /// Units the supplier has (default: unknown)
        #[arg(long)]
        stock: Option<u32>,
        /// Shipping cost of one unit to anywhere, a decimal in the store's currency
        #[arg(long, default_value = "0")]
        shipping_cost: String,
        /// Shipping days to anywhere, MIN-MAX
        #[arg(long, default_value = "7-14")]
        shipping_days: String,
    },
    /// The store's variants no offer ships yet
    Unmapped {
        /// Store id
        store: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StockCommand {
    /// Sync a supplier's stock and costs now and print what it did
    Sync {
        /// Supplier id
        supplier: String,
    },
    /// A variant's stock: its offers, what orders hold, what the storefront shows
    Show {
        /// Variant id
        variant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// What pricing rules would change, written nowhere
    Preview {
        /// Store id
        store: String,
        /// The rules, as the API's PricingSettings JSON
        #[arg(long)]
        rules: PathBuf,
        /// Days of orders to look back
        #[arg(long, default_value_t = DEFAULT_DAYS)]
        days: u32,
    },
    /// Set the pricing rules and reprice the catalogue now
    Apply {
        /// Store id
        store: String,
        /// The rules, as the API's PricingSettings JSON
        #[arg(long)]
        rules: PathBuf,
    },
    /// A store's price changes, newest first
    Changes {
        /// Store id
        store: String,
        /// pending, applied, rejected or superseded
        #[arg(long)]
        status: Option<String>,
    },
    /// Approve a price waiting for the seller
    Approve {
        /// Price change id
        id: String,
    },
    /// Refuse a price waiting for the seller
    Reject {
        /// Price change id
        id: String,
    },
}

fn id<T: std::str::FromStr>(text: &str, what: &'static str) -> Result<T, AppError> {
    text.trim().parse().map_err(|_| AppError::NotFound(what))
}

async fn open(settings: &Settings) -> anyhow::Result<App> {
    Ok(dropline_connect::connected(App::new(
        Database::from_settings(settings)?.open().await?,
    )))
}

/// Reads a rules file as the API reads a `PricingSettings` body: every bad field named.
fn read_rules(path: &Path) -> anyhow::Result<Result<PricingSettings, AppError>> {
    let text = std::fs::read(path).with_context(|| format!("while reading {}", path.display()))?;
    let value: serde_json::Value = match serde_json::from_slice(&text) {
        Ok(value) => value,
        Err(err) => return Ok(Err(AppError::invalid("rules", format!("is not JSON: {err}")))),
    };
    Ok(match dropline_web::input::JsonBody(value).read::<PricingSettings>() {
        Ok(settings) => Ok(settings),
        Err(dropline_web::error::ApiError::App(err)) => Err(err),
        Err(other) => Err(AppError::invalid("rules", format!("{other:?}"))),
    })
}

/// Prints JSON; a failed write of stdout ends the command like a refusal would not, so it
/// is carried as the app's error kind the runner reports.
fn print<T: serde::Serialize>(value: &T) -> Result<(), AppError> {
    output::print_json(value).map_err(|err| AppError::Conflict(format!("{err:#}")))
}

fn amount(money: Money) -> String {
    format!("{} {}", money.amount_string(), money.currency)
}

pub async fn run_catalogue(settings: &Settings, command: CatalogueCommand, json: bool) -> anyhow::Result<ExitCode> {
    let app = open(settings).await?;
    let scope = Scope::Operator;
    let result = async {
        match command {
            CatalogueCommand::Import {
                supplier,
                product_id,
                price_list,
            } => {
                let supplier_id: SupplierId = id(&supplier, "supplier")?;
                let import = match (product_id, price_list) {
                    (_, Some(path)) => {
                        let supplier = app.get_supplier(scope, supplier_id).await?;
                        let store = app.get_store(scope, supplier.store_id).await?;
                        let bytes = std::fs::read(&path)
                            .map_err(|err| AppError::invalid("price_list", format!("cannot be read: {err}")))?;
                        let products = dropline_connect::price_list::parse_price_list(&bytes, store.store.currency)
                            .map_err(|err| AppError::invalid("price_list", err.to_string()))?;
                        app.import_supplier_products(scope, supplier_id, products).await?
                    }
                    (Some(product_id), None) => app.import_supplier_product(scope, supplier_id, &product_id).await?,
                    (None, None) => return Err(AppError::invalid("product_id", "give a product id or --price-list")),
                };
                if json {
                    print(&import)?;
                } else {
                    let variants: usize = import.products.iter().map(|p| p.variants.len()).sum();
                    println!(
                        "{} product(s), {variants} variant(s) read; {} offer(s) updated; {} variant(s) with suggestions",
                        import.products.len(),
                        import.offers_updated,
                        import.suggestions.len()
                    );
                }
            }
            CatalogueCommand::Map {
                variant,
                supplier,
                sku,
                options,
                cost,
                units,
                stock,
                shipping_cost,
                shipping_days,
            } => {
                let variant_id: VariantId = id(&variant, "variant")?;
                let supplier_id: SupplierId = id(&supplier, "supplier")?;
                let supplier_record = app.get_supplier(scope, supplier_id).await?;
                let currency = app.get_store(scope, supplier_record.store_id).await?.store.currency;
                let unit_cost = Money::parse_decimal(cost.trim(), currency)
                    .map_err(|err| AppError::invalid("cost", err.to_string()))?;
                let shipping_cost = Money::parse_decimal(shipping_cost.trim(), currency)
                    .map_err(|err| AppError::invalid("shipping_cost", err.to_string()))?;
                let (min_days, max_days) = shipping_days
                    .split_once('-')
                    .and_then(|(min, max)| Some((min.trim().parse().ok()?, max.trim().parse().ok()?)))
                    .ok_or_else(|| AppError::invalid("shipping_days", "must be MIN-MAX days, such as 7-14"))?;
                let shipping = vec![ShippingMethod {
                    country: "*".into(),
                    name: "Standard".into(),
                    cost: shipping_cost,
                    min_days,
                    max_days,
                }];
                let offer = app
                    .map_variant(
                        scope,
                        MapVariant {
                            variant_id,
                            supplier_id,
                            supplier_sku: sku,
                            supplier_product_id: None,
                            supplier_variant_id: None,
                            options,
                            barcode: None,
                            product_url: None,
                            unit_cost,
                            stock,
                            units,
                            shipping,
                            priority: OfferPriority::Primary,
                        },
                    )
                    .await?;
                if json {
                    print(&serde_json::json!({
                        "id": offer.id.to_string(),
                        "variant_id": offer.variant_id.to_string(),
                        "supplier_id": offer.supplier_id.to_string(),
                        "supplier_sku": offer.supplier_sku,
                        "unit_cost": offer.unit_cost.amount_string(),
                        "currency": offer.unit_cost.currency.to_string(),
                        "units": offer.units,
                        "stock": offer.stock,
                    }))?;
                } else {
                    println!("offer {} maps the variant to {}", offer.id, offer.supplier_sku);
                }
            }
            CatalogueCommand::Unmapped { store } => {
                let store_id: StoreId = id(&store, "store")?;
                let unmapped = app.unmapped_variants(scope, store_id).await?;
                if json {
                    print(&unmapped)?;
                } else if unmapped.is_empty() {
                    println!("every variant has an offer");
                } else {
                    let mut table = output::table(["VARIANT", "SKU", "PRODUCT", "TITLE"]);
                    for u in &unmapped {
                        table.add_row([u.variant_id.to_string(), u.sku.clone(), u.product_title.clone(), u.title.clone()]);
                    }
                    println!("{table}");
                }
            }
        }
        Ok(())
    }
    .await;
    finish(result)
}

fn finish(result: Result<(), AppError>) -> anyhow::Result<ExitCode> {
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => refused(err),
    }
}

pub async fn run_stock(settings: &Settings, command: StockCommand, json: bool) -> anyhow::Result<ExitCode> {
    let app = open(settings).await?;
    let scope = Scope::Operator;
    let result = async {
        match command {
            StockCommand::Sync { supplier } => {
                let report = app.sync_stock(scope, id(&supplier, "supplier")?).await?;
                if json {
                    print(&report)?;
                } else {
                    let s = &report.summary;
                    println!(
                        "{} offer(s) read: {} stock and {} cost change(s), {} problem(s); {} variant(s) written, {} price(s) pending",
                        s.offers_read, s.stock_changed, s.costs_changed, s.problems, report.listings.variants_pushed,
                        report.listings.prices_pending
                    );
                    if let Some(reason) = &report.listings.skipped {
                        println!("storefront not written: {reason}");
                    }
                }
            }
            StockCommand::Show { variant } => {
                let stock = app.variant_stock(scope, id(&variant, "variant")?).await?;
                if json {
                    print(&stock)?;
                } else {
                    let count = |n: Option<u32>| n.map_or("unknown".to_string(), |n| n.to_string());
                    println!(
                        "{}: sellable {}, reserved {}, buffer {}, shown {}",
                        stock.sku,
                        count(stock.sellable),
                        stock.reserved,
                        stock.safety_buffer,
                        count(stock.shown)
                    );
                    let mut table = output::table(["OFFER", "SUPPLIER SKU", "STOCK", "UNITS", "COST"]);
                    for o in &stock.offers {
                        table.add_row([
                            o.offer_id.to_string(),
                            o.supplier_sku.clone(),
                            count(o.stock),
                            o.units.to_string(),
                            amount(o.unit_cost),
                        ]);
                    }
                    println!("{table}");
                }
            }
        }
        Ok(())
    }
    .await;
    finish(result)
}

pub async fn run_prices(settings: &Settings, command: PricesCommand, json: bool) -> anyhow::Result<ExitCode> {
    let app = open(settings).await?;
    let scope = Scope::Operator;
    let rules = match &command {
        PricesCommand::Preview { rules, .. } | PricesCommand::Apply { rules, .. } => match read_rules(rules)? {
            Ok(rules) => Some(rules),
            Err(err) => return refused(err),
        },
        _ => None,
    };
    let approve = matches!(command, PricesCommand::Approve { .. });
    let result = async {
        match command {
            PricesCommand::Preview { store, days, .. } => {
                let settings = rules.unwrap_or_default();
                let preview = app
                    .preview_pricing(scope, id(&store, "store")?, &settings, days)
                    .await?;
                if json {
                    print(&preview)?;
                } else {
                    let mut table = output::table(["SKU", "NOW", "NEW", "APPROVAL"]);
                    for q in &preview.changes {
                        table.add_row([
                            q.sku.clone(),
                            amount(q.current),
                            amount(q.computed.price),
                            if q.needs_approval { "needed" } else { "-" }.to_string(),
                        ]);
                    }
                    println!("{table}");
                    println!(
                        "{} price(s) would change; {} unpriced; last {} days: {} order(s), revenue {} → {}",
                        preview.changes.len(),
                        preview.unpriced.len(),
                        preview.days,
                        preview.orders,
                        amount(preview.revenue_actual),
                        amount(preview.revenue_at_new_prices)
                    );
                }
            }
            PricesCommand::Apply { store, .. } => {
                let settings = rules.unwrap_or_default();
                let report = app.apply_pricing(scope, id(&store, "store")?, settings).await?;
                if json {
                    print(&report)?;
                } else {
                    println!(
                        "{} price(s) applied, {} waiting for approval; {} variant(s) written",
                        report.prices_applied, report.prices_pending, report.variants_pushed
                    );
                }
            }
            PricesCommand::Changes { store, status } => {
                let status = match status {
                    Some(text) => Some(PriceChangeStatus::parse(text.trim()).ok_or_else(|| {
                        AppError::invalid("status", "must be pending, applied, rejected or superseded")
                    })?),
                    None => None,
                };
                let store_id: StoreId = id(&store, "store")?;
                app.get_store(scope, store_id).await?;
                let changes = app.list_price_changes(scope, Some(store_id), status, 500).await?;
                if json {
                    print(&changes)?;
                } else if changes.is_empty() {
                    println!("no price changes");
                } else {
                    let mut table = output::table(["ID", "SKU", "OLD", "NEW", "STATUS", "AT"]);
                    for c in &changes {
                        table.add_row([
                            c.id.to_string(),
                            c.sku.clone(),
                            amount(c.old_price),
                            amount(c.new_price),
                            c.status.to_string(),
                            short_time(c.created_at),
                        ]);
                    }
                    println!("{table}");
                }
            }
            PricesCommand::Approve { id: change } | PricesCommand::Reject { id: change } => {
                let change_id: PriceChangeId = id(&change, "price change")?;
                let decided = if approve {
                    app.approve_price_change(scope, change_id, "operator (CLI)").await?
                } else {
                    app.reject_price_change(scope, change_id, "operator (CLI)").await?
                };
                if json {
                    print(&decided)?;
                } else {
                    println!(
                        "{} {}: {} → {}",
                        decided.sku,
                        decided.status,
                        amount(decided.old_price),
                        amount(decided.new_price)
                    );
                }
            }
        }
        Ok(())
    }
    .await;
    match result {
        Err(AppError::Conflict(reason)) => {
            eprintln!("refused: {reason}");
            Ok(ExitCode::from(1))
        }
        other => finish(other),
    }
}
