//! After delivery over the API: an order's returns, refunds, disputes and claims to
//! suppliers, and its ledger.

use crate::AppState;
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::{AddressJson, MoneyJson};
use crate::error::{ApiError, ErrorBody};
use crate::input::{Input, JsonBody, Problems, ReadJson, path_id};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::after_sale::{NewClaim, NewDispute, NewRefund, NewReturn};
use dropline_domain::after_sale::{LineUnits, Resolution, ReturnReason};
use dropline_domain::ids::{ClaimId, DisputeId, LineItemId, OrderId, ReturnId, SupplierOrderId, VariantId};
use dropline_domain::ledger::{ClaimEvent, DisputeEvent, ReturnEvent, next_claim_state};
use dropline_domain::money::Money;
use dropline_domain::order::Order;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Units of one line of the order.
#[derive(ToSchema, Serialize)]
pub struct LineUnitsJson {
    pub line_item_id: String,
    pub quantity: u32,
}

impl ReadJson for LineUnits {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let line_item_id = input.field("line_item_id").required(problems, Input::id::<LineItemId>);
        let quantity = input.field("quantity").required(problems, Input::count);
        Some(Self {
            line_item_id: line_item_id?,
            quantity: quantity?,
        })
    }
}

fn units_json(lines: &[LineUnits]) -> Vec<LineUnitsJson> {
    lines
        .iter()
        .map(|l| LineUnitsJson {
            line_item_id: l.line_item_id.to_string(),
            quantity: l.quantity,
        })
        .collect()
}

/// A return request.
#[derive(ToSchema)]
pub struct ReturnRequest {
    #[schema(value_type = Vec<LineUnitsJson>)]
    pub lines: Vec<LineUnits>,
    /// `damaged`, `wrong_item`, `not_as_described`, `changed_mind` or `not_received`.
    #[schema(value_type = String, example = "damaged")]
    pub reason: ReturnReason,
    pub note: Option<String>,
    /// `https://` links to the customer's photos (at most 10).
    pub photos: Option<Vec<String>>,
}

impl ReadJson for ReturnRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let lines = input
            .field("lines")
            .required(problems, |i, p| i.list(p, LineUnits::read));
        let reason = input.field("reason").required(problems, |i, p| {
            let text = i.text(p)?;
            ReturnReason::parse(text.trim()).or_else(|| {
                p.push(
                    i.path(),
                    "must be damaged, wrong_item, not_as_described, changed_mind or not_received",
                );
                None
            })
        });
        let note = input.field("note").optional(problems, Input::text);
        let photos = input
            .field("photos")
            .optional(problems, |i, p| i.list(p, |item, p| item.text(p)));
        Some(Self {
            lines: lines?,
            reason: reason?,
            note: note?,
            photos: photos?,
        })
    }
}

/// How a return ends.
#[derive(ToSchema)]
pub struct ResolveRequest {
    /// `refund` (the item came back), `returnless_refund` (the customer keeps it),
    /// `replacement`, `exchange` or `store_credit`.
    #[schema(value_type = String, example = "returnless_refund")]
    pub resolution: Resolution,
    /// The refund's amount; default: what the returned lines sold for. Refunds only.
    #[schema(value_type = Option<MoneyJson>)]
    pub amount: Option<Money>,
    /// The variant an `exchange` sends instead (a variant of the order's store, with an
    /// offer); required for an exchange, refused for every other resolution. A
    /// `replacement` sends the returned lines' own variants.
    #[schema(value_type = Option<String>)]
    pub variant_id: Option<VariantId>,
}

impl ReadJson for ResolveRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let resolution = input.field("resolution").required(problems, |i, p| {
            let text = i.text(p)?;
            Resolution::parse(text.trim()).or_else(|| {
                p.push(
                    i.path(),
                    "must be refund, returnless_refund, replacement, exchange or store_credit",
                );
                None
            })
        });
        let amount = input.field("amount").optional(problems, Input::money);
        let variant_id = input.field("variant_id").optional(problems, Input::id::<VariantId>);
        Some(Self {
            resolution: resolution?,
            amount: amount?,
            variant_id: variant_id?,
        })
    }
}

/// A refund: an amount, or the lines to refund at the price they sold for.
#[derive(ToSchema)]
pub struct RefundRequest {
    #[schema(value_type = Option<MoneyJson>)]
    pub amount: Option<Money>,
    #[schema(example = "arrived late")]
    pub reason: String,
    #[schema(value_type = Option<Vec<LineUnitsJson>>)]
    pub lines: Option<Vec<LineUnits>>,
}

impl ReadJson for RefundRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let amount = input.field("amount").optional(problems, Input::money);
        let reason = input.field("reason").required(problems, Input::text);
        let lines = input
            .field("lines")
            .optional(problems, |i, p| i.list(p, LineUnits::read));
        Some(Self {
            amount: amount?,
            reason: reason?,
            lines: lines?,
        })
    }
}

/// A payment dispute, as the processor reported it.
#[derive(ToSchema)]
pub struct DisputeRequest {
    #[schema(value_type = MoneyJson)]
    pub amount: Money,
    #[schema(example = "fraudulent")]
    pub reason_code: String,
    /// When the evidence is due (RFC 3339).
    #[schema(value_type = String)]
    pub due_at: OffsetDateTime,
}

impl ReadJson for DisputeRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let amount = input.field("amount").required(problems, Input::money);
        let reason_code = input.field("reason_code").required(problems, Input::text);
        let due_at = input.field("due_at").required(problems, Input::timestamp);
        Some(Self {
            amount: amount?,
            reason_code: reason_code?,
            due_at: due_at?,
        })
    }
}

/// A claim to a supplier, opened by hand.
#[derive(ToSchema)]
pub struct ClaimRequest {
    /// The return whose units are claimed (approved, or further).
    #[schema(value_type = String)]
    pub return_id: ReturnId,
    /// The supplier order that brought the units.
    #[schema(value_type = String)]
    pub supplier_order_id: SupplierOrderId,
    /// The units; left out: every unit of the return that supplier order brought and that is
    /// not claimed yet.
    #[schema(value_type = Option<Vec<LineUnitsJson>>)]
    pub lines: Option<Vec<LineUnits>>,
}

impl ReadJson for ClaimRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let return_id = input.field("return_id").required(problems, Input::id::<ReturnId>);
        let supplier_order_id = input
            .field("supplier_order_id")
            .required(problems, Input::id::<SupplierOrderId>);
        let lines = input
            .field("lines")
            .optional(problems, |i, p| i.list(p, LineUnits::read));
        Some(Self {
            return_id: return_id?,
            supplier_order_id: supplier_order_id?,
            lines: lines?,
        })
    }
}

/// What the supplier gave back on a claim.
#[derive(ToSchema)]
pub struct AcceptClaimRequest {
    /// More than zero, at most what was claimed, in the claim's currency.
    #[schema(value_type = MoneyJson)]
    pub recovered: Money,
}

impl ReadJson for AcceptClaimRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let recovered = input.field("recovered").required(problems, Input::money);
        Some(Self { recovered: recovered? })
    }
}

/// Where some units of a return go back to.
#[derive(Serialize, ToSchema)]
pub struct ReturnDestinationJson {
    pub lines: Vec<LineUnitsJson>,
    /// `supplier` (the supplier's return address) or `store` (the store's own address).
    pub to: &'static str,
    pub supplier_id: Option<String>,
    /// Null when no address is known (neither the supplier's policy nor the store has one).
    pub address: Option<AddressJson>,
}

#[derive(Serialize, ToSchema)]
pub struct ReturnJson {
    pub id: String,
    pub lines: Vec<LineUnitsJson>,
    pub reason: String,
    pub note: Option<String>,
    pub photos: Vec<String>,
    /// `requested`, `approved`, `rejected`, `awaiting_item`, `received` or `resolved`.
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub requested_at: OffsetDateTime,
    pub resolution: Option<String>,
    /// Where the units go back to, once the return is approved (empty when resolved without
    /// them).
    pub send_to: Vec<ReturnDestinationJson>,
    /// When the item came back.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub received_at: Option<OffsetDateTime>,
    /// The supplier orders a replacement or an exchange sent (on the order's
    /// `supplier_orders`; their cost is a `reshipment_cost` in the ledger).
    pub supplier_order_ids: Vec<String>,
}

/// A claim to a supplier for the cost of returned (or damaged) units.
#[derive(Serialize, ToSchema)]
pub struct ClaimJson {
    pub id: String,
    pub return_id: String,
    pub supplier_order_id: String,
    pub supplier_id: String,
    pub supplier_name: Option<String>,
    pub lines: Vec<LineUnitsJson>,
    /// `returned_item` (the item came back) or `without_item` (damaged or wrong, on photos).
    pub basis: String,
    /// What the units cost at the supplier, in the supplier order's currency.
    pub claimed: MoneyJson,
    /// `open`, `submitted`, `accepted` or `rejected`.
    pub state: String,
    /// What the supplier gave back, once accepted.
    pub recovered: Option<MoneyJson>,
    /// The moves the claim's state allows: `submit`, `accept`, `reject`.
    pub allowed_actions: Vec<&'static str>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub closed_at: Option<OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct RefundJson {
    pub id: String,
    pub amount: MoneyJson,
    pub reason: String,
    pub lines: Vec<LineUnitsJson>,
    pub return_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub at: OffsetDateTime,
    /// The storefront platform's id of the refund, once the platform made it (the
    /// `storefront_refund` job); null before, and for stores without a platform.
    pub storefront_refund_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DisputeJson {
    pub id: String,
    pub amount: MoneyJson,
    pub reason_code: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub due_at: OffsetDateTime,
    /// `needs_response`, `under_review`, `won` or `lost`.
    pub state: String,
}

/// What happened to an order after the sale.
#[derive(Serialize, ToSchema)]
pub struct AfterSaleJson {
    pub order_id: String,
    /// The payment's state (`paid`, `partially_refunded`, `refunded`, ...).
    pub payment: String,
    pub paid: MoneyJson,
    pub refunded: MoneyJson,
    pub returns: Vec<ReturnJson>,
    pub refunds: Vec<RefundJson>,
    pub disputes: Vec<DisputeJson>,
    pub claims: Vec<ClaimJson>,
    /// The id of what the request created, when it created something.
    pub created_id: Option<String>,
}

impl AfterSaleJson {
    fn new(order: &Order, created_id: Option<String>) -> Result<Self, ApiError> {
        let after = &order.after_sale;
        let refunded = order
            .refunded_total()
            .map_err(|err| ApiError::App(dropline_app::AppError::invalid("refunds", err.to_string())))?;
        Ok(Self {
            order_id: order.id.to_string(),
            payment: order.payment.to_string(),
            paid: order.paid_total().into(),
            refunded: refunded.into(),
            returns: after
                .returns
                .iter()
                .map(|r| ReturnJson {
                    id: r.id.to_string(),
                    lines: units_json(&r.lines),
                    reason: r.reason.to_string(),
                    note: r.note.clone(),
                    photos: r.photos.clone(),
                    state: r.state.to_string(),
                    requested_at: r.requested_at,
                    resolution: r.resolution.map(|x| x.to_string()),
                    send_to: r
                        .send_to
                        .iter()
                        .map(|d| ReturnDestinationJson {
                            lines: units_json(&d.lines),
                            to: if d.supplier_id.is_some() { "supplier" } else { "store" },
                            supplier_id: d.supplier_id.map(|id| id.to_string()),
                            address: d.address.clone().map(AddressJson::from),
                        })
                        .collect(),
                    received_at: r.received_at,
                    supplier_order_ids: after
                        .replacements
                        .iter()
                        .filter(|sent| sent.return_id == r.id)
                        .map(|sent| sent.supplier_order_id.to_string())
                        .collect(),
                })
                .collect(),
            refunds: after
                .refunds
                .iter()
                .map(|r| RefundJson {
                    id: r.id.to_string(),
                    amount: r.amount.into(),
                    reason: r.reason.clone(),
                    lines: units_json(&r.lines),
                    return_id: r.return_id.map(|id| id.to_string()),
                    at: r.at,
                    storefront_refund_id: r.storefront_refund_id.clone(),
                })
                .collect(),
            disputes: after
                .disputes
                .iter()
                .map(|d| DisputeJson {
                    id: d.id.to_string(),
                    amount: d.amount.into(),
                    reason_code: d.reason_code.clone(),
                    due_at: d.due_at,
                    state: d.state.to_string(),
                })
                .collect(),
            claims: after
                .claims
                .iter()
                .map(|c| ClaimJson {
                    id: c.id.to_string(),
                    return_id: c.return_id.to_string(),
                    supplier_order_id: c.supplier_order_id.to_string(),
                    supplier_id: c.supplier_id.to_string(),
                    supplier_name: order
                        .supplier_orders
                        .iter()
                        .find(|so| so.id == c.supplier_order_id)
                        .map(|so| so.supplier_name.clone()),
                    lines: units_json(&c.lines),
                    basis: c.basis.to_string(),
                    claimed: c.claimed.into(),
                    state: c.state.to_string(),
                    recovered: c.recovered.map(MoneyJson::from),
                    allowed_actions: ClaimEvent::ALL
                        .iter()
                        .filter(|event| next_claim_state(c.state, **event).is_ok())
                        .map(|event| event.as_str())
                        .collect(),
                    opened_at: c.opened_at,
                    closed_at: c.closed_at,
                })
                .collect(),
            created_id,
        })
    }
}

/// One money movement of the order.
#[derive(Serialize, ToSchema)]
pub struct LedgerEntryJson {
    /// `sale`, `shipping_charged`, `supplier_cost`, `payment_fee`, `refund`, `chargeback`, ...
    pub kind: String,
    /// The magnitude; `direction` says which way it moves.
    pub amount: MoneyJson,
    /// `in`, `out`, or `through` (taxes collected for someone else).
    pub direction: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub at: OffsetDateTime,
    /// When the amount was charged in another currency: what was charged and the rate it
    /// was converted at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted_from: Option<ConvertedJson>,
}

/// An amount charged in another currency and the rate it was converted at.
#[derive(Serialize, ToSchema)]
pub struct ConvertedJson {
    pub amount: MoneyJson,
    /// One unit of the charged currency in the order's, as a decimal.
    #[schema(example = "0.92")]
    pub rate: String,
}

/// An order's ledger and what it adds up to.
#[derive(Serialize, ToSchema)]
pub struct LedgerJson {
    pub entries: Vec<LedgerEntryJson>,
    pub revenue: MoneyJson,
    pub costs: MoneyJson,
    pub profit: MoneyJson,
    /// The profit in basis points of the revenue; null without revenue.
    pub margin_bp: Option<i64>,
}

/// The order's returns, refunds and disputes.
#[utoipa::path(
    get, path = "/orders/{id}/after-sale", tag = "after sale",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, body = AfterSaleJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_after_sale(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let order = state.app.get_order(scope, id).await?;
    Ok(reply(StatusCode::OK, AfterSaleJson::new(&order, None)?))
}

/// Opens a return on delivered units.
#[utoipa::path(
    post, path = "/orders/{id}/returns", tag = "after sale",
    params(("id" = String, Path, description = "Order id")),
    request_body = ReturnRequest,
    responses(
        (status = 201, description = "`created_id` is the return's id", body = AfterSaleJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The order is not delivered", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_return(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let request: ReturnRequest = body.read()?;
    let new = NewReturn {
        lines: request.lines,
        reason: request.reason,
        note: request.note,
        photos: request.photos.unwrap_or_default(),
    };
    let (order, return_id) = state.app.request_return(scope, id, new).await?;
    Ok(reply(
        StatusCode::CREATED,
        AfterSaleJson::new(&order, Some(return_id.to_string()))?,
    ))
}

/// Moves a return: `approve`, `reject`, `await-item` (the customer sends it back) or
/// `receive` (it came back).
#[utoipa::path(
    post, path = "/orders/{id}/returns/{return_id}/{action}", tag = "after sale",
    params(
        ("id" = String, Path, description = "Order id"),
        ("return_id" = String, Path, description = "Return id"),
        ("action" = String, Path, description = "approve, reject, await-item or receive"),
    ),
    responses(
        (status = 200, body = AfterSaleJson),
        (status = 404, description = "No such order, return or action", body = ErrorBody),
        (status = 409, description = "The return's state does not allow it", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_return_action(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path((id, return_id, action)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let return_id: ReturnId = path_id(&return_id, "return")?;
    let event = match action.as_str() {
        "approve" => ReturnEvent::Approve,
        "reject" => ReturnEvent::Reject,
        "await-item" => ReturnEvent::AwaitItem,
        "receive" => ReturnEvent::Receive,
        _ => return Err(ApiError::RouteNotFound),
    };
    let order = state.app.move_return(scope, id, return_id, event).await?;
    Ok(reply(StatusCode::OK, AfterSaleJson::new(&order, None)?))
}

/// Resolves a return; a refund resolution refunds and `created_id` is the refund's id. A
/// replacement or an exchange routes the returned units (of the same variant, or of
/// `variant_id`) to a supplier order, placed like any other, whose id is `created_id`; its
/// cost is a `reshipment_cost` in the ledger and the customer is not charged again.
#[utoipa::path(
    post, path = "/orders/{id}/returns/{return_id}/resolve", tag = "after sale",
    params(
        ("id" = String, Path, description = "Order id"),
        ("return_id" = String, Path, description = "Return id"),
    ),
    request_body = ResolveRequest,
    responses(
        (status = 200, body = AfterSaleJson),
        (status = 404, description = "No such order or return", body = ErrorBody),
        (status = 409, description = "The return's state does not allow it", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_resolve_return(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path((id, return_id)): Path<(String, String)>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let return_id: ReturnId = path_id(&return_id, "return")?;
    let request: ResolveRequest = body.read()?;
    let (order, refund) = state
        .app
        .resolve_return(
            scope,
            id,
            return_id,
            request.resolution,
            request.amount,
            request.variant_id,
        )
        .await?;
    // What the resolution created: the refund, or the supplier order a replacement sent.
    let created = refund.map(|r| r.to_string()).or_else(|| {
        order
            .after_sale
            .replacements
            .iter()
            .find(|sent| sent.return_id == return_id)
            .map(|sent| sent.supplier_order_id.to_string())
    });
    Ok(reply(StatusCode::OK, AfterSaleJson::new(&order, created)?))
}

/// Refunds the customer (at most what is still refundable).
#[utoipa::path(
    post, path = "/orders/{id}/refunds", tag = "after sale",
    params(("id" = String, Path, description = "Order id")),
    request_body = RefundRequest,
    responses(
        (status = 201, description = "`created_id` is the refund's id", body = AfterSaleJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The payment's state does not allow a refund", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_refund(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let request: RefundRequest = body.read()?;
    let new = NewRefund {
        amount: request.amount,
        reason: request.reason,
        lines: request.lines.unwrap_or_default(),
    };
    let (order, refund_id) = state.app.refund_order(scope, id, new).await?;
    Ok(reply(
        StatusCode::CREATED,
        AfterSaleJson::new(&order, Some(refund_id.to_string()))?,
    ))
}

/// Records a payment dispute (chargeback).
#[utoipa::path(
    post, path = "/orders/{id}/disputes", tag = "after sale",
    params(("id" = String, Path, description = "Order id")),
    request_body = DisputeRequest,
    responses(
        (status = 201, description = "`created_id` is the dispute's id", body = AfterSaleJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_dispute(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let request: DisputeRequest = body.read()?;
    let new = NewDispute {
        amount: request.amount,
        reason_code: request.reason_code,
        due_at: request.due_at,
    };
    let (order, dispute_id) = state.app.open_dispute(scope, id, new).await?;
    Ok(reply(
        StatusCode::CREATED,
        AfterSaleJson::new(&order, Some(dispute_id.to_string()))?,
    ))
}

/// Moves a dispute: `respond` (the evidence was sent), `win` or `lose`.
#[utoipa::path(
    post, path = "/orders/{id}/disputes/{dispute_id}/{action}", tag = "after sale",
    params(
        ("id" = String, Path, description = "Order id"),
        ("dispute_id" = String, Path, description = "Dispute id"),
        ("action" = String, Path, description = "respond, win or lose"),
    ),
    responses(
        (status = 200, body = AfterSaleJson),
        (status = 404, description = "No such order, dispute or action", body = ErrorBody),
        (status = 409, description = "The dispute's state does not allow it", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_dispute_action(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path((id, dispute_id, action)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let dispute_id: DisputeId = path_id(&dispute_id, "dispute")?;
    let event = match action.as_str() {
        "respond" => DisputeEvent::Respond,
        "win" => DisputeEvent::Win,
        "lose" => DisputeEvent::Lose,
        _ => return Err(ApiError::RouteNotFound),
    };
    let order = state.app.move_dispute(scope, id, dispute_id, event).await?;
    Ok(reply(StatusCode::OK, AfterSaleJson::new(&order, None)?))
}

/// Opens a claim to a supplier by hand, for units of an approved return (a resolved return
/// opens the claims its suppliers' return policies allow by itself).
#[utoipa::path(
    post, path = "/orders/{id}/claims", tag = "after sale",
    params(("id" = String, Path, description = "Order id")),
    request_body = ClaimRequest,
    responses(
        (status = 201, description = "`created_id` is the claim's id", body = AfterSaleJson),
        (status = 404, description = "No such order or return, or not the caller's", body = ErrorBody),
        (status = 409, description = "The return is not approved", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_claim(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let request: ClaimRequest = body.read()?;
    let new = NewClaim {
        return_id: request.return_id,
        supplier_order_id: request.supplier_order_id,
        lines: request.lines.unwrap_or_default(),
    };
    let (order, claim_id) = state.app.open_claim(scope, id, new).await?;
    Ok(reply(
        StatusCode::CREATED,
        AfterSaleJson::new(&order, Some(claim_id.to_string()))?,
    ))
}

/// Moves a claim: `submit` (sent to the supplier) or `reject` (the supplier refused).
#[utoipa::path(
    post, path = "/orders/{id}/claims/{claim_id}/{action}", tag = "after sale",
    params(
        ("id" = String, Path, description = "Order id"),
        ("claim_id" = String, Path, description = "Claim id"),
        ("action" = String, Path, description = "submit or reject"),
    ),
    responses(
        (status = 200, body = AfterSaleJson),
        (status = 404, description = "No such order, claim or action", body = ErrorBody),
        (status = 409, description = "The claim's state does not allow it", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_claim_action(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path((id, claim_id, action)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let claim_id: ClaimId = path_id(&claim_id, "claim")?;
    let event = match action.as_str() {
        "submit" => ClaimEvent::Submit,
        "reject" => ClaimEvent::Reject,
        _ => return Err(ApiError::RouteNotFound),
    };
    let order = state.app.move_claim(scope, id, claim_id, event, None).await?;
    Ok(reply(StatusCode::OK, AfterSaleJson::new(&order, None)?))
}

/// Accepts a submitted claim with what the supplier gave back (at most what was claimed):
/// the ledger gets a supplier refund in the order's currency.
#[utoipa::path(
    post, path = "/orders/{id}/claims/{claim_id}/accept", tag = "after sale",
    params(
        ("id" = String, Path, description = "Order id"),
        ("claim_id" = String, Path, description = "Claim id"),
    ),
    request_body = AcceptClaimRequest,
    responses(
        (status = 200, body = AfterSaleJson),
        (status = 404, description = "No such order or claim", body = ErrorBody),
        (status = 409, description = "The claim's state does not allow it", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_accept_claim(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path((id, claim_id)): Path<(String, String)>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let claim_id: ClaimId = path_id(&claim_id, "claim")?;
    let request: AcceptClaimRequest = body.read()?;
    let order = state
        .app
        .move_claim(scope, id, claim_id, ClaimEvent::Accept, Some(request.recovered))
        .await?;
    Ok(reply(StatusCode::OK, AfterSaleJson::new(&order, None)?))
}

/// The order's ledger (every money movement, with the store's fees) and its profit.
#[utoipa::path(
    get, path = "/orders/{id}/ledger", tag = "after sale",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, body = LedgerJson),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_ledger(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let money = state.app.order_money(scope, id).await?;
    Ok(reply(
        StatusCode::OK,
        LedgerJson {
            entries: money
                .entries
                .iter()
                .map(|e| LedgerEntryJson {
                    kind: e.kind.to_string(),
                    amount: e.amount.into(),
                    direction: match e.kind.sign() {
                        1 => "in",
                        0 => "through",
                        _ => "out",
                    },
                    at: e.at,
                    converted_from: e.converted_from.map(|(charged, rate)| ConvertedJson {
                        amount: charged.into(),
                        rate: dropline_domain::ledger::format_rate(rate.per_million),
                    }),
                })
                .collect(),
            revenue: money.profit.revenue.into(),
            costs: money.profit.costs.into(),
            profit: money.profit.profit.into(),
            margin_bp: money.profit.margin_bp,
        },
    ))
}
