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
    /// Public address of this server, on which the links to customers' tracking pages are
    /// built (`https://track.shop.example`) [default: http://<listen address>]
    #[arg(long, env = "DROPLINE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// SMTP server the outbox's emails go through: `smtp://HOST[:PORT]` (STARTTLS, port 587),
    /// `smtps://HOST[:PORT]` (TLS, 465) or `smtp+plain://HOST[:PORT]` (no TLS: a local relay).
    /// The account comes from DROPLINE_SMTP_USERNAME and DROPLINE_SMTP_PASSWORD. Unset: emails
    /// wait in the outbox
    #[arg(long, env = "DROPLINE_SMTP_URL", value_name = "URL")]
    pub smtp_url: Option<String>,
    /// Folder of the stores' email template overrides (`<dir>/<store id>/<template>.html`,
    /// `.txt`, `.subject.txt`)
    #[arg(long, env = "DROPLINE_TEMPLATES_DIR", value_name = "DIR")]
    pub templates_dir: Option<PathBuf>,
    /// Address of the parcel-tracking service (17TRACK API v2.2); its key comes from
    /// DROPLINE_TRACKING_API_KEY, without which parcels are followed through their suppliers
    #[arg(long, env = "DROPLINE_TRACKING_API_BASE", value_name = "URL")]
    pub tracking_api_base: Option<String>,
    /// Seconds between checks of the orders' clocks (and of the daily digests) [default: 300]
    #[arg(
        long,
        env = "DROPLINE_SCHEDULE_SECS",
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub schedule_secs: Option<u64>,
}

/// Reads `smtp://`, `smtps://` or `smtp+plain://` `HOST[:PORT]`.
pub fn parse_smtp_url(url: &str) -> anyhow::Result<dropline_mail::SmtpConfig> {
    use dropline_mail::{SmtpConfig, TlsMode};
    let (tls, rest) = if let Some(rest) = url.strip_prefix("smtp://") {
        (TlsMode::StartTls, rest)
    } else if let Some(rest) = url.strip_prefix("smtps://") {
        (TlsMode::Tls, rest)
    } else if let Some(rest) = url.strip_prefix("smtp+plain://") {
        (TlsMode::None, rest)
    } else {
        anyhow::bail!("--smtp-url must start with smtp://, smtps:// or smtp+plain://, not {url:?}");
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('@') {
        // Never echoed: it would carry a password into logs and terminals.
        anyhow::bail!("--smtp-url takes no account: set DROPLINE_SMTP_USERNAME and DROPLINE_SMTP_PASSWORD");
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| anyhow::anyhow!("--smtp-url has a bad port {port:?}"))?,
        ),
        None => (rest, tls.default_port()),
    };
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        anyhow::bail!("--smtp-url needs a host name (the account goes in DROPLINE_SMTP_USERNAME/PASSWORD)");
    }
    let mut config = SmtpConfig::new(host);
    config.port = port;
    config.tls = tls;
    Ok(config)
}

impl JobArgs {
    /// The worker's configuration: the flag (or its variable), else the file, else the default.
    pub fn worker_config(&self, settings: &Settings) -> WorkerConfig {
        WorkerConfig {
            lease: self.job_lease_secs.map_or(settings.job_lease, Duration::from_secs),
            schedule_every: Some(Duration::from_secs(self.schedule_secs.unwrap_or(300))),
            ..WorkerConfig::default()
        }
    }

    /// The app, wired to the platforms, suppliers, the SMTP server and the tracking service.
    pub fn app(
        &self,
        settings: &Settings,
        backend: std::sync::Arc<dyn dropline_app::ports::Backend>,
        default_public_url: Option<String>,
    ) -> anyhow::Result<App> {
        let mut app = self.engine(settings, backend);
        let public_url = self.public_url.clone().or(default_public_url);
        if let Some(url) = &public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            anyhow::bail!("--public-url must start with https:// or http://, not {url:?}");
        }
        app = app.with_notify_config(dropline_app::notify::NotifyConfig {
            public_url,
            ..Default::default()
        });
        if let Some(url) = &self.smtp_url {
            let mut config = parse_smtp_url(url)?;
            config.overrides_dir = self.templates_dir.clone();
            if let Ok(username) = std::env::var("DROPLINE_SMTP_USERNAME")
                && !username.is_empty()
            {
                config.credentials = Some(dropline_mail::SmtpCredentials {
                    username,
                    password: std::env::var("DROPLINE_SMTP_PASSWORD").unwrap_or_default(),
                });
            }
            app = app.with_mailer(std::sync::Arc::new(dropline_mail::SmtpMailer::new(config)));
        }
        if let Ok(key) = std::env::var("DROPLINE_TRACKING_API_KEY")
            && !key.trim().is_empty()
        {
            use dropline_connect::tracking_service::{TrackingServiceClient, TrackingServiceConfig};
            let mut config = TrackingServiceConfig::new(key.trim());
            if let Some(base) = &self.tracking_api_base {
                config = config.with_api_base(base.clone());
            }
            let client = TrackingServiceClient::new(config)
                .map_err(|err| anyhow::anyhow!("the tracking service cannot be used: {err}"))?;
            app = app.with_tracking_source(std::sync::Arc::new(client));
        }
        Ok(app)
    }

    /// The engine with the placement settings applied, wired to platforms and suppliers.
    fn engine(&self, settings: &Settings, backend: std::sync::Arc<dyn dropline_app::ports::Backend>) -> App {
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
    let app = args.jobs.app(settings, backend, Some(format!("http://{listen}")))?;
    serve(
        app,
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
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
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
    let worker = Worker::new(
        args.jobs.app(settings, backend, None)?,
        args.jobs.worker_config(settings),
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_mail::TlsMode;

    #[test]
    fn smtp_urls_name_the_protection_and_the_usual_port() {
        let config = parse_smtp_url("smtp://mail.shop.example").expect("url");
        assert_eq!(
            (config.host.as_str(), config.port, config.tls),
            ("mail.shop.example", 587, TlsMode::StartTls)
        );
        let config = parse_smtp_url("smtps://mail.shop.example:2465").expect("url");
        assert_eq!((config.port, config.tls), (2465, TlsMode::Tls));
        let config = parse_smtp_url("smtp+plain://127.0.0.1:2525/").expect("url");
        assert_eq!(
            (config.host.as_str(), config.port, config.tls),
            ("127.0.0.1", 2525, TlsMode::None)
        );
    }

    #[test]
    fn bad_smtp_urls_say_what_is_wrong() {
        for (url, says) in [
            ("http://mail.example", "must start with"),
            ("smtp://mail.example:0", "bad port"),
            ("smtp://mail.example:99999", "bad port"),
            ("smtp://user:secret@mail.example", "takes no account"),
            ("smtp://", "needs a host"),
            ("smtp://me@mail.example", "takes no account"),
            ("smtp://mail example", "needs a host"),
        ] {
            let error = parse_smtp_url(url).expect_err(url).to_string();
            assert!(error.contains(says), "{url}: {error}");
            assert!(!error.contains("secret"), "{url}: a password never shows: {error}");
        }
    }
}
