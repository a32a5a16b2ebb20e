//! Deferred work with beanstalkd's semantics: tubes, priorities, delays, time-to-run (TTR),
//! reserve/delete/release/bury/kick/touch, behind one [`Jobs`] trait with three
//! implementations: SQLite in the data dir (`sqlite`), Lua scripts on the cluster's Redis
//! (`redis`), and a real beanstalkd (`beanstalk`). Slow work (email, engine analysis) runs
//! here, never on the move path.
//!
//! A reservation is a [`Token`]: the job id and the job's reserve count when it was reserved.
//! Every call that finishes a reservation (delete, release, bury, touch) is refused with
//! [`JobsError::ReservationLost`] once the token no longer holds the job: its TTR ran out (the
//! job went back to ready, and perhaps to another worker), or an admin deleted it. A worker
//! that stalled past its TTR therefore cannot delete a job that someone else is now running.

pub mod beanstalk;
pub mod redis;
pub mod sqlite;
mod wake;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::cluster::redis::RedisCluster;
use crate::config::Config;
use crate::telemetry::names;
pub use beanstalk::BeanstalkJobs;
pub use redis::RedisJobs;
pub use sqlite::SqliteJobs;

/// A job's id: unique within one backend, never reused (so a stale token never matches a
/// new job).
pub type JobId = u64;

/// beanstalkd's conventional default priority (0 is most urgent, `u32::MAX` least).
pub const DEFAULT_PRIORITY: u32 = 1024;
/// The time-to-run of a job put without one.
pub const DEFAULT_TTR: Duration = Duration::from_secs(60);
/// The file of the embedded implementation, in the data dir. A file of its own, not a table
/// in the store's: the store's connection mutex is not held up by job traffic.
pub const SQLITE_FILE: &str = "jobs.sqlite3";
/// The tube of notification emails.
pub const EMAIL_TUBE: &str = "email";
/// The tubes rookery's own workers use (the admin API lists these, and any tube it is asked
/// about): email notifications, and engine analysis of finished games.
pub const TUBES: &[&str] = &[EMAIL_TUBE, ANALYSIS_TUBE];
/// The tube of finished games' anti-cheat analyses.
pub const ANALYSIS_TUBE: &str = "analysis";
/// The longest tube name beanstalkd accepts (and so every backend).
pub const MAX_TUBE_NAME: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// The token no longer holds the job: its time-to-run ran out (it went back to ready and
    /// maybe to another worker), or it was deleted, released or buried already.
    #[error("job {id} is no longer reserved under this token")]
    ReservationLost { id: JobId },
    /// beanstalkd lets only the connection holding a reservation delete a reserved job.
    #[error("job {0} is reserved by another client")]
    ReservedElsewhere(JobId),
    #[error(
        "invalid tube name {0:?}: 1-200 of A-Z a-z 0-9 - + / ; . $ _ ( ), not starting with -"
    )]
    InvalidTube(String),
    #[error("reserve needs at least one tube")]
    NoTubes,
    #[error("job body of {size} bytes is larger than the backend accepts")]
    TooBig { size: usize },
    #[error("invalid jobs URL {0:?} (embedded, redis, redis://..., beanstalk://host:port)")]
    InvalidUrl(String),
    #[error("unexpected answer from the jobs backend: {0}")]
    Protocol(String),
    #[error("jobs backend unavailable: {0}")]
    Unavailable(String),
}

fn unavailable(e: impl std::fmt::Display) -> JobsError {
    JobsError::Unavailable(e.to_string())
}

/// A tube name that parses under beanstalkd's rules, so that a name valid on one backend is
/// valid on all three (the Redis and SQLite backends would take anything).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Tube(String);

impl Tube {
    pub fn parse(name: &str) -> Result<Tube, JobsError> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || "-+/;.$_()".contains(c);
        let valid = !name.is_empty()
            && name.len() <= MAX_TUBE_NAME
            && !name.starts_with('-')
            && name.chars().all(valid_char);
        if valid {
            Ok(Tube(name.to_owned()))
        } else {
            Err(JobsError::InvalidTube(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Tube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a job is put: priority (lower is more urgent), delay before it is ready, time-to-run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutOptions {
    pub priority: u32,
    pub delay: Duration,
    /// How long a worker may hold the job before it goes back to ready. beanstalkd counts in
    /// whole seconds (at least one), so it rounds this up.
    pub ttr: Duration,
}

impl Default for PutOptions {
    fn default() -> Self {
        PutOptions {
            priority: DEFAULT_PRIORITY,
            delay: Duration::ZERO,
            ttr: DEFAULT_TTR,
        }
    }
}

impl PutOptions {
    pub fn priority(self, priority: u32) -> Self {
        PutOptions { priority, ..self }
    }
    pub fn delay(self, delay: Duration) -> Self {
        PutOptions { delay, ..self }
    }
    pub fn ttr(self, ttr: Duration) -> Self {
        PutOptions { ttr, ..self }
    }
}

/// Proof of one reservation: the job, its tube, and the job's reserve count when it was
/// reserved. A later reservation of the same job has a larger count, so an old token cannot
/// pass for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Token {
    pub id: JobId,
    pub tube: Tube,
    pub reservation: u32,
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}@{}", self.id, self.reservation, self.tube)
    }
}

/// A job handed to a worker by `reserve`.
#[derive(Clone, Debug)]
pub struct Reserved {
    pub token: Token,
    pub body: Vec<u8>,
    pub priority: u32,
    /// Reservations so far, this one included.
    pub attempts: u32,
    pub ttr: Duration,
    /// What the last `release` or `bury` said went wrong.
    pub last_error: Option<String>,
}

impl Reserved {
    pub fn id(&self) -> JobId {
        self.token.id
    }

    /// The body read as JSON (for jobs put with [`put_json`]).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Ready,
    Delayed,
    Reserved,
    Buried,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Ready,
        JobState::Delayed,
        JobState::Reserved,
        JobState::Buried,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Ready => "ready",
            JobState::Delayed => "delayed",
            JobState::Reserved => "reserved",
            JobState::Buried => "buried",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

/// Jobs per state in one tube.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TubeStats {
    pub ready: u64,
    pub delayed: u64,
    pub reserved: u64,
    pub buried: u64,
}

/// One job as an admin sees it (serialised in the admin API's camelCase).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    pub id: JobId,
    pub tube: Tube,
    pub state: JobState,
    pub priority: u32,
    /// Reservations so far.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Unix ms: when a delayed job becomes ready, or when a reserved job's TTR runs out;
    /// None for ready and buried jobs.
    pub run_at: Option<u64>,
    /// Unix ms: when the job was put (beanstalkd: to the second).
    pub put_at: u64,
}

/// Deferred work with beanstalkd's semantics. Every implementation passes
/// `tests/contract/jobs.rs`.
#[async_trait]
pub trait Jobs: Send + Sync {
    /// Which implementation this is (`embedded`, `redis`, `beanstalk`), for logs.
    fn backend(&self) -> &'static str;

    /// Adds a job; returns its id.
    async fn put(
        &self,
        tube: &Tube,
        body: Vec<u8>,
        options: PutOptions,
    ) -> Result<JobId, JobsError>;

    /// Takes the most urgent ready job of the watched tubes (lowest priority, then oldest id),
    /// waiting up to `timeout` for one (zero: do not wait). None when the time ran out.
    async fn reserve(
        &self,
        tubes: &[Tube],
        timeout: Duration,
    ) -> Result<Option<Reserved>, JobsError>;

    /// The job is done: removes it.
    async fn delete(&self, token: &Token) -> Result<(), JobsError>;

    /// Puts a reserved job back (ready, or delayed by `delay`) with a new priority, recording
    /// why when `error` is given.
    async fn release(
        &self,
        token: &Token,
        priority: u32,
        delay: Duration,
        error: Option<&str>,
    ) -> Result<(), JobsError>;

    /// Sets a reserved job aside until it is kicked, recording why when `error` is given.
    async fn bury(
        &self,
        token: &Token,
        priority: u32,
        error: Option<&str>,
    ) -> Result<(), JobsError>;

    /// Gives the holder a full TTR again, from now.
    async fn touch(&self, token: &Token) -> Result<(), JobsError>;

    /// Moves up to `bound` buried jobs of the tube to ready (oldest buried first) or, when
    /// none is buried, up to `bound` delayed ones (as beanstalkd's `kick`). Returns how many.
    async fn kick(&self, tube: &Tube, bound: u32) -> Result<u32, JobsError>;

    /// Moves one buried or delayed job to ready; false when no such job is buried or delayed.
    async fn kick_job(&self, id: JobId) -> Result<bool, JobsError>;

    async fn stats(&self, tube: &Tube) -> Result<TubeStats, JobsError>;

    /// Up to `limit` jobs of a tube in a state, in the order they will leave that state
    /// (beanstalkd lists less: see `beanstalk.rs`).
    async fn list(
        &self,
        tube: &Tube,
        state: JobState,
        limit: usize,
    ) -> Result<Vec<JobInfo>, JobsError>;

    /// Removes a job whatever its state (an admin's delete); false when there is none. Its
    /// holder, if reserved, then finds its token refused.
    async fn delete_job(&self, id: JobId) -> Result<bool, JobsError>;
}

/// Puts a job whose body is `value` as JSON.
pub async fn put_json<T: Serialize + ?Sized>(
    jobs: &dyn Jobs,
    tube: &Tube,
    value: &T,
    options: PutOptions,
) -> Result<JobId, JobsError> {
    let body = serde_json::to_vec(value).map_err(|e| JobsError::Protocol(e.to_string()))?;
    jobs.put(tube, body, options).await
}

/// Which implementation `ROOKERY_JOBS_URL` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// SQLite in the data dir.
    Embedded,
    /// The cluster's Redis (`REDIS_URL`), on its shared connection and key prefix.
    ClusterRedis,
    /// A Redis of its own (`redis://...`, or `redis+sentinel://...` behind Sentinel), with
    /// the cluster's key prefix.
    Redis(String),
    /// beanstalkd at `host:port`.
    Beanstalk(String),
}

impl Target {
    /// Unset: the cluster's Redis when there is one, embedded otherwise. Otherwise
    /// `embedded` (or `sqlite`), `redis` (the cluster's), `redis://...`/`rediss://...`/
    /// `redis+sentinel://...`, or
    /// `beanstalk://host[:port]` (port 11300 by default).
    pub fn choose(url: Option<&str>, cluster_redis: bool) -> Result<Target, JobsError> {
        let invalid = || JobsError::InvalidUrl(url.unwrap_or_default().to_owned());
        match url.map(str::trim) {
            None | Some("") if cluster_redis => Ok(Target::ClusterRedis),
            None | Some("") => Ok(Target::Embedded),
            Some("embedded" | "sqlite") => Ok(Target::Embedded),
            Some("redis") if cluster_redis => Ok(Target::ClusterRedis),
            Some("redis") => Err(invalid()),
            Some(url)
                if url.starts_with("redis://")
                    || url.starts_with("rediss://")
                    || url.starts_with("redis+sentinel://") =>
            {
                Ok(Target::Redis(url.to_owned()))
            }
            Some(url) => {
                let rest = url.strip_prefix("beanstalk://").ok_or_else(invalid)?;
                let rest = rest.trim_end_matches('/');
                if rest.is_empty() || rest.contains('/') {
                    return Err(invalid());
                }
                if rest.contains(':') {
                    Ok(Target::Beanstalk(rest.to_owned()))
                } else {
                    Ok(Target::Beanstalk(format!(
                        "{rest}:{}",
                        beanstalk::DEFAULT_PORT
                    )))
                }
            }
        }
    }
}

/// The jobs implementation the config asks for (see [`Target::choose`]), instrumented with the
/// `rookery_jobs_*` metrics. `redis` is the cluster's connection, when it has one.
pub async fn connect(
    config: &Config,
    redis: Option<Arc<RedisCluster>>,
) -> Result<Arc<dyn Jobs>, JobsError> {
    let url = config.jobs_url.as_ref().map(|u| u.expose().to_owned());
    let name = config.node_id.clone().unwrap_or_else(|| "node".to_owned());
    let jobs: Arc<dyn Jobs> = match (Target::choose(url.as_deref(), redis.is_some())?, redis) {
        (Target::Embedded, _) => Arc::new(SqliteJobs::open(&sqlite_path(config))?),
        (Target::ClusterRedis, Some(redis)) => Arc::new(RedisJobs::new(redis, &name).await?),
        (Target::ClusterRedis, None) => return Err(JobsError::InvalidUrl("redis".into())),
        (Target::Redis(url), _) => {
            // Behind Sentinel, the primary is asked for first (as for the cluster's Redis).
            let address = crate::cluster::redis::RedisAddress::One(url);
            let redis = RedisCluster::open(&address, &config.redis_prefix, Duration::from_secs(5))
                .await
                .map_err(unavailable)?;
            Arc::new(RedisJobs::new(redis, &name).await?)
        }
        (Target::Beanstalk(addr), _) => Arc::new(BeanstalkJobs::new(&addr)),
    };
    tracing::info!(backend = jobs.backend(), "jobs backend chosen");
    // Zeros for rookery's own tubes, so that a fresh node's /metrics lists them.
    for tube in TUBES {
        for counter in [
            names::JOBS_PUT,
            names::JOBS_RESERVED,
            names::JOBS_DONE,
            names::JOBS_BURIED,
            names::JOBS_FAILED,
        ] {
            metrics::counter!(counter, "tube" => *tube).increment(0);
        }
        metrics::gauge!(names::JOBS_OLDEST_READY_SECONDS, "tube" => *tube).set(0.0);
    }
    Ok(Arc::new(Instrumented { inner: jobs }))
}

fn sqlite_path(config: &Config) -> PathBuf {
    config.data_dir.join(SQLITE_FILE)
}

/// Counts puts, reservations, completions and burials per tube around any implementation, so
/// the three backends report alike.
pub struct Instrumented {
    inner: Arc<dyn Jobs>,
}

impl Instrumented {
    pub fn new(inner: Arc<dyn Jobs>) -> Self {
        Instrumented { inner }
    }
}

fn count(name: &'static str, tube: &Tube) {
    metrics::counter!(name, "tube" => tube.as_str().to_owned()).increment(1);
}

#[async_trait]
impl Jobs for Instrumented {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn put(
        &self,
        tube: &Tube,
        body: Vec<u8>,
        options: PutOptions,
    ) -> Result<JobId, JobsError> {
        let id = self.inner.put(tube, body, options).await?;
        count(names::JOBS_PUT, tube);
        tracing::debug!(job = id, %tube, "job put");
        Ok(id)
    }

    async fn reserve(
        &self,
        tubes: &[Tube],
        timeout: Duration,
    ) -> Result<Option<Reserved>, JobsError> {
        let job = self.inner.reserve(tubes, timeout).await?;
        if let Some(job) = &job {
            count(names::JOBS_RESERVED, &job.token.tube);
            tracing::debug!(token = %job.token, attempts = job.attempts, "job reserved");
        }
        Ok(job)
    }

    async fn delete(&self, token: &Token) -> Result<(), JobsError> {
        let done = self.inner.delete(token).await;
        self.note(token, "delete", &done);
        done?;
        count(names::JOBS_DONE, &token.tube);
        Ok(())
    }

    async fn release(
        &self,
        token: &Token,
        priority: u32,
        delay: Duration,
        error: Option<&str>,
    ) -> Result<(), JobsError> {
        let released = self.inner.release(token, priority, delay, error).await;
        self.note(token, "release", &released);
        released
    }

    async fn bury(
        &self,
        token: &Token,
        priority: u32,
        error: Option<&str>,
    ) -> Result<(), JobsError> {
        let buried = self.inner.bury(token, priority, error).await;
        self.note(token, "bury", &buried);
        buried?;
        count(names::JOBS_BURIED, &token.tube);
        tracing::info!(token = %token, error, "job buried");
        Ok(())
    }

    async fn touch(&self, token: &Token) -> Result<(), JobsError> {
        let touched = self.inner.touch(token).await;
        self.note(token, "touch", &touched);
        touched
    }

    async fn kick(&self, tube: &Tube, bound: u32) -> Result<u32, JobsError> {
        self.inner.kick(tube, bound).await
    }

    async fn kick_job(&self, id: JobId) -> Result<bool, JobsError> {
        self.inner.kick_job(id).await
    }

    async fn stats(&self, tube: &Tube) -> Result<TubeStats, JobsError> {
        self.inner.stats(tube).await
    }

    async fn list(
        &self,
        tube: &Tube,
        state: JobState,
        limit: usize,
    ) -> Result<Vec<JobInfo>, JobsError> {
        self.inner.list(tube, state, limit).await
    }

    async fn delete_job(&self, id: JobId) -> Result<bool, JobsError> {
        let deleted = self.inner.delete_job(id).await?;
        if deleted {
            tracing::info!(job = id, "job deleted by id");
        }
        Ok(deleted)
    }
}

impl Instrumented {
    /// A refused token is worth a warning: its worker ran past its TTR, so the job may have
    /// run twice.
    fn note(&self, token: &Token, op: &str, outcome: &Result<(), JobsError>) {
        if let Err(e) = outcome {
            tracing::warn!(token = %token, op, error = %e, "job operation refused");
        }
    }
}

/// Milliseconds as a `Duration`-free integer for the stores, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tube_names_follow_beanstalkd() {
        for ok in ["emails", "a", "x-y+z/1;2.$_()", &"t".repeat(200)] {
            assert!(Tube::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-lead", "sp ace", "ünï", "a:b", &"t".repeat(201)] {
            assert!(Tube::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_target_defaults_to_redis_in_a_cluster_and_embedded_alone() {
        assert_eq!(Target::choose(None, true).unwrap(), Target::ClusterRedis);
        assert_eq!(Target::choose(None, false).unwrap(), Target::Embedded);
        assert_eq!(
            Target::choose(Some("embedded"), true).unwrap(),
            Target::Embedded
        );
        assert_eq!(
            Target::choose(Some("redis"), true).unwrap(),
            Target::ClusterRedis
        );
        assert!(Target::choose(Some("redis"), false).is_err());
        assert_eq!(
            Target::choose(Some("redis://h:1/"), false).unwrap(),
            Target::Redis("redis://h:1/".into())
        );
        assert_eq!(
            Target::choose(Some("redis+sentinel://h:26379/mymaster"), false).unwrap(),
            Target::Redis("redis+sentinel://h:26379/mymaster".into())
        );
        assert_eq!(
            Target::choose(Some("beanstalk://127.0.0.1:11301"), true).unwrap(),
            Target::Beanstalk("127.0.0.1:11301".into())
        );
        assert_eq!(
            Target::choose(Some("beanstalk://queue"), true).unwrap(),
            Target::Beanstalk("queue:11300".into())
        );
        for bad in ["beanstalk://", "beanstalk://h:1/x", "amqp://h", "nonsense"] {
            assert!(Target::choose(Some(bad), true).is_err(), "{bad}");
        }
    }

    #[test]
    fn job_info_serialises_in_the_admin_api_shape() {
        let info = JobInfo {
            id: 7,
            tube: Tube::parse("emails").unwrap(),
            state: JobState::Buried,
            priority: 10,
            attempts: 2,
            last_error: Some("smtp down".into()),
            run_at: None,
            put_at: 5,
        };
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": 7, "tube": "emails", "state": "buried", "priority": 10,
                "attempts": 2, "lastError": "smtp down", "runAt": null, "putAt": 5})
        );
    }
}
