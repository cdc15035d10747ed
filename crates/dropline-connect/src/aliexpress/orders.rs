//! Pure readers of AliExpress's dropshipping answers: bytes in, typed values or an
//! [`AeError`] out. No HTTP, no clock. Every field is untrusted: a wrong type, a negative or
//! absurd amount or a missing required field is [`AeError::Malformed`] naming the field
//! (`result.order_amount.amount: …`), never a panic.
//!
//! # Envelope
//!
//! A success is `{"<method, dots as underscores>_response": {…, "request_id"}}`; the order
//! creation has also been seen answering under the older method's name
//! (`aliexpress_trade_buy_placeorder_response`), which is accepted for it. The product page's
//! own sample shows the fields at the top level next to `"code": "0"`, so a body without the
//! wrapper but with a `result` is read too. A gateway failure is
//! `{"error_response": {code, msg, sub_code, sub_msg}}` or, IOP style, a top-level `code` other
//! than `"0"` with `type` and `message`; see [`super::error`] for how codes are sorted.
//!
//! # Lists
//!
//! AliExpress's JSON comes from XML-shaped objects: a list is sometimes a plain array and
//! sometimes an object with one key holding the array (`{"number": [...]}`,
//! `{"aeop_order_logistics_info": [...]}`); a one-element list may even be that key holding a
//! single object. All three shapes are read as a list.
//!
//! # Money
//!
//! Amounts come as decimal text (`"8.34"`) or JSON numbers and are read from their decimal
//! text into integer minor units, never through a float computation. An amount above
//! [`MAX_AMOUNT_MAJOR`] whole units of its currency, negative, or with more decimals than the
//! currency has (other than trailing zeros) is refused.

use super::error::{AeError, clip};
use dropline_domain::money::{Currency, Money};
use serde_json::{Map, Value};
use time::Date;
use time::macros::format_description;

/// `aliexpress.ds.order.create`.
pub const CREATE: &str = "aliexpress.ds.order.create";
/// `aliexpress.trade.ds.order.get`.
pub const ORDER_GET: &str = "aliexpress.trade.ds.order.get";
/// `aliexpress.logistics.ds.trackinginfo.query`.
pub const TRACKING: &str = "aliexpress.logistics.ds.trackinginfo.query";
/// `aliexpress.ds.product.get`.
pub const PRODUCT: &str = "aliexpress.ds.product.get";
/// `aliexpress.ds.freight.query`.
pub const FREIGHT: &str = "aliexpress.ds.freight.query";
/// The `/rest` path that exchanges a refresh token for a new access token.
pub const TOKEN_REFRESH: &str = "/auth/token/refresh";

/// The older creation method whose response key order creation has been seen answering under.
const CREATE_ALIAS_KEY: &str = "aliexpress_trade_buy_placeorder_response";

/// The largest amount accepted, in whole units of any currency. Far above any dropshipped
/// line even in currencies with small units (100 million IDR is about 6 000 USD), so an
/// amount beyond it is a broken answer, not a price.
pub const MAX_AMOUNT_MAJOR: i64 = 100_000_000;

/// Significant digits an `f64` carries exactly: a decimal with at most this many reads back
/// from its shortest text unchanged.
const EXACT_FLOAT_DIGITS: usize = 15;

/// The code this module gives a tracking query that AliExpress answered with
/// `result_success: false` (AliExpress gives no code there, only `error_desc`).
pub const TRACKING_FAILED: &str = "TRACKING_QUERY_FAILED";

/// The code this module gives a failed freight query without a `code` of its own.
pub const FREIGHT_FAILED: &str = "FREIGHT_QUERY_FAILED";

/// What an order creation gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrder {
    /// AliExpress order ids (one per seller the items come from).
    pub order_ids: Vec<String>,
    /// True when AliExpress answered `REPEATED_ORDER_ERROR` and named the orders it had
    /// already made for this `out_order_id`: nothing new was created.
    pub already_placed: bool,
}

/// `order_status` of an AliExpress order, as listed on the order-detail page (and, for the
/// few values not there, by third-party clients). An unknown value is kept as
/// [`AeOrderStatus::Unknown`]; the text is always in [`AeOrder::status_text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AeOrderStatus {
    /// `PLACE_ORDER_SUCCESS`: created, awaiting payment.
    PlaceOrderSuccess,
    /// `WAIT_BUYER_PAY`: awaiting payment.
    WaitBuyerPay,
    /// `PAYMENT_PROCESSING`.
    PaymentProcessing,
    /// `WAIT_SELLER_EXAMINE_MONEY`: payment being confirmed.
    WaitSellerExamineMoney,
    /// `FUND_PROCESSING`.
    FundProcessing,
    /// `RISK_CONTROL` or `RISK_CONTROL_HOLD`: held by AliExpress's checks.
    RiskControl,
    /// `WAIT_GROUP`: a group-buy waiting for members.
    WaitGroup,
    /// `WAIT_COMPLETE_ADDRESS`: the address must be completed.
    WaitCompleteAddress,
    /// `WAIT_SELLER_SEND_GOODS`: paid, not shipped yet.
    WaitSellerSendGoods,
    /// `SELLER_PART_SEND_GOODS`: part of it shipped.
    SellerPartSendGoods,
    /// `WAIT_BUYER_ACCEPT_GOODS`: shipped, in transit.
    WaitBuyerAcceptGoods,
    /// `IN_ISSUE`: a dispute is open.
    InIssue,
    /// `IN_FROZEN`: frozen.
    InFrozen,
    /// `IN_CANCEL`: being cancelled.
    InCancel,
    /// `CANCEL` or `CLOSED`.
    Cancelled,
    /// `FINISH`: completed (received, or closed: AliExpress uses it for both).
    Finish,
    /// Any other value.
    Unknown,
}

impl AeOrderStatus {
    /// The status for AliExpress's text (exact, upper case).
    pub fn from_code(text: &str) -> Self {
        match text.trim() {
            "PLACE_ORDER_SUCCESS" => Self::PlaceOrderSuccess,
            "WAIT_BUYER_PAY" => Self::WaitBuyerPay,
            "PAYMENT_PROCESSING" => Self::PaymentProcessing,
            "WAIT_SELLER_EXAMINE_MONEY" => Self::WaitSellerExamineMoney,
            "FUND_PROCESSING" => Self::FundProcessing,
            "RISK_CONTROL" | "RISK_CONTROL_HOLD" => Self::RiskControl,
            "WAIT_GROUP" => Self::WaitGroup,
            "WAIT_COMPLETE_ADDRESS" => Self::WaitCompleteAddress,
            "WAIT_SELLER_SEND_GOODS" => Self::WaitSellerSendGoods,
            "SELLER_PART_SEND_GOODS" => Self::SellerPartSendGoods,
            "WAIT_BUYER_ACCEPT_GOODS" => Self::WaitBuyerAcceptGoods,
            "IN_ISSUE" => Self::InIssue,
            "IN_FROZEN" => Self::InFrozen,
            "IN_CANCEL" => Self::InCancel,
            "CANCEL" | "CLOSED" => Self::Cancelled,
            "FINISH" => Self::Finish,
            _ => Self::Unknown,
        }
    }

    /// Whether the order is still waiting to be paid.
    pub fn awaits_payment(self) -> bool {
        matches!(self, Self::PlaceOrderSuccess | Self::WaitBuyerPay)
    }

    /// Whether at least part of the order has left the seller.
    pub fn is_shipped(self) -> bool {
        matches!(
            self,
            Self::SellerPartSendGoods | Self::WaitBuyerAcceptGoods | Self::Finish
        )
    }
}

/// One tracking number of an order and the service carrying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AeLogistics {
    /// `logistics_no`.
    pub tracking_number: String,
    /// `logistics_service`, e.g. `CAINIAO_STANDARD`.
    pub service: Option<String>,
}

/// One line of an order (`child_order_list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AeOrderLine {
    pub product_id: Option<String>,
    pub sku_id: Option<String>,
    pub count: Option<u32>,
    pub product_name: Option<String>,
}

/// An order as `aliexpress.trade.ds.order.get` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AeOrder {
    /// The id asked for (AliExpress does not repeat it in the answer).
    pub order_id: String,
    /// `order_status` as AliExpress wrote it.
    pub status_text: String,
    /// `order_status`, mapped.
    pub status: AeOrderStatus,
    /// `logistics_status` (`WAIT_SELLER_SEND_GOODS`, `SELLER_SEND_GOODS`, …).
    pub logistics_status: Option<String>,
    /// `gmt_create` as written (AliExpress does not state its time zone).
    pub created: Option<String>,
    /// `order_amount`.
    pub amount: Option<Money>,
    /// `user_order_amount`: the amount in the buyer's pay currency.
    pub user_amount: Option<Money>,
    pub lines: Vec<AeOrderLine>,
    /// `logistics_info_list`: tracking numbers, once shipped.
    pub logistics: Vec<AeLogistics>,
}

/// One event of a parcel's journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AeTrackingEvent {
    /// `event_desc`.
    pub description: String,
    /// `status`, when given.
    pub status: Option<String>,
    /// `address`, when given.
    pub address: Option<String>,
    /// `signed_name`, when given.
    pub signed_name: Option<String>,
    /// `event_date` as written.
    pub event_date: Option<String>,
    /// The day of `event_date` when it starts with `YYYY-MM-DD` (its time zone is not stated).
    pub date: Option<Date>,
}

/// A SKU of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AeSku {
    /// `sku_id` (what the freight query takes).
    pub sku_id: String,
    /// `sku_attr` (what order creation takes; empty for a product with one SKU).
    pub sku_attr: String,
    /// The price the account pays: `offer_sale_price`, else `sku_price`.
    pub price: Money,
    /// `sku_price`, the price before discounts.
    pub list_price: Option<Money>,
    /// `sku_available_stock`.
    pub stock: u32,
    /// In stock and the product is on sale.
    pub available: bool,
    /// The SKU's properties as the seller names them, `name:value` joined by `;`
    /// (`Color:Black;Size:XL`), from `ae_sku_property_dtos`; empty when it has none.
    pub options: String,
}

/// A SKU of a product whose price or stock cannot be believed, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AeUnreadableSku {
    /// `sku_id`, when it could be read (else the entry cannot be tied to a SKU).
    pub sku_id: Option<String>,
    /// `sku_attr`, when it could be read.
    pub sku_attr: Option<String>,
    /// What is wrong, naming the field.
    pub reason: String,
}

/// A product as `aliexpress.ds.product.get` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AeProduct {
    pub product_id: String,
    /// `subject`.
    pub title: Option<String>,
    /// `product_status_type` (`onSelling` when on sale).
    pub status: Option<String>,
    pub skus: Vec<AeSku>,
    /// SKUs listed with a price or stock that cannot be believed: one SKU's bad data does not
    /// hide the others.
    pub unreadable: Vec<AeUnreadableSku>,
}

impl AeProduct {
    /// The SKU with this id.
    pub fn sku(&self, sku_id: &str) -> Option<&AeSku> {
        self.skus.iter().find(|sku| sku.sku_id == sku_id)
    }

    /// The unreadable entry of the SKU with this id or `sku_attr`.
    pub fn unreadable_sku(&self, id_or_attr: &str) -> Option<&AeUnreadableSku> {
        self.unreadable
            .iter()
            .find(|sku| sku.sku_id.as_deref() == Some(id_or_attr) || sku.sku_attr.as_deref() == Some(id_or_attr))
    }

    /// Whether some listed entry could not be tied to a SKU at all: then a SKU's absence
    /// from the answer proves nothing.
    pub fn has_untied_entries(&self) -> bool {
        self.unreadable.iter().any(|sku| sku.sku_id.is_none())
    }
}

/// A shipping option of the freight query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AeFreightOption {
    /// `code`: the service name order creation takes (`logistics_service_name`).
    pub service: String,
    /// `company`: the name to show.
    pub company: Option<String>,
    /// The shipping fee (zero when free).
    pub cost: Money,
    pub free_shipping: bool,
    pub min_days: Option<u32>,
    pub max_days: Option<u32>,
    /// `ship_from_country`.
    pub ship_from: Option<String>,
    /// Whether the parcel can be tracked.
    pub tracking: Option<bool>,
}

/// A token pair from `/auth/token/refresh` (or `/auth/token/create`).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Seconds the access token lives.
    pub expires_in: Option<u64>,
    /// Seconds the refresh token lives.
    pub refresh_expires_in: Option<u64>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .finish()
    }
}

/// The answer of `aliexpress.ds.order.create`.
///
/// `REPEATED_ORDER_ERROR` with order ids is read as the orders already made
/// ([`PlacedOrder::already_placed`]); without ids it stays a refusal
/// ([`RejectKind::AlreadyPlaced`](super::error::RejectKind::AlreadyPlaced)).
pub fn read_create(body: &[u8]) -> Result<PlacedOrder, AeError> {
    let (object, key) = response(body, CREATE)?;
    let response = Obj::new(&object, key)?;
    let result = response.required_object("result")?;
    let ids = result
        .list_values("order_list")?
        .into_iter()
        .enumerate()
        .map(|(i, value)| id_text(value).map_err(|why| result.bad(&format!("order_list[{i}]"), why)))
        .collect::<Result<Vec<String>, AeError>>()?;
    let error_code = result.text("error_code")?;
    let success = match result.flag("is_success")? {
        Some(flag) => flag,
        None => error_code.is_none() && !ids.is_empty(),
    };
    if success {
        if ids.is_empty() {
            return Err(result.bad("order_list", "empty on a success"));
        }
        return Ok(PlacedOrder {
            order_ids: ids,
            already_placed: false,
        });
    }
    let Some(code) = error_code else {
        return Err(result.bad("error_code", "missing on a failure"));
    };
    if code == "REPEATED_ORDER_ERROR" && !ids.is_empty() {
        return Ok(PlacedOrder {
            order_ids: ids,
            already_placed: true,
        });
    }
    Err(AeError::rejected(&code, &result.text("error_msg")?.unwrap_or_default()))
}

/// The answer of `aliexpress.trade.ds.order.get` for `order_id`: `None` when the answer has
/// no `result` (how AliExpress answers an unknown id is not documented; the simulator answers
/// so).
pub fn read_order(body: &[u8], order_id: &str) -> Result<Option<AeOrder>, AeError> {
    let (object, key) = response(body, ORDER_GET)?;
    let response = Obj::new(&object, key)?;
    let Some(result) = response.object("result")? else {
        return Ok(None);
    };
    let status_text = result.required_text("order_status")?;
    let lines = result
        .list("child_order_list")?
        .iter()
        .map(|line| {
            Ok(AeOrderLine {
                product_id: line.text("product_id")?,
                sku_id: line.text("sku_id")?,
                count: line.count("product_count")?,
                product_name: line.text("product_name")?,
            })
        })
        .collect::<Result<Vec<_>, AeError>>()?;
    let logistics = result
        .list("logistics_info_list")?
        .iter()
        .filter_map(|info| match info.text("logistics_no") {
            // An entry without a number carries nothing to track.
            Ok(None) => None,
            Ok(Some(number)) => Some(info.text("logistics_service").map(|service| AeLogistics {
                tracking_number: number,
                service,
            })),
            Err(error) => Some(Err(error)),
        })
        .collect::<Result<Vec<_>, AeError>>()?;
    Ok(Some(AeOrder {
        order_id: order_id.trim().to_string(),
        status: AeOrderStatus::from_code(&status_text),
        status_text,
        logistics_status: result.text("logistics_status")?,
        created: result.text("gmt_create")?,
        amount: result.money_object("order_amount")?,
        user_amount: result.money_object("user_order_amount")?,
        lines,
        logistics,
    }))
}

/// The answer of `aliexpress.logistics.ds.trackinginfo.query`: the events in the order
/// AliExpress lists them. `result_success: false` is a [`AeError::Rejected`] with code
/// [`TRACKING_FAILED`] and AliExpress's `error_desc`.
pub fn read_tracking(body: &[u8]) -> Result<Vec<AeTrackingEvent>, AeError> {
    let (object, key) = response(body, TRACKING)?;
    let response = Obj::new(&object, key)?;
    let error_desc = response.text("error_desc")?;
    let success = match response.flag("result_success")? {
        Some(flag) => flag,
        None => error_desc.is_none(),
    };
    if !success {
        return Err(AeError::rejected(
            TRACKING_FAILED,
            error_desc.as_deref().unwrap_or("result_success is false"),
        ));
    }
    response
        .list("details")?
        .iter()
        .map(|event| {
            let event_date = event.text("event_date")?;
            let date = event_date.as_deref().and_then(day_of);
            Ok(AeTrackingEvent {
                description: event.required_text("event_desc")?,
                status: event.text("status")?,
                address: event.text("address")?,
                signed_name: event.text("signed_name")?,
                event_date,
                date,
            })
        })
        .collect()
}

/// The answer of `aliexpress.ds.product.get`: `None` for `rsp_code` 605 (ITEM_ID_NOT_FOUND).
/// Other `rsp_code`s than 200 are refusals (602: not for sale to that country, a
/// [`RejectKind::CannotShip`](super::error::RejectKind::CannotShip)). Prices without a
/// `currency_code` are in `currency` (the one asked for).
///
/// Each SKU is read on its own: one whose price or stock cannot be believed (negative, more
/// decimals than the currency has, absurd, missing) goes to [`AeProduct::unreadable`] with
/// why, and the others are read as usual.
pub fn read_product(body: &[u8], product_id: &str, currency: Currency) -> Result<Option<AeProduct>, AeError> {
    let (object, key) = response(body, PRODUCT)?;
    let response = Obj::new(&object, key)?;
    if let Some(code) = response.text("rsp_code")?
        && code != "200"
        && code != "0"
    {
        if code == "605" {
            return Ok(None);
        }
        return Err(AeError::rejected(&code, &response.text("rsp_msg")?.unwrap_or_default()));
    }
    let result = response.required_object("result")?;
    let base = result.object("ae_item_base_info_dto")?;
    let (title, status, listed_id) = match &base {
        Some(base) => (
            base.text("subject")?,
            base.text("product_status_type")?,
            base.text("product_id")?,
        ),
        None => (None, None, None),
    };
    let on_sale = status.as_deref().is_none_or(|s| s == "onSelling");
    let mut skus = Vec::new();
    let mut unreadable = Vec::new();
    for (i, value) in result.list_values("ae_item_sku_info_dtos")?.into_iter().enumerate() {
        let sku = match Obj::new(value, format!("{}.ae_item_sku_info_dtos[{i}]", result.path)) {
            Ok(sku) => sku,
            Err(error) => {
                unreadable.push(AeUnreadableSku {
                    sku_id: None,
                    sku_attr: None,
                    reason: error.to_string(),
                });
                continue;
            }
        };
        match read_sku(&sku, currency, on_sale) {
            Ok(read) => skus.push(read),
            Err(error) => unreadable.push(AeUnreadableSku {
                sku_id: sku.text("sku_id").ok().flatten(),
                sku_attr: sku.text("sku_attr").ok().flatten(),
                reason: match error {
                    AeError::Malformed(reason) => reason,
                    other => other.to_string(),
                },
            }),
        }
    }
    Ok(Some(AeProduct {
        product_id: listed_id.unwrap_or_else(|| product_id.trim().to_string()),
        title,
        status,
        skus,
        unreadable,
    }))
}

/// One entry of `ae_item_sku_info_dtos`; any field that cannot be believed is an error naming
/// it.
fn read_sku(sku: &Obj<'_>, currency: Currency, on_sale: bool) -> Result<AeSku, AeError> {
    let currency = match sku.text("currency_code")? {
        Some(code) => {
            Currency::parse(&code).map_err(|_| sku.bad("currency_code", format!("{code:?} is not a currency")))?
        }
        None => currency,
    };
    let list_price = sku.money("sku_price", currency)?;
    let price = match sku.money("offer_sale_price", currency)? {
        Some(price) => price,
        None => list_price.ok_or_else(|| sku.bad("sku_price", "missing (and no offer_sale_price)"))?,
    };
    let stock = match sku.count("sku_available_stock")? {
        Some(stock) => stock,
        None => sku
            .count("ipm_sku_stock")?
            .ok_or_else(|| sku.bad("sku_available_stock", "missing"))?,
    };
    let sku_attr = match sku.text("sku_attr")? {
        Some(attr) => attr,
        None => sku.text("id")?.unwrap_or_default(),
    };
    Ok(AeSku {
        sku_id: sku.required_text("sku_id")?,
        sku_attr,
        price,
        list_price,
        stock,
        available: on_sale && stock > 0,
        options: sku_options(sku),
    })
}

/// `Color:Black;Size:XL` from a SKU's `ae_sku_property_dtos`: each property's name and the
/// seller's own name of its value (`property_value_definition_name`), else the platform's
/// (`sku_property_value`). Properties that cannot be read are left out: they describe, they
/// do not price.
fn sku_options(sku: &Obj<'_>) -> String {
    let Ok(properties) = sku.list("ae_sku_property_dtos") else {
        return String::new();
    };
    properties
        .iter()
        .filter_map(|property| {
            let text = |key: &str| property.text(key).ok().flatten();
            let name = text("sku_property_name")?;
            let value = text("property_value_definition_name").or_else(|| text("sku_property_value"))?;
            Some(format!("{name}:{value}"))
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// The answer of `aliexpress.ds.freight.query`. A failed query (`success: false` or a
/// `code` other than 200) is a [`AeError::Rejected`] with AliExpress's `code` and `msg`
/// (`505` / `DELIVERY_NOT_AVAILABLE_TO_YOUR_ADDRESS` is
/// [`RejectKind::CannotShip`](super::error::RejectKind::CannotShip)).
///
/// The fee is `shipping_fee_cent` read as a decimal amount: despite its name, the freight
/// page's own sample gives `"172.71"` next to `"US $172.71"`. Without `shipping_fee_currency`
/// it is in `currency` (the one asked for).
pub fn read_freight(body: &[u8], currency: Currency) -> Result<Vec<AeFreightOption>, AeError> {
    let (object, key) = response(body, FREIGHT)?;
    let response = Obj::new(&object, key)?;
    let result = response.required_object("result")?;
    let code = result.text("code")?;
    let success = result.flag("success")?.unwrap_or(true) && code.as_deref().is_none_or(|c| c == "200");
    if !success {
        return Err(AeError::rejected(
            code.as_deref().unwrap_or(FREIGHT_FAILED),
            &result.text("msg")?.unwrap_or_default(),
        ));
    }
    result
        .list("delivery_options")?
        .iter()
        .map(|option| {
            let currency = match option.text("shipping_fee_currency")? {
                Some(code) => Currency::parse(&code)
                    .map_err(|_| option.bad("shipping_fee_currency", format!("{code:?} is not a currency")))?,
                None => currency,
            };
            let free_shipping = option.flag("free_shipping")?.unwrap_or(false);
            let cost = match option.money("shipping_fee_cent", currency)? {
                Some(cost) => cost,
                None if free_shipping => Money::zero(currency),
                None => return Err(option.bad("shipping_fee_cent", "missing")),
            };
            let min_days = option.count("min_delivery_days")?;
            let max_days = option.count("max_delivery_days")?;
            if let (Some(min), Some(max)) = (min_days, max_days)
                && min > max
            {
                return Err(option.bad(
                    "min_delivery_days",
                    format!("{min} is more than max_delivery_days {max}"),
                ));
            }
            Ok(AeFreightOption {
                service: option.required_text("code")?,
                company: option.text("company")?,
                cost,
                free_shipping,
                min_days,
                max_days,
                ship_from: option.text("ship_from_country")?,
                tracking: option.flag("tracking")?,
            })
        })
        .collect()
}

/// The answer of `/auth/token/refresh` (IOP style: fields at the top level, `code` `"0"`).
pub fn read_token(body: &[u8]) -> Result<TokenGrant, AeError> {
    let object = json_object(body)?;
    platform_failure(&object)?;
    let top = Obj::new_map(&object, "body");
    let grant = TokenGrant {
        access_token: top.required_text("access_token")?,
        refresh_token: top.text("refresh_token")?,
        expires_in: top.count_u64("expires_in")?,
        refresh_expires_in: top.count_u64("refresh_expires_in")?,
    };
    // A token goes into form fields and logs are kept free of it; odd bytes mean a broken body.
    for (key, value) in [
        ("access_token", Some(&grant.access_token)),
        ("refresh_token", grant.refresh_token.as_ref()),
    ] {
        if let Some(value) = value
            && !value.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(top.bad(key, "contains characters a token does not have"));
        }
    }
    Ok(grant)
}

/// The gateway's failure a body carries (`error_response` or an IOP `code` other than
/// `"0"`), if it is JSON and carries one; for answers with an HTTP error status.
pub fn read_failure(body: &[u8]) -> Option<AeError> {
    let object = json_object(body).ok()?;
    match platform_failure(&object) {
        Err(AeError::Malformed(_)) | Ok(()) => None,
        Err(error) => Some(error),
    }
}

/// The body as a JSON object.
fn json_object(body: &[u8]) -> Result<Map<String, Value>, AeError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(AeError::Malformed(format!("body: {} is not an object", kind(&other)))),
        Err(error) => Err(AeError::Malformed(format!(
            "body is not JSON: {}",
            clip(&error.to_string())
        ))),
    }
}

/// The gateway's failure in the body, if any: `error_response`, or a top-level `code` other
/// than `"0"`.
fn platform_failure(object: &Map<String, Value>) -> Result<(), AeError> {
    if let Some(error) = object.get("error_response") {
        let error = Obj::new(error, "error_response".to_string())?;
        let code = error.required_text("code")?;
        let message = [error.text("msg")?, error.text("sub_msg")?]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        return Err(AeError::from_platform(
            &code,
            error.text("sub_code")?.as_deref(),
            &message,
        ));
    }
    let top = Obj::new_map(object, "body");
    if let Some(code) = top.text("code")?
        && code != "0"
    {
        let message = top.text("message")?.or(top.text("msg")?).unwrap_or_default();
        return Err(AeError::from_platform(
            &code,
            top.text("sub_code")?.as_deref(),
            &message,
        ));
    }
    Ok(())
}

/// The `<method>_response` object of a successful answer (or the top level, see the module
/// docs), with its key for error paths.
fn response(body: &[u8], method: &str) -> Result<(Value, String), AeError> {
    let mut object = json_object(body)?;
    platform_failure(&object)?;
    let key = format!("{}_response", method.replace('.', "_"));
    let found = object.remove(&key).map(|value| (value, key.clone())).or_else(|| {
        (method == CREATE)
            .then(|| object.remove(CREATE_ALIAS_KEY))
            .flatten()
            .map(|value| (value, CREATE_ALIAS_KEY.to_string()))
    });
    match found {
        Some((value @ Value::Object(_), key)) => Ok((value, key)),
        Some((other, key)) => Err(AeError::Malformed(format!("{key}: {} is not an object", kind(&other)))),
        None if object.contains_key("result") => Ok((Value::Object(object), "body".to_string())),
        None => Err(AeError::Malformed(format!("{key}: missing"))),
    }
}

/// An id printed as a number or as text: digits only.
fn id_text(value: &Value) -> Result<String, String> {
    let text = match value {
        Value::Number(number) if number.is_u64() => number.to_string(),
        Value::String(text) => text.trim().to_string(),
        other => return Err(format!("{} is not an id", kind(other))),
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 20 {
        return Err(format!("{text:?} is not an id"));
    }
    Ok(text)
}

/// `YYYY-MM-DD` at the start of `text`.
fn day_of(text: &str) -> Option<Date> {
    let day = text.trim().get(..10)?;
    Date::parse(day, format_description!("[year]-[month]-[day]")).ok()
}

/// One JSON object and where it sits in the answer, for error messages.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn new(value: &'a Value, path: impl Into<String>) -> Result<Self, AeError> {
        let path = path.into();
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            other => Err(AeError::Malformed(format!("{path}: {} is not an object", kind(other)))),
        }
    }

    fn new_map(map: &'a Map<String, Value>, path: &str) -> Self {
        Self {
            map,
            path: path.to_string(),
        }
    }

    fn bad(&self, key: &str, why: impl std::fmt::Display) -> AeError {
        AeError::Malformed(format!("{}.{key}: {why}", self.path))
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// Text or a number's text, trimmed; absent, null and empty are `None`.
    fn text(&self, key: &str) -> Result<Option<String>, AeError> {
        let text = match self.get(key) {
            None => return Ok(None),
            Some(Value::String(text)) => text.trim().to_string(),
            Some(Value::Number(number)) => number_text(number).map_err(|why| self.bad(key, why))?,
            Some(other) => return Err(self.bad(key, format!("{} is not text", kind(other)))),
        };
        Ok((!text.is_empty()).then_some(text))
    }

    fn required_text(&self, key: &str) -> Result<String, AeError> {
        self.text(key)?.ok_or_else(|| self.bad(key, "missing"))
    }

    /// A boolean, also written `"true"`/`"false"`.
    fn flag(&self, key: &str) -> Result<Option<bool>, AeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::String(text)) if text.trim() == "true" => Ok(Some(true)),
            Some(Value::String(text)) if text.trim() == "false" => Ok(Some(false)),
            Some(other) => Err(self.bad(key, format!("{} is not a boolean", kind(other)))),
        }
    }

    /// A whole, non-negative count that fits in 32 bits.
    fn count(&self, key: &str) -> Result<Option<u32>, AeError> {
        self.count_u64(key)?
            .map(|n| u32::try_from(n).map_err(|_| self.bad(key, format!("{n} is too large"))))
            .transpose()
    }

    fn count_u64(&self, key: &str) -> Result<Option<u64>, AeError> {
        self.text(key)?
            .map(|text| {
                if !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(self.bad(key, format!("{text:?} is not a whole, non-negative number")));
                }
                text.parse::<u64>()
                    .map_err(|_| self.bad(key, format!("{text} is too large")))
            })
            .transpose()
    }

    /// An exact, non-negative amount in `currency`.
    fn money(&self, key: &str, currency: Currency) -> Result<Option<Money>, AeError> {
        self.text(key)?
            .map(|text| amount(&text, currency).map_err(|why| self.bad(key, why)))
            .transpose()
    }

    /// `{amount, currency_code}`; absent is `None`.
    fn money_object(&self, key: &str) -> Result<Option<Money>, AeError> {
        let Some(object) = self.object(key)? else {
            return Ok(None);
        };
        let code = object.required_text("currency_code")?;
        let currency =
            Currency::parse(&code).map_err(|_| object.bad("currency_code", format!("{code:?} is not a currency")))?;
        object
            .money("amount", currency)?
            .map(Some)
            .ok_or_else(|| object.bad("amount", "missing"))
    }

    fn object(&self, key: &str) -> Result<Option<Obj<'a>>, AeError> {
        self.get(key)
            .map(|value| Obj::new(value, format!("{}.{key}", self.path)))
            .transpose()
    }

    fn required_object(&self, key: &str) -> Result<Obj<'a>, AeError> {
        self.object(key)?.ok_or_else(|| self.bad(key, "missing"))
    }

    /// The values of a list in any of AliExpress's shapes (see the module docs).
    fn list_values(&self, key: &str) -> Result<Vec<&'a Value>, AeError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.iter().collect()),
            Some(Value::Object(wrapper)) if wrapper.len() == 1 => match wrapper.values().next() {
                Some(Value::Array(items)) => Ok(items.iter().collect()),
                Some(Value::Null) | None => Ok(Vec::new()),
                Some(single) => Ok(vec![single]),
            },
            // An object with several keys is the single element itself.
            Some(single @ Value::Object(_)) => Ok(vec![single]),
            Some(other) => Err(self.bad(key, format!("{} is not a list", kind(other)))),
        }
    }

    /// The objects of a list, each with its path.
    fn list(&self, key: &str) -> Result<Vec<Obj<'a>>, AeError> {
        self.list_values(key)?
            .into_iter()
            .enumerate()
            .map(|(i, item)| Obj::new(item, format!("{}.{key}[{i}]", self.path)))
            .collect()
    }
}

/// The decimal text of a JSON number, never computed with. serde_json hands fractional
/// numbers over as `f64`; its shortest round-trip text is the decimal that was printed
/// whenever that has at most 15 significant digits, so longer ones are refused, not guessed.
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
    // `Display` for f64 prints the shortest round-trip decimal, never an exponent.
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

/// An exact amount: digits, optionally a point and decimals; zeros past the currency's
/// decimals are dropped, any other digit there is refused rather than rounded.
fn amount(text: &str, currency: Currency) -> Result<Money, String> {
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
    let money =
        Money::parse_decimal(&plain, currency).map_err(|_| format!("{trimmed:?} is not an amount in {currency}"))?;
    let limit = 10i64
        .checked_pow(currency.exponent())
        .and_then(|scale| scale.checked_mul(MAX_AMOUNT_MAJOR))
        .unwrap_or(i64::MAX);
    if money.minor > limit {
        return Err(format!(
            "{trimmed} {currency} is beyond any price (more than {MAX_AMOUNT_MAJOR})"
        ));
    }
    Ok(money)
}

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
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::aliexpress::error::RejectKind;
    use proptest::prelude::*;
    use serde_json::json;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn bytes(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    #[test]
    fn create_success_in_both_list_shapes_and_under_the_old_key() {
        let nested = json!({"aliexpress_ds_order_create_response": {"result": {"is_success": true, "order_list": {"number": [8198352049851315u64]}}, "request_id": "r"}});
        assert_eq!(
            read_create(&bytes(nested)).unwrap(),
            PlacedOrder {
                order_ids: vec!["8198352049851315".into()],
                already_placed: false
            }
        );
        let plain = json!({"aliexpress_trade_buy_placeorder_response": {"result": {"is_success": "true", "order_list": [1, "2"]}}});
        assert_eq!(read_create(&bytes(plain)).unwrap().order_ids, ["1", "2"]);
    }

    #[test]
    fn create_refusals_keep_code_and_kind() {
        let body = json!({"aliexpress_ds_order_create_response": {"result": {"is_success": false, "error_code": "B_DROPSHIPPER_DELIVERY_ADDRESS_VALIDATE_FAIL", "error_msg": "Please enter a city"}}});
        let error = read_create(&bytes(body)).unwrap_err();
        assert_eq!(error.reject_kind(), Some(RejectKind::AddressInvalid));
        assert_eq!(error.code(), Some("B_DROPSHIPPER_DELIVERY_ADDRESS_VALIDATE_FAIL"));
        assert!(error.to_string().contains("Please enter a city"));

        let repeated_without_ids = json!({"aliexpress_ds_order_create_response": {"result": {"is_success": false, "error_code": "REPEATED_ORDER_ERROR"}}});
        assert_eq!(
            read_create(&bytes(repeated_without_ids)).unwrap_err().reject_kind(),
            Some(RejectKind::AlreadyPlaced)
        );
        let repeated_with_ids = json!({"aliexpress_ds_order_create_response": {"result": {"is_success": false, "error_code": "REPEATED_ORDER_ERROR", "order_list": {"number": [42]}}}});
        assert_eq!(
            read_create(&bytes(repeated_with_ids)).unwrap(),
            PlacedOrder {
                order_ids: vec!["42".into()],
                already_placed: true
            }
        );
    }

    #[test]
    fn create_oddities_are_malformed_naming_the_field() {
        let cases = [
            (
                json!({"aliexpress_ds_order_create_response": {}}),
                "aliexpress_ds_order_create_response.result: missing",
            ),
            (
                json!({"aliexpress_ds_order_create_response": {"result": {"is_success": true}}}),
                "result.order_list: empty on a success",
            ),
            (
                json!({"aliexpress_ds_order_create_response": {"result": {"is_success": true, "order_list": [-1]}}}),
                "order_list[0]",
            ),
            (
                json!({"aliexpress_ds_order_create_response": {"result": {"is_success": true, "order_list": [1.5]}}}),
                "order_list[0]",
            ),
            (
                json!({"aliexpress_ds_order_create_response": {"result": {"is_success": 1, "order_list": [1]}}}),
                "is_success",
            ),
            (
                json!({"aliexpress_ds_order_create_response": {"result": {"is_success": false}}}),
                "error_code: missing",
            ),
            (
                json!({"something_else_response": {}}),
                "aliexpress_ds_order_create_response: missing",
            ),
            (json!({"aliexpress_ds_order_create_response": []}), "is not an object"),
        ];
        for (body, needle) in cases {
            let error = read_create(&bytes(body.clone())).unwrap_err();
            assert!(
                matches!(&error, AeError::Malformed(m) if m.contains(needle)),
                "{body}: {error:?}"
            );
        }
    }

    #[test]
    fn gateway_failures_in_both_styles() {
        let top = br#"{"type":"ISV","code":"IllegalAccessToken","message":"The specified access token is invalid or expired","request_id":"0b"}"#;
        assert!(read_create(top).unwrap_err().needs_new_token());
        let nested = br#"{"error_response":{"code":"15","type":"ISP","sub_code":"isv.insufficient-permission","sub_msg":"Insufficient permission.","msg":"Remote service error","request_id":"2"}}"#;
        let error = read_order(nested, "1").unwrap_err();
        assert!(
            matches!(&error, AeError::Credentials { message, .. } if message.contains("Insufficient permission")),
            "{error:?}"
        );
        let no_code = br#"{"error_response":{"msg":"?"}}"#;
        assert!(matches!(read_order(no_code, "1"), Err(AeError::Malformed(m)) if m == "error_response.code: missing"));
        // "0" is success in IOP style; the product page's sample has it at the top level.
        let ok = br#"{"code":"0","result":{"ae_item_sku_info_dtos":[]},"rsp_code":"200"}"#;
        assert!(read_product(ok, "1", usd()).unwrap().unwrap().skus.is_empty());
    }

    #[test]
    fn order_detail_from_the_documented_sample() {
        let body = json!({"aliexpress_trade_ds_order_get_response": {"result": {
            "gmt_create": "2024-09-09 21:00:03", "order_status": "FINISH",
            "logistics_info_list": {"aeop_order_logistics_info": [{"logistics_service": "CAINIAO_FULFILLMENT_STD", "logistics_no": "LP00675700340000"}]},
            "user_order_amount": {"amount": "8.34", "currency_code": "USD"},
            "order_amount": {"amount": 8.34, "currency_code": "USD"},
            "child_order_list": {"aeop_child_order_info": [{"product_count": 1, "sku_id": "1200003702000037", "product_name": "Bottle", "product_id": 1005001}]},
            "logistics_status": "BUYER_ACCEPT_GOODS"}, "request_id": "r"}});
        let order = read_order(&bytes(body), " 81 ").unwrap().unwrap();
        assert_eq!(order.order_id, "81");
        assert_eq!(order.status, AeOrderStatus::Finish);
        assert_eq!(order.status_text, "FINISH");
        assert_eq!(order.amount, Some(Money::new(834, usd())));
        assert_eq!(order.user_amount, Some(Money::new(834, usd())));
        assert_eq!(order.logistics[0].tracking_number, "LP00675700340000");
        assert_eq!(order.logistics[0].service.as_deref(), Some("CAINIAO_FULFILLMENT_STD"));
        assert_eq!(order.lines[0].count, Some(1));
        assert_eq!(order.lines[0].product_id.as_deref(), Some("1005001"));
    }

    #[test]
    fn order_detail_unknown_status_absent_result_and_bad_amounts() {
        let unknown = json!({"aliexpress_trade_ds_order_get_response": {"result": {"order_status": "SOMETHING_NEW"}}});
        let order = read_order(&bytes(unknown), "1").unwrap().unwrap();
        assert_eq!(order.status, AeOrderStatus::Unknown);
        assert_eq!(order.status_text, "SOMETHING_NEW");
        assert_eq!(
            read_order(
                &bytes(json!({"aliexpress_trade_ds_order_get_response": {"request_id": "r"}})),
                "1"
            ),
            Ok(None)
        );
        let cases = [
            (
                json!({"amount": "-1.00", "currency_code": "USD"}),
                "order_amount.amount: -1.00 is a negative amount",
            ),
            (
                json!({"amount": "1e9", "currency_code": "USD"}),
                "order_amount.amount: \"1e9\" is not an amount in USD",
            ),
            (
                json!({"amount": "100000000.01", "currency_code": "USD"}),
                "beyond any price",
            ),
            (
                json!({"amount": "1.005", "currency_code": "USD"}),
                "more decimals than USD",
            ),
            (
                json!({"amount": "1", "currency_code": "XXY"}),
                "currency_code: \"XXY\" is not a currency",
            ),
            (json!({"amount": "1"}), "currency_code: missing"),
            (json!({"currency_code": "USD"}), "order_amount.amount: missing"),
            (json!({"amount": true, "currency_code": "USD"}), "a boolean is not text"),
        ];
        for (amount, needle) in cases {
            let body = json!({"aliexpress_trade_ds_order_get_response": {"result": {"order_status": "FINISH", "order_amount": amount}}});
            let error = read_order(&bytes(body), "1").unwrap_err();
            assert!(
                matches!(&error, AeError::Malformed(m) if m.contains(needle)),
                "{amount}: {error:?}"
            );
        }
        let no_status = json!({"aliexpress_trade_ds_order_get_response": {"result": {}}});
        assert!(
            matches!(read_order(&bytes(no_status), "1"), Err(AeError::Malformed(m)) if m.ends_with("result.order_status: missing"))
        );
    }

    #[test]
    fn tracking_events_and_failure() {
        let body = json!({"aliexpress_logistics_ds_trackinginfo_query_response": {"details": {"details": [
            {"event_desc": "BILLING INFORMATION RECEIVED", "signed_name": "x", "status": "s", "address": "CN", "event_date": "2016-06-26"},
            {"event_desc": "Delivered", "event_date": "2016-07-02 10:11:12"}]},
            "official_website": "www.ems.com", "result_success": true}});
        let events = read_tracking(&bytes(body)).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].date,
            Date::from_calendar_date(2016, time::Month::June, 26).ok()
        );
        assert_eq!(
            events[1].date,
            Date::from_calendar_date(2016, time::Month::July, 2).ok()
        );
        assert_eq!(events[0].address.as_deref(), Some("CN"));
        let failed = json!({"aliexpress_logistics_ds_trackinginfo_query_response": {"result_success": false, "error_desc": "No such number"}});
        let error = read_tracking(&bytes(failed)).unwrap_err();
        assert_eq!(error, AeError::rejected(TRACKING_FAILED, "No such number"));
        let nameless = json!({"aliexpress_logistics_ds_trackinginfo_query_response": {"result_success": true, "details": [{"status": "x"}]}});
        assert!(
            matches!(read_tracking(&bytes(nameless)), Err(AeError::Malformed(m)) if m.contains("details[0].event_desc: missing"))
        );
    }

    #[test]
    fn product_from_the_documented_shape() {
        let body = json!({"aliexpress_ds_product_get_response": {"result": {
            "ae_item_base_info_dto": {"product_id": 4000903675543u64, "subject": "Sunglasses", "product_status_type": "onSelling"},
            "ae_item_sku_info_dtos": {"ae_item_sku_info_d_t_o": [
                {"sku_attr": "73:175#Black Green;71:193#Polarized", "offer_sale_price": "3.94", "sku_price": "5.10", "sku_id": "12000027158136202", "currency_code": "USD", "sku_available_stock": "57",
                 "ae_sku_property_dtos": {"ae_sku_property_d_t_o": [
                    {"sku_property_id": 73, "sku_property_name": "Color", "sku_property_value": "black", "property_value_definition_name": "Black Green", "property_value_id": 175},
                    {"sku_property_id": 71, "sku_property_name": "Lenses Color", "sku_property_value": "Polarized", "property_value_id": 193}]}},
                {"id": "73:176", "sku_price": 2.5, "sku_id": "12000027158136203", "sku_available_stock": 0}]}},
            "rsp_code": "200", "rsp_msg": "Call succeeds"}});
        let product = read_product(&bytes(body), "4000903675543", usd()).unwrap().unwrap();
        assert!(product.unreadable.is_empty());
        assert_eq!(product.product_id, "4000903675543");
        assert_eq!(product.title.as_deref(), Some("Sunglasses"));
        let first = product.sku("12000027158136202").unwrap();
        assert_eq!(first.price, Money::new(394, usd()));
        assert_eq!(first.list_price, Some(Money::new(510, usd())));
        assert_eq!((first.stock, first.available), (57, true));
        assert_eq!(first.sku_attr, "73:175#Black Green;71:193#Polarized");
        assert_eq!(first.options, "Color:Black Green;Lenses Color:Polarized");
        let second = product.sku("12000027158136203").unwrap();
        assert_eq!(second.price, Money::new(250, usd()));
        assert_eq!(second.sku_attr, "73:176");
        assert!(!second.available);
    }

    #[test]
    fn product_codes() {
        let missing = json!({"aliexpress_ds_product_get_response": {"rsp_code": 605, "rsp_msg": "ITEM_ID_NOT_FOUND"}});
        assert_eq!(read_product(&bytes(missing), "1", usd()), Ok(None));
        let banned = json!({"aliexpress_ds_product_get_response": {"rsp_code": "602", "rsp_msg": "Item is not allowed to this country"}});
        assert!(read_product(&bytes(banned), "1", usd()).unwrap_err().is_cannot_ship());
        let off = json!({"aliexpress_ds_product_get_response": {"result": {"ae_item_base_info_dto": {"product_status_type": "offline"},
            "ae_item_sku_info_dtos": [{"sku_id": "1", "sku_price": "1.00", "sku_available_stock": 5}]}}});
        let product = read_product(&bytes(off), "1", usd()).unwrap().unwrap();
        assert!(!product.skus[0].available, "an offline product cannot be bought");
        // One SKU's bad price or stock stays with that SKU.
        let bad = json!({"aliexpress_ds_product_get_response": {"result": {"ae_item_sku_info_dtos": [
            {"sku_id": "1", "offer_sale_price": "-3.00", "sku_available_stock": 5},
            {"sku_id": "2", "sku_attr": "14:10#Red", "sku_price": "3.00", "sku_available_stock": -5},
            {"sku_id": "3", "sku_price": "3.00", "sku_available_stock": 5},
            {"sku_price": "3.00"},
            "x"]}}});
        let product = read_product(&bytes(bad), "1", usd()).unwrap().unwrap();
        assert_eq!(product.skus.len(), 1);
        assert_eq!(product.skus[0].sku_id, "3");
        assert!(
            product
                .unreadable_sku("1")
                .unwrap()
                .reason
                .contains("offer_sale_price: -3.00 is a negative amount")
        );
        assert!(
            product
                .unreadable_sku("14:10#Red")
                .unwrap()
                .reason
                .contains("sku_available_stock")
        );
        assert_eq!(product.unreadable.len(), 4);
        assert!(product.has_untied_entries());
        assert!(matches!(
            read_product(
                &bytes(json!({"aliexpress_ds_product_get_response": {"result": 3}})),
                "1",
                usd()
            ),
            Err(AeError::Malformed(_))
        ));
    }

    #[test]
    fn freight_from_the_documented_sample_and_failure() {
        let body = json!({"aliexpress_ds_freight_query_response": {"result": {"msg": "Call succeeds", "code": 200, "success": true,
            "delivery_options": {"delivery_option_d_t_o": [
                {"code": "CAINIAO_STANDARD", "shipping_fee_currency": "USD", "free_shipping": false, "max_delivery_days": 34, "tracking": true,
                 "company": "AliExpress standard shipping", "ship_from_country": "CN", "min_delivery_days": 17, "shipping_fee_cent": "172.71"},
                {"code": "CAINIAO_SUPER_ECONOMY", "free_shipping": true, "min_delivery_days": "20", "max_delivery_days": "40"}]}}}});
        let options = read_freight(&bytes(body), usd()).unwrap();
        assert_eq!(options[0].service, "CAINIAO_STANDARD");
        assert_eq!(options[0].cost, Money::new(17271, usd()));
        assert_eq!((options[0].min_days, options[0].max_days), (Some(17), Some(34)));
        assert_eq!(options[1].cost, Money::zero(usd()));
        assert!(options[1].free_shipping);
        let failed = json!({"aliexpress_ds_freight_query_response": {"result": {"msg": "DELIVERY_NOT_AVAILABLE_TO_YOUR_ADDRESS", "code": 505, "success": false}}});
        let error = read_freight(&bytes(failed), usd()).unwrap_err();
        assert!(error.is_cannot_ship(), "{error:?}");
        assert_eq!(error.code(), Some("505"));
        let backwards = json!({"aliexpress_ds_freight_query_response": {"result": {"success": true, "delivery_options": [{"code": "X", "shipping_fee_cent": "1.00", "min_delivery_days": 9, "max_delivery_days": 3}]}}});
        assert!(
            matches!(read_freight(&bytes(backwards), usd()), Err(AeError::Malformed(m)) if m.contains("min_delivery_days"))
        );
    }

    #[test]
    fn token_grant_and_its_debug() {
        let body = br#"{"access_token":"50000a","refresh_token":"50001b","expires_in":86400,"refresh_expires_in":"172800","code":"0","request_id":"r"}"#;
        let grant = read_token(body).unwrap();
        assert_eq!(grant.access_token, "50000a");
        assert_eq!(grant.expires_in, Some(86_400));
        assert_eq!(grant.refresh_expires_in, Some(172_800));
        let shown = format!("{grant:?}");
        assert!(!shown.contains("50000a") && !shown.contains("50001b"));
        assert!(
            read_token(br#"{"code":"IllegalRefreshToken","message":"bad"}"#)
                .unwrap_err()
                .needs_new_token()
        );
        assert!(
            matches!(read_token(br#"{"code":"0"}"#), Err(AeError::Malformed(m)) if m == "body.access_token: missing")
        );
        assert!(matches!(
            read_token(b"{\"access_token\":\"a b\"}"),
            Err(AeError::Malformed(_))
        ));
    }

    #[test]
    fn not_json_is_malformed() {
        for body in [
            &b"<html>502</html>"[..],
            b"",
            b"[1]",
            b"{\"aliexpress_ds_order_create_response\":{\"result\":",
        ] {
            assert!(matches!(read_create(body), Err(AeError::Malformed(_))));
            assert!(matches!(read_token(body), Err(AeError::Malformed(_))));
        }
    }

    proptest! {
        #[test]
        fn readers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_create(&bytes);
            let _ = read_order(&bytes, "1");
            let _ = read_tracking(&bytes);
            let _ = read_product(&bytes, "1", usd());
            let _ = read_freight(&bytes, usd());
            let _ = read_token(&bytes);
        }

        #[test]
        fn readers_never_panic_on_plausible_shapes(
            wrapper in prop::sample::select(vec![
                "aliexpress_ds_order_create_response", "aliexpress_trade_ds_order_get_response",
                "aliexpress_logistics_ds_trackinginfo_query_response", "aliexpress_ds_product_get_response",
                "aliexpress_ds_freight_query_response", "error_response", "result",
            ]),
            fields in proptest::collection::btree_map(
                prop::sample::select(vec![
                    "is_success", "order_list", "error_code", "order_status", "order_amount", "amount", "currency_code",
                    "logistics_info_list", "details", "result_success", "ae_item_sku_info_dtos", "sku_price",
                    "offer_sale_price", "sku_available_stock", "sku_id", "delivery_options", "shipping_fee_cent",
                    "min_delivery_days", "max_delivery_days", "code", "success", "rsp_code", "event_desc", "access_token",
                ]),
                prop_oneof![
                    Just(Value::Null),
                    any::<bool>().prop_map(Value::from),
                    any::<i64>().prop_map(Value::from),
                    any::<f64>().prop_map(Value::from),
                    "[-0-9.a-zA-Z_ ]{0,14}".prop_map(Value::from),
                    Just(json!({"number": [1, -2, "x"]})),
                    Just(json!([{"amount": "-1", "currency_code": "USD"}, {"sku_id": 1}])),
                    Just(json!({"amount": "99999999999999999999", "currency_code": "JPY"})),
                ],
                0..8,
            )
        ) {
            let inner = Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
            let body = json!({ wrapper: { "result": inner.clone(), "details": inner.clone() } }).to_string();
            let bytes = body.as_bytes();
            let _ = read_create(bytes);
            let _ = read_order(bytes, "1");
            let _ = read_tracking(bytes);
            let _ = read_product(bytes, "1", usd());
            let _ = read_freight(bytes, usd());
            let _ = read_token(inner.to_string().as_bytes());
        }
    }
}
