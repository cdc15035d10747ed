//! The private sourcing agent, reached by spreadsheet: dropline hands the agent its open
//! supplier orders as a file in the agent's column layout (they become `submitted`), and
//! reads the file the agent sends back with its order ids, costs and tracking numbers (the
//! supplier orders become `accepted`, their parcels are added and written back to the
//! storefront). The file format is a port ([`AgentSheets`]) implemented by a connector.
//!
//! A return file is all or nothing: a malformed row, a row naming no supplier order of this
//! agent, or one that contradicts what is recorded (another agent order id, another
//! currency) refuses the whole file, naming each row, and nothing is written.

use crate::error::{AppError, FieldError};
use crate::jobs;
use crate::ports::OrderFilter;
use crate::scope::Scope;
use crate::service::App;
use dropline_domain::catalog::{Offer, SupplierKind};
use dropline_domain::ids::{OrderId, SupplierId, SupplierOrderId};
use dropline_domain::money::Money;
use dropline_domain::order::{Order, SupplierOrder};
use dropline_domain::state::{RequestStatus, ShipmentState, SupplierOrderEvent, SupplierOrderStatus};
use std::collections::HashMap;

/// Supplier orders read per page while collecting an agent's orders.
const ORDER_PAGE: u32 = 500;

/// One supplier order to export, with what the file needs besides it.
pub struct AgentExportRow<'a> {
    pub supplier_order: &'a SupplierOrder,
    pub order_number: &'a str,
    /// The store's note to suppliers.
    pub note: Option<&'a str>,
}

/// A parcel the agent reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentParcel {
    pub tracking_number: String,
    pub carrier: Option<String>,
    pub tracking_url: Option<String>,
}

/// What the agent's return file says of one supplier order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentReturn {
    pub supplier_order_id: SupplierOrderId,
    pub agent_order_id: String,
    pub parcels: Vec<AgentParcel>,
    pub cost: Option<Money>,
}

/// The spreadsheet format of agents (a connector implements it).
pub trait AgentSheets: Send + Sync + 'static {
    /// Checks a column layout spec; the refusal names what is wrong.
    fn check_layout(&self, spec: &str) -> Result<(), String>;

    /// The file for the agent, in `layout` (a spec; `None`: the default layout).
    fn export(&self, rows: &[AgentExportRow<'_>], offers: &[Offer], layout: Option<&str>) -> Result<Vec<u8>, AppError>;

    /// Reads a return file and matches it to `known` supplier orders: every result, or every
    /// problem (rows that cannot be read, name no supplier order, or contradict one) as
    /// field errors (`row N.column`).
    fn import(&self, bytes: &[u8], known: &[&SupplierOrder]) -> Result<Vec<AgentReturn>, Vec<FieldError>>;
}

/// What an export did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentExport {
    pub file: Vec<u8>,
    /// The supplier orders in the file.
    pub supplier_orders: Vec<SupplierOrderId>,
    /// Of those, the ones submitted by this export.
    pub newly_submitted: usize,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentImport {
    /// Supplier orders the file accepted (agent order id recorded now).
    pub accepted: Vec<SupplierOrderId>,
    /// Parcels added.
    pub parcels_added: usize,
    /// Supplier orders the file named that had nothing new.
    pub unchanged: Vec<SupplierOrderId>,
}

impl App {
    /// Reads and checks files of agents with this format.
    pub fn with_agent_sheets(mut self, sheets: std::sync::Arc<dyn AgentSheets>) -> Self {
        self.agent_sheets = Some(sheets);
        self
    }

    fn sheets(&self) -> Result<std::sync::Arc<dyn AgentSheets>, AppError> {
        self.agent_sheets
            .clone()
            .ok_or_else(|| AppError::PartnerRefused("no agent spreadsheet format configured".into()))
    }

    /// Checks a supplier's agent layout spec (`Header=field, ...`).
    pub(crate) fn check_agent_layout(&self, spec: &str) -> Result<(), String> {
        match &self.agent_sheets {
            Some(sheets) => sheets.check_layout(spec),
            None => Ok(()),
        }
    }

    async fn agent_orders(
        &self,
        supplier_id: SupplierId,
        store_id: dropline_domain::ids::StoreId,
    ) -> Result<Vec<Order>, AppError> {
        let mut orders = Vec::new();
        let mut before = None;
        loop {
            let page = self
                .backend
                .list_orders(&OrderFilter {
                    store_id: Some(store_id),
                    supplier_id: Some(supplier_id),
                    before,
                    limit: ORDER_PAGE,
                    ..OrderFilter::default()
                })
                .await?;
            let full = page.len() as u32 >= ORDER_PAGE;
            before = page.last().map(|o| o.id);
            orders.extend(page);
            if !full || before.is_none() {
                return Ok(orders);
            }
        }
    }

    /// The agent's file of open supplier orders (with `include_submitted`, also those sent
    /// before and not answered yet, to send the file again). The new ones become `submitted`
    /// in the same step.
    pub async fn export_agent_orders(
        &self,
        scope: Scope,
        supplier_id: SupplierId,
        include_submitted: bool,
    ) -> Result<AgentExport, AppError> {
        let supplier = self.get_supplier(scope, supplier_id).await?;
        if supplier.kind != SupplierKind::Agent {
            return Err(AppError::invalid(
                "supplier",
                format!("a {} supplier is not reached by spreadsheet", supplier.kind),
            ));
        }
        let sheets = self.sheets()?;
        let context = self.store_context(scope, supplier.store_id).await?;
        let note = context.store.settings.supplier_note.clone();
        let orders = self.agent_orders(supplier_id, supplier.store_id).await?;
        let wanted = |so: &SupplierOrder| {
            so.supplier_id == supplier_id
                && so.state.status == SupplierOrderStatus::Open
                && (so.state.request_status == RequestStatus::Unsubmitted
                    || (include_submitted && so.state.request_status == RequestStatus::Submitted))
        };
        let mut rows = Vec::new();
        let mut to_submit: Vec<(OrderId, SupplierOrderId)> = Vec::new();
        for order in orders.iter().filter(|o| !o.test && !o.state.is_terminal()) {
            for so in order.supplier_orders.iter().filter(|so| wanted(so)) {
                if so.state.request_status == RequestStatus::Unsubmitted {
                    to_submit.push((order.id, so.id));
                }
                rows.push(AgentExportRow {
                    supplier_order: so,
                    order_number: &order.number,
                    note: note.as_deref(),
                });
            }
        }
        // Oldest first, as the agent works through them.
        rows.reverse();
        let mut variant_ids: Vec<_> = rows
            .iter()
            .flat_map(|r| r.supplier_order.lines.iter().map(|l| l.variant_id))
            .collect();
        variant_ids.sort_unstable();
        variant_ids.dedup();
        let offers = self.backend.offers_for_variants(&variant_ids).await?;
        let file = sheets.export(&rows, &offers, supplier.agent_layout.as_deref())?;
        let exported: Vec<SupplierOrderId> = rows.iter().map(|r| r.supplier_order.id).collect();
        drop(rows);
        // The file is out: the new supplier orders are submitted (one change set per order).
        let mut by_order: HashMap<OrderId, Vec<SupplierOrderId>> = HashMap::new();
        for (order_id, so_id) in &to_submit {
            by_order.entry(*order_id).or_default().push(*so_id);
        }
        for (order_id, ids) in by_order {
            self.change_order(scope, order_id, scope.actor(), |order, journal, _| {
                for id in &ids {
                    let so = order.supplier_order(*id)?;
                    if so.state.request_status == RequestStatus::Unsubmitted
                        && so.state.status == SupplierOrderStatus::Open
                    {
                        order.submit_to_supplier(*id, note.clone(), journal)?;
                        journal.record(
                            "supplier_order.exported",
                            "Sent to the agent in a spreadsheet".to_string(),
                            None,
                            None,
                        );
                    }
                }
                Ok(())
            })
            .await?;
        }
        Ok(AgentExport {
            file,
            supplier_orders: exported,
            newly_submitted: to_submit.len(),
        })
    }

    /// Reads the agent's return file: agent order ids, costs and parcels, all or nothing.
    pub async fn import_agent_results(
        &self,
        scope: Scope,
        supplier_id: SupplierId,
        bytes: &[u8],
    ) -> Result<AgentImport, AppError> {
        let supplier = self.get_supplier(scope, supplier_id).await?;
        if supplier.kind != SupplierKind::Agent {
            return Err(AppError::invalid(
                "supplier",
                format!("a {} supplier is not reached by spreadsheet", supplier.kind),
            ));
        }
        let sheets = self.sheets()?;
        let orders = self.agent_orders(supplier_id, supplier.store_id).await?;
        let known: Vec<&SupplierOrder> = orders
            .iter()
            .flat_map(|o| o.supplier_orders.iter())
            .filter(|so| so.supplier_id == supplier_id)
            .collect();
        let results = sheets.import(bytes, &known).map_err(AppError::Invalid)?;
        // Every result must fit the state of its supplier order before anything is written.
        let order_of: HashMap<SupplierOrderId, OrderId> = orders
            .iter()
            .flat_map(|o| o.supplier_orders.iter().map(move |so| (so.id, o.id)))
            .collect();
        let mut problems = Vec::new();
        for result in &results {
            for parcel in &result.parcels {
                if let Err(error) = dropline_domain::tracking::check_tracking_number(&parcel.tracking_number) {
                    problems.push(FieldError::new(
                        format!("tracking_number {}", parcel.tracking_number),
                        error.to_string(),
                    ));
                }
            }
            let Some(so) = known.iter().find(|so| so.id == result.supplier_order_id) else {
                continue;
            };
            let takes = matches!(
                (so.state.status, so.state.request_status),
                (
                    SupplierOrderStatus::Open,
                    RequestStatus::Unsubmitted | RequestStatus::Submitted
                ) | (SupplierOrderStatus::InProgress, _)
            );
            if !takes {
                problems.push(FieldError::new(
                    format!("supplier_order {}", so.id),
                    format!("is {}; the agent's answer cannot change it", so.state),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(AppError::Invalid(problems));
        }
        let mut report = AgentImport::default();
        for result in results {
            let Some(order_id) = order_of.get(&result.supplier_order_id).copied() else {
                continue;
            };
            let id = result.supplier_order_id;
            let added = std::sync::Mutex::new((false, 0usize));
            self.change_order(scope, order_id, scope.actor(), |order, journal, changes| {
                let mut accepted = false;
                let mut parcels = 0;
                let so = order.supplier_order(id)?.clone();
                if so.supplier_reference.is_none() {
                    if so.state.request_status == RequestStatus::Unsubmitted {
                        order.apply_supplier_order(id, SupplierOrderEvent::Submit, journal)?;
                    }
                    order.record_supplier_reference(id, &result.agent_order_id, result.cost, journal)?;
                    accepted = true;
                }
                for parcel in &result.parcels {
                    let known = order
                        .supplier_order(id)?
                        .shipments
                        .iter()
                        .any(|s| s.tracking_number == parcel.tracking_number);
                    if known {
                        continue;
                    }
                    let carrier = parcel.carrier.clone().unwrap_or_else(|| "Agent".to_string());
                    let shipment = order.add_shipment(
                        id,
                        &carrier,
                        &parcel.tracking_number,
                        parcel.tracking_url.clone(),
                        journal,
                    )?;
                    order.record_shipment_event(
                        shipment,
                        ShipmentState::InTransit,
                        Some("shipped by the agent".into()),
                        journal,
                    )?;
                    changes
                        .jobs
                        .push(jobs::storefront_fulfillment_job(order, shipment, journal.at));
                    parcels += 1;
                }
                if let Ok(mut slot) = added.lock() {
                    *slot = (accepted, parcels);
                }
                Ok(())
            })
            .await?;
            let (accepted, parcels) = added.into_inner().unwrap_or_default();
            if accepted {
                report.accepted.push(id);
            } else if parcels == 0 {
                report.unchanged.push(id);
            }
            report.parcels_added += parcels;
        }
        Ok(report)
    }
}
