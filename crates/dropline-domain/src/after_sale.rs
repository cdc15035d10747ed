//! After delivery (DESIGN.md "States": return, dispute): an order's returns, refunds and
//! disputes, kept on the order aggregate so that each change is one write with its timeline,
//! and the order's ledger derived from the order itself (sale, shipping, supplier costs,
//! re-shipments, fees by the store's settings, refunds, chargebacks, what suppliers gave
//! back), so that it can never disagree with what happened.
//!
//! Where a returned item goes and what the seller may claim back from a supplier follow the
//! suppliers' [`ReturnPolicy`]s, handed in as [`ReturnTerms`] (the order does not hold its
//! suppliers' records).

use crate::address::Address;
use crate::catalog::{ReturnPolicy, ReturnRules};
use crate::ids::{ClaimId, DisputeId, LineItemId, RefundId, ReturnId, SupplierId, SupplierOrderId, VariantId};
use crate::ledger::{
    ClaimEvent, ClaimState, DisputeEvent, DisputeState, EarningEntry, EarningKind, LedgerEntry, LedgerError,
    LedgerKind, ReturnEvent, ReturnState, check_refund, next_claim_state, next_dispute_state, next_return_state,
};
use crate::money::Money;
use crate::order::{ExceptionKind, LineItem, Order, OrderError, SuggestedAction, SupplierOrder};
use crate::state::{OrderState, PaymentEvent, PaymentState, snake_enum};
use crate::timeline::{Actor, Journal};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The timeline's name of the store rule that approves a return by its reason.
pub const AUTO_APPROVE_RULE: &str = "return_auto_approve";

/// The timeline's name of the store rule that refunds a cheap return without the item.
pub const RETURNLESS_REFUND_RULE: &str = "returnless_refund";

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
    /// What the seller claims back from suppliers for returned or damaged units.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<SupplierClaim>,
    /// The supplier orders returns resolved by replacement or exchange sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacements: Vec<ReturnShipment>,
}

impl AfterSale {
    pub fn is_empty(&self) -> bool {
        self.returns.is_empty()
            && self.refunds.is_empty()
            && self.disputes.is_empty()
            && self.claims.is_empty()
            && self.replacements.is_empty()
    }

    /// Whether this supplier order was sent for a return (a replacement or an exchange).
    pub fn is_return_shipment(&self, supplier_order_id: SupplierOrderId) -> bool {
        self.replacements
            .iter()
            .any(|r| r.supplier_order_id == supplier_order_id)
    }
}

/// A supplier order sent for a return resolved by replacement or exchange. Its cost is a
/// re-shipment in the ledger, and its parcels are after-sale parcels: the order stays
/// delivered (or completed) while they travel, and they do not move its delivery date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnShipment {
    pub return_id: ReturnId,
    pub supplier_order_id: SupplierOrderId,
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
    /// Where the units go back to: set when the return is approved and again when the
    /// customer is asked to send them; cleared when it is resolved without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub send_to: Vec<ReturnDestination>,
    /// When the item came back.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub received_at: Option<OffsetDateTime>,
}

/// Where some units of a return go back to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnDestination {
    pub lines: Vec<LineUnits>,
    /// The supplier whose return address this is; `None`: the store's own address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_id: Option<SupplierId>,
    /// `None` when neither the supplier's policy nor the store has an address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// What a return's steps need to know beyond the order: the return policy of the order's
/// suppliers (a supplier left out has the default policy: no returns, no credit) and the
/// store's own address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReturnTerms {
    pub policies: Vec<(SupplierId, ReturnPolicy)>,
    pub store_address: Option<Address>,
}

impl ReturnTerms {
    /// The policy of a supplier (the default one when it is not known).
    pub fn policy(&self, supplier_id: SupplierId) -> ReturnPolicy {
        self.policies
            .iter()
            .find(|(id, _)| *id == supplier_id)
            .map(|(_, policy)| policy.clone())
            .unwrap_or_default()
    }
}

snake_enum!(
    /// What a claim to a supplier rests on.
    ClaimBasis {
        /// The item came back (to the supplier, or to the seller who sends it on).
        ReturnedItem => "returned_item",
        /// Damaged, wrong or not as described, credited on the customer's photos.
        WithoutItem => "without_item",
    }
);

/// A claim to a supplier for the cost of units a customer returned (or kept, damaged).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierClaim {
    pub id: ClaimId,
    pub supplier_order_id: SupplierOrderId,
    pub supplier_id: SupplierId,
    pub return_id: ReturnId,
    pub lines: Vec<LineUnits>,
    pub basis: ClaimBasis,
    /// What the units cost at the supplier, in the supplier order's currency.
    pub claimed: Money,
    pub state: ClaimState,
    /// What the supplier gave back, once accepted: at most what was claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<Money>,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub closed_at: Option<OffsetDateTime>,
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
    /// The storefront platform's id of this refund once the store's platform took it (the
    /// `storefront_refund` job); `None` before, and for stores without a platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storefront_refund_id: Option<String>,
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
            send_to: Vec::new(),
            received_at: None,
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

    /// The last day (UTC) on which the store's rules let a return be requested: `window_days`
    /// whole days after the day of delivery. `None` when the order has no delivery date.
    pub fn return_window_ends_on(&self, rules: &ReturnRules) -> Option<time::Date> {
        let delivered = self.delivered_at()?.to_offset(time::UtcOffset::UTC).date();
        delivered
            .checked_add(time::Duration::days(i64::from(rules.window_days)))
            .or(Some(time::Date::MAX))
    }

    /// Refuses a return requested when the store's rules take none: a window of 0 days, or
    /// after the window's last day. Changes nothing.
    pub fn check_return_window(&self, rules: &ReturnRules, now: OffsetDateTime) -> Result<(), OrderError> {
        if rules.window_days == 0 {
            return Err(invalid("lines", "this store does not take returns"));
        }
        let Some(last_day) = self.return_window_ends_on(rules) else {
            return Ok(());
        };
        if now.to_offset(time::UtcOffset::UTC).date() > last_day {
            return Err(invalid(
                "lines",
                format!(
                    "can no longer be returned: the store's return window of {} day(s) after delivery ended on {last_day}",
                    rules.window_days
                ),
            ));
        }
        Ok(())
    }

    /// A return requested under the store's rules, all in the one change: refused outside
    /// the return window; approved at once when the store approves its reason (and directed
    /// where the items go back by the suppliers' policies); then, when the store says so and
    /// the units sold for at most its limit, refunded without the item (with the claims the
    /// suppliers' policies give). The rules' steps are journaled by [`Actor::Rule`]. Gives
    /// the return and the refund made by the rule, if any. `currency` is the store's, the
    /// returnless limit's: an order in another currency is never refunded by it.
    #[allow(clippy::too_many_arguments)]
    pub fn request_return_under_rules(
        &mut self,
        lines: Vec<LineUnits>,
        reason: ReturnReason,
        note: Option<String>,
        photos: Vec<String>,
        rules: &ReturnRules,
        currency: crate::money::Currency,
        terms: &ReturnTerms,
        journal: &mut Journal,
    ) -> Result<(ReturnId, Option<RefundId>), OrderError> {
        if matches!(self.state, OrderState::Delivered | OrderState::Completed) {
            self.check_return_window(rules, journal.at)?;
        }
        let id = self.request_return(lines, reason, note, photos, journal)?;
        if !rules.auto_approve_reasons.contains(&reason) {
            return Ok((id, None));
        }
        let mut approve = Journal::new(self.id, Actor::Rule(AUTO_APPROVE_RULE.into()), journal.at);
        self.move_return(id, ReturnEvent::Approve, &mut approve)?;
        self.direct_return(id, terms)?;
        if let Some(last) = approve.events.last_mut() {
            last.message = format!("Return approved: the store approves returns for {reason}");
        }
        journal.events.append(&mut approve.events);
        let Some(limit) = rules.returnless_refund_up_to_minor else {
            return Ok((id, None));
        };
        let lines = self.return_lines(id)?;
        let worth = self.value_of(&lines).map_err(|err| ledger_invalid("lines", err))?;
        if worth.currency != currency || worth.minor > limit {
            return Ok((id, None));
        }
        let mut returnless = Journal::new(self.id, Actor::Rule(RETURNLESS_REFUND_RULE.into()), journal.at);
        let (refund, _claims) =
            self.resolve_return_and_claim(id, Resolution::ReturnlessRefund, None, terms, &mut returnless)?;
        journal.events.append(&mut returnless.events);
        Ok((id, refund))
    }

    fn return_lines(&self, id: ReturnId) -> Result<Vec<LineUnits>, OrderError> {
        self.after_sale
            .returns
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.lines.clone())
            .ok_or(OrderError::UnknownReturn(id))
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
        if to == ReturnState::Received {
            found.received_at = Some(at);
        }
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
    /// refund resolves from `approved` without the item. A replacement or an exchange sends
    /// something, so it is resolved by [`Self::resolve_return_by_sending`] instead.
    pub fn resolve_return(
        &mut self,
        id: ReturnId,
        resolution: Resolution,
        amount: Option<Money>,
        journal: &mut Journal,
    ) -> Result<Option<RefundId>, OrderError> {
        if sends(resolution) {
            return Err(invalid(
                "resolution",
                "a replacement or an exchange sends a new supplier order: resolve it with the one routing planned",
            ));
        }
        self.settle_return(id, resolution, amount, journal)
    }

    /// The return, if it can be resolved this way (nothing changes).
    fn resolvable_return(&self, id: ReturnId, resolution: Resolution) -> Result<Return, OrderError> {
        let found = self
            .after_sale
            .returns
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or(OrderError::UnknownReturn(id))?;
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
        Ok(found)
    }

    fn settle_return(
        &mut self,
        id: ReturnId,
        resolution: Resolution,
        amount: Option<Money>,
        journal: &mut Journal,
    ) -> Result<Option<RefundId>, OrderError> {
        // Checked before anything changes, so a refused resolution refunds nothing.
        let found = self.resolvable_return(id, resolution)?;
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
        if let Ok(resolved) = self.return_mut(id) {
            resolved.resolution = Some(resolution);
            if found.state == ReturnState::Approved {
                // Resolved without the item: it goes back nowhere.
                resolved.send_to.clear();
            }
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
            storefront_refund_id: None,
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
    /// discounts and taxes collected (when the storefront said), supplier costs (the goods
    /// apart from the supplier's shipping; a supplier order after the first for the same
    /// lines is a re-shipment), the fees by `fees`, refunds, and lost disputes with their fee. A supplier
    /// cost in another currency is converted with the rate recorded on its supplier order
    /// ([`LedgerEntry::converted`]), and left out when none was recorded.
    pub fn ledger(&self, fees: &Fees) -> Result<Vec<LedgerEntry>, LedgerError> {
        let mut entries = Vec::new();
        let entry = |kind: LedgerKind,
                     amount: Money,
                     at: OffsetDateTime,
                     rate: Option<crate::ledger::Rate>|
         -> Result<LedgerEntry, LedgerError> {
            match rate {
                Some(rate) => LedgerEntry::converted(self.id, kind, amount, rate, at),
                None => LedgerEntry::new(self.id, kind, amount, at),
            }
        };
        let mut push = |entry: LedgerEntry| -> Result<(), LedgerError> {
            if entry.amount.minor != 0 {
                entries.push(entry);
            }
            Ok(())
        };
        let cancelled = matches!(self.state, OrderState::Cancelled | OrderState::Rejected);
        if !cancelled && !matches!(self.payment, PaymentState::Pending | PaymentState::Voided) {
            push(entry(LedgerKind::Sale, self.subtotal, self.placed_at, None)?)?;
            push(entry(
                LedgerKind::ShippingCharged,
                self.shipping_total,
                self.placed_at,
                None,
            )?)?;
            let zero = Money::zero(self.currency);
            push(entry(
                LedgerKind::Discount,
                self.discount_total.unwrap_or(zero),
                self.placed_at,
                None,
            )?)?;
            push(entry(
                LedgerKind::TaxCollected,
                self.tax_total.unwrap_or(zero),
                self.placed_at,
                None,
            )?)?;
            let paid = self.paid_total();
            let payment_fee = share(paid, fees.payment_bp)?
                .checked_add(Money::new(fees.payment_fixed_minor.max(0), self.currency))?;
            push(entry(LedgerKind::PaymentFee, payment_fee, self.placed_at, None)?)?;
            push(entry(
                LedgerKind::PlatformFee,
                share(paid, fees.platform_bp)?,
                self.placed_at,
                None,
            )?)?;
        }
        let mut lines_seen: Vec<LineItemId> = Vec::new();
        for supplier_order in &self.supplier_orders {
            if !supplier_order.is_live() && supplier_order.actual_cost.is_none() {
                continue;
            }
            let cost = supplier_order.actual_cost.unwrap_or(supplier_order.expected_cost);
            let rate = match supplier_order.cost_rate {
                _ if cost.currency == self.currency => None,
                Some(used) if used.rate.from == cost.currency && used.rate.to == self.currency => Some(used.rate),
                _ => continue,
            };
            // A replacement or an exchange names the returned lines, and is a re-shipment even
            // when the supplier order that first brought them no longer counts.
            let reshipment = self.after_sale.is_return_shipment(supplier_order.id)
                || supplier_order
                    .lines
                    .iter()
                    .all(|l| lines_seen.contains(&l.line_item_id));
            lines_seen.extend(supplier_order.lines.iter().map(|l| l.line_item_id));
            let kind = if reshipment {
                LedgerKind::ReshipmentCost
            } else {
                LedgerKind::SupplierCost
            };
            let parts = split_supplier_cost(kind, supplier_order, cost);
            match (rate, parts.as_slice()) {
                // Converted in parts, the parts must still add up to the converted whole:
                // the goods are converted, the shipping is what is left of the whole.
                (Some(rate), [(goods_kind, goods), (shipping_kind, shipping)]) => {
                    let whole = rate.convert(cost)?;
                    let goods_entry =
                        LedgerEntry::converted(self.id, *goods_kind, *goods, rate, supplier_order.created_at)?;
                    let mut shipping_entry = LedgerEntry::new(
                        self.id,
                        *shipping_kind,
                        whole.checked_sub(goods_entry.amount)?,
                        supplier_order.created_at,
                    )?;
                    shipping_entry.converted_from = Some((*shipping, rate));
                    push(goods_entry)?;
                    push(shipping_entry)?;
                }
                _ => {
                    for (kind, cost) in parts {
                        push(entry(kind, cost, supplier_order.created_at, rate)?)?;
                    }
                }
            }
        }
        for refund in &self.after_sale.refunds {
            push(entry(LedgerKind::Refund, refund.amount, refund.at, None)?)?;
        }
        for dispute in &self.after_sale.disputes {
            if dispute.state == DisputeState::Lost {
                let at = dispute.closed_at.unwrap_or(dispute.opened_at);
                push(entry(LedgerKind::Chargeback, dispute.amount, at, None)?)?;
                push(entry(
                    LedgerKind::ChargebackFee,
                    Money::new(fees.chargeback_fee_minor.max(0), self.currency),
                    at,
                    None,
                )?)?;
            }
        }
        // What suppliers gave back on accepted claims; in another currency, converted at the
        // rate recorded on the claim's supplier order (left out without one, like its cost).
        for claim in &self.after_sale.claims {
            let (ClaimState::Accepted, Some(recovered)) = (claim.state, claim.recovered) else {
                continue;
            };
            let rate = match self
                .supplier_orders
                .iter()
                .find(|so| so.id == claim.supplier_order_id)
                .and_then(|so| so.cost_rate)
            {
                _ if recovered.currency == self.currency => None,
                Some(used) if used.rate.from == recovered.currency && used.rate.to == self.currency => Some(used.rate),
                _ => continue,
            };
            let at = claim.closed_at.unwrap_or(claim.opened_at);
            push(entry(LedgerKind::SupplierRefund, recovered, at, rate)?)?;
        }
        Ok(entries)
    }
}

/// A supplier order's cost as ledger entries: a first shipment's cost is split into the
/// goods (`supplier_cost`: Σ unit cost × quantity of its lines) and the supplier's shipping
/// (`supplier_shipping`: the rest, when positive); the two add up to `cost`. A re-shipment,
/// or lines without costs or whose costs cannot be summed in `cost`'s currency, stay one
/// entry of `kind`.
pub fn split_supplier_cost(
    kind: LedgerKind,
    supplier_order: &crate::order::SupplierOrder,
    cost: Money,
) -> Vec<(LedgerKind, Money)> {
    if kind != LedgerKind::SupplierCost {
        return vec![(kind, cost)];
    }
    let goods = supplier_order
        .lines
        .iter()
        .try_fold(Money::zero(cost.currency), |sum, line| {
            sum.checked_add(line.unit_cost.checked_mul(line.quantity)?)
        });
    match goods {
        Ok(goods) if goods.minor > 0 && goods.minor < cost.minor => vec![
            (LedgerKind::SupplierCost, goods),
            (
                LedgerKind::SupplierShipping,
                Money::new(cost.minor - goods.minor, cost.currency),
            ),
        ],
        _ => vec![(kind, cost)],
    }
}

/// Whether a resolution sends the customer something (a new supplier order).
fn sends(resolution: Resolution) -> bool {
    matches!(resolution, Resolution::Replacement | Resolution::Exchange)
}

/// Reasons a supplier may credit without the item back (its policy permitting).
fn is_supplier_fault(reason: ReturnReason) -> bool {
    matches!(
        reason,
        ReturnReason::Damaged | ReturnReason::WrongItem | ReturnReason::NotAsDescribed
    )
}

/// Adds `units` to the list, merging with the same line.
fn add_units(list: &mut Vec<LineUnits>, units: LineUnits) {
    match list.iter_mut().find(|l| l.line_item_id == units.line_item_id) {
        Some(found) => found.quantity += units.quantity,
        None => list.push(units),
    }
}

impl Order {
    /// The supplier order that brought a line to the customer: the newest one holding the
    /// line with a delivered parcel, else the newest live one holding it.
    pub fn supplier_order_of_line(&self, line_item_id: LineItemId) -> Option<&SupplierOrder> {
        let holding = || {
            self.supplier_orders
                .iter()
                .rev()
                .filter(move |so| so.lines.iter().any(|l| l.line_item_id == line_item_id))
        };
        holding()
            .find(|so| so.shipments.iter().any(|p| p.delivered_at.is_some()))
            .or_else(|| holding().find(|so| so.is_live()))
    }

    /// Units grouped by the supplier order that brought them; units no supplier order
    /// brought are left out.
    fn units_by_supplier_order(&self, lines: &[LineUnits]) -> Vec<(&SupplierOrder, Vec<LineUnits>)> {
        let mut groups: Vec<(&SupplierOrder, Vec<LineUnits>)> = Vec::new();
        for units in lines {
            let Some(so) = self.supplier_order_of_line(units.line_item_id) else {
                continue;
            };
            match groups.iter_mut().find(|(g, _)| g.id == so.id) {
                Some((_, list)) => add_units(list, *units),
                None => groups.push((so, vec![*units])),
            }
        }
        groups
    }

    /// Where units of the order go back to: the return address of the supplier that brought
    /// them when its policy takes returns and gives an address, else the store's own address.
    pub fn return_destinations(&self, lines: &[LineUnits], terms: &ReturnTerms) -> Vec<ReturnDestination> {
        let mut destinations: Vec<ReturnDestination> = Vec::new();
        let mut place = |supplier_id: Option<SupplierId>, address: Option<Address>, units: LineUnits| match destinations
            .iter_mut()
            .find(|d| d.supplier_id == supplier_id)
        {
            Some(found) => add_units(&mut found.lines, units),
            None => destinations.push(ReturnDestination {
                lines: vec![units],
                supplier_id,
                address,
            }),
        };
        for units in lines {
            let supplier_address = self.supplier_order_of_line(units.line_item_id).and_then(|so| {
                let policy = terms.policy(so.supplier_id);
                policy
                    .accepts_returns
                    .then_some(policy.return_address)
                    .flatten()
                    .map(|address| (so.supplier_id, address))
            });
            match supplier_address {
                Some((supplier_id, address)) => place(Some(supplier_id), Some(address), *units),
                None => place(None, terms.store_address.clone(), *units),
            }
        }
        destinations
    }

    /// Records where an approved return's units go back to (on approval, and again when the
    /// customer is asked to send them, so a policy changed in between is followed).
    pub fn direct_return(&mut self, id: ReturnId, terms: &ReturnTerms) -> Result<(), OrderError> {
        let lines = self
            .after_sale
            .returns
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.lines.clone())
            .ok_or(OrderError::UnknownReturn(id))?;
        let destinations = self.return_destinations(&lines, terms);
        self.return_mut(id)?.send_to = destinations;
        Ok(())
    }

    /// Units of a return's line already in a claim that was not rejected.
    fn claimed_units(&self, return_id: ReturnId, line_item_id: LineItemId) -> u32 {
        self.after_sale
            .claims
            .iter()
            .filter(|c| c.return_id == return_id && c.state != ClaimState::Rejected)
            .flat_map(|c| c.lines.iter())
            .filter(|l| l.line_item_id == line_item_id)
            .map(|l| l.quantity)
            .sum()
    }

    /// The claims a return about to be resolved gives under the suppliers' policies, per
    /// supplier order: a received item, when the supplier takes returns and refunds them; a
    /// damaged, wrong or not-as-described item the customer keeps (resolved from
    /// `approved`), when the supplier credits without the item. Either only within the
    /// policy's window after the supplier order's delivery (not judged when the delivery
    /// moment is unknown), and only for units not claimed yet.
    pub fn claims_due(
        &self,
        return_id: ReturnId,
        terms: &ReturnTerms,
    ) -> Vec<(SupplierOrderId, ClaimBasis, Vec<LineUnits>)> {
        let Some(found) = self.after_sale.returns.iter().find(|r| r.id == return_id) else {
            return Vec::new();
        };
        let basis = match found.state {
            ReturnState::Received => ClaimBasis::ReturnedItem,
            ReturnState::Approved => ClaimBasis::WithoutItem,
            _ => return Vec::new(),
        };
        let mut due = Vec::new();
        for (supplier_order_id, lines) in self.unclaimed_units(return_id) {
            let Some(so) = self.supplier_orders.iter().find(|so| so.id == supplier_order_id) else {
                continue;
            };
            let policy = terms.policy(so.supplier_id);
            let allowed = match basis {
                ClaimBasis::ReturnedItem => policy.accepts_returns && policy.refunds_returned_items,
                ClaimBasis::WithoutItem => policy.credits_without_return && is_supplier_fault(found.reason),
            };
            let delivered = so.shipments.iter().filter_map(|p| p.delivered_at).max();
            let window = time::Duration::days(i64::from(policy.window_days));
            let in_window = delivered.is_none_or(|at| found.requested_at <= at + window);
            if allowed && in_window {
                due.push((supplier_order_id, basis, lines));
            }
        }
        due
    }

    /// Units of an approved (or further) return not claimed yet, by the supplier order that
    /// brought them.
    pub fn unclaimed_units(&self, return_id: ReturnId) -> Vec<(SupplierOrderId, Vec<LineUnits>)> {
        let Some(found) = self.after_sale.returns.iter().find(|r| r.id == return_id) else {
            return Vec::new();
        };
        if matches!(found.state, ReturnState::Requested | ReturnState::Rejected) {
            return Vec::new();
        }
        self.units_by_supplier_order(&found.lines)
            .into_iter()
            .filter_map(|(so, units)| {
                let lines: Vec<LineUnits> = units
                    .into_iter()
                    .filter_map(|u| {
                        let in_order = so
                            .lines
                            .iter()
                            .filter(|l| l.line_item_id == u.line_item_id)
                            .map(|l| l.quantity)
                            .sum::<u32>();
                        let left = u
                            .quantity
                            .min(in_order)
                            .saturating_sub(self.claimed_units(return_id, u.line_item_id));
                        (left > 0).then_some(LineUnits {
                            line_item_id: u.line_item_id,
                            quantity: left,
                        })
                    })
                    .collect();
                (!lines.is_empty()).then_some((so.id, lines))
            })
            .collect()
    }

    /// Resolves a return ([`Self::resolve_return`]) and opens the claims its suppliers'
    /// policies allow ([`Self::claims_due`]); a claim that cannot be valued is not opened.
    pub fn resolve_return_and_claim(
        &mut self,
        id: ReturnId,
        resolution: Resolution,
        amount: Option<Money>,
        terms: &ReturnTerms,
        journal: &mut Journal,
    ) -> Result<(Option<RefundId>, Vec<ClaimId>), OrderError> {
        if sends(resolution) {
            // Refused the same way as `resolve_return` refuses it.
            self.resolve_return(id, resolution, amount, journal)?;
        }
        self.settle_and_claim(id, resolution, amount, terms, journal)
    }

    fn settle_and_claim(
        &mut self,
        id: ReturnId,
        resolution: Resolution,
        amount: Option<Money>,
        terms: &ReturnTerms,
        journal: &mut Journal,
    ) -> Result<(Option<RefundId>, Vec<ClaimId>), OrderError> {
        let due = self.claims_due(id, terms);
        let refund = self.settle_return(id, resolution, amount, journal)?;
        let mut claims = Vec::new();
        for (supplier_order_id, basis, lines) in due {
            // A claim that cannot be valued (units that cost nothing, the seller's own stock;
            // costs in mixed currencies) is left to the seller; the return is resolved anyway.
            if let Ok(claim) = self.open_claim(id, supplier_order_id, lines, basis, journal) {
                claims.push(claim);
            }
        }
        Ok((refund, claims))
    }

    /// Opens a claim to the supplier of `supplier_order_id` for units of a return that it
    /// brought (all of them not claimed yet when `lines` is empty). The claim is worth what
    /// the units cost at the supplier (the supplier order's cost per line). The return must
    /// have been approved; units already in a claim of the same return that was not rejected
    /// cannot be claimed again.
    pub fn open_claim(
        &mut self,
        return_id: ReturnId,
        supplier_order_id: SupplierOrderId,
        lines: Vec<LineUnits>,
        basis: ClaimBasis,
        journal: &mut Journal,
    ) -> Result<ClaimId, OrderError> {
        let found = self
            .after_sale
            .returns
            .iter()
            .find(|r| r.id == return_id)
            .ok_or(OrderError::UnknownReturn(return_id))?;
        if matches!(found.state, ReturnState::Requested | ReturnState::Rejected) {
            return Err(OrderError::Transition(crate::state::TransitionError {
                machine: "return",
                from: found.state.to_string(),
                event: "claim".into(),
            }));
        }
        let so = self
            .supplier_orders
            .iter()
            .find(|so| so.id == supplier_order_id)
            .ok_or_else(|| invalid("supplier_order_id", "is not a supplier order of this order"))?;
        let brought = |line_item_id: LineItemId| {
            self.supplier_order_of_line(line_item_id)
                .is_some_and(|of| of.id == supplier_order_id)
        };
        let returned = |line_item_id: LineItemId| {
            found
                .lines
                .iter()
                .filter(|l| l.line_item_id == line_item_id)
                .map(|l| l.quantity)
                .sum::<u32>()
        };
        let in_supplier_order = |line_item_id: LineItemId| {
            so.lines
                .iter()
                .filter(|l| l.line_item_id == line_item_id)
                .map(|l| l.quantity)
                .sum::<u32>()
        };
        let left = |line_item_id: LineItemId| {
            returned(line_item_id)
                .min(in_supplier_order(line_item_id))
                .saturating_sub(self.claimed_units(return_id, line_item_id))
        };
        let lines = if lines.is_empty() {
            let all: Vec<LineUnits> = found
                .lines
                .iter()
                .filter(|l| brought(l.line_item_id))
                .map(|l| LineUnits {
                    line_item_id: l.line_item_id,
                    quantity: left(l.line_item_id),
                })
                .filter(|l| l.quantity > 0)
                .collect();
            if all.is_empty() {
                return Err(invalid(
                    "lines",
                    "no unit of this return from this supplier order is left to claim",
                ));
            }
            all
        } else {
            for (index, units) in lines.iter().enumerate() {
                let field = format!("lines[{index}]");
                if returned(units.line_item_id) == 0 {
                    return Err(invalid(format!("{field}.line_item_id"), "is not a line of this return"));
                }
                if in_supplier_order(units.line_item_id) == 0 || !brought(units.line_item_id) {
                    return Err(invalid(
                        format!("{field}.line_item_id"),
                        "was not shipped by this supplier order",
                    ));
                }
                if lines[..index].iter().any(|l| l.line_item_id == units.line_item_id) {
                    return Err(invalid(format!("{field}.line_item_id"), "is named twice"));
                }
                if units.quantity == 0 {
                    return Err(invalid(format!("{field}.quantity"), "must be at least 1"));
                }
                let left = left(units.line_item_id);
                if units.quantity > left {
                    return Err(invalid(
                        format!("{field}.quantity"),
                        format!("only {left} returned unit(s) of this line are left to claim"),
                    ));
                }
            }
            lines
        };
        // The supplier's cost of the units, in the supplier order's currency.
        let currency = so.actual_cost.unwrap_or(so.expected_cost).currency;
        let mut claimed = Money::zero(currency);
        for units in &lines {
            let line = so
                .lines
                .iter()
                .find(|l| l.line_item_id == units.line_item_id)
                .ok_or_else(|| invalid("lines", "was not shipped by this supplier order"))?;
            if line.unit_cost.currency != currency {
                return Err(invalid(
                    "lines",
                    format!("the supplier order's costs are not all in {currency}"),
                ));
            }
            claimed = line
                .unit_cost
                .checked_mul(units.quantity)
                .and_then(|cost| claimed.checked_add(cost))
                .map_err(|err| ledger_invalid("claimed", err.into()))?;
        }
        if claimed.minor <= 0 {
            return Err(invalid("claimed", "these units cost nothing at the supplier"));
        }
        let id = ClaimId::new();
        let units: u32 = lines.iter().map(|l| l.quantity).sum();
        let supplier = so.supplier_name.clone();
        self.after_sale.claims.push(SupplierClaim {
            id,
            supplier_order_id,
            supplier_id: so.supplier_id,
            return_id,
            lines,
            basis,
            claimed,
            state: ClaimState::Open,
            recovered: None,
            opened_at: journal.at,
            closed_at: None,
        });
        self.updated_at = journal.at;
        journal.record(
            "claim.opened",
            format!("Claim to {supplier} opened: {units} unit(s), {claimed} ({basis})"),
            None,
            Some(ClaimState::Open.to_string()),
        );
        Ok(id)
    }

    /// Moves a claim: submitted to the supplier, accepted with what it gave back
    /// (`recovered`, more than zero and at most what was claimed, in the claim's currency),
    /// or rejected.
    pub fn move_claim(
        &mut self,
        id: ClaimId,
        event: ClaimEvent,
        recovered: Option<Money>,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        let at = journal.at;
        let found = self
            .after_sale
            .claims
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or(OrderError::UnknownClaim(id))?;
        let from = found.state;
        let to = next_claim_state(from, event)?;
        let recovered = match (event, recovered) {
            (ClaimEvent::Accept, None) => {
                return Err(invalid("recovered", "say what the supplier gave back"));
            }
            (ClaimEvent::Accept, Some(amount)) => {
                if amount.currency != found.claimed.currency {
                    return Err(invalid(
                        "recovered",
                        format!("must be in {}, the claim's currency", found.claimed.currency),
                    ));
                }
                if amount.minor <= 0 {
                    return Err(invalid("recovered", "must be more than zero"));
                }
                if amount.minor > found.claimed.minor {
                    return Err(invalid(
                        "recovered",
                        format!("must be at most the {} claimed", found.claimed),
                    ));
                }
                Some(amount)
            }
            (_, Some(_)) => {
                return Err(invalid("recovered", "only an accepted claim recovers money"));
            }
            (_, None) => None,
        };
        found.state = to;
        found.recovered = recovered;
        if matches!(to, ClaimState::Accepted | ClaimState::Rejected) {
            found.closed_at = Some(at);
        }
        let message = match recovered {
            Some(amount) => format!("Claim accepted: {amount} of {} recovered", found.claimed),
            None => format!("Claim {to}"),
        };
        self.updated_at = at;
        journal.record(
            &format!("claim.{event}"),
            message,
            Some(from.to_string()),
            Some(to.to_string()),
        );
        Ok(())
    }
}

impl Order {
    /// The lines a return resolved by replacement or exchange sends, to be routed like an
    /// order's lines ([`crate::routing::route_lines`]): each returned line with the returned
    /// units, of its own variant (replacement) or of `variant_id` (exchange). It checks what
    /// resolving checks, so a refused resolution routes nothing; `variant_id` is required for
    /// an exchange and refused for every other resolution. Empty for resolutions that send
    /// nothing.
    pub fn replacement_lines(
        &self,
        id: ReturnId,
        resolution: Resolution,
        variant_id: Option<VariantId>,
    ) -> Result<Vec<LineItem>, OrderError> {
        match (resolution, variant_id) {
            (Resolution::Exchange, None) => return Err(invalid("variant_id", "name the variant to send instead")),
            (Resolution::Exchange, Some(_)) | (_, None) => {}
            (_, Some(_)) => return Err(invalid("variant_id", "only an exchange sends another variant")),
        }
        let found = self.resolvable_return(id, resolution)?;
        if !sends(resolution) {
            return Ok(Vec::new());
        }
        found
            .lines
            .iter()
            .map(|units| {
                let line = self
                    .lines
                    .iter()
                    .find(|l| l.id == units.line_item_id)
                    .ok_or_else(|| invalid("lines", "a returned line is not a line of this order"))?;
                let variant = variant_id.or(line.variant_id).ok_or_else(|| {
                    invalid(
                        "resolution",
                        format!(
                            "line {} maps to no catalogue variant: exchange it for one instead",
                            line.sku
                        ),
                    )
                })?;
                Ok(LineItem {
                    variant_id: Some(variant),
                    quantity: units.quantity,
                    fulfillable_quantity: None,
                    requires_shipping: true,
                    ..line.clone()
                })
            })
            .collect()
    }

    /// Resolves a return by replacement or exchange: `supplier_orders` (what routing planned
    /// for [`Self::replacement_lines`]) join the order, linked to the return
    /// ([`AfterSale::replacements`]), and the claims the suppliers' policies allow are
    /// opened. Nothing is refunded and the customer is not charged again; the cost is a
    /// re-shipment in the ledger.
    ///
    /// The order's state does not change: a delivered (or completed) order stays so while
    /// the new parcel travels. Going back to `in_fulfillment` would take the order's delivery
    /// date, and with it the vendor's earnings and the delivery metrics, away until the
    /// replacement arrives; the supplier order and its parcels follow their own machines
    /// (placed, tracked, closed when delivered) as any other.
    pub fn resolve_return_by_sending(
        &mut self,
        id: ReturnId,
        resolution: Resolution,
        supplier_orders: Vec<SupplierOrder>,
        terms: &ReturnTerms,
        journal: &mut Journal,
    ) -> Result<Vec<ClaimId>, OrderError> {
        if !sends(resolution) {
            return Err(invalid(
                "resolution",
                "only a replacement or an exchange sends a supplier order",
            ));
        }
        let found = self.resolvable_return(id, resolution)?;
        if supplier_orders.is_empty() {
            return Err(invalid("resolution", "nothing was routed to send"));
        }
        let foreign = supplier_orders
            .iter()
            .flat_map(|so| &so.lines)
            .any(|l| !found.lines.iter().any(|u| u.line_item_id == l.line_item_id));
        if foreign {
            return Err(invalid("lines", "a replacement sends only the returned lines"));
        }
        let (_, claims) = self.settle_and_claim(id, resolution, None, terms, journal)?;
        let count = supplier_orders.len();
        for supplier_order in supplier_orders {
            self.after_sale.replacements.push(ReturnShipment {
                return_id: id,
                supplier_order_id: supplier_order.id,
            });
            self.add_supplier_order(supplier_order, journal);
        }
        journal.record(
            "return.sent",
            format!("{resolution}: {count} supplier order(s) created for the returned units"),
            None,
            None,
        );
        Ok(claims)
    }

    /// When the whole order reached the customer: its last parcel's delivery, once the
    /// order is delivered (or completed). The parcels of a replacement or an exchange come
    /// later and do not count: the order was delivered before its return, and its earnings'
    /// holding period and shipping time keep that date.
    pub fn delivered_at(&self) -> Option<OffsetDateTime> {
        if !matches!(self.state, OrderState::Delivered | OrderState::Completed) {
            return None;
        }
        self.supplier_orders
            .iter()
            .filter(|so| !self.after_sale.is_return_shipment(so.id))
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

    /// Store rules of a `window_days` window approving `reasons`, refunding returnless up
    /// to `up_to` minor units of USD when given.
    fn rules(window_days: u32, reasons: &[ReturnReason], up_to: Option<i64>) -> ReturnRules {
        ReturnRules {
            window_days,
            auto_approve_reasons: reasons.to_vec(),
            returnless_refund_up_to_minor: up_to,
        }
    }

    /// What a request under the store's rules gave.
    type Asked = Result<(ReturnId, Option<RefundId>), OrderError>;

    /// [`two_suppliers`] (delivered on 2026-12-02) asking at `at` under `rules` for one unit
    /// of line B (sold 10.00) as damaged.
    fn ask_under(rules: &ReturnRules, at: OffsetDateTime) -> (Order, Journal, Asked) {
        let (mut order, terms, _, _) = two_suppliers();
        let mut j = Journal::new(order.id, Actor::Customer, at);
        let asked = order.request_return_under_rules(
            vec![units(&order, 1, 1)],
            ReturnReason::Damaged,
            None,
            vec![],
            rules,
            usd(0).currency,
            &terms,
            &mut j,
        );
        (order, j, asked)
    }

    #[test]
    fn the_return_window_accepts_its_last_day_and_refuses_the_next() {
        let delivered_on = datetime!(2026-12-02 12:00 UTC);
        let thirty = rules(30, &[], None);
        // The 30th day after delivery, late in the evening: still inside.
        let (order, j, asked) = ask_under(&thirty, datetime!(2027-01-01 23:59 UTC));
        assert_eq!(order.delivered_at(), Some(delivered_on));
        let (id, refund) = asked.expect("the last day is accepted");
        assert_eq!(refund, None);
        assert_eq!(order.after_sale.returns[0].id, id);
        assert_eq!(order.after_sale.returns[0].state, ReturnState::Requested);
        assert_eq!(j.events.len(), 1, "{:?}", j.events);
        // The day after: refused by field, saying when the window ended, nothing changed.
        let (order, j, asked) = ask_under(&thirty, datetime!(2027-01-02 00:00 UTC));
        let refused = asked.expect_err("the day after is refused");
        assert!(
            matches!(&refused, OrderError::Invalid { field, reason }
                if field == "lines" && reason.contains("ended on 2027-01-01")),
            "{refused:?}"
        );
        assert!(order.after_sale.returns.is_empty());
        assert!(j.events.is_empty());
        // A window of 0 days: the store takes no returns at all.
        let (order, _, asked) = ask_under(&rules(0, &[ReturnReason::Damaged], None), delivered_on);
        let refused = asked.expect_err("no returns");
        assert!(
            matches!(&refused, OrderError::Invalid { field, reason } if field == "lines" && reason.contains("does not take returns")),
            "{refused:?}"
        );
        assert!(order.after_sale.returns.is_empty());
    }

    #[test]
    fn a_reason_the_store_approves_is_approved_by_its_rule() {
        let approving = rules(30, &[ReturnReason::Damaged, ReturnReason::WrongItem], None);
        let (order, j, asked) = ask_under(&approving, AT);
        let (_, refund) = asked.expect("approved");
        assert_eq!(refund, None);
        let made = &order.after_sale.returns[0];
        assert_eq!(made.state, ReturnState::Approved);
        assert!(!made.send_to.is_empty(), "directed by the suppliers' policies");
        assert!(order.after_sale.refunds.is_empty());
        let kinds: Vec<_> = j.events.iter().map(|e| (e.kind.as_str(), e.actor.clone())).collect();
        assert_eq!(
            kinds,
            vec![
                ("return.requested", Actor::Customer),
                ("return.approve", Actor::Rule(AUTO_APPROVE_RULE.into())),
            ]
        );
        assert!(j.events[1].message.contains("damaged"), "{}", j.events[1].message);

        // A reason the store does not approve waits for the seller.
        let (mut order, terms, _, _) = two_suppliers();
        let mut j = journal(&order);
        order
            .request_return_under_rules(
                vec![units(&order, 1, 1)],
                ReturnReason::ChangedMind,
                None,
                vec![],
                &approving,
                usd(0).currency,
                &terms,
                &mut j,
            )
            .expect("requested");
        assert_eq!(order.after_sale.returns[0].state, ReturnState::Requested);
    }

    #[test]
    fn a_cheap_approved_return_is_refunded_without_the_item_and_a_dearer_one_only_approved() {
        // Line B's unit sold for 10.00: at the limit, refunded returnless.
        let (order, j, asked) = ask_under(&rules(30, &[ReturnReason::Damaged], Some(1_000)), AT);
        let (id, refund) = asked.expect("refunded");
        let refund = refund.expect("a refund");
        let made = &order.after_sale.returns[0];
        assert_eq!((made.id, made.state), (id, ReturnState::Resolved));
        assert_eq!(made.resolution, Some(Resolution::ReturnlessRefund));
        assert!(made.send_to.is_empty(), "the item stays with the customer");
        assert_eq!(order.after_sale.refunds.len(), 1);
        assert_eq!(order.after_sale.refunds[0].id, refund);
        assert_eq!(order.after_sale.refunds[0].amount, usd(1_000));
        assert!(
            j.events
                .iter()
                .any(|e| e.actor == Actor::Rule(RETURNLESS_REFUND_RULE.into()) && e.kind == "return.resolve"),
            "{:?}",
            j.events
        );

        // Worth more than the limit: approved, the item to come back, nothing refunded.
        let (order, _, asked) = ask_under(&rules(30, &[ReturnReason::Damaged], Some(999)), AT);
        assert_eq!(asked.expect("approved").1, None);
        assert_eq!(order.after_sale.returns[0].state, ReturnState::Approved);
        assert!(order.after_sale.refunds.is_empty());

        // A reason not approved by the store is never refunded by the rule.
        let (mut order, terms, _, _) = two_suppliers();
        let mut j = journal(&order);
        let (_, refund) = order
            .request_return_under_rules(
                vec![units(&order, 1, 1)],
                ReturnReason::ChangedMind,
                None,
                vec![],
                &rules(30, &[ReturnReason::Damaged], Some(100_000)),
                usd(0).currency,
                &terms,
                &mut j,
            )
            .expect("requested");
        assert_eq!(refund, None);
        assert!(order.after_sale.refunds.is_empty());
    }

    #[test]
    fn a_cost_in_another_currency_is_converted_at_its_recorded_rate_or_left_out() {
        use crate::ledger::{ExchangeRate, Rate, RateUsed};
        let eur = crate::money::Currency::parse("EUR").expect("EUR");
        let mut order = delivered();
        let mut so = crate::order::tests::supplier_order(&order, "Euro supplier");
        so.expected_cost = Money::new(1_000, eur);
        let so_id = so.id;
        let before = order.clone();
        order.supplier_orders.push(so);
        let fees = Fees::default();
        let costs = |order: &Order| -> Vec<LedgerEntry> {
            let entries = order.ledger(&fees).expect("ledger");
            entries
                .into_iter()
                .filter(|e| e.converted_from.is_some() || e.kind == LedgerKind::SupplierCost)
                .collect()
        };
        // A new supplier order in euros needs a rate; without one its cost stays out.
        assert_eq!(order.costs_to_rate(Some(&before)), [(so_id, eur)]);
        let mut j = journal(&order);
        order.record_cost_rate(so_id, None, &mut j).expect("no rate");
        assert!(costs(&order).is_empty());
        assert!(j.events[0].message.contains("left out"), "{:?}", j.events);
        // With the table's EUR→USD 1.0005: 10.00 EUR is 10.005 USD, rounded half away from zero.
        let row = ExchangeRate {
            from: eur,
            to: order.currency,
            per_million: 1_000_500,
            effective_on: time::macros::date!(2026 - 12 - 01),
            set_at: AT,
            set_by: "operator".into(),
        };
        order
            .record_cost_rate(so_id, Some(row.used(AT)), &mut j)
            .expect("a rate");
        let entries = costs(&order);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].amount, usd(1_001));
        let (charged, rate) = entries[0].converted_from.expect("converted");
        assert_eq!((charged, rate.per_million), (Money::new(1_000, eur), 1_000_500));
        // The recorded rate stays: a later change that leaves the cost alone asks for none.
        let recorded = order.clone();
        assert!(order.costs_to_rate(Some(&recorded)).is_empty());
        // Recording the actual cost asks for the rate in effect then...
        let pos = so_pos(&order, so_id);
        order.supplier_orders[pos].actual_cost = Some(Money::new(1_200, eur));
        assert_eq!(order.costs_to_rate(Some(&recorded)), [(so_id, eur)]);
        // ...unless the change recorded the rate the seller was charged at.
        order.supplier_orders[pos].cost_rate = Some(RateUsed {
            rate: Rate {
                from: eur,
                to: order.currency,
                per_million: 1_100_000,
                as_of: AT,
            },
            effective_on: AT.date(),
            charged: true,
        });
        assert!(order.costs_to_rate(Some(&recorded)).is_empty());
        assert_eq!(costs(&order)[0].amount, usd(1_320));
        // A rate of another pair is refused.
        let wrong = ExchangeRate {
            from: order.currency,
            to: eur,
            ..row
        };
        assert!(order.record_cost_rate(so_id, Some(wrong.used(AT)), &mut j).is_err());
    }

    fn so_pos(order: &Order, id: crate::ids::SupplierOrderId) -> usize {
        order.supplier_orders.iter().position(|so| so.id == id).expect("held")
    }

    fn base_len(order: &Order, fees: &Fees) -> usize {
        let mut plain = order.clone();
        plain.after_sale.disputes.clear();
        plain.ledger(fees).expect("ledger").len()
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, crate::money::Currency::parse("USD").expect("USD"))
    }

    fn place(city: &str) -> Address {
        Address {
            first_name: "Returns".into(),
            last_name: "Desk".into(),
            address1: format!("1 {city} Road"),
            city: city.into(),
            postal_code: "10001".into(),
            country_code: "US".into(),
            ..Address::default()
        }
    }

    /// Adds a supplier order of `name` that brought these (line index, units, unit cost)
    /// and was delivered two days before `AT`; its supplier's id.
    fn shipped_by(order: &mut Order, name: &str, lines: &[(usize, u32, i64)]) -> SupplierId {
        use crate::ids::{OfferId, ShipmentId, VariantId};
        let mut so = crate::order::tests::supplier_order(order, name);
        so.lines = lines
            .iter()
            .map(|(index, quantity, cost)| crate::order::SupplierOrderLine {
                line_item_id: order.lines[*index].id,
                offer_id: OfferId::new(),
                variant_id: VariantId::new(),
                supplier_sku: format!("{name}-{index}"),
                product_url: None,
                title: order.lines[*index].title.clone(),
                variant_title: None,
                quantity: *quantity,
                unit_cost: usd(*cost),
                supplier_product_id: None,
                supplier_variant_id: None,
            })
            .collect();
        so.expected_cost = usd(lines.iter().map(|(_, q, c)| i64::from(*q) * c).sum());
        let mut parcel: crate::order::Shipment = serde_json::from_value(serde_json::json!({
            "id": ShipmentId::new(),
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "state": "delivered",
            "events": [],
        }))
        .expect("a parcel");
        parcel.delivered_at = Some(AT - time::Duration::days(2));
        so.shipments.push(parcel);
        let supplier_id = so.supplier_id;
        order.supplier_orders.push(so);
        supplier_id
    }

    /// [`delivered`], line A (2 units) from supplier "A" at 8.00 a unit and line B from
    /// supplier "B" at 3.00; A takes returns at its own address and refunds them, B takes
    /// none back but credits damaged items on photos.
    fn two_suppliers() -> (Order, ReturnTerms, SupplierId, SupplierId) {
        let mut order = delivered();
        let a = shipped_by(&mut order, "A", &[(0, 2, 800)]);
        let b = shipped_by(&mut order, "B", &[(1, 1, 300)]);
        let terms = ReturnTerms {
            policies: vec![
                (
                    a,
                    ReturnPolicy {
                        accepts_returns: true,
                        return_address: Some(place("Supplier")),
                        refunds_returned_items: true,
                        ..ReturnPolicy::default()
                    },
                ),
                (
                    b,
                    ReturnPolicy {
                        credits_without_return: true,
                        ..ReturnPolicy::default()
                    },
                ),
            ],
            store_address: Some(place("Store")),
        };
        (order, terms, a, b)
    }

    #[test]
    fn the_policy_decides_where_a_return_goes() {
        let (mut order, mut terms, a, _) = two_suppliers();
        let mut j = journal(&order);
        let both = vec![units(&order, 0, 1), units(&order, 1, 1)];
        let destinations = order.return_destinations(&both, &terms);
        assert_eq!(destinations.len(), 2, "{destinations:?}");
        assert_eq!(destinations[0].supplier_id, Some(a));
        assert_eq!(destinations[0].address, Some(place("Supplier")));
        assert_eq!(destinations[0].lines, [units(&order, 0, 1)]);
        // B takes nothing back: its unit goes to the store.
        assert_eq!(destinations[1].supplier_id, None);
        assert_eq!(destinations[1].address, Some(place("Store")));
        // Once approved, the return knows where it goes; resolved without the item, nowhere.
        let id = order
            .request_return(both.clone(), ReturnReason::Damaged, None, vec![], &mut j)
            .expect("a return");
        order.move_return(id, ReturnEvent::Approve, &mut j).expect("approved");
        order.direct_return(id, &terms).expect("directed");
        assert_eq!(order.after_sale.returns[0].send_to, destinations);
        order
            .resolve_return(id, Resolution::ReturnlessRefund, None, &mut j)
            .expect("resolved");
        assert!(order.after_sale.returns[0].send_to.is_empty());
        // A policy that takes returns without an address sends them to the store; a store
        // without an address leaves the destination unknown.
        terms.policies[0].1.return_address = None;
        terms.store_address = None;
        let unknown = order.return_destinations(&both[..1], &terms);
        assert_eq!((unknown[0].supplier_id, unknown[0].address.clone()), (None, None));
    }

    /// Takes a return of `lines` to its resolution, through the item coming back when
    /// `back`, else as a returnless refund: the claims opened.
    fn resolve_through(
        order: &mut Order,
        terms: &ReturnTerms,
        lines: Vec<LineUnits>,
        reason: ReturnReason,
        back: bool,
    ) -> Vec<ClaimId> {
        let mut j = journal(order);
        let id = order
            .request_return(lines, reason, None, vec![], &mut j)
            .expect("a return");
        order.move_return(id, ReturnEvent::Approve, &mut j).expect("approved");
        let resolution = if back {
            order.move_return(id, ReturnEvent::AwaitItem, &mut j).expect("awaited");
            order.move_return(id, ReturnEvent::Receive, &mut j).expect("received");
            Resolution::Refund
        } else {
            Resolution::ReturnlessRefund
        };
        order
            .resolve_return_and_claim(id, resolution, None, terms, &mut j)
            .expect("resolved")
            .1
    }

    #[test]
    fn the_policy_decides_what_is_claimed() {
        // An item back at A (which refunds returns) is claimed at its cost; B's item back is
        // not (B takes no returns).
        let (mut order, terms, a, _) = two_suppliers();
        let both = vec![units(&order, 0, 1), units(&order, 1, 1)];
        let claims = resolve_through(&mut order, &terms, both, ReturnReason::ChangedMind, true);
        assert_eq!(claims.len(), 1);
        let claim = &order.after_sale.claims[0];
        assert_eq!(
            (claim.id, claim.supplier_id, claim.basis),
            (claims[0], a, ClaimBasis::ReturnedItem)
        );
        assert_eq!(claim.claimed, usd(800));
        assert_eq!(claim.lines, [units(&order, 0, 1)]);
        assert_eq!(claim.state, ClaimState::Open);
        assert_eq!(claim.supplier_order_id, order.supplier_orders[0].id);

        // A damaged unit the customer keeps: A does not credit without the item.
        let kept = vec![units(&order, 0, 1)];
        assert!(resolve_through(&mut order, &terms, kept, ReturnReason::Damaged, false).is_empty());

        // B credits a damaged unit the customer keeps, not one they changed their mind about.
        let (mut order, terms, _, _) = two_suppliers();
        let kept = vec![units(&order, 1, 1)];
        assert!(resolve_through(&mut order, &terms, kept, ReturnReason::ChangedMind, false).is_empty());
        let (mut order, terms, _, b) = two_suppliers();
        let kept = vec![units(&order, 1, 1)];
        let claims = resolve_through(&mut order, &terms, kept, ReturnReason::WrongItem, false);
        assert_eq!(claims.len(), 1);
        let claim = &order.after_sale.claims[0];
        assert_eq!(
            (claim.supplier_id, claim.basis, claim.claimed),
            (b, ClaimBasis::WithoutItem, usd(300))
        );

        // Past the window after delivery, nothing is claimed; the return is resolved anyway.
        let (mut order, mut terms, _, _) = two_suppliers();
        terms.policies[1].1.window_days = 1;
        let kept = vec![units(&order, 1, 1)];
        assert!(resolve_through(&mut order, &terms, kept, ReturnReason::Damaged, false).is_empty());
        assert_eq!(order.after_sale.returns[0].state, ReturnState::Resolved);
        // A supplier not in the terms has the default policy: nothing.
        let (mut order, _, _, _) = two_suppliers();
        let kept = vec![units(&order, 1, 1)];
        assert!(resolve_through(&mut order, &ReturnTerms::default(), kept, ReturnReason::Damaged, false).is_empty());
    }

    #[test]
    fn a_claim_takes_returned_units_and_recovers_at_most_what_was_claimed() {
        let (mut order, terms, _, _) = two_suppliers();
        let mut j = journal(&order);
        let first_so = order.supplier_orders[0].id;
        let second_so = order.supplier_orders[1].id;
        let id = order
            .request_return(vec![units(&order, 0, 2)], ReturnReason::Damaged, None, vec![], &mut j)
            .expect("a return");
        // Not approved yet: nothing to claim.
        let before = order.clone();
        assert!(matches!(
            order.open_claim(id, first_so, vec![], ClaimBasis::WithoutItem, &mut j),
            Err(OrderError::Transition(_))
        ));
        assert_eq!(order, before);
        order.move_return(id, ReturnEvent::Approve, &mut j).expect("approved");
        order.direct_return(id, &terms).expect("directed");
        let before_claims = order.clone();
        for (return_id, so, lines, field) in [
            (id, second_so, vec![], "lines"),
            (id, first_so, vec![units(&order, 1, 1)], "lines[0].line_item_id"),
            (id, second_so, vec![units(&order, 0, 1)], "lines[0].line_item_id"),
            (id, first_so, vec![units(&order, 0, 3)], "lines[0].quantity"),
            (id, first_so, vec![units(&order, 0, 0)], "lines[0].quantity"),
            (id, SupplierOrderId::new(), vec![], "supplier_order_id"),
        ] {
            let err = order
                .open_claim(return_id, so, lines, ClaimBasis::WithoutItem, &mut j)
                .expect_err("refused");
            assert!(
                matches!(&err, OrderError::Invalid { field: f, .. } if f == field),
                "{field}: {err:?}"
            );
            assert_eq!(order, before_claims, "a refused claim changes nothing");
        }
        assert!(matches!(
            order.open_claim(ReturnId::new(), first_so, vec![], ClaimBasis::WithoutItem, &mut j),
            Err(OrderError::UnknownReturn(_))
        ));

        // One unit claimed by hand; the other is still free, then no more.
        let claim = order
            .open_claim(id, first_so, vec![units(&order, 0, 1)], ClaimBasis::WithoutItem, &mut j)
            .expect("a claim");
        assert_eq!(order.after_sale.claims[0].claimed, usd(800));
        let rest = order
            .open_claim(id, first_so, vec![], ClaimBasis::WithoutItem, &mut j)
            .expect("the rest");
        assert_eq!(order.after_sale.claims[1].lines, [units(&order, 0, 1)]);
        assert!(matches!(
            order.open_claim(id, first_so, vec![], ClaimBasis::WithoutItem, &mut j),
            Err(OrderError::Invalid { field, .. }) if field == "lines"
        ));

        // Accepted only once submitted, with an amount in the claim's currency, above zero and
        // at most what was claimed.
        let fees = Fees::default();
        let base = Profit::of(&order.ledger(&fees).expect("ledger"), order.currency).expect("profit");
        assert!(matches!(
            order.move_claim(claim, ClaimEvent::Accept, Some(usd(800)), &mut j),
            Err(OrderError::Transition(_))
        ));
        assert!(matches!(
            order.move_claim(claim, ClaimEvent::Submit, Some(usd(1)), &mut j),
            Err(OrderError::Invalid { field, .. }) if field == "recovered"
        ));
        order
            .move_claim(claim, ClaimEvent::Submit, None, &mut j)
            .expect("submitted");
        let eur = Money::new(500, crate::money::Currency::parse("EUR").expect("EUR"));
        for recovered in [None, Some(usd(801)), Some(usd(0)), Some(eur)] {
            let before = order.clone();
            let err = order
                .move_claim(claim, ClaimEvent::Accept, recovered, &mut j)
                .expect_err("refused");
            assert!(
                matches!(&err, OrderError::Invalid { field, .. } if field == "recovered"),
                "{recovered:?}: {err:?}"
            );
            assert_eq!(order, before);
        }
        assert!(matches!(
            order.move_claim(ClaimId::new(), ClaimEvent::Submit, None, &mut j),
            Err(OrderError::UnknownClaim(_))
        ));
        // Part of it recovered: the ledger gets a supplier refund and the profit rises by it.
        order
            .move_claim(claim, ClaimEvent::Accept, Some(usd(650)), &mut j)
            .expect("accepted");
        let accepted = &order.after_sale.claims[0];
        assert_eq!(
            (accepted.state, accepted.recovered),
            (ClaimState::Accepted, Some(usd(650)))
        );
        assert_eq!(accepted.closed_at, Some(AT));
        let entries = order.ledger(&fees).expect("ledger");
        let refunds: Vec<_> = entries
            .iter()
            .filter(|e| e.kind == LedgerKind::SupplierRefund)
            .map(|e| e.amount)
            .collect();
        assert_eq!(refunds, [usd(650)]);
        let after = Profit::of(&entries, order.currency).expect("profit");
        assert_eq!(after.profit.minor, base.profit.minor + 650);
        assert_eq!(after.costs.minor, base.costs.minor - 650);
        assert_eq!(after.revenue, base.revenue);
        // A closed claim moves no more; a rejected one frees its units for another claim.
        assert!(order.move_claim(claim, ClaimEvent::Reject, None, &mut j).is_err());
        order
            .move_claim(rest, ClaimEvent::Submit, None, &mut j)
            .expect("submitted");
        order
            .move_claim(rest, ClaimEvent::Reject, None, &mut j)
            .expect("rejected");
        order
            .open_claim(id, first_so, vec![], ClaimBasis::WithoutItem, &mut j)
            .expect("again");
        let kinds: Vec<&str> = j.events.iter().map(|e| e.kind.as_str()).collect();
        for kind in ["claim.opened", "claim.submit", "claim.accept", "claim.reject"] {
            assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
        }
        // The vendor's earnings follow: what the supplier gave back is earned too.
        let earned: i64 = order
            .earnings(&fees, time::Duration::days(14))
            .expect("earnings")
            .iter()
            .filter(|e| e.kind == EarningKind::Earned)
            .map(|e| e.amount.minor)
            .sum();
        let mut without = order.clone();
        without.after_sale.claims.clear();
        let earned_without: i64 = without
            .earnings(&fees, time::Duration::days(14))
            .expect("earnings")
            .iter()
            .filter(|e| e.kind == EarningKind::Earned)
            .map(|e| e.amount.minor)
            .sum();
        assert_eq!(earned, earned_without + 650);
    }

    #[test]
    fn a_recovery_in_another_currency_stays_out_of_the_ledger() {
        let (mut order, _, _, _) = two_suppliers();
        let cny = crate::money::Currency::parse("CNY").expect("CNY");
        let so = &mut order.supplier_orders[0];
        so.expected_cost = Money::new(5_000, cny);
        for line in &mut so.lines {
            line.unit_cost = Money::new(2_500, cny);
        }
        let so_id = so.id;
        let mut j = journal(&order);
        let id = order
            .request_return(vec![units(&order, 0, 1)], ReturnReason::Damaged, None, vec![], &mut j)
            .expect("a return");
        order.move_return(id, ReturnEvent::Approve, &mut j).expect("approved");
        let claim = order
            .open_claim(id, so_id, vec![], ClaimBasis::WithoutItem, &mut j)
            .expect("a claim");
        assert_eq!(order.after_sale.claims[0].claimed, Money::new(2_500, cny));
        order
            .move_claim(claim, ClaimEvent::Submit, None, &mut j)
            .expect("submitted");
        assert!(matches!(
            order.move_claim(claim, ClaimEvent::Accept, Some(usd(100)), &mut j),
            Err(OrderError::Invalid { field, .. }) if field == "recovered"
        ));
        order
            .move_claim(claim, ClaimEvent::Accept, Some(Money::new(2_500, cny)), &mut j)
            .expect("accepted");
        let entries = order.ledger(&Fees::default()).expect("ledger");
        assert!(entries.iter().all(|e| e.kind != LedgerKind::SupplierRefund));
    }

    /// [`two_suppliers`] with variants on its lines and a return of one unit of line A,
    /// received back; the return's id.
    fn received_return() -> (Order, ReturnTerms, ReturnId) {
        let (mut order, terms, _, _) = two_suppliers();
        for line in &mut order.lines {
            line.variant_id = Some(VariantId::new());
        }
        let mut j = journal(&order);
        let id = order
            .request_return(vec![units(&order, 0, 1)], ReturnReason::Damaged, None, vec![], &mut j)
            .expect("a return");
        for event in [ReturnEvent::Approve, ReturnEvent::AwaitItem, ReturnEvent::Receive] {
            order.move_return(id, event, &mut j).expect("moved");
        }
        (order, terms, id)
    }

    /// A supplier order for the routed lines, as routing would give it.
    fn routed(order: &Order, lines: &[LineItem], cost: i64) -> SupplierOrder {
        let mut so = crate::order::tests::supplier_order(order, "R");
        so.lines = lines
            .iter()
            .map(|line| crate::order::SupplierOrderLine {
                line_item_id: line.id,
                offer_id: crate::ids::OfferId::new(),
                variant_id: line.variant_id.expect("a variant"),
                supplier_sku: "R-1".into(),
                product_url: None,
                title: line.title.clone(),
                variant_title: None,
                quantity: line.quantity,
                unit_cost: usd(cost),
                supplier_product_id: None,
                supplier_variant_id: None,
            })
            .collect();
        so.expected_cost = usd(cost);
        so
    }

    #[test]
    fn a_replacement_sends_the_returned_units_of_the_same_variant() {
        let (mut order, terms, id) = received_return();
        let lines = order
            .replacement_lines(id, Resolution::Replacement, None)
            .expect("lines to send");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].id, order.lines[0].id);
        assert_eq!(lines[0].variant_id, order.lines[0].variant_id);
        assert_eq!(lines[0].quantity, 1, "the returned units, not the line's 2");
        let before = order.ledger(&Fees::default()).expect("ledger");
        let so = routed(&order, &lines, 700);
        let so_id = so.id;
        let mut j = journal(&order);
        order
            .resolve_return_by_sending(id, Resolution::Replacement, vec![so], &terms, &mut j)
            .expect("resolved");
        let found = &order.after_sale.returns[0];
        assert_eq!(found.state, ReturnState::Resolved);
        assert_eq!(found.resolution, Some(Resolution::Replacement));
        assert!(order.after_sale.is_return_shipment(so_id));
        assert_eq!(order.state, OrderState::Delivered, "the order stays delivered");
        assert!(order.after_sale.refunds.is_empty(), "nothing refunded");
        // The new cost is a re-shipment; no new sale.
        let after = order.ledger(&Fees::default()).expect("ledger");
        let added: Vec<_> = after.iter().filter(|e| !before.contains(e)).collect();
        assert_eq!(added.len(), 1, "{added:?}");
        assert_eq!((added[0].kind, added[0].amount), (LedgerKind::ReshipmentCost, usd(700)));
        // The replacement's delivery does not move the order's.
        let delivered_at = order.delivered_at();
        assert_eq!(delivered_at, Some(AT - time::Duration::days(2)));
    }

    #[test]
    fn an_exchange_sends_the_chosen_variant() {
        let (mut order, terms, id) = received_return();
        let other = VariantId::new();
        let lines = order
            .replacement_lines(id, Resolution::Exchange, Some(other))
            .expect("lines to send");
        assert_eq!(lines.len(), 1);
        assert_eq!(
            (lines[0].id, lines[0].variant_id, lines[0].quantity),
            (order.lines[0].id, Some(other), 1)
        );
        let mut j = journal(&order);
        order
            .resolve_return_by_sending(
                id,
                Resolution::Exchange,
                vec![routed(&order, &lines, 900)],
                &terms,
                &mut j,
            )
            .expect("resolved");
        let entries = order.ledger(&Fees::default()).expect("ledger");
        assert!(
            entries.iter().filter(|e| e.kind == LedgerKind::Sale).count() == 1,
            "not charged again"
        );
        assert!(
            entries
                .iter()
                .any(|e| e.kind == LedgerKind::ReshipmentCost && e.amount == usd(900))
        );
    }

    #[test]
    fn refused_replacements_and_exchanges_change_nothing() {
        let (mut order, terms, id) = received_return();
        let field = |err: OrderError| match err {
            OrderError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(
                order
                    .replacement_lines(id, Resolution::Exchange, None)
                    .expect_err("refused")
            ),
            "variant_id"
        );
        assert_eq!(
            field(
                order
                    .replacement_lines(id, Resolution::Replacement, Some(VariantId::new()))
                    .expect_err("refused")
            ),
            "variant_id"
        );
        assert_eq!(
            field(
                order
                    .replacement_lines(id, Resolution::Refund, Some(VariantId::new()))
                    .expect_err("refused")
            ),
            "variant_id"
        );
        assert!(
            order
                .replacement_lines(id, Resolution::Refund, None)
                .expect("nothing")
                .is_empty()
        );
        let kept = order.clone();
        let mut j = journal(&order);
        // Plain resolving cannot record a replacement without sending it.
        assert_eq!(
            field(
                order
                    .resolve_return(id, Resolution::Replacement, None, &mut j)
                    .expect_err("refused")
            ),
            "resolution"
        );
        assert_eq!(
            field(
                order
                    .resolve_return_and_claim(id, Resolution::Exchange, None, &terms, &mut j)
                    .expect_err("refused")
            ),
            "resolution"
        );
        // Nothing routed, or a line that was not returned.
        assert_eq!(
            field(
                order
                    .resolve_return_by_sending(id, Resolution::Replacement, vec![], &terms, &mut j)
                    .expect_err("refused")
            ),
            "resolution"
        );
        let mut foreign = order.lines[1].clone();
        foreign.quantity = 1;
        let wrong = routed(&order, &[foreign], 100);
        assert_eq!(
            field(
                order
                    .resolve_return_by_sending(id, Resolution::Replacement, vec![wrong], &terms, &mut j)
                    .expect_err("refused")
            ),
            "lines"
        );
        assert_eq!(order, kept);
        assert!(j.events.is_empty());
        // A return whose item has not come back cannot be replaced yet.
        let (mut early, _, _) = received_return();
        let mut j = journal(&early);
        let second = early
            .request_return(vec![units(&early, 1, 1)], ReturnReason::Damaged, None, vec![], &mut j)
            .expect("a return");
        early
            .move_return(second, ReturnEvent::Approve, &mut j)
            .expect("approved");
        assert_eq!(
            field(
                early
                    .replacement_lines(second, Resolution::Replacement, None)
                    .expect_err("refused")
            ),
            "resolution"
        );
    }

    /// The order of `delivered()` with one supplier order for both lines: goods 2 × 8.00 +
    /// 1 × 3.00 = 19.00, charged `cost` in all.
    fn with_supplier(cost: i64) -> Order {
        let mut order = delivered();
        let mut so = crate::order::tests::supplier_order(&order, "S");
        so.lines = [(0, 800), (1, 300)]
            .iter()
            .map(|&(index, unit): &(usize, i64)| {
                let line = &order.lines[index];
                crate::order::SupplierOrderLine {
                    line_item_id: line.id,
                    offer_id: crate::ids::OfferId::new(),
                    variant_id: crate::ids::VariantId::new(),
                    supplier_sku: line.sku.clone(),
                    product_url: None,
                    title: line.title.clone(),
                    variant_title: None,
                    quantity: line.quantity,
                    unit_cost: usd(unit),
                    supplier_product_id: None,
                    supplier_variant_id: None,
                }
            })
            .collect();
        so.expected_cost = usd(cost);
        order.supplier_orders.push(so);
        order
    }

    fn amount_of(entries: &[LedgerEntry], kind: LedgerKind) -> Option<Money> {
        let found: Vec<_> = entries.iter().filter(|e| e.kind == kind).collect();
        assert!(found.len() <= 1, "one {kind} entry at most");
        found.first().map(|e| e.amount)
    }

    #[test]
    fn a_discount_lowers_revenue_and_profit_and_a_tax_changes_neither() {
        let fees = Fees::default();
        let plain = with_supplier(2_400);
        let base = Profit::of(&plain.ledger(&fees).expect("ledger"), plain.currency).expect("profit");
        let mut order = plain.clone();
        order.discount_total = Some(usd(700));
        order.tax_total = Some(usd(480));
        let entries = order.ledger(&fees).expect("ledger");
        assert_eq!(amount_of(&entries, LedgerKind::Discount), Some(usd(700)));
        assert_eq!(amount_of(&entries, LedgerKind::TaxCollected), Some(usd(480)));
        assert!(
            entries
                .iter()
                .filter(|e| matches!(e.kind, LedgerKind::Discount | LedgerKind::TaxCollected))
                .all(|e| e.at == order.placed_at)
        );
        let profit = Profit::of(&entries, order.currency).expect("profit");
        assert_eq!(profit.revenue.minor, base.revenue.minor - 700);
        assert_eq!(profit.profit.minor, base.profit.minor - 700);
        assert_eq!(profit.costs, base.costs);
        // Only a tax: nothing moves.
        order.discount_total = None;
        let taxed = Profit::of(&order.ledger(&fees).expect("ledger"), order.currency).expect("profit");
        assert_eq!(taxed, base);
        // Earnings follow the profit: the discount comes off what the vendor earns.
        let holding = time::Duration::days(14);
        let mut parcel: crate::order::Shipment = serde_json::from_value(serde_json::json!({
            "id": crate::ids::ShipmentId::new(),
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "state": "delivered",
            "events": [],
        }))
        .expect("a parcel");
        parcel.delivered_at = Some(AT);
        let mut earning = plain.clone();
        earning.supplier_orders[0].shipments.push(parcel);
        let before = earning.earnings(&fees, holding).expect("earnings")[0].amount;
        earning.discount_total = Some(usd(700));
        earning.tax_total = Some(usd(480));
        let after = earning.earnings(&fees, holding).expect("earnings")[0].amount;
        assert_eq!(after.minor, before.minor - 700);
        // Zero amounts and unpaid or cancelled orders record neither.
        order.discount_total = Some(usd(0));
        order.tax_total = Some(usd(0));
        let entries = order.ledger(&fees).expect("ledger");
        assert_eq!(amount_of(&entries, LedgerKind::Discount), None);
        assert_eq!(amount_of(&entries, LedgerKind::TaxCollected), None);
        for (state, payment) in [
            (OrderState::Delivered, PaymentState::Pending),
            (OrderState::Cancelled, PaymentState::Paid),
        ] {
            let mut other = plain.clone();
            (other.state, other.payment) = (state, payment);
            other.discount_total = Some(usd(700));
            other.tax_total = Some(usd(480));
            let entries = other.ledger(&fees).expect("ledger");
            assert_eq!(amount_of(&entries, LedgerKind::Sale), None);
            assert_eq!(amount_of(&entries, LedgerKind::Discount), None);
            assert_eq!(amount_of(&entries, LedgerKind::TaxCollected), None);
        }
    }

    #[test]
    fn converted_goods_and_shipping_add_up_to_the_converted_whole() {
        use crate::ledger::{Rate, RateUsed};
        let eur = crate::money::Currency::parse("EUR").expect("EUR");
        let mut order = delivered();
        let mut so = crate::order::tests::supplier_order(&order, "Euro supplier");
        // 0.01 EUR of goods and 0.01 EUR of shipping at 1.5: each part alone rounds to
        // 0.02 USD, the whole 0.02 EUR is 0.03 USD.
        so.lines = vec![crate::order::SupplierOrderLine {
            line_item_id: order.lines[0].id,
            offer_id: crate::ids::OfferId::new(),
            variant_id: crate::ids::VariantId::new(),
            supplier_sku: "EU-1".into(),
            product_url: None,
            title: "Item".into(),
            variant_title: None,
            quantity: 1,
            unit_cost: Money::new(1, eur),
            supplier_product_id: None,
            supplier_variant_id: None,
        }];
        so.expected_cost = Money::new(2, eur);
        so.actual_cost = None;
        so.cost_rate = Some(RateUsed {
            rate: Rate {
                from: eur,
                to: order.currency,
                per_million: 1_500_000,
                as_of: AT,
            },
            effective_on: AT.date(),
            charged: false,
        });
        order.supplier_orders.push(so);
        let entries = order.ledger(&Fees::default()).expect("ledger");
        let part = |kind: LedgerKind| entries.iter().find(|e| e.kind == kind).expect("a part").clone();
        let (goods, shipping) = (part(LedgerKind::SupplierCost), part(LedgerKind::SupplierShipping));
        assert_eq!((goods.amount, shipping.amount), (usd(2), usd(1)));
        assert_eq!(
            shipping.converted_from.map(|(charged, _)| charged),
            Some(Money::new(1, eur))
        );

        // What the supplier gives back on a claim is converted at the same recorded rate.
        let so = order.supplier_orders.last().expect("the euro supplier order").clone();
        order.after_sale.claims.push(SupplierClaim {
            id: crate::ids::ClaimId::new(),
            supplier_order_id: so.id,
            supplier_id: so.supplier_id,
            return_id: ReturnId::new(),
            lines: vec![],
            basis: ClaimBasis::WithoutItem,
            claimed: Money::new(2, eur),
            state: ClaimState::Accepted,
            recovered: Some(Money::new(2, eur)),
            opened_at: AT,
            closed_at: Some(AT),
        });
        let entries = order.ledger(&Fees::default()).expect("ledger");
        let refund = entries
            .iter()
            .find(|e| e.kind == LedgerKind::SupplierRefund)
            .expect("the claim's refund");
        assert_eq!(refund.amount, usd(3));
        assert_eq!(
            refund.converted_from.map(|(charged, _)| charged),
            Some(Money::new(2, eur))
        );
    }

    #[test]
    fn a_supplier_orders_cost_is_split_into_goods_and_shipping() {
        let fees = Fees::default();
        // 24.00 charged for 19.00 of goods: 5.00 is the supplier's shipping.
        let order = with_supplier(2_400);
        let entries = order.ledger(&fees).expect("ledger");
        assert_eq!(amount_of(&entries, LedgerKind::SupplierCost), Some(usd(1_900)));
        assert_eq!(amount_of(&entries, LedgerKind::SupplierShipping), Some(usd(500)));
        let profit = Profit::of(&entries, order.currency).expect("profit");
        assert_eq!(
            profit.costs,
            usd(2_400),
            "the costs add up to what the supplier charged"
        );
        // The actual cost is what is split when the supplier said it.
        let mut actual = order.clone();
        actual.supplier_orders[0].actual_cost = Some(usd(2_150));
        let entries = actual.ledger(&fees).expect("ledger");
        assert_eq!(amount_of(&entries, LedgerKind::SupplierShipping), Some(usd(250)));
        // No shipping left (or less than the goods): one supplier_cost entry of the whole.
        for cost in [1_900, 1_500] {
            let entries = with_supplier(cost).ledger(&fees).expect("ledger");
            assert_eq!(amount_of(&entries, LedgerKind::SupplierCost), Some(usd(cost)));
            assert_eq!(amount_of(&entries, LedgerKind::SupplierShipping), None);
        }
        // A line cost in another currency cannot be summed: the whole stays one entry.
        let mut mixed = with_supplier(2_400);
        mixed.supplier_orders[0].lines[0].unit_cost =
            Money::new(800, crate::money::Currency::parse("EUR").expect("EUR"));
        let entries = mixed.ledger(&fees).expect("ledger");
        assert_eq!(amount_of(&entries, LedgerKind::SupplierCost), Some(usd(2_400)));
        // A re-shipment stays one reshipment_cost.
        let mut again = with_supplier(2_400);
        let mut second = again.supplier_orders[0].clone();
        second.id = crate::ids::SupplierOrderId::new();
        again.supplier_orders.push(second);
        let entries = again.ledger(&fees).expect("ledger");
        assert_eq!(amount_of(&entries, LedgerKind::ReshipmentCost), Some(usd(2_400)));
        assert_eq!(amount_of(&entries, LedgerKind::SupplierShipping), Some(usd(500)));
    }
}
