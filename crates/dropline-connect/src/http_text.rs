//! What the HTTP clients of partners (CJ, AliExpress, the tracking service) say about a call
//! that failed on the way, and how they read `Retry-After`: one reading for all of them.

use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// Longest text of a transport failure kept in an error.
const TRANSPORT_TEXT_CHARS: usize = 200;

/// A transport failure of `call` in words: what happened (timed out, could not connect, the
/// answer was cut off) and reqwest's chain of causes, cut to a readable length. reqwest's
/// texts carry no request body, so no token or form field appears in it.
pub(crate) fn describe_transport_error(call: &str, error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer was cut off"
    } else {
        "the call failed"
    };
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    let detail: String = detail.chars().take(TRANSPORT_TEXT_CHARS).collect();
    format!("{call}: {what} ({detail})")
}

/// `Retry-After` as a wait: whole or decimal seconds, or an HTTP date (read against `now`). A
/// date already past is no wait; a wait above `max` is cut to it; anything else is ignored
/// (`None`: the caller uses its own backoff).
pub(crate) fn parse_retry_after(value: &str, now: OffsetDateTime, max: Duration) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.split_once('.') {
        _ if value.is_empty() => return None,
        _ if value.bytes().all(|b| b.is_ascii_digit()) => Duration::from_secs(value.parse().unwrap_or(u64::MAX)),
        Some((whole, fraction))
            if !whole.is_empty()
                && !fraction.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let seconds: u64 = whole.parse().unwrap_or(u64::MAX);
            let nanos = fraction
                .bytes()
                .chain(std::iter::repeat(b'0'))
                .take(9)
                .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
            Duration::new(seconds, nanos)
        }
        _ => {
            let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
            Duration::try_from(at - now).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_decimals_or_a_date_and_capped() {
        let now = time::macros::datetime!(2015-10-21 07:27:00 UTC);
        let max = Duration::from_secs(3600);
        assert_eq!(parse_retry_after("2", now, max), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 1.5 ", now, max), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now, max),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now, max),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("99999999999999999999", now, max), Some(max));
        for bad in ["", "soon", "-3", "1.", ".5", "1.5.2"] {
            assert_eq!(parse_retry_after(bad, now, max), None, "{bad:?}");
        }
    }
}
