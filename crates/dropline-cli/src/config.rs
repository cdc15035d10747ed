//! The effective configuration: built-in defaults, then the TOML file, then `DROPLINE_*`
//! environment variables, then flags (clap gives a flag precedence over its variable).
//!
//! The file holds only what is not secret: `data_dir`, `database_url` (put credentials in
//! `DROPLINE_DATABASE_URL` instead), `listen`, and how the worker runs jobs (`job_lease_secs`,
//! `placement_backoff_ms`). The admin token is never read from it.

use crate::GlobalArgs;
use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default data directory, relative to where dropline runs.
pub const DEFAULT_DATA_DIR: &str = "dropline-data";
/// The default configuration file, read only when it exists.
pub const DEFAULT_CONFIG_FILE: &str = "dropline.toml";
/// The default listen address of `serve` and `demo`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// How long a job claimed by a worker stays reserved to it, by default: a worker that died
/// holding it keeps it that long before another worker may run it.
pub const DEFAULT_JOB_LEASE_SECS: u64 = 60;
/// The first retry delay of a failed supplier call, by default (doubled per attempt, with
/// jitter).
pub const DEFAULT_PLACEMENT_BACKOFF_MS: u64 = 2_000;
/// The longest job lease: a day.
pub const MAX_JOB_LEASE_SECS: u64 = 86_400;
/// The longest first retry delay: an hour (the longest retry delay of all).
pub const MAX_PLACEMENT_BACKOFF_MS: u64 = 3_600_000;

/// What the configuration file may say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    listen: Option<String>,
    job_lease_secs: Option<u64>,
    placement_backoff_ms: Option<u64>,
}

/// The configuration every command starts from.
#[derive(Clone, Debug)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// `None` (or anything that is not `postgres://`) means the embedded SQLite database.
    pub database_url: Option<String>,
    /// The listen address from the file; `serve --listen` / `DROPLINE_LISTEN` win over it.
    pub listen: String,
    /// The job lease from the file; `--job-lease-secs` / `DROPLINE_JOB_LEASE_SECS` win over it.
    pub job_lease: Duration,
    /// The first supplier retry delay from the file; `--placement-backoff-ms` /
    /// `DROPLINE_PLACEMENT_BACKOFF_MS` win over it.
    pub placement_backoff: Duration,
}

impl Settings {
    /// Merges the layers.
    pub fn resolve(args: &GlobalArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => read_file(Path::new(DEFAULT_CONFIG_FILE))?,
            None => FileSettings::default(),
        };
        let database_url = args
            .database_url
            .clone()
            .or(file.database_url)
            .filter(|url| !url.trim().is_empty());
        let job_lease_secs = file.job_lease_secs.unwrap_or(DEFAULT_JOB_LEASE_SECS);
        let placement_backoff_ms = file.placement_backoff_ms.unwrap_or(DEFAULT_PLACEMENT_BACKOFF_MS);
        Ok(Self {
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            database_url,
            listen: file.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
            job_lease: Duration::from_secs(job_lease_secs),
            placement_backoff: Duration::from_millis(placement_backoff_ms),
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("while reading the configuration {}", path.display()))?;
    let file: FileSettings = toml::from_str(&text).map_err(|err| {
        let message = err.message().to_string();
        anyhow::anyhow!("the configuration {} is not valid: {message}", path.display())
    })?;
    let in_range = |value: Option<u64>, max: u64| value.is_none_or(|v| (1..=max).contains(&v));
    if !in_range(file.job_lease_secs, MAX_JOB_LEASE_SECS) {
        anyhow::bail!(
            "the configuration {} is not valid: job_lease_secs must be from 1 to {MAX_JOB_LEASE_SECS}",
            path.display()
        );
    }
    if !in_range(file.placement_backoff_ms, MAX_PLACEMENT_BACKOFF_MS) {
        anyhow::bail!(
            "the configuration {} is not valid: placement_backoff_ms must be from 1 to {MAX_PLACEMENT_BACKOFF_MS}",
            path.display()
        );
    }
    Ok(file)
}
