//! `dropline import orders FILE.csv --store ID`: all orders of a file in one transaction, or
//! none of them, with every bad row reported.
//!
//! Importing does not route: the orders are stored (validated, held or, by the store's rules,
//! accepted) and their routing jobs queued, and a running `dropline serve` or `dropline worker`
//! routes them. `--route` runs the worker right here until no job is left instead.

use crate::config::Settings;
use crate::database::Database;
use crate::orders::parse_store_id;
use crate::output;
use anyhow::Context;
use clap::{Args, Subcommand};
use dropline_app::{App, AppError, IngestOutcome, Scope};
use dropline_connect::csv_orders::{CsvImportError, parse_orders};
use dropline_domain::ids::StoreId;
use dropline_domain::state::OrderState;
use dropline_domain::timeline::Actor;
use dropline_worker::{Worker, WorkerConfig};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Files smaller than this parse too fast for a progress bar to help.
const PROGRESS_MIN_BYTES: u64 = 1 << 20;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import orders from a CSV file: one row per line item (layout in the README)
    Orders(ImportOrdersArgs),
}

#[derive(Debug, Args)]
pub struct ImportOrdersArgs {
    /// The CSV file
    #[arg(value_name = "FILE.csv")]
    file: PathBuf,
    /// The store the orders belong to (id)
    #[arg(long, value_name = "ID", value_parser = parse_store_id)]
    store: StoreId,
    /// Route the imported orders now (run the worker until idle) instead of leaving them to
    /// a running `dropline serve` / `dropline worker`
    #[arg(long)]
    route: bool,
}

pub async fn run(settings: &Settings, command: ImportCommand, json: bool) -> anyhow::Result<ExitCode> {
    let ImportCommand::Orders(args) = command;
    // Parse first: a bad file is reported without touching the database.
    let orders = match read_file(&args).await? {
        Ok(orders) => orders,
        Err(problems) => return report_bad_file(&args, &problems, json),
    };
    let backend = Database::from_settings(settings)?.open().await?;
    let app = App::new(backend);
    let count = orders.len();
    let outcomes = match app
        .import_orders(
            Scope::Operator,
            args.store,
            orders,
            Actor::Storefront("csv import".into()),
        )
        .await
    {
        Ok(outcomes) => outcomes,
        Err(AppError::Invalid(fields)) => {
            if json {
                output::print_json(&json!({ "imported": false, "order_errors": fields }))?;
            }
            for field in &fields {
                eprintln!("{}: {}", field.field, field.reason);
            }
            anyhow::bail!(
                "{}: {} problem(s) in its orders; nothing was imported",
                args.file.display(),
                fields.len()
            );
        }
        Err(AppError::NotFound(_)) => anyhow::bail!("there is no store {}", args.store),
        Err(err) => return Err(err).context("while importing the orders"),
    };
    let routed = if args.route {
        let worker = Worker::new(app.clone(), WorkerConfig::default());
        Some(
            worker
                .run_until_idle()
                .await
                .context("while routing the imported orders")?,
        )
    } else {
        None
    };
    let summary = Summary::of(&outcomes);
    if json {
        output::print_json(&json!({
            "imported": true,
            "file": args.file.display().to_string(),
            "orders": count,
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "states": summary.states,
            "jobs_run": routed.map(|report| report.succeeded),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = output::table(["IMPORTED", "ORDERS"]);
    table.add_row(["created".to_string(), summary.created.to_string()]);
    table.add_row(["updated (changed resend)".to_string(), summary.updated.to_string()]);
    table.add_row([
        "unchanged (already imported)".to_string(),
        summary.unchanged.to_string(),
    ]);
    for (state, n) in &summary.states {
        table.add_row([format!("now {state}"), n.to_string()]);
    }
    println!("{table}");
    match routed {
        Some(report) => println!("the worker ran {} job(s): see `dropline orders list`", report.succeeded),
        None if summary.states.contains_key(OrderState::Accepted.as_str()) => {
            println!(
                "accepted orders are routed by the worker (dropline serve or dropline worker, or import with --route)"
            )
        }
        None => println!("orders in pending_review wait for `dropline orders accept`"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses the file on a blocking thread, with a progress bar on big files when stderr is a
/// terminal. The outer error is an I/O failure; the inner one the file's problems.
async fn read_file(
    args: &ImportOrdersArgs,
) -> anyhow::Result<Result<Vec<dropline_domain::order::IncomingOrder>, CsvImportError>> {
    let path = args.file.clone();
    let file = std::fs::File::open(&path).with_context(|| format!("while opening {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if size >= PROGRESS_MIN_BYTES && std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("reading");
        bar
    } else {
        ProgressBar::hidden()
    };
    let progress = bar.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        parse_orders(std::io::BufReader::with_capacity(1 << 16, file), |bytes| {
            progress.set_position(bytes)
        })
    })
    .await
    .context("the CSV reader failed")?;
    bar.finish_and_clear();
    Ok(parsed)
}

fn report_bad_file(args: &ImportOrdersArgs, problems: &CsvImportError, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        output::print_json(&json!({
            "imported": false,
            "file_errors": problems.file.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "row_errors": problems.rows,
            "unlisted_row_errors": problems.unlisted_row_errors,
        }))?;
    }
    // Every problem on its own line, then the verdict as the one error line.
    for problem in problems.to_string().lines() {
        eprintln!("{problem}");
    }
    let count = problems.file.len() as u64 + problems.rows.len() as u64 + problems.unlisted_row_errors;
    anyhow::bail!("{}: {count} problem(s); nothing was imported", args.file.display())
}

/// What the import did, in counts.
struct Summary {
    created: usize,
    updated: usize,
    unchanged: usize,
    states: BTreeMap<&'static str, usize>,
}

impl Summary {
    fn of(outcomes: &[IngestOutcome]) -> Self {
        let mut summary = Self {
            created: 0,
            updated: 0,
            unchanged: 0,
            states: BTreeMap::new(),
        };
        for outcome in outcomes {
            if outcome.created {
                summary.created += 1;
            } else if outcome.changed {
                summary.updated += 1;
            } else {
                summary.unchanged += 1;
            }
            *summary.states.entry(outcome.state.as_str()).or_default() += 1;
        }
        summary
    }
}
