//! The job workers of one node: for each tube a few tasks that reserve a job, run its
//! [`Handler`], and finish it: delete on success; release with exponential backoff and jitter
//! on a failure that may pass; bury (audited as `job_buried`) on one that will not, or after the
//! last try. A running job's reservation is touched while it runs, so a slow but live worker
//! keeps it. A drain stops reserving, lets running jobs finish for a while, and releases the
//! ones still running: nothing reserved is left to wait out its time-to-run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use client_protocol::admin::{AuditOutcome, AuditType, Detail};
use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{JobState, Jobs, JobsError, Reserved, Tube};
use crate::audit::{Auditor, NewEvent};
use crate::domain::now_ms;
use crate::telemetry::names;

/// How long one reserve call waits for a job before the worker looks at the drain flag again.
const RESERVE_WAIT: Duration = Duration::from_secs(1);
/// How long a worker waits after the backend failed before it asks again.
const BACKEND_RETRY: Duration = Duration::from_secs(1);
/// How often the age of each tube's oldest ready job is sampled for the metrics.
const AGE_SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// Ready jobs looked at per sample (the head of the tube, by priority then age).
const AGE_SAMPLE_JOBS: usize = 50;
/// Tube workers run by default, per node.
pub const DEFAULT_CONCURRENCY: usize = 2;

/// What a job's handler does with it. It may run more than once for one job (a worker that
/// died mid-run, a TTR that ran out): handlers are idempotent, keyed by what the body names.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn run(&self, job: &Reserved) -> Result<(), Failure>;
}

/// Why a run failed, and so what becomes of the job.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// May pass (a server down, a timeout): try again after a backoff, up to the last try.
    #[error("{0}")]
    Retry(String),
    /// Will not pass (a malformed body, a recipient refused for good): bury it now.
    #[error("{0}")]
    Fatal(String),
}

/// When a failed job is tried again: the first retry after `first`, each next one after twice
/// as long, at most `cap`; each delay drawn uniformly from its upper half (jitter, so that jobs
/// that failed together do not all come back together).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub cap: Duration,
    /// Tries before a job is buried.
    pub max_attempts: u32,
}

impl Backoff {
    /// The longest delay between two tries.
    pub const CAP: Duration = Duration::from_secs(300);

    /// The delay before the try after try number `attempts` (1-based), before jitter.
    pub fn ceiling(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        self.first
            .saturating_mul(1 << doublings)
            .min(self.cap)
            .max(Duration::from_millis(1))
    }

    /// The delay before the next try, jittered into `[ceiling / 2, ceiling]`.
    pub fn delay(&self, attempts: u32) -> Duration {
        let ceiling = self.ceiling(attempts);
        let half = ceiling / 2;
        half + ceiling.mul_f64(rand::rng().random_range(0.0..=0.5))
    }
}

/// One tube's workers: how many, and what they run.
pub struct TubeWorkers {
    pub tube: Tube,
    pub concurrency: usize,
    pub handler: Arc<dyn Handler>,
}

/// The node's running workers.
pub struct Workers {
    /// Set by a drain: reserve no more.
    stop: watch::Sender<bool>,
    /// Set when the drain's wait is over: release what still runs.
    abandon: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Workers {
    pub fn start(
        jobs: Arc<dyn Jobs>,
        auditor: Auditor,
        backoff: Backoff,
        tubes: Vec<TubeWorkers>,
    ) -> Workers {
        let (stop, _) = watch::channel(false);
        let (abandon, _) = watch::channel(false);
        let mut tasks = Vec::new();
        let sampled: Vec<Tube> = tubes.iter().map(|t| t.tube.clone()).collect();
        if !sampled.is_empty() {
            tasks.push(tokio::spawn(sample_ages(
                jobs.clone(),
                sampled,
                stop.subscribe(),
            )));
        }
        for tube in tubes {
            for _ in 0..tube.concurrency {
                let worker = Worker {
                    jobs: jobs.clone(),
                    auditor: auditor.clone(),
                    backoff,
                    tube: tube.tube.clone(),
                    handler: tube.handler.clone(),
                    stop: stop.subscribe(),
                    abandon: abandon.subscribe(),
                };
                tasks.push(tokio::spawn(worker.run()));
            }
            tracing::info!(tube = %tube.tube, workers = tube.concurrency, "job workers started");
        }
        Workers {
            stop,
            abandon,
            tasks: Mutex::new(tasks),
        }
    }

    /// Stops reserving, waits up to `wait` for running jobs to finish, then releases those
    /// still running (to ready, at once, for another node) and waits for the workers to end.
    pub async fn drain(&self, wait: Duration) {
        self.stop.send_replace(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        if tasks.is_empty() {
            return;
        }
        let abandon = self.abandon.clone();
        let abandoning = tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            abandon.send_replace(true);
        });
        for task in tasks {
            let _ = task.await;
        }
        abandoning.abort();
        tracing::info!("job workers drained");
    }
}

struct Worker {
    jobs: Arc<dyn Jobs>,
    auditor: Auditor,
    backoff: Backoff,
    tube: Tube,
    handler: Arc<dyn Handler>,
    stop: watch::Receiver<bool>,
    abandon: watch::Receiver<bool>,
}

/// What became of one run.
enum Outcome {
    Ran(Result<(), Failure>),
    /// The drain's wait ran out first.
    Abandoned,
    /// The reservation was lost while running (TTR ran out despite touches, or an admin
    /// deleted the job): the run's result is not ours to report.
    Lost,
}

impl Worker {
    async fn run(mut self) {
        let tubes = [self.tube.clone()];
        while !*self.stop.borrow() {
            match self.jobs.reserve(&tubes, RESERVE_WAIT).await {
                Ok(Some(job)) => self.finish(job).await,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(tube = %self.tube, error = %e, "reserve failed");
                    let _ = tokio::time::timeout(BACKEND_RETRY, raised(&mut self.stop)).await;
                }
            }
        }
    }

    /// Runs one job and finishes it as its outcome says.
    async fn finish(&mut self, job: Reserved) {
        let span = tracing::info_span!("job", token = %job.token, attempts = job.attempts);
        let token = job.token.clone();
        let outcome = self.run_touching(&job).await;
        let finished = match outcome {
            Outcome::Ran(Ok(())) => self.jobs.delete(&token).await,
            Outcome::Ran(Err(failure)) => {
                metrics::counter!(names::JOBS_FAILED, "tube" => self.tube.as_str().to_owned())
                    .increment(1);
                let last = job.attempts >= self.backoff.max_attempts;
                match failure {
                    Failure::Retry(error) if !last => {
                        let delay = self.backoff.delay(job.attempts);
                        tracing::info!(parent: &span, %error, delay_ms = delay.as_millis() as u64, "job failed, retrying later");
                        self.jobs
                            .release(&token, job.priority, delay, Some(&error))
                            .await
                    }
                    Failure::Retry(error) | Failure::Fatal(error) => self.bury(&job, &error).await,
                }
            }
            Outcome::Abandoned => {
                tracing::info!(parent: &span, "node draining: job released for another node");
                self.jobs
                    .release(&token, job.priority, Duration::ZERO, Some("node draining"))
                    .await
            }
            Outcome::Lost => Err(JobsError::ReservationLost { id: token.id }),
        };
        if let Err(e) = finished {
            // Refused tokens are logged by the instrumented backend; the backend being down
            // leaves the job reserved, and its TTR brings it back.
            tracing::debug!(parent: &span, error = %e, "job not finished");
        }
    }

    /// Runs the handler, touching the reservation every half TTR, until it ends, the
    /// reservation is lost, or the drain gives up on it.
    async fn run_touching(&mut self, job: &Reserved) -> Outcome {
        let every = (job.ttr / 2).max(Duration::from_millis(200));
        let mut touch = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let run = self.handler.run(job);
        tokio::pin!(run);
        loop {
            tokio::select! {
                result = &mut run => return Outcome::Ran(result),
                _ = touch.tick() => match self.jobs.touch(&job.token).await {
                    Err(JobsError::ReservationLost { .. }) => return Outcome::Lost,
                    Err(e) => tracing::debug!(error = %e, "touch failed"),
                    Ok(()) => {}
                },
                () = raised(&mut self.abandon) => return Outcome::Abandoned,
            }
        }
    }

    async fn bury(&self, job: &Reserved, error: &str) -> Result<(), JobsError> {
        self.jobs
            .bury(&job.token, job.priority, Some(error))
            .await?;
        let event = NewEvent::new(AuditType::JobBuried, AuditOutcome::Ok)
            .target(format!("job {}", job.id()))
            .text("tube", self.tube.as_str())
            .detail("attempts", Detail::Int(i64::from(job.attempts)))
            .text("error", error);
        self.auditor.record(event);
        Ok(())
    }
}

/// Sets `rookery_jobs_oldest_ready_seconds{tube}` every few seconds until the drain: how long
/// the oldest job at the head of each tube has waited since it was put (0 when none waits).
async fn sample_ages(jobs: Arc<dyn Jobs>, tubes: Vec<Tube>, mut stop: watch::Receiver<bool>) {
    loop {
        for tube in &tubes {
            match jobs.list(tube, JobState::Ready, AGE_SAMPLE_JOBS).await {
                Ok(ready) => {
                    let oldest = ready.iter().map(|j| j.put_at).min();
                    let age_ms = oldest.map_or(0, |at| now_ms().saturating_sub(at));
                    metrics::gauge!(names::JOBS_OLDEST_READY_SECONDS, "tube" => tube.as_str().to_owned())
                        .set(age_ms as f64 / 1000.0);
                }
                Err(e) => tracing::debug!(%tube, error = %e, "job age not sampled"),
            }
        }
        if tokio::time::timeout(AGE_SAMPLE_EVERY, raised(&mut stop))
            .await
            .is_ok()
        {
            return;
        }
    }
}

/// Resolves once the flag is (or was already) set; never while its sender lives and it is not.
async fn raised(flag: &mut watch::Receiver<bool>) {
    if flag.wait_for(|set| *set).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Reads `tube=n` pairs (`ROOKERY_JOB_WORKERS`): the concurrency of `tube` on this node.
pub fn concurrency(pairs: &[String], tube: &str) -> usize {
    pairs
        .iter()
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| name.trim() == tube)
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or(DEFAULT_CONCURRENCY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half() {
        let backoff = Backoff {
            first: Duration::from_secs(2),
            cap: Backoff::CAP,
            max_attempts: 12,
        };
        let ceilings: Vec<u64> = (1..=10).map(|n| backoff.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        for attempts in 1..=12 {
            let (delay, ceiling) = (backoff.delay(attempts), backoff.ceiling(attempts));
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{delay:?} of {ceiling:?}"
            );
        }
        // The defaults keep a job alive well past a ten-minute mail server outage.
        let total: Duration = (1..backoff.max_attempts)
            .map(|n| backoff.ceiling(n) / 2)
            .sum();
        assert!(total > Duration::from_secs(10 * 60), "{total:?}");
        assert_eq!(backoff.ceiling(u32::MAX), Backoff::CAP, "no overflow");
    }

    #[test]
    fn concurrency_is_read_per_tube() {
        let pairs = vec![
            "email=0".to_owned(),
            " analysis = 3".to_owned(),
            "bad".into(),
        ];
        assert_eq!(concurrency(&pairs, "email"), 0);
        assert_eq!(concurrency(&pairs, "analysis"), 3);
        assert_eq!(concurrency(&pairs, "other"), DEFAULT_CONCURRENCY);
    }
}
