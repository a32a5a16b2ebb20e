//! The composition root: builds a node from its config (choosing the embedded or cluster
//! implementations of every seam), binds the server, and runs it until told to stop. `main`
//! and the tests both go through [`Application::build`], so tests exercise the real wiring.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix::Arbiter;
use actix_web::{dev::ServerHandle, web, App, HttpServer};
use base64::Engine;
use rand::RngCore;

use crate::actors::game::GameActor;
use crate::actors::queue::QueueActor;
use crate::actors::tournament::{Scheduler, TournamentActor};
use crate::actors::{register, ActorEnv, Services};
use crate::analysis::{Analyser, AnalyserConfig};
use crate::audit::mongo::MongoAudit;
use crate::audit::sqlite::SqliteAudit;
use crate::audit::{AuditError, AuditStore, Auditor};
use crate::auth::ledger::{Ledger, MemoryLedger};
use crate::auth::redis::RedisLedger;
use crate::auth::revocations::{CachedLedger, RevocationCache, REVOKED_CHANNEL};
use crate::auth::users::{CachedStore, UserCache, CHANGED_CHANNEL};
use crate::auth::{Accounts, Tokens};
use crate::cluster::membership::{HEARTBEAT_EVERY, HEARTBEAT_TTL};
use crate::cluster::memory::MemoryCluster;
use crate::cluster::redis::{RedisAddress, RedisCluster};
use crate::cluster::{Bus, Leases, Membership, Registry, Router, SaveError, SnapshotStore};
use crate::config::{check_secret, Config, WeakSecret};
use crate::events::listener::{Listeners, Policy};
use crate::events::redis::RedisEvents;
use crate::events::sqlite::SqliteEvents;
use crate::events::{EventLog, EventsError, Retention};
use crate::http;
use crate::jobs::worker::{self, Backoff, TubeWorkers, Workers};
use crate::jobs::{Jobs, Tube};
use crate::listeners::anticheat::AnalysisHandler;
use crate::messages::ActorKind;
use crate::node::{Node, NodeInner};
use crate::notify::email::{EmailHandler, MailError, Mailer};
use crate::notify::Notifier;
use crate::rooms::Rooms;
use crate::session::Sessions;
use crate::store::mongo::MongoStore;
use crate::store::sqlite::SqliteStore;
use crate::store::Store;

/// How long a drain waits for the node's actors to hand back their leases, and then for its
/// sockets to close, before it goes on regardless.
const DRAIN_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot use data dir {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot open the store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("cannot reach Redis: {0}")]
    Redis(SaveError),
    #[error("cannot open the audit log: {0}")]
    Audit(#[from] AuditError),
    #[error("cannot open the job queue: {0}")]
    Jobs(#[from] crate::jobs::JobsError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("cannot open the event log: {0}")]
    Events(#[from] EventsError),
    #[error(
        "refusing to start a cluster node: {0}. Set ROOKERY_JWT_SECRET to at least 32 random \
         bytes (e.g. `openssl rand -base64 32`), the same on every node, or pass \
         --insecure-dev on a development machine"
    )]
    WeakSecret(#[from] WeakSecret),
}

/// A built, bound node, ready to run.
pub struct Application {
    port: u16,
    node: Node,
    workers: Arc<Workers>,
    server: actix_web::dev::Server,
    handle: ServerHandle,
    arbiters: Vec<Arbiter>,
}

/// Stops a running application gracefully (from a signal handler, or a test).
#[derive(Clone)]
pub struct Shutdown {
    node: Node,
    workers: Arc<Workers>,
    handle: ServerHandle,
}

impl Shutdown {
    /// Drains: stop taking sockets, hand every game and queue back (their in-flight writes
    /// finish first, then they release their leases), tell connected clients to reconnect
    /// elsewhere (1012), leave the cluster, then stop the server.
    pub async fn trigger(&self) {
        self.node.draining.store(true, Ordering::SeqCst);
        // Job workers reserve no more; a job still running at the end is released to ready.
        let workers = self.workers.clone();
        let jobs_drained = tokio::spawn(async move { workers.drain(DRAIN_WAIT).await });
        let router = &self.node.router;
        router.stop_activating();
        let actors = router.passivate(false);
        tracing::info!(actors, sockets = router.hosted_count(true), "draining");
        // The reconnecting clients must find every game and queue free elsewhere: wait until
        // each actor has finished its write in flight and released its lease.
        wait_until("virtual actors stopped", || router.hosted_count(false) == 0).await;
        router.passivate(true);
        wait_until("sockets closed", || router.hosted_count(true) == 0).await;
        let _ = jobs_drained.await;
        self.node.listeners.stop();
        self.node.accounts.auditor.flush().await;
        if let Err(e) = self.node.membership.leave(&self.node.id).await {
            tracing::debug!(error = %e, "could not leave the cluster cleanly");
        }
        self.handle.stop(true).await;
    }
}

/// Polls `done` until it holds, at most `DRAIN_WAIT`.
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + DRAIN_WAIT;
    while !done() {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(what, "drain went on before this finished");
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The JWT secret: configured, or generated once and kept in the data dir.
fn jwt_secret(config: &Config) -> Result<Vec<u8>, StartupError> {
    if let Some(secret) = &config.jwt_secret {
        return Ok(secret.expose().as_bytes().to_vec());
    }
    let path = config.data_dir.join("jwt-secret");
    let err = |source| StartupError::DataDir {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => Ok(text.trim().as_bytes().to_vec()),
        _ => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            write_private(&path, &secret).map_err(err)?;
            tracing::info!(path = %path.display(), "generated a JWT secret");
            Ok(secret.into_bytes())
        }
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)?;
    restrict(path, 0o600)
}

/// Makes `path` readable by this user only (`mode` 0o700 for a dir, 0o600 for a file).
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// The data dir holds password hashes and the JWT secret: it and every file in it are for this
/// user only, whatever the umask made of them (SQLite creates its files 0644).
fn make_data_dir_private(dir: &Path) -> std::io::Result<()> {
    restrict(dir, 0o700)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() {
            restrict(&path, 0o600)?;
        }
    }
    Ok(())
}

/// The implementations behind every seam, chosen from the config.
struct Seams {
    bus: Arc<dyn Bus>,
    snapshots: Arc<dyn SnapshotStore>,
    leases: Arc<dyn Leases>,
    membership: Arc<dyn Membership>,
    store: Arc<dyn Store>,
    events: Arc<dyn EventLog>,
    /// Chat history and the live-games index.
    rooms: Rooms,
    /// Login attempt windows and revoked sign-ins.
    ledger: Arc<dyn Ledger>,
    redis: Option<Arc<RedisCluster>>,
    mode: &'static str,
}

impl Seams {
    async fn build(config: &Config, node_id: &str) -> Result<Seams, StartupError> {
        let store: Arc<dyn Store> = match &config.mongodb_uri {
            Some(uri) => {
                Arc::new(MongoStore::connect(uri.expose(), &config.mongodb_database).await?)
            }
            None => Arc::new(SqliteStore::open(&config.data_dir.join("rookery.sqlite3"))?),
        };
        let Some(address) = redis_address(config) else {
            let memory = MemoryCluster::new();
            return Ok(Seams {
                bus: Arc::new(memory.bus()),
                snapshots: memory.clone(),
                leases: memory.clone(),
                membership: memory,
                events: Arc::new(
                    SqliteEvents::open(&config.data_dir.join(crate::events::sqlite::SQLITE_FILE))?
                        .claim_idle(claim_idle(config)),
                ),
                store,
                rooms: Rooms::in_process(),
                ledger: Arc::new(MemoryLedger::default()),
                redis: None,
                mode: "embedded",
            });
        };
        // Behind Sentinel, the primary is asked for first (up to 5 s; followed from then on).
        let address = address.map_err(StartupError::Redis)?;
        let redis = RedisCluster::open(&address, &config.redis_prefix, Duration::from_secs(5))
            .await
            .map_err(StartupError::Redis)?;
        let bus = redis
            .bus(node_id)
            .await
            .map_err(|e| StartupError::Redis(SaveError::Unavailable(e.to_string())))?;
        let partitions = config.event_partitions.map_or(
            if redis.is_sharded() {
                crate::events::redis::CLUSTER_PARTITIONS
            } else {
                1
            },
            usize::from,
        );
        let events = Arc::new(
            RedisEvents::new(redis.clone())
                .partitioned(partitions)
                .claim_idle(claim_idle(config)),
        );
        Ok(Seams {
            bus: Arc::new(bus),
            snapshots: redis.clone(),
            leases: redis.clone(),
            membership: redis.clone(),
            store,
            events,
            rooms: Rooms::on_redis(redis.clone()),
            ledger: Arc::new(RedisLedger::new(redis.clone())),
            redis: Some(redis),
            mode: "cluster",
        })
    }
}

fn claim_idle(config: &Config) -> Duration {
    Duration::from_millis(config.listener_claim_ms.max(100))
}

/// Connections the kernel queues before they are accepted. The standard library asks for 128,
/// which a burst of connects overflows: the kernel drops the SYNs and clients retry a second
/// later (measured in BENCHMARKS.md), so ask for as many as actix-web would.
const LISTEN_BACKLOG: i32 = 2048;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Every node of a cluster must sign tokens alike: without a configured secret (allowed with
/// `--insecure-dev` only), the first node to start stores a random one in Redis and the others
/// read it.
async fn shared_secret(redis: &RedisCluster) -> Result<Vec<u8>, StartupError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let candidate = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let key = redis.key("jwt-secret");
    let mut conn = redis.conn();
    let redis_err =
        |e: redis::RedisError| StartupError::Redis(SaveError::Unavailable(e.to_string()));
    let _: bool = redis::cmd("SET")
        .arg(&key)
        .arg(&candidate)
        .arg("NX")
        .query_async(&mut conn)
        .await
        .map_err(redis_err)?;
    let secret: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .map_err(redis_err)?;
    tracing::warn!(
        "--insecure-dev without ROOKERY_JWT_SECRET: nodes share a generated secret kept in Redis"
    );
    Ok(secret.into_bytes())
}

/// This node's job workers: the `analysis` tube's (unless `analysis=0`), and the `email`
/// tube's when SMTP is configured. Also says whether chess games can be analysed here.
fn start_workers(
    config: &Config,
    jobs: &Arc<dyn Jobs>,
    store: &Arc<dyn Store>,
    auditor: &Auditor,
    mailer: Option<Mailer>,
    (notifier, router): (&Notifier, &Router),
) -> (Arc<Workers>, bool) {
    let backoff = Backoff {
        first: Duration::from_millis(config.job_backoff_ms.max(1)),
        cap: Backoff::CAP,
        max_attempts: config.job_attempts.max(1),
    };
    let mut tubes = Vec::new();
    let analysis = Tube::parse(crate::jobs::ANALYSIS_TUBE).expect("a valid tube name");
    let analysts = worker::concurrency(&config.job_workers, analysis.as_str());
    let mut chess = false;
    if analysts > 0 {
        let analyser = Analyser::new(AnalyserConfig {
            stockfish_path: Some(config.stockfish.clone()),
            stockfish_depth: config.stockfish_depth.max(1),
            stockfish_processes: analysts,
            ..AnalyserConfig::default()
        });
        chess = analyser.chess_available();
        if !chess {
            tracing::warn!(path = %config.stockfish.display(), "no Stockfish there: chess games will not be analysed");
        }
        tubes.push(TubeWorkers {
            tube: analysis,
            concurrency: analysts,
            handler: Arc::new(AnalysisHandler::new(
                analyser,
                store.clone(),
                auditor.clone(),
                notifier.clone(),
                router.clone(),
            )),
        });
    }
    if let Some(mailer) = mailer {
        tubes.push(TubeWorkers {
            tube: Tube::parse(crate::jobs::EMAIL_TUBE).expect("a valid tube name"),
            concurrency: worker::concurrency(&config.job_workers, crate::jobs::EMAIL_TUBE),
            handler: Arc::new(EmailHandler::new(mailer, store.clone(), config)),
        });
    }
    let workers = Workers::start(jobs.clone(), auditor.clone(), backoff, tubes);
    (Arc::new(workers), chess)
}

/// Announces this node until the process ends.
fn spawn_heartbeat(membership: Arc<dyn Membership>, node_id: String) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = membership.heartbeat(&node_id, HEARTBEAT_TTL).await {
                tracing::debug!(error = %e, "heartbeat failed");
            }
        }
    });
}

impl Application {
    /// Builds the node and binds its listener. Must run inside an actix system.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        crate::telemetry::prometheus(); // record from the first event, not the first scrape
        let dir_err = |source| StartupError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        };
        // A cluster's tokens are as strong as their secret, and anyone who read the compose
        // file knows its example: only a development machine may run one like that.
        if redis_address(&config).is_some() {
            match check_secret(config.jwt_secret.as_ref()) {
                Ok(()) => {}
                Err(weak) if config.insecure_dev => {
                    tracing::warn!(reason = %weak, "--insecure-dev: a cluster node with a weak JWT secret");
                }
                Err(weak) => return Err(weak.into()),
            }
        }
        std::fs::create_dir_all(&config.data_dir).map_err(dir_err)?;
        let node_id = config
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{}", crate::domain::GameId::generate()));

        let seams = Seams::build(&config, &node_id).await?;
        // Every reader of the store goes through the node's account cache, which every
        // account change through it drops on every node.
        // Likewise every check of a revoked sign-in goes through the node's revocation cache
        // (a cluster's ledger is in Redis; an embedded node's is in process already).
        let cache_ttl = Duration::from_millis(config.user_cache_ms);
        let users = Arc::new(UserCache::new(cache_ttl));
        users.clear_on_resubscription(seams.bus.as_ref());
        let revocations = Arc::new(RevocationCache::new(if seams.redis.is_some() {
            cache_ttl
        } else {
            Duration::ZERO
        }));
        revocations.clear_on_resubscription(seams.bus.as_ref());
        let seams = Seams {
            store: Arc::new(CachedStore::new(
                seams.store.clone(),
                users.clone(),
                seams.bus.clone(),
            )),
            ledger: Arc::new(CachedLedger::new(
                seams.ledger.clone(),
                revocations.clone(),
                seams.bus.clone(),
            )),
            ..seams
        };
        let jobs = crate::jobs::connect(&config, seams.redis.clone()).await?;
        tracing::info!(backend = jobs.backend(), "job queue");
        let secret = match (&config.jwt_secret, &seams.redis) {
            (Some(secret), _) => secret.expose().as_bytes().to_vec(),
            (None, Some(redis)) => shared_secret(redis).await?,
            (None, None) => jwt_secret(&config)?,
        };
        let config = Arc::new(config);
        let mailer = Mailer::from_config(&config)?;
        let email_ttr = Duration::from_millis(config.job_ttr_ms.max(1_000));
        let notifier = Notifier::new(
            seams.store.clone(),
            jobs.clone(),
            mailer.is_some().then_some(email_ttr),
        );
        let arbiters = vec![Arbiter::new()];
        let services = Services::new(
            config.clone(),
            seams.snapshots.clone(),
            seams.events.clone(),
            seams.store.clone(),
            notifier.clone(),
            seams.rooms.clone(),
            arbiters.iter().map(|a| a.handle()).collect(),
        );
        let sessions = Sessions::new(
            seams.snapshots.clone(),
            Duration::from_secs(config.session_ttl_secs),
        );
        // Every actor kind, once: what the router does with a message nobody hosts.
        let registry = Registry::default()
            .offline(ActorKind::Session, sessions.clone())
            .group(ActorKind::User)
            .group(ActorKind::Watchers)
            .channel(CHANGED_CHANNEL, move |payload| {
                crate::auth::users::hear(&users, payload)
            })
            .channel(REVOKED_CHANNEL, move |payload| {
                crate::auth::revocations::hear(&revocations, payload)
            });
        let registry = register::<GameActor>(registry, &services);
        let registry = register::<QueueActor>(registry, &services);
        let registry = register::<TournamentActor>(registry, &services);
        let router = Router::start(
            node_id.clone(),
            seams.bus,
            seams.leases,
            config.lease_ttl(),
            registry,
        );
        // Every node wakes the tournaments that should be running: none depends on one node.
        tokio::spawn(Scheduler::run(ActorEnv {
            services: services.clone(),
            router: router.clone(),
        }));
        // Every node tells the games it hosts which nodes are alive, so that players whose
        // node was killed start their abandonment grace.
        tokio::spawn(crate::actors::game::presence::watch_nodes(
            router.clone(),
            seams.membership.clone(),
        ));
        // Every node tells the games its sockets watch how many they are.
        tokio::spawn(crate::actors::game::crowd::report_crowds(
            router.clone(),
            Duration::from_millis(config.crowd_tick_ms),
        ));
        let audit: Arc<dyn AuditStore> = match &config.mongodb_uri {
            Some(uri) => {
                Arc::new(MongoAudit::connect(uri.expose(), &config.mongodb_database).await?)
            }
            None => Arc::new(SqliteAudit::open(&config.data_dir.join("audit.sqlite3"))?),
        };
        let retention = Duration::from_secs(config.audit_retention_days.max(1) * 24 * 3600);
        let auditor = Auditor::start(audit, retention);
        let (job_workers, chess_analysis) = start_workers(
            &config,
            &jobs,
            &seams.store,
            &auditor,
            mailer,
            (&notifier, &router),
        );
        let policy = Policy {
            pause_after_handling: Vec::new(),
            max_deliveries: config.listener_tries.max(1),
            retry_after: Duration::from_millis(config.listener_retry_ms.max(1)),
            retention: Retention {
                max_len: config.events_max_len.max(1_000),
                max_age: Duration::from_secs(config.events_max_age_hours.max(1) * 3600),
            },
        };
        let all = crate::listeners::all(crate::listeners::Context {
            store: seams.store.clone(),
            jobs: jobs.clone(),
            auditor: auditor.clone(),
            notifier: notifier.clone(),
            router: router.clone(),
        });
        let policy = Policy {
            pause_after_handling: all
                .iter()
                .map(|l| l.name())
                .filter(|name| config.failpoint(&format!("listener.{name}.handled"), "pause"))
                .collect(),
            ..policy
        };
        let listeners = Arc::new(Listeners::start(
            seams.events.clone(),
            all,
            node_id.clone(),
            auditor.clone(),
            policy,
        ));
        make_data_dir_private(&config.data_dir).map_err(|source| StartupError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let tokens = Tokens::new(&secret, Duration::from_secs(config.token_ttl_secs)).refresh(
            Duration::from_secs(config.refresh_ttl_secs),
            Duration::from_millis(config.refresh_reuse_grace_ms),
        );
        let accounts = Accounts::new(
            seams.store.clone(),
            tokens,
            config.login_per_user_per_min,
            config.login_per_ip_per_min,
            auditor.clone(),
            &config.admins,
        )
        .with_ledger(seams.ledger.clone());
        let node = Node::new(NodeInner {
            id: node_id.clone(),
            config: config.clone(),
            router,
            snapshots: seams.snapshots,
            store: seams.store,
            accounts,
            sessions,
            membership: seams.membership.clone(),
            jobs,
            events: seams.events.clone(),
            listeners: listeners.clone(),
            chess_analysis,
            notifier,
            rooms: seams.rooms,
            mode: seams.mode,
            draining: false.into(),
        });
        spawn_heartbeat(seams.membership, node_id.clone());

        let listener = listen(config.bind).map_err(|source| StartupError::Bind {
            addr: config.bind.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                addr: config.bind.to_string(),
                source,
            })?
            .port();
        let data = web::Data::new(node.clone());
        let workers = config
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(http::error::json_errors())
                .configure(http::routes)
        })
        .workers(workers)
        // Every frame is a whole message to send now: Nagle's algorithm would hold a
        // small frame behind the peer's delayed ACK (~40 ms tails, see BENCHMARKS.md).
        .tcp_nodelay(true)
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout_secs)
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: config.bind.to_string(),
            source,
        })?
        .run();
        let handle = server.handle();
        tracing::info!(node = %node_id, port, mode = node.mode, "node built");
        Ok(Application {
            port,
            node,
            workers: job_workers,
            server,
            handle,
            arbiters,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn node(&self) -> Node {
        self.node.clone()
    }

    pub fn shutdown(&self) -> Shutdown {
        Shutdown {
            node: self.node.clone(),
            workers: self.workers.clone(),
            handle: self.handle.clone(),
        }
    }

    /// Serves until the server stops (see [`Shutdown`]).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
        result
    }
}

/// The cluster's Redis (`REDIS_URL` or `REDIS_CLUSTER_URLS`); None: a single embedded node.
fn redis_address(config: &Config) -> Option<Result<RedisAddress, SaveError>> {
    match (&config.redis_url, &config.redis_cluster_urls) {
        (Some(url), _) => Some(Ok(RedisAddress::One(url.expose().to_owned()))),
        (None, Some(seeds)) => Some(RedisAddress::sharded(seeds.expose())),
        (None, None) => None,
    }
}
