//! `/orders`: create (ingest), read, list with filters and keyset pagination, review
//! (accept, reject, release, cancel, complete, bulk), timeline.

use crate::AppState;
use crate::api::supplier_orders::SupplierOrderJson;
use crate::api::suppliers::{store_filter, store_id_check};
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::{
    AddressJson, CustomerJson, ExceptionKindName, FindingJson, HoldReasonName, MoneyJson, OrderStateName,
    PaymentStateName, SuggestedActionName,
};
use crate::error::{ApiError, ErrorBody, ErrorDetail};
use crate::input::{
    Input, JsonBody, NamedEnum, Problems, QueryParams, ReadJson, parse_choice, parse_id, parse_limit, parse_time,
    path_id,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::ports::OrderFilter;
use dropline_app::{AppError, Decision, Scope};
use dropline_domain::address::{Address, Customer};
use dropline_domain::ids::{OrderId, StoreId, SupplierId};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{IncomingLine, IncomingOrder, LineItem, Order};
use dropline_domain::state::{OrderState, PaymentState};
use dropline_domain::timeline::{Actor, TimelineEvent};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Orders per page when `limit` is left out.
const DEFAULT_PAGE: u32 = 50;
/// Orders one bulk action takes at most.
const MAX_BULK: usize = 500;

/// An order as the storefront sends it. Sending the same `external_id` again is safe: an
/// identical resend changes nothing, a changed resend (before routing) updates the order.
#[derive(ToSchema)]
pub struct CreateOrderRequest {
    /// The store; a store's token may leave it out (its own store).
    #[schema(value_type = Option<String>)]
    pub store_id: Option<StoreId>,
    /// The storefront's id of the order; unique per store.
    #[schema(example = "shopify-5512")]
    pub external_id: String,
    /// The order name the customer sees.
    #[schema(example = "#1001")]
    pub number: String,
    #[schema(value_type = CustomerJson)]
    pub customer: Customer,
    #[schema(value_type = AddressJson)]
    pub shipping_address: Address,
    /// At least one.
    pub lines: Vec<LineRequest>,
    /// ISO 4217; default the store's currency, and must be it.
    #[schema(value_type = Option<String>, example = "USD")]
    pub currency: Option<Currency>,
    /// Shipping charged to the customer (default zero).
    #[schema(value_type = Option<MoneyJson>)]
    pub shipping_total: Option<Money>,
    /// Discounts given on the order (not negative): a `discount` entry of the ledger.
    #[schema(value_type = Option<MoneyJson>)]
    pub discount_total: Option<Money>,
    /// Taxes collected with the order (not negative): a `tax_collected` entry, not revenue.
    #[schema(value_type = Option<MoneyJson>)]
    pub tax_total: Option<Money>,
    #[schema(value_type = PaymentStateName)]
    pub payment: PaymentState,
    /// When the customer ordered (RFC 3339; default now).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub placed_at: Option<OffsetDateTime>,
}

impl ReadJson for CreateOrderRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let store_id = input.field("store_id").optional(problems, Input::id);
        let external_id = input.field("external_id").required(problems, Input::text);
        let number = input.field("number").required(problems, Input::text);
        let customer = input.field("customer").required_of(problems);
        let shipping_address = input.field("shipping_address").required_of(problems);
        let lines = input.field("lines").required(problems, |input, problems| {
            input.list(problems, |item, problems| item.object_of(problems))
        });
        let currency = input.field("currency").optional(problems, Input::currency);
        let shipping_total = input.field("shipping_total").optional(problems, Input::money);
        let discount_total = input.field("discount_total").optional(problems, Input::money);
        let tax_total = input.field("tax_total").optional(problems, Input::money);
        let payment = input.field("payment").required(problems, Input::choice);
        let placed_at = input.field("placed_at").optional(problems, Input::timestamp);
        Some(Self {
            store_id: store_id?,
            external_id: external_id?,
            number: number?,
            customer: customer?,
            shipping_address: shipping_address?,
            lines: lines?,
            currency: currency?,
            shipping_total: shipping_total?,
            discount_total: discount_total?,
            tax_total: tax_total?,
            payment: payment?,
            placed_at: placed_at?,
        })
    }
}

/// A line of a new order. Lines are matched to the catalogue by SKU.
#[derive(ToSchema)]
pub struct LineRequest {
    pub external_id: Option<String>,
    #[schema(example = "EARBUDS-BLACK")]
    pub sku: String,
    pub title: String,
    pub variant_title: Option<String>,
    /// At least 1.
    pub quantity: u32,
    #[schema(value_type = MoneyJson)]
    pub unit_price: Money,
    /// Default true; digital goods and gift cards need no supplier.
    pub requires_shipping: Option<bool>,
}

impl ReadJson for LineRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let external_id = input.field("external_id").optional(problems, Input::text);
        let sku = input.field("sku").required(problems, Input::text);
        let title = input.field("title").required(problems, Input::text);
        let variant_title = input.field("variant_title").optional(problems, Input::text);
        let quantity = input.field("quantity").required(problems, Input::count);
        let unit_price = input.field("unit_price").required(problems, Input::money);
        let requires_shipping = input.field("requires_shipping").optional(problems, Input::flag);
        Some(Self {
            external_id: external_id?,
            sku: sku?,
            title: title?,
            variant_title: variant_title?,
            quantity: quantity?,
            unit_price: unit_price?,
            requires_shipping: requires_shipping?,
        })
    }
}

/// A customer order with everything that happened to it.
#[derive(Serialize, ToSchema)]
#[schema(as = Order)]
pub struct OrderJson {
    pub id: String,
    pub store_id: String,
    pub external_id: String,
    pub number: String,
    pub customer: CustomerJson,
    pub shipping_address: AddressJson,
    pub lines: Vec<LineItemJson>,
    #[schema(example = "USD")]
    pub currency: String,
    pub subtotal: MoneyJson,
    pub shipping_total: MoneyJson,
    pub total: MoneyJson,
    #[schema(value_type = PaymentStateName)]
    pub payment: &'static str,
    #[schema(value_type = OrderStateName)]
    pub state: &'static str,
    /// Why the order is on hold (empty unless it is).
    #[schema(value_type = Vec<HoldReasonName>)]
    pub hold_reasons: Vec<&'static str>,
    /// Validation findings of the address and payment.
    pub findings: Vec<FindingJson>,
    /// One per supplier, once the order is routed.
    pub supplier_orders: Vec<SupplierOrderJson>,
    #[serde(with = "time::serde::rfc3339")]
    pub placed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// A test order of the storefront: never sent to a supplier.
    pub test: bool,
    /// What the storefront charged in all (taxes and discounts included), when it said.
    pub charged_total: Option<MoneyJson>,
    /// The discounts given on the order, when said.
    pub discount_total: Option<MoneyJson>,
    /// The taxes collected with the order, when said.
    pub tax_total: Option<MoneyJson>,
    /// The shipping method the customer chose at checkout.
    pub shipping_method: Option<String>,
    /// Problems the seller must look at.
    pub exceptions: Vec<ExceptionJson>,
}

/// A problem of an order that needs the seller.
#[derive(Serialize, ToSchema)]
#[schema(as = OrderException)]
pub struct ExceptionJson {
    #[schema(value_type = ExceptionKindName)]
    pub kind: &'static str,
    pub detail: String,
    #[schema(value_type = SuggestedActionName)]
    pub suggested_action: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
}

/// One line of an order.
#[derive(Serialize, ToSchema)]
#[schema(as = LineItem)]
pub struct LineItemJson {
    pub id: String,
    pub external_id: Option<String>,
    /// The catalogue variant, when the SKU matched one.
    pub variant_id: Option<String>,
    pub sku: String,
    pub title: String,
    pub variant_title: Option<String>,
    pub quantity: u32,
    pub unit_price: MoneyJson,
    pub requires_shipping: bool,
    /// The storefront's product and variant ids of the line.
    pub platform_product_id: Option<String>,
    pub platform_variant_id: Option<String>,
    /// Units still to fulfil, when the storefront said.
    pub fulfillable_quantity: Option<u32>,
}

impl From<LineItem> for LineItemJson {
    fn from(l: LineItem) -> Self {
        Self {
            id: l.id.to_string(),
            external_id: l.external_id,
            variant_id: l.variant_id.map(|v| v.to_string()),
            sku: l.sku,
            title: l.title,
            variant_title: l.variant_title,
            quantity: l.quantity,
            unit_price: l.unit_price.into(),
            requires_shipping: l.requires_shipping,
            platform_product_id: l.platform_product_id,
            platform_variant_id: l.platform_variant_id,
            fulfillable_quantity: l.fulfillable_quantity,
        }
    }
}

impl From<Order> for OrderJson {
    fn from(order: Order) -> Self {
        let supplier_orders = order
            .supplier_orders
            .iter()
            .map(|so| SupplierOrderJson::new(&order, so))
            .collect();
        Self {
            id: order.id.to_string(),
            store_id: order.store_id.to_string(),
            external_id: order.external_id,
            number: order.number,
            customer: order.customer.into(),
            shipping_address: order.shipping_address.into(),
            lines: order.lines.into_iter().map(LineItemJson::from).collect(),
            currency: order.currency.code().to_string(),
            subtotal: order.subtotal.into(),
            shipping_total: order.shipping_total.into(),
            total: order.total.into(),
            payment: order.payment.as_str(),
            state: order.state.as_str(),
            hold_reasons: order.hold_reasons.iter().map(|r| r.as_str()).collect(),
            findings: order.findings.into_iter().map(FindingJson::from).collect(),
            supplier_orders,
            placed_at: order.placed_at,
            received_at: order.received_at,
            updated_at: order.updated_at,
            test: order.test,
            charged_total: order.charged_total.map(MoneyJson::from),
            discount_total: order.discount_total.map(MoneyJson::from),
            tax_total: order.tax_total.map(MoneyJson::from),
            shipping_method: order.shipping_method,
            exceptions: order
                .exceptions
                .into_iter()
                .map(|e| ExceptionJson {
                    kind: e.kind.as_str(),
                    detail: e.detail,
                    suggested_action: e.suggested_action.as_str(),
                    raised_at: e.raised_at,
                    resolved_at: e.resolved_at,
                })
                .collect(),
        }
    }
}

/// One page of orders, newest first.
#[derive(Serialize, ToSchema)]
pub struct OrderPage {
    pub orders: Vec<OrderJson>,
    /// Pass as `before` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Number of orders per state (every state is listed).
#[derive(Serialize, ToSchema)]
pub struct OrderCounts {
    #[schema(example = json!({"pending_review": 3, "on_hold": 1}))]
    pub counts: BTreeMap<String, u64>,
    pub total: u64,
}

/// Accept or reject many orders at once.
#[derive(ToSchema)]
pub struct BulkRequest {
    pub action: BulkAction,
    /// 1 to 500 order ids.
    pub order_ids: Vec<String>,
}

/// The decision of a bulk review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    Accept,
    Reject,
}

impl NamedEnum for BulkAction {
    fn names() -> Vec<&'static str> {
        vec!["accept", "reject"]
    }
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "accept" => Some(Self::Accept),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }
}

impl ReadJson for BulkRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let action = input.field("action").required(problems, Input::choice);
        let ids_input = input.field("order_ids");
        let order_ids = ids_input.required(problems, |input, problems| {
            input.list(problems, |item, problems| item.text(problems))
        });
        if let Some(ids) = &order_ids
            && !(1..=MAX_BULK).contains(&ids.len())
        {
            problems.push("order_ids", format!("must list 1 to {MAX_BULK} order ids"));
            return None;
        }
        Some(Self {
            action: action?,
            order_ids: order_ids?,
        })
    }
}

/// The outcome of a bulk review, one result per order id, in the order given.
#[derive(Serialize, ToSchema)]
pub struct BulkResults {
    pub results: Vec<BulkResult>,
    /// Orders the action applied to.
    pub succeeded: usize,
    /// Orders it did not (see each `error`).
    pub failed: usize,
}

/// The outcome for one order of a bulk review.
#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    pub order_id: String,
    pub ok: bool,
    /// The order's new state, when `ok`.
    #[schema(value_type = Option<OrderStateName>)]
    pub state: Option<&'static str>,
    /// Why not, when not `ok` (`order_not_found`, `illegal_transition`, ...).
    pub error: Option<ErrorDetail>,
}

/// An order's history, oldest first.
#[derive(Serialize, ToSchema)]
#[schema(as = Timeline)]
pub struct TimelineJson {
    pub events: Vec<TimelineEventJson>,
}

/// One entry of an order's timeline.
#[derive(Serialize, ToSchema)]
#[schema(as = TimelineEvent)]
pub struct TimelineEventJson {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: ActorJson,
    /// Stable code of what happened: `order.received`, `order.accept`, `shipment.delivered`, ...
    pub kind: String,
    pub message: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
}

/// Who caused a timeline entry.
#[derive(Serialize, ToSchema)]
#[schema(as = Actor)]
pub struct ActorJson {
    /// `system`, `rule`, `seller`, `operator`, `storefront`, `worker` or `customer`.
    pub kind: &'static str,
    /// The rule, seller (store id) or storefront, where there is one.
    pub name: Option<String>,
}

impl From<TimelineEvent> for TimelineEventJson {
    fn from(e: TimelineEvent) -> Self {
        let actor = match e.actor {
            Actor::System => ActorJson {
                kind: "system",
                name: None,
            },
            Actor::Rule(name) => ActorJson {
                kind: "rule",
                name: Some(name),
            },
            Actor::Seller(name) => ActorJson {
                kind: "seller",
                name: Some(name),
            },
            Actor::Operator => ActorJson {
                kind: "operator",
                name: None,
            },
            Actor::Storefront(name) => ActorJson {
                kind: "storefront",
                name: Some(name),
            },
            Actor::Worker => ActorJson {
                kind: "worker",
                name: None,
            },
            Actor::Customer => ActorJson {
                kind: "customer",
                name: None,
            },
        };
        Self {
            id: e.id.to_string(),
            at: e.at,
            actor,
            kind: e.kind,
            message: e.message,
            from_state: e.from_state,
            to_state: e.to_state,
        }
    }
}

/// Creates an order (ingest): 201 when it is new, 200 when the store already had this
/// `external_id` (an identical resend changes nothing; a changed resend before routing
/// updates the order and is on its timeline).
#[utoipa::path(
    post, path = "/orders", tag = "orders",
    request_body = CreateOrderRequest,
    responses(
        (status = 201, description = "A new order", body = OrderJson),
        (status = 200, description = "The order already existed (resend)", body = OrderJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn create_order(
    State(state): State<AppState>,
    Caller(scope): Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let request: CreateOrderRequest = body.read_with(store_id_check(scope))?;
    let store_id = crate::api::suppliers::owning_store(scope, request.store_id)?;
    let store = state.app.get_store(scope, store_id).await?.store;
    let currency = request.currency.unwrap_or(store.currency);
    // Every amount in the order's currency; all mismatches listed at once.
    let mut problems = Problems::default();
    for (index, line) in request.lines.iter().enumerate() {
        if line.unit_price.currency != currency {
            problems.push(
                format!("lines[{index}].unit_price.currency"),
                format!("must be the order currency {currency}"),
            );
        }
    }
    for (field, amount) in [
        ("shipping_total", request.shipping_total),
        ("discount_total", request.discount_total),
        ("tax_total", request.tax_total),
    ] {
        if let Some(amount) = amount
            && amount.currency != currency
        {
            problems.push(
                format!("{field}.currency"),
                format!("must be the order currency {currency}"),
            );
        }
    }
    problems.finish(Some(()))?;
    let incoming = IncomingOrder {
        external_id: request.external_id,
        number: request.number,
        customer: request.customer,
        shipping_address: request.shipping_address,
        lines: request
            .lines
            .into_iter()
            .map(|l| IncomingLine {
                external_id: l.external_id,
                sku: l.sku,
                title: l.title,
                variant_title: l.variant_title,
                quantity: l.quantity,
                unit_price: l.unit_price,
                requires_shipping: l.requires_shipping.unwrap_or(true),
                platform_product_id: None,
                platform_variant_id: None,
                fulfillable_quantity: None,
            })
            .collect(),
        currency,
        shipping_total: request.shipping_total.unwrap_or(Money::zero(currency)),
        payment: request.payment,
        placed_at: request.placed_at.unwrap_or_else(OffsetDateTime::now_utc),
        test: false,
        cancelled_at: None,
        source_updated_at: None,
        charged_total: None,
        discount_total: request.discount_total,
        tax_total: request.tax_total,
        shipping_method: None,
    };
    let outcome = state
        .app
        .ingest_order(scope, store_id, incoming, Actor::Storefront("api".to_string()))
        .await?;
    let order = state.app.get_order(scope, outcome.order_id).await?;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply(status, OrderJson::from(order)))
}

/// Orders the caller may see, newest first, with filters and keyset pagination.
#[utoipa::path(
    get, path = "/orders", tag = "orders",
    params(
        ("state" = Option<OrderStateName>, Query, description = "Only orders in this state"),
        ("store_id" = Option<String>, Query, description = "Only this store's orders"),
        ("supplier_id" = Option<String>, Query, description = "Only orders with a supplier order at this supplier"),
        ("placed_from" = Option<String>, Query, description = "Placed at or after (RFC 3339)"),
        ("placed_to" = Option<String>, Query, description = "Placed before (RFC 3339)"),
        ("q" = Option<String>, Query, description = "Search: the order number (with or without `#`), the exact tracking number of a parcel, or part of the customer's name or email (case-insensitive; at most 200 characters)"),
        ("has_exception" = Option<bool>, Query, description = "`true`: only orders with an open exception"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 500 (default 50)"),
        ("before" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = OrderPage),
        (status = 404, description = "The store or supplier filter names nothing the caller may see", body = ErrorBody),
        (status = 422, description = "Malformed query parameters, each listed", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn list_orders(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut problems = Problems::default();
    let order_state: Option<OrderState> = query.get(&mut problems, "state", parse_choice);
    let supplier_id: Option<SupplierId> = query.get(&mut problems, "supplier_id", parse_id);
    let placed_from = query.get(&mut problems, "placed_from", parse_time);
    let placed_to = query.get(&mut problems, "placed_to", parse_time);
    let search: Option<String> = query.get(&mut problems, "q", |text| {
        if text.chars().count() > 200 {
            Err("must be at most 200 characters".to_string())
        } else {
            Ok(text.trim().to_string())
        }
    });
    let with_exception = query
        .get(&mut problems, "has_exception", |text| match text {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("must be true or false".to_string()),
        })
        .unwrap_or(false);
    let limit = query.get(&mut problems, "limit", parse_limit).unwrap_or(DEFAULT_PAGE);
    let before: Option<OrderId> = query.get(&mut problems, "before", |text| {
        text.parse()
            .map_err(|_| "is not a cursor of this API (use next_cursor)".to_string())
    });
    let store_id = store_filter(&state, scope, &query, &mut problems).await?;
    problems.finish(Some(()))?;
    if let Some(id) = supplier_id {
        state.app.get_supplier(scope, id).await?;
    }
    // One more than asked tells whether there is a next page (the store caps at 500).
    let fetch = if limit < 500 { limit + 1 } else { limit };
    let filter = OrderFilter {
        store_id,
        state: order_state,
        supplier_id,
        placed_from,
        placed_to,
        before,
        limit: fetch,
        search: search.filter(|q| !q.is_empty()),
        with_exception,
        ..OrderFilter::default()
    };
    let mut orders = state.app.list_orders(scope, filter).await?;
    let more = orders.len() > limit as usize || (limit == 500 && orders.len() == 500);
    orders.truncate(limit as usize);
    let next_cursor = if more {
        orders.last().map(|o| o.id.to_string())
    } else {
        None
    };
    Ok(reply(
        StatusCode::OK,
        OrderPage {
            orders: orders.into_iter().map(OrderJson::from).collect(),
            next_cursor,
        },
    ))
}

/// Number of orders per state.
#[utoipa::path(
    get, path = "/orders/counts", tag = "orders",
    params(("store_id" = Option<String>, Query, description = "Only this store's orders")),
    responses(
        (status = 200, body = OrderCounts),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        (status = 422, description = "A malformed query parameter", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn count_orders(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut problems = Problems::default();
    let store_id = store_filter(&state, scope, &query, &mut problems).await?;
    problems.finish(Some(()))?;
    let mut counts: BTreeMap<String, u64> = OrderState::ALL.iter().map(|s| (s.as_str().to_string(), 0)).collect();
    for (order_state, count) in state.app.count_orders_by_state(scope, store_id).await? {
        counts.insert(order_state.as_str().to_string(), count);
    }
    let total = counts.values().sum();
    Ok(reply(StatusCode::OK, OrderCounts { counts, total }))
}

/// One order, with its lines, findings, supplier orders and shipments.
#[utoipa::path(
    get, path = "/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, body = OrderJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_order(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let order = state.app.get_order(scope, id).await?;
    Ok(reply(StatusCode::OK, OrderJson::from(order)))
}

async fn order_action(state: &AppState, scope: Scope, id: &str, action: OrderAction) -> Result<Response, ApiError> {
    let id: OrderId = path_id(id, "order")?;
    let order = match action {
        OrderAction::Accept => state.app.accept_order(scope, id).await?,
        OrderAction::Reject => state.app.reject_order(scope, id).await?,
        OrderAction::Release => state.app.release_order(scope, id).await?,
        OrderAction::Cancel => state.app.cancel_order(scope, id).await?,
        OrderAction::Complete => state.app.complete_order(scope, id).await?,
    };
    Ok(reply(StatusCode::OK, OrderJson::from(order)))
}

#[derive(Clone, Copy)]
enum OrderAction {
    Accept,
    Reject,
    Release,
    Cancel,
    Complete,
}

/// Accepts an order in review; it is then routed to its suppliers in the background.
#[utoipa::path(
    post, path = "/orders/{id}/accept", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The accepted order", body = OrderJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The order's state does not allow it", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn accept_order(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    order_action(&state, scope, &id, OrderAction::Accept).await
}

/// Rejects an order in review or on hold.
#[utoipa::path(
    post, path = "/orders/{id}/reject", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The rejected order", body = OrderJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The order's state does not allow it", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn reject_order(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    order_action(&state, scope, &id, OrderAction::Reject).await
}

/// Puts an order on hold back to review, once its hold reasons were dealt with.
#[utoipa::path(
    post, path = "/orders/{id}/release", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order, back in review", body = OrderJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The order's state does not allow it", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn release_order(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    order_action(&state, scope, &id, OrderAction::Release).await
}

/// Cancels an order, and every supplier order of it that can still be cancelled (or asks
/// the supplier to).
#[utoipa::path(
    post, path = "/orders/{id}/cancel", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The cancelled order", body = OrderJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The order's state does not allow it", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn cancel_order(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    order_action(&state, scope, &id, OrderAction::Cancel).await
}

/// Closes a delivered order once its return window is over.
#[utoipa::path(
    post, path = "/orders/{id}/complete", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The completed order", body = OrderJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The order's state does not allow it", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn complete_order(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    order_action(&state, scope, &id, OrderAction::Complete).await
}

/// Accepts or rejects many orders; each order gets its own result (an order that cannot
/// take the action does not stop the others).
#[utoipa::path(
    post, path = "/orders/bulk", tag = "orders",
    request_body = BulkRequest,
    responses((status = 200, description = "One result per order id", body = BulkResults), BodyErrors, CommonErrors)
)]
pub async fn bulk_review_orders(
    State(state): State<AppState>,
    Caller(scope): Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let request: BulkRequest = body.read()?;
    let decision = match request.action {
        BulkAction::Accept => Decision::Accept,
        BulkAction::Reject => Decision::Reject,
    };
    // Ids this API never handed out name no order: they get "not found" like unknown ones.
    let parsed: Vec<(String, Option<OrderId>)> = request
        .order_ids
        .into_iter()
        .map(|text| (text.clone(), text.trim().parse().ok()))
        .collect();
    let valid: Vec<OrderId> = parsed.iter().filter_map(|(_, id)| *id).collect();
    let mut outcomes = state.app.review_orders(scope, &valid, decision).await.into_iter();
    let mut results = Vec::with_capacity(parsed.len());
    for (text, id) in parsed {
        let result = match id.and_then(|_| outcomes.next()) {
            Some(outcome) => match outcome.result {
                Ok(order_state) => BulkResult {
                    order_id: text,
                    ok: true,
                    state: Some(order_state.as_str()),
                    error: None,
                },
                Err(err) => BulkResult {
                    order_id: text,
                    ok: false,
                    state: None,
                    error: Some(ApiError::from(err).detail()),
                },
            },
            None => BulkResult {
                order_id: text,
                ok: false,
                state: None,
                error: Some(ApiError::from(AppError::NotFound("order")).detail()),
            },
        };
        results.push(result);
    }
    let succeeded = results.iter().filter(|r| r.ok).count();
    let failed = results.len() - succeeded;
    Ok(reply(
        StatusCode::OK,
        BulkResults {
            results,
            succeeded,
            failed,
        },
    ))
}

/// An order's timeline: every event with its actor and time, oldest first.
#[utoipa::path(
    get, path = "/orders/{id}/timeline", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, body = TimelineJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_order_timeline(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let events = state.app.timeline(scope, id).await?;
    Ok(reply(
        StatusCode::OK,
        TimelineJson {
            events: events.into_iter().map(TimelineEventJson::from).collect(),
        },
    ))
}

/// The offer a line is to be ordered from.
#[derive(ToSchema)]
pub struct LineOfferRequest {
    /// An offer of the line's variant; `null` (or left out) routes the line by the store's
    /// policy again.
    pub offer_id: Option<String>,
}

impl ReadJson for LineOfferRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let offer_id = input.field("offer_id").optional(problems, Input::text);
        Some(Self { offer_id: offer_id? })
    }
}

/// Picks the offer a line not yet with a supplier is ordered from, or clears the choice.
#[utoipa::path(
    put, path = "/orders/{id}/lines/{line_id}/offer", tag = "orders",
    params(
        ("id" = String, Path, description = "Order id"),
        ("line_id" = String, Path, description = "Line id"),
    ),
    request_body = LineOfferRequest,
    responses(
        (status = 200, description = "The order", body = OrderJson),
        (status = 404, description = "No such order or line, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_line_offer(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path((id, line_id)): Path<(String, String)>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let line_id: dropline_domain::ids::LineItemId = path_id(&line_id, "line")?;
    state.app.get_order(scope, id).await?;
    let request: LineOfferRequest = body.read()?;
    let offer_id = match request.offer_id {
        Some(text) => Some(text.trim().parse().map_err(|_| {
            ApiError::invalid(vec![dropline_app::FieldError::new(
                "offer_id",
                "is not an id of this API",
            )])
        })?),
        None => None,
    };
    let order = state.app.override_line_offer(scope, id, line_id, offer_id).await?;
    Ok(reply(StatusCode::OK, OrderJson::from(order)))
}
