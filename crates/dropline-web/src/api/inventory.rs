//! Stock and prices over the API: a store's stock-sync and pricing settings, the syncs
//! themselves, a variant's stock, an offer's cost history, the price changes waiting for the
//! seller and the sync problems to look at.

use crate::AppState;
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::{MoneyJson, PriceChangeStatusName, WhenOutOfStockName, api_value};
use crate::error::{ApiError, ErrorBody};
use crate::input::{Input, JsonBody, Problems, QueryParams, ReadJson, parse_choice, parse_id, parse_limit, path_id};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::{AppError, FieldError, Scope};
use dropline_domain::ids::{OfferId, PriceChangeId, StoreId, SupplierId, SyncProblemId, VariantId};
use dropline_domain::inventory::{InventorySettings, PricingScope, PricingSettings, ScopedRule};
use dropline_domain::money::{Currency, Money};
use dropline_domain::pricing::{PricingRule, PricingTier, Rounding, ShippingInPrice};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// How a store keeps its storefront's stock in line with its suppliers'.
#[derive(ToSchema)]
#[schema(as = InventorySettings)]
#[allow(dead_code)] // documentation only: read as the domain's settings
pub struct InventorySettingsJson {
    /// Whether stock and prices are synced from the suppliers and written to the storefront.
    pub sync: bool,
    /// Units kept back from what the offers can ship (0 to 10000; default 0).
    pub safety_buffer: Option<u32>,
    /// Default `show_zero`.
    #[schema(value_type = Option<WhenOutOfStockName>)]
    pub when_out: Option<String>,
    /// Minutes between two syncs of each supplier (5 to 1440; default 60).
    pub sync_every_minutes: Option<u32>,
}

impl ReadJson for InventorySettings {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let defaults = InventorySettings::default();
        let sync = input.field("sync").required(problems, Input::flag);
        let safety_buffer = input.field("safety_buffer").optional(problems, Input::count);
        let when_out = input.field("when_out").optional(problems, Input::choice);
        let sync_every_minutes = input.field("sync_every_minutes").optional(problems, Input::count);
        Some(Self {
            sync: sync?,
            safety_buffer: safety_buffer?.unwrap_or(defaults.safety_buffer),
            when_out: when_out?.unwrap_or(defaults.when_out),
            sync_every_minutes: sync_every_minutes?.unwrap_or(defaults.sync_every_minutes),
        })
    }
}

/// A store's pricing rules: the narrowest rule covering a product prices its variants from
/// their offer's landed cost.
#[derive(ToSchema)]
#[schema(as = PricingSettings)]
#[allow(dead_code)] // documentation only
pub struct PricingSettingsJson {
    /// Whether the rules price the catalogue.
    pub enabled: bool,
    /// A price change larger than this (basis points of the old price) waits for the
    /// seller's approval (at most 100000; default 2000).
    pub approval_threshold_bp: Option<u32>,
    /// At most one rule per scope.
    pub rules: Vec<ScopedRuleJson>,
}

/// A pricing rule and the products it prices.
#[derive(ToSchema)]
#[schema(as = ScopedRule)]
#[allow(dead_code)] // documentation only
pub struct ScopedRuleJson {
    pub scope: PricingScopeJson,
    pub rule: PricingRuleJson,
}

/// Which products a rule prices: `store` (every product without a narrower rule), a
/// `collection` (by `name`) or one `product` (by `product_id`).
#[derive(ToSchema)]
#[schema(as = PricingScope)]
#[allow(dead_code)] // documentation only
pub struct PricingScopeJson {
    #[schema(example = "collection")]
    pub kind: String,
    /// The collection's name, for `collection`.
    pub name: Option<String>,
    /// The product, for `product`.
    pub product_id: Option<String>,
}

/// How a price is computed from a landed cost: `ceil(cost × multiplier_bp / 10000) + markup`
/// (or a tier's), raised to the least margin, then rounded up.
#[derive(ToSchema)]
#[schema(as = PricingRule)]
#[allow(dead_code)] // documentation only
pub struct PricingRuleJson {
    /// The store's currency.
    #[schema(example = "USD")]
    pub currency: String,
    /// `included` (default: landed cost with shipping) or `charged_separately`.
    pub shipping: Option<String>,
    /// 25000 is ×2.5.
    pub multiplier_bp: u32,
    /// Default: nothing added.
    pub markup: Option<MoneyJson>,
    /// Cost ranges with their own multiplier and markup, by increasing `up_to`.
    pub tiers: Option<Vec<PricingTierJson>>,
    /// The least margin, in basis points of the price.
    pub min_margin_bp: Option<u32>,
    /// Default: none.
    pub rounding: Option<RoundingJson>,
    /// The compare-at price as this multiple of the price (above 10000).
    pub compare_at_multiplier_bp: Option<u32>,
}

/// A cost range of a rule.
#[derive(ToSchema)]
#[schema(as = PricingTier)]
#[allow(dead_code)] // documentation only
pub struct PricingTierJson {
    pub up_to: MoneyJson,
    pub multiplier_bp: u32,
    pub markup: MoneyJson,
}

/// How a price is rounded up: `none`, `whole_units`, or `ending_in` (with `minor`, the
/// digits the price ends in: 99 gives 19.99).
#[derive(ToSchema)]
#[schema(as = Rounding)]
#[allow(dead_code)] // documentation only
pub struct RoundingJson {
    #[schema(example = "ending_in")]
    pub kind: String,
    pub minor: Option<u32>,
}

impl ReadJson for PricingSettings {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let enabled = input.field("enabled").required(problems, Input::flag);
        let approval_threshold_bp = input.field("approval_threshold_bp").optional(problems, Input::count);
        let rules = input.field("rules").required(problems, |input, problems| {
            input.list(problems, |item, problems| item.object_of::<ScopedRule>(problems))
        });
        Some(Self {
            enabled: enabled?,
            approval_threshold_bp: approval_threshold_bp?.unwrap_or(PricingSettings::default().approval_threshold_bp),
            rules: rules?,
        })
    }
}

impl ReadJson for ScopedRule {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let scope = input.field("scope").required_of(problems);
        let rule = input.field("rule").required_of(problems);
        Some(Self {
            scope: scope?,
            rule: rule?,
        })
    }
}

impl ReadJson for PricingScope {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let kind_input = input.field("kind");
        let kind = kind_input.required(problems, Input::text);
        let name = input.field("name").optional(problems, Input::text);
        let product_id = input.field("product_id").optional(problems, Input::id);
        let (name, product_id) = (name?, product_id?);
        match kind?.as_str() {
            "store" => Some(Self::Store),
            "collection" => match name {
                Some(name) => Some(Self::Collection { name }),
                None => {
                    problems.push(input.field("name").path(), "is required for a collection");
                    None
                }
            },
            "product" => match product_id {
                Some(product_id) => Some(Self::Product { product_id }),
                None => {
                    problems.push(input.field("product_id").path(), "is required for a product");
                    None
                }
            },
            _ => {
                problems.push(kind_input.path(), "must be one of: store, collection, product");
                None
            }
        }
    }
}

fn read_shipping(input: &Input<'_>, problems: &mut Problems) -> Option<ShippingInPrice> {
    match input.text(problems)?.as_str() {
        "included" => Some(ShippingInPrice::Included),
        "charged_separately" => Some(ShippingInPrice::ChargedSeparately),
        _ => {
            problems.push(input.path(), "must be one of: included, charged_separately");
            None
        }
    }
}

impl ReadJson for PricingRule {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let currency = input.field("currency").required(problems, Input::currency);
        let shipping = input.field("shipping").optional(problems, read_shipping);
        let multiplier_bp = input.field("multiplier_bp").required(problems, Input::count);
        let markup = input.field("markup").optional(problems, Input::money);
        let tiers = input.field("tiers").optional(problems, |input, problems| {
            input.list(problems, |item, problems| item.object_of::<PricingTier>(problems))
        });
        let min_margin_bp = input.field("min_margin_bp").optional(problems, Input::count);
        let rounding = input.field("rounding").optional_of::<Rounding>(problems);
        let compare_at_multiplier_bp = input.field("compare_at_multiplier_bp").optional(problems, Input::count);
        let currency: Currency = currency?;
        Some(Self {
            currency,
            shipping: shipping?.unwrap_or_default(),
            multiplier_bp: multiplier_bp?,
            markup: markup?.unwrap_or(Money::zero(currency)),
            tiers: tiers?.unwrap_or_default(),
            min_margin_bp: min_margin_bp?.unwrap_or(0),
            rounding: rounding?.unwrap_or_default(),
            compare_at_multiplier_bp: compare_at_multiplier_bp?,
        })
    }
}

impl ReadJson for PricingTier {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let up_to = input.field("up_to").required(problems, Input::money);
        let multiplier_bp = input.field("multiplier_bp").required(problems, Input::count);
        let markup = input.field("markup").required(problems, Input::money);
        Some(Self {
            up_to: up_to?,
            multiplier_bp: multiplier_bp?,
            markup: markup?,
        })
    }
}

impl ReadJson for Rounding {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let kind_input = input.field("kind");
        let kind = kind_input.required(problems, Input::text);
        let minor = input.field("minor").optional(problems, Input::count);
        let minor = minor?;
        match kind?.as_str() {
            "none" => Some(Self::None),
            "whole_units" => Some(Self::WholeUnits),
            "ending_in" => match minor {
                Some(minor) => Some(Self::EndingIn { minor }),
                None => {
                    problems.push(input.field("minor").path(), "is required for ending_in");
                    None
                }
            },
            _ => {
                problems.push(kind_input.path(), "must be one of: none, whole_units, ending_in");
                None
            }
        }
    }
}

/// The domain names settings fields as in the store's settings (`pricing.rules[0].markup`);
/// a body that is the settings themselves names them from its root (`rules[0].markup`).
pub(crate) fn fields_from_root(err: AppError, prefix: &str) -> ApiError {
    match err {
        AppError::Invalid(fields) => ApiError::App(AppError::Invalid(
            fields
                .into_iter()
                .map(|f| {
                    let field = f.field.strip_prefix(prefix).unwrap_or(&f.field).to_string();
                    FieldError::new(field, f.reason)
                })
                .collect(),
        )),
        other => ApiError::App(other),
    }
}

/// A store's stock-sync settings, as they are now.
#[utoipa::path(
    put, path = "/stores/{id}/inventory", tag = "inventory",
    params(("id" = String, Path, description = "Store id")),
    request_body = InventorySettingsJson,
    responses(
        (status = 200, description = "The settings now in force", body = InventorySettingsJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_inventory_settings(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    state.app.get_store(scope, id).await?;
    let settings: InventorySettings = body.read()?;
    let record = state
        .app
        .update_inventory_settings(scope, id, settings)
        .await
        .map_err(|e| fields_from_root(e, "inventory."))?;
    Ok(reply(StatusCode::OK, api_value(&record.store.settings.inventory)))
}

/// Sets a store's pricing rules; prices follow at the next sync (or at once with
/// `/pricing/apply`).
#[utoipa::path(
    put, path = "/stores/{id}/pricing", tag = "inventory",
    params(("id" = String, Path, description = "Store id")),
    request_body = PricingSettingsJson,
    responses(
        (status = 200, description = "The rules now in force", body = PricingSettingsJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_pricing_settings(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    state.app.get_store(scope, id).await?;
    let settings: PricingSettings = body.read()?;
    let record = state
        .app
        .update_pricing_settings(scope, id, settings)
        .await
        .map_err(|e| fields_from_root(e, "pricing."))?;
    Ok(reply(StatusCode::OK, api_value(&record.store.settings.pricing)))
}

/// What repricing the listings did.
#[derive(Serialize, ToSchema)]
pub struct ListingReportJson {
    pub variants_checked: u32,
    pub variants_pushed: u32,
    pub stock_writes: u32,
    pub price_writes: u32,
    pub visibility_writes: u32,
    /// HTTP requests made to the storefront.
    pub requests: u32,
    /// Variants the storefront refused: `[sku, reason]`.
    pub refused: Vec<(String, String)>,
    /// New prices applied, and those left for the seller's approval.
    pub prices_applied: u32,
    pub prices_pending: u32,
    /// Why the storefront was not written, if it was not.
    pub skipped: Option<String>,
}

impl From<dropline_app::inventory::ListingReport> for ListingReportJson {
    fn from(r: dropline_app::inventory::ListingReport) -> Self {
        Self {
            variants_checked: r.variants_checked,
            variants_pushed: r.variants_pushed,
            stock_writes: r.stock_writes,
            price_writes: r.price_writes,
            visibility_writes: r.visibility_writes,
            requests: r.requests,
            refused: r.refused,
            prices_applied: r.prices_applied,
            prices_pending: r.prices_pending,
            skipped: r.skipped,
        }
    }
}

/// Sets the pricing rules and reprices the catalogue by them now: changes within the
/// approval threshold are applied, larger ones wait for the seller.
#[utoipa::path(
    post, path = "/stores/{id}/pricing/apply", tag = "inventory",
    params(("id" = String, Path, description = "Store id")),
    request_body = PricingSettingsJson,
    responses(
        (status = 200, body = ListingReportJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_apply_pricing(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    state.app.get_store(scope, id).await?;
    let settings: PricingSettings = body.read()?;
    let report = state
        .app
        .apply_pricing(scope, id, settings)
        .await
        .map_err(|e| fields_from_root(e, "pricing."))?;
    Ok(reply(StatusCode::OK, ListingReportJson::from(report)))
}

/// Which suppliers to sync now.
#[derive(ToSchema)]
pub struct StockSyncRequest {
    /// One supplier of the store; default: all of them.
    pub supplier_id: Option<String>,
}

impl ReadJson for StockSyncRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let supplier_id = input.field("supplier_id").optional(problems, Input::text);
        Some(Self {
            supplier_id: supplier_id?,
        })
    }
}

/// Sync jobs queued.
#[derive(Serialize, ToSchema)]
pub struct StockSyncQueued {
    pub jobs: u32,
}

/// Asks for a stock and price sync of the store's suppliers (or one), in the background.
#[utoipa::path(
    post, path = "/stores/{id}/stock/sync", tag = "inventory",
    params(("id" = String, Path, description = "Store id")),
    request_body = StockSyncRequest,
    responses(
        (status = 202, body = StockSyncQueued),
        (status = 404, description = "No such store or supplier, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_store_stock_sync(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    state.app.get_store(scope, id).await?;
    let request: StockSyncRequest = body.read()?;
    let supplier_id: Option<SupplierId> = match request.supplier_id {
        Some(text) => Some(path_id(&text, "supplier")?),
        None => None,
    };
    let jobs = state.app.request_stock_sync(scope, id, supplier_id).await?;
    Ok(reply(StatusCode::ACCEPTED, StockSyncQueued { jobs }))
}

/// What a sync of one supplier did (see the domain's `SyncReport`).
#[derive(Serialize, ToSchema)]
pub struct SyncReportJson {
    pub supplier_id: String,
    /// Offers read, stock and costs changed, problems found, variants written.
    #[schema(value_type = Object)]
    pub summary: Value,
    pub listings: ListingReportJson,
}

/// Syncs a supplier's stock and costs now, reprices and writes what changed to the
/// storefront.
#[utoipa::path(
    post, path = "/suppliers/{id}/stock/sync", tag = "inventory",
    params(("id" = String, Path, description = "Supplier id")),
    responses(
        (status = 200, body = SyncReportJson),
        (status = 404, description = "No such supplier, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_supplier_stock_sync(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: SupplierId = path_id(&id, "supplier")?;
    let report = state.app.sync_stock(scope, id).await?;
    Ok(reply(
        StatusCode::OK,
        SyncReportJson {
            supplier_id: report.supplier_id.to_string(),
            summary: api_value(&report.summary),
            listings: report.listings.into(),
        },
    ))
}

/// A variant's stock: its offers, what accepted orders hold, the buffer and what the
/// storefront shows (the domain's `VariantStock`, money as everywhere in the API).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct VariantStockJson {
    pub variant_id: String,
    pub sku: String,
    #[schema(value_type = Vec<Object>)]
    pub offers: Vec<Value>,
    pub sellable: Option<u32>,
    pub reserved: u32,
    pub safety_buffer: u32,
    pub shown: Option<u32>,
    #[schema(value_type = Option<Object>)]
    pub listing: Option<Value>,
}

/// A variant's stock as dropline sees it.
#[utoipa::path(
    get, path = "/variants/{id}/stock", tag = "inventory",
    params(("id" = String, Path, description = "Variant id")),
    responses(
        (status = 200, body = VariantStockJson),
        (status = 404, description = "No such variant, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_variant_stock(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: VariantId = path_id(&id, "variant")?;
    let stock = state.app.variant_stock(scope, id).await?;
    Ok(reply(StatusCode::OK, api_value(&stock)))
}

/// One reading of an offer's cost.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct CostPointJson {
    pub offer_id: String,
    pub at: String,
    pub unit_cost: MoneyJson,
    pub previous: Option<MoneyJson>,
}

/// An offer's costs, newest first.
#[derive(Serialize, ToSchema)]
pub struct CostHistory {
    #[schema(value_type = Vec<CostPointJson>)]
    pub costs: Vec<Value>,
}

/// An offer's cost history, newest first.
#[utoipa::path(
    get, path = "/offers/{id}/costs", tag = "inventory",
    params(
        ("id" = String, Path, description = "Offer id"),
        ("limit" = Option<u32>, Query, description = "1 to 500 (default 100)"),
    ),
    responses(
        (status = 200, body = CostHistory),
        (status = 404, description = "No such offer, or not the caller's", body = ErrorBody),
        (status = 422, description = "A malformed query parameter", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_cost_history(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let id: OfferId = path_id(&id, "offer")?;
    let mut problems = Problems::default();
    let limit = query.get(&mut problems, "limit", parse_limit).unwrap_or(100);
    problems.finish(Some(()))?;
    let costs = state.app.cost_history(scope, id, limit).await?;
    Ok(reply(
        StatusCode::OK,
        CostHistory {
            costs: costs.iter().map(api_value).collect(),
        },
    ))
}

/// A new selling price of a variant, with why (the domain's `PriceChange`).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct PriceChangeJson {
    pub id: String,
    pub store_id: String,
    pub variant_id: String,
    pub product_id: String,
    pub sku: String,
    pub old_price: MoneyJson,
    pub new_price: MoneyJson,
    pub compare_at: Option<MoneyJson>,
    pub offer_id: String,
    pub cost_before: Option<MoneyJson>,
    pub cost_after: MoneyJson,
    pub rule_index: u32,
    pub scope: PricingScopeJson,
    /// How the price was computed.
    #[schema(value_type = Object)]
    pub computed: Value,
    #[schema(value_type = PriceChangeStatusName)]
    pub status: String,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PriceChangeList {
    #[schema(value_type = Vec<PriceChangeJson>)]
    pub price_changes: Vec<Value>,
}

/// Price changes, newest first: the caller's store's, or every store's with the operator token.
#[utoipa::path(
    get, path = "/price-changes", tag = "inventory",
    params(
        ("store_id" = Option<String>, Query, description = "Only this store's"),
        ("status" = Option<String>, Query, description = "pending, applied, rejected or superseded"),
        ("limit" = Option<u32>, Query, description = "1 to 500 (default 100)"),
    ),
    responses(
        (status = 200, body = PriceChangeList),
        (status = 404, description = "The store names a store the caller may not see", body = ErrorBody),
        (status = 422, description = "Malformed query parameters, each listed", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn list_price_changes(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut problems = Problems::default();
    let store_id = own_store_filter(scope, &query, &mut problems)?;
    let status = query.get(&mut problems, "status", parse_choice);
    let limit = query.get(&mut problems, "limit", parse_limit).unwrap_or(100);
    problems.finish(Some(()))?;
    let changes = state.app.list_price_changes(scope, store_id, status, limit).await?;
    Ok(reply(
        StatusCode::OK,
        PriceChangeList {
            price_changes: changes.iter().map(api_value).collect(),
        },
    ))
}

/// The `store_id` of a listing's query: another store than a store token's own is not found.
fn own_store_filter(scope: Scope, query: &QueryParams, problems: &mut Problems) -> Result<Option<StoreId>, ApiError> {
    let store_id: Option<StoreId> = query.get(problems, "store_id", parse_id);
    if let Some(id) = store_id
        && !scope.allows(id)
    {
        return Err(ApiError::not_found("store"));
    }
    Ok(store_id)
}

/// One price change.
#[utoipa::path(
    get, path = "/price-changes/{id}", tag = "inventory",
    params(("id" = String, Path, description = "Price change id")),
    responses(
        (status = 200, body = PriceChangeJson),
        (status = 404, description = "No such price change, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_price_change(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: PriceChangeId = path_id(&id, "price change")?;
    Ok(reply(
        StatusCode::OK,
        api_value(&state.app.get_price_change(scope, id).await?),
    ))
}

/// Who decides, as recorded on the price change.
fn decided_by(scope: Scope) -> String {
    match scope {
        Scope::Operator => "operator (API token)".to_string(),
        Scope::Store(_) => "store (API token)".to_string(),
    }
}

/// Approves a price waiting for the seller: the variant takes it and the storefront is
/// written.
#[utoipa::path(
    post, path = "/price-changes/{id}/approve", tag = "inventory",
    params(("id" = String, Path, description = "Price change id")),
    responses(
        (status = 200, body = PriceChangeJson),
        (status = 404, description = "No such price change, or not the caller's", body = ErrorBody),
        (status = 409, description = "The price change is not pending", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_approve_price_change(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: PriceChangeId = path_id(&id, "price change")?;
    let change = state.app.approve_price_change(scope, id, &decided_by(scope)).await?;
    Ok(reply(StatusCode::OK, api_value(&change)))
}

/// Refuses a price waiting for the seller: the price stays.
#[utoipa::path(
    post, path = "/price-changes/{id}/reject", tag = "inventory",
    params(("id" = String, Path, description = "Price change id")),
    responses(
        (status = 200, body = PriceChangeJson),
        (status = 404, description = "No such price change, or not the caller's", body = ErrorBody),
        (status = 409, description = "The price change is not pending", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_reject_price_change(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: PriceChangeId = path_id(&id, "price change")?;
    let change = state.app.reject_price_change(scope, id, &decided_by(scope)).await?;
    Ok(reply(StatusCode::OK, api_value(&change)))
}

/// A supplier reading that was not applied (the domain's `SyncProblem`).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct SyncProblemJson {
    pub id: String,
    pub store_id: String,
    pub supplier_id: String,
    pub offer_id: Option<String>,
    pub supplier_sku: String,
    /// What was wrong: `kind` and its details.
    #[schema(value_type = Object)]
    pub problem: Value,
    pub at: String,
    pub resolved_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SyncProblemList {
    #[schema(value_type = Vec<SyncProblemJson>)]
    pub sync_problems: Vec<Value>,
}

/// Sync problems, newest first: open ones by default.
#[utoipa::path(
    get, path = "/sync-problems", tag = "inventory",
    params(
        ("store_id" = Option<String>, Query, description = "Only this store's"),
        ("open" = Option<bool>, Query, description = "true (default): open ones only; false: all"),
        ("limit" = Option<u32>, Query, description = "1 to 500 (default 100)"),
    ),
    responses(
        (status = 200, body = SyncProblemList),
        (status = 404, description = "The store names a store the caller may not see", body = ErrorBody),
        (status = 422, description = "Malformed query parameters, each listed", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn list_sync_problems(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut problems = Problems::default();
    let store_id = own_store_filter(scope, &query, &mut problems)?;
    let open = query
        .get(&mut problems, "open", |text| match text {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("must be true or false".to_string()),
        })
        .unwrap_or(true);
    let limit = query.get(&mut problems, "limit", parse_limit).unwrap_or(100);
    problems.finish(Some(()))?;
    let found = state.app.list_sync_problems(scope, store_id, open, limit).await?;
    Ok(reply(
        StatusCode::OK,
        SyncProblemList {
            sync_problems: found.iter().map(api_value).collect(),
        },
    ))
}

/// Marks a sync problem dealt with.
#[utoipa::path(
    post, path = "/sync-problems/{id}/resolve", tag = "inventory",
    params(("id" = String, Path, description = "Sync problem id")),
    responses(
        (status = 204, description = "Resolved"),
        (status = 404, description = "No such open sync problem, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_resolve_sync_problem(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: SyncProblemId = path_id(&id, "sync problem")?;
    state.app.resolve_sync_problem(scope, id).await?;
    Ok(axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT))
}
