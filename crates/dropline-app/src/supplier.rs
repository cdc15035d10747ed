//! The port to suppliers' APIs ([`SupplierClient`]), owned by the engine and implemented by
//! the connectors (CJ, AliExpress, ...). Every supplier is driven through the same protocol:
//! quote, place under an idempotency key, look up by that key, status, cancel, stock.
//!
//! What a supplier answers is untrusted: a connector turns it into these types or into a
//! [`SupplierError`] that tells the engine what to do (retry, wait, fail over, ask a person).

use async_trait::async_trait;
use dropline_domain::address::Address;
use dropline_domain::catalog::{Offer, Supplier, SupplierKind};
use dropline_domain::money::Money;
use dropline_domain::order::{SupplierOrder, SupplierOrderLine};
use dropline_domain::placement::FailureKind;
use dropline_domain::state::ShipmentState;
use dropline_domain::submission::Quote;
use std::time::Duration;
use time::OffsetDateTime;

/// Why a supplier call did not give its answer, sorted by what the engine does next.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SupplierError {
    /// No complete answer (time-out, connection lost, 5xx, a body that could not be read):
    /// the call may have been carried out. Call again later; a placement is looked up by its
    /// key before it is ever sent again.
    #[error("supplier unavailable: {0}")]
    Retryable(String),
    /// Too many calls: wait (as long as the supplier said) and call again.
    #[error("supplier rate limit reached")]
    RateLimited { retry_after: Option<Duration> },
    /// The supplier refused the request for a business reason: calling again will not help.
    #[error("supplier refused ({kind}): {reason}")]
    Rejected { kind: FailureKind, reason: String },
    /// The supplier cannot be called as configured (credentials, missing settings): a person
    /// has to fix it.
    #[error("supplier misconfigured: {0}")]
    Misconfigured(String),
    /// The supplier refused the ship-to address (its format, its phone): another supplier
    /// would likely refuse it too, so the seller corrects it.
    #[error("supplier refused the address: {0}")]
    AddressRefused(String),
    /// The supplier says it already has the order but not which one: a person must find it
    /// at the supplier; sending it again is never safe.
    #[error("placement unconfirmed: {0}")]
    Unconfirmed(String),
}

impl SupplierError {
    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable(_) | Self::RateLimited { .. })
    }
}

/// Everything a supplier needs to place one supplier order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaceRequest {
    /// The idempotency key, sent in the supplier's own field where it has one.
    pub key: String,
    /// The customer-facing order number (`#1001`), for the supplier's remark.
    pub order_number: String,
    /// Always the customer's address.
    pub ship_to: Address,
    pub email: Option<String>,
    pub lines: Vec<SupplierOrderLine>,
    pub shipping_method: Option<String>,
    /// The store's note to the supplier (blind dropshipping).
    pub note: Option<String>,
    /// The recipient's tax id for the destination's customs, when it needs one.
    pub tax_id: Option<String>,
}

impl PlaceRequest {
    /// The request of a supplier order.
    pub fn of(order_number: &str, email: Option<&str>, supplier_order: &SupplierOrder, note: Option<&str>) -> Self {
        Self {
            key: supplier_order.idempotency_key.clone(),
            order_number: order_number.to_string(),
            ship_to: supplier_order.ship_to.clone(),
            email: email.map(str::to_string),
            lines: supplier_order.lines.clone(),
            shipping_method: supplier_order.shipping_method.clone(),
            note: note.map(str::to_string),
            tax_id: supplier_order.placement.tax_id.clone(),
        }
    }
}

/// Where an order stands at the supplier, in the protocol's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteStatus {
    /// Received, not yet accepted (awaiting payment or review at the supplier).
    Received,
    /// Accepted: being prepared.
    Accepted,
    /// At least one parcel left.
    Shipped,
    /// Every parcel delivered, per the supplier.
    Delivered,
    /// Cancelled or closed by the supplier without shipping.
    Cancelled,
    /// A status the connector does not know: kept as it is, never guessed.
    Unknown,
}

/// A parcel the supplier reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteParcel {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
}

/// An order as the supplier shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteOrder {
    /// The supplier's order id.
    pub reference: String,
    /// The idempotency key it was placed under, when the supplier shows it.
    pub key: Option<String>,
    pub status: RemoteStatus,
    /// The supplier's own word for the status, for the timeline.
    pub raw_status: String,
    /// What the supplier charges for it, when it says.
    pub cost: Option<Money>,
    pub estimated_ship_at: Option<OffsetDateTime>,
    pub parcels: Vec<RemoteParcel>,
    /// Lines the supplier refused while accepting the others, by supplier SKU, with why.
    pub refused_skus: Vec<(String, String)>,
}

/// What a cancellation request came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The supplier cancelled the order.
    Cancelled,
    /// The supplier refused (it has shipped, say).
    Refused { reason: String },
}

/// Stock and price of one offer at its supplier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockLevel {
    pub supplier_sku: String,
    /// `None`: the supplier no longer sells the variant.
    pub available: Option<u32>,
    pub unit_cost: Option<Money>,
    /// What was wrong with the supplier's answer for this SKU (a negative count, a price
    /// that cannot be read): nothing of it is applied, and the sync records an exception.
    pub problem: Option<String>,
}

/// What a supplier's webhook message names: products and variants whose stock, price or
/// listing moved. The message is a reason to read them again, never a value to apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SupplierNotice {
    /// The supplier's product ids (CJ `pid`).
    pub product_ids: Vec<String>,
    /// The supplier's variant ids (CJ `vid`).
    pub variant_ids: Vec<String>,
}

impl SupplierNotice {
    /// Whether the message names nothing of the catalogue (an order or logistics message).
    pub fn is_empty(&self) -> bool {
        self.product_ids.is_empty() && self.variant_ids.is_empty()
    }
}

/// Why a supplier's webhook message was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SupplierWebhookError {
    /// The signature is missing or wrong, or no secret is set to check it with.
    #[error("webhook refused: {0}")]
    Unauthorized(String),
    /// The body is not a message of the supplier.
    #[error("unreadable webhook: {0}")]
    Malformed(String),
    /// This kind of supplier sends no webhooks.
    #[error("{0}")]
    Unsupported(String),
}

/// A product of a supplier's catalogue, to map onto the store's variants.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SupplierProduct {
    /// The supplier's product id (CJ `pid`, AliExpress product id).
    pub product_id: String,
    pub title: String,
    /// The product page, for a person who orders by hand.
    pub url: Option<String>,
    pub variants: Vec<SupplierProductVariant>,
}

/// A variant of a [`SupplierProduct`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SupplierProductVariant {
    /// The SKU orders are placed with.
    pub sku: String,
    /// The supplier's variant id (CJ `vid`, AliExpress `sku_id`).
    pub variant_id: Option<String>,
    /// The options as the supplier writes them ("Black / XL", "color: black; size: XL").
    pub options: String,
    /// UPC or EAN where the supplier gives one.
    pub barcode: Option<String>,
    pub unit_cost: Money,
    /// `None` when the supplier does not say.
    pub stock: Option<u32>,
}

/// One carrier event of a parcel, normalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingEvent {
    pub at: OffsetDateTime,
    pub state: ShipmentState,
    pub description: String,
    pub location: Option<String>,
}

/// A page of the supplier's own order list, for reconciliation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteOrderPage {
    pub orders: Vec<RemoteOrder>,
    /// Whether another page follows.
    pub more: bool,
}

/// Calls suppliers' APIs. One value serves every supplier of the kinds it handles; it keeps
/// per-supplier state (tokens) itself.
#[async_trait]
pub trait SupplierClient: Send + Sync + 'static {
    /// Whether orders of this kind of supplier are placed through this client (the others
    /// follow the manual or spreadsheet flow).
    fn places(&self, kind: SupplierKind) -> bool;

    /// How long after the first try an order may be sent again under the same key when
    /// [`Self::find`] cannot see it. `None`: the supplier finds orders by key at any time, so
    /// an order it does not find was never made and may be sent. `Some(window)`: the supplier
    /// cannot be asked by key but refuses a second order under the same key within the
    /// window (AliExpress: 24 hours); past it the engine never resends and asks a person.
    fn resend_window(&self, kind: SupplierKind) -> Option<Duration> {
        let _ = kind;
        None
    }

    /// Whether the supplier lists its orders ([`Self::list_orders`]) for reconciliation.
    fn lists_orders(&self, kind: SupplierKind) -> bool {
        self.places(kind)
    }

    /// A fresh quote of the supplier order's lines to its destination: unit costs per
    /// supplier SKU, shipping, and which variants still exist.
    async fn quote(&self, supplier: &Supplier, order: &SupplierOrder) -> Result<Quote, SupplierError>;

    /// Places the order under `request.key`. A [`SupplierError::Retryable`] may mean the order
    /// was created: the caller looks it up with [`Self::find`] before sending it again.
    async fn place(&self, supplier: &Supplier, request: &PlaceRequest) -> Result<RemoteOrder, SupplierError>;

    /// The order placed under this idempotency key, `None` when the supplier has none.
    async fn find(&self, supplier: &Supplier, key: &str) -> Result<Option<RemoteOrder>, SupplierError>;

    /// The order with the supplier's id, `None` when the supplier has none.
    async fn status(&self, supplier: &Supplier, reference: &str) -> Result<Option<RemoteOrder>, SupplierError>;

    /// Asks the supplier to cancel the order.
    async fn cancel(&self, supplier: &Supplier, reference: &str) -> Result<CancelOutcome, SupplierError>;

    /// Carrier events of a parcel the supplier shipped for its order `reference` to
    /// `destination` (ISO alpha-2).
    async fn tracking(
        &self,
        supplier: &Supplier,
        reference: &str,
        tracking_number: &str,
        destination: &str,
    ) -> Result<Vec<TrackingEvent>, SupplierError>;

    /// Stock and cost of these offers at the supplier.
    async fn stock(&self, supplier: &Supplier, offers: &[Offer]) -> Result<Vec<StockLevel>, SupplierError>;

    /// A page (from 1) of the supplier's own list of orders.
    async fn list_orders(&self, supplier: &Supplier, page: u32) -> Result<RemoteOrderPage, SupplierError>;

    /// A product of the supplier's catalogue with its variants, costs and stock, `None`
    /// when the supplier has no such product.
    /// Checks a webhook message of the supplier (signature on the raw body first) and says
    /// what it names.
    fn read_webhook(
        &self,
        supplier: &Supplier,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<SupplierNotice, SupplierWebhookError> {
        let _ = (headers, body);
        Err(SupplierWebhookError::Unsupported(format!(
            "{} suppliers send no webhooks",
            supplier.kind
        )))
    }

    async fn product(&self, supplier: &Supplier, product_id: &str) -> Result<Option<SupplierProduct>, SupplierError> {
        let _ = product_id;
        Err(SupplierError::Misconfigured(format!(
            "{} suppliers have no catalogue to import from",
            supplier.kind
        )))
    }
}
