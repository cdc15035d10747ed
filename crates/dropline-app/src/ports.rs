//! The ports the use cases need from the outside: [`Store`] for durable state and
//! [`JobQueue`] for durable background work. Each store crate implements both.

use async_trait::async_trait;
use dropline_domain::account::{Email, Session, User};
use dropline_domain::catalog::{Offer, Product, Store as Shop, StoreConnection, Supplier, Variant};
use dropline_domain::ids::{
    JobId, MessageId, OfferId, OrderId, ShipmentId, StoreId, SupplierId, SupplierOrderId, UserId, VariantId,
};
use dropline_domain::order::{ExceptionKind, Order, SuggestedAction};
use dropline_domain::state::OrderState;
use dropline_domain::timeline::TimelineEvent;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What went wrong in a store, sorted by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The thing does not exist (or the version expected of an update is gone).
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness rule or an optimistic-concurrency version refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached right now: retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else (a bug, a corrupt row).
    #[error("store error: {0}")]
    Other(String),
    /// An order accepted in this change set ([`ChangeSet::stock_checked`]) would hold more
    /// units of the variant than its offers can ship, with what the others already hold.
    #[error("out of stock: variant {0}")]
    OutOfStock(VariantId),
}

/// A store (seller) with the hash of its API token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreRecord {
    pub store: Shop,
    /// SHA-256 of the store's API token, hex; the token itself is never stored.
    pub token_hash: String,
    /// How dropline reaches the store's platform (with secrets: never shown by an API).
    #[serde(default)]
    pub connection: StoreConnection,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One write of an order inside a [`ChangeSet`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderWrite {
    /// A new order. Refused with [`StoreError::Conflict`] when the store already has an
    /// order with the same external id.
    Insert(Order),
    /// A changed order. `order.version` is the version that was read; the write is refused
    /// with [`StoreError::Conflict`] when the stored version differs, and the stored version
    /// becomes `order.version + 1`.
    Update(Order),
}

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewJob {
    pub id: JobId,
    /// Stable stored name, e.g. `route_order`. Never renamed.
    pub kind: String,
    pub payload: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub run_after: OffsetDateTime,
    #[serde(default)]
    pub store_id: Option<StoreId>,
}

/// A claimed job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Attempts before this one.
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub run_after: OffsetDateTime,
    #[serde(default)]
    pub store_id: Option<StoreId>,
    /// Last failure, if any.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// Where a message of the outbox stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Written, waiting for a sender (email and webhooks come with a later connector).
    Queued,
    Sent,
    Failed,
}

impl MessageState {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "queued" => Some(Self::Queued),
            "sent" => Some(Self::Sent),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// An email in the outbox: to a customer (in the store's name) or to the seller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub store_id: StoreId,
    /// The order it is about; `None` for a message about many (the seller's digest).
    #[serde(default)]
    pub order_id: Option<OrderId>,
    /// Template name: `order_confirmed`, `shipped`, `seller_digest`, ...
    pub template: String,
    #[serde(default)]
    pub recipient: Option<String>,
    /// What the template shows (never a supplier's name, price or link in a customer's).
    pub data: serde_json::Value,
    pub state: MessageState,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The event it tells of (`shipped:{shipment}`); a second message with the same key
    /// in the same store is not written, so one event never gives two emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe_key: Option<String>,
    /// Send attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub sent_at: Option<OffsetDateTime>,
}

/// A change to a message of the outbox after a send attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageUpdate {
    pub id: MessageId,
    pub state: MessageState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<OffsetDateTime>,
}

/// Everything one engine step writes, committed in ONE transaction: the orders it changed,
/// their timeline entries, the jobs and messages they cause, and the jobs it finished.
/// Either all of it is durable or none of it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub orders: Vec<OrderWrite>,
    pub timeline: Vec<TimelineEvent>,
    pub jobs: Vec<NewJob>,
    /// New messages. One whose `dedupe_key` the store already holds is skipped (not an
    /// error): the event was told already.
    pub messages: Vec<Message>,
    /// Messages a send attempt changed.
    pub message_updates: Vec<MessageUpdate>,
    /// Claimed jobs this step completed: they are deleted.
    pub finished_jobs: Vec<JobId>,
    /// Webhook deliveries this step handled. Refused with [`StoreError::Conflict`] when the
    /// store already recorded the same (store, delivery id): a delivery counts once.
    pub deliveries: Vec<DeliveryRecord>,
    /// Stock moved by this step (units reserved at the seller's own warehouse, or returned).
    pub stock_changes: Vec<StockChange>,
    /// Orders accepted by this step. Every order write replaces the order's reservations
    /// ([`dropline_domain::inventory::reserved_units`]); for these orders the store first
    /// checks, under a lock on each variant, that the units they newly hold fit what the
    /// variant's offers can ship less what other orders hold, and refuses the whole change
    /// set with [`StoreError::OutOfStock`] when they do not, so two orders never both take
    /// the last unit.
    pub stock_checked: Vec<OrderId>,
}

/// Units taken from (negative) or returned to (positive) an offer's stock. An offer whose
/// stock is unknown keeps it unknown; stock never goes below zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockChange {
    pub offer_id: OfferId,
    pub delta: i64,
}

/// A webhook delivery that was handled, kept so that a redelivery is recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub store_id: StoreId,
    /// The platform's delivery or event id.
    pub delivery_id: String,
    pub received_at: OffsetDateTime,
}

/// What a catalogue import from a storefront did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CatalogImport {
    pub products_created: u32,
    pub products_updated: u32,
    pub variants_created: u32,
    pub variants_updated: u32,
}

impl ChangeSet {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
            && self.timeline.is_empty()
            && self.jobs.is_empty()
            && self.messages.is_empty()
            && self.message_updates.is_empty()
            && self.finished_jobs.is_empty()
            && self.deliveries.is_empty()
            && self.stock_changes.is_empty()
    }
}

/// Filters and keyset cursor of an order listing. Orders come newest first (by id, which
/// is time-ordered); `before` is the id of the last order of the previous page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub store_id: Option<StoreId>,
    pub state: Option<OrderState>,
    /// Orders with at least one supplier order at this supplier.
    pub supplier_id: Option<SupplierId>,
    /// `placed_at >= placed_from`.
    pub placed_from: Option<OffsetDateTime>,
    /// `placed_at < placed_to`.
    pub placed_to: Option<OffsetDateTime>,
    pub before: Option<OrderId>,
    /// `id > after` (the next page of an oldest-first listing).
    pub after: Option<OrderId>,
    /// Oldest first (`id ASC`) instead of newest first.
    pub oldest_first: bool,
    /// Only orders with at least one open exception.
    pub with_exception: bool,
    /// A search: the order number (with or without `#`), the exact tracking number of one
    /// of its parcels, or part of the customer's name or email (case-insensitive, see
    /// [`customer_search_key`]).
    pub search: Option<String>,
    /// At most this many (the store caps it at 500).
    pub limit: u32,
}

/// What the stores keep of an order's customer for [`OrderFilter::search`]: the name and
/// the email, lower-cased, one space between. One definition, so both backends agree.
pub fn customer_search_key(order: &Order) -> String {
    let mut key = order.customer.name.trim().to_lowercase();
    if let Some(email) = order.customer.email.as_deref() {
        key.push(' ');
        key.push_str(&email.trim().to_lowercase());
    }
    key
}

/// The `LIKE` pattern (escape character `\\`) matching a key that contains `search`
/// lower-cased: `%`, `_` and `\\` in the search match only themselves.
pub fn contains_pattern(search: &str) -> String {
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for c in search.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The forms a search takes when it is an order number (`1001` and `#1001` both find the
/// order numbered `#1001`) or a tracking number (upper-cased, without spaces).
pub fn search_numbers(search: &str) -> (String, String, String) {
    let search = search.trim();
    let bare = search.trim_start_matches('#').to_string();
    let hashed = format!("#{bare}");
    let tracking: String = search
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    (bare, hashed, tracking)
}

/// Filters of the outbox listing (newest first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageFilter {
    pub store_id: Option<StoreId>,
    pub order_id: Option<OrderId>,
    pub state: Option<MessageState>,
    pub template: Option<String>,
    pub limit: u32,
}

/// Filters of the open-exception listing (oldest first: the work list).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExceptionFilter {
    pub store_id: Option<StoreId>,
    pub kind: Option<ExceptionKind>,
    /// Only exceptions raised before this (at least this old).
    pub raised_before: Option<OffsetDateTime>,
    /// Only exceptions after this `(raised_at, order_id)` in the listing's order: the last
    /// entry of a page, to read the next one (an order's exceptions raised at the same time
    /// as the last entry's are left out with it).
    pub after: Option<(OffsetDateTime, OrderId)>,
    /// At most this many (the store caps it at 500).
    pub limit: u32,
}

/// An open exception of an order, as the work list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionEntry {
    pub order_id: OrderId,
    pub store_id: StoreId,
    /// The order name the customer sees.
    pub order_number: String,
    pub kind: ExceptionKind,
    pub detail: String,
    pub suggested_action: SuggestedAction,
    pub raised_at: OffsetDateTime,
}

/// Where a parcel is: which order and store hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShipmentRef {
    pub order_id: OrderId,
    pub store_id: StoreId,
    pub shipment_id: ShipmentId,
}

/// Where the next page of [`Store::orders_placed_between`] starts: the placing time (as the
/// store keeps it) and id of the last order of the page before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlacedCursor {
    pub placed_at: OffsetDateTime,
    pub order_id: OrderId,
}

/// One page of [`Store::orders_placed_between`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlacedPage {
    pub orders: Vec<Order>,
    /// Where the next page starts: set when this page is full (the next may be empty).
    pub next: Option<PlacedCursor>,
}

/// Most orders one page of [`Store::orders_placed_between`] holds.
pub const PLACED_PAGE_MAX: u32 = 500;

/// One delivered parcel of a supplier × destination lane, for the lane's measured times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneSample {
    pub supplier_id: SupplierId,
    /// ISO 3166-1 alpha-2 of the destination.
    pub country: String,
    pub shipped_at: OffsetDateTime,
    pub delivered_at: OffsetDateTime,
}

/// Filters of the payout listing (newest first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PayoutFilter {
    pub store_id: Option<StoreId>,
    pub state: Option<dropline_domain::payout::PayoutState>,
    /// `id < before` (the next page).
    pub before: Option<dropline_domain::ids::PayoutId>,
    /// At most this many (the store caps it at 500).
    pub limit: u32,
}

/// What a store's payouts add up to, in minor units of the store's currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PayoutTotals {
    /// Created and not paid yet.
    pub pending_minor: i64,
    pub paid_minor: i64,
}

impl PayoutTotals {
    /// What counts against the vendor's balance: pending and paid (not cancelled).
    pub fn counted_minor(&self) -> i64 {
        self.pending_minor.saturating_add(self.paid_minor)
    }
}

/// Durable state: stores, catalogue, orders with their timeline and the outbox.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Adds a store. Conflict when the id or token hash exists.
    async fn insert_store(&self, record: StoreRecord) -> Result<(), StoreError>;
    /// Replaces a store's name, address and settings.
    async fn update_store(&self, store: Shop) -> Result<(), StoreError>;
    /// Replaces a store's platform connection (domain, credentials, webhook secrets).
    async fn update_store_connection(&self, id: StoreId, connection: StoreConnection) -> Result<(), StoreError>;
    /// Replaces the hash of a store's API token (the old token no longer finds the store);
    /// nothing else of the store changes. NotFound when the store does not exist, Conflict
    /// when another store has this hash.
    async fn replace_store_token_hash(&self, id: StoreId, token_hash: &str) -> Result<(), StoreError>;
    /// Whether a webhook delivery of the store was already handled.
    async fn delivery_seen(&self, store_id: StoreId, delivery_id: &str) -> Result<bool, StoreError>;
    async fn get_store(&self, id: StoreId) -> Result<Option<StoreRecord>, StoreError>;
    /// The store whose token hashes to `token_hash`.
    async fn store_by_token_hash(&self, token_hash: &str) -> Result<Option<StoreRecord>, StoreError>;
    async fn list_stores(&self) -> Result<Vec<StoreRecord>, StoreError>;

    async fn insert_supplier(&self, supplier: Supplier) -> Result<(), StoreError>;
    async fn get_supplier(&self, id: SupplierId) -> Result<Option<Supplier>, StoreError>;
    /// Replaces a supplier's name and settings (its id, store and kind never change).
    /// NotFound when it does not exist.
    async fn update_supplier(&self, supplier: Supplier) -> Result<(), StoreError>;
    async fn list_suppliers(&self, store_id: Option<StoreId>) -> Result<Vec<Supplier>, StoreError>;

    /// Adds a product with its variants. Conflict when a SKU already exists in the store.
    async fn insert_product(&self, product: Product) -> Result<(), StoreError>;
    async fn get_product(&self, id: dropline_domain::ids::ProductId) -> Result<Option<Product>, StoreError>;
    async fn list_products(&self, store_id: Option<StoreId>) -> Result<Vec<Product>, StoreError>;
    /// The store's variants with these SKUs (those that exist).
    async fn variants_by_sku(&self, store_id: StoreId, skus: &[String]) -> Result<Vec<Variant>, StoreError>;
    /// The store's variants with these storefront variant ids (those that exist).
    async fn variants_by_platform_id(&self, store_id: StoreId, ids: &[String]) -> Result<Vec<Variant>, StoreError>;
    /// Adds or updates products pulled from the storefront, in one transaction. A product
    /// is matched by `platform_product_id`, a variant by `platform_variant_id` (ids of the
    /// given values are used only for new rows); title, SKU and price are updated, nothing
    /// is deleted. Conflict when a SKU is taken by another variant of the store.
    async fn import_products(&self, store_id: StoreId, products: Vec<Product>) -> Result<CatalogImport, StoreError>;
    /// The store that owns a variant.
    async fn variant_store(&self, variant_id: VariantId) -> Result<Option<StoreId>, StoreError>;

    /// Adds an offer; `store_id` is the store of the offer's variant.
    async fn insert_offer(&self, store_id: StoreId, offer: Offer) -> Result<(), StoreError>;
    /// Replaces an offer (stock, cost, shipping, priority).
    async fn update_offer(&self, offer: Offer) -> Result<(), StoreError>;
    async fn offers_for_variants(&self, variant_ids: &[VariantId]) -> Result<Vec<Offer>, StoreError>;
    async fn list_offers(&self, store_id: Option<StoreId>) -> Result<Vec<Offer>, StoreError>;

    /// Writes a change set atomically (see [`ChangeSet`]). Implementations batch concurrent
    /// change sets into one transaction (group commit); a refused change set leaves no trace
    /// and does not affect the others of its batch.
    async fn commit(&self, changes: ChangeSet) -> Result<(), StoreError>;

    async fn get_order(&self, id: OrderId) -> Result<Option<Order>, StoreError>;
    async fn order_by_external_id(&self, store_id: StoreId, external_id: &str) -> Result<Option<Order>, StoreError>;
    /// The order a supplier order belongs to.
    async fn order_of_supplier_order(&self, id: SupplierOrderId) -> Result<Option<OrderId>, StoreError>;
    async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, StoreError>;
    /// Number of orders per state (all stores, or one).
    async fn count_orders_by_state(&self, store_id: Option<StoreId>) -> Result<Vec<(OrderState, u64)>, StoreError>;
    /// The order's timeline, oldest first.
    async fn timeline(&self, order_id: OrderId) -> Result<Vec<TimelineEvent>, StoreError>;
    async fn list_messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError>;
    async fn get_message(&self, id: MessageId) -> Result<Option<Message>, StoreError>;

    /// The order whose tracking page has this token.
    async fn order_by_tracking_token(&self, token: &str) -> Result<Option<Order>, StoreError>;
    /// The parcels with this tracking number (exact, as stored), in every store.
    async fn shipments_by_tracking_number(&self, tracking_number: &str) -> Result<Vec<ShipmentRef>, StoreError>;
    /// Open exceptions of orders (see [`ExceptionFilter`]).
    async fn list_exceptions(&self, filter: &ExceptionFilter) -> Result<Vec<ExceptionEntry>, StoreError>;
    /// Parcels of a store delivered since `since` (shipped and delivered times known), at
    /// most 10 000, newest first.
    async fn lane_samples(&self, store_id: StoreId, since: OffsetDateTime) -> Result<Vec<LaneSample>, StoreError>;
    /// A page of a store's orders placed in `[from, to)`, oldest placed first (by
    /// `placed_at`, then id), those after `after`; at most `limit` (0 or more than
    /// [`PLACED_PAGE_MAX`] mean [`PLACED_PAGE_MAX`]). Read through the placing-time index of
    /// the orders' facts, so a page costs the same however many orders the store has.
    async fn orders_placed_between(
        &self,
        store_id: StoreId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<PlacedCursor>,
        limit: u32,
    ) -> Result<PlacedPage, StoreError>;
    /// The sums of the [`OrderFacts`](crate::metrics::OrderFacts) of the orders placed in
    /// `[from, to)` (all stores, or one), per UTC day of `placed_at` and currency, by day
    /// then currency code; days without orders are left out. `from` and `to` count as the
    /// start of their UTC day. The facts are written with every order write, in its
    /// transaction, and summed per day as they are written, so reading a day costs the same
    /// whatever its number of orders.
    async fn daily_metrics(
        &self,
        store_id: Option<StoreId>,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<crate::metrics::DailyMetrics>, StoreError>;
    /// How many orders (all stores, or one) have at least one open exception.
    async fn count_orders_with_open_exceptions(&self, store_id: Option<StoreId>) -> Result<u64, StoreError>;

    /// A page of a store's delivered orders (the whole order delivered, see
    /// [`OrderFacts::delivered_at`](crate::metrics::OrderFacts)), by id, those after `after`;
    /// at most `limit` (capped at 1000). A vendor's earnings are derived from these.
    async fn delivered_orders(
        &self,
        store_id: StoreId,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError>;
    /// Adds a payout, only if the store's payouts that count (pending and paid) still add up
    /// to `counted_minor`, the sum its balance was computed with: Conflict otherwise (another
    /// payout was made or cancelled meanwhile), and nothing is written. So two payouts made
    /// at once never both take the same available money.
    async fn insert_payout(
        &self,
        payout: dropline_domain::payout::Payout,
        counted_minor: i64,
    ) -> Result<(), StoreError>;
    /// Replaces a payout's state, closing time and reference, only if its stored state is
    /// still `from`: Conflict otherwise; NotFound when it does not exist.
    async fn update_payout(
        &self,
        payout: dropline_domain::payout::Payout,
        from: dropline_domain::payout::PayoutState,
    ) -> Result<(), StoreError>;
    async fn get_payout(
        &self,
        id: dropline_domain::ids::PayoutId,
    ) -> Result<Option<dropline_domain::payout::Payout>, StoreError>;
    async fn list_payouts(&self, filter: &PayoutFilter) -> Result<Vec<dropline_domain::payout::Payout>, StoreError>;
    /// The sums of a store's payouts by state.
    async fn payout_totals(&self, store_id: StoreId) -> Result<PayoutTotals, StoreError>;

    /// Adds a row of the operator's exchange-rate table (rows are never changed: a new rate
    /// is a new row).
    async fn insert_exchange_rate(&self, rate: dropline_domain::ledger::ExchangeRate) -> Result<(), StoreError>;
    /// The rate from `from` to `to` in effect on `on`: the row with the newest effective
    /// date not after `on`, on the same date the one set last.
    async fn exchange_rate(
        &self,
        from: dropline_domain::money::Currency,
        to: dropline_domain::money::Currency,
        on: time::Date,
    ) -> Result<Option<dropline_domain::ledger::ExchangeRate>, StoreError>;
    /// The table, by pair (from, to), then newest effective date and newest set first; at
    /// most 1000 rows.
    async fn list_exchange_rates(&self) -> Result<Vec<dropline_domain::ledger::ExchangeRate>, StoreError>;

    /// Units accepted orders hold per variant (variants no order holds are left out).
    async fn reserved_units(&self, variant_ids: &[VariantId]) -> Result<Vec<(VariantId, u32)>, StoreError>;
    /// A supplier's offers in id order after `after`, at most `limit`.
    async fn offers_of_supplier(
        &self,
        supplier_id: SupplierId,
        after: Option<OfferId>,
        limit: u32,
    ) -> Result<Vec<Offer>, StoreError>;
    /// Applies supplier readings to their offers in one transaction: the stock, and the cost
    /// when given. A cost that differs from the offer's adds a point to the cost history.
    /// Readings of offers that are gone are skipped.
    async fn apply_offer_readings(
        &self,
        readings: &[dropline_domain::inventory::OfferReading],
    ) -> Result<(), StoreError>;
    /// An offer's cost history, newest first, at most `limit` points.
    async fn cost_history(
        &self,
        offer_id: OfferId,
        limit: u32,
    ) -> Result<Vec<dropline_domain::inventory::CostPoint>, StoreError>;
    /// What was last written to the storefront for these variants.
    async fn listings(&self, variant_ids: &[VariantId])
    -> Result<Vec<dropline_domain::inventory::Listing>, StoreError>;
    /// Records what was written (insert or replace per variant).
    async fn save_listings(&self, listings: &[dropline_domain::inventory::Listing]) -> Result<(), StoreError>;
    /// Sets a variant's selling price in the catalogue and records the price change (or
    /// records a pending one without touching the price). Pending changes of the same
    /// variant made before it become superseded.
    async fn record_price_change(&self, change: &dropline_domain::inventory::PriceChange) -> Result<(), StoreError>;
    /// Moves a pending price change to `change.status` (applied: the variant takes the new
    /// price). NotFound when it is gone; Conflict when it is no longer pending.
    async fn decide_price_change(&self, change: &dropline_domain::inventory::PriceChange) -> Result<(), StoreError>;
    async fn get_price_change(
        &self,
        id: dropline_domain::ids::PriceChangeId,
    ) -> Result<Option<dropline_domain::inventory::PriceChange>, StoreError>;
    /// A store's price changes (all stores: `None`), newest first, of one status or all, at
    /// most `limit`.
    async fn list_price_changes(
        &self,
        store_id: Option<StoreId>,
        status: Option<dropline_domain::inventory::PriceChangeStatus>,
        limit: u32,
    ) -> Result<Vec<dropline_domain::inventory::PriceChange>, StoreError>;
    async fn insert_sync_problem(&self, problem: &dropline_domain::inventory::SyncProblem) -> Result<(), StoreError>;
    /// A store's sync problems (all stores: `None`), newest first; open ones only or all.
    async fn list_sync_problems(
        &self,
        store_id: Option<StoreId>,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<dropline_domain::inventory::SyncProblem>, StoreError>;
    /// Marks a problem resolved; false when it is gone or already resolved.
    async fn resolve_sync_problem(
        &self,
        id: dropline_domain::ids::SyncProblemId,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Adds a dashboard user. Conflict when the id or the email (stored lower-cased, see
    /// [`Email`]) exists; NotFound when the user's store does not exist.
    async fn insert_user(&self, user: User) -> Result<(), StoreError>;
    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// The user with this email (exact match of the normalised address).
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    /// Users of one store, or of every store and the operators with `None`; oldest first.
    async fn list_users(&self, store_id: Option<StoreId>) -> Result<Vec<User>, StoreError>;
    /// Replaces a user's name, role, store, password hash and disabled flag (the id, email
    /// and creation time stay). NotFound when the user does not exist.
    async fn update_user(&self, user: User) -> Result<(), StoreError>;
    /// Adds a session. Conflict when its token hash exists; NotFound when its user does not.
    async fn insert_session(&self, session: Session) -> Result<(), StoreError>;
    /// The session whose token hashes to `token_hash`, expired or not (the caller decides).
    async fn session_by_token_hash(&self, token_hash: &str) -> Result<Option<Session>, StoreError>;
    /// Records that a session was used at `seen_at` and moves its expiry to `expires_at`.
    /// Nothing happens when the session is gone (signed out meanwhile).
    async fn touch_session(
        &self,
        token_hash: &str,
        seen_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Ends a session; ending one that does not exist is not an error.
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;
    /// Ends every session of a user (password changed, user disabled); returns how many.
    async fn delete_user_sessions(&self, user_id: UserId) -> Result<u64, StoreError>;
    /// Deletes the sessions expired at `now` (`expires_at <= now`); returns how many.
    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Durable background work. Jobs are added by [`Store::commit`] and finished by it too, so
/// a job's effects and its completion land together.
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Claims up to `limit` due jobs (run_after <= now, no live lease) for `lease`, so that
    /// no other worker runs them meanwhile.
    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease: time::Duration,
        now: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError>;
    /// Extends the lease of a job `worker` holds until `until` (a long job renews it as it
    /// runs, so no other worker takes it meanwhile); false when the lease is no longer the
    /// worker's (it ran out and another worker claimed the job, or the job is gone).
    async fn extend_lease(&self, id: JobId, worker: &str, until: OffsetDateTime) -> Result<bool, StoreError>;
    /// Releases a claimed job to run again after `run_after`, counting the attempt.
    async fn retry_job(&self, id: JobId, error: &str, run_after: OffsetDateTime) -> Result<(), StoreError>;
    /// Gives a job up: kept for inspection, never claimed again.
    async fn bury_job(&self, id: JobId, error: &str) -> Result<(), StoreError>;
    /// Jobs waiting or leased (not buried).
    async fn count_pending_jobs(&self) -> Result<u64, StoreError>;
    /// Buried jobs, newest first.
    async fn list_buried_jobs(&self, limit: u32) -> Result<Vec<Job>, StoreError>;
}

/// A database backend: one value that is both the [`Store`] and the [`JobQueue`].
pub trait Backend: Store + JobQueue {}

impl<T: Store + JobQueue> Backend for T {}
