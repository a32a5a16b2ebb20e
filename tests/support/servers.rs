//! Real Redis, FerretDB (MongoDB wire protocol) and beanstalkd servers for tests. Shared ones come from
//! the environment (`scripts/test` starts them) or are started here once per test binary;
//! fault tests start private ones they can stop and restart. Every server runs under a
//! watchdog that kills it when the test process exits.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind port 0")
        .local_addr()
        .expect("addr")
        .port()
}

/// A name no other test run uses (key prefixes, database names).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{:016x}", rand::random::<u64>())
}

pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `program args` under a shell watchdog that kills it once this test process is gone
/// (SIGTERM to the watchdog stops the server, SIGUSR1 kills it with SIGKILL).
pub fn spawn_watched(program: &str, args: &[String], log: &Path) -> Child {
    let quoted: Vec<String> = std::iter::once(program.to_owned())
        .chain(args.iter().cloned())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let script = format!(
        "{} >>'{}' 2>&1 & child=$!; trap 'kill $child 2>/dev/null' TERM; trap 'kill -KILL $child 2>/dev/null' USR1; \
         while kill -0 {} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.3; done; kill $child 2>/dev/null; wait $child",
        quoted.join(" "),
        log.display(),
        std::process::id()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e} (run scripts/test to install it)"))
}

/// SIGKILL to a server started by [`spawn_watched`] (through its watchdog), and waits for it.
pub fn kill9_watched(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        let _ = Command::new("kill")
            .arg("-USR1")
            .arg(child.id().to_string())
            .status();
        let _ = child.wait();
    }
}

/// Stops a server and waits until its port is closed.
fn stop_server(child: &mut Option<Child>, port: u16) {
    if let Some(mut child) = child.take() {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let _ = child.wait();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A redis-server of a test's own, with an append-only file so a restart keeps its data.
pub struct RedisServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// A Redis Cluster node (its cluster state is kept in its dir across restarts too).
    /// The cluster bus port of a cluster node (its own free port, kept across restarts: Redis's
    /// default, the port + 10000, is past 65535 for a quarter of the ephemeral range).
    cluster_port: Option<u16>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_as(false)
    }

    fn start_as(cluster_node: bool) -> RedisServer {
        let mut server = RedisServer {
            port: free_port(),
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
            cluster_port: cluster_node.then(free_port),
        };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts it again on the same port and data.
    pub fn resume(&mut self) {
        let dir = self.dir.path().display().to_string();
        let args = [
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &dir,
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ]
        .map(str::to_owned);
        let mut args = args.to_vec();
        if let Some(cluster_port) = self.cluster_port {
            args.extend(
                [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-port",
                    &cluster_port.to_string(),
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                ]
                .map(str::to_owned),
            );
        }
        let log = self.dir.path().join("redis.log");
        self.child = Some(spawn_watched("redis-server", &args, &log));
        wait_for_port(self.port, "redis-server");
    }

    pub fn stop(&mut self) {
        stop_server(&mut self.child, self.port);
    }

    /// SIGKILL: Redis dies mid-command, keeping only what its append-only file holds.
    pub fn kill9(&mut self) {
        kill9_watched(&mut self.child);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A local Redis Cluster of `n` primaries (no replicas), slots spread evenly by
/// `redis-cli --cluster create`.
pub struct RedisShards {
    pub servers: Vec<RedisServer>,
}

impl RedisShards {
    pub fn start(n: usize) -> RedisShards {
        let servers: Vec<RedisServer> = (0..n).map(|_| RedisServer::start_as(true)).collect();
        let mut args: Vec<String> = vec!["--cluster".into(), "create".into()];
        args.extend(servers.iter().map(|s| format!("127.0.0.1:{}", s.port)));
        args.push("--cluster-yes".into());
        if n == 1 {
            // `--cluster create` wants three masters: one node takes every slot itself.
            let status = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "redis-cli -p {} CLUSTER ADDSLOTSRANGE 0 16383 >/dev/null",
                    servers[0].port
                ))
                .status()
                .expect("redis-cli runs");
            assert!(status.success(), "CLUSTER ADDSLOTSRANGE failed");
        } else {
            let out = Command::new("redis-cli")
                .args(&args)
                .stdin(Stdio::null())
                .output()
                .expect("redis-cli runs");
            assert!(
                out.status.success(),
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let shards = RedisShards { servers };
        shards.wait_ok();
        shards
    }

    /// Until every node says `cluster_state:ok` (slots assigned and agreed).
    fn wait_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for server in &self.servers {
            loop {
                let out = Command::new("redis-cli")
                    .args(["-p", &server.port.to_string(), "CLUSTER", "INFO"])
                    .output()
                    .expect("redis-cli runs");
                if String::from_utf8_lossy(&out.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the Redis Cluster did not come up"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// `REDIS_CLUSTER_URLS`: every node, comma-separated.
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self.servers.iter().map(RedisServer::url).collect();
        urls.join(",")
    }

    pub fn stop(&mut self) {
        self.servers.iter_mut().for_each(RedisServer::stop);
    }

    pub fn resume(&mut self) {
        self.servers.iter_mut().for_each(RedisServer::resume);
        self.wait_ok();
    }

    pub fn kill9(&mut self) {
        self.servers.iter_mut().for_each(RedisServer::kill9);
    }
}

/// The Redis of a test: one server, or a Redis Cluster of `$ROOKERY_TEST_REDIS_SHARDS`
/// primaries when that is set (`scripts/test --redis-cluster` runs the suites that way).
pub enum TestRedis {
    One(RedisServer),
    Sharded(RedisShards),
}

impl TestRedis {
    pub fn start() -> TestRedis {
        match redis_shards() {
            Some(n) => TestRedis::Sharded(RedisShards::start(n)),
            None => TestRedis::One(RedisServer::start()),
        }
    }

    /// The node's setting: `REDIS_URL` or `REDIS_CLUSTER_URLS`.
    pub fn env(&self) -> (&'static str, String) {
        match self {
            TestRedis::One(server) => ("REDIS_URL", server.url()),
            TestRedis::Sharded(shards) => ("REDIS_CLUSTER_URLS", shards.urls()),
        }
    }

    pub fn stop(&mut self) {
        match self {
            TestRedis::One(server) => server.stop(),
            TestRedis::Sharded(shards) => shards.stop(),
        }
    }

    pub fn resume(&mut self) {
        match self {
            TestRedis::One(server) => server.resume(),
            TestRedis::Sharded(shards) => shards.resume(),
        }
    }

    pub fn kill9(&mut self) {
        match self {
            TestRedis::One(server) => server.kill9(),
            TestRedis::Sharded(shards) => shards.kill9(),
        }
    }
}

/// `$ROOKERY_TEST_REDIS_SHARDS`: run against a Redis Cluster of that many primaries.
pub fn redis_shards() -> Option<usize> {
    std::env::var("ROOKERY_TEST_REDIS_SHARDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
}

/// A Redis Cluster of three primaries shared by a test binary (each test its own prefix):
/// `$ROOKERY_TEST_REDIS_CLUSTER_URLS`, or started here once.
pub fn shared_shards() -> &'static str {
    static URLS: OnceLock<String> = OnceLock::new();
    static OWNED: OnceLock<RedisShards> = OnceLock::new();
    URLS.get_or_init(|| {
        std::env::var("ROOKERY_TEST_REDIS_CLUSTER_URLS")
            .unwrap_or_else(|_| OWNED.get_or_init(|| RedisShards::start(3)).urls())
    })
}

/// Where the FerretDB binary is: `$FERRETDB_BIN`, the repo's `.cache/bin`, or the PATH.
pub fn ferretdb_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("FERRETDB_BIN") {
        return bin.into();
    }
    let cached = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/bin/ferretdb");
    if cached.exists() {
        return cached;
    }
    PathBuf::from("ferretdb")
}

/// A FerretDB of a test's own, on SQLite in a temp dir (kept across stop/resume).
pub struct FerretServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl FerretServer {
    pub fn start() -> FerretServer {
        let mut server = FerretServer {
            port: free_port(),
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
        };
        server.resume();
        server
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/", self.port)
    }

    pub fn resume(&mut self) {
        let dir = self.dir.path().display().to_string();
        let args = [
            "--handler=sqlite".to_owned(),
            format!("--sqlite-url=file:{dir}/"),
            format!("--state-dir={dir}"),
            format!("--listen-addr=127.0.0.1:{}", self.port),
            "--debug-addr=-".to_owned(),
            "--telemetry=disable".to_owned(),
            "--log-level=warn".to_owned(),
        ];
        let log = self.dir.path().join("ferretdb.log");
        self.child = Some(spawn_watched(
            &ferretdb_bin().display().to_string(),
            &args,
            &log,
        ));
        wait_for_port(self.port, "ferretdb");
    }

    pub fn stop(&mut self) {
        stop_server(&mut self.child, self.port);
    }
}

impl Drop for FerretServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A beanstalkd of a test's own (in memory: no binlog).
pub struct BeanstalkServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl BeanstalkServer {
    pub fn start() -> BeanstalkServer {
        let mut server = BeanstalkServer {
            port: free_port(),
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
        };
        let args = ["-l", "127.0.0.1", "-p", &server.port.to_string()].map(str::to_owned);
        let log = server.dir.path().join("beanstalkd.log");
        server.child = Some(spawn_watched("beanstalkd", &args, &log));
        wait_for_port(server.port, "beanstalkd");
        server
    }

    pub fn url(&self) -> String {
        format!("beanstalk://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        stop_server(&mut self.child, self.port);
    }
}

impl Drop for BeanstalkServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The beanstalkd a test binary shares (`beanstalk://host:port`): `$ROOKERY_TEST_BEANSTALK_URL`
/// or one started here. Tests keep apart by tube names.
pub fn beanstalk_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    static OWNED: OnceLock<BeanstalkServer> = OnceLock::new();
    URL.get_or_init(|| {
        std::env::var("ROOKERY_TEST_BEANSTALK_URL")
            .unwrap_or_else(|_| OWNED.get_or_init(BeanstalkServer::start).url())
    })
}

/// A real SMTP server (aiosmtpd, from Debian's `python3-aiosmtpd`) that keeps every mail it
/// takes in a maildir, for the tests to read.
pub struct SmtpServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// The Python that has aiosmtpd: `$ROOKERY_TEST_PYTHON`, else Debian's.
fn python() -> String {
    std::env::var("ROOKERY_TEST_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_owned())
}

impl SmtpServer {
    /// On a free port.
    pub fn start() -> SmtpServer {
        Self::start_on(free_port())
    }

    /// On `port` (a test that has a node wait for a mail server starts it late, there).
    pub fn start_on(port: u16) -> SmtpServer {
        let mut server = SmtpServer {
            port,
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
        };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port, keeping what it received.
    pub fn resume(&mut self) {
        let maildir = self.dir.path().join("mail");
        let args = [
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{}", self.port),
            "-c",
            "aiosmtpd.handlers.Mailbox",
            &maildir.display().to_string(),
        ]
        .map(str::to_owned);
        let log = self.dir.path().join("smtp.log");
        self.child = Some(spawn_watched(&python(), &args, &log));
        wait_for_port(self.port, "aiosmtpd");
    }

    /// Every mail received so far, as raw RFC 5322 text, oldest first.
    pub fn received(&self) -> Vec<String> {
        let mut mails: Vec<(std::time::SystemTime, String)> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.dir.path().join("mail").join(sub)).ok())
            .flatten()
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let modified = entry.metadata().ok()?.modified().ok()?;
                Some((modified, std::fs::read_to_string(entry.path()).ok()?))
            })
            .collect();
        mails.sort();
        mails.into_iter().map(|(_, text)| text).collect()
    }

    pub fn stop(&mut self) {
        stop_server(&mut self.child, self.port);
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The servers a test binary shares (each test uses its own key prefix / database).
pub struct Shared {
    pub redis_url: String,
    pub mongodb_uri: String,
}

pub fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    static OWNED: OnceLock<(RedisServer, FerretServer)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let from_env = (
            std::env::var("ROOKERY_TEST_REDIS_URL").ok(),
            std::env::var("ROOKERY_TEST_MONGODB_URI").ok(),
        );
        if let (Some(redis_url), Some(mongodb_uri)) = from_env {
            return Shared {
                redis_url,
                mongodb_uri,
            };
        }
        let (redis, ferret) = OWNED.get_or_init(|| (RedisServer::start(), FerretServer::start()));
        Shared {
            redis_url: redis.url(),
            mongodb_uri: ferret.uri(),
        }
    })
}
