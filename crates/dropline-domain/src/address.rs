//! Postal addresses and customers, as received. Validation lives in [`crate::validation`]
//! and never rewrites these fields.

use serde::{Deserialize, Serialize};

/// A shipping address as the customer typed it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub company: Option<String>,
    pub address1: String,
    #[serde(default)]
    pub address2: Option<String>,
    pub city: String,
    /// Region, state or province code (`CA`, `NSW`, `SP`); required in some countries.
    #[serde(default)]
    pub region: Option<String>,
    /// Postal code; empty in countries that have none.
    #[serde(default)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: String,
    #[serde(default)]
    pub phone: Option<String>,
}

impl Address {
    /// The recipient's full name.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).trim().to_string()
    }

    /// Whether two addresses name the same place (compared loosely: case and spacing are
    /// ignored), used to refuse a supplier order that would ship to the store itself.
    pub fn same_place_as(&self, other: &Address) -> bool {
        fn norm(s: &str) -> String {
            s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
        }
        norm(&self.address1) == norm(&other.address1)
            && norm(self.address2.as_deref().unwrap_or("")) == norm(other.address2.as_deref().unwrap_or(""))
            && norm(&self.city) == norm(&other.city)
            && norm(&self.postal_code) == norm(&other.postal_code)
            && self.country_code.eq_ignore_ascii_case(&other.country_code)
    }
}

/// A phone number split as suppliers' forms want it: the calling code (`+1`) and the national
/// number in digits only (`2175550142`). `None` when the number cannot be read for the
/// country (`country` is ISO alpha-2, used for numbers written without their calling code).
pub fn phone_parts(phone: &str, country: &str) -> Option<(String, String)> {
    let region = country
        .trim()
        .to_ascii_uppercase()
        .parse::<phonenumber::country::Id>()
        .ok();
    let number = phonenumber::parse(region, phone.trim()).ok()?;
    let national = number.national().value().to_string();
    let code = number.code().value();
    (!national.is_empty()).then(|| (format!("+{code}"), national))
}

/// The person who bought.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_split_into_calling_code_and_digits() {
        assert_eq!(
            phone_parts("+1 217 555 0142", "US"),
            Some(("+1".to_string(), "2175550142".to_string()))
        );
        assert_eq!(
            phone_parts("(217) 555-0142", "US"),
            Some(("+1".to_string(), "2175550142".to_string()))
        );
        assert_eq!(
            phone_parts("+44 20 7946 0958", "US"),
            Some(("+44".to_string(), "2079460958".to_string()))
        );
        assert_eq!(phone_parts("030 1234567", "DE").map(|p| p.0), Some("+49".to_string()));
        assert_eq!(phone_parts("not a phone", "US"), None);
    }
}
