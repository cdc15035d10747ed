//! CJ's response envelope `{code, result, message, data, requestId}` and the typed error a
//! failed call turns into. The code → variant table is in the [module docs](super).

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// CJ's code for success.
pub const SUCCESS: i64 = 200;

/// Why a CJ call did not give its data, sorted by what the caller should do next.
///
/// Every variant coming from CJ keeps CJ's `code` and `message` for logs and support; callers
/// decide on the variant (or [`is_retryable`](Self::is_retryable) /
/// [`needs_new_token`](Self::needs_new_token)), never on the message text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CjError {
    /// The access token has expired: refresh it (or get a new one) and call again.
    #[error("CJ access token expired (code {code}): {message}")]
    TokenExpired { code: i64, message: String },
    /// The access or refresh token is wrong, empty or was invalidated: get a new access token
    /// with the API key and call again.
    #[error("CJ access token invalid (code {code}): {message}")]
    TokenInvalid { code: i64, message: String },
    /// The API key, CJ account, developer binding or platform token is refused: a new access
    /// token will not help, a person has to fix the configuration.
    #[error("CJ refused the credentials (code {code}): {message}")]
    Credentials { code: i64, message: String },
    /// Too many calls: wait and call again; `retry_after` is how long CJ asked to wait, when
    /// it said (the `Retry-After` header of an HTTP 429).
    #[error("CJ rate limit reached (code {code}): {message}")]
    RateLimited {
        code: i64,
        message: String,
        retry_after: Option<Duration>,
    },
    /// CJ's side is busy or failing: call again later.
    #[error("CJ unavailable (code {code}): {message}")]
    Unavailable { code: i64, message: String },
    /// A parameter of the request is wrong: calling again with the same request fails again.
    #[error("CJ refused a parameter (code {code}): {message}")]
    Invalid { code: i64, message: String },
    /// CJ refused the request for a business reason, or with a code this module does not
    /// know: not retried, shown to a person.
    #[error("CJ refused the request (code {code}): {message}")]
    Rejected { code: i64, message: String },
    /// The body is not CJ's envelope, or its data is not the expected shape; the text names
    /// the field.
    #[error("CJ response malformed: {0}")]
    Malformed(String),
    /// No complete answer arrived (connection refused or dropped, time-out). The call may or
    /// may not have been carried out at CJ: call again later, but look a created order up
    /// (by its order number) before sending its creation again.
    #[error("CJ unreachable: {0}")]
    Transport(String),
}

impl CjError {
    /// Whether the same call may succeed if made again later (after a pause).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Unavailable { .. } | Self::Transport(_)
        )
    }

    /// Whether the call should be made again with a new access token.
    pub fn needs_new_token(&self) -> bool {
        matches!(self, Self::TokenExpired { .. } | Self::TokenInvalid { .. })
    }

    /// How long CJ asked to wait before the next call, when it said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether a call that changes something at CJ (creating or cancelling an order) may have
    /// been carried out although this error came back: the answer was lost or cut
    /// ([`Transport`](Self::Transport), [`Malformed`](Self::Malformed)), or CJ failed on its
    /// side after perhaps doing the work ([`Unavailable`](Self::Unavailable)). Before making
    /// such a call again, look its effect up (an order by its number).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Transport(_) | Self::Malformed(_) | Self::Unavailable { .. })
    }

    /// CJ's code, when the error came from CJ's envelope.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::TokenExpired { code, .. }
            | Self::TokenInvalid { code, .. }
            | Self::Credentials { code, .. }
            | Self::RateLimited { code, .. }
            | Self::Unavailable { code, .. }
            | Self::Invalid { code, .. }
            | Self::Rejected { code, .. } => Some(*code),
            Self::Malformed(_) | Self::Transport(_) => None,
        }
    }

    /// The error for a failed envelope with this code and message (see the module table).
    pub fn from_code(code: i64, message: impl Into<String>) -> Self {
        let message = message.into();
        match code {
            401 => Self::TokenExpired { code, message },
            1_600_001 | 1_600_002 | 1_600_003 | 1_600_030 => Self::TokenInvalid { code, message },
            1_600_004..=1_600_008 | 1_600_031 => Self::Credentials { code, message },
            429 => Self::RateLimited {
                code,
                message,
                retry_after: None,
            },
            1_600_000 | 500..=599 => Self::Unavailable { code, message },
            400 | 1_600_009..=1_600_011 | 1_600_100 => Self::Invalid { code, message },
            // CJ's documented daily-limit answer has no code of its own in the stored docs;
            // its text is the only sign, so it is looked at only for codes not listed above.
            _ if message
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("too many requests") =>
            {
                Self::RateLimited {
                    code,
                    message,
                    retry_after: None,
                }
            }
            _ => Self::Rejected { code, message },
        }
    }
}

/// Reads a CJ response body: on success its `data` as `T`, else the typed error.
///
/// Success is `code` 200 with `result` true (or absent). A success whose `data` is absent or
/// null is accepted only when `T` reads from null (`Option`, `()`); otherwise it is
/// [`CjError::Malformed`], as is a body that is not a JSON object with an integer `code`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, CjError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| CjError::Malformed(format!("body is not JSON: {e}")))?;
    let Value::Object(mut envelope) = value else {
        return Err(CjError::Malformed("body is not a JSON object".to_string()));
    };
    let code = read_code(envelope.get("code"))?;
    let result = match envelope.get("result") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => return Err(CjError::Malformed(format!("result: {other} is not a boolean"))),
    };
    let message = match envelope.get("message") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    if code != SUCCESS {
        return Err(CjError::from_code(code, message));
    }
    if result == Some(false) {
        return Err(CjError::Malformed(format!(
            "code is 200 but result is false ({message})"
        )));
    }
    let data = envelope.remove("data").unwrap_or(Value::Null);
    let was_null = data.is_null();
    T::deserialize(data).map_err(|e| {
        if was_null {
            CjError::Malformed("data: missing on a successful response".to_string())
        } else {
            CjError::Malformed(format!("data: {e}"))
        }
    })
}

/// `code` as an integer; CJ prints it as a number, a numeric string is taken as well.
fn read_code(value: Option<&Value>) -> Result<i64, CjError> {
    let bad = |what: &str| CjError::Malformed(format!("code: {what}"));
    match value {
        None | Some(Value::Null) => Err(bad("missing")),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| bad(&format!("{n} is not an integer"))),
        Some(Value::String(text)) => text
            .trim()
            .parse::<i64>()
            .map_err(|_| bad(&format!("{text:?} is not an integer"))),
        Some(other) => Err(bad(&format!("{other} is not an integer"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn failure(code: i64, message: &str) -> CjError {
        let body = serde_json::json!({
            "code": code, "result": false, "message": message, "data": null, "requestId": "r-1"
        });
        parse::<Value>(body.to_string().as_bytes()).expect_err("a failure")
    }

    #[test]
    fn success_gives_data() {
        let body = br#"{"code":200,"result":true,"message":"Success","data":{"a":[1,2]},"requestId":"x"}"#;
        assert_eq!(parse::<Value>(body), Ok(serde_json::json!({"a": [1, 2]})));
    }

    #[test]
    fn success_without_result_field_is_accepted() {
        assert_eq!(parse::<Vec<u32>>(br#"{"code":200,"data":[3]}"#), Ok(vec![3]));
    }

    #[test]
    fn code_as_string_is_read() {
        assert_eq!(parse::<u32>(br#"{"code":"200","result":true,"data":7}"#), Ok(7));
        assert_eq!(
            failure_from(br#"{"code":"1600000","result":false,"message":"busy"}"#),
            CjError::Unavailable {
                code: 1_600_000,
                message: "busy".into()
            }
        );
    }

    fn failure_from(body: &[u8]) -> CjError {
        parse::<Value>(body).expect_err("a failure")
    }

    #[test]
    fn token_codes() {
        assert_eq!(
            failure(401, "expired"),
            CjError::TokenExpired {
                code: 401,
                message: "expired".into()
            }
        );
        for code in [1_600_001, 1_600_002, 1_600_003, 1_600_030] {
            let error = failure(code, "bad token");
            assert_eq!(
                error,
                CjError::TokenInvalid {
                    code,
                    message: "bad token".into()
                }
            );
            assert!(error.needs_new_token());
            assert!(!error.is_retryable());
        }
        assert!(failure(401, "expired").needs_new_token());
    }

    #[test]
    fn credential_codes() {
        for code in [1_600_004, 1_600_005, 1_600_006, 1_600_007, 1_600_008, 1_600_031] {
            let error = failure(code, "APIkey is wrong");
            assert_eq!(
                error,
                CjError::Credentials {
                    code,
                    message: "APIkey is wrong".into()
                }
            );
            assert!(!error.needs_new_token());
            assert!(!error.is_retryable());
        }
    }

    #[test]
    fn server_trouble_is_retryable() {
        for code in [1_600_000, 500, 502, 503] {
            let error = failure(code, "System busy");
            assert_eq!(
                error,
                CjError::Unavailable {
                    code,
                    message: "System busy".into()
                }
            );
            assert!(error.is_retryable());
            assert!(!error.needs_new_token());
        }
    }

    #[test]
    fn rate_limit_by_code_or_documented_text() {
        let error = failure(429, "slow down");
        assert_eq!(
            error,
            CjError::RateLimited {
                code: 429,
                message: "slow down".into(),
                retry_after: None,
            }
        );
        assert!(error.is_retryable());
        assert_eq!(error.retry_after(), None);
        let text = "Too Many Requests, Sorry, you have reached the daily request limit (1000 times/day)";
        assert_eq!(
            failure(1_600_200, text),
            CjError::RateLimited {
                code: 1_600_200,
                message: text.into(),
                retry_after: None,
            }
        );
        // A known code wins over the text.
        assert!(matches!(
            failure(1_600_100, "too many requests"),
            CjError::Invalid { .. }
        ));
    }

    #[test]
    fn parameter_codes_are_not_retryable() {
        for code in [400, 1_600_009, 1_600_010, 1_600_011, 1_600_100] {
            let error = failure(code, "Param error");
            assert_eq!(
                error,
                CjError::Invalid {
                    code,
                    message: "Param error".into()
                }
            );
            assert!(!error.is_retryable());
            assert!(!error.needs_new_token());
        }
    }

    #[test]
    fn unknown_code_is_rejected_keeping_code_and_message() {
        let error = failure(1_603_001, "Inventory shortage");
        assert_eq!(
            error,
            CjError::Rejected {
                code: 1_603_001,
                message: "Inventory shortage".into()
            }
        );
        assert_eq!(error.code(), Some(1_603_001));
        assert!(!error.is_retryable());
        assert!(!error.needs_new_token());
        assert!(error.to_string().contains("1603001") && error.to_string().contains("Inventory shortage"));
    }

    #[test]
    fn failure_without_message_keeps_code() {
        assert_eq!(
            failure_from(br#"{"code":1600001}"#),
            CjError::TokenInvalid {
                code: 1_600_001,
                message: String::new()
            }
        );
    }

    #[test]
    fn not_json_is_malformed() {
        let error = failure_from(b"<html>502 Bad Gateway</html>");
        assert!(
            matches!(&error, CjError::Malformed(m) if m.starts_with("body is not JSON")),
            "{error:?}"
        );
        assert_eq!(error.code(), None);
        assert!(!error.is_retryable());
        assert!(matches!(failure_from(b""), CjError::Malformed(_)));
        assert!(matches!(failure_from(b"[1,2]"), CjError::Malformed(m) if m.contains("not a JSON object")));
    }

    #[test]
    fn envelope_without_code_or_with_odd_code_is_malformed() {
        assert_eq!(
            failure_from(br#"{"data":[]}"#),
            CjError::Malformed("code: missing".into())
        );
        assert!(matches!(failure_from(br#"{"code":2.5}"#), CjError::Malformed(m) if m.starts_with("code:")));
        assert!(matches!(failure_from(br#"{"code":"ok"}"#), CjError::Malformed(m) if m.starts_with("code:")));
        assert!(matches!(failure_from(br#"{"code":true}"#), CjError::Malformed(m) if m.starts_with("code:")));
        assert!(matches!(
            failure_from(br#"{"code":200,"result":"yes","data":1}"#),
            CjError::Malformed(m) if m.starts_with("result:")
        ));
    }

    #[test]
    fn success_without_data() {
        let body = br#"{"code":200,"result":true,"message":"Success","requestId":"x"}"#;
        assert_eq!(
            parse::<Vec<Value>>(body),
            Err(CjError::Malformed("data: missing on a successful response".into()))
        );
        let null_data = br#"{"code":200,"result":true,"data":null}"#;
        assert!(matches!(parse::<Vec<Value>>(null_data), Err(CjError::Malformed(m)) if m.contains("data: missing")));
        // A caller that expects nothing gets nothing.
        assert_eq!(parse::<Option<Vec<Value>>>(body), Ok(None));
        assert_eq!(parse::<()>(null_data), Ok(()));
    }

    #[test]
    fn success_code_with_false_result_is_malformed() {
        assert!(matches!(
            failure_from(br#"{"code":200,"result":false,"message":"odd","data":[]}"#),
            CjError::Malformed(m) if m.contains("result is false")
        ));
    }

    #[test]
    fn data_of_the_wrong_shape_is_malformed() {
        let body = br#"{"code":200,"result":true,"data":{"a":1}}"#;
        assert!(matches!(parse::<Vec<u32>>(body), Err(CjError::Malformed(m)) if m.starts_with("data:")));
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse::<Value>(&bytes);
            let _ = parse::<Vec<u32>>(&bytes);
            let _ = crate::cj::freight::parse_freight_calculate(&bytes);
            let _ = crate::cj::freight::parse_freight_calculate_tip(&bytes);
            let _ = crate::cj::freight::parse_partner_freight_calculate(&bytes);
            let _ = crate::cj::tracking::parse_track_info(&bytes);
            let _ = crate::cj::orders::parse_order_detail(&bytes);
            let _ = crate::cj::orders::parse_order_list(&bytes);
            let _ = crate::cj::catalog::parse_variant(&bytes);
            let _ = crate::cj::catalog::parse_stock(&bytes);
        }

        #[test]
        fn typed_readers_never_panic_on_odd_values(
            entries in proptest::collection::vec(
                proptest::collection::btree_map(
                    proptest::sample::select(vec![
                        "logisticName", "logisticPrice", "logisticPriceCn", "logisticAging", "option", "optionId",
                        "postage", "arrivalTime", "ruleTips", "srcArea", "postageAmount", "logisticsModel",
                        "logisticsName", "isSupportIoss", "iossList", "trackingNumber", "deliveryDay", "deliveryTime",
                        "orderId", "orderNum", "orderStatus", "orderAmount", "productAmount", "trackNumber",
                        "productList", "vid", "quantity", "sellPrice", "variantSku", "variantSellPrice",
                        "totalInventoryNum", "storageNum", "list", "total", "pageNum", "pageSize",
                    ]),
                    prop_oneof![
                        Just(Value::Null),
                        any::<bool>().prop_map(Value::from),
                        any::<i64>().prop_map(Value::from),
                        any::<f64>().prop_map(Value::from),
                        "[-0-9. a-z:]{0,12}".prop_map(Value::from),
                        Just(serde_json::json!([{"type": 1, "id": "x", "enName": ""}])),
                        Just(serde_json::json!({"id": "1", "enName": "X", "shortCode": "US"})),
                        Just(serde_json::json!([{"vid": "V", "quantity": 1, "sellPrice": "1e9"}])),
                        Just(serde_json::json!([{"orderId": "1", "orderStatus": "SHIPPED", "orderAmount": -1}])),
                        Just(Value::from(u64::MAX)),
                    ],
                    0..8,
                ),
                0..4,
            )
        ) {
            let body = serde_json::json!({"code": 200, "result": true, "data": entries}).to_string();
            let bytes = body.as_bytes();
            let _ = crate::cj::freight::parse_freight_calculate(bytes);
            let _ = crate::cj::freight::parse_freight_calculate_tip(bytes);
            let _ = crate::cj::freight::parse_partner_freight_calculate(bytes);
            let _ = crate::cj::tracking::parse_track_info(bytes);
            let _ = crate::cj::catalog::parse_stock(bytes);
            let _ = crate::cj::orders::parse_order_list(bytes);
            // The same entries as one object: the shape of the single-object answers.
            for entry in entries.iter().take(1) {
                let body = serde_json::json!({"code": 200, "result": true, "data": entry}).to_string();
                let _ = crate::cj::orders::parse_order_detail(body.as_bytes());
                let _ = crate::cj::catalog::parse_variant(body.as_bytes());
                let page = serde_json::json!({"list": [entry], "total": entry.get("total")});
                let body = serde_json::json!({"code": 200, "data": page}).to_string();
                let _ = crate::cj::orders::parse_order_list(body.as_bytes());
            }
        }

        #[test]
        fn parse_never_panics_on_envelopes(code in any::<i64>(), message in ".{0,40}", tail in ".{0,40}") {
            let body = format!(r#"{{"code":{code},"result":false,"message":{},"data":{tail}}}"#,
                serde_json::Value::String(message.clone()));
            let error = parse::<Value>(body.as_bytes()).err();
            if code != SUCCESS && serde_json::from_str::<Value>(&body).is_ok() {
                prop_assert_eq!(error.and_then(|e| e.code()), Some(code));
            }
        }
    }
}
