//! After delivery (DESIGN.md "States": return, dispute): an order's returns, refunds and
//! disputes, kept on the order aggregate so that each change is one write with its timeline,
//! and the order's ledger derived from the order itself (sale, shipping, supplier costs,
//! re-shipments, fees by the store's settings, refunds, chargebacks), so that it can never
//! disagree with what happened.

use crate::ids::{DisputeId, LineItemId, RefundId, ReturnId};
use crate::ledger::{
    DisputeEvent, DisputeState, EarningEntry, EarningKind, LedgerEntry, LedgerError, LedgerKind, ReturnEvent,
    ReturnState, check_refund, next_dispute_state, next_return_state,
};
use crate::money::Money;
use crate::order::{ExceptionKind, Order, OrderError, SuggestedAction};
use crate::state::{OrderState, PaymentEvent, PaymentState, snake_enum};
use crate::timeline::Journal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Longest note a return or refund keeps.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// Most photos one return keeps.
pub const MAX_PHOTOS: usize = 10;

/// What happened to an order after the sale.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterSale {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<Return>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<Refund>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<Dispute>,
}

impl AfterSale {
    pub fn is_empty(&self) -> bool {
        self.returns.is_empty() && self.refunds.is_empty() && self.disputes.is_empty()
    }
}

/// Some units of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineUnits {
    pub line_item_id: LineItemId,
    pub quantity: u32,
}

snake_enum!(
    /// Why the customer returns.
    ReturnReason {
        Damaged => "damaged",
        WrongItem => "wrong_item",
        NotAsDescribed => "not_as_described",
        ChangedMind => "changed_mind",
        NotReceived => "not_received",
    }
);

snake_enum!(
    /// How a return ends.
    Resolution {
        Refund => "refund",
        /// The same variant again, through routing.
        Replacement => "replacement",
        /// Another variant.
        Exchange => "exchange",
        StoreCredit => "store_credit",
        /// Refunded, and the customer keeps the item (shipping it back costs more).
        ReturnlessRefund => "returnless_refund",
    }
);

/// A return request (RMA).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Return {
    pub id: ReturnId,
    pub lines: Vec<LineUnits>,
    pub reason: ReturnReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Links to the customer's photos.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<String>,
    pub state: ReturnState,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
}

/// Money given back to the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub amount: Money,
    pub reason: String,
    /// The lines refunded, when the refund is for units (empty for an amount only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineUnits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_id: Option<ReturnId>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A payment dispute (chargeback).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    pub id: DisputeId,
    pub amount: Money,
    /// The card network's or processor's reason code (`10.4`, `fraudulent`, ...).
    pub reason_code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    pub state: DisputeState,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub closed_at: Option<OffsetDateTime>,
}

/// What the store pays on its sales, from the store's settings: basis points of what the
/// customer paid and a fixed part per order (the payment processor), basis points to the
/// platform, and the fee of a lost dispute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fees {
    #[serde(default)]
    pub payment_bp: u32,
    /// In minor units of the order's currency.
    #[serde(default)]
    pub payment_fixed_minor: i64,
    #[serde(default)]
    pub platform_bp: u32,
    /// In minor units of the order's currency.
    #[serde(default)]
    pub chargeback_fee_minor: i64,
}

/// The open exception of a dispute waiting for evidence: one per dispute.
fn dispute_detail(id: DisputeId, amount: Money, due_at: OffsetDateTime) -> String {
    format!(
        "dispute {id} of {amount}: evidence due {}-{:02}-{:02}",
        due_at.year(),
        u8::from(due_at.month()),
        due_at.day()
    )
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> OrderError {
    OrderError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

fn ledger_invalid(field: &str, err: LedgerError) -> OrderError {
    invalid(field, err.to_string())
}

/// `bp` basis points of `amount`, rounded half up, checked.
fn share(amount: Money, bp: u32) -> Result<Money, LedgerError> {
    let scaled = i128::from(amount.minor) * i128::from(bp);
    let minor = (scaled + 5_000) / 10_000;
    Ok(Money::new(
        i64::try_from(minor).map_err(|_| crate::money::MoneyError::Overflow)?,
        amount.currency,
    ))
}

impl Order {
    /// What the customer paid: the storefront's charged total when it says, else the total.
    pub fn paid_total(&self) -> Money {
        self.charged_total.unwrap_or(self.total)
    }

    /// What was refunded so far.
    pub fn refunded_total(&self) -> Result<Money, LedgerError> {
        let mut sum = Money::zero(self.currency);
        for refund in &self.after_sale.refunds {
            sum = sum.checked_add(refund.amount)?;
        }
        Ok(sum)
    }

    /// Units of a line the customer received: all of them once the order is delivered.
    pub fn delivered_units(&self, line_item_id: LineItemId) -> u32 {
        let delivered = matches!(self.state, OrderState::Delivered | OrderState::Completed);
        self.lines
            .iter()
            .find(|l| l.id == line_item_id && l.requires_shipping)
            .map_or(0, |l| if delivered { l.quantity } else { 0 })
    }

    /// Units of a line already in a return that was not rejected.
    pub fn returned_units(&self, line_item_id: LineItemId) -> u32 {
        self.after_sale
            .returns
            .iter()
            .filter(|r| r.state != ReturnState::Rejected)
            .flat_map(|r| r.lines.iter())
            .filter(|l| l.line_item_id == line_item_id)
            .map(|l| l.quantity)
            .sum()
    }

    /// Checks units of lines against what was delivered and not yet returned.
    fn check_returnable(&self, lines: &[LineUnits]) -> Result<(), OrderError> {
        if lines.is_empty() {
            return Err(invalid("lines", "name at least one line and its quantity"));
        }
        for (index, units) in lines.iter().enumerate() {
            let field = format!("lines[{index}]");
            if !self.lines.iter().any(|l| l.id == units.line_item_id) {
                return Err(invalid(format!("{field}.line_item_id"), "is not a line of this order"));
            }
            if units.quantity == 0 {
                return Err(invalid(format!("{field}.quantity"), "must be at least 1"));
            }
            if lines[..index].iter().any(|l| l.line_item_id == units.line_item_id) {
                return Err(invalid(format!("{field}.line_item_id"), "is named twice"));
            }
            let left = self
                .delivered_units(units.line_item_id)
                .saturating_sub(self.returned_units(units.line_item_id));
            if units.quantity > left {
                return Err(invalid(
                    format!("{field}.quantity"),
                    format!("only {left} delivered unit(s) of this line can still be returned"),
                ));
            }
        }
        Ok(())
    }

    /// The customer asks to return units of delivered lines.
    pub fn request_return(
        &mut self,
        lines: Vec<LineUnits>,
        reason: ReturnReason,
        note: Option<String>,
        photos: Vec<String>,
        journal: &mut Journal,
    ) -> Result<ReturnId, OrderError> {
        if !matches!(self.state, OrderState::Delivered | OrderState::Completed) {
            return Err(OrderError::Transition(crate::state::TransitionError {
                machine: "order",
                from: self.state.to_string(),
                event: "request_return".into(),
            }));
        }
        self.check_returnable(&lines)?;
        let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
            return Err(invalid("note", format!("must be at most {MAX_NOTE_CHARS} characters")));
        }
        if photos.len() > MAX_PHOTOS {
            return Err(invalid("photos", format!("at most {MAX_PHOTOS} photos")));
        }
        for (index, photo) in photos.iter().enumerate() {
            if !photo.starts_with("https://") || photo.len() > 2_000 {
                return Err(invalid(format!("photos[{index}]"), "must be an https:// address"));
            }
        }
        let id = ReturnId::new();
        let units: u32 = lines.iter().map(|l| l.quantity).sum();
        self.after_sale.returns.push(Return {
            id,
            lines,
            reason,
            note,
            photos,
            state: ReturnState::Requested,
            requested_at: journal.at,
            resolution: None,
        });
        self.updated_at = journal.at;
        journal.record(
            "return.requested",
            format!("Return requested: {units} unit(s), {reason}"),
            None,
            Some(ReturnState::Requested.to_string()),
        );
        Ok(id)
    }

    fn return_mut(&mut self, id: ReturnId) -> Result<&mut Return, OrderError> {
        self.after_sale
            .returns
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or(OrderError::UnknownReturn(id))
    }

    /// Moves a return through its machine.
    pub fn move_return(&mut self, id: ReturnId, event: ReturnEvent, journal: &mut Journal) -> Result<(), OrderError> {
        let at = journal.at;
        let found = self.return_mut(id)?;
        let from = found.state;
        let to = next_return_state(from, event)?;
        found.state = to;
        self.updated_at = at;
        journal.record(
            &format!("return.{event}"),
            format!("Return {to}"),
            Some(from.to_string()),
            Some(to.to_string()),
        );
        Ok(())
    }

    /// Resolves an approved (or received) return. A refund resolution refunds the returned
    /// lines at the price they were sold at (`amount` when given instead); a returnless
    /// refund resolves from `approved` without the item.
    pub fn resolve_return(
        &mut self,
        id: ReturnId,
        resolution: Resolution,
        amount: Option<Money>,
        journal: &mut Journal,
    ) -> Result<Option<RefundId>, OrderError> {
        let found = self
            .after_sale
            .returns
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or(OrderError::UnknownReturn(id))?;
        // Checked before anything changes, so a refused resolution refunds nothing.
        next_return_state(found.state, ReturnEvent::Resolve)?;
        if found.state == ReturnState::Approved
            && resolution != Resolution::ReturnlessRefund
            && resolution != Resolution::StoreCredit
        {
            return Err(invalid(
                "resolution",
                "the item has not come back: receive it first, or choose a returnless refund",
            ));
        }
        let refund = if matches!(resolution, Resolution::Refund | Resolution::ReturnlessRefund) {
            let amount = match amount {
                Some(amount) => amount,
                None => self
                    .value_of(&found.lines)
                    .map_err(|err| ledger_invalid("amount", err))?,
            };
            Some(self.refund(
                amount,
                format!("return: {}", found.reason),
                found.lines.clone(),
                Some(id),
                journal,
            )?)
        } else {
            None
        };
        self.move_return(id, ReturnEvent::Resolve, journal)?;
        if let Ok(found) = self.return_mut(id) {
            found.resolution = Some(resolution);
        }
        Ok(refund)
    }

    /// What units of lines sold for.
    pub fn value_of(&self, lines: &[LineUnits]) -> Result<Money, LedgerError> {
        let mut sum = Money::zero(self.currency);
        for units in lines {
            if let Some(line) = self.lines.iter().find(|l| l.id == units.line_item_id) {
                sum = sum.checked_add(line.unit_price.checked_mul(units.quantity)?)?;
            }
        }
        Ok(sum)
    }

    /// Gives `amount` back to the customer (at most what is still refundable); the payment
    /// becomes partially refunded, or refunded when nothing is left.
    pub fn refund(
        &mut self,
        amount: Money,
        reason: String,
        lines: Vec<LineUnits>,
        return_id: Option<ReturnId>,
        journal: &mut Journal,
    ) -> Result<RefundId, OrderError> {
        if !matches!(self.payment, PaymentState::Paid | PaymentState::PartiallyRefunded) {
            return Err(OrderError::Transition(crate::state::TransitionError {
                machine: "payment",
                from: self.payment.to_string(),
                event: "refund".into(),
            }));
        }
        let reason = reason.trim().to_string();
        if reason.is_empty() || reason.chars().count() > MAX_NOTE_CHARS {
            return Err(invalid("reason", format!("must be 1 to {MAX_NOTE_CHARS} characters")));
        }
        for (index, units) in lines.iter().enumerate() {
            let line = self
                .lines
                .iter()
                .find(|l| l.id == units.line_item_id)
                .ok_or_else(|| invalid(format!("lines[{index}].line_item_id"), "is not a line of this order"))?;
            if units.quantity == 0 || units.quantity > line.quantity {
                return Err(invalid(
                    format!("lines[{index}].quantity"),
                    format!("must be 1 to {}", line.quantity),
                ));
            }
        }
        let refunded = self.refunded_total().map_err(|err| ledger_invalid("amount", err))?;
        let left = check_refund(self.paid_total(), refunded, amount).map_err(|err| ledger_invalid("amount", err))?;
        let event = if left == amount {
            PaymentEvent::RefundAll
        } else {
            PaymentEvent::RefundPart
        };
        self.apply_payment(event, journal)?;
        let id = RefundId::new();
        self.after_sale.refunds.push(Refund {
            id,
            amount,
            reason: reason.clone(),
            lines,
            return_id,
            at: journal.at,
        });
        journal.record("refund.issued", format!("Refunded {amount}: {reason}"), None, None);
        Ok(id)
    }

    /// Records a payment dispute of `amount` (at most what was paid), to answer by `due_at`.
    pub fn open_dispute(
        &mut self,
        amount: Money,
        reason_code: String,
        due_at: OffsetDateTime,
        journal: &mut Journal,
    ) -> Result<DisputeId, OrderError> {
        let reason_code = reason_code.trim().to_string();
        if reason_code.is_empty() || reason_code.chars().count() > 100 {
            return Err(invalid("reason_code", "must be 1 to 100 characters"));
        }
        if amount.minor <= 0 {
            return Err(invalid("amount", "must be more than zero"));
        }
        let over = self
            .paid_total()
            .checked_sub(amount)
            .map_err(|err| ledger_invalid("amount", err.into()))?;
        if over.minor < 0 {
            return Err(invalid(
                "amount",
                format!("must be at most the {} paid", self.paid_total()),
            ));
        }
        if due_at <= journal.at {
            return Err(invalid("due_at", "must be in the future"));
        }
        let id = DisputeId::new();
        self.raise_exception(
            ExceptionKind::DisputeNeedsResponse,
            dispute_detail(id, amount, due_at),
            SuggestedAction::AnswerDispute,
            journal,
        );
        self.after_sale.disputes.push(Dispute {
            id,
            amount,
            reason_code: reason_code.clone(),
            due_at,
            state: DisputeState::NeedsResponse,
            opened_at: journal.at,
            closed_at: None,
        });
        self.updated_at = journal.at;
        journal.record(
            "dispute.opened",
            format!("Payment disputed: {amount}, reason {reason_code}"),
            None,
            Some(DisputeState::NeedsResponse.to_string()),
        );
        Ok(id)
    }

    /// Moves a dispute through its machine.
    pub fn move_dispute(
        &mut self,
        id: DisputeId,
        event: DisputeEvent,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        let at = journal.at;
        let found = self
            .after_sale
            .disputes
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or(OrderError::UnknownDispute(id))?;
        let from = found.state;
        let to = next_dispute_state(from, event)?;
        found.state = to;
        if matches!(to, DisputeState::Won | DisputeState::Lost) {
            found.closed_at = Some(at);
        }
        let detail = dispute_detail(found.id, found.amount, found.due_at);
        if from == DisputeState::NeedsResponse {
            // Answered (or lost): the seller has nothing left to do by the due date.
            self.resolve_exception(ExceptionKind::DisputeNeedsResponse, &detail, journal);
        }
        self.updated_at = at;
        journal.record(
            &format!("dispute.{event}"),
            format!("Dispute {}", to.as_str().replace('_', " ")),
            Some(from.to_string()),
            Some(to.to_string()),
        );
        Ok(())
    }

    /// Every money movement of the order, derived from it: the sale and shipping charged,
    /// supplier costs (a supplier order after the first for the same lines is a
    /// re-shipment), the fees by `fees`, refunds, and lost disputes with their fee. Supplier
    /// costs in another currency are left out (their rate is not known here).
    pub fn ledger(&self, fees: &Fees) -> Result<Vec<LedgerEntry>, LedgerError> {
        let mut entries = Vec::new();
        let mut push = |kind: LedgerKind, amount: Money, at: OffsetDateTime| -> Result<(), LedgerError> {
            if amount.minor != 0 {
                entries.push(LedgerEntry::new(self.id, kind, amount, at)?);
            }
            Ok(())
        };
        let cancelled = matches!(self.state, OrderState::Cancelled | OrderState::Rejected);
        if !cancelled && !matches!(self.payment, PaymentState::Pending | PaymentState::Voided) {
            push(LedgerKind::Sale, self.subtotal, self.placed_at)?;
            push(LedgerKind::ShippingCharged, self.shipping_total, self.placed_at)?;
            let paid = self.paid_total();
            let payment_fee = share(paid, fees.payment_bp)?
                .checked_add(Money::new(fees.payment_fixed_minor.max(0), self.currency))?;
            push(LedgerKind::PaymentFee, payment_fee, self.placed_at)?;
            push(LedgerKind::PlatformFee, share(paid, fees.platform_bp)?, self.placed_at)?;
        }
        let mut lines_seen: Vec<LineItemId> = Vec::new();
        for supplier_order in &self.supplier_orders {
            if !supplier_order.is_live() && supplier_order.actual_cost.is_none() {
                continue;
            }
            let cost = supplier_order.actual_cost.unwrap_or(supplier_order.expected_cost);
            if cost.currency != self.currency {
                continue;
            }
            let reshipment = supplier_order
                .lines
                .iter()
                .all(|l| lines_seen.contains(&l.line_item_id));
            lines_seen.extend(supplier_order.lines.iter().map(|l| l.line_item_id));
            let kind = if reshipment {
                LedgerKind::ReshipmentCost
            } else {
                LedgerKind::SupplierCost
            };
            push(kind, cost, supplier_order.created_at)?;
        }
        for refund in &self.after_sale.refunds {
            push(LedgerKind::Refund, refund.amount, refund.at)?;
        }
        for dispute in &self.after_sale.disputes {
            if dispute.state == DisputeState::Lost {
                let at = dispute.closed_at.unwrap_or(dispute.opened_at);
                push(LedgerKind::Chargeback, dispute.amount, at)?;
                push(
                    LedgerKind::ChargebackFee,
                    Money::new(fees.chargeback_fee_minor.max(0), self.currency),
                    at,
                )?;
            }
        }
        Ok(entries)
    }
}

impl Order {
    /// When the whole order reached the customer: its last parcel's delivery, once the
    /// order is delivered (or completed).
    pub fn delivered_at(&self) -> Option<OffsetDateTime> {
        if !matches!(self.state, OrderState::Delivered | OrderState::Completed) {
            return None;
        }
        self.supplier_orders
            .iter()
            .flat_map(|so| so.shipments.iter())
            .filter_map(|parcel| parcel.delivered_at)
            .max()
    }

    /// The vendor's earning entries of this order (marketplace mode), derived from it: once
    /// delivered, what the sale left after supplier costs and fees is earned, available
    /// after `holding`; every refund and lost dispute (with its fee) is a debit, taken from
    /// the pending part while the holding period runs. An order never delivered earns
    /// nothing (a refund before delivery takes nothing from the vendor).
    pub fn earnings(&self, fees: &Fees, holding: time::Duration) -> Result<Vec<EarningEntry>, LedgerError> {
        let Some(delivered_at) = self.delivered_at() else {
            return Ok(Vec::new());
        };
        let released = delivered_at + holding;
        let mut entries = Vec::new();
        let mut sold = Money::zero(self.currency);
        let mut debits: Vec<(Money, OffsetDateTime)> = Vec::new();
        for entry in self.ledger(fees)? {
            match entry.kind {
                LedgerKind::Refund | LedgerKind::Chargeback | LedgerKind::ChargebackFee => {
                    debits.push((entry.amount, entry.at));
                }
                _ => sold = sold.checked_add(entry.signed())?,
            }
        }
        let (kind, amount) = if sold.minor >= 0 {
            (EarningKind::Earned, sold)
        } else {
            (EarningKind::Debit, Money::new(-sold.minor, sold.currency))
        };
        if amount.minor != 0 {
            entries.push(EarningEntry {
                kind,
                amount,
                at: delivered_at,
                available_at: released,
                order_id: Some(self.id),
            });
        }
        for (amount, at) in debits {
            entries.push(EarningEntry {
                kind: EarningKind::Debit,
                amount,
                at,
                available_at: at.max(released),
                order_id: Some(self.id),
            });
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Profit;
    use crate::timeline::Actor;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-12-04 12:00 UTC);

    fn journal(order: &Order) -> Journal {
        Journal::new(order.id, Actor::System, AT)
    }

    /// A delivered, paid order of two lines: 2 × 25.00 and 1 × 10.00, shipping 5.00.
    fn delivered() -> Order {
        let (mut order, _) = crate::order::tests::received(&[("A", 2, 2_500), ("B", 1, 1_000)]);
        order.state = OrderState::Delivered;
        order.payment = PaymentState::Paid;
        order
    }

    fn units(order: &Order, index: usize, quantity: u32) -> LineUnits {
        LineUnits {
            line_item_id: order.lines[index].id,
            quantity,
        }
    }

    #[test]
    fn a_return_takes_only_delivered_units_not_yet_returned() {
        let mut order = delivered();
        let mut j = journal(&order);
        let quantity = order.lines[0].quantity;
        let first = order
            .request_return(vec![units(&order, 0, 1)], ReturnReason::Damaged, None, vec![], &mut j)
            .expect("a return");
        let refused = order
            .request_return(
                vec![units(&order, 0, quantity)],
                ReturnReason::Damaged,
                None,
                vec![],
                &mut j,
            )
            .expect_err("more than is left");
        assert!(
            matches!(&refused, OrderError::Invalid { field, .. } if field == "lines[0].quantity"),
            "{refused:?}"
        );
        // A rejected return gives its units back.
        order.move_return(first, ReturnEvent::Reject, &mut j).expect("rejected");
        order
            .request_return(
                vec![units(&order, 0, quantity)],
                ReturnReason::Damaged,
                None,
                vec![],
                &mut j,
            )
            .expect("all units now");
        for (lines, field) in [
            (vec![], "lines"),
            (vec![units(&order, 1, 0)], "lines[0].quantity"),
            (
                vec![LineUnits {
                    line_item_id: LineItemId::new(),
                    quantity: 1,
                }],
                "lines[0].line_item_id",
            ),
            (vec![units(&order, 1, 1), units(&order, 1, 1)], "lines[1].line_item_id"),
        ] {
            let before = order.clone();
            let err = order
                .request_return(lines, ReturnReason::ChangedMind, None, vec![], &mut j)
                .expect_err("refused");
            assert!(
                matches!(&err, OrderError::Invalid { field: f, .. } if f == field),
                "{err:?}"
            );
            assert_eq!(order, before, "a refused return changes nothing");
        }
        let photo = order
            .request_return(
                vec![units(&order, 1, 1)],
                ReturnReason::Damaged,
                None,
                vec!["javascript:alert(1)".into()],
                &mut j,
            )
            .expect_err("not a photo link");
        assert!(matches!(photo, OrderError::Invalid { field, .. } if field == "photos[0]"));
        // Before delivery there is nothing to return.
        let mut shipped = delivered();
        shipped.state = OrderState::Shipped;
        let mut j = journal(&shipped);
        assert!(matches!(
            shipped.request_return(
                vec![units(&shipped, 0, 1)],
                ReturnReason::NotReceived,
                None,
                vec![],
                &mut j
            ),
            Err(OrderError::Transition(_))
        ));
    }

    #[test]
    fn a_returnless_refund_refunds_the_lines_and_moves_the_payment() {
        let mut order = delivered();
        let mut j = journal(&order);
        let id = order
            .request_return(vec![units(&order, 0, 1)], ReturnReason::Damaged, None, vec![], &mut j)
            .expect("a return");
        // Not approved yet: it cannot be resolved.
        assert!(
            order
                .resolve_return(id, Resolution::ReturnlessRefund, None, &mut j)
                .is_err()
        );
        order.move_return(id, ReturnEvent::Approve, &mut j).expect("approved");
        // A refund needs the item back first.
        assert!(matches!(
            order.resolve_return(id, Resolution::Refund, None, &mut j),
            Err(OrderError::Invalid { .. })
        ));
        let refund = order
            .resolve_return(id, Resolution::ReturnlessRefund, None, &mut j)
            .expect("resolved")
            .expect("a refund");
        assert_eq!(order.after_sale.refunds[0].id, refund);
        assert_eq!(order.after_sale.refunds[0].amount, order.lines[0].unit_price);
        assert_eq!(order.payment, PaymentState::PartiallyRefunded);
        assert_eq!(order.after_sale.returns[0].state, ReturnState::Resolved);
        assert_eq!(
            order.after_sale.returns[0].resolution,
            Some(Resolution::ReturnlessRefund)
        );
        let kinds: Vec<&str> = j.events.iter().map(|e| e.kind.as_str()).collect();
        assert!(
            kinds.contains(&"refund.issued") && kinds.contains(&"return.resolve"),
            "{kinds:?}"
        );
    }

    #[test]
    fn refunds_stop_at_what_was_paid() {
        let mut order = delivered();
        let mut j = journal(&order);
        let paid = order.paid_total();
        let half = Money::new(paid.minor / 2, paid.currency);
        order.refund(half, "late".into(), vec![], None, &mut j).expect("half");
        let rest = paid.checked_sub(half).expect("rest");
        let before = order.clone();
        let over = Money::new(rest.minor + 1, paid.currency);
        let err = order
            .refund(over, "again".into(), vec![], None, &mut j)
            .expect_err("too much");
        assert!(
            matches!(&err, OrderError::Invalid { field, .. } if field == "amount"),
            "{err:?}"
        );
        assert_eq!(order, before);
        for (amount, reason, field) in [
            (Money::new(0, paid.currency), "x", "amount"),
            (
                Money::new(100, crate::money::Currency::parse("EUR").expect("EUR")),
                "x",
                "amount",
            ),
            (Money::new(100, paid.currency), " ", "reason"),
        ] {
            let err = order
                .refund(amount, reason.into(), vec![], None, &mut j)
                .expect_err("refused");
            assert!(
                matches!(&err, OrderError::Invalid { field: f, .. } if f == field),
                "{err:?}"
            );
            assert_eq!(order, before);
        }
        order
            .refund(rest, "the rest".into(), vec![], None, &mut j)
            .expect("the rest");
        assert_eq!(order.payment, PaymentState::Refunded);
        assert_eq!(order.refunded_total(), Ok(paid));
        // Nothing left: a refunded payment takes no refund.
        assert!(matches!(
            order.refund(Money::new(1, paid.currency), "x".into(), vec![], None, &mut j),
            Err(OrderError::Transition(_))
        ));
    }

    #[test]
    fn the_ledger_follows_the_order_and_a_lost_dispute() {
        let mut order = delivered();
        let mut j = journal(&order);
        let fees = Fees {
            payment_bp: 290,
            payment_fixed_minor: 30,
            platform_bp: 200,
            chargeback_fee_minor: 1_500,
        };
        let base = Profit::of(&order.ledger(&fees).expect("ledger"), order.currency).expect("profit");
        assert_eq!(
            base.revenue,
            order.subtotal.checked_add(order.shipping_total).expect("sum")
        );
        let paid = order.paid_total();
        let due = AT + time::Duration::days(7);
        let dispute = order
            .open_dispute(paid, "fraudulent".into(), due, &mut j)
            .expect("a dispute");
        // An open dispute costs nothing yet, and is on the seller's work list until answered.
        assert_eq!(order.ledger(&fees).expect("ledger").len(), base_len(&order, &fees));
        let open: Vec<_> = order.open_exceptions().map(|e| e.kind).collect();
        assert_eq!(open, [ExceptionKind::DisputeNeedsResponse]);
        order.move_dispute(dispute, DisputeEvent::Lose, &mut j).expect("lost");
        assert_eq!(order.open_exceptions().count(), 0, "the dispute needs nothing more");
        let entries = order.ledger(&fees).expect("ledger");
        assert!(
            entries
                .iter()
                .any(|e| e.kind == LedgerKind::Chargeback && e.amount == paid)
        );
        assert!(
            entries
                .iter()
                .any(|e| e.kind == LedgerKind::ChargebackFee && e.amount.minor == 1_500)
        );
        let after = Profit::of(&entries, order.currency).expect("profit");
        assert_eq!(after.profit.minor, base.profit.minor - paid.minor - 1_500);
        // A closed dispute moves no more; bad disputes are refused.
        assert!(order.move_dispute(dispute, DisputeEvent::Win, &mut j).is_err());
        for (amount, code, due_at, field) in [
            (Money::new(paid.minor + 1, paid.currency), "x", due, "amount"),
            (Money::new(0, paid.currency), "x", due, "amount"),
            (paid, " ", due, "reason_code"),
            (paid, "x", AT, "due_at"),
        ] {
            let err = order
                .open_dispute(amount, code.into(), due_at, &mut j)
                .expect_err("refused");
            assert!(
                matches!(&err, OrderError::Invalid { field: f, .. } if f == field),
                "{err:?}"
            );
        }
        assert!(matches!(
            order.move_dispute(DisputeId::new(), DisputeEvent::Respond, &mut j),
            Err(OrderError::UnknownDispute(_))
        ));
    }

    #[test]
    fn a_vendor_earns_on_delivery_and_refunds_come_out_of_it() {
        use crate::ledger::Balance;
        let holding = time::Duration::days(14);
        let fees = Fees::default();
        // Not delivered: nothing earned, whatever happens to the payment.
        let mut shipped = delivered();
        shipped.state = OrderState::Shipped;
        assert_eq!(shipped.earnings(&fees, holding), Ok(Vec::new()));
        // Delivered without parcels on record: no delivery moment, nothing earned yet.
        assert_eq!(delivered().earnings(&fees, holding), Ok(Vec::new()));

        let mut order = delivered();
        let mut j = journal(&order);
        let mut supplier_order = crate::order::tests::supplier_order(&order, "Supplier");
        let mut parcel: crate::order::Shipment = serde_json::from_value(serde_json::json!({
            "id": crate::ids::ShipmentId::new(),
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "state": "delivered",
            "events": [],
        }))
        .expect("a parcel");
        parcel.delivered_at = Some(AT);
        supplier_order.shipments.push(parcel);
        let cost = supplier_order.actual_cost.unwrap_or(supplier_order.expected_cost);
        order.supplier_orders.push(supplier_order);
        assert_eq!(order.delivered_at(), Some(AT));
        let sold = order
            .subtotal
            .checked_add(order.shipping_total)
            .and_then(|m| m.checked_sub(cost))
            .expect("sums");
        let earned = order.earnings(&fees, holding).expect("earnings");
        assert_eq!(earned.len(), 1);
        assert_eq!((earned[0].kind, earned[0].amount), (EarningKind::Earned, sold));
        assert_eq!(earned[0].available_at, AT + holding);

        // A refund during the holding period comes out of the pending part.
        order
            .refund(Money::new(1_000, order.currency), "late".into(), vec![], None, &mut j)
            .expect("a refund");
        let entries = order.earnings(&fees, holding).expect("earnings");
        let during = Balance::of(&entries, order.currency, AT + time::Duration::days(1)).expect("balance");
        assert_eq!(during.pending.minor, sold.minor - 1_000);
        assert_eq!(during.available.minor, 0);
        let after = Balance::of(&entries, order.currency, AT + holding).expect("balance");
        assert_eq!((after.pending.minor, after.available.minor), (0, sold.minor - 1_000));
    }

    fn base_len(order: &Order, fees: &Fees) -> usize {
        let mut plain = order.clone();
        plain.after_sale.disputes.clear();
        plain.ledger(fees).expect("ledger").len()
    }
}
