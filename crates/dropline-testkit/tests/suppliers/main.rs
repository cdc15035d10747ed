//! Supplier orders placed through suppliers' APIs, end to end over real HTTP: a real dropline
//! (`TestApp`) and simulated suppliers (`dropline-sim`: CJ, AliExpress) on local ports.
//! Placement exactly once under every fault, the checks before submitting, failover,
//! following an order to delivery, cancellation and reconciliation.

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
                    super::$name(dropline_testkit::TestApp::spawn_with(crate::support::configure).await).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    match dropline_testkit::TestApp::spawn_postgres_with(crate::support::configure).await {
                        Some(app) => super::$name(app).await,
                        None => println!("skipped: {} is not set", dropline_testkit::POSTGRES_URL_VARIABLE),
                    }
                }
            )+
        }
    };
}

mod agent;
mod aliexpress;
mod cj;
mod deadline;
mod faults;
mod support;
mod warehouse;
