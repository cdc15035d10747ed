//! Webhook receivers of the storefront platforms: `POST /webhooks/{platform}/{store}`.
//!
//! The signature is checked on the raw body before anything is parsed (by the platform's
//! format, through the engine); the answer is 200 only once what the delivery changed is
//! durable, so a platform that gets no 200 retries and nothing is lost.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use dropline_app::storefront::WebhookRequest;
use dropline_app::{AppError, WebhookOutcome};
use dropline_domain::catalog::Platform;
use dropline_domain::ids::StoreId;
use serde::Serialize;
use utoipa::ToSchema;

/// What dropline did with a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    /// `created`, `updated`, `unchanged`, `duplicate`, `ignored` or `ping`.
    #[schema(example = "created")]
    pub outcome: &'static str,
    /// The order the delivery was about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The order's state after the delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Receives a webhook of a store's platform (Shopify, WooCommerce or Wix).
///
/// Shopify: `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the body with the store's webhook
/// secret); WooCommerce: `X-WC-Webhook-Signature` (same construction; its unsigned ping is
/// answered 200); Wix: the body is a JWT signed with the app's key. Deliveries are
/// deduplicated by the platform's delivery id and by the order's id.
#[utoipa::path(
    post, path = "/webhooks/{platform}/{store}", tag = "webhooks", security(()),
    params(
        ("platform" = String, Path, description = "`shopify`, `woocommerce` or `wix`"),
        ("store" = String, Path, description = "The store's id"),
    ),
    request_body(content = String, description = "The platform's payload, exactly as sent", content_type = "application/json"),
    responses(
        (status = 200, body = WebhookReceipt, description = "Handled (or a duplicate, or a topic dropline ignores)"),
        (status = 400, body = ErrorBody, description = "Signed, but not the platform's payload"),
        (status = 401, body = ErrorBody, description = "Missing, wrong or stale signature; the body was not parsed"),
        (status = 404, body = ErrorBody, description = "No such platform or store"),
        (status = 413, body = ErrorBody, description = "Body over 1 MiB"),
    )
)]
pub async fn receive_webhook(
    State(state): State<AppState>,
    Path((platform, store)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let platform = match Platform::parse(&platform) {
        Some(p @ (Platform::Shopify | Platform::Woocommerce | Platform::Wix)) => p,
        _ => return Err(ApiError::not_found("platform")),
    };
    let store_id: StoreId = store.parse().map_err(|_| ApiError::not_found("store"))?;
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str().to_string(), v.to_string())))
        .collect();
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
    };
    let outcome = state
        .app
        .receive_webhook(platform, store_id, request)
        .await
        .map_err(|err| match err {
            AppError::Invalid(fields) => ApiError::BadPayload(fields),
            other => ApiError::App(other),
        })?;
    let receipt = match outcome {
        WebhookOutcome::Ping => WebhookReceipt {
            outcome: "ping",
            order_id: None,
            state: None,
        },
        WebhookOutcome::Ignored { .. } => WebhookReceipt {
            outcome: "ignored",
            order_id: None,
            state: None,
        },
        WebhookOutcome::Duplicate => WebhookReceipt {
            outcome: "duplicate",
            order_id: None,
            state: None,
        },
        WebhookOutcome::Order(outcome) => WebhookReceipt {
            outcome: if outcome.created {
                "created"
            } else if outcome.changed {
                "updated"
            } else {
                "unchanged"
            },
            order_id: Some(outcome.order_id.to_string()),
            state: Some(outcome.state.to_string()),
        },
    };
    Ok(crate::api::reply(StatusCode::OK, receipt))
}

/// What dropline did with a push of the tracking service.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingPushReceipt {
    /// Parcels of dropline the push named (each moved or noted).
    pub parcels: usize,
}

/// Receives a push of the parcel-tracking service (its own signature, no token). The
/// signature is checked on the raw body first; parcels dropline does not follow are ignored.
#[utoipa::path(
    post, path = "/webhooks/tracking", tag = "webhooks", security(()),
    request_body(content = String, description = "The tracking service's payload, exactly as sent", content_type = "application/json"),
    responses(
        (status = 200, body = TrackingPushReceipt, description = "Recorded"),
        (status = 400, body = ErrorBody, description = "Signed, but not the service's payload"),
        (status = 401, body = ErrorBody, description = "Missing or wrong signature; the body was not parsed"),
        (status = 404, body = ErrorBody, description = "No tracking service is configured"),
        (status = 413, body = ErrorBody, description = "Body over 1 MiB"),
    )
)]
pub async fn receive_tracking_push(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str().to_string(), v.to_string())))
        .collect();
    let parcels = state
        .app
        .receive_tracking_push(&headers, &body)
        .await
        .map_err(|err| match err {
            AppError::Invalid(fields) => ApiError::BadPayload(fields),
            other => ApiError::App(other),
        })?;
    Ok(crate::api::reply(StatusCode::OK, TrackingPushReceipt { parcels }))
}

/// What dropline answers a supplier's webhook: CJ's callback answer, which CJ reads to know
/// the message arrived (anything else is retried in 5 minutes, up to 3 times).
#[derive(Debug, Serialize, ToSchema)]
pub struct SupplierWebhookReceipt {
    /// 200.
    pub code: u16,
    /// `success`.
    pub result: &'static str,
    /// What dropline did: `sync queued` or `nothing to sync`.
    pub message: &'static str,
}

/// Receives a supplier's webhook message (CJ: product, variant and stock messages, signed
/// with the account's `openId` in the `sign` header). The signature is checked on the raw
/// body first; the products and variants the message names are read again from the
/// supplier's API by a background sync, so nothing in the message is applied as it is.
#[utoipa::path(
    post, path = "/webhooks/suppliers/{supplier}", tag = "webhooks", security(()),
    params(("supplier" = String, Path, description = "The supplier's id")),
    request_body(content = String, description = "The supplier's message, exactly as sent", content_type = "application/json"),
    responses(
        (status = 200, body = SupplierWebhookReceipt, description = "Taken: a sync of what it names is queued"),
        (status = 400, body = ErrorBody, description = "Signed, but not a message of the supplier"),
        (status = 401, body = ErrorBody, description = "Missing or wrong signature, no secret set, or a supplier that sends no webhooks; the body was not parsed"),
        (status = 404, body = ErrorBody, description = "No such supplier"),
        (status = 413, body = ErrorBody, description = "Body over 1 MiB"),
    )
)]
pub async fn receive_supplier_webhook(
    State(state): State<AppState>,
    Path(supplier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let supplier_id = supplier
        .parse::<dropline_domain::ids::SupplierId>()
        .map_err(|_| ApiError::App(AppError::NotFound("supplier")))?;
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str().to_string(), v.to_string())))
        .collect();
    let queued = state
        .app
        .receive_supplier_webhook(supplier_id, &headers, &body)
        .await
        .map_err(|err| match err {
            AppError::Invalid(fields) => ApiError::BadPayload(fields),
            other => ApiError::App(other),
        })?;
    Ok(crate::api::reply(
        StatusCode::OK,
        SupplierWebhookReceipt {
            code: 200,
            result: "success",
            message: if queued { "sync queued" } else { "nothing to sync" },
        },
    ))
}
