//! Stock & prices (`/stock`): per store (the operator picks one with `?store=ID`, the first
//! without one; a seller and their staff see their own), the stock-sync settings, a "Sync
//! now" button, the price changes waiting for the seller's approval with the cost that moved
//! and the rule that priced them, the prices applied last, the open sync problems and the
//! variants no offer ships yet.
//!
//! Forms: `POST /stock/settings` replaces the store's stock-sync settings through
//! [`App::update_inventory_settings`](dropline_app::App::update_inventory_settings) (a refused
//! form is shown again with 422, as typed, each refused field with its reason);
//! `POST /stock/sync` queues a sync of every supplier of the store;
//! `POST /stock/price-changes/{id}/{approve|reject}` decides a waiting price;
//! `POST /stock/sync-problems/{id}/resolve` marks a problem dealt with. Each answers 303 back
//! to `/stock` with a notice.
//!
//! As on the catalogue's pages, staff see everything here and may change nothing (403 on
//! every form). Another store's ids answer "not found" and change nothing, as over the API.

use super::catalogue::{ChoiceView, FieldView, refuse_post};
use super::pages::{FieldErrors, Layout, Posted, moment};
use super::settings::chosen_store;
use super::{Signed, message, not_found, page, refusal, see_other};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use dropline_app::catalogue::UnmappedVariant;
use dropline_app::ports::StoreRecord;
use dropline_app::{AppError, Scope};
use dropline_domain::catalog::Supplier;
use dropline_domain::ids::{PriceChangeId, StoreId, SupplierId, SyncProblemId};
use dropline_domain::inventory::{
    InventorySettings, MAX_SAFETY_BUFFER, PriceChange, PriceChangeStatus, PricingScope, SYNC_MINUTES, SyncProblem,
    WhenOutOfStock,
};
use dropline_domain::money::Money;
use serde::Deserialize;
use std::collections::HashMap;

/// Price changes waiting for approval shown at most (the newest first).
const PENDING_SHOWN: u32 = 200;
/// Applied price changes shown (the last ones).
const APPLIED_SHOWN: u32 = 10;
/// Open sync problems shown at most (the newest first).
const PROBLEMS_SHOWN: u32 = 200;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/stock", get(stock_page))
        .route("/stock/settings", post(save_settings))
        .route("/stock/sync", post(sync_now))
        .route("/stock/price-changes/{id}/{decision}", post(decide_price_change))
        .route("/stock/sync-problems/{id}/resolve", post(resolve_problem))
}

// ---------------------------------------------------------------------------------------------
// The settings form
// ---------------------------------------------------------------------------------------------

/// The form's controls (also the ids of their inputs).
const SYNC: &str = "sync";
const SAFETY_BUFFER: &str = "safety_buffer";
const WHEN_OUT: &str = "when_out";
const SYNC_EVERY: &str = "sync_every_minutes";

/// The stock-sync settings as typed (or as stored, when nothing was posted).
struct SettingsFields {
    sync: bool,
    safety_buffer: String,
    when_out: String,
    sync_every_minutes: String,
}

impl SettingsFields {
    fn stored(settings: &InventorySettings) -> Self {
        Self {
            sync: settings.sync,
            safety_buffer: settings.safety_buffer.to_string(),
            when_out: settings.when_out.as_str().to_string(),
            sync_every_minutes: settings.sync_every_minutes.to_string(),
        }
    }

    fn posted(form: &Posted) -> Self {
        Self {
            sync: form.flag(SYNC),
            safety_buffer: form.raw(SAFETY_BUFFER).to_string(),
            when_out: form.raw(WHEN_OUT).to_string(),
            sync_every_minutes: form.raw(SYNC_EVERY).to_string(),
        }
    }

    /// The settings the form asks for, with every refused field in `errors`: text that is
    /// no value at all, then the settings' own bounds (one reason a field).
    fn read(&self, stored: &InventorySettings, errors: &mut FieldErrors) -> InventorySettings {
        let mut settings = stored.clone();
        settings.sync = self.sync;
        match self.safety_buffer.trim() {
            "" => settings.safety_buffer = 0,
            text => match text.parse::<u32>() {
                Ok(units) => settings.safety_buffer = units,
                Err(_) => errors.add(
                    SAFETY_BUFFER,
                    format!("must be a whole number of units from 0 to {MAX_SAFETY_BUFFER}"),
                ),
            },
        }
        match WhenOutOfStock::parse(self.when_out.trim()) {
            Some(when_out) => settings.when_out = when_out,
            None => errors.add(WHEN_OUT, "choose show zero or unpublish"),
        }
        match self.sync_every_minutes.trim().parse::<u32>() {
            Ok(minutes) => settings.sync_every_minutes = minutes,
            Err(_) => errors.add(
                SYNC_EVERY,
                format!(
                    "must be a whole number of minutes from {} to {}",
                    SYNC_MINUTES.start(),
                    SYNC_MINUTES.end()
                ),
            ),
        }
        for (field, reason) in settings.problems() {
            add_engine_error(errors, &field, reason);
        }
        settings
    }
}

/// The form control a refused field of the settings names (`inventory.safety_buffer` →
/// `safety_buffer`), unless the control already has its reason.
fn add_engine_error(errors: &mut FieldErrors, field: &str, reason: String) {
    let field = field.strip_prefix("inventory.").unwrap_or(field);
    if errors.get(field).is_none() {
        errors.add(field, reason);
    }
}

fn when_out_label(when_out: WhenOutOfStock) -> &'static str {
    match when_out {
        WhenOutOfStock::ShowZero => "Show zero: the product stays visible, sold out",
        WhenOutOfStock::Unpublish => "Unpublish: hide the product until a variant is back",
    }
}

/// The settings form as the page draws it.
struct SettingsView {
    sync: bool,
    numbers: Vec<FieldView>,
    when_out: Vec<ChoiceView>,
    when_out_error: Option<String>,
    /// The settings in words, for those who may not change them.
    described: Vec<(&'static str, String)>,
    /// Every refused field as its control's id and "Label: reason", at the top of the page.
    summary: Vec<(String, String)>,
}

impl SettingsView {
    fn new(fields: &SettingsFields, stored: &InventorySettings, errors: &FieldErrors) -> Self {
        let numbers = vec![
            FieldView::new(SAFETY_BUFFER, "Safety buffer (units)", &fields.safety_buffer, errors)
                .hint("Units kept back from what the suppliers can ship, 0 to 10000: a late sync then does not sell what is gone.")
                .mode("numeric"),
            FieldView::new(SYNC_EVERY, "Sync every (minutes)", &fields.sync_every_minutes, errors)
                .hint("Minutes between two syncs of each supplier, 5 to 1440.")
                .mode("numeric"),
        ];
        let labels: HashMap<&str, &str> = HashMap::from([
            (SYNC, "Sync stock and prices"),
            (SAFETY_BUFFER, "Safety buffer"),
            (WHEN_OUT, "When out of stock"),
            (SYNC_EVERY, "Sync every"),
        ]);
        Self {
            sync: fields.sync,
            numbers,
            when_out: WhenOutOfStock::ALL
                .iter()
                .map(|when_out| ChoiceView {
                    value: when_out.as_str().to_string(),
                    label: when_out_label(*when_out).to_string(),
                    selected: fields.when_out.trim() == when_out.as_str(),
                })
                .collect(),
            when_out_error: errors.get(WHEN_OUT).map(str::to_string),
            described: vec![
                ("Sync", if stored.sync { "On".into() } else { "Off".into() }),
                ("Safety buffer", format!("{} units", stored.safety_buffer)),
                ("When out of stock", when_out_label(stored.when_out).to_string()),
                ("Sync every", format!("{} minutes", stored.sync_every_minutes)),
            ],
            summary: errors
                .all()
                .iter()
                .map(|(field, reason)| {
                    let name = labels.get(field.as_str()).copied().unwrap_or(field);
                    (field.clone(), format!("{name}: {reason}"))
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The lists
// ---------------------------------------------------------------------------------------------

pub(super) struct PriceChangeRow {
    id: String,
    variant_id: String,
    sku: String,
    old_price: String,
    new_price: String,
    /// `+200.1 %`, when both prices are in one currency and the old one is not zero.
    moved: Option<String>,
    /// The cost that moved: `12.00 USD → 13.50 USD`, or the cost alone when none was before.
    cost: String,
    cost_is_new: bool,
    rule: String,
    created: String,
    /// Who decided, and when (applied ones).
    decided: String,
}

/// The share by which a price moved, with one decimal.
fn moved(old: Money, new: Money) -> Option<String> {
    if old.currency != new.currency || old.minor == 0 {
        return None;
    }
    let per_mille = (i128::from(new.minor) - i128::from(old.minor)) * 1000 / i128::from(old.minor);
    let sign = match per_mille {
        p if p > 0 => "+",
        p if p < 0 => "−",
        _ => "",
    };
    let per_mille = per_mille.abs();
    Some(format!("{sign}{}.{} %", per_mille / 10, per_mille % 10))
}

/// A multiplier in basis points as `×2.5`.
fn times(bp: u32) -> String {
    let (whole, rest) = (bp / 10_000, bp % 10_000);
    if rest == 0 {
        format!("×{whole}")
    } else {
        let decimals = format!("{rest:04}");
        format!("×{whole}.{}", decimals.trim_end_matches('0'))
    }
}

fn scope_text(scope: &PricingScope) -> String {
    match scope {
        PricingScope::Store => "Whole store".to_string(),
        PricingScope::Collection { name } => format!("Collection “{name}”"),
        PricingScope::Product { .. } => "This product".to_string(),
    }
}

impl PriceChangeRow {
    fn new(change: &PriceChange) -> Self {
        let reason = &change.computed;
        let markup = if reason.markup.minor == 0 {
            String::new()
        } else {
            format!(" + {}", reason.markup)
        };
        let rule = format!(
            "{} (rule {}): {}{markup} of the landed cost {}",
            scope_text(&change.scope),
            change.rule_index + 1,
            times(reason.multiplier_bp),
            reason.landed_cost
        );
        let decided = match (&change.decided_by, change.decided_at) {
            (Some(by), Some(at)) if by == "rule" => format!("By the rule, {}", moment(at)),
            (Some(by), Some(at)) => format!("By {by}, {}", moment(at)),
            (None, Some(at)) => moment(at),
            _ => String::new(),
        };
        Self {
            id: change.id.to_string(),
            variant_id: change.variant_id.to_string(),
            sku: change.sku.clone(),
            old_price: change.old_price.to_string(),
            new_price: change.new_price.to_string(),
            moved: moved(change.old_price, change.new_price),
            cost: match change.cost_before {
                Some(before) => format!("{before} → {}", change.cost_after),
                None => change.cost_after.to_string(),
            },
            cost_is_new: change.cost_before.is_none(),
            rule,
            created: moment(change.created_at),
            decided,
        }
    }
}

pub(super) struct ProblemRow {
    id: String,
    supplier_sku: String,
    supplier: String,
    offer_id: Option<String>,
    what: String,
    when: String,
}

impl ProblemRow {
    fn new(problem: &SyncProblem, suppliers: &HashMap<SupplierId, &Supplier>) -> Self {
        Self {
            id: problem.id.to_string(),
            supplier_sku: problem.supplier_sku.clone(),
            supplier: suppliers
                .get(&problem.supplier_id)
                .map_or_else(|| "Unknown supplier".to_string(), |s| s.name.clone()),
            offer_id: problem.offer_id.map(|id| id.to_string()),
            what: capitalised(&problem.problem.to_string()),
            when: moment(problem.at),
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A supplier and what its last stock sync did.
pub(super) struct SupplierSyncRow {
    id: String,
    name: String,
    last: Option<String>,
    error: Option<String>,
}

impl SupplierSyncRow {
    fn new(supplier: &Supplier) -> Self {
        let last = supplier.last_stock_sync.as_ref();
        Self {
            id: supplier.id.to_string(),
            name: supplier.name.clone(),
            last: last.map(|s| {
                format!(
                    "{}: {} offers read, {} stock changes, {} cost changes, {} problems, {} variants written, {} prices waiting",
                    moment(s.at),
                    s.offers_read,
                    s.stock_changed,
                    s.costs_changed,
                    s.problems,
                    s.variants_pushed,
                    s.prices_pending
                )
            }),
            error: last.and_then(|s| s.error.clone()),
        }
    }
}

pub(super) struct UnmappedRow {
    variant_id: String,
    product_title: String,
    title: String,
    sku: String,
}

impl From<UnmappedVariant> for UnmappedRow {
    fn from(variant: UnmappedVariant) -> Self {
        Self {
            variant_id: variant.variant_id.to_string(),
            product_title: variant.product_title,
            title: variant.title,
            sku: variant.sku,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "dashboard/stock.html")]
struct StockPage {
    layout: Option<Layout>,
    csrf: String,
    may_change: bool,
    operator: bool,
    stores: Vec<ChoiceView>,
    store_id: String,
    store_name: String,
    notice: Option<String>,
    settings: SettingsView,
    suppliers: Vec<SupplierSyncRow>,
    pending: Vec<PriceChangeRow>,
    applied: Vec<PriceChangeRow>,
    problems: Vec<ProblemRow>,
    unmapped: Vec<UnmappedRow>,
}

/// How the page is shown: after a change (its notice), or with a refused settings form.
#[derive(Default)]
struct Showing {
    notice: Option<String>,
    posted: Option<SettingsFields>,
    errors: FieldErrors,
}

async fn show(
    state: &AppState,
    signed: &Signed,
    record: &StoreRecord,
    status: StatusCode,
    showing: Showing,
) -> Response {
    let operator = signed.scope == Scope::Operator;
    let store_id = record.store.id;
    let scope = signed.scope;
    let loaded = async {
        let stores = if operator {
            state.app.list_stores(scope).await?
        } else {
            Vec::new()
        };
        let suppliers = state.app.list_suppliers(scope, Some(store_id)).await?;
        let pending = state
            .app
            .list_price_changes(scope, Some(store_id), Some(PriceChangeStatus::Pending), PENDING_SHOWN)
            .await?;
        let applied = state
            .app
            .list_price_changes(scope, Some(store_id), Some(PriceChangeStatus::Applied), APPLIED_SHOWN)
            .await?;
        let problems = state
            .app
            .list_sync_problems(scope, Some(store_id), true, PROBLEMS_SHOWN)
            .await?;
        let unmapped = state.app.unmapped_variants(scope, store_id).await?;
        Ok::<_, AppError>((stores, suppliers, pending, applied, problems, unmapped))
    };
    let (stores, suppliers, pending, applied, problems, unmapped) = match loaded.await {
        Ok(loaded) => loaded,
        Err(err) => return refusal(signed.layout(), &err),
    };
    let stored = &record.store.settings.inventory;
    let fields = showing.posted.unwrap_or_else(|| SettingsFields::stored(stored));
    let suppliers_by_id: HashMap<SupplierId, &Supplier> = suppliers.iter().map(|s| (s.id, s)).collect();
    let layout = signed.layout();
    let view = StockPage {
        csrf: layout.csrf.clone(),
        layout: Some(layout),
        may_change: signed.may_change_settings(),
        operator,
        stores: stores
            .iter()
            .map(|r| ChoiceView {
                value: r.store.id.to_string(),
                label: r.store.name.clone(),
                selected: r.store.id == store_id,
            })
            .collect(),
        store_id: store_id.to_string(),
        store_name: record.store.name.clone(),
        notice: showing.notice,
        settings: SettingsView::new(&fields, stored, &showing.errors),
        suppliers: suppliers.iter().map(SupplierSyncRow::new).collect(),
        pending: pending.iter().map(PriceChangeRow::new).collect(),
        applied: applied.iter().map(PriceChangeRow::new).collect(),
        problems: problems.iter().map(|p| ProblemRow::new(p, &suppliers_by_id)).collect(),
        unmapped: unmapped.into_iter().map(UnmappedRow::from).collect(),
    };
    page(status, &view)
}

#[derive(Deserialize, Default)]
struct StockQuery {
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    jobs: Option<String>,
}

/// The notice of `?done=` (with `jobs=` for a sync), never the address's own text.
fn notice(done: Option<&str>, jobs: Option<&str>) -> Option<String> {
    Some(match done? {
        "settings" => "Saved: the stock-sync settings.".to_string(),
        "sync" => match jobs.and_then(|j| j.trim().parse::<u32>().ok()) {
            Some(0) => "The store has no supplier to sync.".to_string(),
            Some(1) => "A sync of the store's supplier was queued: stock and prices follow shortly.".to_string(),
            Some(n) => format!("A sync of the store's {n} suppliers was queued: stock and prices follow shortly."),
            None => "A sync was queued: stock and prices follow shortly.".to_string(),
        },
        "approved" => "The new price was approved: the variant takes it and the storefront follows.".to_string(),
        "rejected" => "The price change was rejected: the price stays.".to_string(),
        "resolved" => "The sync problem was marked resolved.".to_string(),
        _ => return None,
    })
}

/// `/stock` of the store with `done` for the notice; sellers and staff need no `store`.
fn stock_address(signed: &Signed, store_id: Option<StoreId>, done: &str, anchor: &str) -> String {
    match (signed.scope, store_id) {
        (Scope::Operator, Some(id)) => format!("/stock?store={id}&done={done}#{anchor}"),
        _ => format!("/stock?done={done}#{anchor}"),
    }
}

async fn stock_page(State(state): State<AppState>, signed: Signed, Query(query): Query<StockQuery>) -> Response {
    let record = match chosen_store(&state, &signed, query.store.as_deref()).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            return message(
                StatusCode::OK,
                Some(signed.layout()),
                "Stock & prices",
                "There is no store yet: create one first.",
            );
        }
        Err(response) => return response,
    };
    let showing = Showing {
        notice: notice(query.done.as_deref(), query.jobs.as_deref()),
        ..Showing::default()
    };
    show(&state, &signed, &record, StatusCode::OK, showing).await
}

/// The store a form names (the seller's own when it names none); the operator's forms must
/// name theirs, so that nothing is applied to whichever store happens to be first.
async fn posted_store(state: &AppState, signed: &Signed, form: &Posted) -> Result<StoreRecord, Response> {
    let named = form.text("store");
    if named.is_none() && signed.scope == Scope::Operator {
        return Err(not_found(Some(signed.layout())));
    }
    match chosen_store(state, signed, named.as_deref()).await? {
        Some(record) => Ok(record),
        None => Err(not_found(Some(signed.layout()))),
    }
}

async fn save_settings(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = Posted(pairs);
    if let Some(refused) = refuse_post(&signed, &form) {
        return refused;
    }
    let record = match posted_store(&state, &signed, &form).await {
        Ok(record) => record,
        Err(response) => return response,
    };
    let fields = SettingsFields::posted(&form);
    let mut errors = FieldErrors::default();
    let settings = fields.read(&record.store.settings.inventory, &mut errors);
    if errors.is_empty() {
        let id = record.store.id;
        match state.app.update_inventory_settings(signed.scope, id, settings).await {
            Ok(_) => return see_other(&stock_address(&signed, Some(id), "settings", "settings")),
            Err(AppError::Invalid(refused)) => {
                for field in refused {
                    add_engine_error(&mut errors, &field.field, field.reason);
                }
            }
            Err(err) => return refusal(signed.layout(), &err),
        }
    }
    let showing = Showing {
        notice: None,
        posted: Some(fields),
        errors,
    };
    show(&state, &signed, &record, StatusCode::UNPROCESSABLE_ENTITY, showing).await
}

async fn sync_now(State(state): State<AppState>, signed: Signed, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    let form = Posted(pairs);
    if let Some(refused) = refuse_post(&signed, &form) {
        return refused;
    }
    let record = match posted_store(&state, &signed, &form).await {
        Ok(record) => record,
        Err(response) => return response,
    };
    let id = record.store.id;
    match state.app.request_stock_sync(signed.scope, id, None).await {
        Ok(jobs) => {
            let done = format!("sync&jobs={jobs}");
            see_other(&stock_address(&signed, Some(id), &done, "supplier-sync"))
        }
        Err(err) => refusal(signed.layout(), &err),
    }
}

async fn decide_price_change(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, decision)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = Posted(pairs);
    if let Some(refused) = refuse_post(&signed, &form) {
        return refused;
    }
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return not_found(Some(signed.layout())),
    };
    let Ok(id) = id.parse::<PriceChangeId>() else {
        return not_found(Some(signed.layout()));
    };
    let by = signed.user.email.as_str().to_string();
    let decided = if approve {
        state.app.approve_price_change(signed.scope, id, &by).await
    } else {
        state.app.reject_price_change(signed.scope, id, &by).await
    };
    match decided {
        Ok(change) => {
            let done = if approve { "approved" } else { "rejected" };
            see_other(&stock_address(&signed, Some(change.store_id), done, "pending"))
        }
        Err(err) => refusal(signed.layout(), &err),
    }
}

async fn resolve_problem(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = Posted(pairs);
    if let Some(refused) = refuse_post(&signed, &form) {
        return refused;
    }
    let Ok(id) = id.parse::<SyncProblemId>() else {
        return not_found(Some(signed.layout()));
    };
    // The store only names the page to go back to: the use case checks the problem's own.
    let store = form.text("store").and_then(|s| s.parse::<StoreId>().ok());
    match state.app.resolve_sync_problem(signed.scope, id).await {
        Ok(()) => see_other(&stock_address(&signed, store, "resolved", "problems")),
        Err(err) => refusal(signed.layout(), &err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::money::Currency;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("USD"))
    }

    fn posted(pairs: &[(&str, &str)]) -> Posted {
        Posted(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn the_settings_form_reads_into_settings_and_names_each_refused_field() {
        let stored = InventorySettings::default();
        let form = posted(&[
            ("sync", "on"),
            ("safety_buffer", " 3 "),
            ("when_out", "unpublish"),
            ("sync_every_minutes", "30"),
        ]);
        let mut errors = FieldErrors::default();
        let settings = SettingsFields::posted(&form).read(&stored, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.all());
        assert_eq!(
            settings,
            InventorySettings {
                sync: true,
                safety_buffer: 3,
                when_out: WhenOutOfStock::Unpublish,
                sync_every_minutes: 30,
            }
        );

        // Out of bounds, no number, no choice: each named once, by its control.
        let form = posted(&[
            ("safety_buffer", "10001"),
            ("when_out", "hide"),
            ("sync_every_minutes", "1"),
        ]);
        let mut errors = FieldErrors::default();
        SettingsFields::posted(&form).read(&stored, &mut errors);
        let fields: Vec<&str> = errors.all().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["when_out", "safety_buffer", "sync_every_minutes"]);
        let form = posted(&[
            ("safety_buffer", "-1"),
            ("when_out", "show_zero"),
            ("sync_every_minutes", ""),
        ]);
        let mut errors = FieldErrors::default();
        let settings = SettingsFields::posted(&form).read(&stored, &mut errors);
        assert!(errors.get("safety_buffer").is_some_and(|r| r.contains("whole number")));
        assert!(errors.get("sync_every_minutes").is_some());
        assert_eq!(errors.all().len(), 2, "{:?}", errors.all());
        assert!(!settings.sync, "an unticked box is off");
    }

    #[test]
    fn moves_and_multipliers_read_as_people_write_them() {
        assert_eq!(moved(usd(4999), usd(15000)).as_deref(), Some("+200.0 %"));
        assert_eq!(moved(usd(10000), usd(4500)).as_deref(), Some("−55.0 %"));
        assert_eq!(moved(usd(0), usd(4500)), None);
        assert_eq!(times(100_000), "×10");
        assert_eq!(times(25_000), "×2.5");
        assert_eq!(times(12_345), "×1.2345");
    }

    #[test]
    fn a_sync_notice_counts_suppliers_and_ignores_other_text() {
        assert_eq!(
            notice(Some("sync"), Some("2")).as_deref(),
            Some("A sync of the store's 2 suppliers was queued: stock and prices follow shortly.")
        );
        assert_eq!(
            notice(Some("sync"), Some("<b>")).as_deref(),
            Some("A sync was queued: stock and prices follow shortly.")
        );
        assert_eq!(notice(Some("<script>"), None), None);
        assert_eq!(notice(None, Some("3")), None);
    }
}
