//! The job workers over each real backend (SQLite, Redis, beanstalkd): a job done is deleted;
//! one that keeps failing is retried with backoff, then buried after its last try with the
//! error kept and a `job_buried` audit event; a lasting failure is buried at once; a drain
//! releases a job still running, so it waits for no time-to-run.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rookery::audit::sqlite::SqliteAudit;
use rookery::audit::{AuditQuery, AuditType, Auditor};
use rookery::cluster::redis::RedisCluster;
use rookery::jobs::worker::{Backoff, Failure, Handler, TubeWorkers, Workers};
use rookery::jobs::{
    BeanstalkJobs, JobState, Jobs, PutOptions, RedisJobs, Reserved, SqliteJobs, Target, Tube,
};

/// What the test handler does with each run.
#[derive(Clone, Copy)]
enum Behaviour {
    Succeed,
    Retry,
    Fatal,
    /// Never returns (a job still running at the drain).
    Hang,
}

struct Recorder {
    behaviour: Behaviour,
    runs: AtomicU32,
}

#[async_trait]
impl Handler for Recorder {
    async fn run(&self, _: &Reserved) -> Result<(), Failure> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        match self.behaviour {
            Behaviour::Succeed => Ok(()),
            Behaviour::Retry => Err(Failure::Retry("the mail server is down".into())),
            Behaviour::Fatal => Err(Failure::Fatal("no such recipient".into())),
            Behaviour::Hang => std::future::pending().await,
        }
    }
}

struct Rig {
    jobs: Arc<dyn Jobs>,
    auditor: Auditor,
    _dir: tempfile::TempDir,
}

fn rig(jobs: Arc<dyn Jobs>) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let audit = SqliteAudit::open(&dir.path().join("audit.sqlite3")).unwrap();
    Rig {
        jobs,
        auditor: Auditor::start(Arc::new(audit), Duration::from_secs(3600)),
        _dir: dir,
    }
}

impl Rig {
    /// One worker on `tube` running `behaviour`, three tries, fast backoff.
    fn start(&self, tube: &Tube, behaviour: Behaviour) -> (Workers, Arc<Recorder>) {
        let handler = Arc::new(Recorder {
            behaviour,
            runs: AtomicU32::new(0),
        });
        let backoff = Backoff {
            first: Duration::from_millis(10),
            cap: Duration::from_millis(40),
            max_attempts: 3,
        };
        let workers = Workers::start(
            self.jobs.clone(),
            self.auditor.clone(),
            backoff,
            vec![TubeWorkers {
                tube: tube.clone(),
                concurrency: 1,
                handler: handler.clone(),
            }],
        );
        (workers, handler)
    }

    async fn until_state(&self, tube: &Tube, state: JobState) -> rookery::jobs::JobInfo {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(job) = self.jobs.list(tube, state, 1).await.unwrap().pop() {
                return job;
            }
            assert!(tokio::time::Instant::now() < deadline, "no {state:?} job");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn until_empty(&self, tube: &Tube) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let stats = self.jobs.stats(tube).await.unwrap();
            if stats == Default::default() {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "left: {stats:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn done_is_deleted(rig: &Rig, tube: Tube) {
    let (workers, handler) = rig.start(&tube, Behaviour::Succeed);
    rig.jobs
        .put(&tube, b"x".to_vec(), PutOptions::default())
        .await
        .unwrap();
    rig.until_empty(&tube).await;
    assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
    workers.drain(Duration::from_secs(1)).await;
}

async fn retried_then_buried_and_audited(rig: &Rig, tube: Tube) {
    let (workers, handler) = rig.start(&tube, Behaviour::Retry);
    let id = rig
        .jobs
        .put(&tube, b"x".to_vec(), PutOptions::default())
        .await
        .unwrap();
    let buried = rig.until_state(&tube, JobState::Buried).await;
    assert_eq!((buried.id, buried.attempts), (id, 3));
    assert_eq!(
        buried.last_error.as_deref(),
        Some("the mail server is down")
    );
    assert_eq!(
        handler.runs.load(Ordering::SeqCst),
        3,
        "three tries, then no more"
    );
    workers.drain(Duration::from_secs(1)).await;
    rig.auditor.flush().await;
    let events = rig
        .auditor
        .store()
        .search(&AuditQuery {
            kind: Some(AuditType::JobBuried),
            target: Some(format!("job {id}")),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
}

async fn fatal_is_buried_at_once(rig: &Rig, tube: Tube) {
    let (workers, handler) = rig.start(&tube, Behaviour::Fatal);
    rig.jobs
        .put(&tube, b"x".to_vec(), PutOptions::default())
        .await
        .unwrap();
    let buried = rig.until_state(&tube, JobState::Buried).await;
    assert_eq!(buried.attempts, 1);
    assert_eq!(buried.last_error.as_deref(), Some("no such recipient"));
    assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
    workers.drain(Duration::from_secs(1)).await;
}

async fn a_drain_releases_what_still_runs(rig: &Rig, tube: Tube) {
    let (workers, handler) = rig.start(&tube, Behaviour::Hang);
    let long = PutOptions::default().ttr(Duration::from_secs(600));
    let id = rig.jobs.put(&tube, b"x".to_vec(), long).await.unwrap();
    rig.until_state(&tube, JobState::Reserved).await;
    // Reserved on the server a moment before the worker's reserve call returns.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while handler.runs.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the handler never ran"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    workers.drain(Duration::from_millis(100)).await;
    let ready = rig.until_state(&tube, JobState::Ready).await;
    assert_eq!(ready.id, id, "ready at once, not after its 10-minute TTR");
    assert_eq!(ready.last_error.as_deref(), Some("node draining"));
}

async fn suite(jobs: Arc<dyn Jobs>, ns: &str) {
    let rig = rig(jobs);
    let tube = |name: &str| Tube::parse(&format!("{ns}-w-{name}")).unwrap();
    tokio::join!(
        done_is_deleted(&rig, tube("done")),
        retried_then_buried_and_audited(&rig, tube("retry")),
        fatal_is_buried_at_once(&rig, tube("fatal")),
        a_drain_releases_what_still_runs(&rig, tube("drain")),
    );
}

#[actix_web::test]
async fn workers_over_embedded_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = SqliteJobs::open(&dir.path().join("jobs.sqlite3")).unwrap();
    suite(Arc::new(jobs), "e").await;
}

#[actix_web::test]
async fn workers_over_redis_jobs() {
    let prefix = crate::servers::unique("w");
    let cluster = RedisCluster::new(&crate::servers::shared().redis_url, &prefix).unwrap();
    suite(Arc::new(RedisJobs::new(cluster, "w").await.unwrap()), "r").await;
}

#[actix_web::test]
async fn workers_over_beanstalkd() {
    let Ok(Target::Beanstalk(addr)) = Target::choose(Some(crate::servers::beanstalk_url()), false)
    else {
        panic!("not a beanstalk URL");
    };
    let ns = crate::servers::unique("b");
    suite(Arc::new(BeanstalkJobs::new(&addr)), &ns).await;
}

#[actix_web::test]
async fn workers_over_redis_cluster_jobs() {
    let cluster = crate::sharded(&crate::servers::unique("w"));
    suite(Arc::new(RedisJobs::new(cluster, "w").await.unwrap()), "r").await;
}
