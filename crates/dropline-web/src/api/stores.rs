//! `/stores`: sellers' stores, their API tokens and settings.

use crate::AppState;
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::{AddressJson, MoneyJson, PlatformName, RoutingPolicyName};
use crate::error::{ApiError, ErrorBody};
use crate::input::{Input, JsonBody, Problems, ReadJson, path_id};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::ports::StoreRecord;
use dropline_app::{NewStore, Scope};
use dropline_domain::address::Address;
use dropline_domain::catalog::{
    AutoAcceptRules, Platform, RoutingPolicy, RoutingWeights, StoreConnection, StoreSettings,
};
use dropline_domain::ids::StoreId;
use dropline_domain::money::{Currency, Money};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A new store.
#[derive(ToSchema)]
pub struct CreateStoreRequest {
    #[schema(example = "Acme Gadgets")]
    pub name: String,
    #[schema(value_type = PlatformName)]
    pub platform: Platform,
    /// ISO 4217 code of the store's prices.
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    /// The store's own address (a supplier order never ships there).
    #[schema(value_type = Option<AddressJson>)]
    pub address: Option<Address>,
    /// Defaults: no automatic acceptance, `primary_then_backup` routing.
    pub settings: Option<SettingsRequest>,
    /// The shop's domain on its platform (`example.myshopify.com`).
    #[schema(example = "acme-gadgets.myshopify.com")]
    pub domain: Option<String>,
    /// The secret the platform signs webhooks with (Wix: the app's public key, PEM).
    pub webhook_secret: Option<String>,
    /// Base URL of the platform's API when not `https://{domain}` (e.g. a proxy).
    pub api_base: Option<String>,
    /// Shopify: Admin API access token. Wix: API key. Never shown again.
    pub access_token: Option<String>,
    /// WooCommerce: consumer key. Wix: site id.
    pub api_key: Option<String>,
    /// WooCommerce: consumer secret. Never shown again.
    pub api_secret: Option<String>,
}

impl ReadJson for CreateStoreRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let name = input.field("name").required(problems, Input::text);
        let platform = input.field("platform").required(problems, Input::choice);
        let currency = input.field("currency").required(problems, Input::currency);
        let address = input.field("address").optional_of(problems);
        let settings = input.field("settings").optional_of(problems);
        let domain = input.field("domain").optional(problems, Input::text);
        let webhook_secret = input.field("webhook_secret").optional(problems, Input::text);
        let credentials = CredentialsRequest::read(input, problems);
        let credentials = credentials?;
        Some(Self {
            name: name?,
            platform: platform?,
            currency: currency?,
            address: address?,
            settings: settings?,
            domain: domain?,
            webhook_secret: webhook_secret?,
            api_base: credentials.api_base,
            access_token: credentials.access_token,
            api_key: credentials.api_key,
            api_secret: credentials.api_secret,
        })
    }
}

/// The credential fields shared by `CreateStoreRequest` and `ConnectionRequest`.
struct CredentialsRequest {
    api_base: Option<String>,
    access_token: Option<String>,
    api_key: Option<String>,
    api_secret: Option<String>,
}

impl ReadJson for CredentialsRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let api_base = input.field("api_base").optional(problems, Input::text);
        let access_token = input.field("access_token").optional(problems, Input::text);
        let api_key = input.field("api_key").optional(problems, Input::text);
        let api_secret = input.field("api_secret").optional(problems, Input::text);
        Some(Self {
            api_base: api_base?,
            access_token: access_token?,
            api_key: api_key?,
            api_secret: api_secret?,
        })
    }
}

/// A store's platform connection; it replaces the current one.
#[derive(ToSchema)]
pub struct ConnectionRequest {
    #[schema(example = "acme-gadgets.myshopify.com")]
    pub domain: Option<String>,
    /// Webhook secrets, newest first; two while a secret is being rotated (Wix: the app's
    /// public key, PEM).
    pub webhook_secrets: Vec<String>,
    /// Base URL of the platform's API when not `https://{domain}`.
    pub api_base: Option<String>,
    /// Shopify: Admin API access token. Wix: API key.
    pub access_token: Option<String>,
    /// WooCommerce: consumer key. Wix: site id.
    pub api_key: Option<String>,
    /// WooCommerce: consumer secret.
    pub api_secret: Option<String>,
}

impl ReadJson for ConnectionRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let domain = input.field("domain").optional(problems, Input::text);
        let webhook_secrets = input.field("webhook_secrets").required(problems, |input, problems| {
            input.list(problems, |item, problems| item.text(problems))
        });
        let credentials = CredentialsRequest::read(input, problems);
        let credentials = credentials?;
        Some(Self {
            domain: domain?,
            webhook_secrets: webhook_secrets?,
            api_base: credentials.api_base,
            access_token: credentials.access_token,
            api_key: credentials.api_key,
            api_secret: credentials.api_secret,
        })
    }
}

/// A store's settings; what is left out takes its default.
#[derive(ToSchema)]
pub struct SettingsRequest {
    pub auto_accept: Option<AutoAcceptRequest>,
    #[schema(value_type = Option<RoutingPolicyName>)]
    pub routing_policy: Option<RoutingPolicy>,
    /// Weights of the `weighted` policy (all four when given).
    pub routing_weights: Option<RoutingWeightsJson>,
    /// Whether the storefront emails the customer when a fulfillment is written back
    /// (default false: dropline sends its own emails).
    pub storefront_notifies_customer: Option<bool>,
    /// How far (basis points) a supplier's fresh price may exceed the expected cost before
    /// the supplier order is held for the seller (default 500 = 5 %; at most 10000).
    pub supplier_price_tolerance_bp: Option<u32>,
    /// The lowest margin (basis points of the lines' revenue) a supplier order may leave after
    /// its fresh quote; below it the supplier order is held (default: no floor).
    pub margin_floor_bp: Option<u32>,
    /// A note sent to every supplier with the order, for blind dropshipping (at most 500
    /// characters).
    pub supplier_note: Option<String>,
}

impl ReadJson for SettingsRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let auto_accept = input.field("auto_accept").optional_of(problems);
        let routing_policy = input.field("routing_policy").optional(problems, Input::choice);
        let routing_weights = input.field("routing_weights").optional_of(problems);
        let notifies = input
            .field("storefront_notifies_customer")
            .optional(problems, Input::flag);
        let tolerance = input
            .field("supplier_price_tolerance_bp")
            .optional(problems, Input::count);
        let margin_floor = input.field("margin_floor_bp").optional(problems, Input::count);
        let supplier_note = input.field("supplier_note").optional(problems, Input::text);
        if let Some(Some(bp)) = tolerance
            && bp > 10_000
        {
            problems.push("supplier_price_tolerance_bp", "must be at most 10000 (100 %)");
        }
        if let Some(Some(bp)) = margin_floor
            && bp > 10_000
        {
            problems.push("margin_floor_bp", "must be at most 10000 (100 %)");
        }
        if let Some(Some(note)) = &supplier_note
            && note.chars().count() > 500
        {
            problems.push("supplier_note", "must be at most 500 characters");
        }
        Some(Self {
            auto_accept: auto_accept?,
            routing_policy: routing_policy?,
            routing_weights: routing_weights?,
            storefront_notifies_customer: notifies?,
            supplier_price_tolerance_bp: tolerance?,
            margin_floor_bp: margin_floor?,
            supplier_note: supplier_note?,
        })
    }
}

/// When the store accepts orders by itself; every condition set must hold.
#[derive(ToSchema)]
pub struct AutoAcceptRequest {
    /// Default false.
    pub enabled: Option<bool>,
    /// Only paid orders (default true).
    pub require_paid: Option<bool>,
    /// Only orders whose total is at most this (store currency).
    #[schema(value_type = Option<MoneyJson>)]
    pub max_total: Option<Money>,
    /// Only orders whose every line is one of these SKUs (empty: any).
    pub allowed_skus: Option<Vec<String>>,
}

impl ReadJson for AutoAcceptRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let enabled = input.field("enabled").optional(problems, Input::flag);
        let require_paid = input.field("require_paid").optional(problems, Input::flag);
        let max_total = input.field("max_total").optional(problems, Input::money);
        let allowed_skus = input.field("allowed_skus").optional(problems, |input, problems| {
            input.list(problems, |item, problems| item.text(problems))
        });
        Some(Self {
            enabled: enabled?,
            require_paid: require_paid?,
            max_total: max_total?,
            allowed_skus: allowed_skus?,
        })
    }
}

/// Weights of the `weighted` routing policy, in whole percent points.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[schema(as = RoutingWeights)]
pub struct RoutingWeightsJson {
    pub margin: u32,
    pub speed: u32,
    pub rating: u32,
    pub on_time: u32,
}

impl ReadJson for RoutingWeightsJson {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let margin = input.field("margin").required(problems, Input::count);
        let speed = input.field("speed").required(problems, Input::count);
        let rating = input.field("rating").required(problems, Input::count);
        let on_time = input.field("on_time").required(problems, Input::count);
        Some(Self {
            margin: margin?,
            speed: speed?,
            rating: rating?,
            on_time: on_time?,
        })
    }
}

impl SettingsRequest {
    /// The settings, with defaults for what was left out; `max_total` must be in `currency`.
    fn into_settings(self, currency: Currency, prefix: &str, problems: &mut Problems) -> StoreSettings {
        let defaults = StoreSettings::default();
        let auto_accept = match self.auto_accept {
            None => defaults.auto_accept,
            Some(rules) => {
                if let Some(max) = rules.max_total
                    && max.currency != currency
                {
                    problems.push(
                        format!("{prefix}auto_accept.max_total.currency"),
                        format!("must be the store currency {currency}"),
                    );
                }
                AutoAcceptRules {
                    enabled: rules.enabled.unwrap_or(false),
                    require_paid: rules.require_paid.unwrap_or(true),
                    max_total_minor: rules.max_total.map(|m| m.minor),
                    allowed_skus: rules.allowed_skus.unwrap_or_default(),
                }
            }
        };
        StoreSettings {
            auto_accept,
            routing_policy: self.routing_policy.unwrap_or(defaults.routing_policy),
            routing_weights: self
                .routing_weights
                .map(|w| RoutingWeights {
                    margin: w.margin,
                    speed: w.speed,
                    rating: w.rating,
                    on_time: w.on_time,
                })
                .unwrap_or(defaults.routing_weights),
            storefront_notifies_customer: self.storefront_notifies_customer.unwrap_or(false),
            supplier_price_tolerance_bp: self
                .supplier_price_tolerance_bp
                .unwrap_or(defaults.supplier_price_tolerance_bp),
            margin_floor_bp: self.margin_floor_bp,
            supplier_note: self.supplier_note.filter(|n| !n.trim().is_empty()),
        }
    }
}

/// New settings of a store: they replace the current ones (what is left out takes its
/// default); `address`, when given, replaces the store's own address.
#[derive(ToSchema)]
pub struct UpdateSettingsRequest {
    pub auto_accept: Option<AutoAcceptRequest>,
    #[schema(value_type = Option<RoutingPolicyName>)]
    pub routing_policy: Option<RoutingPolicy>,
    pub routing_weights: Option<RoutingWeightsJson>,
    pub storefront_notifies_customer: Option<bool>,
    pub supplier_price_tolerance_bp: Option<u32>,
    pub margin_floor_bp: Option<u32>,
    pub supplier_note: Option<String>,
    #[schema(value_type = Option<AddressJson>)]
    pub address: Option<Address>,
}

impl ReadJson for UpdateSettingsRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let settings = SettingsRequest::read(input, problems);
        let address = input.field("address").optional_of(problems);
        let settings = settings?;
        Some(Self {
            auto_accept: settings.auto_accept,
            routing_policy: settings.routing_policy,
            routing_weights: settings.routing_weights,
            storefront_notifies_customer: settings.storefront_notifies_customer,
            supplier_price_tolerance_bp: settings.supplier_price_tolerance_bp,
            margin_floor_bp: settings.margin_floor_bp,
            supplier_note: settings.supplier_note,
            address: address?,
        })
    }
}

/// A store.
#[derive(Serialize, ToSchema)]
#[schema(as = Store)]
pub struct StoreJson {
    pub id: String,
    pub name: String,
    #[schema(value_type = PlatformName)]
    pub platform: &'static str,
    #[schema(example = "USD")]
    pub currency: String,
    pub address: Option<AddressJson>,
    pub settings: SettingsJson,
    /// The platform connection, without its secrets.
    pub connection: ConnectionJson,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The store's API token: only in the answer to `POST /stores`, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_token: Option<String>,
}

/// A store's platform connection as shown: which secrets are set, never their values.
#[derive(Serialize, ToSchema)]
#[schema(as = StoreConnection)]
pub struct ConnectionJson {
    pub domain: Option<String>,
    pub api_base: Option<String>,
    pub has_access_token: bool,
    pub has_api_key: bool,
    pub has_api_secret: bool,
    /// How many webhook secrets are set (two during a rotation).
    pub webhook_secrets: usize,
    /// Where the platform must send webhooks (path on this server).
    #[schema(example = "/webhooks/shopify/0190b0c4-...")]
    pub webhook_path: String,
}

/// A store's settings.
#[derive(Serialize, ToSchema)]
#[schema(as = StoreSettings)]
pub struct SettingsJson {
    pub auto_accept: AutoAcceptJson,
    #[schema(value_type = RoutingPolicyName)]
    pub routing_policy: &'static str,
    pub routing_weights: RoutingWeightsJson,
    pub storefront_notifies_customer: bool,
    /// How far (basis points) a supplier's fresh price may exceed the expected cost.
    pub supplier_price_tolerance_bp: u32,
    /// The lowest margin (basis points) a supplier order may leave after its fresh quote.
    pub margin_floor_bp: Option<u32>,
    /// The note sent to every supplier with the order (blind dropshipping).
    pub supplier_note: Option<String>,
}

/// Automatic acceptance rules.
#[derive(Serialize, ToSchema)]
#[schema(as = AutoAcceptRules)]
pub struct AutoAcceptJson {
    pub enabled: bool,
    pub require_paid: bool,
    pub max_total: Option<MoneyJson>,
    pub allowed_skus: Vec<String>,
}

impl StoreJson {
    pub(crate) fn new(record: StoreRecord, api_token: Option<String>) -> Self {
        let store = record.store;
        let settings = store.settings;
        let connection = record.connection;
        Self {
            connection: ConnectionJson {
                domain: connection.domain,
                api_base: connection.api_base,
                has_access_token: connection.access_token.is_some(),
                has_api_key: connection.api_key.is_some(),
                has_api_secret: connection.api_secret.is_some(),
                webhook_secrets: connection.webhook_secrets.len(),
                webhook_path: format!("/webhooks/{}/{}", store.platform, store.id),
            },
            id: store.id.to_string(),
            name: store.name,
            platform: store.platform.as_str(),
            currency: store.currency.code().to_string(),
            address: store.address.map(AddressJson::from),
            settings: SettingsJson {
                auto_accept: AutoAcceptJson {
                    enabled: settings.auto_accept.enabled,
                    require_paid: settings.auto_accept.require_paid,
                    max_total: settings
                        .auto_accept
                        .max_total_minor
                        .map(|minor| Money::new(minor, store.currency).into()),
                    allowed_skus: settings.auto_accept.allowed_skus,
                },
                routing_policy: settings.routing_policy.as_str(),
                routing_weights: RoutingWeightsJson {
                    margin: settings.routing_weights.margin,
                    speed: settings.routing_weights.speed,
                    rating: settings.routing_weights.rating,
                    on_time: settings.routing_weights.on_time,
                },
                storefront_notifies_customer: settings.storefront_notifies_customer,
                supplier_price_tolerance_bp: settings.supplier_price_tolerance_bp,
                margin_floor_bp: settings.margin_floor_bp,
                supplier_note: settings.supplier_note,
            },
            created_at: record.created_at,
            api_token,
        }
    }
}

/// Stores the caller may see.
#[derive(Serialize, ToSchema)]
pub struct StoreList {
    pub stores: Vec<StoreJson>,
}

/// Creates a store and its API token (operator only). The token is in this answer and
/// never again: only its hash is kept.
#[utoipa::path(
    post, path = "/stores", tag = "stores",
    request_body = CreateStoreRequest,
    responses(
        (status = 201, description = "The new store, with `api_token`", body = StoreJson),
        (status = 403, description = "Only the operator creates stores", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn create_store(
    State(state): State<AppState>,
    Caller(scope): Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    if scope != Scope::Operator {
        return Err(ApiError::Forbidden("only the operator creates stores"));
    }
    let request: CreateStoreRequest = body.read()?;
    let mut problems = Problems::default();
    let settings = request
        .settings
        .map(|s| s.into_settings(request.currency, "settings.", &mut problems))
        .unwrap_or_default();
    problems.finish(Some(()))?;
    let new = NewStore {
        name: request.name,
        platform: request.platform,
        currency: request.currency,
        address: request.address,
        settings,
        connection: StoreConnection {
            domain: request.domain,
            api_base: request.api_base,
            access_token: request.access_token,
            api_key: request.api_key,
            api_secret: request.api_secret,
            webhook_secrets: request.webhook_secret.into_iter().collect(),
        },
    };
    let (record, token) = state.app.create_store(scope, new).await?;
    Ok(reply(StatusCode::CREATED, StoreJson::new(record, Some(token))))
}

/// The stores the caller may see (a store's token: its own store only).
#[utoipa::path(
    get, path = "/stores", tag = "stores",
    responses((status = 200, body = StoreList), CommonErrors)
)]
pub async fn list_stores(State(state): State<AppState>, Caller(scope): Caller) -> Result<Response, ApiError> {
    let stores = state.app.list_stores(scope).await?;
    let stores = stores.into_iter().map(|r| StoreJson::new(r, None)).collect();
    Ok(reply(StatusCode::OK, StoreList { stores }))
}

/// One store.
#[utoipa::path(
    get, path = "/stores/{id}", tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    responses(
        (status = 200, body = StoreJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_store(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    let record = state.app.get_store(scope, id).await?;
    Ok(reply(StatusCode::OK, StoreJson::new(record, None)))
}

/// Replaces a store's settings (and, when given, its own address).
#[utoipa::path(
    put, path = "/stores/{id}/settings", tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    request_body = UpdateSettingsRequest,
    responses(
        (status = 200, description = "The store with its new settings", body = StoreJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_store_settings(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    let store = state.app.get_store(scope, id).await?.store;
    let request: UpdateSettingsRequest = body.read()?;
    let mut problems = Problems::default();
    let settings = SettingsRequest {
        auto_accept: request.auto_accept,
        routing_policy: request.routing_policy,
        routing_weights: request.routing_weights,
        storefront_notifies_customer: request.storefront_notifies_customer,
        supplier_price_tolerance_bp: request.supplier_price_tolerance_bp,
        margin_floor_bp: request.margin_floor_bp,
        supplier_note: request.supplier_note,
    }
    .into_settings(store.currency, "", &mut problems);
    problems.finish(Some(()))?;
    let record = state
        .app
        .update_store_settings(scope, id, settings, request.address)
        .await?;
    Ok(reply(StatusCode::OK, StoreJson::new(record, None)))
}

/// Replaces a store's platform connection: domain, credentials and webhook secrets. To
/// rotate a webhook secret, send the new one first and the old one second; drop the old
/// one once the platform signs with the new one.
#[utoipa::path(
    put, path = "/stores/{id}/connection", tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    request_body = ConnectionRequest,
    responses(
        (status = 200, description = "The store with its new connection (secrets not shown)", body = StoreJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_store_connection(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    state.app.get_store(scope, id).await?;
    let request: ConnectionRequest = body.read()?;
    let connection = StoreConnection {
        domain: request.domain,
        api_base: request.api_base,
        access_token: request.access_token,
        api_key: request.api_key,
        api_secret: request.api_secret,
        webhook_secrets: request.webhook_secrets,
    };
    let record = state.app.update_store_connection(scope, id, connection).await?;
    Ok(reply(StatusCode::OK, StoreJson::new(record, None)))
}

/// What the platform said about the store's credentials.
#[derive(Serialize, ToSchema)]
pub struct ConnectionCheck {
    pub ok: bool,
    /// The shop's name on the platform.
    pub shop_name: String,
    pub currency: Option<String>,
}

/// Checks the store's credentials against its platform.
#[utoipa::path(
    post, path = "/stores/{id}/connection/test", tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    responses(
        (status = 200, body = ConnectionCheck),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        (status = 422, description = "The store's platform has no API (api, csv)", body = ErrorBody),
        (status = 502, description = "The platform refused the credentials or the call", body = ErrorBody),
        (status = 503, description = "The platform could not be reached", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn test_store_connection(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    let info = state.app.test_store_connection(scope, id).await?;
    Ok(reply(
        StatusCode::OK,
        ConnectionCheck {
            ok: true,
            shop_name: info.name,
            currency: info.currency,
        },
    ))
}

/// The catalogue pull was queued.
#[derive(Serialize, ToSchema)]
pub struct PullQueued {
    pub queued: bool,
}

/// Pulls the store's products and variants from its platform, page by page, as a
/// background job; existing ones (matched by platform id) are updated, none deleted.
#[utoipa::path(
    post, path = "/stores/{id}/catalog/pull", tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    responses(
        (status = 202, body = PullQueued),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        (status = 422, description = "The store's platform has no API (api, csv)", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn pull_store_catalog(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    state.app.pull_catalog(scope, id).await?;
    Ok(reply(StatusCode::ACCEPTED, PullQueued { queued: true }))
}
