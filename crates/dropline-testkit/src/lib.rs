//! A real dropline for tests: [`TestApp::spawn`] serves the real router on `127.0.0.1:0`
//! over a fresh SQLite file in a temporary directory (or, with [`TestApp::spawn_postgres`],
//! a fresh PostgreSQL schema), with an admin token, a reqwest client, helpers per endpoint
//! ([`Api`]), data builders ([`data`]), a deterministic job drain
//! ([`TestApp::run_pending_jobs`]) and a full-state [`Snapshot`] to prove that a refused
//! request wrote nothing.
//!
//! Test code only: it never ships in a binary. Panics are the error handling here: a
//! failed set-up is a failed test, with its message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod browser;
mod client;
mod clock;
pub mod data;
mod postgres;
pub mod smtp;
mod snapshot;

pub use client::{Api, TestResponse};
pub use clock::Clock;
pub use data::Seeded;
pub use snapshot::Snapshot;

use dropline_app::App;
use dropline_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use dropline_web::{WebConfig, router};
use dropline_worker::{PassReport, Worker, WorkerConfig};
use std::any::Any;
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::sync::oneshot;

/// The admin token of every test app.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Passes of [`TestApp::run_jobs_ahead`] at most.
pub const AHEAD_PASSES: usize = 12;

/// The environment variable naming the PostgreSQL server of the PostgreSQL tests.
pub const POSTGRES_URL_VARIABLE: &str = "DROPLINE_TEST_POSTGRES_URL";

/// A running dropline: router, database, worker and an HTTP client.
pub struct TestApp {
    base_url: String,
    http: reqwest::Client,
    app: App,
    worker: Worker,
    shutdown: Option<oneshot::Sender<()>>,
    // Last: the database outlives the server that uses it.
    _database: Box<dyn Any + Send + Sync>,
}

impl TestApp {
    /// A fresh dropline on SQLite (a new file in a temporary directory).
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|app| app).await
    }

    /// A fresh dropline on SQLite whose engine `configure` adjusts (placement settings,
    /// supplier client with a short time-out, ...).
    pub async fn spawn_with(configure: impl FnOnce(App) -> App) -> TestApp {
        init_tracing();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let options = SqliteOptions {
            // Tests need no power-cut safety; NORMAL keeps them fast.
            synchronous: Synchronous::Normal,
            read_connections: 2,
            ..SqliteOptions::default()
        };
        let store = SqliteStore::open(&dir.path().join("dropline.db"), options).expect("open the SQLite store");
        Self::start(
            configure(dropline_connect::connected(App::new(Arc::new(store)))),
            Box::new(dir),
        )
        .await
    }

    /// A fresh dropline on PostgreSQL (a new schema of the database named by
    /// `DROPLINE_TEST_POSTGRES_URL`, dropped afterwards), or `None` when that is unset.
    pub async fn spawn_postgres() -> Option<TestApp> {
        Self::spawn_postgres_with(|app| app).await
    }

    /// [`Self::spawn_postgres`] with an engine `configure` adjusts.
    pub async fn spawn_postgres_with(configure: impl FnOnce(App) -> App) -> Option<TestApp> {
        init_tracing();
        let url = std::env::var(POSTGRES_URL_VARIABLE)
            .ok()
            .filter(|url| !url.is_empty())?;
        let (store, guard) = postgres::isolated_store(&url).await;
        Some(
            Self::start(
                configure(dropline_connect::connected(App::new(Arc::new(store)))),
                Box::new(guard),
            )
            .await,
        )
    }

    async fn start(app: App, database: Box<dyn Any + Send + Sync>) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("the bound address");
        let routes = router(
            app.clone(),
            WebConfig {
                admin_token: ADMIN_TOKEN.to_string(),
            },
        );
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serving = axum::serve(
                listener,
                routes.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(err) = serving.await {
                eprintln!("test server stopped: {err}");
            }
        });
        dropline_connect::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        let worker = Worker::new(
            app.clone(),
            WorkerConfig {
                name: "testkit".into(),
                ..WorkerConfig::default()
            },
        );
        TestApp {
            base_url: format!("http://{address}"),
            http,
            app,
            worker,
            shutdown: Some(shutdown),
            _database: database,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The use cases behind the server, to inspect state directly.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Requests with the operator's admin token.
    pub fn admin(&self) -> Api<'_> {
        Api::new(self, Some(ADMIN_TOKEN.to_string()))
    }

    /// Requests with a store's token (or any token at all).
    pub fn with_token(&self, token: &str) -> Api<'_> {
        Api::new(self, Some(token.to_string()))
    }

    /// Requests without a token.
    pub fn anonymous(&self) -> Api<'_> {
        Api::new(self, None)
    }

    /// Runs every due job until none is left (routing), deterministically. Panics
    /// when a job failed: in tests a failing job is a bug.
    pub async fn run_pending_jobs(&self) -> PassReport {
        let report = self.worker.run_until_idle().await.expect("run the pending jobs");
        if report.retried > 0 || report.buried > 0 {
            let buried = self.app.backend().list_buried_jobs(20).await.unwrap_or_default();
            panic!("jobs failed: {report:?}; buried: {buried:#?}");
        }
        report
    }

    /// Runs the jobs due `ahead` from now (scheduled polls, retries) as if that time had
    /// come, pass after pass until none is due then, at most [`AHEAD_PASSES`] passes: a job
    /// that schedules its next run within the horizon (a poll) would otherwise run forever.
    /// Panics when a job failed.
    pub async fn run_jobs_ahead(&self, ahead: Duration) -> PassReport {
        let at = time::OffsetDateTime::now_utc() + time::Duration::try_from(ahead).expect("a short duration");
        let mut total = PassReport::default();
        for _ in 0..AHEAD_PASSES {
            let pass = self.worker.run_pass_at(at).await.expect("run the jobs");
            if pass.retried > 0 || pass.buried > 0 {
                let buried = self.app.backend().list_buried_jobs(20).await.unwrap_or_default();
                panic!("jobs failed: {pass:?}; buried: {buried:#?}");
            }
            if pass.claimed() == 0 {
                return total;
            }
            total.succeeded += pass.succeeded;
        }
        total
    }

    /// Everything stored, to compare before and after a request that must write nothing.
    pub async fn snapshot(&self) -> Snapshot {
        Snapshot::take(&self.app).await
    }

    /// A store with a manual supplier, a product with two variants each with an offer
    /// (with a product page URL), created over HTTP with the admin token.
    pub async fn seed(&self) -> Seeded {
        data::seed(self).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Tracing output only with `TEST_LOG=1`.
fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug")),
                )
                .with_test_writer()
                .try_init();
        }
    });
}
