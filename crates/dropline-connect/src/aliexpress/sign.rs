//! The IOP request signature: HMAC-SHA256, keyed with the app secret, over the parameters
//! sorted by name and glued together as `name` + `value`, with the API path in front for
//! path-style (`/rest`) APIs. See the module docs of [`crate::aliexpress`] for the rules.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Name of the parameter that carries the signature; it is never part of the signed string.
pub const SIGN_PARAM: &str = "sign";

/// Length of an HMAC-SHA256 digest in bytes (64 hex characters).
const DIGEST_LEN: usize = 32;

/// The exact string that is signed for `api` and `params`.
///
/// Parameters are sorted by name in byte order (stable, so repeated names keep their order);
/// `sign` is left out. A path-style API (its name contains `/`) is written first; a dotted
/// `/sync` method is not, since it already travels as the `method` parameter.
pub fn string_to_sign(api: &str, params: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().filter(|(name, _)| *name != SIGN_PARAM).collect();
    sorted.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
    let mut text = String::new();
    if api.contains('/') {
        text.push_str(api);
    }
    for (name, value) in sorted {
        text.push_str(name);
        text.push_str(value);
    }
    text
}

/// The `sign` value for a request: upper-case hex of HMAC-SHA256 over [`string_to_sign`],
/// keyed with the app secret. Values are signed as given (not URL-encoded).
pub fn sign(secret: &str, api: &str, params: &[(&str, &str)]) -> String {
    encode_upper_hex(&digest(secret, api, params))
}

/// Whether `params` carry exactly one `sign` that matches the other parameters under `secret`.
///
/// The hex is accepted in either case; the digests are compared in constant time. A missing,
/// repeated, malformed or truncated signature is refused.
pub fn verify(secret: &str, api: &str, params: &[(&str, &str)]) -> bool {
    let mut signatures = params.iter().filter(|(name, _)| *name == SIGN_PARAM);
    let (Some((_, given)), None) = (signatures.next(), signatures.next()) else {
        return false;
    };
    let Some(given) = decode_hex(given.trim()) else {
        return false;
    };
    // `ct_eq` on slices of different lengths is false, so a truncated digest never matches.
    bool::from(digest(secret, api, params).as_slice().ct_eq(given.as_slice()))
}

fn digest(secret: &str, api: &str, params: &[(&str, &str)]) -> [u8; DIGEST_LEN] {
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(string_to_sign(api, params).as_bytes());
    mac.finalize().into_bytes().into()
}

fn encode_upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some((hex_value(pair[0])? << 4) | hex_value(pair[1])?))
        .collect()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aliexpress::{REST_GATEWAY, RequestBuilder, RequestError, SYNC_GATEWAY};

    const SECRET: &str = "helloworld";

    const API_A: &str = "aliexpress.trade.ds.order.get";
    const PARAMS_A: &[(&str, &str)] = &[
        ("app_key", "12345678"),
        ("method", "aliexpress.trade.ds.order.get"),
        ("session", "test-session"),
        ("sign_method", "sha256"),
        ("timestamp", "1700000000000"),
        ("single_order_query", r#"{"order_id":"8190000000000001"}"#),
    ];
    const STRING_A: &str = concat!(
        "app_key12345678methodaliexpress.trade.ds.order.getsessiontest-sessionsign_methodsha256",
        r#"single_order_query{"order_id":"8190000000000001"}timestamp1700000000000"#
    );
    const SIGN_A: &str = "D8BC8F978197CFD4D34FE7FFCE373BA02E10675844A2F4A3ECC4E325AF68C9B5";

    const API_B: &str = "/auth/token/create";
    const PARAMS_B: &[(&str, &str)] = &[
        ("app_key", "12345678"),
        ("code", "3_500000_abc"),
        ("sign_method", "sha256"),
        ("timestamp", "1700000000000"),
    ];
    const STRING_B: &str = "/auth/token/createapp_key12345678code3_500000_abcsign_methodsha256timestamp1700000000000";
    const SIGN_B: &str = "BEBCEF613C83A796205BC32E492E78D8498C2C53531434DF41869D5FA4104D88";

    fn with_sign<'a>(params: &[(&'a str, &'a str)], signature: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut all = params.to_vec();
        all.push((SIGN_PARAM, signature));
        all
    }

    #[test]
    fn vector_a_sync_method_has_no_prefix() {
        assert_eq!(string_to_sign(API_A, PARAMS_A), STRING_A);
        assert_eq!(sign(SECRET, API_A, PARAMS_A), SIGN_A);
    }

    #[test]
    fn vector_b_rest_path_is_prefixed() {
        assert_eq!(string_to_sign(API_B, PARAMS_B), STRING_B);
        assert_eq!(sign(SECRET, API_B, PARAMS_B), SIGN_B);
    }

    #[test]
    fn signature_is_64_upper_case_hex_digits() {
        let signature = sign(SECRET, API_A, PARAMS_A);
        assert_eq!(signature.len(), 64);
        assert!(
            signature
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        );
    }

    #[test]
    fn input_order_does_not_matter() {
        let mut reversed = PARAMS_A.to_vec();
        reversed.reverse();
        assert_eq!(sign(SECRET, API_A, &reversed), SIGN_A);
        let mut rotated = PARAMS_B.to_vec();
        rotated.rotate_left(2);
        assert_eq!(sign(SECRET, API_B, &rotated), SIGN_B);
    }

    #[test]
    fn names_sort_by_bytes_not_by_locale() {
        // `_` (0x5F) sorts after `Z` and before `a`; upper case before lower case.
        let text = string_to_sign("x.y", &[("a", "1"), ("_b", "2"), ("Z", "3"), ("a_b", "4"), ("ab", "5")]);
        assert_eq!(text, "Z3_b2a1a_b4ab5");
    }

    #[test]
    fn sign_param_is_not_signed() {
        let signed = with_sign(PARAMS_A, "ANYTHING");
        assert_eq!(string_to_sign(API_A, &signed), STRING_A);
        assert_eq!(sign(SECRET, API_A, &signed), SIGN_A);
    }

    #[test]
    fn changed_value_changes_signature() {
        let mut params = PARAMS_B.to_vec();
        params[1] = ("code", "3_500000_abd");
        assert_ne!(sign(SECRET, API_B, &params), SIGN_B);
        // Dropping a parameter changes it too.
        assert_ne!(sign(SECRET, API_B, &PARAMS_B[..3]), SIGN_B);
    }

    #[test]
    fn changed_secret_changes_signature() {
        assert_ne!(sign("helloworle", API_A, PARAMS_A), SIGN_A);
        assert_ne!(sign("", API_B, PARAMS_B), SIGN_B);
    }

    #[test]
    fn changed_api_path_changes_signature() {
        assert_ne!(sign(SECRET, "/auth/token/refresh", PARAMS_B), SIGN_B);
        // A dotted method is not prefixed, so for /sync calls the `method` param is what counts.
        assert_eq!(sign(SECRET, "aliexpress.ds.order.create", PARAMS_A), SIGN_A);
        let mut params = PARAMS_A.to_vec();
        params[1] = ("method", "aliexpress.ds.order.create");
        assert_ne!(sign(SECRET, API_A, &params), SIGN_A);
    }

    #[test]
    fn verify_accepts_the_vectors_in_either_case() {
        assert!(verify(SECRET, API_A, &with_sign(PARAMS_A, SIGN_A)));
        assert!(verify(SECRET, API_B, &with_sign(PARAMS_B, SIGN_B)));
        let lower = SIGN_B.to_ascii_lowercase();
        assert!(verify(SECRET, API_B, &with_sign(PARAMS_B, &lower)));
    }

    #[test]
    fn verify_rejects_wrong_truncated_missing_or_malformed_signatures() {
        // Wrong: vector A's signature on vector B's parameters, and a changed last digit.
        assert!(!verify(SECRET, API_B, &with_sign(PARAMS_B, SIGN_A)));
        let last_digit_changed = format!("{}9", &SIGN_B[..63]);
        assert!(!verify(SECRET, API_B, &with_sign(PARAMS_B, &last_digit_changed)));
        // Truncated, by a whole byte and by half of one.
        assert!(!verify(SECRET, API_B, &with_sign(PARAMS_B, &SIGN_B[..62])));
        assert!(!verify(SECRET, API_B, &with_sign(PARAMS_B, &SIGN_B[..63])));
        assert!(!verify(SECRET, API_B, &with_sign(PARAMS_B, "")));
        // Too long.
        let extended = format!("{SIGN_B}00");
        assert!(!verify(SECRET, API_B, &with_sign(PARAMS_B, &extended)));
        // Not hex.
        let not_hex = format!("{}G", &SIGN_B[..63]);
        assert!(!verify(SECRET, API_B, &with_sign(PARAMS_B, &not_hex)));
        // No sign at all, or two of them (even if one is right).
        assert!(!verify(SECRET, API_B, PARAMS_B));
        let mut twice = with_sign(PARAMS_B, SIGN_B);
        twice.push((SIGN_PARAM, SIGN_B));
        assert!(!verify(SECRET, API_B, &twice));
        // Right signature, wrong secret or wrong path.
        assert!(!verify("helloworld2", API_B, &with_sign(PARAMS_B, SIGN_B)));
        assert!(!verify(SECRET, "/auth/token/refresh", &with_sign(PARAMS_B, SIGN_B)));
    }

    #[test]
    fn non_ascii_values_are_signed_as_utf8() {
        let params = [
            ("app_key", "12345678"),
            ("method", "aliexpress.ds.product.get"),
            ("sign_method", "sha256"),
            ("timestamp", "1700000000000"),
            ("target_language", "fr"),
            ("full_name", "Zoë Müller 東京"),
        ];
        // Pinned once with Python's standard library, independent of this code:
        // hmac.new(b"helloworld", text.encode("utf-8"), hashlib.sha256).hexdigest().upper()
        // where `text` is the string asserted below.
        assert_eq!(
            string_to_sign("aliexpress.ds.product.get", &params),
            "app_key12345678full_nameZoë Müller 東京methodaliexpress.ds.product.get\
             sign_methodsha256target_languagefrtimestamp1700000000000"
        );
        assert_eq!(
            sign(SECRET, "aliexpress.ds.product.get", &params),
            "FFDE909BBEAD29AEEDA7841B4DB7667FE840EDC39E4DC5D751FA166C18F0B2D9"
        );
        // The URL-encoded form of the same value is a different signature: values go in raw.
        let mut encoded = params;
        encoded[5] = ("full_name", "Zo%C3%AB%20M%C3%BCller%20%E6%9D%B1%E4%BA%AC");
        assert_ne!(
            sign(SECRET, "aliexpress.ds.product.get", &encoded),
            sign(SECRET, "aliexpress.ds.product.get", &params)
        );
    }

    fn as_pairs(params: &[(String, String)]) -> Vec<(&str, &str)> {
        params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }

    #[test]
    fn builder_reproduces_vector_a_and_verifies() {
        let request = RequestBuilder::new("12345678", SECRET, API_A, 1_700_000_000_000)
            .session("test-session")
            .param("single_order_query", r#"{"order_id":"8190000000000001"}"#)
            .build()
            .expect("valid request");
        assert_eq!(request.url(), SYNC_GATEWAY);
        let names: Vec<&str> = request.params().iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "app_key",
                "method",
                "session",
                "sign_method",
                "single_order_query",
                "timestamp",
                "sign"
            ]
        );
        let pairs = as_pairs(request.params());
        assert_eq!(pairs.last(), Some(&(SIGN_PARAM, SIGN_A)));
        assert!(verify(SECRET, API_A, &pairs));
    }

    #[test]
    fn builder_reproduces_vector_b_on_the_rest_gateway() {
        let request = RequestBuilder::new("12345678", SECRET, API_B, 1_700_000_000_000)
            .param("code", "3_500000_abc")
            .build()
            .expect("valid request");
        assert_eq!(request.url(), format!("{REST_GATEWAY}/auth/token/create"));
        let pairs = as_pairs(request.params());
        // Path APIs carry no `method`: the path is in the URL and in front of the signed string.
        assert!(pairs.iter().all(|(name, _)| *name != "method"));
        assert_eq!(pairs.last(), Some(&(SIGN_PARAM, SIGN_B)));
        assert!(verify(SECRET, API_B, &pairs));
    }

    #[test]
    fn builder_writes_object_params_as_json_strings() {
        let query = serde_json::json!({ "order_id": "8190000000000001" });
        let request = RequestBuilder::new("12345678", SECRET, API_A, 1_700_000_000_000)
            .session("test-session")
            .json_param("single_order_query", &query)
            .build()
            .expect("valid request");
        let pairs = as_pairs(request.params());
        assert!(pairs.contains(&("single_order_query", r#"{"order_id":"8190000000000001"}"#)));
        assert_eq!(pairs.last(), Some(&(SIGN_PARAM, SIGN_A)));
    }

    #[test]
    fn builder_refuses_bad_input_naming_the_field() {
        let build = |builder: RequestBuilder| builder.build().expect_err("must be refused");
        let base = || RequestBuilder::new("12345678", SECRET, API_A, 1_700_000_000_000);

        let blank_key = build(RequestBuilder::new(" ", SECRET, API_A, 1));
        assert_eq!(blank_key, RequestError::Blank { field: "app_key" });
        assert!(blank_key.to_string().contains("app_key"));
        assert_eq!(
            build(RequestBuilder::new("k", "", API_A, 1)),
            RequestError::Blank { field: "secret" }
        );
        assert_eq!(
            build(RequestBuilder::new("k", SECRET, "", 1)),
            RequestError::Blank { field: "method" }
        );
        assert_eq!(build(base().session("  ")), RequestError::Blank { field: "session" });

        let relative = build(RequestBuilder::new("k", SECRET, "auth/token/create", 1));
        assert_eq!(relative, RequestError::RelativeApiPath("auth/token/create".to_owned()));
        assert!(relative.to_string().contains("auth/token/create"));

        for reserved in ["app_key", "method", "timestamp", "sign_method", "session", "sign"] {
            let error = build(base().param(reserved, "x"));
            assert_eq!(error, RequestError::Reserved(reserved.to_owned()));
            assert!(error.to_string().contains(reserved));
        }

        let twice = build(base().param("code", "a").param("code", "b"));
        assert_eq!(twice, RequestError::Duplicate("code".to_owned()));
        assert!(twice.to_string().contains("`code`"));
        assert_eq!(build(base().param("", "x")), RequestError::EmptyName);
    }

    #[test]
    fn builder_reports_a_param_that_is_not_json_text() {
        // JSON object keys must be strings; a map keyed by pairs of numbers cannot be written.
        let mut not_json = std::collections::BTreeMap::new();
        not_json.insert((1, 2), "x");
        let error = RequestBuilder::new("12345678", SECRET, API_A, 1)
            .json_param("ds_extend_request", &not_json)
            .param("code", "x")
            .build()
            .expect_err("must be refused");
        assert!(matches!(&error, RequestError::Json { name, .. } if name == "ds_extend_request"));
        assert!(error.to_string().contains("`ds_extend_request`"));
    }

    #[test]
    fn builder_debug_hides_the_secret() {
        let builder = RequestBuilder::new("12345678", "very-secret-value", API_A, 1).session("token-value");
        let shown = format!("{builder:?}");
        assert!(shown.contains("12345678"));
        assert!(!shown.contains("very-secret-value"));
        assert!(!shown.contains("token-value"));

        let request = builder.build().expect("valid request");
        let shown = format!("{request:?}");
        assert!(shown.contains("12345678"));
        assert!(!shown.contains("very-secret-value"));
        assert!(!shown.contains("token-value"));
    }
}
