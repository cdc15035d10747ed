//! `dropline rates set|list`: the operator's exchange-rate table (the CLI is the operator).
//! Supplier costs in another currency than their order's are converted with it.

use crate::config::Settings;
use crate::database::Database;
use crate::orders::refused;
use crate::output::{self, long_time};
use clap::Subcommand;
use dropline_app::rates::NewExchangeRate;
use dropline_app::{App, AppError, Scope};
use dropline_domain::ledger::{ExchangeRate, format_rate, parse_rate};
use dropline_domain::money::Currency;
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum RatesCommand {
    /// Set a rate from a day on: one unit of FROM is RATE units of TO
    Set {
        /// ISO 4217 code of the currency converted from (USD)
        from: String,
        /// ISO 4217 code of the currency converted to (EUR)
        to: String,
        /// A decimal such as 0.92 (at most 6 decimals)
        rate: String,
        /// From which day (UTC) it applies, YYYY-MM-DD (default: today)
        #[arg(long)]
        effective_on: Option<String>,
    },
    /// The table, by pair, newest first
    List,
}

fn rate_json(r: &ExchangeRate) -> serde_json::Value {
    json!({
        "from": r.from.to_string(),
        "to": r.to.to_string(),
        "rate": format_rate(r.per_million),
        "effective_on": r.effective_on.to_string(),
        "set_at": long_time(r.set_at),
        "set_by": r.set_by,
    })
}

fn print_rates(rates: &[ExchangeRate], json: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = rates.iter().map(rate_json).collect();
        return output::print_json(&rows);
    }
    if rates.is_empty() {
        println!("no exchange rates");
        return Ok(());
    }
    let mut table = output::table(["FROM", "TO", "RATE", "EFFECTIVE", "SET", "BY"]);
    for r in rates {
        table.add_row([
            r.from.to_string(),
            r.to.to_string(),
            format_rate(r.per_million),
            r.effective_on.to_string(),
            long_time(r.set_at),
            r.set_by.clone(),
        ]);
    }
    println!("{table}");
    Ok(())
}

pub async fn run(settings: &Settings, command: RatesCommand, json: bool) -> anyhow::Result<ExitCode> {
    let app = App::new(Database::from_settings(settings)?.open().await?);
    let scope = Scope::Operator;
    match command {
        RatesCommand::Set {
            from,
            to,
            rate,
            effective_on,
        } => {
            let currency = |field: &'static str, text: &str| {
                Currency::parse(text.trim().to_ascii_uppercase().as_str())
                    .map_err(|_| AppError::invalid(field, "is not an ISO 4217 currency code"))
            };
            let parsed = (|| -> Result<NewExchangeRate, AppError> {
                let effective_on = match effective_on {
                    None => app.now().date(),
                    Some(text) => {
                        time::Date::parse(text.trim(), time::macros::format_description!("[year]-[month]-[day]"))
                            .map_err(|_| AppError::invalid("effective_on", "must be a date such as 2026-12-01"))?
                    }
                };
                Ok(NewExchangeRate {
                    from: currency("from", &from)?,
                    to: currency("to", &to)?,
                    per_million: parse_rate(&rate).map_err(|reason| AppError::invalid("rate", reason))?,
                    effective_on,
                    set_by: "cli".into(),
                })
            })();
            let new = match parsed {
                Ok(new) => new,
                Err(err) => return refused(err),
            };
            match app.set_exchange_rate(scope, new).await {
                Ok(rate) => print_rates(&[rate], json)?,
                Err(err) => return refused(err),
            }
        }
        RatesCommand::List => match app.list_exchange_rates(scope).await {
            Ok(rates) => print_rates(&rates, json)?,
            Err(err) => return refused(err),
        },
    }
    Ok(ExitCode::SUCCESS)
}
