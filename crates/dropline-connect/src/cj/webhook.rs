//! CJ's webhook messages (`POST` to the callback URL set with `/webhook/set`), read as a
//! reason to sync, never as values to apply.
//!
//! | What CJ sends | Where | What dropline reads |
//! |---|---|---|
//! | `sign` header: base64 HMAC-SHA256 of the raw body, keyed with the account's `openId` | header | checked before anything is parsed |
//! | `type`: `PRODUCT`, `VARIANT`, `STOCK`, `ORDER`, `LOGISTICS` | body | the first three name catalogue items; the others name nothing to sync |
//! | `messageType`: `INSERT`, `UPDATE`, `DELETE` | body | not needed: every named item is read again |
//! | `params.pid` | body | a product to read again |
//! | `params.vid` | body | a variant to read again |
//!
//! Sources: CJ's webhook pages (`/en/api/start/webhook.html`, `/en/api/api2/api/webhook.html`).
//! The documented samples show `pid` for products and `vid` for variants; stock messages are
//! read the same way (a `pid` or `vid` where present), since the stock is read again from the
//! API whatever the message carries.

use crate::signature::{SignatureError, verify_hmac_sha256_base64};
use dropline_app::supplier::{SupplierNotice, SupplierWebhookError};
use serde::Deserialize;

/// The largest message read.
const MAX_BODY: usize = 256 * 1024;

#[derive(Deserialize)]
struct Message {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    params: Option<serde_json::Value>,
}

/// Checks the signature with `open_id` and reads what the message names.
pub fn read(
    headers: &[(String, String)],
    body: &[u8],
    open_id: Option<&str>,
) -> Result<SupplierNotice, SupplierWebhookError> {
    let secret = open_id.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
        SupplierWebhookError::Unauthorized("no webhook secret (CJ openId) is set for this supplier".into())
    })?;
    let sign = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("sign"))
        .map(|(_, value)| value.as_str());
    verify_hmac_sha256_base64(sign, body, &[secret]).map_err(|err| {
        SupplierWebhookError::Unauthorized(match err {
            SignatureError::Missing => "the sign header is missing".to_string(),
            other => other.to_string(),
        })
    })?;
    if body.len() > MAX_BODY {
        return Err(SupplierWebhookError::Malformed(format!(
            "the message is over {MAX_BODY} bytes"
        )));
    }
    let message: Message = serde_json::from_slice(body)
        .map_err(|err| SupplierWebhookError::Malformed(format!("not a CJ message: {err}")))?;
    let mut notice = SupplierNotice::default();
    if !matches!(message.kind.as_str(), "PRODUCT" | "VARIANT" | "STOCK") {
        return Ok(notice);
    }
    let Some(params) = message.params else {
        return Err(SupplierWebhookError::Malformed("params: missing".into()));
    };
    // `params` is one object in the samples; a list of them is read the same way.
    let items: Vec<&serde_json::Value> = match &params {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for item in items {
        let id = |key: &str| match item.get(key) {
            Some(serde_json::Value::String(text)) if !text.trim().is_empty() => Some(text.trim().to_string()),
            Some(serde_json::Value::Number(number)) => Some(number.to_string()),
            _ => None,
        };
        if let Some(pid) = id("pid") {
            notice.product_ids.push(pid);
        }
        if let Some(vid) = id("vid") {
            notice.variant_ids.push(vid);
        }
    }
    if notice.is_empty() {
        return Err(SupplierWebhookError::Malformed(format!(
            "a {} message without pid or vid",
            message.kind
        )));
    }
    notice.product_ids.sort();
    notice.product_ids.dedup();
    notice.variant_ids.sort();
    notice.variant_ids.dedup();
    Ok(notice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::sign_hmac_sha256_base64;

    fn signed(body: &str, key: &str) -> Vec<(String, String)> {
        vec![("sign".into(), sign_hmac_sha256_base64(key.as_bytes(), body.as_bytes()))]
    }

    #[test]
    fn catalogue_messages_name_products_and_variants() {
        let body = r#"{"messageId":"m1","type":"VARIANT","messageType":"UPDATE","openId":12312,"params":{"vid":"1424608152007086080","variantSellPrice":9.9}}"#;
        let notice = read(&signed(body, "12312"), body.as_bytes(), Some("12312")).expect("read");
        assert_eq!(notice.variant_ids, ["1424608152007086080"]);
        assert!(notice.product_ids.is_empty());
        let body = r#"{"messageId":"m2","type":"PRODUCT","messageType":"UPDATE","params":{"pid":"1424608189734850560","fields":["productSellPrice"]}}"#;
        let notice = read(&signed(body, "12312"), body.as_bytes(), Some("12312")).expect("read");
        assert_eq!(notice.product_ids, ["1424608189734850560"]);
        let body = r#"{"messageId":"m3","type":"STOCK","params":[{"vid":"V1","pid":"P1"},{"vid":"V1"}]}"#;
        let notice = read(&signed(body, "12312"), body.as_bytes(), Some("12312")).expect("read");
        assert_eq!(
            (notice.product_ids, notice.variant_ids),
            (vec!["P1".to_string()], vec!["V1".to_string()])
        );
    }

    #[test]
    fn order_messages_name_nothing_to_sync() {
        let body = r#"{"messageId":"m4","type":"ORDER","params":{"orderId":"X"}}"#;
        let notice = read(&signed(body, "k"), body.as_bytes(), Some("k")).expect("read");
        assert!(notice.is_empty());
    }

    #[test]
    fn unsigned_or_unreadable_messages_are_refused() {
        let body = r#"{"messageId":"m1","type":"VARIANT","params":{"vid":"V1"}}"#;
        let refused = |headers: &[(String, String)], secret: Option<&str>| read(headers, body.as_bytes(), secret);
        assert!(matches!(
            refused(&[], Some("k")),
            Err(SupplierWebhookError::Unauthorized(_))
        ));
        assert!(matches!(
            refused(&signed(body, "other"), Some("k")),
            Err(SupplierWebhookError::Unauthorized(_))
        ));
        assert!(matches!(
            refused(&signed(body, "k"), None),
            Err(SupplierWebhookError::Unauthorized(_))
        ));
        let garbage = "not json";
        assert!(matches!(
            read(&signed(garbage, "k"), garbage.as_bytes(), Some("k")),
            Err(SupplierWebhookError::Malformed(_))
        ));
        let empty = r#"{"type":"VARIANT","params":{"vid":""}}"#;
        assert!(matches!(
            read(&signed(empty, "k"), empty.as_bytes(), Some("k")),
            Err(SupplierWebhookError::Malformed(m)) if m.contains("without pid or vid")
        ));
    }
}
