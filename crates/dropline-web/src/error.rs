//! The one HTTP error type. Every refusal answers the same JSON shape:
//!
//! ```json
//! {"error": {"code": "order_not_found", "message": "…", "fields": [{"field": "shipping_address.postal_code", "reason": "…"}]}}
//! ```
//!
//! Codes are stable snake_case strings clients may match on. Internal causes (database
//! errors) are logged with tracing and never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dropline_app::ports::StoreError;
use dropline_app::{AppError, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

/// Why a request was refused.
#[derive(Debug)]
pub enum ApiError {
    /// A use case refused or failed.
    App(AppError),
    /// No token, a malformed `Authorization` header, or a token nobody has.
    Unauthorized(&'static str),
    /// The caller is known but may not do this at all (a store creating stores).
    Forbidden(&'static str),
    /// The body is not JSON at all.
    MalformedJson(String),
    /// The query string cannot be decoded.
    MalformedQuery(String),
    /// The body is over the limit.
    PayloadTooLarge,
    /// A webhook body that is not the platform's payload (400), naming the field.
    BadPayload(Vec<FieldError>),
    /// No route has this path.
    RouteNotFound,
    /// The path exists, but not with this method.
    MethodNotAllowed,
}

impl ApiError {
    /// A 422 for refused fields.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        Self::App(AppError::Invalid(fields))
    }

    /// A 404 for a thing that does not exist or that the caller may not see.
    pub fn not_found(what: &'static str) -> Self {
        Self::App(AppError::NotFound(what))
    }

    /// The HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::App(err) => match err {
                AppError::NotFound(_) => StatusCode::NOT_FOUND,
                AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::IllegalTransition(_) | AppError::Conflict(_) => StatusCode::CONFLICT,
                AppError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
                AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
                AppError::RetryLater { .. } => StatusCode::SERVICE_UNAVAILABLE,
                AppError::PartnerRefused(_) => StatusCode::BAD_GATEWAY,
            },
            Self::BadPayload(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::MalformedJson(_) | Self::MalformedQuery(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The JSON error detail (code, message, fields), as sent.
    pub fn detail(&self) -> ErrorDetail {
        let (code, message, fields) = match self {
            Self::App(err) => match err {
                AppError::NotFound(what) => (
                    format!("{}_not_found", what.replace(' ', "_")),
                    format!("{what} not found"),
                    Vec::new(),
                ),
                AppError::Invalid(fields) => (
                    "invalid_input".to_string(),
                    format!("{} field(s) refused; nothing was written", fields.len()),
                    fields
                        .iter()
                        .map(|f| FieldErrorJson {
                            field: f.field.clone(),
                            reason: f.reason.clone(),
                        })
                        .collect(),
                ),
                // "order in state 'rejected' cannot take 'accept'"
                AppError::IllegalTransition(transition) => {
                    ("illegal_transition".to_string(), transition.to_string(), Vec::new())
                }
                AppError::Conflict(_) => (
                    "conflict".to_string(),
                    "the change collided with another one; read again and retry".to_string(),
                    Vec::new(),
                ),
                AppError::Store(StoreError::Unavailable(_)) => (
                    "unavailable".to_string(),
                    "the database is unavailable; retry later".to_string(),
                    Vec::new(),
                ),
                AppError::Store(_) => ("internal".to_string(), "internal error".to_string(), Vec::new()),
                AppError::Unauthorized(reason) => ("unauthorized".to_string(), reason.clone(), Vec::new()),
                AppError::RetryLater { reason, .. } => (
                    "partner_unavailable".to_string(),
                    format!("the platform cannot take the call now: {reason}"),
                    Vec::new(),
                ),
                AppError::PartnerRefused(reason) => (
                    "partner_refused".to_string(),
                    format!("the platform refused: {reason}"),
                    Vec::new(),
                ),
            },
            Self::BadPayload(fields) => (
                "bad_payload".to_string(),
                "the body is not this platform's webhook payload; nothing was written".to_string(),
                fields
                    .iter()
                    .map(|f| FieldErrorJson {
                        field: f.field.clone(),
                        reason: f.reason.clone(),
                    })
                    .collect(),
            ),
            Self::Unauthorized(message) => ("unauthorized".to_string(), (*message).to_string(), Vec::new()),
            Self::Forbidden(message) => ("forbidden".to_string(), (*message).to_string(), Vec::new()),
            Self::MalformedJson(message) => ("malformed_json".to_string(), message.clone(), Vec::new()),
            Self::MalformedQuery(message) => ("malformed_query".to_string(), message.clone(), Vec::new()),
            Self::PayloadTooLarge => (
                "payload_too_large".to_string(),
                "the request body is over 1 MiB".to_string(),
                Vec::new(),
            ),
            Self::RouteNotFound => ("route_not_found".to_string(), "no such route".to_string(), Vec::new()),
            Self::MethodNotAllowed => (
                "method_not_allowed".to_string(),
                "this route does not take this method".to_string(),
                Vec::new(),
            ),
        };
        ErrorDetail { code, message, fields }
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        Self::App(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::App(AppError::Store(cause)) = &self {
            // The cause stays in the log; the client gets the code only.
            tracing::error!(error = %cause, "request failed in the store");
        } else if let Self::App(AppError::Conflict(cause)) = &self {
            tracing::warn!(error = %cause, "request lost a write conflict");
        }
        let mut response = (status, Json(ErrorBody { error: self.detail() })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The body of every error answer.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code: `unauthorized`, `forbidden`, `invalid_input`, `malformed_json`,
    /// `malformed_query`, `payload_too_large`, `illegal_transition`, `conflict`,
    /// `<thing>_not_found` (`order_not_found`, `store_not_found`, ...), `route_not_found`,
    /// `method_not_allowed`, `unavailable`, `internal`.
    #[schema(example = "order_not_found")]
    pub code: String,
    /// Human explanation.
    pub message: String,
    /// Every refused field with its reason (for `invalid_input`; empty otherwise).
    pub fields: Vec<FieldErrorJson>,
}

/// One refused field.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = FieldError)]
pub struct FieldErrorJson {
    /// Path of the field in the request (`lines[0].quantity`, `shipping_address.postal_code`;
    /// query parameters by name).
    #[schema(example = "shipping_address.postal_code")]
    pub field: String,
    #[schema(example = "is required")]
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::state::TransitionError;

    #[test]
    fn codes_and_statuses() {
        let check = |err: ApiError, status: u16, code: &str| {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            assert_eq!(err.detail().code, code, "{err:?}");
        };
        check(ApiError::not_found("order"), 404, "order_not_found");
        check(ApiError::not_found("supplier order"), 404, "supplier_order_not_found");
        check(
            ApiError::invalid(vec![FieldError::new("name", "is required")]),
            422,
            "invalid_input",
        );
        check(ApiError::Unauthorized("missing"), 401, "unauthorized");
        check(ApiError::PayloadTooLarge, 413, "payload_too_large");
        check(
            ApiError::App(AppError::Store(StoreError::Other("disk on fire".into()))),
            500,
            "internal",
        );
        let transition = TransitionError {
            machine: "order",
            from: "rejected".into(),
            event: "accept".into(),
        };
        let err = ApiError::App(AppError::IllegalTransition(transition));
        assert_eq!(err.status().as_u16(), 409);
        assert_eq!(err.detail().message, "order in state 'rejected' cannot take 'accept'");
    }

    #[test]
    fn internal_causes_are_not_sent() {
        let err = ApiError::App(AppError::Store(StoreError::Other("password=hunter2".into())));
        let detail = serde_json::to_string(&err.detail()).unwrap_or_default();
        assert!(!detail.contains("hunter2"), "{detail}");
    }
}
