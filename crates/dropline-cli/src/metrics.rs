//! `dropline metrics breakdown`: a store's orders of the last days per supplier, lane
//! (supplier × destination) or product: processing and shipping times (median and 90th
//! percentile), refund and chargeback rates, fulfillment cost per order, revenue, costs,
//! profit and margin. `--json` prints what `GET /api/v1/metrics/breakdown` answers.

use crate::config::Settings;
use crate::database::Database;
use crate::output;
use anyhow::Context;
use clap::Subcommand;
use dropline_app::breakdown::{Breakdown, BreakdownBy, Durations, Figures};
use dropline_app::{App, AppError, Scope};
use dropline_domain::ids::StoreId;
use dropline_web::api::metrics::BreakdownJson;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum MetricsCommand {
    /// A store's orders of the last days per supplier, lane or product: times, rates,
    /// cost per order, revenue, costs, profit and margin
    Breakdown {
        /// The store's id
        #[arg(long)]
        store: String,
        /// UTC days to look back, today included (1 to 366)
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
        /// supplier, lane (supplier × destination country) or product
        #[arg(long, default_value = "supplier", value_parser = parse_by)]
        by: BreakdownBy,
    },
}

fn parse_by(text: &str) -> Result<BreakdownBy, String> {
    BreakdownBy::parse(text.trim()).ok_or_else(|| {
        let names: Vec<&str> = BreakdownBy::ALL.iter().map(|by| by.as_str()).collect();
        format!("'{text}' is not a grouping (one of {})", names.join(", "))
    })
}

pub async fn run(settings: &Settings, command: MetricsCommand, json: bool) -> anyhow::Result<ExitCode> {
    let MetricsCommand::Breakdown { store, days, by } = command;
    let store_id: StoreId = store
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("'{store}' is not a store id"))?;
    let app = App::new(Database::from_settings(settings)?.open().await?);
    let breakdown = match app.breakdown(Scope::Operator, store_id, days, by).await {
        Ok(breakdown) => breakdown,
        Err(AppError::NotFound(_)) => anyhow::bail!("no store {store_id}"),
        Err(err) => return Err(err).context("while computing the breakdown"),
    };
    if json {
        output::print_json(&BreakdownJson::from(breakdown))?;
    } else {
        print_table(&breakdown);
    }
    Ok(ExitCode::SUCCESS)
}

/// Tenths of `unit` seconds, as `12.5`.
fn tenths(seconds: i64, unit: i64) -> String {
    let tenths =
        dropline_app::metrics::rounded_average(seconds.saturating_mul(10), unit.unsigned_abs()).unwrap_or_default();
    let sign = if tenths < 0 { "-" } else { "" };
    format!("{sign}{}.{}", tenths.unsigned_abs() / 10, tenths.unsigned_abs() % 10)
}

fn durations(d: Option<Durations>, unit: i64) -> String {
    d.map_or_else(
        || "-".to_string(),
        |d| format!("{} / {}", tenths(d.median_seconds, unit), tenths(d.p90_seconds, unit)),
    )
}

/// Basis points as a percentage with two decimals.
fn percent(bp: Option<i64>) -> String {
    bp.map_or_else(
        || "-".to_string(),
        |bp| {
            let sign = if bp < 0 { "-" } else { "" };
            format!("{sign}{}.{:02}", bp.unsigned_abs() / 100, bp.unsigned_abs() % 100)
        },
    )
}

fn figures(f: &Figures) -> Vec<String> {
    let rate = |bp: Option<u64>| percent(bp.map(|bp| i64::try_from(bp).unwrap_or(i64::MAX)));
    vec![
        f.orders.to_string(),
        durations(f.processing, 3600),
        durations(f.shipping, 86_400),
        rate(f.refund_rate_bp),
        rate(f.chargeback_rate_bp),
        f.cost_per_order.map_or_else(|| "-".to_string(), |m| m.amount_string()),
        f.revenue.amount_string(),
        f.costs.amount_string(),
        f.profit.amount_string(),
        percent(f.margin_bp),
    ]
}

fn print_table(breakdown: &Breakdown) {
    let currency = breakdown.currency.code();
    let mut header: Vec<String> = match breakdown.by {
        BreakdownBy::Supplier => vec!["SUPPLIER".into()],
        BreakdownBy::Lane => vec!["SUPPLIER".into(), "TO".into()],
        BreakdownBy::Product => vec!["PRODUCT".into()],
    };
    header.extend([
        "ORDERS".to_string(),
        "PROCESSING H (MED / P90)".to_string(),
        "SHIPPING D (MED / P90)".to_string(),
        "REFUNDS %".to_string(),
        "CHARGEBACKS %".to_string(),
        format!("COST/ORDER {currency}"),
        format!("REVENUE {currency}"),
        format!("COSTS {currency}"),
        format!("PROFIT {currency}"),
        "MARGIN %".to_string(),
    ]);
    let mut table = output::table(header);
    for group in &breakdown.groups {
        let mut row = Vec::with_capacity(12);
        match breakdown.by {
            BreakdownBy::Product => row.push(match (group.key.product_id, &group.product_title) {
                (None, _) => "(not in the catalogue)".to_string(),
                (Some(_), Some(title)) => title.clone(),
                (Some(id), None) => id.to_string(),
            }),
            BreakdownBy::Supplier | BreakdownBy::Lane => {
                row.push(match (group.key.supplier_id, &group.supplier_name) {
                    (None, _) => "(at no supplier yet)".to_string(),
                    (Some(_), Some(name)) => name.clone(),
                    (Some(id), None) => id.to_string(),
                });
                if breakdown.by == BreakdownBy::Lane {
                    row.push(group.key.country.clone().unwrap_or_default());
                }
            }
        }
        row.extend(figures(&group.figures));
        table.add_row(row);
    }
    let mut total = vec!["ALL ORDERS".to_string()];
    if breakdown.by == BreakdownBy::Lane {
        total.push(String::new());
    }
    total.extend(figures(&breakdown.total));
    table.add_row(total);
    println!(
        "orders placed {} to {} (UTC), by {}",
        breakdown.from.date(),
        (breakdown.to - time::Duration::days(1)).date(),
        breakdown.by
    );
    println!("{table}");
    if breakdown.total.orders_left_out > 0 {
        println!(
            "{} orders in other currencies than {currency}: their money is left out",
            breakdown.total.orders_left_out
        );
    }
    if breakdown.supplier_costs_left_out > 0 {
        println!(
            "{} supplier orders charged in another currency: left out of the costs",
            breakdown.supplier_costs_left_out
        );
    }
}
