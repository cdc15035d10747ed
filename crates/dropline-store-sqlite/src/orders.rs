//! Change sets (orders, timeline, jobs, messages and webhook deliveries written together) and
//! the order, timeline, outbox and delivery reads.
//!
//! A change set is encoded (JSON, ids, times) on the caller's task by [`encode_change_set`],
//! so the writer thread only runs SQL; [`apply_change_set`] then writes it inside the batch
//! transaction and its own savepoint.

use crate::sql::{
    SqlResult, collect, column, conflict_as, first, from_json, from_micros, listing_limit, micros, parse_name, to_json,
};
use dropline_app::ports::{
    ChangeSet, ExceptionEntry, ExceptionFilter, LaneSample, Message, MessageFilter, MessageState, OrderFilter,
    OrderWrite, ShipmentRef, StoreError, contains_pattern, customer_search_key, search_numbers,
};
use dropline_domain::ids::{MessageId, OrderId, ShipmentId, StoreId, SupplierId, SupplierOrderId, TimelineEventId};
use dropline_domain::order::{ExceptionKind, Order, SuggestedAction};
use dropline_domain::state::OrderState;
use dropline_domain::timeline::TimelineEvent;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use uuid::Uuid;

/// An order write, ready for SQL.
pub(crate) struct EncodedOrder {
    insert: bool,
    id: Uuid,
    store_id: Uuid,
    external_id: String,
    number: String,
    state: &'static str,
    payment_state: &'static str,
    placed_at: i64,
    received_at: i64,
    updated_at: i64,
    /// The version the caller read (an update is refused unless it is stored).
    read_version: i64,
    /// The version written.
    version: i64,
    customer_email: Option<String>,
    customer_search: String,
    tracking_token: Option<String>,
    doc: String,
    supplier_orders: Vec<EncodedSupplierOrder>,
    shipments: Vec<EncodedShipment>,
    /// The open exceptions only.
    exceptions: Vec<EncodedException>,
    /// Its row of `order_facts`.
    facts: crate::facts::EncodedFacts,
    /// Its rows of `reservations`: (variant, units), units above zero.
    reservations: Vec<(Uuid, i64)>,
}

struct EncodedSupplierOrder {
    id: Uuid,
    supplier_id: Uuid,
    status: &'static str,
    request_status: &'static str,
}

/// A row of `shipments`: one parcel of one of the order's supplier orders.
#[derive(Debug, PartialEq, Eq)]
struct EncodedShipment {
    id: Uuid,
    supplier_order_id: Uuid,
    supplier_id: Uuid,
    country: String,
    carrier: String,
    carrier_code: Option<String>,
    tracking_number: String,
    state: String,
    shipped_at: Option<i64>,
    delivered_at: Option<i64>,
}

/// A row of `order_exceptions`: an open exception, at its index in the order's list.
#[derive(Debug, PartialEq, Eq)]
struct EncodedException {
    position: i64,
    kind: String,
    detail: String,
    suggested_action: String,
    raised_at: i64,
}

struct EncodedEvent {
    order_id: Uuid,
    at: i64,
    id: Uuid,
    actor: String,
    kind: String,
    message: String,
    from_state: Option<String>,
    to_state: Option<String>,
}

struct EncodedJob {
    id: Uuid,
    kind: String,
    payload: String,
    run_after: i64,
    store_id: Option<Uuid>,
}

struct EncodedMessage {
    id: Uuid,
    store_id: Uuid,
    order_id: Option<Uuid>,
    template: String,
    recipient: Option<String>,
    data: String,
    state: &'static str,
    created_at: i64,
    dedupe_key: Option<String>,
    attempts: i64,
    last_error: Option<String>,
    sent_at: Option<i64>,
}

struct EncodedMessageUpdate {
    id: Uuid,
    state: &'static str,
    attempts: i64,
    last_error: Option<String>,
    sent_at: Option<i64>,
}

struct EncodedDelivery {
    store_id: Uuid,
    delivery_id: String,
    received_at: i64,
}

/// A change set, ready for SQL.
pub(crate) struct EncodedChangeSet {
    deliveries: Vec<EncodedDelivery>,
    orders: Vec<EncodedOrder>,
    timeline: Vec<EncodedEvent>,
    jobs: Vec<EncodedJob>,
    messages: Vec<EncodedMessage>,
    message_updates: Vec<EncodedMessageUpdate>,
    finished_jobs: Vec<Uuid>,
    stock_changes: Vec<(Uuid, i64)>,
    /// Orders whose new reservations are checked against what their variants can ship.
    stock_checked: Vec<Uuid>,
    created_at: i64,
}

fn version_column(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| StoreError::Other(format!("order version {version} is too large")))
}

fn encode_order(write: OrderWrite) -> Result<EncodedOrder, StoreError> {
    let (insert, mut order) = match write {
        OrderWrite::Insert(order) => (true, order),
        OrderWrite::Update(order) => (false, order),
    };
    let read_version = version_column(order.version)?;
    if !insert {
        order.version = order
            .version
            .checked_add(1)
            .ok_or_else(|| StoreError::Other("order version overflows".into()))?;
    }
    let version = version_column(order.version)?;
    let doc = to_json(&order)?;
    let facts = crate::facts::encode_facts(&order);
    let reservations = crate::inventory::encode_reservations(&order);
    let supplier_orders = order
        .supplier_orders
        .iter()
        .map(|s| EncodedSupplierOrder {
            id: s.id.0,
            supplier_id: s.supplier_id.0,
            status: s.state.status.as_str(),
            request_status: s.state.request_status.as_str(),
        })
        .collect();
    let shipments = order
        .supplier_orders
        .iter()
        .flat_map(|s| {
            s.shipments.iter().map(|shipment| EncodedShipment {
                id: shipment.id.0,
                supplier_order_id: s.id.0,
                supplier_id: s.supplier_id.0,
                country: s.ship_to.country_code.clone(),
                carrier: shipment.carrier.clone(),
                carrier_code: shipment.carrier_code.clone(),
                tracking_number: shipment.tracking_number.clone(),
                state: shipment.state.as_str().to_string(),
                shipped_at: shipment.shipped_at.map(micros),
                delivered_at: shipment.delivered_at.map(micros),
            })
        })
        .collect();
    let exceptions = order
        .exceptions
        .iter()
        .enumerate()
        .filter(|(_, exception)| exception.resolved_at.is_none())
        .map(|(position, exception)| EncodedException {
            position: i64::try_from(position).unwrap_or(i64::MAX),
            kind: exception.kind.as_str().to_string(),
            detail: exception.detail.clone(),
            suggested_action: exception.suggested_action.as_str().to_string(),
            raised_at: micros(exception.raised_at),
        })
        .collect();
    let customer_search = customer_search_key(&order);
    Ok(EncodedOrder {
        insert,
        id: order.id.0,
        store_id: order.store_id.0,
        external_id: order.external_id,
        number: order.number,
        state: order.state.as_str(),
        payment_state: order.payment.as_str(),
        placed_at: micros(order.placed_at),
        received_at: micros(order.received_at),
        updated_at: micros(order.updated_at),
        read_version,
        version,
        customer_search,
        customer_email: order.customer.email,
        tracking_token: order.tracking_token,
        doc,
        supplier_orders,
        shipments,
        exceptions,
        facts,
        reservations,
    })
}

/// Encodes a change set on the caller's side. `now` is when its jobs are created.
pub(crate) fn encode_change_set(changes: ChangeSet, now: OffsetDateTime) -> Result<EncodedChangeSet, StoreError> {
    let orders = changes
        .orders
        .into_iter()
        .map(encode_order)
        .collect::<Result<Vec<_>, _>>()?;
    let timeline = changes
        .timeline
        .into_iter()
        .map(|event| {
            Ok(EncodedEvent {
                order_id: event.order_id.0,
                at: micros(event.at),
                id: event.id.0,
                actor: to_json(&event.actor)?,
                kind: event.kind,
                message: event.message,
                from_state: event.from_state,
                to_state: event.to_state,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let jobs = changes
        .jobs
        .into_iter()
        .map(|job| {
            Ok(EncodedJob {
                id: job.id.0,
                payload: to_json(&job.payload)?,
                kind: job.kind,
                run_after: micros(job.run_after),
                store_id: job.store_id.map(|s| s.0),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let messages = changes
        .messages
        .into_iter()
        .map(|message| {
            Ok(EncodedMessage {
                id: message.id.0,
                store_id: message.store_id.0,
                order_id: message.order_id.map(|id| id.0),
                data: to_json(&message.data)?,
                template: message.template,
                recipient: message.recipient,
                state: message.state.as_str(),
                created_at: micros(message.created_at),
                dedupe_key: message.dedupe_key,
                attempts: i64::from(message.attempts),
                last_error: message.last_error,
                sent_at: message.sent_at.map(micros),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let message_updates = changes
        .message_updates
        .into_iter()
        .map(|update| EncodedMessageUpdate {
            id: update.id.0,
            state: update.state.as_str(),
            attempts: i64::from(update.attempts),
            last_error: update.last_error,
            sent_at: update.sent_at.map(micros),
        })
        .collect();
    let deliveries = changes
        .deliveries
        .into_iter()
        .map(|delivery| EncodedDelivery {
            store_id: delivery.store_id.0,
            delivery_id: delivery.delivery_id,
            received_at: micros(delivery.received_at),
        })
        .collect();
    Ok(EncodedChangeSet {
        deliveries,
        orders,
        timeline,
        jobs,
        messages,
        message_updates,
        finished_jobs: changes.finished_jobs.into_iter().map(|id| id.0).collect(),
        stock_changes: changes
            .stock_changes
            .into_iter()
            .map(|change| (change.offer_id.0, change.delta))
            .collect(),
        stock_checked: changes.stock_checked.into_iter().map(|id| id.0).collect(),
        created_at: micros(now),
    })
}

fn write_order(conn: &Connection, order: &EncodedOrder) -> Result<(), StoreError> {
    if order.insert {
        conn.prepare_cached(
            "INSERT INTO orders (id, store_id, external_id, number, state, payment_state, placed_at,
                                 received_at, updated_at, version, customer_email, tracking_token, doc,
                                 customer_search)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .store()?
        .execute(params![
            order.id,
            order.store_id,
            order.external_id,
            order.number,
            order.state,
            order.payment_state,
            order.placed_at,
            order.received_at,
            order.updated_at,
            order.version,
            order.customer_email,
            order.tracking_token,
            order.doc,
            order.customer_search,
        ])
        .map_err(conflict_as(|| {
            format!(
                "order {}, external id '{}' in store {} or tracking token already exists",
                order.id, order.external_id, order.store_id
            )
        }))?;
        insert_supplier_orders(conn, order, &order.supplier_orders.iter().collect::<Vec<_>>())?;
        insert_shipments(conn, order, &order.shipments.iter().collect::<Vec<_>>())?;
        insert_exceptions(conn, order)?;
        crate::inventory::insert_reservations(conn, order.id, order.store_id, &order.reservations)?;
        return crate::facts::write_facts(conn, &order.facts);
    }
    update_order(conn, order)?;
    sync_supplier_orders(conn, order)?;
    sync_shipments(conn, order)?;
    sync_exceptions(conn, order)?;
    crate::inventory::replace_reservations(conn, order.id, order.store_id, &order.reservations)?;
    crate::facts::write_facts(conn, &order.facts)
}

/// Updates a stored order. The stored row is looked at first: a stale version is refused
/// without writing, and the state and tracking-token indexes are rewritten only when their
/// column changed.
fn update_order(conn: &Connection, order: &EncodedOrder) -> Result<(), StoreError> {
    type Stored = (i64, String, Uuid, String, Option<String>);
    let stored: Option<Stored> = conn
        .prepare_cached("SELECT version, state, store_id, external_id, tracking_token FROM orders WHERE id = ?1")
        .store()?
        .query_row([order.id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
        })
        .optional()
        .store()?;
    let Some((version, state, store_id, external_id, tracking_token)) = stored else {
        return Err(StoreError::NotFound(format!("order {}", order.id)));
    };
    if version != order.read_version {
        return Err(StoreError::Conflict(format!(
            "order {} is at version {version}, not {}",
            order.id, order.read_version
        )));
    }
    if store_id != order.store_id || external_id != order.external_id {
        return Err(StoreError::Other(format!(
            "order {}: an order's store and external id never change",
            order.id
        )));
    }
    // One statement text per combination of changed indexed columns (four), each cached.
    let mut sql = String::from(
        "UPDATE orders SET number = ?1, payment_state = ?2, placed_at = ?3, received_at = ?4, updated_at = ?5, \
         version = ?6, customer_email = ?7, doc = ?8, customer_search = ?11",
    );
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![
        &order.number,
        &order.payment_state,
        &order.placed_at,
        &order.received_at,
        &order.updated_at,
        &order.version,
        &order.customer_email,
        &order.doc,
        &order.id,
        &order.read_version,
        &order.customer_search,
    ];
    if state != order.state {
        values.push(&order.state);
        sql.push_str(&format!(", state = ?{}", values.len()));
    }
    if tracking_token != order.tracking_token {
        values.push(&order.tracking_token);
        sql.push_str(&format!(", tracking_token = ?{}", values.len()));
    }
    sql.push_str(" WHERE id = ?9 AND version = ?10");
    let changed = conn
        .prepare_cached(&sql)
        .store()?
        .execute(values.as_slice())
        .map_err(conflict_as(|| {
            format!("the tracking token of order {} belongs to another order", order.id)
        }))?;
    if changed != 1 {
        return Err(StoreError::Other(format!(
            "order {} changed while it was written",
            order.id
        )));
    }
    Ok(())
}

fn insert_supplier_orders(
    conn: &Connection,
    order: &EncodedOrder,
    supplier_orders: &[&EncodedSupplierOrder],
) -> Result<(), StoreError> {
    if supplier_orders.is_empty() {
        return Ok(());
    }
    let mut statement = conn
        .prepare_cached(
            "INSERT INTO supplier_orders (id, order_id, store_id, supplier_id, status, request_status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .store()?;
    for supplier_order in supplier_orders {
        statement
            .execute(params![
                supplier_order.id,
                order.id,
                order.store_id,
                supplier_order.supplier_id,
                supplier_order.status,
                supplier_order.request_status,
            ])
            .map_err(conflict_as(|| {
                format!("supplier order {} belongs to another order", supplier_order.id)
            }))?;
    }
    Ok(())
}

/// Makes the `supplier_orders` rows of an updated order match its aggregate, touching only
/// the rows that differ.
fn sync_supplier_orders(conn: &Connection, order: &EncodedOrder) -> Result<(), StoreError> {
    let stored = collect(
        &mut *conn
            .prepare_cached("SELECT id, supplier_id, status, request_status FROM supplier_orders WHERE order_id = ?1")
            .store()?,
        [order.id],
        |row| {
            Ok((
                column::<Uuid>(row, 0)?,
                column::<Uuid>(row, 1)?,
                column::<String>(row, 2)?,
                column::<String>(row, 3)?,
            ))
        },
    )?;
    let mut missing = Vec::new();
    for supplier_order in &order.supplier_orders {
        match stored.iter().find(|(id, ..)| *id == supplier_order.id) {
            Some((_, supplier_id, status, request_status))
                if *supplier_id == supplier_order.supplier_id
                    && status == supplier_order.status
                    && request_status == supplier_order.request_status => {}
            Some(_) => {
                conn.prepare_cached(
                    "UPDATE supplier_orders SET supplier_id = ?2, status = ?3, request_status = ?4 WHERE id = ?1",
                )
                .store()?
                .execute(params![
                    supplier_order.id,
                    supplier_order.supplier_id,
                    supplier_order.status,
                    supplier_order.request_status,
                ])
                .store()?;
            }
            None => missing.push(supplier_order),
        }
    }
    for (id, ..) in &stored {
        if !order.supplier_orders.iter().any(|s| s.id == *id) {
            conn.prepare_cached("DELETE FROM supplier_orders WHERE id = ?1")
                .store()?
                .execute([id])
                .store()?;
        }
    }
    insert_supplier_orders(conn, order, &missing)
}

fn insert_shipments(conn: &Connection, order: &EncodedOrder, shipments: &[&EncodedShipment]) -> Result<(), StoreError> {
    if shipments.is_empty() {
        return Ok(());
    }
    let mut statement = conn
        .prepare_cached(
            "INSERT INTO shipments (id, order_id, store_id, supplier_order_id, supplier_id, country, carrier,
                                    carrier_code, tracking_number, state, shipped_at, delivered_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .store()?;
    for shipment in shipments {
        statement
            .execute(params![
                shipment.id,
                order.id,
                order.store_id,
                shipment.supplier_order_id,
                shipment.supplier_id,
                shipment.country,
                shipment.carrier,
                shipment.carrier_code,
                shipment.tracking_number,
                shipment.state,
                shipment.shipped_at,
                shipment.delivered_at,
            ])
            .map_err(conflict_as(|| {
                format!("shipment {} belongs to another order", ShipmentId(shipment.id))
            }))?;
    }
    Ok(())
}

/// Makes the `shipments` rows of an updated order match its aggregate, touching only the
/// rows that differ.
fn sync_shipments(conn: &Connection, order: &EncodedOrder) -> Result<(), StoreError> {
    let stored = collect(
        &mut *conn
            .prepare_cached(
                "SELECT id, supplier_order_id, supplier_id, country, carrier, carrier_code, tracking_number, state,
                        shipped_at, delivered_at
                 FROM shipments WHERE order_id = ?1",
            )
            .store()?,
        [order.id],
        |row| {
            Ok(EncodedShipment {
                id: column(row, 0)?,
                supplier_order_id: column(row, 1)?,
                supplier_id: column(row, 2)?,
                country: column(row, 3)?,
                carrier: column(row, 4)?,
                carrier_code: column(row, 5)?,
                tracking_number: column(row, 6)?,
                state: column(row, 7)?,
                shipped_at: column(row, 8)?,
                delivered_at: column(row, 9)?,
            })
        },
    )?;
    let mut missing = Vec::new();
    for shipment in &order.shipments {
        match stored.iter().find(|s| s.id == shipment.id) {
            Some(same) if same == shipment => {}
            Some(_) => {
                conn.prepare_cached(
                    "UPDATE shipments SET supplier_order_id = ?2, supplier_id = ?3, country = ?4, carrier = ?5,
                                          carrier_code = ?6, tracking_number = ?7, state = ?8, shipped_at = ?9,
                                          delivered_at = ?10
                     WHERE id = ?1",
                )
                .store()?
                .execute(params![
                    shipment.id,
                    shipment.supplier_order_id,
                    shipment.supplier_id,
                    shipment.country,
                    shipment.carrier,
                    shipment.carrier_code,
                    shipment.tracking_number,
                    shipment.state,
                    shipment.shipped_at,
                    shipment.delivered_at,
                ])
                .store()?;
            }
            None => missing.push(shipment),
        }
    }
    for gone in &stored {
        if !order.shipments.iter().any(|s| s.id == gone.id) {
            conn.prepare_cached("DELETE FROM shipments WHERE id = ?1")
                .store()?
                .execute([gone.id])
                .store()?;
        }
    }
    insert_shipments(conn, order, &missing)
}

fn insert_exceptions(conn: &Connection, order: &EncodedOrder) -> Result<(), StoreError> {
    if order.exceptions.is_empty() {
        return Ok(());
    }
    let mut statement = conn
        .prepare_cached(
            "INSERT INTO order_exceptions (order_id, position, store_id, order_number, kind, detail, suggested_action,
                                           raised_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .store()?;
    for exception in &order.exceptions {
        statement
            .execute(params![
                order.id,
                exception.position,
                order.store_id,
                order.number,
                exception.kind,
                exception.detail,
                exception.suggested_action,
                exception.raised_at,
            ])
            .store()?;
    }
    Ok(())
}

/// Makes the `order_exceptions` rows of an updated order match its open exceptions: left
/// alone when they do (nearly always), else written again.
fn sync_exceptions(conn: &Connection, order: &EncodedOrder) -> Result<(), StoreError> {
    let stored = collect(
        &mut *conn
            .prepare_cached(
                "SELECT position, order_number, kind, detail, suggested_action, raised_at
                 FROM order_exceptions WHERE order_id = ?1 ORDER BY position",
            )
            .store()?,
        [order.id],
        |row| {
            Ok((
                column::<String>(row, 1)?,
                EncodedException {
                    position: column(row, 0)?,
                    kind: column(row, 2)?,
                    detail: column(row, 3)?,
                    suggested_action: column(row, 4)?,
                    raised_at: column(row, 5)?,
                },
            ))
        },
    )?;
    let unchanged = stored.len() == order.exceptions.len()
        && stored
            .iter()
            .zip(&order.exceptions)
            .all(|((number, stored), exception)| *number == order.number && stored == exception);
    if unchanged {
        return Ok(());
    }
    if !stored.is_empty() {
        conn.prepare_cached("DELETE FROM order_exceptions WHERE order_id = ?1")
            .store()?
            .execute([order.id])
            .store()?;
    }
    insert_exceptions(conn, order)
}

/// Writes a change set; run by the writer inside the change set's savepoint. Deliveries go
/// first: a redelivery is refused before anything else is written. The stock check of
/// [`ChangeSet::stock_checked`] comes last, once everything else (the warehouse stock moves
/// included) is written: a refusal rolls the whole change set back all the same, and the
/// offers it reads then count what this change set took from the seller's own warehouse.
pub(crate) fn apply_change_set(conn: &Connection, changes: &EncodedChangeSet) -> Result<(), StoreError> {
    if !changes.deliveries.is_empty() {
        let mut statement = conn
            .prepare_cached("INSERT INTO webhook_deliveries (store_id, delivery_id, received_at) VALUES (?1, ?2, ?3)")
            .store()?;
        for delivery in &changes.deliveries {
            statement
                .execute(params![delivery.store_id, delivery.delivery_id, delivery.received_at])
                .map_err(conflict_as(|| {
                    format!(
                        "webhook delivery '{}' of store {} was already handled",
                        delivery.delivery_id,
                        StoreId(delivery.store_id)
                    )
                }))?;
        }
    }
    // Variants of which a checked order now holds more units than before this change set.
    let mut grown: Vec<Uuid> = Vec::new();
    for order in &changes.orders {
        let checked = changes.stock_checked.contains(&order.id);
        let held_before = if checked && !order.insert {
            crate::inventory::reservations_of(conn, order.id)?
        } else {
            Vec::new()
        };
        write_order(conn, order)?;
        if checked {
            crate::inventory::note_growth(&held_before, &order.reservations, &mut grown);
        }
    }
    if !changes.timeline.is_empty() {
        let mut statement = conn
            .prepare_cached(
                "INSERT INTO timeline_events (order_id, at, id, actor, kind, message, from_state, to_state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .store()?;
        for event in &changes.timeline {
            statement
                .execute(params![
                    event.order_id,
                    event.at,
                    event.id,
                    event.actor,
                    event.kind,
                    event.message,
                    event.from_state,
                    event.to_state,
                ])
                .map_err(conflict_as(|| format!("timeline event {} already exists", event.id)))?;
        }
    }
    if !changes.jobs.is_empty() {
        let mut statement = conn
            .prepare_cached(
                "INSERT INTO jobs (id, kind, payload, run_after, due_at, store_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
            )
            .store()?;
        for job in &changes.jobs {
            statement
                .execute(params![
                    job.id,
                    job.kind,
                    job.payload,
                    job.run_after,
                    job.store_id,
                    changes.created_at
                ])
                .map_err(conflict_as(|| format!("job {} already exists", job.id)))?;
        }
    }
    if !changes.messages.is_empty() {
        // A message whose dedupe key the store already holds (or an earlier message of this
        // change set holds) is skipped: no error, so the writer does not count a refusal.
        // Any other broken uniqueness rule (a message id taken) still refuses the change set.
        let mut statement = conn
            .prepare_cached(
                "INSERT INTO messages (id, store_id, order_id, template, recipient, data, state, created_at,
                                       dedupe_key, attempts, last_error, sent_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (store_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING",
            )
            .store()?;
        for message in &changes.messages {
            statement
                .execute(params![
                    message.id,
                    message.store_id,
                    message.order_id,
                    message.template,
                    message.recipient,
                    message.data,
                    message.state,
                    message.created_at,
                    message.dedupe_key,
                    message.attempts,
                    message.last_error,
                    message.sent_at,
                ])
                .map_err(conflict_as(|| {
                    format!("message {} already exists", MessageId(message.id))
                }))?;
        }
    }
    if !changes.message_updates.is_empty() {
        let mut statement = conn
            .prepare_cached(
                "UPDATE messages SET state = ?2, attempts = ?3, last_error = ?4, sent_at = ?5 WHERE id = ?1",
            )
            .store()?;
        for update in &changes.message_updates {
            let changed = statement
                .execute(params![
                    update.id,
                    update.state,
                    update.attempts,
                    update.last_error,
                    update.sent_at
                ])
                .store()?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("message {}", MessageId(update.id))));
            }
        }
    }
    if !changes.finished_jobs.is_empty() {
        let mut statement = conn.prepare_cached("DELETE FROM jobs WHERE id = ?1").store()?;
        for id in &changes.finished_jobs {
            statement.execute([id]).store()?;
        }
    }
    if !changes.stock_changes.is_empty() {
        // A known count moves (never below zero); an unknown one stays unknown.
        let mut statement = conn
            .prepare_cached(
                "UPDATE offers SET doc = json_set(doc, '$.stock', max(0, json_extract(doc, '$.stock') + ?2)) \
                 WHERE id = ?1 AND json_type(doc, '$.stock') = 'integer'",
            )
            .store()?;
        for (offer_id, delta) in &changes.stock_changes {
            statement.execute(rusqlite::params![offer_id, delta]).store()?;
        }
    }
    crate::inventory::check_stock(conn, &grown)
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

pub(crate) fn decode_order(row: &Row<'_>) -> Result<Order, StoreError> {
    let version: i64 = column(row, 0)?;
    let doc: String = column(row, 1)?;
    let mut order: Order = from_json(&doc, "order")?;
    order.version = u64::try_from(version).map_err(|_| StoreError::Other(format!("stored version {version}")))?;
    Ok(order)
}

pub(crate) fn get_order(conn: &Connection, id: OrderId) -> Result<Option<Order>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT version, doc FROM orders WHERE id = ?1")
        .store()?;
    first(&mut statement, [id.0], decode_order)
}

pub(crate) fn order_by_external_id(
    conn: &Connection,
    store_id: StoreId,
    external_id: &str,
) -> Result<Option<Order>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT version, doc FROM orders WHERE store_id = ?1 AND external_id = ?2")
        .store()?;
    first(&mut statement, params![store_id.0, external_id], decode_order)
}

pub(crate) fn delivery_seen(conn: &Connection, store_id: StoreId, delivery_id: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE store_id = ?1 AND delivery_id = ?2)")
        .store()?
        .query_row(params![store_id.0, delivery_id], |row| row.get(0))
        .store()
}

pub(crate) fn order_of_supplier_order(conn: &Connection, id: SupplierOrderId) -> Result<Option<OrderId>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT order_id FROM supplier_orders WHERE id = ?1")
        .store()?;
    first(&mut statement, [id.0], |row| Ok(OrderId(column(row, 0)?)))
}

fn uuid_value(id: Uuid) -> Value {
    Value::Blob(id.as_bytes().to_vec())
}

/// The statement and parameters of an order listing: one text per combination of filters
/// (at most 64), each cached.
fn list_orders_query(filter: &OrderFilter) -> (String, Vec<Value>) {
    let mut sql = String::from("SELECT version, doc FROM orders WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::with_capacity(7);
    let search = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    // With a search, its few candidates drive the query: `+` keeps the store and state
    // indexes (which would walk every order of the store in id order) out of the plan.
    let column = |name: &str| {
        if search.is_some() {
            format!("+{name}")
        } else {
            name.to_string()
        }
    };
    if let Some(store_id) = filter.store_id {
        sql.push_str(&format!(" AND {} = ?", column("store_id")));
        values.push(uuid_value(store_id.0));
    }
    if let Some(state) = filter.state {
        sql.push_str(&format!(" AND {} = ?", column("state")));
        values.push(Value::Text(state.as_str().to_string()));
    }
    if let Some(supplier_id) = filter.supplier_id {
        sql.push_str(" AND id IN (SELECT order_id FROM supplier_orders WHERE supplier_id = ?)");
        values.push(uuid_value(supplier_id.0));
    }
    if let Some(from) = filter.placed_from {
        sql.push_str(" AND placed_at >= ?");
        values.push(Value::Integer(micros(from)));
    }
    if let Some(to) = filter.placed_to {
        sql.push_str(" AND placed_at < ?");
        values.push(Value::Integer(micros(to)));
    }
    if let Some(before) = filter.before {
        sql.push_str(" AND id < ?");
        values.push(uuid_value(before.0));
    }
    if let Some(after) = filter.after {
        sql.push_str(" AND id > ?");
        values.push(uuid_value(after.0));
    }
    if filter.with_exception {
        sql.push_str(" AND id IN (SELECT order_id FROM order_exceptions)");
    }
    if let Some(search) = search {
        let (bare, hashed, tracking) = search_numbers(search);
        // The candidates: by number, by part of the name or email (reading the small
        // (store_id, customer_search) index rather than the orders with their documents),
        // by tracking number.
        sql.push_str(
            " AND id IN (SELECT id FROM orders WHERE number IN (?, ?) \
             UNION ALL SELECT id FROM orders INDEXED BY orders_store_id_customer_search_idx \
                       WHERE customer_search LIKE ? ESCAPE '\\'",
        );
        values.extend([
            Value::Text(bare),
            Value::Text(hashed),
            Value::Text(contains_pattern(search)),
        ]);
        if let Some(store_id) = filter.store_id {
            sql.push_str(" AND store_id = ?");
            values.push(uuid_value(store_id.0));
        }
        sql.push_str(" UNION ALL SELECT order_id FROM shipments WHERE tracking_number IN (?, ?))");
        values.extend([Value::Text(search.to_string()), Value::Text(tracking)]);
    }
    sql.push_str(if filter.oldest_first {
        " ORDER BY id ASC LIMIT ?"
    } else {
        " ORDER BY id DESC LIMIT ?"
    });
    values.push(Value::Integer(listing_limit(filter.limit)));
    (sql, values)
}

pub(crate) fn list_orders(conn: &Connection, filter: &OrderFilter) -> Result<Vec<Order>, StoreError> {
    let (sql, values) = list_orders_query(filter);
    let mut statement = conn.prepare_cached(&sql).store()?;
    collect(&mut statement, rusqlite::params_from_iter(values), decode_order)
}

pub(crate) fn count_orders_by_state(
    conn: &Connection,
    store_id: Option<StoreId>,
) -> Result<Vec<(OrderState, u64)>, StoreError> {
    let decode = |row: &Row<'_>| {
        let state: String = column(row, 0)?;
        let count: i64 = column(row, 1)?;
        Ok((
            parse_name(&state, OrderState::parse, "order state")?,
            u64::try_from(count).unwrap_or(0),
        ))
    };
    match store_id {
        Some(store_id) => {
            let mut statement = conn
                .prepare_cached("SELECT state, count(*) FROM orders WHERE store_id = ?1 GROUP BY state ORDER BY state")
                .store()?;
            collect(&mut statement, [store_id.0], decode)
        }
        None => {
            let mut statement = conn
                .prepare_cached("SELECT state, count(*) FROM orders GROUP BY state ORDER BY state")
                .store()?;
            collect(&mut statement, [], decode)
        }
    }
}

pub(crate) fn timeline(conn: &Connection, order_id: OrderId) -> Result<Vec<TimelineEvent>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT id, at, actor, kind, message, from_state, to_state
             FROM timeline_events WHERE order_id = ?1 ORDER BY at, id",
        )
        .store()?;
    collect(&mut statement, [order_id.0], |row| {
        Ok(TimelineEvent {
            id: TimelineEventId(column(row, 0)?),
            order_id,
            at: from_micros(column(row, 1)?)?,
            actor: from_json(&column::<String>(row, 2)?, "timeline actor")?,
            kind: column(row, 3)?,
            message: column(row, 4)?,
            from_state: column(row, 5)?,
            to_state: column(row, 6)?,
        })
    })
}

const MESSAGE_COLUMNS: &str = "id, store_id, order_id, template, recipient, data, state, created_at, dedupe_key, \
                               attempts, last_error, sent_at";

fn decode_message(row: &Row<'_>) -> Result<Message, StoreError> {
    let state: String = column(row, 6)?;
    let attempts: i64 = column(row, 9)?;
    Ok(Message {
        id: MessageId(column(row, 0)?),
        store_id: StoreId(column(row, 1)?),
        order_id: column::<Option<Uuid>>(row, 2)?.map(OrderId),
        template: column(row, 3)?,
        recipient: column(row, 4)?,
        data: from_json(&column::<String>(row, 5)?, "message data")?,
        state: parse_name(&state, MessageState::parse, "message state")?,
        created_at: from_micros(column(row, 7)?)?,
        dedupe_key: column(row, 8)?,
        attempts: u32::try_from(attempts)
            .map_err(|_| StoreError::Other(format!("stored message attempts {attempts} is out of range")))?,
        last_error: column(row, 10)?,
        sent_at: column::<Option<i64>>(row, 11)?.map(from_micros).transpose()?,
    })
}

/// The statement and parameters of an outbox listing: one text per combination of filters.
fn list_messages_query(filter: &MessageFilter) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::with_capacity(5);
    if let Some(store_id) = filter.store_id {
        sql.push_str(" AND store_id = ?");
        values.push(uuid_value(store_id.0));
    }
    if let Some(order_id) = filter.order_id {
        sql.push_str(" AND order_id = ?");
        values.push(uuid_value(order_id.0));
    }
    if let Some(state) = filter.state {
        sql.push_str(" AND state = ?");
        values.push(Value::Text(state.as_str().to_string()));
    }
    if let Some(template) = &filter.template {
        sql.push_str(" AND template = ?");
        values.push(Value::Text(template.clone()));
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    values.push(Value::Integer(listing_limit(filter.limit)));
    (sql, values)
}

pub(crate) fn list_messages(conn: &Connection, filter: &MessageFilter) -> Result<Vec<Message>, StoreError> {
    let (sql, values) = list_messages_query(filter);
    let mut statement = conn.prepare_cached(&sql).store()?;
    collect(&mut statement, rusqlite::params_from_iter(values), decode_message)
}

pub(crate) fn get_message(conn: &Connection, id: MessageId) -> Result<Option<Message>, StoreError> {
    let mut statement = conn
        .prepare_cached(&format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"))
        .store()?;
    first(&mut statement, [id.0], decode_message)
}

pub(crate) fn order_by_tracking_token(conn: &Connection, token: &str) -> Result<Option<Order>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT version, doc FROM orders WHERE tracking_token = ?1")
        .store()?;
    first(&mut statement, [token], decode_order)
}

/// In shipment id order (creation order).
pub(crate) fn shipments_by_tracking_number(
    conn: &Connection,
    tracking_number: &str,
) -> Result<Vec<ShipmentRef>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT order_id, store_id, id FROM shipments WHERE tracking_number = ?1 ORDER BY id")
        .store()?;
    collect(&mut statement, [tracking_number], |row| {
        Ok(ShipmentRef {
            order_id: OrderId(column(row, 0)?),
            store_id: StoreId(column(row, 1)?),
            shipment_id: ShipmentId(column(row, 2)?),
        })
    })
}

/// The statement and parameters of an exception listing: one text per combination of filters
/// (at most 8), each cached.
fn list_exceptions_query(filter: &ExceptionFilter) -> (String, Vec<Value>) {
    let mut sql = String::from(
        "SELECT order_id, store_id, order_number, kind, detail, suggested_action, raised_at
         FROM order_exceptions WHERE 1 = 1",
    );
    let mut values: Vec<Value> = Vec::with_capacity(4);
    if let Some(store_id) = filter.store_id {
        sql.push_str(" AND store_id = ?");
        values.push(uuid_value(store_id.0));
    }
    if let Some(kind) = filter.kind {
        sql.push_str(" AND kind = ?");
        values.push(Value::Text(kind.as_str().to_string()));
    }
    if let Some(before) = filter.raised_before {
        sql.push_str(" AND raised_at < ?");
        values.push(Value::Integer(micros(before)));
    }
    if let Some((raised_at, order_id)) = filter.after {
        sql.push_str(" AND (raised_at, order_id) > (?, ?)");
        values.push(Value::Integer(micros(raised_at)));
        values.push(uuid_value(order_id.0));
    }
    sql.push_str(" ORDER BY raised_at, order_id, position LIMIT ?");
    values.push(Value::Integer(listing_limit(filter.limit)));
    (sql, values)
}

pub(crate) fn list_exceptions(conn: &Connection, filter: &ExceptionFilter) -> Result<Vec<ExceptionEntry>, StoreError> {
    let (sql, values) = list_exceptions_query(filter);
    let mut statement = conn.prepare_cached(&sql).store()?;
    collect(&mut statement, rusqlite::params_from_iter(values), |row| {
        Ok(ExceptionEntry {
            order_id: OrderId(column(row, 0)?),
            store_id: StoreId(column(row, 1)?),
            order_number: column(row, 2)?,
            kind: parse_name(&column::<String>(row, 3)?, ExceptionKind::parse, "exception kind")?,
            detail: column(row, 4)?,
            suggested_action: parse_name(&column::<String>(row, 5)?, SuggestedAction::parse, "suggested action")?,
            raised_at: from_micros(column(row, 6)?)?,
        })
    })
}

/// Most lane samples one call gives.
const LANE_SAMPLES_LIMIT: i64 = 10_000;

pub(crate) const LANE_SAMPLES_SQL: &str = "SELECT supplier_id, country, shipped_at, delivered_at FROM shipments
     WHERE store_id = ?1 AND delivered_at >= ?2 AND state = 'delivered' AND shipped_at IS NOT NULL
     ORDER BY delivered_at DESC, id DESC LIMIT ?3";

pub(crate) fn lane_samples(
    conn: &Connection,
    store_id: StoreId,
    since: OffsetDateTime,
) -> Result<Vec<LaneSample>, StoreError> {
    let mut statement = conn.prepare_cached(LANE_SAMPLES_SQL).store()?;
    collect(
        &mut statement,
        params![store_id.0, micros(since), LANE_SAMPLES_LIMIT],
        |row| {
            Ok(LaneSample {
                supplier_id: SupplierId(column(row, 0)?),
                country: column(row, 1)?,
                shipped_at: from_micros(column(row, 2)?)?,
                delivered_at: from_micros(column(row, 3)?)?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::ids::SupplierId;

    fn plan(conn: &Connection, sql: &str, values: Vec<Value>) -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("plan");
        let rows = statement
            .query_map(rusqlite::params_from_iter(values), |row| row.get::<_, String>(3))
            .expect("plan rows");
        rows.map(|row| row.expect("plan row")).collect::<Vec<_>>().join("\n")
    }

    /// Listings must walk an index in id order and stop at the limit: no scan of the table,
    /// no sort.
    #[test]
    fn order_listings_use_their_indexes() {
        let mut conn = Connection::open_in_memory().expect("memory database");
        crate::migrations::run(&mut conn).expect("migrations");
        let store = Some(StoreId::new());
        let cases = [
            (
                OrderFilter {
                    store_id: store,
                    before: Some(OrderId::new()),
                    ..OrderFilter::default()
                },
                "orders_store_id_id_idx",
            ),
            (
                OrderFilter {
                    state: Some(OrderState::OnHold),
                    ..OrderFilter::default()
                },
                "orders_state_id_idx",
            ),
            (
                OrderFilter {
                    store_id: store,
                    state: Some(OrderState::OnHold),
                    placed_from: Some(OffsetDateTime::UNIX_EPOCH),
                    ..OrderFilter::default()
                },
                "orders_store_id_state_id_idx",
            ),
            (
                OrderFilter {
                    supplier_id: Some(SupplierId::new()),
                    ..OrderFilter::default()
                },
                "supplier_orders_supplier_id_order_id_idx",
            ),
        ];
        for (filter, index) in cases {
            let (sql, values) = list_orders_query(&filter);
            let plan = plan(&conn, &sql, values);
            assert!(plan.contains(index), "{filter:?}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{filter:?}: {plan}");
            assert!(
                !plan.contains("SCAN orders\n") && !plan.ends_with("SCAN orders"),
                "{filter:?}: {plan}"
            );
        }
        let claim = plan(
            &conn,
            crate::jobs::CLAIM_SQL,
            vec![Value::Integer(0), Value::Integer(10)],
        );
        assert!(claim.contains("jobs_due_at_idx"), "{claim}");
        assert!(!claim.contains("TEMP B-TREE"), "{claim}");
    }

    /// A search is driven by its candidates (number, name index, tracking number), looked up
    /// by id: never a walk of the store's orders, never a scan of the table.
    #[test]
    fn a_search_reads_its_candidates_only() {
        let mut conn = Connection::open_in_memory().expect("memory database");
        crate::migrations::run(&mut conn).expect("migrations");
        for store_id in [Some(StoreId::new()), None] {
            let filter = OrderFilter {
                store_id,
                state: Some(OrderState::PendingReview),
                search: Some("ada".into()),
                ..OrderFilter::default()
            };
            let (sql, values) = list_orders_query(&filter);
            let plan = plan(&conn, &sql, values);
            for index in [
                "orders_number_idx",
                "orders_store_id_customer_search_idx",
                "shipments_tracking_number_idx",
            ] {
                assert!(plan.contains(index), "{filter:?}: {plan}");
            }
            assert!(!plan.contains("orders_store_id_id_idx"), "{filter:?}: {plan}");
            assert!(!plan.contains("orders_store_id_state_id_idx"), "{filter:?}: {plan}");
            assert!(
                !plan.contains("SCAN orders\n") && !plan.ends_with("SCAN orders"),
                "{filter:?}: {plan}"
            );
        }
    }

    /// The reads of parcels, exceptions, the outbox and tracking pages use their indexes:
    /// no scan of the table without one, no sort.
    #[test]
    fn tracking_and_exception_reads_use_their_indexes() {
        let mut conn = Connection::open_in_memory().expect("memory database");
        crate::migrations::run(&mut conn).expect("migrations");
        let no_scan_or_sort = |plan: &str, table: &str, what: &str| {
            assert!(!plan.contains("TEMP B-TREE"), "{what}: {plan}");
            assert!(
                !plan.contains(&format!("SCAN {table}\n")) && !plan.ends_with(&format!("SCAN {table}")),
                "{what}: {plan}"
            );
        };
        let store = Some(StoreId::new());
        let cases = [
            (ExceptionFilter::default(), "order_exceptions_raised_at_idx"),
            (
                ExceptionFilter {
                    store_id: store,
                    raised_before: Some(OffsetDateTime::UNIX_EPOCH),
                    ..ExceptionFilter::default()
                },
                "order_exceptions_store_id_raised_at_idx",
            ),
            (
                ExceptionFilter {
                    kind: Some(ExceptionKind::ShippingLate),
                    ..ExceptionFilter::default()
                },
                "order_exceptions_kind_raised_at_idx",
            ),
            (
                ExceptionFilter {
                    kind: Some(ExceptionKind::DisputeNeedsResponse),
                    after: Some((OffsetDateTime::UNIX_EPOCH, OrderId::new())),
                    ..ExceptionFilter::default()
                },
                "order_exceptions_kind_raised_at_idx",
            ),
        ];
        for (filter, index) in cases {
            let (sql, values) = list_exceptions_query(&filter);
            let plan = plan(&conn, &sql, values);
            assert!(plan.contains(index), "{filter:?}: {plan}");
            no_scan_or_sort(&plan, "order_exceptions", &format!("{filter:?}"));
        }
        let (sql, values) = list_exceptions_query(&ExceptionFilter {
            store_id: store,
            kind: Some(ExceptionKind::ShippingLate),
            ..ExceptionFilter::default()
        });
        no_scan_or_sort(&plan(&conn, &sql, values), "order_exceptions", "store and kind");

        let (sql, values) = list_messages_query(&MessageFilter {
            state: Some(MessageState::Queued),
            ..MessageFilter::default()
        });
        let messages = plan(&conn, &sql, values);
        assert!(messages.contains("messages_state_id_idx"), "{messages}");
        no_scan_or_sort(&messages, "messages", "messages by state");

        let lanes = plan(
            &conn,
            LANE_SAMPLES_SQL,
            vec![uuid_value(Uuid::now_v7()), Value::Integer(0), Value::Integer(10)],
        );
        assert!(lanes.contains("shipments_store_id_delivered_at_idx"), "{lanes}");
        no_scan_or_sort(&lanes, "shipments", "lane samples");

        let parcels = plan(
            &conn,
            "SELECT order_id, store_id, id FROM shipments WHERE tracking_number = ?1 ORDER BY id",
            vec![Value::Text("1Z".into())],
        );
        assert!(parcels.contains("shipments_tracking_number_idx"), "{parcels}");
        no_scan_or_sort(&parcels, "shipments", "parcels by number");

        let token = plan(
            &conn,
            "SELECT version, doc FROM orders WHERE tracking_token = ?1",
            vec![Value::Text("t".into())],
        );
        assert!(token.contains("orders_tracking_token_key"), "{token}");
    }
}
