//! Test data: stores with their platform connection, suppliers, products (plain or pulled
//! from a storefront), offers, orders with lines, supplier orders, parcels, exceptions and a
//! tracking token, change sets, jobs, messages (about an order or not, with a dedupe key or
//! not) and webhook deliveries. Every builder gives fresh ids and unique natural keys, so
//! tests can make as many as they like in one database.
//!
//! Times are whole seconds after [`base_time`], so they survive any store's precision.

use dropline_app::ports::{
    ChangeSet, DeliveryRecord, Message, MessageState, MessageUpdate, NewJob, OrderWrite, StoreRecord,
};
use dropline_domain::address::{Address, Customer};
use dropline_domain::catalog::{Offer, RoutingWeights, StoreConnection};
use dropline_domain::catalog::{
    OfferPriority, Platform, Product, RoutingPolicy, ShippingMethod, Store as Shop, StoreSettings, Supplier,
    SupplierKind, Variant,
};
use dropline_domain::ids::{
    JobId, LineItemId, MessageId, OfferId, OrderId, ProductId, ShipmentId, StoreId, SupplierId, SupplierOrderId,
    TimelineEventId, VariantId,
};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{
    ExceptionKind, LineItem, Order, OrderException, Shipment, ShipmentEvent, SuggestedAction, SupplierOrder,
    SupplierOrderLine,
};
use dropline_domain::state::{OrderState, PaymentState, ShipmentState, SupplierOrderState};
use dropline_domain::timeline::{Actor, TimelineEvent};
use std::sync::atomic::{AtomicU64, Ordering};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

static SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// A number unique in this test process, for natural keys (SKUs, external ids, tokens).
pub fn unique() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// US dollars.
pub fn usd() -> Currency {
    Currency::parse("USD").expect("USD is a currency")
}

/// Dollars in minor units.
pub fn usd_minor(minor: i64) -> Money {
    Money::new(minor, usd())
}

/// 2026-01-01T00:00:00Z: the origin of every time in the suite.
pub fn base_time() -> OffsetDateTime {
    time::macros::datetime!(2026-01-01 00:00:00 UTC)
}

/// [`base_time`] plus whole seconds.
pub fn at(seconds: i64) -> OffsetDateTime {
    base_time() + Duration::seconds(seconds)
}

/// An address in the United States.
pub fn address() -> Address {
    Address {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        company: None,
        address1: "1 Main Street".into(),
        address2: Some("Apt 2".into()),
        city: "Springfield".into(),
        region: Some("IL".into()),
        postal_code: "62701".into(),
        country_code: "US".into(),
        phone: Some("+12175550100".into()),
    }
}

/// A full platform connection: every credential and two webhook secrets (a rotation), each
/// unique.
pub fn connection() -> StoreConnection {
    let n = unique();
    StoreConnection {
        domain: Some(format!("shop-{n}.myshopify.com")),
        api_base: Some(format!("http://127.0.0.1:9/shop-{n}")),
        access_token: Some(format!("shpat_{n:032x}")),
        api_key: Some(format!("ck_{n:040x}")),
        api_secret: Some(format!("cs_{n:040x}")),
        webhook_secrets: vec![format!("whsec-new-{n}"), format!("whsec-old-{n}")],
    }
}

/// A new store record with a unique token hash and a full [`connection`].
pub fn store_record() -> StoreRecord {
    let n = unique();
    StoreRecord {
        store: Shop {
            id: StoreId::new(),
            name: format!("Store {n}"),
            platform: Platform::Shopify,
            currency: usd(),
            address: Some(Address {
                address1: format!("{n} Warehouse Road"),
                ..address()
            }),
            settings: StoreSettings::default(),
        },
        token_hash: format!("{:032x}{n:032x}", Uuid::now_v7().as_u128()),
        connection: connection(),
        created_at: at(n as i64),
    }
}

/// Settings that differ from the defaults in every field.
pub fn changed_settings() -> StoreSettings {
    let mut settings = StoreSettings {
        routing_policy: RoutingPolicy::CheapestLanded,
        routing_weights: RoutingWeights {
            margin: 10,
            speed: 20,
            rating: 30,
            on_time: 40,
        },
        ..StoreSettings::default()
    };
    settings.auto_accept.enabled = true;
    settings.auto_accept.max_total_minor = Some(10_000);
    settings.auto_accept.allowed_skus = vec!["SKU-A".into()];
    settings
}

/// A supplier of a store.
pub fn supplier(store_id: StoreId) -> Supplier {
    let n = unique();
    Supplier {
        id: SupplierId::new(),
        store_id,
        name: format!("Supplier {n}"),
        kind: SupplierKind::Cj,
        ships_from: Some("CN".into()),
        processing_days: 3,
        rating: 87,
        processing_deadline_days: None,
        connection: Default::default(),
        last_reconciliation: None,
        agent_layout: None,
        return_policy: Default::default(),
        last_stock_sync: None,
    }
}

/// A variant of `product_id` with this SKU.
pub fn variant(product_id: ProductId, sku: &str) -> Variant {
    Variant {
        id: VariantId::new(),
        product_id,
        sku: sku.to_string(),
        title: format!("Variant {sku}"),
        price: usd_minor(1999),
        platform_variant_id: None,
    }
}

/// A product of a store with one variant per SKU, in that order.
pub fn product(store_id: StoreId, skus: &[&str]) -> Product {
    let id = ProductId::new();
    Product {
        collections: Vec::new(),
        id,
        store_id,
        title: format!("Product {}", unique()),
        variants: skus.iter().map(|sku| variant(id, sku)).collect(),
        platform_product_id: None,
    }
}

/// A product as pulled from a storefront: fresh ids, the storefront's product id, and one
/// variant per (storefront variant id, SKU), in that order.
pub fn platform_product(store_id: StoreId, platform_product_id: &str, variants: &[(&str, &str)]) -> Product {
    let mut product = product(store_id, &[]);
    product.platform_product_id = Some(platform_product_id.to_string());
    product.variants = variants
        .iter()
        .map(|(platform_variant_id, sku)| Variant {
            platform_variant_id: Some((*platform_variant_id).to_string()),
            ..variant(product.id, sku)
        })
        .collect();
    product
}

/// A unique storefront id (of a product, a variant or a webhook delivery).
pub fn platform_id() -> String {
    format!("gid-{}", unique())
}

/// A unique SKU.
pub fn sku() -> String {
    format!("SKU-{}", unique())
}

/// An offer of a supplier for a variant.
pub fn offer(variant_id: VariantId, supplier_id: SupplierId) -> Offer {
    let n = unique();
    Offer {
        units: 1,
        id: OfferId::new(),
        variant_id,
        supplier_id,
        supplier_sku: format!("SUP-{n}"),
        supplier_product_id: Some(format!("P{n}")),
        supplier_variant_id: None,
        product_url: Some(format!("https://supplier.example/p/{n}")),
        unit_cost: usd_minor(750),
        stock: Some(40),
        shipping: vec![
            ShippingMethod {
                country: "US".into(),
                name: "Standard".into(),
                cost: usd_minor(300),
                min_days: 7,
                max_days: 14,
            },
            ShippingMethod {
                country: "*".into(),
                name: "Economy".into(),
                cost: usd_minor(500),
                min_days: 10,
                max_days: 25,
            },
        ],
        priority: OfferPriority::Primary,
    }
}

/// Builds an [`Order`] with two lines; supplier orders on request.
#[derive(Clone, Debug)]
pub struct OrderBuilder {
    order: Order,
}

impl OrderBuilder {
    /// A `pending_review`, paid order of a store with a unique external id, placed at
    /// [`base_time`].
    pub fn new(store_id: StoreId) -> Self {
        let n = unique();
        let lines = vec![
            LineItem {
                id: LineItemId::new(),
                external_id: Some(format!("L{n}-1")),
                variant_id: None,
                sku: "SKU-A".into(),
                title: "Mug".into(),
                variant_title: Some("Blue".into()),
                quantity: 2,
                unit_price: usd_minor(1250),
                requires_shipping: true,
                platform_product_id: Some(format!("P{n}")),
                platform_variant_id: Some(format!("V{n}")),
                fulfillable_quantity: Some(1),
                offer_override: None,
            },
            LineItem {
                id: LineItemId::new(),
                external_id: Some(format!("L{n}-2")),
                variant_id: Some(VariantId::new()),
                sku: "SKU-B".into(),
                title: "Poster".into(),
                variant_title: None,
                quantity: 1,
                unit_price: usd_minor(900),
                requires_shipping: true,
                platform_product_id: None,
                platform_variant_id: None,
                fulfillable_quantity: None,
                offer_override: None,
            },
        ];
        let order = Order {
            id: OrderId::new(),
            store_id,
            external_id: format!("ext-{n}"),
            number: format!("#{n}"),
            customer: Customer {
                name: "Ada Lovelace".into(),
                email: Some(format!("ada{n}@example.com")),
                phone: None,
            },
            shipping_address: address(),
            lines,
            currency: usd(),
            subtotal: usd_minor(3400),
            shipping_total: usd_minor(500),
            total: usd_minor(3900),
            payment: PaymentState::Paid,
            state: OrderState::PendingReview,
            hold_reasons: Vec::new(),
            findings: Vec::new(),
            supplier_orders: Vec::new(),
            placed_at: base_time(),
            received_at: at(1),
            updated_at: at(1),
            test: false,
            charged_total: Some(usd_minor(4120)),
            discount_total: Some(usd_minor(200)),
            tax_total: Some(usd_minor(420)),
            shipping_method: Some("Standard".into()),
            source_updated_at: Some(at(1)),
            exceptions: Vec::new(),
            tracking_token: None,
            after_sale: Default::default(),
            version: 0,
        };
        Self { order }
    }

    /// The order id.
    pub fn id(mut self, id: OrderId) -> Self {
        self.order.id = id;
        self
    }

    /// The storefront's id of the order.
    pub fn external_id(mut self, external_id: &str) -> Self {
        self.order.external_id = external_id.to_string();
        self
    }

    /// The lifecycle state (a store never checks transitions).
    pub fn state(mut self, state: OrderState) -> Self {
        self.order.state = state;
        self
    }

    /// When the customer placed it.
    pub fn placed_at(mut self, placed_at: OffsetDateTime) -> Self {
        self.order.placed_at = placed_at;
        self
    }

    /// Replaces the lines with one line per (variant, units to ship), made from the first.
    pub fn lines(mut self, lines: &[(VariantId, u32)]) -> Self {
        let template = self.order.lines[0].clone();
        let n = unique();
        self.order.lines = lines
            .iter()
            .enumerate()
            .map(|(index, (variant_id, quantity))| LineItem {
                id: LineItemId::new(),
                external_id: Some(format!("L{n}-{index}")),
                variant_id: Some(*variant_id),
                quantity: *quantity,
                fulfillable_quantity: None,
                ..template.clone()
            })
            .collect();
        self
    }

    /// Adds a supplier order at `supplier_id` for the first line.
    pub fn supplier_order(mut self, supplier_id: SupplierId) -> Self {
        let supplier_order = supplier_order_for(&self.order, supplier_id);
        self.order.supplier_orders.push(supplier_order);
        self
    }

    /// Adds a supplier order at `supplier_id` for the first line that shipped these parcels.
    pub fn shipped(mut self, supplier_id: SupplierId, shipments: Vec<Shipment>) -> Self {
        let mut supplier_order = supplier_order_for(&self.order, supplier_id);
        supplier_order.shipments = shipments;
        self.order.supplier_orders.push(supplier_order);
        self
    }

    /// The customer's name and email.
    pub fn customer(mut self, name: &str, email: Option<&str>) -> Self {
        self.order.customer.name = name.into();
        self.order.customer.email = email.map(str::to_string);
        self
    }

    /// The destination country (ISO 3166-1 alpha-2); supplier orders added after it ship there.
    pub fn ship_to_country(mut self, country_code: &str) -> Self {
        self.order.shipping_address.country_code = country_code.to_string();
        self
    }

    /// The order name the customer sees.
    pub fn number(mut self, number: &str) -> Self {
        self.order.number = number.to_string();
        self
    }

    /// The token of the customer's tracking page.
    pub fn tracking_token(mut self, token: &str) -> Self {
        self.order.tracking_token = Some(token.to_string());
        self
    }

    /// Adds an exception (open, or resolved when [`OrderException::resolved_at`] is set).
    pub fn exception(mut self, exception: OrderException) -> Self {
        self.order.exceptions.push(exception);
        self
    }

    /// The order.
    pub fn build(self) -> Order {
        self.order
    }
}

/// A new supplier order at `supplier_id` for the first line of `order`.
pub fn supplier_order_for(order: &Order, supplier_id: SupplierId) -> SupplierOrder {
    let line = &order.lines[0];
    let attempt = order
        .supplier_orders
        .iter()
        .filter(|s| s.supplier_id == supplier_id)
        .count() as u32
        + 1;
    SupplierOrder {
        id: SupplierOrderId::new(),
        supplier_id,
        supplier_name: "Supplier".into(),
        supplier_kind: SupplierKind::Manual,
        lines: vec![SupplierOrderLine {
            line_item_id: line.id,
            offer_id: OfferId::new(),
            variant_id: line.variant_id.unwrap_or_default(),
            supplier_sku: format!("SUP-{}", line.sku),
            product_url: Some("https://supplier.example/p/1".into()),
            title: line.title.clone(),
            variant_title: line.variant_title.clone(),
            quantity: line.quantity,
            unit_cost: usd_minor(600),
            supplier_product_id: None,
            supplier_variant_id: None,
        }],
        ship_to: order.shipping_address.clone(),
        shipping_method: Some("Standard".into()),
        expected_cost: usd_minor(1500),
        actual_cost: None,
        cost_rate: None,
        supplier_reference: None,
        idempotency_key: format!("{}:{}:{}", order.id, supplier_id, attempt),
        attempt,
        state: SupplierOrderState::NEW,
        shipments: Vec::new(),
        created_at: at(2),
        placement: Default::default(),
    }
}

/// A parcel event. Built through serde, so that fields the domain adds with a default need
/// no change here.
pub fn shipment_event(at: OffsetDateTime, state: ShipmentState, note: Option<&str>) -> ShipmentEvent {
    let mut event: ShipmentEvent = serde_json::from_value(serde_json::json!({
        "at": at.format(&Rfc3339).expect("a time in RFC 3339"),
        "state": state,
    }))
    .expect("a shipment event");
    event.note = note.map(str::to_string);
    event
}

/// A parcel with a tracking number, in transit since `shipped_at` (or only announced, without
/// it). Built through serde like [`shipment_event`].
pub fn shipment(tracking_number: &str, shipped_at: Option<OffsetDateTime>) -> Shipment {
    let mut parcel: Shipment = serde_json::from_value(serde_json::json!({
        "id": ShipmentId::new(),
        "carrier": "YunExpress",
        "tracking_number": tracking_number,
        "state": ShipmentState::InfoReceived,
        "events": [],
    }))
    .expect("a shipment");
    parcel.tracking_url = Some(format!("https://track.example/{tracking_number}"));
    parcel.carrier_code = Some("yunexpress".into());
    parcel.events = vec![shipment_event(at(10), ShipmentState::InfoReceived, None)];
    if let Some(shipped) = shipped_at {
        parcel.state = ShipmentState::InTransit;
        parcel.shipped_at = Some(shipped);
        parcel.events.push(shipment_event(
            shipped,
            ShipmentState::InTransit,
            Some("Departed facility"),
        ));
    }
    parcel
}

/// A parcel shipped at `shipped_at` (if known) and delivered at `delivered_at`.
pub fn delivered_shipment(
    tracking_number: &str,
    shipped_at: Option<OffsetDateTime>,
    delivered_at: OffsetDateTime,
) -> Shipment {
    let mut parcel = shipment(tracking_number, shipped_at);
    parcel.state = ShipmentState::Delivered;
    parcel
        .events
        .push(shipment_event(delivered_at, ShipmentState::Delivered, None));
    parcel.delivered_at = Some(delivered_at);
    parcel
}

/// A unique tracking number.
pub fn tracking_number() -> String {
    format!("YT{:016}", unique())
}

/// A unique tracking-page token.
pub fn tracking_token() -> String {
    format!("tok-{:032x}", Uuid::now_v7().as_u128() ^ u128::from(unique()))
}

/// An open exception of this kind raised at `raised_at`, with a unique detail. Built through
/// serde like [`shipment_event`].
pub fn exception(kind: ExceptionKind, raised_at: OffsetDateTime) -> OrderException {
    serde_json::from_value(serde_json::json!({
        "kind": kind,
        "detail": format!("{kind} #{}", unique()),
        "suggested_action": SuggestedAction::ContactSupplier,
        "raised_at": raised_at.format(&Rfc3339).expect("a time in RFC 3339"),
    }))
    .expect("an order exception")
}

/// A timeline entry of an order.
pub fn timeline_event(order_id: OrderId, at: OffsetDateTime, kind: &str) -> TimelineEvent {
    TimelineEvent {
        id: TimelineEventId::new(),
        order_id,
        at,
        actor: Actor::Seller("ada@example.com".into()),
        kind: kind.to_string(),
        message: format!("{kind} happened"),
        from_state: Some("pending_review".into()),
        to_state: Some("accepted".into()),
    }
}

/// A job due at `run_after`.
pub fn job(kind: &str, run_after: OffsetDateTime, store_id: Option<StoreId>) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: kind.to_string(),
        payload: serde_json::json!({ "n": unique(), "note": "payload" }),
        run_after,
        store_id,
    }
}

/// A queued message about an order, without a dedupe key.
pub fn message(order: &Order, template: &str) -> Message {
    Message {
        id: MessageId::new(),
        store_id: order.store_id,
        order_id: Some(order.id),
        template: template.to_string(),
        recipient: order.customer.email.clone(),
        data: serde_json::json!({ "number": order.number, "total_minor": order.total.minor }),
        state: MessageState::Queued,
        created_at: at(5),
        dedupe_key: None,
        attempts: 0,
        last_error: None,
        sent_at: None,
    }
}

/// A queued message about an order with a dedupe key.
pub fn keyed_message(order: &Order, template: &str, dedupe_key: &str) -> Message {
    Message {
        dedupe_key: Some(dedupe_key.to_string()),
        ..message(order, template)
    }
}

/// A queued seller digest of a store: about no single order.
pub fn digest_message(store_id: StoreId) -> Message {
    Message {
        id: MessageId::new(),
        store_id,
        order_id: None,
        template: "seller_digest".into(),
        recipient: Some("seller@example.com".into()),
        data: serde_json::json!({ "orders": 3, "exceptions": [{ "kind": "shipping_late" }] }),
        state: MessageState::Queued,
        created_at: at(6),
        dedupe_key: Some(format!("digest:{}", unique())),
        attempts: 0,
        last_error: None,
        sent_at: None,
    }
}

/// A unique dedupe key.
pub fn dedupe_key() -> String {
    format!("shipped:{}", unique())
}

/// A send attempt of a message that failed.
pub fn failed_attempt(message: &Message, error: &str) -> MessageUpdate {
    MessageUpdate {
        id: message.id,
        state: MessageState::Failed,
        attempts: message.attempts + 1,
        last_error: Some(error.to_string()),
        sent_at: None,
    }
}

/// A send attempt of a message that went out at `sent_at`.
pub fn sent_attempt(message: &Message, sent_at: OffsetDateTime) -> MessageUpdate {
    MessageUpdate {
        id: message.id,
        state: MessageState::Sent,
        attempts: message.attempts + 1,
        last_error: None,
        sent_at: Some(sent_at),
    }
}

/// A message as it reads after `update`.
pub fn updated(message: &Message, update: &MessageUpdate) -> Message {
    Message {
        state: update.state,
        attempts: update.attempts,
        last_error: update.last_error.clone(),
        sent_at: update.sent_at,
        ..message.clone()
    }
}

/// What ingesting an order writes: the order, its `order.received` entry, a `route_order`
/// job and an `order_received` message.
pub fn insert_change_set(order: &Order) -> ChangeSet {
    ChangeSet {
        orders: vec![OrderWrite::Insert(order.clone())],
        timeline: vec![timeline_event(order.id, order.received_at, "order.received")],
        jobs: vec![job("route_order", base_time(), Some(order.store_id))],
        messages: vec![message(order, "order_received")],
        message_updates: Vec::new(),
        finished_jobs: Vec::new(),
        deliveries: Vec::new(),
        stock_changes: Vec::new(),
        stock_checked: Vec::new(),
    }
}

/// What changing an order writes: the order (with its read version), one entry, a job and a
/// message.
pub fn update_change_set(order: &Order) -> ChangeSet {
    ChangeSet {
        orders: vec![OrderWrite::Update(order.clone())],
        timeline: vec![timeline_event(order.id, order.updated_at, "order.accepted")],
        jobs: vec![job("place_supplier_order", base_time(), Some(order.store_id))],
        messages: vec![message(order, "order_confirmed")],
        message_updates: Vec::new(),
        finished_jobs: Vec::new(),
        deliveries: Vec::new(),
        stock_changes: Vec::new(),
        stock_checked: Vec::new(),
    }
}

/// A webhook delivery of a store with a unique delivery id, received at `at(3)`.
pub fn delivery(store_id: StoreId) -> DeliveryRecord {
    DeliveryRecord {
        store_id,
        delivery_id: format!("delivery-{}", unique()),
        received_at: at(3),
    }
}

/// What handling an order webhook writes: [`insert_change_set`] plus the delivery.
pub fn delivered_change_set(order: &Order, delivery: &DeliveryRecord) -> ChangeSet {
    ChangeSet {
        deliveries: vec![delivery.clone()],
        ..insert_change_set(order)
    }
}
