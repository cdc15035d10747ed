//! Mapping a store's catalogue onto its suppliers over the API: the variants no offer ships
//! yet, supplier products imported (from the supplier's catalogue or a price list) with
//! mapping suggestions, a variant mapped with its options checked, and the dry-runs of
//! pricing rules and routing policies over the last days' orders.

use crate::AppState;
use crate::api::inventory::fields_from_root;
use crate::api::offers::{OfferJson, ShippingMethodJson};
use crate::api::stores::RoutingWeightsJson;
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::{MoneyJson, OfferPriorityName, RoutingPolicyName, api_value};
use crate::error::{ApiError, ErrorBody};
use crate::input::{Input, JsonBody, Problems, ReadJson, path_id};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::FieldError;
use dropline_app::catalogue::{MapVariant, SupplierImport};
use dropline_connect::price_list::{PriceListError, parse_price_list};
use dropline_domain::catalog::{OfferPriority, RoutingPolicy, RoutingWeights, ShippingMethod};
use dropline_domain::ids::{StoreId, SupplierId, VariantId};
use dropline_domain::inventory::PricingSettings;
use dropline_domain::money::Money;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Days a dry-run looks back when the body does not say.
const DEFAULT_PREVIEW_DAYS: u32 = 30;

/// A store variant no offer ships yet.
#[derive(Serialize, ToSchema)]
pub struct UnmappedVariantJson {
    pub variant_id: String,
    pub product_id: String,
    pub product_title: String,
    pub sku: String,
    pub title: String,
}

#[derive(Serialize, ToSchema)]
pub struct UnmappedList {
    pub variants: Vec<UnmappedVariantJson>,
}

/// The store's variants without an offer, by product: the mapping work to do.
#[utoipa::path(
    get, path = "/stores/{id}/unmapped", tag = "catalogue",
    params(("id" = String, Path, description = "Store id")),
    responses(
        (status = 200, body = UnmappedList),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_unmapped_variants(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    let variants = state.app.unmapped_variants(scope, id).await?;
    Ok(reply(
        StatusCode::OK,
        UnmappedList {
            variants: variants
                .into_iter()
                .map(|v| UnmappedVariantJson {
                    variant_id: v.variant_id.to_string(),
                    product_id: v.product_id.to_string(),
                    product_title: v.product_title,
                    sku: v.sku,
                    title: v.title,
                })
                .collect(),
        },
    ))
}

/// What an import found: the supplier's products, the offers of this supplier it updated
/// (same supplier SKU) and mapping suggestions for the store's unmapped variants.
#[derive(Serialize, ToSchema)]
pub struct SupplierImportJson {
    pub supplier_id: String,
    /// Each with its variants (SKU, options, cost, stock).
    #[schema(value_type = Vec<Object>)]
    pub products: Vec<Value>,
    pub offers_updated: u32,
    /// Per unmapped store variant, its best candidates.
    #[schema(value_type = Vec<Object>)]
    pub suggestions: Vec<Value>,
}

impl From<SupplierImport> for SupplierImportJson {
    fn from(i: SupplierImport) -> Self {
        Self {
            supplier_id: i.supplier_id.to_string(),
            products: i.products.iter().map(api_value).collect(),
            offers_updated: i.offers_updated,
            suggestions: i.suggestions.iter().map(api_value).collect(),
        }
    }
}

/// A product of the supplier's catalogue to import.
#[derive(ToSchema)]
pub struct ImportProductRequest {
    /// The supplier's product id (CJ `pid`, AliExpress product id).
    #[schema(example = "1001")]
    pub product_id: String,
}

impl ReadJson for ImportProductRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let product_id = input.field("product_id").required(problems, Input::text);
        Some(Self {
            product_id: product_id?,
        })
    }
}

/// Imports a product from the supplier's catalogue and suggests mappings for the store's
/// unmapped variants.
#[utoipa::path(
    post, path = "/suppliers/{id}/import", tag = "catalogue",
    params(("id" = String, Path, description = "Supplier id")),
    request_body = ImportProductRequest,
    responses(
        (status = 200, body = SupplierImportJson),
        (status = 404, description = "No such supplier, or not the caller's", body = ErrorBody),
        (status = 502, description = "The supplier refused", body = ErrorBody),
        (status = 503, description = "The supplier is unavailable; try again later", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_import_product(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: SupplierId = path_id(&id, "supplier")?;
    state.app.get_supplier(scope, id).await?;
    let request: ImportProductRequest = body.read()?;
    let import = state
        .app
        .import_supplier_product(scope, id, &request.product_id)
        .await?;
    Ok(reply(StatusCode::OK, SupplierImportJson::from(import)))
}

/// A refused price list as field errors: one per bad cell (`row 3.unit_cost`), or `body`.
fn price_list_refused(err: PriceListError) -> ApiError {
    let fields = match err {
        PriceListError::Rows(rows) => rows
            .into_iter()
            .map(|r| FieldError::new(format!("row {}.{}", r.row, r.field), r.reason))
            .collect(),
        other => vec![FieldError::new("body", other.to_string())],
    };
    ApiError::invalid(fields)
}

/// Imports a supplier's price list (CSV, costs in the store's currency): offers with the same
/// supplier SKU take its stock and costs, and unmapped variants get suggestions.
#[utoipa::path(
    post, path = "/suppliers/{id}/price-list", tag = "catalogue",
    params(("id" = String, Path, description = "Supplier id")),
    request_body(content = String, description = "The price list (CSV)", content_type = "text/csv"),
    responses(
        (status = 200, body = SupplierImportJson),
        (status = 404, description = "No such supplier, or not the caller's", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        (status = 422, description = "The file is refused; every bad cell is named", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_price_list(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let id: SupplierId = path_id(&id, "supplier")?;
    let supplier = state.app.get_supplier(scope, id).await?;
    let store = state.app.get_store(scope, supplier.store_id).await?;
    let products = parse_price_list(&body, store.store.currency).map_err(price_list_refused)?;
    let import = state.app.import_supplier_products(scope, id, products).await?;
    Ok(reply(StatusCode::OK, SupplierImportJson::from(import)))
}

/// A store variant mapped to a supplier variant; the supplier's options are checked against
/// the variant's.
#[derive(ToSchema)]
pub struct MapVariantRequest {
    #[schema(value_type = String)]
    pub variant_id: VariantId,
    #[schema(value_type = String)]
    pub supplier_id: SupplierId,
    #[schema(example = "CJ-EB-001-BLK-XL")]
    pub supplier_sku: String,
    pub supplier_product_id: Option<String>,
    pub supplier_variant_id: Option<String>,
    /// The supplier's option text; a contradiction with the variant's (another colour, size
    /// or pack) is refused.
    #[schema(example = "Black / XL")]
    pub options: String,
    pub barcode: Option<String>,
    pub product_url: Option<String>,
    #[schema(value_type = MoneyJson)]
    pub unit_cost: Money,
    pub stock: Option<u32>,
    /// Supplier units per store unit (a bundle; default 1).
    pub units: Option<u32>,
    /// Default: none.
    pub shipping: Option<Vec<ShippingMethodJson>>,
    /// Default `primary`.
    #[schema(value_type = Option<OfferPriorityName>)]
    pub priority: Option<OfferPriority>,
}

impl ReadJson for MapVariantRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let variant_id = input.field("variant_id").required(problems, Input::id);
        let supplier_id = input.field("supplier_id").required(problems, Input::id);
        let supplier_sku = input.field("supplier_sku").required(problems, Input::text);
        let supplier_product_id = input.field("supplier_product_id").optional(problems, Input::text);
        let supplier_variant_id = input.field("supplier_variant_id").optional(problems, Input::text);
        let options = input.field("options").required(problems, Input::text);
        let barcode = input.field("barcode").optional(problems, Input::text);
        let product_url = input.field("product_url").optional(problems, Input::text);
        let unit_cost = input.field("unit_cost").required(problems, Input::money);
        let stock = input.field("stock").optional(problems, Input::count);
        let units = input.field("units").optional(problems, Input::count);
        let shipping = input.field("shipping").optional(problems, |input, problems| {
            input.list(problems, |item, problems| item.object_of(problems))
        });
        let priority = input.field("priority").optional(problems, Input::choice);
        Some(Self {
            variant_id: variant_id?,
            supplier_id: supplier_id?,
            supplier_sku: supplier_sku?,
            supplier_product_id: supplier_product_id?,
            supplier_variant_id: supplier_variant_id?,
            options: options?,
            barcode: barcode?,
            product_url: product_url?,
            unit_cost: unit_cost?,
            stock: stock?,
            units: units?,
            shipping: shipping?,
            priority: priority?,
        })
    }
}

/// Maps a store variant to a supplier variant: refused (422 naming `options`) when their
/// options contradict.
#[utoipa::path(
    post, path = "/catalogue/map", tag = "catalogue",
    request_body = MapVariantRequest,
    responses(
        (status = 201, body = OfferJson),
        (status = 404, description = "No such variant or supplier, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_map_variant(
    State(state): State<AppState>,
    Caller(scope): Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let request: MapVariantRequest = body.read()?;
    let map = MapVariant {
        variant_id: request.variant_id,
        supplier_id: request.supplier_id,
        supplier_sku: request.supplier_sku,
        supplier_product_id: request.supplier_product_id,
        supplier_variant_id: request.supplier_variant_id,
        options: request.options,
        barcode: request.barcode,
        product_url: request.product_url,
        unit_cost: request.unit_cost,
        stock: request.stock,
        units: request.units.unwrap_or(1),
        shipping: request
            .shipping
            .unwrap_or_default()
            .into_iter()
            .map(|m| ShippingMethod {
                country: m.country,
                name: m.name,
                cost: m.cost,
                min_days: m.min_days,
                max_days: m.max_days,
            })
            .collect(),
        priority: request.priority.unwrap_or(OfferPriority::Primary),
    };
    let offer = state.app.map_variant(scope, map).await?;
    Ok(reply(StatusCode::CREATED, OfferJson::from(offer)))
}

/// Pricing rules to try on the catalogue and the last days' orders.
#[derive(ToSchema)]
pub struct PricingPreviewRequest {
    #[schema(value_type = crate::api::inventory::PricingSettingsJson)]
    pub pricing: PricingSettings,
    /// Days of orders to look back (1 to 365; default 30).
    pub days: Option<u32>,
}

impl ReadJson for PricingPreviewRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let pricing = input.field("pricing").required_of(problems);
        let days = input.field("days").optional(problems, Input::count);
        Some(Self {
            pricing: pricing?,
            days: days?,
        })
    }
}

/// What pricing rules would do, written nowhere (the app's `PricingPreview`).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct PricingPreviewJson {
    pub days: u32,
    /// Variants whose price would change: current and computed price, the offer and rule.
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<Value>,
    /// Variants a rule covers and cannot price, with why.
    #[schema(value_type = Vec<Object>)]
    pub unpriced: Vec<Value>,
    pub orders: u32,
    pub units: u32,
    pub revenue_actual: MoneyJson,
    pub revenue_at_new_prices: MoneyJson,
}

/// Tries pricing rules: the prices that would change and what the last days' orders would
/// have brought at them. Nothing is written.
#[utoipa::path(
    post, path = "/stores/{id}/pricing/preview", tag = "catalogue",
    params(("id" = String, Path, description = "Store id")),
    request_body = PricingPreviewRequest,
    responses(
        (status = 200, body = PricingPreviewJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_pricing_preview(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    state.app.get_store(scope, id).await?;
    let request: PricingPreviewRequest = body.read()?;
    let preview = state
        .app
        .preview_pricing(
            scope,
            id,
            &request.pricing,
            request.days.unwrap_or(DEFAULT_PREVIEW_DAYS),
        )
        .await
        .map_err(|e| fields_from_root(e, ""))?;
    Ok(reply(StatusCode::OK, api_value(&preview)))
}

/// A routing policy to try on the last days' orders.
#[derive(ToSchema)]
pub struct RoutingPreviewRequest {
    #[schema(value_type = RoutingPolicyName)]
    pub policy: RoutingPolicy,
    /// For `weighted`; default: the store's defaults.
    pub weights: Option<RoutingWeightsJson>,
    /// Days of orders to look back (1 to 365; default 30).
    pub days: Option<u32>,
}

impl ReadJson for RoutingPreviewRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let policy = input.field("policy").required(problems, Input::choice);
        let weights = input.field("weights").optional_of(problems);
        let days = input.field("days").optional(problems, Input::count);
        Some(Self {
            policy: policy?,
            weights: weights?,
            days: days?,
        })
    }
}

/// Which supplier each past order would have had (the app's `RoutingPreview`).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct RoutingPreviewJson {
    pub days: u32,
    #[schema(value_type = RoutingPolicyName)]
    pub policy: String,
    /// Per order: suppliers, cost and margin then and now.
    #[schema(value_type = Vec<Object>)]
    pub orders: Vec<Value>,
    /// Orders whose suppliers would differ.
    pub changed: u32,
}

/// Tries a routing policy on the last days' orders with today's offers. Nothing is written.
#[utoipa::path(
    post, path = "/stores/{id}/routing/preview", tag = "catalogue",
    params(("id" = String, Path, description = "Store id")),
    request_body = RoutingPreviewRequest,
    responses(
        (status = 200, body = RoutingPreviewJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_routing_preview(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    state.app.get_store(scope, id).await?;
    let request: RoutingPreviewRequest = body.read()?;
    let weights = request
        .weights
        .map(|w| RoutingWeights {
            margin: w.margin,
            speed: w.speed,
            rating: w.rating,
            on_time: w.on_time,
        })
        .unwrap_or_default();
    let preview = state
        .app
        .preview_routing(
            scope,
            id,
            request.policy,
            weights,
            request.days.unwrap_or(DEFAULT_PREVIEW_DAYS),
        )
        .await?;
    Ok(reply(StatusCode::OK, api_value(&preview)))
}
