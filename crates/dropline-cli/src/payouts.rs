//! `dropline payouts balance|list|create|paid|cancel|export`: vendor balances and the
//! operator's payouts (marketplace mode), as the operator (the CLI is the operator).

use crate::config::Settings;
use crate::database::Database;
use crate::orders::refused;
use crate::output::{self, long_time};
use clap::Subcommand;
use dropline_app::payouts::NewPayout;
use dropline_app::{App, AppError, Scope};
use dropline_domain::ids::{PayoutId, StoreId};
use dropline_domain::money::Money;
use dropline_domain::payout::{Payout, PayoutEvent, PayoutState};
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum PayoutsCommand {
    /// A store's balance: pending within the holding period, available, paid out
    Balance {
        /// The store's id
        store: String,
    },
    /// List payouts, newest first
    List {
        /// Only this store's
        #[arg(long)]
        store: Option<String>,
        /// Only pending, paid or cancelled ones
        #[arg(long)]
        state: Option<String>,
    },
    /// Pay a store out: everything available, or --amount
    Create {
        /// The store's id
        store: String,
        /// A decimal amount in the store's currency (default: everything available)
        #[arg(long)]
        amount: Option<String>,
        /// A note kept with the payout
        #[arg(long)]
        note: Option<String>,
    },
    /// Record that a payout was paid
    Paid {
        /// The payout's id
        id: String,
        /// The transfer's reference in the payment system
        #[arg(long)]
        reference: Option<String>,
    },
    /// Withdraw a payout that was not paid: its amount is available again
    Cancel {
        /// The payout's id
        id: String,
    },
    /// Set a store's holding period: days a delivered order's earning waits before payout
    Holding {
        /// The store's id
        store: String,
        /// 0 to 365
        days: u32,
    },
    /// Write the payouts as CSV for the payment system (stdout)
    Export {
        /// Only pending, paid or cancelled ones (default: pending)
        #[arg(long, default_value = "pending")]
        state: String,
    },
}

fn id<T: std::str::FromStr>(text: &str, what: &str) -> anyhow::Result<T> {
    text.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("'{text}' is not a {what} id"))
}

fn state(text: &str) -> anyhow::Result<PayoutState> {
    PayoutState::parse(text.trim()).ok_or_else(|| anyhow::anyhow!("'{text}' is not pending, paid or cancelled"))
}

fn payout_json(p: &Payout) -> serde_json::Value {
    json!({
        "id": p.id,
        "store_id": p.store_id,
        "amount": p.amount.to_string(),
        "state": p.state,
        "created_at": long_time(p.created_at),
        "closed_at": p.closed_at.map(long_time),
        "reference": p.reference,
        "note": p.note,
    })
}

pub async fn run(settings: &Settings, command: PayoutsCommand, json: bool) -> anyhow::Result<ExitCode> {
    let app = App::new(Database::from_settings(settings)?.open().await?);
    let scope = Scope::Operator;
    match command {
        PayoutsCommand::Balance { store } => {
            let store_id: StoreId = id(&store, "store")?;
            let b = match app.vendor_balance(scope, store_id).await {
                Ok(b) => b,
                Err(err) => return refused(err),
            };
            if json {
                output::print_json(&json!({
                    "store_id": b.store_id,
                    "pending": b.pending.to_string(),
                    "available": b.available.to_string(),
                    "payouts_pending": b.payouts_pending.to_string(),
                    "paid_out": b.paid_out.to_string(),
                    "holding_days": b.holding_days,
                    "orders": b.orders,
                    "orders_in_other_currencies": b.orders_in_other_currencies,
                }))?;
            } else {
                println!(
                    "pending {} · available {} · payouts pending {} · paid out {} ({} delivered orders, held {} days)",
                    b.pending, b.available, b.payouts_pending, b.paid_out, b.orders, b.holding_days
                );
            }
        }
        PayoutsCommand::List { store, state: wanted } => {
            let store_id = store.map(|s| id::<StoreId>(&s, "store")).transpose()?;
            let wanted = wanted.map(|s| state(&s)).transpose()?;
            let payouts = match app.list_payouts(scope, store_id, wanted, None, 500).await {
                Ok(p) => p,
                Err(err) => return refused(err),
            };
            print_payouts(&payouts, json)?;
        }
        PayoutsCommand::Create { store, amount, note } => {
            let store_id: StoreId = id(&store, "store")?;
            let record = match app.get_store(scope, store_id).await {
                Ok(record) => record,
                Err(err) => return refused(err),
            };
            let amount = match amount.map(|a| Money::parse_decimal(a.trim(), record.store.currency)) {
                None => None,
                Some(Ok(amount)) => Some(amount),
                Some(Err(err)) => return refused(AppError::invalid("amount", err.to_string())),
            };
            match app.create_payout(scope, store_id, NewPayout { amount, note }).await {
                Ok(payout) => print_payouts(&[payout], json)?,
                Err(err) => return refused(err),
            }
        }
        PayoutsCommand::Paid { id: payout, reference } => {
            let payout: PayoutId = id(&payout, "payout")?;
            match app.move_payout(scope, payout, PayoutEvent::MarkPaid, reference).await {
                Ok(payout) => print_payouts(&[payout], json)?,
                Err(err) => return refused(err),
            }
        }
        PayoutsCommand::Cancel { id: payout } => {
            let payout: PayoutId = id(&payout, "payout")?;
            match app.move_payout(scope, payout, PayoutEvent::Cancel, None).await {
                Ok(payout) => print_payouts(&[payout], json)?,
                Err(err) => return refused(err),
            }
        }
        PayoutsCommand::Holding { store, days } => {
            let store_id: StoreId = id(&store, "store")?;
            if let Err(err) = app.set_holding_days(scope, store_id, days).await {
                return refused(err);
            }
            if json {
                output::print_json(&json!({ "store_id": store_id, "holding_days": days }))?;
            } else {
                println!("store {store_id}: earnings are held {days} days after delivery");
            }
        }
        PayoutsCommand::Export { state: wanted } => {
            let wanted = state(&wanted)?;
            let payouts = match app.list_payouts(scope, None, Some(wanted), None, 500).await {
                Ok(p) => p,
                Err(err) => return refused(err),
            };
            let stores = app.list_stores(scope).await?;
            let csv = dropline_web::payouts_csv(&payouts, &stores)?;
            use std::io::Write;
            std::io::stdout().write_all(&csv)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_payouts(payouts: &[Payout], json: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = payouts.iter().map(payout_json).collect();
        return output::print_json(&rows);
    }
    if payouts.is_empty() {
        println!("no payouts");
        return Ok(());
    }
    let mut table = output::table(["ID", "STORE", "AMOUNT", "STATE", "CREATED", "REFERENCE"]);
    for p in payouts {
        table.add_row([
            p.id.to_string(),
            p.store_id.to_string(),
            p.amount.to_string(),
            p.state.to_string(),
            long_time(p.created_at),
            p.reference.clone().unwrap_or_default(),
        ]);
    }
    println!("{table}");
    Ok(())
}
