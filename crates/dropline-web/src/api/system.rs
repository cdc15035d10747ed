//! Health and the OpenAPI document; neither needs a token.

use crate::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The process is up.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: answers while the process serves requests.
#[utoipa::path(
    get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, body = Health))
)]
pub async fn get_healthz() -> Response {
    crate::api::reply(StatusCode::OK, Health { status: "ok" })
}

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "system", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json"))
)]
pub async fn get_openapi(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json.as_str().to_owned(),
    )
        .into_response()
}
