//! Group commit: every change set is written in one transaction, and the change sets that
//! arrive while a transaction is being written wait and go together into the next one, so
//! durability costs one WAL flush per batch instead of one per change set.
//!
//! One background task owns the writing. Callers send their change set with a oneshot for
//! the answer; the task drains what is waiting (up to a cap), opens a transaction and writes
//! each change set under its own SAVEPOINT. A change set that is refused (duplicate external
//! id, stale version, ...) is rolled back to its savepoint and answered with its own error;
//! the others of the batch commit. Nobody is answered before COMMIT returns.

use crate::error::store_error;
use crate::finish;
use dropline_app::ports::{
    ChangeSet, DeliveryRecord, Message, MessageUpdate, NewJob, OrderWrite, StoreError, customer_search_key,
};
use dropline_domain::order::Order;
use dropline_domain::timeline::TimelineEvent;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::types::Json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// A change set waiting for the committer, with where to send its answer.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) changes: ChangeSet,
    pub(crate) reply: oneshot::Sender<Result<(), StoreError>>,
}

impl crate::PostgresStore {
    /// Hands the change set to the committer and waits for its answer.
    pub(crate) async fn commit_changes(&self, changes: ChangeSet) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.committer
            .send(Pending { changes, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the commit task has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the commit task stopped before answering".into()))?
    }
}

/// Counts of the group-commit transactions of one store, since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions the committer opened (one per batch).
    pub transactions: u64,
    /// Change sets those transactions carried, refused ones included.
    pub change_sets: u64,
}

#[derive(Debug, Default)]
pub(crate) struct CommitCounters {
    transactions: AtomicU64,
    change_sets: AtomicU64,
}

impl CommitCounters {
    pub(crate) fn snapshot(&self) -> CommitStats {
        CommitStats {
            transactions: self.transactions.load(Ordering::Relaxed),
            change_sets: self.change_sets.load(Ordering::Relaxed),
        }
    }
}

/// The committer: runs until every sender (every clone of the store) is gone.
pub(crate) async fn run_committer(
    pool: PgPool,
    mut receiver: mpsc::Receiver<Pending>,
    max_batch: usize,
    counters: Arc<CommitCounters>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while receiver.recv_many(&mut batch, max_batch).await > 0 {
        let size = batch.len();
        let results = commit_batch(&pool, &batch).await;
        counters.transactions.fetch_add(1, Ordering::Relaxed);
        counters.change_sets.fetch_add(size as u64, Ordering::Relaxed);
        tracing::trace!(size, "group commit");
        for (pending, result) in batch.drain(..).zip(results) {
            // The caller may have given up waiting; its change set is durable all the same.
            let _ = pending.reply.send(result);
        }
    }
}

/// Writes a batch in one transaction; returns one answer per change set, in order.
async fn commit_batch(pool: &PgPool, batch: &[Pending]) -> Vec<Result<(), StoreError>> {
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(err) => return fail_all(batch.len(), store_error(err)),
    };
    // A lone change set needs no savepoint: its failure is the transaction's failure.
    if let [only] = batch {
        let written = write_change_set(&mut tx, &only.changes).await;
        return vec![finish(tx, written).await];
    }
    let mut results = Vec::with_capacity(batch.len());
    for pending in batch {
        if let Err(err) = sqlx::query("SAVEPOINT change_set").execute(&mut *tx).await {
            return fail_all(batch.len(), store_error(err));
        }
        match write_change_set(&mut tx, &pending.changes).await {
            Ok(()) => {
                if let Err(err) = sqlx::query("RELEASE SAVEPOINT change_set").execute(&mut *tx).await {
                    return fail_all(batch.len(), store_error(err));
                }
                results.push(Ok(()));
            }
            Err(refused) => {
                // When even the rollback fails the connection is gone: the whole batch is lost.
                if let Err(err) = sqlx::query("ROLLBACK TO SAVEPOINT change_set").execute(&mut *tx).await {
                    tracing::warn!(error = %err, "group commit: rollback to savepoint failed");
                    return fail_all(batch.len(), store_error(err));
                }
                results.push(Err(refused));
            }
        }
    }
    if let Err(err) = tx.commit().await {
        let err = store_error(err);
        for result in &mut results {
            if result.is_ok() {
                *result = Err(err.clone());
            }
        }
    }
    results
}

fn fail_all(count: usize, err: StoreError) -> Vec<Result<(), StoreError>> {
    vec![Err(err); count]
}

/// Writes one change set: the webhook deliveries first (a redelivery is refused before
/// anything else is written, and a concurrent one waits on the delivery's key), then the
/// orders with their reservations (the rest refers to them), timeline, jobs, messages and
/// their updates, the finished jobs and the warehouse stock moves.
///
/// The stock check of [`ChangeSet::stock_checked`] comes last, once everything else is
/// written: a refusal rolls the whole change set back all the same, and the offers it reads
/// then count what this change set took from the seller's own warehouse.
async fn write_change_set(conn: &mut PgConnection, changes: &ChangeSet) -> Result<(), StoreError> {
    for delivery in &changes.deliveries {
        insert_delivery(conn, delivery).await?;
    }
    // Variants of which a checked order now holds more units than before this change set.
    let mut grown: Vec<Uuid> = Vec::new();
    for write in &changes.orders {
        let (OrderWrite::Insert(order) | OrderWrite::Update(order)) = write;
        let checked = changes.stock_checked.contains(&order.id);
        let held_before = match write {
            OrderWrite::Update(_) if checked => crate::inventory::reservations_of(conn, order.id.0).await?,
            _ => Vec::new(),
        };
        match write {
            OrderWrite::Insert(order) => insert_order(conn, order).await?,
            OrderWrite::Update(order) => update_order(conn, order).await?,
        }
        if checked {
            crate::inventory::note_growth(&held_before, &crate::inventory::reservations(order), &mut grown);
        }
    }
    for event in &changes.timeline {
        insert_timeline_event(conn, event).await?;
    }
    for job in &changes.jobs {
        insert_job(conn, job).await?;
    }
    for message in &changes.messages {
        insert_message(conn, message).await?;
    }
    for update in &changes.message_updates {
        update_message(conn, update).await?;
    }
    if !changes.finished_jobs.is_empty() {
        let ids: Vec<Uuid> = changes.finished_jobs.iter().map(|id| id.0).collect();
        sqlx::query("DELETE FROM jobs WHERE id = ANY($1)")
            .bind(ids)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    for change in &changes.stock_changes {
        // A known count moves (never below zero); an unknown one stays unknown.
        sqlx::query(
            "UPDATE offers SET doc = jsonb_set(doc, '{stock}', to_jsonb(GREATEST(0, (doc->>'stock')::bigint + $2))) \
             WHERE id = $1 AND jsonb_typeof(doc->'stock') = 'number'",
        )
        .bind(change.offer_id.0)
        .bind(change.delta)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    }
    crate::inventory::check_stock(conn, &grown).await
}

fn stored_version(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| StoreError::Other(format!("order version {version} is out of range")))
}

async fn insert_order(conn: &mut PgConnection, order: &Order) -> Result<(), StoreError> {
    let version = stored_version(order.version)?;
    sqlx::query(
        "INSERT INTO orders \
         (id, store_id, external_id, number, state, payment_state, placed_at, received_at, updated_at, version, \
          tracking_token, doc, customer_search) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(order.id.0)
    .bind(order.store_id.0)
    .bind(&order.external_id)
    .bind(&order.number)
    .bind(order.state.as_str())
    .bind(order.payment.as_str())
    .bind(order.placed_at)
    .bind(order.received_at)
    .bind(order.updated_at)
    .bind(version)
    .bind(&order.tracking_token)
    .bind(Json(order))
    .bind(customer_search_key(order))
    .execute(&mut *conn)
    .await
    .map_err(|err| match store_error(err) {
        StoreError::Conflict(what) => StoreError::Conflict(format!(
            "order {} of store {}: {what}",
            order.external_id, order.store_id
        )),
        other => other,
    })?;
    insert_side_rows(conn, order).await
}

/// Compare-and-set on the version: the row changes only if nobody wrote it since it was read.
async fn update_order(conn: &mut PgConnection, order: &Order) -> Result<(), StoreError> {
    let read_version = stored_version(order.version)?;
    let new_version = stored_version(order.version.saturating_add(1))?;
    let mut stored = order.clone();
    stored.version = order.version.saturating_add(1);
    let result = sqlx::query(
        "UPDATE orders SET store_id = $3, external_id = $4, number = $5, state = $6, payment_state = $7, \
         placed_at = $8, received_at = $9, updated_at = $10, version = $11, tracking_token = $12, doc = $13, \
         customer_search = $14 WHERE id = $1 AND version = $2",
    )
    .bind(order.id.0)
    .bind(read_version)
    .bind(order.store_id.0)
    .bind(&order.external_id)
    .bind(&order.number)
    .bind(order.state.as_str())
    .bind(order.payment.as_str())
    .bind(order.placed_at)
    .bind(order.received_at)
    .bind(order.updated_at)
    .bind(new_version)
    .bind(&order.tracking_token)
    .bind(Json(&stored))
    .bind(customer_search_key(order))
    .execute(&mut *conn)
    .await
    .map_err(|err| match store_error(err) {
        StoreError::Conflict(what) => StoreError::Conflict(format!("order {}: {what}", order.id)),
        other => other,
    })?;
    if result.rows_affected() == 0 {
        let current: Option<i64> = sqlx::query_scalar("SELECT version FROM orders WHERE id = $1")
            .bind(order.id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(store_error)?;
        return Err(match current {
            Some(current) => StoreError::Conflict(format!(
                "order {} was changed meanwhile (read version {}, stored version {current})",
                order.id, order.version
            )),
            None => StoreError::NotFound(format!("order {}", order.id)),
        });
    }
    rewrite_side_rows(conn, order).await
}

/// Rewrites the side tables of an order (supplier orders, shipments, open exceptions,
/// reservations) from the aggregate: one statement clears them, then [`insert_side_rows`].
async fn rewrite_side_rows(conn: &mut PgConnection, order: &Order) -> Result<(), StoreError> {
    sqlx::query(
        "WITH supplier_orders_gone AS (DELETE FROM supplier_orders WHERE order_id = $1), \
              shipments_gone AS (DELETE FROM shipments WHERE order_id = $1), \
              reservations_gone AS (DELETE FROM reservations WHERE order_id = $1) \
         DELETE FROM order_exceptions WHERE order_id = $1",
    )
    .bind(order.id.0)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    insert_side_rows(conn, order).await
}

/// Writes the side-table rows of an order, one statement per table that has any.
async fn insert_side_rows(conn: &mut PgConnection, order: &Order) -> Result<(), StoreError> {
    insert_supplier_orders(conn, order).await?;
    insert_shipments(conn, order).await?;
    insert_exceptions(conn, order).await?;
    crate::inventory::insert_reservations(conn, order).await?;
    crate::facts::write_facts(conn, order).await
}

/// Writes the parcel rows of an order, in one statement.
async fn insert_shipments(conn: &mut PgConnection, order: &Order) -> Result<(), StoreError> {
    let parcels: Vec<_> = order
        .supplier_orders
        .iter()
        .flat_map(|so| so.shipments.iter().map(move |shipment| (so, shipment)))
        .collect();
    if parcels.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = parcels.iter().map(|(_, s)| s.id.0).collect();
    let supplier_order_ids: Vec<Uuid> = parcels.iter().map(|(so, _)| so.id.0).collect();
    let supplier_ids: Vec<Uuid> = parcels.iter().map(|(so, _)| so.supplier_id.0).collect();
    let countries: Vec<&str> = parcels.iter().map(|(so, _)| so.ship_to.country_code.as_str()).collect();
    let carriers: Vec<&str> = parcels.iter().map(|(_, s)| s.carrier.as_str()).collect();
    let carrier_codes: Vec<Option<&str>> = parcels.iter().map(|(_, s)| s.carrier_code.as_deref()).collect();
    let numbers: Vec<&str> = parcels.iter().map(|(_, s)| s.tracking_number.as_str()).collect();
    let states: Vec<&str> = parcels.iter().map(|(_, s)| s.state.as_str()).collect();
    let shipped: Vec<Option<OffsetDateTime>> = parcels.iter().map(|(_, s)| s.shipped_at).collect();
    let delivered: Vec<Option<OffsetDateTime>> = parcels.iter().map(|(_, s)| s.delivered_at).collect();
    sqlx::query(
        "INSERT INTO shipments (id, order_id, store_id, supplier_order_id, supplier_id, country, carrier, carrier_code, \
                                tracking_number, state, shipped_at, delivered_at) \
         SELECT id, $1, $2, supplier_order_id, supplier_id, country, carrier, carrier_code, tracking_number, state, \
                shipped_at, delivered_at \
         FROM UNNEST($3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
                     $11::timestamptz[], $12::timestamptz[]) \
              AS t (id, supplier_order_id, supplier_id, country, carrier, carrier_code, tracking_number, state, \
                    shipped_at, delivered_at)",
    )
    .bind(order.id.0)
    .bind(order.store_id.0)
    .bind(ids)
    .bind(supplier_order_ids)
    .bind(supplier_ids)
    .bind(countries)
    .bind(carriers)
    .bind(carrier_codes)
    .bind(numbers)
    .bind(states)
    .bind(shipped)
    .bind(delivered)
    .execute(&mut *conn)
    .await
    .map_err(|err| match store_error(err) {
        StoreError::Conflict(what) => StoreError::Conflict(format!(
            "a shipment of order {} belongs to another order: {what}",
            order.id
        )),
        other => other,
    })?;
    Ok(())
}

/// Writes the open-exception rows of an order, in one statement.
async fn insert_exceptions(conn: &mut PgConnection, order: &Order) -> Result<(), StoreError> {
    let open: Vec<_> = order
        .exceptions
        .iter()
        .enumerate()
        .filter(|(_, exception)| exception.resolved_at.is_none())
        .collect();
    if open.is_empty() {
        return Ok(());
    }
    let positions: Vec<i32> = open
        .iter()
        .map(|(position, _)| i32::try_from(*position).unwrap_or(i32::MAX))
        .collect();
    let kinds: Vec<&str> = open.iter().map(|(_, e)| e.kind.as_str()).collect();
    let details: Vec<&str> = open.iter().map(|(_, e)| e.detail.as_str()).collect();
    let actions: Vec<&str> = open.iter().map(|(_, e)| e.suggested_action.as_str()).collect();
    let raised: Vec<OffsetDateTime> = open.iter().map(|(_, e)| e.raised_at).collect();
    sqlx::query(
        "INSERT INTO order_exceptions (order_id, position, store_id, order_number, kind, detail, suggested_action, \
                                       raised_at) \
         SELECT $1, position, $2, $3, kind, detail, suggested_action, raised_at \
         FROM UNNEST($4::integer[], $5::text[], $6::text[], $7::text[], $8::timestamptz[]) \
              AS t (position, kind, detail, suggested_action, raised_at)",
    )
    .bind(order.id.0)
    .bind(order.store_id.0)
    .bind(&order.number)
    .bind(positions)
    .bind(kinds)
    .bind(details)
    .bind(actions)
    .bind(raised)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Writes the supplier-order index rows of an order, in one statement.
async fn insert_supplier_orders(conn: &mut PgConnection, order: &Order) -> Result<(), StoreError> {
    if order.supplier_orders.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = order.supplier_orders.iter().map(|so| so.id.0).collect();
    let supplier_ids: Vec<Uuid> = order.supplier_orders.iter().map(|so| so.supplier_id.0).collect();
    let statuses: Vec<&str> = order
        .supplier_orders
        .iter()
        .map(|so| so.state.status.as_str())
        .collect();
    let request_statuses: Vec<&str> = order
        .supplier_orders
        .iter()
        .map(|so| so.state.request_status.as_str())
        .collect();
    sqlx::query(
        "INSERT INTO supplier_orders (id, order_id, store_id, supplier_id, status, request_status) \
         SELECT id, $1, $2, supplier_id, status, request_status \
         FROM UNNEST($3::uuid[], $4::uuid[], $5::text[], $6::text[]) AS t (id, supplier_id, status, request_status)",
    )
    .bind(order.id.0)
    .bind(order.store_id.0)
    .bind(ids)
    .bind(supplier_ids)
    .bind(statuses)
    .bind(request_statuses)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

async fn insert_delivery(conn: &mut PgConnection, delivery: &DeliveryRecord) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO webhook_deliveries (store_id, delivery_id, received_at) VALUES ($1, $2, $3)")
        .bind(delivery.store_id.0)
        .bind(&delivery.delivery_id)
        .bind(delivery.received_at)
        .execute(&mut *conn)
        .await
        .map_err(|err| match store_error(err) {
            StoreError::Conflict(what) => StoreError::Conflict(format!(
                "webhook delivery '{}' of store {} was already handled: {what}",
                delivery.delivery_id, delivery.store_id
            )),
            other => other,
        })?;
    Ok(())
}

async fn insert_timeline_event(conn: &mut PgConnection, event: &TimelineEvent) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO timeline_events (id, order_id, at, kind, doc) VALUES ($1, $2, $3, $4, $5)")
        .bind(event.id.0)
        .bind(event.order_id.0)
        .bind(event.at)
        .bind(&event.kind)
        .bind(Json(event))
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

async fn insert_job(conn: &mut PgConnection, job: &NewJob) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO jobs (id, kind, payload, run_after, store_id) VALUES ($1, $2, $3, $4, $5)")
        .bind(job.id.0)
        .bind(&job.kind)
        .bind(Json(&job.payload))
        .bind(job.run_after)
        .bind(job.store_id.map(|id| id.0))
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// A message whose (store, dedupe key) is taken, also by an earlier message of the same
/// change set, is skipped; a taken message id still refuses the change set.
async fn insert_message(conn: &mut PgConnection, message: &Message) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO messages (id, store_id, order_id, template, recipient, state, created_at, dedupe_key, doc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (store_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING",
    )
    .bind(message.id.0)
    .bind(message.store_id.0)
    .bind(message.order_id.map(|id| id.0))
    .bind(&message.template)
    .bind(&message.recipient)
    .bind(message.state.as_str())
    .bind(message.created_at)
    .bind(&message.dedupe_key)
    .bind(Json(message))
    .execute(&mut *conn)
    .await
    .map_err(|err| match store_error(err) {
        StoreError::Conflict(what) => StoreError::Conflict(format!("message {} already exists: {what}", message.id)),
        other => other,
    })?;
    Ok(())
}

/// Changes the state column and the send fields of the document; NotFound refuses the
/// change set when the message does not exist.
async fn update_message(conn: &mut PgConnection, update: &MessageUpdate) -> Result<(), StoreError> {
    // As the document's serde form writes them: absent when None, RFC 3339 text.
    let sent_at = update
        .sent_at
        .map(|at| at.format(&Rfc3339))
        .transpose()
        .map_err(|err| StoreError::Other(format!("message {}: sent_at cannot be written: {err}", update.id)))?;
    let result = sqlx::query(
        "UPDATE messages SET state = $2, \
                doc = (doc - 'last_error' - 'sent_at') \
                      || jsonb_build_object('state', $2::text, 'attempts', $3::bigint) \
                      || jsonb_strip_nulls(jsonb_build_object('last_error', $4::text, 'sent_at', $5::text)) \
         WHERE id = $1",
    )
    .bind(update.id.0)
    .bind(update.state.as_str())
    .bind(i64::from(update.attempts))
    .bind(&update.last_error)
    .bind(sent_at)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("message {}", update.id)));
    }
    Ok(())
}
