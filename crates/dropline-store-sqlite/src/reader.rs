//! A small pool of read-only connections. In WAL mode readers never wait for the writer, so
//! reads run beside the writer thread, each on a blocking thread of the runtime.

use crate::sql::SqlResult;
use dropline_app::ports::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Semaphore;

/// At most `size` read connections, opened on first need and kept.
pub(crate) struct ReadPool {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    /// A pool of `size` connections to `path`; one is opened now so that a bad file fails early.
    pub(crate) fn open(path: &Path, size: usize, busy_timeout: Duration) -> Result<Self, StoreError> {
        let pool = Self {
            path: path.to_path_buf(),
            busy_timeout,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Arc::new(Semaphore::new(size.max(1))),
        };
        let first = pool.connect()?;
        pool.lock().push(first);
        Ok(pool)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Connection>> {
        // A connection list is valid whatever panicked while it was held.
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags).store()?;
        conn.busy_timeout(self.busy_timeout).store()?;
        conn.pragma_update(None, "cache_size", -8192).store()?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Runs `work` on a read connection, on a blocking thread.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite read pool is closed".into()))?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let idle = pool.lock().pop();
            let conn = match idle {
                Some(conn) => conn,
                None => pool.connect()?,
            };
            let result = work(&conn);
            pool.lock().push(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Other(format!("an SQLite read failed: {e}")))?
    }
}
