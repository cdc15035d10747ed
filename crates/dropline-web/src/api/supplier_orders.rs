//! `/supplier-orders`: what was (or is to be) bought from one supplier for part of an order,
//! and the manual supplier flow: record the supplier's order id, add tracking, mark the
//! parcel shipped, delivered or failed, re-ship, cancel.

use crate::AppState;
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::{
    AddressJson, MoneyJson, OrderStateName, RequestStatusName, ShipmentStateName, SupplierKindName,
    SupplierOrderEventName, SupplierOrderStatusName,
};
use crate::error::{ApiError, ErrorBody};
use crate::input::{Input, JsonBody, Problems, ReadJson, path_id};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::ParcelAction;
use dropline_domain::ids::{ShipmentId, SupplierOrderId};
use dropline_domain::money::Money;
use dropline_domain::order::{Order, Shipment, SupplierOrder};
use dropline_domain::state::{
    OrderState, ShipmentState, SupplierOrderEvent, SupplierOrderStatus, allowed_supplier_order_events,
    next_shipment_state,
};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// An action of the API on a supplier order (each is one `POST /supplier-orders/{id}/…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SupplierOrderAction {
    /// `POST …/reference`: the vendor ordered at the supplier and records its order id.
    RecordReference,
    /// `POST …/shipments`: carrier and tracking number of a parcel.
    AddShipment,
    /// `POST …/shipped`: the newest parcel is with the carrier.
    MarkShipped,
    /// `POST …/delivered`: the newest parcel arrived.
    MarkDelivered,
    /// `POST …/failed`: the newest parcel could not be delivered.
    MarkFailed,
    /// `POST …/reship`: send the failed parcel again with a new tracking number.
    Reship,
    /// `POST …/cancel`: cancel it (or ask the supplier to).
    Cancel,
    /// `POST …/release`: lift a hold (after fixing its cause) and submit again.
    Release,
    /// `POST …/release` with `accept_price`: accept the supplier's new price and submit.
    AcceptPrice,
    /// `PUT …/ship-to`: correct the address sent to the supplier (before it has the order).
    EditShipTo,
    /// `PUT …/tax-id`: enter the recipient's tax id (before the supplier has the order).
    SetTaxId,
    /// `POST …/switch`: move the lines to the next offer.
    SwitchSupplier,
}

/// The actions that fit the supplier order's state (and its order's and parcels'), so that
/// clients never offer an illegal one.
pub fn allowed_actions(order: &Order, supplier_order: &SupplierOrder) -> Vec<SupplierOrderAction> {
    use SupplierOrderAction as A;
    let events = allowed_supplier_order_events(supplier_order.state);
    let order_open = !matches!(
        order.state,
        OrderState::Cancelled | OrderState::Completed | OrderState::Rejected
    );
    let in_progress = supplier_order.state.status == SupplierOrderStatus::InProgress;
    let mut actions = Vec::new();
    if supplier_order.supplier_reference.is_none() && events.contains(&SupplierOrderEvent::Accept) && order_open {
        actions.push(A::RecordReference);
    }
    if in_progress && order_open {
        actions.push(A::AddShipment);
    }
    if let Some(newest) = supplier_order.shipments.last() {
        let can = |event| next_shipment_state(newest.state, event).is_ok();
        if can(ShipmentState::InTransit) {
            actions.push(A::MarkShipped);
        }
        if can(ShipmentState::Delivered) {
            actions.push(A::MarkDelivered);
        }
        if can(ShipmentState::AttemptFailed) {
            actions.push(A::MarkFailed);
        }
        if newest.state.is_failure() && in_progress && order_open {
            actions.push(A::Reship);
        }
    }
    if events.contains(&SupplierOrderEvent::Cancel) || events.contains(&SupplierOrderEvent::RequestCancellation) {
        actions.push(A::Cancel);
    }
    if events.contains(&SupplierOrderEvent::ReleaseHold) && order_open {
        actions.push(A::Release);
        if supplier_order.placement.quoted_cost.is_some() {
            actions.push(A::AcceptPrice);
        }
    }
    let unsent = matches!(
        supplier_order.state.request_status,
        dropline_domain::state::RequestStatus::Unsubmitted | dropline_domain::state::RequestStatus::Rejected
    ) && matches!(
        supplier_order.state.status,
        SupplierOrderStatus::Open | SupplierOrderStatus::OnHold
    );
    if unsent && order_open {
        actions.push(A::EditShipTo);
        actions.push(A::SetTaxId);
    }
    if supplier_order.is_live()
        && supplier_order.shipments.is_empty()
        && order_open
        && !supplier_order.state.is_terminal()
    {
        actions.push(A::SwitchSupplier);
    }
    actions
}

/// How the request to the supplier went.
#[derive(Serialize, ToSchema)]
#[schema(as = Placement)]
pub struct PlacementJson {
    /// The key the supplier order is placed under (sent in the supplier's own field).
    pub idempotency_key: String,
    /// Why it is held before submission, each with the fix the seller can make.
    pub holds: Vec<HeldIssueJson>,
    /// The fresh quote's total when the supplier's price rose above the tolerance.
    pub quoted_cost: Option<MoneyJson>,
    /// Why the supplier failed (its lines went to the next offer).
    pub failure: Option<FailureJson>,
    /// Lines the supplier refused while accepting the others.
    pub refused_lines: Vec<RefusedLineJson>,
    /// The note sent to the supplier (blind dropshipping).
    pub note: Option<String>,
    /// Whether the recipient's tax id was entered (it is not shown again).
    pub has_tax_id: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<OffsetDateTime>,
    /// When the supplier said it will ship.
    #[serde(with = "time::serde::rfc3339::option")]
    pub estimated_ship_at: Option<OffsetDateTime>,
}

/// A failed check that holds a supplier order.
#[derive(Serialize, ToSchema)]
#[schema(as = HeldIssue)]
pub struct HeldIssueJson {
    pub field: String,
    pub code: String,
    pub message: String,
    /// `edit_address`, `add_tax_id`, `remap_variant`, `accept_new_price` or `switch_supplier`.
    pub fix: &'static str,
}

/// Why a supplier failed a supplier order.
#[derive(Serialize, ToSchema)]
#[schema(as = SupplierFailure)]
pub struct FailureJson {
    /// `rejected`, `out_of_stock`, `cannot_ship`, `sku_missing`, `missed_deadline` or
    /// `closed_by_supplier`.
    pub kind: &'static str,
    pub detail: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A line the supplier refused.
#[derive(Serialize, ToSchema)]
#[schema(as = RefusedLine)]
pub struct RefusedLineJson {
    pub line_item_id: String,
    pub supplier_sku: String,
    pub reason: String,
}

impl PlacementJson {
    fn new(so: &SupplierOrder) -> Self {
        let placement = &so.placement;
        Self {
            idempotency_key: so.idempotency_key.clone(),
            holds: placement
                .holds
                .iter()
                .map(|h| HeldIssueJson {
                    field: h.field.clone(),
                    code: h.code.clone(),
                    message: h.message.clone(),
                    fix: h.fix.as_str(),
                })
                .collect(),
            quoted_cost: placement.quoted_cost.map(MoneyJson::from),
            failure: placement.failure.as_ref().map(|f| FailureJson {
                kind: f.kind.as_str(),
                detail: f.detail.clone(),
                at: f.at,
            }),
            refused_lines: placement
                .refused_lines
                .iter()
                .map(|r| RefusedLineJson {
                    line_item_id: r.line.line_item_id.to_string(),
                    supplier_sku: r.line.supplier_sku.clone(),
                    reason: r.reason.clone(),
                })
                .collect(),
            note: placement.note.clone(),
            has_tax_id: placement.tax_id.is_some(),
            submitted_at: placement.submitted_at,
            accepted_at: placement.accepted_at,
            estimated_ship_at: placement.estimated_ship_at,
        }
    }
}

/// A supplier order, with everything a person needs to order by hand: the supplier's
/// product pages, the variant to pick, the cost and the customer's address.
#[derive(Serialize, ToSchema)]
#[schema(as = SupplierOrder)]
pub struct SupplierOrderJson {
    pub id: String,
    pub order_id: String,
    pub order_number: String,
    #[schema(value_type = OrderStateName)]
    pub order_state: &'static str,
    pub store_id: String,
    pub supplier_id: String,
    pub supplier_name: String,
    #[schema(value_type = SupplierKindName)]
    pub supplier_kind: &'static str,
    #[schema(value_type = SupplierOrderStatusName)]
    pub status: &'static str,
    #[schema(value_type = RequestStatusName)]
    pub request_status: &'static str,
    /// Events the supplier-order state machine takes now.
    #[schema(value_type = Vec<SupplierOrderEventName>)]
    pub allowed_events: Vec<&'static str>,
    /// API actions that fit now.
    pub allowed_actions: Vec<SupplierOrderAction>,
    /// What to buy: supplier SKU, product page, chosen variant, quantity, unit cost.
    pub lines: Vec<SupplierOrderLineJson>,
    /// Where the supplier ships: always the customer's address.
    pub ship_to: AddressJson,
    pub shipping_method: Option<String>,
    /// Units plus shipping, as expected at routing.
    pub expected_cost: MoneyJson,
    /// What the supplier actually charged, once recorded.
    pub actual_cost: Option<MoneyJson>,
    /// When the cost is in another currency than the order's: the rate it is converted with
    /// in the order's ledger; `null` with `cost_in_ledger` false when no rate was known.
    pub cost_rate: Option<super::exchange_rates::RateUsedJson>,
    /// Whether the order's ledger has this cost (false: in another currency, without a rate).
    pub cost_in_ledger: bool,
    /// The supplier's own order id, once recorded.
    pub supplier_reference: Option<String>,
    pub attempt: u32,
    pub shipments: Vec<ShipmentJson>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// How the request to the supplier went: holds, failure, dates.
    pub placement: PlacementJson,
}

/// One line of a supplier order.
#[derive(Serialize, ToSchema)]
#[schema(as = SupplierOrderLine)]
pub struct SupplierOrderLineJson {
    pub line_item_id: String,
    pub offer_id: String,
    /// The store variant chosen for the line.
    pub variant_id: String,
    /// The supplier's variant to order.
    pub supplier_sku: String,
    /// The supplier's product page.
    pub product_url: Option<String>,
    pub title: String,
    pub variant_title: Option<String>,
    pub quantity: u32,
    pub unit_cost: MoneyJson,
}

/// A parcel.
#[derive(Serialize, ToSchema)]
#[schema(as = Shipment)]
pub struct ShipmentJson {
    pub id: String,
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    #[schema(value_type = ShipmentStateName)]
    pub state: &'static str,
    pub events: Vec<ShipmentEventJson>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub shipped_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    /// The carrier recognised from the number (`ups`, `s10`, `yunexpress`, …).
    pub carrier_code: Option<String>,
    /// The delivery window promised to the customer.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expected_earliest: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expected_latest: Option<OffsetDateTime>,
    /// The carrier's first scan.
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_scan_at: Option<OffsetDateTime>,
    /// When a tracking source was last asked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_checked_at: Option<OffsetDateTime>,
}

/// One event of a parcel.
#[derive(Serialize, ToSchema)]
#[schema(as = ShipmentEvent)]
pub struct ShipmentEventJson {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[schema(value_type = ShipmentStateName)]
    pub state: &'static str,
    pub note: Option<String>,
    /// Where it happened, when the carrier says.
    pub location: Option<String>,
    /// Reported by the carrier (a tracking source or the seller) rather than by dropline.
    pub from_carrier: bool,
}

impl From<&Shipment> for ShipmentJson {
    fn from(s: &Shipment) -> Self {
        Self {
            id: s.id.to_string(),
            carrier: s.carrier.clone(),
            tracking_number: s.tracking_number.clone(),
            tracking_url: s.tracking_url.clone(),
            state: s.state.as_str(),
            events: s
                .events
                .iter()
                .map(|e| ShipmentEventJson {
                    at: e.at,
                    state: e.state.as_str(),
                    note: e.note.clone(),
                    location: e.location.clone(),
                    from_carrier: e.from_carrier,
                })
                .collect(),
            shipped_at: s.shipped_at,
            delivered_at: s.delivered_at,
            carrier_code: s.carrier_code.clone(),
            expected_earliest: s.expected_window.map(|w| w.earliest),
            expected_latest: s.expected_window.map(|w| w.latest),
            first_scan_at: s.first_scan_at,
            last_checked_at: s.last_checked_at,
        }
    }
}

impl SupplierOrderJson {
    pub(crate) fn new(order: &Order, so: &SupplierOrder) -> Self {
        Self {
            id: so.id.to_string(),
            order_id: order.id.to_string(),
            order_number: order.number.clone(),
            order_state: order.state.as_str(),
            store_id: order.store_id.to_string(),
            supplier_id: so.supplier_id.to_string(),
            supplier_name: so.supplier_name.clone(),
            supplier_kind: so.supplier_kind.as_str(),
            status: so.state.status.as_str(),
            request_status: so.state.request_status.as_str(),
            allowed_events: allowed_supplier_order_events(so.state)
                .iter()
                .map(|e| e.as_str())
                .collect(),
            allowed_actions: allowed_actions(order, so),
            lines: so
                .lines
                .iter()
                .map(|l| SupplierOrderLineJson {
                    line_item_id: l.line_item_id.to_string(),
                    offer_id: l.offer_id.to_string(),
                    variant_id: l.variant_id.to_string(),
                    supplier_sku: l.supplier_sku.clone(),
                    product_url: l.product_url.clone(),
                    title: l.title.clone(),
                    variant_title: l.variant_title.clone(),
                    quantity: l.quantity,
                    unit_cost: l.unit_cost.into(),
                })
                .collect(),
            ship_to: so.ship_to.clone().into(),
            shipping_method: so.shipping_method.clone(),
            expected_cost: so.expected_cost.into(),
            actual_cost: so.actual_cost.map(MoneyJson::from),
            cost_rate: so.cost_rate.map(Into::into),
            cost_in_ledger: so.actual_cost.unwrap_or(so.expected_cost).currency == order.currency
                || so.cost_rate.is_some(),
            supplier_reference: so.supplier_reference.clone(),
            attempt: so.attempt,
            shipments: so.shipments.iter().map(ShipmentJson::from).collect(),
            created_at: so.created_at,
            placement: PlacementJson::new(so),
        }
    }

    fn of(order: &Order, id: SupplierOrderId) -> Result<Self, ApiError> {
        let so = order
            .supplier_order(id)
            .map_err(|_| ApiError::not_found("supplier order"))?;
        Ok(Self::new(order, so))
    }
}

/// The supplier's order id (the vendor ordered at the supplier).
#[derive(ToSchema)]
pub struct ReferenceRequest {
    #[schema(example = "AE-8812345")]
    pub supplier_reference: String,
    /// What the supplier actually charged, in the expected cost's currency.
    #[schema(value_type = Option<MoneyJson>)]
    pub actual_cost: Option<Money>,
    /// When `actual_cost` is in another currency than the order's: the rate the seller was
    /// charged at (one unit of it in the order's currency, a decimal string such as
    /// `"0.92"`); it wins over the exchange-rate table.
    #[schema(value_type = Option<String>, example = "0.92")]
    pub rate: Option<u64>,
}

impl ReadJson for ReferenceRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let supplier_reference = input.field("supplier_reference").required(problems, Input::text);
        let actual_cost = input.field("actual_cost").optional(problems, Input::money);
        let rate = input.field("rate").optional(problems, super::exchange_rates::read_rate);
        Some(Self {
            supplier_reference: supplier_reference?,
            actual_cost: actual_cost?,
            rate: rate?,
        })
    }
}

/// A parcel's carrier and tracking number.
#[derive(ToSchema)]
pub struct ShipmentRequest {
    #[schema(example = "USPS")]
    pub carrier: String,
    #[schema(example = "9400111899223344556677")]
    pub tracking_number: String,
    pub tracking_url: Option<String>,
}

impl ReadJson for ShipmentRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let carrier = input.field("carrier").required(problems, Input::text);
        let tracking_number = input.field("tracking_number").required(problems, Input::text);
        let tracking_url = input.field("tracking_url").optional(problems, Input::text);
        Some(Self {
            carrier: carrier?,
            tracking_number: tracking_number?,
            tracking_url: tracking_url?,
        })
    }
}

/// Which parcel, and a note (both optional; the body may be left out).
#[derive(ToSchema)]
pub struct ParcelRequest {
    /// Default: the supplier order's newest parcel.
    #[schema(value_type = Option<String>)]
    pub shipment_id: Option<ShipmentId>,
    pub note: Option<String>,
}

impl ReadJson for ParcelRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let shipment_id = input.field("shipment_id").optional(problems, Input::id);
        let note = input.field("note").optional(problems, Input::text);
        Some(Self {
            shipment_id: shipment_id?,
            note: note?,
        })
    }
}

/// A new parcel for a failed one.
#[derive(ToSchema)]
pub struct ReshipRequest {
    pub carrier: String,
    pub tracking_number: String,
    /// The failed parcel; default the newest one.
    #[schema(value_type = Option<String>)]
    pub shipment_id: Option<ShipmentId>,
}

impl ReadJson for ReshipRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let carrier = input.field("carrier").required(problems, Input::text);
        let tracking_number = input.field("tracking_number").required(problems, Input::text);
        let shipment_id = input.field("shipment_id").optional(problems, Input::id);
        Some(Self {
            carrier: carrier?,
            tracking_number: tracking_number?,
            shipment_id: shipment_id?,
        })
    }
}

/// One supplier order, with the actions that fit its state.
#[utoipa::path(
    get, path = "/supplier-orders/{id}", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    responses(
        (status = 200, body = SupplierOrderJson),
        (status = 404, description = "No such supplier order, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_supplier_order(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: SupplierOrderId = path_id(&id, "supplier order")?;
    let (order, supplier_order) = state.app.get_supplier_order(scope, id).await?;
    Ok(reply(StatusCode::OK, SupplierOrderJson::new(&order, &supplier_order)))
}

/// Records the supplier's order id (and, when known, what it actually cost): the supplier
/// accepted the order.
#[utoipa::path(
    post, path = "/supplier-orders/{id}/reference", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    request_body = ReferenceRequest,
    responses(
        (status = 200, body = SupplierOrderJson),
        (status = 404, description = "No such supplier order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The supplier order's state does not allow it", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_supplier_reference(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: SupplierOrderId = path_id(&id, "supplier order")?;
    let request: ReferenceRequest = body.read()?;
    let order = state
        .app
        .record_supplier_reference_at_rate(
            scope,
            id,
            &request.supplier_reference,
            request.actual_cost,
            request.rate,
        )
        .await?;
    Ok(reply(StatusCode::OK, SupplierOrderJson::of(&order, id)?))
}

/// Adds a parcel with its carrier and tracking number.
#[utoipa::path(
    post, path = "/supplier-orders/{id}/shipments", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    request_body = ShipmentRequest,
    responses(
        (status = 201, description = "The supplier order; the new parcel is the last of `shipments`", body = SupplierOrderJson),
        (status = 404, description = "No such supplier order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The supplier order's state does not allow it", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_shipment(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: SupplierOrderId = path_id(&id, "supplier order")?;
    let request: ShipmentRequest = body.read()?;
    let (order, _) = state
        .app
        .add_shipment(
            scope,
            id,
            &request.carrier,
            &request.tracking_number,
            request.tracking_url,
        )
        .await?;
    Ok(reply(StatusCode::CREATED, SupplierOrderJson::of(&order, id)?))
}

async fn parcel_action(
    state: &AppState,
    scope: dropline_app::Scope,
    id: &str,
    body: &JsonBody,
    action: ParcelAction,
) -> Result<Response, ApiError> {
    let id: SupplierOrderId = path_id(id, "supplier order")?;
    let request: ParcelRequest = body.read()?;
    let order = state
        .app
        .mark_parcel(scope, id, request.shipment_id, action, request.note)
        .await?;
    Ok(reply(StatusCode::OK, SupplierOrderJson::of(&order, id)?))
}

/// Marks a parcel shipped (with the carrier).
#[utoipa::path(
    post, path = "/supplier-orders/{id}/shipped", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    request_body(content = Option<ParcelRequest>, description = "Optional: the body may be left out"),
    responses(
        (status = 200, body = SupplierOrderJson),
        (status = 404, description = "No such supplier order or parcel, or not the caller's", body = ErrorBody),
        (status = 409, description = "The parcel's state does not allow it", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_shipped(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    parcel_action(&state, scope, &id, &body, ParcelAction::Shipped).await
}

/// Marks a parcel delivered.
#[utoipa::path(
    post, path = "/supplier-orders/{id}/delivered", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    request_body(content = Option<ParcelRequest>, description = "Optional: the body may be left out"),
    responses(
        (status = 200, body = SupplierOrderJson),
        (status = 404, description = "No such supplier order or parcel, or not the caller's", body = ErrorBody),
        (status = 409, description = "The parcel's state does not allow it", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_delivered(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    parcel_action(&state, scope, &id, &body, ParcelAction::Delivered).await
}

/// Records a failed delivery of a parcel; then re-ship or cancel.
#[utoipa::path(
    post, path = "/supplier-orders/{id}/failed", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    request_body(content = Option<ParcelRequest>, description = "Optional: the body may be left out"),
    responses(
        (status = 200, body = SupplierOrderJson),
        (status = 404, description = "No such supplier order or parcel, or not the caller's", body = ErrorBody),
        (status = 409, description = "The parcel's state does not allow it", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_failed(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    parcel_action(&state, scope, &id, &body, ParcelAction::Failed).await
}

/// Sends a failed parcel again with a new tracking number; the order goes back to
/// fulfillment.
#[utoipa::path(
    post, path = "/supplier-orders/{id}/reship", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    request_body = ReshipRequest,
    responses(
        (status = 201, description = "The supplier order; the new parcel is the last of `shipments`", body = SupplierOrderJson),
        (status = 404, description = "No such supplier order or parcel, or not the caller's", body = ErrorBody),
        (status = 409, description = "The parcel did not fail, or the states do not allow it", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_reship(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: SupplierOrderId = path_id(&id, "supplier order")?;
    let request: ReshipRequest = body.read()?;
    let order = state
        .app
        .reship(
            scope,
            id,
            request.shipment_id,
            &request.carrier,
            &request.tracking_number,
        )
        .await?;
    Ok(reply(StatusCode::CREATED, SupplierOrderJson::of(&order, id)?))
}

/// Cancels a supplier order that has not reached the supplier, or asks the supplier to
/// cancel one it has.
#[utoipa::path(
    post, path = "/supplier-orders/{id}/cancel", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    responses(
        (status = 200, body = SupplierOrderJson),
        (status = 404, description = "No such supplier order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The supplier order's state does not allow it", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn cancel_supplier_order(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: SupplierOrderId = path_id(&id, "supplier order")?;
    let order = state.app.cancel_supplier_order(scope, id).await?;
    Ok(reply(StatusCode::OK, SupplierOrderJson::of(&order, id)?))
}

/// Lifts a hold of a supplier order.
#[derive(ToSchema)]
pub struct ReleaseRequest {
    /// Accept the supplier's new price (it becomes the expected cost); default false.
    pub accept_price: Option<bool>,
}

impl ReadJson for ReleaseRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let accept_price = input.field("accept_price").optional(problems, Input::flag);
        Some(Self {
            accept_price: accept_price?,
        })
    }
}

/// Lifts a hold (after the seller fixed its cause, or to accept the supplier's new price);
/// a supplier reached through its API is then placed again, its checks run anew.
#[utoipa::path(
    post, path = "/supplier-orders/{id}/release", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    request_body = ReleaseRequest,
    responses(
        (status = 200, body = SupplierOrderJson),
        (status = 404, description = "No such supplier order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The supplier order is not held", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_release(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: SupplierOrderId = path_id(&id, "supplier order")?;
    let request: ReleaseRequest = body.read()?;
    let order = state
        .app
        .release_supplier_order(scope, id, request.accept_price.unwrap_or(false))
        .await?;
    Ok(reply(StatusCode::OK, SupplierOrderJson::of(&order, id)?))
}

/// Corrects the address a supplier order ships to, before the supplier has it (a phone the
/// supplier needs, a line too long for its form, a script it cannot read). The country stays;
/// the address is validated like an order's. The customer's order keeps what was received.
#[utoipa::path(
    put, path = "/supplier-orders/{id}/ship-to", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    request_body = AddressJson,
    responses(
        (status = 200, body = SupplierOrderJson),
        (status = 404, description = "No such supplier order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The supplier has the order already", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_ship_to(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: SupplierOrderId = path_id(&id, "supplier order")?;
    let address: dropline_domain::address::Address = body.read()?;
    let order = state.app.edit_supplier_order_ship_to(scope, id, address).await?;
    Ok(reply(StatusCode::OK, SupplierOrderJson::of(&order, id)?))
}

/// Moves a supplier order's lines to the next offer by the store's policy (never back to
/// this one): the supplier order is cancelled, or its cancellation asked of the supplier.
/// With no other offer the order goes on hold.
#[utoipa::path(
    post, path = "/supplier-orders/{id}/switch", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    responses(
        (status = 200, body = SupplierOrderJson, description = "The switched supplier order (its replacement is on the order)"),
        (status = 404, description = "No such supplier order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The supplier order is done or has shipped", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_switch(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: SupplierOrderId = path_id(&id, "supplier order")?;
    let order = state.app.switch_supplier(scope, id).await?;
    Ok(reply(StatusCode::OK, SupplierOrderJson::of(&order, id)?))
}

/// The recipient's tax id for the destination's customs.
#[derive(ToSchema)]
pub struct TaxIdRequest {
    /// Brazil: CPF or CNPJ; Chile: RUT; South Korea: the personal customs code (`P` and 12
    /// digits); checked for the destination's format and check digits.
    #[schema(example = "529.982.247-25")]
    pub tax_id: String,
}

impl ReadJson for TaxIdRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let tax_id = input.field("tax_id").required(problems, Input::text);
        Some(Self { tax_id: tax_id? })
    }
}

/// Enters the recipient's tax id a destination's customs need (the fix of a `tax_id_required`
/// hold), before the supplier has the order; then release it.
#[utoipa::path(
    put, path = "/supplier-orders/{id}/tax-id", tag = "supplier orders",
    params(("id" = String, Path, description = "Supplier order id")),
    request_body = TaxIdRequest,
    responses(
        (status = 200, body = SupplierOrderJson),
        (status = 404, description = "No such supplier order, or not the caller's", body = ErrorBody),
        (status = 409, description = "The supplier has the order already", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_tax_id(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: SupplierOrderId = path_id(&id, "supplier order")?;
    let request: TaxIdRequest = body.read()?;
    let order = state.app.set_supplier_order_tax_id(scope, id, &request.tax_id).await?;
    Ok(reply(StatusCode::OK, SupplierOrderJson::of(&order, id)?))
}
