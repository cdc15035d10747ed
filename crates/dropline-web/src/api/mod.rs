//! The REST API, one module per resource. Each handler is annotated with `utoipa::path`, so
//! the OpenAPI document is generated from the same code that serves the routes.

pub mod addresses;
pub mod after_sale;
pub mod catalogue;
pub mod exceptions;
pub mod exchange_rates;
pub mod inventory;
pub mod messages;
pub mod metrics;
pub mod offers;
pub mod orders;
pub mod payouts;
pub mod products;
pub mod stores;
pub mod supplier_orders;
pub mod suppliers;
pub mod system;
pub mod tracking;
pub mod webhooks;

use crate::Registrar;
use crate::error::ErrorBody;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, OpenApi};
use utoipa_axum::routes;

/// The name of the bearer security scheme in the document.
pub const BEARER: &str = "bearer_token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dropline",
        description = "dropline's REST API: stores, suppliers, catalogue and offers, orders and their \
review, supplier orders of the manual flow, address checks.\n\n\
Authentication: `Authorization: Bearer <token>`, the operator's admin token (every store) or a \
store's own API token (that store only; other stores' ids answer 404).\n\n\
Money is always `{\"amount\": \"12.50\", \"currency\": \"USD\"}`: a decimal string with at most \
the currency's decimals, read exactly.\n\n\
Errors: `{\"error\": {\"code\": \"…\", \"message\": \"…\", \"fields\": [{\"field\": \"…\", \"reason\": \"…\"}]}}`. \
Unknown JSON fields are ignored; missing or malformed fields answer 422 listing every one; bodies \
over 1 MiB answer 413; a missing or bad token 401; an action the state does not allow 409. \
Nothing is written when a request is refused."
    ),
    security(("bearer_token" = [])),
    tags(
        (name = "stores", description = "Sellers' stores and their settings"),
        (name = "suppliers", description = "Who ships a store's goods"),
        (name = "products", description = "A store's catalogue"),
        (name = "offers", description = "Variant mappings: store variant → supplier variant"),
        (name = "catalogue", description = "Mapping the catalogue onto suppliers: unmapped variants, imports, dry-runs of pricing and routing"),
        (name = "inventory", description = "Stock and price syncs, pricing rules, price changes and sync problems"),
        (name = "orders", description = "Customer orders, their review and timeline"),
        (name = "supplier orders", description = "Purchases placed with suppliers; the manual supplier flow"),
        (name = "addresses", description = "Address checks"),
        (name = "tracking", description = "Tracking-number checks: carrier detection and check digits"),
        (name = "messages", description = "The outbox: customer emails and seller notifications"),
        (name = "payouts", description = "Vendor balances and the operator's payouts (marketplace mode)"),
        (name = "exchange rates", description = "The operator's exchange-rate table: supplier costs in another currency are converted with it"),
        (name = "system", description = "Health and this document"),
        (name = "webhooks", description = "Receivers of the storefront platforms' webhooks (signed by the platform, no token)"),
    )
)]
struct ApiDoc;

/// The document's fixed parts (info, tags, security); the paths come from the routes.
pub(crate) fn api_doc() -> OpenApiDoc {
    ApiDoc::openapi()
}

/// Adds what the derive cannot: the bearer scheme.
pub(crate) fn finish_doc(doc: &mut OpenApiDoc) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The operator's admin token, or a store's API token"))
                .build(),
        ),
    );
}

/// The routes under `/api/v1`, one `routes!` per path.
pub(crate) fn routes(registrar: Registrar) -> Registrar {
    registrar
        .add(routes!(stores::create_store, stores::list_stores))
        .add(routes!(stores::get_store))
        .add(routes!(stores::put_store_settings))
        .add(routes!(stores::put_store_connection))
        .add(routes!(stores::test_store_connection))
        .add(routes!(stores::pull_store_catalog))
        .add(routes!(suppliers::create_supplier, suppliers::list_suppliers))
        .add(routes!(suppliers::get_supplier))
        .add(routes!(suppliers::put_supplier_connection))
        .add(routes!(suppliers::put_supplier_return_policy))
        .add(routes!(suppliers::post_reconcile))
        .add(routes!(suppliers::post_agent_export))
        .add(routes!(suppliers::post_agent_import))
        .add(routes!(products::create_product, products::list_products))
        .add(routes!(products::get_product))
        .add(routes!(offers::create_offer, offers::list_offers))
        .add(routes!(catalogue::get_unmapped_variants))
        .add(routes!(catalogue::post_import_product))
        .add(routes!(catalogue::post_price_list))
        .add(routes!(catalogue::post_map_variant))
        .add(routes!(catalogue::post_pricing_preview))
        .add(routes!(catalogue::post_routing_preview))
        .add(routes!(inventory::put_inventory_settings))
        .add(routes!(inventory::put_pricing_settings))
        .add(routes!(inventory::post_apply_pricing))
        .add(routes!(inventory::post_store_stock_sync))
        .add(routes!(inventory::post_supplier_stock_sync))
        .add(routes!(inventory::get_variant_stock))
        .add(routes!(inventory::get_cost_history))
        .add(routes!(inventory::list_price_changes))
        .add(routes!(inventory::get_price_change))
        .add(routes!(inventory::post_approve_price_change))
        .add(routes!(inventory::post_reject_price_change))
        .add(routes!(inventory::list_sync_problems))
        .add(routes!(inventory::post_resolve_sync_problem))
        .add(routes!(orders::create_order, orders::list_orders))
        .add(routes!(orders::count_orders))
        .add(routes!(orders::bulk_review_orders))
        .add(routes!(orders::get_order))
        .add(routes!(orders::accept_order))
        .add(routes!(orders::reject_order))
        .add(routes!(orders::release_order))
        .add(routes!(orders::complete_order))
        .add(routes!(orders::cancel_order))
        .add(routes!(orders::get_order_timeline))
        .add(routes!(orders::put_line_offer))
        .add(routes!(after_sale::get_after_sale))
        .add(routes!(after_sale::post_return))
        .add(routes!(after_sale::post_resolve_return))
        .add(routes!(after_sale::post_return_action))
        .add(routes!(after_sale::post_refund))
        .add(routes!(after_sale::post_dispute))
        .add(routes!(after_sale::post_dispute_action))
        .add(routes!(after_sale::post_claim))
        .add(routes!(after_sale::post_accept_claim))
        .add(routes!(after_sale::post_claim_action))
        .add(routes!(after_sale::get_ledger))
        .add(routes!(metrics::get_lanes))
        .add(routes!(metrics::get_breakdown))
        .add(routes!(payouts::get_balance))
        .add(routes!(payouts::create_payout, payouts::list_payouts))
        .add(routes!(payouts::export_payouts))
        .add(routes!(payouts::get_payout))
        .add(routes!(payouts::post_payout_paid))
        .add(routes!(payouts::post_payout_cancel))
        .add(routes!(
            exchange_rates::put_exchange_rate,
            exchange_rates::list_exchange_rates
        ))
        .add(routes!(messages::list_order_messages))
        .add(routes!(messages::list_messages))
        .add(routes!(exceptions::list_exceptions))
        .add(routes!(supplier_orders::get_supplier_order))
        .add(routes!(supplier_orders::post_supplier_reference))
        .add(routes!(supplier_orders::post_shipment))
        .add(routes!(supplier_orders::post_shipped))
        .add(routes!(supplier_orders::post_delivered))
        .add(routes!(supplier_orders::post_failed))
        .add(routes!(supplier_orders::post_reship))
        .add(routes!(supplier_orders::cancel_supplier_order))
        .add(routes!(supplier_orders::post_release))
        .add(routes!(supplier_orders::put_ship_to))
        .add(routes!(supplier_orders::post_switch))
        .add(routes!(supplier_orders::put_tax_id))
        .add(routes!(addresses::validate_address))
        .add(routes!(tracking::detect_tracking))
        .add(routes!(system::get_openapi))
}

/// The routes outside `/api/v1`.
pub(crate) fn system_routes(registrar: Registrar) -> Registrar {
    registrar
        .add(routes!(system::get_healthz))
        .add(routes!(webhooks::receive_webhook))
        .add(routes!(webhooks::receive_tracking_push))
        .add(routes!(webhooks::receive_supplier_webhook))
}

/// A JSON answer with a status.
pub(crate) fn reply<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, Json(body)).into_response()
}

/// The error answers every authenticated route can give.
#[derive(IntoResponses)]
#[allow(dead_code)] // documentation only
pub(crate) enum CommonErrors {
    /// Missing, malformed or unknown token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The database is unavailable.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The error answers of routes that take a JSON body.
#[derive(IntoResponses)]
#[allow(dead_code)] // documentation only
pub(crate) enum BodyErrors {
    /// The body is not JSON.
    #[response(status = 400)]
    MalformedJson(ErrorBody),
    /// The body is over 1 MiB.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Missing or malformed fields, each listed in `fields`.
    #[response(status = 422)]
    Invalid(ErrorBody),
}

#[cfg(test)]
mod tests {
    //! The request schemas of the document and the readers that really read the bodies must
    //! agree: same property names, same required ones.

    use super::addresses::AddressToCheck;
    use super::after_sale::{
        AcceptClaimRequest, ClaimRequest, DisputeRequest, RefundRequest, ResolveRequest, ReturnRequest,
    };
    use super::offers::{CreateOfferRequest, ShippingMethodJson};
    use super::orders::{BulkRequest, CreateOrderRequest, LineRequest};
    use super::products::{CreateProductRequest, VariantRequest};
    use super::stores::{
        AutoAcceptRequest, BrandRequest, ClockLimitsRequest, ConnectionRequest, CreateStoreRequest,
        CustomerEmailsRequest, ExceptionAutomationRequest, RoutingWeightsJson, SellerNotificationsRequest,
        SettingsRequest, UpdateSettingsRequest,
    };
    use super::supplier_orders::{
        ParcelRequest, ReferenceRequest, ReleaseRequest, ReshipRequest, ShipmentRequest, TaxIdRequest,
    };
    use super::suppliers::{AgentExportRequest, CreateSupplierRequest, SupplierConnectionRequest};
    use super::tracking::TrackingDetectRequest;
    use crate::error::ApiError;
    use crate::input::{JsonBody, ReadJson};
    use dropline_app::AppError;
    use dropline_domain::address::{Address, Customer};
    use serde_json::{Map, Value, json};
    use std::collections::BTreeSet;

    /// Reads a body as one request type: the refused fields.
    type Reader = fn(Value) -> BTreeSet<String>;

    fn refused<T: ReadJson>(body: Value) -> BTreeSet<String> {
        match JsonBody(body).read::<T>() {
            Ok(_) => BTreeSet::new(),
            Err(ApiError::App(AppError::Invalid(fields))) => fields.into_iter().map(|f| f.field).collect(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    /// A value of the wrong type for a property of this schema.
    fn wrong_value(property: &Value) -> Value {
        let is_boolean = match &property["type"] {
            Value::String(t) => t == "boolean",
            Value::Array(types) => types.iter().any(|t| t == "boolean"),
            _ => false,
        };
        if is_boolean {
            json!("not a boolean")
        } else {
            json!(true)
        }
    }

    #[test]
    fn request_schemas_match_their_readers() {
        let doc = serde_json::to_value(crate::openapi()).unwrap_or_default();
        let schemas = &doc["components"]["schemas"];
        let readers: [(&str, Reader); 57] = [
            (
                "InventorySettings",
                refused::<dropline_domain::inventory::InventorySettings>,
            ),
            (
                "PricingSettings",
                refused::<dropline_domain::inventory::PricingSettings>,
            ),
            ("ScopedRule", refused::<dropline_domain::inventory::ScopedRule>),
            ("PricingScope", refused::<dropline_domain::inventory::PricingScope>),
            ("PricingRule", refused::<dropline_domain::pricing::PricingRule>),
            ("PricingTier", refused::<dropline_domain::pricing::PricingTier>),
            ("Rounding", refused::<dropline_domain::pricing::Rounding>),
            ("StockSyncRequest", refused::<super::inventory::StockSyncRequest>),
            (
                "ImportProductRequest",
                refused::<super::catalogue::ImportProductRequest>,
            ),
            ("MapVariantRequest", refused::<super::catalogue::MapVariantRequest>),
            (
                "PricingPreviewRequest",
                refused::<super::catalogue::PricingPreviewRequest>,
            ),
            (
                "RoutingPreviewRequest",
                refused::<super::catalogue::RoutingPreviewRequest>,
            ),
            ("LineOfferRequest", refused::<super::orders::LineOfferRequest>),
            ("LineUnitsJson", refused::<dropline_domain::after_sale::LineUnits>),
            ("ReturnRequest", refused::<ReturnRequest>),
            ("ResolveRequest", refused::<ResolveRequest>),
            ("RefundRequest", refused::<RefundRequest>),
            ("DisputeRequest", refused::<DisputeRequest>),
            ("ClaimRequest", refused::<ClaimRequest>),
            ("AcceptClaimRequest", refused::<AcceptClaimRequest>),
            ("ReturnPolicyRequest", refused::<super::suppliers::ReturnPolicyRequest>),
            ("PayoutRequest", refused::<super::payouts::PayoutRequest>),
            ("PaidRequest", refused::<super::payouts::PaidRequest>),
            (
                "ExchangeRateRequest",
                refused::<super::exchange_rates::ExchangeRateRequest>,
            ),
            ("FeesRequest", refused::<super::stores::FeesRequest>),
            ("ReturnRulesRequest", refused::<super::stores::ReturnRulesRequest>),
            ("CreateStoreRequest", refused::<CreateStoreRequest>),
            ("ConnectionRequest", refused::<ConnectionRequest>),
            ("SettingsRequest", refused::<SettingsRequest>),
            ("UpdateSettingsRequest", refused::<UpdateSettingsRequest>),
            ("AutoAcceptRequest", refused::<AutoAcceptRequest>),
            ("RoutingWeights", refused::<RoutingWeightsJson>),
            ("BrandRequest", refused::<BrandRequest>),
            ("CustomerEmailsRequest", refused::<CustomerEmailsRequest>),
            ("SellerNotificationsRequest", refused::<SellerNotificationsRequest>),
            ("ClockLimitsRequest", refused::<ClockLimitsRequest>),
            ("ExceptionAutomationRequest", refused::<ExceptionAutomationRequest>),
            ("Address", refused::<Address>),
            ("AddressCheckRequest", refused::<AddressToCheck>),
            ("Customer", refused::<Customer>),
            ("CreateSupplierRequest", refused::<CreateSupplierRequest>),
            ("CreateProductRequest", refused::<CreateProductRequest>),
            ("VariantRequest", refused::<VariantRequest>),
            ("CreateOfferRequest", refused::<CreateOfferRequest>),
            ("ShippingMethod", refused::<ShippingMethodJson>),
            ("CreateOrderRequest", refused::<CreateOrderRequest>),
            ("LineRequest", refused::<LineRequest>),
            ("BulkRequest", refused::<BulkRequest>),
            ("ReferenceRequest", refused::<ReferenceRequest>),
            ("ShipmentRequest", refused::<ShipmentRequest>),
            ("ParcelRequest", refused::<ParcelRequest>),
            ("ReshipRequest", refused::<ReshipRequest>),
            ("ReleaseRequest", refused::<ReleaseRequest>),
            ("SupplierConnectionRequest", refused::<SupplierConnectionRequest>),
            ("AgentExportRequest", refused::<AgentExportRequest>),
            ("TaxIdRequest", refused::<TaxIdRequest>),
            ("TrackingDetectRequest", refused::<TrackingDetectRequest>),
        ];
        // Every request body of a route is among them.
        let covered: BTreeSet<&str> = readers.iter().map(|(name, _)| *name).collect();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for operation in item.as_object().into_iter().flat_map(|ops| ops.values()) {
                let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
                let reference = schema["$ref"].as_str().or_else(|| {
                    schema["oneOf"]
                        .as_array()
                        .and_then(|one| one.iter().find_map(|s| s["$ref"].as_str()))
                });
                if let Some(reference) = reference {
                    let name = reference.trim_start_matches("#/components/schemas/");
                    assert!(
                        covered.contains(name),
                        "{path}: request body {name} has no reader check"
                    );
                }
            }
        }
        for (name, read) in readers {
            let schema = &schemas[name];
            let properties = schema["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("no schema {name}"));
            let required: BTreeSet<String> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                .unwrap_or_default();
            assert_eq!(read(json!({})), required, "{name}: the fields an empty body lacks");
            let wrong: Map<String, Value> = properties.iter().map(|(k, v)| (k.clone(), wrong_value(v))).collect();
            let documented: BTreeSet<String> = properties.keys().cloned().collect();
            assert_eq!(
                read(Value::Object(wrong)),
                documented,
                "{name}: the fields a reader reads"
            );
        }
    }
}
