//! Bearer tokens: the operator's admin token sees every store, a store's own token sees
//! only that store. The caller's [`Scope`] is handed to every use case, which enforces it.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use dropline_app::Scope;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The authenticated caller of a request.
pub struct Caller(pub Scope);

/// The SHA-256 of a token; tokens are compared by their digests so that the comparison
/// takes the same time whatever the length or content of the guess.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(ApiError::Unauthorized(
            "missing token: send 'Authorization: Bearer <token>'",
        ))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthorized(
                "malformed Authorization header: expected 'Bearer <token>'",
            ))?;
        if let Some(admin) = &state.admin_token_digest
            && bool::from(token_digest(token).ct_eq(admin))
        {
            return Ok(Self(Scope::Operator));
        }
        match state.app.authenticate_store_token(token).await? {
            Some(store_id) => Ok(Self(Scope::Store(store_id))),
            None => Err(ApiError::Unauthorized("invalid token")),
        }
    }
}
