//! The dashboard's suppliers: `/suppliers` lists a store's suppliers (the operator's: every
//! store's) and adds one; `/suppliers/{id}` shows a supplier's settings with the offers that
//! use it, and edits its plain settings and its return policy. A supplier's API credentials
//! are never shown, only whether they are set, and are not edited here.

use super::super::pages::{FieldErrors, Layout, moment};
use super::super::{Signed, failure, not_found, page, refusal, see_other};
use super::{ChoiceView, FieldView, Posted, count_field, rank_label, ranked, refuse_post, stock_text, summary};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use dropline_app::service::SupplierSettings;
use dropline_app::{AppError, NewSupplier, Scope};
use dropline_domain::address::Address;
use dropline_domain::catalog::{Offer, ReturnPolicy, Supplier, SupplierConnection, SupplierKind};
use dropline_domain::ids::{StoreId, SupplierId, VariantId};
use serde::Deserialize;
use std::collections::HashMap;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/suppliers", get(suppliers_page).post(add_supplier))
        .route("/suppliers/{id}", get(supplier_page).post(edit_supplier))
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

fn notice(saved: Option<&str>) -> Option<&'static str> {
    match saved? {
        "added" => Some("The supplier was added."),
        "settings" => Some("The supplier's settings were saved."),
        _ => None,
    }
}

/// Whether dropline can reach the supplier: its API credentials are set or not (never
/// what they are); the suppliers without an API need none.
fn connection_text(kind: SupplierKind, connection: &SupplierConnection) -> (&'static str, &'static str) {
    match kind {
        SupplierKind::Aliexpress | SupplierKind::Cj if connection.is_configured() => ("API connected", "ok"),
        SupplierKind::Aliexpress | SupplierKind::Cj => ("API not connected", "bad"),
        SupplierKind::Agent => ("Spreadsheets", "wait"),
        SupplierKind::Warehouse => ("Own stock", "wait"),
        SupplierKind::Manual => ("By hand", "wait"),
    }
}

fn kind_label(kind: SupplierKind) -> &'static str {
    match kind {
        SupplierKind::Aliexpress => "AliExpress",
        SupplierKind::Cj => "CJ Dropshipping",
        SupplierKind::Agent => "Sourcing agent",
        SupplierKind::Warehouse => "Own warehouse",
        SupplierKind::Manual => "Manual",
    }
}

/// A return policy in a sentence.
fn policy_text(policy: &ReturnPolicy) -> String {
    let window = days(policy.window_days);
    let mut parts = Vec::new();
    if policy.accepts_returns {
        parts.push(if policy.return_address.is_some() {
            "takes returns at its own address".to_string()
        } else {
            "takes returns (sent to the store's address)".to_string()
        });
        if policy.refunds_returned_items {
            parts.push("refunds returned items".to_string());
        }
    } else {
        parts.push("takes no returns (they go to the store's address)".to_string());
    }
    if policy.credits_without_return {
        parts.push("credits damaged or wrong items on photos".to_string());
    }
    let sentence = parts.join("; ");
    let mut text = sentence[..1].to_uppercase() + &sentence[1..];
    if policy.refunds_returned_items || policy.credits_without_return {
        text.push_str(&format!(", within {window} of delivery"));
    }
    text.push('.');
    text
}

/// The lines of an address as shown on the page.
fn address_lines(address: &Address) -> Vec<String> {
    let region = address.region.clone().unwrap_or_default();
    [
        Some(address.full_name()),
        address.company.clone(),
        Some(address.address1.clone()),
        address.address2.clone(),
        Some(
            [address.postal_code.as_str(), address.city.as_str(), region.as_str()]
                .iter()
                .filter(|part| !part.trim().is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Some(address.country_code.clone()),
    ]
    .into_iter()
    .flatten()
    .filter(|line| !line.trim().is_empty())
    .collect()
}

fn days(days: u32) -> String {
    if days == 1 {
        "1 day".into()
    } else {
        format!("{days} days")
    }
}

// ---------------------------------------------------------------------------------------------
// The supplier form
// ---------------------------------------------------------------------------------------------

/// The return address's inputs, named `return_{field}`: (the address's field, label).
const RETURN_ADDRESS: [(&str, &str); 10] = [
    ("first_name", "Return address: first name"),
    ("last_name", "Return address: last name"),
    ("company", "Return address: company (optional)"),
    ("address1", "Return address: street"),
    ("address2", "Return address: line 2 (optional)"),
    ("city", "Return address: city"),
    ("region", "Return address: region or state (optional)"),
    ("postal_code", "Return address: postal code"),
    ("country_code", "Return address: country code"),
    ("phone", "Return address: phone (optional)"),
];

/// The return policy's switches: (input name, label).
const RETURN_SWITCHES: [(&str, &str); 3] = [
    ("accepts_returns", "Takes returned items back"),
    ("refunds_returned_items", "Refunds the cost of an item that came back"),
    (
        "credits_without_return",
        "Credits a damaged or wrong item without it (a claim with photos)",
    ),
];

/// The supplier form, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct SupplierFields {
    store_id: String,
    name: String,
    kind: String,
    ships_from: String,
    processing_days: String,
    rating: String,
    processing_deadline_days: String,
    agent_layout: String,
    accepts_returns: bool,
    refunds_returned_items: bool,
    credits_without_return: bool,
    return_window_days: String,
    /// In the order of [`RETURN_ADDRESS`].
    return_address: Vec<String>,
}

/// A return address's value of one field, by its name in [`RETURN_ADDRESS`].
fn address_value(address: &Address, field: &str) -> String {
    let optional = |value: &Option<String>| value.clone().unwrap_or_default();
    match field {
        "first_name" => address.first_name.clone(),
        "last_name" => address.last_name.clone(),
        "company" => optional(&address.company),
        "address1" => address.address1.clone(),
        "address2" => optional(&address.address2),
        "city" => address.city.clone(),
        "region" => optional(&address.region),
        "postal_code" => address.postal_code.clone(),
        "country_code" => address.country_code.clone(),
        "phone" => optional(&address.phone),
        _ => String::new(),
    }
}

/// The engine's names of refused return-policy fields, as the form names them.
fn form_errors(refused: &[dropline_app::FieldError]) -> FieldErrors {
    let mut errors = FieldErrors::default();
    for error in refused {
        let field = match error.field.strip_prefix("return_policy.") {
            Some("window_days") => "return_window_days".to_string(),
            Some(other) => match other.strip_prefix("return_address.") {
                Some(part) => format!("return_{part}"),
                None => format!("return_{other}"),
            },
            None => error.field.clone(),
        };
        errors.add(field, error.reason.clone());
    }
    errors
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

impl SupplierFields {
    fn from_supplier(supplier: &Supplier) -> Self {
        Self {
            store_id: supplier.store_id.to_string(),
            name: supplier.name.clone(),
            kind: supplier.kind.as_str().to_string(),
            ships_from: supplier.ships_from.clone().unwrap_or_default(),
            processing_days: supplier.processing_days.to_string(),
            rating: supplier.rating.to_string(),
            processing_deadline_days: supplier
                .processing_deadline_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            agent_layout: supplier.agent_layout.clone().unwrap_or_default(),
            accepts_returns: supplier.return_policy.accepts_returns,
            refunds_returned_items: supplier.return_policy.refunds_returned_items,
            credits_without_return: supplier.return_policy.credits_without_return,
            return_window_days: supplier.return_policy.window_days.to_string(),
            return_address: RETURN_ADDRESS
                .iter()
                .map(|(field, _)| {
                    supplier
                        .return_policy
                        .return_address
                        .as_ref()
                        .map(|a| address_value(a, field))
                        .unwrap_or_default()
                })
                .collect(),
        }
    }

    fn from_posted(posted: &Posted) -> Self {
        Self {
            store_id: posted.raw("store_id").to_string(),
            name: posted.raw("name").to_string(),
            kind: posted.raw("kind").to_string(),
            ships_from: posted.raw("ships_from").to_string(),
            processing_days: posted.raw("processing_days").to_string(),
            rating: posted.raw("rating").to_string(),
            processing_deadline_days: posted.raw("processing_deadline_days").to_string(),
            agent_layout: posted.raw("agent_layout").to_string(),
            accepts_returns: posted.flag("accepts_returns"),
            refunds_returned_items: posted.flag("refunds_returned_items"),
            credits_without_return: posted.flag("credits_without_return"),
            return_window_days: posted.raw("return_window_days").to_string(),
            return_address: RETURN_ADDRESS
                .iter()
                .map(|(field, _)| posted.raw(&format!("return_{field}")).to_string())
                .collect(),
        }
    }

    /// The return address typed, `None` when every field is blank (the store's address is
    /// used). The engine checks it as it checks every address.
    fn return_address(&self) -> Option<Address> {
        let value = |field: &str| {
            RETURN_ADDRESS
                .iter()
                .position(|(name, _)| *name == field)
                .and_then(|index| self.return_address.get(index))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        if RETURN_ADDRESS.iter().all(|(field, _)| value(field).is_empty()) {
            return None;
        }
        Some(Address {
            first_name: value("first_name"),
            last_name: value("last_name"),
            company: optional(&value("company")),
            address1: value("address1"),
            address2: optional(&value("address2")),
            city: value("city"),
            region: optional(&value("region")),
            postal_code: value("postal_code"),
            country_code: value("country_code").to_ascii_uppercase(),
            phone: optional(&value("phone")),
        })
    }

    /// Reads the plain settings; `None` when a field was refused (recorded in `errors`).
    /// The engine checks the rest (lengths, country code, ranges, an agent's layout).
    fn parse(&self, errors: &mut FieldErrors) -> Option<SupplierSettings> {
        if self.name.trim().is_empty() {
            errors.add("name", "must not be empty");
        }
        let processing_days = count_field(errors, "processing_days", &self.processing_days, Some(0));
        let rating = count_field(errors, "rating", &self.rating, Some(0));
        let deadline = match self.processing_deadline_days.trim() {
            "" => Some(None),
            text => count_field(errors, "processing_deadline_days", text, None).map(Some),
        };
        let window_days = count_field(
            errors,
            "return_window_days",
            &self.return_window_days,
            Some(ReturnPolicy::default().window_days),
        );
        if !errors.is_empty() {
            return None;
        }
        Some(SupplierSettings {
            name: self.name.trim().to_string(),
            ships_from: optional(&self.ships_from),
            processing_days: processing_days?,
            rating: rating?,
            processing_deadline_days: deadline?,
            agent_layout: optional(&self.agent_layout),
            return_policy: ReturnPolicy {
                accepts_returns: self.accepts_returns,
                window_days: window_days?,
                return_address: self.return_address(),
                refunds_returned_items: self.refunds_returned_items,
                credits_without_return: self.credits_without_return,
            },
        })
    }
}

/// One checkbox of a form.
struct CheckView {
    id: &'static str,
    label: &'static str,
    checked: bool,
}

struct SupplierFormView {
    action: String,
    submit: &'static str,
    csrf: String,
    /// The stores to choose from (the operator adding a supplier).
    stores: Option<Vec<ChoiceView>>,
    store_error: Option<String>,
    /// The kinds to choose from (adding only: a supplier keeps its kind).
    kinds: Option<Vec<ChoiceView>>,
    kind_error: Option<String>,
    fields: Vec<FieldView>,
    /// The return policy: its switches, its window and its address.
    return_switches: Vec<CheckView>,
    return_fields: Vec<FieldView>,
    summary: Vec<String>,
}

impl SupplierFormView {
    fn new(
        action: String,
        submit: &'static str,
        csrf: String,
        stores: Option<Vec<ChoiceView>>,
        adding: bool,
        fields: &SupplierFields,
        errors: &FieldErrors,
    ) -> Self {
        let mut text = vec![
            FieldView::new("name", "Name", &fields.name, errors),
            FieldView::new("ships_from", "Ships from (optional)", &fields.ships_from, errors)
                .hint("Country code such as CN"),
            FieldView::new("processing_days", "Processing days", &fields.processing_days, errors)
                .hint("Days from order to hand-over to the carrier")
                .mode("numeric"),
            FieldView::new(
                "processing_deadline_days",
                "Tracking deadline in days (optional)",
                &fields.processing_deadline_days,
                errors,
            )
            .hint("Past it without tracking, the lines move to the next offer")
            .mode("numeric"),
            FieldView::new("rating", "Rating", &fields.rating, errors)
                .hint("0 to 100")
                .mode("numeric"),
        ];
        if adding || fields.kind == SupplierKind::Agent.as_str() {
            text.push(
                FieldView::new(
                    "agent_layout",
                    "Spreadsheet layout (agents only, optional)",
                    &fields.agent_layout,
                    errors,
                )
                .hint("Header=field, … ; empty for dropline's layout"),
            );
        }
        let switches = [
            fields.accepts_returns,
            fields.refunds_returned_items,
            fields.credits_without_return,
        ];
        let return_switches = RETURN_SWITCHES
            .iter()
            .zip(switches)
            .map(|((id, label), checked)| CheckView { id, label, checked })
            .collect();
        let mut return_fields = vec![
            FieldView::new(
                "return_window_days",
                "Return window in days",
                &fields.return_window_days,
                errors,
            )
            .hint("Days after delivery within which the supplier takes a claim (0 to 365)")
            .mode("numeric"),
        ];
        for (index, (field, label)) in RETURN_ADDRESS.iter().enumerate() {
            let value = fields.return_address.get(index).map_or("", String::as_str);
            let mut view = FieldView::new(format!("return_{field}"), *label, value, errors);
            if index == 0 {
                view = view.hint("Leave the address empty to have returns sent to the store's own address");
            }
            return_fields.push(view);
        }
        let mut labels: HashMap<String, String> = text
            .iter()
            .chain(&return_fields)
            .map(|f| (f.id.clone(), f.label.clone()))
            .collect();
        labels.insert("store_id".into(), "Store".into());
        labels.insert("kind".into(), "Kind".into());
        Self {
            action,
            submit,
            csrf,
            stores,
            store_error: errors.get("store_id").map(str::to_string),
            kinds: adding.then(|| {
                SupplierKind::ALL
                    .iter()
                    .map(|kind| ChoiceView {
                        value: kind.as_str().to_string(),
                        label: kind_label(*kind).to_string(),
                        selected: fields.kind.trim() == kind.as_str(),
                    })
                    .collect()
            }),
            kind_error: errors.get("kind").map(str::to_string),
            fields: text,
            return_switches,
            return_fields,
            summary: summary(errors, &labels),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The list, and adding a supplier
// ---------------------------------------------------------------------------------------------

struct SupplierRow {
    id: String,
    name: String,
    kind: &'static str,
    ships_from: String,
    processing: String,
    deadline: String,
    rating: u32,
    connection: &'static str,
    connection_class: &'static str,
    offers: usize,
    store: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/suppliers.html")]
struct SuppliersPage {
    layout: Option<Layout>,
    operator: bool,
    notice: Option<&'static str>,
    rows: Vec<SupplierRow>,
    form: Option<SupplierFormView>,
}

async fn render_list(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    notice_text: Option<&'static str>,
    fields: &SupplierFields,
    errors: &FieldErrors,
) -> Response {
    let operator = signed.scope == Scope::Operator;
    let loaded = async {
        let suppliers = state.app.list_suppliers(signed.scope, None).await?;
        let offers = state.app.list_offers(signed.scope, None).await?;
        let stores = state.app.list_stores(signed.scope).await?;
        Ok::<_, AppError>((suppliers, offers, stores))
    };
    let (mut suppliers, offers, stores) = match loaded.await {
        Ok(loaded) => loaded,
        Err(err) => return failure(&err),
    };
    suppliers.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
    let mut offer_counts: HashMap<SupplierId, usize> = HashMap::new();
    for offer in &offers {
        *offer_counts.entry(offer.supplier_id).or_default() += 1;
    }
    let store_names: HashMap<StoreId, &str> = stores
        .iter()
        .map(|record| (record.store.id, record.store.name.as_str()))
        .collect();
    let rows = suppliers
        .iter()
        .map(|s| {
            let (connection, connection_class) = connection_text(s.kind, &s.connection);
            SupplierRow {
                id: s.id.to_string(),
                name: s.name.clone(),
                kind: kind_label(s.kind),
                ships_from: s.ships_from.clone().unwrap_or_else(|| "—".into()),
                processing: days(s.processing_days),
                deadline: s.processing_deadline_days.map_or_else(|| "None".into(), days),
                rating: s.rating,
                connection,
                connection_class,
                offers: offer_counts.get(&s.id).copied().unwrap_or(0),
                store: operator.then(|| store_names.get(&s.store_id).copied().unwrap_or("—").to_string()),
            }
        })
        .collect();
    let layout = signed.layout();
    let form = signed.may_change_settings().then(|| {
        let stores = operator.then(|| {
            stores
                .iter()
                .map(|record| ChoiceView {
                    value: record.store.id.to_string(),
                    label: record.store.name.clone(),
                    selected: record.store.id.to_string() == fields.store_id.trim(),
                })
                .collect()
        });
        SupplierFormView::new(
            "/suppliers".into(),
            "Add the supplier",
            layout.csrf.clone(),
            stores,
            true,
            fields,
            errors,
        )
    });
    page(
        status,
        &SuppliersPage {
            layout: Some(layout),
            operator,
            notice: notice_text,
            rows,
            form,
        },
    )
}

async fn suppliers_page(State(state): State<AppState>, signed: Signed, Query(query): Query<SavedQuery>) -> Response {
    let fields = SupplierFields {
        kind: SupplierKind::Manual.as_str().to_string(),
        ..SupplierFields::default()
    };
    render_list(
        &state,
        &signed,
        StatusCode::OK,
        notice(query.saved.as_deref()),
        &fields,
        &FieldErrors::default(),
    )
    .await
}

async fn add_supplier(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let posted = Posted(pairs);
    if let Some(refused) = refuse_post(&signed, &posted) {
        return refused;
    }
    let fields = SupplierFields::from_posted(&posted);
    let mut errors = FieldErrors::default();
    // A seller adds to their own store; the operator names it (a malformed id is "not found").
    let store_id = match signed.scope {
        Scope::Store(own) => Some(own),
        Scope::Operator => match fields.store_id.trim() {
            "" => {
                errors.add("store_id", "choose a store");
                None
            }
            text => match text.parse::<StoreId>() {
                Ok(id) => Some(id),
                Err(_) => return not_found(Some(signed.layout())),
            },
        },
    };
    let kind = SupplierKind::parse(fields.kind.trim());
    if kind.is_none() {
        errors.add("kind", "choose one of the kinds");
    }
    let settings = fields.parse(&mut errors);
    let (Some(store_id), Some(kind), Some(settings)) = (store_id, kind, settings) else {
        return render_list(
            &state,
            &signed,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            &fields,
            &errors,
        )
        .await;
    };
    let new = NewSupplier {
        store_id,
        name: settings.name,
        kind,
        ships_from: settings.ships_from,
        processing_days: settings.processing_days,
        rating: settings.rating,
        processing_deadline_days: settings.processing_deadline_days,
        connection: SupplierConnection::default(),
        agent_layout: settings.agent_layout,
        return_policy: settings.return_policy,
    };
    match state.app.create_supplier(signed.scope, new).await {
        Ok(supplier) => see_other(&format!("/suppliers?saved=added#supplier-{}", supplier.id)),
        Err(AppError::Invalid(refused)) => {
            render_list(
                &state,
                &signed,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &fields,
                &form_errors(&refused),
            )
            .await
        }
        Err(err) => refusal(signed.layout(), &err),
    }
}

// ---------------------------------------------------------------------------------------------
// One supplier
// ---------------------------------------------------------------------------------------------

struct SupplierOfferRow {
    id: String,
    variant_id: String,
    product_title: String,
    variant_sku: String,
    variant_title: String,
    supplier_sku: String,
    unit_cost: String,
    stock: String,
    stock_class: &'static str,
    rank: String,
}

#[derive(Template)]
#[template(path = "dashboard/supplier.html")]
struct SupplierPage {
    layout: Option<Layout>,
    may_change: bool,
    notice: Option<&'static str>,
    name: String,
    kind: &'static str,
    store: Option<String>,
    ships_from: String,
    processing: String,
    deadline: String,
    rating: u32,
    /// The return policy in a sentence, and its address's lines when it has one.
    return_policy: String,
    return_address: Option<Vec<String>>,
    connection: &'static str,
    connection_class: &'static str,
    rate_limit: Option<u32>,
    reconciliation: Option<String>,
    offers: Vec<SupplierOfferRow>,
    form: Option<SupplierFormView>,
}

struct SupplierContext {
    supplier: Supplier,
    store_name: String,
    offers: Vec<SupplierOfferRow>,
}

impl SupplierContext {
    /// The supplier of the address; the 404 page for another store's or a malformed id.
    async fn load(state: &AppState, signed: &Signed, id: &str) -> Result<Self, Response> {
        let Ok(id) = id.parse::<SupplierId>() else {
            return Err(not_found(Some(signed.layout())));
        };
        let answer = |err: AppError| match err {
            AppError::NotFound(_) => not_found(Some(signed.layout())),
            other => failure(&other),
        };
        let supplier = state.app.get_supplier(signed.scope, id).await.map_err(answer)?;
        let store = Some(supplier.store_id);
        let store_name = state
            .app
            .get_store(signed.scope, supplier.store_id)
            .await
            .map_err(answer)?
            .store
            .name;
        let offers = state.app.list_offers(signed.scope, store).await.map_err(answer)?;
        let products = state.app.list_products(signed.scope, store).await.map_err(answer)?;
        let mut by_variant: HashMap<VariantId, Vec<&Offer>> = HashMap::new();
        for offer in &offers {
            by_variant.entry(offer.variant_id).or_default().push(offer);
        }
        let mut rows = Vec::new();
        for product in &products {
            for variant in &product.variants {
                let Some(variant_offers) = by_variant.get(&variant.id) else {
                    continue;
                };
                let ranked = ranked(variant_offers.clone());
                for (index, offer) in ranked.iter().enumerate() {
                    if offer.supplier_id != id {
                        continue;
                    }
                    let (stock, stock_class) = stock_text(offer.stock);
                    rows.push(SupplierOfferRow {
                        id: offer.id.to_string(),
                        variant_id: variant.id.to_string(),
                        product_title: product.title.clone(),
                        variant_sku: variant.sku.clone(),
                        variant_title: variant.title.clone(),
                        supplier_sku: offer.supplier_sku.clone(),
                        unit_cost: offer.unit_cost.to_string(),
                        stock,
                        stock_class,
                        rank: rank_label(index),
                    });
                }
            }
        }
        rows.sort_by(|a, b| {
            (a.product_title.to_lowercase(), &a.variant_sku).cmp(&(b.product_title.to_lowercase(), &b.variant_sku))
        });
        Ok(Self {
            supplier,
            store_name,
            offers: rows,
        })
    }

    fn page(
        self,
        signed: &Signed,
        notice_text: Option<&'static str>,
        fields: &SupplierFields,
        errors: &FieldErrors,
    ) -> SupplierPage {
        let layout = signed.layout();
        let may_change = signed.may_change_settings();
        let s = &self.supplier;
        let form = may_change.then(|| {
            SupplierFormView::new(
                format!("/suppliers/{}", s.id),
                "Save the settings",
                layout.csrf.clone(),
                None,
                false,
                fields,
                errors,
            )
        });
        let (connection, connection_class) = connection_text(s.kind, &s.connection);
        let reconciliation = s.last_reconciliation.as_ref().map(|r| {
            format!(
                "{}: {} of the supplier's {} orders matched; {} unknown to dropline, {} duplicated, {} missing{}.",
                moment(r.at),
                r.matched,
                r.remote_orders,
                r.ghosts.len(),
                r.duplicates.len(),
                r.missing.len(),
                if r.complete { "" } else { " (the list was read in part)" }
            )
        });
        SupplierPage {
            layout: Some(layout),
            may_change,
            notice: notice_text,
            name: s.name.clone(),
            kind: kind_label(s.kind),
            store: (signed.scope == Scope::Operator).then(|| self.store_name.clone()),
            ships_from: s.ships_from.clone().unwrap_or_else(|| "—".into()),
            processing: days(s.processing_days),
            deadline: s.processing_deadline_days.map_or_else(|| "None".into(), days),
            rating: s.rating,
            return_policy: policy_text(&s.return_policy),
            return_address: s.return_policy.return_address.as_ref().map(address_lines),
            connection,
            connection_class,
            rate_limit: s.connection.requests_per_second,
            reconciliation,
            offers: self.offers,
            form,
        }
    }
}

async fn supplier_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<SavedQuery>,
) -> Response {
    let context = match SupplierContext::load(&state, &signed, &id).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let fields = SupplierFields::from_supplier(&context.supplier);
    page(
        StatusCode::OK,
        &context.page(
            &signed,
            notice(query.saved.as_deref()),
            &fields,
            &FieldErrors::default(),
        ),
    )
}

async fn edit_supplier(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let posted = Posted(pairs);
    if let Some(refused) = refuse_post(&signed, &posted) {
        return refused;
    }
    let context = match SupplierContext::load(&state, &signed, &id).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let mut fields = SupplierFields::from_posted(&posted);
    // The kind is not edited; it decides whether the agent's layout field is shown.
    fields.kind = context.supplier.kind.as_str().to_string();
    let mut errors = FieldErrors::default();
    let Some(settings) = fields.parse(&mut errors) else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &context.page(&signed, None, &fields, &errors),
        );
    };
    match state
        .app
        .update_supplier_settings(signed.scope, context.supplier.id, settings)
        .await
    {
        Ok(supplier) => see_other(&format!("/suppliers/{}?saved=settings", supplier.id)),
        Err(AppError::Invalid(refused)) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &context.page(&signed, None, &fields, &form_errors(&refused)),
        ),
        Err(err) => refusal(signed.layout(), &err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_numbers_take_their_defaults_and_words_are_refused() {
        let fields = SupplierFields {
            name: " Shenzhen Gadget Co ".into(),
            ships_from: " ".into(),
            ..SupplierFields::default()
        };
        let mut errors = FieldErrors::default();
        let settings = fields.parse(&mut errors).expect("read");
        assert_eq!(settings.name, "Shenzhen Gadget Co");
        assert_eq!(settings.ships_from, None);
        assert_eq!((settings.processing_days, settings.rating), (0, 0));
        assert_eq!(settings.processing_deadline_days, None);

        let fields = SupplierFields {
            name: "".into(),
            processing_days: "two".into(),
            rating: "-1".into(),
            processing_deadline_days: "1.5".into(),
            ..SupplierFields::default()
        };
        let mut errors = FieldErrors::default();
        assert_eq!(fields.parse(&mut errors), None);
        for field in ["name", "processing_days", "rating", "processing_deadline_days"] {
            assert!(errors.get(field).is_some(), "{field} not refused");
        }
    }

    #[test]
    fn credentials_are_told_as_set_or_not_only() {
        let set = SupplierConnection {
            api_key: Some("secret".into()),
            ..SupplierConnection::default()
        };
        assert_eq!(connection_text(SupplierKind::Cj, &set).0, "API connected");
        assert_eq!(
            connection_text(SupplierKind::Aliexpress, &SupplierConnection::default()).0,
            "API not connected"
        );
        assert_eq!(connection_text(SupplierKind::Manual, &set).0, "By hand");
    }
}
