//! The storefront connectors end to end over real HTTP: a real dropline (`TestApp`) and a
//! simulated Shopify, WooCommerce or Wix store (`dropline-sim`) on local ports, each calling
//! the other as the real platform would. Per platform: the connection check, the catalogue
//! pull, orders arriving by webhook (duplicated, out of order, cancelled), and shipments,
//! deliveries and cancellations written back by durable jobs, also through a rate limit.
//! Each test has its own app, database and simulator.

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

mod listings;
mod shopify;
mod support;
mod wix;
mod woocommerce;
