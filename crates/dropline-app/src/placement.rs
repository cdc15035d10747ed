//! Placing supplier orders exactly once, following them, cancelling them and failing over
//! (DESIGN.md "Exactly once toward suppliers", "One protocol for every supplier").
//!
//! # Exactly once
//!
//! A supplier order is placed by the `place_supplier_order` job in two steps:
//!
//! 1. While the request is `unsubmitted`, the checks run (what the supplier needs for the
//!    destination, a fresh quote, SKU drift, the store's price tolerance and margin floor).
//!    A failed check holds the supplier order. Otherwise the request becomes `submitted` and
//!    that state is committed BEFORE the call goes out: it is the `placing` mark.
//! 2. The order is sent under its idempotency key. A job that finds the request already
//!    `submitted` (a retry after a time-out, a lost answer, a crash) first looks the order up
//!    by its key at the supplier and only sends it when the supplier has none.
//!
//! Transient failures never bury the job: the job re-enqueues itself with exponential backoff
//! and jitter (or after the supplier's `Retry-After`), and a supplier that keeps failing trips
//! its circuit breaker so its queue waits instead of hammering it.
//!
//! # Failover
//!
//! A supplier that rejects the order, is out of stock, cannot ship to the destination, closes
//! the order without shipping or misses its processing deadline fails the supplier order
//! (cancelled, or a cancellation requested from the supplier); its lines are routed again,
//! never to an offer that failed this order, and the order goes on hold for the seller when
//! no offer is left.

use crate::error::AppError;
use crate::jobs::{self, CANCEL_AT_SUPPLIER, PLACE_SUPPLIER_ORDER, SYNC_SUPPLIER_ORDER};
use crate::ports::{ChangeSet, Job, OrderWrite, StockChange, StoreError};
use crate::scope::Scope;
use crate::service::{App, CONFLICT_RETRIES};
use crate::supplier::{CancelOutcome, PlaceRequest, RemoteOrder, RemoteStatus, SupplierClient, SupplierError};
use dropline_domain::catalog::{Store as Shop, Supplier, SupplierKind};
use dropline_domain::ids::{OrderId, SupplierId, SupplierOrderId};
use dropline_domain::money::Money;
use dropline_domain::order::{Order, SupplierOrder};
use dropline_domain::placement::{Acceptance, FailureKind, HeldIssue};
use dropline_domain::state::{
    RequestStatus, ShipmentState, SupplierOrderEvent, SupplierOrderStatus, cancellation_event,
};
use dropline_domain::submission::{SuggestedFix, check_submission, requirements_for};
use dropline_domain::timeline::{Actor, Journal};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

/// How placement retries, waits and follows orders.
#[derive(Clone, Debug)]
pub struct PlacementConfig {
    /// First retry delay; doubled per attempt, with jitter.
    pub base_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// Consecutive failures of one supplier that open its circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit keeps the supplier's queue waiting.
    pub breaker_cooldown: Duration,
    /// How often a placed supplier order is looked at (status, parcels, deadline).
    pub poll_interval: Duration,
}

impl Default for PlacementConfig {
    fn default() -> Self {
        Self {
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(3600),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(60),
            poll_interval: Duration::from_secs(6 * 3600),
        }
    }
}

/// Per-supplier circuit breakers. In memory: each process keeps its own, which is enough to
/// stop one node from hammering a failing supplier.
#[derive(Default)]
pub(crate) struct Breakers {
    states: Mutex<HashMap<SupplierId, Breaker>>,
}

#[derive(Default, Clone, Copy)]
struct Breaker {
    consecutive_failures: u32,
    open_until: Option<OffsetDateTime>,
}

impl Breakers {
    /// When the supplier's circuit is open, until when.
    fn open_until(&self, supplier: SupplierId, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        states
            .get(&supplier)
            .and_then(|b| b.open_until)
            .filter(|until| *until > now)
    }

    fn success(&self, supplier: SupplierId) {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        states.remove(&supplier);
    }

    /// Counts a failure; returns when the circuit opened, if it did now.
    fn failure(&self, supplier: SupplierId, config: &PlacementConfig, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let breaker = states.entry(supplier).or_default();
        breaker.consecutive_failures += 1;
        if breaker.consecutive_failures >= config.breaker_threshold {
            // Half-open after the cool-down: the next call decides; a failure opens it again.
            breaker.consecutive_failures = config.breaker_threshold - 1;
            let until = now + time::Duration::try_from(config.breaker_cooldown).unwrap_or(time::Duration::MINUTE);
            breaker.open_until = Some(until);
            return Some(until);
        }
        None
    }
}

/// The delay before retry `attempt` (from 1): exponential, capped, with "equal jitter" (half
/// fixed, half spread by the job's id) so that many orders failed together do not all come
/// back at the same second.
pub fn retry_delay(config: &PlacementConfig, attempt: u32, spread_seed: u128) -> Duration {
    backoff(config.base_backoff, config.max_backoff, attempt, spread_seed)
}

/// Exponential backoff from `base`, capped at `max`, with equal jitter spread by `spread_seed`.
pub fn backoff(base: Duration, max: Duration, attempt: u32, spread_seed: u128) -> Duration {
    let exponential = base
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)))
        .min(max);
    let half = exponential / 2;
    let spread_millis = half.as_millis().max(1);
    let jitter = Duration::from_millis(u64::try_from(spread_seed % spread_millis).unwrap_or(0));
    half + jitter
}

/// What a failed supplier call leads to.
enum Next {
    /// Try again at this time (attempt counted).
    RetryAt(OffsetDateTime, String),
    /// The supplier refused: fail over.
    Fail(FailureKind, String),
    /// Hold for a person.
    Hold(HeldIssue),
}

impl App {
    fn supplier_client(&self) -> Option<Arc<dyn SupplierClient>> {
        self.suppliers.clone()
    }

    /// Whether supplier orders of this supplier are placed automatically.
    pub(crate) fn places_automatically(&self, supplier_kind: dropline_domain::catalog::SupplierKind) -> bool {
        self.suppliers.as_ref().is_some_and(|c| c.places(supplier_kind))
    }

    /// What newly created supplier orders cause: the jobs that place those of automatic
    /// suppliers, and the units reserved at the seller's own warehouse (its stock counts
    /// what is left to sell, so the next order falls back to dropshipping when it runs out).
    pub(crate) fn push_placement_jobs(&self, changes: &mut ChangeSet, order: &Order, created: &[SupplierOrderId]) {
        for id in created {
            let Ok(so) = order.supplier_order(*id) else {
                continue;
            };
            if self.places_automatically(so.supplier_kind) {
                changes.jobs.push(jobs::supplier_order_job(
                    PLACE_SUPPLIER_ORDER,
                    order,
                    *id,
                    0,
                    self.now(),
                ));
            }
            if so.supplier_kind == SupplierKind::Warehouse {
                changes.stock_changes.extend(so.lines.iter().map(|line| StockChange {
                    offer_id: line.offer_id,
                    delta: -i64::from(line.quantity),
                }));
            }
        }
    }

    /// The jobs that ask automatic suppliers to cancel the supplier orders whose cancellation
    /// was just requested.
    pub(crate) fn push_cancellation_jobs(&self, changes: &mut ChangeSet, before: &Order, after: &Order) {
        // Units of the seller's own warehouse come back when their supplier order is
        // cancelled before anything shipped.
        for so in &after.supplier_orders {
            let was_cancelled = before
                .supplier_orders
                .iter()
                .any(|b| b.id == so.id && b.state.status == SupplierOrderStatus::Cancelled);
            if so.supplier_kind == SupplierKind::Warehouse
                && so.state.status == SupplierOrderStatus::Cancelled
                && !was_cancelled
                && so.shipments.is_empty()
            {
                changes.stock_changes.extend(so.lines.iter().map(|line| StockChange {
                    offer_id: line.offer_id,
                    delta: i64::from(line.quantity),
                }));
            }
        }
        for so in &after.supplier_orders {
            let was_requested = before
                .supplier_orders
                .iter()
                .any(|b| b.id == so.id && b.state.request_status == RequestStatus::CancellationRequested);
            if so.state.request_status == RequestStatus::CancellationRequested
                && !was_requested
                && self.places_automatically(so.supplier_kind)
            {
                changes.jobs.push(jobs::supplier_order_job(
                    CANCEL_AT_SUPPLIER,
                    after,
                    so.id,
                    0,
                    self.now(),
                ));
            }
        }
    }

    fn delay(&self, attempt: u32, job: &Job) -> OffsetDateTime {
        let delay = retry_delay(&self.placement, attempt, job.id.0.as_u128());
        self.now() + time::Duration::try_from(delay).unwrap_or(time::Duration::HOUR)
    }

    fn classify(&self, supplier: &Supplier, error: SupplierError, attempt: u32, job: &Job) -> Next {
        let now = self.now();
        match error {
            SupplierError::Retryable(reason) => {
                let mut at = self.delay(attempt + 1, job);
                if let Some(until) = self.breakers.failure(supplier.id, &self.placement, now) {
                    tracing::warn!(supplier = %supplier.id, until = %until, "supplier circuit opened");
                    at = at.max(until);
                }
                Next::RetryAt(at, reason)
            }
            SupplierError::RateLimited { retry_after } => {
                let at = match retry_after {
                    Some(after) => {
                        now + time::Duration::try_from(after)
                            .unwrap_or(time::Duration::HOUR)
                            .min(time::Duration::HOUR)
                    }
                    None => self.delay(attempt + 1, job),
                };
                Next::RetryAt(at, "rate limited".into())
            }
            SupplierError::Rejected { kind, reason } => Next::Fail(kind, reason),
            SupplierError::Misconfigured(reason) => Next::Hold(HeldIssue {
                field: "supplier.connection".into(),
                code: "supplier_misconfigured".into(),
                message: format!("the supplier cannot be called as configured: {reason}"),
                fix: SuggestedFix::SwitchSupplier,
            }),
            SupplierError::Unconfirmed(reason) => Next::Hold(unconfirmed(&reason)),
            SupplierError::AddressRefused(reason) => Next::Hold(HeldIssue {
                field: "ship_to".into(),
                code: "address_refused".into(),
                message: format!("the supplier refused the ship-to address: {reason}"),
                fix: SuggestedFix::EditAddress,
            }),
        }
    }

    /// What a supplier-order job works on: the client, the order, its supplier order and the
    /// supplier; `None` when any is gone (the job has nothing left to do).
    async fn job_subject(
        &self,
        order_id: OrderId,
        id: SupplierOrderId,
    ) -> Result<Option<(Arc<dyn SupplierClient>, Order, SupplierOrder, Supplier)>, AppError> {
        let Some(client) = self.supplier_client() else {
            return Ok(None);
        };
        let Some((order, so)) = self.load_supplier_order(order_id, id).await? else {
            return Ok(None);
        };
        let supplier = self.backend.get_supplier(so.supplier_id).await?;
        Ok(supplier.map(|supplier| (client, order, so, supplier)))
    }

    /// Loads the order and the supplier order of a job; `None` when either is gone.
    async fn load_supplier_order(
        &self,
        order_id: OrderId,
        id: SupplierOrderId,
    ) -> Result<Option<(Order, SupplierOrder)>, AppError> {
        let Some(order) = self.backend.get_order(order_id).await? else {
            return Ok(None);
        };
        let Ok(so) = order.supplier_order(id).cloned() else {
            return Ok(None);
        };
        Ok(Some((order, so)))
    }

    /// Re-reads the order, applies `change` and commits it with the job finished (or, with
    /// `keep_job`, left running); retried when another writer changed the order meanwhile.
    async fn commit_change<F>(&self, job: &Job, order_id: OrderId, keep_job: bool, change: F) -> Result<Order, AppError>
    where
        F: Fn(&mut Order, &mut Journal, &mut ChangeSet) -> Result<(), AppError> + Send + Sync,
    {
        let mut tries = 0;
        loop {
            let mut order = self
                .backend
                .get_order(order_id)
                .await?
                .ok_or(AppError::NotFound("order"))?;
            let before = order.clone();
            let mut journal = Journal::new(order.id, Actor::Worker, self.now());
            let mut changes = ChangeSet::default();
            change(&mut order, &mut journal, &mut changes)?;
            self.add_order_notices(&before, &mut order, &mut changes).await?;
            changes.timeline.append(&mut journal.events);
            changes.orders.push(OrderWrite::Update(order.clone()));
            if !keep_job {
                changes.finished_jobs.push(job.id);
            }
            match self.backend.commit(changes).await {
                Ok(()) => {
                    order.version += 1;
                    return Ok(order);
                }
                Err(StoreError::Conflict(_)) if tries < CONFLICT_RETRIES => tries += 1,
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Finishes `job` and enqueues its next run at `at`, with a timeline note.
    async fn reschedule(
        &self,
        job: &Job,
        order: &Order,
        so: &SupplierOrder,
        attempt: u32,
        at: OffsetDateTime,
        why: &str,
    ) -> Result<(), AppError> {
        let mut journal = Journal::new(order.id, Actor::Worker, self.now());
        journal.record(
            "supplier_order.retry",
            format!(
                "{} at {}: {why}; trying again at {}",
                job.kind,
                so.supplier_name,
                at.replace_nanosecond(0).unwrap_or(at)
            ),
            None,
            None,
        );
        let changes = ChangeSet {
            timeline: journal.events,
            jobs: vec![jobs::supplier_order_job(&job.kind, order, so.id, attempt, at)],
            finished_jobs: vec![job.id],
            ..ChangeSet::default()
        };
        Ok(self.backend.commit(changes).await?)
    }

    /// The `place_supplier_order` job.
    pub(crate) async fn place_job(
        &self,
        job: &Job,
        order_id: OrderId,
        id: SupplierOrderId,
        attempt: u32,
    ) -> Result<(), AppError> {
        let Some((client, order, so, supplier)) = self.job_subject(order_id, id).await? else {
            return self.finish_job(job).await;
        };
        let placeable = matches!(
            (so.state.status, so.state.request_status),
            (
                SupplierOrderStatus::Open,
                RequestStatus::Unsubmitted | RequestStatus::Submitted
            )
        );
        if !client.places(supplier.kind) || !placeable || order.test || so.placement.failure.is_some() {
            return self.finish_job(job).await;
        }
        if let Some(until) = self.breakers.open_until(supplier.id, self.now()) {
            return self
                .reschedule(job, &order, &so, attempt, until, "the supplier's circuit is open")
                .await;
        }
        let store = self.store_context(Scope::Operator, order.store_id).await?.store.clone();
        let fresh = so.state.request_status == RequestStatus::Unsubmitted;
        if fresh {
            // The checks before submitting, on a fresh quote.
            let quote = match client.quote(&supplier, &so).await {
                Ok(quote) => quote,
                Err(error) => return self.after_failure(job, &supplier, &order, &so, attempt, error).await,
            };
            let issues = submission_issues(&store, &order, &so, &quote);
            if !issues.is_empty() {
                let quoted = quoted_total(&so, &quote);
                self.commit_change(job, order_id, false, |order, journal, _| {
                    Ok(order.hold_supplier_order(id, issues.clone(), quoted, journal)?)
                })
                .await?;
                return Ok(());
            }
            // The placing mark, durable before the call goes out.
            let note = store.settings.supplier_note.clone();
            self.commit_change(job, order_id, true, |order, journal, _| {
                Ok(order.submit_to_supplier(id, note.clone(), journal)?)
            })
            .await?;
        } else {
            // The request may have reached the supplier: never send it again unseen.
            match client.find(&supplier, &so.idempotency_key).await {
                Ok(Some(remote)) => {
                    self.breakers.success(supplier.id);
                    return self.record_remote(job, &supplier, order_id, id, remote).await;
                }
                Ok(None) => {
                    // A supplier that cannot be asked by key refuses a second order only for
                    // a while: past that, never resend unseen.
                    let window = client.resend_window(supplier.kind);
                    let first_try = so.placement.submitted_at.unwrap_or(so.created_at);
                    if let Some(window) = window
                        && self.now() - first_try > time::Duration::try_from(window).unwrap_or(time::Duration::DAY)
                    {
                        let issue = unconfirmed("the supplier's window for a safe resend is over");
                        self.commit_change(job, order_id, false, |order, journal, _| {
                            Ok(order.hold_supplier_order(id, vec![issue.clone()], None, journal)?)
                        })
                        .await?;
                        return Ok(());
                    }
                }
                Err(error) => return self.after_failure(job, &supplier, &order, &so, attempt, error).await,
            }
        }
        let (order, so) = match self.load_supplier_order(order_id, id).await? {
            Some(loaded) => loaded,
            None => return self.finish_job(job).await,
        };
        if so.state.request_status != RequestStatus::Submitted || so.state.status != SupplierOrderStatus::Open {
            return self.finish_job(job).await;
        }
        let request = PlaceRequest::of(
            &order.number,
            order.customer.email.as_deref(),
            &so,
            so.placement.note.as_deref(),
        );
        match client.place(&supplier, &request).await {
            Ok(remote) => {
                self.breakers.success(supplier.id);
                self.record_remote(job, &supplier, order_id, id, remote).await
            }
            Err(error) => self.after_failure(job, &supplier, &order, &so, attempt, error).await,
        }
    }

    async fn after_failure(
        &self,
        job: &Job,
        supplier: &Supplier,
        order: &Order,
        so: &SupplierOrder,
        attempt: u32,
        error: SupplierError,
    ) -> Result<(), AppError> {
        tracing::warn!(job = %job.id, kind = %job.kind, supplier = %supplier.id, %error, "supplier call failed");
        let id = so.id;
        match self.classify(supplier, error, attempt, job) {
            Next::RetryAt(at, why) => self.reschedule(job, order, so, attempt + 1, at, &why).await,
            Next::Fail(kind, reason) => self.fail_over(job, order.id, id, kind, reason).await,
            Next::Hold(issue) => {
                self.commit_change(job, order.id, false, |order, journal, _| {
                    Ok(order.hold_supplier_order(id, vec![issue.clone()], None, journal)?)
                })
                .await?;
                Ok(())
            }
        }
    }

    /// Fails a supplier order and routes its lines to the next offer, in one change set.
    async fn fail_over(
        &self,
        job: &Job,
        order_id: OrderId,
        id: SupplierOrderId,
        kind: FailureKind,
        reason: String,
    ) -> Result<(), AppError> {
        let order = self
            .backend
            .get_order(order_id)
            .await?
            .ok_or(AppError::NotFound("order"))?;
        let context = self.store_context(Scope::Operator, order.store_id).await?;
        let mut tries = 0;
        loop {
            let mut order = self
                .backend
                .get_order(order_id)
                .await?
                .ok_or(AppError::NotFound("order"))?;
            let before = order.clone();
            let mut journal = Journal::new(order.id, Actor::Worker, self.now());
            let mut changes = ChangeSet::default();
            order.fail_supplier_order(id, kind, reason.clone(), &mut journal)?;
            self.reroute(&context, &mut order, &mut journal, &mut changes).await?;
            self.push_cancellation_jobs(&mut changes, &before, &order);
            self.add_order_notices(&before, &mut order, &mut changes).await?;
            changes.timeline.append(&mut journal.events);
            changes.orders.push(OrderWrite::Update(order));
            changes.finished_jobs.push(job.id);
            match self.backend.commit(changes).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(_)) if tries < CONFLICT_RETRIES => tries += 1,
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Records what the supplier shows for a placed order: accepted (whole or in part),
    /// or cancelled by it (fail over).
    async fn record_remote(
        &self,
        job: &Job,
        supplier: &Supplier,
        order_id: OrderId,
        id: SupplierOrderId,
        remote: RemoteOrder,
    ) -> Result<(), AppError> {
        if remote.status == RemoteStatus::Cancelled {
            let reason = format!(
                "the supplier shows its order {} as {}",
                remote.reference, remote.raw_status
            );
            return self
                .fail_over(job, order_id, id, FailureKind::ClosedBySupplier, reason)
                .await;
        }
        let store_id = self
            .backend
            .get_order(order_id)
            .await?
            .map(|o| o.store_id)
            .ok_or(AppError::NotFound("order"))?;
        let context = self.store_context(Scope::Operator, store_id).await?;
        let tolerance_bp = context.store.settings.supplier_price_tolerance_bp;
        let poll = self.placement.poll_interval;
        let mut tries = 0;
        loop {
            let mut order = self
                .backend
                .get_order(order_id)
                .await?
                .ok_or(AppError::NotFound("order"))?;
            let before = order.clone();
            let mut journal = Journal::new(order.id, Actor::Worker, self.now());
            let mut changes = ChangeSet::default();
            let so = order.supplier_order(id)?.clone();
            let acceptance = Acceptance {
                reference: remote.reference.clone(),
                cost: remote.cost.filter(|c| c.currency == so.expected_cost.currency),
                estimated_ship_at: remote.estimated_ship_at,
            };
            let refused: Vec<_> = remote
                .refused_skus
                .iter()
                .filter_map(|(sku, why)| {
                    so.lines
                        .iter()
                        .find(|l| l.supplier_sku == *sku)
                        .map(|l| (l.line_item_id, why.clone()))
                })
                .collect();
            if refused.is_empty() || refused.len() >= so.lines.len() {
                order.record_supplier_acceptance(id, acceptance.clone(), &mut journal)?;
            } else {
                order.record_partial_acceptance(id, acceptance.clone(), &refused, &mut journal)?;
                self.reroute(&context, &mut order, &mut journal, &mut changes).await?;
            }
            // A charge above the tolerance is held for the seller instead of paid silently.
            let so = order.supplier_order(id)?.clone();
            if let Some(cost) = acceptance.cost
                && !so.placement.price_accepted
                && so.state.status == SupplierOrderStatus::InProgress
                && above_tolerance(cost, so.expected_cost, tolerance_bp)
            {
                let issue = HeldIssue {
                    field: "actual_cost".into(),
                    code: "price_above_tolerance".into(),
                    message: format!(
                        "the supplier charges {cost}, more than {} plus the store's tolerance of {} %",
                        so.expected_cost,
                        tolerance_bp as f64 / 100.0
                    ),
                    fix: SuggestedFix::AcceptNewPrice,
                };
                order.hold_supplier_order(id, vec![issue], Some(cost), &mut journal)?;
            }
            let so = order.supplier_order(id)?;
            if so.state.request_status == RequestStatus::CancellationRequested {
                changes
                    .jobs
                    .push(jobs::supplier_order_job(CANCEL_AT_SUPPLIER, &order, id, 0, self.now()));
            } else {
                let at = self.now() + time::Duration::try_from(poll).unwrap_or(time::Duration::HOUR);
                changes
                    .jobs
                    .push(jobs::supplier_order_job(SYNC_SUPPLIER_ORDER, &order, id, 0, at));
            }
            self.add_order_notices(&before, &mut order, &mut changes).await?;
            changes.timeline.append(&mut journal.events);
            changes.orders.push(OrderWrite::Update(order));
            changes.finished_jobs.push(job.id);
            match self.backend.commit(changes).await {
                Ok(()) => {
                    tracing::debug!(supplier = %supplier.id, reference = %remote.reference, "supplier order placed");
                    return Ok(());
                }
                Err(StoreError::Conflict(_)) if tries < CONFLICT_RETRIES => tries += 1,
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// The `sync_supplier_order` job: status, parcels and the processing deadline.
    pub(crate) async fn sync_job(
        &self,
        job: &Job,
        order_id: OrderId,
        id: SupplierOrderId,
        attempt: u32,
    ) -> Result<(), AppError> {
        let Some((client, order, so, supplier)) = self.job_subject(order_id, id).await? else {
            return self.finish_job(job).await;
        };
        let following = matches!(
            so.state.status,
            SupplierOrderStatus::InProgress | SupplierOrderStatus::OnHold
        ) && so.placement.failure.is_none()
            && so.state.request_status != RequestStatus::CancellationRequested;
        let Some(reference) = so.supplier_reference.clone().filter(|_| following) else {
            return self.finish_job(job).await;
        };
        let remote = match client.status(&supplier, &reference).await {
            Ok(Some(remote)) => remote,
            Ok(None) => {
                let reason = format!("the supplier no longer knows its order {reference}");
                return self
                    .fail_over(job, order_id, id, FailureKind::ClosedBySupplier, reason)
                    .await;
            }
            Err(error) => {
                return match self.classify(&supplier, error, attempt, job) {
                    Next::RetryAt(at, why) => self.reschedule(job, &order, &so, attempt + 1, at, &why).await,
                    // A refusal to tell the status is not a refusal of the order: look later.
                    Next::Fail(_, why) | Next::Hold(HeldIssue { message: why, .. }) => {
                        let at = self.delay(attempt + 1, job);
                        self.reschedule(job, &order, &so, attempt + 1, at, &why).await
                    }
                };
            }
        };
        self.breakers.success(supplier.id);
        if remote.status == RemoteStatus::Cancelled && so.shipments.is_empty() {
            let reason = format!(
                "the supplier closed its order {reference} ({}) without shipping",
                remote.raw_status
            );
            return self
                .fail_over(job, order_id, id, FailureKind::ClosedBySupplier, reason)
                .await;
        }
        let now = self.now();
        let deadline_missed = supplier.processing_deadline_days.is_some_and(|days| {
            so.placement
                .accepted_at
                .is_some_and(|accepted| now - accepted > time::Duration::days(i64::from(days)))
        }) && so.shipments.is_empty()
            && remote.parcels.is_empty();
        if deadline_missed {
            let reason = format!(
                "no tracking {} day(s) after the supplier accepted",
                supplier.processing_deadline_days.unwrap_or_default()
            );
            return self
                .fail_over(job, order_id, id, FailureKind::MissedDeadline, reason)
                .await;
        }
        let poll = self.placement.poll_interval;
        self.commit_change(job, order_id, false, |order, journal, changes| {
            let so = order.supplier_order(id)?.clone();
            if so.state.status != SupplierOrderStatus::InProgress {
                // Held for the seller: look again later.
                let at = journal.at + time::Duration::try_from(poll).unwrap_or(time::Duration::HOUR);
                changes
                    .jobs
                    .push(jobs::supplier_order_job(SYNC_SUPPLIER_ORDER, order, id, 0, at));
                return Ok(());
            }
            for parcel in &remote.parcels {
                let known = so.shipments.iter().any(|s| s.tracking_number == parcel.tracking_number);
                if known {
                    continue;
                }
                // A number that fails its carrier's check is kept for the seller to see, but
                // never written back to the storefront (the customer would get a dead link).
                let checked = dropline_domain::tracking::check_tracking_number(&parcel.tracking_number);
                if let Err(error) = &checked {
                    order.raise_exception(
                        dropline_domain::order::ExceptionKind::InvalidTracking,
                        format!(
                            "{} reported tracking number {:?}: {error}",
                            so.supplier_name, parcel.tracking_number
                        ),
                        dropline_domain::order::SuggestedAction::ContactSupplier,
                        journal,
                    );
                    if parcel.tracking_number.trim().is_empty() || parcel.tracking_number.len() > 200 {
                        continue;
                    }
                }
                let shipment_id = order.add_shipment(
                    id,
                    &parcel.carrier,
                    &parcel.tracking_number,
                    parcel.tracking_url.clone(),
                    journal,
                )?;
                order.record_shipment_event(
                    shipment_id,
                    ShipmentState::InTransit,
                    Some(format!("shipped by {}", so.supplier_name)),
                    journal,
                )?;
                if checked.is_ok() {
                    changes
                        .jobs
                        .push(jobs::storefront_fulfillment_job(order, shipment_id, journal.at));
                }
            }
            if remote.status == RemoteStatus::Delivered {
                let pending: Vec<_> = order
                    .supplier_order(id)?
                    .shipments
                    .iter()
                    .filter(|s| !s.state.is_terminal() && !s.state.is_failure())
                    .map(|s| (s.id, s.tracking_number.clone()))
                    .collect();
                for (shipment_id, tracking_number) in pending {
                    order.record_shipment_event(shipment_id, ShipmentState::Delivered, None, journal)?;
                    changes.jobs.push(jobs::storefront_status_job(
                        order,
                        jobs::StorefrontStatus::Delivered { tracking_number },
                        journal.at,
                    ));
                }
            }
            let so = order.supplier_order(id)?;
            if !so.state.is_terminal() {
                let at = journal.at + time::Duration::try_from(poll).unwrap_or(time::Duration::HOUR);
                changes
                    .jobs
                    .push(jobs::supplier_order_job(SYNC_SUPPLIER_ORDER, order, id, 0, at));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// The `cancel_at_supplier` job: asks the supplier to cancel and records its answer.
    pub(crate) async fn cancel_job(
        &self,
        job: &Job,
        order_id: OrderId,
        id: SupplierOrderId,
        attempt: u32,
    ) -> Result<(), AppError> {
        let Some((client, order, so, supplier)) = self.job_subject(order_id, id).await? else {
            return self.finish_job(job).await;
        };
        if so.state.request_status != RequestStatus::CancellationRequested {
            return self.finish_job(job).await;
        }
        // The supplier's id, or the order found by its key (a request whose answer was lost).
        let reference = match so.supplier_reference.clone() {
            Some(reference) => Some(reference),
            None => match client.find(&supplier, &so.idempotency_key).await {
                Ok(found) => found.map(|r| r.reference),
                Err(error) => return self.retry_cancel(job, &supplier, &order, &so, attempt, error).await,
            },
        };
        let outcome = match &reference {
            // Nothing reached the supplier: nothing to cancel there.
            None => CancelOutcome::Cancelled,
            Some(reference) => match client.cancel(&supplier, reference).await {
                Ok(outcome) => outcome,
                Err(SupplierError::Rejected { reason, .. }) => CancelOutcome::Refused { reason },
                Err(error) => return self.retry_cancel(job, &supplier, &order, &so, attempt, error).await,
            },
        };
        self.breakers.success(supplier.id);
        let poll = self.placement.poll_interval;
        self.commit_change(job, order_id, false, |order, journal, changes| {
            if let Some(reference) = &reference
                && order.supplier_order(id)?.supplier_reference.is_none()
            {
                order.record_supplier_acceptance(
                    id,
                    Acceptance {
                        reference: reference.clone(),
                        cost: None,
                        estimated_ship_at: None,
                    },
                    journal,
                )?;
            }
            match &outcome {
                CancelOutcome::Cancelled => {
                    order.apply_supplier_order(id, SupplierOrderEvent::AcceptCancellation, journal)?;
                }
                CancelOutcome::Refused { reason } => {
                    order.apply_supplier_order(id, SupplierOrderEvent::RejectCancellation, journal)?;
                    journal.record(
                        "supplier_order.cancellation_refused",
                        format!("The supplier refused to cancel: {reason}"),
                        None,
                        None,
                    );
                    let so = order.supplier_order(id)?.clone();
                    if so.placement.failure.is_some() {
                        // The lines were already sent to another offer: two parcels may come.
                        order.raise_exception(
                            dropline_domain::order::ExceptionKind::SupplierMismatch,
                            format!(
                                "{} refused to cancel order {} after its lines went to another supplier: {reason}",
                                so.supplier_name,
                                so.supplier_reference.as_deref().unwrap_or("-")
                            ),
                            dropline_domain::order::SuggestedAction::ContactSupplier,
                            journal,
                        );
                    } else if so.state.status == SupplierOrderStatus::InProgress {
                        let at = journal.at + time::Duration::try_from(poll).unwrap_or(time::Duration::HOUR);
                        changes
                            .jobs
                            .push(jobs::supplier_order_job(SYNC_SUPPLIER_ORDER, order, id, 0, at));
                    }
                }
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn retry_cancel(
        &self,
        job: &Job,
        supplier: &Supplier,
        order: &Order,
        so: &SupplierOrder,
        attempt: u32,
        error: SupplierError,
    ) -> Result<(), AppError> {
        let at = match self.classify(supplier, error, attempt, job) {
            Next::RetryAt(at, _) => at,
            Next::Fail(..) | Next::Hold(_) => self.delay(attempt + 1, job),
        };
        self.reschedule(job, order, so, attempt + 1, at, "the cancellation could not be asked")
            .await
    }

    /// Releases a held supplier order (the seller fixed the cause, or accepts the supplier's
    /// new price) and places it again.
    pub async fn release_supplier_order(
        &self,
        scope: Scope,
        id: SupplierOrderId,
        accept_price: bool,
    ) -> Result<Order, AppError> {
        let order_id = self
            .backend
            .order_of_supplier_order(id)
            .await?
            .ok_or(AppError::NotFound("supplier order"))?;
        let order = self
            .get_order(scope, order_id)
            .await
            .map_err(|_| AppError::NotFound("supplier order"))?;
        let automatic = order
            .supplier_order(id)
            .map(|so| self.places_automatically(so.supplier_kind))
            .unwrap_or(false);
        let poll = self.placement.poll_interval;
        let mut tries = 0;
        loop {
            let mut order = self.get_order(scope, order_id).await?;
            let mut journal = Journal::new(order.id, scope.actor(), self.now());
            let mut changes = ChangeSet::default();
            order.release_supplier_hold(id, accept_price, &mut journal)?;
            if automatic {
                let so = order.supplier_order(id)?;
                let kind = if so.state.status == SupplierOrderStatus::InProgress {
                    SYNC_SUPPLIER_ORDER
                } else {
                    PLACE_SUPPLIER_ORDER
                };
                let at = if kind == SYNC_SUPPLIER_ORDER {
                    journal.at + time::Duration::try_from(poll).unwrap_or(time::Duration::HOUR)
                } else {
                    journal.at
                };
                changes.jobs.push(jobs::supplier_order_job(kind, &order, id, 0, at));
            }
            changes.timeline.append(&mut journal.events);
            changes.orders.push(OrderWrite::Update(order.clone()));
            match self.backend.commit(changes).await {
                Ok(()) => {
                    order.version += 1;
                    return Ok(order);
                }
                Err(StoreError::Conflict(_)) if tries < CONFLICT_RETRIES => tries += 1,
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Corrects the address a held (or not yet sent) supplier order ships to; the seller then
    /// releases it.
    pub async fn edit_supplier_order_ship_to(
        &self,
        scope: Scope,
        id: SupplierOrderId,
        ship_to: dropline_domain::address::Address,
    ) -> Result<Order, AppError> {
        let errors: Vec<crate::error::FieldError> = dropline_domain::validation::validate_address(&ship_to)
            .into_iter()
            .filter(dropline_domain::validation::Finding::is_error)
            .map(|f| crate::error::FieldError::new(f.field, f.message))
            .collect();
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        self.change_supplier_order(scope, id, |order, journal, _| {
            Ok(order.edit_ship_to(id, ship_to.clone(), journal)?)
        })
        .await
    }

    /// Enters the recipient's tax id on a supplier order that waits for it; the seller then
    /// releases it.
    pub async fn set_supplier_order_tax_id(
        &self,
        scope: Scope,
        id: SupplierOrderId,
        tax_id: &str,
    ) -> Result<Order, AppError> {
        self.change_supplier_order(
            scope,
            id,
            |order, journal, _| Ok(order.set_tax_id(id, tax_id, journal)?),
        )
        .await
    }

    /// The seller moves a supplier order's lines to the next offer (the supplier is too
    /// dear, cannot take the address, no longer sells the variant): the supplier order is
    /// cancelled (or its cancellation asked) and routing picks another offer, never this one.
    pub async fn switch_supplier(&self, scope: Scope, id: SupplierOrderId) -> Result<Order, AppError> {
        self.switch_supplier_because(scope, id, FailureKind::Rejected, "switched by the seller")
            .await
    }

    /// [`Self::switch_supplier`] with the reason recorded on the failed supplier order.
    pub(crate) async fn switch_supplier_because(
        &self,
        scope: Scope,
        id: SupplierOrderId,
        kind: FailureKind,
        reason: &str,
    ) -> Result<Order, AppError> {
        let order_id = self
            .backend
            .order_of_supplier_order(id)
            .await?
            .ok_or(AppError::NotFound("supplier order"))?;
        let order = self
            .get_order(scope, order_id)
            .await
            .map_err(|_| AppError::NotFound("supplier order"))?;
        let context = self.store_context(scope, order.store_id).await?;
        let mut tries = 0;
        loop {
            let mut order = self.get_order(scope, order_id).await?;
            let before = order.clone();
            let mut journal = Journal::new(order.id, scope.actor(), self.now());
            let mut changes = ChangeSet::default();
            let so = order.supplier_order(id)?;
            if !so.is_live() || so.state.is_terminal() || !so.shipments.is_empty() {
                return Err(AppError::IllegalTransition(dropline_domain::state::TransitionError {
                    machine: "supplier_order",
                    from: so.state.to_string(),
                    event: "switch_supplier".into(),
                }));
            }
            order.fail_supplier_order(id, kind, reason.into(), &mut journal)?;
            self.reroute(&context, &mut order, &mut journal, &mut changes).await?;
            self.push_cancellation_jobs(&mut changes, &before, &order);
            self.add_order_notices(&before, &mut order, &mut changes).await?;
            changes.timeline.append(&mut journal.events);
            changes.orders.push(OrderWrite::Update(order.clone()));
            match self.backend.commit(changes).await {
                Ok(()) => {
                    order.version += 1;
                    return Ok(order);
                }
                Err(StoreError::Conflict(_)) if tries < CONFLICT_RETRIES => tries += 1,
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Cancels a supplier order here, or asks its supplier to (through a job for automatic
    /// suppliers).
    pub(crate) fn cancel_supplier_order_in(
        &self,
        order: &mut Order,
        id: SupplierOrderId,
        journal: &mut Journal,
        changes: &mut ChangeSet,
    ) -> Result<(), AppError> {
        let before = order.clone();
        let event =
            cancellation_event(order.supplier_order(id)?.state).unwrap_or(SupplierOrderEvent::RequestCancellation);
        order.apply_supplier_order(id, event, journal)?;
        self.push_cancellation_jobs(changes, &before, order);
        Ok(())
    }
}

/// The hold of an order that may or may not be at the supplier: only a person can tell.
fn unconfirmed(reason: &str) -> HeldIssue {
    HeldIssue {
        field: "supplier_reference".into(),
        code: "placement_unconfirmed".into(),
        message: format!(
            "the supplier may hold this order but cannot say which one ({reason}); find it at the supplier and record its id, or release the hold to send it again"
        ),
        fix: SuggestedFix::CheckAtSupplier,
    }
}

/// The checks of a supplier order against the store's settings and a fresh quote.
fn submission_issues(
    store: &Shop,
    order: &Order,
    so: &SupplierOrder,
    quote: &dropline_domain::submission::Quote,
) -> Vec<HeldIssue> {
    let tolerance = if so.placement.price_accepted {
        // The seller accepted the quoted price; it is now the expected cost.
        store.settings.supplier_price_tolerance_bp.max(1)
    } else {
        store.settings.supplier_price_tolerance_bp
    };
    // The seller enters the tax id on the supplier order when a destination needs one.
    let tax_id = so.placement.tax_id.as_deref();
    let mut issues: Vec<HeldIssue> =
        check_submission(so, &requirements_for(so.supplier_kind), tax_id, Some(quote), tolerance)
            .into_iter()
            .map(HeldIssue::from)
            .collect();
    if let Some(floor_bp) = store.settings.margin_floor_bp
        && let Some(cost) = quoted_total(so, quote).or(Some(so.expected_cost))
    {
        let revenue: i64 = so
            .lines
            .iter()
            .filter_map(|l| order.lines.iter().find(|ol| ol.id == l.line_item_id))
            .map(|ol| ol.unit_price.minor.saturating_mul(i64::from(ol.quantity_to_ship())))
            .sum();
        let same_currency = order.currency == cost.currency;
        // margin_bp = (revenue - cost) / revenue, in integers.
        if same_currency && revenue > 0 {
            let margin_bp = (i128::from(revenue) - i128::from(cost.minor)) * 10_000 / i128::from(revenue);
            if margin_bp < i128::from(floor_bp) {
                issues.push(HeldIssue {
                    field: "quote.total".into(),
                    code: "margin_below_floor".into(),
                    message: format!(
                        "the fresh quote of {cost} leaves a margin of {:.2} % on {} of sales, under the store's floor of {:.2} %",
                        margin_bp as f64 / 100.0,
                        Money::new(revenue, order.currency),
                        f64::from(floor_bp) / 100.0
                    ),
                    fix: SuggestedFix::AcceptNewPrice,
                });
            }
        }
    }
    issues
}

/// Units × quantities plus shipping of a quote, when every line is priced in one currency.
fn quoted_total(so: &SupplierOrder, quote: &dropline_domain::submission::Quote) -> Option<Money> {
    let mut total = quote.shipping;
    for line in &so.lines {
        let unit = quote.unit_costs.get(&line.supplier_sku)?;
        total = total.checked_add(unit.checked_mul(line.quantity).ok()?).ok()?;
    }
    Some(total)
}

/// Whether `cost` exceeds `expected` by more than `tolerance_bp` basis points.
fn above_tolerance(cost: Money, expected: Money, tolerance_bp: u32) -> bool {
    if cost.currency != expected.currency {
        return false;
    }
    let limit = i128::from(expected.minor) * (10_000 + i128::from(tolerance_bp));
    i128::from(cost.minor) * 10_000 > limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_are_capped_and_spread() {
        let config = PlacementConfig::default();
        let first = retry_delay(&config, 1, 0);
        assert_eq!(first, Duration::from_secs(1));
        let third = retry_delay(&config, 3, 0);
        assert_eq!(third, Duration::from_secs(4));
        let capped = retry_delay(&config, 40, u128::MAX);
        assert!(capped <= config.max_backoff && capped >= config.max_backoff / 2);
        // Two jobs failing together come back at different times.
        assert_ne!(retry_delay(&config, 5, 1234), retry_delay(&config, 5, 98_765));
    }

    #[test]
    fn tolerance_is_exact_in_basis_points() {
        let usd = dropline_domain::money::Currency::parse("USD").expect("usd");
        let expected = Money::new(10_000, usd);
        assert!(!above_tolerance(Money::new(10_500, usd), expected, 500));
        assert!(above_tolerance(Money::new(10_501, usd), expected, 500));
        assert!(above_tolerance(Money::new(10_001, usd), expected, 0));
    }

    #[test]
    fn breaker_opens_after_the_threshold_and_closes_on_success() {
        let breakers = Breakers::default();
        let config = PlacementConfig::default();
        let supplier = SupplierId::new();
        let now = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..config.breaker_threshold - 1 {
            assert_eq!(breakers.failure(supplier, &config, now), None);
        }
        let until = breakers.failure(supplier, &config, now).expect("opens");
        assert_eq!(breakers.open_until(supplier, now), Some(until));
        assert_eq!(
            breakers.open_until(supplier, until),
            None,
            "half-open after the cool-down"
        );
        // One more failure when half-open opens it again at once.
        assert!(breakers.failure(supplier, &config, until).is_some());
        breakers.success(supplier);
        assert_eq!(breakers.open_until(supplier, until), None);
    }
}
