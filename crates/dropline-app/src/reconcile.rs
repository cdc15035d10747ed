//! Reconciliation: the supplier's own order list compared with dropline's supplier orders,
//! so that an order placed twice, or placed at the supplier and unknown here, never costs
//! money unseen. The `reconcile_supplier` job reads the list page by page (at most
//! [`MAX_PAGES`]), keeps its findings on the supplier ([`Reconciliation`]), and raises an
//! exception on each order concerned.

use crate::error::AppError;
use crate::ports::{ChangeSet, Job, OrderFilter, OrderWrite, StoreError};
use crate::scope::Scope;
use crate::service::{App, CONFLICT_RETRIES};
use crate::supplier::RemoteOrder;
use dropline_domain::catalog::Reconciliation;
use dropline_domain::ids::{OrderId, SupplierId, SupplierOrderId};
use dropline_domain::order::{ExceptionKind, Order, SuggestedAction};
use dropline_domain::timeline::{Actor, Journal};
use std::collections::HashMap;

/// Pages of the supplier's list read in one run; a longer list is judged incomplete.
pub const MAX_PAGES: u32 = 200;
/// Orders of dropline read per page while indexing the supplier's orders.
const ORDER_PAGE: u32 = 500;

/// A supplier order of dropline, as reconciliation matches it.
struct Known {
    order_id: OrderId,
    supplier_order_id: SupplierOrderId,
    key: String,
    reference: Option<String>,
    live: bool,
}

impl App {
    /// Asks for a reconciliation of a supplier (a background job; the report lands on the
    /// supplier).
    pub async fn request_reconciliation(&self, scope: Scope, supplier_id: SupplierId) -> Result<(), AppError> {
        let supplier = self.get_supplier(scope, supplier_id).await?;
        if !self.suppliers.as_ref().is_some_and(|c| c.lists_orders(supplier.kind)) {
            return Err(AppError::invalid(
                "supplier",
                format!("a {} supplier has no order list to compare with", supplier.kind),
            ));
        }
        let changes = ChangeSet {
            jobs: vec![crate::jobs::reconcile_job(supplier.id, supplier.store_id, self.now())],
            ..ChangeSet::default()
        };
        Ok(self.backend.commit(changes).await?)
    }

    /// The `reconcile_supplier` job.
    pub(crate) async fn reconcile_job(&self, job: &Job, supplier_id: SupplierId) -> Result<(), AppError> {
        match self.reconcile(supplier_id).await {
            Ok(_) | Err(AppError::NotFound(_)) | Err(AppError::Invalid(_)) => self.finish_job(job).await,
            Err(err) => Err(err),
        }
    }

    /// Reconciles a supplier now (the CLI's `suppliers reconcile`; the API queues a job).
    pub async fn reconcile_supplier(&self, scope: Scope, supplier_id: SupplierId) -> Result<Reconciliation, AppError> {
        self.get_supplier(scope, supplier_id).await?;
        self.reconcile(supplier_id).await
    }

    async fn reconcile(&self, supplier_id: SupplierId) -> Result<Reconciliation, AppError> {
        let client = self.suppliers.clone().ok_or(AppError::NotFound("supplier client"))?;
        let mut supplier = self
            .backend
            .get_supplier(supplier_id)
            .await?
            .ok_or(AppError::NotFound("supplier"))?;
        if !client.lists_orders(supplier.kind) {
            return Err(AppError::invalid(
                "supplier",
                format!("a {} supplier has no order list to compare with", supplier.kind),
            ));
        }
        let mut remote: Vec<RemoteOrder> = Vec::new();
        let mut complete = false;
        for page in 1..=MAX_PAGES {
            let listed = client
                .list_orders(&supplier, page)
                .await
                .map_err(|error| AppError::RetryLater {
                    reason: format!("listing the supplier's orders: {error}"),
                    after: match error {
                        crate::supplier::SupplierError::RateLimited { retry_after } => retry_after,
                        _ => None,
                    },
                })?;
            let empty = listed.orders.is_empty();
            remote.extend(listed.orders);
            if !listed.more || empty {
                complete = true;
                break;
            }
        }
        let known = self.known_supplier_orders(&supplier).await?;
        let by_reference: HashMap<&str, &Known> = known
            .iter()
            .filter_map(|k| k.reference.as_deref().map(|r| (r, k)))
            .collect();
        let by_key: HashMap<&str, &Known> = known.iter().map(|k| (k.key.as_str(), k)).collect();
        let mut report = Reconciliation {
            at: self.now(),
            remote_orders: u32::try_from(remote.len()).unwrap_or(u32::MAX),
            matched: 0,
            ghosts: Vec::new(),
            duplicates: Vec::new(),
            missing: Vec::new(),
            complete,
        };
        // supplier order → the supplier's ids that stand for it.
        let mut holders: HashMap<SupplierOrderId, (OrderId, Vec<String>)> = HashMap::new();
        let mut ghosts_by_order: HashMap<OrderId, Vec<String>> = HashMap::new();
        for order in &remote {
            let matched = by_reference
                .get(order.reference.as_str())
                .or_else(|| order.key.as_deref().and_then(|key| by_key.get(key)));
            match matched {
                Some(known) => {
                    report.matched += 1;
                    holders
                        .entry(known.supplier_order_id)
                        .or_insert_with(|| (known.order_id, Vec::new()))
                        .1
                        .push(order.reference.clone());
                }
                None => {
                    report.ghosts.push(order.reference.clone());
                    // A key of ours that names an order of ours whose supplier order holds
                    // another id: placed twice under one request.
                    if let Some(order_id) = order.key.as_deref().and_then(|key| owner_of_key(&known, key)) {
                        ghosts_by_order
                            .entry(order_id)
                            .or_default()
                            .push(order.reference.clone());
                    }
                }
            }
        }
        let mut exceptions: HashMap<OrderId, Vec<String>> = HashMap::new();
        for (supplier_order_id, (order_id, references)) in &holders {
            if references.len() > 1 {
                report.duplicates.push((*supplier_order_id, references.clone()));
                exceptions.entry(*order_id).or_default().push(format!(
                    "{} holds {} orders for one request: {}",
                    supplier.name,
                    references.len(),
                    references.join(", ")
                ));
            }
        }
        for (order_id, references) in ghosts_by_order {
            exceptions.entry(order_id).or_default().push(format!(
                "{} holds order(s) {} for this order that dropline did not record",
                supplier.name,
                references.join(", ")
            ));
        }
        if complete {
            for k in &known {
                if k.live && k.reference.is_some() && !holders.contains_key(&k.supplier_order_id) {
                    report.missing.push(k.supplier_order_id);
                    exceptions.entry(k.order_id).or_default().push(format!(
                        "{} no longer lists its order {}",
                        supplier.name,
                        k.reference.as_deref().unwrap_or("-")
                    ));
                }
            }
        }
        report.duplicates.sort();
        report.ghosts.sort();
        report.missing.sort();
        for (order_id, details) in exceptions {
            self.raise_mismatch(order_id, &details).await?;
        }
        if !report.ghosts.is_empty() || !report.duplicates.is_empty() || !report.missing.is_empty() {
            tracing::warn!(
                supplier = %supplier.id,
                ghosts = report.ghosts.len(),
                duplicates = report.duplicates.len(),
                missing = report.missing.len(),
                "reconciliation found differences"
            );
        }
        supplier.last_reconciliation = Some(report.clone());
        self.backend.update_supplier(supplier).await?;
        Ok(report)
    }

    /// Every supplier order of dropline at this supplier.
    async fn known_supplier_orders(
        &self,
        supplier: &dropline_domain::catalog::Supplier,
    ) -> Result<Vec<Known>, AppError> {
        let mut known = Vec::new();
        let mut before = None;
        loop {
            let orders: Vec<Order> = self
                .backend
                .list_orders(&OrderFilter {
                    store_id: Some(supplier.store_id),
                    supplier_id: Some(supplier.id),
                    before,
                    limit: ORDER_PAGE,
                    ..OrderFilter::default()
                })
                .await?;
            let Some(last) = orders.last() else { break };
            before = Some(last.id);
            let full = orders.len() as u32 >= ORDER_PAGE;
            for order in &orders {
                for so in order.supplier_orders.iter().filter(|so| so.supplier_id == supplier.id) {
                    known.push(Known {
                        order_id: order.id,
                        supplier_order_id: so.id,
                        key: so.idempotency_key.clone(),
                        reference: so.supplier_reference.clone(),
                        live: so.is_live() && so.state.status != dropline_domain::state::SupplierOrderStatus::Closed,
                    });
                }
            }
            if !full {
                break;
            }
        }
        Ok(known)
    }

    async fn raise_mismatch(&self, order_id: OrderId, details: &[String]) -> Result<(), AppError> {
        let mut tries = 0;
        loop {
            let Some(mut order) = self.backend.get_order(order_id).await? else {
                return Ok(());
            };
            let mut journal = Journal::new(order.id, Actor::Worker, self.now());
            let mut raised = false;
            for detail in details {
                raised |= order.raise_exception(
                    ExceptionKind::SupplierMismatch,
                    detail.clone(),
                    SuggestedAction::ContactSupplier,
                    &mut journal,
                );
            }
            if !raised {
                return Ok(());
            }
            let changes = ChangeSet {
                timeline: journal.events,
                orders: vec![OrderWrite::Update(order)],
                ..ChangeSet::default()
            };
            match self.backend.commit(changes).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(_)) if tries < CONFLICT_RETRIES => tries += 1,
                Err(err) => return Err(err.into()),
            }
        }
    }
}

/// The order whose supplier orders' keys share this key's order part (keys are
/// `{order}-{supplier}-{attempt}`).
fn owner_of_key(known: &[Known], key: &str) -> Option<OrderId> {
    let order_part = key.split('-').next()?;
    known
        .iter()
        .find(|k| k.key.split('-').next() == Some(order_part))
        .map(|k| k.order_id)
}
