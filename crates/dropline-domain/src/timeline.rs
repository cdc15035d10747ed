//! The timeline: every applied event of an order, with who did it and when. It is the
//! audit trail and the dashboard's history view.

use crate::ids::{OrderId, TimelineEventId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Who caused an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Actor {
    /// dropline itself (validation, derived states).
    System,
    /// A store rule (automatic acceptance and the like).
    Rule(String),
    /// The seller or vendor, through the API, CLI or dashboard.
    Seller(String),
    /// The marketplace operator.
    Operator,
    /// The storefront or importer that sent the order.
    Storefront(String),
    /// The background worker running a job.
    Worker,
    /// The customer, from the tracking page (a return request).
    Customer,
}

/// One entry of an order's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub id: TimelineEventId,
    pub order_id: OrderId,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Actor,
    /// Stable code of what happened, e.g. `order.accepted`, `supplier_order.shipped`.
    pub kind: String,
    /// Human summary.
    pub message: String,
    /// State before, where a state machine moved.
    #[serde(default)]
    pub from_state: Option<String>,
    /// State after, where a state machine moved.
    #[serde(default)]
    pub to_state: Option<String>,
}

/// Collects the timeline entries of one change, all by one actor at one time. Every
/// mutating method of [`crate::order::Order`] takes a journal, so no state moves without
/// its entry.
#[derive(Clone, Debug)]
pub struct Journal {
    pub order_id: OrderId,
    pub actor: Actor,
    pub at: OffsetDateTime,
    pub events: Vec<TimelineEvent>,
}

impl Journal {
    /// An empty journal for a change of `order_id`.
    pub fn new(order_id: OrderId, actor: Actor, at: OffsetDateTime) -> Self {
        Self {
            order_id,
            actor,
            at,
            events: Vec::new(),
        }
    }

    /// Records one entry.
    pub fn record(
        &mut self,
        kind: &str,
        message: impl Into<String>,
        from_state: Option<String>,
        to_state: Option<String>,
    ) {
        self.events.push(TimelineEvent {
            id: TimelineEventId::new(),
            order_id: self.order_id,
            at: self.at,
            actor: self.actor.clone(),
            kind: kind.to_string(),
            message: message.into(),
            from_state,
            to_state,
        });
    }
}
