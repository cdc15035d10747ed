//! `dropline`: the one binary. It serves the API with its worker, runs the worker alone,
//! migrates, imports orders from CSV, lists and reviews orders, checks addresses, seeds a
//! demo and benchmarks the engine.
//!
//! This crate is the only place (with the testkit) that names concrete adapters: it picks
//! the database from the configuration and wires the store, the app, the worker and the web
//! router together. It holds no domain rule and never writes state except through the app's
//! use cases.

/// Many small, short-lived allocations per order (JSON, strings, change sets): mimalloc
/// serves them faster than the system allocator, measured with `dropline bench`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod address;
mod bench;
mod bench_sync;
mod bench_webhooks;
mod catalogue;
mod config;
mod database;
mod demo;
mod import;
mod metrics;
mod orders;
mod output;
mod payouts;
mod rates;
mod serve;
mod stores;
mod suppliers;
mod tracking;
mod users;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// dropline: order fulfillment for dropshipping.
#[derive(Debug, Parser)]
#[command(name = "dropline", version, about, max_term_width = 100, args_override_self = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes. Each one is read, in order of precedence, from the flag, the
/// `DROPLINE_*` environment variable, the configuration file, then the built-in default.
#[derive(Debug, Args)]
struct GlobalArgs {
    /// Configuration file (TOML) [default: ./dropline.toml when it exists]
    #[arg(long, global = true, env = "DROPLINE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where dropline keeps its files (the SQLite database, the admin token) [default: ./dropline-data]
    #[arg(long, global = true, env = "DROPLINE_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: postgres://… selects PostgreSQL; otherwise SQLite at <data-dir>/dropline.db
    #[arg(
        long,
        global = true,
        env = "DROPLINE_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    database_url: Option<String>,
    /// Print JSON for scripts instead of tables
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the REST API with the worker in the same process
    Serve(serve::ServeArgs),
    /// Run the background worker alone (routing of accepted orders)
    Worker(serve::WorkerArgs),
    /// Create the database or bring its schema up to date
    Migrate,
    /// List, show, accept and reject orders
    #[command(subcommand)]
    Orders(orders::OrdersCommand),
    /// List and create stores
    #[command(subcommand)]
    Stores(stores::StoresCommand),
    /// Add and list suppliers, reconcile one, exchange spreadsheets with an agent
    #[command(subcommand)]
    Suppliers(suppliers::SuppliersCommand),
    /// Add and list the people who sign in to the dashboard
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Vendor balances and payouts (marketplace mode)
    #[command(subcommand)]
    Payouts(payouts::PayoutsCommand),
    /// The operator's exchange-rate table (supplier costs in another currency)
    #[command(subcommand)]
    Rates(rates::RatesCommand),
    /// Map the catalogue onto suppliers: imports, mappings, unmapped variants
    #[command(subcommand)]
    Catalogue(catalogue::CatalogueCommand),
    /// Stock synced from the suppliers
    #[command(subcommand)]
    Stock(catalogue::StockCommand),
    /// Pricing rules and the price changes they make
    #[command(subcommand)]
    Prices(catalogue::PricesCommand),
    /// Figures of a store's orders per supplier, lane or product
    #[command(subcommand)]
    Metrics(metrics::MetricsCommand),
    /// Import data from files
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Check addresses without storing anything
    #[command(subcommand)]
    Address(address::AddressCommand),
    /// Identify tracking numbers: their carrier and check digit
    #[command(subcommand)]
    Tracking(tracking::TrackingCommand),
    /// Seed a sample store with orders in every state, then serve it
    Demo(demo::DemoArgs),
    /// Measure the engine: orders/s and latency from receipt to supplier orders
    Bench(bench::BenchArgs),
    /// Measure a stock and price sync of a large catalogue against the CJ and storefront
    /// simulators: wall time, requests, memory, and whether only changed values were pushed
    BenchSync(bench_sync::BenchSyncArgs),
}

impl Command {
    /// The log level when `DROPLINE_LOG` is unset: long-running commands say what they do.
    fn default_log_level(&self) -> &'static str {
        match self {
            Self::Serve(_) | Self::Demo(_) | Self::Worker(_) => "info",
            _ => "warn",
        }
    }
}

fn main() -> ExitCode {
    // One TLS crypto provider (ring) for every HTTPS client of the process.
    dropline_connect::install_crypto_provider();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return report_usage_error(&err),
    };
    init_tracing(cli.command.default_log_level());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: while starting the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", one_line(&format!("{err:#}")));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = config::Settings::resolve(&cli.global)?;
    let json = cli.global.json;
    match cli.command {
        Command::Serve(args) => serve::run_serve(&settings, args).await,
        Command::Worker(args) => serve::run_worker(&settings, args).await,
        Command::Migrate => database::run_migrate(&settings, json).await,
        Command::Orders(command) => orders::run(&settings, command, json).await,
        Command::Stores(command) => stores::run(&settings, command, json).await,
        Command::Suppliers(command) => suppliers::run(&settings, command, json).await,
        Command::Users(command) => users::run(&settings, command, json).await,
        Command::Payouts(command) => payouts::run(&settings, command, json).await,
        Command::Rates(command) => rates::run(&settings, command, json).await,
        Command::Catalogue(command) => catalogue::run_catalogue(&settings, command, json).await,
        Command::Stock(command) => catalogue::run_stock(&settings, command, json).await,
        Command::Prices(command) => catalogue::run_prices(&settings, command, json).await,
        Command::Metrics(command) => metrics::run(&settings, command, json).await,
        Command::Import(command) => import::run(&settings, command, json).await,
        Command::Address(command) => address::run(command, json),
        Command::Tracking(command) => tracking::run(command, json),
        Command::Demo(args) => demo::run(&settings, args, json).await,
        Command::Bench(args) => bench::run(&settings, args, json).await,
        Command::BenchSync(args) => bench_sync::run(&settings, args, json).await,
    }
}

/// Help and version go to stdout as clap renders them; a usage error becomes ONE line on
/// stderr with exit code 2.
fn report_usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            ExitCode::from(2)
        }
        _ => {
            // clap's message is a paragraph, then usage and a tip: keep the paragraph.
            let text = err.to_string();
            let paragraph: Vec<&str> = text
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = paragraph.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            eprintln!("error: {message} (see 'dropline --help')");
            ExitCode::from(2)
        }
    }
}

/// Keeps an error on one line, whatever its sources printed.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

fn init_tracing(default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("DROPLINE_LOG")
        // sqlx reports PostgreSQL's notices ("relation already exists, skipping") at info.
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},sqlx=warn")));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .init();
}
