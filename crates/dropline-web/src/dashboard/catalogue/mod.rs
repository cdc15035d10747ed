//! The dashboard's catalogue: `/catalogue` lists the products, their variants and each
//! variant's offers (its mapping to a supplier variant) in the order routing tries them,
//! with the variants no offer ships marked "Unmapped"; `/catalogue/variants/{id}` shows one
//! variant with its stock as the storefront sees it (shown, reserved, sellable) and adds an
//! offer to it; `/catalogue/offers/{id}` edits an offer and
//! `/catalogue/offers/{id}/primary` makes a backup the primary. The suppliers' pages are in
//! [`suppliers`].
//!
//! Staff see these pages and may change nothing. Every read and write goes through
//! [`App`](dropline_app::App) with the signed-in user's scope, so another store's ids answer
//! "not found" as they do over the API. A refused form is shown again with status 422, what
//! was typed kept and the reason next to each refused field.

mod suppliers;

pub(super) use super::pages::Posted;
use super::pages::{FieldErrors, Layout, moment, safe_url};
use super::{Signed, failure, forbidden_csrf, given, message, not_found, page, refusal, see_other};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use dropline_app::inventory::VariantStock;
use dropline_app::service::OfferChanges;
use dropline_app::{AppError, NewOffer, Scope};
use dropline_domain::catalog::{Offer, OfferPriority, Product, ShippingMethod, Supplier, Variant};
use dropline_domain::ids::{OfferId, StoreId, SupplierId, VariantId};
use dropline_domain::money::{Currency, Money};
use serde::Deserialize;
use std::collections::HashMap;

/// At most this many shipping methods are read from one offer form.
const MAX_SHIPPING_ROWS: usize = 10;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/catalogue", get(catalogue_page))
        .route("/catalogue/variants/{id}", get(variant_page))
        .route("/catalogue/variants/{id}/offers", post(add_offer))
        .route("/catalogue/offers/{id}", get(offer_page).post(edit_offer))
        .route("/catalogue/offers/{id}/primary", post(make_primary))
        .merge(suppliers::routes())
}

// ---------------------------------------------------------------------------------------------
// Forms: what was posted, and the views of form fields
// ---------------------------------------------------------------------------------------------

/// Checks what every posted form of these pages needs before anything else: the session's
/// CSRF token, then a role that may change the catalogue. The answer to send otherwise.
pub(super) fn refuse_post(signed: &Signed, posted: &Posted) -> Option<Response> {
    if !signed.csrf_ok(posted.get("csrf")) {
        return Some(forbidden_csrf(signed.layout()));
    }
    if !signed.may_change_settings() {
        return Some(signed.refused());
    }
    None
}

/// One text input with its label, value, hint and the reason it was refused.
pub(super) struct FieldView {
    pub(super) id: String,
    pub(super) label: String,
    pub(super) value: String,
    pub(super) hint: Option<&'static str>,
    pub(super) error: Option<String>,
    /// `inputmode`: `text`, `decimal` or `numeric` (the keyboard a phone shows).
    pub(super) mode: &'static str,
    /// The ids of the hint and the error, for `aria-describedby`.
    pub(super) described_by: Option<String>,
}

impl FieldView {
    pub(super) fn new(id: impl Into<String>, label: impl Into<String>, value: &str, errors: &FieldErrors) -> Self {
        let id = id.into();
        let error = errors.get(&id).map(str::to_string);
        let mut view = Self {
            label: label.into(),
            value: value.to_string(),
            hint: None,
            error,
            mode: "text",
            described_by: None,
            id,
        };
        view.describe();
        view
    }

    pub(super) fn hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self.describe();
        self
    }

    pub(super) fn mode(mut self, mode: &'static str) -> Self {
        self.mode = mode;
        self
    }

    fn describe(&mut self) {
        let ids: Vec<String> = [
            self.hint.map(|_| format!("{}-hint", self.id)),
            self.error.as_ref().map(|_| format!("{}-error", self.id)),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.described_by = (!ids.is_empty()).then(|| ids.join(" "));
    }
}

/// One option of a select.
pub(super) struct ChoiceView {
    pub(super) value: String,
    pub(super) label: String,
    pub(super) selected: bool,
}

/// Every refused field as "Label: reason", for the summary above a form; `labels` names
/// the fields the form shows.
pub(super) fn summary(errors: &FieldErrors, labels: &HashMap<String, String>) -> Vec<String> {
    errors
        .all()
        .iter()
        .map(|(field, reason)| format!("{}: {reason}", labels.get(field).unwrap_or(field)))
        .collect()
}

/// A whole number typed in a form: `None` (and the reason recorded) when it is not one.
pub(super) fn count_field(errors: &mut FieldErrors, field: &str, text: &str, blank: Option<u32>) -> Option<u32> {
    match (text.trim(), blank) {
        ("", Some(value)) => Some(value),
        ("", None) => {
            errors.add(field, "must not be empty");
            None
        }
        (text, _) => match text.parse::<u32>() {
            Ok(value) => Some(value),
            Err(_) => {
                errors.add(field, "must be a whole number");
                None
            }
        },
    }
}

/// The short notice after a change (the address's `saved`), never the address's own text.
fn notice(saved: Option<&str>) -> Option<&'static str> {
    match saved? {
        "offer-added" => Some("The offer was added."),
        "offer" => Some("The offer was saved."),
        "primary" => Some("The offer is now the primary one: routing tries it first."),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Offers as the pages show them
// ---------------------------------------------------------------------------------------------

fn priority_rank(priority: OfferPriority) -> u8 {
    match priority {
        OfferPriority::Primary => 0,
        OfferPriority::Backup => 1,
    }
}

/// What one unit costs from this offer before the destination is known: the unit cost plus
/// its cheapest shipping method.
fn cost_estimate(offer: &Offer) -> i64 {
    let shipping = offer
        .shipping
        .iter()
        .filter(|m| m.cost.currency == offer.unit_cost.currency)
        .map(|m| m.cost.minor)
        .min()
        .unwrap_or(0);
    offer.unit_cost.minor.saturating_add(shipping)
}

/// A variant's offers in the order routing tries them under the primary-then-backup
/// policy: primary before backup, then the lower cost, then the older offer. (Routing
/// compares the landed cost to the order's destination; the cheapest method stands in for
/// it here.)
fn ranked(mut offers: Vec<&Offer>) -> Vec<&Offer> {
    offers.sort_by_key(|o| {
        (
            priority_rank(o.priority),
            o.unit_cost.currency.code(),
            cost_estimate(o),
            o.id,
        )
    });
    offers
}

/// "Primary" for the first offer routing tries, "Backup n" for the others.
fn rank_label(index: usize) -> String {
    if index == 0 {
        "Primary".into()
    } else {
        format!("Backup {index}")
    }
}

fn shipping_text(method: &ShippingMethod) -> String {
    let to = if method.country == "*" {
        "everywhere else".to_string()
    } else {
        method.country.clone()
    };
    format!(
        "{} to {to}: {}, {}–{} days",
        method.name, method.cost, method.min_days, method.max_days
    )
}

fn stock_text(stock: Option<u32>) -> (String, &'static str) {
    match stock {
        None => ("Stock unknown".into(), "wait"),
        Some(0) => ("Out of stock".into(), "bad"),
        Some(units) => (format!("{units} in stock"), "ok"),
    }
}

pub(super) struct OfferView {
    pub(super) id: String,
    pub(super) supplier_id: String,
    pub(super) supplier_name: String,
    pub(super) supplier_sku: String,
    /// The supplier's product and variant ids, when the offer has them.
    pub(super) supplier_ids: Option<String>,
    pub(super) product_url: Option<String>,
    pub(super) unit_cost: String,
    pub(super) shipping: Vec<String>,
    pub(super) stock: String,
    pub(super) stock_class: &'static str,
    pub(super) rank: String,
    pub(super) first: bool,
}

impl OfferView {
    fn new(offer: &Offer, index: usize, suppliers: &HashMap<SupplierId, &Supplier>) -> Self {
        let ids: Vec<String> = [
            offer.supplier_product_id.as_ref().map(|id| format!("product {id}")),
            offer.supplier_variant_id.as_ref().map(|id| format!("variant {id}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let (stock, stock_class) = stock_text(offer.stock);
        Self {
            id: offer.id.to_string(),
            supplier_id: offer.supplier_id.to_string(),
            supplier_name: suppliers
                .get(&offer.supplier_id)
                .map_or_else(|| "Unknown supplier".to_string(), |s| s.name.clone()),
            supplier_sku: offer.supplier_sku.clone(),
            supplier_ids: (!ids.is_empty()).then(|| ids.join(" · ")),
            product_url: safe_url(offer.product_url.as_deref()),
            unit_cost: offer.unit_cost.to_string(),
            shipping: offer.shipping.iter().map(shipping_text).collect(),
            stock,
            stock_class,
            rank: rank_label(index),
            first: index == 0,
        }
    }

    /// The views of a variant's offers, ranked.
    pub(super) fn list(offers: Vec<&Offer>, suppliers: &HashMap<SupplierId, &Supplier>) -> Vec<Self> {
        ranked(offers)
            .into_iter()
            .enumerate()
            .map(|(index, offer)| Self::new(offer, index, suppliers))
            .collect()
    }
}

pub(super) struct VariantView {
    pub(super) id: String,
    pub(super) sku: String,
    pub(super) title: String,
    pub(super) price: String,
    pub(super) offers: Vec<OfferView>,
}

impl VariantView {
    fn new(variant: &Variant, offers: Vec<&Offer>, suppliers: &HashMap<SupplierId, &Supplier>) -> Self {
        Self {
            id: variant.id.to_string(),
            sku: variant.sku.clone(),
            title: variant.title.clone(),
            price: variant.price.to_string(),
            offers: OfferView::list(offers, suppliers),
        }
    }
}

pub(super) struct ProductView {
    pub(super) title: String,
    /// The store's name, for the operator (who sees every store).
    pub(super) store: Option<String>,
    pub(super) variants: Vec<VariantView>,
}

// ---------------------------------------------------------------------------------------------
// The catalogue
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct CatalogueQuery {
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    unmapped: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/catalogue.html")]
struct CataloguePage {
    layout: Option<Layout>,
    csrf: String,
    may_change: bool,
    operator: bool,
    stores: Vec<ChoiceView>,
    only_unmapped: bool,
    filtered: bool,
    notice: Option<&'static str>,
    products: Vec<ProductView>,
    variant_count: usize,
    unmapped_count: usize,
}

async fn catalogue_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<CatalogueQuery>,
) -> Response {
    let operator = signed.scope == Scope::Operator;
    let store = match given(query.store.as_ref()) {
        Some(text) if operator => match text.parse::<StoreId>() {
            Ok(id) => Some(id),
            Err(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    Some(signed.layout()),
                    "Unknown filter",
                    "The store in the address is not one dropline knows.",
                );
            }
        },
        _ => None,
    };
    let only_unmapped = given(query.unmapped.as_ref()).is_some();
    let loaded = async {
        let products = state.app.list_products(signed.scope, store).await?;
        let offers = state.app.list_offers(signed.scope, store).await?;
        let suppliers = state.app.list_suppliers(signed.scope, store).await?;
        let stores = if operator {
            state.app.list_stores(signed.scope).await?
        } else {
            Vec::new()
        };
        Ok::<_, AppError>((products, offers, suppliers, stores))
    };
    let (mut products, offers, suppliers, stores) = match loaded.await {
        Ok(loaded) => loaded,
        Err(err) => return failure(&err),
    };
    let store_names: HashMap<StoreId, &str> = stores
        .iter()
        .map(|record| (record.store.id, record.store.name.as_str()))
        .collect();
    let suppliers_by_id: HashMap<SupplierId, &Supplier> = suppliers.iter().map(|s| (s.id, s)).collect();
    let mut offers_by_variant: HashMap<VariantId, Vec<&Offer>> = HashMap::new();
    for offer in &offers {
        offers_by_variant.entry(offer.variant_id).or_default().push(offer);
    }
    products.sort_by(|a, b| {
        a.title
            .to_lowercase()
            .cmp(&b.title.to_lowercase())
            .then(a.id.cmp(&b.id))
    });

    let mut variant_count = 0;
    let mut unmapped_count = 0;
    let mut views = Vec::new();
    for product in &products {
        let mut variants = Vec::new();
        for variant in &product.variants {
            let offers = offers_by_variant.remove(&variant.id).unwrap_or_default();
            variant_count += 1;
            if offers.is_empty() {
                unmapped_count += 1;
            } else if only_unmapped {
                continue;
            }
            variants.push(VariantView::new(variant, offers, &suppliers_by_id));
        }
        if variants.is_empty() {
            continue;
        }
        views.push(ProductView {
            title: product.title.clone(),
            store: operator.then(|| store_names.get(&product.store_id).copied().unwrap_or("—").to_string()),
            variants,
        });
    }
    let layout = signed.layout();
    let template = CataloguePage {
        csrf: layout.csrf.clone(),
        layout: Some(layout),
        may_change: signed.may_change_settings(),
        operator,
        stores: stores
            .iter()
            .map(|record| ChoiceView {
                value: record.store.id.to_string(),
                label: record.store.name.clone(),
                selected: Some(record.store.id) == store,
            })
            .collect(),
        only_unmapped,
        filtered: store.is_some() || only_unmapped,
        notice: notice(query.saved.as_deref()),
        products: views,
        variant_count,
        unmapped_count,
    };
    page(StatusCode::OK, &template)
}

// ---------------------------------------------------------------------------------------------
// The offer form
// ---------------------------------------------------------------------------------------------

/// One shipping method of the offer form, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ShippingFields {
    country: String,
    name: String,
    cost: String,
    min_days: String,
    max_days: String,
}

impl ShippingFields {
    fn is_blank(&self) -> bool {
        [&self.country, &self.name, &self.cost, &self.min_days, &self.max_days]
            .iter()
            .all(|text| text.trim().is_empty())
    }
}

/// The offer form, as typed (shown again as it was when it is refused).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct OfferFields {
    supplier_id: String,
    supplier_sku: String,
    supplier_product_id: String,
    supplier_variant_id: String,
    product_url: String,
    currency: String,
    unit_cost: String,
    stock: String,
    /// The stock the edit form showed: a save that leaves the stock as shown does not write
    /// it, so a reservation that landed meanwhile is not undone.
    stock_was: String,
    priority: String,
    shipping: Vec<ShippingFields>,
}

/// The offer form read into the engine's types.
#[derive(Debug, PartialEq, Eq)]
struct ParsedOffer {
    supplier_sku: String,
    supplier_product_id: Option<String>,
    supplier_variant_id: Option<String>,
    product_url: Option<String>,
    unit_cost: Money,
    stock: Option<u32>,
    priority: OfferPriority,
    shipping: Vec<ShippingMethod>,
    /// The form row of each shipping method (blank rows are left out), to put the engine's
    /// `shipping[i]` refusals next to the right inputs.
    rows: Vec<usize>,
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn shipping_id(row: usize, name: &str) -> String {
    format!("shipping-{row}-{name}")
}

impl OfferFields {
    fn from_offer(offer: &Offer) -> Self {
        Self {
            supplier_id: offer.supplier_id.to_string(),
            supplier_sku: offer.supplier_sku.clone(),
            supplier_product_id: offer.supplier_product_id.clone().unwrap_or_default(),
            supplier_variant_id: offer.supplier_variant_id.clone().unwrap_or_default(),
            product_url: offer.product_url.clone().unwrap_or_default(),
            currency: offer.unit_cost.currency.code().to_string(),
            unit_cost: offer.unit_cost.amount_string(),
            stock: offer.stock.map(|s| s.to_string()).unwrap_or_default(),
            stock_was: offer.stock.map(|s| s.to_string()).unwrap_or_default(),
            priority: offer.priority.as_str().to_string(),
            shipping: offer
                .shipping
                .iter()
                .map(|m| ShippingFields {
                    country: m.country.clone(),
                    name: m.name.clone(),
                    cost: m.cost.amount_string(),
                    min_days: m.min_days.to_string(),
                    max_days: m.max_days.to_string(),
                })
                .collect(),
        }
    }

    fn from_posted(posted: &Posted) -> Self {
        let mut shipping: Vec<ShippingFields> = Vec::new();
        for row in 0..MAX_SHIPPING_ROWS {
            let field = |name: &str| posted.raw(&shipping_id(row, name)).to_string();
            let fields = ShippingFields {
                country: field("country"),
                name: field("name"),
                cost: field("cost"),
                min_days: field("min_days"),
                max_days: field("max_days"),
            };
            let present = ["country", "name", "cost", "min_days", "max_days"]
                .iter()
                .any(|name| posted.get(&shipping_id(row, name)).is_some());
            if present {
                shipping.resize(row, ShippingFields::default());
                shipping.push(fields);
            }
        }
        Self {
            supplier_id: posted.raw("supplier_id").to_string(),
            supplier_sku: posted.raw("supplier_sku").to_string(),
            supplier_product_id: posted.raw("supplier_product_id").to_string(),
            supplier_variant_id: posted.raw("supplier_variant_id").to_string(),
            product_url: posted.raw("product_url").to_string(),
            currency: posted.raw("currency").to_string(),
            unit_cost: posted.raw("unit_cost").to_string(),
            stock: posted.raw("stock").to_string(),
            stock_was: posted.raw("stock_was").to_string(),
            priority: posted.raw("priority").to_string(),
            shipping,
        }
    }

    /// Reads the form; `None` when a field was refused (each recorded in `errors`). The
    /// engine checks the rest (SKU length, URL, countries, days) when the offer is written.
    fn parse(&self, errors: &mut FieldErrors) -> Option<ParsedOffer> {
        let currency = match Currency::parse(&self.currency.trim().to_ascii_uppercase()) {
            Ok(currency) => Some(currency),
            Err(_) => {
                errors.add("currency", "must be a currency code such as USD");
                None
            }
        };
        if self.supplier_sku.trim().is_empty() {
            errors.add("supplier_sku", "must not be empty");
        }
        let unit_cost = amount_field(errors, "unit_cost", &self.unit_cost, currency);
        let stock = match self.stock.trim() {
            "" => Some(None),
            text => match text.parse::<u32>() {
                Ok(units) => Some(Some(units)),
                Err(_) => {
                    errors.add("stock", "must be a whole number of units, or empty when unknown");
                    None
                }
            },
        };
        let priority = OfferPriority::parse(self.priority.trim());
        if priority.is_none() {
            errors.add("priority", "choose primary or backup");
        }
        let mut shipping = Vec::new();
        let mut rows = Vec::new();
        for (row, fields) in self.shipping.iter().enumerate() {
            if fields.is_blank() {
                continue;
            }
            let cost = amount_field(errors, &shipping_id(row, "cost"), &fields.cost, currency);
            let min_days = count_field(errors, &shipping_id(row, "min_days"), &fields.min_days, None);
            let max_days = count_field(errors, &shipping_id(row, "max_days"), &fields.max_days, None);
            if let (Some(cost), Some(min_days), Some(max_days)) = (cost, min_days, max_days) {
                shipping.push(ShippingMethod {
                    country: fields.country.trim().to_ascii_uppercase(),
                    name: fields.name.trim().to_string(),
                    cost,
                    min_days,
                    max_days,
                });
                rows.push(row);
            }
        }
        if self.shipping.iter().all(ShippingFields::is_blank) {
            errors.add("shipping", "add at least one shipping method");
        }
        if !errors.is_empty() {
            return None;
        }
        Some(ParsedOffer {
            supplier_sku: self.supplier_sku.trim().to_string(),
            supplier_product_id: optional(&self.supplier_product_id),
            supplier_variant_id: optional(&self.supplier_variant_id),
            product_url: optional(&self.product_url),
            unit_cost: unit_cost?,
            stock: stock?,
            priority: priority?,
            shipping,
            rows,
        })
    }
}

/// An amount typed in a form, in `currency` (no reason is added for the amount when the
/// currency itself was refused).
fn amount_field(errors: &mut FieldErrors, field: &str, text: &str, currency: Option<Currency>) -> Option<Money> {
    if text.trim().is_empty() {
        errors.add(field, "must not be empty");
        return None;
    }
    let currency = currency?;
    match Money::parse_decimal(text, currency) {
        Ok(money) => Some(money),
        Err(_) => {
            errors.add(
                field,
                format!(
                    "must be an amount such as 12.50 (at most {} decimals)",
                    currency.exponent()
                ),
            );
            None
        }
    }
}

/// The form field of a field the engine refused: its `shipping[i].cost` is the form's
/// `shipping-{row}-cost`, the row that method came from.
fn form_field(engine_field: &str, rows: &[usize]) -> String {
    let shipping = engine_field
        .strip_prefix("shipping[")
        .and_then(|rest| rest.split_once("]."))
        .and_then(|(index, tail)| {
            let row = rows.get(index.parse::<usize>().ok()?)?;
            let name = tail.split('.').next().unwrap_or(tail);
            Some(shipping_id(*row, name))
        });
    shipping.unwrap_or_else(|| engine_field.to_string())
}

fn engine_errors(fields: &[dropline_app::FieldError], rows: &[usize]) -> FieldErrors {
    let mut errors = FieldErrors::default();
    for field in fields {
        errors.add(form_field(&field.field, rows), field.reason.clone());
    }
    errors
}

struct ShippingRowView {
    number: usize,
    fields: Vec<FieldView>,
}

/// The offer form as a page shows it.
struct OfferFormView {
    action: String,
    submit: &'static str,
    csrf: String,
    /// The store's suppliers to choose from (adding only: an offer keeps its supplier).
    suppliers: Option<Vec<ChoiceView>>,
    supplier_error: Option<String>,
    fields: Vec<FieldView>,
    priorities: Vec<ChoiceView>,
    priority_error: Option<String>,
    shipping: Vec<ShippingRowView>,
    shipping_error: Option<String>,
    summary: Vec<String>,
    /// The stock shown when the form was first drawn (editing only).
    stock_was: String,
}

impl OfferFormView {
    fn new(
        action: String,
        submit: &'static str,
        csrf: String,
        suppliers: Option<&[Supplier]>,
        fields: &OfferFields,
        errors: &FieldErrors,
    ) -> Self {
        let text = vec![
            FieldView::new("supplier_sku", "Supplier SKU", &fields.supplier_sku, errors)
                .hint("The supplier's code of the item, as you order it"),
            FieldView::new(
                "supplier_product_id",
                "Supplier product id (optional)",
                &fields.supplier_product_id,
                errors,
            ),
            FieldView::new(
                "supplier_variant_id",
                "Supplier variant id (optional)",
                &fields.supplier_variant_id,
                errors,
            ),
            FieldView::new(
                "product_url",
                "Supplier product page (optional)",
                &fields.product_url,
                errors,
            )
            .hint("https:// address, for whoever orders by hand"),
            FieldView::new("currency", "Cost currency", &fields.currency, errors).hint("ISO code such as USD"),
            FieldView::new("unit_cost", "Unit cost", &fields.unit_cost, errors)
                .hint("What one unit costs at the supplier, e.g. 12.50")
                .mode("decimal"),
            FieldView::new("stock", "Stock (optional)", &fields.stock, errors)
                .hint("Units the supplier can ship; empty when unknown")
                .mode("numeric"),
        ];
        // The rows typed, and one blank row to add a method (within the limit).
        let mut rows = fields.shipping.clone();
        if rows.len() < MAX_SHIPPING_ROWS && rows.last().is_none_or(|row| !row.is_blank()) {
            rows.push(ShippingFields::default());
        }
        let mut shipping = rows
            .iter()
            .enumerate()
            .map(|(row, typed)| ShippingRowView {
                number: row + 1,
                fields: vec![
                    FieldView::new(shipping_id(row, "country"), "Destination", &typed.country, errors)
                        .hint("Country code such as US, or * for everywhere else"),
                    FieldView::new(shipping_id(row, "name"), "Method", &typed.name, errors),
                    FieldView::new(shipping_id(row, "cost"), "Cost per unit", &typed.cost, errors).mode("decimal"),
                    FieldView::new(shipping_id(row, "min_days"), "Days, at least", &typed.min_days, errors)
                        .mode("numeric"),
                    FieldView::new(shipping_id(row, "max_days"), "Days, at most", &typed.max_days, errors)
                        .mode("numeric"),
                ],
            })
            .collect::<Vec<_>>();
        // The form-wide shipping reason is read with the first row's first input.
        if errors.get("shipping").is_some()
            && let Some(first) = shipping.first_mut().and_then(|row| row.fields.first_mut())
        {
            first.described_by = Some(match first.described_by.take() {
                Some(ids) => format!("{ids} shipping-error"),
                None => "shipping-error".to_string(),
            });
        }
        let mut labels: HashMap<String, String> = HashMap::new();
        for field in &text {
            labels.insert(field.id.clone(), field.label.clone());
        }
        for row in &shipping {
            for field in &row.fields {
                labels.insert(
                    field.id.clone(),
                    format!("Shipping method {}, {}", row.number, field.label),
                );
            }
        }
        labels.insert("supplier_id".into(), "Supplier".into());
        labels.insert("priority".into(), "Priority".into());
        labels.insert("shipping".into(), "Shipping".into());
        Self {
            stock_was: fields.stock_was.clone(),
            action,
            submit,
            csrf,
            suppliers: suppliers.map(|suppliers| {
                suppliers
                    .iter()
                    .map(|s| ChoiceView {
                        value: s.id.to_string(),
                        label: format!("{} ({})", s.name, s.kind.as_str()),
                        selected: s.id.to_string() == fields.supplier_id.trim(),
                    })
                    .collect()
            }),
            supplier_error: errors.get("supplier_id").map(str::to_string),
            fields: text,
            priorities: [
                (OfferPriority::Primary, "Primary: routing tries it first"),
                (OfferPriority::Backup, "Backup: when the primary cannot ship"),
            ]
            .into_iter()
            .map(|(priority, label)| ChoiceView {
                value: priority.as_str().to_string(),
                label: label.to_string(),
                selected: fields.priority.trim() == priority.as_str(),
            })
            .collect(),
            priority_error: errors.get("priority").map(str::to_string),
            shipping,
            shipping_error: errors.get("shipping").map(str::to_string),
            summary: summary(errors, &labels),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A variant, and adding an offer to it
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "dashboard/catalogue_variant.html")]
struct VariantPage {
    layout: Option<Layout>,
    csrf: String,
    may_change: bool,
    product_title: String,
    store: Option<String>,
    /// The store's id, for the link to its stock and prices (the operator's needs it).
    store_id: String,
    variant: VariantView,
    stock: StockView,
    form: Option<OfferFormView>,
}

/// A variant's stock as the storefront sees it.
struct StockView {
    /// What the storefront should show (a number, or why there is none).
    shown: String,
    /// What the offers can ship together.
    sellable: String,
    reserved: u32,
    safety_buffer: u32,
    /// What dropline last wrote to the storefront, when it wrote anything.
    listing: Option<String>,
}

impl StockView {
    fn new(stock: &VariantStock) -> Self {
        let shown = match (stock.shown, stock.offers.is_empty()) {
            (Some(units), _) => units.to_string(),
            (None, true) => "Nothing to sync: no offer".to_string(),
            (None, false) => "Not limited: a supplier's stock is unknown".to_string(),
        };
        let listing = stock.listing.as_ref().map(|listing| {
            let mut parts = Vec::new();
            if let Some(units) = listing.stock {
                parts.push(format!("stock {units}"));
            }
            if let Some(price) = listing.price {
                parts.push(format!("price {price}"));
            }
            match listing.published {
                Some(true) => parts.push("shown".to_string()),
                Some(false) => parts.push("hidden".to_string()),
                None => {}
            }
            format!("{}, {}", parts.join(", "), moment(listing.updated_at))
        });
        Self {
            shown,
            sellable: stock
                .sellable
                .map_or_else(|| "Unknown".to_string(), |units| units.to_string()),
            reserved: stock.reserved,
            safety_buffer: stock.safety_buffer,
            listing,
        }
    }
}

/// What the variant page shows: the variant, its product, offers and the store's suppliers.
struct VariantContext {
    product: Product,
    variant: Variant,
    offers: Vec<Offer>,
    suppliers: Vec<Supplier>,
    store_name: String,
    currency: Currency,
    stock: VariantStock,
}

impl VariantContext {
    /// The variant of the address; the 404 page for another store's or a malformed id.
    async fn load(state: &AppState, signed: &Signed, id: &str) -> Result<Self, Response> {
        let Ok(id) = id.parse::<VariantId>() else {
            return Err(not_found(Some(signed.layout())));
        };
        let answer = |err: AppError| match err {
            AppError::NotFound(_) => not_found(Some(signed.layout())),
            other => failure(&other),
        };
        let (product, variant) = state.app.get_variant(signed.scope, id).await.map_err(answer)?;
        let store = state
            .app
            .get_store(signed.scope, product.store_id)
            .await
            .map_err(answer)?;
        let offers = state
            .app
            .list_offers(signed.scope, Some(product.store_id))
            .await
            .map_err(answer)?
            .into_iter()
            .filter(|offer| offer.variant_id == id)
            .collect();
        let suppliers = state
            .app
            .list_suppliers(signed.scope, Some(product.store_id))
            .await
            .map_err(answer)?;
        let stock = state.app.variant_stock(signed.scope, id).await.map_err(answer)?;
        Ok(Self {
            product,
            variant,
            offers,
            suppliers,
            store_name: store.store.name,
            currency: store.store.currency,
            stock,
        })
    }

    /// A new offer's form: the store's currency, primary when the variant has no offer yet.
    fn blank_form(&self) -> OfferFields {
        OfferFields {
            currency: self.currency.code().to_string(),
            priority: if self.offers.is_empty() {
                OfferPriority::Primary
            } else {
                OfferPriority::Backup
            }
            .as_str()
            .to_string(),
            ..OfferFields::default()
        }
    }

    fn page(&self, signed: &Signed, fields: &OfferFields, errors: &FieldErrors) -> VariantPage {
        let layout = signed.layout();
        let suppliers: HashMap<SupplierId, &Supplier> = self.suppliers.iter().map(|s| (s.id, s)).collect();
        let may_change = signed.may_change_settings();
        let form = (may_change && !self.suppliers.is_empty()).then(|| {
            OfferFormView::new(
                format!("/catalogue/variants/{}/offers", self.variant.id),
                "Add the offer",
                layout.csrf.clone(),
                Some(&self.suppliers),
                fields,
                errors,
            )
        });
        VariantPage {
            csrf: layout.csrf.clone(),
            layout: Some(layout),
            may_change,
            product_title: self.product.title.clone(),
            store: (signed.scope == Scope::Operator).then(|| self.store_name.clone()),
            store_id: self.product.store_id.to_string(),
            variant: VariantView::new(&self.variant, self.offers.iter().collect(), &suppliers),
            stock: StockView::new(&self.stock),
            form,
        }
    }
}

async fn variant_page(State(state): State<AppState>, signed: Signed, Path(id): Path<String>) -> Response {
    let context = match VariantContext::load(&state, &signed, &id).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let fields = context.blank_form();
    page(StatusCode::OK, &context.page(&signed, &fields, &FieldErrors::default()))
}

async fn add_offer(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let posted = Posted(pairs);
    if let Some(refused) = refuse_post(&signed, &posted) {
        return refused;
    }
    let context = match VariantContext::load(&state, &signed, &id).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let fields = OfferFields::from_posted(&posted);
    let mut errors = FieldErrors::default();
    // The supplier must be one of the variant's store: another store's id is "not found".
    let supplier_id = match fields.supplier_id.trim() {
        "" => {
            errors.add("supplier_id", "choose a supplier");
            None
        }
        text => match text.parse::<SupplierId>() {
            Ok(id) if context.suppliers.iter().any(|s| s.id == id) => Some(id),
            _ => return not_found(Some(signed.layout())),
        },
    };
    let refused = |errors: &FieldErrors| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &context.page(&signed, &fields, errors),
        )
    };
    let (Some(supplier_id), Some(parsed)) = (supplier_id, fields.parse(&mut errors)) else {
        return refused(&errors);
    };
    let new = NewOffer {
        units: 1,
        variant_id: context.variant.id,
        supplier_id,
        supplier_sku: parsed.supplier_sku,
        supplier_product_id: parsed.supplier_product_id,
        supplier_variant_id: parsed.supplier_variant_id,
        product_url: parsed.product_url,
        unit_cost: parsed.unit_cost,
        stock: parsed.stock,
        shipping: parsed.shipping,
        priority: parsed.priority,
    };
    let primary = new.priority == OfferPriority::Primary;
    let added = match state.app.add_offer(signed.scope, new).await {
        Ok(offer) => offer,
        Err(AppError::Invalid(fields)) => return refused(&engine_errors(&fields, &parsed.rows)),
        Err(err) => return refusal(signed.layout(), &err),
    };
    // A new primary takes the place of the variant's old one, as "Make primary" does.
    if primary && context.offers.iter().any(|o| o.priority == OfferPriority::Primary) {
        let changes = OfferChanges {
            priority: Some(OfferPriority::Primary),
            ..OfferChanges::default()
        };
        if let Err(err) = state.app.update_offer(signed.scope, added.id, changes).await {
            return refusal(signed.layout(), &err);
        }
    }
    see_other(&format!("/catalogue?saved=offer-added#variant-{}", context.variant.id))
}

// ---------------------------------------------------------------------------------------------
// An offer: edit, make primary
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "dashboard/catalogue_offer.html")]
struct OfferPage {
    layout: Option<Layout>,
    may_change: bool,
    product_title: String,
    variant_id: String,
    variant_sku: String,
    variant_title: String,
    supplier_id: String,
    supplier_name: String,
    offer: OfferView,
    form: Option<OfferFormView>,
}

struct OfferContext {
    offer: Offer,
    product: Product,
    variant: Variant,
    supplier: Supplier,
}

impl OfferContext {
    /// The offer of the address; the 404 page for another store's or a malformed id.
    async fn load(state: &AppState, signed: &Signed, id: &str) -> Result<Self, Response> {
        let Ok(id) = id.parse::<OfferId>() else {
            return Err(not_found(Some(signed.layout())));
        };
        let answer = |err: AppError| match err {
            AppError::NotFound(_) => not_found(Some(signed.layout())),
            other => failure(&other),
        };
        let offer = state.app.get_offer(signed.scope, id).await.map_err(answer)?;
        let (product, variant) = state
            .app
            .get_variant(signed.scope, offer.variant_id)
            .await
            .map_err(answer)?;
        let supplier = state
            .app
            .get_supplier(signed.scope, offer.supplier_id)
            .await
            .map_err(answer)?;
        Ok(Self {
            offer,
            product,
            variant,
            supplier,
        })
    }

    fn page(&self, signed: &Signed, fields: &OfferFields, errors: &FieldErrors) -> OfferPage {
        let layout = signed.layout();
        let may_change = signed.may_change_settings();
        let suppliers = HashMap::from([(self.supplier.id, &self.supplier)]);
        let form = may_change.then(|| {
            OfferFormView::new(
                format!("/catalogue/offers/{}", self.offer.id),
                "Save the offer",
                layout.csrf.clone(),
                None,
                fields,
                errors,
            )
        });
        OfferPage {
            layout: Some(layout),
            may_change,
            product_title: self.product.title.clone(),
            variant_id: self.variant.id.to_string(),
            variant_sku: self.variant.sku.clone(),
            variant_title: self.variant.title.clone(),
            supplier_id: self.supplier.id.to_string(),
            supplier_name: self.supplier.name.clone(),
            offer: OfferView::new(&self.offer, 0, &suppliers),
            form,
        }
    }
}

async fn offer_page(State(state): State<AppState>, signed: Signed, Path(id): Path<String>) -> Response {
    let context = match OfferContext::load(&state, &signed, &id).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let fields = OfferFields::from_offer(&context.offer);
    page(StatusCode::OK, &context.page(&signed, &fields, &FieldErrors::default()))
}

async fn edit_offer(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let posted = Posted(pairs);
    if let Some(refused) = refuse_post(&signed, &posted) {
        return refused;
    }
    let context = match OfferContext::load(&state, &signed, &id).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let fields = OfferFields::from_posted(&posted);
    let refused = |errors: &FieldErrors| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &context.page(&signed, &fields, errors),
        )
    };
    let mut errors = FieldErrors::default();
    let Some(parsed) = fields.parse(&mut errors) else {
        return refused(&errors);
    };
    let changes = OfferChanges {
        supplier_sku: Some(parsed.supplier_sku),
        supplier_product_id: Some(parsed.supplier_product_id),
        supplier_variant_id: Some(parsed.supplier_variant_id),
        product_url: Some(parsed.product_url),
        unit_cost: Some(parsed.unit_cost),
        stock: (fields.stock.trim() != fields.stock_was.trim()).then_some(parsed.stock),
        shipping: Some(parsed.shipping),
        priority: Some(parsed.priority),
    };
    match state.app.update_offer(signed.scope, context.offer.id, changes).await {
        Ok(offer) => see_other(&format!("/catalogue?saved=offer#variant-{}", offer.variant_id)),
        Err(AppError::Invalid(fields)) => refused(&engine_errors(&fields, &parsed.rows)),
        Err(err) => refusal(signed.layout(), &err),
    }
}

async fn make_primary(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let posted = Posted(pairs);
    if let Some(refused) = refuse_post(&signed, &posted) {
        return refused;
    }
    let Ok(id) = id.parse::<OfferId>() else {
        return not_found(Some(signed.layout()));
    };
    let changes = OfferChanges {
        priority: Some(OfferPriority::Primary),
        ..OfferChanges::default()
    };
    match state.app.update_offer(signed.scope, id, changes).await {
        Ok(offer) => see_other(&format!("/catalogue?saved=primary#variant-{}", offer.variant_id)),
        Err(err) => refusal(signed.layout(), &err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::ids::OfferId;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("USD"))
    }

    fn offer(priority: OfferPriority, unit: i64, shipping: &[i64]) -> Offer {
        Offer {
            units: 1,
            id: OfferId::new(),
            variant_id: VariantId::new(),
            supplier_id: SupplierId::new(),
            supplier_sku: "S".into(),
            supplier_product_id: None,
            supplier_variant_id: None,
            product_url: None,
            unit_cost: usd(unit),
            stock: None,
            shipping: shipping
                .iter()
                .map(|cost| ShippingMethod {
                    country: "*".into(),
                    name: "Standard".into(),
                    cost: usd(*cost),
                    min_days: 5,
                    max_days: 9,
                })
                .collect(),
            priority,
        }
    }

    #[test]
    fn offers_rank_primary_first_then_by_cost_then_age() {
        let dear_backup = offer(OfferPriority::Backup, 900, &[100]);
        let cheap_backup = offer(OfferPriority::Backup, 500, &[900, 100]);
        let primary = offer(OfferPriority::Primary, 5000, &[0]);
        let same_cost_later = offer(OfferPriority::Backup, 900, &[100]);
        let order: Vec<OfferId> = ranked(vec![&same_cost_later, &dear_backup, &primary, &cheap_backup])
            .iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(
            order,
            vec![primary.id, cheap_backup.id, dear_backup.id, same_cost_later.id]
        );
        assert_eq!(rank_label(0), "Primary");
        assert_eq!(rank_label(2), "Backup 2");
    }

    fn posted(pairs: &[(&str, &str)]) -> Posted {
        Posted(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn the_offer_form_reads_into_an_offer_skipping_blank_shipping_rows() {
        let fields = OfferFields::from_posted(&posted(&[
            ("supplier_sku", " CJ-1 "),
            ("supplier_product_id", ""),
            ("currency", "usd"),
            ("unit_cost", "12.5"),
            ("stock", ""),
            ("priority", "backup"),
            ("shipping-0-country", ""),
            ("shipping-0-name", ""),
            ("shipping-1-country", "us"),
            ("shipping-1-name", "Express"),
            ("shipping-1-cost", "3"),
            ("shipping-1-min_days", "2"),
            ("shipping-1-max_days", "4"),
        ]));
        let mut errors = FieldErrors::default();
        let parsed = fields.parse(&mut errors).expect("read");
        assert!(errors.is_empty());
        assert_eq!(parsed.supplier_sku, "CJ-1");
        assert_eq!(parsed.supplier_product_id, None);
        assert_eq!(parsed.unit_cost, usd(1250));
        assert_eq!(parsed.stock, None);
        assert_eq!(parsed.priority, OfferPriority::Backup);
        assert_eq!(parsed.shipping.len(), 1);
        assert_eq!(parsed.shipping[0].country, "US");
        assert_eq!(parsed.shipping[0].cost, usd(300));
        assert_eq!(parsed.rows, vec![1]);
        // The engine's `shipping[0]` is the form's row 1.
        assert_eq!(form_field("shipping[0].min_days", &parsed.rows), "shipping-1-min_days");
        assert_eq!(form_field("shipping[0].cost.currency", &parsed.rows), "shipping-1-cost");
        assert_eq!(form_field("supplier_sku", &parsed.rows), "supplier_sku");
        assert_eq!(form_field("shipping[7].name", &parsed.rows), "shipping[7].name");
    }

    #[test]
    fn every_unreadable_field_is_named() {
        let fields = OfferFields::from_posted(&posted(&[
            ("supplier_sku", " "),
            ("currency", "USD"),
            ("unit_cost", "12.345"),
            ("stock", "-3"),
            ("priority", "first"),
            ("shipping-0-country", "US"),
            ("shipping-0-cost", "x"),
            ("shipping-0-min_days", ""),
            ("shipping-0-max_days", "4"),
        ]));
        let mut errors = FieldErrors::default();
        assert_eq!(fields.parse(&mut errors), None);
        for field in [
            "supplier_sku",
            "unit_cost",
            "stock",
            "priority",
            "shipping-0-cost",
            "shipping-0-min_days",
        ] {
            assert!(errors.get(field).is_some(), "{field} not refused");
        }
        assert!(errors.get("shipping-0-max_days").is_none());

        let mut errors = FieldErrors::default();
        let no_currency = OfferFields {
            currency: "dollars".into(),
            unit_cost: "1".into(),
            ..OfferFields::default()
        };
        assert_eq!(no_currency.parse(&mut errors), None);
        assert!(errors.get("currency").is_some());
        assert!(errors.get("unit_cost").is_none(), "only the currency is wrong");
        assert!(errors.get("shipping").is_some());
    }

    #[test]
    fn an_offer_shows_in_its_form_as_it_is() {
        let mut offer = offer(OfferPriority::Primary, 1250, &[300]);
        offer.stock = Some(7);
        let fields = OfferFields::from_offer(&offer);
        assert_eq!(fields.unit_cost, "12.50");
        assert_eq!(fields.stock, "7");
        assert_eq!(fields.shipping[0].cost, "3.00");
        let mut errors = FieldErrors::default();
        let parsed = fields.parse(&mut errors).expect("its own form reads back");
        assert_eq!(parsed.unit_cost, offer.unit_cost);
        assert_eq!(parsed.shipping, offer.shipping);
    }
}
