//! The port implementations: each method hands over to the module that owns its tables.

use crate::PostgresStore;
use async_trait::async_trait;
use dropline_app::ports::{
    CatalogImport, ChangeSet, ExceptionEntry, ExceptionFilter, Job, JobQueue, LaneSample, Message, MessageFilter,
    OrderFilter, PayoutFilter, PayoutTotals, ShipmentRef, Store, StoreError, StoreRecord,
};
use dropline_domain::account::{Email, Session, User};
use dropline_domain::catalog::{Offer, Product, Store as Shop, StoreConnection, Supplier, Variant};
use dropline_domain::ids::{
    JobId, MessageId, OfferId, OrderId, PayoutId, PriceChangeId, ProductId, StoreId, SupplierId, SupplierOrderId,
    SyncProblemId, UserId, VariantId,
};
use dropline_domain::inventory::{CostPoint, Listing, OfferReading, PriceChange, PriceChangeStatus, SyncProblem};
use dropline_domain::order::Order;
use dropline_domain::payout::{Payout, PayoutState};
use dropline_domain::state::OrderState;
use dropline_domain::timeline::TimelineEvent;
use time::OffsetDateTime;

#[async_trait]
impl Store for PostgresStore {
    async fn insert_store(&self, record: StoreRecord) -> Result<(), StoreError> {
        self.insert_store_record(record).await
    }

    async fn update_store(&self, store: Shop) -> Result<(), StoreError> {
        self.update_store_record(store).await
    }

    async fn update_store_connection(&self, id: StoreId, connection: StoreConnection) -> Result<(), StoreError> {
        self.update_store_connection_record(id, connection).await
    }

    async fn replace_store_token_hash(&self, id: StoreId, token_hash: &str) -> Result<(), StoreError> {
        self.replace_store_token_hash_record(id, token_hash).await
    }

    async fn delivery_seen(&self, store_id: StoreId, delivery_id: &str) -> Result<bool, StoreError> {
        self.fetch_delivery_seen(store_id, delivery_id).await
    }

    async fn get_store(&self, id: StoreId) -> Result<Option<StoreRecord>, StoreError> {
        self.fetch_store(id).await
    }

    async fn store_by_token_hash(&self, token_hash: &str) -> Result<Option<StoreRecord>, StoreError> {
        self.fetch_store_by_token_hash(token_hash).await
    }

    async fn list_stores(&self) -> Result<Vec<StoreRecord>, StoreError> {
        self.fetch_stores().await
    }

    async fn insert_supplier(&self, supplier: Supplier) -> Result<(), StoreError> {
        self.insert_supplier_record(supplier).await
    }

    async fn update_supplier(&self, supplier: Supplier) -> Result<(), StoreError> {
        self.update_supplier_record(supplier).await
    }

    async fn get_supplier(&self, id: SupplierId) -> Result<Option<Supplier>, StoreError> {
        self.fetch_supplier(id).await
    }

    async fn list_suppliers(&self, store_id: Option<StoreId>) -> Result<Vec<Supplier>, StoreError> {
        self.fetch_suppliers(store_id).await
    }

    async fn insert_product(&self, product: Product) -> Result<(), StoreError> {
        self.insert_product_record(product).await
    }

    async fn get_product(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        self.fetch_product(id).await
    }

    async fn list_products(&self, store_id: Option<StoreId>) -> Result<Vec<Product>, StoreError> {
        self.fetch_products(store_id).await
    }

    async fn variants_by_sku(&self, store_id: StoreId, skus: &[String]) -> Result<Vec<Variant>, StoreError> {
        self.fetch_variants_by_sku(store_id, skus).await
    }

    async fn variants_by_platform_id(&self, store_id: StoreId, ids: &[String]) -> Result<Vec<Variant>, StoreError> {
        self.fetch_variants_by_platform_id(store_id, ids).await
    }

    async fn import_products(&self, store_id: StoreId, products: Vec<Product>) -> Result<CatalogImport, StoreError> {
        self.import_product_records(store_id, products).await
    }

    async fn variant_store(&self, variant_id: VariantId) -> Result<Option<StoreId>, StoreError> {
        self.fetch_variant_store(variant_id).await
    }

    async fn insert_offer(&self, store_id: StoreId, offer: Offer) -> Result<(), StoreError> {
        self.insert_offer_record(store_id, offer).await
    }

    async fn update_offer(&self, offer: Offer) -> Result<(), StoreError> {
        self.update_offer_record(offer).await
    }

    async fn offers_for_variants(&self, variant_ids: &[VariantId]) -> Result<Vec<Offer>, StoreError> {
        self.fetch_offers_for_variants(variant_ids).await
    }

    async fn list_offers(&self, store_id: Option<StoreId>) -> Result<Vec<Offer>, StoreError> {
        self.fetch_offers(store_id).await
    }

    async fn commit(&self, changes: ChangeSet) -> Result<(), StoreError> {
        self.commit_changes(changes).await
    }

    async fn get_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.fetch_order(id).await
    }

    async fn order_by_external_id(&self, store_id: StoreId, external_id: &str) -> Result<Option<Order>, StoreError> {
        self.fetch_order_by_external_id(store_id, external_id).await
    }

    async fn order_of_supplier_order(&self, id: SupplierOrderId) -> Result<Option<OrderId>, StoreError> {
        self.fetch_order_of_supplier_order(id).await
    }

    async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, StoreError> {
        self.fetch_orders(filter).await
    }

    async fn count_orders_by_state(&self, store_id: Option<StoreId>) -> Result<Vec<(OrderState, u64)>, StoreError> {
        self.fetch_order_counts(store_id).await
    }

    async fn timeline(&self, order_id: OrderId) -> Result<Vec<TimelineEvent>, StoreError> {
        self.fetch_timeline(order_id).await
    }

    async fn list_messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError> {
        self.fetch_messages(filter).await
    }

    async fn get_message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        self.fetch_message(id).await
    }

    async fn order_by_tracking_token(&self, token: &str) -> Result<Option<Order>, StoreError> {
        self.fetch_order_by_tracking_token(token).await
    }

    async fn shipments_by_tracking_number(&self, tracking_number: &str) -> Result<Vec<ShipmentRef>, StoreError> {
        self.fetch_shipments_by_tracking_number(tracking_number).await
    }

    async fn list_exceptions(&self, filter: &ExceptionFilter) -> Result<Vec<ExceptionEntry>, StoreError> {
        self.fetch_exceptions(filter).await
    }

    async fn lane_samples(&self, store_id: StoreId, since: OffsetDateTime) -> Result<Vec<LaneSample>, StoreError> {
        self.fetch_lane_samples(store_id, since).await
    }

    async fn orders_placed_between(
        &self,
        store_id: StoreId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<dropline_app::ports::PlacedCursor>,
        limit: u32,
    ) -> Result<dropline_app::ports::PlacedPage, StoreError> {
        self.fetch_orders_placed_between(store_id, from, to, after, limit).await
    }

    async fn daily_metrics(
        &self,
        store_id: Option<StoreId>,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<dropline_app::metrics::DailyMetrics>, StoreError> {
        self.fetch_daily_metrics(store_id, from, to).await
    }

    async fn count_orders_with_open_exceptions(&self, store_id: Option<StoreId>) -> Result<u64, StoreError> {
        self.fetch_orders_with_open_exceptions(store_id).await
    }

    async fn delivered_orders(
        &self,
        store_id: StoreId,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError> {
        self.fetch_delivered_orders(store_id, after, limit).await
    }

    async fn insert_payout(&self, payout: Payout, counted_minor: i64) -> Result<(), StoreError> {
        self.insert_payout_record(payout, counted_minor).await
    }

    async fn update_payout(&self, payout: Payout, from: PayoutState) -> Result<(), StoreError> {
        self.update_payout_record(payout, from).await
    }

    async fn get_payout(&self, id: PayoutId) -> Result<Option<Payout>, StoreError> {
        self.fetch_payout(id).await
    }

    async fn list_payouts(&self, filter: &PayoutFilter) -> Result<Vec<Payout>, StoreError> {
        self.fetch_payouts(filter).await
    }

    async fn payout_totals(&self, store_id: StoreId) -> Result<PayoutTotals, StoreError> {
        self.fetch_payout_totals(store_id).await
    }

    async fn insert_exchange_rate(&self, rate: dropline_domain::ledger::ExchangeRate) -> Result<(), StoreError> {
        self.insert_exchange_rate_record(rate).await
    }

    async fn exchange_rate(
        &self,
        from: dropline_domain::money::Currency,
        to: dropline_domain::money::Currency,
        on: time::Date,
    ) -> Result<Option<dropline_domain::ledger::ExchangeRate>, StoreError> {
        self.fetch_exchange_rate(from, to, on).await
    }

    async fn list_exchange_rates(&self) -> Result<Vec<dropline_domain::ledger::ExchangeRate>, StoreError> {
        self.fetch_exchange_rates().await
    }

    async fn reserved_units(&self, variant_ids: &[VariantId]) -> Result<Vec<(VariantId, u32)>, StoreError> {
        self.fetch_reserved_units(variant_ids).await
    }

    async fn offers_of_supplier(
        &self,
        supplier_id: SupplierId,
        after: Option<OfferId>,
        limit: u32,
    ) -> Result<Vec<Offer>, StoreError> {
        self.fetch_offers_of_supplier(supplier_id, after, limit).await
    }

    async fn apply_offer_readings(&self, readings: &[OfferReading]) -> Result<(), StoreError> {
        self.apply_readings(readings).await
    }

    async fn cost_history(&self, offer_id: OfferId, limit: u32) -> Result<Vec<CostPoint>, StoreError> {
        self.fetch_cost_history(offer_id, limit).await
    }

    async fn listings(&self, variant_ids: &[VariantId]) -> Result<Vec<Listing>, StoreError> {
        self.fetch_listings(variant_ids).await
    }

    async fn save_listings(&self, listings: &[Listing]) -> Result<(), StoreError> {
        self.upsert_listings(listings).await
    }

    async fn record_price_change(&self, change: &PriceChange) -> Result<(), StoreError> {
        self.insert_price_change(change).await
    }

    async fn decide_price_change(&self, change: &PriceChange) -> Result<(), StoreError> {
        self.decide_pending_price_change(change).await
    }

    async fn get_price_change(&self, id: PriceChangeId) -> Result<Option<PriceChange>, StoreError> {
        self.fetch_price_change(id).await
    }

    async fn list_price_changes(
        &self,
        store_id: Option<StoreId>,
        status: Option<PriceChangeStatus>,
        limit: u32,
    ) -> Result<Vec<PriceChange>, StoreError> {
        self.fetch_price_changes(store_id, status, limit).await
    }

    async fn insert_sync_problem(&self, problem: &SyncProblem) -> Result<(), StoreError> {
        self.insert_sync_problem_record(problem).await
    }

    async fn list_sync_problems(
        &self,
        store_id: Option<StoreId>,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<SyncProblem>, StoreError> {
        self.fetch_sync_problems(store_id, open_only, limit).await
    }

    async fn resolve_sync_problem(&self, id: SyncProblemId, at: OffsetDateTime) -> Result<bool, StoreError> {
        self.resolve_sync_problem_record(id, at).await
    }

    async fn insert_user(&self, user: User) -> Result<(), StoreError> {
        self.insert_user_record(user).await
    }

    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.fetch_user(id).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.fetch_user_by_email(email).await
    }

    async fn list_users(&self, store_id: Option<StoreId>) -> Result<Vec<User>, StoreError> {
        self.fetch_users(store_id).await
    }

    async fn update_user(&self, user: User) -> Result<(), StoreError> {
        self.update_user_record(user).await
    }

    async fn insert_session(&self, session: Session) -> Result<(), StoreError> {
        self.insert_session_record(session).await
    }

    async fn session_by_token_hash(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        self.fetch_session(token_hash).await
    }

    async fn touch_session(
        &self,
        token_hash: &str,
        seen_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.touch_session_record(token_hash, seen_at, expires_at).await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.delete_session_record(token_hash).await
    }

    async fn delete_user_sessions(&self, user_id: UserId) -> Result<u64, StoreError> {
        self.delete_sessions_of_user(user_id).await
    }

    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.delete_sessions_expired_at(now).await
    }
}

#[async_trait]
impl JobQueue for PostgresStore {
    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease: time::Duration,
        now: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError> {
        self.claim_due_jobs(worker, limit, lease, now).await
    }

    async fn extend_lease(&self, id: JobId, worker: &str, until: OffsetDateTime) -> Result<bool, StoreError> {
        self.extend_job_lease(id, worker, until).await
    }

    async fn retry_job(&self, id: JobId, error: &str, run_after: OffsetDateTime) -> Result<(), StoreError> {
        self.release_job_for_retry(id, error, run_after).await
    }

    async fn bury_job(&self, id: JobId, error: &str) -> Result<(), StoreError> {
        self.bury(id, error).await
    }

    async fn count_pending_jobs(&self) -> Result<u64, StoreError> {
        self.count_live_jobs().await
    }

    async fn list_buried_jobs(&self, limit: u32) -> Result<Vec<Job>, StoreError> {
        self.fetch_buried_jobs(limit).await
    }
}
