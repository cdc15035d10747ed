//! The one writer: a thread that owns the write connection and applies every write of the
//! store, in batches (group commit).
//!
//! Callers send a write through a channel and wait on a oneshot. The thread takes every write
//! waiting (up to the batch limit), runs them in ONE transaction, commits once and answers
//! only when the batch is durable. A write that fails gets its own error and leaves no trace;
//! the others of the batch are not affected (see [`write_batch`]). So durability costs one
//! disk flush per batch, not one per write.
//!
//! With [`Durability::Flush`] the disk flush is not made by the writer: a syncer thread
//! flushes the WAL file and then answers, while the writer already runs the next batch. One
//! flush may cover several batches.

use crate::sql::SqlResult;
use dropline_app::ports::StoreError;
use rusqlite::Connection;
use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot};

/// One write waiting for the writer.
trait Request: Send {
    /// Runs the write on the connection, inside the batch's transaction. It may run more than
    /// once: when another write of its batch fails, the batch is rolled back and run again.
    fn apply(&mut self, conn: &Connection) -> Result<(), StoreError>;
    /// Answers the caller.
    fn finish(self: Box<Self>, outcome: Result<(), StoreError>);
}

/// A write as a closure, with the place for its result and the caller's reply channel.
struct Op<T, F> {
    work: F,
    output: Option<T>,
    reply: oneshot::Sender<(Result<T, StoreError>, F)>,
}

impl<T, F> Request for Op<T, F>
where
    T: Send,
    F: Fn(&Connection) -> Result<T, StoreError> + Send,
{
    fn apply(&mut self, conn: &Connection) -> Result<(), StoreError> {
        self.output = None;
        self.output = Some((self.work)(conn)?);
        Ok(())
    }

    fn finish(self: Box<Self>, outcome: Result<(), StoreError>) {
        let Op { work, output, reply } = *self;
        let result = outcome.and_then(|()| output.ok_or_else(|| StoreError::Other("a write has no result".into())));
        // The closure and its data go back too, so the caller's thread frees what it
        // allocated (freeing another thread's memory contends for its malloc arena). The
        // caller may have given up waiting; the write stands either way.
        let _ = reply.send((result, work));
    }
}

/// When a committed batch is answered.
pub(crate) enum Durability {
    /// Right after COMMIT: the connection's own `synchronous` setting decides what is on disk.
    Commit,
    /// After the syncer thread flushed this file (the WAL) to disk.
    Flush(File),
}

/// Counters of the writer, for metrics.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) batches: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) refused_batches: AtomicU64,
}

/// The handle to the writer thread. Dropping it lets the thread finish what is queued, then
/// waits for it, so the database file is closed when the store is gone.
pub(crate) struct Writer {
    sender: Option<mpsc::Sender<Box<dyn Request>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    counters: Arc<Counters>,
}

impl Writer {
    /// Starts the writer thread on `conn` (and the syncer thread, for [`Durability::Flush`]).
    pub(crate) fn start(
        conn: Connection,
        batch_limit: usize,
        queue_capacity: usize,
        durability: Durability,
    ) -> Result<Self, StoreError> {
        let cannot = |what: &str, e: std::io::Error| StoreError::Unavailable(format!("cannot start the {what}: {e}"));
        let mut threads = Vec::new();
        let syncer = match durability {
            Durability::Commit => None,
            Durability::Flush(file) => {
                let (sender, receiver) = std::sync::mpsc::channel();
                let thread = std::thread::Builder::new()
                    .name("dropline-sync".into())
                    .spawn(move || run_syncer(&file, &receiver))
                    .map_err(|e| cannot("SQLite sync thread", e))?;
                threads.push(thread);
                Some(sender)
            }
        };
        let (sender, receiver) = mpsc::channel(queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let thread_counters = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("dropline-writer".into())
            .spawn(move || run(&conn, receiver, batch_limit.max(1), syncer, &thread_counters))
            .map_err(|e| cannot("SQLite writer thread", e))?;
        // Joined first: the syncer ends when the writer is gone.
        threads.insert(0, thread);
        Ok(Self {
            sender: Some(sender),
            threads: Mutex::new(threads),
            counters,
        })
    }

    /// The writer's counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Runs `work` on the write connection as part of the next batch and returns its result
    /// once the batch is committed and durable. `work` may run more than once (see
    /// [`write_batch`]), so it must only touch the database.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let stopped = || StoreError::Unavailable("the SQLite writer has stopped".into());
        let sender = self.sender.as_ref().ok_or_else(stopped)?;
        let (reply, answer) = oneshot::channel();
        let op: Box<dyn Request> = Box::new(Op {
            work,
            output: None,
            reply,
        });
        sender.send(op).await.map_err(|_| stopped())?;
        let (result, work) = answer.await.map_err(|_| stopped())?;
        drop(work);
        result
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel ends the writer's loop once the queue is empty.
        self.sender = None;
        let threads = match self.threads.get_mut() {
            Ok(threads) => std::mem::take(threads),
            Err(poisoned) => std::mem::take(poisoned.into_inner()),
        };
        for thread in threads {
            if thread.join().is_err() {
                tracing::error!("an SQLite writer thread panicked");
            }
        }
    }
}

type Answered = Vec<(Box<dyn Request>, Result<(), StoreError>)>;

fn run(
    conn: &Connection,
    mut receiver: mpsc::Receiver<Box<dyn Request>>,
    batch_limit: usize,
    syncer: Option<std::sync::mpsc::Sender<Answered>>,
    counters: &Counters,
) {
    let mut batch: Vec<Box<dyn Request>> = Vec::with_capacity(batch_limit);
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < batch_limit {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let answered = write_batch(conn, &mut batch, counters);
        match &syncer {
            // Refusals wait for the flush too: they may rest on writes of an earlier batch.
            Some(syncer) => {
                if let Err(unsent) = syncer.send(answered) {
                    let error = StoreError::Unavailable("the SQLite sync thread has stopped".into());
                    finish(
                        unsent
                            .0
                            .into_iter()
                            .map(|(request, _)| (request, Err(error.clone())))
                            .collect(),
                    );
                }
            }
            None => finish(answered),
        }
    }
    // `conn` drops with the thread's caller: SQLite checkpoints and closes the file.
}

fn finish(answered: Answered) {
    for (request, outcome) in answered {
        request.finish(outcome);
    }
}

/// Flushes the WAL for every committed batch waiting, then answers them.
fn run_syncer(wal: &File, receiver: &std::sync::mpsc::Receiver<Answered>) {
    while let Ok(mut waiting) = receiver.recv() {
        while let Ok(more) = receiver.try_recv() {
            waiting.extend(more);
        }
        if waiting.is_empty() {
            continue;
        }
        match wal.sync_data() {
            Ok(()) => finish(waiting),
            Err(e) => {
                // The writes are committed but maybe not on disk: say so rather than pretend.
                tracing::error!(error = %e, "cannot flush the SQLite WAL to disk");
                let error = StoreError::Unavailable(format!("cannot flush the write-ahead log to disk: {e}"));
                finish(
                    waiting
                        .into_iter()
                        .map(|(request, _)| (request, Err(error.clone())))
                        .collect(),
                );
            }
        }
    }
}

fn exec(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql).store()?.execute([]).store()?;
    Ok(())
}

/// Runs one write, turning a panic into an error so the writer thread survives it.
fn apply(request: &mut Box<dyn Request>, conn: &Connection) -> Result<(), StoreError> {
    catch_unwind(AssertUnwindSafe(|| request.apply(conn)))
        .unwrap_or_else(|_| Err(StoreError::Other("a write panicked".into())))
}

/// Rolls back whatever transaction is open.
fn roll_back(conn: &Connection) {
    if !conn.is_autocommit() && exec(conn, "ROLLBACK").is_err() {
        tracing::error!("the SQLite write connection could not roll back");
    }
}

fn commit(conn: &Connection) -> Result<(), StoreError> {
    exec(conn, "COMMIT").map_err(|error| match error {
        StoreError::Other(message) => StoreError::Unavailable(format!("commit failed: {message}")),
        other => other,
    })
}

/// Applies a batch in one transaction and returns the outcome of every request of it.
///
/// Writes are nearly always accepted, so the batch first runs without savepoints (each
/// savepoint copies every page it touches). If any write is refused, the transaction is
/// rolled back and the batch runs again with a savepoint per write, so the refused ones fail
/// alone.
fn write_batch(conn: &Connection, batch: &mut Vec<Box<dyn Request>>, counters: &Counters) -> Answered {
    let outcome = match exec(conn, "BEGIN IMMEDIATE") {
        Err(error) => Some(Err(error)),
        Ok(()) => {
            let mut refused = false;
            for request in batch.iter_mut() {
                if apply(request, conn).is_err() {
                    refused = true;
                    break;
                }
            }
            if refused {
                roll_back(conn);
                None
            } else {
                let committed = commit(conn);
                if committed.is_err() {
                    roll_back(conn);
                }
                Some(committed)
            }
        }
    };
    match outcome {
        Some(outcome) => {
            if let Err(error) = &outcome {
                tracing::error!(%error, size = batch.len(), "an SQLite write batch failed");
            }
            batch.drain(..).map(|request| (request, outcome.clone())).collect()
        }
        None => {
            counters.refused_batches.fetch_add(1, Ordering::Relaxed);
            write_batch_with_savepoints(conn, batch)
        }
    }
}

/// Applies a batch with a savepoint per write: a refused write is rolled back to its
/// savepoint and gets its own error; the others commit.
fn write_batch_with_savepoints(conn: &Connection, batch: &mut Vec<Box<dyn Request>>) -> Answered {
    if let Err(error) = exec(conn, "BEGIN IMMEDIATE") {
        return batch.drain(..).map(|request| (request, Err(error.clone()))).collect();
    }
    let mut outcomes: Vec<Result<(), StoreError>> = Vec::with_capacity(batch.len());
    // Set when the transaction itself is lost: nothing of the batch can commit.
    let mut broken: Option<StoreError> = None;
    for request in batch.iter_mut() {
        if let Some(error) = &broken {
            outcomes.push(Err(error.clone()));
            continue;
        }
        if let Err(error) = exec(conn, "SAVEPOINT change_set") {
            broken = Some(error.clone());
            outcomes.push(Err(error));
            continue;
        }
        match apply(request, conn) {
            Ok(()) => match exec(conn, "RELEASE change_set") {
                Ok(()) => outcomes.push(Ok(())),
                Err(error) => {
                    broken = Some(error.clone());
                    outcomes.push(Err(error));
                }
            },
            Err(error) => {
                // Some errors (I/O, full disk) make SQLite roll the whole transaction back.
                let undone = if conn.is_autocommit() {
                    Err(StoreError::Unavailable(format!("the batch was rolled back: {error}")))
                } else {
                    exec(conn, "ROLLBACK TO change_set").and_then(|()| exec(conn, "RELEASE change_set"))
                };
                if let Err(lost) = undone {
                    broken = Some(lost);
                }
                outcomes.push(Err(error));
            }
        }
    }
    let committed = match broken {
        Some(error) => Err(error),
        None => commit(conn),
    };
    if let Err(error) = &committed {
        tracing::error!(%error, size = batch.len(), "an SQLite write batch failed");
        roll_back(conn);
    }
    batch
        .drain(..)
        .zip(outcomes)
        .map(|(request, outcome)| {
            let outcome = match (&committed, outcome) {
                (Err(error), Ok(())) => Err(error.clone()),
                (_, outcome) => outcome,
            };
            (request, outcome)
        })
        .collect()
}
