//! The supplier protocol on the order aggregate (DESIGN.md "One protocol for every supplier"):
//! submit → accepted (with an estimated ship date) or rejected (with a typed reason, per line
//! where possible) → in progress → shipments → closed, held before submission when a check
//! fails, and failed over when the supplier lets the seller down.
//!
//! Every change goes through the supplier-order machine of [`crate::state`] and writes its
//! timeline entry. Pure: the engine calls the supplier and passes what it answered.

use crate::ids::{LineItemId, OfferId, OrderId, SupplierId, SupplierOrderId};
use crate::money::Money;
use crate::order::{ExceptionKind, Order, OrderError, SuggestedAction, SupplierOrder, SupplierOrderLine};
use crate::state::{
    OrderEvent, OrderState, RequestStatus, SupplierOrderEvent, SupplierOrderStatus, TransitionError, snake_enum,
};
use crate::submission::{SubmissionIssue, SuggestedFix};
use crate::timeline::Journal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

snake_enum!(
    /// Why a supplier let the seller down, so the lines go to the next offer.
    FailureKind {
        /// The supplier refused the request (a business reason it gave).
        Rejected => "rejected",
        /// The supplier has not got the units.
        OutOfStock => "out_of_stock",
        /// The supplier does not ship to the destination (or by that method).
        CannotShip => "cannot_ship",
        /// The supplier no longer sells the variant (SKU drift).
        SkuMissing => "sku_missing",
        /// No tracking within the supplier's processing deadline.
        MissedDeadline => "missed_deadline",
        /// The supplier cancelled or closed the order without shipping it.
        ClosedBySupplier => "closed_by_supplier",
    }
);

/// What went wrong with a supplier order; once set, its lines are re-routed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierFailure {
    pub kind: FailureKind,
    /// The supplier's words (code and message) or dropline's reason.
    pub detail: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A check that held a supplier order before submission, kept for the seller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldIssue {
    /// e.g. `ship_to.phone`, `lines[0].supplier_sku`, `quote.total`.
    pub field: String,
    /// A stable code ([`crate::submission::codes`], `margin_below_floor`, ...).
    pub code: String,
    pub message: String,
    pub fix: SuggestedFix,
}

impl From<SubmissionIssue> for HeldIssue {
    fn from(issue: SubmissionIssue) -> Self {
        Self {
            field: issue.field,
            code: issue.code.to_string(),
            message: issue.message,
            fix: issue.fix,
        }
    }
}

/// A line the supplier refused while accepting the others (partial acceptance).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedLine {
    pub line: SupplierOrderLine,
    pub reason: String,
}

/// How the request to the supplier went.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// Why the order is held before submission (empty unless held).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<HeldIssue>,
    /// The fresh quote's total when it was above the expected cost: accepting the new price
    /// makes it the expected cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_cost: Option<Money>,
    /// Set when the supplier failed; the order's lines then go to another offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<SupplierFailure>,
    /// Lines the supplier refused when it accepted the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_lines: Vec<RefusedLine>,
    /// The note sent with the order (blind dropshipping: no invoice, no prices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Delivery days the chosen shipping method promises (fewest, most), from routing: a
    /// parcel's delivery window starts from them when it ships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_days: Option<(u32, u32)>,
    /// When the request went out (the `placing` mark).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub submitted_at: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub accepted_at: Option<OffsetDateTime>,
    /// When the supplier said it will ship.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub estimated_ship_at: Option<OffsetDateTime>,
    /// The seller accepted a price above the tolerance: the price check passes once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub price_accepted: bool,
    /// The recipient's tax id for the destination's customs (Brazil's CPF or CNPJ, Chile's
    /// RUT, Korea's customs code), sent to the supplier with the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
}

/// What the supplier answered when it accepted a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptance {
    /// The supplier's own order id.
    pub reference: String,
    /// What the supplier charges, when it says.
    pub cost: Option<Money>,
    pub estimated_ship_at: Option<OffsetDateTime>,
}

/// The idempotency key of a supplier order, derived from (order, supplier, attempt): the
/// order id and the supplier id's random tail in base 36, and the attempt. At most 40
/// characters, so it fits the shortest supplier field it is sent in (CJ's `orderNumber`).
pub fn idempotency_key(order_id: OrderId, supplier_id: SupplierId, attempt: u32) -> String {
    let order = base36(order_id.0.as_u128());
    // The tail of a UUIDv7 is random; 32 bits tell a store's suppliers apart.
    let supplier = base36(supplier_id.0.as_u128() & 0xFFFF_FFFF);
    format!("{order}-{supplier}-{attempt}")
}

fn base36(mut value: u128) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(value % 36) as usize]);
        value /= 36;
        if value == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

impl SupplierOrder {
    /// Whether the supplier order still stands for its lines: not cancelled, not failed.
    pub fn is_live(&self) -> bool {
        self.state.status != SupplierOrderStatus::Cancelled && self.placement.failure.is_none()
    }
}

impl Order {
    /// Shippable lines that no live supplier order covers: what routing still has to place.
    pub fn uncovered_lines(&self) -> Vec<LineItemId> {
        self.shippable_lines()
            .filter(|line| {
                !self
                    .supplier_orders
                    .iter()
                    .filter(|so| so.is_live())
                    .any(|so| so.lines.iter().any(|l| l.line_item_id == line.id))
            })
            .map(|line| line.id)
            .collect()
    }

    /// Offers that failed this order (their supplier rejected or dropped them): re-routing
    /// never picks them again.
    pub fn failed_offers(&self) -> Vec<OfferId> {
        let mut offers: Vec<OfferId> = self
            .supplier_orders
            .iter()
            .flat_map(|so| {
                let failed = so.placement.failure.is_some();
                so.lines
                    .iter()
                    .filter(move |_| failed)
                    .map(|l| l.offer_id)
                    .chain(so.placement.refused_lines.iter().map(|r| r.line.offer_id))
            })
            .collect();
        offers.sort_unstable();
        offers.dedup();
        offers
    }

    /// The attempt number of the next supplier order at this supplier (1 for the first).
    pub fn next_attempt(&self, supplier_id: SupplierId) -> u32 {
        self.supplier_orders
            .iter()
            .filter(|so| so.supplier_id == supplier_id)
            .map(|so| so.attempt)
            .max()
            .unwrap_or(0)
            + 1
    }

    /// Marks the request as going out to the supplier (the `placing` mark, committed before
    /// the call): from now on the engine looks the order up by its key before sending again.
    pub fn submit_to_supplier(
        &mut self,
        id: SupplierOrderId,
        note: Option<String>,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        self.apply_supplier_order(id, SupplierOrderEvent::Submit, journal)?;
        let so = self.supplier_order_mut(id)?;
        so.placement.submitted_at = Some(journal.at);
        so.placement.note = note;
        so.placement.holds.clear();
        Ok(())
    }

    /// The supplier accepted the request: its order id, cost and ship date are recorded.
    /// Accepting again with the same reference changes nothing (a retried job).
    pub fn record_supplier_acceptance(
        &mut self,
        id: SupplierOrderId,
        acceptance: Acceptance,
        journal: &mut Journal,
    ) -> Result<bool, OrderError> {
        let reference = acceptance.reference.trim().to_string();
        if reference.is_empty() {
            return Err(OrderError::Invalid {
                field: "supplier_reference".into(),
                reason: "the supplier answered an empty order id".into(),
            });
        }
        let so = self.supplier_order(id)?;
        if let Some(known) = &so.supplier_reference {
            if *known == reference {
                return Ok(false);
            }
            return Err(OrderError::Invalid {
                field: "supplier_reference".into(),
                reason: format!("the supplier order already has the supplier's id {known}, not {reference}"),
            });
        }
        if let Some(cost) = acceptance.cost
            && cost.currency != so.expected_cost.currency
        {
            return Err(OrderError::Invalid {
                field: "actual_cost.currency".into(),
                reason: format!(
                    "the supplier charged in {}, expected {}",
                    cost.currency, so.expected_cost.currency
                ),
            });
        }
        if so.state.request_status == RequestStatus::CancellationRequested {
            // Cancelled here while the request was out: keep the supplier's id so the
            // cancellation can name the order at the supplier.
            let so = self.supplier_order_mut(id)?;
            so.supplier_reference = Some(reference.clone());
            so.actual_cost = acceptance.cost;
            journal.record(
                "supplier_order.reference_recorded",
                format!("Supplier order id {reference} recorded while its cancellation is requested"),
                None,
                None,
            );
            return Ok(true);
        }
        self.apply_supplier_order(id, SupplierOrderEvent::Accept, journal)?;
        let so = self.supplier_order_mut(id)?;
        so.supplier_reference = Some(reference.clone());
        so.actual_cost = acceptance.cost;
        so.placement.accepted_at = Some(journal.at);
        so.placement.estimated_ship_at = acceptance.estimated_ship_at;
        let cost = acceptance.cost.map(|c| format!(", cost {c}")).unwrap_or_default();
        let ships = acceptance
            .estimated_ship_at
            .map(|at| format!(", ships by {}", at.date()))
            .unwrap_or_default();
        journal.record(
            "supplier_order.reference_recorded",
            format!("The supplier accepted: order id {reference}{cost}{ships}"),
            None,
            None,
        );
        Ok(true)
    }

    /// The supplier accepted some lines and refused others: the refused lines leave this
    /// supplier order (and are re-routed); the accepted ones go on.
    pub fn record_partial_acceptance(
        &mut self,
        id: SupplierOrderId,
        acceptance: Acceptance,
        refused: &[(LineItemId, String)],
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        {
            let so = self.supplier_order(id)?;
            if refused
                .iter()
                .all(|(line, _)| so.lines.iter().any(|l| l.line_item_id == *line))
                && refused.len() >= so.lines.len()
            {
                return Err(OrderError::Invalid {
                    field: "lines".into(),
                    reason: "a partial acceptance must accept at least one line".into(),
                });
            }
        }
        self.record_supplier_acceptance(id, acceptance, journal)?;
        let so = self.supplier_order_mut(id)?;
        let mut moved = Vec::new();
        for (line_id, reason) in refused {
            if let Some(index) = so.lines.iter().position(|l| l.line_item_id == *line_id) {
                let line = so.lines.remove(index);
                moved.push(format!("{} ({reason})", line.supplier_sku));
                so.placement.refused_lines.push(RefusedLine {
                    line,
                    reason: reason.clone(),
                });
            }
        }
        if !moved.is_empty() {
            journal.record(
                "supplier_order.lines_refused",
                format!(
                    "The supplier refused {}; those lines go to the next offer",
                    moved.join(", ")
                ),
                None,
                None,
            );
        }
        Ok(())
    }

    /// Holds a supplier order before submission, naming each failed check and its fix, and
    /// raises an exception for the seller.
    pub fn hold_supplier_order(
        &mut self,
        id: SupplierOrderId,
        issues: Vec<HeldIssue>,
        quoted_cost: Option<Money>,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        if issues.is_empty() {
            return Err(OrderError::Invalid {
                field: "issues".into(),
                reason: "a hold needs a reason".into(),
            });
        }
        self.apply_supplier_order(id, SupplierOrderEvent::Hold, journal)?;
        let so = self.supplier_order_mut(id)?;
        let name = so.supplier_name.clone();
        let summary = issues
            .iter()
            .map(|i| format!("{}: {} (fix: {})", i.field, i.message, i.fix))
            .collect::<Vec<_>>()
            .join("; ");
        so.placement.holds = issues;
        so.placement.quoted_cost = quoted_cost;
        self.raise_exception(
            ExceptionKind::SupplierOrderHeld,
            format!("supplier order at {name} held before submission: {summary}"),
            SuggestedAction::ContactSupplier,
            journal,
        );
        Ok(())
    }

    /// Lifts a hold (the seller fixed the cause, or accepts the quoted price): the supplier
    /// order goes back to be submitted, its checks run again.
    pub fn release_supplier_hold(
        &mut self,
        id: SupplierOrderId,
        accept_price: bool,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        let so = self.supplier_order(id)?;
        if accept_price && so.placement.quoted_cost.is_none() {
            return Err(OrderError::Invalid {
                field: "accept_price".into(),
                reason: "the supplier order was not held for its price".into(),
            });
        }
        self.apply_supplier_order(id, SupplierOrderEvent::ReleaseHold, journal)?;
        let at = journal.at;
        let so = self.supplier_order_mut(id)?;
        so.placement.holds.clear();
        if so.state.request_status == RequestStatus::Submitted {
            // The seller looked at the supplier and found nothing: the request counts as
            // sent anew from now on.
            so.placement.submitted_at = Some(at);
        }
        if accept_price && let Some(quoted) = so.placement.quoted_cost.take() {
            let was = so.expected_cost;
            so.expected_cost = quoted;
            so.placement.price_accepted = true;
            journal.record(
                "supplier_order.price_accepted",
                format!("New supplier price accepted: {quoted} (was {was})"),
                None,
                None,
            );
        }
        for exception in &mut self.exceptions {
            if exception.kind == ExceptionKind::SupplierOrderHeld && exception.resolved_at.is_none() {
                exception.resolved_at = Some(at);
            }
        }
        Ok(())
    }

    /// The seller corrects where a supplier order ships (the phone, a line too long for the
    /// supplier's form, a script it cannot read) before it reaches the supplier: only while
    /// the request is unsubmitted or was refused. The customer's order keeps the address as
    /// received; the supplier order carries the corrected one.
    pub fn edit_ship_to(
        &mut self,
        id: SupplierOrderId,
        ship_to: crate::address::Address,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        let so = self.supplier_order(id)?;
        let editable = matches!(so.state.status, SupplierOrderStatus::Open | SupplierOrderStatus::OnHold)
            && matches!(
                so.state.request_status,
                RequestStatus::Unsubmitted | RequestStatus::Rejected
            );
        if !editable {
            return Err(TransitionError {
                machine: "supplier_order",
                from: so.state.to_string(),
                event: "edit_ship_to".into(),
            }
            .into());
        }
        if !so.ship_to.country_code.eq_ignore_ascii_case(&ship_to.country_code) {
            return Err(OrderError::Invalid {
                field: "country_code".into(),
                reason: format!(
                    "must stay {}: another country needs another route (switch the supplier instead)",
                    so.ship_to.country_code
                ),
            });
        }
        let so = self.supplier_order_mut(id)?;
        so.ship_to = ship_to;
        let name = so.supplier_name.clone();
        self.updated_at = journal.at;
        journal.record(
            "supplier_order.ship_to_edited",
            format!("The seller corrected the address sent to {name}"),
            None,
            None,
        );
        Ok(())
    }

    /// The seller enters the recipient's tax id the destination's customs need, before the
    /// supplier has the order; it must have the destination's format and check digits.
    pub fn set_tax_id(&mut self, id: SupplierOrderId, tax_id: &str, journal: &mut Journal) -> Result<(), OrderError> {
        let so = self.supplier_order(id)?;
        let editable = matches!(so.state.status, SupplierOrderStatus::Open | SupplierOrderStatus::OnHold)
            && matches!(
                so.state.request_status,
                RequestStatus::Unsubmitted | RequestStatus::Rejected
            );
        if !editable {
            return Err(TransitionError {
                machine: "supplier_order",
                from: so.state.to_string(),
                event: "set_tax_id".into(),
            }
            .into());
        }
        let tax_id = tax_id.trim();
        if tax_id.is_empty() || tax_id.chars().count() > 40 || tax_id.chars().any(char::is_control) {
            return Err(OrderError::Invalid {
                field: "tax_id".into(),
                reason: "must be 1 to 40 characters".into(),
            });
        }
        crate::submission::check_tax_id_for(&so.ship_to.country_code, tax_id).map_err(|issue| OrderError::Invalid {
            field: "tax_id".into(),
            reason: issue.message,
        })?;
        let so = self.supplier_order_mut(id)?;
        so.placement.tax_id = Some(tax_id.to_string());
        let name = so.supplier_name.clone();
        self.updated_at = journal.at;
        journal.record(
            "supplier_order.tax_id_set",
            format!("The recipient's tax id for {name} was entered"),
            None,
            None,
        );
        Ok(())
    }

    /// The supplier let the seller down: the supplier order is closed (cancelled outright,
    /// or a cancellation requested when the supplier has it) with the failure recorded, and
    /// its lines become uncovered so routing can take them to the next offer. Returns the
    /// lines to re-route. A supplier order that already failed changes nothing.
    pub fn fail_supplier_order(
        &mut self,
        id: SupplierOrderId,
        kind: FailureKind,
        detail: String,
        journal: &mut Journal,
    ) -> Result<Vec<LineItemId>, OrderError> {
        let so = self.supplier_order(id)?;
        if so.placement.failure.is_some() {
            return Ok(Vec::new());
        }
        if so.state.is_terminal() {
            return Err(TransitionError {
                machine: "supplier_order",
                from: so.state.to_string(),
                event: "fail".into(),
            }
            .into());
        }
        let state = so.state;
        let lines: Vec<LineItemId> = so.lines.iter().map(|l| l.line_item_id).collect();
        if state.request_status == RequestStatus::Submitted && state.status == SupplierOrderStatus::Open {
            // Refused outright: the request is rejected, then closed here.
            self.apply_supplier_order(id, SupplierOrderEvent::Reject, journal)?;
            self.apply_supplier_order(id, SupplierOrderEvent::Cancel, journal)?;
        } else if state.request_status == RequestStatus::CancellationRequested {
            // Already being cancelled at the supplier.
        } else if let Some(event) = crate::state::cancellation_event(state) {
            self.apply_supplier_order(id, event, journal)?;
        } else if state.status == SupplierOrderStatus::InProgress {
            // Accepted but never shipped, and its cancellation was refused before: closed as
            // incomplete.
            self.apply_supplier_order(id, SupplierOrderEvent::CloseIncomplete, journal)?;
        }
        let so = self.supplier_order_mut(id)?;
        let name = so.supplier_name.clone();
        so.placement.failure = Some(SupplierFailure {
            kind,
            detail: detail.clone(),
            at: journal.at,
        });
        journal.record(
            "supplier_order.failed",
            format!("Supplier {name} failed ({kind}): {detail}; its lines go to the next offer"),
            None,
            None,
        );
        Ok(lines)
    }

    /// No other offer can take lines a supplier failed: the order goes on hold for the
    /// seller when nothing of it is on its way, else an exception says which lines wait.
    pub fn hold_for_failover(
        &mut self,
        reasons: Vec<crate::state::HoldReason>,
        detail: String,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        self.raise_exception(
            ExceptionKind::NoFailoverOffer,
            detail,
            SuggestedAction::SwitchSupplier,
            journal,
        );
        let nothing_live = !self.supplier_orders.iter().any(|so| so.is_live());
        if nothing_live && matches!(self.state, OrderState::InFulfillment | OrderState::Accepted) {
            self.apply(OrderEvent::Hold { reasons }, journal)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{Address, Customer};
    use crate::catalog::SupplierKind;
    use crate::ids::{OfferId, StoreId, VariantId};
    use crate::money::Currency;
    use crate::order::{IncomingLine, IncomingOrder};
    use crate::state::{HoldReason, PaymentState, SupplierOrderState};
    use crate::timeline::Actor;
    use time::macros::datetime;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("USD"))
    }

    /// An accepted order of two lines, with one CJ supplier order holding both.
    fn routed() -> (Order, Journal, SupplierOrderId) {
        let mut journal = Journal::new(OrderId::new(), Actor::System, datetime!(2026-11-01 10:05 UTC));
        let line = |sku: &str| IncomingLine {
            external_id: None,
            sku: sku.into(),
            title: sku.into(),
            variant_title: None,
            quantity: 2,
            unit_price: usd(2000),
            requires_shipping: true,
            platform_product_id: None,
            platform_variant_id: None,
            fulfillable_quantity: None,
        };
        let incoming = IncomingOrder {
            external_id: "e-1".into(),
            number: "#1".into(),
            customer: Customer::default(),
            shipping_address: Address {
                country_code: "US".into(),
                ..Address::default()
            },
            lines: vec![line("A"), line("B")],
            currency: Currency::parse("USD").expect("USD"),
            shipping_total: usd(0),
            payment: PaymentState::Paid,
            placed_at: datetime!(2026-11-01 10:00 UTC),
            test: false,
            cancelled_at: None,
            source_updated_at: None,
            charged_total: None,
            discount_total: None,
            tax_total: None,
            shipping_method: None,
        };
        let mut order =
            Order::receive(StoreId::new(), incoming, |_| Some(VariantId::new()), &mut journal).expect("order");
        order.apply(OrderEvent::Accept, &mut journal).expect("accept");
        let supplier_id = SupplierId::new();
        let lines = order
            .lines
            .iter()
            .map(|l| SupplierOrderLine {
                line_item_id: l.id,
                offer_id: OfferId::new(),
                variant_id: l.variant_id.expect("variant"),
                supplier_sku: format!("S-{}", l.sku),
                product_url: None,
                title: l.title.clone(),
                variant_title: None,
                quantity: l.quantity,
                unit_cost: usd(800),
                supplier_product_id: None,
                supplier_variant_id: None,
            })
            .collect();
        let so = SupplierOrder {
            id: SupplierOrderId::new(),
            supplier_id,
            supplier_name: "CJ".into(),
            supplier_kind: SupplierKind::Cj,
            lines,
            ship_to: order.shipping_address.clone(),
            shipping_method: None,
            expected_cost: usd(3200),
            actual_cost: None,
            cost_rate: None,
            supplier_reference: None,
            idempotency_key: idempotency_key(order.id, supplier_id, 1),
            attempt: 1,
            state: SupplierOrderState::NEW,
            shipments: Vec::new(),
            created_at: journal.at,
            placement: Placement::default(),
        };
        let id = so.id;
        order.add_supplier_order(so, &mut journal);
        order.apply(OrderEvent::StartFulfillment, &mut journal).expect("start");
        (order, journal, id)
    }

    #[test]
    fn submit_then_accept_records_the_supplier_and_is_idempotent() {
        let (mut order, mut journal, id) = routed();
        assert_eq!(order.uncovered_lines(), vec![], "both lines covered");
        order
            .submit_to_supplier(id, Some("no invoice".into()), &mut journal)
            .expect("submit");
        let acceptance = Acceptance {
            reference: "CJ-1".into(),
            cost: Some(usd(3100)),
            estimated_ship_at: Some(datetime!(2026-11-03 00:00 UTC)),
        };
        assert!(
            order
                .record_supplier_acceptance(id, acceptance.clone(), &mut journal)
                .expect("accept")
        );
        let so = order.supplier_order(id).expect("so");
        assert_eq!(so.state.status, SupplierOrderStatus::InProgress);
        assert_eq!(so.supplier_reference.as_deref(), Some("CJ-1"));
        assert_eq!(so.placement.note.as_deref(), Some("no invoice"));
        // The same answer again (a retried job) changes nothing; another id is refused.
        assert!(
            !order
                .record_supplier_acceptance(id, acceptance, &mut journal)
                .expect("again")
        );
        let other = Acceptance {
            reference: "CJ-2".into(),
            cost: None,
            estimated_ship_at: None,
        };
        assert!(matches!(
            order.record_supplier_acceptance(id, other, &mut journal),
            Err(OrderError::Invalid { .. })
        ));
        // A cost in another currency is refused.
        let (mut order, mut journal, id) = routed();
        order.submit_to_supplier(id, None, &mut journal).expect("submit");
        let euros = Acceptance {
            reference: "CJ-3".into(),
            cost: Some(Money::new(100, Currency::parse("EUR").expect("EUR"))),
            estimated_ship_at: None,
        };
        assert!(order.record_supplier_acceptance(id, euros, &mut journal).is_err());
    }

    #[test]
    fn a_partial_acceptance_uncovers_the_refused_lines_and_excludes_their_offer() {
        let (mut order, mut journal, id) = routed();
        order.submit_to_supplier(id, None, &mut journal).expect("submit");
        let refused_line = order.supplier_order(id).expect("so").lines[1].clone();
        let acceptance = Acceptance {
            reference: "CJ-9".into(),
            cost: None,
            estimated_ship_at: None,
        };
        // Refusing every line is not a partial acceptance.
        let all: Vec<_> = order
            .supplier_order(id)
            .expect("so")
            .lines
            .iter()
            .map(|l| (l.line_item_id, "out".to_string()))
            .collect();
        assert!(
            order
                .record_partial_acceptance(id, acceptance.clone(), &all, &mut journal)
                .is_err()
        );
        order
            .record_partial_acceptance(
                id,
                acceptance,
                &[(refused_line.line_item_id, "no stock".into())],
                &mut journal,
            )
            .expect("partial");
        assert_eq!(order.uncovered_lines(), vec![refused_line.line_item_id]);
        assert_eq!(order.failed_offers(), vec![refused_line.offer_id]);
        let so = order.supplier_order(id).expect("so");
        assert_eq!(so.lines.len(), 1);
        assert_eq!(so.placement.refused_lines[0].reason, "no stock");
        assert!(journal.events.iter().any(|e| e.kind == "supplier_order.lines_refused"));
    }

    #[test]
    fn failing_closes_the_supplier_order_by_its_state_and_uncovers_its_lines() {
        // Refused on submission: rejected, then cancelled here.
        let (mut order, mut journal, id) = routed();
        order.submit_to_supplier(id, None, &mut journal).expect("submit");
        let lines = order
            .fail_supplier_order(id, FailureKind::OutOfStock, "none left".into(), &mut journal)
            .expect("fail");
        assert_eq!(lines.len(), 2);
        let so = order.supplier_order(id).expect("so");
        assert_eq!(so.state.status, SupplierOrderStatus::Cancelled);
        assert!(!so.is_live());
        assert_eq!(order.uncovered_lines().len(), 2);
        assert_eq!(order.failed_offers().len(), 2);
        assert_eq!(order.next_attempt(so.supplier_id), 2);
        // Failing twice changes nothing.
        assert_eq!(
            order.fail_supplier_order(id, FailureKind::Rejected, "again".into(), &mut journal),
            Ok(Vec::new())
        );
        // Accepted and silent: a cancellation is asked of the supplier.
        let (mut order, mut journal, id) = routed();
        order.submit_to_supplier(id, None, &mut journal).expect("submit");
        order
            .record_supplier_acceptance(
                id,
                Acceptance {
                    reference: "CJ-5".into(),
                    cost: None,
                    estimated_ship_at: None,
                },
                &mut journal,
            )
            .expect("accept");
        order
            .fail_supplier_order(id, FailureKind::MissedDeadline, "no tracking".into(), &mut journal)
            .expect("fail");
        let so = order.supplier_order(id).expect("so");
        assert_eq!(so.state.request_status, RequestStatus::CancellationRequested);
        assert_eq!(
            so.placement.failure.as_ref().map(|f| f.kind),
            Some(FailureKind::MissedDeadline)
        );
        // Nothing is left to place: the order holds for the seller.
        order
            .hold_for_failover(vec![HoldReason::NoRoute], "no other offer".into(), &mut journal)
            .expect("hold");
        assert_eq!(order.state, OrderState::OnHold);
        assert!(
            order
                .open_exceptions()
                .any(|e| e.kind == ExceptionKind::NoFailoverOffer)
        );
    }

    #[test]
    fn a_hold_names_its_fix_and_accepting_the_price_makes_it_the_expected_cost() {
        let (mut order, mut journal, id) = routed();
        let issue = HeldIssue {
            field: "quote.total".into(),
            code: "price_above_tolerance".into(),
            message: "dearer".into(),
            fix: SuggestedFix::AcceptNewPrice,
        };
        assert!(
            order.hold_supplier_order(id, Vec::new(), None, &mut journal).is_err(),
            "a hold needs a reason"
        );
        order
            .hold_supplier_order(id, vec![issue], Some(usd(4000)), &mut journal)
            .expect("hold");
        assert_eq!(
            order.supplier_order(id).expect("so").state.status,
            SupplierOrderStatus::OnHold
        );
        assert!(
            order
                .open_exceptions()
                .any(|e| e.kind == ExceptionKind::SupplierOrderHeld)
        );
        order.release_supplier_hold(id, true, &mut journal).expect("release");
        let so = order.supplier_order(id).expect("so");
        assert_eq!(so.state, SupplierOrderState::NEW);
        assert_eq!(so.expected_cost, usd(4000));
        assert!(so.placement.price_accepted && so.placement.holds.is_empty());
        assert_eq!(order.open_exceptions().count(), 0);
        // Accepting a price without a quote is refused; releasing what is not held too.
        assert!(matches!(
            order.release_supplier_hold(id, true, &mut journal),
            Err(OrderError::Invalid { .. })
        ));
        assert!(matches!(
            order.release_supplier_hold(id, false, &mut journal),
            Err(OrderError::Transition(_))
        ));
    }

    #[test]
    fn keys_fit_forty_characters_and_differ_by_each_part() {
        let order = OrderId(uuid::Uuid::from_u128(u128::MAX));
        let supplier = SupplierId(uuid::Uuid::from_u128(u128::MAX));
        let key = idempotency_key(order, supplier, 999);
        assert!(key.len() <= 40, "{key} is {} characters", key.len());
        let a = OrderId::new();
        let s = SupplierId::new();
        assert_ne!(idempotency_key(a, s, 1), idempotency_key(a, s, 2));
        assert_ne!(idempotency_key(a, s, 1), idempotency_key(OrderId::new(), s, 1));
        assert_eq!(idempotency_key(a, s, 1), idempotency_key(a, s, 1));
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
    }
}
