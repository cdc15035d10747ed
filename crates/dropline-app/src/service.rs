//! [`App`]: the use cases. Every change loads the aggregate, moves it through its state
//! machine with a journal, and commits the new state, its timeline entries and the jobs and
//! messages it causes as ONE change set.

use crate::catalog_cache::{CatalogCache, StoreContext};
use crate::error::{AppError, FieldError};
use crate::jobs::{self, JobKind};
use crate::placement::PlacementConfig;
use crate::ports::{
    Backend, ChangeSet, DeliveryRecord, Message, MessageFilter, OrderFilter, OrderWrite, StoreError, StoreRecord,
};
use crate::scope::Scope;
use crate::storefront::{StorefrontClient, WebhookFormat};
use crate::supplier::SupplierClient;
use crate::token;
use dropline_domain::address::Address;
use dropline_domain::catalog::{
    Offer, OfferPriority, Platform, Product, ShippingMethod, Store as Shop, StoreConnection, StoreSettings, Supplier,
    SupplierKind, Variant,
};
use dropline_domain::ids::{OfferId, OrderId, ProductId, ShipmentId, StoreId, SupplierId, SupplierOrderId, VariantId};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{IncomingLine, IncomingOrder, Order, SupplierOrder, SupplierOrderLine};
use dropline_domain::routing::{RoutingContext, route_order};
use dropline_domain::state::{
    HoldReason, OrderEvent, OrderState, PaymentState, ShipmentState, SupplierOrderState, cancellation_event,
};
use dropline_domain::timeline::{Actor, Journal, TimelineEvent};
use dropline_domain::validation::{Finding, Severity, validate_address};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::broadcast;

/// How often a change is retried when another writer changed the same order meanwhile.
pub(crate) const CONFLICT_RETRIES: usize = 5;

/// The longest webhook secret taken (a Wix public key in PEM is well under it).
pub const MAX_WEBHOOK_SECRET_CHARS: usize = 8192;

/// Something the engine finished, for observers (the benchmark, tests, later the dashboard).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppEvent {
    /// The order's supplier orders were created (or it went on hold instead).
    OrderRouted { order_id: OrderId, held: bool },
}

/// A new store.
#[derive(Clone, Debug)]
pub struct NewStore {
    pub name: String,
    pub platform: Platform,
    pub currency: Currency,
    pub address: Option<Address>,
    pub settings: StoreSettings,
    /// Platform connection: domain, credentials, webhook secrets.
    pub connection: StoreConnection,
}

/// A new supplier of a store.
#[derive(Clone, Debug)]
pub struct NewSupplier {
    pub store_id: StoreId,
    pub name: String,
    pub kind: SupplierKind,
    pub ships_from: Option<String>,
    pub processing_days: u32,
    pub rating: u32,
    /// Days after acceptance within which the supplier must give tracking.
    pub processing_deadline_days: Option<u32>,
    /// How dropline reaches the supplier's API.
    pub connection: dropline_domain::catalog::SupplierConnection,
    /// An agent's column layout for the spreadsheet of orders (agents only).
    pub agent_layout: Option<String>,
    /// What the supplier takes back and credits.
    pub return_policy: dropline_domain::catalog::ReturnPolicy,
}

/// A new product with its variants.
#[derive(Clone, Debug)]
pub struct NewProduct {
    pub store_id: StoreId,
    pub title: String,
    pub variants: Vec<NewVariant>,
}

/// A variant of a [`NewProduct`].
#[derive(Clone, Debug)]
pub struct NewVariant {
    pub sku: String,
    pub title: String,
    pub price: Money,
    /// The storefront's id of the variant (orders map to it before the SKU).
    pub platform_variant_id: Option<String>,
}

/// A new offer: a store variant mapped to a supplier variant.
#[derive(Clone, Debug)]
pub struct NewOffer {
    pub variant_id: VariantId,
    pub supplier_id: SupplierId,
    pub supplier_sku: String,
    pub supplier_product_id: Option<String>,
    pub supplier_variant_id: Option<String>,
    pub product_url: Option<String>,
    pub unit_cost: Money,
    pub stock: Option<u32>,
    pub shipping: Vec<ShippingMethod>,
    pub priority: OfferPriority,
    /// Supplier units per store unit (a bundle); 1 for a plain mapping.
    pub units: u32,
}

/// What to change of an offer; a field left `None` keeps its value. Its variant and
/// supplier never change (a different mapping is a new offer).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfferChanges {
    pub supplier_sku: Option<String>,
    pub supplier_product_id: Option<Option<String>>,
    pub supplier_variant_id: Option<Option<String>>,
    pub product_url: Option<Option<String>>,
    pub unit_cost: Option<Money>,
    /// `Some(None)`: the stock becomes unknown.
    pub stock: Option<Option<u32>>,
    pub shipping: Option<Vec<ShippingMethod>>,
    /// `Primary` also makes the variant's other primary offers backups, so that this
    /// offer is the one routing tries first.
    pub priority: Option<OfferPriority>,
}

/// A supplier's plain settings, as a person edits them (its kind, store and credentials
/// are not among them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupplierSettings {
    pub name: String,
    pub ships_from: Option<String>,
    pub processing_days: u32,
    pub rating: u32,
    pub processing_deadline_days: Option<u32>,
    /// Agents only.
    pub agent_layout: Option<String>,
    /// What the supplier takes back and credits.
    pub return_policy: dropline_domain::catalog::ReturnPolicy,
}

/// What ingesting an order did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestOutcome {
    pub order_id: OrderId,
    /// A new order was created.
    pub created: bool,
    /// An existing order changed (a changed resend).
    pub changed: bool,
    pub state: OrderState,
    /// The store's rules accepted the order and it was routed in the same transaction.
    pub routed: bool,
}

/// A seller's decision on an order in review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Reject,
}

/// The outcome of one order of a bulk action.
#[derive(Clone, Debug)]
pub struct BulkOutcome {
    pub order_id: OrderId,
    pub result: Result<OrderState, AppError>,
}

/// An action on a parcel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParcelAction {
    /// Handed to the carrier: in transit.
    Shipped,
    Delivered,
    /// The carrier could not deliver.
    Failed,
}

/// The use cases, over one backend.
#[derive(Clone)]
pub struct App {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) events: broadcast::Sender<AppEvent>,
    pub(crate) catalog: Arc<CatalogCache>,
    /// The webhook formats of the storefront platforms dropline receives from.
    pub(crate) webhook_formats: Arc<Vec<Arc<dyn WebhookFormat>>>,
    /// Calls to storefront platforms (write-back, catalogue pull); `None`: not connected.
    pub(crate) storefronts: Option<Arc<dyn StorefrontClient>>,
    /// Calls to suppliers' APIs (placement); `None`: every supplier is followed by hand.
    pub(crate) suppliers: Option<Arc<dyn SupplierClient>>,
    pub(crate) breakers: Arc<crate::placement::Breakers>,
    pub(crate) placement: Arc<PlacementConfig>,
    /// The spreadsheet format of sourcing agents; `None`: agents are not served.
    pub(crate) agent_sheets: Option<Arc<dyn crate::agent::AgentSheets>>,
    /// Where the engine reads the time.
    pub(crate) clock: Arc<dyn Fn() -> OffsetDateTime + Send + Sync>,
    /// Sends the outbox's emails; `None`: messages stay queued in the outbox.
    pub(crate) mailer: Option<Arc<dyn crate::mail::Mailer>>,
    pub(crate) notify: Arc<crate::notify::NotifyConfig>,
    /// A parcel-tracking service; `None`: parcels are followed through their suppliers.
    pub(crate) tracking: Option<Arc<dyn crate::tracking::TrackingSource>>,
    pub(crate) follow: Arc<crate::follow::FollowConfig>,
}

impl App {
    /// The use cases over `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        let (events, _) = broadcast::channel(4096);
        Self {
            backend,
            events,
            catalog: Arc::new(CatalogCache::default()),
            webhook_formats: Arc::new(Vec::new()),
            storefronts: None,
            suppliers: None,
            breakers: Arc::new(crate::placement::Breakers::default()),
            placement: Arc::new(PlacementConfig::default()),
            agent_sheets: None,
            clock: Arc::new(OffsetDateTime::now_utc),
            mailer: None,
            notify: Arc::new(crate::notify::NotifyConfig::default()),
            tracking: None,
            follow: Arc::new(crate::follow::FollowConfig::default()),
        }
    }

    /// Sends the outbox's emails through this mailer.
    pub fn with_mailer(mut self, mailer: Arc<dyn crate::mail::Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// The tracking-page address, retries and backoff of the outbox.
    pub fn with_notify_config(mut self, config: crate::notify::NotifyConfig) -> Self {
        self.notify = Arc::new(config);
        self
    }

    /// Follows parcels through this tracking service (besides their suppliers).
    pub fn with_tracking_source(mut self, source: Arc<dyn crate::tracking::TrackingSource>) -> Self {
        self.tracking = Some(source);
        self
    }

    /// How often parcels are looked at, by state.
    pub fn with_follow_config(mut self, config: crate::follow::FollowConfig) -> Self {
        self.follow = Arc::new(config);
        self
    }

    /// Places supplier orders through this client.
    pub fn with_suppliers(mut self, client: Arc<dyn SupplierClient>) -> Self {
        self.suppliers = Some(client);
        self
    }

    /// Retries, circuit breaker and polling of placement.
    pub fn with_placement_config(mut self, config: PlacementConfig) -> Self {
        self.placement = Arc::new(config);
        self
    }

    /// Receives webhooks in these platform formats.
    pub fn with_webhook_formats(mut self, formats: Vec<Arc<dyn WebhookFormat>>) -> Self {
        self.webhook_formats = Arc::new(formats);
        self
    }

    /// Calls storefront platforms through this client.
    pub fn with_storefronts(mut self, client: Arc<dyn StorefrontClient>) -> Self {
        self.storefronts = Some(client);
        self
    }

    /// The backend, for the worker and for read-only listings.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Events of finished engine steps.
    pub fn subscribe(&self) -> broadcast::Receiver<AppEvent> {
        self.events.subscribe()
    }

    /// The engine's time: UTC now, unless a clock was given ([`Self::with_clock`]).
    pub fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    /// Reads the time from `clock` (tests move it forward to reach deadlines).
    pub fn with_clock(mut self, clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    // -----------------------------------------------------------------------------------------
    // Stores
    // -----------------------------------------------------------------------------------------

    /// Creates a store and its API token. Only the operator creates stores. The token is
    /// returned once and only its hash is kept.
    pub async fn create_store(&self, scope: Scope, new: NewStore) -> Result<(StoreRecord, String), AppError> {
        if scope != Scope::Operator {
            return Err(AppError::NotFound("store"));
        }
        let mut errors = Vec::new();
        check_text(&mut errors, "name", &new.name, 200);
        if let Some(address) = &new.address {
            push_address_errors(&mut errors, "address", address);
        }
        check_settings(&mut errors, &new.settings);
        errors.extend(crate::connected::check_connection(&new.connection));
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let token = token::new_token();
        let record = StoreRecord {
            store: Shop {
                id: StoreId::new(),
                name: new.name.trim().to_string(),
                platform: new.platform,
                currency: new.currency,
                address: new.address,
                settings: new.settings,
            },
            token_hash: token::hash_token(&token),
            connection: new.connection,
            created_at: self.now(),
        };
        self.backend.insert_store(record.clone()).await?;
        Ok((record, token))
    }

    /// The store a token belongs to.
    pub async fn authenticate_store_token(&self, token: &str) -> Result<Option<StoreId>, AppError> {
        let found = self.backend.store_by_token_hash(&token::hash_token(token)).await?;
        Ok(found.map(|record| record.store.id))
    }

    /// A store the caller may see.
    pub async fn get_store(&self, scope: Scope, id: StoreId) -> Result<StoreRecord, AppError> {
        match self.backend.get_store(id).await? {
            Some(record) if scope.allows(id) => Ok(record),
            _ => Err(AppError::NotFound("store")),
        }
    }

    /// The stores the caller may see.
    pub async fn list_stores(&self, scope: Scope) -> Result<Vec<StoreRecord>, AppError> {
        let mut stores = self.backend.list_stores().await?;
        stores.retain(|record| scope.allows(record.store.id));
        Ok(stores)
    }

    /// Replaces a store's settings and (optionally) its address.
    pub async fn update_store_settings(
        &self,
        scope: Scope,
        id: StoreId,
        settings: StoreSettings,
        address: Option<Address>,
    ) -> Result<StoreRecord, AppError> {
        let mut record = self.get_store(scope, id).await?;
        let mut errors = Vec::new();
        check_settings(&mut errors, &settings);
        if scope != Scope::Operator && settings.holding_days != record.store.settings.holding_days {
            errors.push(FieldError::new(
                "settings.holding_days",
                crate::store_settings::HOLDING_DAYS_OPERATOR_ONLY,
            ));
        }
        if let Some(address) = &address {
            push_address_errors(&mut errors, "address", address);
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        // Stock sync and pricing are set through their own calls and kept here.
        let mut settings = settings;
        settings.inventory = record.store.settings.inventory.clone();
        settings.pricing = record.store.settings.pricing.clone();
        record.store.settings = settings;
        if address.is_some() {
            record.store.address = address;
        }
        self.backend.update_store(record.store.clone()).await?;
        self.catalog.forget_store(id);
        Ok(record)
    }

    /// Makes a new random webhook secret for a store whose platform signs its webhooks with a
    /// secret the seller types in (Shopify's and WooCommerce's HMAC key) and makes it the
    /// current one. The previous one stays second, still verifying, until it is retired
    /// ([`Self::retire_webhook_secret`]), so no delivery is refused while the platform
    /// switches. The secret is in this answer only: it is never shown again.
    pub async fn rotate_webhook_secret(&self, scope: Scope, id: StoreId) -> Result<(StoreRecord, String), AppError> {
        let record = self.get_store(scope, id).await?;
        if !matches!(record.store.platform, Platform::Shopify | Platform::Woocommerce) {
            let reason = match record.store.platform {
                Platform::Wix => "Wix signs its webhooks with its own key: paste the app's public key instead",
                _ => "this store's platform sends no webhooks",
            };
            return Err(AppError::invalid("webhook_secret", reason));
        }
        let secret = crate::accounts::random_token();
        let record = self.put_webhook_secret_first(scope, record, secret.clone()).await?;
        Ok((record, secret))
    }

    /// Makes the secret the platform gave (Shopify's app secret, WooCommerce's webhook
    /// secret, Wix's public key) the current one, trimmed; the previous one stays second
    /// until it is retired, as with [`Self::rotate_webhook_secret`].
    pub async fn set_webhook_secret(&self, scope: Scope, id: StoreId, secret: &str) -> Result<StoreRecord, AppError> {
        let record = self.get_store(scope, id).await?;
        if !crate::connected::is_connected_platform(record.store.platform) {
            return Err(AppError::invalid(
                "webhook_secret",
                "this store's platform sends no webhooks",
            ));
        }
        let secret = secret.trim();
        if secret.chars().count() > MAX_WEBHOOK_SECRET_CHARS {
            return Err(AppError::invalid(
                "webhook_secret",
                format!("must be at most {MAX_WEBHOOK_SECRET_CHARS} characters"),
            ));
        }
        self.put_webhook_secret_first(scope, record, secret.to_string()).await
    }

    /// Keeps only the newest webhook secret, once the platform signs with it: deliveries
    /// signed with the older one are refused from then on. With one secret or none, nothing
    /// changes.
    pub async fn retire_webhook_secret(&self, scope: Scope, id: StoreId) -> Result<StoreRecord, AppError> {
        let record = self.get_store(scope, id).await?;
        if record.connection.webhook_secrets.len() <= 1 {
            return Ok(record);
        }
        let mut connection = record.connection;
        connection.webhook_secrets.truncate(1);
        self.update_store_connection(scope, id, connection).await
    }

    /// `secret` first, the current first one second (unless it is the same), older ones
    /// dropped.
    async fn put_webhook_secret_first(
        &self,
        scope: Scope,
        record: StoreRecord,
        secret: String,
    ) -> Result<StoreRecord, AppError> {
        let mut connection = record.connection;
        let previous = connection.webhook_secrets.first().filter(|s| **s != secret).cloned();
        connection.webhook_secrets = std::iter::once(secret).chain(previous).collect();
        self.update_store_connection(scope, record.store.id, connection).await
    }

    /// Gives the store a new API token and returns it (once: only its hash is kept). The
    /// old token is refused from the next request on.
    pub async fn rotate_store_token(&self, scope: Scope, id: StoreId) -> Result<String, AppError> {
        self.get_store(scope, id).await?;
        let token = token::new_token();
        self.backend
            .replace_store_token_hash(id, &token::hash_token(&token))
            .await?;
        Ok(token)
    }

    // -----------------------------------------------------------------------------------------
    // Suppliers and catalogue
    // -----------------------------------------------------------------------------------------

    /// Adds a supplier to a store.
    pub async fn create_supplier(&self, scope: Scope, new: NewSupplier) -> Result<Supplier, AppError> {
        self.get_store(scope, new.store_id)
            .await
            .map_err(|_| AppError::invalid("store_id", "no such store"))?;
        let mut errors = Vec::new();
        let settings = SupplierSettings {
            name: new.name.clone(),
            ships_from: new.ships_from.clone(),
            processing_days: new.processing_days,
            rating: new.rating,
            processing_deadline_days: new.processing_deadline_days,
            agent_layout: new.agent_layout.clone(),
            return_policy: new.return_policy.clone(),
        };
        self.check_supplier_settings(&mut errors, new.kind, &settings);
        check_supplier_connection(&mut errors, "connection", &new.connection);
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let supplier = Supplier {
            last_stock_sync: None,
            id: SupplierId::new(),
            store_id: new.store_id,
            name: new.name.trim().to_string(),
            kind: new.kind,
            ships_from: new.ships_from.map(|c| c.to_ascii_uppercase()),
            processing_days: new.processing_days,
            rating: new.rating,
            processing_deadline_days: new.processing_deadline_days,
            connection: new.connection.clone(),
            last_reconciliation: None,
            agent_layout: new.agent_layout.clone(),
            return_policy: settings.return_policy,
        };
        self.backend.insert_supplier(supplier.clone()).await?;
        self.catalog.forget_store(supplier.store_id);
        Ok(supplier)
    }

    /// Replaces how dropline reaches a supplier's API (credentials, address).
    pub async fn update_supplier_connection(
        &self,
        scope: Scope,
        id: SupplierId,
        connection: dropline_domain::catalog::SupplierConnection,
    ) -> Result<Supplier, AppError> {
        let mut supplier = self.get_supplier(scope, id).await?;
        let mut errors = Vec::new();
        check_supplier_connection(&mut errors, "", &connection);
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        supplier.connection = connection;
        self.backend.update_supplier(supplier.clone()).await?;
        self.catalog.forget_store(supplier.store_id);
        Ok(supplier)
    }

    /// Replaces what a supplier takes back and credits (its return policy).
    pub async fn update_supplier_return_policy(
        &self,
        scope: Scope,
        id: SupplierId,
        policy: dropline_domain::catalog::ReturnPolicy,
    ) -> Result<Supplier, AppError> {
        let mut supplier = self.get_supplier(scope, id).await?;
        let mut errors = Vec::new();
        check_return_policy(&mut errors, "", &policy);
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        supplier.return_policy = policy;
        self.backend.update_supplier(supplier.clone()).await?;
        self.catalog.forget_store(supplier.store_id);
        Ok(supplier)
    }

    /// A supplier the caller may see.
    pub async fn get_supplier(&self, scope: Scope, id: SupplierId) -> Result<Supplier, AppError> {
        match self.backend.get_supplier(id).await? {
            Some(supplier) if scope.allows(supplier.store_id) => Ok(supplier),
            _ => Err(AppError::NotFound("supplier")),
        }
    }

    /// The suppliers the caller may see.
    pub async fn list_suppliers(&self, scope: Scope, store_id: Option<StoreId>) -> Result<Vec<Supplier>, AppError> {
        Ok(self.backend.list_suppliers(scope.store_filter(store_id)).await?)
    }

    /// Adds a product with its variants.
    pub async fn create_product(&self, scope: Scope, new: NewProduct) -> Result<Product, AppError> {
        let store = self
            .get_store(scope, new.store_id)
            .await
            .map_err(|_| AppError::invalid("store_id", "no such store"))?
            .store;
        let mut errors = Vec::new();
        check_text(&mut errors, "title", &new.title, 500);
        if new.variants.is_empty() {
            errors.push(FieldError::new("variants", "a product needs at least one variant"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, variant) in new.variants.iter().enumerate() {
            check_text(&mut errors, &format!("variants[{i}].sku"), &variant.sku, 100);
            check_text(&mut errors, &format!("variants[{i}].title"), &variant.title, 500);
            if !seen.insert(variant.sku.trim().to_string()) {
                errors.push(FieldError::new(
                    format!("variants[{i}].sku"),
                    "appears twice in this product",
                ));
            }
            if variant.price.minor < 0 {
                errors.push(FieldError::new(format!("variants[{i}].price"), "must not be negative"));
            }
            if let Some(id) = &variant.platform_variant_id {
                check_text(&mut errors, &format!("variants[{i}].platform_variant_id"), id, 100);
            }
            if variant.price.currency != store.currency {
                errors.push(FieldError::new(
                    format!("variants[{i}].price.currency"),
                    format!("must be the store currency {}", store.currency),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let product_id = ProductId::new();
        let product = Product {
            collections: Vec::new(),
            id: product_id,
            store_id: new.store_id,
            title: new.title.trim().to_string(),
            variants: new
                .variants
                .into_iter()
                .map(|v| Variant {
                    id: VariantId::new(),
                    product_id,
                    sku: v.sku.trim().to_string(),
                    title: v.title.trim().to_string(),
                    price: v.price,
                    platform_variant_id: v.platform_variant_id.map(|id| id.trim().to_string()),
                })
                .collect(),
            platform_product_id: None,
        };
        self.backend
            .insert_product(product.clone())
            .await
            .map_err(|err| match err {
                StoreError::Conflict(_) => {
                    AppError::invalid("variants.sku", "a variant with this SKU exists in the store")
                }
                other => other.into(),
            })?;
        self.catalog.forget_store(product.store_id);
        Ok(product)
    }

    /// A product the caller may see.
    pub async fn get_product(&self, scope: Scope, id: ProductId) -> Result<Product, AppError> {
        match self.backend.get_product(id).await? {
            Some(product) if scope.allows(product.store_id) => Ok(product),
            _ => Err(AppError::NotFound("product")),
        }
    }

    /// The products the caller may see.
    pub async fn list_products(&self, scope: Scope, store_id: Option<StoreId>) -> Result<Vec<Product>, AppError> {
        Ok(self.backend.list_products(scope.store_filter(store_id)).await?)
    }

    /// Maps a store variant to a supplier variant.
    pub async fn add_offer(&self, scope: Scope, new: NewOffer) -> Result<Offer, AppError> {
        let store_id = match self.backend.variant_store(new.variant_id).await? {
            Some(store_id) if scope.allows(store_id) => store_id,
            _ => return Err(AppError::invalid("variant_id", "no such variant")),
        };
        match self.backend.get_supplier(new.supplier_id).await? {
            Some(supplier) if supplier.store_id == store_id => {}
            _ => {
                return Err(AppError::invalid(
                    "supplier_id",
                    "no such supplier in the variant's store",
                ));
            }
        }
        let mut errors = Vec::new();
        check_offer_terms(
            &mut errors,
            &new.supplier_sku,
            new.product_url.as_deref(),
            new.unit_cost,
            &new.shipping,
        );
        if !(1..=dropline_domain::mapping::MAX_UNITS).contains(&new.units) {
            errors.push(FieldError::new(
                "units",
                format!("must be 1 to {}", dropline_domain::mapping::MAX_UNITS),
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let offer = Offer {
            units: new.units,
            id: OfferId::new(),
            variant_id: new.variant_id,
            supplier_id: new.supplier_id,
            supplier_sku: new.supplier_sku.trim().to_string(),
            supplier_product_id: new.supplier_product_id,
            supplier_variant_id: new.supplier_variant_id,
            product_url: new.product_url,
            unit_cost: new.unit_cost,
            stock: new.stock,
            shipping: new
                .shipping
                .into_iter()
                .map(|m| ShippingMethod {
                    country: m.country.to_ascii_uppercase(),
                    ..m
                })
                .collect(),
            priority: new.priority,
        };
        self.backend.insert_offer(store_id, offer.clone()).await?;
        self.catalog.forget_store(store_id);
        Ok(offer)
    }

    /// The offers the caller may see.
    pub async fn list_offers(&self, scope: Scope, store_id: Option<StoreId>) -> Result<Vec<Offer>, AppError> {
        Ok(self.backend.list_offers(scope.store_filter(store_id)).await?)
    }

    /// A variant the caller may see, with its product.
    pub async fn get_variant(&self, scope: Scope, id: VariantId) -> Result<(Product, Variant), AppError> {
        let store_id = match self.backend.variant_store(id).await? {
            Some(store_id) if scope.allows(store_id) => store_id,
            _ => return Err(AppError::NotFound("variant")),
        };
        self.backend
            .list_products(Some(store_id))
            .await?
            .into_iter()
            .find_map(|product| {
                let variant = product.variants.iter().find(|v| v.id == id).cloned()?;
                Some((product, variant))
            })
            .ok_or(AppError::NotFound("variant"))
    }

    /// An offer the caller may see.
    pub async fn get_offer(&self, scope: Scope, id: OfferId) -> Result<Offer, AppError> {
        // There is no read of one offer by id: the caller's offers are few enough to scan.
        self.backend
            .list_offers(scope.store_filter(None))
            .await?
            .into_iter()
            .find(|offer| offer.id == id)
            .ok_or(AppError::NotFound("offer"))
    }

    /// Changes an offer's terms (see [`OfferChanges`]). Making it primary demotes the
    /// variant's other primary offers to backups. Another store's offer is not found; bad
    /// terms are refused naming the field, and nothing is written.
    pub async fn update_offer(&self, scope: Scope, id: OfferId, changes: OfferChanges) -> Result<Offer, AppError> {
        let mut offer = self.get_offer(scope, id).await?;
        let store_id = match self.backend.variant_store(offer.variant_id).await? {
            Some(store_id) if scope.allows(store_id) => store_id,
            _ => return Err(AppError::NotFound("offer")),
        };
        if let Some(sku) = changes.supplier_sku {
            offer.supplier_sku = sku;
        }
        if let Some(product_id) = changes.supplier_product_id {
            offer.supplier_product_id = product_id;
        }
        if let Some(variant_id) = changes.supplier_variant_id {
            offer.supplier_variant_id = variant_id;
        }
        if let Some(url) = changes.product_url {
            offer.product_url = url;
        }
        if let Some(cost) = changes.unit_cost {
            offer.unit_cost = cost;
        }
        if let Some(stock) = changes.stock {
            offer.stock = stock;
        }
        if let Some(shipping) = changes.shipping {
            offer.shipping = shipping;
        }
        if let Some(priority) = changes.priority {
            offer.priority = priority;
        }
        let mut errors = Vec::new();
        check_offer_terms(
            &mut errors,
            &offer.supplier_sku,
            offer.product_url.as_deref(),
            offer.unit_cost,
            &offer.shipping,
        );
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        offer.supplier_sku = offer.supplier_sku.trim().to_string();
        for method in &mut offer.shipping {
            method.country = method.country.to_ascii_uppercase();
        }
        let demote_others = changes.priority == Some(OfferPriority::Primary);
        let written = self.write_offer(&offer, demote_others).await;
        // Dropped even after a partial failure: the cache must not outlive what was written.
        self.catalog.forget_store(store_id);
        written?;
        Ok(offer)
    }

    async fn write_offer(&self, offer: &Offer, demote_others: bool) -> Result<(), AppError> {
        self.backend
            .update_offer(offer.clone())
            .await
            .map_err(|err| match err {
                StoreError::NotFound(_) => AppError::NotFound("offer"),
                other => other.into(),
            })?;
        if demote_others {
            // The new primary is written first, so a failure here leaves two primaries
            // (routing then breaks the tie by cost) rather than none.
            for mut other in self.backend.offers_for_variants(&[offer.variant_id]).await? {
                if other.id != offer.id && other.priority == OfferPriority::Primary {
                    other.priority = OfferPriority::Backup;
                    self.backend.update_offer(other).await?;
                }
            }
        }
        Ok(())
    }

    /// Replaces a supplier's plain settings (name, origin, processing days, rating,
    /// deadline, an agent's layout); its kind and credentials stay.
    pub async fn update_supplier_settings(
        &self,
        scope: Scope,
        id: SupplierId,
        settings: SupplierSettings,
    ) -> Result<Supplier, AppError> {
        let mut supplier = self.get_supplier(scope, id).await?;
        let mut errors = Vec::new();
        self.check_supplier_settings(&mut errors, supplier.kind, &settings);
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        supplier.name = settings.name.trim().to_string();
        supplier.ships_from = settings.ships_from.map(|c| c.to_ascii_uppercase());
        supplier.processing_days = settings.processing_days;
        supplier.rating = settings.rating;
        supplier.processing_deadline_days = settings.processing_deadline_days;
        supplier.agent_layout = settings.agent_layout;
        supplier.return_policy = settings.return_policy;
        self.backend
            .update_supplier(supplier.clone())
            .await
            .map_err(|err| match err {
                StoreError::NotFound(_) => AppError::NotFound("supplier"),
                other => other.into(),
            })?;
        self.catalog.forget_store(supplier.store_id);
        Ok(supplier)
    }

    fn check_supplier_settings(&self, errors: &mut Vec<FieldError>, kind: SupplierKind, settings: &SupplierSettings) {
        check_text(errors, "name", &settings.name, 200);
        if settings.rating > 100 {
            errors.push(FieldError::new("rating", "must be between 0 and 100"));
        }
        if settings.processing_days > 365 {
            errors.push(FieldError::new("processing_days", "must be at most 365"));
        }
        if let Some(country) = &settings.ships_from
            && !is_country_code(country)
        {
            errors.push(FieldError::new(
                "ships_from",
                "must be an ISO 3166-1 alpha-2 country code",
            ));
        }
        if settings.processing_deadline_days.is_some_and(|d| d == 0 || d > 365) {
            errors.push(FieldError::new("processing_deadline_days", "must be between 1 and 365"));
        }
        check_return_policy(errors, "return_policy", &settings.return_policy);
        if let Some(spec) = &settings.agent_layout {
            if kind != SupplierKind::Agent {
                errors.push(FieldError::new(
                    "agent_layout",
                    "only an agent supplier has a spreadsheet layout",
                ));
            } else if let Err(reason) = self.check_agent_layout(spec) {
                errors.push(FieldError::new("agent_layout", reason));
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Ingest, validate, review
    // -----------------------------------------------------------------------------------------

    /// Takes an order from a storefront, the API or a file. Idempotent on (store, external
    /// id): the same order twice is one order; a changed resend before routing updates it.
    /// An order the store's rules accept is routed in the same transaction.
    pub async fn ingest_order(
        &self,
        scope: Scope,
        store_id: StoreId,
        incoming: IncomingOrder,
        actor: Actor,
    ) -> Result<IngestOutcome, AppError> {
        let context = self.store_context(scope, store_id).await?;
        match self.ingest(&context, incoming, actor, None, false).await? {
            Ingested::Done(outcome) => Ok(outcome),
            // Without a delivery id there is no duplicate delivery to find.
            Ingested::DuplicateDelivery => Err(AppError::Conflict("duplicate delivery".into())),
        }
    }

    /// Ingests one order, optionally as a webhook delivery (recorded with the change so the
    /// same delivery counts once) and optionally cancelling it (the storefront cancelled it).
    pub(crate) async fn ingest(
        &self,
        context: &StoreContext,
        incoming: IncomingOrder,
        actor: Actor,
        delivery: Option<DeliveryRecord>,
        cancel: bool,
    ) -> Result<Ingested, AppError> {
        // New orders are the common case: insert without reading first, and read the
        // existing order only when the store says the external id is taken.
        let mut assume_new = true;
        let mut attempt = 0;
        // Variants whose last units other orders took while this one was accepted by a rule:
        // the order is planned again and held for them.
        let mut short: Vec<VariantId> = Vec::new();
        loop {
            let (mut changes, outcome) = self
                .plan_ingest(context, incoming.clone(), actor.clone(), assume_new, cancel, &short)
                .await?;
            if changes.is_empty() {
                return Ok(Ingested::Done(outcome));
            }
            if let Some(delivery) = &delivery {
                changes.deliveries.push(delivery.clone());
            }
            let moved_stock = !changes.stock_changes.is_empty();
            match self.backend.commit(changes).await {
                Ok(()) => {
                    if moved_stock {
                        self.catalog.forget_store(context.store.id);
                    }
                    self.announce_routed(&outcome);
                    return Ok(Ingested::Done(outcome));
                }
                // The order exists, or another delivery of it won the race: read it again,
                // unless it was this very delivery that won.
                Err(StoreError::Conflict(_)) if attempt < CONFLICT_RETRIES => {
                    if let Some(delivery) = &delivery
                        && self
                            .backend
                            .delivery_seen(delivery.store_id, &delivery.delivery_id)
                            .await?
                    {
                        return Ok(Ingested::DuplicateDelivery);
                    }
                    assume_new = false;
                    attempt += 1;
                }
                Err(StoreError::OutOfStock(variant)) if !short.contains(&variant) => short.push(variant),
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Imports many orders in ONE transaction: all of them land, or none.
    pub async fn import_orders(
        &self,
        scope: Scope,
        store_id: StoreId,
        orders: Vec<IncomingOrder>,
        actor: Actor,
    ) -> Result<Vec<IngestOutcome>, AppError> {
        let context = self.store_context(scope, store_id).await?;
        let mut short: Vec<VariantId> = Vec::new();
        loop {
            match self.import_once(&context, &orders, actor.clone(), &short).await {
                Err(AppError::Store(StoreError::OutOfStock(variant))) if !short.contains(&variant) => {
                    short.push(variant)
                }
                other => return other,
            }
        }
    }

    /// One try of [`Self::import_orders`]; orders of the `short` variants are held instead of
    /// being accepted by a rule.
    async fn import_once(
        &self,
        context: &StoreContext,
        orders: &[IncomingOrder],
        actor: Actor,
        short: &[VariantId],
    ) -> Result<Vec<IngestOutcome>, AppError> {
        let mut all = ChangeSet::default();
        let mut outcomes = Vec::with_capacity(orders.len());
        let mut errors = Vec::new();
        for (index, incoming) in orders.iter().cloned().enumerate() {
            let number = incoming.number.clone();
            match self
                .plan_ingest(context, incoming, actor.clone(), false, false, short)
                .await
            {
                Ok((changes, outcome)) => {
                    merge(&mut all, changes);
                    outcomes.push(outcome);
                }
                Err(AppError::Invalid(fields)) => errors.extend(
                    fields
                        .into_iter()
                        .map(|f| FieldError::new(format!("orders[{index}] ({number}).{}", f.field), f.reason)),
                ),
                Err(err) => return Err(err),
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        if !all.is_empty() {
            self.backend.commit(all).await?;
        }
        for outcome in &outcomes {
            self.announce_routed(outcome);
        }
        Ok(outcomes)
    }

    /// Tells observers about an order that ingestion routed (accepted by the store's rules).
    fn announce_routed(&self, outcome: &IngestOutcome) {
        if outcome.routed {
            let held = outcome.state == OrderState::OnHold;
            // Nobody listening is fine: events are for observers, not for the journey.
            let _ = self.events.send(AppEvent::OrderRouted {
                order_id: outcome.order_id,
                held,
            });
        }
    }

    pub(crate) async fn store_context(&self, scope: Scope, store_id: StoreId) -> Result<Arc<StoreContext>, AppError> {
        match self.catalog.store(self.backend.as_ref(), store_id).await? {
            Some(context) if scope.allows(store_id) => Ok(context),
            _ => Err(AppError::NotFound("store")),
        }
    }

    async fn plan_ingest(
        &self,
        context: &StoreContext,
        incoming: IncomingOrder,
        actor: Actor,
        assume_new: bool,
        cancel: bool,
        short: &[VariantId],
    ) -> Result<(ChangeSet, IngestOutcome), AppError> {
        let store = &context.store;
        check_incoming(&incoming, store)?;
        let skus: Vec<String> = incoming.lines.iter().map(|l| l.sku.clone()).collect();
        let entries = self.catalog.skus(self.backend.as_ref(), store.id, &skus).await?;
        let platform_ids: Vec<String> = incoming
            .lines
            .iter()
            .filter_map(|l| l.platform_variant_id.clone())
            .collect();
        let by_platform_id = if platform_ids.is_empty() {
            std::collections::HashMap::new()
        } else {
            self.catalog
                .platform_variants(self.backend.as_ref(), store.id, &platform_ids)
                .await?
        };
        // The storefront's variant id first, then the SKU.
        let variant_of = |line: &IncomingLine| {
            line.platform_variant_id
                .as_ref()
                .and_then(|id| by_platform_id.get(id).copied())
                .or_else(|| entries.get(&line.sku).and_then(|e| e.variant.as_ref()).map(|v| v.id))
        };
        let existing = if assume_new {
            None
        } else {
            self.backend
                .order_by_external_id(store.id, &incoming.external_id)
                .await?
        };
        let now = self.now();
        let mut changes = ChangeSet::default();
        match existing {
            None => {
                let mut journal = Journal::new(OrderId::new(), actor, now);
                let mut order = Order::receive(store.id, incoming, variant_of, &mut journal)?;
                let routed = if cancel {
                    // Cancelled before dropline saw it: kept for the record, nothing to fulfil.
                    cancel_in_place(&mut order, &mut journal)?;
                    false
                } else {
                    self.assess(context, &mut order, &mut journal, &mut changes, short)
                        .await?
                };
                self.rate_foreign_costs(None, &mut order, &mut journal).await?;
                let notices = crate::notify::Notices {
                    store: &context.store,
                    public_url: self.public_url(),
                    now,
                };
                for message in crate::notify::notices_for_change(&notices, None, &mut order) {
                    self.push_message(&mut changes, message);
                }
                let outcome = IngestOutcome {
                    order_id: order.id,
                    created: true,
                    changed: false,
                    state: order.state,
                    routed,
                };
                changes.timeline.append(&mut journal.events);
                changes.orders.push(OrderWrite::Insert(order));
                Ok((changes, outcome))
            }
            Some(mut order) => {
                let original = order.clone();
                let mut journal = Journal::new(order.id, actor, now);
                let address_before = order.shipping_address.clone();
                let payment_before = order.payment;
                let mut changed = order.update_from(incoming, variant_of, &mut journal)?;
                let mut routed = false;
                if cancel {
                    let before = order.clone();
                    changed |= cancel_in_place(&mut order, &mut journal)?;
                    self.push_cancellation_jobs(&mut changes, &before, &order);
                } else if changed && (order.shipping_address != address_before || order.payment != payment_before) {
                    routed = self
                        .assess(context, &mut order, &mut journal, &mut changes, short)
                        .await?;
                }
                let outcome = IngestOutcome {
                    order_id: order.id,
                    created: false,
                    changed,
                    state: order.state,
                    routed,
                };
                if changed {
                    self.add_order_notices(&original, &mut order, &mut changes).await?;
                    changes.timeline.append(&mut journal.events);
                    changes.orders.push(OrderWrite::Update(order));
                }
                Ok((changes, outcome))
            }
        }
    }

    /// Validates address and payment, then holds, releases or (by the store's rules)
    /// accepts the order. An order accepted by a rule is routed at once, since its route
    /// plan was needed to decide; returns whether it was.
    async fn assess(
        &self,
        context: &StoreContext,
        order: &mut Order,
        journal: &mut Journal,
        changes: &mut ChangeSet,
        short: &[VariantId],
    ) -> Result<bool, AppError> {
        let store = &context.store;
        let (findings, reasons) = assess_order(store, order);
        if findings != order.findings {
            order.findings = findings;
            let errors = order.findings.iter().filter(|f| f.is_error()).count();
            let warnings = order.findings.len() - errors;
            journal.record(
                "order.validated",
                format!("Validation: {errors} error(s), {warnings} warning(s)"),
                None,
                None,
            );
        }
        match (order.state, reasons.is_empty()) {
            (OrderState::PendingReview | OrderState::Accepted, false) => {
                order.apply(OrderEvent::Hold { reasons }, journal)?
            }
            (OrderState::OnHold, false) if order.hold_reasons != reasons => {
                order.apply(OrderEvent::Hold { reasons }, journal)?
            }
            (OrderState::OnHold, true) => order.apply(OrderEvent::Release, journal)?,
            _ => {}
        }
        if order.state != OrderState::PendingReview || !passes_auto_accept_rules(store, order) {
            return Ok(false);
        }
        let short_sku = order
            .shippable_lines()
            .find(|l| l.variant_id.is_some_and(|v| short.contains(&v)))
            .map(|l| l.sku.clone());
        if let Some(sku) = short_sku {
            journal.record("inventory.out_of_stock", out_of_stock_note(&sku), None, None);
            order.apply(
                OrderEvent::Hold {
                    reasons: vec![HoldReason::OutOfStock],
                },
                journal,
            )?;
            return Ok(false);
        }
        let (plan, offers) = self.plan_route(context, order).await?;
        if !plan.is_complete() || plan.groups.is_empty() {
            return Ok(false);
        }
        changes.stock_checked.push(order.id);
        let mut rule_journal = Journal::new(order.id, Actor::Rule("auto_accept".into()), journal.at);
        order.apply(OrderEvent::Accept, &mut rule_journal)?;
        let routed = apply_route_plan(store, order, plan, &offers, &mut rule_journal)?;
        self.push_placement_jobs(changes, order, &routed.created);
        journal.events.append(&mut rule_journal.events);
        Ok(true)
    }

    /// Routes the lines no live supplier order covers (after a failover or a partial
    /// acceptance) to the next offers, never to one that failed this order; with no offer
    /// left the order is held for the seller.
    pub(crate) async fn reroute(
        &self,
        context: &StoreContext,
        order: &mut Order,
        journal: &mut Journal,
        changes: &mut ChangeSet,
    ) -> Result<(), AppError> {
        if order.uncovered_lines().is_empty() || order.state.is_terminal() {
            return Ok(());
        }
        let (plan, offers) = self.plan_route(context, order).await?;
        if !plan.is_complete() || plan.groups.is_empty() {
            for unroutable in &plan.unroutable {
                journal.record("routing.unroutable", unroutable.explanation.clone(), None, None);
            }
            let mut reasons = plan.hold_reasons();
            if reasons.is_empty() {
                reasons.push(HoldReason::NoRoute);
            }
            order.hold_for_failover(
                reasons,
                "no other offer can take the lines a supplier failed; choose another supplier or cancel".into(),
                journal,
            )?;
            return Ok(());
        }
        let routed = apply_route_plan(&context.store, order, plan, &offers, journal)?;
        self.push_placement_jobs(changes, order, &routed.created);
        Ok(())
    }

    async fn plan_route(
        &self,
        context: &StoreContext,
        order: &Order,
    ) -> Result<(dropline_domain::routing::RoutePlan, Vec<Offer>), AppError> {
        // Only the lines no live supplier order covers, never to an offer that failed them.
        let uncovered = order.uncovered_lines();
        let failed = order.failed_offers();
        let mut variant_ids: Vec<VariantId> = order
            .shippable_lines()
            .filter(|l| uncovered.contains(&l.id))
            .filter_map(|l| l.variant_id)
            .collect();
        variant_ids.sort_unstable();
        variant_ids.dedup();
        let mut offers = self
            .catalog
            .offers(self.backend.as_ref(), context.store.id, &variant_ids)
            .await?;
        // A line the seller pinned to an offer is routed to that offer only.
        for line in order.shippable_lines().filter(|l| uncovered.contains(&l.id)) {
            if let (Some(variant_id), Some(pinned)) = (line.variant_id, line.offer_override) {
                offers.retain(|o| o.variant_id != variant_id || o.id == pinned);
            }
        }
        let settings = &context.store.settings;
        let routing = RoutingContext {
            offers: &offers,
            suppliers: &context.suppliers,
            lanes: &[],
            policy: settings.routing_policy,
            weights: settings.routing_weights,
            prefer_own_warehouse: true,
            excluded_offers: &failed,
            only_lines: Some(&uncovered),
        };
        let plan = route_order(order, &routing).map_err(|err| AppError::invalid("lines", err.to_string()))?;
        Ok((plan, offers))
    }

    /// Accepts an order in review: it will be routed to its suppliers. Its units are held
    /// from now on; when other accepted orders already hold what the offers of one of its
    /// variants can ship, the order goes on hold (out of stock) instead.
    pub async fn accept_order(&self, scope: Scope, id: OrderId) -> Result<Order, AppError> {
        let accepted = self
            .change_order(scope, id, scope.actor(), |order, journal, changes| {
                if order.test {
                    return Err(AppError::invalid(
                        "order",
                        "a test order of the storefront is never sent to a supplier",
                    ));
                }
                order.apply(OrderEvent::Accept, journal)?;
                changes.stock_checked.push(order.id);
                changes.jobs.push(jobs::route_job(order.id, order.store_id, journal.at));
                Ok(())
            })
            .await;
        let Err(AppError::Store(StoreError::OutOfStock(variant))) = accepted else {
            return accepted;
        };
        // Held for the stock, and for whatever else routing would hold the order for (a
        // line no offer ships to the destination), so the seller sees every reason at once.
        let order = self.get_order(scope, id).await?;
        let context = self.store_context(scope, order.store_id).await?;
        let mut reasons = match self.plan_route(&context, &order).await {
            Ok((plan, _)) => plan.hold_reasons(),
            Err(_) => Vec::new(),
        };
        reasons.push(HoldReason::OutOfStock);
        reasons.sort_by_key(|r| HoldReason::ALL.iter().position(|known| known == r));
        reasons.dedup();
        self.change_order(scope, id, scope.actor(), |order, journal, _| {
            let sku = order
                .lines
                .iter()
                .find(|l| l.variant_id == Some(variant))
                .map_or_else(|| variant.to_string(), |l| l.sku.clone());
            journal.record("inventory.out_of_stock", out_of_stock_note(&sku), None, None);
            Ok(order.apply(
                OrderEvent::Hold {
                    reasons: reasons.clone(),
                },
                journal,
            )?)
        })
        .await
    }

    /// Pins a line of an order to one of its variant's offers before the line is placed
    /// (a per-order override of the mapping); `None` lets routing choose again.
    pub async fn override_line_offer(
        &self,
        scope: Scope,
        id: OrderId,
        line_id: dropline_domain::ids::LineItemId,
        offer_id: Option<OfferId>,
    ) -> Result<Order, AppError> {
        let offer = match offer_id {
            Some(offer_id) => Some(
                self.get_offer(scope, offer_id)
                    .await
                    .map_err(|_| AppError::invalid("offer_id", "no such offer in this store"))?,
            ),
            None => None,
        };
        self.change_order(scope, id, scope.actor(), |order, journal, _| {
            let covered = !order.uncovered_lines().contains(&line_id);
            let Some(line) = order.lines.iter_mut().find(|l| l.id == line_id) else {
                return Err(AppError::NotFound("line"));
            };
            if let Some(offer) = &offer
                && Some(offer.variant_id) != line.variant_id
            {
                return Err(AppError::invalid(
                    "offer_id",
                    format!("the offer ships another variant than line {}", line.sku),
                ));
            }
            if covered || order.state.is_terminal() {
                return Err(AppError::invalid(
                    "line_id",
                    "the line is already with a supplier; cancel its supplier order first",
                ));
            }
            let line = order
                .lines
                .iter_mut()
                .find(|l| l.id == line_id)
                .ok_or(AppError::NotFound("line"))?;
            line.offer_override = offer.as_ref().map(|o| o.id);
            let text = match &offer {
                Some(offer) => format!("Line {} will be ordered from offer {}", line.sku, offer.supplier_sku),
                None => format!("Line {} is routed by the store's policy again", line.sku),
            };
            journal.record("routing.override", text, None, None);
            Ok(())
        })
        .await
    }

    /// Rejects an order in review or on hold.
    pub async fn reject_order(&self, scope: Scope, id: OrderId) -> Result<Order, AppError> {
        self.change_order(scope, id, scope.actor(), |order, journal, _| {
            Ok(order.apply(OrderEvent::Reject, journal)?)
        })
        .await
    }

    /// Puts an order back to review after its hold reasons were dealt with.
    pub async fn release_order(&self, scope: Scope, id: OrderId) -> Result<Order, AppError> {
        self.change_order(scope, id, scope.actor(), |order, journal, _| {
            Ok(order.apply(OrderEvent::Release, journal)?)
        })
        .await
    }

    /// Closes a delivered order once its return window is over.
    pub async fn complete_order(&self, scope: Scope, id: OrderId) -> Result<Order, AppError> {
        self.change_order(scope, id, scope.actor(), |order, journal, _| {
            Ok(order.apply(OrderEvent::Complete, journal)?)
        })
        .await
    }

    /// Cancels an order, and every supplier order of it that can still be cancelled.
    pub async fn cancel_order(&self, scope: Scope, id: OrderId) -> Result<Order, AppError> {
        self.change_order(scope, id, scope.actor(), |order, journal, changes| {
            let before = order.clone();
            order.apply(OrderEvent::Cancel, journal)?;
            cancel_supplier_orders(order, journal)?;
            self.push_cancellation_jobs(changes, &before, order);
            // The seller cancelled here: the storefront must hear of it.
            changes.jobs.push(jobs::storefront_status_job(
                order,
                jobs::StorefrontStatus::Cancelled,
                journal.at,
            ));
            Ok(())
        })
        .await
    }

    /// Accepts or rejects many orders; each order gets its own outcome.
    pub async fn review_orders(&self, scope: Scope, ids: &[OrderId], decision: Decision) -> Vec<BulkOutcome> {
        let mut outcomes = Vec::with_capacity(ids.len());
        for &order_id in ids {
            let result = match decision {
                Decision::Accept => self.accept_order(scope, order_id).await,
                Decision::Reject => self.reject_order(scope, order_id).await,
            };
            outcomes.push(BulkOutcome {
                order_id,
                result: result.map(|order| order.state),
            });
        }
        outcomes
    }

    // -----------------------------------------------------------------------------------------
    // Reading
    // -----------------------------------------------------------------------------------------

    /// An order the caller may see.
    pub async fn get_order(&self, scope: Scope, id: OrderId) -> Result<Order, AppError> {
        match self.backend.get_order(id).await? {
            Some(order) if scope.allows(order.store_id) => Ok(order),
            _ => Err(AppError::NotFound("order")),
        }
    }

    /// Orders the caller may see, newest first.
    pub async fn list_orders(&self, scope: Scope, mut filter: OrderFilter) -> Result<Vec<Order>, AppError> {
        filter.store_id = scope.store_filter(filter.store_id);
        filter.limit = filter.limit.clamp(1, 500);
        Ok(self.backend.list_orders(&filter).await?)
    }

    /// An order's timeline, oldest first.
    pub async fn timeline(&self, scope: Scope, id: OrderId) -> Result<Vec<TimelineEvent>, AppError> {
        self.get_order(scope, id).await?;
        Ok(self.backend.timeline(id).await?)
    }

    /// Outbox messages the caller may see.
    pub async fn list_messages(&self, scope: Scope, mut filter: MessageFilter) -> Result<Vec<Message>, AppError> {
        filter.store_id = scope.store_filter(filter.store_id);
        filter.limit = filter.limit.clamp(1, 500);
        Ok(self.backend.list_messages(&filter).await?)
    }

    /// Order counts per state.
    pub async fn count_orders_by_state(
        &self,
        scope: Scope,
        store_id: Option<StoreId>,
    ) -> Result<Vec<(OrderState, u64)>, AppError> {
        Ok(self.backend.count_orders_by_state(scope.store_filter(store_id)).await?)
    }

    /// A supplier order with the order it belongs to.
    pub async fn get_supplier_order(
        &self,
        scope: Scope,
        id: SupplierOrderId,
    ) -> Result<(Order, SupplierOrder), AppError> {
        let order_id = self
            .backend
            .order_of_supplier_order(id)
            .await?
            .ok_or(AppError::NotFound("supplier order"))?;
        let order = self
            .get_order(scope, order_id)
            .await
            .map_err(|_| AppError::NotFound("supplier order"))?;
        let supplier_order = order.supplier_order(id)?.clone();
        Ok((order, supplier_order))
    }

    // -----------------------------------------------------------------------------------------
    // The manual supplier flow
    // -----------------------------------------------------------------------------------------

    pub(crate) async fn change_supplier_order<F>(
        &self,
        scope: Scope,
        id: SupplierOrderId,
        change: F,
    ) -> Result<Order, AppError>
    where
        F: Fn(&mut Order, &mut Journal, &mut ChangeSet) -> Result<(), AppError> + Send + Sync,
    {
        let order_id = self
            .backend
            .order_of_supplier_order(id)
            .await?
            .ok_or(AppError::NotFound("supplier order"))?;
        self.change_order(scope, order_id, scope.actor(), change)
            .await
            .map_err(|err| match err {
                AppError::NotFound("order") => AppError::NotFound("supplier order"),
                other => other,
            })
    }

    /// The vendor ordered from the supplier: records the supplier's order id.
    pub async fn record_supplier_reference(
        &self,
        scope: Scope,
        id: SupplierOrderId,
        reference: &str,
        actual_cost: Option<Money>,
    ) -> Result<Order, AppError> {
        self.record_supplier_reference_at_rate(scope, id, reference, actual_cost, None)
            .await
    }

    /// As [`App::record_supplier_reference`], with the rate the seller was charged at
    /// (`per_million`, see [`dropline_domain::ledger::Rate`]) when the actual cost is in
    /// another currency than the order's: it wins over the exchange-rate table. A rate
    /// without such a cost, or out of range, is refused (field `rate`).
    pub async fn record_supplier_reference_at_rate(
        &self,
        scope: Scope,
        id: SupplierOrderId,
        reference: &str,
        actual_cost: Option<Money>,
        rate: Option<u64>,
    ) -> Result<Order, AppError> {
        self.change_supplier_order(scope, id, |order, journal, _| {
            order.record_supplier_reference(id, reference, actual_cost, journal)?;
            if let Some(per_million) = rate {
                let Some(cost) = actual_cost.filter(|cost| cost.currency != order.currency) else {
                    return Err(AppError::invalid(
                        "rate",
                        format!("only with an actual_cost in another currency than {}", order.currency),
                    ));
                };
                dropline_domain::ledger::ExchangeRate::check(cost.currency, order.currency, per_million)
                    .map_err(|(_, reason)| AppError::invalid("rate", reason))?;
                let used = dropline_domain::ledger::RateUsed {
                    rate: dropline_domain::ledger::Rate {
                        from: cost.currency,
                        to: order.currency,
                        per_million,
                        as_of: journal.at,
                    },
                    effective_on: journal.at.date(),
                    charged: true,
                };
                order.record_cost_rate(id, Some(used), journal)?;
            }
            Ok(())
        })
        .await
    }

    /// Adds a parcel (carrier and tracking number) to a supplier order.
    pub async fn add_shipment(
        &self,
        scope: Scope,
        id: SupplierOrderId,
        carrier: &str,
        tracking_number: &str,
        tracking_url: Option<String>,
    ) -> Result<(Order, ShipmentId), AppError> {
        let created = Made::new();
        let order = self
            .change_supplier_order(scope, id, |order, journal, changes| {
                let shipment_id = order.add_shipment(id, carrier, tracking_number, tracking_url.clone(), journal)?;
                changes
                    .jobs
                    .push(jobs::storefront_fulfillment_job(order, shipment_id, journal.at));
                created.set(shipment_id);
                Ok(())
            })
            .await?;
        Ok((order, created.take("shipment")?))
    }

    /// Marks a parcel of a supplier order shipped, delivered or failed. Without a shipment
    /// id, the newest parcel of the supplier order is meant.
    pub async fn mark_parcel(
        &self,
        scope: Scope,
        id: SupplierOrderId,
        shipment_id: Option<ShipmentId>,
        action: ParcelAction,
        note: Option<String>,
    ) -> Result<Order, AppError> {
        self.change_supplier_order(scope, id, |order, journal, changes| {
            let shipment = pick_shipment(order, id, shipment_id)?;
            let event = match action {
                ParcelAction::Shipped => ShipmentState::InTransit,
                ParcelAction::Delivered => ShipmentState::Delivered,
                ParcelAction::Failed => ShipmentState::AttemptFailed,
            };
            order.record_shipment_event(shipment, event, note.clone(), journal)?;
            if action == ParcelAction::Delivered {
                let tracking_number = order
                    .supplier_order(id)?
                    .shipments
                    .iter()
                    .find(|s| s.id == shipment)
                    .map(|s| s.tracking_number.clone())
                    .unwrap_or_default();
                changes.jobs.push(jobs::storefront_status_job(
                    order,
                    jobs::StorefrontStatus::Delivered { tracking_number },
                    journal.at,
                ));
            }
            Ok(())
        })
        .await
    }

    /// Sends a failed parcel again with a new tracking number.
    pub async fn reship(
        &self,
        scope: Scope,
        id: SupplierOrderId,
        failed_shipment: Option<ShipmentId>,
        carrier: &str,
        tracking_number: &str,
    ) -> Result<Order, AppError> {
        self.change_supplier_order(scope, id, |order, journal, changes| {
            let shipment = pick_shipment(order, id, failed_shipment)?;
            let new_shipment = order.reship(shipment, carrier, tracking_number, journal)?;
            // The new parcel is written back like any other, naming the one it replaces.
            changes
                .jobs
                .push(jobs::storefront_fulfillment_job(order, new_shipment, journal.at));
            Ok(())
        })
        .await
    }

    /// Cancels a supplier order (before it reached the supplier) or asks the supplier to.
    pub async fn cancel_supplier_order(&self, scope: Scope, id: SupplierOrderId) -> Result<Order, AppError> {
        self.change_supplier_order(scope, id, |order, journal, changes| {
            // A supplier order that is done is refused by the machine, naming its state.
            self.cancel_supplier_order_in(order, id, journal, changes)
        })
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Jobs
    // -----------------------------------------------------------------------------------------

    /// Runs one claimed job; its effects and its completion are committed together.
    pub async fn run_job(&self, job: &crate::ports::Job) -> Result<(), AppError> {
        match JobKind::parse(job)? {
            JobKind::RouteOrder { order_id } => self.route_job(job, order_id).await,
            JobKind::PlaceSupplierOrder {
                order_id,
                supplier_order_id,
                attempt,
            } => self.place_job(job, order_id, supplier_order_id, attempt).await,
            JobKind::SyncSupplierOrder {
                order_id,
                supplier_order_id,
                attempt,
            } => self.sync_job(job, order_id, supplier_order_id, attempt).await,
            JobKind::CancelAtSupplier {
                order_id,
                supplier_order_id,
                attempt,
            } => self.cancel_job(job, order_id, supplier_order_id, attempt).await,
            JobKind::ReconcileSupplier { supplier_id } => self.reconcile_job(job, supplier_id).await,
            JobKind::StockSync { supplier_id, only } => self.stock_sync_job(job, supplier_id, only).await,
            JobKind::SendMessage { message_id } => self.send_message_job(job, message_id).await,
            JobKind::PollTracking {
                order_id,
                shipment_id,
                attempt,
            } => self.poll_tracking_job(job, order_id, shipment_id, attempt).await,
            other => self.run_storefront_job(job, other).await,
        }
    }

    async fn route_job(&self, job: &crate::ports::Job, order_id: OrderId) -> Result<(), AppError> {
        let mut attempt = 0;
        loop {
            let Some(mut order) = self.backend.get_order(order_id).await? else {
                return self.finish_job(job).await;
            };
            // Routing is idempotent: an order that moved on, or whose lines all have live
            // supplier orders, is left as it is.
            if order.state != OrderState::Accepted || order.uncovered_lines().is_empty() {
                return self.finish_job(job).await;
            }
            let context = self.store_context(Scope::Operator, order.store_id).await?;
            let (plan, offers) = self.plan_route(&context, &order).await?;
            let mut journal = Journal::new(order.id, Actor::Worker, self.now());
            let before = order.clone();
            let routed = apply_route_plan(&context.store, &mut order, plan, &offers, &mut journal)?;
            self.rate_foreign_costs(Some(&before), &mut order, &mut journal).await?;
            let held = routed.held;
            let mut changes = ChangeSet {
                finished_jobs: vec![job.id],
                ..ChangeSet::default()
            };
            self.push_placement_jobs(&mut changes, &order, &routed.created);
            changes.timeline = journal.events;
            let store_id = order.store_id;
            changes.orders.push(OrderWrite::Update(order));
            let moved_stock = !changes.stock_changes.is_empty();
            match self.backend.commit(changes).await {
                Ok(()) => {
                    if moved_stock {
                        self.catalog.forget_store(store_id);
                    }
                    let _ = self.events.send(AppEvent::OrderRouted { order_id, held });
                    return Ok(());
                }
                Err(StoreError::Conflict(_)) if attempt < CONFLICT_RETRIES => attempt += 1,
                Err(err) => return Err(err.into()),
            }
        }
    }

    pub(crate) async fn finish_job(&self, job: &crate::ports::Job) -> Result<(), AppError> {
        let changes = ChangeSet {
            finished_jobs: vec![job.id],
            ..ChangeSet::default()
        };
        Ok(self.backend.commit(changes).await?)
    }

    /// Loads an order, applies `change` with a journal, and commits the new state with its
    /// timeline and effects; retried when another writer changed the order meanwhile. A
    /// change that records nothing writes nothing.
    pub(crate) async fn change_order<F>(
        &self,
        scope: Scope,
        id: OrderId,
        actor: Actor,
        change: F,
    ) -> Result<Order, AppError>
    where
        F: Fn(&mut Order, &mut Journal, &mut ChangeSet) -> Result<(), AppError> + Send + Sync,
    {
        let mut attempt = 0;
        loop {
            let mut order = self.get_order(scope, id).await?;
            let before = order.clone();
            let mut journal = Journal::new(order.id, actor.clone(), self.now());
            let mut changes = ChangeSet::default();
            change(&mut order, &mut journal, &mut changes)?;
            if journal.events.is_empty() && changes.is_empty() {
                return Ok(order);
            }
            self.add_order_notices(&before, &mut order, &mut changes).await?;
            changes.timeline.append(&mut journal.events);
            changes.orders.push(OrderWrite::Update(order.clone()));
            let moved_stock = !changes.stock_changes.is_empty();
            match self.backend.commit(changes).await {
                Ok(()) => {
                    if moved_stock {
                        self.catalog.forget_store(order.store_id);
                    }
                    order.version += 1;
                    return Ok(order);
                }
                Err(StoreError::Conflict(_)) if attempt < CONFLICT_RETRIES => attempt += 1,
                Err(err) => return Err(err.into()),
            }
        }
    }
}

impl App {
    /// Changes an order as the engine itself (a job, a push from a tracking service), with
    /// what it tells and the job it finishes, if any; retried on a concurrent write. An
    /// order that is gone finishes the job and changes nothing.
    pub(crate) async fn change_order_as_worker<F>(
        &self,
        id: OrderId,
        job: Option<&crate::ports::Job>,
        change: F,
    ) -> Result<Option<Order>, AppError>
    where
        F: Fn(&mut Order, &mut Journal, &mut ChangeSet) -> Result<(), AppError> + Send + Sync,
    {
        let mut attempt = 0;
        loop {
            let Some(mut order) = self.backend.get_order(id).await? else {
                if let Some(job) = job {
                    self.backend
                        .commit(ChangeSet {
                            finished_jobs: vec![job.id],
                            ..ChangeSet::default()
                        })
                        .await?;
                }
                return Ok(None);
            };
            let before = order.clone();
            let mut journal = Journal::new(order.id, Actor::Worker, self.now());
            let mut changes = ChangeSet::default();
            change(&mut order, &mut journal, &mut changes)?;
            if let Some(job) = job {
                changes.finished_jobs.push(job.id);
            }
            if !journal.events.is_empty() || order != before {
                self.add_order_notices(&before, &mut order, &mut changes).await?;
                changes.timeline.append(&mut journal.events);
                changes.orders.push(OrderWrite::Update(order.clone()));
            }
            if changes.is_empty() {
                return Ok(Some(order));
            }
            match self.backend.commit(changes).await {
                Ok(()) => {
                    order.version += 1;
                    return Ok(Some(order));
                }
                Err(StoreError::Conflict(_)) if attempt < CONFLICT_RETRIES => attempt += 1,
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// What an order change tells (customer emails, seller notifications) and the parcels
    /// it starts following, added to `changes` before they are committed.
    pub(crate) async fn add_order_notices(
        &self,
        before: &Order,
        after: &mut Order,
        changes: &mut ChangeSet,
    ) -> Result<(), AppError> {
        // A supplier order made or re-priced in another currency records its rate now.
        let mut rated = Journal::new(after.id, Actor::System, self.now());
        self.rate_foreign_costs(Some(before), after, &mut rated).await?;
        changes.timeline.append(&mut rated.events);
        self.push_follow_jobs(before, after, changes);
        if !crate::notify::worth_a_look(before, after) {
            return Ok(());
        }
        // The store comes from the catalogue cache: a change path must not cost a read more.
        let Some(context) = self.catalog.store(self.backend.as_ref(), after.store_id).await? else {
            return Ok(());
        };
        // A new refund goes to the storefront by a job written with it (`worth_a_look` sees it).
        crate::connected::push_refund_jobs(&context.store, before, after, changes, self.now());
        let notices = crate::notify::Notices {
            store: &context.store,
            public_url: self.public_url(),
            now: self.now(),
        };
        for message in crate::notify::notices_for_change(&notices, Some(before), after) {
            self.push_message(changes, message);
        }
        Ok(())
    }
}

/// Findings and hold reasons of an order's address and payment.
/// The timeline's note on an order held because others took the last units.
fn out_of_stock_note(sku: &str) -> String {
    format!("Held: other accepted orders already hold every unit of SKU {sku} the suppliers can ship")
}

pub fn assess_order(store: &Shop, order: &Order) -> (Vec<Finding>, Vec<HoldReason>) {
    let mut findings = validate_address(&order.shipping_address);
    for finding in &mut findings {
        finding.field = format!("shipping_address.{}", finding.field);
    }
    if store
        .address
        .as_ref()
        .is_some_and(|own| own.same_place_as(&order.shipping_address))
    {
        findings.push(Finding {
            field: "shipping_address".into(),
            code: "store_address".into(),
            message: "The shipping address is the store's own address; suppliers ship to the customer.".into(),
            severity: Severity::Error,
        });
    }
    let mut reasons = Vec::new();
    if findings.iter().any(Finding::is_error) {
        reasons.push(HoldReason::InvalidAddress);
    }
    let mut unmapped = false;
    for (i, line) in order.lines.iter().enumerate() {
        if line.requires_shipping && line.quantity_to_ship() > 0 && line.variant_id.is_none() {
            unmapped = true;
            findings.push(Finding {
                field: format!("lines[{i}]"),
                code: "unmapped_variant".into(),
                message: format!(
                    "No catalogue variant has the storefront variant {} or the SKU '{}'; map it to supplier offers.",
                    line.platform_variant_id.as_deref().unwrap_or("-"),
                    line.sku
                ),
                severity: Severity::Error,
            });
        }
    }
    if unmapped {
        reasons.push(HoldReason::UnmappedVariant);
    }
    if !matches!(order.payment, PaymentState::Paid | PaymentState::Authorized) {
        findings.push(Finding {
            field: "payment".into(),
            code: "not_captured".into(),
            message: format!("The payment is {}, not paid.", order.payment),
            severity: Severity::Error,
        });
        reasons.push(HoldReason::PaymentNotCaptured);
    }
    (findings, reasons)
}

/// Whether the store's rules (other than routability) accept this order without the seller.
fn passes_auto_accept_rules(store: &Shop, order: &Order) -> bool {
    let rules = &store.settings.auto_accept;
    !order.test
        && rules.enabled
        && (!rules.require_paid || order.payment == PaymentState::Paid)
        && rules.max_total_minor.is_none_or(|max| order.total.minor <= max)
        && (rules.allowed_skus.is_empty() || order.lines.iter().all(|l| rules.allowed_skus.contains(&l.sku)))
}

/// What applying a route plan did.
pub(crate) struct Routed {
    /// The order went on hold instead.
    pub held: bool,
    /// The supplier orders created.
    pub created: Vec<SupplierOrderId>,
}

/// Turns a route plan into supplier orders (one per supplier, shipping to the customer),
/// or puts the order on hold with the reasons.
fn apply_route_plan(
    store: &Shop,
    order: &mut Order,
    plan: dropline_domain::routing::RoutePlan,
    offers: &[Offer],
    journal: &mut Journal,
) -> Result<Routed, AppError> {
    let held = Routed {
        held: true,
        created: Vec::new(),
    };
    if !plan.is_complete() || plan.groups.is_empty() {
        let mut reasons = plan.hold_reasons();
        if reasons.is_empty() {
            reasons.push(HoldReason::NoRoute);
        }
        for unroutable in &plan.unroutable {
            journal.record("routing.unroutable", unroutable.explanation.clone(), None, None);
        }
        order.apply(OrderEvent::Hold { reasons }, journal)?;
        return Ok(held);
    }
    if store
        .address
        .as_ref()
        .is_some_and(|own| own.same_place_as(&order.shipping_address))
    {
        journal.record(
            "routing.refused",
            "The ship-to address is the store's own address; a supplier order must ship to the customer",
            None,
            None,
        );
        order.apply(
            OrderEvent::Hold {
                reasons: vec![HoldReason::InvalidAddress],
            },
            journal,
        )?;
        return Ok(held);
    }
    let mut created = Vec::new();
    for group in plan.groups {
        let attempt = order.next_attempt(group.supplier_id);
        let supplier_order = supplier_order_of_group(order, group, &order.lines, offers, attempt, journal.at);
        created.push(supplier_order.id);
        order.add_supplier_order(supplier_order, journal);
    }
    if order.state == OrderState::Accepted {
        order.apply(OrderEvent::StartFulfillment, journal)?;
    }
    Ok(Routed { held: false, created })
}

/// The supplier order of one group of a route plan, its lines' titles from `lines` (the
/// order's lines, or what a replacement or an exchange sends).
pub(crate) fn supplier_order_of_group(
    order: &Order,
    group: dropline_domain::routing::PlannedSupplierOrder,
    lines: &[dropline_domain::order::LineItem],
    offers: &[Offer],
    attempt: u32,
    at: OffsetDateTime,
) -> SupplierOrder {
    let supplier_lines = group
        .lines
        .iter()
        .map(|planned| {
            let line = lines.iter().find(|l| l.id == planned.line_item_id);
            let offer = offers.iter().find(|o| o.id == planned.offer_id);
            SupplierOrderLine {
                line_item_id: planned.line_item_id,
                offer_id: planned.offer_id,
                variant_id: planned.variant_id,
                supplier_sku: offer.map(|o| o.supplier_sku.clone()).unwrap_or_default(),
                product_url: offer.and_then(|o| o.product_url.clone()),
                title: line.map(|l| l.title.clone()).unwrap_or_default(),
                variant_title: line.and_then(|l| l.variant_title.clone()),
                quantity: planned.quantity,
                unit_cost: planned.unit_cost,
                supplier_product_id: offer.and_then(|o| o.supplier_product_id.clone()),
                supplier_variant_id: offer.and_then(|o| o.supplier_variant_id.clone()),
            }
        })
        .collect();
    let transit_days = group
        .lines
        .iter()
        .map(|l| (l.min_days, l.max_days))
        .reduce(|(a, b), (c, d)| (a.max(c), b.max(d)));
    SupplierOrder {
        id: SupplierOrderId::new(),
        supplier_id: group.supplier_id,
        supplier_name: group.supplier_name,
        supplier_kind: group.supplier_kind,
        lines: supplier_lines,
        ship_to: order.shipping_address.clone(),
        shipping_method: group.shipping_method,
        expected_cost: group.expected_cost,
        actual_cost: None,
        cost_rate: None,
        supplier_reference: None,
        idempotency_key: dropline_domain::placement::idempotency_key(order.id, group.supplier_id, attempt),
        attempt,
        state: SupplierOrderState::NEW,
        shipments: Vec::new(),
        created_at: at,
        placement: dropline_domain::placement::Placement {
            transit_days,
            ..Default::default()
        },
    }
}

fn pick_shipment(
    order: &Order,
    supplier_order: SupplierOrderId,
    shipment: Option<ShipmentId>,
) -> Result<ShipmentId, AppError> {
    let supplier_order = order.supplier_order(supplier_order)?;
    match shipment {
        Some(id) if supplier_order.shipments.iter().any(|s| s.id == id) => Ok(id),
        Some(_) => Err(AppError::NotFound("shipment")),
        None => supplier_order.shipments.last().map(|s| s.id).ok_or_else(|| {
            AppError::invalid(
                "shipment_id",
                "the supplier order has no parcel yet: add tracking first",
            )
        }),
    }
}

/// What ingesting one order came to.
pub(crate) enum Ingested {
    Done(IngestOutcome),
    /// The same webhook delivery was already handled; nothing was written.
    DuplicateDelivery,
}

/// Cancels an order the storefront cancelled, with its open supplier orders; returns
/// whether anything changed (an order already cancelled stays as it is).
pub(crate) fn cancel_in_place(order: &mut Order, journal: &mut Journal) -> Result<bool, AppError> {
    if order.state == OrderState::Cancelled {
        return Ok(false);
    }
    order.apply(OrderEvent::Cancel, journal)?;
    cancel_supplier_orders(order, journal)?;
    Ok(true)
}

/// Cancels every supplier order that can still be cancelled, or asks its supplier to.
fn cancel_supplier_orders(order: &mut Order, journal: &mut Journal) -> Result<(), AppError> {
    let open: Vec<(SupplierOrderId, SupplierOrderState)> =
        order.supplier_orders.iter().map(|s| (s.id, s.state)).collect();
    for (supplier_order_id, state) in open {
        if let Some(event) = cancellation_event(state) {
            order.apply_supplier_order(supplier_order_id, event, journal)?;
        }
    }
    Ok(())
}

fn merge(into: &mut ChangeSet, mut from: ChangeSet) {
    into.orders.append(&mut from.orders);
    into.timeline.append(&mut from.timeline);
    into.jobs.append(&mut from.jobs);
    into.messages.append(&mut from.messages);
    into.finished_jobs.append(&mut from.finished_jobs);
    into.deliveries.append(&mut from.deliveries);
    into.stock_changes.append(&mut from.stock_changes);
}

/// A supplier connection's fields: an http(s) base address without query, credentials
/// without blanks or control characters.
fn check_supplier_connection(
    errors: &mut Vec<FieldError>,
    prefix: &str,
    connection: &dropline_domain::catalog::SupplierConnection,
) {
    let field = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    };
    if let Some(base) = &connection.api_base {
        let base = base.trim();
        let scheme_ok = base.starts_with("https://") || base.starts_with("http://");
        let host = base.split("://").nth(1).unwrap_or("");
        if !scheme_ok || host.is_empty() || base.contains('?') || base.contains(char::is_whitespace) {
            errors.push(FieldError::new(
                field("api_base"),
                "must be an http(s) address without query",
            ));
        }
    }
    if connection
        .requests_per_second
        .is_some_and(|rate| !(1..=100).contains(&rate))
    {
        errors.push(FieldError::new(
            field("requests_per_second"),
            "must be between 1 and 100",
        ));
    }
    for (name, value) in [
        ("api_key", &connection.api_key),
        ("api_secret", &connection.api_secret),
        ("access_token", &connection.access_token),
        ("refresh_token", &connection.refresh_token),
    ] {
        if let Some(value) = value
            && (value.trim().is_empty() || value.len() > 2048 || has_control_characters(value))
        {
            errors.push(FieldError::new(
                field(name),
                "must be 1 to 2048 characters without control characters",
            ));
        }
    }
}

/// The rules of an offer's terms, shared by adding and changing one.
fn check_offer_terms(
    errors: &mut Vec<FieldError>,
    supplier_sku: &str,
    product_url: Option<&str>,
    unit_cost: Money,
    shipping: &[ShippingMethod],
) {
    check_text(errors, "supplier_sku", supplier_sku, 200);
    if unit_cost.minor < 0 {
        errors.push(FieldError::new("unit_cost", "must not be negative"));
    }
    if let Some(url) = product_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        errors.push(FieldError::new("product_url", "must be an http(s) URL"));
    }
    for (i, method) in shipping.iter().enumerate() {
        if method.country != "*" && !is_country_code(&method.country) {
            errors.push(FieldError::new(
                format!("shipping[{i}].country"),
                "must be an ISO 3166-1 alpha-2 code or *",
            ));
        }
        check_text(errors, &format!("shipping[{i}].name"), &method.name, 200);
        if method.cost.minor < 0 {
            errors.push(FieldError::new(format!("shipping[{i}].cost"), "must not be negative"));
        }
        if method.cost.currency != unit_cost.currency {
            errors.push(FieldError::new(
                format!("shipping[{i}].cost.currency"),
                "must be the unit cost currency",
            ));
        }
        if method.min_days > method.max_days {
            errors.push(FieldError::new(
                format!("shipping[{i}].min_days"),
                "must not exceed max_days",
            ));
        }
    }
    if shipping.is_empty() {
        errors.push(FieldError::new(
            "shipping",
            "an offer needs at least one shipping method",
        ));
    }
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(field, format!("must be at most {max} characters")));
    } else if has_control_characters(value) {
        errors.push(FieldError::new(field, "must not contain control characters"));
    }
}

fn has_control_characters(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic())
}

/// The refused fields of a supplier's return policy, under `prefix` (none when empty).
fn check_return_policy(errors: &mut Vec<FieldError>, prefix: &str, policy: &dropline_domain::catalog::ReturnPolicy) {
    let field = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let max = dropline_domain::catalog::MAX_RETURN_WINDOW_DAYS;
    if policy.window_days > max {
        errors.push(FieldError::new(
            field("window_days"),
            format!("must be between 0 and {max}"),
        ));
    }
    if let Some(address) = &policy.return_address {
        push_address_errors(errors, &field("return_address"), address);
    }
}

fn push_address_errors(errors: &mut Vec<FieldError>, prefix: &str, address: &Address) {
    for finding in validate_address(address).into_iter().filter(Finding::is_error) {
        errors.push(FieldError::new(format!("{prefix}.{}", finding.field), finding.message));
    }
}

/// The refused fields of a store's settings, under `settings.` (the rules are in
/// [`crate::store_settings`], shared with the API's reading of a body).
fn check_settings(errors: &mut Vec<FieldError>, settings: &StoreSettings) {
    for error in crate::store_settings::check_store_settings(settings) {
        errors.push(FieldError::new(format!("settings.{}", error.field), error.reason));
    }
}

/// Checks what the domain cannot: identifiers and texts of an incoming order.
fn check_incoming(incoming: &IncomingOrder, store: &Shop) -> Result<(), AppError> {
    let mut errors = Vec::new();
    check_text(&mut errors, "external_id", &incoming.external_id, 200);
    check_text(&mut errors, "number", &incoming.number, 200);
    if incoming.currency != store.currency {
        errors.push(FieldError::new(
            "currency",
            format!("must be the store currency {}", store.currency),
        ));
    }
    if incoming.lines.is_empty() {
        errors.push(FieldError::new("lines", "an order needs at least one line"));
    }
    if incoming.lines.len() > 1000 {
        errors.push(FieldError::new("lines", "at most 1000 lines"));
    }
    for (i, line) in incoming.lines.iter().enumerate() {
        check_text(&mut errors, &format!("lines[{i}].sku"), &line.sku, 200);
        check_text(&mut errors, &format!("lines[{i}].title"), &line.title, 500);
        if line.quantity == 0 {
            errors.push(FieldError::new(format!("lines[{i}].quantity"), "must be at least 1"));
        }
        if line.quantity > 100_000 {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                "must be at most 100000",
            ));
        }
    }
    if let Some(email) = &incoming.customer.email
        && !email.is_empty()
        && !looks_like_email(email)
    {
        errors.push(FieldError::new("customer.email", "is not an email address"));
    }
    for (field, amount) in [
        ("discount_total", incoming.discount_total),
        ("tax_total", incoming.tax_total),
    ] {
        if let Some(amount) = amount
            && let Err(dropline_domain::order::OrderError::Invalid { field, reason }) =
                dropline_domain::order::check_order_amount(field, amount, incoming.currency)
        {
            errors.push(FieldError::new(field, reason));
        }
    }
    refuse_control_characters(&mut errors, incoming);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// Text with a NUL or another control character (other than tab and line breaks) is no
/// name or address: it is refused with its field rather than stored (PostgreSQL cannot
/// even store a NUL in a JSON document).
fn refuse_control_characters(errors: &mut Vec<FieldError>, incoming: &IncomingOrder) {
    let customer = &incoming.customer;
    let address = &incoming.shipping_address;
    // external_id, number, sku and title go through `check_text`, which refuses them too.
    let mut fields: Vec<(String, Option<&str>)> = vec![
        ("customer.name".into(), Some(&customer.name)),
        ("customer.email".into(), customer.email.as_deref()),
        ("customer.phone".into(), customer.phone.as_deref()),
        ("shipping_address.first_name".into(), Some(&address.first_name)),
        ("shipping_address.last_name".into(), Some(&address.last_name)),
        ("shipping_address.company".into(), address.company.as_deref()),
        ("shipping_address.address1".into(), Some(&address.address1)),
        ("shipping_address.address2".into(), address.address2.as_deref()),
        ("shipping_address.city".into(), Some(&address.city)),
        ("shipping_address.region".into(), address.region.as_deref()),
        ("shipping_address.postal_code".into(), Some(&address.postal_code)),
        ("shipping_address.country_code".into(), Some(&address.country_code)),
        ("shipping_address.phone".into(), address.phone.as_deref()),
    ];
    for (i, line) in incoming.lines.iter().enumerate() {
        fields.push((format!("lines[{i}].external_id"), line.external_id.as_deref()));
        fields.push((format!("lines[{i}].variant_title"), line.variant_title.as_deref()));
    }
    for (field, value) in fields {
        if value.is_some_and(has_control_characters) {
            errors.push(FieldError::new(field, "must not contain control characters"));
        }
    }
}

fn looks_like_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !domain.contains('@'),
        None => false,
    }
}

/// Keeps what a change closure made (the closure may run again on a write conflict; the
/// last run's value is the one written).
pub(crate) struct Made<T>(std::sync::Mutex<Option<T>>);

impl<T> Made<T> {
    pub(crate) fn new() -> Self {
        Self(std::sync::Mutex::new(None))
    }

    pub(crate) fn set(&self, value: T) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(value);
        }
    }

    pub(crate) fn take(self, what: &'static str) -> Result<T, AppError> {
        self.0.into_inner().ok().flatten().ok_or(AppError::NotFound(what))
    }
}
