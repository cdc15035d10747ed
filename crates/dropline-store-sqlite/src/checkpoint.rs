//! The checkpointer: a thread with its own connection that copies the WAL back into the
//! database file, so the writer thread never spends its time (and its disk flushes) on it.
//!
//! It runs PASSIVE checkpoints, which never block the writer or readers. When the writer
//! starts a batch after a checkpoint caught up with the whole WAL, SQLite starts the WAL over,
//! so the file stays small. Should the WAL still grow past a bound (readers pinning old
//! snapshots under constant writes), a RESTART checkpoint waits for a quiet moment and resets it.

use dropline_app::ports::StoreError;
use rusqlite::Connection;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the checkpointer looks at the WAL.
const INTERVAL: Duration = Duration::from_millis(100);

/// WAL frames (pages) past which a blocking RESTART checkpoint resets the WAL.
const RESTART_FRAMES: i64 = 64 * 1024;

/// The handle of the checkpointer thread; dropping it stops the thread.
pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing with `conn`, a read-write connection to the database.
    pub(crate) fn start(conn: Connection) -> Result<Self, StoreError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("dropline-ckpt".into())
            .spawn(move || run(&conn, &signal))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite checkpoint thread: {e}")))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the SQLite checkpoint thread panicked");
        }
    }
}

fn checkpoint(conn: &Connection, mode: &str) -> Result<(i64, i64), rusqlite::Error> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    })
}

fn run(conn: &Connection, stop: &(Mutex<bool>, Condvar)) {
    let (stopped, wake) = stop;
    loop {
        {
            let guard = stopped.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let (guard, _) = wake
                .wait_timeout_while(guard, INTERVAL, |stopped| !*stopped)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if *guard {
                return;
            }
        }
        match checkpoint(conn, "PASSIVE") {
            Ok((frames, _)) if frames > RESTART_FRAMES => {
                tracing::info!(frames, "the SQLite WAL is large; restarting it");
                if let Err(error) = checkpoint(conn, "RESTART") {
                    tracing::warn!(%error, "an SQLite RESTART checkpoint failed");
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "an SQLite checkpoint failed"),
        }
    }
}
