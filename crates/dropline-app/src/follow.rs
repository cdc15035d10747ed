//! Following parcels and the clocks of every stage: the `poll_tracking` job (asks the
//! tracking service, or the supplier, about one parcel, on a schedule that follows the
//! parcel's state and stops after delivery), push updates from the tracking service, the
//! periodic clock check that raises (and clears) the exceptions of late stages and tells
//! customers their parcel is late, and the seller's daily digest.

use crate::error::AppError;
use crate::jobs;
use crate::ports::{ChangeSet, ExceptionFilter, Job, OrderFilter, StoreRecord};
use crate::scope::Scope;
use crate::service::App;
use crate::tracking::{ParcelTracking, TrackingSourceError};
use dropline_domain::clocks::{CLOCK_KINDS, ClockFinding, LaneTransit, check_clocks, measure_lanes};
use dropline_domain::ids::{OrderId, ShipmentId, StoreId};
use dropline_domain::order::{DeliveryWindow, ExceptionKind, Order, Shipment, ShipmentEvent, SuggestedAction};
use dropline_domain::state::{OrderState, ShipmentState};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;

/// How often parcels are looked at.
#[derive(Clone, Debug)]
pub struct FollowConfig {
    /// A parcel the carrier has not scanned yet.
    pub waiting_every: Duration,
    /// A moving parcel (in transit, in customs).
    pub moving_every: Duration,
    /// Out for delivery, or after a failed attempt: news comes fast.
    pub near_every: Duration,
    /// First retry delay after a failed call; doubled per attempt.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// A parcel with no carrier news for this long is given up as `expired`.
    pub give_up_after: Duration,
}

impl Default for FollowConfig {
    fn default() -> Self {
        Self {
            waiting_every: Duration::from_secs(12 * 3600),
            moving_every: Duration::from_secs(6 * 3600),
            near_every: Duration::from_secs(2 * 3600),
            base_backoff: Duration::from_secs(300),
            max_backoff: Duration::from_secs(6 * 3600),
            give_up_after: Duration::from_secs(60 * 24 * 3600),
        }
    }
}

impl FollowConfig {
    /// When a parcel in `state` is looked at next; `None` once it is done.
    pub fn next_look(&self, state: ShipmentState) -> Option<Duration> {
        match state {
            ShipmentState::Delivered | ShipmentState::ReturnedToSender | ShipmentState::Expired => None,
            ShipmentState::InfoReceived => Some(self.waiting_every),
            ShipmentState::OutForDelivery | ShipmentState::AttemptFailed => Some(self.near_every),
            ShipmentState::InTransit | ShipmentState::Customs | ShipmentState::Exception => Some(self.moving_every),
        }
    }
}

fn after(now: OffsetDateTime, delay: Duration) -> OffsetDateTime {
    now + time::Duration::try_from(delay).unwrap_or(time::Duration::HOUR)
}

/// What the clock check did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockReport {
    pub orders_checked: u64,
    pub raised: u64,
    pub resolved: u64,
    pub customers_told: u64,
    /// Supplier orders moved to the next offer because they missed their shipping clock.
    pub switched: u64,
}

impl App {
    /// Whether parcels of this supplier order can be followed automatically.
    fn can_follow(&self, order: &Order, shipment_id: ShipmentId) -> bool {
        self.tracking.is_some()
            || order.supplier_orders.iter().any(|so| {
                so.shipments.iter().any(|s| s.id == shipment_id)
                    && so.supplier_reference.is_some()
                    && self.places_automatically(so.supplier_kind)
            })
    }

    /// The first `poll_tracking` jobs of parcels that appeared in this change.
    pub(crate) fn push_follow_jobs(&self, before: &Order, after: &Order, changes: &mut ChangeSet) {
        let known = |id: ShipmentId| {
            before
                .supplier_orders
                .iter()
                .flat_map(|so| &so.shipments)
                .any(|s| s.id == id)
        };
        for parcel in after.supplier_orders.iter().flat_map(|so| &so.shipments) {
            if !known(parcel.id) && self.can_follow(after, parcel.id) {
                let at = self::after(self.now(), self.follow.near_every.min(self.follow.waiting_every) / 4);
                changes.jobs.push(jobs::poll_tracking_job(after, parcel.id, 0, at));
            }
        }
    }

    /// The `poll_tracking` job.
    pub(crate) async fn poll_tracking_job(
        &self,
        job: &Job,
        order_id: OrderId,
        shipment_id: ShipmentId,
        attempt: u32,
    ) -> Result<(), AppError> {
        let finish = || ChangeSet {
            finished_jobs: vec![job.id],
            ..ChangeSet::default()
        };
        let Some(order) = self.backend.get_order(order_id).await? else {
            return Ok(self.backend.commit(finish()).await?);
        };
        let Some((so, parcel)) = order
            .supplier_orders
            .iter()
            .find_map(|so| so.shipments.iter().find(|s| s.id == shipment_id).map(|s| (so, s)))
        else {
            return Ok(self.backend.commit(finish()).await?);
        };
        if self.follow.next_look(parcel.state).is_none() || order.state == OrderState::Cancelled {
            return Ok(self.backend.commit(finish()).await?);
        }
        let now = self.now();
        let given_up = parcel.last_event_at().is_some_and(|last| {
            now - last > time::Duration::try_from(self.follow.give_up_after).unwrap_or(time::Duration::MAX)
        });
        if given_up {
            return self
                .change_order_as_worker(order_id, Some(job), |order, journal, _| {
                    order.record_shipment_event(
                        shipment_id,
                        ShipmentState::Expired,
                        Some("no carrier news for too long; no longer followed".into()),
                        journal,
                    )?;
                    Ok(())
                })
                .await
                .map(|_| ());
        }
        let fetched = self.fetch_tracking(&order, so, parcel).await;
        match fetched {
            Ok(Some(tracking)) => {
                self.change_order_as_worker(order_id, Some(job), |order, journal, changes| {
                    let update = order.record_tracking(shipment_id, tracking.events.clone(), journal)?;
                    self.after_tracking(order, shipment_id, &update.reached, changes);
                    let state = order
                        .supplier_orders
                        .iter()
                        .flat_map(|so| &so.shipments)
                        .find(|s| s.id == shipment_id)
                        .map(|s| s.state);
                    if let Some(next) = state.and_then(|s| self.follow.next_look(s)) {
                        changes
                            .jobs
                            .push(jobs::poll_tracking_job(order, shipment_id, 0, after(journal.at, next)));
                    }
                    Ok(())
                })
                .await?;
                Ok(())
            }
            // Nothing to ask (a manual supplier without a tracking service).
            Ok(None) => Ok(self.backend.commit(finish()).await?),
            Err(error) => self.tracking_failed(job, &order, parcel, attempt, error).await,
        }
    }

    /// What a tracking answer causes besides the parcel's own move: the storefront hears of
    /// a delivery.
    fn after_tracking(
        &self,
        order: &Order,
        shipment_id: ShipmentId,
        reached: &[ShipmentState],
        changes: &mut ChangeSet,
    ) {
        if reached.contains(&ShipmentState::Delivered)
            && let Some(parcel) = order
                .supplier_orders
                .iter()
                .flat_map(|so| &so.shipments)
                .find(|s| s.id == shipment_id)
        {
            changes.jobs.push(jobs::storefront_status_job(
                order,
                jobs::StorefrontStatus::Delivered {
                    tracking_number: parcel.tracking_number.clone(),
                },
                self.now(),
            ));
        }
    }

    /// Asks the tracking service (registering the number on the first look) or else the
    /// supplier; `None` when no source can follow the parcel.
    async fn fetch_tracking(
        &self,
        order: &Order,
        so: &dropline_domain::order::SupplierOrder,
        parcel: &Shipment,
    ) -> Result<Option<ParcelTracking>, TrackingSourceError> {
        if let Some(source) = &self.tracking {
            if parcel.last_checked_at.is_none() {
                source
                    .register(&parcel.tracking_number, parcel.carrier_code.as_deref())
                    .await?;
            }
            return source
                .fetch(&parcel.tracking_number, parcel.carrier_code.as_deref())
                .await
                .map(Some);
        }
        let (Some(client), Some(reference)) = (self.suppliers.clone(), so.supplier_reference.as_deref()) else {
            return Ok(None);
        };
        if !client.places(so.supplier_kind) {
            return Ok(None);
        }
        let Ok(Some(supplier)) = self.backend.get_supplier(so.supplier_id).await else {
            return Err(TrackingSourceError::Retryable("the supplier could not be read".into()));
        };
        let events = client
            .tracking(
                &supplier,
                reference,
                &parcel.tracking_number,
                &order.shipping_address.country_code,
            )
            .await
            .map_err(|error| match error {
                crate::supplier::SupplierError::Retryable(reason) => TrackingSourceError::Retryable(reason),
                crate::supplier::SupplierError::RateLimited { retry_after } => TrackingSourceError::RateLimited {
                    retry_after: retry_after.unwrap_or(Duration::from_secs(60)),
                },
                crate::supplier::SupplierError::Misconfigured(reason) => TrackingSourceError::Misconfigured(reason),
                other => TrackingSourceError::Refused(other.to_string()),
            })?;
        Ok(Some(ParcelTracking {
            tracking_number: parcel.tracking_number.clone(),
            carrier: None,
            events: events
                .into_iter()
                .map(|e| ShipmentEvent {
                    at: e.at,
                    state: e.state,
                    note: Some(e.description).filter(|d| !d.trim().is_empty()),
                    location: e.location,
                    from_carrier: true,
                })
                .collect(),
            estimated_delivery: None,
        }))
    }

    /// A failed look: retried with backoff when temporary; an unreadable answer or a refusal
    /// becomes an exception on the order (once) and the parcel is looked at again later.
    async fn tracking_failed(
        &self,
        job: &Job,
        order: &Order,
        parcel: &Shipment,
        attempt: u32,
        error: TrackingSourceError,
    ) -> Result<(), AppError> {
        let now = self.now();
        let normal = self.follow.next_look(parcel.state).unwrap_or(self.follow.moving_every);
        let (retry_at, exception) = match &error {
            TrackingSourceError::NotYet(_) => (after(now, normal), None),
            TrackingSourceError::Retryable(_) => (
                after(
                    now,
                    crate::placement::backoff(
                        self.follow.base_backoff,
                        self.follow.max_backoff,
                        attempt + 1,
                        job.id.0.as_u128(),
                    ),
                ),
                None,
            ),
            TrackingSourceError::RateLimited { retry_after } => {
                (after(now, (*retry_after).min(self.follow.max_backoff)), None)
            }
            TrackingSourceError::Malformed(reason) | TrackingSourceError::Refused(reason) => (
                after(now, normal),
                Some(format!(
                    "the tracking of parcel {} ({}) could not be read: {reason}",
                    parcel.tracking_number, parcel.carrier
                )),
            ),
            TrackingSourceError::Misconfigured(reason) => (
                after(now, self.follow.max_backoff),
                Some(format!("the tracking service cannot be used as configured: {reason}")),
            ),
        };
        tracing::warn!(order = %order.id, parcel = %parcel.tracking_number, %error, "tracking look failed");
        let shipment_id = parcel.id;
        let next_attempt = if exception.is_some() { 0 } else { attempt + 1 };
        let not_yet = matches!(error, TrackingSourceError::NotYet(_));
        self.change_order_as_worker(order.id, Some(job), |order, journal, changes| {
            if not_yet {
                // Registered and asked: the next look only asks.
                order.note_parcel_checked(shipment_id, journal.at)?;
            }
            if let Some(detail) = &exception {
                order.raise_exception(
                    ExceptionKind::TrackingUnreadable,
                    detail.clone(),
                    SuggestedAction::ContactSupplier,
                    journal,
                );
            }
            changes
                .jobs
                .push(jobs::poll_tracking_job(order, shipment_id, next_attempt, retry_at));
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Reads a push from the tracking service (its signature checked first) and records
    /// every parcel it names; returns how many parcels of dropline it moved or noted.
    pub async fn receive_tracking_push(&self, headers: &[(String, String)], body: &[u8]) -> Result<usize, AppError> {
        let Some(source) = self.tracking.clone() else {
            return Err(AppError::NotFound("tracking service"));
        };
        let parcels = source.read_push(headers, body).map_err(|error| match error {
            TrackingSourceError::Refused(reason) | TrackingSourceError::Misconfigured(reason) => {
                AppError::Unauthorized(reason)
            }
            other => AppError::invalid("body", other.to_string()),
        })?;
        let mut recorded = 0;
        for tracking in parcels {
            let refs = self
                .backend
                .shipments_by_tracking_number(&tracking.tracking_number)
                .await?;
            for found in refs {
                let shipment_id = found.shipment_id;
                self.change_order_as_worker(found.order_id, None, |order, journal, changes| {
                    let update = order.record_tracking(shipment_id, tracking.events.clone(), journal)?;
                    self.after_tracking(order, shipment_id, &update.reached, changes);
                    Ok(())
                })
                .await?;
                recorded += 1;
            }
        }
        Ok(recorded)
    }

    /// Checks the clocks of every order in progress (see [`dropline_domain::clocks`]):
    /// raises what is late, clears what no longer is, and tells customers of late parcels
    /// where the store allows it. Idempotent: run it as often as wanted.
    pub async fn check_all_clocks(&self) -> Result<ClockReport, AppError> {
        let now = self.now();
        let mut report = ClockReport::default();
        let mut stores: HashMap<StoreId, Option<(StoreRecord, Vec<LaneTransit>)>> = HashMap::new();
        for state in [
            OrderState::Accepted,
            OrderState::InFulfillment,
            OrderState::PartiallyShipped,
            OrderState::Shipped,
            OrderState::PartiallyDelivered,
            OrderState::DeliveryFailed,
        ] {
            let mut before = None;
            loop {
                let page = self
                    .backend
                    .list_orders(&OrderFilter {
                        state: Some(state),
                        before,
                        limit: 200,
                        ..OrderFilter::default()
                    })
                    .await?;
                let Some(last) = page.last() else {
                    break;
                };
                before = Some(last.id);
                for order in &page {
                    if let std::collections::hash_map::Entry::Vacant(slot) = stores.entry(order.store_id) {
                        let entry = match self.backend.get_store(order.store_id).await? {
                            Some(record) => {
                                let since = now - time::Duration::days(120);
                                let samples = self.backend.lane_samples(order.store_id, since).await?;
                                let samples: Vec<_> = samples
                                    .into_iter()
                                    .map(|s| (s.supplier_id, s.country, s.shipped_at, s.delivered_at))
                                    .collect();
                                Some((record, measure_lanes(&samples)))
                            }
                            None => None,
                        };
                        slot.insert(entry);
                    }
                    let Some(Some((record, lanes))) = stores.get(&order.store_id) else {
                        continue;
                    };
                    report.orders_checked += 1;
                    let found = check_clocks(order, &record.store.settings.clocks, lanes, now);
                    if !clock_changes(order, &found) {
                        continue;
                    }
                    let store = &record.store;
                    let (raised, resolved, told) = self.apply_clock_findings(store, order.id, &found).await?;
                    report.raised += raised;
                    report.resolved += resolved;
                    report.customers_told += told;
                    if raised > 0 && store.settings.exception_automation.switch_supplier_when_late {
                        report.switched += self.switch_late_suppliers(order, &found).await;
                    }
                }
                if page.len() < 200 {
                    break;
                }
            }
        }
        Ok(report)
    }

    /// The store allows it: supplier orders that missed their shipping clock go to the next
    /// offer (the late supplier is asked to cancel). A supplier order that can no longer be
    /// switched (it shipped meanwhile) is left to the seller.
    async fn switch_late_suppliers(&self, order: &Order, found: &[ClockFinding]) -> u64 {
        let mut switched = 0;
        for finding in found.iter().filter(|f| f.kind == ExceptionKind::ShippingLate) {
            let Some(id) = finding.supplier_order_id else {
                continue;
            };
            let reason = format!("missed its shipping clock: {}", finding.detail);
            match self
                .switch_supplier_because(
                    Scope::Operator,
                    id,
                    dropline_domain::placement::FailureKind::MissedDeadline,
                    &reason,
                )
                .await
            {
                Ok(_) => switched += 1,
                Err(err) => {
                    tracing::warn!(order = %order.id, supplier_order = %id, error = %err, "late supplier not switched")
                }
            }
        }
        switched
    }

    async fn apply_clock_findings(
        &self,
        store: &dropline_domain::catalog::Store,
        order_id: OrderId,
        found: &[ClockFinding],
    ) -> Result<(u64, u64, u64), AppError> {
        let counts = std::sync::Mutex::new((0u64, 0u64, 0u64));
        self.change_order_as_worker(order_id, None, |order, journal, changes| {
            let mut local = (0, 0, 0);
            for finding in found {
                if order.raise_exception(finding.kind, finding.detail.clone(), finding.suggested_action, journal) {
                    local.0 += 1;
                }
            }
            let stale: Vec<(ExceptionKind, String)> = order
                .open_exceptions()
                .filter(|e| CLOCK_KINDS.contains(&e.kind))
                .filter(|e| !found.iter().any(|f| f.kind == e.kind && f.detail == e.detail))
                .map(|e| (e.kind, e.detail.clone()))
                .collect();
            for (kind, detail) in stale {
                if order.resolve_exception(kind, &detail, journal) {
                    local.1 += 1;
                }
            }
            if store.settings.exception_automation.tell_customer_when_late {
                for finding in found.iter().filter(|f| f.customer_late) {
                    let (Some(shipment_id), Some(new_latest)) = (finding.shipment_id, finding.new_expected_by) else {
                        continue;
                    };
                    order.promise_delivery(
                        shipment_id,
                        DeliveryWindow {
                            earliest: journal.at,
                            latest: new_latest,
                        },
                        journal,
                    )?;
                    let Some(parcel) = order
                        .supplier_orders
                        .iter()
                        .flat_map(|so| &so.shipments)
                        .find(|s| s.id == shipment_id)
                    else {
                        continue;
                    };
                    let notices = crate::notify::Notices {
                        store,
                        public_url: self.public_url(),
                        now: journal.at,
                    };
                    let reason = match finding.kind {
                        ExceptionKind::StuckInCustoms => "your parcel is taking longer than usual to clear customs",
                        ExceptionKind::TrackingStalled => {
                            "the carrier has not reported progress on your parcel for a while"
                        }
                        _ => "your parcel is taking longer than we promised",
                    };
                    let data = json!({
                        "parcel": crate::notify::parcel_data(parcel),
                        "delay": {
                            "reason": reason,
                            "expected_latest": new_latest.format(&time::format_description::well_known::Rfc3339).ok(),
                        }
                    });
                    if let Some(message) = notices.customer(
                        order,
                        "delayed",
                        format!("delayed:{}:{}", shipment_id, new_latest.date()),
                        data,
                    ) {
                        self.push_message(changes, message);
                        local.2 += 1;
                    }
                }
            }
            *counts.lock().unwrap_or_else(|p| p.into_inner()) = local;
            Ok(())
        })
        .await?;
        let counts = *counts.lock().unwrap_or_else(|p| p.into_inner());
        Ok(counts)
    }

    /// Writes the seller's daily digest of every store whose digest hour has come today and
    /// has not had today's digest (the dedupe key makes a second one a no-op). Returns the
    /// number of digests written.
    pub async fn send_digests(&self) -> Result<u32, AppError> {
        let now = self.now();
        let mut written = 0;
        for record in self.backend.list_stores().await? {
            let store = &record.store;
            let settings = &store.settings.seller_notifications;
            if !settings.daily_digest || settings.email.is_none() || now.hour() < settings.digest_hour_utc {
                continue;
            }
            let Some(data) = self.digest_data(store.id, now).await? else {
                continue;
            };
            let notices = crate::notify::Notices {
                store,
                public_url: self.public_url(),
                now,
            };
            let Some(message) = notices.seller(None, "seller_digest", format!("digest:{}", now.date()), data) else {
                continue;
            };
            let mut changes = ChangeSet::default();
            self.push_message(&mut changes, message);
            self.backend.commit(changes).await?;
            written += 1;
        }
        Ok(written)
    }

    /// The digest of a store: orders not processed within 24 hours, supplier orders without
    /// tracking, parcels stuck, and the other open exceptions; `None` when all are empty.
    pub async fn digest_data(
        &self,
        store_id: StoreId,
        now: OffsetDateTime,
    ) -> Result<Option<serde_json::Value>, AppError> {
        let entry = |number: &str, kind: &str, detail: &str, action: &str, since: OffsetDateTime| {
            json!({
                "order_number": number,
                "kind": kind,
                "detail": detail,
                "suggested_action": action,
                "age_hours": (now - since).whole_hours(),
            })
        };
        let mut not_processed = Vec::new();
        for state in [OrderState::PendingReview, OrderState::OnHold] {
            let orders = self
                .backend
                .list_orders(&OrderFilter {
                    store_id: Some(store_id),
                    state: Some(state),
                    limit: 200,
                    ..OrderFilter::default()
                })
                .await?;
            for order in orders
                .iter()
                .filter(|o| !o.test && now - o.received_at > time::Duration::DAY)
            {
                not_processed.push(entry(
                    &order.number,
                    &state.to_string(),
                    &format!(
                        "{} since {}",
                        state.to_string().replace('_', " "),
                        order.received_at.date()
                    ),
                    "review",
                    order.received_at,
                ));
            }
        }
        let exceptions = self
            .backend
            .list_exceptions(&ExceptionFilter {
                store_id: Some(store_id),
                limit: 500,
                ..ExceptionFilter::default()
            })
            .await?;
        let (mut no_tracking, mut stuck, mut other) = (Vec::new(), Vec::new(), Vec::new());
        for e in &exceptions {
            let item = entry(
                &e.order_number,
                &e.kind.to_string(),
                &e.detail,
                &e.suggested_action.to_string(),
                e.raised_at,
            );
            match e.kind {
                ExceptionKind::PlacementLate => not_processed.push(item),
                ExceptionKind::ShippingLate | ExceptionKind::AcceptanceLate => no_tracking.push(item),
                ExceptionKind::NoFirstScan
                | ExceptionKind::TrackingStalled
                | ExceptionKind::StuckInCustoms
                | ExceptionKind::PastDeliveryWindow
                | ExceptionKind::DeliveryProblem => stuck.push(item),
                _ => other.push(item),
            }
        }
        if not_processed.is_empty() && no_tracking.is_empty() && stuck.is_empty() && other.is_empty() {
            return Ok(None);
        }
        Ok(Some(json!({
            "digest": {
                "date": now.date().to_string(),
                "not_processed": not_processed,
                "no_tracking": no_tracking,
                "stuck": stuck,
                "other": other,
            }
        })))
    }

    /// The seller's work list: open exceptions, oldest first.
    pub async fn list_exceptions(
        &self,
        scope: Scope,
        mut filter: ExceptionFilter,
    ) -> Result<Vec<crate::ports::ExceptionEntry>, AppError> {
        filter.store_id = scope.store_filter(filter.store_id);
        Ok(self.backend.list_exceptions(&filter).await?)
    }
}

/// Whether the findings differ from the order's open clock exceptions.
fn clock_changes(order: &Order, found: &[ClockFinding]) -> bool {
    let open: Vec<_> = order
        .open_exceptions()
        .filter(|e| CLOCK_KINDS.contains(&e.kind))
        .collect();
    found.len() != open.len()
        || found
            .iter()
            .any(|f| !open.iter().any(|e| e.kind == f.kind && e.detail == f.detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parcels_are_looked_at_more_often_near_the_door_and_never_after_delivery() {
        let config = FollowConfig::default();
        let waiting = config.next_look(ShipmentState::InfoReceived).expect("waiting");
        let moving = config.next_look(ShipmentState::InTransit).expect("moving");
        let near = config.next_look(ShipmentState::OutForDelivery).expect("near");
        assert!(near < moving && moving < waiting);
        assert_eq!(config.next_look(ShipmentState::Delivered), None);
        assert_eq!(config.next_look(ShipmentState::ReturnedToSender), None);
        assert_eq!(config.next_look(ShipmentState::Expired), None);
    }
}

/// What the customer's tracking page shows: the store's brand, the order's items and each
/// parcel's events. Nothing of the supplier (name, price, link) is in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingPage {
    pub brand: dropline_domain::catalog::StoreBrand,
    /// The name the customer knows the store by.
    pub store_name: String,
    pub order_number: String,
    pub placed_at: OffsetDateTime,
    pub order_state: OrderState,
    /// (title, variant title, quantity) of each line.
    pub items: Vec<(String, Option<String>, u32)>,
    pub parcels: Vec<ParcelView>,
    /// Lines the customer may still ask to return: (line id, title, variant, units).
    pub returnable: Vec<(dropline_domain::ids::LineItemId, String, Option<String>, u32)>,
    /// The customer's returns: (state, what).
    pub returns: Vec<(dropline_domain::ledger::ReturnState, String)>,
}

/// A parcel on the tracking page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParcelView {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub state: ShipmentState,
    pub expected_window: Option<DeliveryWindow>,
    pub shipped_at: Option<OffsetDateTime>,
    pub delivered_at: Option<OffsetDateTime>,
    /// Newest first.
    pub events: Vec<ShipmentEvent>,
}

/// Whether `token` has the shape of a tracking-page token (so that garbage never reaches
/// the database).
pub fn is_tracking_token(token: &str) -> bool {
    token.len() == 48 && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl App {
    /// The customer's tracking page of the order with this token; NotFound for an unknown or
    /// malformed token (the same answer, so tokens cannot be probed).
    pub async fn tracking_page(&self, token: &str) -> Result<TrackingPage, AppError> {
        if !is_tracking_token(token) {
            return Err(AppError::NotFound("tracking page"));
        }
        let order = self
            .backend
            .order_by_tracking_token(token)
            .await?
            .ok_or(AppError::NotFound("tracking page"))?;
        let store = self
            .backend
            .get_store(order.store_id)
            .await?
            .ok_or(AppError::NotFound("tracking page"))?
            .store;
        let parcels = order
            .supplier_orders
            .iter()
            .flat_map(|so| &so.shipments)
            .map(|p| ParcelView {
                carrier: p.carrier.clone(),
                tracking_number: p.tracking_number.clone(),
                tracking_url: p.public_tracking_url(),
                state: p.state,
                expected_window: p.expected_window,
                shipped_at: p.shipped_at,
                delivered_at: p.delivered_at,
                events: p.events.iter().rev().cloned().collect(),
            })
            .collect();
        Ok(TrackingPage {
            store_name: store
                .settings
                .brand
                .display_name
                .clone()
                .unwrap_or_else(|| store.name.clone()),
            brand: store.settings.brand,
            order_number: order.number.clone(),
            placed_at: order.placed_at,
            order_state: order.state,
            items: order
                .lines
                .iter()
                .map(|l| (l.title.clone(), l.variant_title.clone(), l.quantity))
                .collect(),
            parcels,
            returnable: order
                .lines
                .iter()
                .map(|l| {
                    let left = order.delivered_units(l.id).saturating_sub(order.returned_units(l.id));
                    (l.id, l.title.clone(), l.variant_title.clone(), left)
                })
                .filter(|(_, _, _, left)| *left > 0)
                .collect(),
            returns: order
                .after_sale
                .returns
                .iter()
                .map(|r| {
                    let what = r
                        .lines
                        .iter()
                        .map(|u| {
                            let title = order
                                .lines
                                .iter()
                                .find(|l| l.id == u.line_item_id)
                                .map_or("an item", |l| l.title.as_str());
                            format!("{} × {title}", u.quantity)
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    (r.state, what)
                })
                .collect(),
        })
    }
}
