//! Use cases of stores connected to a storefront platform: receiving their webhooks,
//! writing fulfillment back, pulling the catalogue, and managing the connection.

use crate::catalog_cache::StoreContext;
use crate::error::{AppError, FieldError};
use crate::jobs::{self, JobKind, StorefrontStatus};
use crate::ports::{CatalogImport, ChangeSet, DeliveryRecord, Job, OrderWrite, StoreError, StoreRecord};
use crate::scope::Scope;
use crate::service::{App, CONFLICT_RETRIES, IngestOutcome, Ingested};
use crate::storefront::{
    FulfillmentPush, PushLine, RefundLine, RefundPush, ShopInfo, StatusPush, StorefrontError, StorefrontTarget,
    Verified, WebhookError, WebhookRequest, WebhookTopic,
};
use dropline_domain::after_sale::Refund;
use dropline_domain::catalog::{MAX_WEBHOOK_SECRETS, Platform, Product, Store as Shop, StoreConnection, Variant};
use dropline_domain::ids::{OrderId, ProductId, RefundId, ShipmentId, StoreId, VariantId};
use dropline_domain::order::{ExceptionKind, Order, Shipment, SuggestedAction};
use dropline_domain::state::SupplierOrderStatus;
use dropline_domain::timeline::{Actor, Journal};
use std::sync::Arc;

/// What a webhook delivery came to (every one of these answers 200).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The platform's unsigned reachability check.
    Ping,
    /// A topic dropline does not act on; nothing written.
    Ignored { topic: String },
    /// This delivery was handled before; nothing written.
    Duplicate,
    /// The order was created or updated (or nothing changed: `changed` and `created` false).
    Order(IngestOutcome),
}

/// Platforms whose orders arrive by webhook and get fulfillment written back.
pub fn is_connected_platform(platform: Platform) -> bool {
    matches!(platform, Platform::Shopify | Platform::Woocommerce | Platform::Wix)
}

impl App {
    /// Receives a webhook of `platform` for a store: the signature is checked on the raw
    /// body first (nothing is parsed before), then the delivery is parsed, deduplicated by
    /// its delivery id and by the order's external id, and applied. Returns only after what
    /// it changed is durable.
    pub async fn receive_webhook(
        &self,
        platform: Platform,
        store_id: StoreId,
        request: WebhookRequest<'_>,
    ) -> Result<WebhookOutcome, AppError> {
        let format = self
            .webhook_formats
            .iter()
            .find(|f| f.platform() == platform)
            .cloned()
            .ok_or(AppError::NotFound("platform"))?;
        let context = self.store_context(Scope::Operator, store_id).await?;
        if context.store.platform != platform {
            return Err(AppError::NotFound("store"));
        }
        if context.connection.webhook_secrets.is_empty() {
            return Err(AppError::Unauthorized("the store has no webhook secret".into()));
        }
        match format.verify(&request, &context.connection.webhook_secrets) {
            Ok(Verified::Signed) => {}
            Ok(Verified::UnsignedPing) => return Ok(WebhookOutcome::Ping),
            Err(err) => return Err(webhook_error(err)),
        }
        let delivery = format.parse(&request).map_err(webhook_error)?;
        let record = delivery.delivery_id.as_ref().map(|id| DeliveryRecord {
            store_id,
            delivery_id: id.clone(),
            received_at: self.now(),
        });
        // A redelivery is not looked up first (that read would cost every delivery): the
        // delivery id is written with the change it causes, and a redelivery's change set is
        // refused by the store, which is when the id is looked up.
        let Some(incoming) = delivery.order else {
            if delivery.topic == WebhookTopic::OrderCancelled
                && let Some(reference) = &delivery.order_ref
            {
                return self.cancel_by_reference(&context, platform, reference, record).await;
            }
            let topic = match delivery.topic {
                WebhookTopic::Other(topic) => topic,
                other => format!("{other:?}"),
            };
            return Ok(WebhookOutcome::Ignored { topic });
        };
        let cancel = delivery.topic == WebhookTopic::OrderCancelled || incoming.cancelled_at.is_some();
        let actor = Actor::Storefront(platform.to_string());
        match self.ingest(&context, incoming, actor, record, cancel).await? {
            Ingested::Done(outcome) => Ok(WebhookOutcome::Order(outcome)),
            Ingested::DuplicateDelivery => Ok(WebhookOutcome::Duplicate),
        }
    }

    /// A cancellation that names the order without carrying it: the order (if dropline has
    /// it) is cancelled with its open supplier orders; an unknown order is ignored.
    async fn cancel_by_reference(
        &self,
        context: &StoreContext,
        platform: Platform,
        external_id: &str,
        record: Option<DeliveryRecord>,
    ) -> Result<WebhookOutcome, AppError> {
        let mut attempt = 0;
        loop {
            let Some(mut order) = self.backend.order_by_external_id(context.store.id, external_id).await? else {
                return Ok(WebhookOutcome::Ignored {
                    topic: format!("cancellation of unknown order {external_id}"),
                });
            };
            let mut journal = Journal::new(order.id, Actor::Storefront(platform.to_string()), self.now());
            let before = order.clone();
            let changed = crate::service::cancel_in_place(&mut order, &mut journal)?;
            let mut cancellations = ChangeSet::default();
            self.push_cancellation_jobs(&mut cancellations, &before, &order);
            let outcome = IngestOutcome {
                order_id: order.id,
                created: false,
                changed,
                state: order.state,
                routed: false,
            };
            if !changed {
                return Ok(WebhookOutcome::Order(outcome));
            }
            self.add_order_notices(&before, &mut order, &mut cancellations).await?;
            let changes = ChangeSet {
                timeline: journal.events,
                orders: vec![OrderWrite::Update(order)],
                deliveries: record.clone().into_iter().collect(),
                jobs: cancellations.jobs,
                messages: cancellations.messages,
                ..ChangeSet::default()
            };
            match self.backend.commit(changes).await {
                Ok(()) => return Ok(WebhookOutcome::Order(outcome)),
                Err(StoreError::Conflict(_)) if attempt < CONFLICT_RETRIES => {
                    if let Some(record) = &record
                        && self.backend.delivery_seen(record.store_id, &record.delivery_id).await?
                    {
                        return Ok(WebhookOutcome::Duplicate);
                    }
                    attempt += 1;
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Replaces a store's platform connection. Webhook secrets: at most two (the new one
    /// first, the old one while the platform still signs with it).
    pub async fn update_store_connection(
        &self,
        scope: Scope,
        store_id: StoreId,
        connection: StoreConnection,
    ) -> Result<StoreRecord, AppError> {
        let mut record = self.get_store(scope, store_id).await?;
        let errors = check_connection(&connection);
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        self.backend
            .update_store_connection(store_id, connection.clone())
            .await?;
        self.catalog.forget_store(store_id);
        record.connection = connection;
        Ok(record)
    }

    /// Checks the store's credentials against its platform.
    pub async fn test_store_connection(&self, scope: Scope, store_id: StoreId) -> Result<ShopInfo, AppError> {
        let record = self.get_store(scope, store_id).await?;
        let client = self.storefront_client()?;
        let target = target_of(&record.store, &record.connection)?;
        client.check(&target).await.map_err(|err| match err {
            // Asked now, by a person: refused credentials are the answer, not "try later".
            StorefrontError::Unauthorized(reason) => AppError::PartnerRefused(format!("credentials refused: {reason}")),
            other => partner_error(other),
        })
    }

    /// Starts pulling the store's catalogue from its platform (a durable job, page by page).
    pub async fn pull_catalog(&self, scope: Scope, store_id: StoreId) -> Result<(), AppError> {
        let record = self.get_store(scope, store_id).await?;
        target_of(&record.store, &record.connection)?;
        let changes = ChangeSet {
            jobs: vec![jobs::catalog_pull_job(store_id, None, self.now())],
            ..ChangeSet::default()
        };
        Ok(self.backend.commit(changes).await?)
    }

    /// Pulls one page of a store's catalogue now and imports it; returns what the import did
    /// and the next page's cursor.
    pub async fn import_catalog_page(
        &self,
        scope: Scope,
        store_id: StoreId,
        cursor: Option<&str>,
    ) -> Result<(CatalogImport, Option<String>), AppError> {
        let record = self.get_store(scope, store_id).await?;
        let target = target_of(&record.store, &record.connection)?;
        let page = self
            .storefront_client()?
            .products_page(&target, cursor)
            .await
            .map_err(partner_error)?;
        let platform = record.store.platform;
        let products: Vec<Product> = page
            .products
            .into_iter()
            .map(|remote| {
                let product_id = ProductId::new();
                Product {
                    collections: Vec::new(),
                    id: product_id,
                    store_id,
                    title: remote.title,
                    platform_product_id: Some(remote.platform_product_id),
                    variants: remote
                        .variants
                        .into_iter()
                        .map(|v| Variant {
                            id: VariantId::new(),
                            product_id,
                            // A variant without a SKU still needs one to be mapped by hand.
                            sku: if v.sku.trim().is_empty() {
                                format!("{platform}-{}", v.platform_variant_id)
                            } else {
                                v.sku
                            },
                            title: v.title,
                            price: v.price,
                            platform_variant_id: Some(v.platform_variant_id),
                        })
                        .collect(),
                }
            })
            .collect();
        let import = self.backend.import_products(store_id, products).await?;
        self.catalog.forget_store(store_id);
        Ok((import, page.next))
    }

    fn storefront_client(&self) -> Result<std::sync::Arc<dyn crate::storefront::StorefrontClient>, AppError> {
        self.storefronts
            .clone()
            .ok_or_else(|| AppError::PartnerRefused("no storefront client configured".into()))
    }

    /// Runs a storefront job (write-back or catalogue pull).
    pub(crate) async fn run_storefront_job(&self, job: &Job, kind: JobKind) -> Result<(), AppError> {
        match kind {
            JobKind::StorefrontFulfillment { order_id, shipment_id } => {
                self.write_fulfillment(job, order_id, shipment_id).await
            }
            JobKind::StorefrontStatus { order_id, status } => self.write_status(job, order_id, status).await,
            JobKind::StorefrontRefund { order_id, refund_id } => self.write_refund(job, order_id, refund_id).await,
            JobKind::CatalogPull { store_id, cursor } => {
                let (_, next) = self
                    .import_catalog_page(Scope::Operator, store_id, cursor.as_deref())
                    .await?;
                let mut changes = ChangeSet {
                    finished_jobs: vec![job.id],
                    ..ChangeSet::default()
                };
                if let Some(next) = next {
                    changes
                        .jobs
                        .push(jobs::catalog_pull_job(store_id, Some(&next), self.now()));
                }
                Ok(self.backend.commit(changes).await?)
            }
            JobKind::RouteOrder { .. }
            | JobKind::SendMessage { .. }
            | JobKind::PollTracking { .. }
            | JobKind::PlaceSupplierOrder { .. }
            | JobKind::SyncSupplierOrder { .. }
            | JobKind::CancelAtSupplier { .. }
            | JobKind::ReconcileSupplier { .. }
            | JobKind::StockSync { .. } => Err(AppError::invalid("kind", "not a storefront job")),
        }
    }

    /// The order, its store (from the catalogue cache) and the store's target, or `None`
    /// when the store is not connected to a platform that takes write-back (then the job
    /// has nothing to do).
    async fn write_back_target(
        &self,
        order_id: OrderId,
    ) -> Result<Option<(Order, Arc<StoreContext>, StorefrontTarget)>, AppError> {
        let Some(order) = self.backend.get_order(order_id).await? else {
            return Ok(None);
        };
        let context = self.store_context(Scope::Operator, order.store_id).await?;
        if !is_connected_platform(context.store.platform) || order.test {
            return Ok(None);
        }
        let target = target_of(&context.store, &context.connection)?;
        Ok(Some((order, context, target)))
    }

    async fn write_fulfillment(&self, job: &Job, order_id: OrderId, shipment_id: ShipmentId) -> Result<(), AppError> {
        let Some((order, store, target)) = self.write_back_target(order_id).await? else {
            return self.finish_job(job).await;
        };
        let Some((supplier_order, shipment)) = order
            .supplier_orders
            .iter()
            .find_map(|so| so.shipments.iter().find(|s| s.id == shipment_id).map(|s| (so, s)))
        else {
            return self.finish_job(job).await;
        };
        let lines = supplier_order
            .lines
            .iter()
            .filter_map(|l| {
                order
                    .lines
                    .iter()
                    .find(|line| line.id == l.line_item_id)
                    .map(|line| (l, line))
            })
            .map(|(l, line)| PushLine {
                external_id: line.external_id.clone(),
                sku: line.sku.clone(),
                quantity: l.quantity,
            })
            .collect();
        let fully_shipped = order
            .supplier_orders
            .iter()
            .all(|so| !so.shipments.is_empty() || so.state.status == SupplierOrderStatus::Cancelled);
        let push = FulfillmentPush {
            order_external_id: order.external_id.clone(),
            lines,
            tracking_number: shipment.tracking_number.clone(),
            carrier: shipment.carrier.clone(),
            tracking_url: shipment.tracking_url.clone(),
            notify_customer: store.store.settings.storefront_notifies_customer,
            order_fully_shipped: fully_shipped,
            replaces_tracking_number: replaced_tracking_number(&supplier_order.shipments, shipment_id),
        };
        self.storefront_client()?
            .push_fulfillment(&target, &push)
            .await
            .map_err(partner_error)?;
        self.finish_with_entry(
            job,
            &order,
            "storefront.fulfillment_written",
            format!(
                "Fulfillment with tracking {} ({}) written to {}",
                push.tracking_number, push.carrier, target.platform
            ),
        )
        .await
    }

    async fn write_status(&self, job: &Job, order_id: OrderId, status: StorefrontStatus) -> Result<(), AppError> {
        let Some((order, _, target)) = self.write_back_target(order_id).await? else {
            return self.finish_job(job).await;
        };
        let (push, message) = match status {
            StorefrontStatus::Delivered { tracking_number } => (
                StatusPush::Delivered {
                    tracking_number: tracking_number.clone(),
                },
                if target.platform == Platform::Wix {
                    format!("Delivery of {tracking_number}: Wix orders have no delivered status, nothing written")
                } else {
                    format!("Delivery of {tracking_number} written to {}", target.platform)
                },
            ),
            StorefrontStatus::Cancelled => (
                StatusPush::Cancelled {
                    reason: "cancelled by the seller".into(),
                },
                format!("Cancellation written to {}", target.platform),
            ),
        };
        self.storefront_client()?
            .push_status(&target, &order.external_id, &push)
            .await
            .map_err(partner_error)?;
        self.finish_with_entry(job, &order, "storefront.status_written", message)
            .await
    }

    /// Makes a refund dropline issued on the storefront, once: a refund that already carries
    /// the platform's id is not pushed again, and the connector looks the refund up by its key
    /// before it sends it (a retry after a lost answer finds it). A refusal for good gives
    /// up: the order gets a timeline entry and an exception for the seller, who refunds on the
    /// platform by hand; the refund stays recorded in dropline either way.
    async fn write_refund(&self, job: &Job, order_id: OrderId, refund_id: RefundId) -> Result<(), AppError> {
        let Some((order, store, target)) = self.write_back_target(order_id).await? else {
            return self.finish_job(job).await;
        };
        let Some(refund) = order.after_sale.refunds.iter().find(|r| r.id == refund_id) else {
            return self.finish_job(job).await;
        };
        if refund.storefront_refund_id.is_some() {
            return self.finish_job(job).await;
        }
        let push = refund_push(&order, refund, store.store.settings.storefront_notifies_customer);
        let platform = target.platform;
        let amount = refund.amount;
        match self.storefront_client()?.push_refund(&target, &push).await {
            Ok(receipt) => {
                self.change_order_as_worker(order_id, Some(job), |order, journal, _| {
                    let Some(refund) = order.after_sale.refunds.iter_mut().find(|r| r.id == refund_id) else {
                        return Ok(());
                    };
                    if refund.storefront_refund_id.is_some() {
                        return Ok(());
                    }
                    refund.storefront_refund_id = Some(receipt.platform_refund_id.clone());
                    let found = if receipt.found_existing {
                        " (found there by its key after an unanswered try)"
                    } else {
                        ""
                    };
                    journal.record(
                        "storefront.refund_written",
                        format!(
                            "Refund of {amount} taken by {platform}: its refund {}{found}",
                            receipt.platform_refund_id
                        ),
                        None,
                        None,
                    );
                    Ok(())
                })
                .await?;
                Ok(())
            }
            Err(StorefrontError::Refused(reason) | StorefrontError::NotConfigured(reason)) => {
                self.change_order_as_worker(order_id, Some(job), |order, journal, _| {
                    journal.record(
                        "storefront.refund_refused",
                        format!("{platform} refused the refund of {amount}: {reason}"),
                        None,
                        None,
                    );
                    order.raise_exception(
                        ExceptionKind::StorefrontRefundRefused,
                        format!(
                            "refund {refund_id} of {amount} was not made on {platform} ({reason}): refund the customer there by hand"
                        ),
                        SuggestedAction::Refund,
                        journal,
                    );
                    Ok(())
                })
                .await?;
                Ok(())
            }
            Err(other) => Err(partner_error(other)),
        }
    }

    async fn finish_with_entry(&self, job: &Job, order: &Order, kind: &str, message: String) -> Result<(), AppError> {
        let mut journal = Journal::new(order.id, Actor::Worker, self.now());
        journal.record(kind, message, None, None);
        let changes = ChangeSet {
            timeline: journal.events,
            finished_jobs: vec![job.id],
            ..ChangeSet::default()
        };
        Ok(self.backend.commit(changes).await?)
    }
}

/// The refund as the storefront is told it: the order's platform line ids for the units
/// refunded, each with what those units sold for.
fn refund_push(order: &Order, refund: &Refund, notify_customer: bool) -> RefundPush {
    let lines = refund
        .lines
        .iter()
        .filter_map(|units| {
            let line = order.lines.iter().find(|line| line.id == units.line_item_id)?;
            Some(RefundLine {
                external_id: line.external_id.clone(),
                sku: line.sku.clone(),
                quantity: units.quantity,
                // The refund's own checks bound it by what was paid: no overflow here.
                amount: line.unit_price.checked_mul(units.quantity).ok()?,
            })
        })
        .collect();
    RefundPush {
        order_external_id: order.external_id.clone(),
        idempotency_key: refund.id.to_string(),
        amount: refund.amount,
        reason: refund.reason.clone(),
        lines,
        notify_customer,
    }
}

/// The `storefront_refund` jobs of a change: one per refund the change added, for an order of
/// a store on a platform (a REST or CSV store keeps the refund recorded only; a test order of
/// the storefront is never written back). Enqueued in the change set of the refund itself.
pub(crate) fn push_refund_jobs(
    store: &Shop,
    before: &Order,
    after: &Order,
    changes: &mut ChangeSet,
    now: time::OffsetDateTime,
) {
    if !is_connected_platform(store.platform) || after.test {
        return;
    }
    for refund in &after.after_sale.refunds {
        if !before.after_sale.refunds.iter().any(|known| known.id == refund.id) {
            changes.jobs.push(jobs::storefront_refund_job(after, refund.id, now));
        }
    }
}

pub(crate) fn target_of(store: &Shop, connection: &StoreConnection) -> Result<StorefrontTarget, AppError> {
    if !is_connected_platform(store.platform) {
        return Err(AppError::invalid(
            "platform",
            format!("a {} store has no platform to call", store.platform),
        ));
    }
    Ok(StorefrontTarget {
        platform: store.platform,
        connection: connection.clone(),
        currency: store.currency,
    })
}

fn webhook_error(err: WebhookError) -> AppError {
    match err {
        WebhookError::Unauthorized(reason) => AppError::Unauthorized(reason),
        WebhookError::BadPayload { field, reason } => AppError::Invalid(vec![FieldError::new(field, reason)]),
    }
}

pub(crate) fn partner_error(err: StorefrontError) -> AppError {
    match err {
        StorefrontError::RateLimited { retry_after } => AppError::RetryLater {
            reason: "rate limited by the platform".into(),
            after: retry_after,
        },
        StorefrontError::Unavailable(reason) | StorefrontError::BadResponse(reason) => {
            AppError::RetryLater { reason, after: None }
        }
        // Credentials may be fixed by the seller meanwhile: retried with backoff too.
        StorefrontError::Unauthorized(reason) => AppError::RetryLater {
            reason: format!("credentials refused: {reason}"),
            after: None,
        },
        StorefrontError::Refused(reason) => AppError::PartnerRefused(reason),
        StorefrontError::NotConfigured(reason) => AppError::PartnerRefused(format!("not configured: {reason}")),
    }
}

/// Checks a connection's fields; an empty list means it is fine.
pub(crate) fn check_connection(connection: &StoreConnection) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if connection.webhook_secrets.len() > MAX_WEBHOOK_SECRETS {
        errors.push(FieldError::new(
            "webhook_secrets",
            format!("at most {MAX_WEBHOOK_SECRETS} (the new one and the one being retired)"),
        ));
    }
    for (i, secret) in connection.webhook_secrets.iter().enumerate() {
        if secret.trim().len() < 8 {
            errors.push(FieldError::new(
                format!("webhook_secrets[{i}]"),
                "must be at least 8 characters",
            ));
        }
    }
    if let Some(domain) = &connection.domain {
        let ok = !domain.is_empty()
            && domain.len() <= 253
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
            && domain.contains('.');
        if !ok {
            errors.push(FieldError::new(
                "domain",
                "must be a host name such as example.myshopify.com (no scheme, no path)",
            ));
        }
    }
    if let Some(base) = &connection.api_base
        && !(base.starts_with("http://") || base.starts_with("https://"))
    {
        errors.push(FieldError::new("api_base", "must start with http:// or https://"));
    }
    for (field, value) in [
        ("access_token", &connection.access_token),
        ("api_key", &connection.api_key),
        ("api_secret", &connection.api_secret),
    ] {
        if value.as_ref().is_some_and(|v| v.trim().is_empty()) {
            errors.push(FieldError::new(field, "must not be empty when given"));
        }
    }
    errors
}

/// The tracking number of the failed parcel that `shipment_id` replaces: the latest earlier
/// parcel of the same supplier order that failed to arrive and carries another number. The
/// domain keeps no explicit link, but a reship always adds its parcel after the failed one.
fn replaced_tracking_number(shipments: &[Shipment], shipment_id: ShipmentId) -> Option<String> {
    let position = shipments.iter().position(|s| s.id == shipment_id)?;
    let current = &shipments[position];
    shipments[..position]
        .iter()
        .rev()
        .find(|s| s.state.is_failure() && s.tracking_number != current.tracking_number)
        .map(|s| s.tracking_number.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::address::{Address, Customer};
    use dropline_domain::after_sale::LineUnits;
    use dropline_domain::catalog::StoreSettings;
    use dropline_domain::money::{Currency, Money};
    use dropline_domain::order::{IncomingLine, IncomingOrder};
    use dropline_domain::state::{PaymentState, ShipmentState};
    use dropline_domain::timeline::Actor;
    use time::macros::datetime;

    const NOW: time::OffsetDateTime = datetime!(2026-11-10 09:00 UTC);

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("USD"))
    }

    fn shop(platform: Platform) -> Shop {
        Shop {
            id: StoreId::new(),
            name: "Lumen & Co".into(),
            platform,
            currency: Currency::parse("USD").expect("USD"),
            address: None,
            settings: StoreSettings::default(),
        }
    }

    /// A paid order of two lines: the first came with the platform's line id, the second
    /// without one.
    fn paid_order(store: &Shop, test: bool) -> Order {
        let line = |external_id: Option<&str>, sku: &str, quantity, price| IncomingLine {
            external_id: external_id.map(str::to_string),
            sku: sku.into(),
            title: sku.into(),
            variant_title: None,
            quantity,
            unit_price: usd(price),
            requires_shipping: true,
            platform_product_id: None,
            platform_variant_id: None,
            fulfillable_quantity: None,
        };
        let incoming = IncomingOrder {
            external_id: "450789469".into(),
            number: "#1001".into(),
            customer: Customer {
                name: "Grace Hopper".into(),
                email: Some("grace@example.com".into()),
                phone: None,
            },
            shipping_address: Address {
                first_name: "Grace".into(),
                last_name: "Hopper".into(),
                address1: "1 Main St".into(),
                city: "Springfield".into(),
                postal_code: "62701".into(),
                country_code: "US".into(),
                region: Some("IL".into()),
                ..Address::default()
            },
            lines: vec![
                line(Some("466157049"), "MUG", 2, 1_250),
                line(None, "GIFT-WRAP", 1, 300),
            ],
            currency: Currency::parse("USD").expect("USD"),
            shipping_total: usd(0),
            payment: PaymentState::Paid,
            placed_at: NOW,
            test,
            cancelled_at: None,
            source_updated_at: None,
            charged_total: None,
            discount_total: None,
            tax_total: None,
            shipping_method: None,
        };
        let mut journal = Journal::new(OrderId::new(), Actor::System, NOW);
        Order::receive(store.id, incoming, |_| None, &mut journal).expect("order")
    }

    fn refund(order: &mut Order, amount: Money, lines: Vec<LineUnits>) -> RefundId {
        let mut journal = Journal::new(order.id, Actor::System, NOW);
        order
            .refund(amount, "arrived broken".into(), lines, None, &mut journal)
            .expect("a refund")
    }

    #[test]
    fn a_new_refund_of_a_platform_store_gets_one_job_and_a_rest_store_none() {
        for platform in [
            Platform::Shopify,
            Platform::Woocommerce,
            Platform::Wix,
            Platform::Api,
            Platform::Csv,
        ] {
            let store = shop(platform);
            let before = paid_order(&store, false);
            let mut after = before.clone();
            let refund_id = refund(&mut after, usd(1_000), Vec::new());
            let mut changes = ChangeSet::default();
            push_refund_jobs(&store, &before, &after, &mut changes, NOW);
            if is_connected_platform(platform) {
                assert_eq!(changes.jobs.len(), 1, "{platform}");
                let job = &changes.jobs[0];
                assert_eq!(job.kind, jobs::STOREFRONT_REFUND);
                assert_eq!(job.store_id, Some(store.id));
                let parsed = jobs::JobKind::parse(&Job {
                    id: job.id,
                    kind: job.kind.clone(),
                    payload: job.payload.clone(),
                    attempts: 0,
                    run_after: job.run_after,
                    store_id: job.store_id,
                    last_error: None,
                })
                .expect("a job dropline reads back");
                assert_eq!(
                    parsed,
                    jobs::JobKind::StorefrontRefund {
                        order_id: after.id,
                        refund_id
                    }
                );
            } else {
                assert!(changes.jobs.is_empty(), "{platform} keeps the refund recorded only");
            }

            // A later change of the order (the refund already known) adds no job.
            let mut later = ChangeSet::default();
            push_refund_jobs(&store, &after, &after, &mut later, NOW);
            assert!(later.jobs.is_empty(), "{platform}");
        }
    }

    #[test]
    fn a_test_order_of_the_storefront_is_never_refunded_there() {
        let store = shop(Platform::Shopify);
        let before = paid_order(&store, true);
        let mut after = before.clone();
        refund(&mut after, usd(500), Vec::new());
        let mut changes = ChangeSet::default();
        push_refund_jobs(&store, &before, &after, &mut changes, NOW);
        assert!(changes.jobs.is_empty());
    }

    #[test]
    fn the_push_names_the_platform_lines_and_what_they_sold_for() {
        let store = shop(Platform::Woocommerce);
        let mut order = paid_order(&store, false);
        let units = vec![
            LineUnits {
                line_item_id: order.lines[0].id,
                quantity: 2,
            },
            LineUnits {
                line_item_id: order.lines[1].id,
                quantity: 1,
            },
        ];
        let refund_id = refund(&mut order, usd(2_800), units);
        let refund = order
            .after_sale
            .refunds
            .iter()
            .find(|r| r.id == refund_id)
            .expect("the refund");
        assert_eq!(refund.storefront_refund_id, None, "not pushed yet");
        let push = refund_push(&order, refund, false);
        assert_eq!(
            push,
            RefundPush {
                order_external_id: "450789469".into(),
                idempotency_key: refund_id.to_string(),
                amount: usd(2_800),
                reason: "arrived broken".into(),
                lines: vec![
                    RefundLine {
                        external_id: Some("466157049".into()),
                        sku: "MUG".into(),
                        quantity: 2,
                        amount: usd(2_500),
                    },
                    RefundLine {
                        external_id: None,
                        sku: "GIFT-WRAP".into(),
                        quantity: 1,
                        amount: usd(300),
                    },
                ],
                notify_customer: false,
            }
        );
    }

    fn parcel(number: &str, state: ShipmentState) -> Shipment {
        Shipment {
            id: ShipmentId::new(),
            carrier: "USPS".into(),
            tracking_number: number.into(),
            tracking_url: None,
            state,
            events: Vec::new(),
            shipped_at: None,
            delivered_at: None,
            carrier_code: None,
            expected_window: None,
            last_checked_at: None,
            first_scan_at: None,
        }
    }

    #[test]
    fn a_reshipped_parcel_names_the_failed_one() {
        let failed = parcel("9400", ShipmentState::AttemptFailed);
        let new = parcel("9401", ShipmentState::InfoReceived);
        let shipments = vec![failed, new.clone()];
        assert_eq!(replaced_tracking_number(&shipments, new.id).as_deref(), Some("9400"));
    }

    #[test]
    fn the_latest_failure_is_the_one_replaced() {
        let first = parcel("A1", ShipmentState::ReturnedToSender);
        let second = parcel("A2", ShipmentState::Exception);
        let third = parcel("A3", ShipmentState::InTransit);
        let shipments = vec![first, second, third.clone()];
        assert_eq!(replaced_tracking_number(&shipments, third.id).as_deref(), Some("A2"));
    }

    #[test]
    fn a_first_or_extra_parcel_replaces_nothing() {
        let only = parcel("B1", ShipmentState::InfoReceived);
        assert_eq!(replaced_tracking_number(std::slice::from_ref(&only), only.id), None);

        // A second parcel next to a live one is a split shipment, not a replacement.
        let live = parcel("C1", ShipmentState::InTransit);
        let extra = parcel("C2", ShipmentState::InfoReceived);
        let shipments = vec![live, extra.clone()];
        assert_eq!(replaced_tracking_number(&shipments, extra.id), None);
    }

    #[test]
    fn a_failure_with_the_same_number_or_an_unknown_parcel_replaces_nothing() {
        let failed = parcel("D1", ShipmentState::AttemptFailed);
        let same = parcel("D1", ShipmentState::InfoReceived);
        let shipments = vec![failed.clone(), same.clone()];
        assert_eq!(replaced_tracking_number(&shipments, same.id), None);
        // The failed parcel itself replaces nothing, and an unknown id finds nothing.
        assert_eq!(replaced_tracking_number(&shipments, failed.id), None);
        assert_eq!(replaced_tracking_number(&shipments, ShipmentId::new()), None);
    }
}
