//! The effective configuration: built-in defaults, then the TOML file, then `DROPLINE_*`
//! environment variables, then flags (clap gives a flag precedence over its variable).
//!
//! The file holds only what is not secret: `data_dir`, `database_url` (put credentials in
//! `DROPLINE_DATABASE_URL` instead) and `listen`. The admin token is never read from it.

use crate::GlobalArgs;
use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The default data directory, relative to where dropline runs.
pub const DEFAULT_DATA_DIR: &str = "dropline-data";
/// The default configuration file, read only when it exists.
pub const DEFAULT_CONFIG_FILE: &str = "dropline.toml";
/// The default listen address of `serve` and `demo`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// What the configuration file may say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    listen: Option<String>,
}

/// The configuration every command starts from.
#[derive(Clone, Debug)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// `None` (or anything that is not `postgres://`) means the embedded SQLite database.
    pub database_url: Option<String>,
    /// The listen address from the file; `serve --listen` / `DROPLINE_LISTEN` win over it.
    pub listen: String,
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
        Ok(Self {
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            database_url,
            listen: file.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("while reading the configuration {}", path.display()))?;
    toml::from_str(&text).map_err(|err| {
        let message = err.message().to_string();
        anyhow::anyhow!("the configuration {} is not valid: {message}", path.display())
    })
}
