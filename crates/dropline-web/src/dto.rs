//! JSON shapes shared by several resources (money, addresses, the names of domain enums),
//! with their OpenAPI schemas and their conversions to and from the domain.
//!
//! Money is ALWAYS `{"amount": "12.50", "currency": "USD"}`: the amount a decimal string
//! with at most the currency's number of decimals, read exactly (never through a float).

use crate::input::{Input, NamedEnum, Problems, ReadJson};
use dropline_domain::address::{Address, Customer};
use dropline_domain::catalog::{OfferPriority, Platform, RoutingPolicy, SupplierKind};
use dropline_domain::inventory::{PriceChangeStatus, WhenOutOfStock};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{ExceptionKind, SuggestedAction};
use dropline_domain::state::{
    HoldReason, OrderState, PaymentState, RequestStatus, ShipmentState, SupplierOrderEvent, SupplierOrderStatus,
};
use dropline_domain::validation::{Finding, Severity};
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

macro_rules! named_enums {
    ($($domain:ty => $schema:ident as $name:literal, $doc:literal;)+) => {$(
        impl NamedEnum for $domain {
            fn names() -> Vec<&'static str> {
                <$domain>::ALL.iter().map(|v| v.as_str()).collect()
            }
            fn from_name(name: &str) -> Option<Self> {
                <$domain>::parse(name)
            }
        }

        #[doc = $doc]
        pub struct $schema;

        impl utoipa::PartialSchema for $schema {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($doc))
                    .enum_values(Some(<$domain as NamedEnum>::names()))
                    .into()
            }
        }

        impl utoipa::ToSchema for $schema {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    )+};
}

named_enums! {
    Platform => PlatformName as "Platform", "Where a store's orders come from.";
    SupplierKind => SupplierKindName as "SupplierKind", "How a supplier is reached (`manual`: a person orders on the supplier's page).";
    OfferPriority => OfferPriorityName as "OfferPriority", "Whether an offer is the first choice or the fallback.";
    RoutingPolicy => RoutingPolicyName as "RoutingPolicy", "How the router picks among a variant's offers.";
    OrderState => OrderStateName as "OrderState", "Lifecycle state of an order.";
    PaymentState => PaymentStateName as "PaymentState", "Payment state of an order.";
    HoldReason => HoldReasonName as "HoldReason", "Why an order waits on hold.";
    ShipmentState => ShipmentStateName as "ShipmentState", "Normalized state of a parcel.";
    SupplierOrderStatus => SupplierOrderStatusName as "SupplierOrderStatus", "Status of a supplier order.";
    RequestStatus => RequestStatusName as "RequestStatus", "Where the request to the supplier stands.";
    SupplierOrderEvent => SupplierOrderEventName as "SupplierOrderEvent", "An event of the supplier-order state machine.";
    ExceptionKind => ExceptionKindName as "ExceptionKind", "What kind of problem an order has.";
    SuggestedAction => SuggestedActionName as "SuggestedAction", "What the seller should probably do about an exception.";
    WhenOutOfStock => WhenOutOfStockName as "WhenOutOfStock", "What the storefront does with a variant no offer has stock of.";
    PriceChangeStatus => PriceChangeStatusName as "PriceChangeStatus", "Where a new price stands.";
}

/// A domain record as the API shows it: its serde form with every amount of money
/// (`{"minor": 1250, "currency": "USD"}`) written as the API's money
/// (`{"amount": "12.50", "currency": "USD"}`).
pub fn api_value<T: Serialize>(value: &T) -> Value {
    let mut value = serde_json::to_value(value).unwrap_or(Value::Null);
    rewrite_money(&mut value);
    value
}

fn rewrite_money(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(rewrite_money),
        Value::Object(map) => {
            let money = (map.len() == 2)
                .then(|| Some((map.get("minor")?.as_i64()?, map.get("currency")?.as_str()?)))
                .flatten()
                .and_then(|(minor, code)| Some(Money::new(minor, Currency::parse(code).ok()?)));
            match money {
                Some(money) => {
                    if let Ok(json) = serde_json::to_value(MoneyJson::from(money)) {
                        *value = json;
                    }
                }
                None => map.values_mut().for_each(rewrite_money),
            }
        }
        _ => {}
    }
}

/// An amount of money. `amount` is a decimal string with at most the currency's decimals
/// (`"12.50"` USD, `"1500"` JPY, `"1.234"` KWD); numbers are refused because JSON numbers
/// are not exact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Money)]
pub struct MoneyJson {
    #[schema(example = "12.50")]
    pub amount: String,
    /// ISO 4217 code.
    #[schema(example = "USD")]
    pub currency: String,
}

impl From<Money> for MoneyJson {
    fn from(money: Money) -> Self {
        Self {
            amount: money.amount_string(),
            currency: money.currency.code().to_string(),
        }
    }
}

/// A postal address, as the customer typed it (never rewritten by validation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Address)]
pub struct AddressJson {
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    pub address1: String,
    pub address2: Option<String>,
    pub city: String,
    /// Region, state or province code (`CA`, `NSW`, `SP`); required in some countries.
    pub region: Option<String>,
    /// Postal code; may be left out (or empty) in countries that have none.
    #[schema(required = false)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "US")]
    pub country_code: String,
    pub phone: Option<String>,
}

impl From<Address> for AddressJson {
    fn from(a: Address) -> Self {
        Self {
            first_name: a.first_name,
            last_name: a.last_name,
            company: a.company,
            address1: a.address1,
            address2: a.address2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country_code: a.country_code,
            phone: a.phone,
        }
    }
}

/// Reads an address; with `strict` the fields every address needs are required, without it
/// (for the address check) a missing field is read as empty and left to validation.
pub fn read_address(input: &Input<'_>, problems: &mut Problems, strict: bool) -> Option<Address> {
    let needed = |name: &'static str, problems: &mut Problems| -> Option<String> {
        let field = input.field(name);
        if strict {
            field.required(problems, Input::text)
        } else {
            field.optional(problems, Input::text).map(Option::unwrap_or_default)
        }
    };
    let first_name = needed("first_name", problems);
    let last_name = needed("last_name", problems);
    let company = input.field("company").optional(problems, Input::text);
    let address1 = needed("address1", problems);
    let address2 = input.field("address2").optional(problems, Input::text);
    let city = needed("city", problems);
    let region = input.field("region").optional(problems, Input::text);
    let postal_code = input.field("postal_code").optional(problems, Input::text);
    let country_code = needed("country_code", problems);
    let phone = input.field("phone").optional(problems, Input::text);
    Some(Address {
        first_name: first_name?,
        last_name: last_name?,
        company: company?,
        address1: address1?,
        address2: address2?,
        city: city?,
        region: region?,
        postal_code: postal_code?.unwrap_or_default(),
        country_code: country_code?,
        phone: phone?,
    })
}

impl ReadJson for Address {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        read_address(input, problems, true)
    }
}

/// The person who bought.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Customer)]
pub struct CustomerJson {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl From<Customer> for CustomerJson {
    fn from(c: Customer) -> Self {
        Self {
            name: c.name,
            email: c.email,
            phone: c.phone,
        }
    }
}

impl ReadJson for Customer {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let name = input.field("name").required(problems, Input::text);
        let email = input.field("email").optional(problems, Input::text);
        let phone = input.field("phone").optional(problems, Input::text);
        Some(Customer {
            name: name?,
            email: email?,
            phone: phone?,
        })
    }
}

/// Whether a finding blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Severity)]
pub enum SeverityJson {
    /// The order cannot ship as it is: it goes on hold.
    Error,
    /// Shown, does not block.
    Warning,
}

/// Something validation noticed about an address or a payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Finding)]
pub struct FindingJson {
    /// The field it is about (`postal_code`, `shipping_address.region`, `payment`).
    pub field: String,
    /// Stable snake_case code (`missing`, `bad_format`, `po_box`, ...).
    pub code: String,
    pub message: String,
    #[schema(value_type = SeverityJson)]
    pub severity: SeverityJson,
}

impl From<Finding> for FindingJson {
    fn from(f: Finding) -> Self {
        Self {
            field: f.field,
            code: f.code,
            message: f.message,
            severity: match f.severity {
                Severity::Error => SeverityJson::Error,
                Severity::Warning => SeverityJson::Warning,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::money::Currency;

    #[test]
    fn amounts_are_formatted_with_the_currency_decimals() {
        let check = |minor: i64, code: &str, text: &str| {
            let currency = Currency::parse(code).unwrap_or_else(|_| panic!("{code}"));
            let money = Money::new(minor, currency);
            assert_eq!(money.amount_string(), text);
            assert_eq!(Money::parse_decimal(text, currency), Ok(money));
        };
        check(1250, "USD", "12.50");
        check(5, "USD", "0.05");
        check(-5, "EUR", "-0.05");
        check(1500, "JPY", "1500");
        check(1234, "KWD", "1.234");
    }
}
