//! The errors of the use cases, sorted by what an interface should answer.

use crate::ports::StoreError;
use dropline_domain::order::OrderError;
use dropline_domain::state::TransitionError;
use serde::Serialize;

/// One refused input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's path, as in the API (`shipping_address.postal_code`, `lines[0].quantity`).
    pub field: String,
    pub reason: String,
}

impl FieldError {
    /// A refused field.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Why a use case refused or failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum AppError {
    /// The thing does not exist, or the caller may not see it.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input is malformed; nothing was written.
    #[error("invalid input: {}", .0.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The action is not legal in the current state; nothing was written.
    #[error(transparent)]
    IllegalTransition(#[from] TransitionError),
    /// The write collided with another (duplicate key, concurrent change).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's credentials or signature were refused.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// A partner (a storefront platform) could not take the call now; try again later,
    /// after `after` when the partner said.
    #[error("try again later: {reason}")]
    RetryLater {
        reason: String,
        after: Option<std::time::Duration>,
    },
    /// A partner refused the call for good, or cannot be called as configured.
    #[error("refused by the partner: {0}")]
    PartnerRefused(String),
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
}

impl AppError {
    /// An invalid single field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, reason)])
    }

    /// The stable snake_case code of the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::Invalid(_) => "invalid_input",
            Self::IllegalTransition(_) => "illegal_transition",
            Self::Conflict(_) => "conflict",
            Self::Unauthorized(_) => "unauthorized",
            Self::RetryLater { .. } => "partner_unavailable",
            Self::PartnerRefused(_) => "partner_refused",
            Self::Store(StoreError::Unavailable(_)) => "unavailable",
            Self::Store(_) => "internal",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => Self::Conflict(what),
            other => Self::Store(other),
        }
    }
}

impl From<OrderError> for AppError {
    fn from(err: OrderError) -> Self {
        match err {
            OrderError::Transition(t) => Self::IllegalTransition(t),
            OrderError::UnknownSupplierOrder(_) => Self::NotFound("supplier order"),
            OrderError::UnknownShipment(_) => Self::NotFound("shipment"),
            OrderError::Invalid { field, reason } => Self::invalid(field, reason),
            OrderError::UnknownReturn(_) => Self::NotFound("return"),
            OrderError::UnknownDispute(_) => Self::NotFound("dispute"),
            OrderError::UnknownClaim(_) => Self::NotFound("claim"),
        }
    }
}
