//! `dropline serve` (the API with the worker in the same process) and `dropline worker`.

use crate::config::Settings;
use crate::database::Database;
use anyhow::Context;
use clap::Args;
use dropline_app::App;
use dropline_app::placement::PlacementConfig;
use dropline_web::WebConfig;
use dropline_worker::{Worker, WorkerConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::watch;

/// File of the generated admin token inside the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";
/// How long in-flight requests get to finish after Ctrl-C.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "DROPLINE_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    #[command(flatten)]
    pub jobs: JobArgs,
}

/// `dropline worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub jobs: JobArgs,
}

/// How the worker runs jobs (`serve` and `worker`).
#[derive(Debug, Args)]
pub struct JobArgs {
    /// Seconds a claimed job stays reserved to its worker; a worker that dies holding a job
    /// keeps it that long before another may run it [default: 60]
    #[arg(
        long,
        env = "DROPLINE_JOB_LEASE_SECS",
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=crate::config::MAX_JOB_LEASE_SECS)
    )]
    pub job_lease_secs: Option<u64>,
    /// First retry delay, in milliseconds, of a failed supplier call (doubled per attempt,
    /// with jitter) [default: 2000]
    #[arg(
        long,
        env = "DROPLINE_PLACEMENT_BACKOFF_MS",
        value_name = "MS",
        value_parser = clap::value_parser!(u64).range(1..=crate::config::MAX_PLACEMENT_BACKOFF_MS)
    )]
    pub placement_backoff_ms: Option<u64>,
}

impl JobArgs {
    /// The worker's configuration: the flag (or its variable), else the file, else the default.
    pub fn worker_config(&self, settings: &Settings) -> WorkerConfig {
        WorkerConfig {
            lease: self.job_lease_secs.map_or(settings.job_lease, Duration::from_secs),
            ..WorkerConfig::default()
        }
    }

    /// The app, wired to the platforms and suppliers, with the placement settings applied.
    pub fn app(&self, settings: &Settings, backend: std::sync::Arc<dyn dropline_app::ports::Backend>) -> App {
        let base_backoff = self
            .placement_backoff_ms
            .map_or(settings.placement_backoff, Duration::from_millis);
        let defaults = PlacementConfig::default();
        let placement = PlacementConfig {
            base_backoff,
            max_backoff: defaults.max_backoff.max(base_backoff),
            ..defaults
        };
        dropline_connect::connected(App::new(backend)).with_placement_config(placement)
    }
}

/// The operator's admin token and where it came from.
pub struct AdminToken {
    pub token: String,
    /// Generated now (first start): print it, once.
    pub generated: bool,
    /// The file it is kept in, when it is not from the environment.
    pub file: Option<PathBuf>,
}

/// `DROPLINE_ADMIN_TOKEN`, else `<data-dir>/admin-token`, else a new token written there (0600).
pub fn admin_token(data_dir: &Path) -> anyhow::Result<AdminToken> {
    if let Ok(token) = std::env::var("DROPLINE_ADMIN_TOKEN")
        && !token.trim().is_empty()
    {
        return Ok(AdminToken {
            token: token.trim().to_string(),
            generated: false,
            file: None,
        });
    }
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => {
            return Ok(AdminToken {
                token: text.trim().to_string(),
                generated: false,
                file: Some(path),
            });
        }
        Ok(_) => anyhow::bail!(
            "the admin token file {} is empty: delete it to get a new token",
            path.display()
        ),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("while reading {}", path.display())),
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("while creating {}", data_dir.display()))?;
    let token = dropline_app::token::new_token();
    write_secret(&path, &token).with_context(|| format!("while writing {}", path.display()))?;
    Ok(AdminToken {
        token,
        generated: true,
        file: Some(path),
    })
}

fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// `dropline serve`.
pub async fn run_serve(settings: &Settings, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let database = Database::from_settings(settings)?;
    let backend = database.open().await?;
    let admin = admin_token(&settings.data_dir)?;
    if admin.generated
        && let Some(file) = &admin.file
    {
        println!("admin token (shown once, kept in {}): {}", file.display(), admin.token);
    }
    let listen = args.listen.unwrap_or_else(|| settings.listen.clone());
    tracing::info!(database = %database.describe(), "database ready");
    serve(
        args.jobs.app(settings, backend),
        args.jobs.worker_config(settings),
        &listen,
        admin.token,
        |address| {
            println!("dropline is listening on http://{address} (Ctrl-C to stop)");
        },
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Serves the API and runs the worker until Ctrl-C (or SIGTERM), then stops accepting,
/// lets requests in flight finish, and stops the worker after its current pass.
pub async fn serve(
    app: App,
    worker_config: WorkerConfig,
    listen: &str,
    admin_token: String,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("while listening on {listen}"))?;
    let address = listener.local_addr().context("while reading the listen address")?;
    let router = dropline_web::router(app.clone(), WebConfig { admin_token });

    // One switch stops both: the worker after its current pass, the server once requests
    // in flight are answered.
    let (shutdown, shutdown_rx) = watch::channel(false);
    let shutdown = std::sync::Arc::new(shutdown);
    let worker = Worker::new(app, worker_config);
    let worker_task = tokio::spawn({
        let shutdown_rx = shutdown_rx.clone();
        async move { worker.run(shutdown_rx).await }
    });
    on_listening(address);
    tracing::info!(%address, "serving");

    let signal_shutdown = shutdown.clone();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests in flight and the worker's current jobs");
        let _ = signal_shutdown.send(true);
    });
    let server = async move { server.await.context("while serving HTTP") };
    let mut drain_rx = shutdown_rx;
    let drained = async move {
        // After the signal, connections get a bounded time to finish.
        let _ = drain_rx.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(DRAIN_TIMEOUT).await;
    };
    let result = tokio::select! {
        result = server => result,
        () = drained => {
            tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}: closing them");
            Ok(())
        }
    };
    let _ = shutdown.send(true);
    worker_task.await.context("the worker task failed")?;
    tracing::info!("stopped");
    result
}

/// `dropline worker`.
pub async fn run_worker(settings: &Settings, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let database = Database::from_settings(settings)?;
    let backend = database.open().await?;
    let worker = Worker::new(args.jobs.app(settings, backend), args.jobs.worker_config(settings));
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(async move { worker.run(stopped).await });
    tracing::info!(database = %database.describe(), "worker running (Ctrl-C to stop)");
    shutdown_signal().await;
    tracing::info!("stopping: finishing the jobs in hand");
    let _ = stop.send(true);
    task.await.context("the worker task failed")?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
