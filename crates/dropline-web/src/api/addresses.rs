//! `/addresses/validate`: the validation findings of an address, storing nothing, so a
//! seller can check an address before fixing an order.

use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::{FindingJson, read_address};
use crate::error::ApiError;
use crate::input::{Input, JsonBody, Problems, ReadJson};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_domain::address::Address;
use serde::Serialize;
use utoipa::ToSchema;

/// An address to check. Every field may be left out: what is missing is reported as a
/// finding, not refused; only fields of the wrong type are refused (422).
#[derive(ToSchema)]
pub struct AddressCheckRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "US")]
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

pub(crate) struct AddressToCheck(pub(crate) Address);

impl ReadJson for AddressToCheck {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        read_address(input, problems, false).map(Self)
    }
}

/// What validation found.
#[derive(Serialize, ToSchema)]
pub struct AddressCheck {
    /// No finding is an error (warnings do not block).
    pub valid: bool,
    pub findings: Vec<FindingJson>,
}

/// Checks an address: errors (block an order) and warnings (shown, do not block), each
/// naming its field. Nothing is stored and the address is never rewritten.
#[utoipa::path(
    post, path = "/addresses/validate", tag = "addresses",
    request_body = AddressCheckRequest,
    responses((status = 200, body = AddressCheck), BodyErrors, CommonErrors)
)]
pub async fn validate_address(Caller(_scope): Caller, body: JsonBody) -> Result<Response, ApiError> {
    let AddressToCheck(address) = body.read()?;
    let findings = dropline_domain::validation::validate_address(&address);
    let valid = !findings.iter().any(|f| f.is_error());
    Ok(reply(
        StatusCode::OK,
        AddressCheck {
            valid,
            findings: findings.into_iter().map(FindingJson::from).collect(),
        },
    ))
}
