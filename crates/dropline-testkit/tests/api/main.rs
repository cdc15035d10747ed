//! The REST API over HTTP against a real dropline (`TestApp`): the order journey, the manual
//! supplier flow, every bad-input rule, store isolation on every route, and the OpenAPI
//! document. One test binary; each test has its own app and database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Declares each test twice: on SQLite always, and on PostgreSQL when
/// `DROPLINE_TEST_POSTGRES_URL` is set (printing that it was skipped otherwise). Each test is
/// an `async fn name(app: TestApp)` of the module that invokes this.
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(dropline_testkit::TestApp::spawn().await).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    match dropline_testkit::TestApp::spawn_postgres().await {
                        Some(app) => super::$name(app).await,
                        None => println!("skipped: {} is not set", dropline_testkit::POSTGRES_URL_VARIABLE),
                    }
                }
            )+
        }
    };
}

mod after_sale;
mod auth;
mod bad_input;
mod catalogue;
mod customer_journey;
mod dashboard;
mod dashboard_catalogue;
mod dashboard_orders;
mod dashboard_overview;
mod dashboard_settings;
mod dashboard_stock;
mod dispute_reminders;
mod exchange_rates;
mod isolation;
mod manual_flow;
mod metrics_breakdown;
mod notifications;
mod openapi;
mod order_money;
mod orders;
mod payouts;
mod reservations;
mod return_rules;
mod store_settings;
mod tracking_detect;
mod webhooks;

use serde_json::Value;

/// The `id` of a JSON object.
pub fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_string()
}

/// The ids of a listing's items under `key`.
pub fn ids_in(value: &Value, key: &str) -> Vec<String> {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("no list '{key}' in {value}"))
        .iter()
        .map(id_of)
        .collect()
}

/// The strings of a JSON array.
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}
