//! The dashboard's overview page (`/`): today's orders, the orders waiting for a person, and
//! six charts of the last 7, 30 or 90 UTC days (orders, processing time, shipping time,
//! refund rate, chargeback rate, fulfillment cost per order), each with its numbers in a table;
//! under them, for one store, the same period by supplier, by lane (supplier × destination)
//! and the 20 most profitable products: times, rates, cost per order, revenue, costs, profit
//! and margin ([`dropline_app::breakdown`]).
//!
//! The charts are small SVG drawings written here, not plotters: plotters lays text out with
//! a font backend (its default `ttf` feature needs fontconfig, and without one its axis
//! labels cannot be measured), and its SVG has a fixed pixel size with no `role`, `<title>`
//! or ARIA label. A bar chart of at most 90 bars is a few dozen elements whose text the
//! browser lays out itself, drawn with a `viewBox` so it scales to a phone, and needs no
//! script. Values stay integers (counts, tenths of hours and days,
//! basis points, minor units); coordinates are integer tenths of a `viewBox` unit.

use super::pages::Layout;
use super::{Signed, failure, message, not_found, page};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::breakdown::{Breakdown, BreakdownBy, BreakdownGroup, Durations, Figures};
use dropline_app::metrics::{DaySummary, Overview, rounded_average};
use dropline_app::{AppError, Scope};
use dropline_domain::ids::StoreId;
use serde::Deserialize;
use std::fmt::Write as _;
use time::Date;

/// The periods a person may choose, in days.
const PERIODS: [u32; 3] = [7, 30, 90];
/// The period without a choice.
const DEFAULT_DAYS: u32 = 30;

/// A query value that is there and not blank.
fn given(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

#[derive(Deserialize, Default)]
pub(super) struct OverviewQuery {
    #[serde(default)]
    days: Option<String>,
    #[serde(default)]
    store: Option<String>,
}

pub(super) async fn overview_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<OverviewQuery>,
) -> Response {
    let operator = signed.scope == Scope::Operator;
    let days = match given(query.days.as_ref()) {
        None => DEFAULT_DAYS,
        Some(text) => match PERIODS.iter().find(|days| days.to_string() == text) {
            Some(days) => *days,
            None => {
                return message(
                    StatusCode::BAD_REQUEST,
                    Some(signed.layout()),
                    "Unknown filter",
                    "The days filter in the address is not one dropline knows: choose 7, 30 or 90 days.",
                );
            }
        },
    };
    // Only the operator picks a store; everyone else sees their own.
    let store = match given(query.store.as_ref()) {
        Some(text) if operator => match text.parse::<StoreId>() {
            Ok(id) => Some(id),
            Err(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    Some(signed.layout()),
                    "Unknown filter",
                    "The store filter in the address is not one dropline knows.",
                );
            }
        },
        _ => None,
    };
    let overview = match state.app.overview(signed.scope, store, days, state.app.now()).await {
        Ok(overview) => overview,
        Err(AppError::NotFound(_)) => return not_found(Some(signed.layout())),
        Err(err) => return failure(&err),
    };
    let stores = match state.app.list_stores(signed.scope).await {
        Ok(stores) => stores,
        Err(err) => return failure(&err),
    };
    let picker: Vec<StoreOption> = if operator {
        stores
            .iter()
            .map(|record| StoreOption {
                id: record.store.id.to_string(),
                name: record.store.name.clone(),
                selected: overview.store_id == Some(record.store.id),
            })
            .collect()
    } else {
        Vec::new()
    };
    // The breakdowns need one store: the seller's, or the one the operator picked.
    let breakdowns = match overview.store_id {
        Some(id) => match state.app.breakdowns(signed.scope, id, days, &BreakdownBy::ALL).await {
            Ok(breakdowns) => Some(breakdowns),
            Err(AppError::NotFound(_)) => return not_found(Some(signed.layout())),
            Err(err) => return failure(&err),
        },
        None => None,
    };
    let scope_label = match overview.store_id {
        Some(id) => stores
            .iter()
            .find(|record| record.store.id == id)
            .map_or_else(|| id.to_string(), |record| record.store.name.clone()),
        None => "All stores".to_string(),
    };
    page(
        StatusCode::OK,
        &OverviewPage::new(
            signed.layout(),
            operator,
            scope_label,
            picker,
            days,
            &overview,
            breakdowns.as_deref(),
        ),
    )
}

pub(crate) struct StoreOption {
    id: String,
    name: String,
    selected: bool,
}

pub(crate) struct PeriodLink {
    days: u32,
    href: String,
    current: bool,
}

/// One row of a chart's table: the day and its cells.
pub(crate) struct TableRow {
    day: String,
    cells: Vec<String>,
}

/// A chart with its numbers.
pub(crate) struct Chart {
    id: &'static str,
    title: String,
    svg: String,
    note: Option<String>,
    headers: Vec<String>,
    rows: Vec<TableRow>,
}

/// One row of a breakdown table: the group's name and its figures.
pub(crate) struct GroupRow {
    /// The group's ids (`supplier id`, `supplier id/country`, `product id`, `none`).
    key: String,
    label: String,
    cells: Vec<String>,
}

/// A table of the period by supplier, lane or product.
pub(crate) struct GroupTable {
    id: &'static str,
    title: String,
    caption: String,
    headers: Vec<String>,
    rows: Vec<GroupRow>,
    /// The period's orders once, under the groups.
    total: Vec<String>,
    notes: Vec<String>,
}

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
pub(crate) struct OverviewPage {
    layout: Option<Layout>,
    operator: bool,
    scope_label: String,
    stores: Vec<StoreOption>,
    days: u32,
    periods: Vec<PeriodLink>,
    today: String,
    orders_today: u64,
    pending_review: u64,
    on_hold: u64,
    with_exceptions: u64,
    charts: Vec<Chart>,
    /// By supplier, by lane and by product; empty over every store.
    tables: Vec<GroupTable>,
}

impl OverviewPage {
    fn new(
        layout: Layout,
        operator: bool,
        scope_label: String,
        stores: Vec<StoreOption>,
        days: u32,
        overview: &Overview,
        breakdowns: Option<&[Breakdown]>,
    ) -> Self {
        let store = overview.store_id.map(|id| id.to_string()).unwrap_or_default();
        let periods = PERIODS
            .iter()
            .map(|period| PeriodLink {
                days: *period,
                href: if store.is_empty() || !operator {
                    format!("/?days={period}")
                } else {
                    format!("/?days={period}&store={store}")
                },
                current: *period == days,
            })
            .collect();
        Self {
            layout: Some(layout),
            operator,
            scope_label,
            stores,
            days,
            periods,
            today: overview.today.to_string(),
            orders_today: overview.orders_today(),
            pending_review: overview.pending_review,
            on_hold: overview.on_hold,
            with_exceptions: overview.with_exceptions,
            charts: charts(overview),
            tables: breakdowns.unwrap_or_default().iter().map(group_table).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The breakdown tables
// ---------------------------------------------------------------------------------------------

/// Products a table shows at most.
const TOP_PRODUCTS: usize = 20;

/// Median and 90th percentile in tenths of `unit` seconds: `12.5 / 30.0`.
fn durations_cell(durations: Option<Durations>, unit: i64) -> String {
    match durations {
        Some(d) => format!(
            "{} / {}",
            cell(
                rounded_average(d.median_seconds.saturating_mul(10), unit.unsigned_abs()),
                1
            ),
            cell(
                rounded_average(d.p90_seconds.saturating_mul(10), unit.unsigned_abs()),
                1
            ),
        ),
        None => "–".to_string(),
    }
}

fn rate_cell(bp: Option<u64>) -> String {
    cell(bp.map(|bp| i64::try_from(bp).unwrap_or(i64::MAX)), 2)
}

/// The figures of a row, in the order of [`FIGURE_HEADERS`].
fn figure_cells(figures: &Figures) -> Vec<String> {
    vec![
        figures.orders.to_string(),
        durations_cell(figures.processing, 3600),
        durations_cell(figures.shipping, 86_400),
        rate_cell(figures.refund_rate_bp),
        rate_cell(figures.chargeback_rate_bp),
        figures
            .cost_per_order
            .map_or_else(|| "–".to_string(), |money| money.amount_string()),
        figures.revenue.amount_string(),
        figures.costs.amount_string(),
        figures.profit.amount_string(),
        cell(figures.margin_bp, 2),
    ]
}

fn figure_headers(currency: &str) -> Vec<String> {
    vec![
        "Orders".into(),
        "Processing hours (median / 90 %)".into(),
        "Shipping days (median / 90 %)".into(),
        "Refund rate (%)".into(),
        "Chargeback rate (%)".into(),
        format!("Cost per order ({currency})"),
        format!("Revenue ({currency})"),
        format!("Costs ({currency})"),
        format!("Profit ({currency})"),
        "Margin (%)".into(),
    ]
}

fn supplier_label(group: &BreakdownGroup) -> String {
    match (group.key.supplier_id, &group.supplier_name) {
        (None, _) => "Not at a supplier yet".to_string(),
        (Some(_), Some(name)) => name.clone(),
        (Some(id), None) => id.to_string(),
    }
}

fn group_table(breakdown: &Breakdown) -> GroupTable {
    let currency = breakdown.currency.code();
    let mut headers = Vec::new();
    let (id, title, first_header) = match breakdown.by {
        BreakdownBy::Supplier => ("by-supplier", "By supplier", "Supplier"),
        BreakdownBy::Lane => ("by-lane", "By lane (supplier × destination)", "Supplier"),
        BreakdownBy::Product => ("by-product", "Most profitable products", "Product"),
    };
    headers.push(first_header.to_string());
    if breakdown.by == BreakdownBy::Lane {
        headers.push("Destination".to_string());
    }
    headers.extend(figure_headers(currency));
    let shown = match breakdown.by {
        BreakdownBy::Product => TOP_PRODUCTS,
        _ => usize::MAX,
    };
    let rows = breakdown
        .groups
        .iter()
        .take(shown)
        .map(|group| {
            let none = || "none".to_string();
            let (key, label) = match breakdown.by {
                BreakdownBy::Supplier => (
                    group.key.supplier_id.map_or_else(none, |id| id.to_string()),
                    supplier_label(group),
                ),
                BreakdownBy::Lane => (
                    format!(
                        "{}/{}",
                        group.key.supplier_id.map_or_else(none, |id| id.to_string()),
                        group.key.country.as_deref().unwrap_or_default()
                    ),
                    supplier_label(group),
                ),
                BreakdownBy::Product => (
                    group.key.product_id.map_or_else(none, |id| id.to_string()),
                    match (group.key.product_id, &group.product_title) {
                        (None, _) => "Not in the catalogue".to_string(),
                        (Some(_), Some(title)) => title.clone(),
                        (Some(id), None) => id.to_string(),
                    },
                ),
            };
            let mut cells = Vec::with_capacity(11);
            if breakdown.by == BreakdownBy::Lane {
                cells.push(group.key.country.clone().unwrap_or_default());
            }
            cells.extend(figure_cells(&group.figures));
            GroupRow { key, label, cells }
        })
        .collect();
    let mut total = Vec::with_capacity(11);
    if breakdown.by == BreakdownBy::Lane {
        total.push(String::new());
    }
    total.extend(figure_cells(&breakdown.total));
    let mut notes = Vec::new();
    if breakdown.by == BreakdownBy::Product && breakdown.groups.len() > TOP_PRODUCTS {
        notes.push(format!(
            "The {TOP_PRODUCTS} most profitable of {} products.",
            breakdown.groups.len()
        ));
    }
    match breakdown.total.orders_left_out {
        0 => {}
        1 => notes.push(format!(
            "1 order in another currency than {currency}: its money is not in this table."
        )),
        n => notes.push(format!(
            "{n} orders in other currencies than {currency}: their money is not in this table."
        )),
    }
    match breakdown.supplier_costs_left_out {
        0 => {}
        1 => notes.push("1 supplier order charged in another currency is not in the costs.".to_string()),
        n => notes.push(format!(
            "{n} supplier orders charged in another currency are not in the costs."
        )),
    }
    GroupTable {
        id,
        title: title.to_string(),
        caption: format!(
            "{title}, orders placed {} to {} (UTC); an order with several {} counts in each, its money split by line value",
            breakdown.from.date(),
            (breakdown.to - time::Duration::days(1)).date(),
            match breakdown.by {
                BreakdownBy::Product => "products",
                _ => "suppliers",
            }
        ),
        headers,
        rows,
        total,
        notes,
    }
}

// ---------------------------------------------------------------------------------------------
// The six charts
// ---------------------------------------------------------------------------------------------

/// An average of seconds in tenths of `unit` seconds (an hour, a day), rounded.
fn tenths_of(seconds: i64, count: u64, unit: i64) -> Option<i64> {
    rounded_average(seconds.saturating_mul(10), count.saturating_mul(unit.unsigned_abs()))
}

fn cell(value: Option<i64>, decimals: u32) -> String {
    value.map_or_else(|| "–".to_string(), |v| scaled(v, decimals))
}

fn charts(overview: &Overview) -> Vec<Chart> {
    let days = &overview.days;
    let total = overview.period_total();
    let span = match (days.first(), days.last()) {
        (Some((first, _)), Some((last, _))) => format!("{first} to {last}"),
        _ => String::new(),
    };
    let series = |value: &dyn Fn(&DaySummary) -> Option<i64>| -> Vec<(Date, Option<i64>)> {
        days.iter().map(|(day, summary)| (*day, value(summary))).collect()
    };
    let rows = |cells: &dyn Fn(&DaySummary) -> Vec<String>| -> Vec<TableRow> {
        days.iter()
            .rev()
            .map(|(day, summary)| TableRow {
                day: day.to_string(),
                cells: cells(summary),
            })
            .collect()
    };
    let mut charts = Vec::with_capacity(6);

    let orders = series(&|d| Some(i64::try_from(d.orders).unwrap_or(i64::MAX)));
    charts.push(chart(
        BarChart {
            id: "orders",
            title: "Orders per day",
            axis: "Orders",
            decimals: 0,
            points: &orders,
            period: format!("{} orders in all", total.orders),
            span: &span,
        },
        None,
        vec!["Orders".into()],
        rows(&|d| vec![d.orders.to_string()]),
    ));

    let hours = |d: &DaySummary| tenths_of(d.processing_seconds, d.processed, 3600);
    let processing = series(&hours);
    charts.push(chart(
        BarChart {
            id: "processing",
            title: "Processing time (average hours from receipt to supplier)",
            axis: "Hours",
            decimals: 1,
            points: &processing,
            period: match hours(&total) {
                Some(average) => format!(
                    "{} hours on average over {} orders",
                    scaled(average, 1),
                    total.processed
                ),
                None => "no order placed with a supplier".into(),
            },
            span: &span,
        },
        None,
        vec!["Orders placed with a supplier".into(), "Average hours".into()],
        rows(&|d| vec![d.processed.to_string(), cell(hours(d), 1)]),
    ));

    let shipping_days = |d: &DaySummary| tenths_of(d.shipping_seconds, d.delivered, 86_400);
    let shipping = series(&shipping_days);
    charts.push(chart(
        BarChart {
            id: "shipping",
            title: "Shipping time (average days from shipped to delivered)",
            axis: "Days",
            decimals: 1,
            points: &shipping,
            period: match shipping_days(&total) {
                Some(average) => format!(
                    "{} days on average over {} delivered orders",
                    scaled(average, 1),
                    total.delivered
                ),
                None => "no order delivered".into(),
            },
            span: &span,
        },
        None,
        vec!["Orders delivered".into(), "Average days".into()],
        rows(&|d| vec![d.delivered.to_string(), cell(shipping_days(d), 1)]),
    ));

    let rate = |bp: Option<u64>| bp.map(|bp| i64::try_from(bp).unwrap_or(i64::MAX));
    let refunds = series(&|d| rate(d.refund_rate_bp()));
    charts.push(chart(
        BarChart {
            id: "refunds",
            title: "Refund rate",
            axis: "% of orders",
            decimals: 2,
            points: &refunds,
            period: format!(
                "{} of {} orders refunded ({} %)",
                total.refunded,
                total.orders,
                cell(rate(total.refund_rate_bp()), 2)
            ),
            span: &span,
        },
        None,
        vec!["Orders".into(), "Refunded".into(), "Refund rate (%)".into()],
        rows(&|d| {
            vec![
                d.orders.to_string(),
                d.refunded.to_string(),
                cell(rate(d.refund_rate_bp()), 2),
            ]
        }),
    ));

    let chargebacks = series(&|d| rate(d.chargeback_rate_bp()));
    charts.push(chart(
        BarChart {
            id: "chargebacks",
            title: "Chargeback rate",
            axis: "% of orders",
            decimals: 2,
            points: &chargebacks,
            period: format!(
                "{} of {} orders disputed ({} %)",
                total.disputed,
                total.orders,
                cell(rate(total.chargeback_rate_bp()), 2)
            ),
            span: &span,
        },
        (total.disputed == 0).then(|| "No disputes recorded in this period.".to_string()),
        vec!["Orders".into(), "Disputed".into(), "Chargeback rate (%)".into()],
        rows(&|d| {
            vec![
                d.orders.to_string(),
                d.disputed.to_string(),
                cell(rate(d.chargeback_rate_bp()), 2),
            ]
        }),
    ));

    let currency = overview.cost_currency;
    let (code, decimals) = currency.map_or(("", 0), |c| (c.code(), c.exponent()));
    let cost = series(&|d| d.cost_per_order_minor());
    let cost_title = match currency {
        Some(currency) => format!("Fulfillment cost per order ({currency})"),
        None => "Fulfillment cost per order".to_string(),
    };
    let cost_header = match currency {
        Some(currency) => format!("Cost per order ({currency})"),
        None => "Cost per order".to_string(),
    };
    let cost_note = match (currency, overview.orders_in_other_currencies) {
        (None, _) => Some("No orders in this period.".to_string()),
        (Some(_), 0) => None,
        (Some(currency), other) => Some(format!(
            "{other} orders in other currencies than {currency} are not in this chart."
        )),
    };
    charts.push(chart(
        BarChart {
            id: "cost",
            title: &cost_title,
            axis: if code.is_empty() { "Cost" } else { code },
            decimals,
            points: &cost,
            period: match total.cost_per_order_minor() {
                Some(average) => format!(
                    "{} {code} per order on average over {} orders",
                    scaled(average, decimals),
                    total.fulfillment_costed
                ),
                None => "no order with a fulfillment cost".into(),
            },
            span: &span,
        },
        cost_note,
        vec!["Orders with a cost".into(), cost_header],
        rows(&|d| {
            vec![
                d.fulfillment_costed.to_string(),
                cell(d.cost_per_order_minor(), decimals),
            ]
        }),
    ));
    charts
}

fn chart(bars: BarChart<'_>, note: Option<String>, headers: Vec<String>, rows: Vec<TableRow>) -> Chart {
    Chart {
        id: bars.id,
        title: bars.title.to_string(),
        svg: bar_chart(&bars),
        note,
        headers,
        rows,
    }
}

// ---------------------------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------------------------

/// A daily series to draw as bars.
pub(crate) struct BarChart<'a> {
    /// Makes the element ids of the drawing unique in the page.
    id: &'static str,
    title: &'a str,
    /// The vertical axis's title (the unit).
    axis: &'a str,
    /// Decimal places of the values: a value of 1234 with 2 decimals is 12.34.
    decimals: u32,
    /// One value per day, oldest first; `None` where there is nothing to show.
    points: &'a [(Date, Option<i64>)],
    /// What the whole period says, for the summary (`42 orders in all`).
    period: String,
    /// `2026-03-01 to 2026-03-30`.
    span: &'a str,
}

// The drawing's box, in viewBox units.
const WIDTH: i64 = 320;
const HEIGHT: i64 = 180;
const PLOT_LEFT: i64 = 48;
const PLOT_RIGHT: i64 = 312;
const PLOT_TOP: i64 = 12;
const PLOT_BOTTOM: i64 = 144;

/// `value` with `decimals` decimal places: 1234 and 2 give `12.34`.
fn scaled(value: i64, decimals: u32) -> String {
    if decimals == 0 {
        return value.to_string();
    }
    let unit = 10_i64.pow(decimals);
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    let unit = unit.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        magnitude / unit,
        magnitude % unit,
        width = decimals as usize
    )
}

/// Tenths of a viewBox unit as an SVG number (`123` → `12.3`).
fn tenths(value: i64) -> String {
    scaled(value, 1)
}

/// The smallest 1, 2 or 5 times a power of ten at least `value` (at least 1).
fn nice_ceiling(value: i64) -> i64 {
    let mut power: i64 = 1;
    loop {
        for step in [1, 2, 5] {
            let candidate = step * power;
            if candidate >= value {
                return candidate;
            }
        }
        match power.checked_mul(10) {
            Some(next) => power = next,
            None => return value,
        }
    }
}

/// Escapes text for SVG markup (element content and attribute values).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the drawing says to someone who cannot see it.
fn summary(chart: &BarChart<'_>) -> String {
    let mut text = format!("{}, {}: {}", chart.title, chart.span, chart.period);
    let highest = chart
        .points
        .iter()
        .filter_map(|(day, value)| value.map(|v| (*day, v)))
        .fold(None, |best: Option<(Date, i64)>, (day, value)| match best {
            Some((_, top)) if top >= value => best,
            _ => Some((day, value)),
        });
    if let Some((day, value)) = highest.filter(|(_, value)| *value > 0) {
        let _ = write!(text, "; highest {} on {day}", scaled(value, chart.decimals));
    }
    let empty = chart.points.iter().filter(|(_, value)| value.is_none()).count();
    if empty > 0 {
        let _ = write!(text, "; no data on {empty} of {} days", chart.points.len());
    }
    text.push('.');
    text
}

/// The chart as inline SVG: bars over a vertical scale from 0 to a round maximum, the first
/// and last days under them, each bar titled with its day and value.
fn bar_chart(chart: &BarChart<'_>) -> String {
    let summary = escape(&summary(chart));
    let largest = chart.points.iter().filter_map(|(_, value)| *value).max().unwrap_or(0);
    let top = nice_ceiling(largest.max(10_i64.pow(chart.decimals)));
    let plot_width = (PLOT_RIGHT - PLOT_LEFT) * 10;
    let plot_height = (PLOT_BOTTOM - PLOT_TOP) * 10;
    let count = i64::try_from(chart.points.len()).unwrap_or(i64::MAX).max(1);
    let slot = plot_width / count;
    let bar = (slot * 7 / 10).max(1);

    let mut svg = String::with_capacity(512 + 96 * chart.points.len());
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" \
         class=\"chart\" id=\"chart-{id}\" role=\"img\" aria-label=\"{summary}\" font-family=\"sans-serif\" \
         font-size=\"10\" fill=\"#444\"><title>{summary}</title>",
        id = escape(chart.id),
    );
    // The scale: its top and its middle as light lines, the axes darker.
    let middle = PLOT_TOP + (PLOT_BOTTOM - PLOT_TOP) / 2;
    let _ = write!(
        svg,
        "<g stroke=\"#e5e7eb\"><line x1=\"{PLOT_LEFT}\" y1=\"{PLOT_TOP}\" x2=\"{PLOT_RIGHT}\" y2=\"{PLOT_TOP}\"/>\
         <line x1=\"{PLOT_LEFT}\" y1=\"{middle}\" x2=\"{PLOT_RIGHT}\" y2=\"{middle}\"/></g>\
         <g stroke=\"#6b7280\"><line x1=\"{PLOT_LEFT}\" y1=\"{PLOT_TOP}\" x2=\"{PLOT_LEFT}\" y2=\"{PLOT_BOTTOM}\"/>\
         <line x1=\"{PLOT_LEFT}\" y1=\"{PLOT_BOTTOM}\" x2=\"{PLOT_RIGHT}\" y2=\"{PLOT_BOTTOM}\"/></g>"
    );
    let label_x = PLOT_LEFT - 4;
    let _ = write!(
        svg,
        "<text x=\"{label_x}\" y=\"{}\" text-anchor=\"end\">{}</text>\
         <text x=\"{label_x}\" y=\"{PLOT_BOTTOM}\" text-anchor=\"end\">0</text>",
        PLOT_TOP + 4,
        scaled(top, chart.decimals)
    );
    let _ = write!(
        svg,
        "<text transform=\"rotate(-90)\" x=\"-{}\" y=\"12\" text-anchor=\"middle\">{}</text>",
        (PLOT_TOP + PLOT_BOTTOM) / 2,
        escape(chart.axis)
    );
    svg.push_str("<g fill=\"#1d4ed8\">");
    for (index, (day, value)) in chart.points.iter().enumerate() {
        let Some(value) = value.filter(|value| *value > 0) else {
            continue;
        };
        let index = i64::try_from(index).unwrap_or(i64::MAX);
        let height = (i128::from(value.min(top)) * i128::from(plot_height) / i128::from(top)) as i64;
        let height = height.max(5);
        let x = PLOT_LEFT * 10 + index * slot + (slot - bar) / 2;
        let y = PLOT_BOTTOM * 10 - height;
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{day}: {}</title></rect>",
            tenths(x),
            tenths(y),
            tenths(bar),
            tenths(height),
            scaled(value, chart.decimals)
        );
    }
    svg.push_str("</g>");
    if let (Some((first, _)), Some((last, _))) = (chart.points.first(), chart.points.last()) {
        let _ = write!(svg, "<text x=\"{PLOT_LEFT}\" y=\"{}\">{first}</text>", PLOT_BOTTOM + 14);
        if last != first {
            let _ = write!(
                svg,
                "<text x=\"{PLOT_RIGHT}\" y=\"{}\" text-anchor=\"end\">{last}</text>",
                PLOT_BOTTOM + 14
            );
        }
    }
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">Day (UTC)</text></svg>",
        (PLOT_LEFT + PLOT_RIGHT) / 2,
        HEIGHT - 6
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn values_print_with_their_decimals() {
        assert_eq!(scaled(0, 0), "0");
        assert_eq!(scaled(1234, 2), "12.34");
        assert_eq!(scaled(5, 2), "0.05");
        assert_eq!(scaled(-1234, 2), "-12.34");
        assert_eq!(scaled(10_000, 2), "100.00");
        assert_eq!(scaled(35, 1), "3.5");
        assert_eq!(tenths_of(7200, 1, 3600), Some(20));
        assert_eq!(tenths_of(7200 + 3 * 60, 1, 3600), Some(21));
        assert_eq!(tenths_of(3 * 86_400, 2, 86_400), Some(15));
        assert_eq!(tenths_of(100, 0, 3600), None);
    }

    #[test]
    fn the_scale_ends_on_a_round_number() {
        let cases = [
            (0, 1),
            (1, 1),
            (2, 2),
            (3, 5),
            (7, 10),
            (11, 20),
            (250, 500),
            (501, 1000),
        ];
        for (value, expected) in cases {
            assert_eq!(nice_ceiling(value), expected, "{value}");
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b> & \"c\" 'd'"), "a&lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;");
    }

    /// A week of orders drawn as bars: the picture is pinned, so a change to it is seen.
    #[test]
    fn an_orders_chart_draws_a_bar_per_day_with_data() {
        let first = date!(2026 - 03 - 01);
        let values = [Some(3), Some(0), None, Some(7), Some(1), Some(12), Some(4)];
        let points: Vec<(Date, Option<i64>)> = values
            .iter()
            .enumerate()
            .map(|(offset, value)| (first + time::Duration::days(offset as i64), *value))
            .collect();
        let svg = bar_chart(&BarChart {
            id: "orders",
            title: "Orders per day",
            axis: "Orders",
            decimals: 0,
            points: &points,
            period: "27 orders in all".into(),
            span: "2026-03-01 to 2026-03-07",
        });
        assert!(svg.contains("role=\"img\""), "{svg}");
        assert_eq!(svg.matches("<rect ").count(), 5, "{svg}");
        insta::assert_snapshot!(svg.replace("><", ">\n<"));
    }
}
