//! A supplier that accepts an order and never ships it: past its processing deadline the
//! engine asks it to cancel and sends the lines to the next offer.

use crate::support::{
    POLL_HORIZON, accepted_order, cj_store_with, clocked, order, settle, supplier_orders, timeline_kinds,
};
use dropline_sim::CjSim;
use dropline_testkit::TestApp;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

#[tokio::test]
async fn a_missed_processing_deadline_fails_over_on_sqlite() {
    let offset = Arc::new(AtomicI64::new(0));
    let app = TestApp::spawn_with(clocked(offset.clone())).await;
    a_missed_processing_deadline_fails_over(app, offset).await;
}

#[tokio::test]
async fn a_missed_processing_deadline_fails_over_on_postgres() {
    let offset = Arc::new(AtomicI64::new(0));
    match TestApp::spawn_postgres_with(clocked(offset.clone())).await {
        Some(app) => a_missed_processing_deadline_fails_over(app, offset).await,
        None => println!("skipped: {} is not set", dropline_testkit::POSTGRES_URL_VARIABLE),
    }
}

async fn a_missed_processing_deadline_fails_over(app: TestApp, offset: Arc<AtomicI64>) {
    let sim = CjSim::start(51).await.unwrap();
    // CJ takes the order and sits on it (never paid, never shipped).
    sim.set_payment_delay(Duration::from_secs(90 * 86_400));
    let store = cj_store_with(&app, &sim, true, Value::Null, json!({ "processing_deadline_days": 3 })).await;
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;
    assert_eq!(supplier_orders(&app, &order_id).await[0]["request_status"], "accepted");

    // Two days on: within the deadline, nothing moves.
    offset.store(2 * 86_400, Ordering::SeqCst);
    app.run_jobs_ahead(POLL_HORIZON + Duration::from_secs(2 * 86_400)).await;
    assert_eq!(supplier_orders(&app, &order_id).await.len(), 1);

    // Four days on, still no tracking: CJ is asked to cancel, the backup takes the lines.
    offset.store(4 * 86_400, Ordering::SeqCst);
    app.run_jobs_ahead(POLL_HORIZON + Duration::from_secs(4 * 86_400)).await;
    let sos = supplier_orders(&app, &order_id).await;
    assert_eq!(sos.len(), 2, "{sos:#?}");
    assert_eq!(
        sos[0]["placement"]["failure"]["kind"], "missed_deadline",
        "{:#}",
        sos[0]
    );
    assert_eq!(
        sos[0]["status"], "cancelled",
        "CJ accepted the cancellation: {:#}",
        sos[0]
    );
    assert_eq!(sos[0]["request_status"], "cancellation_accepted");
    assert_eq!(sim.orders()[0].status, "CANCELLED");
    assert_eq!(sos[1]["supplier_id"], store.backup_supplier_id.as_deref().unwrap());
    assert_eq!(order(&app, &order_id).await["state"], "in_fulfillment");
    let kinds = timeline_kinds(&app, &order_id).await;
    assert!(kinds.contains(&"supplier_order.failed".to_string()), "{kinds:?}");
    assert!(
        kinds.contains(&"supplier_order.accept_cancellation".to_string()),
        "{kinds:?}"
    );
}
