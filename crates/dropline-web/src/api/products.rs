//! `/products`: a store's catalogue, with variants inline.

use crate::AppState;
use crate::api::suppliers::{owning_store, store_filter, store_id_check};
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::MoneyJson;
use crate::error::{ApiError, ErrorBody};
use crate::input::{Input, JsonBody, Problems, QueryParams, ReadJson, path_id};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::NewProduct;
use dropline_app::service::NewVariant;
use dropline_domain::catalog::Product;
use dropline_domain::ids::{ProductId, StoreId};
use dropline_domain::money::Money;
use serde::Serialize;
use utoipa::ToSchema;

/// A new product with its variants.
#[derive(ToSchema)]
pub struct CreateProductRequest {
    /// The store; a store's token may leave it out (its own store).
    #[schema(value_type = Option<String>)]
    pub store_id: Option<StoreId>,
    #[schema(example = "Wireless earbuds")]
    pub title: String,
    /// At least one.
    pub variants: Vec<VariantRequest>,
}

impl ReadJson for CreateProductRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let store_id = input.field("store_id").optional(problems, Input::id);
        let title = input.field("title").required(problems, Input::text);
        let variants = input.field("variants").required(problems, |input, problems| {
            input.list(problems, |item, problems| item.object_of(problems))
        });
        Some(Self {
            store_id: store_id?,
            title: title?,
            variants: variants?,
        })
    }
}

/// A variant of a new product.
#[derive(ToSchema)]
pub struct VariantRequest {
    /// Unique in the store; orders name variants by SKU.
    #[schema(example = "EARBUDS-BLACK")]
    pub sku: String,
    #[schema(example = "Black")]
    pub title: String,
    /// The customer's price, in the store currency.
    #[schema(value_type = MoneyJson)]
    pub price: Money,
    /// The storefront's id of the variant; storefront orders map to it before the SKU.
    #[schema(example = "808950810")]
    pub platform_variant_id: Option<String>,
}

impl ReadJson for VariantRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let sku = input.field("sku").required(problems, Input::text);
        let title = input.field("title").required(problems, Input::text);
        let price = input.field("price").required(problems, Input::money);
        let platform_variant_id = input.field("platform_variant_id").optional(problems, Input::text);
        Some(Self {
            sku: sku?,
            title: title?,
            price: price?,
            platform_variant_id: platform_variant_id?,
        })
    }
}

/// A product.
#[derive(Serialize, ToSchema)]
#[schema(as = Product)]
pub struct ProductJson {
    pub id: String,
    pub store_id: String,
    pub title: String,
    pub variants: Vec<VariantJson>,
    /// The storefront's id of the product, for products pulled from the storefront.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_product_id: Option<String>,
}

/// A variant: what a line item buys.
#[derive(Serialize, ToSchema)]
#[schema(as = Variant)]
pub struct VariantJson {
    pub id: String,
    pub sku: String,
    pub title: String,
    pub price: MoneyJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_variant_id: Option<String>,
}

impl From<Product> for ProductJson {
    fn from(p: Product) -> Self {
        Self {
            id: p.id.to_string(),
            store_id: p.store_id.to_string(),
            title: p.title,
            platform_product_id: p.platform_product_id,
            variants: p
                .variants
                .into_iter()
                .map(|v| VariantJson {
                    id: v.id.to_string(),
                    sku: v.sku,
                    title: v.title,
                    price: v.price.into(),
                    platform_variant_id: v.platform_variant_id,
                })
                .collect(),
        }
    }
}

/// Products the caller may see.
#[derive(Serialize, ToSchema)]
pub struct ProductList {
    pub products: Vec<ProductJson>,
}

/// Adds a product with its variants.
#[utoipa::path(
    post, path = "/products", tag = "products",
    request_body = CreateProductRequest,
    responses((status = 201, body = ProductJson), BodyErrors, CommonErrors)
)]
pub async fn create_product(
    State(state): State<AppState>,
    Caller(scope): Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let request: CreateProductRequest = body.read_with(store_id_check(scope))?;
    let new = NewProduct {
        store_id: owning_store(scope, request.store_id)?,
        title: request.title,
        variants: request
            .variants
            .into_iter()
            .map(|v| NewVariant {
                sku: v.sku,
                title: v.title,
                price: v.price,
                platform_variant_id: v.platform_variant_id,
            })
            .collect(),
    };
    let product = state.app.create_product(scope, new).await?;
    Ok(reply(StatusCode::CREATED, ProductJson::from(product)))
}

/// The products the caller may see, optionally of one store.
#[utoipa::path(
    get, path = "/products", tag = "products",
    params(("store_id" = Option<String>, Query, description = "Only this store's products")),
    responses(
        (status = 200, body = ProductList),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        (status = 422, description = "A malformed query parameter", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn list_products(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut problems = Problems::default();
    let store_id = store_filter(&state, scope, &query, &mut problems).await?;
    problems.finish(Some(()))?;
    let products = state.app.list_products(scope, store_id).await?;
    Ok(reply(
        StatusCode::OK,
        ProductList {
            products: products.into_iter().map(ProductJson::from).collect(),
        },
    ))
}

/// One product with its variants.
#[utoipa::path(
    get, path = "/products/{id}", tag = "products",
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, body = ProductJson),
        (status = 404, description = "No such product, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_product(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: ProductId = path_id(&id, "product")?;
    let product = state.app.get_product(scope, id).await?;
    Ok(reply(StatusCode::OK, ProductJson::from(product)))
}
