//! `/stores`: sellers' stores, their API tokens and settings.

use crate::AppState;
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::{AddressJson, MoneyJson, PlatformName, RoutingPolicyName};
use crate::error::{ApiError, ErrorBody};
use crate::input::{Input, JsonBody, Problems, ReadJson, path_id};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::ports::StoreRecord;
use dropline_app::store_settings as rules;
use dropline_app::{NewStore, Scope};
use dropline_domain::address::Address;
use dropline_domain::after_sale::{Fees, ReturnReason};
use dropline_domain::catalog::{
    AutoAcceptRules, ClockLimits, CustomerEmails, ExceptionAutomation, Platform, ReturnRules, RoutingPolicy,
    RoutingWeights, SellerNotifications, StoreBrand, StoreConnection, StoreSettings,
};
use dropline_domain::ids::StoreId;
use dropline_domain::money::{Currency, Money};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A new store.
#[derive(ToSchema)]
pub struct CreateStoreRequest {
    #[schema(example = "Acme Gadgets")]
    pub name: String,
    #[schema(value_type = PlatformName)]
    pub platform: Platform,
    /// ISO 4217 code of the store's prices.
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    /// The store's own address (a supplier order never ships there).
    #[schema(value_type = Option<AddressJson>)]
    pub address: Option<Address>,
    /// Defaults: no automatic acceptance, `primary_then_backup` routing.
    pub settings: Option<SettingsRequest>,
    /// The shop's domain on its platform (`example.myshopify.com`).
    #[schema(example = "acme-gadgets.myshopify.com")]
    pub domain: Option<String>,
    /// The secret the platform signs webhooks with (Wix: the app's public key, PEM).
    pub webhook_secret: Option<String>,
    /// Base URL of the platform's API when not `https://{domain}` (e.g. a proxy).
    pub api_base: Option<String>,
    /// Shopify: Admin API access token. Wix: API key. Never shown again.
    pub access_token: Option<String>,
    /// WooCommerce: consumer key. Wix: site id.
    pub api_key: Option<String>,
    /// WooCommerce: consumer secret. Never shown again.
    pub api_secret: Option<String>,
}

impl ReadJson for CreateStoreRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let name = input.field("name").required(problems, Input::text);
        let platform = input.field("platform").required(problems, Input::choice);
        let currency = input.field("currency").required(problems, Input::currency);
        let address = input.field("address").optional_of(problems);
        let settings = input.field("settings").optional_of(problems);
        let domain = input.field("domain").optional(problems, Input::text);
        let webhook_secret = input.field("webhook_secret").optional(problems, Input::text);
        let credentials = CredentialsRequest::read(input, problems);
        let credentials = credentials?;
        Some(Self {
            name: name?,
            platform: platform?,
            currency: currency?,
            address: address?,
            settings: settings?,
            domain: domain?,
            webhook_secret: webhook_secret?,
            api_base: credentials.api_base,
            access_token: credentials.access_token,
            api_key: credentials.api_key,
            api_secret: credentials.api_secret,
        })
    }
}

/// The credential fields shared by `CreateStoreRequest` and `ConnectionRequest`.
struct CredentialsRequest {
    api_base: Option<String>,
    access_token: Option<String>,
    api_key: Option<String>,
    api_secret: Option<String>,
}

impl ReadJson for CredentialsRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let api_base = input.field("api_base").optional(problems, Input::text);
        let access_token = input.field("access_token").optional(problems, Input::text);
        let api_key = input.field("api_key").optional(problems, Input::text);
        let api_secret = input.field("api_secret").optional(problems, Input::text);
        Some(Self {
            api_base: api_base?,
            access_token: access_token?,
            api_key: api_key?,
            api_secret: api_secret?,
        })
    }
}

/// A store's platform connection; it replaces the current one.
#[derive(ToSchema)]
pub struct ConnectionRequest {
    #[schema(example = "acme-gadgets.myshopify.com")]
    pub domain: Option<String>,
    /// Webhook secrets, newest first; two while a secret is being rotated (Wix: the app's
    /// public key, PEM).
    pub webhook_secrets: Vec<String>,
    /// Base URL of the platform's API when not `https://{domain}`.
    pub api_base: Option<String>,
    /// Shopify: Admin API access token. Wix: API key.
    pub access_token: Option<String>,
    /// WooCommerce: consumer key. Wix: site id.
    pub api_key: Option<String>,
    /// WooCommerce: consumer secret.
    pub api_secret: Option<String>,
}

impl ReadJson for ConnectionRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let domain = input.field("domain").optional(problems, Input::text);
        let webhook_secrets = input.field("webhook_secrets").required(problems, |input, problems| {
            input.list(problems, |item, problems| item.text(problems))
        });
        let credentials = CredentialsRequest::read(input, problems);
        let credentials = credentials?;
        Some(Self {
            domain: domain?,
            webhook_secrets: webhook_secrets?,
            api_base: credentials.api_base,
            access_token: credentials.access_token,
            api_key: credentials.api_key,
            api_secret: credentials.api_secret,
        })
    }
}

/// A store's settings; what is left out takes its default.
#[derive(ToSchema)]
pub struct SettingsRequest {
    pub auto_accept: Option<AutoAcceptRequest>,
    #[schema(value_type = Option<RoutingPolicyName>)]
    pub routing_policy: Option<RoutingPolicy>,
    /// Weights of the `weighted` policy (all four when given).
    pub routing_weights: Option<RoutingWeightsJson>,
    /// Whether the storefront emails the customer when a fulfillment is written back
    /// (default false: dropline sends its own emails).
    pub storefront_notifies_customer: Option<bool>,
    /// How far (basis points) a supplier's fresh price may exceed the expected cost before
    /// the supplier order is held for the seller (default 500 = 5 %; at most 10000).
    pub supplier_price_tolerance_bp: Option<u32>,
    /// The lowest margin (basis points of the lines' revenue) a supplier order may leave after
    /// its fresh quote; below it the supplier order is held (default: no floor).
    pub margin_floor_bp: Option<u32>,
    /// A note sent to every supplier with the order, for blind dropshipping (at most 500
    /// characters).
    pub supplier_note: Option<String>,
    /// How the store appears to its customers (default: the store's name, no logo, no
    /// addresses).
    pub brand: Option<BrandRequest>,
    /// Which customer emails the store sends (default: all).
    pub customer_emails: Option<CustomerEmailsRequest>,
    /// What the seller is emailed about, and where (default: no address, so nothing).
    pub seller_notifications: Option<SellerNotificationsRequest>,
    /// The limit of each stage's clock, in hours.
    pub clocks: Option<ClockLimitsRequest>,
    /// What the engine does by itself about a late order.
    pub exception_automation: Option<ExceptionAutomationRequest>,
    /// What the store pays on its sales, for the order ledger (default: nothing).
    pub fees: Option<FeesRequest>,
    /// Days a vendor's earning of a delivered order is held before it can be paid out (0 to
    /// 365; default 14). Only the operator sets it: a store's token may send it unchanged,
    /// and leaving it out keeps it.
    pub holding_days: Option<u32>,
    /// The store's rules on returns (default: a 30-day window, every return decided by the
    /// seller).
    pub returns: Option<ReturnRulesRequest>,
}

/// The store's rules on returns, applied when a return is requested (also from the
/// customer's tracking page); what is left out takes its default.
#[derive(ToSchema)]
pub struct ReturnRulesRequest {
    /// Days after delivery within which a return may be requested, the last day included
    /// (0 to 365; 0: the store takes no returns; default 30).
    #[schema(minimum = 0, maximum = 365)]
    pub window_days: Option<u32>,
    /// Reasons whose returns are approved at once (`damaged`, `wrong_item`,
    /// `not_as_described`, `changed_mind`, `not_received`; default none).
    #[schema(value_type = Option<Vec<String>>, example = json!(["damaged", "wrong_item"]))]
    pub auto_approve_reasons: Option<Vec<ReturnReason>>,
    /// An auto-approved return whose units sold for at most this (store currency) is
    /// refunded at once and the customer keeps the item (default `null`: never).
    #[schema(value_type = Option<MoneyJson>)]
    pub returnless_refund_up_to: Option<Money>,
}

impl ReadJson for ReturnRulesRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let window_days = input.field("window_days").optional(problems, |i, p| {
            let days = i.count(p)?;
            ruled(i, p, days, rules::return_window_problem(days))
        });
        let auto_approve_reasons = input.field("auto_approve_reasons").optional(problems, |i, p| {
            i.list(p, |item, p| {
                let text = item.text(p)?;
                ReturnReason::parse(text.trim()).or_else(|| {
                    p.push(
                        item.path(),
                        "must be damaged, wrong_item, not_as_described, changed_mind or not_received",
                    );
                    None
                })
            })
        });
        let up_to = input.field("returnless_refund_up_to").optional(problems, |i, p| {
            let money = i.money(p)?;
            ruled(i, p, money, rules::returnless_limit_problem(money.minor))
        });
        Some(Self {
            window_days: window_days?,
            auto_approve_reasons: auto_approve_reasons?,
            returnless_refund_up_to: up_to?,
        })
    }
}

/// What the store pays on its sales; amounts in the store's currency, what is left out is
/// zero.
#[derive(ToSchema)]
pub struct FeesRequest {
    /// The payment processor's share of what the customer paid, in basis points (at most
    /// 10000).
    pub payment_bp: Option<u32>,
    /// The processor's fixed part per order.
    #[schema(value_type = Option<MoneyJson>)]
    pub payment_fixed: Option<Money>,
    /// The platform's share of what the customer paid, in basis points (at most 10000).
    pub platform_bp: Option<u32>,
    /// What a lost dispute costs on top of its amount.
    #[schema(value_type = Option<MoneyJson>)]
    pub chargeback_fee: Option<Money>,
}

impl ReadJson for FeesRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let bp = |name: &str, problems: &mut Problems| {
            let field = input.field(name);
            let value = field.optional(problems, Input::count);
            if let Some(Some(bp)) = value
                && let Some(reason) = rules::basis_points_problem(bp)
            {
                problems.push(field.path(), reason);
            }
            value
        };
        let payment_bp = bp("payment_bp", problems);
        let platform_bp = bp("platform_bp", problems);
        let payment_fixed = input.field("payment_fixed").optional(problems, Input::money);
        let chargeback_fee = input.field("chargeback_fee").optional(problems, Input::money);
        for (name, value) in [("payment_fixed", &payment_fixed), ("chargeback_fee", &chargeback_fee)] {
            if let Some(Some(money)) = value
                && !(0..=rules::MAX_FIXED_FEE_MINOR).contains(&money.minor)
            {
                problems.push(
                    input.field(name).path(),
                    "must be zero or more, and at most 1,000,000.00",
                );
            }
        }
        Some(Self {
            payment_bp: payment_bp?,
            payment_fixed: payment_fixed?,
            platform_bp: platform_bp?,
            chargeback_fee: chargeback_fee?,
        })
    }
}

impl ReadJson for SettingsRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let auto_accept = input.field("auto_accept").optional_of(problems);
        let routing_policy = input.field("routing_policy").optional(problems, Input::choice);
        let routing_weights = input.field("routing_weights").optional_of(problems);
        let notifies = input
            .field("storefront_notifies_customer")
            .optional(problems, Input::flag);
        let tolerance = input
            .field("supplier_price_tolerance_bp")
            .optional(problems, Input::count);
        let margin_floor = input.field("margin_floor_bp").optional(problems, Input::count);
        let supplier_note = input.field("supplier_note").optional(problems, Input::text);
        let brand = input.field("brand").optional_of(problems);
        let customer_emails = input.field("customer_emails").optional_of(problems);
        let seller_notifications = input.field("seller_notifications").optional_of(problems);
        let clocks = input.field("clocks").optional_of(problems);
        let exception_automation = input.field("exception_automation").optional_of(problems);
        let fees = input.field("fees").optional_of(problems);
        let holding_days = input.field("holding_days").optional(problems, Input::count);
        let returns = input.field("returns").optional_of(problems);
        if let Some(Some(days)) = holding_days
            && let Some(reason) = rules::holding_days_problem(days)
        {
            problems.push(input.field("holding_days").path(), reason);
        }
        // The paths of the input name the fields (`settings.…` inside `POST /stores`).
        if let Some(Some(bp)) = tolerance
            && let Some(reason) = rules::basis_points_problem(bp)
        {
            problems.push(input.field("supplier_price_tolerance_bp").path(), reason);
        }
        if let Some(Some(bp)) = margin_floor
            && let Some(reason) = rules::basis_points_problem(bp)
        {
            problems.push(input.field("margin_floor_bp").path(), reason);
        }
        if let Some(Some(note)) = &supplier_note
            && let Some(reason) = rules::supplier_note_problem(note)
        {
            problems.push(input.field("supplier_note").path(), reason);
        }
        Some(Self {
            auto_accept: auto_accept?,
            routing_policy: routing_policy?,
            routing_weights: routing_weights?,
            storefront_notifies_customer: notifies?,
            supplier_price_tolerance_bp: tolerance?,
            margin_floor_bp: margin_floor?,
            supplier_note: supplier_note?,
            brand: brand?,
            customer_emails: customer_emails?,
            seller_notifications: seller_notifications?,
            clocks: clocks?,
            exception_automation: exception_automation?,
            fees: fees?,
            holding_days: holding_days?,
            returns: returns?,
        })
    }
}

/// How the store appears to its customers, in emails and on the tracking page; what is left
/// out (or `null`) is unset.
#[derive(ToSchema)]
pub struct BrandRequest {
    /// The name in the From header and on the tracking page (default: the store's name); at
    /// most 100 characters, not blank.
    #[schema(example = "Acme Gadgets")]
    pub display_name: Option<String>,
    /// The logo shown in emails and on the tracking page: an absolute `https://` URL.
    #[schema(example = "https://cdn.acme.example/logo.png")]
    pub logo_url: Option<String>,
    /// The address customer emails are sent from.
    #[schema(example = "orders@acme.example")]
    pub from_email: Option<String>,
    /// Where the customer's replies go (default: `support_email`).
    #[schema(example = "help@acme.example")]
    pub reply_to: Option<String>,
    /// The support address shown to the customer.
    #[schema(example = "help@acme.example")]
    pub support_email: Option<String>,
    /// The storefront's public address (links in emails): an absolute `https://` URL.
    #[schema(example = "https://acme.example")]
    pub website_url: Option<String>,
}

impl ReadJson for BrandRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let display_name = input.field("display_name").optional(problems, display_name);
        let logo_url = input.field("logo_url").optional(problems, web_url);
        let from_email = input.field("from_email").optional(problems, email);
        let reply_to = input.field("reply_to").optional(problems, email);
        let support_email = input.field("support_email").optional(problems, email);
        let website_url = input.field("website_url").optional(problems, web_url);
        Some(Self {
            display_name: display_name?,
            logo_url: logo_url?,
            from_email: from_email?,
            reply_to: reply_to?,
            support_email: support_email?,
            website_url: website_url?,
        })
    }
}

/// Which customer emails the store sends; each left out is on.
#[derive(ToSchema)]
pub struct CustomerEmailsRequest {
    pub order_confirmed: Option<bool>,
    pub shipped: Option<bool>,
    pub delayed: Option<bool>,
    pub out_for_delivery: Option<bool>,
    pub delivered: Option<bool>,
    pub delivery_failed: Option<bool>,
    pub cancelled: Option<bool>,
    pub refund_issued: Option<bool>,
    /// Where to send an approved return, and what.
    pub return_approved: Option<bool>,
    /// What is sent for a return resolved by replacement or exchange.
    pub replacement_on_its_way: Option<bool>,
}

impl ReadJson for CustomerEmailsRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let mut flag = |name: &str| input.field(name).optional(problems, Input::flag);
        let order_confirmed = flag("order_confirmed");
        let shipped = flag("shipped");
        let delayed = flag("delayed");
        let out_for_delivery = flag("out_for_delivery");
        let delivered = flag("delivered");
        let delivery_failed = flag("delivery_failed");
        let cancelled = flag("cancelled");
        let refund_issued = flag("refund_issued");
        let return_approved = flag("return_approved");
        let replacement_on_its_way = flag("replacement_on_its_way");
        Some(Self {
            order_confirmed: order_confirmed?,
            shipped: shipped?,
            delayed: delayed?,
            out_for_delivery: out_for_delivery?,
            delivered: delivered?,
            delivery_failed: delivery_failed?,
            cancelled: cancelled?,
            refund_issued: refund_issued?,
            return_approved: return_approved?,
            replacement_on_its_way: replacement_on_its_way?,
        })
    }
}

/// What the seller is emailed about, and where; what is left out takes its default.
#[derive(ToSchema)]
pub struct SellerNotificationsRequest {
    /// The seller's address; no seller email is sent without it.
    #[schema(example = "owner@acme.example")]
    pub email: Option<String>,
    /// An email for every new order (default true).
    pub new_order: Option<bool>,
    /// An email when an order needs the seller (default true).
    pub needs_attention: Option<bool>,
    /// A daily digest of the open exceptions (default true).
    pub daily_digest: Option<bool>,
    /// The UTC hour the digest goes out, 0 to 23 (default 7).
    #[schema(minimum = 0, maximum = 23)]
    pub digest_hour_utc: Option<u8>,
}

impl ReadJson for SellerNotificationsRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let email = input.field("email").optional(problems, email);
        let new_order = input.field("new_order").optional(problems, Input::flag);
        let needs_attention = input.field("needs_attention").optional(problems, Input::flag);
        let daily_digest = input.field("daily_digest").optional(problems, Input::flag);
        let digest_hour_utc = input.field("digest_hour_utc").optional(problems, hour_of_day);
        Some(Self {
            email: email?,
            new_order: new_order?,
            needs_attention: needs_attention?,
            daily_digest: daily_digest?,
            digest_hour_utc: digest_hour_utc?,
        })
    }
}

/// The limit of each stage's clock, in whole hours from 1 to 8760 (a year); what is left out
/// takes its default. A lane with history replaces the shipping and transit limits with what
/// was measured on it.
#[derive(ToSchema)]
pub struct ClockLimitsRequest {
    /// Paid → placed with the supplier (default 24).
    #[schema(minimum = 1, maximum = 8760)]
    pub placed_within_hours: Option<u32>,
    /// Placed → accepted by the supplier (default 48).
    #[schema(minimum = 1, maximum = 8760)]
    pub accepted_within_hours: Option<u32>,
    /// Accepted → shipped, with a tracking number (default 120).
    #[schema(minimum = 1, maximum = 8760)]
    pub shipped_within_hours: Option<u32>,
    /// Shipped → the carrier's first scan (default 96).
    #[schema(minimum = 1, maximum = 8760)]
    pub first_scan_within_hours: Option<u32>,
    /// First scan → delivered, when the lane has no history (default 600).
    #[schema(minimum = 1, maximum = 8760)]
    pub transit_within_hours: Option<u32>,
    /// A moving parcel with no news for this long is stalled (default 168).
    #[schema(minimum = 1, maximum = 8760)]
    pub no_news_hours: Option<u32>,
    /// A parcel in customs for this long is stuck (default 120).
    #[schema(minimum = 1, maximum = 8760)]
    pub customs_hours: Option<u32>,
}

impl ReadJson for ClockLimitsRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let mut limit = |name: &str| input.field(name).optional(problems, hours);
        let placed_within_hours = limit("placed_within_hours");
        let accepted_within_hours = limit("accepted_within_hours");
        let shipped_within_hours = limit("shipped_within_hours");
        let first_scan_within_hours = limit("first_scan_within_hours");
        let transit_within_hours = limit("transit_within_hours");
        let no_news_hours = limit("no_news_hours");
        let customs_hours = limit("customs_hours");
        Some(Self {
            placed_within_hours: placed_within_hours?,
            accepted_within_hours: accepted_within_hours?,
            shipped_within_hours: shipped_within_hours?,
            first_scan_within_hours: first_scan_within_hours?,
            transit_within_hours: transit_within_hours?,
            no_news_hours: no_news_hours?,
            customs_hours: customs_hours?,
        })
    }
}

/// What the engine may do about a late order without the seller; what is left out takes its
/// default.
#[derive(ToSchema)]
pub struct ExceptionAutomationRequest {
    /// Email the customer when the parcel is late (default true).
    pub tell_customer_when_late: Option<bool>,
    /// Switch a supplier order that missed its shipping clock to the next offer (default
    /// false).
    pub switch_supplier_when_late: Option<bool>,
}

impl ReadJson for ExceptionAutomationRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let tell = input.field("tell_customer_when_late").optional(problems, Input::flag);
        let switch = input.field("switch_supplier_when_late").optional(problems, Input::flag);
        Some(Self {
            tell_customer_when_late: tell?,
            switch_supplier_when_late: switch?,
        })
    }
}

/// Records `reason` against `input` and gives up on it.
fn refuse<T>(input: &Input<'_>, problems: &mut Problems, reason: impl Into<String>) -> Option<T> {
    problems.push(input.path(), reason);
    None
}

/// `value` when `problem` (one of the shared rules of [`rules`]) is `None`; otherwise its
/// reason is recorded against `input`.
fn ruled<T>(input: &Input<'_>, problems: &mut Problems, value: T, problem: Option<&'static str>) -> Option<T> {
    match problem {
        None => Some(value),
        Some(reason) => refuse(input, problems, reason),
    }
}

/// A clock limit: whole hours from 1 to a year.
fn hours(input: &Input<'_>, problems: &mut Problems) -> Option<u32> {
    let hours = input.count(problems)?;
    ruled(input, problems, hours, rules::clock_hours_problem(hours))
}

/// An hour of the day, 0 to 23.
fn hour_of_day(input: &Input<'_>, problems: &mut Problems) -> Option<u8> {
    let hour = input.count(problems)?;
    let hour = ruled(input, problems, hour, rules::digest_hour_problem(hour))?;
    u8::try_from(hour).ok()
}

/// The brand's display name, trimmed.
fn display_name(input: &Input<'_>, problems: &mut Problems) -> Option<String> {
    let text = input.text(problems)?;
    let name = text.trim();
    ruled(input, problems, name.to_string(), rules::display_name_problem(name))
}

/// An email address.
fn email(input: &Input<'_>, problems: &mut Problems) -> Option<String> {
    let text = input.text(problems)?;
    let problem = rules::email_problem(&text);
    ruled(input, problems, text, problem)
}

/// A public URL.
fn web_url(input: &Input<'_>, problems: &mut Problems) -> Option<String> {
    let text = input.text(problems)?;
    let problem = rules::url_problem(&text);
    ruled(input, problems, text, problem)
}

/// A weight of the `weighted` routing policy.
fn routing_weight(input: &Input<'_>, problems: &mut Problems) -> Option<u32> {
    let weight = input.count(problems)?;
    ruled(input, problems, weight, rules::routing_weight_problem(weight))
}

/// When the store accepts orders by itself; every condition set must hold.
#[derive(ToSchema)]
pub struct AutoAcceptRequest {
    /// Default false.
    pub enabled: Option<bool>,
    /// Only paid orders (default true).
    pub require_paid: Option<bool>,
    /// Only orders whose total is at most this (store currency).
    #[schema(value_type = Option<MoneyJson>)]
    pub max_total: Option<Money>,
    /// Only orders whose every line is one of these SKUs (empty: any).
    pub allowed_skus: Option<Vec<String>>,
}

impl ReadJson for AutoAcceptRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let enabled = input.field("enabled").optional(problems, Input::flag);
        let require_paid = input.field("require_paid").optional(problems, Input::flag);
        let max_total = input.field("max_total").optional(problems, Input::money);
        let allowed_skus = input.field("allowed_skus").optional(problems, |input, problems| {
            input.list(problems, |item, problems| item.text(problems))
        });
        Some(Self {
            enabled: enabled?,
            require_paid: require_paid?,
            max_total: max_total?,
            allowed_skus: allowed_skus?,
        })
    }
}

/// Weights of the `weighted` routing policy, in whole percent points.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[schema(as = RoutingWeights)]
pub struct RoutingWeightsJson {
    pub margin: u32,
    pub speed: u32,
    pub rating: u32,
    pub on_time: u32,
}

impl ReadJson for RoutingWeightsJson {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let margin = input.field("margin").required(problems, routing_weight);
        let speed = input.field("speed").required(problems, routing_weight);
        let rating = input.field("rating").required(problems, routing_weight);
        let on_time = input.field("on_time").required(problems, routing_weight);
        Some(Self {
            margin: margin?,
            speed: speed?,
            rating: rating?,
            on_time: on_time?,
        })
    }
}

impl SettingsRequest {
    /// The settings, with defaults for what was left out; `max_total` must be in `currency`.
    fn into_settings(self, currency: Currency, prefix: &str, problems: &mut Problems) -> StoreSettings {
        let defaults = StoreSettings::default();
        let auto_accept = match self.auto_accept {
            None => defaults.auto_accept,
            Some(rules) => {
                if let Some(max) = rules.max_total
                    && max.currency != currency
                {
                    problems.push(
                        format!("{prefix}auto_accept.max_total.currency"),
                        format!("must be the store currency {currency}"),
                    );
                }
                AutoAcceptRules {
                    enabled: rules.enabled.unwrap_or(false),
                    require_paid: rules.require_paid.unwrap_or(true),
                    max_total_minor: rules.max_total.map(|m| m.minor),
                    allowed_skus: rules.allowed_skus.unwrap_or_default(),
                }
            }
        };
        StoreSettings {
            auto_accept,
            routing_policy: self.routing_policy.unwrap_or(defaults.routing_policy),
            routing_weights: self
                .routing_weights
                .map(|w| RoutingWeights {
                    margin: w.margin,
                    speed: w.speed,
                    rating: w.rating,
                    on_time: w.on_time,
                })
                .unwrap_or(defaults.routing_weights),
            storefront_notifies_customer: self.storefront_notifies_customer.unwrap_or(false),
            supplier_price_tolerance_bp: self
                .supplier_price_tolerance_bp
                .unwrap_or(defaults.supplier_price_tolerance_bp),
            margin_floor_bp: self.margin_floor_bp,
            supplier_note: self.supplier_note.filter(|n| !n.trim().is_empty()),
            brand: self.brand.map(BrandRequest::into_brand).unwrap_or(defaults.brand),
            customer_emails: self
                .customer_emails
                .map(|e| e.into_emails(defaults.customer_emails))
                .unwrap_or(defaults.customer_emails),
            seller_notifications: match self.seller_notifications {
                Some(n) => n.into_notifications(defaults.seller_notifications),
                None => defaults.seller_notifications,
            },
            clocks: self
                .clocks
                .map(|c| c.into_limits(defaults.clocks))
                .unwrap_or(defaults.clocks),
            exception_automation: self
                .exception_automation
                .map(|a| a.into_automation(defaults.exception_automation))
                .unwrap_or(defaults.exception_automation),
            fees: match self.fees {
                None => defaults.fees,
                Some(fees) => {
                    let mut minor = |name: &str, money: Option<Money>| -> i64 {
                        let Some(money) = money else {
                            return 0;
                        };
                        if money.currency != currency {
                            problems.push(
                                format!("{prefix}fees.{name}.currency"),
                                format!("must be {currency}, the store's currency"),
                            );
                        }
                        money.minor
                    };
                    Fees {
                        payment_bp: fees.payment_bp.unwrap_or(0),
                        payment_fixed_minor: minor("payment_fixed", fees.payment_fixed),
                        platform_bp: fees.platform_bp.unwrap_or(0),
                        chargeback_fee_minor: minor("chargeback_fee", fees.chargeback_fee),
                    }
                }
            },
            holding_days: self.holding_days.unwrap_or(defaults.holding_days),
            // Stock sync and pricing have their own routes; the store keeps its own.
            inventory: defaults.inventory,
            pricing: defaults.pricing,
            returns: match self.returns {
                None => defaults.returns,
                Some(returns) => {
                    if let Some(limit) = returns.returnless_refund_up_to
                        && limit.currency != currency
                    {
                        problems.push(
                            format!("{prefix}returns.returnless_refund_up_to.currency"),
                            format!("must be {currency}, the store's currency"),
                        );
                    }
                    let mut reasons = returns.auto_approve_reasons.unwrap_or_default();
                    let mut seen = Vec::new();
                    reasons.retain(|reason| {
                        let first = !seen.contains(reason);
                        seen.push(*reason);
                        first
                    });
                    ReturnRules {
                        window_days: returns.window_days.unwrap_or(defaults.returns.window_days),
                        auto_approve_reasons: reasons,
                        returnless_refund_up_to_minor: returns.returnless_refund_up_to.map(|m| m.minor),
                    }
                }
            },
        }
    }
}

impl BrandRequest {
    fn into_brand(self) -> StoreBrand {
        StoreBrand {
            display_name: self.display_name,
            logo_url: self.logo_url,
            from_email: self.from_email,
            reply_to: self.reply_to,
            support_email: self.support_email,
            website_url: self.website_url,
        }
    }
}

impl CustomerEmailsRequest {
    /// The switches given, `defaults` for the others.
    fn into_emails(self, defaults: CustomerEmails) -> CustomerEmails {
        CustomerEmails {
            order_confirmed: self.order_confirmed.unwrap_or(defaults.order_confirmed),
            shipped: self.shipped.unwrap_or(defaults.shipped),
            delayed: self.delayed.unwrap_or(defaults.delayed),
            out_for_delivery: self.out_for_delivery.unwrap_or(defaults.out_for_delivery),
            delivered: self.delivered.unwrap_or(defaults.delivered),
            delivery_failed: self.delivery_failed.unwrap_or(defaults.delivery_failed),
            cancelled: self.cancelled.unwrap_or(defaults.cancelled),
            refund_issued: self.refund_issued.unwrap_or(defaults.refund_issued),
            return_approved: self.return_approved.unwrap_or(defaults.return_approved),
            replacement_on_its_way: self.replacement_on_its_way.unwrap_or(defaults.replacement_on_its_way),
        }
    }
}

impl SellerNotificationsRequest {
    /// The values given, `defaults` for the others.
    fn into_notifications(self, defaults: SellerNotifications) -> SellerNotifications {
        SellerNotifications {
            email: self.email.or(defaults.email),
            new_order: self.new_order.unwrap_or(defaults.new_order),
            needs_attention: self.needs_attention.unwrap_or(defaults.needs_attention),
            daily_digest: self.daily_digest.unwrap_or(defaults.daily_digest),
            digest_hour_utc: self.digest_hour_utc.unwrap_or(defaults.digest_hour_utc),
        }
    }
}

impl ClockLimitsRequest {
    /// The limits given, `defaults` for the others.
    fn into_limits(self, defaults: ClockLimits) -> ClockLimits {
        ClockLimits {
            placed_within_hours: self.placed_within_hours.unwrap_or(defaults.placed_within_hours),
            accepted_within_hours: self.accepted_within_hours.unwrap_or(defaults.accepted_within_hours),
            shipped_within_hours: self.shipped_within_hours.unwrap_or(defaults.shipped_within_hours),
            first_scan_within_hours: self.first_scan_within_hours.unwrap_or(defaults.first_scan_within_hours),
            transit_within_hours: self.transit_within_hours.unwrap_or(defaults.transit_within_hours),
            no_news_hours: self.no_news_hours.unwrap_or(defaults.no_news_hours),
            customs_hours: self.customs_hours.unwrap_or(defaults.customs_hours),
        }
    }
}

impl ExceptionAutomationRequest {
    /// The switches given, `defaults` for the others.
    fn into_automation(self, defaults: ExceptionAutomation) -> ExceptionAutomation {
        ExceptionAutomation {
            tell_customer_when_late: self.tell_customer_when_late.unwrap_or(defaults.tell_customer_when_late),
            switch_supplier_when_late: self
                .switch_supplier_when_late
                .unwrap_or(defaults.switch_supplier_when_late),
        }
    }
}

/// New settings of a store: they replace the current ones (what is left out takes its
/// default); `address`, when given, replaces the store's own address.
#[derive(ToSchema)]
pub struct UpdateSettingsRequest {
    pub auto_accept: Option<AutoAcceptRequest>,
    #[schema(value_type = Option<RoutingPolicyName>)]
    pub routing_policy: Option<RoutingPolicy>,
    pub routing_weights: Option<RoutingWeightsJson>,
    pub storefront_notifies_customer: Option<bool>,
    pub supplier_price_tolerance_bp: Option<u32>,
    pub margin_floor_bp: Option<u32>,
    pub supplier_note: Option<String>,
    pub brand: Option<BrandRequest>,
    pub customer_emails: Option<CustomerEmailsRequest>,
    pub seller_notifications: Option<SellerNotificationsRequest>,
    pub clocks: Option<ClockLimitsRequest>,
    pub exception_automation: Option<ExceptionAutomationRequest>,
    pub fees: Option<FeesRequest>,
    pub holding_days: Option<u32>,
    pub returns: Option<ReturnRulesRequest>,
    #[schema(value_type = Option<AddressJson>)]
    pub address: Option<Address>,
}

impl ReadJson for UpdateSettingsRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let settings = SettingsRequest::read(input, problems);
        let address = input.field("address").optional_of(problems);
        let settings = settings?;
        Some(Self {
            auto_accept: settings.auto_accept,
            routing_policy: settings.routing_policy,
            routing_weights: settings.routing_weights,
            storefront_notifies_customer: settings.storefront_notifies_customer,
            supplier_price_tolerance_bp: settings.supplier_price_tolerance_bp,
            margin_floor_bp: settings.margin_floor_bp,
            supplier_note: settings.supplier_note,
            brand: settings.brand,
            customer_emails: settings.customer_emails,
            seller_notifications: settings.seller_notifications,
            clocks: settings.clocks,
            exception_automation: settings.exception_automation,
            fees: settings.fees,
            holding_days: settings.holding_days,
            returns: settings.returns,
            address: address?,
        })
    }
}

/// A store.
#[derive(Serialize, ToSchema)]
#[schema(as = Store)]
pub struct StoreJson {
    pub id: String,
    pub name: String,
    #[schema(value_type = PlatformName)]
    pub platform: &'static str,
    #[schema(example = "USD")]
    pub currency: String,
    pub address: Option<AddressJson>,
    pub settings: SettingsJson,
    /// The platform connection, without its secrets.
    pub connection: ConnectionJson,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The store's API token: only in the answer to `POST /stores`, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_token: Option<String>,
}

/// A store's platform connection as shown: which secrets are set, never their values.
#[derive(Serialize, ToSchema)]
#[schema(as = StoreConnection)]
pub struct ConnectionJson {
    pub domain: Option<String>,
    pub api_base: Option<String>,
    pub has_access_token: bool,
    pub has_api_key: bool,
    pub has_api_secret: bool,
    /// How many webhook secrets are set (two during a rotation).
    pub webhook_secrets: usize,
    /// Where the platform must send webhooks (path on this server).
    #[schema(example = "/webhooks/shopify/0190b0c4-...")]
    pub webhook_path: String,
}

/// A store's settings.
#[derive(Serialize, ToSchema)]
#[schema(as = StoreSettings)]
pub struct SettingsJson {
    pub auto_accept: AutoAcceptJson,
    #[schema(value_type = RoutingPolicyName)]
    pub routing_policy: &'static str,
    pub routing_weights: RoutingWeightsJson,
    pub storefront_notifies_customer: bool,
    /// How far (basis points) a supplier's fresh price may exceed the expected cost.
    pub supplier_price_tolerance_bp: u32,
    /// The lowest margin (basis points) a supplier order may leave after its fresh quote.
    pub margin_floor_bp: Option<u32>,
    /// The note sent to every supplier with the order (blind dropshipping).
    pub supplier_note: Option<String>,
    pub brand: BrandJson,
    pub customer_emails: CustomerEmailsJson,
    pub seller_notifications: SellerNotificationsJson,
    pub clocks: ClockLimitsJson,
    pub exception_automation: ExceptionAutomationJson,
    pub fees: FeesJson,
    /// Days a vendor's earning is held before it can be paid out.
    pub holding_days: u32,
    pub returns: ReturnRulesJson,
}

/// The store's rules on returns.
#[derive(Serialize, ToSchema)]
#[schema(as = ReturnRules)]
pub struct ReturnRulesJson {
    /// Days after delivery within which a return may be requested (0: no returns).
    pub window_days: u32,
    /// Reasons whose returns are approved at once.
    #[schema(value_type = Vec<String>)]
    pub auto_approve_reasons: Vec<&'static str>,
    /// An auto-approved return worth at most this is refunded without the item (`null`:
    /// never).
    pub returnless_refund_up_to: Option<MoneyJson>,
}

/// What the store pays on its sales.
#[derive(Serialize, ToSchema)]
pub struct FeesJson {
    pub payment_bp: u32,
    pub payment_fixed: MoneyJson,
    pub platform_bp: u32,
    pub chargeback_fee: MoneyJson,
}

/// How the store appears to its customers; `null` is unset.
#[derive(Serialize, ToSchema)]
#[schema(as = StoreBrand)]
pub struct BrandJson {
    /// The name customers see; the store's name when `null`.
    pub display_name: Option<String>,
    pub logo_url: Option<String>,
    pub from_email: Option<String>,
    /// Where the customer's replies go; `support_email` when `null`.
    pub reply_to: Option<String>,
    pub support_email: Option<String>,
    pub website_url: Option<String>,
}

impl From<StoreBrand> for BrandJson {
    fn from(brand: StoreBrand) -> Self {
        Self {
            display_name: brand.display_name,
            logo_url: brand.logo_url,
            from_email: brand.from_email,
            reply_to: brand.reply_to,
            support_email: brand.support_email,
            website_url: brand.website_url,
        }
    }
}

/// Which customer emails the store sends.
#[derive(Serialize, ToSchema)]
#[schema(as = CustomerEmails)]
pub struct CustomerEmailsJson {
    pub order_confirmed: bool,
    pub shipped: bool,
    pub delayed: bool,
    pub out_for_delivery: bool,
    pub delivered: bool,
    pub delivery_failed: bool,
    pub cancelled: bool,
    pub refund_issued: bool,
    pub return_approved: bool,
    pub replacement_on_its_way: bool,
}

impl From<CustomerEmails> for CustomerEmailsJson {
    fn from(emails: CustomerEmails) -> Self {
        Self {
            order_confirmed: emails.order_confirmed,
            shipped: emails.shipped,
            delayed: emails.delayed,
            out_for_delivery: emails.out_for_delivery,
            delivered: emails.delivered,
            delivery_failed: emails.delivery_failed,
            cancelled: emails.cancelled,
            refund_issued: emails.refund_issued,
            return_approved: emails.return_approved,
            replacement_on_its_way: emails.replacement_on_its_way,
        }
    }
}

/// What the seller is emailed about, and where.
#[derive(Serialize, ToSchema)]
#[schema(as = SellerNotifications)]
pub struct SellerNotificationsJson {
    /// The seller's address; no seller email is sent without it.
    pub email: Option<String>,
    pub new_order: bool,
    pub needs_attention: bool,
    pub daily_digest: bool,
    /// The UTC hour (0–23) the digest goes out.
    pub digest_hour_utc: u8,
}

impl From<SellerNotifications> for SellerNotificationsJson {
    fn from(notifications: SellerNotifications) -> Self {
        Self {
            email: notifications.email,
            new_order: notifications.new_order,
            needs_attention: notifications.needs_attention,
            daily_digest: notifications.daily_digest,
            digest_hour_utc: notifications.digest_hour_utc,
        }
    }
}

/// The limit of each stage's clock, in hours.
#[derive(Serialize, ToSchema)]
#[schema(as = ClockLimits)]
pub struct ClockLimitsJson {
    pub placed_within_hours: u32,
    pub accepted_within_hours: u32,
    pub shipped_within_hours: u32,
    pub first_scan_within_hours: u32,
    pub transit_within_hours: u32,
    pub no_news_hours: u32,
    pub customs_hours: u32,
}

impl From<ClockLimits> for ClockLimitsJson {
    fn from(clocks: ClockLimits) -> Self {
        Self {
            placed_within_hours: clocks.placed_within_hours,
            accepted_within_hours: clocks.accepted_within_hours,
            shipped_within_hours: clocks.shipped_within_hours,
            first_scan_within_hours: clocks.first_scan_within_hours,
            transit_within_hours: clocks.transit_within_hours,
            no_news_hours: clocks.no_news_hours,
            customs_hours: clocks.customs_hours,
        }
    }
}

/// What the engine does by itself about a late order.
#[derive(Serialize, ToSchema)]
#[schema(as = ExceptionAutomation)]
pub struct ExceptionAutomationJson {
    pub tell_customer_when_late: bool,
    pub switch_supplier_when_late: bool,
}

impl From<ExceptionAutomation> for ExceptionAutomationJson {
    fn from(automation: ExceptionAutomation) -> Self {
        Self {
            tell_customer_when_late: automation.tell_customer_when_late,
            switch_supplier_when_late: automation.switch_supplier_when_late,
        }
    }
}

/// Automatic acceptance rules.
#[derive(Serialize, ToSchema)]
#[schema(as = AutoAcceptRules)]
pub struct AutoAcceptJson {
    pub enabled: bool,
    pub require_paid: bool,
    pub max_total: Option<MoneyJson>,
    pub allowed_skus: Vec<String>,
}

impl StoreJson {
    pub(crate) fn new(record: StoreRecord, api_token: Option<String>) -> Self {
        let store = record.store;
        let settings = store.settings;
        let connection = record.connection;
        Self {
            connection: ConnectionJson {
                domain: connection.domain,
                api_base: connection.api_base,
                has_access_token: connection.access_token.is_some(),
                has_api_key: connection.api_key.is_some(),
                has_api_secret: connection.api_secret.is_some(),
                webhook_secrets: connection.webhook_secrets.len(),
                webhook_path: format!("/webhooks/{}/{}", store.platform, store.id),
            },
            id: store.id.to_string(),
            name: store.name,
            platform: store.platform.as_str(),
            currency: store.currency.code().to_string(),
            address: store.address.map(AddressJson::from),
            settings: SettingsJson {
                auto_accept: AutoAcceptJson {
                    enabled: settings.auto_accept.enabled,
                    require_paid: settings.auto_accept.require_paid,
                    max_total: settings
                        .auto_accept
                        .max_total_minor
                        .map(|minor| Money::new(minor, store.currency).into()),
                    allowed_skus: settings.auto_accept.allowed_skus,
                },
                routing_policy: settings.routing_policy.as_str(),
                routing_weights: RoutingWeightsJson {
                    margin: settings.routing_weights.margin,
                    speed: settings.routing_weights.speed,
                    rating: settings.routing_weights.rating,
                    on_time: settings.routing_weights.on_time,
                },
                storefront_notifies_customer: settings.storefront_notifies_customer,
                supplier_price_tolerance_bp: settings.supplier_price_tolerance_bp,
                margin_floor_bp: settings.margin_floor_bp,
                supplier_note: settings.supplier_note,
                brand: settings.brand.into(),
                customer_emails: settings.customer_emails.into(),
                seller_notifications: settings.seller_notifications.into(),
                clocks: settings.clocks.into(),
                exception_automation: settings.exception_automation.into(),
                fees: FeesJson {
                    payment_bp: settings.fees.payment_bp,
                    payment_fixed: Money::new(settings.fees.payment_fixed_minor, store.currency).into(),
                    platform_bp: settings.fees.platform_bp,
                    chargeback_fee: Money::new(settings.fees.chargeback_fee_minor, store.currency).into(),
                },
                holding_days: settings.holding_days,
                returns: ReturnRulesJson {
                    window_days: settings.returns.window_days,
                    auto_approve_reasons: settings
                        .returns
                        .auto_approve_reasons
                        .iter()
                        .map(|r| r.as_str())
                        .collect(),
                    returnless_refund_up_to: settings
                        .returns
                        .returnless_refund_up_to_minor
                        .map(|minor| Money::new(minor, store.currency).into()),
                },
            },
            created_at: record.created_at,
            api_token,
        }
    }
}

/// Stores the caller may see.
#[derive(Serialize, ToSchema)]
pub struct StoreList {
    pub stores: Vec<StoreJson>,
}

/// Creates a store and its API token (operator only). The token is in this answer and
/// never again: only its hash is kept.
#[utoipa::path(
    post, path = "/stores", tag = "stores",
    request_body = CreateStoreRequest,
    responses(
        (status = 201, description = "The new store, with `api_token`", body = StoreJson),
        (status = 403, description = "Only the operator creates stores", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn create_store(
    State(state): State<AppState>,
    Caller(scope): Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    if scope != Scope::Operator {
        return Err(ApiError::Forbidden("only the operator creates stores"));
    }
    let request: CreateStoreRequest = body.read()?;
    let mut problems = Problems::default();
    let settings = request
        .settings
        .map(|s| s.into_settings(request.currency, "settings.", &mut problems))
        .unwrap_or_default();
    problems.finish(Some(()))?;
    let new = NewStore {
        name: request.name,
        platform: request.platform,
        currency: request.currency,
        address: request.address,
        settings,
        connection: StoreConnection {
            domain: request.domain,
            api_base: request.api_base,
            access_token: request.access_token,
            api_key: request.api_key,
            api_secret: request.api_secret,
            webhook_secrets: request.webhook_secret.into_iter().collect(),
        },
    };
    let (record, token) = state.app.create_store(scope, new).await?;
    Ok(reply(StatusCode::CREATED, StoreJson::new(record, Some(token))))
}

/// The stores the caller may see (a store's token: its own store only).
#[utoipa::path(
    get, path = "/stores", tag = "stores",
    responses((status = 200, body = StoreList), CommonErrors)
)]
pub async fn list_stores(State(state): State<AppState>, Caller(scope): Caller) -> Result<Response, ApiError> {
    let stores = state.app.list_stores(scope).await?;
    let stores = stores.into_iter().map(|r| StoreJson::new(r, None)).collect();
    Ok(reply(StatusCode::OK, StoreList { stores }))
}

/// One store.
#[utoipa::path(
    get, path = "/stores/{id}", tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    responses(
        (status = 200, body = StoreJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_store(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    let record = state.app.get_store(scope, id).await?;
    Ok(reply(StatusCode::OK, StoreJson::new(record, None)))
}

/// Replaces a store's settings (and, when given, its own address).
#[utoipa::path(
    put, path = "/stores/{id}/settings", tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    request_body = UpdateSettingsRequest,
    responses(
        (status = 200, description = "The store with its new settings", body = StoreJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_store_settings(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    let store = state.app.get_store(scope, id).await?.store;
    let request: UpdateSettingsRequest = body.read()?;
    let mut problems = Problems::default();
    let settings = SettingsRequest {
        auto_accept: request.auto_accept,
        routing_policy: request.routing_policy,
        routing_weights: request.routing_weights,
        storefront_notifies_customer: request.storefront_notifies_customer,
        supplier_price_tolerance_bp: request.supplier_price_tolerance_bp,
        margin_floor_bp: request.margin_floor_bp,
        supplier_note: request.supplier_note,
        brand: request.brand,
        customer_emails: request.customer_emails,
        seller_notifications: request.seller_notifications,
        clocks: request.clocks,
        exception_automation: request.exception_automation,
        fees: request.fees,
        holding_days: request.holding_days,
        returns: request.returns,
    }
    .into_settings(store.currency, "", &mut problems);
    let settings = StoreSettings {
        // Left out: kept (only the operator changes it, so a store's own update of its other
        // settings must not reset it).
        holding_days: request.holding_days.unwrap_or(store.settings.holding_days),
        ..settings
    };
    problems.finish(Some(()))?;
    let record = state
        .app
        .update_store_settings(scope, id, settings, request.address)
        .await?;
    Ok(reply(StatusCode::OK, StoreJson::new(record, None)))
}

/// Replaces a store's platform connection: domain, credentials and webhook secrets. To
/// rotate a webhook secret, send the new one first and the old one second; drop the old
/// one once the platform signs with the new one.
#[utoipa::path(
    put, path = "/stores/{id}/connection", tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    request_body = ConnectionRequest,
    responses(
        (status = 200, description = "The store with its new connection (secrets not shown)", body = StoreJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_store_connection(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    state.app.get_store(scope, id).await?;
    let request: ConnectionRequest = body.read()?;
    let connection = StoreConnection {
        domain: request.domain,
        api_base: request.api_base,
        access_token: request.access_token,
        api_key: request.api_key,
        api_secret: request.api_secret,
        webhook_secrets: request.webhook_secrets,
    };
    let record = state.app.update_store_connection(scope, id, connection).await?;
    Ok(reply(StatusCode::OK, StoreJson::new(record, None)))
}

/// What the platform said about the store's credentials.
#[derive(Serialize, ToSchema)]
pub struct ConnectionCheck {
    pub ok: bool,
    /// The shop's name on the platform.
    pub shop_name: String,
    pub currency: Option<String>,
}

/// Checks the store's credentials against its platform.
#[utoipa::path(
    post, path = "/stores/{id}/connection/test", tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    responses(
        (status = 200, body = ConnectionCheck),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        (status = 422, description = "The store's platform has no API (api, csv)", body = ErrorBody),
        (status = 502, description = "The platform refused the credentials or the call", body = ErrorBody),
        (status = 503, description = "The platform could not be reached", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn test_store_connection(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    let info = state.app.test_store_connection(scope, id).await?;
    Ok(reply(
        StatusCode::OK,
        ConnectionCheck {
            ok: true,
            shop_name: info.name,
            currency: info.currency,
        },
    ))
}

/// The catalogue pull was queued.
#[derive(Serialize, ToSchema)]
pub struct PullQueued {
    pub queued: bool,
}

/// Pulls the store's products and variants from its platform, page by page, as a
/// background job; existing ones (matched by platform id) are updated, none deleted.
#[utoipa::path(
    post, path = "/stores/{id}/catalog/pull", tag = "stores",
    params(("id" = String, Path, description = "Store id")),
    responses(
        (status = 202, body = PullQueued),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        (status = 422, description = "The store's platform has no API (api, csv)", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn pull_store_catalog(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    state.app.pull_catalog(scope, id).await?;
    Ok(reply(StatusCode::ACCEPTED, PullQueued { queued: true }))
}
