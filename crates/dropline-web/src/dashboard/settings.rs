//! The Store settings page (`GET /settings`) and its forms, for sellers (their own store)
//! and the operator (any store, picked with `?store=ID`; the first store without one). Staff
//! are refused every route, reading included.
//!
//! Each section is its own form: `POST /settings/automation`, `/settings/brand`,
//! `/settings/notifications`, `/settings/returns` and `/settings/clocks` replace that part
//! of the settings through
//! [`App::update_store_settings`](dropline_app::App::update_store_settings), whose rules
//! ([`dropline_app::store_settings`]) are the API's too; the dashboard only turns the form's
//! text into values (numbers, percentages, amounts) first. A refused form is shown
//! again with 422, as typed, each refused field with its reason; a saved one answers 303 back
//! to `/settings`, which says "Saved".
//!
//! Secrets are never shown, only how many there are: a webhook secret made by dropline and
//! a rotated API token appear once, in the answer to the form that made them (the dashboard
//! answers `Cache-Control: no-store` throughout).
//!
//! Every form carries the store's id; another store's id answers the "not found" page and
//! changes nothing, as over the API.

use super::pages::{FieldErrors, Layout, Posted, label};
use super::{Signed, failure, forbidden_csrf, message, not_found, page, refusal, see_other};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use dropline_app::ports::StoreRecord;
use dropline_app::store_settings::{check_store_settings, digest_hour_problem};
use dropline_app::{AppError, FieldError, Scope};
use dropline_domain::after_sale::ReturnReason;
use dropline_domain::catalog::{Platform, Product, RoutingPolicy, Store as Shop, StoreSettings};
use dropline_domain::ids::StoreId;
use dropline_domain::money::{Currency, Money};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(settings_page))
        .route("/settings/{section}", post(save))
        .route("/settings/webhook-secret/generate", post(generate_webhook_secret))
        .route("/settings/webhook-secret/set", post(set_webhook_secret))
        .route("/settings/webhook-secret/retire", post(retire_webhook_secret))
        .route("/settings/api-token/rotate", post(rotate_api_token))
}

// ---------------------------------------------------------------------------------------------
// The form's controls
// ---------------------------------------------------------------------------------------------

/// What a control is, which decides how its text is read and how it is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Email,
    Url,
    /// A whole number.
    Number,
    /// An amount or a percentage, with decimals.
    Decimal,
    /// Several lines of text.
    Note,
    /// A checkbox.
    Switch,
}

/// One control of a form: its name (also its `id`), label and help.
struct Spec {
    name: &'static str,
    label: &'static str,
    kind: Kind,
    hint: Option<&'static str>,
}

const fn spec(name: &'static str, label: &'static str, kind: Kind, hint: Option<&'static str>) -> Spec {
    Spec {
        name,
        label,
        kind,
        hint,
    }
}

const AUTO_ACCEPT: &[Spec] = &[
    spec(
        "auto_accept_enabled",
        "Accept orders automatically when every rule below holds",
        Kind::Switch,
        Some("Off: every order waits for a person to accept it."),
    ),
    spec("require_paid", "Only paid orders", Kind::Switch, None),
    spec(
        "max_total",
        "Largest order total",
        Kind::Decimal,
        Some("In {currency}, such as 150 or 149.99. Empty: any total."),
    ),
];

const ROUTING_WEIGHTS: &[Spec] = &[
    spec("weight_margin", "Margin", Kind::Number, None),
    spec("weight_speed", "Speed", Kind::Number, None),
    spec("weight_rating", "Supplier rating", Kind::Number, None),
    spec("weight_on_time", "On-time rate", Kind::Number, None),
];

const FEES: &[Spec] = &[
    spec(
        "payment_fee_percent",
        "Payment processor's fee (%)",
        Kind::Decimal,
        Some("Its share of what the customer paid, such as 2.9. The order ledger counts it."),
    ),
    spec(
        "payment_fee_fixed",
        "Payment processor's fixed fee per order",
        Kind::Decimal,
        Some("In the store's currency, such as 0.30."),
    ),
    spec(
        "platform_fee_percent",
        "Platform's fee (%)",
        Kind::Decimal,
        Some("The platform's or marketplace's share of what the customer paid."),
    ),
    spec(
        "chargeback_fee",
        "Fee of a lost dispute",
        Kind::Decimal,
        Some("In the store's currency, on top of the disputed amount."),
    ),
];

const SUPPLIER_RULES: &[Spec] = &[
    spec(
        "supplier_price_tolerance",
        "Supplier price tolerance (%)",
        Kind::Decimal,
        Some(
            "How far above the expected cost a supplier's price may be before the supplier order waits for you, such as 5 or 2.5.",
        ),
    ),
    spec(
        "margin_floor",
        "Margin floor (%)",
        Kind::Decimal,
        Some("The lowest margin a supplier order may leave; below it the order waits for you. Empty: no floor."),
    ),
    spec(
        "supplier_note",
        "Note to suppliers",
        Kind::Note,
        Some("Sent with every supplier order, for blind dropshipping (at most 500 characters)."),
    ),
    spec(
        "storefront_notifies_customer",
        "Let the storefront email the customer when dropline writes the fulfillment back",
        Kind::Switch,
        Some("Leave off when dropline sends its own customer emails."),
    ),
];

const BRAND: &[Spec] = &[
    spec(
        "display_name",
        "Display name",
        Kind::Text,
        Some("The name customers see in emails and on the tracking page. Empty: the store's name."),
    ),
    spec(
        "logo_url",
        "Logo URL",
        Kind::Url,
        Some("An https:// address of the logo image."),
    ),
    spec(
        "from_email",
        "From email",
        Kind::Email,
        Some("The address customer emails are sent from."),
    ),
    spec(
        "reply_to",
        "Reply-to email",
        Kind::Email,
        Some("Where customers' replies go. Empty: the support email."),
    ),
    spec("support_email", "Support email", Kind::Email, None),
    spec(
        "website_url",
        "Website URL",
        Kind::Url,
        Some("The storefront's https:// address, linked from emails."),
    ),
];

const SELLER: &[Spec] = &[
    spec(
        "seller_email",
        "Your email",
        Kind::Email,
        Some("Where dropline writes to you. Empty: no seller emails."),
    ),
    spec("new_order", "An email for every new order", Kind::Switch, None),
    spec(
        "needs_attention",
        "An email when an order needs you",
        Kind::Switch,
        None,
    ),
    spec("daily_digest", "A daily digest of what is open", Kind::Switch, None),
    spec(
        "digest_hour_utc",
        "Hour of the digest (UTC, 0 to 23)",
        Kind::Number,
        None,
    ),
];

const CUSTOMER_EMAILS: &[Spec] = &[
    spec("email_order_confirmed", "Order confirmed", Kind::Switch, None),
    spec("email_shipped", "Shipped, with tracking", Kind::Switch, None),
    spec("email_delayed", "Delayed, with a new date", Kind::Switch, None),
    spec("email_out_for_delivery", "Out for delivery", Kind::Switch, None),
    spec("email_delivered", "Delivered", Kind::Switch, None),
    spec("email_delivery_failed", "Delivery failed", Kind::Switch, None),
    spec("email_cancelled", "Cancelled", Kind::Switch, None),
    spec("email_refund_issued", "Refund issued", Kind::Switch, None),
    spec(
        "email_return_approved",
        "Return approved (where to send it)",
        Kind::Switch,
        None,
    ),
    spec(
        "email_replacement_on_its_way",
        "Replacement or exchange on its way",
        Kind::Switch,
        None,
    ),
];

const EXCEPTIONS: &[Spec] = &[
    spec(
        "tell_customer_when_late",
        "Tell the customer when a parcel is late",
        Kind::Switch,
        None,
    ),
    spec(
        "switch_supplier_when_late",
        "Switch to the next supplier when one misses its shipping limit",
        Kind::Switch,
        None,
    ),
];

const CLOCKS: &[Spec] = &[
    spec(
        "placed_within_hours",
        "Paid → placed with the supplier (hours)",
        Kind::Number,
        None,
    ),
    spec(
        "accepted_within_hours",
        "Placed → accepted by the supplier (hours)",
        Kind::Number,
        None,
    ),
    spec(
        "shipped_within_hours",
        "Accepted → shipped with a tracking number (hours)",
        Kind::Number,
        None,
    ),
    spec(
        "first_scan_within_hours",
        "Shipped → the carrier's first scan (hours)",
        Kind::Number,
        None,
    ),
    spec(
        "transit_within_hours",
        "First scan → delivered (lanes without history) (hours)",
        Kind::Number,
        None,
    ),
    spec(
        "no_news_hours",
        "A moving parcel without news is stalled after (hours)",
        Kind::Number,
        None,
    ),
    spec(
        "customs_hours",
        "A parcel in customs is stuck after (hours)",
        Kind::Number,
        None,
    ),
];

const RETURNS: &[Spec] = &[
    spec(
        "return_window_days",
        "Return window (days after delivery)",
        Kind::Number,
        Some("0 to 365, the last day included; a request after it is refused. 0: the store takes no returns."),
    ),
    spec(
        "returnless_refund_up_to",
        "Refund without the item up to",
        Kind::Decimal,
        Some(
            "In {currency}: a return approved by the reasons below whose items sold for at most this is refunded at once, and the customer keeps them. Empty: never.",
        ),
    ),
];

/// One checkbox per reason, named `return_approve_<reason>`.
const RETURN_REASONS: &[Spec] = &[
    spec("return_approve_damaged", "Damaged", Kind::Switch, None),
    spec("return_approve_wrong_item", "Wrong item", Kind::Switch, None),
    spec(
        "return_approve_not_as_described",
        "Not as described",
        Kind::Switch,
        None,
    ),
    spec("return_approve_changed_mind", "Changed their mind", Kind::Switch, None),
    spec("return_approve_not_received", "Not received", Kind::Switch, None),
];

/// The checkbox of a return reason in [`RETURN_REASONS`].
fn reason_control(reason: ReturnReason) -> String {
    format!("return_approve_{reason}")
}

/// The form that owns a field outside the tables: the policy and the product allow-list.
const ROUTING_POLICY: &str = "routing_policy";
const ALLOWED_SKUS: &str = "allowed_skus";
/// The group of the four weights (the rule that one must be above zero).
const WEIGHTS_GROUP: &str = "routing_weights";
/// The secret pasted into the webhook form.
const WEBHOOK_SECRET: &str = "webhook_secret";

/// A section of the page, each its own form.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Automation,
    Brand,
    Notifications,
    Returns,
    Clocks,
}

impl Section {
    const ALL: [Self; 5] = [
        Self::Automation,
        Self::Brand,
        Self::Notifications,
        Self::Returns,
        Self::Clocks,
    ];

    fn specs(self) -> Vec<&'static Spec> {
        let groups: &[&[Spec]] = match self {
            Self::Automation => &[AUTO_ACCEPT, ROUTING_WEIGHTS, SUPPLIER_RULES, FEES],
            Self::Brand => &[BRAND],
            Self::Notifications => &[SELLER, CUSTOMER_EMAILS, EXCEPTIONS],
            Self::Returns => &[RETURNS, RETURN_REASONS],
            Self::Clocks => &[CLOCKS],
        };
        groups.iter().flat_map(|group| group.iter()).collect()
    }

    /// The name in the address after saving (`?saved=`) and the page's anchor.
    fn slug(self) -> &'static str {
        match self {
            Self::Automation => "automation",
            Self::Brand => "brand",
            Self::Notifications => "notifications",
            Self::Returns => "returns",
            Self::Clocks => "clocks",
        }
    }
}

/// The "Saved" notice of `?saved=`.
fn saved_notice(slug: &str) -> Option<&'static str> {
    Some(match slug {
        "automation" => "Saved: the automation settings.",
        "brand" => "Saved: the brand of customer messages.",
        "notifications" => "Saved: the emails and notifications.",
        "returns" => "Saved: the return rules.",
        "clocks" => "Saved: the clock limits.",
        "secret" => {
            "Saved: the platform's secret is the current one; the previous one is still accepted until you retire it."
        }
        "retired" => "Saved: only the newest webhook secret is accepted now.",
        _ => return None,
    })
}

/// The form control named by a field of the settings, as the rules name it
/// (`settings.brand.logo_url` → `logo_url`).
fn form_field(path: &str) -> String {
    let path = path.strip_prefix("settings.").unwrap_or(path);
    let name = match path {
        "auto_accept.enabled" => "auto_accept_enabled",
        "auto_accept.require_paid" => "require_paid",
        "auto_accept.max_total_minor" => "max_total",
        "auto_accept.allowed_skus" => ALLOWED_SKUS,
        "routing_weights.margin" => "weight_margin",
        "routing_weights.speed" => "weight_speed",
        "routing_weights.rating" => "weight_rating",
        "routing_weights.on_time" => "weight_on_time",
        "supplier_price_tolerance_bp" => "supplier_price_tolerance",
        "margin_floor_bp" => "margin_floor",
        "fees.payment_bp" => "payment_fee_percent",
        "fees.platform_bp" => "platform_fee_percent",
        "fees.payment_fixed" => "payment_fee_fixed",
        "fees.chargeback_fee" => "chargeback_fee",
        "seller_notifications.email" => "seller_email",
        "returns.window_days" => "return_window_days",
        "returns.returnless_refund_up_to" => "returnless_refund_up_to",
        _ if path.starts_with("customer_emails.") => {
            return format!("email_{}", path.trim_start_matches("customer_emails."));
        }
        _ if path.starts_with("webhook_secret") => WEBHOOK_SECRET,
        _ => path.rsplit('.').next().unwrap_or(path),
    };
    name.to_string()
}

// ---------------------------------------------------------------------------------------------
// What the form holds
// ---------------------------------------------------------------------------------------------

/// The text of every control of the page (and which checkboxes are ticked): from the stored
/// settings, or as typed for the section that was posted.
#[derive(Default)]
struct Values {
    text: HashMap<&'static str, String>,
    on: HashSet<&'static str>,
    policy: String,
    skus: Vec<String>,
}

impl Values {
    fn stored(store: &Shop) -> Self {
        let s = &store.settings;
        let mut values = Self {
            policy: s.routing_policy.as_str().to_string(),
            skus: s.auto_accept.allowed_skus.clone(),
            ..Self::default()
        };
        let mut text = |name: &'static str, value: String| {
            values.text.insert(name, value);
        };
        text(
            "max_total",
            s.auto_accept
                .max_total_minor
                .map(|minor| amount(minor, store.currency))
                .unwrap_or_default(),
        );
        text("weight_margin", s.routing_weights.margin.to_string());
        text("weight_speed", s.routing_weights.speed.to_string());
        text("weight_rating", s.routing_weights.rating.to_string());
        text("weight_on_time", s.routing_weights.on_time.to_string());
        text("supplier_price_tolerance", percent(s.supplier_price_tolerance_bp));
        text("margin_floor", s.margin_floor_bp.map(percent).unwrap_or_default());
        text("supplier_note", s.supplier_note.clone().unwrap_or_default());
        text("payment_fee_percent", percent(s.fees.payment_bp));
        text("payment_fee_fixed", amount(s.fees.payment_fixed_minor, store.currency));
        text("platform_fee_percent", percent(s.fees.platform_bp));
        text("chargeback_fee", amount(s.fees.chargeback_fee_minor, store.currency));
        text("return_window_days", s.returns.window_days.to_string());
        text(
            "returnless_refund_up_to",
            s.returns
                .returnless_refund_up_to_minor
                .map(|minor| amount(minor, store.currency))
                .unwrap_or_default(),
        );
        for spec in RETURN_REASONS {
            if s.returns
                .auto_approve_reasons
                .iter()
                .any(|reason| reason_control(*reason) == spec.name)
            {
                values.on.insert(spec.name);
            }
        }
        let b = &s.brand;
        for (name, value) in [
            ("display_name", &b.display_name),
            ("logo_url", &b.logo_url),
            ("from_email", &b.from_email),
            ("reply_to", &b.reply_to),
            ("support_email", &b.support_email),
            ("website_url", &b.website_url),
        ] {
            text(name, value.clone().unwrap_or_default());
        }
        let n = &s.seller_notifications;
        text("seller_email", n.email.clone().unwrap_or_default());
        text("digest_hour_utc", n.digest_hour_utc.to_string());
        let c = s.clocks;
        for (name, hours) in [
            ("placed_within_hours", c.placed_within_hours),
            ("accepted_within_hours", c.accepted_within_hours),
            ("shipped_within_hours", c.shipped_within_hours),
            ("first_scan_within_hours", c.first_scan_within_hours),
            ("transit_within_hours", c.transit_within_hours),
            ("no_news_hours", c.no_news_hours),
            ("customs_hours", c.customs_hours),
        ] {
            text(name, hours.to_string());
        }
        let e = s.customer_emails;
        let x = s.exception_automation;
        for (name, on) in [
            ("auto_accept_enabled", s.auto_accept.enabled),
            ("require_paid", s.auto_accept.require_paid),
            ("storefront_notifies_customer", s.storefront_notifies_customer),
            ("new_order", n.new_order),
            ("needs_attention", n.needs_attention),
            ("daily_digest", n.daily_digest),
            ("email_order_confirmed", e.order_confirmed),
            ("email_shipped", e.shipped),
            ("email_delayed", e.delayed),
            ("email_out_for_delivery", e.out_for_delivery),
            ("email_delivered", e.delivered),
            ("email_delivery_failed", e.delivery_failed),
            ("email_cancelled", e.cancelled),
            ("email_refund_issued", e.refund_issued),
            ("email_return_approved", e.return_approved),
            ("email_replacement_on_its_way", e.replacement_on_its_way),
            ("tell_customer_when_late", x.tell_customer_when_late),
            ("switch_supplier_when_late", x.switch_supplier_when_late),
        ] {
            if on {
                values.on.insert(name);
            }
        }
        values
    }

    /// The posted section's controls as typed.
    fn overlay(&mut self, section: Section, form: &Posted) {
        for spec in section.specs() {
            if spec.kind == Kind::Switch {
                if form.flag(spec.name) {
                    self.on.insert(spec.name);
                } else {
                    self.on.remove(spec.name);
                }
            } else {
                self.text.insert(spec.name, form.raw(spec.name).to_string());
            }
        }
        if section == Section::Automation {
            self.policy = form.raw(ROUTING_POLICY).to_string();
            self.skus = form.values(ALLOWED_SKUS).map(str::to_string).collect();
        }
    }
}

/// An amount in minor units as typed in a form (`149.99`, without the currency).
fn amount(minor: i64, currency: Currency) -> String {
    Money::new(minor, currency).amount_string()
}

/// Basis points as a percentage (`250` → `2.5`).
fn percent(bp: u32) -> String {
    let (whole, hundredths) = (bp / 100, bp % 100);
    match hundredths {
        0 => whole.to_string(),
        h if h % 10 == 0 => format!("{whole}.{}", h / 10),
        h => format!("{whole}.{h:02}"),
    }
}

/// A percentage with at most two decimals (`2.5`, `5 %`) in basis points; a number too large
/// for them is kept as the largest, which the rules refuse as over 100 %.
fn basis_points(text: &str) -> Option<u32> {
    let text = text.trim().trim_end_matches('%').trim_end();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 2 || text.ends_with('.') {
        return None;
    }
    let hundredths: u64 = format!("{fraction:0<2}").parse().ok()?;
    let bp = whole
        .parse::<u64>()
        .unwrap_or(u64::MAX)
        .saturating_mul(100)
        .saturating_add(hundredths);
    Some(u32::try_from(bp).unwrap_or(u32::MAX))
}

/// The settings a posted section asks for (the other sections as stored), with the fields
/// whose text is not a value at all (a word for a number); those keep their stored value.
fn read_section(section: Section, form: &Posted, store: &Shop) -> (StoreSettings, Vec<FieldError>) {
    let mut settings = store.settings.clone();
    let mut errors = Vec::new();
    let mut whole =
        |name: &'static str, reason: &'static str, into: &mut u32| match form.raw(name).trim().parse::<u32>() {
            Ok(value) => *into = value,
            Err(_) => errors.push(FieldError::new(name, reason)),
        };
    match section {
        Section::Automation => {
            let weights = &mut settings.routing_weights;
            const WEIGHT: &str = "must be a whole number from 0 to 100";
            whole("weight_margin", WEIGHT, &mut weights.margin);
            whole("weight_speed", WEIGHT, &mut weights.speed);
            whole("weight_rating", WEIGHT, &mut weights.rating);
            whole("weight_on_time", WEIGHT, &mut weights.on_time);
            let rules = &mut settings.auto_accept;
            rules.enabled = form.flag("auto_accept_enabled");
            rules.require_paid = form.flag("require_paid");
            match form.text("max_total") {
                None => rules.max_total_minor = None,
                Some(text) => match Money::parse_decimal(&text, store.currency) {
                    Ok(money) => rules.max_total_minor = Some(money.minor),
                    Err(_) => errors.push(FieldError::new(
                        "max_total",
                        format!("must be an amount in {} such as 150 or 149.99", store.currency),
                    )),
                },
            }
            let mut skus: Vec<String> = Vec::new();
            for sku in form.values(ALLOWED_SKUS).map(str::trim).filter(|s| !s.is_empty()) {
                if !skus.iter().any(|known| known == sku) {
                    skus.push(sku.to_string());
                }
            }
            rules.allowed_skus = skus;
            match RoutingPolicy::parse(form.raw(ROUTING_POLICY).trim()) {
                Some(policy) => settings.routing_policy = policy,
                None => errors.push(FieldError::new(ROUTING_POLICY, "must be one of the listed policies")),
            }
            const PERCENT: &str = "must be a percentage such as 5 or 2.5";
            match form.text("supplier_price_tolerance").map(|t| basis_points(&t)) {
                Some(Some(bp)) => settings.supplier_price_tolerance_bp = bp,
                Some(None) => errors.push(FieldError::new("supplier_price_tolerance", PERCENT)),
                None => errors.push(FieldError::new(
                    "supplier_price_tolerance",
                    "must not be empty: a percentage such as 5 (0 holds every price rise)",
                )),
            }
            match form.text("margin_floor").map(|t| basis_points(&t)) {
                Some(Some(bp)) => settings.margin_floor_bp = Some(bp),
                Some(None) => errors.push(FieldError::new("margin_floor", PERCENT)),
                None => settings.margin_floor_bp = None,
            }
            settings.supplier_note = form.text("supplier_note");
            settings.storefront_notifies_customer = form.flag("storefront_notifies_customer");
            for (name, into) in [
                ("payment_fee_percent", &mut settings.fees.payment_bp),
                ("platform_fee_percent", &mut settings.fees.platform_bp),
            ] {
                match form.text(name).map(|t| basis_points(&t)) {
                    Some(Some(bp)) => *into = bp,
                    Some(None) => errors.push(FieldError::new(name, PERCENT)),
                    None => *into = 0,
                }
            }
            for (name, into) in [
                ("payment_fee_fixed", &mut settings.fees.payment_fixed_minor),
                ("chargeback_fee", &mut settings.fees.chargeback_fee_minor),
            ] {
                match form.text(name).map(|t| Money::parse_decimal(t.trim(), store.currency)) {
                    Some(Ok(money)) => *into = money.minor,
                    Some(Err(_)) => errors.push(FieldError::new(
                        name,
                        "must be an amount in the store's currency, such as 0.30",
                    )),
                    None => *into = 0,
                }
            }
        }
        Section::Brand => {
            let brand = &mut settings.brand;
            brand.display_name = form.text("display_name");
            brand.logo_url = form.text("logo_url");
            brand.from_email = form.text("from_email");
            brand.reply_to = form.text("reply_to");
            brand.support_email = form.text("support_email");
            brand.website_url = form.text("website_url");
        }
        Section::Notifications => {
            let n = &mut settings.seller_notifications;
            n.email = form.text("seller_email");
            n.new_order = form.flag("new_order");
            n.needs_attention = form.flag("needs_attention");
            n.daily_digest = form.flag("daily_digest");
            const HOUR: &str = "must be a whole hour from 0 to 23";
            match form.raw("digest_hour_utc").trim().parse::<u32>() {
                Ok(hour) => match u8::try_from(hour) {
                    Ok(hour) => n.digest_hour_utc = hour,
                    Err(_) => errors.push(FieldError::new(
                        "digest_hour_utc",
                        digest_hour_problem(hour).unwrap_or(HOUR),
                    )),
                },
                Err(_) => errors.push(FieldError::new("digest_hour_utc", HOUR)),
            }
            let e = &mut settings.customer_emails;
            e.order_confirmed = form.flag("email_order_confirmed");
            e.shipped = form.flag("email_shipped");
            e.delayed = form.flag("email_delayed");
            e.out_for_delivery = form.flag("email_out_for_delivery");
            e.delivered = form.flag("email_delivered");
            e.delivery_failed = form.flag("email_delivery_failed");
            e.cancelled = form.flag("email_cancelled");
            e.refund_issued = form.flag("email_refund_issued");
            e.return_approved = form.flag("email_return_approved");
            e.replacement_on_its_way = form.flag("email_replacement_on_its_way");
            let x = &mut settings.exception_automation;
            x.tell_customer_when_late = form.flag("tell_customer_when_late");
            x.switch_supplier_when_late = form.flag("switch_supplier_when_late");
        }
        Section::Returns => {
            let returns = &mut settings.returns;
            whole(
                "return_window_days",
                "must be a whole number of days, from 0 to 365",
                &mut returns.window_days,
            );
            returns.auto_approve_reasons = ReturnReason::ALL
                .iter()
                .copied()
                .filter(|reason| form.flag(&reason_control(*reason)))
                .collect();
            match form
                .text("returnless_refund_up_to")
                .map(|t| Money::parse_decimal(t.trim(), store.currency))
            {
                Some(Ok(money)) => returns.returnless_refund_up_to_minor = Some(money.minor),
                Some(Err(_)) => errors.push(FieldError::new(
                    "returnless_refund_up_to",
                    format!("must be an amount in {} such as 5 or 4.99", store.currency),
                )),
                None => returns.returnless_refund_up_to_minor = None,
            }
        }
        Section::Clocks => {
            let c = &mut settings.clocks;
            const HOURS: &str = "must be a whole number of hours, from 1 to 8760";
            whole("placed_within_hours", HOURS, &mut c.placed_within_hours);
            whole("accepted_within_hours", HOURS, &mut c.accepted_within_hours);
            whole("shipped_within_hours", HOURS, &mut c.shipped_within_hours);
            whole("first_scan_within_hours", HOURS, &mut c.first_scan_within_hours);
            whole("transit_within_hours", HOURS, &mut c.transit_within_hours);
            whole("no_news_hours", HOURS, &mut c.no_news_hours);
            whole("customs_hours", HOURS, &mut c.customs_hours);
        }
    }
    (settings, errors)
}

/// The rules' refusals named by form control, after the form's own; one reason a control.
fn merge_errors(mut errors: Vec<FieldError>, refused: Vec<FieldError>) -> Vec<FieldError> {
    for error in refused {
        let field = form_field(&error.field);
        if !errors.iter().any(|e| e.field == field) {
            errors.push(FieldError::new(field, error.reason));
        }
    }
    errors
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

/// One control as drawn.
pub(super) struct Control {
    name: &'static str,
    label: String,
    /// `text`, `email`, `url`, `number`, `checkbox`, or `textarea`.
    kind: &'static str,
    inputmode: &'static str,
    value: String,
    checked: bool,
    hint: Option<String>,
    error: Option<String>,
    /// The ids of the hint and the error, for `aria-describedby`.
    described_by: String,
}

fn described_by(name: &str, hint: bool, error: bool) -> String {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{name}-hint"));
    }
    if error {
        ids.push(format!("{name}-error"));
    }
    ids.join(" ")
}

pub(super) struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// A product variant of the allow-list.
pub(super) struct SkuOption {
    id: String,
    sku: String,
    label: String,
    checked: bool,
}

pub(super) struct WebhookView {
    /// Where the platform must send webhooks.
    path: String,
    count: usize,
    /// dropline may make the secret (the platform takes one typed in).
    can_generate: bool,
    can_retire: bool,
    secret_label: &'static str,
    error: Option<String>,
}

/// A refused control in the summary at the top of the page.
pub(super) struct Refused {
    /// The id of the control (or of the first of its group).
    anchor: String,
    name: String,
    reason: String,
}

/// A secret shown once.
pub(super) struct Revealed {
    title: &'static str,
    value: String,
    note: String,
}

#[derive(Template)]
#[template(path = "dashboard/settings.html")]
pub(super) struct SettingsPage {
    layout: Option<Layout>,
    operator: bool,
    stores: Vec<Choice>,
    store_id: String,
    store_name: String,
    platform: String,
    currency: String,
    saved: Option<&'static str>,
    revealed: Option<Revealed>,
    /// The session's CSRF token, in every form.
    csrf: String,
    /// Every refused control, with its label, for the summary at the top.
    summary: Vec<Refused>,
    auto_accept: Vec<Control>,
    skus: Vec<SkuOption>,
    skus_error: Option<String>,
    policies: Vec<Choice>,
    policy_error: Option<String>,
    weights: Vec<Control>,
    weights_error: Option<String>,
    supplier_rules: Vec<Control>,
    fees: Vec<Control>,
    brand: Vec<Control>,
    seller: Vec<Control>,
    customer_emails: Vec<Control>,
    exceptions: Vec<Control>,
    returns: Vec<Control>,
    return_reasons: Vec<Control>,
    clocks: Vec<Control>,
    webhooks: Option<WebhookView>,
}

/// How a page is shown: after a save, with a secret made just now, or with a refused form.
#[derive(Default)]
struct Showing<'a> {
    saved: Option<&'static str>,
    revealed: Option<Revealed>,
    posted: Option<(Section, &'a Posted)>,
    errors: Vec<FieldError>,
}

fn policy_label(policy: RoutingPolicy) -> String {
    let what = match policy {
        RoutingPolicy::CheapestLanded => "lowest cost with shipping",
        RoutingPolicy::Fastest => "fewest delivery days",
        RoutingPolicy::BestRated => "highest supplier rating",
        RoutingPolicy::PrimaryThenBackup => "the primary offer, the backup when it cannot serve",
        RoutingPolicy::Weighted => "a score of the weights below",
    };
    format!("{} ({what})", label(policy.as_str()))
}

impl SettingsPage {
    fn new(
        layout: Layout,
        record: &StoreRecord,
        stores: &[StoreRecord],
        operator: bool,
        products: &[Product],
        showing: Showing<'_>,
    ) -> Self {
        let store = &record.store;
        let mut values = Values::stored(store);
        if let Some((section, form)) = showing.posted {
            values.overlay(section, form);
        }
        let errors = FieldErrors::from(showing.errors.as_slice());
        let error = |name: &str| errors.get(name).map(str::to_string);
        let currency = store.currency.code();
        let controls = |specs: &[Spec]| -> Vec<Control> {
            specs
                .iter()
                .map(|spec| {
                    let error = error(spec.name);
                    let hint = spec.hint.map(|h| h.replace("{currency}", currency));
                    let (kind, inputmode) = match spec.kind {
                        Kind::Text => ("text", ""),
                        Kind::Email => ("email", "email"),
                        Kind::Url => ("url", "url"),
                        Kind::Number => ("text", "numeric"),
                        Kind::Decimal => ("text", "decimal"),
                        Kind::Note => ("textarea", ""),
                        Kind::Switch => ("checkbox", ""),
                    };
                    Control {
                        name: spec.name,
                        label: spec.label.to_string(),
                        kind,
                        inputmode,
                        value: values.text.get(spec.name).cloned().unwrap_or_default(),
                        checked: values.on.contains(spec.name),
                        described_by: described_by(spec.name, hint.is_some(), error.is_some()),
                        hint,
                        error,
                    }
                })
                .collect()
        };

        // The allow-list: the store's variants, and any allowed SKU no longer in the
        // catalogue (so that saving does not drop it unseen).
        let mut skus: Vec<SkuOption> = Vec::new();
        for product in products {
            for variant in &product.variants {
                skus.push(SkuOption {
                    id: String::new(),
                    sku: variant.sku.clone(),
                    label: format!("{} — {} ({})", product.title, variant.title, variant.sku),
                    checked: values.skus.contains(&variant.sku),
                });
            }
        }
        for sku in &values.skus {
            if !skus.iter().any(|option| &option.sku == sku) {
                skus.push(SkuOption {
                    id: String::new(),
                    sku: sku.clone(),
                    label: format!("{sku} (not in the catalogue)"),
                    checked: true,
                });
            }
        }
        for (i, option) in skus.iter_mut().enumerate() {
            option.id = format!("allowed_sku_{i}");
        }

        let connection = &record.connection;
        let webhooks = dropline_app::connected::is_connected_platform(store.platform).then(|| WebhookView {
            path: format!("/webhooks/{}/{}", store.platform, store.id),
            count: connection.webhook_secrets.len(),
            can_generate: matches!(store.platform, Platform::Shopify | Platform::Woocommerce),
            can_retire: connection.webhook_secrets.len() > 1,
            secret_label: if store.platform == Platform::Wix {
                "The app's public key (PEM)"
            } else {
                "The platform's secret"
            },
            error: error(WEBHOOK_SECRET),
        });

        let all_specs: Vec<&Spec> = [
            AUTO_ACCEPT,
            ROUTING_WEIGHTS,
            SUPPLIER_RULES,
            BRAND,
            SELLER,
            CUSTOMER_EMAILS,
            EXCEPTIONS,
            RETURNS,
            RETURN_REASONS,
            CLOCKS,
        ]
        .iter()
        .flat_map(|group| group.iter())
        .collect();
        let summary = errors
            .all()
            .iter()
            .map(|(field, reason)| {
                let name = match field.as_str() {
                    ROUTING_POLICY => "Routing policy".to_string(),
                    ALLOWED_SKUS => "Only these products".to_string(),
                    WEIGHTS_GROUP => "Weights".to_string(),
                    WEBHOOK_SECRET => "Webhook secret".to_string(),
                    other => all_specs
                        .iter()
                        .find(|spec| spec.name == other)
                        .map_or_else(|| label(other), |spec| spec.label.to_string()),
                };
                // The anchor of a group is its first control.
                let anchor = match field.as_str() {
                    WEIGHTS_GROUP => "weight_margin".to_string(),
                    ALLOWED_SKUS => "allowed-skus".to_string(),
                    other => other.to_string(),
                };
                Refused {
                    anchor,
                    name,
                    reason: reason.clone(),
                }
            })
            .collect();

        Self {
            csrf: layout.csrf.clone(),
            layout: Some(layout),
            operator,
            stores: stores
                .iter()
                .map(|r| Choice {
                    value: r.store.id.to_string(),
                    label: format!("{} ({})", r.store.name, r.store.platform),
                    selected: r.store.id == store.id,
                })
                .collect(),
            store_id: store.id.to_string(),
            store_name: store.name.clone(),
            platform: label(store.platform.as_str()),
            currency: currency.to_string(),
            saved: showing.saved,
            revealed: showing.revealed,
            summary,
            auto_accept: controls(AUTO_ACCEPT),
            skus,
            skus_error: error(ALLOWED_SKUS),
            policies: RoutingPolicy::ALL
                .iter()
                .map(|policy| Choice {
                    value: policy.as_str().to_string(),
                    label: policy_label(*policy),
                    selected: policy.as_str() == values.policy,
                })
                .collect(),
            policy_error: error(ROUTING_POLICY),
            weights: controls(ROUTING_WEIGHTS),
            weights_error: error(WEIGHTS_GROUP),
            supplier_rules: controls(SUPPLIER_RULES),
            fees: controls(FEES),
            brand: controls(BRAND),
            seller: controls(SELLER),
            customer_emails: controls(CUSTOMER_EMAILS),
            exceptions: controls(EXCEPTIONS),
            returns: controls(RETURNS),
            return_reasons: controls(RETURN_REASONS),
            clocks: controls(CLOCKS),
            webhooks,
        }
    }
}

/// Renders the page of `record` with `status`.
async fn show(
    state: &AppState,
    signed: &Signed,
    record: &StoreRecord,
    status: StatusCode,
    showing: Showing<'_>,
) -> Response {
    let operator = signed.scope == Scope::Operator;
    let stores = if operator {
        match state.app.list_stores(signed.scope).await {
            Ok(stores) => stores,
            Err(err) => return failure(&err),
        }
    } else {
        Vec::new()
    };
    let products = match state.app.list_products(signed.scope, Some(record.store.id)).await {
        Ok(products) => products,
        Err(err) => return refusal(signed.layout(), &err),
    };
    page(
        status,
        &SettingsPage::new(signed.layout(), record, &stores, operator, &products, showing),
    )
}

/// `/settings` of the store, with `saved` for the notice; sellers need no `store`.
fn settings_address(signed: &Signed, store_id: StoreId, saved: &str, anchor: &str) -> String {
    match signed.scope {
        Scope::Operator => format!("/settings?store={store_id}&saved={saved}#{anchor}"),
        Scope::Store(_) => format!("/settings?saved={saved}#{anchor}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct SettingsQuery {
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

/// The store named in an address or a form, else the seller's own store or the operator's
/// first; `Ok(None)` when the operator has no store yet. Another store's id, or no id at
/// all, is the "not found" page.
pub(super) async fn chosen_store(
    state: &AppState,
    signed: &Signed,
    named: Option<&str>,
) -> Result<Option<StoreRecord>, Response> {
    let id = match named.map(str::trim).filter(|id| !id.is_empty()) {
        Some(text) => match text.parse::<StoreId>() {
            Ok(id) => id,
            Err(_) => return Err(not_found(Some(signed.layout()))),
        },
        None => match signed.scope {
            Scope::Store(own) => own,
            Scope::Operator => {
                return match state.app.list_stores(signed.scope).await {
                    Ok(stores) => Ok(stores.into_iter().next()),
                    Err(err) => Err(failure(&err)),
                };
            }
        },
    };
    match state.app.get_store(signed.scope, id).await {
        Ok(record) => Ok(Some(record)),
        Err(err) => Err(refusal(signed.layout(), &err)),
    }
}

async fn settings_page(State(state): State<AppState>, signed: Signed, Query(query): Query<SettingsQuery>) -> Response {
    if !signed.may_change_settings() {
        return signed.refused();
    }
    let record = match chosen_store(&state, &signed, query.store.as_deref()).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            return message(
                StatusCode::OK,
                Some(signed.layout()),
                "Settings",
                "There is no store yet: create one first.",
            );
        }
        Err(response) => return response,
    };
    let showing = Showing {
        saved: query.saved.as_deref().and_then(saved_notice),
        ..Showing::default()
    };
    show(&state, &signed, &record, StatusCode::OK, showing).await
}

/// What every form checks before anything else: the CSRF token, then the role, then the
/// store it names (the seller's own when it names none).
async fn posted_store(state: &AppState, signed: &Signed, form: &Posted) -> Result<StoreRecord, Response> {
    if !signed.csrf_ok(form.get("csrf")) {
        return Err(forbidden_csrf(signed.layout()));
    }
    if !signed.may_change_settings() {
        return Err(signed.refused());
    }
    // The operator's forms always name their store: one that does not is not applied to
    // whichever store happens to be first.
    let named = form.text("store");
    if named.is_none() && signed.scope == Scope::Operator {
        return Err(not_found(Some(signed.layout())));
    }
    match chosen_store(state, signed, named.as_deref()).await? {
        Some(record) => Ok(record),
        None => Err(not_found(Some(signed.layout()))),
    }
}

async fn save_section(state: AppState, signed: Signed, form: Posted, section: Section) -> Response {
    let record = match posted_store(&state, &signed, &form).await {
        Ok(record) => record,
        Err(response) => return response,
    };
    let (settings, unreadable) = read_section(section, &form, &record.store);
    let errors = merge_errors(unreadable, check_store_settings(&settings));
    let refused = |errors: Vec<FieldError>| {
        let showing = Showing {
            posted: Some((section, &form)),
            errors,
            ..Showing::default()
        };
        show(&state, &signed, &record, StatusCode::UNPROCESSABLE_ENTITY, showing)
    };
    if !errors.is_empty() {
        return refused(errors).await;
    }
    let id = record.store.id;
    match state.app.update_store_settings(signed.scope, id, settings, None).await {
        Ok(_) => see_other(&settings_address(&signed, id, section.slug(), section.slug())),
        Err(AppError::Invalid(fields)) => refused(merge_errors(Vec::new(), fields)).await,
        Err(err) => refusal(signed.layout(), &err),
    }
}

/// `POST /settings/{automation|brand|notifications|clocks}`.
async fn save(
    State(state): State<AppState>,
    signed: Signed,
    Path(section): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Some(section) = Section::ALL.into_iter().find(|s| s.slug() == section) else {
        return not_found(Some(signed.layout()));
    };
    save_section(state, signed, Posted(form), section).await
}

/// The page again with the use case's refusal of a webhook form next to its secret field
/// (422), or the refusal's own page.
async fn webhook_refused(state: &AppState, signed: &Signed, record: &StoreRecord, err: AppError) -> Response {
    match err {
        AppError::Invalid(fields) => {
            let showing = Showing {
                errors: merge_errors(Vec::new(), fields),
                ..Showing::default()
            };
            show(state, signed, record, StatusCode::UNPROCESSABLE_ENTITY, showing).await
        }
        err => refusal(signed.layout(), &err),
    }
}

async fn generate_webhook_secret(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Posted(form);
    let record = match posted_store(&state, &signed, &form).await {
        Ok(record) => record,
        Err(response) => return response,
    };
    match state.app.rotate_webhook_secret(signed.scope, record.store.id).await {
        Ok((record, secret)) => {
            let revealed = Revealed {
                title: "New webhook secret",
                value: secret,
                note: format!(
                    "Paste it into {} as the webhook secret now: it is shown only this once. The previous secret is still accepted until you retire it.",
                    label(record.store.platform.as_str())
                ),
            };
            let showing = Showing {
                revealed: Some(revealed),
                ..Showing::default()
            };
            show(&state, &signed, &record, StatusCode::OK, showing).await
        }
        Err(err) => webhook_refused(&state, &signed, &record, err).await,
    }
}

async fn set_webhook_secret(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Posted(form);
    let record = match posted_store(&state, &signed, &form).await {
        Ok(record) => record,
        Err(response) => return response,
    };
    let secret = form.raw(WEBHOOK_SECRET);
    match state
        .app
        .set_webhook_secret(signed.scope, record.store.id, secret)
        .await
    {
        Ok(_) => see_other(&settings_address(&signed, record.store.id, "secret", "webhooks")),
        Err(err) => webhook_refused(&state, &signed, &record, err).await,
    }
}

async fn retire_webhook_secret(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Posted(form);
    let record = match posted_store(&state, &signed, &form).await {
        Ok(record) => record,
        Err(response) => return response,
    };
    match state.app.retire_webhook_secret(signed.scope, record.store.id).await {
        Ok(_) => see_other(&settings_address(&signed, record.store.id, "retired", "webhooks")),
        Err(err) => webhook_refused(&state, &signed, &record, err).await,
    }
}

async fn rotate_api_token(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Posted(form);
    let record = match posted_store(&state, &signed, &form).await {
        Ok(record) => record,
        Err(response) => return response,
    };
    match state.app.rotate_store_token(signed.scope, record.store.id).await {
        Ok(token) => {
            let revealed = Revealed {
                title: "New API token",
                value: token,
                note: "Put it wherever the store's API token is used now: it is shown only this once, and the previous token is already refused.".into(),
            };
            let showing = Showing {
                revealed: Some(revealed),
                ..Showing::default()
            };
            show(&state, &signed, &record, StatusCode::OK, showing).await
        }
        Err(err) => refusal(signed.layout(), &err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_basis_points() {
        for (text, bp) in [
            ("5", 500),
            ("2.5", 250),
            ("2.55", 255),
            ("0", 0),
            ("100", 10_000),
            ("7 %", 700),
        ] {
            assert_eq!(basis_points(text), Some(bp), "{text}");
            if !text.contains('%') {
                assert_eq!(percent(bp), text);
            }
        }
        for bad in ["", "-1", "2.555", "1e3", "five", "2.", ".5"] {
            assert_eq!(basis_points(bad), None, "{bad}");
        }
        assert_eq!(basis_points("99999999999999999999999"), Some(u32::MAX));
    }

    #[test]
    fn the_rules_fields_name_the_form_controls() {
        for (path, control) in [
            ("settings.brand.logo_url", "logo_url"),
            ("settings.auto_accept.max_total_minor", "max_total"),
            ("settings.routing_weights", "routing_weights"),
            ("settings.routing_weights.on_time", "weight_on_time"),
            ("settings.seller_notifications.email", "seller_email"),
            ("settings.clocks.customs_hours", "customs_hours"),
            ("settings.customer_emails.shipped", "email_shipped"),
            ("margin_floor_bp", "margin_floor"),
            ("webhook_secrets[0]", "webhook_secret"),
        ] {
            assert_eq!(form_field(path), control, "{path}");
        }
    }
}
