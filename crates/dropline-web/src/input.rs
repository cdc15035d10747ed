//! Reading untrusted input so that EVERY refused field is reported at once.
//!
//! Bodies are parsed into a `serde_json::Value` first (only broken JSON fails there); the
//! request types then read their fields through an [`Input`], which records a
//! [`FieldError`] for each missing or malformed field and keeps going. A handler answers
//! 422 with the whole list before it calls a use case, so nothing is written. Unknown
//! fields are ignored.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use dropline_app::FieldError;
use dropline_domain::money::{Currency, Money};
use serde_json::Value;
use std::collections::HashMap;
use std::str::FromStr;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The refused fields collected while reading one request.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    /// Records a refused field.
    pub fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError::new(field, reason));
    }

    /// `Ok(value)` when nothing was refused (then `value` is `Some`), else the 422.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            // A reader that gave up always recorded why; the fallback keeps that a promise.
            _ if self.0.is_empty() => Err(ApiError::invalid(vec![FieldError::new("body", "is not readable")])),
            _ => Err(ApiError::invalid(self.0)),
        }
    }

    /// Whether nothing was refused so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A request type read leniently from JSON.
pub trait ReadJson: Sized {
    /// Reads `input` (present and not null), recording every refused field.
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self>;
}

/// A snake_case enum of the domain that the API accepts by name.
pub trait NamedEnum: Copy + 'static {
    /// Every name, in order.
    fn names() -> Vec<&'static str>;
    /// The value of a name.
    fn from_name(name: &str) -> Option<Self>;
}

/// One place in a JSON document: its path (for error messages) and its value, if present.
#[derive(Clone, Copy, Debug)]
pub struct Input<'v> {
    path: &'v str,
    parent: Option<&'v Input<'v>>,
    index: Option<usize>,
    value: Option<&'v Value>,
}

impl<'v> Input<'v> {
    /// The whole body.
    pub fn root(value: &'v Value) -> Self {
        Self {
            path: "",
            parent: None,
            index: None,
            value: Some(value),
        }
    }

    /// The field `name` of this object (absent when this is not an object).
    pub fn field(&'v self, name: &'v str) -> Input<'v> {
        Input {
            path: name,
            parent: Some(self),
            index: None,
            value: self.value.and_then(Value::as_object).and_then(|map| map.get(name)),
        }
    }

    fn item(&'v self, index: usize, value: &'v Value) -> Input<'v> {
        Input {
            path: "",
            parent: Some(self),
            index: Some(index),
            value: Some(value),
        }
    }

    /// The path of this place: `lines[0].unit_price.amount`.
    pub fn path(&self) -> String {
        let path = self.raw_path();
        if path.is_empty() { "body".to_string() } else { path }
    }

    fn raw_path(&self) -> String {
        let mut path = self.parent.map(Input::raw_path).unwrap_or_default();
        if let Some(index) = self.index {
            path.push_str(&format!("[{index}]"));
        } else if !self.path.is_empty() {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(self.path);
        }
        path
    }

    /// Absent and `null` both mean "not given".
    pub fn is_absent(&self) -> bool {
        matches!(self.value, None | Some(Value::Null))
    }

    fn refuse<T>(&self, problems: &mut Problems, reason: impl Into<String>) -> Option<T> {
        problems.push(self.path(), reason);
        None
    }

    /// A field that must be given.
    pub fn required<T>(
        &self,
        problems: &mut Problems,
        read: impl FnOnce(&Self, &mut Problems) -> Option<T>,
    ) -> Option<T> {
        if self.is_absent() {
            return self.refuse(problems, "is required");
        }
        read(self, problems)
    }

    /// A field that may be left out (or `null`): `Some(None)` when it was.
    pub fn optional<T>(
        &self,
        problems: &mut Problems,
        read: impl FnOnce(&Self, &mut Problems) -> Option<T>,
    ) -> Option<Option<T>> {
        if self.is_absent() {
            return Some(None);
        }
        read(self, problems).map(Some)
    }

    /// A required nested request type.
    pub fn required_of<T: ReadJson>(&self, problems: &mut Problems) -> Option<T> {
        self.required(problems, |input, problems| input.object_of(problems))
    }

    /// An optional nested request type.
    pub fn optional_of<T: ReadJson>(&self, problems: &mut Problems) -> Option<Option<T>> {
        self.optional(problems, |input, problems| input.object_of(problems))
    }

    /// A nested request type; refused when this is not an object.
    pub fn object_of<T: ReadJson>(&self, problems: &mut Problems) -> Option<T> {
        if !self.value.is_some_and(Value::is_object) {
            return self.refuse(problems, "must be an object");
        }
        T::read(self, problems)
    }

    /// A string.
    pub fn text(&self, problems: &mut Problems) -> Option<String> {
        match self.value {
            Some(Value::String(text)) => Some(text.clone()),
            _ => self.refuse(problems, "must be a string"),
        }
    }

    /// A whole number that fits `u32`.
    pub fn count(&self, problems: &mut Problems) -> Option<u32> {
        match self.value.and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => self.refuse(problems, "must be a whole number from 0 to 4294967295"),
        }
    }

    /// `true` or `false`.
    pub fn flag(&self, problems: &mut Problems) -> Option<bool> {
        match self.value {
            Some(Value::Bool(flag)) => Some(*flag),
            _ => self.refuse(problems, "must be true or false"),
        }
    }

    /// One of the names of a domain enum.
    pub fn choice<T: NamedEnum>(&self, problems: &mut Problems) -> Option<T> {
        let found = match self.value {
            Some(Value::String(text)) => T::from_name(text),
            _ => None,
        };
        match found {
            Some(value) => Some(value),
            None => self.refuse(problems, format!("must be one of: {}", T::names().join(", "))),
        }
    }

    /// An id (`store_id`, `variant_id`, ...): an opaque string this API handed out.
    pub fn id<T: FromStr>(&self, problems: &mut Problems) -> Option<T> {
        match self.value {
            Some(Value::String(text)) => match text.trim().parse() {
                Ok(id) => Some(id),
                Err(_) => self.refuse(problems, "is not an id of this API"),
            },
            _ => self.refuse(problems, "must be a string (an id)"),
        }
    }

    /// An RFC 3339 date-time (`2026-03-01T12:00:00Z`), kept in UTC.
    pub fn timestamp(&self, problems: &mut Problems) -> Option<OffsetDateTime> {
        match self.value {
            Some(Value::String(text)) => parse_timestamp(text)
                .or_else(|| self.refuse(problems, "must be an RFC 3339 date-time such as 2026-03-01T12:00:00Z")),
            _ => self.refuse(problems, "must be an RFC 3339 date-time string"),
        }
    }

    /// An ISO 4217 currency code.
    pub fn currency(&self, problems: &mut Problems) -> Option<Currency> {
        match self.value {
            Some(Value::String(text)) => Currency::parse(text.trim())
                .ok()
                .or_else(|| self.refuse(problems, "is not an ISO 4217 currency code")),
            _ => self.refuse(problems, "must be a string (an ISO 4217 currency code such as USD)"),
        }
    }

    /// An amount of money: `{"amount": "12.50", "currency": "USD"}`, read exactly.
    pub fn money(&self, problems: &mut Problems) -> Option<Money> {
        if !self.value.is_some_and(Value::is_object) {
            return self.refuse(
                problems,
                r#"must be an object such as {"amount": "12.50", "currency": "USD"}"#,
            );
        }
        let currency_input = self.field("currency");
        let amount_input = self.field("amount");
        let currency = currency_input.required(problems, Input::currency);
        let amount = amount_input.required(problems, |input, problems| match input.value {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(_)) => input.refuse(
                problems,
                r#"must be a decimal string such as "12.50" (numbers are not exact)"#,
            ),
            _ => input.refuse(problems, r#"must be a decimal string such as "12.50""#),
        });
        let (amount, currency) = (amount?, currency?);
        match Money::parse_decimal(&amount, currency) {
            Ok(money) => Some(money),
            Err(err) => amount_input.refuse(problems, err.to_string()),
        }
    }

    /// A list, each item read by `read`.
    pub fn list<T>(
        &self,
        problems: &mut Problems,
        mut read: impl FnMut(&Input<'_>, &mut Problems) -> Option<T>,
    ) -> Option<Vec<T>> {
        let Some(Value::Array(items)) = self.value else {
            return self.refuse(problems, "must be a list");
        };
        let mut out = Vec::with_capacity(items.len());
        let mut complete = true;
        for (index, value) in items.iter().enumerate() {
            match read(&self.item(index, value), problems) {
                Some(item) => out.push(item),
                None => complete = false,
            }
        }
        complete.then_some(out)
    }
}

/// Parses an RFC 3339 time into UTC.
pub fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC))
}

/// A request body, parsed as JSON but not yet read. An empty body counts as `{}`, so that a
/// body left out is answered with the list of required fields.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedJson(format!("the body could not be read: {rejection}"))
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Value::Object(serde_json::Map::new())));
        }
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|err| ApiError::MalformedJson(format!("the body is not valid JSON: {err}")))
    }
}

impl JsonBody {
    /// Reads the body as `T`: 422 listing every refused field, or the value.
    pub fn read<T: ReadJson>(&self) -> Result<T, ApiError> {
        self.read_with(|_, _| {})
    }

    /// Reads the body as `T` with an extra check of the caller's (e.g. a field required
    /// for the operator only), whose problems are listed with the others.
    pub fn read_with<T: ReadJson>(&self, extra: impl FnOnce(&Input<'_>, &mut Problems)) -> Result<T, ApiError> {
        let mut problems = Problems::default();
        let root = Input::root(&self.0);
        let value = root.object_of(&mut problems);
        if self.0.is_object() {
            extra(&root, &mut problems);
        }
        problems.finish(value)
    }
}

/// The query string as name → value (the last one wins when a name repeats).
pub struct QueryParams(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|err| ApiError::MalformedQuery(format!("the query string cannot be read: {err}")))?;
        Ok(Self(pairs.into_iter().collect()))
    }
}

impl QueryParams {
    /// A parameter read by `parse`; an empty value counts as absent.
    pub fn get<T>(
        &self,
        problems: &mut Problems,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())?;
        match parse(text) {
            Ok(value) => Some(value),
            Err(reason) => {
                problems.push(name, reason);
                None
            }
        }
    }
}

/// Query parser of an id.
pub fn parse_id<T: FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| "is not an id of this API".to_string())
}

/// Query parser of a domain enum.
pub fn parse_choice<T: NamedEnum>(text: &str) -> Result<T, String> {
    T::from_name(text).ok_or_else(|| format!("must be one of: {}", T::names().join(", ")))
}

/// Query parser of a page size.
pub fn parse_limit(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n @ 1..=500) => Ok(n),
        _ => Err("must be a whole number from 1 to 500".to_string()),
    }
}

/// Query parser of a time.
pub fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    parse_timestamp(text).ok_or_else(|| "must be an RFC 3339 date-time such as 2026-03-01T12:00:00Z".to_string())
}

/// A path id: an id that cannot be parsed names nothing, so it is "not found" like any
/// other unknown id.
pub fn path_id<T: FromStr>(text: &str, what: &'static str) -> Result<T, ApiError> {
    text.trim().parse().map_err(|_| ApiError::not_found(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Sample {
        name: String,
        price: Money,
        lines: Vec<u32>,
    }

    impl ReadJson for Sample {
        fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
            let name = input.field("name").required(problems, Input::text);
            let price = input.field("price").required(problems, Input::money);
            let lines = input.field("lines").required(problems, |input, problems| {
                input.list(problems, |item, problems| {
                    item.field("quantity").required(problems, Input::count)
                })
            });
            Some(Self {
                name: name?,
                price: price?,
                lines: lines?,
            })
        }
    }

    fn problems_of(value: Value) -> Vec<(String, String)> {
        match JsonBody(value).read::<Sample>() {
            Ok(_) => Vec::new(),
            Err(ApiError::App(dropline_app::AppError::Invalid(fields))) => {
                fields.into_iter().map(|f| (f.field, f.reason)).collect()
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_problem_is_listed_with_its_path() {
        let found = problems_of(json!({
            "price": {"amount": 12.5, "currency": "XXY"},
            "lines": [{"quantity": 1}, {"quantity": -1}, {}],
            "unknown": "ignored",
        }));
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "price.currency",
                "price.amount",
                "lines[1].quantity",
                "lines[2].quantity"
            ],
            "{found:?}"
        );
    }

    #[test]
    fn a_valid_body_reads_exactly() {
        let sample =
            JsonBody(json!({"name": "x", "price": {"amount": "12.50", "currency": "USD"}, "lines": [{"quantity": 3}]}))
                .read::<Sample>()
                .ok();
        let sample = sample.expect("valid");
        assert_eq!(sample.name, "x");
        assert_eq!(sample.price.minor, 1250);
        assert_eq!(sample.lines, [3]);
    }

    #[test]
    fn amounts_with_too_many_decimals_are_refused() {
        let found = problems_of(json!({"name": "x", "price": {"amount": "1.234", "currency": "USD"}, "lines": []}));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "price.amount");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        assert_eq!(problems_of(json!([1, 2]))[0].0, "body");
    }
}
