//! `dropline orders list|show|accept|reject|refund|ledger`, as the operator (every store).

use crate::config::Settings;
use crate::database::Database;
use crate::output::{self, long_time, short_time};
use anyhow::Context;
use clap::Subcommand;
use dropline_app::ports::OrderFilter;
use dropline_app::{App, Decision, Scope};
use dropline_domain::ids::{OrderId, StoreId};
use dropline_domain::order::{Order, SupplierOrder};
use dropline_domain::state::OrderState;
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// List orders, newest first
    List {
        /// Only orders in this state (pending_review, accepted, on_hold, in_fulfillment, shipped, ...)
        #[arg(long, value_name = "STATE", value_parser = parse_state)]
        state: Option<OrderState>,
        /// Only orders of this store (id)
        #[arg(long, value_name = "ID", value_parser = parse_store_id)]
        store: Option<StoreId>,
        /// At most this many orders (1 to 500)
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: u32,
        /// Orders older than this one: the cursor printed under the previous page
        #[arg(long, value_name = "CURSOR", value_parser = parse_order_id)]
        before: Option<OrderId>,
        /// Only orders found by this: order number, part of the customer's name or email, or
        /// a tracking number
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
    },
    /// Show one order: lines, supplier orders, parcels and timeline
    Show {
        #[arg(value_name = "ID", value_parser = parse_order_id)]
        id: OrderId,
    },
    /// Accept orders in review: the worker then routes them to their suppliers
    Accept {
        #[arg(value_name = "ID", required = true, value_parser = parse_order_id)]
        ids: Vec<OrderId>,
    },
    /// Reject orders in review or on hold
    Reject {
        #[arg(value_name = "ID", required = true, value_parser = parse_order_id)]
        ids: Vec<OrderId>,
    },
    /// Refund the customer (at most what is still refundable); the customer is emailed
    Refund {
        #[arg(value_name = "ID", value_parser = parse_order_id)]
        id: OrderId,
        /// The amount in the order's currency, e.g. 12.50
        #[arg(long, value_name = "AMOUNT")]
        amount: String,
        /// Why (kept on the order's timeline)
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Show an order's ledger (every money movement, with the store's fees) and its profit
    Ledger {
        #[arg(value_name = "ID", value_parser = parse_order_id)]
        id: OrderId,
    },
}

pub fn parse_order_id(text: &str) -> Result<OrderId, String> {
    text.trim().parse().map_err(|_| format!("'{text}' is not an order id"))
}

pub fn parse_store_id(text: &str) -> Result<StoreId, String> {
    text.trim().parse().map_err(|_| format!("'{text}' is not a store id"))
}

fn parse_state(text: &str) -> Result<OrderState, String> {
    OrderState::parse(text.trim()).ok_or_else(|| {
        let names: Vec<&str> = OrderState::ALL.iter().map(OrderState::as_str).collect();
        format!("'{text}' is not an order state (one of {})", names.join(", "))
    })
}

pub async fn run(settings: &Settings, command: OrdersCommand, json: bool) -> anyhow::Result<ExitCode> {
    let backend = Database::from_settings(settings)?.open().await?;
    let app = App::new(backend);
    match command {
        OrdersCommand::List {
            state,
            store,
            limit,
            before,
            search,
        } => {
            let filter = OrderFilter {
                store_id: store,
                state,
                before,
                limit,
                search,
                ..OrderFilter::default()
            };
            list(&app, filter, json).await
        }
        OrdersCommand::Show { id } => show(&app, id, json).await,
        OrdersCommand::Accept { ids } => review(&app, &ids, Decision::Accept, json).await,
        OrdersCommand::Reject { ids } => review(&app, &ids, Decision::Reject, json).await,
        OrdersCommand::Refund { id, amount, reason } => refund(&app, id, &amount, reason, json).await,
        OrdersCommand::Ledger { id } => ledger(&app, id, json).await,
    }
}

/// A refusal of the engine (bad input, a state that does not allow it, nothing found) is
/// printed with exit code 1; a failure is an error.
pub(crate) fn refused(err: dropline_app::AppError) -> anyhow::Result<ExitCode> {
    use dropline_app::AppError as E;
    match err {
        E::Invalid(_) | E::IllegalTransition(_) | E::NotFound(_) => {
            eprintln!("refused: {err}");
            Ok(ExitCode::from(1))
        }
        other => Err(other.into()),
    }
}

async fn refund(app: &App, id: OrderId, amount: &str, reason: String, json: bool) -> anyhow::Result<ExitCode> {
    let order = match app.get_order(Scope::Operator, id).await {
        Ok(order) => order,
        Err(err) => return refused(err),
    };
    let amount = match dropline_domain::money::Money::parse_decimal(amount.trim(), order.currency) {
        Ok(amount) => amount,
        Err(err) => return refused(dropline_app::AppError::invalid("amount", err.to_string())),
    };
    let new = dropline_app::after_sale::NewRefund {
        amount: Some(amount),
        reason,
        lines: Vec::new(),
    };
    let (order, refund_id) = match app.refund_order(Scope::Operator, id, new).await {
        Ok(done) => done,
        Err(err) => return refused(err),
    };
    if json {
        output::print_json(&json!({
            "order_id": order.id,
            "refund_id": refund_id,
            "amount": amount.to_string(),
            "payment": order.payment,
        }))?;
    } else {
        println!(
            "Refunded {amount} of order {} (payment {})",
            order.number, order.payment
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn ledger(app: &App, id: OrderId, json: bool) -> anyhow::Result<ExitCode> {
    let money = match app.order_money(Scope::Operator, id).await {
        Ok(money) => money,
        Err(err) => return refused(err),
    };
    if json {
        output::print_json(&json!({
            "entries": money.entries.iter().map(|e| json!({
                "kind": e.kind,
                "amount": e.amount.to_string(),
                "sign": e.kind.sign(),
                "at": long_time(e.at),
            })).collect::<Vec<_>>(),
            "revenue": money.profit.revenue.to_string(),
            "costs": money.profit.costs.to_string(),
            "profit": money.profit.profit.to_string(),
            "margin_bp": money.profit.margin_bp,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = output::table(["ENTRY", "AMOUNT", "AT (UTC)"]);
    for entry in &money.entries {
        let sign = match entry.kind.sign() {
            1 => "+",
            0 => "",
            _ => "-",
        };
        table.add_row([
            entry.kind.to_string(),
            format!("{sign}{}", entry.amount),
            long_time(entry.at),
        ]);
    }
    println!("{table}");
    let margin = money
        .profit
        .margin_bp
        .map(|bp| format!(", margin {}.{:02} %", bp / 100, (bp % 100).abs()))
        .unwrap_or_default();
    println!(
        "Revenue {}, costs {}, profit {}{margin}",
        money.profit.revenue, money.profit.costs, money.profit.profit
    );
    Ok(ExitCode::SUCCESS)
}

async fn list(app: &App, filter: OrderFilter, json: bool) -> anyhow::Result<ExitCode> {
    let limit = filter.limit as usize;
    let orders = app
        .list_orders(Scope::Operator, filter)
        .await
        .context("while listing orders")?;
    let next = if orders.len() == limit {
        orders.last().map(|order| order.id)
    } else {
        None
    };
    if json {
        output::print_json(&json!({ "orders": orders, "next_before": next }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if orders.is_empty() {
        println!("no orders");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = output::table([
        "ID", "NUMBER", "STATE", "PAYMENT", "CUSTOMER", "SHIP TO", "TOTAL", "PLACED",
    ]);
    for order in &orders {
        let state = if order.hold_reasons.is_empty() {
            order.state.to_string()
        } else {
            let reasons: Vec<&str> = order.hold_reasons.iter().map(|r| r.as_str()).collect();
            format!("{} ({})", order.state, reasons.join(", "))
        };
        table.add_row([
            order.id.to_string(),
            order.number.clone(),
            state,
            order.payment.to_string(),
            order.customer.name.clone(),
            format!(
                "{}, {}",
                order.shipping_address.city, order.shipping_address.country_code
            ),
            order.total.to_string(),
            short_time(order.placed_at),
        ]);
    }
    println!("{table}");
    if let Some(cursor) = next {
        println!("more: dropline orders list --before {cursor}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(app: &App, id: OrderId, json: bool) -> anyhow::Result<ExitCode> {
    let order = app
        .get_order(Scope::Operator, id)
        .await
        .with_context(|| format!("while reading order {id}"))?;
    let timeline = app
        .timeline(Scope::Operator, id)
        .await
        .with_context(|| format!("while reading order {id}"))?;
    if json {
        output::print_json(&json!({ "order": order, "timeline": timeline }))?;
        return Ok(ExitCode::SUCCESS);
    }
    print_order(&order);
    println!();
    println!("Timeline");
    let mut table = output::table(["AT (UTC)", "WHO", "WHAT", "FROM", "TO"]);
    for event in &timeline {
        let who = match &event.actor {
            dropline_domain::timeline::Actor::System => "system".to_string(),
            dropline_domain::timeline::Actor::Rule(name) => format!("rule {name}"),
            dropline_domain::timeline::Actor::Seller(name) => format!("seller {name}"),
            dropline_domain::timeline::Actor::Operator => "operator".to_string(),
            dropline_domain::timeline::Actor::Storefront(name) => format!("storefront {name}"),
            dropline_domain::timeline::Actor::Worker => "worker".to_string(),
            dropline_domain::timeline::Actor::Customer => "customer".to_string(),
        };
        table.add_row([
            long_time(event.at),
            who,
            event.message.clone(),
            event.from_state.clone().unwrap_or_default(),
            event.to_state.clone().unwrap_or_default(),
        ]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

fn print_order(order: &Order) {
    let mut summary = output::table(["ORDER", order.number.as_str()]);
    let address = &order.shipping_address;
    let rows: Vec<(&str, String)> = vec![
        ("id", order.id.to_string()),
        ("store", order.store_id.to_string()),
        ("external id", order.external_id.clone()),
        ("state", order.state.to_string()),
        (
            "hold reasons",
            order
                .hold_reasons
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("payment", order.payment.to_string()),
        (
            "customer",
            [
                Some(order.customer.name.clone()),
                order.customer.email.clone(),
                order.customer.phone.clone(),
            ]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · "),
        ),
        ("ship to", format_address(address)),
        ("subtotal", order.subtotal.to_string()),
        ("shipping", order.shipping_total.to_string()),
        ("total", order.total.to_string()),
        ("placed", short_time(order.placed_at)),
        ("received", short_time(order.received_at)),
    ];
    for (key, value) in rows {
        if !value.is_empty() {
            summary.add_row([key.to_string(), value]);
        }
    }
    println!("{summary}");

    if !order.findings.is_empty() {
        println!();
        println!("Validation findings");
        let mut table = output::table(["SEVERITY", "FIELD", "CODE", "MESSAGE"]);
        for finding in &order.findings {
            let severity = if finding.is_error() { "error" } else { "warning" };
            table.add_row([severity, &finding.field, &finding.code, &finding.message]);
        }
        println!("{table}");
    }

    println!();
    println!("Lines");
    let mut lines = output::table(["SKU", "TITLE", "QTY", "UNIT PRICE", "SHIPS"]);
    for line in &order.lines {
        let title = match &line.variant_title {
            Some(variant) => format!("{} — {variant}", line.title),
            None => line.title.clone(),
        };
        lines.add_row([
            line.sku.clone(),
            title,
            line.quantity.to_string(),
            line.unit_price.to_string(),
            if line.requires_shipping { "yes" } else { "no (digital)" }.to_string(),
        ]);
    }
    println!("{lines}");

    for supplier_order in &order.supplier_orders {
        println!();
        print_supplier_order(supplier_order);
    }
}

fn print_supplier_order(supplier_order: &SupplierOrder) {
    println!(
        "Supplier order {} — {} ({})",
        supplier_order.id, supplier_order.supplier_name, supplier_order.supplier_kind
    );
    let mut summary = output::table(["FIELD", "VALUE"]);
    summary.add_row(["state".to_string(), supplier_order.state.to_string()]);
    summary.add_row(["ship to".to_string(), format_address(&supplier_order.ship_to)]);
    if let Some(method) = &supplier_order.shipping_method {
        summary.add_row(["shipping method".to_string(), method.clone()]);
    }
    summary.add_row(["expected cost".to_string(), supplier_order.expected_cost.to_string()]);
    if let Some(cost) = supplier_order.actual_cost {
        summary.add_row(["actual cost".to_string(), cost.to_string()]);
    }
    summary.add_row([
        "supplier's order id".to_string(),
        supplier_order
            .supplier_reference
            .clone()
            .unwrap_or_else(|| "not placed yet".to_string()),
    ]);
    summary.add_row(["idempotency key".to_string(), supplier_order.idempotency_key.clone()]);
    println!("{summary}");
    let mut lines = output::table(["SUPPLIER SKU", "ITEM", "QTY", "UNIT COST", "PRODUCT PAGE"]);
    for line in &supplier_order.lines {
        let title = match &line.variant_title {
            Some(variant) => format!("{} — {variant}", line.title),
            None => line.title.clone(),
        };
        lines.add_row([
            line.supplier_sku.clone(),
            title,
            line.quantity.to_string(),
            line.unit_cost.to_string(),
            line.product_url.clone().unwrap_or_default(),
        ]);
    }
    println!("{lines}");
    if !supplier_order.shipments.is_empty() {
        let mut parcels = output::table(["PARCEL", "CARRIER", "TRACKING", "STATE", "SHIPPED", "DELIVERED"]);
        for shipment in &supplier_order.shipments {
            parcels.add_row([
                shipment.id.to_string(),
                shipment.carrier.clone(),
                shipment.tracking_number.clone(),
                shipment.state.to_string(),
                shipment.shipped_at.map(short_time).unwrap_or_default(),
                shipment.delivered_at.map(short_time).unwrap_or_default(),
            ]);
        }
        println!("{parcels}");
    }
}

fn format_address(address: &dropline_domain::address::Address) -> String {
    let mut parts = vec![address.full_name()];
    if let Some(company) = address.company.as_deref().filter(|c| !c.is_empty()) {
        parts.push(company.to_string());
    }
    parts.push(address.address1.clone());
    if let Some(line) = address.address2.as_deref().filter(|l| !l.is_empty()) {
        parts.push(line.to_string());
    }
    let locality = [
        address.postal_code.as_str(),
        address.city.as_str(),
        address.region.as_deref().unwrap_or(""),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    parts.push(locality);
    parts.push(address.country_code.clone());
    if let Some(phone) = address.phone.as_deref().filter(|p| !p.is_empty()) {
        parts.push(format!("tel. {phone}"));
    }
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn review(app: &App, ids: &[OrderId], decision: Decision, json: bool) -> anyhow::Result<ExitCode> {
    let outcomes = app.review_orders(Scope::Operator, ids, decision).await;
    let failed = outcomes.iter().filter(|outcome| outcome.result.is_err()).count();
    if json {
        let rows: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|outcome| match &outcome.result {
                Ok(state) => json!({ "order_id": outcome.order_id, "ok": true, "state": state }),
                Err(err) => json!({
                    "order_id": outcome.order_id,
                    "ok": false,
                    "error": { "code": err.code(), "message": err.to_string() },
                }),
            })
            .collect();
        output::print_json(&rows)?;
    } else {
        let mut table = output::table(["ORDER", "RESULT"]);
        for outcome in &outcomes {
            let result = match &outcome.result {
                Ok(state) => format!("now {state}"),
                Err(err) => format!("refused: {err}"),
            };
            table.add_row([outcome.order_id.to_string(), result]);
        }
        println!("{table}");
        if decision == Decision::Accept && failed < outcomes.len() {
            println!("accepted orders are routed by the worker (dropline serve or dropline worker)");
        }
    }
    let verb = match decision {
        Decision::Accept => "accepted",
        Decision::Reject => "rejected",
    };
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} order(s) could not be {verb}",
        outcomes.len()
    );
    Ok(ExitCode::SUCCESS)
}
