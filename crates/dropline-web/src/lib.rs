//! dropline's HTTP interface: the REST API under `/api/v1`, its OpenAPI document at
//! `/api/v1/openapi.json` (generated from the handlers in this crate) and `/healthz`.
//!
//! Handlers authenticate the caller into a [`Scope`](dropline_app::Scope), read the request
//! leniently (every refused field is reported at once, see `input.rs`), call ONE use case of
//! [`App`], and answer JSON. They never call partner APIs, never write to a database
//! themselves and never name a concrete store: everything goes through [`App`].

pub mod api;
pub mod auth;
pub mod dashboard;
pub mod dto;
pub mod error;
pub mod input;
mod spreadsheet;
pub mod track;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dropline_app::App;
use dropline_app::accounts::Accounts;
use error::ApiError;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

/// Largest request body accepted: 1 MiB. Larger bodies are answered 413 unread.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How the HTTP interface is set up.
#[derive(Clone)]
pub struct WebConfig {
    /// The operator's token (`DROPLINE_ADMIN_TOKEN`). Empty disables operator access over HTTP.
    pub admin_token: String,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig").field("admin_token", &"[redacted]").finish()
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub(crate) app: App,
    /// Users and sessions of the dashboard.
    pub(crate) accounts: Accounts,
    /// Digest of the admin token; `None` when there is none.
    pub(crate) admin_token_digest: Option<[u8; 32]>,
    /// The OpenAPI document, rendered once.
    pub(crate) openapi_json: Arc<String>,
    /// Return requests from tracking pages, counted.
    pub(crate) return_limiter: Arc<track::ReturnLimiter>,
}

/// One served route: method (upper case) and path (axum syntax, `/api/v1/orders/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    pub method: String,
    pub path: String,
}

/// Builds the routes and records every (method, path) it hands to axum, so that the list
/// of served routes can be compared with the OpenAPI document.
pub(crate) struct Registrar {
    router: OpenApiRouter<AppState>,
    prefix: &'static str,
    served: Vec<Route>,
}

impl Registrar {
    fn new(prefix: &'static str) -> Self {
        Self {
            router: OpenApiRouter::new(),
            prefix,
            served: Vec::new(),
        }
    }

    /// Adds the handlers of one path (made with `utoipa_axum::routes!`).
    pub(crate) fn add(mut self, routes: UtoipaMethodRouter<AppState>) -> Self {
        for (path, item) in &routes.1.paths {
            let methods = [
                ("GET", item.get.is_some()),
                ("PUT", item.put.is_some()),
                ("POST", item.post.is_some()),
                ("DELETE", item.delete.is_some()),
                ("PATCH", item.patch.is_some()),
                ("HEAD", item.head.is_some()),
                ("OPTIONS", item.options.is_some()),
                ("TRACE", item.trace.is_some()),
            ];
            for (method, present) in methods {
                if present {
                    self.served.push(Route {
                        method: method.into(),
                        path: format!("{}{path}", self.prefix),
                    });
                }
            }
        }
        self.router = self.router.routes(routes);
        self
    }
}

fn build(app: Option<App>, config: &WebConfig) -> (Router<()>, OpenApi, Vec<Route>) {
    let api = api::routes(Registrar::new("/api/v1"));
    let system = api::system_routes(Registrar::new(""));
    let mut served = api.served;
    served.extend(system.served);
    served.sort();
    let (router, mut doc) = OpenApiRouter::with_openapi(api::api_doc())
        .nest("/api/v1", api.router)
        .merge(system.router)
        .split_for_parts();
    api::finish_doc(&mut doc);
    let openapi_json = doc.to_pretty_json().unwrap_or_else(|err| {
        tracing::error!(error = %err, "rendering the OpenAPI document failed");
        "{}".to_string()
    });
    let router = match app {
        Some(app) => {
            let digest = (!config.admin_token.is_empty()).then(|| auth::token_digest(&config.admin_token));
            let state = AppState {
                accounts: Accounts::new(app.clone()),
                app,
                admin_token_digest: digest,
                openapi_json: Arc::new(openapi_json),
                return_limiter: Arc::default(),
            };
            router
                .route("/track/{token}", axum::routing::get(track::get_tracking_page))
                .route("/track/{token}/return", axum::routing::post(track::post_return_request))
                .merge(dashboard::routes())
                .fallback(route_not_found)
                .method_not_allowed_fallback(method_not_allowed)
                .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
                .layer(axum::middleware::map_response(json_payload_too_large))
                .layer(TraceLayer::new_for_http())
                .with_state(state)
        }
        None => Router::new(),
    };
    (router, doc, served)
}

pub use api::payouts::payouts_csv;

/// The HTTP interface over `app`: REST API, OpenAPI document, health.
pub fn router(app: App, config: WebConfig) -> Router {
    build(Some(app), &config).0
}

/// The OpenAPI document of the API, as served at `/api/v1/openapi.json`.
pub fn openapi() -> OpenApi {
    build(
        None,
        &WebConfig {
            admin_token: String::new(),
        },
    )
    .1
}

/// Every (method, path) the router serves, sorted.
pub fn served_routes() -> Vec<Route> {
    build(
        None,
        &WebConfig {
            admin_token: String::new(),
        },
    )
    .2
}

async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The body limit layer answers 413 by itself when `Content-Length` is over the limit; this
/// gives that answer the same JSON shape as every other error.
async fn json_payload_too_large(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return ApiError::PayloadTooLarge.into_response();
    }
    response
}
