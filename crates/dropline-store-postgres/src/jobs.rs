//! The job queue: claiming with leases, retrying, burying. Jobs are added and finished by
//! `commit.rs`, inside the change set that causes or completes them.

use crate::error::{corrupt, store_error};
use crate::page_limit;
use dropline_app::ports::{Job, StoreError};
use dropline_domain::ids::{JobId, StoreId};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// Leases up to `$4` due jobs. `FOR UPDATE SKIP LOCKED` lets concurrent claimers pass each
/// other's rows instead of waiting; a claimer that reaches a row after another committed its
/// lease re-checks the lease condition on the new row version and leaves it.
const CLAIM_JOBS: &str = "UPDATE jobs SET lease_owner = $1, lease_until = $2 \
     WHERE id IN (\
       SELECT id FROM jobs \
       WHERE buried_at IS NULL AND run_after <= $3 AND (lease_until IS NULL OR lease_until < $3) \
       ORDER BY run_after, id LIMIT $4 \
       FOR UPDATE SKIP LOCKED) \
     RETURNING id, kind, payload, attempts, run_after, store_id, last_error";

fn job_from_row(row: &PgRow) -> Result<Job, StoreError> {
    let read = |err| corrupt("job", err);
    let attempts: i32 = row.try_get("attempts").map_err(read)?;
    let Json(payload) = row.try_get::<Json<serde_json::Value>, _>("payload").map_err(read)?;
    Ok(Job {
        id: JobId(row.try_get("id").map_err(read)?),
        kind: row.try_get("kind").map_err(read)?,
        payload,
        attempts: u32::try_from(attempts).map_err(|err| corrupt("job attempts", err))?,
        run_after: row.try_get("run_after").map_err(read)?,
        store_id: row.try_get::<Option<Uuid>, _>("store_id").map_err(read)?.map(StoreId),
        last_error: row.try_get("last_error").map_err(read)?,
    })
}

impl crate::PostgresStore {
    /// Leases due jobs to `worker` (see [`CLAIM_JOBS`]).
    pub(crate) async fn claim_due_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease: time::Duration,
        now: OffsetDateTime,
    ) -> Result<Vec<Job>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lease_until = now
            .checked_add(lease)
            .ok_or_else(|| StoreError::Other(format!("lease of {lease} from {now} is out of range")))?;
        let rows = sqlx::query(CLAIM_JOBS)
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>, _>>()?;
        // RETURNING comes in no particular order.
        jobs.sort_by_key(|job| (job.run_after, job.id));
        Ok(jobs)
    }

    pub(crate) async fn extend_job_lease(
        &self,
        id: JobId,
        worker: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result =
            sqlx::query("UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 AND buried_at IS NULL")
                .bind(id.0)
                .bind(worker)
                .bind(until)
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    pub(crate) async fn release_job_for_retry(
        &self,
        id: JobId,
        error: &str,
        run_after: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET attempts = attempts + 1, last_error = $2, run_after = $3, \
             lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND buried_at IS NULL",
        )
        .bind(id.0)
        .bind(error)
        .bind(run_after)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("job {id}")));
        }
        Ok(())
    }

    /// The failed attempt counts, like a retry's.
    pub(crate) async fn bury(&self, id: JobId, error: &str) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET attempts = attempts + 1, last_error = $2, buried_at = clock_timestamp(), \
             lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND buried_at IS NULL",
        )
        .bind(id.0)
        .bind(error)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("job {id}")));
        }
        Ok(())
    }

    pub(crate) async fn count_live_jobs(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE buried_at IS NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)?;
        u64::try_from(count).map_err(|err| corrupt("job count", err))
    }

    pub(crate) async fn fetch_buried_jobs(&self, limit: u32) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, payload, attempts, run_after, store_id, last_error FROM jobs \
             WHERE buried_at IS NOT NULL ORDER BY buried_at DESC, id DESC LIMIT $1",
        )
        .bind(page_limit(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(job_from_row).collect()
    }
}
