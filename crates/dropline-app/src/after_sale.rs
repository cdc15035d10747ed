//! After delivery: the use cases of returns, refunds, disputes and claims to suppliers, and
//! an order's ledger and profit. Each change goes through the order aggregate
//! (`dropline_domain::after_sale`) in one write with its timeline and the customer's email
//! (`notify` tells a new refund, and where to send a return). The suppliers' return
//! policies decide where a returned item goes and which claims a resolved return opens.

use crate::error::AppError;
use crate::scope::Scope;
use crate::service::supplier_order_of_group;
use crate::service::{App, Made};
use dropline_domain::after_sale::{ClaimBasis, LineUnits, Resolution, ReturnReason, ReturnTerms};
use dropline_domain::catalog::{Offer, ReturnRules};
use dropline_domain::ids::{ClaimId, DisputeId, OrderId, RefundId, ReturnId, SupplierOrderId, VariantId};
use dropline_domain::ledger::{ClaimEvent, DisputeEvent, LedgerEntry, Profit, ReturnEvent};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{LineItem, Order, SupplierOrder};
use dropline_domain::routing::{RoutePlan, RoutingContext, route_lines};
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

/// A claim the seller opens by hand: units of a return, to the supplier order that brought
/// them (every unit of the return it brought and not claimed yet when `lines` is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClaim {
    pub return_id: ReturnId,
    pub supplier_order_id: SupplierOrderId,
    pub lines: Vec<LineUnits>,
}

/// An order's money: its ledger and what it adds up to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderMoney {
    pub entries: Vec<LedgerEntry>,
    pub profit: Profit,
}

impl App {
    /// Opens a return on delivered units of an order, under the store's return rules (see
    /// [`Order::request_return_under_rules`]): refused after the window, and approved or
    /// refunded without the item by the rules in the same write.
    pub async fn request_return(
        &self,
        scope: Scope,
        id: OrderId,
        new: NewReturn,
    ) -> Result<(Order, ReturnId), AppError> {
        let (rules, currency, terms) = self.return_rules(&self.get_order(scope, id).await?).await?;
        let made = Made::new();
        let order = self
            .change_order(scope, id, scope.actor(), |order, journal, _| {
                let (return_id, _refund) = order.request_return_under_rules(
                    new.lines.clone(),
                    new.reason,
                    new.note.clone(),
                    new.photos.clone(),
                    &rules,
                    currency,
                    &terms,
                    journal,
                )?;
                made.set(return_id);
                Ok(())
            })
            .await?;
        Ok((order, made.take("return")?))
    }

    /// The customer asks for a return from the tracking page: the token is their access. The
    /// store's return rules apply as in [`Self::request_return`].
    pub async fn request_return_by_token(&self, token: &str, new: NewReturn) -> Result<ReturnId, AppError> {
        if !crate::follow::is_tracking_token(token) {
            return Err(AppError::NotFound("tracking page"));
        }
        let order = self
            .backend
            .order_by_tracking_token(token)
            .await?
            .ok_or(AppError::NotFound("tracking page"))?;
        let (rules, currency, terms) = self.return_rules(&order).await?;
        let made = Made::new();
        self.change_order(
            Scope::Store(order.store_id),
            order.id,
            Actor::Customer,
            |order, journal, _| {
                let (return_id, _refund) = order.request_return_under_rules(
                    new.lines.clone(),
                    new.reason,
                    new.note.clone(),
                    Vec::new(),
                    &rules,
                    currency,
                    &terms,
                    journal,
                )?;
                made.set(return_id);
                Ok(())
            },
        )
        .await?;
        made.take("return")
    }

    /// The store's return rules and the return terms of an order, read before its change:
    /// a request is refused outside the store's window, and approved (or refunded without
    /// the item) by its rules in the same write.
    async fn return_rules(&self, order: &Order) -> Result<(ReturnRules, Currency, ReturnTerms), AppError> {
        let Some(context) = self.catalog.store(self.backend.as_ref(), order.store_id).await? else {
            return Err(AppError::NotFound("store"));
        };
        let rules = context.store.settings.returns.clone();
        Ok((rules, context.store.currency, self.return_terms(order).await?))
    }

    /// What the return steps of an order need beyond it: its suppliers' return policies and
    /// the store's own address.
    pub async fn return_terms(&self, order: &Order) -> Result<ReturnTerms, AppError> {
        let Some(context) = self.catalog.store(self.backend.as_ref(), order.store_id).await? else {
            return Err(AppError::NotFound("store"));
        };
        Ok(ReturnTerms {
            policies: context
                .suppliers
                .iter()
                .filter(|s| order.supplier_orders.iter().any(|so| so.supplier_id == s.id))
                .map(|s| (s.id, s.return_policy.clone()))
                .collect(),
            store_address: context.store.address.clone(),
        })
    }

    /// Moves a return: approve, reject, wait for the item, receive it. Approved, and again
    /// when the customer is to send the item, the return records where it goes back to.
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
        let terms = match event {
            ReturnEvent::Approve | ReturnEvent::AwaitItem => {
                Some(self.return_terms(&self.get_order(scope, id).await?).await?)
            }
            _ => None,
        };
        self.change_order(scope, id, scope.actor(), |order, journal, _| {
            order.move_return(return_id, event, journal)?;
            if let Some(terms) = &terms {
                order.direct_return(return_id, terms)?;
            }
            Ok(())
        })
        .await
    }

    /// Resolves a return; a refund resolution refunds (the returned lines' price, or
    /// `amount`) and gives the refund's id. The claims the suppliers' policies allow are
    /// opened with it.
    ///
    /// A replacement (the same variant) or an exchange (`variant_id`, a variant of the
    /// store) sends the returned units again: they are routed among the variant's offers by
    /// the store's routing policy like an order's lines (offers out of stock or that failed
    /// this order are passed over), and the supplier orders join the order, to be placed
    /// once like any other (a manual supplier's waits for the seller). With no offer able
    /// to serve them the resolution is refused and nothing changes. The customer is not
    /// charged again; the cost is a re-shipment in the order's ledger. No email is sent at
    /// resolution: the customer hears of the new parcel by the shipped email with its
    /// tracking, like any parcel.
    pub async fn resolve_return(
        &self,
        scope: Scope,
        id: OrderId,
        return_id: ReturnId,
        resolution: Resolution,
        amount: Option<Money>,
        variant_id: Option<VariantId>,
    ) -> Result<(Order, Option<RefundId>), AppError> {
        let order = self.get_order(scope, id).await?;
        let terms = self.return_terms(&order).await?;
        let lines = order.replacement_lines(return_id, resolution, variant_id)?;
        if lines.is_empty() {
            let made = Made::new();
            let order = self
                .change_order(scope, id, scope.actor(), |order, journal, _| {
                    let (refund, _claims) =
                        order.resolve_return_and_claim(return_id, resolution, amount, &terms, journal)?;
                    made.set(refund);
                    Ok(())
                })
                .await?;
            return Ok((order, made.take("return")?));
        }
        if amount.is_some() {
            return Err(AppError::invalid("amount", "only a refund has an amount"));
        }
        let (plan, offers, lines) = self
            .route_replacement(scope, &order, resolution, variant_id, lines)
            .await?;
        let order = self
            .change_order(scope, id, scope.actor(), |order, journal, changes| {
                // Built on the order as it is now, so attempts (and idempotency keys) follow
                // the supplier orders it holds.
                let mut supplier_orders: Vec<SupplierOrder> = Vec::new();
                for group in &plan.groups {
                    let attempt = order.next_attempt(group.supplier_id)
                        + u32::try_from(
                            supplier_orders
                                .iter()
                                .filter(|so| so.supplier_id == group.supplier_id)
                                .count(),
                        )
                        .unwrap_or(u32::MAX);
                    supplier_orders.push(supplier_order_of_group(
                        order,
                        group.clone(),
                        &lines,
                        &offers,
                        attempt,
                        journal.at,
                    ));
                }
                let created: Vec<SupplierOrderId> = supplier_orders.iter().map(|so| so.id).collect();
                order.resolve_return_by_sending(return_id, resolution, supplier_orders, &terms, journal)?;
                self.push_placement_jobs(changes, order, &created);
                Ok(())
            })
            .await?;
        Ok((order, None))
    }

    /// Routes what a replacement or an exchange sends; refused (naming `variant_id` for an
    /// exchange, `resolution` for a replacement) when the variant is not the store's or no
    /// offer can serve every line.
    async fn route_replacement(
        &self,
        scope: Scope,
        order: &Order,
        resolution: Resolution,
        variant_id: Option<VariantId>,
        mut lines: Vec<LineItem>,
    ) -> Result<(RoutePlan, Vec<Offer>, Vec<LineItem>), AppError> {
        let field = if resolution == Resolution::Exchange {
            "variant_id"
        } else {
            "resolution"
        };
        if let Some(variant_id) = variant_id {
            if self.backend.variant_store(variant_id).await? != Some(order.store_id) {
                return Err(AppError::invalid("variant_id", "is not a variant of this store"));
            }
            // The supplier is told what the customer now gets: the variant's own titles.
            let products = self.backend.list_products(Some(order.store_id)).await?;
            if let Some((product, variant)) = products
                .iter()
                .find_map(|p| p.variants.iter().find(|v| v.id == variant_id).map(|v| (p, v)))
            {
                for line in &mut lines {
                    line.title = product.title.clone();
                    line.variant_title = Some(variant.title.clone());
                    line.sku = variant.sku.clone();
                }
            }
        }
        let mut variant_ids: Vec<VariantId> = lines.iter().filter_map(|l| l.variant_id).collect();
        variant_ids.sort_unstable();
        variant_ids.dedup();
        let offers = self
            .catalog
            .offers(self.backend.as_ref(), order.store_id, &variant_ids)
            .await?;
        if offers.is_empty() {
            let reason = match resolution {
                Resolution::Exchange => "has no supplier offer: add one before exchanging for it",
                _ => "the returned variant has no supplier offer: add one, or choose another resolution",
            };
            return Err(AppError::invalid(field, reason));
        }
        let context = self.store_context(scope, order.store_id).await?;
        let settings = &context.store.settings;
        let failed = order.failed_offers();
        let routing = RoutingContext {
            offers: &offers,
            suppliers: &context.suppliers,
            lanes: &[],
            policy: settings.routing_policy,
            weights: settings.routing_weights,
            prefer_own_warehouse: true,
            excluded_offers: &failed,
            only_lines: None,
        };
        let plan = route_lines(&order.shipping_address.country_code, order.currency, &lines, &routing)
            .map_err(|err| AppError::invalid(field, err.to_string()))?;
        if !plan.is_complete() || plan.groups.is_empty() {
            let why: Vec<&str> = plan.unroutable.iter().map(|u| u.explanation.as_str()).collect();
            return Err(AppError::invalid(
                field,
                format!("no offer can send it: {}", why.join("; ")),
            ));
        }
        Ok((plan, offers, lines))
    }

    /// Opens a claim to a supplier by hand, for units of an approved return.
    pub async fn open_claim(&self, scope: Scope, id: OrderId, new: NewClaim) -> Result<(Order, ClaimId), AppError> {
        let made = Made::new();
        let order = self
            .change_order(scope, id, scope.actor(), |order, journal, _| {
                let basis = match order.after_sale.returns.iter().find(|r| r.id == new.return_id) {
                    Some(found) if found.received_at.is_some() => ClaimBasis::ReturnedItem,
                    _ => ClaimBasis::WithoutItem,
                };
                let claim_id =
                    order.open_claim(new.return_id, new.supplier_order_id, new.lines.clone(), basis, journal)?;
                made.set(claim_id);
                Ok(())
            })
            .await?;
        Ok((order, made.take("claim")?))
    }

    /// Moves a claim: submitted to the supplier, accepted with what it gave back
    /// (`recovered`), or rejected.
    pub async fn move_claim(
        &self,
        scope: Scope,
        id: OrderId,
        claim_id: ClaimId,
        event: ClaimEvent,
        recovered: Option<Money>,
    ) -> Result<Order, AppError> {
        self.change_order(scope, id, scope.actor(), |order, journal, _| {
            Ok(order.move_claim(claim_id, event, recovered, journal)?)
        })
        .await
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
