//! The jobs contract (beanstalkd semantics): priority then age, delays, reserve timeouts, TTR
//! expiry that fences the first holder, bury/kick, touch, release with delay, stats, listing,
//! delete by id, and concurrent reservers that never share a job. Run against SQLite, Redis
//! and a real beanstalkd. Each check has a tube of its own and they run at once, so the suite
//! takes about as long as its longest TTR wait.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rookery::cluster::redis::RedisCluster;
use rookery::domain::now_ms;
use rookery::jobs::{
    put_json, BeanstalkJobs, JobInfo, JobState, Jobs, JobsError, PutOptions, RedisJobs, SqliteJobs,
    Target, Tube, TubeStats,
};

const NOW: Duration = Duration::ZERO;
/// Long enough that a test never sees it run out unless it waits for it.
const LONG: Duration = Duration::from_secs(60);

fn opts() -> PutOptions {
    PutOptions::default().ttr(LONG)
}

fn stats(ready: u64, delayed: u64, reserved: u64, buried: u64) -> TubeStats {
    TubeStats {
        ready,
        delayed,
        reserved,
        buried,
    }
}

fn lost(result: Result<(), JobsError>) -> bool {
    matches!(result, Err(JobsError::ReservationLost { .. }))
}

async fn priority_then_age(jobs: &dyn Jobs, tube: Tube) {
    let t = std::slice::from_ref(&tube);
    let mut ids = Vec::new();
    for (body, priority) in [("a", 10), ("b", 5), ("c", 10), ("d", 5)] {
        let id = jobs
            .put(&tube, body.into(), opts().priority(priority))
            .await
            .unwrap();
        ids.push(id);
    }
    let mut order = Vec::new();
    while let Some(job) = jobs.reserve(t, NOW).await.unwrap() {
        assert_eq!(job.attempts, 1);
        assert_eq!(job.token.tube, tube);
        order.push((String::from_utf8(job.body.clone()).unwrap(), job.priority));
        jobs.delete(&job.token).await.unwrap();
    }
    assert_eq!(
        order,
        [("b", 5), ("d", 5), ("a", 10), ("c", 10)].map(|(b, p)| (b.to_owned(), p)),
        "lowest priority first, then oldest"
    );
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    assert_eq!(jobs.stats(&tube).await.unwrap(), stats(0, 0, 0, 0));
}

async fn several_tubes_and_json(jobs: &dyn Jobs, low: Tube, high: Tube) {
    put_json(jobs, &low, &serde_json::json!({"n": 1}), opts().priority(5))
        .await
        .unwrap();
    put_json(
        jobs,
        &high,
        &serde_json::json!({"n": 2}),
        opts().priority(1),
    )
    .await
    .unwrap();
    let both = [low.clone(), high.clone()];
    let first = jobs.reserve(&both, NOW).await.unwrap().expect("a job");
    assert_eq!(
        first.token.tube, high,
        "the most urgent across the watched tubes"
    );
    assert_eq!(first.json::<serde_json::Value>().unwrap()["n"], 2);
    let second = jobs.reserve(&both, NOW).await.unwrap().expect("a job");
    assert_eq!(second.token.tube, low);
    for job in [first, second] {
        jobs.delete(&job.token).await.unwrap();
    }
    assert!(matches!(
        jobs.reserve(&[], NOW).await,
        Err(JobsError::NoTubes)
    ));
}

async fn delay(jobs: &dyn Jobs, tube: Tube) {
    let t = std::slice::from_ref(&tube);
    let started = Instant::now();
    jobs.put(
        &tube,
        b"later".to_vec(),
        opts().delay(Duration::from_secs(1)),
    )
    .await
    .unwrap();
    assert!(jobs.reserve(t, NOW).await.unwrap().is_none(), "not yet");
    assert_eq!(jobs.stats(&tube).await.unwrap(), stats(0, 1, 0, 0));
    let job = jobs
        .reserve(t, Duration::from_secs(5))
        .await
        .unwrap()
        .expect("ready after its delay");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    jobs.delete(&job.token).await.unwrap();
}

async fn reserve_timeout(jobs: &dyn Jobs, tube: Tube) {
    let started = Instant::now();
    let nothing = jobs
        .reserve(std::slice::from_ref(&tube), Duration::from_secs(1))
        .await
        .unwrap();
    assert!(nothing.is_none());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

async fn blocked_reserve_wakes_on_put(jobs: &dyn Jobs, other: &dyn Jobs, tube: Tube) {
    let started = Instant::now();
    let waiter = other.reserve(std::slice::from_ref(&tube), Duration::from_secs(20));
    let putter = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        jobs.put(&tube, b"wake".to_vec(), opts()).await.unwrap()
    };
    let (job, id) = tokio::join!(waiter, putter);
    let job = job.unwrap().expect("woken by the put");
    assert_eq!(job.id(), id);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken, not timed out"
    );
    other.delete(&job.token).await.unwrap();
}

async fn ttr_expiry_fences_the_first_holder(jobs: &dyn Jobs, other: &dyn Jobs, tube: Tube) {
    let t = std::slice::from_ref(&tube);
    let id = jobs
        .put(&tube, b"slow".to_vec(), opts().ttr(Duration::from_secs(1)))
        .await
        .unwrap();
    let first = jobs.reserve(t, NOW).await.unwrap().expect("ready");
    assert!(
        other.reserve(t, NOW).await.unwrap().is_none(),
        "held by the first"
    );
    let second = other
        .reserve(t, Duration::from_secs(6))
        .await
        .unwrap()
        .expect("back to ready once the TTR ran out");
    assert_eq!(second.id(), id);
    assert_eq!(second.attempts, 2);
    assert_ne!(first.token, second.token);
    assert!(lost(jobs.delete(&first.token).await), "late delete refused");
    assert!(lost(jobs.release(&first.token, 1, NOW, Some("late")).await));
    assert!(lost(jobs.bury(&first.token, 1, None).await));
    assert!(lost(jobs.touch(&first.token).await));
    assert_eq!(jobs.stats(&tube).await.unwrap(), stats(0, 0, 1, 0));
    other.delete(&second.token).await.unwrap();
    assert!(lost(other.delete(&second.token).await), "done once");
    assert_eq!(jobs.stats(&tube).await.unwrap(), stats(0, 0, 0, 0));
}

/// A reservation whose TTR ran out is no longer its holder's even while nobody has taken the
/// job again (beanstalkd would let anyone delete a ready job).
async fn an_expired_reservation_nobody_took_is_refused(jobs: &dyn Jobs, tube: Tube) {
    let t = std::slice::from_ref(&tube);
    jobs.put(&tube, b"slow".to_vec(), opts().ttr(Duration::from_secs(1)))
        .await
        .unwrap();
    let job = jobs.reserve(t, NOW).await.unwrap().expect("ready");
    let back = async {
        while jobs.stats(&tube).await.unwrap() != stats(1, 0, 0, 0) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), back)
        .await
        .expect("ready again once its TTR ran out");
    assert!(lost(jobs.delete(&job.token).await), "late delete refused");
    assert!(lost(jobs.touch(&job.token).await));
    assert_eq!(jobs.stats(&tube).await.unwrap(), stats(1, 0, 0, 0), "kept");
    let again = jobs.reserve(t, NOW).await.unwrap().expect("ready");
    assert_eq!(again.attempts, 2);
    jobs.delete(&again.token).await.unwrap();
}

async fn touch_extends(jobs: &dyn Jobs, tube: Tube) {
    let t = std::slice::from_ref(&tube);
    jobs.put(&tube, b"long".to_vec(), opts().ttr(Duration::from_secs(2)))
        .await
        .unwrap();
    let job = jobs.reserve(t, NOW).await.unwrap().expect("ready");
    tokio::time::sleep(Duration::from_millis(1200)).await; // within the 2 s TTR
    jobs.touch(&job.token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await; // past the first 2 s, not the second
    assert!(
        jobs.reserve(t, NOW).await.unwrap().is_none(),
        "the touch kept it reserved"
    );
    jobs.delete(&job.token).await.unwrap();
}

async fn release_with_delay(jobs: &dyn Jobs, tube: Tube) {
    let t = std::slice::from_ref(&tube);
    jobs.put(&tube, b"flaky".to_vec(), opts().priority(100))
        .await
        .unwrap();
    let first = jobs.reserve(t, NOW).await.unwrap().expect("ready");
    assert_eq!(first.last_error, None);
    jobs.release(&first.token, 50, NOW, Some("first failure"))
        .await
        .unwrap();
    assert!(lost(jobs.delete(&first.token).await), "released: not ours");
    let second = jobs.reserve(t, NOW).await.unwrap().expect("ready again");
    assert_eq!(
        (second.attempts, second.priority),
        (2, 50),
        "the new priority"
    );
    assert_eq!(second.last_error.as_deref(), Some("first failure"));
    let released = Instant::now();
    jobs.release(&second.token, 7, Duration::from_secs(1), Some("again"))
        .await
        .unwrap();
    assert_eq!(jobs.stats(&tube).await.unwrap(), stats(0, 1, 0, 0));
    assert!(jobs.reserve(t, NOW).await.unwrap().is_none(), "delayed");
    let third = jobs
        .reserve(t, Duration::from_secs(5))
        .await
        .unwrap()
        .expect("ready after the delay");
    assert!(released.elapsed() >= Duration::from_millis(950));
    assert_eq!((third.attempts, third.priority), (3, 7));
    assert_eq!(third.last_error.as_deref(), Some("again"));
    jobs.delete(&third.token).await.unwrap();
}

async fn bury_and_kick(jobs: &dyn Jobs, tube: Tube) {
    let t = std::slice::from_ref(&tube);
    let mut buried = Vec::new();
    for body in ["one", "two"] {
        jobs.put(&tube, body.into(), opts()).await.unwrap();
        let job = jobs.reserve(t, NOW).await.unwrap().expect("ready");
        jobs.bury(&job.token, 20, Some("boom")).await.unwrap();
        assert!(lost(jobs.delete(&job.token).await), "buried: not ours");
        buried.push(job.id());
    }
    assert_eq!(jobs.stats(&tube).await.unwrap(), stats(0, 0, 0, 2));
    assert!(
        jobs.reserve(t, NOW).await.unwrap().is_none(),
        "buried jobs wait"
    );
    assert_eq!(jobs.kick(&tube, 1).await.unwrap(), 1);
    let ready = jobs.list(&tube, JobState::Ready, 10).await.unwrap();
    assert_eq!(
        ready.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![buried[0]],
        "the first buried is kicked first"
    );
    assert!(jobs.kick_job(buried[1]).await.unwrap());
    assert!(!jobs.kick_job(buried[1]).await.unwrap(), "ready now");
    assert_eq!(jobs.stats(&tube).await.unwrap(), stats(2, 0, 0, 0));
    for expected in &buried {
        let job = jobs.reserve(t, NOW).await.unwrap().expect("kicked");
        assert_eq!(job.id(), *expected);
        assert_eq!((job.attempts, job.priority), (2, 20));
        assert_eq!(job.last_error.as_deref(), Some("boom"));
        jobs.delete(&job.token).await.unwrap();
    }
    // With nothing buried, kick takes delayed jobs (as beanstalkd's kick).
    let delayed = jobs
        .put(&tube, b"d".to_vec(), opts().delay(LONG))
        .await
        .unwrap();
    assert_eq!(jobs.kick(&tube, 5).await.unwrap(), 1);
    let job = jobs.reserve(t, NOW).await.unwrap().expect("kicked");
    assert_eq!(job.id(), delayed);
    jobs.delete(&job.token).await.unwrap();
    assert_eq!(jobs.kick(&tube, 5).await.unwrap(), 0);
}

/// The one job `list` shows in `state`.
async fn only(jobs: &dyn Jobs, tube: &Tube, state: JobState) -> JobInfo {
    let mut listed = jobs.list(tube, state, 100).await.unwrap();
    assert_eq!(listed.len(), 1, "{state:?}: {listed:?}");
    let job = listed.remove(0);
    assert_eq!((&job.tube, job.state), (tube, state));
    job
}

async fn stats_and_listing(jobs: &dyn Jobs, tube: Tube) {
    let t = std::slice::from_ref(&tube);
    let reserved = jobs
        .put(&tube, b"x".to_vec(), opts().priority(1))
        .await
        .unwrap();
    let held = jobs.reserve(t, NOW).await.unwrap().expect("ready");
    assert_eq!(held.id(), reserved);
    let buried = jobs
        .put(&tube, b"b".to_vec(), opts().priority(1))
        .await
        .unwrap();
    let job = jobs.reserve(t, NOW).await.unwrap().expect("ready");
    jobs.bury(&job.token, 2, Some("broken")).await.unwrap();
    let ready = jobs
        .put(&tube, b"r".to_vec(), opts().priority(3))
        .await
        .unwrap();
    let delayed = jobs
        .put(&tube, b"d".to_vec(), opts().priority(4).delay(LONG))
        .await
        .unwrap();
    assert_eq!(jobs.stats(&tube).await.unwrap(), stats(1, 1, 1, 1));

    let near = |at: Option<u64>| {
        let at = at.expect("a time");
        let now = now_ms();
        at > now + 50_000 && at < now + 70_000
    };
    let r = only(jobs, &tube, JobState::Ready).await;
    assert_eq!((r.id, r.priority, r.attempts), (ready, 3, 0));
    assert_eq!((r.last_error, r.run_at), (None, None));
    let since_put = now_ms().saturating_sub(r.put_at);
    assert!(
        since_put < 30_000,
        "put {since_put} ms ago (beanstalkd: to the second)"
    );
    let d = only(jobs, &tube, JobState::Delayed).await;
    assert_eq!((d.id, d.priority, d.attempts), (delayed, 4, 0));
    assert!(near(d.run_at), "{:?}", d.run_at);
    let x = only(jobs, &tube, JobState::Reserved).await;
    assert_eq!((x.id, x.attempts), (reserved, 1));
    assert!(near(x.run_at), "the TTR's end: {:?}", x.run_at);
    let b = only(jobs, &tube, JobState::Buried).await;
    assert_eq!((b.id, b.priority, b.attempts), (buried, 2, 1));
    assert_eq!(b.last_error.as_deref(), Some("broken"));
    assert_eq!(jobs.list(&tube, JobState::Ready, 0).await.unwrap(), vec![]);

    jobs.delete(&held.token).await.unwrap();
    for id in [buried, ready, delayed] {
        assert!(jobs.delete_job(id).await.unwrap());
    }
    assert_eq!(jobs.stats(&tube).await.unwrap(), stats(0, 0, 0, 0));
}

async fn delete_by_id(jobs: &dyn Jobs, tube: Tube) {
    let t = std::slice::from_ref(&tube);
    let ready = jobs.put(&tube, b"r".to_vec(), opts()).await.unwrap();
    assert!(jobs.delete_job(ready).await.unwrap());
    assert!(!jobs.delete_job(ready).await.unwrap(), "gone");
    assert!(!jobs.kick_job(ready).await.unwrap());

    jobs.put(&tube, b"held".to_vec(), opts()).await.unwrap();
    let held = jobs.reserve(t, NOW).await.unwrap().expect("ready");
    assert!(
        jobs.delete_job(held.id()).await.unwrap(),
        "reserved, deleted all the same"
    );
    assert!(
        lost(jobs.delete(&held.token).await),
        "its holder is refused"
    );
    assert!(lost(jobs.release(&held.token, 1, NOW, None).await));

    jobs.put(&tube, b"b".to_vec(), opts()).await.unwrap();
    let job = jobs.reserve(t, NOW).await.unwrap().expect("ready");
    jobs.bury(&job.token, 1, None).await.unwrap();
    assert!(jobs.delete_job(job.id()).await.unwrap(), "buried");
    assert_eq!(jobs.stats(&tube).await.unwrap(), stats(0, 0, 0, 0));
}

/// Reserves and deletes until the tube stays empty for a second; the ids it did.
async fn drain(client: &dyn Jobs, tube: &Tube) -> Vec<u64> {
    let mut done = Vec::new();
    while let Some(job) = client
        .reserve(std::slice::from_ref(tube), Duration::from_secs(1))
        .await
        .unwrap()
    {
        done.push(job.id());
        client.delete(&job.token).await.unwrap();
    }
    done
}

async fn concurrent_reservers(jobs: &dyn Jobs, other: &dyn Jobs, tube: Tube) {
    const N: usize = 24;
    let mut put = BTreeSet::new();
    for i in 0..N {
        put.insert(jobs.put(&tube, vec![i as u8], opts()).await.unwrap());
    }
    let (a, b, c, d) = tokio::join!(
        drain(jobs, &tube),
        drain(other, &tube),
        drain(jobs, &tube),
        drain(other, &tube)
    );
    let all: Vec<u64> = [a, b, c, d].concat();
    let distinct: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), distinct.len(), "a job reserved twice: {all:?}");
    assert_eq!(distinct, put, "every job done once");
}

/// Runs every check at once. `other` is a second client of the same backend (another node),
/// or the same one where the backend is in-process.
pub async fn contract(jobs: Arc<dyn Jobs>, other: Arc<dyn Jobs>, ns: &str) {
    let tube = |name: &str| Tube::parse(&format!("{ns}-{name}")).expect("tube name");
    let (jobs, other) = (&*jobs, &*other);
    let all = async {
        tokio::join!(
            priority_then_age(jobs, tube("order")),
            several_tubes_and_json(jobs, tube("low"), tube("high")),
            delay(jobs, tube("delay")),
            reserve_timeout(jobs, tube("empty")),
            blocked_reserve_wakes_on_put(jobs, other, tube("wake")),
            ttr_expiry_fences_the_first_holder(jobs, other, tube("ttr")),
            an_expired_reservation_nobody_took_is_refused(jobs, tube("expired")),
            touch_extends(jobs, tube("touch")),
            release_with_delay(jobs, tube("release")),
            bury_and_kick(jobs, tube("bury")),
            stats_and_listing(jobs, tube("stats")),
            delete_by_id(jobs, tube("admin")),
            concurrent_reservers(jobs, other, tube("race")),
        )
    };
    tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .expect("the jobs contract finished within a minute");
}

#[actix_web::test]
async fn embedded_jobs_keep_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let jobs: Arc<dyn Jobs> = Arc::new(SqliteJobs::open(&dir.path().join("jobs.sqlite3")).unwrap());
    contract(jobs.clone(), jobs, "e").await;
}

#[actix_web::test]
async fn redis_jobs_keep_the_contract() {
    let prefix = crate::servers::unique("t");
    let url = &crate::servers::shared().redis_url;
    let node = |name: &'static str| {
        let prefix = prefix.clone();
        async move {
            let cluster = RedisCluster::new(url, &prefix).unwrap();
            Arc::new(RedisJobs::new(cluster, name).await.unwrap()) as Arc<dyn Jobs>
        }
    };
    contract(node("a").await, node("b").await, "r").await;
}

fn beanstalk_addr() -> String {
    match Target::choose(Some(crate::servers::beanstalk_url()), false) {
        Ok(Target::Beanstalk(addr)) => addr,
        other => panic!("not a beanstalk URL: {other:?}"),
    }
}

#[actix_web::test]
async fn beanstalkd_jobs_keep_the_contract() {
    let addr = beanstalk_addr();
    let jobs: Arc<dyn Jobs> = Arc::new(BeanstalkJobs::new(&addr));
    let other: Arc<dyn Jobs> = Arc::new(BeanstalkJobs::new(&addr));
    contract(jobs, other, &crate::servers::unique("b")).await;
}

#[actix_web::test]
async fn the_config_picks_the_jobs_backend() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = rookery::Config::for_tests(dir.path());
    let embedded = rookery::jobs::connect(&config, None).await.unwrap();
    assert_eq!(embedded.backend(), "embedded");
    assert!(dir.path().join(rookery::jobs::SQLITE_FILE).exists());

    config.jobs_url = Some(rookery::config::Secret::new(crate::servers::beanstalk_url()));
    let beanstalk = rookery::jobs::connect(&config, None).await.unwrap();
    assert_eq!(beanstalk.backend(), "beanstalk");
    let tube = Tube::parse(&crate::servers::unique("cfg")).unwrap();
    let id = beanstalk.put(&tube, b"x".to_vec(), opts()).await.unwrap();
    assert!(beanstalk.delete_job(id).await.unwrap());

    let redis = RedisCluster::new(
        &crate::servers::shared().redis_url,
        &crate::servers::unique("t"),
    )
    .unwrap();
    config.jobs_url = None;
    let clustered = rookery::jobs::connect(&config, Some(redis)).await.unwrap();
    assert_eq!(
        clustered.backend(),
        "redis",
        "the cluster's Redis by default"
    );
}

#[actix_web::test]
async fn redis_cluster_jobs_keep_the_contract() {
    let prefix = crate::servers::unique("t");
    let node = |name: &'static str| {
        let cluster = crate::sharded(&prefix);
        async move { Arc::new(RedisJobs::new(cluster, name).await.unwrap()) as Arc<dyn Jobs> }
    };
    contract(node("a").await, node("b").await, "r").await;
}
