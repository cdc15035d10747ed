//! AliExpress Open Platform (IOP) requests: gateways, common parameters and the request
//! signature.
//!
//! # Signing
//!
//! Every call carries a `sign` parameter computed from all the other parameters, system and
//! business alike. The parameters (without `sign`) are sorted by name in plain byte order and
//! written one after another as name followed by value, with nothing in between. For a
//! path-style API on the `/rest` gateway (an API name with a `/`, such as
//! `/auth/token/create`) the path goes in front of that text; a dotted method on the `/sync`
//! gateway gets nothing in front, because its name is already inside as the `method`
//! parameter. The text, as UTF-8, is run through HMAC-SHA256 keyed with the app secret, and
//! the digest is sent as 64 upper-case hex digits. Values are signed as they are, before any
//! URL encoding of the request.
//!
//! This follows the platform's signature documentation together with the prefix rule of the
//! platform's own Python SDK (`iop-sdk-python`), which is where the path-prefix behaviour is
//! spelled out.
//!
//! # Test vectors
//!
//! The unit tests pin two vectors (a `/sync` method and a `/rest` path) that were computed
//! independently of this code from the rules above. They pin this implementation, not the
//! platform's server. The worked example on the platform's HTTP-request page is deliberately
//! not used: the page contradicts itself (the signed text shown in one step is not the one
//! shown in the next), and its published signature could not be reproduced under any
//! reasonable reading of its inputs, so a test built on it would pin a typo rather than the
//! algorithm.

pub mod client;
pub mod error;
pub mod orders;
pub mod sign;

use std::fmt;

pub use error::{AeError, RejectKind};
pub use sign::{sign, string_to_sign, verify};

/// Gateway for business APIs called by dotted method name (`aliexpress.ds.order.create`).
pub const SYNC_GATEWAY: &str = "https://api-sg.aliexpress.com/sync";

/// Gateway for path-style system APIs; the API path is appended (`/auth/token/create`).
pub const REST_GATEWAY: &str = "https://api-sg.aliexpress.com/rest";

/// The only signature method this module produces.
pub const SIGN_METHOD: &str = "sha256";

/// Parameter names the builder sets itself; a business parameter may not reuse them.
const RESERVED_PARAMS: [&str; 6] = [
    "app_key",
    "method",
    "timestamp",
    "sign_method",
    "session",
    sign::SIGN_PARAM,
];

/// Why a request could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A required value is empty or only whitespace.
    #[error("`{field}` is blank")]
    Blank {
        /// Which value: `app_key`, `secret`, `method` or `session`.
        field: &'static str,
    },
    /// A path-style API name does not start with `/`.
    #[error("API path `{0}` must start with `/`")]
    RelativeApiPath(String),
    /// A business parameter uses a name the builder sets itself.
    #[error("parameter `{0}` is set by the request builder and cannot be passed as a business parameter")]
    Reserved(String),
    /// The same business parameter was given twice.
    #[error("parameter `{0}` is given twice")]
    Duplicate(String),
    /// A business parameter has an empty name.
    #[error("a business parameter has an empty name")]
    EmptyName,
    /// An object parameter could not be written as JSON.
    #[error("parameter `{name}` could not be written as JSON: {message}")]
    Json {
        /// The parameter's name.
        name: String,
        /// What the serializer reported.
        message: String,
    },
}

/// Collects one IOP call and signs it.
///
/// The timestamp (epoch milliseconds) is passed in, so the same inputs always give the same
/// request. Business parameters are flat strings; object-typed ones go in as JSON text
/// ([`RequestBuilder::json_param`]).
#[derive(Clone)]
pub struct RequestBuilder {
    app_key: String,
    secret: String,
    api: String,
    timestamp_ms: u64,
    session: Option<String>,
    params: Vec<(String, String)>,
    // The first JSON failure, reported by `build` so the chain stays infallible.
    json_error: Option<RequestError>,
}

impl RequestBuilder {
    /// A call of `api` (a dotted `/sync` method or a `/rest` path such as
    /// `/auth/token/create`) for the app `app_key`, signed with `secret`.
    pub fn new(
        app_key: impl Into<String>,
        secret: impl Into<String>,
        api: impl Into<String>,
        timestamp_ms: u64,
    ) -> Self {
        Self {
            app_key: app_key.into(),
            secret: secret.into(),
            api: api.into(),
            timestamp_ms,
            session: None,
            params: Vec::new(),
            json_error: None,
        }
    }

    /// The access token of the authorised account, sent as `session`.
    pub fn session(mut self, access_token: impl Into<String>) -> Self {
        self.session = Some(access_token.into());
        self
    }

    /// A business parameter, sent and signed as given.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// An object-typed business parameter, sent as its compact JSON text.
    pub fn json_param<T: serde::Serialize + ?Sized>(mut self, name: impl Into<String>, value: &T) -> Self {
        let name = name.into();
        match serde_json::to_string(value) {
            Ok(json) => self.params.push((name, json)),
            Err(error) => {
                self.json_error.get_or_insert(RequestError::Json {
                    name,
                    message: error.to_string(),
                });
            }
        }
        self
    }

    /// Checks the inputs and returns the signed request.
    pub fn build(self) -> Result<SignedRequest, RequestError> {
        if let Some(error) = self.json_error {
            return Err(error);
        }
        require("app_key", &self.app_key)?;
        require("secret", &self.secret)?;
        require("method", &self.api)?;
        if let Some(session) = &self.session {
            require("session", session)?;
        }
        let is_path_api = self.api.contains('/');
        if is_path_api && !self.api.starts_with('/') {
            return Err(RequestError::RelativeApiPath(self.api));
        }
        for (index, (name, _)) in self.params.iter().enumerate() {
            if name.is_empty() {
                return Err(RequestError::EmptyName);
            }
            if RESERVED_PARAMS.contains(&name.as_str()) {
                return Err(RequestError::Reserved(name.clone()));
            }
            if self.params[..index].iter().any(|(earlier, _)| earlier == name) {
                return Err(RequestError::Duplicate(name.clone()));
            }
        }

        let mut params = self.params;
        params.push(("app_key".to_owned(), self.app_key));
        // Path APIs are named by the URL (and the signed prefix); only /sync needs `method`.
        if !is_path_api {
            params.push(("method".to_owned(), self.api.clone()));
        }
        params.push(("timestamp".to_owned(), self.timestamp_ms.to_string()));
        params.push(("sign_method".to_owned(), SIGN_METHOD.to_owned()));
        if let Some(session) = self.session {
            params.push(("session".to_owned(), session));
        }
        // Sent in the order they are signed in, which makes requests easy to compare.
        params.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));

        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let signature = sign(&self.secret, &self.api, &pairs);
        params.push((sign::SIGN_PARAM.to_owned(), signature));

        let url = if is_path_api {
            format!("{REST_GATEWAY}{}", self.api)
        } else {
            SYNC_GATEWAY.to_owned()
        };
        Ok(SignedRequest { url, params })
    }
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RequestBuilder")
            .field("app_key", &self.app_key)
            .field("secret", &"<redacted>")
            .field("api", &self.api)
            .field("timestamp_ms", &self.timestamp_ms)
            .field("session", &self.session.as_ref().map(|_| "<redacted>"))
            .field("params", &self.params)
            .finish()
    }
}

/// A signed IOP call: where to send it and its form parameters, `sign` last.
///
/// The parameters are to be URL-encoded as form fields (POST) or as the query (GET).
#[derive(Clone, PartialEq, Eq)]
pub struct SignedRequest {
    url: String,
    params: Vec<(String, String)>,
}

impl SignedRequest {
    /// The gateway URL: [`SYNC_GATEWAY`], or [`REST_GATEWAY`] followed by the API path.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The form parameters, sorted by name, then `sign`.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The form parameters, by value.
    pub fn into_params(self) -> Vec<(String, String)> {
        self.params
    }
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The access token is a credential; the signature and the rest are safe to log.
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str(),
                    if name == "session" {
                        "<redacted>"
                    } else {
                        value.as_str()
                    },
                )
            })
            .collect();
        formatter
            .debug_struct("SignedRequest")
            .field("url", &self.url)
            .field("params", &params)
            .finish()
    }
}

fn require(field: &'static str, value: &str) -> Result<(), RequestError> {
    if value.trim().is_empty() {
        Err(RequestError::Blank { field })
    } else {
        Ok(())
    }
}
