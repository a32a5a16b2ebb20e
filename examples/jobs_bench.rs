//! Jobs benchmark (not a test): for each backend, jobs put and completed (reserved, then
//! deleted) per second with a bounded backlog, then put-to-done latency with puts paced at
//! half that rate.
//!
//! ```text
//! cargo run --release --example jobs_bench -- [--seconds N] [--workers N] [--rate R] [embedded|redis|beanstalk ...]
//! ```
//! Redis comes from `ROOKERY_TEST_REDIS_URL` (or `REDIS_URL`), beanstalkd from
//! `ROOKERY_TEST_BEANSTALK_URL` (`beanstalk://host:port`); a backend without its server is
//! skipped. One client process, one thread (as one node's arbiter), `--workers` concurrent
//! reservers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rookery::cluster::redis::RedisCluster;
use rookery::jobs::{BeanstalkJobs, Jobs, PutOptions, RedisJobs, SqliteJobs, Target, Tube};

/// Jobs put but not yet done, at most, in the throughput phase (so it measures the steady
/// state, not how fast a backlog grows).
const BACKLOG: usize = 512;
/// Concurrent puts in the throughput phase.
const PRODUCERS: usize = 4;
/// Left out of the throughput figure: connections opening, scripts loading.
const WARMUP: Duration = Duration::from_secs(1);

struct Args {
    seconds: u64,
    /// Pace the latency phase at this rate instead of half the measured throughput.
    rate: Option<f64>,
    workers: usize,
    backends: Vec<String>,
}

fn args() -> Args {
    let mut args = Args {
        seconds: 10,
        rate: None,
        workers: 8,
        backends: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => args.seconds = it.next().and_then(|v| v.parse().ok()).expect("N"),
            "--rate" => args.rate = it.next().and_then(|v| v.parse().ok()),
            "--workers" => args.workers = it.next().and_then(|v| v.parse().ok()).expect("N"),
            other => args.backends.push(other.to_owned()),
        }
    }
    if args.backends.is_empty() {
        args.backends = ["embedded", "redis", "beanstalk"]
            .map(str::to_owned)
            .to_vec();
    }
    args
}

async fn backend(name: &str, dir: &std::path::Path) -> Option<Arc<dyn Jobs>> {
    let env = |keys: &[&str]| keys.iter().find_map(|k| std::env::var(k).ok());
    match name {
        "embedded" => Some(Arc::new(
            SqliteJobs::open(&dir.join("jobs.sqlite3")).expect("sqlite"),
        )),
        "redis" => {
            let url = env(&["ROOKERY_TEST_REDIS_URL", "REDIS_URL"])?;
            let prefix = format!("bench{:08x}:", rand::random::<u32>());
            let cluster = RedisCluster::new(&url, &prefix).expect("redis");
            Some(Arc::new(
                RedisJobs::new(cluster, "bench").await.expect("redis"),
            ))
        }
        "beanstalk" => {
            let url = env(&["ROOKERY_TEST_BEANSTALK_URL", "ROOKERY_JOBS_URL"])?;
            let Ok(Target::Beanstalk(addr)) = Target::choose(Some(&url), false) else {
                panic!("not a beanstalk URL: {url}");
            };
            Some(Arc::new(BeanstalkJobs::new(&addr)))
        }
        other => panic!("unknown backend {other}"),
    }
}

/// Reserves and deletes until `stop`, calling `done(body)` after each delete.
async fn worker(jobs: Arc<dyn Jobs>, tube: Tube, stop: Arc<AtomicU64>, done: impl Fn(&[u8])) {
    let tubes = [tube];
    while stop.load(Ordering::Relaxed) == 0 {
        match jobs.reserve(&tubes, Duration::from_secs(1)).await {
            Ok(Some(job)) => {
                jobs.delete(&job.token).await.expect("delete");
                done(&job.body);
            }
            Ok(None) => {}
            Err(e) => panic!("reserve: {e}"),
        }
    }
}

/// This process's CPU time (user + system) so far, from `/proc/self/stat` (Linux; zero
/// elsewhere), in µs. The embedded backend's SQLite work is in it; a server's is not.
fn cpu_micros() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    ticks * 10_000 // USER_HZ is 100 on Linux
}

/// Completed jobs per second, backlog bounded, and this process's CPU µs per job.
async fn throughput(jobs: &Arc<dyn Jobs>, workers: usize, run: Duration) -> (f64, f64) {
    let tube = Tube::parse(&format!("bench-tp-{:08x}", rand::random::<u32>())).unwrap();
    let stop = Arc::new(AtomicU64::new(0));
    let completed = Arc::new(AtomicU64::new(0));
    let room = Arc::new(tokio::sync::Semaphore::new(BACKLOG));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (completed, room) = (completed.clone(), room.clone());
        tasks.push(tokio::spawn(worker(
            jobs.clone(),
            tube.clone(),
            stop.clone(),
            move |_| {
                completed.fetch_add(1, Ordering::Relaxed);
                room.add_permits(1);
            },
        )));
    }
    for _ in 0..PRODUCERS {
        let (jobs, tube, stop, room) = (jobs.clone(), tube.clone(), stop.clone(), room.clone());
        tasks.push(tokio::spawn(async move {
            while stop.load(Ordering::Relaxed) == 0 {
                room.acquire().await.expect("open").forget();
                jobs.put(&tube, vec![0; 64], PutOptions::default())
                    .await
                    .expect("put");
            }
        }));
    }
    tokio::time::sleep(WARMUP).await;
    let (start_count, started) = (completed.load(Ordering::Relaxed), Instant::now());
    let cpu_before = cpu_micros();
    tokio::time::sleep(run).await;
    let counted = completed.load(Ordering::Relaxed) - start_count;
    let elapsed = started.elapsed();
    let cpu = (cpu_micros() - cpu_before) as f64 / counted.max(1) as f64;
    stop.store(1, Ordering::Relaxed);
    room.add_permits(PRODUCERS);
    for task in tasks {
        let _ = task.await;
    }
    (counted as f64 / elapsed.as_secs_f64(), cpu)
}

/// Put-to-done latencies (µs) with puts issued at `rate` per second (open loop: a put is
/// issued when due, whether or not earlier ones are done), from the put call to the delete's
/// acknowledgement.
async fn latency(jobs: &Arc<dyn Jobs>, workers: usize, rate: f64, run: Duration) -> Vec<u64> {
    let tube = Tube::parse(&format!("bench-lat-{:08x}", rand::random::<u32>())).unwrap();
    let stop = Arc::new(AtomicU64::new(0));
    let origin = Instant::now();
    let samples = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let samples = samples.clone();
        tasks.push(tokio::spawn(worker(
            jobs.clone(),
            tube.clone(),
            stop.clone(),
            move |body| {
                let issued = u64::from_le_bytes(body[..8].try_into().expect("8 bytes"));
                let now = origin.elapsed().as_micros() as u64;
                samples.lock().unwrap().push(now.saturating_sub(issued));
            },
        )));
    }
    let mut sent = 0u64;
    let mut puts = Vec::new();
    while origin.elapsed() < run {
        // Job k is due at k / rate: every job due by now, the one due at 0 included.
        let due_count = (origin.elapsed().as_secs_f64() * rate) as u64 + 1;
        while sent < due_count {
            let issued = origin.elapsed().as_micros() as u64;
            let (jobs, tube) = (jobs.clone(), tube.clone());
            puts.push(tokio::spawn(async move {
                jobs.put(&tube, issued.to_le_bytes().to_vec(), PutOptions::default())
                    .await
                    .expect("put");
            }));
            sent += 1;
        }
        puts.retain(|p| !p.is_finished());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for put in puts {
        let _ = put.await;
    }
    // Let the last jobs finish.
    let deadline = Instant::now() + Duration::from_secs(5);
    while (samples.lock().unwrap().len() as u64) < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(1, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let mut samples = std::mem::take(&mut *samples.lock().unwrap());
    samples.sort_unstable();
    assert_eq!(samples.len() as u64, sent, "every job done");
    samples
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = Duration::from_secs(args.seconds);
        println!(
            "| backend | put+done per s ({} workers, backlog {BACKLOG}) | client CPU µs per job | paced at | p50 ms | p99 ms | max ms | jobs |",
            args.workers
        );
        println!("|---|---|---|---|---|---|---|---|");
        for name in &args.backends {
            let Some(jobs) = backend(name, dir.path()).await else {
                eprintln!("{name}: no server configured, skipped");
                continue;
            };
            let (rate, cpu, half) = match args.rate {
                Some(paced) => (f64::NAN, f64::NAN, paced),
                None => {
                    let (rate, cpu) = throughput(&jobs, args.workers, run).await;
                    (rate, cpu, rate / 2.0)
                }
            };
            let samples = latency(&jobs, args.workers, half, run).await;
            println!(
                "| {name} | {rate:.0} | {cpu:.0} | {half:.0}/s | {:.2} | {:.2} | {:.2} | {} |",
                percentile(&samples, 0.5),
                percentile(&samples, 0.99),
                percentile(&samples, 1.0),
                samples.len()
            );
        }
    });
}
