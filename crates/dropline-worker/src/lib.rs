//! The job runner: claims due jobs from the [`JobQueue`](dropline_app::ports::JobQueue),
//! runs each through the app, retries failures with backoff and buries jobs that keep
//! failing. It never talks to a database or a partner itself.

use dropline_app::ports::Job;
use dropline_app::{App, AppError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Name recorded on leases.
    pub name: String,
    /// Jobs claimed at once (run concurrently).
    pub batch: u32,
    /// How long a claimed job stays reserved.
    pub lease: Duration,
    /// Sleep when no job was due.
    pub idle_sleep: Duration,
    /// Attempts before a job is buried.
    pub max_attempts: u32,
    /// How often the clocks of orders in progress are checked and the sellers' daily
    /// digests written; `None`: never (another process does it).
    pub schedule_every: Option<Duration>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            name: format!("worker-{}", std::process::id()),
            batch: 256,
            lease: Duration::from_secs(60),
            idle_sleep: Duration::from_millis(50),
            max_attempts: 8,
            schedule_every: Some(Duration::from_secs(300)),
        }
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub succeeded: u32,
    pub retried: u32,
    pub buried: u32,
}

impl PassReport {
    /// Jobs claimed in the pass.
    pub fn claimed(&self) -> u32 {
        self.succeeded + self.retried + self.buried
    }
}

/// Runs jobs of one app.
#[derive(Clone)]
pub struct Worker {
    app: App,
    config: Arc<WorkerConfig>,
}

impl Worker {
    /// A worker over `app`.
    pub fn new(app: App, config: WorkerConfig) -> Self {
        Self {
            app,
            config: Arc::new(config),
        }
    }

    /// Claims the due jobs once and runs them all; returns what happened.
    pub async fn run_pass(&self) -> Result<PassReport, AppError> {
        self.run_pass_at(time::OffsetDateTime::now_utc()).await
    }

    /// Claims the jobs due at `now` (which tests may set ahead, to run scheduled work such
    /// as the polling of a supplier order early) and runs them all.
    pub async fn run_pass_at(&self, now: time::OffsetDateTime) -> Result<PassReport, AppError> {
        let lease = time::Duration::try_from(self.config.lease).unwrap_or(time::Duration::MINUTE);
        let jobs = self
            .app
            .backend()
            .claim_jobs(&self.config.name, self.config.batch, lease, now)
            .await?;
        let mut report = PassReport::default();
        let mut running = JoinSet::new();
        for job in jobs {
            let worker = self.clone();
            running.spawn(async move { worker.run_one(job).await });
        }
        while let Some(outcome) = running.join_next().await {
            match outcome {
                Ok(Outcome::Done) => report.succeeded += 1,
                Ok(Outcome::Retried) => report.retried += 1,
                Ok(Outcome::Buried) | Err(_) => report.buried += 1,
            }
        }
        Ok(report)
    }

    /// Runs passes until no job is due; for tests and the demo, to drain work deterministically.
    pub async fn run_until_idle(&self) -> Result<PassReport, AppError> {
        let mut total = PassReport::default();
        loop {
            let pass = self.run_pass().await?;
            if pass.claimed() == 0 {
                return Ok(total);
            }
            total.succeeded += pass.succeeded;
            total.retried += pass.retried;
            total.buried += pass.buried;
        }
    }

    /// The scheduled work: checks the clocks of every order in progress, writes the daily
    /// digests that are due, the reminders of disputes whose evidence is due soon and the stock
    /// syncs of suppliers that are due, and
    /// deletes the dashboard's expired sessions. All are idempotent, so several workers may
    /// run them.
    pub async fn run_schedules(&self) -> Result<(dropline_app::follow::ClockReport, u32), AppError> {
        let clocks = self.app.check_all_clocks().await?;
        let digests = self.app.send_digests().await?;
        let reminders = self.app.send_dispute_reminders().await?;
        let syncs = self.app.schedule_stock_syncs().await?;
        if syncs > 0 {
            tracing::debug!(syncs, "stock syncs queued");
        }
        if reminders > 0 {
            tracing::debug!(reminders, "dispute reminders written");
        }
        let expired = self.app.backend().delete_expired_sessions(self.app.now()).await?;
        if expired > 0 {
            tracing::debug!(expired, "expired sessions deleted");
        }
        Ok((clocks, digests))
    }

    /// Runs until `shutdown` turns true. Jobs are claimed as earlier ones finish (up to
    /// `batch` in flight), so one slow job never holds back the next claim.
    pub async fn run(&self, shutdown: watch::Receiver<bool>) {
        let schedules = self.config.schedule_every.map(|every| {
            let worker = self.clone();
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = shutdown.changed() => {}
                    }
                    if *shutdown.borrow() {
                        return;
                    }
                    match worker.run_schedules().await {
                        Ok((clocks, digests)) => tracing::debug!(
                            checked = clocks.orders_checked,
                            raised = clocks.raised,
                            resolved = clocks.resolved,
                            told = clocks.customers_told,
                            digests,
                            "schedules ran"
                        ),
                        Err(err) => tracing::warn!(error = %err, "scheduled work failed"),
                    }
                }
            })
        });
        self.run_jobs(shutdown).await;
        if let Some(schedules) = schedules {
            let _ = schedules.await;
        }
    }

    async fn run_jobs(&self, mut shutdown: watch::Receiver<bool>) {
        let lease = time::Duration::try_from(self.config.lease).unwrap_or(time::Duration::MINUTE);
        let mut running: JoinSet<Outcome> = JoinSet::new();
        let refill_below = (self.config.batch / 2).max(1) as usize;
        // After a claim found nothing, the next one waits for the idle pause: finishing jobs
        // must not turn into one empty claim each.
        let mut found_nothing_at: Option<std::time::Instant> = None;
        while !*shutdown.borrow() {
            let mut claimed = 0;
            let may_claim = found_nothing_at.is_none_or(|at| at.elapsed() >= self.config.idle_sleep);
            if running.len() < refill_below && may_claim {
                let room = self.config.batch.saturating_sub(running.len() as u32);
                match self
                    .app
                    .backend()
                    .claim_jobs(&self.config.name, room, lease, time::OffsetDateTime::now_utc())
                    .await
                {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        found_nothing_at = (claimed == 0).then(std::time::Instant::now);
                        for job in jobs {
                            let worker = self.clone();
                            running.spawn(async move { worker.run_one(job).await });
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "claiming jobs failed"),
                }
            }
            if running.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.idle_sleep) => {}
                    _ = shutdown.changed() => {}
                }
            } else if claimed == 0 || running.len() >= refill_below {
                // Wait for one job to finish (or the idle pause) before looking again.
                tokio::select! {
                    _ = running.join_next() => {}
                    _ = tokio::time::sleep(self.config.idle_sleep) => {}
                }
            }
        }
        // Let the jobs in flight finish: their leases would otherwise hold them back.
        while running.join_next().await.is_some() {}
    }

    /// Runs the job while renewing its lease every third of the lease, so that a long job
    /// (a placement waiting on a slow supplier) is never taken by another worker meanwhile:
    /// two runs of one placement could both send the order.
    async fn run_with_lease(&self, job: &Job) -> Result<(), AppError> {
        let lease = self.config.lease;
        let every = (lease / 3).max(Duration::from_millis(10));
        let run = self.app.run_job(job);
        tokio::pin!(run);
        loop {
            tokio::select! {
                result = &mut run => return result,
                _ = tokio::time::sleep(every) => {
                    let until = time::OffsetDateTime::now_utc()
                        + time::Duration::try_from(lease).unwrap_or(time::Duration::MINUTE);
                    match self.app.backend().extend_lease(job.id, &self.config.name, until).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(job = %job.id, kind = %job.kind, "the job's lease was lost while it ran"),
                        Err(err) => tracing::warn!(job = %job.id, error = %err, "renewing a job's lease failed"),
                    }
                }
            }
        }
    }

    async fn run_one(&self, job: Job) -> Outcome {
        let queue = self.app.backend();
        match self.run_with_lease(&job).await {
            Ok(()) => Outcome::Done,
            Err(err) => {
                let attempts = job.attempts + 1;
                let permanent = matches!(
                    err,
                    AppError::Invalid(_) | AppError::NotFound(_) | AppError::PartnerRefused(_)
                );
                let message = err.to_string();
                if permanent || attempts >= self.config.max_attempts {
                    tracing::error!(job = %job.id, kind = %job.kind, error = %message, "job buried");
                    if let Err(err) = queue.bury_job(job.id, &message).await {
                        tracing::error!(job = %job.id, error = %err, "burying a job failed");
                    }
                    Outcome::Buried
                } else {
                    // A partner that said when to come back (Retry-After) is believed, within reason.
                    let wait = match &err {
                        AppError::RetryLater { after: Some(after), .. } => time::Duration::try_from(*after)
                            .unwrap_or(time::Duration::HOUR)
                            .min(time::Duration::HOUR),
                        _ => backoff(attempts),
                    };
                    let run_after = time::OffsetDateTime::now_utc() + wait;
                    tracing::warn!(job = %job.id, kind = %job.kind, attempts, error = %message, "job will retry");
                    if let Err(err) = queue.retry_job(job.id, &message, run_after).await {
                        tracing::error!(job = %job.id, error = %err, "rescheduling a job failed");
                    }
                    Outcome::Retried
                }
            }
        }
    }
}

enum Outcome {
    Done,
    Retried,
    Buried,
}

/// Exponential backoff: 2 s, 4 s, 8 s, ... capped at one hour.
pub fn backoff(attempts: u32) -> time::Duration {
    let seconds = 2i64.saturating_pow(attempts.min(12)).min(3600);
    time::Duration::seconds(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), time::Duration::seconds(2));
        assert_eq!(backoff(3), time::Duration::seconds(8));
        assert_eq!(backoff(30), time::Duration::seconds(3600));
    }
}
