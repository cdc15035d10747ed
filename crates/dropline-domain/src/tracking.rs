//! Checks of tracking numbers whose format carries a check digit, so that a number a
//! supplier mistyped (or invented) is flagged instead of accepted: UPU S10 (international
//! post: China Post, ePacket, many AliExpress legs), UPS `1Z`, and USPS 22-digit IMpb
//! numbers. Other formats (Cainiao `LP…`, CJ Packet, YunExpress `YT…`) carry no check digit
//! and are only checked for their characters. Pure; full carrier detection builds on it.

use serde::Serialize;

/// What a tracking number looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingFormat {
    /// UPU S10: 2 letters, 8 digits, a check digit, the issuing country.
    S10,
    /// UPS: `1Z`, 15 characters, a check digit.
    Ups,
    /// USPS: 22 digits starting with 9 (IMpb), ending in a check digit.
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
pub fn check_tracking_number(number: &str) -> Result<TrackingFormat, TrackingNumberError> {
    let compact: String = number
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.is_empty() {
        return Err(TrackingNumberError::Empty);
    }
    if !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(TrackingNumberError::Characters);
    }
    if compact.len() > 40 {
        return Err(TrackingNumberError::TooLong(compact.len()));
    }
    let bytes = compact.as_bytes();
    let is_s10 = bytes.len() == 13
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..11].iter().all(u8::is_ascii_digit)
        && bytes[11..].iter().all(u8::is_ascii_uppercase);
    if is_s10 {
        return check_s10(&compact);
    }
    if bytes.len() == 18 && compact.starts_with("1Z") {
        return check_ups(&compact);
    }
    if bytes.len() == 22 && bytes[0] == b'9' && bytes.iter().all(u8::is_ascii_digit) {
        return check_usps(&compact);
    }
    Ok(TrackingFormat::Other)
}

fn digit(c: u8) -> u32 {
    u32::from(c - b'0')
}

fn check_s10(number: &str) -> Result<TrackingFormat, TrackingNumberError> {
    let bytes = number.as_bytes();
    const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = bytes[2..10].iter().zip(WEIGHTS).map(|(c, w)| digit(*c) * w).sum();
    let expected = match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        n => n,
    };
    compare(TrackingFormat::S10, bytes[10], expected)?;
    let country = &number[11..];
    if crate::validation::lookup_country(country).is_none() {
        return Err(TrackingNumberError::Country(country.to_string()));
    }
    Ok(TrackingFormat::S10)
}

fn compare(format: TrackingFormat, found: u8, expected: u32) -> Result<(), TrackingNumberError> {
    if digit(found) == expected {
        return Ok(());
    }
    Err(TrackingNumberError::CheckDigit {
        format,
        found: char::from(found),
        expected: char::from_digit(expected, 10).unwrap_or('?'),
    })
}

/// UPS: over the 15 characters after `1Z` (letters as `(code - 3) mod 10`), odd positions
/// (from 1) count once and even ones twice; the check digit rounds the sum up to ten.
fn check_ups(number: &str) -> Result<TrackingFormat, TrackingNumberError> {
    let bytes = number.as_bytes();
    let mut sum = 0;
    for (i, c) in bytes[2..17].iter().enumerate() {
        let value = if c.is_ascii_digit() {
            digit(*c)
        } else {
            (u32::from(*c) - 3) % 10
        };
        sum += if i % 2 == 1 { value * 2 } else { value };
    }
    if !bytes[17].is_ascii_digit() {
        return Err(TrackingNumberError::Characters);
    }
    compare(TrackingFormat::Ups, bytes[17], (10 - sum % 10) % 10)?;
    Ok(TrackingFormat::Ups)
}

/// USPS (22-digit IMpb): from the right, before the check digit, every other digit counts
/// three times; the check digit rounds the sum up to ten.
fn check_usps(number: &str) -> Result<TrackingFormat, TrackingNumberError> {
    let bytes = number.as_bytes();
    let (body, check) = bytes.split_at(bytes.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, c)| if i % 2 == 0 { digit(*c) * 3 } else { digit(*c) })
        .sum();
    compare(TrackingFormat::Usps, check[0], (10 - sum % 10) % 10)?;
    Ok(TrackingFormat::Usps)
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
        check("", Err(()));
        check("LP-001", Err(()));
        check(&"9".repeat(41), Err(()));
    }
}
