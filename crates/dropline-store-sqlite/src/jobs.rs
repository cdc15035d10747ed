//! The job queue. Claiming is a write, so it runs on the writer like every other write: one
//! writer means two claims can never see the same free job.
//!
//! A job's `due_at` is when it may next be claimed: its `run_after`, or the end of its lease
//! while leased. Claiming is then one range scan of the `jobs_due_at_idx` partial index,
//! however many jobs are leased.

use crate::sql::{SqlResult, collect, column, from_json, from_micros, listing_limit};
use dropline_app::ports::{Job, StoreError};
use dropline_domain::ids::{JobId, StoreId};
use rusqlite::{Connection, Row, params};
use uuid::Uuid;

const JOB_COLUMNS: &str = "id, kind, payload, attempts, run_after, store_id, last_error";

/// The due jobs, in claiming order: one range scan of `jobs_due_at_idx`.
pub(crate) const CLAIM_SQL: &str = "SELECT id, kind, payload, attempts, run_after, store_id, last_error FROM jobs
     WHERE buried_at IS NULL AND due_at <= ?1 ORDER BY due_at, id LIMIT ?2";

fn decode_job(row: &Row<'_>) -> Result<Job, StoreError> {
    let attempts: i64 = column(row, 3)?;
    Ok(Job {
        id: JobId(column(row, 0)?),
        kind: column(row, 1)?,
        payload: from_json(&column::<String>(row, 2)?, "job payload")?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        run_after: from_micros(column(row, 4)?)?,
        store_id: column::<Option<Uuid>>(row, 5)?.map(StoreId),
        last_error: column(row, 6)?,
    })
}

/// Leases up to `limit` due jobs to `worker` until `lease_until`.
pub(crate) fn claim_jobs(
    conn: &Connection,
    worker: &str,
    limit: u32,
    now: i64,
    lease_until: i64,
) -> Result<Vec<Job>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let jobs = collect(
        &mut *conn.prepare_cached(CLAIM_SQL).store()?,
        params![now, i64::from(limit)],
        decode_job,
    )?;
    let mut lease = conn
        .prepare_cached("UPDATE jobs SET lease_owner = ?2, lease_until = ?3, due_at = ?3 WHERE id = ?1")
        .store()?;
    for job in &jobs {
        lease.execute(params![job.id.0, worker, lease_until]).store()?;
    }
    Ok(jobs)
}

/// Extends a lease the worker still holds.
pub(crate) fn extend_lease(conn: &Connection, id: JobId, worker: &str, until: i64) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET lease_until = ?3, due_at = ?3
             WHERE id = ?1 AND lease_owner = ?2 AND buried_at IS NULL",
        )
        .store()?
        .execute(params![id.0, worker, until])
        .store()?;
    Ok(changed > 0)
}

/// Releases a job to run again at `run_after`, counting the attempt.
pub(crate) fn retry_job(conn: &Connection, id: JobId, error: &str, run_after: i64) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET attempts = attempts + 1, last_error = ?2, run_after = ?3, due_at = ?3,
                             lease_owner = NULL, lease_until = NULL
             WHERE id = ?1 AND buried_at IS NULL",
        )
        .store()?
        .execute(params![id.0, error, run_after])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("job {id}")));
    }
    Ok(())
}

/// Buries a job: kept with its error, never claimed again. The failed attempt counts.
pub(crate) fn bury_job(conn: &Connection, id: JobId, error: &str, now: i64) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET buried_at = coalesce(buried_at, ?3), last_error = ?2,
                             attempts = attempts + (buried_at IS NULL), lease_owner = NULL, lease_until = NULL
             WHERE id = ?1",
        )
        .store()?
        .execute(params![id.0, error, now])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("job {id}")));
    }
    Ok(())
}

pub(crate) fn count_pending_jobs(conn: &Connection) -> Result<u64, StoreError> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM jobs WHERE buried_at IS NULL")
        .store()?
        .query_row([], |row| row.get(0))
        .store()?;
    Ok(u64::try_from(count).unwrap_or(0))
}

pub(crate) fn list_buried_jobs(conn: &Connection, limit: u32) -> Result<Vec<Job>, StoreError> {
    let sql =
        format!("SELECT {JOB_COLUMNS} FROM jobs WHERE buried_at IS NOT NULL ORDER BY buried_at DESC, id DESC LIMIT ?1");
    collect(
        &mut *conn.prepare_cached(&sql).store()?,
        [listing_limit(limit)],
        decode_job,
    )
}
