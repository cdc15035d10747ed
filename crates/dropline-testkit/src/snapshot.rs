//! Everything a dropline stores, read through the ports, so a test can prove that a refused
//! request wrote nothing: `assert_eq!(before, app.snapshot().await)`.

use dropline_app::App;
use dropline_app::ports::{Message, MessageFilter, OrderFilter, StoreRecord};
use dropline_domain::catalog::{Offer, Product, Supplier};
use dropline_domain::order::Order;
use dropline_domain::timeline::TimelineEvent;

/// The whole stored state (up to 500 orders and messages, plenty for a test).
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub stores: Vec<StoreRecord>,
    pub suppliers: Vec<Supplier>,
    pub products: Vec<Product>,
    pub offers: Vec<Offer>,
    /// Newest first, each with its version.
    pub orders: Vec<Order>,
    /// The timeline of each order of `orders`, in the same order.
    pub timelines: Vec<Vec<TimelineEvent>>,
    pub messages: Vec<Message>,
    pub pending_jobs: u64,
}

impl Snapshot {
    pub(crate) async fn take(app: &App) -> Snapshot {
        let backend = app.backend();
        let orders = backend
            .list_orders(&OrderFilter {
                limit: 500,
                ..OrderFilter::default()
            })
            .await
            .expect("list orders");
        let mut timelines = Vec::with_capacity(orders.len());
        for order in &orders {
            timelines.push(backend.timeline(order.id).await.expect("read a timeline"));
        }
        let mut stores = backend.list_stores().await.expect("list stores");
        stores.sort_by_key(|r| r.store.id);
        let mut suppliers = backend.list_suppliers(None).await.expect("list suppliers");
        suppliers.sort_by_key(|s| s.id);
        let mut products = backend.list_products(None).await.expect("list products");
        products.sort_by_key(|p| p.id);
        let mut offers = backend.list_offers(None).await.expect("list offers");
        offers.sort_by_key(|o| o.id);
        let mut messages = backend
            .list_messages(&MessageFilter {
                limit: 500,
                ..MessageFilter::default()
            })
            .await
            .expect("list messages");
        messages.sort_by_key(|m| m.id);
        Snapshot {
            stores,
            suppliers,
            products,
            offers,
            orders,
            timelines,
            messages,
            pending_jobs: backend.count_pending_jobs().await.expect("count jobs"),
        }
    }

    /// Number of orders.
    pub fn order_count(&self) -> usize {
        self.orders.len()
    }
}
