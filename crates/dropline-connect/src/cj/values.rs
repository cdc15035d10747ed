//! Reading CJ's loosely typed values (numbers printed as numbers or as text, empty strings for
//! "none") with errors that name the field.

use super::envelope::CjError;
use dropline_domain::money::{Currency, Money};
use serde_json::{Map, Value};

/// An inclusive range of days, as CJ prints delivery times (`"2-5"`, or `"13"` for one value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayRange {
    /// The fewest days.
    pub min: u32,
    /// The most days (at least `min`).
    pub max: u32,
}

/// Significant digits an `f64` carries exactly: any decimal with at most this many reads
/// back from its shortest text unchanged.
const EXACT_FLOAT_DIGITS: usize = 15;

/// One JSON object and where it sits in the response (`data[0]`), for error messages.
pub(crate) struct Fields<'a> {
    object: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    /// `value` as an object at `path`.
    pub(crate) fn new(value: &'a Value, path: impl Into<String>) -> Result<Self, CjError> {
        let path = path.into();
        match value {
            Value::Object(object) => Ok(Self { object, path }),
            other => Err(CjError::Malformed(format!("{path}: {} is not an object", kind(other)))),
        }
    }

    fn bad(&self, key: &str, why: impl std::fmt::Display) -> CjError {
        CjError::Malformed(format!("{}.{key}: {why}", self.path))
    }

    /// The error for a field whose value is refused.
    pub(crate) fn invalid(&self, key: &str, why: impl std::fmt::Display) -> CjError {
        self.bad(key, why)
    }

    /// The error for a required field that is absent, with `why` it is needed.
    pub(crate) fn missing(&self, key: &str, why: &str) -> CjError {
        if why.is_empty() {
            self.bad(key, "missing")
        } else {
            self.bad(key, format!("missing ({why})"))
        }
    }

    /// The value, `None` when absent or null.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|v| !v.is_null())
    }

    /// Text or a number's text, trimmed; absent, null and empty are `None`.
    pub(crate) fn text(&self, key: &str) -> Result<Option<String>, CjError> {
        let text = match self.get(key) {
            None => return Ok(None),
            Some(Value::String(text)) => text.trim().to_string(),
            Some(Value::Number(number)) => number_text(number).map_err(|why| self.bad(key, why))?,
            Some(other) => return Err(self.bad(key, format!("{} is not text", kind(other)))),
        };
        Ok((!text.is_empty()).then_some(text))
    }

    /// Like [`text`](Self::text), but absent or empty is an error.
    pub(crate) fn required_text(&self, key: &str) -> Result<String, CjError> {
        self.text(key)?.ok_or_else(|| self.bad(key, "missing"))
    }

    /// A non-negative amount in `currency`, exact; absent or empty is `None`.
    pub(crate) fn money(&self, key: &str, currency: Currency) -> Result<Option<Money>, CjError> {
        self.text(key)?
            .map(|text| amount(&text, currency).map_err(|why| self.bad(key, why)))
            .transpose()
    }

    /// Like [`money`](Self::money), but absent or empty is an error.
    pub(crate) fn required_money(&self, key: &str, currency: Currency) -> Result<Money, CjError> {
        self.money(key, currency)?.ok_or_else(|| self.bad(key, "missing"))
    }

    /// Like [`money`](Self::money), but an amount above `ceiling` (same currency) is refused:
    /// an answer that prices a parcel of gadgets in millions is broken, and must not reach a
    /// margin check as if it were true.
    pub(crate) fn plausible_money(&self, key: &str, ceiling: Money) -> Result<Option<Money>, CjError> {
        let Some(amount) = self.money(key, ceiling.currency)? else {
            return Ok(None);
        };
        if amount.minor > ceiling.minor {
            return Err(self.bad(key, format!("{amount} is above the plausible ceiling of {ceiling}")));
        }
        Ok(Some(amount))
    }

    /// A day range (`"2-5"`, `"7"` or `7`); absent or empty is `None`.
    pub(crate) fn days(&self, key: &str) -> Result<Option<DayRange>, CjError> {
        self.text(key)?
            .map(|text| day_range(&text).map_err(|why| self.bad(key, why)))
            .transpose()
    }

    /// A whole, non-negative count (`"13"` or `13`); absent or empty is `None`.
    pub(crate) fn count(&self, key: &str) -> Result<Option<u32>, CjError> {
        self.text(key)?
            .map(|text| whole_number(&text).map_err(|why| self.bad(key, why)))
            .transpose()
    }

    /// A boolean (also `"true"`/`"false"`); absent is `None`.
    pub(crate) fn flag(&self, key: &str) -> Result<Option<bool>, CjError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(text)) if text.trim() == "true" => Ok(Some(true)),
            Some(Value::String(text)) if text.trim() == "false" => Ok(Some(false)),
            Some(other) => Err(self.bad(key, format!("{} is not a boolean", kind(other)))),
        }
    }

    /// A nested object; absent is `None`.
    pub(crate) fn object(&self, key: &str) -> Result<Option<Fields<'a>>, CjError> {
        self.get(key)
            .map(|value| Fields::new(value, format!("{}.{key}", self.path)))
            .transpose()
    }

    /// The elements of a nested array, whatever they are; absent is empty.
    pub(crate) fn values(&self, key: &str) -> Result<&'a [Value], CjError> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.bad(key, format!("{} is not an array", kind(other)))),
        }
    }

    /// Where this object sits in the response (`data[0]`).
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The objects of a nested array, each with its path; absent is empty.
    pub(crate) fn objects(&self, key: &str) -> Result<Vec<Fields<'a>>, CjError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| Fields::new(item, format!("{}.{key}[{i}]", self.path)))
                .collect(),
            Some(other) => Err(self.bad(key, format!("{} is not an array", kind(other)))),
        }
    }
}

/// Reads each element of a `data` array with `read`, naming its index in errors.
pub(crate) fn each<T>(items: &[Value], read: impl Fn(&Fields<'_>) -> Result<T, CjError>) -> Result<Vec<T>, CjError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| read(&Fields::new(item, format!("data[{i}]"))?))
        .collect()
}

/// The decimal text of a JSON number, never computed with. Integers are printed as they are.
/// serde_json hands over fractional numbers as `f64`; the shortest text that reads back as the
/// same `f64` is the decimal CJ printed (less trailing zeros: `25.30` → `25.3`) whenever it has
/// at most 15 significant digits, so longer ones are refused rather than guessed.
fn number_text(number: &serde_json::Number) -> Result<String, String> {
    if let Some(i) = number.as_i64() {
        return Ok(i.to_string());
    }
    if let Some(u) = number.as_u64() {
        return Ok(u.to_string());
    }
    let float = number
        .as_f64()
        .filter(|f| f.is_finite())
        .ok_or_else(|| format!("{number} is not a number"))?;
    // `Display` for f64 prints the shortest round-trip text, never in exponent form.
    let text = format!("{float}");
    let significant = text
        .trim_start_matches('-')
        .replace('.', "")
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len();
    if significant > EXACT_FLOAT_DIGITS {
        return Err(format!("{number} has too many digits to be read exactly"));
    }
    Ok(text)
}

/// An exact, non-negative amount. Zeros written past the currency's decimals are dropped
/// (`3.550`); any other digit there is refused rather than rounded.
pub(crate) fn amount(text: &str, currency: Currency) -> Result<Money, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(format!("{trimmed} is a negative amount"));
    }
    let exponent = currency.exponent() as usize;
    let plain = match trimmed.split_once('.') {
        Some((whole, fraction)) if fraction.len() > exponent => {
            let kept = fraction.trim_end_matches('0');
            if kept.len() > exponent {
                return Err(format!("{trimmed} has more decimals than {currency} has ({exponent})"));
            }
            if kept.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{kept}")
            }
        }
        _ => trimmed.to_string(),
    };
    Money::parse_decimal(&plain, currency).map_err(|_| format!("{trimmed:?} is not an amount in {currency}"))
}

/// A whole number of days or items: digits only.
fn whole_number(text: &str) -> Result<u32, String> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a whole, non-negative number"));
    }
    text.parse::<u32>().map_err(|_| format!("{text} is too large"))
}

/// `"2-5"` → 2..=5, `"7"` → 7..=7.
fn day_range(text: &str) -> Result<DayRange, String> {
    let bad = || format!("{text:?} is not a number of days or a range like 2-5");
    let (min, max) = match text.split_once('-') {
        Some((min, max)) => (
            whole_number(min).map_err(|_| bad())?,
            whole_number(max).map_err(|_| bad())?,
        ),
        None => {
            let days = whole_number(text).map_err(|_| bad())?;
            (days, days)
        }
    };
    if min > max {
        return Err(format!("{text:?} starts after it ends"));
    }
    Ok(DayRange { min, max })
}

/// A short name of a JSON value's type for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn usd() -> Currency {
        Currency::parse("USD").expect("usd")
    }

    fn money_of(value: Value) -> Result<Option<Money>, CjError> {
        let object = json!({ "price": value });
        Fields::new(&object, "data[0]")?.money("price", usd())
    }

    #[test]
    fn amounts_from_numbers_and_strings() {
        assert_eq!(money_of(json!(25.30)), Ok(Some(Money::new(2530, usd()))));
        assert_eq!(money_of(json!("25.30")), Ok(Some(Money::new(2530, usd()))));
        assert_eq!(money_of(json!(" 4.7 ")), Ok(Some(Money::new(470, usd()))));
        assert_eq!(money_of(json!(0)), Ok(Some(Money::new(0, usd()))));
        assert_eq!(money_of(json!(22)), Ok(Some(Money::new(2200, usd()))));
        assert_eq!(money_of(json!("3.550")), Ok(Some(Money::new(355, usd()))));
        assert_eq!(money_of(json!(0.1)), Ok(Some(Money::new(10, usd()))));
        assert_eq!(
            money_of(json!(1234567890123.45)),
            Ok(Some(Money::new(123_456_789_012_345, usd())))
        );
        assert_eq!(money_of(json!("")), Ok(None));
        assert_eq!(money_of(Value::Null), Ok(None));
    }

    #[test]
    fn bad_amounts_name_the_field() {
        let cases = [
            (json!(-1.5), "data[0].price: -1.5 is a negative amount"),
            (json!("-0.01"), "data[0].price: -0.01 is a negative amount"),
            (json!(-3), "data[0].price: -3 is a negative amount"),
            (
                json!("1.005"),
                "data[0].price: 1.005 has more decimals than USD has (2)",
            ),
            (json!("abc"), "data[0].price: \"abc\" is not an amount in USD"),
            (json!("1e3"), "data[0].price: \"1e3\" is not an amount in USD"),
            (json!(true), "data[0].price: a boolean is not text"),
            (json!([1]), "data[0].price: an array is not text"),
            (
                json!(0.1234567890123456),
                "data[0].price: 0.1234567890123456 has too many digits to be read exactly",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                money_of(value.clone()),
                Err(CjError::Malformed(expected.to_string())),
                "{value}"
            );
        }
        let object = json!({});
        let fields = Fields::new(&object, "data[1]").expect("object");
        assert_eq!(
            fields.required_money("logisticPrice", usd()),
            Err(CjError::Malformed("data[1].logisticPrice: missing".into()))
        );
    }

    #[test]
    fn amounts_above_the_ceiling_are_refused() {
        let object = json!({"a": "99.99", "b": 100.01, "c": ""});
        let fields = Fields::new(&object, "data").expect("object");
        let ceiling = Money::new(10_000, usd());
        assert_eq!(fields.plausible_money("a", ceiling), Ok(Some(Money::new(9_999, usd()))));
        assert!(matches!(
            fields.plausible_money("b", ceiling),
            Err(CjError::Malformed(m)) if m.starts_with("data.b:") && m.contains("ceiling")
        ));
        assert_eq!(fields.plausible_money("c", ceiling), Ok(None));
    }

    #[test]
    fn day_ranges_and_counts() {
        let object = json!({"a": "2-5", "b": "13", "c": 7, "d": "5-2", "e": "x-3", "f": "-3", "g": "", "h": 2.5});
        let fields = Fields::new(&object, "p").expect("object");
        assert_eq!(fields.days("a"), Ok(Some(DayRange { min: 2, max: 5 })));
        assert_eq!(fields.days("b"), Ok(Some(DayRange { min: 13, max: 13 })));
        assert_eq!(fields.days("c"), Ok(Some(DayRange { min: 7, max: 7 })));
        assert_eq!(
            fields.days("d"),
            Err(CjError::Malformed("p.d: \"5-2\" starts after it ends".into()))
        );
        assert!(matches!(fields.days("e"), Err(CjError::Malformed(m)) if m.starts_with("p.e:")));
        assert!(matches!(fields.days("f"), Err(CjError::Malformed(m)) if m.starts_with("p.f:")));
        assert_eq!(fields.days("g"), Ok(None));
        assert_eq!(fields.days("missing"), Ok(None));
        assert_eq!(fields.count("b"), Ok(Some(13)));
        assert_eq!(fields.count("c"), Ok(Some(7)));
        assert!(matches!(fields.count("f"), Err(CjError::Malformed(m)) if m.contains("not a whole, non-negative")));
        assert!(matches!(fields.count("h"), Err(CjError::Malformed(m)) if m.starts_with("p.h:")));
    }

    #[test]
    fn not_an_object_names_the_path() {
        let value = json!([1]);
        assert_eq!(
            Fields::new(&value, "data[2]").err(),
            Some(CjError::Malformed("data[2]: an array is not an object".into()))
        );
    }
}
