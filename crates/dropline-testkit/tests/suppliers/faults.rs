//! The fault matrix: every fault of the CJ simulator at every step of placement (the quote's
//! variant and freight calls, the creation, the look-up by key and the detail read), alone
//! and after a lost creation. Afterwards every order has exactly one CJ order under its key
//! and no CJ order exists that dropline does not know: zero duplicates, zero lost.

use crate::support::{accepted_order, cj_store, settle, supplier_orders};
use dropline_sim::CjSim;
use dropline_sim::supplier::cj::Fault;
use dropline_testkit::TestApp;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

backend_tests!(every_fault_at_every_step_places_each_order_exactly_once);

const STEPS: [&str; 4] = [
    "/product/variant/queryByVid",
    "/logistic/freightCalculate",
    "/shopping/order/createOrderV2",
    "/shopping/order/getOrderDetail",
];

fn faults() -> Vec<(&'static str, Fault)> {
    vec![
        ("500", Fault::ServerError),
        (
            "429",
            Fault::RateLimited {
                retry_after_secs: Some(1),
            },
        ),
        ("malformed", Fault::Malformed),
        // Longer than the engine's time-out for a supplier call: the work is done, the
        // answer comes too late.
        ("timeout", Fault::Delay(Duration::from_millis(900))),
        ("lost answer", Fault::LoseResponse),
    ]
}

async fn every_fault_at_every_step_places_each_order_exactly_once(app: TestApp) {
    let sim = CjSim::start(31).await.unwrap();
    let store = cj_store(&app, &sim, false, Value::Null).await;
    let mut cases: Vec<(String, Vec<(&str, Fault)>)> = Vec::new();
    for step in STEPS {
        for (name, fault) in faults() {
            cases.push((format!("{name} at {step}"), vec![(step, fault)]));
        }
    }
    // A lost creation, then each fault on the look-up that must come before any resend.
    for (name, fault) in faults() {
        cases.push((
            format!("lost creation, then {name} at the look-up"),
            vec![
                (STEPS[2], Fault::LoseResponse),
                (STEPS[3], fault.clone()),
                (STEPS[3], fault),
            ],
        ));
    }
    // Three failures in a row at the creation, none of which created the order.
    cases.push((
        "500, 429 and lost answer at the creation".into(),
        vec![
            (STEPS[2], Fault::ServerError),
            (
                STEPS[2],
                Fault::RateLimited {
                    retry_after_secs: Some(1),
                },
            ),
            (STEPS[2], Fault::LoseResponse),
        ],
    ));

    let mut keys = HashMap::new();
    for (case, faults) in &cases {
        sim.clear_faults();
        for (step, fault) in faults {
            sim.fault_on(step, fault.clone());
        }
        let order_id = accepted_order(&app, &store.order()).await;
        settle(&app).await;
        // A delayed answer may still be on its way; let it land before the next case.
        tokio::time::sleep(Duration::from_millis(600)).await;
        settle(&app).await;
        assert_eq!(sim.pending_faults(), 0, "{case}: every fault was met");
        let sos = supplier_orders(&app, &order_id).await;
        assert_eq!(sos.len(), 1, "{case}: {sos:#?}");
        let so = &sos[0];
        assert_eq!(so["request_status"], "accepted", "{case}: {so:#}");
        let key = so["placement"]["idempotency_key"].as_str().unwrap().to_string();
        let at_cj: Vec<_> = sim.orders().into_iter().filter(|o| o.order_number == key).collect();
        assert_eq!(at_cj.len(), 1, "{case}: CJ holds {} orders under {key}", at_cj.len());
        assert_eq!(so["supplier_reference"], at_cj[0].order_id.as_str(), "{case}");
        keys.insert(key, case.clone());
    }
    let at_cj = sim.orders();
    assert_eq!(at_cj.len(), cases.len(), "one CJ order per order, no more");
    for placed in &at_cj {
        assert!(
            keys.contains_key(&placed.order_number),
            "CJ holds order {} under {} that dropline does not know",
            placed.order_id,
            placed.order_number
        );
    }
}
