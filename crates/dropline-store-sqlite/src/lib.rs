//! dropline's [`Store`] and [`JobQueue`] on embedded SQLite: the default backend of a
//! single-node installation, one file in the data directory.
//!
//! Every write (change sets, catalogue writes, job claims) goes through ONE writer thread
//! that owns the write connection and commits all the writes waiting in one transaction
//! (group commit). A refused write fails alone and leaves no trace: the batch runs again with
//! a savepoint per write. With [`Synchronous::Full`] a write is answered only once a sync
//! thread has flushed the WAL to disk, while the writer already runs the next batch; a
//! checkpointer thread copies the WAL into the database beside it. Reads use a small pool of
//! read-only connections on blocking threads; in WAL mode they never wait for the writer.
//!
//! This crate never decides anything about orders: it stores what the use cases hand it and
//! gives it back. It never acknowledges a write before it is committed (and, with
//! [`Synchronous::Full`], on disk), never writes from anywhere but the writer thread, never
//! keeps anything in memory that grows with the data, and never uses a schema other than the
//! one its own `migrations/` build.

mod accounts;
mod catalog;
mod checkpoint;
mod facts;
mod inventory;
mod jobs;
mod migrations;
mod orders;
mod payouts;
mod rates;
mod reader;
mod sql;
mod writer;

use async_trait::async_trait;
use checkpoint::Checkpointer;
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
use reader::ReadPool;
use rusqlite::Connection;
use sql::{SqlResult, micros, to_json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use time::OffsetDateTime;
use writer::{Durability, Writer};

/// How hard the store makes each write durable before acknowledging it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// `synchronous=FULL`: every commit flushes the WAL to disk before the writer answers,
    /// so an acknowledged write survives a power cut.
    #[default]
    Full,
    /// The same guarantee for the writer's callers (answered only once their batch is on
    /// disk), reached differently: the writer commits with `synchronous=NORMAL` and a sync
    /// thread flushes the WAL file before answering, so the flush of one batch overlaps the
    /// work of the next. Readers may see a batch a few milliseconds before it is on disk.
    FullOverlapped,
    /// `synchronous=NORMAL`: acknowledged at commit; survives a crash of dropline, but the
    /// last writes may be lost on a power cut. The database stays consistent either way.
    Normal,
}

/// How [`SqliteStore::open`] sets the database up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Durability of commits; [`Synchronous::Full`] unless chosen otherwise.
    pub synchronous: Synchronous,
    /// How long a connection waits for a lock held by another process before giving up.
    pub busy_timeout: Duration,
    /// Read-only connections kept for reads (at least one).
    pub read_connections: usize,
    /// Most writes committed in one transaction.
    pub max_batch: usize,
    /// Writes that may wait for the writer before callers wait to hand theirs over.
    pub queue_capacity: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            read_connections: 4,
            max_batch: 512,
            queue_capacity: 4096,
        }
    }
}

/// Counters of the writer since the store was opened, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SqliteStats {
    /// Transactions committed (or attempted): one per batch.
    pub batches: u64,
    /// Writes (change sets, catalogue writes, job claims and updates) in those batches.
    pub writes: u64,
    /// Batches that had a refused write and were run again with a savepoint per write.
    pub refused_batches: u64,
}

/// The SQLite backend: [`Store`] and [`JobQueue`] over one database file. Cheap to clone;
/// the writer thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    // Dropped in this order: readers and the checkpointer close first, so the writer's
    // connection is the last one and its close checkpoints and removes the WAL.
    reader: Arc<ReadPool>,
    _checkpointer: Checkpointer,
    writer: Writer,
}

fn open_write_connection(path: &Path, options: &SqliteOptions) -> Result<Connection, StoreError> {
    // Each connection to `:memory:` would be a database of its own.
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Err(StoreError::Other(
            "the SQLite store needs a database file, not an in-memory database".into(),
        ));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", parent.display())))?;
    }
    let conn = Connection::open(path).store()?;
    conn.busy_timeout(options.busy_timeout).store()?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .store()?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Other(format!(
            "{} cannot use write-ahead logging (journal mode is {mode})",
            path.display()
        )));
    }
    // FULL for this connection's own commits (migrations, `migrate`); the store's writer
    // switches to NORMAL and flushes the WAL itself (see [`Synchronous::Full`]).
    conn.pragma_update(None, "synchronous", "FULL").store()?;
    conn.pragma_update(None, "foreign_keys", "ON").store()?;
    conn.pragma_update(None, "temp_store", "MEMORY").store()?;
    // Bounded memory: a 32 MiB page cache, and the WAL file cut back to 64 MiB after checkpoints.
    conn.pragma_update(None, "cache_size", -32_768).store()?;
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
        .store()?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// The WAL file of the database at `path`, opened to be flushed.
fn wal_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(PathBuf::from(name))
}

/// WAL pages after which the writer itself checkpoints (see [`SqliteStore::open`]).
const WRITER_CHECKPOINT_PAGES: i64 = 4096;

/// Creates the database file at `path` if needed and applies this crate's migrations that it
/// lacks, returning their names (empty when the schema is current). For `dropline migrate`;
/// [`SqliteStore::open`] does the same by itself.
pub fn migrate(path: &Path) -> Result<Vec<String>, StoreError> {
    let mut conn = open_write_connection(path, &SqliteOptions::default())?;
    migrations::run(&mut conn)
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) the database at `path`, sets it up
    /// (WAL, synchronous, busy timeout, foreign keys), applies the migrations it lacks and
    /// starts the writer thread.
    pub fn open(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        let mut conn = open_write_connection(path, &options)?;
        migrations::run(&mut conn)?;
        let reader = Arc::new(ReadPool::open(
            path,
            options.read_connections.max(1),
            options.busy_timeout,
        )?);
        // The checkpointer thread copies the WAL into the database beside the writer. The
        // writer still checkpoints now and then: only a checkpoint that catches up right after
        // a commit lets SQLite start the WAL over, and by then the checkpointer has copied
        // nearly everything.
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .store()?;
        let checkpointer = Checkpointer::start(open_write_connection(path, &options)?)?;
        let durability = match options.synchronous {
            Synchronous::Full => Durability::Commit,
            Synchronous::FullOverlapped => match wal_file(path) {
                Ok(wal) => Durability::Flush(wal),
                Err(error) => {
                    // Still durable, only slower: the writer flushes inside each commit.
                    tracing::warn!(%error, "cannot open the WAL file; SQLite flushes it itself");
                    Durability::Commit
                }
            },
            Synchronous::Normal => Durability::Commit,
        };
        if matches!(durability, Durability::Flush(_)) || options.synchronous == Synchronous::Normal {
            conn.pragma_update(None, "synchronous", "NORMAL").store()?;
        }
        let writer = Writer::start(conn, options.max_batch, options.queue_capacity, durability)?;
        tracing::debug!(path = %path.display(), "SQLite store open");
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                reader,
                _checkpointer: checkpointer,
                writer,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// What the writer has done since the store was opened.
    pub fn stats(&self) -> SqliteStats {
        let counters = self.inner.writer.counters();
        SqliteStats {
            batches: counters.batches.load(Ordering::Relaxed),
            writes: counters.writes.load(Ordering::Relaxed),
            refused_batches: counters.refused_batches.load(Ordering::Relaxed),
        }
    }

    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.inner.reader.read(work).await
    }

    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.inner.writer.write(work).await
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_store(&self, record: StoreRecord) -> Result<(), StoreError> {
        let doc = catalog::store_doc(&record.store)?;
        let connection = catalog::connection_doc(&record.connection)?;
        self.write(move |conn| catalog::insert_store(conn, &record, &doc, &connection))
            .await
    }

    async fn update_store(&self, store: Shop) -> Result<(), StoreError> {
        let doc = catalog::store_doc(&store)?;
        self.write(move |conn| catalog::update_store(conn, &store, &doc)).await
    }

    async fn update_store_connection(&self, id: StoreId, connection: StoreConnection) -> Result<(), StoreError> {
        let connection = catalog::connection_doc(&connection)?;
        self.write(move |conn| catalog::update_store_connection(conn, id, &connection))
            .await
    }

    async fn replace_store_token_hash(&self, id: StoreId, token_hash: &str) -> Result<(), StoreError> {
        let token_hash = token_hash.to_string();
        self.write(move |conn| catalog::replace_store_token_hash(conn, id, &token_hash))
            .await
    }

    async fn delivery_seen(&self, store_id: StoreId, delivery_id: &str) -> Result<bool, StoreError> {
        let delivery_id = delivery_id.to_string();
        self.read(move |conn| orders::delivery_seen(conn, store_id, &delivery_id))
            .await
    }

    async fn get_store(&self, id: StoreId) -> Result<Option<StoreRecord>, StoreError> {
        self.read(move |conn| catalog::get_store(conn, id)).await
    }

    async fn store_by_token_hash(&self, token_hash: &str) -> Result<Option<StoreRecord>, StoreError> {
        let token_hash = token_hash.to_string();
        self.read(move |conn| catalog::store_by_token_hash(conn, &token_hash))
            .await
    }

    async fn list_stores(&self) -> Result<Vec<StoreRecord>, StoreError> {
        self.read(catalog::list_stores).await
    }

    async fn insert_supplier(&self, supplier: Supplier) -> Result<(), StoreError> {
        let doc = to_json(&supplier)?;
        self.write(move |conn| catalog::insert_supplier(conn, &supplier, &doc))
            .await
    }

    async fn update_supplier(&self, supplier: Supplier) -> Result<(), StoreError> {
        let doc = to_json(&supplier)?;
        self.write(move |conn| catalog::update_supplier(conn, &supplier, &doc))
            .await
    }

    async fn get_supplier(&self, id: SupplierId) -> Result<Option<Supplier>, StoreError> {
        self.read(move |conn| catalog::get_supplier(conn, id)).await
    }

    async fn list_suppliers(&self, store_id: Option<StoreId>) -> Result<Vec<Supplier>, StoreError> {
        self.read(move |conn| catalog::list_suppliers(conn, store_id)).await
    }

    async fn insert_product(&self, product: Product) -> Result<(), StoreError> {
        self.write(move |conn| catalog::insert_product(conn, &product)).await
    }

    async fn get_product(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        self.read(move |conn| catalog::get_product(conn, id)).await
    }

    async fn list_products(&self, store_id: Option<StoreId>) -> Result<Vec<Product>, StoreError> {
        self.read(move |conn| catalog::list_products(conn, store_id)).await
    }

    async fn variants_by_sku(&self, store_id: StoreId, skus: &[String]) -> Result<Vec<Variant>, StoreError> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let skus = skus.to_vec();
        self.read(move |conn| catalog::variants_by_sku(conn, store_id, &skus))
            .await
    }

    async fn variants_by_platform_id(&self, store_id: StoreId, ids: &[String]) -> Result<Vec<Variant>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        self.read(move |conn| catalog::variants_by_platform_id(conn, store_id, &ids))
            .await
    }

    async fn import_products(&self, store_id: StoreId, products: Vec<Product>) -> Result<CatalogImport, StoreError> {
        self.write(move |conn| catalog::import_products(conn, store_id, &products))
            .await
    }

    async fn variant_store(&self, variant_id: VariantId) -> Result<Option<StoreId>, StoreError> {
        self.read(move |conn| catalog::variant_store(conn, variant_id)).await
    }

    async fn insert_offer(&self, store_id: StoreId, offer: Offer) -> Result<(), StoreError> {
        let doc = to_json(&offer)?;
        self.write(move |conn| catalog::insert_offer(conn, store_id, &offer, &doc))
            .await
    }

    async fn update_offer(&self, offer: Offer) -> Result<(), StoreError> {
        let doc = to_json(&offer)?;
        self.write(move |conn| catalog::update_offer(conn, &offer, &doc)).await
    }

    async fn offers_for_variants(&self, variant_ids: &[VariantId]) -> Result<Vec<Offer>, StoreError> {
        if variant_ids.is_empty() {
            return Ok(Vec::new());
        }
        let variant_ids = variant_ids.to_vec();
        self.read(move |conn| catalog::offers_for_variants(conn, &variant_ids))
            .await
    }

    async fn list_offers(&self, store_id: Option<StoreId>) -> Result<Vec<Offer>, StoreError> {
        self.read(move |conn| catalog::list_offers(conn, store_id)).await
    }

    async fn commit(&self, changes: ChangeSet) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        // JSON and ids are encoded here, on the caller's task, so the writer only runs SQL.
        let encoded = orders::encode_change_set(changes, OffsetDateTime::now_utc())?;
        self.write(move |conn| orders::apply_change_set(conn, &encoded)).await
    }

    async fn get_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.read(move |conn| orders::get_order(conn, id)).await
    }

    async fn order_by_external_id(&self, store_id: StoreId, external_id: &str) -> Result<Option<Order>, StoreError> {
        let external_id = external_id.to_string();
        self.read(move |conn| orders::order_by_external_id(conn, store_id, &external_id))
            .await
    }

    async fn order_of_supplier_order(&self, id: SupplierOrderId) -> Result<Option<OrderId>, StoreError> {
        self.read(move |conn| orders::order_of_supplier_order(conn, id)).await
    }

    async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| orders::list_orders(conn, &filter)).await
    }

    async fn count_orders_by_state(&self, store_id: Option<StoreId>) -> Result<Vec<(OrderState, u64)>, StoreError> {
        self.read(move |conn| orders::count_orders_by_state(conn, store_id))
            .await
    }

    async fn timeline(&self, order_id: OrderId) -> Result<Vec<TimelineEvent>, StoreError> {
        self.read(move |conn| orders::timeline(conn, order_id)).await
    }

    async fn list_messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| orders::list_messages(conn, &filter)).await
    }

    async fn get_message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        self.read(move |conn| orders::get_message(conn, id)).await
    }

    async fn order_by_tracking_token(&self, token: &str) -> Result<Option<Order>, StoreError> {
        let token = token.to_string();
        self.read(move |conn| orders::order_by_tracking_token(conn, &token))
            .await
    }

    async fn shipments_by_tracking_number(&self, tracking_number: &str) -> Result<Vec<ShipmentRef>, StoreError> {
        let tracking_number = tracking_number.to_string();
        self.read(move |conn| orders::shipments_by_tracking_number(conn, &tracking_number))
            .await
    }

    async fn list_exceptions(&self, filter: &ExceptionFilter) -> Result<Vec<ExceptionEntry>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| orders::list_exceptions(conn, &filter)).await
    }

    async fn lane_samples(&self, store_id: StoreId, since: OffsetDateTime) -> Result<Vec<LaneSample>, StoreError> {
        self.read(move |conn| orders::lane_samples(conn, store_id, since)).await
    }

    async fn orders_placed_between(
        &self,
        store_id: StoreId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<dropline_app::ports::PlacedCursor>,
        limit: u32,
    ) -> Result<dropline_app::ports::PlacedPage, StoreError> {
        let (from, to) = (micros(from), micros(to));
        self.read(move |conn| facts::orders_placed_between(conn, store_id, from, to, after, limit))
            .await
    }

    async fn daily_metrics(
        &self,
        store_id: Option<StoreId>,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<dropline_app::metrics::DailyMetrics>, StoreError> {
        let (from, to) = (micros(from), micros(to));
        self.read(move |conn| facts::daily_metrics(conn, store_id, from, to))
            .await
    }

    async fn count_orders_with_open_exceptions(&self, store_id: Option<StoreId>) -> Result<u64, StoreError> {
        self.read(move |conn| facts::count_orders_with_open_exceptions(conn, store_id))
            .await
    }

    async fn delivered_orders(
        &self,
        store_id: StoreId,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError> {
        self.read(move |conn| payouts::delivered_orders(conn, store_id, after, limit))
            .await
    }

    async fn insert_payout(&self, payout: Payout, counted_minor: i64) -> Result<(), StoreError> {
        self.write(move |conn| payouts::insert_payout(conn, &payout, counted_minor))
            .await
    }

    async fn update_payout(&self, payout: Payout, from: PayoutState) -> Result<(), StoreError> {
        self.write(move |conn| payouts::update_payout(conn, &payout, from))
            .await
    }

    async fn get_payout(&self, id: PayoutId) -> Result<Option<Payout>, StoreError> {
        self.read(move |conn| payouts::get_payout(conn, id)).await
    }

    async fn list_payouts(&self, filter: &PayoutFilter) -> Result<Vec<Payout>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| payouts::list_payouts(conn, &filter)).await
    }

    async fn payout_totals(&self, store_id: StoreId) -> Result<PayoutTotals, StoreError> {
        self.read(move |conn| payouts::payout_totals(conn, store_id)).await
    }

    async fn insert_exchange_rate(&self, rate: dropline_domain::ledger::ExchangeRate) -> Result<(), StoreError> {
        self.write(move |conn| rates::insert_exchange_rate(conn, &rate)).await
    }

    async fn exchange_rate(
        &self,
        from: dropline_domain::money::Currency,
        to: dropline_domain::money::Currency,
        on: time::Date,
    ) -> Result<Option<dropline_domain::ledger::ExchangeRate>, StoreError> {
        self.read(move |conn| rates::exchange_rate(conn, from, to, on)).await
    }

    async fn list_exchange_rates(&self) -> Result<Vec<dropline_domain::ledger::ExchangeRate>, StoreError> {
        self.read(rates::list_exchange_rates).await
    }

    async fn reserved_units(&self, variant_ids: &[VariantId]) -> Result<Vec<(VariantId, u32)>, StoreError> {
        if variant_ids.is_empty() {
            return Ok(Vec::new());
        }
        let variant_ids = variant_ids.to_vec();
        self.read(move |conn| inventory::reserved_units(conn, &variant_ids))
            .await
    }

    async fn offers_of_supplier(
        &self,
        supplier_id: SupplierId,
        after: Option<OfferId>,
        limit: u32,
    ) -> Result<Vec<Offer>, StoreError> {
        self.read(move |conn| inventory::offers_of_supplier(conn, supplier_id, after, limit))
            .await
    }

    async fn apply_offer_readings(&self, readings: &[OfferReading]) -> Result<(), StoreError> {
        if readings.is_empty() {
            return Ok(());
        }
        let readings = readings.to_vec();
        self.write(move |conn| inventory::apply_offer_readings(conn, &readings))
            .await
    }

    async fn cost_history(&self, offer_id: OfferId, limit: u32) -> Result<Vec<CostPoint>, StoreError> {
        self.read(move |conn| inventory::cost_history(conn, offer_id, limit))
            .await
    }

    async fn listings(&self, variant_ids: &[VariantId]) -> Result<Vec<Listing>, StoreError> {
        if variant_ids.is_empty() {
            return Ok(Vec::new());
        }
        let variant_ids = variant_ids.to_vec();
        self.read(move |conn| inventory::listings(conn, &variant_ids)).await
    }

    async fn save_listings(&self, listings: &[Listing]) -> Result<(), StoreError> {
        if listings.is_empty() {
            return Ok(());
        }
        let encoded = listings
            .iter()
            .map(inventory::encode_listing)
            .collect::<Result<Vec<_>, _>>()?;
        self.write(move |conn| inventory::save_listings(conn, &encoded)).await
    }

    async fn record_price_change(&self, change: &PriceChange) -> Result<(), StoreError> {
        let change = change.clone();
        let doc = to_json(&change)?;
        self.write(move |conn| inventory::record_price_change(conn, &change, &doc))
            .await
    }

    async fn decide_price_change(&self, change: &PriceChange) -> Result<(), StoreError> {
        let change = change.clone();
        let doc = to_json(&change)?;
        self.write(move |conn| inventory::decide_price_change(conn, &change, &doc))
            .await
    }

    async fn get_price_change(&self, id: PriceChangeId) -> Result<Option<PriceChange>, StoreError> {
        self.read(move |conn| inventory::get_price_change(conn, id)).await
    }

    async fn list_price_changes(
        &self,
        store_id: Option<StoreId>,
        status: Option<PriceChangeStatus>,
        limit: u32,
    ) -> Result<Vec<PriceChange>, StoreError> {
        self.read(move |conn| inventory::list_price_changes(conn, store_id, status, limit))
            .await
    }

    async fn insert_sync_problem(&self, problem: &SyncProblem) -> Result<(), StoreError> {
        let problem = problem.clone();
        let doc = to_json(&problem)?;
        self.write(move |conn| inventory::insert_sync_problem(conn, &problem, &doc))
            .await
    }

    async fn list_sync_problems(
        &self,
        store_id: Option<StoreId>,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<SyncProblem>, StoreError> {
        self.read(move |conn| inventory::list_sync_problems(conn, store_id, open_only, limit))
            .await
    }

    async fn resolve_sync_problem(&self, id: SyncProblemId, at: OffsetDateTime) -> Result<bool, StoreError> {
        let at = inventory::rfc3339(at)?;
        self.write(move |conn| inventory::resolve_sync_problem(conn, id, &at))
            .await
    }

    async fn insert_user(&self, user: User) -> Result<(), StoreError> {
        self.write(move |conn| accounts::insert_user(conn, &user)).await
    }

    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read(move |conn| accounts::get_user(conn, id)).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let email = email.clone();
        self.read(move |conn| accounts::user_by_email(conn, email.as_str()))
            .await
    }

    async fn list_users(&self, store_id: Option<StoreId>) -> Result<Vec<User>, StoreError> {
        self.read(move |conn| accounts::list_users(conn, store_id)).await
    }

    async fn update_user(&self, user: User) -> Result<(), StoreError> {
        self.write(move |conn| accounts::update_user(conn, &user)).await
    }

    async fn insert_session(&self, session: Session) -> Result<(), StoreError> {
        self.write(move |conn| accounts::insert_session(conn, &session)).await
    }

    async fn session_by_token_hash(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let token_hash = token_hash.to_string();
        self.read(move |conn| accounts::session_by_token_hash(conn, &token_hash))
            .await
    }

    async fn touch_session(
        &self,
        token_hash: &str,
        seen_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let token_hash = token_hash.to_string();
        let (seen_at, expires_at) = (micros(seen_at), micros(expires_at));
        self.write(move |conn| accounts::touch_session(conn, &token_hash, seen_at, expires_at))
            .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let token_hash = token_hash.to_string();
        self.write(move |conn| accounts::delete_session(conn, &token_hash))
            .await
    }

    async fn delete_user_sessions(&self, user_id: UserId) -> Result<u64, StoreError> {
        self.write(move |conn| accounts::delete_user_sessions(conn, user_id))
            .await
    }

    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let now = micros(now);
        self.write(move |conn| accounts::delete_expired_sessions(conn, now))
            .await
    }
}

#[async_trait]
impl JobQueue for SqliteStore {
    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease: time::Duration,
        now: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError> {
        let worker = worker.to_string();
        let now_micros = micros(now);
        let lease_until = now
            .checked_add(lease)
            .map(micros)
            .ok_or_else(|| StoreError::Other(format!("a lease of {lease} from {now} is out of range")))?;
        self.write(move |conn| jobs::claim_jobs(conn, &worker, limit, now_micros, lease_until))
            .await
    }

    async fn extend_lease(&self, id: JobId, worker: &str, until: OffsetDateTime) -> Result<bool, StoreError> {
        let worker = worker.to_string();
        let until = micros(until);
        self.write(move |conn| jobs::extend_lease(conn, id, &worker, until))
            .await
    }

    async fn retry_job(&self, id: JobId, error: &str, run_after: OffsetDateTime) -> Result<(), StoreError> {
        let error = error.to_string();
        let run_after = micros(run_after);
        self.write(move |conn| jobs::retry_job(conn, id, &error, run_after))
            .await
    }

    async fn bury_job(&self, id: JobId, error: &str) -> Result<(), StoreError> {
        let error = error.to_string();
        let now = micros(OffsetDateTime::now_utc());
        self.write(move |conn| jobs::bury_job(conn, id, &error, now)).await
    }

    async fn count_pending_jobs(&self) -> Result<u64, StoreError> {
        self.read(jobs::count_pending_jobs).await
    }

    async fn list_buried_jobs(&self, limit: u32) -> Result<Vec<Job>, StoreError> {
        self.read(move |conn| jobs::list_buried_jobs(conn, limit)).await
    }
}
