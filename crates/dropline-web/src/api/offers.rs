//! `/offers`: variant mappings, each store variant → one supplier variant with its cost,
//! stock and shipping methods.

use crate::AppState;
use crate::api::suppliers::store_filter;
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::{MoneyJson, OfferPriorityName};
use crate::error::{ApiError, ErrorBody};
use crate::input::{Input, JsonBody, Problems, QueryParams, ReadJson};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::NewOffer;
use dropline_domain::catalog::{Offer, OfferPriority, ShippingMethod};
use dropline_domain::ids::{SupplierId, VariantId};
use dropline_domain::money::Money;
use serde::Serialize;
use utoipa::ToSchema;

/// A new offer: a store variant mapped to a supplier variant.
#[derive(ToSchema)]
pub struct CreateOfferRequest {
    /// The store's variant.
    #[schema(value_type = String)]
    pub variant_id: VariantId,
    /// A supplier of the variant's store.
    #[schema(value_type = String)]
    pub supplier_id: SupplierId,
    #[schema(example = "CJ-EB-001-BLK")]
    pub supplier_sku: String,
    pub supplier_product_id: Option<String>,
    pub supplier_variant_id: Option<String>,
    /// The supplier's product page, for a person who orders by hand.
    #[schema(example = "https://supplier.example/item/1001")]
    pub product_url: Option<String>,
    /// What one unit costs at the supplier.
    #[schema(value_type = MoneyJson)]
    pub unit_cost: Money,
    /// Units the supplier can ship; left out when unknown (treated as available).
    pub stock: Option<u32>,
    /// At least one; costs in the unit cost's currency.
    pub shipping: Vec<ShippingMethodJson>,
    /// Default `primary`.
    #[schema(value_type = Option<OfferPriorityName>)]
    pub priority: Option<OfferPriority>,
}

impl ReadJson for CreateOfferRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let variant_id = input.field("variant_id").required(problems, Input::id);
        let supplier_id = input.field("supplier_id").required(problems, Input::id);
        let supplier_sku = input.field("supplier_sku").required(problems, Input::text);
        let supplier_product_id = input.field("supplier_product_id").optional(problems, Input::text);
        let supplier_variant_id = input.field("supplier_variant_id").optional(problems, Input::text);
        let product_url = input.field("product_url").optional(problems, Input::text);
        let unit_cost = input.field("unit_cost").required(problems, Input::money);
        let stock = input.field("stock").optional(problems, Input::count);
        let shipping = input.field("shipping").required(problems, |input, problems| {
            input.list(problems, |item, problems| item.object_of(problems))
        });
        let priority = input.field("priority").optional(problems, Input::choice);
        Some(Self {
            variant_id: variant_id?,
            supplier_id: supplier_id?,
            supplier_sku: supplier_sku?,
            supplier_product_id: supplier_product_id?,
            supplier_variant_id: supplier_variant_id?,
            product_url: product_url?,
            unit_cost: unit_cost?,
            stock: stock?,
            shipping: shipping?,
            priority: priority?,
        })
    }
}

/// One way a supplier ships to a destination.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = ShippingMethod)]
pub struct ShippingMethodJson {
    /// Destination country (ISO 3166-1 alpha-2), or `*` for anywhere else.
    #[schema(example = "US")]
    pub country: String,
    #[schema(example = "CJPacket Ordinary")]
    pub name: String,
    /// Shipping cost of one unit.
    #[schema(value_type = MoneyJson)]
    #[serde(serialize_with = "serialize_money")]
    pub cost: Money,
    pub min_days: u32,
    pub max_days: u32,
}

fn serialize_money<S: serde::Serializer>(money: &Money, serializer: S) -> Result<S::Ok, S::Error> {
    MoneyJson::from(*money).serialize(serializer)
}

impl ReadJson for ShippingMethodJson {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let country = input.field("country").required(problems, Input::text);
        let name = input.field("name").required(problems, Input::text);
        let cost = input.field("cost").required(problems, Input::money);
        let min_days = input.field("min_days").required(problems, Input::count);
        let max_days = input.field("max_days").required(problems, Input::count);
        Some(Self {
            country: country?,
            name: name?,
            cost: cost?,
            min_days: min_days?,
            max_days: max_days?,
        })
    }
}

impl From<ShippingMethod> for ShippingMethodJson {
    fn from(m: ShippingMethod) -> Self {
        Self {
            country: m.country,
            name: m.name,
            cost: m.cost,
            min_days: m.min_days,
            max_days: m.max_days,
        }
    }
}

/// An offer.
#[derive(Serialize, ToSchema)]
#[schema(as = Offer)]
pub struct OfferJson {
    pub id: String,
    pub variant_id: String,
    pub supplier_id: String,
    pub supplier_sku: String,
    pub supplier_product_id: Option<String>,
    pub supplier_variant_id: Option<String>,
    pub product_url: Option<String>,
    pub unit_cost: MoneyJson,
    pub stock: Option<u32>,
    pub shipping: Vec<ShippingMethodJson>,
    #[schema(value_type = OfferPriorityName)]
    pub priority: &'static str,
}

impl From<Offer> for OfferJson {
    fn from(o: Offer) -> Self {
        Self {
            id: o.id.to_string(),
            variant_id: o.variant_id.to_string(),
            supplier_id: o.supplier_id.to_string(),
            supplier_sku: o.supplier_sku,
            supplier_product_id: o.supplier_product_id,
            supplier_variant_id: o.supplier_variant_id,
            product_url: o.product_url,
            unit_cost: o.unit_cost.into(),
            stock: o.stock,
            shipping: o.shipping.into_iter().map(ShippingMethodJson::from).collect(),
            priority: o.priority.as_str(),
        }
    }
}

/// Offers the caller may see.
#[derive(Serialize, ToSchema)]
pub struct OfferList {
    pub offers: Vec<OfferJson>,
}

/// Maps a store variant to a supplier variant.
#[utoipa::path(
    post, path = "/offers", tag = "offers",
    request_body = CreateOfferRequest,
    responses((status = 201, body = OfferJson), BodyErrors, CommonErrors)
)]
pub async fn create_offer(
    State(state): State<AppState>,
    Caller(scope): Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let request: CreateOfferRequest = body.read()?;
    let new = NewOffer {
        units: 1,
        variant_id: request.variant_id,
        supplier_id: request.supplier_id,
        supplier_sku: request.supplier_sku,
        supplier_product_id: request.supplier_product_id,
        supplier_variant_id: request.supplier_variant_id,
        product_url: request.product_url,
        unit_cost: request.unit_cost,
        stock: request.stock,
        shipping: request
            .shipping
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
    let offer = state.app.add_offer(scope, new).await?;
    Ok(reply(StatusCode::CREATED, OfferJson::from(offer)))
}

/// The offers the caller may see, optionally of one store.
#[utoipa::path(
    get, path = "/offers", tag = "offers",
    params(("store_id" = Option<String>, Query, description = "Only this store's offers")),
    responses(
        (status = 200, body = OfferList),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        (status = 422, description = "A malformed query parameter", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn list_offers(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut problems = Problems::default();
    let store_id = store_filter(&state, scope, &query, &mut problems).await?;
    problems.finish(Some(()))?;
    let offers = state.app.list_offers(scope, store_id).await?;
    Ok(reply(
        StatusCode::OK,
        OfferList {
            offers: offers.into_iter().map(OfferJson::from).collect(),
        },
    ))
}
