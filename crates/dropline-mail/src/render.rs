//! Email templates: the defaults embedded in the binary, a store's overrides read from disk
//! at run time, and the data each template sees.
//!
//! Why minijinja and not askama (the project's HTML templates): a seller changes the wording
//! of their emails without a new build, by dropping files in the override folder, so the
//! templates must be parsed at run time. The same engine renders the embedded defaults, so a
//! seller's override is written in the very language of the file it replaces.
//!
//! Layout of the override folder: `{dir}/{store_id}/{file}`, where `file` is one of a
//! template's three parts (`shipped.subject.txt`, `shipped.html`, `shipped.txt`) or a shared
//! piece (`layout.html`, `layout.txt`, `components.html`, `components.txt`). A file present
//! there replaces the default of the same name for that store; the others stay.

use dropline_domain::catalog::Store as Shop;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, ValueKind};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde_json::{Map, Value as Json};
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// A rendered email: one-line subject, HTML body, plain-text body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Why a template did not render. Always a problem of the template (a store's override, or
/// a template name the engine should not have used), never of the data: missing data
/// renders as nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// Neither a default nor the store's override folder has this template.
    #[error("unknown email template {0:?}")]
    UnknownTemplate(String),
    /// A file does not parse, does not render, or cannot be read.
    #[error("email template {template:?}: {file}: {detail}")]
    Template {
        template: String,
        /// The override's path, or `default {name}` for an embedded file.
        file: String,
        detail: String,
    },
}

macro_rules! embedded {
    (shared: [$($shared:literal),* $(,)?], customer: [$($customer:literal),* $(,)?], seller: [$($seller:literal),* $(,)?] $(,)?) => {
        /// The templates a customer receives, in the store's name.
        pub const CUSTOMER_TEMPLATES: &[&str] = &[$($customer),*];
        /// The templates the seller receives.
        pub const SELLER_TEMPLATES: &[&str] = &[$($seller),*];
        /// Every embedded file, by name.
        static DEFAULTS: &[(&str, &str)] = &[
            $(($shared, include_str!(concat!("../templates/", $shared))),)*
            $(
                (concat!($customer, ".subject.txt"), include_str!(concat!("../templates/", $customer, ".subject.txt"))),
                (concat!($customer, ".html"), include_str!(concat!("../templates/", $customer, ".html"))),
                (concat!($customer, ".txt"), include_str!(concat!("../templates/", $customer, ".txt"))),
            )*
            $(
                (concat!($seller, ".subject.txt"), include_str!(concat!("../templates/", $seller, ".subject.txt"))),
                (concat!($seller, ".html"), include_str!(concat!("../templates/", $seller, ".html"))),
                (concat!($seller, ".txt"), include_str!(concat!("../templates/", $seller, ".txt"))),
            )*
        ];
    };
}

embedded! {
    shared: ["layout.html", "layout.txt", "components.html", "components.txt"],
    customer: [
        "order_received",
        "order_confirmed",
        "shipped",
        "delayed",
        "out_for_delivery",
        "delivered",
        "delivery_failed",
        "cancelled",
        "refund_issued",
        "return_approved",
        "replacement_on_its_way",
    ],
    seller: [
        "seller_new_order",
        "seller_needs_attention",
        "seller_digest",
        "seller_message_failed",
        "seller_dispute_due",
    ],
}

/// The three parts of a template, by file suffix.
const PARTS: [&str; 3] = [".subject.txt", ".html", ".txt"];

/// Renders `template` for `store` with the message's `data`. `overrides` is the folder of
/// per-store overrides (`{overrides}/{store_id}/{file}`), read on every call so a seller's
/// change applies to the next email.
///
/// The data the template sees is `data` (an object; `null` fields dropped, so they count as
/// missing) with a `brand` object added from the store: `{name, logo_url, support_email,
/// website_url}`, `name` being the brand's display name or else the store's name.
pub fn render(
    template: &str,
    store: &Shop,
    data: &Json,
    overrides: Option<&Path>,
) -> Result<RenderedEmail, RenderError> {
    if !is_template_name(template) {
        return Err(RenderError::UnknownTemplate(template.to_string()));
    }
    let store_dir = overrides.map(|dir| dir.join(store.id.to_string()));
    let exists = |suffix: &str| {
        let file = format!("{template}{suffix}");
        default_source(&file).is_some() || store_dir.as_ref().is_some_and(|dir| dir.join(&file).is_file())
    };
    if !PARTS.iter().any(|suffix| exists(suffix)) {
        return Err(RenderError::UnknownTemplate(template.to_string()));
    }

    let env = environment(store_dir.clone());
    let context = Value::from(Serde(context(store, data)));
    let render_part = |suffix: &str| -> Result<String, RenderError> {
        let name = format!("{template}{suffix}");
        env.get_template(&name)
            .and_then(|compiled| compiled.render(&context))
            .map_err(|error| template_error(template, &name, &error, store_dir.as_deref()))
    };

    let subject = render_part(PARTS[0])?.split_whitespace().collect::<Vec<_>>().join(" ");
    if subject.is_empty() {
        return Err(RenderError::Template {
            template: template.to_string(),
            file: file_label(&format!("{template}{}", PARTS[0]), store_dir.as_deref()),
            detail: "the subject renders empty".to_string(),
        });
    }
    let html = render_part(PARTS[1])?.trim().to_string() + "\n";
    let text = tidy_text(&render_part(PARTS[2])?);
    Ok(RenderedEmail { subject, html, text })
}

/// The name the customer sees: the brand's display name, else the store's name.
pub(crate) fn brand_name(store: &Shop) -> String {
    non_empty(&store.settings.brand.display_name)
        .unwrap_or(store.name.trim())
        .to_string()
}

/// The trimmed text of an optional setting, `None` when unset or blank.
pub(crate) fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The data a template sees.
fn context(store: &Shop, data: &Json) -> Json {
    let mut root = match without_nulls(data) {
        Json::Object(map) => map,
        _ => Map::new(),
    };
    // The engine wrote `order_received` with flat fields before the `order` object existed:
    // such messages are still in outboxes, so they render the same.
    if !root.contains_key("order") {
        let mut order = Map::new();
        for (flat, field) in [
            ("order_number", "number"),
            ("customer_name", "customer_name"),
            ("total", "total"),
        ] {
            if let Some(value) = root.get(flat) {
                order.insert(field.to_string(), value.clone());
            }
        }
        if !order.is_empty() {
            root.insert("order".to_string(), Json::Object(order));
        }
    }
    let brand = &store.settings.brand;
    let mut brand_data = Map::new();
    brand_data.insert("name".to_string(), Json::String(brand_name(store)));
    for (key, value) in [
        ("logo_url", &brand.logo_url),
        ("support_email", &brand.support_email),
        ("website_url", &brand.website_url),
    ] {
        if let Some(value) = non_empty(value) {
            brand_data.insert(key.to_string(), Json::String(value.to_string()));
        }
    }
    // The mailer's brand wins over any `brand` in the data: it is the store's, as configured.
    root.insert("brand".to_string(), Json::Object(brand_data));
    Json::Object(root)
}

/// `data` with every `null` removed, so an unset field is missing (renders as nothing,
/// tests false) rather than `none`.
fn without_nulls(data: &Json) -> Json {
    match data {
        Json::Object(map) => Json::Object(
            map.iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key.clone(), without_nulls(value)))
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.iter().filter(|v| !v.is_null()).map(without_nulls).collect()),
        other => other.clone(),
    }
}

fn environment(store_dir: Option<PathBuf>) -> Environment<'static> {
    let mut env = Environment::new();
    // HTML-escape every value printed in a `.html` file: a customer's name or a product
    // title is text typed by someone else and may hold `<script>`. The subject and the
    // `.txt` part are plain text, where escaping would show `&amp;` to the reader.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    // minijinja's HTML escaping also writes `/` as `&#x2f;`, which turns every link of an
    // email into entities (valid, but unreadable in the source and to some link checkers).
    // `& < > " '` are the characters that matter in text and in quoted attributes.
    // `none` (a template's own, as data has none) prints as nothing, like a missing field.
    env.set_formatter(|out, state, value| {
        if value.is_undefined() || value.is_none() {
            return Ok(());
        }
        if *state.auto_escape() == AutoEscape::Html && !value.is_safe() {
            return out
                .write_str(&escape_html(&value.to_string()))
                .map_err(minijinja::Error::from);
        }
        minijinja::escape_formatter(out, state, value)
    });
    // Any field of the data may be missing: `order.number` on a message without `order`
    // renders as nothing instead of failing the email.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    // Block tags on their own lines leave no blank lines behind (the only way to keep the
    // plain-text part readable). Building this syntax cannot fail: it keeps the delimiters.
    let syntax = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build();
    env.set_syntax(syntax.unwrap_or_default());
    env.add_filter("date", filter_date);
    env.add_filter("age", filter_age);
    env.add_filter("humanize", filter_humanize);
    env.add_filter("http_url", filter_http_url);
    env.add_filter("count", filter_count);
    env.set_loader(move |name| load(store_dir.as_deref(), name));
    env
}

/// The store's override of `name` when it has one, else the default.
fn load(store_dir: Option<&Path>, name: &str) -> Result<Option<String>, minijinja::Error> {
    // Only the files of the documented layout: an `{% include "../x" %}` in an override
    // finds nothing instead of reading outside the store's folder.
    if !is_file_name(name) {
        return Ok(None);
    }
    if let Some(dir) = store_dir {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(source) => return Ok(Some(source)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("cannot read {}: {error}", path.display()),
                ));
            }
        }
    }
    Ok(default_source(name).map(str::to_string))
}

fn default_source(name: &str) -> Option<&'static str> {
    DEFAULTS
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, source)| *source)
}

/// A template name: lowercase letters, digits and `_`.
fn is_template_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A file of the override layout: a template name and one of the part suffixes.
fn is_file_name(name: &str) -> bool {
    PARTS
        .iter()
        .any(|suffix| name.strip_suffix(suffix).is_some_and(is_template_name))
}

/// Names the file an error comes from: the override when the store has one, else the
/// default.
fn file_label(name: &str, store_dir: Option<&Path>) -> String {
    match store_dir.map(|dir| dir.join(name)) {
        Some(path) if path.is_file() => path.display().to_string(),
        _ => format!("default {name}"),
    }
}

fn template_error(template: &str, part: &str, error: &minijinja::Error, store_dir: Option<&Path>) -> RenderError {
    let file = file_label(error.name().unwrap_or(part), store_dir);
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    RenderError::Template {
        template: template.to_string(),
        file,
        detail,
    }
}

/// The plain-text part without trailing spaces and with at most one blank line in a row
/// (templates leave a few where an optional paragraph is missing).
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Text made safe for HTML content and double- or single-quoted attributes.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `2026-12-04T10:00:00Z` or `2026-12-04` → `4 December 2026`; anything else unchanged.
fn filter_date(value: Value) -> Value {
    let Some(text) = value.as_str() else {
        return value;
    };
    let day = OffsetDateTime::parse(text, &Rfc3339)
        .map(|at| at.date())
        .or_else(|_| Date::parse(text, format_description!("[year]-[month]-[day]")));
    match day {
        Ok(day) => Value::from(format!("{} {} {}", day.day(), day.month(), day.year())),
        Err(_) => value,
    }
}

/// Hours → `1 hour`, `30 hours`, `3 days` (days from 48 hours on).
fn filter_age(value: Value) -> Value {
    let hours = match value.as_i64() {
        Some(hours) => hours,
        None => match f64::try_from(value.clone()) {
            // Whole hours are enough for a digest.
            Ok(hours) if hours.is_finite() => hours.floor() as i64,
            _ => return value,
        },
    };
    let text = match hours {
        1 => "1 hour".to_string(),
        h if h < 48 => format!("{h} hours"),
        h => format!("{} days", h / 24),
    };
    Value::from(text)
}

/// `contact_supplier` → `Contact supplier`.
fn filter_humanize(value: Value) -> Value {
    let Some(text) = value.as_str() else {
        return value;
    };
    let spaced = text.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => Value::from(first.to_uppercase().chain(chars).collect::<String>()),
        None => value,
    }
}

/// The value when it is an `http://` or `https://` address, else undefined: no
/// `javascript:` link reaches an email.
fn filter_http_url(value: Value) -> Value {
    let is_http = value.as_str().is_some_and(|text| {
        let lower = text.trim_start().to_ascii_lowercase();
        lower.starts_with("https://") || lower.starts_with("http://")
    });
    if is_http { value } else { Value::UNDEFINED }
}

/// The number of items of a list (0 for anything else, a missing list included).
fn filter_count(value: Value) -> usize {
    match value.kind() {
        ValueKind::Seq | ValueKind::Map => value.len().unwrap_or(0),
        _ => 0,
    }
}
