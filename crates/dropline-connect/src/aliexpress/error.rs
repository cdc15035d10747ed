//! The typed error of an AliExpress call, and the tables that sort AliExpress's codes into it.
//!
//! AliExpress answers failures in three places: the gateway's own error (`error_response`
//! with a numeric TOP-style `code` and a `sub_code`, or an IOP-style top-level `code` such as
//! `IllegalAccessToken`), a business result inside the method's answer
//! (`result.error_code` of `aliexpress.ds.order.create`, `result.code` of the freight query,
//! `rsp_code` of the product query), and the HTTP status. Each is sorted by what the caller
//! should do next; the code and message are kept for people.
//!
//! | Code (where) | Variant | Retry? | Source |
//! |---|---|---|---|
//! | `IllegalAccessToken`, `IllegalRefreshToken`, TOP 26/27 (missing/invalid session), sub codes `isv.session-*`, `invalid-sessionkey` | `TokenInvalid` | after a refresh | IOP SDK samples; TOP error list |
//! | `IncompleteSignature`, `InvalidSignature`, `InvalidAppKey`, `AppKeyNotExist`, `AppWhiteIpLimit`, `InsufficientPermission`, TOP 11/24/25/28/29, sub code `isv.insufficient-permission` | `Credentials` | no | third-party clients; TOP error list; the order-detail page's failure sample |
//! | `ApiCallLimit`, `AppCallLimit`, TOP 4–8, sub codes starting `accesscontrol.` or containing `call-limit`, HTTP 429 | `RateLimited` | yes | product-query FAQ ("this ban will last 1 seconds"); TOP error list |
//! | TOP 10, sub codes starting `isp.`, HTTP 5xx | `Unavailable` | yes | TOP error list ("isp." = server side, try later) |
//! | `MissingParameter`, `InvalidParameter`, `InvalidTimestamp`, `IllegalTimestamp`, `InvalidApiPath`, TOP 21–23/30–34/40/41/43, sub codes starting `isv.missing-`/`isv.invalid-` | `Invalid` | no | TOP error list; third-party clients |
//! | anything else | `Rejected` | no | default |
//!
//! Business refusals are always `Rejected`; [`AeError::reject_kind`] says which kind
//! ([`RejectKind`]) from the `error_code`s the order-creation page lists.

use std::time::Duration;

/// The longest server text kept in an error (AliExpress's messages are short).
const MESSAGE_CHARS: usize = 300;

/// Why an AliExpress call did not give its data, sorted by what the caller should do next.
///
/// Callers decide on the variant ([`is_retryable`](Self::is_retryable),
/// [`needs_new_token`](Self::needs_new_token), [`reject_kind`](Self::reject_kind)), never on
/// the message text. No variant ever carries the app secret or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AeError {
    /// The access token is refused (unknown, expired, revoked) and could not be refreshed: the
    /// seller has to authorise the app again.
    #[error("AliExpress refused the access token ({code}): {message}")]
    TokenInvalid { code: String, message: String },
    /// The app key, signature, IP whitelist or the app's permissions are refused: a person has
    /// to fix the configuration; a new token does not help.
    #[error("AliExpress refused the app credentials ({code}): {message}")]
    Credentials { code: String, message: String },
    /// Too many calls: wait (`retry_after`, when AliExpress or the HTTP answer said how long)
    /// and call again.
    #[error("AliExpress rate limit reached ({code}){}", retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        code: String,
        retry_after: Option<Duration>,
    },
    /// AliExpress is failing or busy (HTTP 5xx, `isp.` errors): call again later. The call was
    /// not carried out, as far as AliExpress says.
    #[error("AliExpress unavailable ({code}): {message}")]
    Unavailable { code: String, message: String },
    /// A parameter is missing or wrong (by AliExpress, or refused before sending): the same
    /// request fails again.
    #[error("AliExpress refused a parameter ({code}): {message}")]
    Invalid { code: String, message: String },
    /// A business refusal (`error_code` of order creation and the like) or an unknown code:
    /// not retried; [`AeError::reject_kind`] tells the kind.
    #[error("AliExpress refused the request ({code}): {message}")]
    Rejected { code: String, message: String },
    /// The answer is not what this API answers (not JSON, missing or ill-typed field, a
    /// negative or absurd amount); the text names the field.
    #[error("AliExpress response malformed: {0}")]
    Malformed(String),
    /// No complete answer arrived (time-out, connection refused or cut). The call may or may
    /// not have been carried out.
    #[error("AliExpress unreachable: {0}")]
    Transport(String),
}

/// What kind of business refusal a [`AeError::Rejected`] is, for the engine's next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// Not enough stock (`INVENTORY_HOLD_ERROR`): choose another supplier or wait.
    OutOfStock,
    /// The goods cannot go to the destination at all (`A005_INVALID_COUNTRIES`,
    /// `A002_INVALID_ZONE`, freight `DELIVERY_NOT_AVAILABLE_TO_YOUR_ADDRESS`, product `602`).
    CannotShip,
    /// The chosen shipping method is not offered (`DELIVERY_METHOD_NOT_EXIST`): quote freight
    /// again and pick one it lists.
    ShippingMethod,
    /// The address (or its tax id) fails AliExpress's checks
    /// (`B_DROPSHIPPER_DELIVERY_ADDRESS_*`): a person corrects it.
    AddressInvalid,
    /// AliExpress already handled an order with this `out_order_id` (`REPEATED_ORDER_ERROR`)
    /// and did not say which: look it up before anything else; never place it again.
    AlreadyPlaced,
    /// The buyer account cannot order (`BLACKLIST_BUYER_IN_LIST`, `USER_ACCOUNT_DISABLED`,
    /// `A003_SUSPICIOUS_BUYER`, `A006_INVALID_ACCOUNT_INFO`): a person fixes the account.
    Account,
    /// Any other refusal, including codes this module does not know.
    Other,
}

impl AeError {
    /// Whether the same call may succeed if made again later (after a pause).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Unavailable { .. } | Self::Transport(_)
        )
    }

    /// Whether the access token was refused (the client refreshes it itself when it has a
    /// refresh token; a caller seeing this needs a new authorisation).
    pub fn needs_new_token(&self) -> bool {
        matches!(self, Self::TokenInvalid { .. })
    }

    /// AliExpress's code, when the error came from AliExpress.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::TokenInvalid { code, .. }
            | Self::Credentials { code, .. }
            | Self::RateLimited { code, .. }
            | Self::Unavailable { code, .. }
            | Self::Invalid { code, .. }
            | Self::Rejected { code, .. } => Some(code),
            Self::Malformed(_) | Self::Transport(_) => None,
        }
    }

    /// The kind of a business refusal; `None` for every other variant.
    pub fn reject_kind(&self) -> Option<RejectKind> {
        match self {
            Self::Rejected { code, message } => Some(reject_kind_of(code, message)),
            _ => None,
        }
    }

    /// Whether this is a refusal for lack of stock.
    pub fn is_out_of_stock(&self) -> bool {
        self.reject_kind() == Some(RejectKind::OutOfStock)
    }

    /// Whether this is a refusal to ship to the destination.
    pub fn is_cannot_ship(&self) -> bool {
        self.reject_kind() == Some(RejectKind::CannotShip)
    }

    /// The error for a gateway failure: `code` (TOP number or IOP word), `sub_code`, and the
    /// messages; `retry_after` is read from the throttling text when it says how long.
    pub fn from_platform(code: &str, sub_code: Option<&str>, message: &str) -> Self {
        let code = code.trim();
        let sub = sub_code.map(str::trim).unwrap_or("").to_ascii_lowercase();
        let message = clip(message);
        let code_text = match sub_code.map(str::trim).filter(|s| !s.is_empty()) {
            Some(sub) if sub != code => format!("{code}/{sub}"),
            _ => code.to_string(),
        };
        let number = code.parse::<i64>().ok();
        let word = code.to_ascii_lowercase();
        let is = |words: &[&str]| words.iter().any(|w| word == w.to_ascii_lowercase());

        if is(&[
            "IllegalAccessToken",
            "IllegalRefreshToken",
            "InvalidAccessToken",
            "AccessTokenExpired",
        ]) || matches!(number, Some(26 | 27))
            || sub.starts_with("isv.session")
            || sub.contains("invalid-sessionkey")
            || sub.contains("access-token")
        {
            return Self::TokenInvalid {
                code: code_text,
                message,
            };
        }
        if is(&["ApiCallLimit", "AppCallLimit", "AccessControlLimit"])
            || matches!(number, Some(4..=8))
            || sub.starts_with("accesscontrol.")
            || sub.contains("call-limit")
        {
            return Self::RateLimited {
                code: code_text,
                retry_after: ban_seconds(&message),
            };
        }
        if is(&[
            "IncompleteSignature",
            "InvalidSignature",
            "InvalidAppKey",
            "AppKeyNotExist",
            "AppWhiteIpLimit",
            "InsufficientPermission",
            "AppNotAuthorized",
        ]) || matches!(number, Some(11 | 24 | 25 | 28 | 29))
            || sub.contains("insufficient-permission")
            || sub.contains("invalid-signature")
        {
            return Self::Credentials {
                code: code_text,
                message,
            };
        }
        if matches!(number, Some(10)) || sub.starts_with("isp.") || is(&["ServiceUnavailable", "InternalError"]) {
            return Self::Unavailable {
                code: code_text,
                message,
            };
        }
        if is(&[
            "MissingParameter",
            "InvalidParameter",
            "InvalidTimestamp",
            "IllegalTimestamp",
            "InvalidApiPath",
            "InvalidMethod",
            "InvalidFormat",
        ]) || matches!(number, Some(9 | 21..=23 | 30..=34 | 40 | 41 | 43))
            || sub.starts_with("isv.missing-")
            || sub.starts_with("isv.invalid-")
        {
            return Self::Invalid {
                code: code_text,
                message,
            };
        }
        Self::Rejected {
            code: code_text,
            message,
        }
    }

    /// The error for a business refusal (`error_code` and `error_msg` of a result).
    pub fn rejected(code: &str, message: &str) -> Self {
        Self::Rejected {
            code: code.trim().to_string(),
            message: clip(message),
        }
    }
}

/// The kind of a refusal with this code (or, when the code is a bare number, the message,
/// which AliExpress fills with the code word in that case: `505` /
/// `DELIVERY_NOT_AVAILABLE_TO_YOUR_ADDRESS`).
fn reject_kind_of(code: &str, message: &str) -> RejectKind {
    let code = code.trim();
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return kind_of_word(code);
    }
    if code == "602" {
        return RejectKind::CannotShip;
    }
    kind_of_word(message)
}

fn kind_of_word(word: &str) -> RejectKind {
    match word.trim() {
        "INVENTORY_HOLD_ERROR" => RejectKind::OutOfStock,
        "A005_INVALID_COUNTRIES" | "A002_INVALID_ZONE" | "DELIVERY_NOT_AVAILABLE_TO_YOUR_ADDRESS" => {
            RejectKind::CannotShip
        }
        "DELIVERY_METHOD_NOT_EXIST" => RejectKind::ShippingMethod,
        "REPEATED_ORDER_ERROR" => RejectKind::AlreadyPlaced,
        "BLACKLIST_BUYER_IN_LIST" | "USER_ACCOUNT_DISABLED" | "A003_SUSPICIOUS_BUYER" | "A006_INVALID_ACCOUNT_INFO" => {
            RejectKind::Account
        }
        word if word.starts_with("B_DROPSHIPPER_DELIVERY_ADDRESS") => RejectKind::AddressInvalid,
        _ => RejectKind::Other,
    }
}

/// The wait in AliExpress's throttling text ("… this ban will last 1 seconds").
fn ban_seconds(message: &str) -> Option<Duration> {
    let lower = message.to_ascii_lowercase();
    let rest = &lower[lower.find("will last")? + "will last".len()..];
    let digits: String = rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
    let seconds: u64 = digits.parse().ok()?;
    // A ban longer than a day is not a throttling answer anyone should sleep on.
    (seconds <= 86_400).then(|| Duration::from_secs(seconds))
}

/// The message, trimmed and cut to [`MESSAGE_CHARS`].
pub(crate) fn clip(message: &str) -> String {
    message.trim().chars().take(MESSAGE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_errors() {
        for (code, sub) in [
            ("IllegalAccessToken", None),
            ("27", Some("invalid-sessionkey")),
            ("26", None),
            ("15", Some("isv.session-expired")),
        ] {
            let error = AeError::from_platform(code, sub, "The specified access token is invalid or expired");
            assert!(error.needs_new_token(), "{code} {sub:?}: {error:?}");
            assert!(!error.is_retryable());
        }
    }

    #[test]
    fn throttling_reads_the_ban() {
        let error = AeError::from_platform(
            "ApiCallLimit",
            None,
            "Api access frequency exceeds the limit. this ban will last 2 seconds",
        );
        assert_eq!(
            error,
            AeError::RateLimited {
                code: "ApiCallLimit".into(),
                retry_after: Some(Duration::from_secs(2))
            }
        );
        assert!(error.is_retryable());
        let top = AeError::from_platform(
            "7",
            Some("accesscontrol.limited-by-app-access-count"),
            "App Call Limited",
        );
        assert!(matches!(top, AeError::RateLimited { retry_after: None, .. }), "{top:?}");
        assert_eq!(ban_seconds("this ban will last 99999999 seconds"), None);
        assert_eq!(ban_seconds("will last"), None);
    }

    #[test]
    fn credentials_server_and_parameters() {
        assert!(matches!(
            AeError::from_platform(
                "IncompleteSignature",
                None,
                "The request signature does not conform to platform standards"
            ),
            AeError::Credentials { .. }
        ));
        assert!(matches!(
            AeError::from_platform("15", Some("isv.insufficient-permission"), "Remote service error"),
            AeError::Credentials { .. }
        ));
        let busy = AeError::from_platform("15", Some("isp.remote-service-timeout"), "Remote service error");
        assert!(matches!(busy, AeError::Unavailable { .. }));
        assert!(busy.is_retryable());
        assert_eq!(busy.code(), Some("15/isp.remote-service-timeout"));
        for (code, sub) in [
            ("MissingParameter", None),
            ("41", None),
            ("15", Some("isv.invalid-parameter")),
        ] {
            let error = AeError::from_platform(code, sub, "bad");
            assert!(matches!(error, AeError::Invalid { .. }), "{code}: {error:?}");
            assert!(!error.is_retryable());
        }
        assert!(matches!(
            AeError::from_platform("SomethingNew", None, "?"),
            AeError::Rejected { .. }
        ));
    }

    #[test]
    fn reject_kinds() {
        let kind = |code: &str, message: &str| AeError::rejected(code, message).reject_kind();
        assert_eq!(
            kind("INVENTORY_HOLD_ERROR", "Hold inventory error"),
            Some(RejectKind::OutOfStock)
        );
        assert!(AeError::rejected("INVENTORY_HOLD_ERROR", "").is_out_of_stock());
        assert_eq!(kind("A005_INVALID_COUNTRIES", ""), Some(RejectKind::CannotShip));
        assert_eq!(
            kind("505", "DELIVERY_NOT_AVAILABLE_TO_YOUR_ADDRESS"),
            Some(RejectKind::CannotShip)
        );
        assert!(AeError::rejected("602", "Item is not allowed to this country").is_cannot_ship());
        assert_eq!(kind("DELIVERY_METHOD_NOT_EXIST", ""), Some(RejectKind::ShippingMethod));
        assert_eq!(
            kind("B_DROPSHIPPER_DELIVERY_ADDRESS_VALIDATE_FAIL", "Please enter a city"),
            Some(RejectKind::AddressInvalid)
        );
        assert_eq!(
            kind("B_DROPSHIPPER_DELIVERY_ADDRESS_CPF_NOT_MATCH", ""),
            Some(RejectKind::AddressInvalid)
        );
        assert_eq!(kind("REPEATED_ORDER_ERROR", ""), Some(RejectKind::AlreadyPlaced));
        assert_eq!(kind("USER_ACCOUNT_DISABLED", ""), Some(RejectKind::Account));
        assert_eq!(kind("ERROR_WHEN_BUILD_FOR_PLACE_ORDER", ""), Some(RejectKind::Other));
        // A message that merely mentions a code word does not change an explicit code.
        assert_eq!(
            kind("PRICE_PAY_CURRENCY_ERROR", "INVENTORY_HOLD_ERROR"),
            Some(RejectKind::Other)
        );
        assert_eq!(AeError::Transport("x".into()).reject_kind(), None);
    }

    #[test]
    fn messages_are_clipped() {
        let long = "x".repeat(1000);
        let AeError::Rejected { message, .. } = AeError::rejected("C", &long) else {
            unreachable!()
        };
        assert_eq!(message.len(), MESSAGE_CHARS);
    }
}
