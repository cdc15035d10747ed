//! Checks of tracking numbers whose format carries a check digit, so that a number a
//! supplier mistyped (or invented) is flagged instead of accepted: UPU S10 (international
//! post: China Post, ePacket, many AliExpress legs), UPS `1Z`, and USPS IMpb numbers. Other
//! formats (Cainiao `LP…`, CJ Packet, YunExpress `YT…`) carry no check digit and are only
//! checked for their characters. Pure; the carrier detection itself is [`crate::carrier`].

use crate::carrier::{Format, Problem};
use serde::Serialize;

/// What a tracking number looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingFormat {
    /// UPU S10: 2 letters, 8 digits, a check digit, the issuing country.
    S10,
    /// UPS: `1Z`, 15 characters, a check digit.
    Ups,
    /// USPS: IMpb (22 digits or more starting with 91–95) or 20 digits, ending in a check digit.
    Usps,
    /// A format without a check digit this module knows.
    Other,
}

/// Why a tracking number is not valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrackingNumberError {
    #[error("the tracking number is empty")]
    Empty,
    #[error("the tracking number holds characters other than letters and digits")]
    Characters,
    #[error("the tracking number is {0} characters long; at most 40 are taken")]
    TooLong(usize),
    #[error("the {format:?} number's check digit is {found}, its digits give {expected}")]
    CheckDigit {
        format: TrackingFormat,
        found: char,
        expected: char,
    },
    #[error("the S10 number names the country {0}, which is not an ISO 3166-1 country")]
    Country(String),
}

/// Checks a tracking number (spaces are ignored, case too); returns its format.
///
/// The number is read by [`crate::carrier::detect_carrier`]: valid for some carrier, it is
/// taken; otherwise it is refused when it has the unmistakable shape of an S10, UPS `1Z` or
/// USPS IMpb number whose check digit (or S10 country) is wrong. Numbers of formats that are
/// only digits of some length (10-digit DHL, 12-digit FedEx, ...) are not refused on their
/// check digit: a carrier dropline does not know may use the same length.
pub fn check_tracking_number(number: &str) -> Result<TrackingFormat, TrackingNumberError> {
    let compact = crate::carrier::normalize(number);
    if compact.is_empty() {
        return Err(TrackingNumberError::Empty);
    }
    if !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(TrackingNumberError::Characters);
    }
    if compact.len() > 40 {
        return Err(TrackingNumberError::TooLong(compact.len()));
    }
    let detection = crate::carrier::detect_carrier(&compact);
    if let Some(valid) = detection.candidates.iter().find(|c| c.valid) {
        return Ok(TrackingFormat::of(valid.format));
    }
    for candidate in &detection.candidates {
        let format = TrackingFormat::of(candidate.format);
        if !matches!(candidate.format, Format::S10 | Format::Ups | Format::UspsImpb) {
            continue;
        }
        match &candidate.problem {
            Some(Problem::CheckDigit { expected, found }) => {
                return Err(TrackingNumberError::CheckDigit {
                    format,
                    found: *found,
                    expected: *expected,
                });
            }
            Some(Problem::UnknownCountry { country }) => return Err(TrackingNumberError::Country(country.clone())),
            Some(Problem::WrongLength { .. }) | None => {}
        }
    }
    Ok(TrackingFormat::Other)
}

impl TrackingFormat {
    fn of(format: Format) -> Self {
        match format {
            Format::S10 => Self::S10,
            Format::Ups => Self::Ups,
            Format::UspsImpb | Format::Usps20 => Self::Usps,
            _ => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(number: &str, expected: Result<TrackingFormat, ()>) {
        let got = check_tracking_number(number).map_err(|_| ());
        assert_eq!(got, expected, "{number}");
    }

    #[test]
    fn s10_numbers_need_their_check_digit_and_a_real_country() {
        check("RB123456785GB", Ok(TrackingFormat::S10));
        check("rb 1234 5678 5 us", Ok(TrackingFormat::S10));
        check("LX473124829CN", Ok(TrackingFormat::S10));
        check("EE000000005CN", Ok(TrackingFormat::S10));
        check("RB123456786US", Err(()));
        check("RB123456785XX", Err(()));
    }

    #[test]
    fn ups_and_usps_numbers_need_their_check_digit() {
        check("1Z5R89390357567127", Ok(TrackingFormat::Ups));
        check("1Z879E930346834440", Ok(TrackingFormat::Ups));
        check("1Z5R89390357567128", Err(()));
        check("1Z999AA10123456784", Ok(TrackingFormat::Ups));
        check("9400111899223817576782", Ok(TrackingFormat::Usps));
        check("9200190306008530004291", Ok(TrackingFormat::Usps));
        check("9400111899223817576781", Err(()));
    }

    #[test]
    fn formats_without_a_check_digit_are_only_checked_for_their_characters() {
        check("LP00123456789012", Ok(TrackingFormat::Other));
        check("CJPKL7160102171YQ", Ok(TrackingFormat::Other));
        check("YT1234567890123456", Ok(TrackingFormat::Other));
        // A valid FedEx Ground 96 number is not a bad USPS one.
        check("9611020987654312345672", Ok(TrackingFormat::Other));
        check("", Err(()));
        check("LP-001", Err(()));
        check(&"9".repeat(41), Err(()));
    }
}
