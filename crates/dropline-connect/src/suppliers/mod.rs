//! The engine's supplier port ([`SupplierClient`]) over the suppliers' APIs: CJ Dropshipping
//! ([`cj`]) and AliExpress ([`aliexpress`]). Agents, warehouses and manual suppliers are not
//! placed through an API ([`SupplierClient::places`] says no), so the engine leaves them to
//! the spreadsheet and manual flows.
//!
//! [`HttpSuppliers`] keeps one API client per supplier (with its tokens), built from the
//! supplier's connection and rebuilt when the connection changes.

pub mod aliexpress;
pub mod cj;

use async_trait::async_trait;
use dropline_app::supplier::{
    CancelOutcome, PlaceRequest, RemoteOrder, RemoteOrderPage, StockLevel, SupplierClient, SupplierError,
    SupplierProduct, TrackingEvent,
};
use dropline_domain::catalog::{Offer, Supplier, SupplierConnection, SupplierKind};
use dropline_domain::ids::SupplierId;
use dropline_domain::order::SupplierOrder;
use dropline_domain::submission::Quote;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Clients of one kind, one per supplier, rebuilt when the supplier's connection changes.
struct Pool<C> {
    clients: Mutex<HashMap<SupplierId, (SupplierConnection, Arc<C>)>>,
}

impl<C> Default for Pool<C> {
    fn default() -> Self {
        Self {
            clients: Mutex::new(HashMap::new()),
        }
    }
}

impl<C> Pool<C> {
    fn get(
        &self,
        supplier: &Supplier,
        build: impl FnOnce(&SupplierConnection) -> Result<C, SupplierError>,
    ) -> Result<Arc<C>, SupplierError> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((connection, client)) = clients.get(&supplier.id)
            && *connection == supplier.connection
        {
            return Ok(client.clone());
        }
        let client = Arc::new(build(&supplier.connection)?);
        clients.insert(supplier.id, (supplier.connection.clone(), client.clone()));
        Ok(client)
    }
}

/// Suppliers reached over HTTPS: CJ and AliExpress.
pub struct HttpSuppliers {
    timeout: Duration,
    cj: Pool<crate::cj::client::CjClient>,
    aliexpress: Pool<crate::aliexpress::client::AliExpressClient>,
}

impl Default for HttpSuppliers {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpSuppliers {
    /// How long one supplier call may take by default.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// The client of every API supplier.
    pub fn new() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            cj: Pool::default(),
            aliexpress: Pool::default(),
        }
    }

    /// The same with another limit per call (tests make it short to provoke time-outs).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn cj(&self, supplier: &Supplier) -> Result<Arc<crate::cj::client::CjClient>, SupplierError> {
        let timeout = self.timeout;
        self.cj.get(supplier, |connection| cj::build(connection, timeout))
    }

    fn aliexpress(
        &self,
        supplier: &Supplier,
    ) -> Result<Arc<crate::aliexpress::client::AliExpressClient>, SupplierError> {
        let timeout = self.timeout;
        self.aliexpress
            .get(supplier, |connection| aliexpress::build(connection, timeout))
    }
}

fn not_placed(kind: SupplierKind) -> SupplierError {
    SupplierError::Misconfigured(format!("{kind} suppliers are not reached through an API"))
}

#[async_trait]
impl SupplierClient for HttpSuppliers {
    fn places(&self, kind: SupplierKind) -> bool {
        matches!(kind, SupplierKind::Cj | SupplierKind::Aliexpress)
    }

    fn resend_window(&self, kind: SupplierKind) -> Option<Duration> {
        // AliExpress refuses a second order under one `out_order_id` for 24 hours; an hour
        // is kept in hand for clocks and slow queues.
        (kind == SupplierKind::Aliexpress)
            .then(|| crate::aliexpress::client::IDEMPOTENCY_WINDOW.saturating_sub(Duration::from_secs(3600)))
    }

    fn lists_orders(&self, kind: SupplierKind) -> bool {
        kind == SupplierKind::Cj
    }

    async fn quote(&self, supplier: &Supplier, order: &SupplierOrder) -> Result<Quote, SupplierError> {
        match supplier.kind {
            SupplierKind::Cj => cj::quote(&*self.cj(supplier)?, supplier, order).await,
            SupplierKind::Aliexpress => aliexpress::quote(&*self.aliexpress(supplier)?, order).await,
            other => Err(not_placed(other)),
        }
    }

    async fn place(&self, supplier: &Supplier, request: &PlaceRequest) -> Result<RemoteOrder, SupplierError> {
        match supplier.kind {
            SupplierKind::Cj => cj::place(&*self.cj(supplier)?, supplier, request).await,
            SupplierKind::Aliexpress => aliexpress::place(&*self.aliexpress(supplier)?, request).await,
            other => Err(not_placed(other)),
        }
    }

    async fn find(&self, supplier: &Supplier, key: &str) -> Result<Option<RemoteOrder>, SupplierError> {
        match supplier.kind {
            SupplierKind::Cj => cj::find(&*self.cj(supplier)?, key).await,
            SupplierKind::Aliexpress => aliexpress::find(&*self.aliexpress(supplier)?, key).await,
            other => Err(not_placed(other)),
        }
    }

    async fn status(&self, supplier: &Supplier, reference: &str) -> Result<Option<RemoteOrder>, SupplierError> {
        match supplier.kind {
            SupplierKind::Cj => cj::status(&*self.cj(supplier)?, reference).await,
            SupplierKind::Aliexpress => aliexpress::status(&*self.aliexpress(supplier)?, reference).await,
            other => Err(not_placed(other)),
        }
    }

    async fn cancel(&self, supplier: &Supplier, reference: &str) -> Result<CancelOutcome, SupplierError> {
        match supplier.kind {
            SupplierKind::Cj => cj::cancel(&*self.cj(supplier)?, reference).await,
            SupplierKind::Aliexpress => aliexpress::cancel(&*self.aliexpress(supplier)?, reference).await,
            other => Err(not_placed(other)),
        }
    }

    async fn tracking(
        &self,
        supplier: &Supplier,
        reference: &str,
        tracking_number: &str,
        destination: &str,
    ) -> Result<Vec<TrackingEvent>, SupplierError> {
        match supplier.kind {
            SupplierKind::Cj => cj::tracking(&*self.cj(supplier)?, tracking_number).await,
            SupplierKind::Aliexpress => {
                aliexpress::tracking(&*self.aliexpress(supplier)?, reference, tracking_number, destination).await
            }
            other => Err(not_placed(other)),
        }
    }

    async fn stock(&self, supplier: &Supplier, offers: &[Offer]) -> Result<Vec<StockLevel>, SupplierError> {
        match supplier.kind {
            SupplierKind::Cj => cj::stock(&*self.cj(supplier)?, offers).await,
            SupplierKind::Aliexpress => aliexpress::stock(&*self.aliexpress(supplier)?, offers).await,
            other => Err(not_placed(other)),
        }
    }

    async fn list_orders(&self, supplier: &Supplier, page: u32) -> Result<RemoteOrderPage, SupplierError> {
        match supplier.kind {
            SupplierKind::Cj => cj::list_orders(&*self.cj(supplier)?, page).await,
            SupplierKind::Aliexpress => aliexpress::list_orders(&*self.aliexpress(supplier)?, page).await,
            other => Err(not_placed(other)),
        }
    }

    fn read_webhook(
        &self,
        supplier: &Supplier,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<dropline_app::supplier::SupplierNotice, dropline_app::supplier::SupplierWebhookError> {
        match supplier.kind {
            SupplierKind::Cj => crate::cj::webhook::read(headers, body, supplier.connection.webhook_secret.as_deref()),
            other => Err(dropline_app::supplier::SupplierWebhookError::Unsupported(format!(
                "{other} suppliers send no webhooks dropline reads"
            ))),
        }
    }

    async fn product(&self, supplier: &Supplier, product_id: &str) -> Result<Option<SupplierProduct>, SupplierError> {
        match supplier.kind {
            SupplierKind::Cj => cj::product(&*self.cj(supplier)?, product_id).await,
            SupplierKind::Aliexpress => aliexpress::product(&*self.aliexpress(supplier)?, product_id).await,
            other => Err(SupplierError::Misconfigured(format!(
                "{other} suppliers have no catalogue to import from"
            ))),
        }
    }
}

/// Text for the supplier's remark: the order number and the store's note (never prices).
pub(crate) fn remark(request: &PlaceRequest) -> String {
    match request.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(note) => format!("{} / {note}", request.order_number),
        None => request.order_number.clone(),
    }
}
