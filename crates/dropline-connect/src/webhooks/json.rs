//! Lenient reading of platform JSON, so that a bad payload is refused naming the exact field.
//!
//! The payload structs of the connectors are plain serde structs whose leaves are
//! [`Scalar`]s and whose nested objects and arrays are [`Obj`] and [`List`]. None of these
//! ever fails to deserialize: a value of the wrong type is kept as what it was, and the
//! mapping code turns it into [`WebhookError::BadPayload`] with its JSON path
//! (`line_items[0].price`) when, and only when, it needs the value. serde itself then only
//! fails on text that is not JSON at all (or repeats a key), and unknown fields are skipped
//! without being kept.
//!
//! Numbers are kept as the integers or float serde_json read. Integers stay exact (ids above
//! 2^53 are never a float). A float is turned back into text by its shortest round-trip
//! form, which is the text the platform wrote for any amount with fewer than 16 significant
//! digits, and only then parsed as a decimal: no arithmetic ever happens on a float.

use dropline_app::storefront::WebhookError;
use dropline_domain::money::{Currency, Money};
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::marker::PhantomData;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// Where a value sits in the payload, built on the stack and rendered only for an error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    segment: Segment<'a>,
}

#[derive(Clone, Copy, Debug)]
enum Segment<'a> {
    Root(&'a str),
    Key(&'a str),
    Index(usize),
}

impl<'a> Path<'a> {
    /// The top of a payload; `prefix` is what the payload sits under (empty for the body).
    pub(crate) const fn root(prefix: &'a str) -> Self {
        Self {
            parent: None,
            segment: Segment::Root(prefix),
        }
    }

    /// A field of this object.
    pub(crate) fn key<'b>(&'b self, key: &'b str) -> Path<'b>
    where
        'a: 'b,
    {
        Path {
            parent: Some(self),
            segment: Segment::Key(key),
        }
    }

    /// An element of this array.
    pub(crate) fn index<'b>(&'b self, index: usize) -> Path<'b>
    where
        'a: 'b,
    {
        Path {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }

    /// The path as text: `line_items[0].price`.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        if out.is_empty() {
            out.push_str("body");
        }
        out
    }

    fn render_into(&self, out: &mut String) {
        if let Some(parent) = self.parent {
            parent.render_into(out);
        }
        match self.segment {
            Segment::Root(prefix) => out.push_str(prefix),
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }

    /// A refusal of the value at this path.
    pub(crate) fn bad(&self, reason: impl Into<String>) -> WebhookError {
        WebhookError::bad(self.render(), reason)
    }

    fn missing(&self) -> WebhookError {
        self.bad("missing")
    }
}

// ---------------------------------------------------------------------------------------------
// Scalar
// ---------------------------------------------------------------------------------------------

/// A leaf value of any JSON type; arrays and objects are skipped and only their kind kept.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) enum Scalar {
    /// Absent or `null`.
    #[default]
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(String),
    List,
    Map,
}

impl Scalar {
    fn kind(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "true/false",
            Scalar::Unsigned(_) | Scalar::Signed(_) | Scalar::Float(_) => "a number",
            Scalar::Text(_) => "text",
            Scalar::List => "an array",
            Scalar::Map => "an object",
        }
    }

    /// Whether the value is absent, `null` or blank text.
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Scalar::Null => true,
            Scalar::Text(text) => text.trim().is_empty(),
            _ => false,
        }
    }

    /// Text, `None` when absent, `null` or blank. Numbers are taken as their text; other
    /// types are refused.
    pub(crate) fn text(&self, path: &Path<'_>) -> Result<Option<String>, WebhookError> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::Text(text) if text.trim().is_empty() => Ok(None),
            Scalar::Text(text) => Ok(Some(text.clone())),
            Scalar::Unsigned(n) => Ok(Some(n.to_string())),
            Scalar::Signed(n) => Ok(Some(n.to_string())),
            Scalar::Float(f) => Ok(Some(float_text(*f))),
            other => Err(path.bad(format!("expected text, got {}", other.kind()))),
        }
    }

    /// Text or the empty string.
    pub(crate) fn text_or_empty(&self, path: &Path<'_>) -> Result<String, WebhookError> {
        Ok(self.text(path)?.unwrap_or_default())
    }

    /// An id: a whole number (kept exact) or non-blank text. `None` when absent or `null`.
    pub(crate) fn id(&self, path: &Path<'_>) -> Result<Option<String>, WebhookError> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::Unsigned(n) => Ok(Some(n.to_string())),
            Scalar::Signed(n) => Ok(Some(n.to_string())),
            Scalar::Text(text) if text.trim().is_empty() => Ok(None),
            Scalar::Text(text) => Ok(Some(text.trim().to_string())),
            other => Err(path.bad(format!("expected a whole number or text id, got {}", other.kind()))),
        }
    }

    /// A required id.
    pub(crate) fn required_id(&self, path: &Path<'_>) -> Result<String, WebhookError> {
        self.id(path)?.ok_or_else(|| path.missing())
    }

    /// An id where `0` means "none" (WooCommerce's product and variation ids).
    pub(crate) fn nonzero_id(&self, path: &Path<'_>) -> Result<Option<String>, WebhookError> {
        Ok(self.id(path)?.filter(|id| id != "0"))
    }

    /// A whole number, from a JSON integer, an integral float or digits in text.
    pub(crate) fn whole(&self, path: &Path<'_>) -> Result<Option<i64>, WebhookError> {
        let refuse = |kind: &str| path.bad(format!("expected a whole number, got {kind}"));
        match self {
            Scalar::Null => Ok(None),
            Scalar::Unsigned(n) => i64::try_from(*n).map(Some).map_err(|_| path.bad("too large")),
            Scalar::Signed(n) => Ok(Some(*n)),
            Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(*f as i64)),
            Scalar::Float(f) => Err(refuse(&float_text(*f))),
            Scalar::Text(text) => text
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| refuse(&format!("'{text}'"))),
            other => Err(refuse(other.kind())),
        }
    }

    /// A line quantity: a whole number of at least 1.
    pub(crate) fn quantity(&self, path: &Path<'_>) -> Result<u32, WebhookError> {
        let quantity = self.whole(path)?.ok_or_else(|| path.missing())?;
        if quantity < 1 {
            return Err(path.bad(format!("must be at least 1, got {quantity}")));
        }
        u32::try_from(quantity).map_err(|_| path.bad(format!("too large: {quantity}")))
    }

    /// A count that may be zero, `None` when absent.
    pub(crate) fn count(&self, path: &Path<'_>) -> Result<Option<u32>, WebhookError> {
        match self.whole(path)? {
            None => Ok(None),
            Some(n) if n < 0 => Err(path.bad(format!("must not be negative, got {n}"))),
            Some(n) => u32::try_from(n)
                .map(Some)
                .map_err(|_| path.bad(format!("too large: {n}"))),
        }
    }

    /// `true`/`false`, `None` when absent or `null`.
    pub(crate) fn flag(&self, path: &Path<'_>) -> Result<Option<bool>, WebhookError> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::Bool(b) => Ok(Some(*b)),
            other => Err(path.bad(format!("expected true or false, got {}", other.kind()))),
        }
    }

    /// An amount in `currency`, from a decimal string or a JSON number. `None` when absent.
    pub(crate) fn money(&self, currency: Currency, path: &Path<'_>) -> Result<Option<Money>, WebhookError> {
        let text = match self {
            Scalar::Null => return Ok(None),
            Scalar::Text(text) if text.trim().is_empty() => return Ok(None),
            Scalar::Text(text) => return decimal_money(text, currency).map(Some).map_err(|r| path.bad(r)),
            Scalar::Unsigned(n) => n.to_string(),
            Scalar::Signed(n) => n.to_string(),
            Scalar::Float(f) => float_text(*f),
            other => return Err(path.bad(format!("expected an amount, got {}", other.kind()))),
        };
        decimal_money(&text, currency).map(Some).map_err(|r| path.bad(r))
    }

    /// An optional amount that must not be negative (discounts, taxes). `None` when absent.
    pub(crate) fn optional_price(&self, currency: Currency, path: &Path<'_>) -> Result<Option<Money>, WebhookError> {
        match self.money(currency, path)? {
            Some(money) if money.minor < 0 => Err(path.bad(format!("must not be negative, got {money}"))),
            other => Ok(other),
        }
    }

    /// A required amount that must not be negative.
    pub(crate) fn price(&self, currency: Currency, path: &Path<'_>) -> Result<Money, WebhookError> {
        let money = self.money(currency, path)?.ok_or_else(|| path.missing())?;
        if money.minor < 0 {
            return Err(path.bad(format!("must not be negative, got {money}")));
        }
        Ok(money)
    }

    /// An ISO 4217 currency code.
    pub(crate) fn currency(&self, path: &Path<'_>) -> Result<Currency, WebhookError> {
        let code = self.text(path)?.ok_or_else(|| path.missing())?;
        Currency::parse(code.trim()).map_err(|e| path.bad(e.to_string()))
    }

    /// An RFC 3339 timestamp (`2019-06-04T13:53:06-04:00`, `2020-05-27T12:20:37.994Z`).
    pub(crate) fn timestamp(&self, path: &Path<'_>) -> Result<Option<OffsetDateTime>, WebhookError> {
        let Some(text) = self.text(path)? else {
            return Ok(None);
        };
        parse_timestamp(&text)
            .map(Some)
            .ok_or_else(|| path.bad(format!("'{text}' is not an RFC 3339 timestamp")))
    }

    /// A UTC timestamp written without an offset (`2021-09-06T18:05:09`, WooCommerce's
    /// `*_gmt` fields); one with an offset is taken as it says.
    pub(crate) fn utc_timestamp(&self, path: &Path<'_>) -> Result<Option<OffsetDateTime>, WebhookError> {
        let Some(text) = self.text(path)? else {
            return Ok(None);
        };
        let naive = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
        parse_timestamp(&text)
            .or_else(|| {
                PrimitiveDateTime::parse(text.trim(), naive)
                    .ok()
                    .map(PrimitiveDateTime::assume_utc)
            })
            .map(Some)
            .ok_or_else(|| path.bad(format!("'{text}' is not a date and time")))
    }
}

/// Parses an RFC 3339 timestamp.
pub(crate) fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
}

/// The shortest text that reads back as `value` (never in exponent form).
fn float_text(value: f64) -> String {
    format!("{value}")
}

/// An exact decimal amount. Zeros past the currency's decimals are dropped (`1500.00` is a
/// valid JPY amount); any other digit there is refused rather than rounded.
pub(crate) fn decimal_money(text: &str, currency: Currency) -> Result<Money, String> {
    let trimmed = text.trim();
    let exponent = currency.exponent() as usize;
    let parsed = match trimmed.split_once('.') {
        Some((whole, fraction)) if fraction.len() > exponent => {
            let kept = fraction.trim_end_matches('0');
            if kept.len() > exponent || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "'{trimmed}' has more decimals than {currency} has ({exponent})"
                ));
            }
            let kept = &fraction[..exponent.max(kept.len())];
            if kept.is_empty() {
                Money::parse_decimal(whole, currency)
            } else {
                Money::parse_decimal(&format!("{whole}.{kept}"), currency)
            }
        }
        _ => Money::parse_decimal(trimmed, currency),
    };
    parsed.map_err(|e| e.to_string())
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// A JSON integer: non-negative ones are kept as unsigned, like serde_json reads them.
fn signed(v: i64) -> Scalar {
    match u64::try_from(v) {
        Ok(u) => Scalar::Unsigned(u),
        Err(_) => Scalar::Signed(v),
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Unsigned(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(signed(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Text(v))
    }
    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        Scalar::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::List)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Map)
    }
}

// ---------------------------------------------------------------------------------------------
// Obj and List
// ---------------------------------------------------------------------------------------------

/// A nested object read into `T`, or whatever else stood there.
#[derive(Clone, Debug, Default)]
pub(crate) enum Obj<T> {
    /// Absent or `null`.
    #[default]
    Absent,
    Present(T),
    /// Not an object: the value that stood there.
    Other(Scalar),
}

impl<T> Obj<T> {
    /// The object, `None` when absent or `null`; any other value is refused.
    pub(crate) fn get(&self, path: &Path<'_>) -> Result<Option<&T>, WebhookError> {
        match self {
            Obj::Absent => Ok(None),
            Obj::Present(value) => Ok(Some(value)),
            Obj::Other(other) => Err(path.bad(format!("expected an object, got {}", other.kind()))),
        }
    }

    /// The object, `None` when absent, `null` or not an object (for optional parts whose
    /// shape varies).
    pub(crate) fn present(&self) -> Option<&T> {
        match self {
            Obj::Present(value) => Some(value),
            _ => None,
        }
    }

    /// Whether an object stood there.
    pub(crate) fn is_present(&self) -> bool {
        matches!(self, Obj::Present(_))
    }
}

impl<T: DeserializeOwned> Obj<T> {
    /// Some platforms send an object as a JSON string (Wix's `entityAsJson`, the JWT's
    /// `data`): such a string is read as the object; anything else is left as it was.
    pub(crate) fn parse_embedded(&mut self, path: &Path<'_>) -> Result<(), WebhookError> {
        if let Obj::Other(Scalar::Text(text)) = self {
            let value: Obj<T> =
                serde_json::from_str(text).map_err(|e| path.bad(format!("the text is not JSON: {e}")))?;
            *self = value;
        }
        Ok(())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjVisitor(PhantomData))
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
    type Value = Obj<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Obj::Present)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Obj<T>, A::Error> {
        ScalarVisitor.visit_seq(seq).map(Obj::Other)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Obj<T>, E> {
        Ok(Obj::Other(Scalar::Bool(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Obj<T>, E> {
        Ok(Obj::Other(Scalar::Unsigned(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Obj<T>, E> {
        Ok(Obj::Other(signed(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Obj<T>, E> {
        Ok(Obj::Other(Scalar::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Obj<T>, E> {
        Ok(Obj::Other(Scalar::Text(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Obj<T>, E> {
        Ok(Obj::Other(Scalar::Text(v)))
    }
    fn visit_unit<E>(self) -> Result<Obj<T>, E> {
        Ok(Obj::Absent)
    }
    fn visit_none<E>(self) -> Result<Obj<T>, E> {
        Ok(Obj::Absent)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Obj<T>, D::Error> {
        Obj::deserialize(d)
    }
}

/// A nested array whose elements are read into `T` (each one lenient like [`Obj`]).
#[derive(Clone, Debug)]
pub(crate) enum List<T> {
    Present(Vec<Obj<T>>),
    /// Not an array: the value that stood there.
    Other(Scalar),
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List::Present(Vec::new())
    }
}

impl<T> List<T> {
    /// The elements (none when absent or `null`); a value that is not an array is refused.
    pub(crate) fn items(&self, path: &Path<'_>) -> Result<&[Obj<T>], WebhookError> {
        match self {
            List::Present(items) => Ok(items),
            List::Other(Scalar::Null) => Ok(&[]),
            List::Other(other) => Err(path.bad(format!("expected an array, got {}", other.kind()))),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<List<T>, A::Error> {
        Vec::<Obj<T>>::deserialize(SeqAccessDeserializer::new(seq)).map(List::Present)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List<T>, A::Error> {
        ScalarVisitor.visit_map(map).map(List::Other)
    }
    fn visit_bool<E>(self, v: bool) -> Result<List<T>, E> {
        Ok(List::Other(Scalar::Bool(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<List<T>, E> {
        Ok(List::Other(Scalar::Unsigned(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<List<T>, E> {
        Ok(List::Other(signed(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<List<T>, E> {
        Ok(List::Other(Scalar::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<List<T>, E> {
        Ok(List::Other(Scalar::Text(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<List<T>, E> {
        Ok(List::Other(Scalar::Text(v)))
    }
    fn visit_unit<E>(self) -> Result<List<T>, E> {
        Ok(List::Other(Scalar::Null))
    }
    fn visit_none<E>(self) -> Result<List<T>, E> {
        Ok(List::Other(Scalar::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<List<T>, D::Error> {
        List::deserialize(d)
    }
}

// ---------------------------------------------------------------------------------------------
// Whole payloads
// ---------------------------------------------------------------------------------------------

/// Reads a payload from the body bytes. Only text that is not JSON (or repeats a key) fails
/// here; the top level must be an object.
pub(crate) fn from_body<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, WebhookError> {
    let value: Obj<T> = serde_json::from_slice(body).map_err(|e| not_json(what, &e))?;
    top_level(value, what)
}

/// Reads a payload from a parsed JSON value.
pub(crate) fn from_value<T: DeserializeOwned>(value: &serde_json::Value, what: &str) -> Result<T, WebhookError> {
    let value: Obj<T> = Obj::deserialize(value).map_err(|e| not_json(what, &e))?;
    top_level(value, what)
}

/// Reads a payload from JSON text.
pub(crate) fn from_text<T: DeserializeOwned>(text: &str, field: &Path<'_>, what: &str) -> Result<T, WebhookError> {
    let value: Obj<T> = serde_json::from_str(text).map_err(|e| field.bad(format!("not {what}: {e}")))?;
    match value {
        Obj::Present(payload) => Ok(payload),
        Obj::Absent => Err(field.bad(format!("expected {what}, got null"))),
        Obj::Other(other) => Err(field.bad(format!("expected {what}, got {}", other.kind()))),
    }
}

/// Checks that the body is JSON without reading it into anything.
pub(crate) fn check_json(body: &[u8]) -> Result<(), WebhookError> {
    serde_json::from_slice::<IgnoredAny>(body)
        .map(|_| ())
        .map_err(|e| WebhookError::bad("body", format!("not JSON: {e}")))
}

fn top_level<T>(value: Obj<T>, what: &str) -> Result<T, WebhookError> {
    match value {
        Obj::Present(payload) => Ok(payload),
        Obj::Absent => Err(WebhookError::bad("body", format!("expected {what}, got null"))),
        Obj::Other(other) => Err(WebhookError::bad(
            "body",
            format!("expected {what}, got {}", other.kind()),
        )),
    }
}

fn not_json<E: de::Error + fmt::Display>(what: &str, error: &E) -> WebhookError {
    WebhookError::bad("body", format!("not {what}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Sample {
        a: Scalar,
        inner: Obj<Inner>,
        items: List<Inner>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Inner {
        b: Scalar,
    }

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    #[test]
    fn renders_paths() {
        let root = Path::root("");
        let lines = root.key("line_items");
        let line = lines.index(3);
        assert_eq!(line.key("price").render(), "line_items[3].price");
        assert_eq!(root.render(), "body");
        let prefixed = Path::root("actionEvent.body.order");
        assert_eq!(prefixed.key("id").render(), "actionEvent.body.order.id");
    }

    #[test]
    fn never_fails_on_wrong_types() {
        let sample: Sample = from_body(
            br#"{"a":[1,{"x":2}],"inner":"text","items":{"b":1},"zzz":[[[]]]}"#,
            "a sample",
        )
        .expect("lenient");
        assert_eq!(sample.a, Scalar::List);
        assert!(matches!(sample.inner, Obj::Other(Scalar::Text(_))));
        let root = Path::root("");
        let err = sample.items.items(&root.key("items")).expect_err("not an array");
        assert_eq!(err, WebhookError::bad("items", "expected an array, got an object"));
        let err = sample.inner.get(&root.key("inner")).expect_err("not an object");
        assert_eq!(err, WebhookError::bad("inner", "expected an object, got text"));
    }

    #[test]
    fn keeps_large_ids_exact() {
        let sample: Sample = from_body(br#"{"a":820982911946154508}"#, "a sample").expect("json");
        assert_eq!(
            sample.a.required_id(&Path::root("").key("a")),
            Ok("820982911946154508".to_string())
        );
        let sample: Sample = from_body(br#"{"a":8.2e17}"#, "a sample").expect("json");
        assert!(sample.a.id(&Path::root("")).is_err(), "a float id is refused");
    }

    #[test]
    fn reads_amounts_exactly() {
        let path = Path::root("");
        let check = |json: &str, currency: &str, minor: i64| {
            let sample: Sample = from_body(json.as_bytes(), "a sample").expect("json");
            let currency = Currency::parse(currency).expect("currency");
            assert_eq!(
                sample.a.money(currency, &path),
                Ok(Some(Money::new(minor, currency))),
                "{json}"
            );
        };
        check(r#"{"a":"199.00"}"#, "USD", 19900);
        check(r#"{"a":14.99}"#, "USD", 1499);
        check(r#"{"a":5}"#, "ILS", 500);
        check(r#"{"a":"1500.00"}"#, "JPY", 1500);
        check(r#"{"a":"1.234"}"#, "KWD", 1234);
        check(r#"{"a":0.1}"#, "USD", 10);
        check(r#"{"a":"-5.50"}"#, "USD", -550);
        for bad in [
            r#"{"a":"1.234"}"#,
            r#"{"a":3.3333333333333335}"#,
            r#"{"a":"abc"}"#,
            r#"{"a":true}"#,
        ] {
            let sample: Sample = from_body(bad.as_bytes(), "a sample").expect("json");
            assert!(sample.a.money(usd(), &path).is_err(), "{bad}");
        }
        assert_eq!(decimal_money("10.50", usd()), Ok(Money::new(1050, usd())));
        assert_eq!(decimal_money("10.500", usd()), Ok(Money::new(1050, usd())));
        assert!(decimal_money("10.505", usd()).is_err());
        assert!(decimal_money("10.5x0", usd()).is_err());
    }

    #[test]
    fn reads_quantities() {
        let root = Path::root("");
        let path = root.key("quantity");
        assert_eq!(Scalar::Unsigned(2).quantity(&path), Ok(2));
        assert_eq!(Scalar::Float(3.0).quantity(&path), Ok(3));
        assert_eq!(Scalar::Text("4".into()).quantity(&path), Ok(4));
        assert_eq!(
            Scalar::Unsigned(0).quantity(&path),
            Err(WebhookError::bad("quantity", "must be at least 1, got 0"))
        );
        assert!(Scalar::Signed(-1).quantity(&path).is_err());
        assert!(Scalar::Float(1.5).quantity(&path).is_err());
        assert!(Scalar::Unsigned(u64::MAX).quantity(&path).is_err());
        assert!(Scalar::Unsigned(u64::from(u32::MAX) + 1).quantity(&path).is_err());
        assert_eq!(
            Scalar::Null.quantity(&path),
            Err(WebhookError::bad("quantity", "missing"))
        );
    }

    #[test]
    fn reads_timestamps() {
        let path = Path::root("");
        let shopify = Scalar::Text("2019-06-04T13:53:06-04:00".into());
        assert_eq!(
            shopify.timestamp(&path).expect("rfc3339").map(|t| t.unix_timestamp()),
            Some(1_559_670_786)
        );
        let woo = Scalar::Text("2021-09-06T18:05:09".into());
        assert!(woo.timestamp(&path).is_err(), "no offset is not RFC 3339");
        assert_eq!(
            woo.utc_timestamp(&path).expect("naive utc"),
            Some(time::macros::datetime!(2021-09-06 18:05:09 UTC))
        );
        assert!(Scalar::Text("yesterday".into()).utc_timestamp(&path).is_err());
        assert_eq!(Scalar::Null.timestamp(&path), Ok(None));
    }

    #[test]
    fn reads_embedded_json_text() {
        let mut inner: Obj<Inner> = Obj::Other(Scalar::Text(r#"{"b":"x"}"#.into()));
        inner.parse_embedded(&Path::root("")).expect("embedded");
        assert!(matches!(inner, Obj::Present(Inner { b: Scalar::Text(ref t) }) if t == "x"));
        let mut broken: Obj<Inner> = Obj::Other(Scalar::Text("{".into()));
        assert!(broken.parse_embedded(&Path::root("").key("data")).is_err());
    }

    #[test]
    fn refuses_bodies_that_are_not_objects() {
        for body in [&b"[]"[..], b"null", b"12", b"\"x\"", b"{", b"", b"{\"a\":1,\"a\":2}"] {
            assert!(from_body::<Sample>(body, "a sample").is_err(), "{body:?}");
        }
    }
}
