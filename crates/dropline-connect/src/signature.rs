//! HMAC-SHA256 webhook signatures as Shopify and WooCommerce send them: the base64 (standard
//! alphabet, padded) of the HMAC-SHA256 digest of the raw request body, keyed with the
//! webhook secret.
//!
//! Verification runs on the body bytes exactly as received, before anything is parsed. The
//! digests are compared in constant time, and every secret of the store is tried (a store
//! has two while a secret is being rotated). A blank secret is never used: anyone could sign
//! with it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Length of an HMAC-SHA256 digest in bytes.
const DIGEST_LEN: usize = 32;

/// Why a signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The request carries no signature header.
    #[error("no signature")]
    Missing,
    /// The header is not the base64 of a SHA-256 digest.
    #[error("the signature is not a base64 HMAC-SHA256 digest")]
    Malformed,
    /// None of the secrets produces this signature.
    #[error("the signature matches none of the store's secrets")]
    Mismatch,
    /// The store has no usable (non-blank) secret.
    #[error("the store has no webhook secret")]
    NoSecret,
}

/// The signature header value for `body` signed with `secret`: base64 of HMAC-SHA256.
pub fn sign_hmac_sha256_base64(secret: &[u8], body: &[u8]) -> String {
    STANDARD.encode(digest(secret, body))
}

/// Checks a base64 HMAC-SHA256 signature of `body` against each of `secrets`; succeeds when
/// one of them produced it. Blank secrets are skipped.
pub fn verify_hmac_sha256_base64<S: AsRef<[u8]>>(
    header: Option<&str>,
    body: &[u8],
    secrets: &[S],
) -> Result<(), SignatureError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    let expected = decode_digest(header).ok_or(SignatureError::Malformed)?;
    let mut usable = false;
    let mut matched = subtle::Choice::from(0u8);
    for secret in secrets {
        let secret = secret.as_ref();
        if secret.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        usable = true;
        // Every secret is tried (no early exit), so the timing does not tell which matched.
        matched |= digest(secret, body).ct_eq(&expected);
    }
    if !usable {
        return Err(SignatureError::NoSecret);
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn digest(secret: &[u8], body: &[u8]) -> [u8; DIGEST_LEN] {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn decode_digest(header: &str) -> Option<[u8; DIGEST_LEN]> {
    // 32 bytes encode to 44 characters; anything longer is not a digest.
    if header.len() > 64 {
        return None;
    }
    let bytes = STANDARD.decode(header).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":820982911946154508,"email":"jon@example.com"}"#;
    const SIGNATURE: &str = "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8=";

    #[test]
    fn computes_the_reference_vector() {
        assert_eq!(sign_hmac_sha256_base64(b"hush", BODY), SIGNATURE);
    }

    #[test]
    fn accepts_the_reference_vector() {
        assert_eq!(verify_hmac_sha256_base64(Some(SIGNATURE), BODY, &["hush"]), Ok(()));
        // Surrounding whitespace in the header is tolerated.
        assert_eq!(
            verify_hmac_sha256_base64(Some(&format!(" {SIGNATURE}\n")), BODY, &["hush"]),
            Ok(())
        );
    }

    #[test]
    fn refuses_a_wrong_secret_or_a_changed_body() {
        assert_eq!(
            verify_hmac_sha256_base64(Some(SIGNATURE), BODY, &["hush!"]),
            Err(SignatureError::Mismatch)
        );
        let mut changed = BODY.to_vec();
        changed[7] = b'9';
        assert_eq!(
            verify_hmac_sha256_base64(Some(SIGNATURE), &changed, &["hush"]),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn accepts_the_second_of_two_secrets() {
        assert_eq!(
            verify_hmac_sha256_base64(Some(SIGNATURE), BODY, &["new-secret", "hush"]),
            Ok(())
        );
        assert_eq!(
            verify_hmac_sha256_base64(Some(SIGNATURE), BODY, &["hush", "new-secret"]),
            Ok(())
        );
        assert_eq!(
            verify_hmac_sha256_base64(Some(SIGNATURE), BODY, &["one", "two"]),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn refuses_a_missing_or_garbled_header() {
        assert_eq!(
            verify_hmac_sha256_base64(None, BODY, &["hush"]),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_hmac_sha256_base64(Some("  "), BODY, &["hush"]),
            Err(SignatureError::Missing)
        );
        for garbled in [
            "not base64 at all!",
            "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8",
            "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8=AAAA",
            "AAAA",
            "0f450c5e6863c01462e3",
        ] {
            assert_eq!(
                verify_hmac_sha256_base64(Some(garbled), BODY, &["hush"]),
                Err(SignatureError::Malformed),
                "{garbled}"
            );
        }
        // The hex form of the right digest is not accepted either.
        let hex: String = digest(b"hush", BODY).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            verify_hmac_sha256_base64(Some(&hex), BODY, &["hush"]),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn never_uses_a_blank_secret() {
        let signed_with_nothing = sign_hmac_sha256_base64(b"", BODY);
        assert_eq!(
            verify_hmac_sha256_base64(Some(&signed_with_nothing), BODY, &[""]),
            Err(SignatureError::NoSecret)
        );
        let no_secrets: &[&str] = &[];
        assert_eq!(
            verify_hmac_sha256_base64(Some(SIGNATURE), BODY, no_secrets),
            Err(SignatureError::NoSecret)
        );
        assert_eq!(verify_hmac_sha256_base64(Some(SIGNATURE), BODY, &[" ", "hush"]), Ok(()));
    }
}
