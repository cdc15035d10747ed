//! After delivery: the use cases of returns, refunds and disputes, and an order's ledger
//! and profit. Each change goes through the order aggregate (`dropline_domain::after_sale`)
//! in one write with its timeline and the customer's email (`notify` tells a new refund).

use crate::error::AppError;
use crate::scope::Scope;
use crate::service::{App, Made};
use dropline_domain::after_sale::{LineUnits, Resolution, ReturnReason};
use dropline_domain::ids::{DisputeId, OrderId, RefundId, ReturnId};
use dropline_domain::ledger::{DisputeEvent, LedgerEntry, Profit, ReturnEvent};
use dropline_domain::money::Money;
use dropline_domain::order::Order;
use dropline_domain::timeline::Actor;
use time::OffsetDateTime;

/// A return as the customer or the seller asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReturn {
    pub lines: Vec<LineUnits>,
    pub reason: ReturnReason,
    pub note: Option<String>,
    pub photos: Vec<String>,
}

/// A refund as the seller gives it: an amount, or the lines' price when no amount is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRefund {
    pub amount: Option<Money>,
    pub reason: String,
    pub lines: Vec<LineUnits>,
}

/// A dispute as the payment processor reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDispute {
    pub amount: Money,
    pub reason_code: String,
    pub due_at: OffsetDateTime,
}

/// An order's money: its ledger and what it adds up to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderMoney {
    pub entries: Vec<LedgerEntry>,
    pub profit: Profit,
}

impl App {
    /// Opens a return on delivered units of an order.
    pub async fn request_return(
        &self,
        scope: Scope,
        id: OrderId,
        new: NewReturn,
    ) -> Result<(Order, ReturnId), AppError> {
        let made = Made::new();
        let order = self
            .change_order(scope, id, scope.actor(), |order, journal, _| {
                let return_id = order.request_return(
                    new.lines.clone(),
                    new.reason,
                    new.note.clone(),
                    new.photos.clone(),
                    journal,
                )?;
                made.set(return_id);
                Ok(())
            })
            .await?;
        Ok((order, made.take("return")?))
    }

    /// The customer asks for a return from the tracking page: the token is their access.
    pub async fn request_return_by_token(&self, token: &str, new: NewReturn) -> Result<ReturnId, AppError> {
        if !crate::follow::is_tracking_token(token) {
            return Err(AppError::NotFound("tracking page"));
        }
        let order = self
            .backend
            .order_by_tracking_token(token)
            .await?
            .ok_or(AppError::NotFound("tracking page"))?;
        let made = Made::new();
        self.change_order(
            Scope::Store(order.store_id),
            order.id,
            Actor::Customer,
            |order, journal, _| {
                let return_id =
                    order.request_return(new.lines.clone(), new.reason, new.note.clone(), Vec::new(), journal)?;
                made.set(return_id);
                Ok(())
            },
        )
        .await?;
        made.take("return")
    }

    /// Moves a return: approve, reject, wait for the item, receive it.
    pub async fn move_return(
        &self,
        scope: Scope,
        id: OrderId,
        return_id: ReturnId,
        event: ReturnEvent,
    ) -> Result<Order, AppError> {
        if event == ReturnEvent::Resolve {
            return Err(AppError::invalid("event", "a return is resolved with its resolution"));
        }
        self.change_order(scope, id, scope.actor(), |order, journal, _| {
            Ok(order.move_return(return_id, event, journal)?)
        })
        .await
    }

    /// Resolves a return; a refund resolution refunds (the returned lines' price, or
    /// `amount`) and gives the refund's id.
    pub async fn resolve_return(
        &self,
        scope: Scope,
        id: OrderId,
        return_id: ReturnId,
        resolution: Resolution,
        amount: Option<Money>,
    ) -> Result<(Order, Option<RefundId>), AppError> {
        let made = Made::new();
        let order = self
            .change_order(scope, id, scope.actor(), |order, journal, _| {
                made.set(order.resolve_return(return_id, resolution, amount, journal)?);
                Ok(())
            })
            .await?;
        Ok((order, made.take("return")?))
    }

    /// Gives money back to the customer (at most what is still refundable).
    pub async fn refund_order(&self, scope: Scope, id: OrderId, new: NewRefund) -> Result<(Order, RefundId), AppError> {
        let made = Made::new();
        let order = self
            .change_order(scope, id, scope.actor(), |order, journal, _| {
                let amount = match new.amount {
                    Some(amount) => amount,
                    None if new.lines.is_empty() => {
                        return Err(AppError::invalid("amount", "give an amount, or the lines to refund"));
                    }
                    None => order
                        .value_of(&new.lines)
                        .map_err(|err| AppError::invalid("lines", err.to_string()))?,
                };
                let refund_id = order.refund(amount, new.reason.clone(), new.lines.clone(), None, journal)?;
                made.set(refund_id);
                Ok(())
            })
            .await?;
        Ok((order, made.take("refund")?))
    }

    /// Records a payment dispute of an order.
    pub async fn open_dispute(
        &self,
        scope: Scope,
        id: OrderId,
        new: NewDispute,
    ) -> Result<(Order, DisputeId), AppError> {
        let made = Made::new();
        let order = self
            .change_order(scope, id, scope.actor(), |order, journal, _| {
                let dispute_id = order.open_dispute(new.amount, new.reason_code.clone(), new.due_at, journal)?;
                made.set(dispute_id);
                Ok(())
            })
            .await?;
        Ok((order, made.take("dispute")?))
    }

    /// Moves a dispute: the evidence was sent, it was won or lost.
    pub async fn move_dispute(
        &self,
        scope: Scope,
        id: OrderId,
        dispute_id: DisputeId,
        event: DisputeEvent,
    ) -> Result<Order, AppError> {
        self.change_order(scope, id, scope.actor(), |order, journal, _| {
            Ok(order.move_dispute(dispute_id, event, journal)?)
        })
        .await
    }

    /// The order's ledger with its store's fees, and the profit it adds up to.
    pub async fn order_money(&self, scope: Scope, id: OrderId) -> Result<OrderMoney, AppError> {
        let order = self.get_order(scope, id).await?;
        self.money_of(scope, &order).await
    }

    /// [`Self::order_money`] of an order already read.
    pub async fn money_of(&self, scope: Scope, order: &Order) -> Result<OrderMoney, AppError> {
        let store = self.get_store(scope, order.store_id).await?;
        let entries = order
            .ledger(&store.store.settings.fees)
            .map_err(|err| AppError::invalid("ledger", err.to_string()))?;
        let profit =
            Profit::of(&entries, order.currency).map_err(|err| AppError::invalid("ledger", err.to_string()))?;
        Ok(OrderMoney { entries, profit })
    }
}
