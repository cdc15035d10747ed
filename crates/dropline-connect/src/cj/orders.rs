//! Orders as CJ shows them: the `data` of `GET /shopping/order/getOrderDetail?orderId=` (one
//! order) and of `GET /shopping/order/list?pageNum=&pageSize=` (a page of them).
//!
//! Fields, from CJ's shopping page (§1.6 "List Order", §1.7 "Query Order"): `orderId`,
//! `orderNum` (the caller's order number; older answers and the create answer say
//! `orderNumber`, both are read), `cjOrderId`, `orderStatus`, `logisticName`, `trackNumber`,
//! `trackingUrl`, `orderAmount` / `productAmount` / `postageAmount` (USD, decimal 18,2) and, in
//! the detail, `productList[]` (`vid`, `quantity`, `sellPrice`, `lineItemId`,
//! `storeLineItemId`). The page's wrapper (`pageNum`, `pageSize`, `total`, `list`) is not in
//! CJ's table; it is the shape CJ's own MCP client reads (`src/ui/order-list.html`).
//!
//! `orderStatus` is mapped to [`CjOrderStatus`]; a value outside CJ's table is
//! [`CjOrderStatus::Unknown`], with the text kept in [`OrderDetail::status`], never an error:
//! a new status at CJ must not stop dropline from reading its orders. Amounts are exact, never
//! negative and at most [`MAX_ORDER_AMOUNT_CENTS`]; anything else is [`CjError::Malformed`].

use super::catalog::MAX_VARIANT_PRICE_CENTS;
use super::envelope::{self, CjError};
use super::values::Fields;
use dropline_domain::money::{Currency, Money};
use serde_json::Value;
use std::fmt;

/// The highest amount believed for one order: 1,000,000.00 USD.
pub const MAX_ORDER_AMOUNT_CENTS: i64 = 100_000_000;

/// CJ's code for "order not found" on `getOrderDetail` (CJ's shopping page lists 1600300 for
/// that and for an empty `orderId`, which this client never sends).
pub const ORDER_NOT_FOUND_CODE: i64 = 1_600_300;

fn usd() -> Currency {
    Currency::parse("USD").unwrap_or_else(|_| unreachable!("USD is an ISO 4217 code"))
}

/// `orderStatus`, as CJ's shopping page lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CjOrderStatus {
    /// `CREATED`: created, waiting to be confirmed.
    Created,
    /// `IN_CART`: in CJ's cart, waiting to be confirmed.
    InCart,
    /// `UNPAID`: confirmed, waiting for payment.
    Unpaid,
    /// `UNSHIPPED`: paid, waiting to leave the warehouse.
    Unshipped,
    /// `SHIPPED`: in transit, with a tracking number.
    Shipped,
    /// `DELIVERED`: received.
    Delivered,
    /// `CANCELLED` (also read from `CANCELED`).
    Cancelled,
    /// `OTHER`: CJ's own catch-all.
    Other,
    /// A value CJ's table does not list; the text is in [`OrderDetail::status`].
    Unknown,
}

impl CjOrderStatus {
    /// Maps CJ's text, ignoring case and surrounding spaces.
    pub fn from_cj(text: &str) -> Self {
        match text.trim().to_ascii_uppercase().as_str() {
            "CREATED" => Self::Created,
            "IN_CART" => Self::InCart,
            "UNPAID" => Self::Unpaid,
            "UNSHIPPED" => Self::Unshipped,
            "SHIPPED" => Self::Shipped,
            "DELIVERED" => Self::Delivered,
            "CANCELLED" | "CANCELED" => Self::Cancelled,
            "OTHER" => Self::Other,
            _ => Self::Unknown,
        }
    }

    /// The text CJ uses for this status (the order list's `status` filter takes it); `None`
    /// for [`Unknown`](Self::Unknown).
    pub fn as_cj(self) -> Option<&'static str> {
        Some(match self {
            Self::Created => "CREATED",
            Self::InCart => "IN_CART",
            Self::Unpaid => "UNPAID",
            Self::Unshipped => "UNSHIPPED",
            Self::Shipped => "SHIPPED",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
            Self::Other => "OTHER",
            Self::Unknown => return None,
        })
    }

    /// Whether CJ has been paid for the order (unshipped, shipped or delivered).
    pub fn is_paid(self) -> bool {
        matches!(self, Self::Unshipped | Self::Shipped | Self::Delivered)
    }

    /// Whether the parcel has left CJ's warehouse.
    pub fn is_shipped(self) -> bool {
        matches!(self, Self::Shipped | Self::Delivered)
    }

    /// Whether the order will not change any more (delivered or cancelled).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Cancelled)
    }
}

impl fmt::Display for CjOrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_cj().unwrap_or("UNKNOWN"))
    }
}

/// One product line of an order (`productList[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// CJ's variant id (`vid`).
    pub vid: String,
    pub quantity: u32,
    /// What CJ charges for one (`sellPrice`, USD), when given.
    pub sell_price: Option<Money>,
    /// CJ's id of the line (`lineItemId`), when given.
    pub line_item_id: Option<String>,
    /// The store's id of the line, as sent at creation (`storeLineItemId`), when given.
    pub store_line_item_id: Option<String>,
}

/// An order as `getOrderDetail` (or one entry of the order list) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetail {
    /// CJ's order id (`orderId`): what `getOrderDetail` and `deleteOrder` take.
    pub order_id: String,
    /// The caller's order number (`orderNum`, else `orderNumber`), when CJ shows it.
    pub order_number: Option<String>,
    /// `cjOrderId`, when CJ gives it beside `orderId`.
    pub cj_order_id: Option<String>,
    /// `orderStatus` as CJ wrote it.
    pub status: Option<String>,
    /// `orderStatus` mapped; `None` when CJ gave none.
    pub state: Option<CjOrderStatus>,
    pub logistic_name: Option<String>,
    /// `trackNumber`, once shipped.
    pub track_number: Option<String>,
    /// `trackingUrl`, when given.
    pub tracking_url: Option<String>,
    /// `orderAmount` (USD): products and postage.
    pub order_amount: Option<Money>,
    /// `productAmount` (USD).
    pub product_amount: Option<Money>,
    /// `postageAmount` (USD).
    pub postage_amount: Option<Money>,
    /// `productList`; empty when CJ gives none (the order list does not).
    pub lines: Vec<OrderLine>,
}

/// One page of `order/list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CjOrderPage {
    /// The page number, from 1 (`pageNum`, else the one asked for).
    pub page: u32,
    /// Orders per page (`pageSize`, else the size asked for).
    pub page_size: u32,
    /// How many orders all pages hold (`total`), when CJ says.
    pub total: Option<u32>,
    pub orders: Vec<OrderDetail>,
}

impl CjOrderPage {
    /// Whether a next page may hold more orders: by `total` when CJ gave it, else whether this
    /// page is full.
    pub fn has_more(&self) -> bool {
        match self.total {
            Some(total) => u64::from(self.page) * u64::from(self.page_size) < u64::from(total),
            None => self.page_size > 0 && self.orders.len() >= self.page_size as usize,
        }
    }
}

/// What CJ did with a request to cancel an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// CJ cancelled (deleted) the order.
    Cancelled,
    /// CJ has no order with this id.
    NotFound,
    /// CJ refused, typically because the order is paid or shipped; its code and message.
    Refused { code: i64, message: String },
}

/// Reads a `getOrderDetail` body; `None` when CJ has no such order (code
/// [`ORDER_NOT_FOUND_CODE`], or success without data).
pub fn parse_order_detail(body: &[u8]) -> Result<Option<OrderDetail>, CjError> {
    let data: Option<Value> = match envelope::parse(body) {
        Err(error) if error.code() == Some(ORDER_NOT_FOUND_CODE) => return Ok(None),
        other => other?,
    };
    let Some(data) = data else {
        return Ok(None);
    };
    read_order(&Fields::new(&data, "data")?).map(Some)
}

/// Reads an `order/list` body; a page number or size CJ leaves out reads as its documented
/// default (1 and 20).
pub fn parse_order_list(body: &[u8]) -> Result<CjOrderPage, CjError> {
    read_order_list(body, 1, 20)
}

/// Reads an `order/list` body asked for with this page number and size.
pub(crate) fn read_order_list(body: &[u8], page: u32, page_size: u32) -> Result<CjOrderPage, CjError> {
    let data: Option<Value> = envelope::parse(body)?;
    let Some(data) = data else {
        // No data: no orders (CJ's answer for an empty account is not documented).
        return Ok(CjOrderPage {
            page,
            page_size,
            total: None,
            orders: Vec::new(),
        });
    };
    let fields = Fields::new(&data, "data")?;
    let orders = fields
        .objects("list")?
        .iter()
        .map(read_order)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CjOrderPage {
        page: fields.count("pageNum")?.unwrap_or(page),
        page_size: fields.count("pageSize")?.unwrap_or(page_size),
        total: fields.count("total")?,
        orders,
    })
}

fn read_order(item: &Fields<'_>) -> Result<OrderDetail, CjError> {
    let ceiling = Money::new(MAX_ORDER_AMOUNT_CENTS, usd());
    let status = item.text("orderStatus")?;
    Ok(OrderDetail {
        order_id: item.required_text("orderId")?,
        order_number: match item.text("orderNum")? {
            Some(number) => Some(number),
            None => item.text("orderNumber")?,
        },
        cj_order_id: item.text("cjOrderId")?,
        state: status.as_deref().map(CjOrderStatus::from_cj),
        status,
        logistic_name: item.text("logisticName")?,
        track_number: item.text("trackNumber")?,
        tracking_url: item.text("trackingUrl")?,
        order_amount: item.plausible_money("orderAmount", ceiling)?,
        product_amount: item.plausible_money("productAmount", ceiling)?,
        postage_amount: item.plausible_money("postageAmount", ceiling)?,
        lines: item
            .objects("productList")?
            .iter()
            .map(|line| {
                Ok(OrderLine {
                    vid: line.required_text("vid")?,
                    quantity: line.count("quantity")?.ok_or_else(|| line.missing("quantity", ""))?,
                    sell_price: line.plausible_money("sellPrice", Money::new(MAX_VARIANT_PRICE_CENTS, usd()))?,
                    line_item_id: line.text("lineItemId")?,
                    store_line_item_id: line.text("storeLineItemId")?,
                })
            })
            .collect::<Result<_, CjError>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(data: Value) -> Vec<u8> {
        json!({"code": 200, "result": true, "message": "Success", "data": data})
            .to_string()
            .into_bytes()
    }

    fn money(cents: i64) -> Money {
        Money::new(cents, usd())
    }

    #[test]
    fn detail_with_amounts_and_lines() {
        let body = ok(json!({
            "orderId": "210711100018043276", "orderNum": "DL-1", "cjOrderId": "CJ1",
            "orderStatus": "SHIPPED", "logisticName": "USPS+", "trackNumber": "9200190000000000000001",
            "orderAmount": 14.70, "productAmount": "8.98", "postageAmount": 5.72,
            "productList": [{"vid": "V1", "quantity": 2, "sellPrice": 4.49, "lineItemId": "L1"}],
            "createDate": "2025-03-14 13:21:07"
        }));
        let detail = parse_order_detail(&body).expect("detail").expect("an order");
        assert_eq!(detail.order_id, "210711100018043276");
        assert_eq!(detail.order_number.as_deref(), Some("DL-1"));
        assert_eq!(detail.state, Some(CjOrderStatus::Shipped));
        assert_eq!(detail.status.as_deref(), Some("SHIPPED"));
        assert_eq!(
            (detail.order_amount, detail.product_amount, detail.postage_amount),
            (Some(money(1470)), Some(money(898)), Some(money(572)))
        );
        assert_eq!(
            detail.lines,
            vec![OrderLine {
                vid: "V1".into(),
                quantity: 2,
                sell_price: Some(money(449)),
                line_item_id: Some("L1".into()),
                store_line_item_id: None,
            }]
        );
    }

    #[test]
    fn no_such_order_is_none() {
        assert_eq!(parse_order_detail(&ok(Value::Null)), Ok(None));
        let not_found = br#"{"code":1600300,"result":false,"message":"order not found","data":null}"#;
        assert_eq!(parse_order_detail(not_found), Ok(None));
        // Other refusals stay errors.
        let busy = br#"{"code":1600000,"result":false,"message":"busy"}"#;
        assert!(parse_order_detail(busy).is_err_and(|e| e.is_retryable()));
    }

    #[test]
    fn the_older_order_number_field_is_read_too() {
        let body = ok(json!({"orderId": "SD1", "orderNumber": "A", "orderStatus": "created"}));
        let detail = parse_order_detail(&body).expect("detail").expect("an order");
        assert_eq!(detail.order_number.as_deref(), Some("A"));
        assert_eq!(detail.state, Some(CjOrderStatus::Created));
        assert!(detail.lines.is_empty());
    }

    #[test]
    fn unknown_status_is_kept_not_refused() {
        let body = ok(json!({"orderId": "SD1", "orderStatus": "AWAITING_CUSTOMS"}));
        let detail = parse_order_detail(&body).expect("detail").expect("an order");
        assert_eq!(detail.state, Some(CjOrderStatus::Unknown));
        assert_eq!(detail.status.as_deref(), Some("AWAITING_CUSTOMS"));
        assert_eq!(CjOrderStatus::from_cj(" Canceled "), CjOrderStatus::Cancelled);
        assert_eq!(CjOrderStatus::Unknown.as_cj(), None);
        assert!(CjOrderStatus::Unshipped.is_paid() && !CjOrderStatus::Unpaid.is_paid());
        assert!(CjOrderStatus::Delivered.is_shipped() && CjOrderStatus::Delivered.is_final());
    }

    #[test]
    fn bad_orders_are_malformed_naming_the_field() {
        let cases = [
            (json!({"orderNum": "A"}), "data.orderId: missing"),
            (
                json!({"orderId": "1", "orderAmount": -0.01}),
                "data.orderAmount: -0.01 is a negative amount",
            ),
            (
                json!({"orderId": "1", "postageAmount": "1000000.01"}),
                "data.postageAmount: 1000000.01 USD is above the plausible ceiling of 1000000.00 USD",
            ),
            (
                json!({"orderId": "1", "productList": [{"vid": "V"}]}),
                "data.productList[0].quantity: missing",
            ),
            (
                json!({"orderId": "1", "productList": [{"vid": "V", "quantity": 1, "sellPrice": 20000}]}),
                "data.productList[0].sellPrice: 20000.00 USD is above the plausible ceiling of 10000.00 USD",
            ),
            (
                json!({"orderId": "1", "orderStatus": []}),
                "data.orderStatus: an array is not text",
            ),
        ];
        for (data, expected) in cases {
            assert_eq!(
                parse_order_detail(&ok(data.clone())),
                Err(CjError::Malformed(expected.into())),
                "{data}"
            );
        }
        // A number where the status text belongs is read as its text, and is unknown.
        let numeric = parse_order_detail(&ok(json!({"orderId": "1", "orderStatus": 7})))
            .expect("detail")
            .expect("an order");
        assert_eq!(numeric.state, Some(CjOrderStatus::Unknown));
    }

    #[test]
    fn list_page_and_paging() {
        let body = ok(json!({
            "pageNum": 2, "pageSize": 2, "total": 5,
            "list": [
                {"orderId": "A", "orderNum": "N-A", "orderStatus": "UNSHIPPED", "orderAmount": 3},
                {"orderId": "B", "orderNum": "N-B", "orderStatus": "DELIVERED", "trackNumber": "CJPKL1"},
            ]
        }));
        let page = parse_order_list(&body).expect("page");
        assert_eq!((page.page, page.page_size, page.total), (2, 2, Some(5)));
        assert_eq!(page.orders.len(), 2);
        assert_eq!(page.orders[1].track_number.as_deref(), Some("CJPKL1"));
        assert!(page.has_more());
        let last = CjOrderPage {
            page: 3,
            ..page.clone()
        };
        assert!(!last.has_more());
        // Without a total, a full page may have a successor, a short one has none.
        let unknown = CjOrderPage { total: None, ..page };
        assert!(unknown.has_more());
        let empty = read_order_list(&ok(Value::Null), 4, 10).expect("empty");
        assert_eq!((empty.page, empty.page_size, empty.orders.len()), (4, 10, 0));
        assert!(!empty.has_more());
        let defaults = read_order_list(&ok(json!({"list": null})), 3, 7).expect("defaults");
        assert_eq!((defaults.page, defaults.page_size, defaults.total), (3, 7, None));
        assert!(matches!(
            parse_order_list(&ok(json!({"list": [{"orderNum": "x"}]}))),
            Err(CjError::Malformed(m)) if m == "data.list[0].orderId: missing"
        ));
    }
}
