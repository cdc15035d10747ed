//! Reminders the worker's schedule writes ahead of a deadline: the seller's one email when
//! the evidence of a dispute still waiting for an answer is due within
//! [`DISPUTE_REMINDER_WINDOW`].
//!
//! The disputes are found through the open-exception listing (`dispute_needs_response`, one
//! per unanswered dispute), never by reading every order; a dispute answered, won or lost
//! has no open exception, so it is never reminded of. Each reminder's dedupe key names its
//! dispute (`dispute_due:{dispute}`), so however often the schedule runs, and on however
//! many workers, the seller gets one.

use crate::error::AppError;
use crate::notify::Notices;
use crate::ports::{ChangeSet, ExceptionFilter, MessageFilter, StoreRecord};
use crate::service::App;
use dropline_domain::after_sale::Dispute;
use dropline_domain::ids::{OrderId, StoreId};
use dropline_domain::ledger::DisputeState;
use dropline_domain::order::{ExceptionKind, Order};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// How long before a dispute's evidence is due the seller is reminded: the same for every
/// store (processors give days, not hours, and three days leave time to gather evidence).
pub const DISPUTE_REMINDER_WINDOW: time::Duration = time::Duration::hours(72);

/// The template of the reminder.
pub const DISPUTE_DUE_TEMPLATE: &str = "seller_dispute_due";

/// Open exceptions read per page.
const PAGE: u32 = 200;

/// The dedupe key of the reminder of a dispute: one per dispute, ever.
pub fn dispute_due_key(dispute: &Dispute) -> String {
    format!("dispute_due:{}", dispute.id)
}

/// Whether `dispute` is to be reminded of at `now`: still waiting for an answer, due in the
/// future and within the window.
pub fn dispute_due_soon(dispute: &Dispute, now: OffsetDateTime) -> bool {
    dispute.state == DisputeState::NeedsResponse
        && dispute.due_at > now
        && dispute.due_at - now <= DISPUTE_REMINDER_WINDOW
}

/// What the reminder tells: the dispute, the hours left, and links to the order page and
/// the dispute's evidence page when the public address is known.
pub fn dispute_due_data(public_url: Option<&str>, order: &Order, dispute: &Dispute, now: OffsetDateTime) -> Value {
    let base = public_url.map(|url| url.trim_end_matches('/'));
    let order_url = base.map(|base| format!("{base}/orders/{}", order.id));
    let evidence_url = order_url
        .as_ref()
        .map(|url| format!("{url}/disputes/{}/evidence", dispute.id));
    json!({
        "dispute": {
            "id": dispute.id,
            "amount": dispute.amount.to_string(),
            "reason_code": dispute.reason_code,
            "due_at": dispute.due_at.format(&time::format_description::well_known::Rfc3339).ok(),
            "hours_left": (dispute.due_at - now).whole_hours(),
            "evidence_url": evidence_url,
        },
        "dashboard_url": order_url,
    })
}

impl App {
    /// Writes the reminder of every dispute still waiting for an answer whose evidence is
    /// due within [`DISPUTE_REMINDER_WINDOW`] (where the store's seller notifications ask
    /// for needs-attention emails). Idempotent: returns the number of reminders written by
    /// this call, 0 for those already in the outbox.
    pub async fn send_dispute_reminders(&self) -> Result<u32, AppError> {
        let now = self.now();
        let mut written = 0;
        let mut stores: HashMap<StoreId, Option<StoreRecord>> = HashMap::new();
        let mut seen: HashSet<OrderId> = HashSet::new();
        let mut after = None;
        loop {
            let page = self
                .backend
                .list_exceptions(&ExceptionFilter {
                    kind: Some(ExceptionKind::DisputeNeedsResponse),
                    after,
                    limit: PAGE,
                    ..ExceptionFilter::default()
                })
                .await?;
            for entry in &page {
                // An order with several disputes is read once: all its disputes are looked at.
                if !seen.insert(entry.order_id) {
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(slot) = stores.entry(entry.store_id) {
                    slot.insert(self.backend.get_store(entry.store_id).await?);
                }
                let Some(Some(record)) = stores.get(&entry.store_id) else {
                    continue;
                };
                let settings = &record.store.settings.seller_notifications;
                if !settings.needs_attention || settings.email.is_none() {
                    continue;
                }
                written += self.remind_disputes_of(record, entry.order_id, now).await?;
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = Some((last.raised_at, last.order_id)),
                _ => break,
            }
        }
        Ok(written)
    }

    /// The reminders of one order's disputes due soon that are not in the outbox yet.
    async fn remind_disputes_of(
        &self,
        record: &StoreRecord,
        order_id: OrderId,
        now: OffsetDateTime,
    ) -> Result<u32, AppError> {
        let Some(order) = self.backend.get_order(order_id).await? else {
            return Ok(0);
        };
        let due: Vec<&Dispute> = order
            .after_sale
            .disputes
            .iter()
            .filter(|d| dispute_due_soon(d, now))
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        // Already written: no new message (the outbox would drop it), and no send job for it.
        let sent: HashSet<String> = self
            .backend
            .list_messages(&MessageFilter {
                order_id: Some(order.id),
                template: Some(DISPUTE_DUE_TEMPLATE.to_string()),
                limit: 500,
                ..MessageFilter::default()
            })
            .await?
            .into_iter()
            .filter_map(|m| m.dedupe_key)
            .collect();
        let notices = Notices {
            store: &record.store,
            public_url: self.public_url(),
            now,
        };
        let mut changes = ChangeSet::default();
        let mut written = 0;
        for dispute in due {
            let key = dispute_due_key(dispute);
            if sent.contains(&key) {
                continue;
            }
            let data = dispute_due_data(self.public_url(), &order, dispute, now);
            if let Some(message) = notices.seller(Some(&order), DISPUTE_DUE_TEMPLATE, key, data) {
                self.push_message(&mut changes, message);
                written += 1;
            }
        }
        if written > 0 {
            self.backend.commit(changes).await?;
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::ids::DisputeId;
    use dropline_domain::money::{Currency, Money};

    fn dispute(state: DisputeState, due_at: OffsetDateTime) -> Dispute {
        Dispute {
            id: DisputeId::new(),
            amount: Money::new(2000, Currency::parse("USD").expect("currency")),
            reason_code: "fraudulent".into(),
            due_at,
            state,
            opened_at: due_at - time::Duration::days(10),
            closed_at: None,
        }
    }

    #[test]
    fn only_an_unanswered_dispute_due_within_the_window_is_reminded_of() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(100);
        let hours = time::Duration::hours;
        let check = |state, due| dispute_due_soon(&dispute(state, now + due), now);
        assert!(!check(DisputeState::NeedsResponse, hours(73)));
        assert!(check(DisputeState::NeedsResponse, hours(72)));
        assert!(check(DisputeState::NeedsResponse, hours(1)));
        assert!(
            !check(DisputeState::NeedsResponse, hours(0)),
            "past due: too late to remind"
        );
        for answered in [DisputeState::UnderReview, DisputeState::Won, DisputeState::Lost] {
            assert!(!check(answered, hours(24)));
        }
    }
}
