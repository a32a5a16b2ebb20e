//! Typed configuration: CLI flags and environment variables with documented defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// A secret that never prints.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line (production).
    Json,
}

/// Everything a node can be told. `rookery --help` prints this with defaults.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "rookery",
    version,
    about = "An actor-based real-time game server node."
)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "ROOKERY_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory for the embedded store (SQLite file) and the generated JWT secret.
    #[arg(long, env = "ROOKERY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// This node's id in logs, metrics and the cluster (default: a random id).
    #[arg(long, env = "ROOKERY_NODE_ID")]
    pub node_id: Option<String>,

    /// HS256 secret for session tokens (default: generated once and kept in the data dir).
    #[arg(long, env = "ROOKERY_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,

    /// Redis for snapshots, leases and the bus (unset: in-process, single node).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<Secret>,

    /// Redis Cluster instead of one Redis: seed nodes, comma-separated
    /// (`redis://h1:7000,redis://h2:7001`). Keys are hash-tagged per actor and the bus uses
    /// sharded pub/sub.
    #[arg(
        long,
        env = "REDIS_CLUSTER_URLS",
        hide_env_values = true,
        conflicts_with = "redis_url"
    )]
    pub redis_cluster_urls: Option<Secret>,

    /// MongoDB for accounts and finished games (unset: SQLite in the data dir).
    #[arg(long, env = "MONGODB_URI", hide_env_values = true)]
    pub mongodb_uri: Option<Secret>,

    /// Where deferred work (`Jobs`) lives: `beanstalk://host:port` (a beanstalkd),
    /// `embedded` (SQLite in the data dir), `redis` (the cluster's Redis) or `redis://...`
    /// (a Redis of its own). Unset: the cluster's Redis when REDIS_URL is set, embedded otherwise.
    #[arg(long, env = "ROOKERY_JOBS_URL", hide_env_values = true)]
    pub jobs_url: Option<Secret>,

    /// Prefix of every Redis key and channel (several deployments can share one Redis).
    #[arg(long, env = "ROOKERY_REDIS_PREFIX", default_value = "rookery:")]
    pub redis_prefix: String,

    /// MongoDB database name.
    #[arg(long, env = "ROOKERY_MONGODB_DB", default_value = "rookery")]
    pub mongodb_database: String,

    /// How long a node owns a game or queue without renewing (it renews every third of it).
    /// After a node dies, its games move elsewhere within about this long.
    #[arg(long, env = "ROOKERY_LEASE_TTL_MS", default_value_t = 1_500)]
    pub lease_ttl_ms: u64,

    /// Log output format.
    #[arg(long, env = "ROOKERY_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Origins allowed to open /ws besides the node's own (comma-separated, e.g. https://play.example.com).
    #[arg(long, env = "ROOKERY_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Proxies (comma-separated CIDRs, e.g. `127.0.0.1/32,10.0.0.0/8`) whose `Forwarded` /
    /// `X-Forwarded-For` name the client (login limits and the audit log key on it) and whose
    /// `X-Forwarded-Host` names the host asked for. From any other peer those headers are
    /// ignored. Empty: nobody is trusted.
    #[arg(long, env = "ROOKERY_TRUSTED_PROXIES", value_delimiter = ',', value_parser = Cidr::parse)]
    pub trusted_proxies: Vec<Cidr>,

    /// The URL players reach this node at, e.g. `https://play.example.com` behind a
    /// TLS-terminating proxy. An `https://` URL marks the cookies `Secure` (a browser then
    /// never sends them over plain HTTP); its origin may also open /ws.
    #[arg(long, env = "ROOKERY_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// Allow what only a development machine should: a cluster node (REDIS_URL set) without a
    /// JWT secret, or with a weak one (shorter than 32 bytes, or a published default).
    #[arg(long, env = "ROOKERY_INSECURE_DEV")]
    pub insecure_dev: bool,

    /// Usernames made admins when they register or log in (comma-separated): how the first
    /// admin of a deployment comes to be.
    #[arg(long, env = "ROOKERY_ADMINS", value_delimiter = ',')]
    pub admins: Vec<String>,

    /// How long audit events are kept, in days.
    #[arg(long, env = "ROOKERY_AUDIT_RETENTION_DAYS", default_value_t = 180)]
    pub audit_retention_days: u64,

    /// Lifetime of an access token, in seconds. Clients renew it with their refresh token
    /// (`POST /api/auth/refresh`); an open socket stays open past it.
    #[arg(long, env = "ROOKERY_TOKEN_TTL_SECS", default_value_t = 3600)]
    pub token_ttl_secs: u64,

    /// Lifetime of a refresh token, in seconds: how long a sign-in may go unrenewed before
    /// its player logs in again. Each renewal issues a new one.
    #[arg(long, env = "ROOKERY_REFRESH_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_ttl_secs: u64,

    /// A refresh token used again within this many ms of its first use renews once more (two
    /// tabs refreshing at once); used again later, it revokes its whole sign-in (a copy was
    /// stolen).
    #[arg(long, env = "ROOKERY_REFRESH_REUSE_GRACE_MS", default_value_t = 30_000)]
    pub refresh_reuse_grace_ms: u64,

    /// How long a node keeps an account it read (for a connect, a queue request, a game's
    /// ratings), and whether a sign-in was revoked (a cluster's ledger is in Redis), in ms.
    /// Every change or revocation through any node drops it on every node at once (over the
    /// bus); this bounds only a change whose node died before telling the others. 0: no
    /// cache.
    #[arg(long, env = "ROOKERY_USER_CACHE_MS", default_value_t = 30_000)]
    pub user_cache_ms: u64,

    /// How long a disconnected player may stay away before losing by abandonment, in ms.
    #[arg(long, env = "ROOKERY_GRACE_MS", default_value_t = 60_000)]
    pub grace_ms: u64,

    /// How long both players have to send game/PLAYER_READY before the game is aborted, in ms.
    #[arg(long, env = "ROOKERY_READY_TIMEOUT_MS", default_value_t = client_protocol::constants::READY_TIMEOUT_MS)]
    pub ready_timeout_ms: u64,

    /// How long a proposed matchup waits for both answers, in ms.
    #[arg(long, env = "ROOKERY_MATCHUP_TIMEOUT_MS", default_value_t = 15_000)]
    pub matchup_timeout_ms: u64,

    /// How often each running tournament looks at the time (start, pairing, the end), and
    /// how often each node wakes the tournaments that should be running, in ms.
    #[arg(long, env = "ROOKERY_TOURNAMENT_TICK_MS", default_value_t = 1_000)]
    pub tournament_tick_ms: u64,

    /// How often each node reports its watcher counts to the games they watch, in ms
    /// (`client/CROWD` goes out at most once a second whatever this is).
    #[arg(long, env = "ROOKERY_CROWD_TICK_MS", default_value_t = 1_000)]
    pub crowd_tick_ms: u64,

    /// How often each queue tries to pair waiting players and expires matchups, in ms.
    #[arg(long, env = "ROOKERY_MATCH_INTERVAL_MS", default_value_t = 500)]
    pub match_interval_ms: u64,

    /// Rating difference a fresh ticket accepts; it widens while the player waits.
    #[arg(long, env = "ROOKERY_MATCH_WINDOW", default_value_t = 100)]
    pub match_window: u32,

    /// How much the rating window widens per second of waiting.
    #[arg(long, env = "ROOKERY_MATCH_WINDOW_GROWTH", default_value_t = 50)]
    pub match_window_growth_per_sec: u32,

    /// Sustained client messages per second per socket.
    #[arg(long, env = "ROOKERY_RATE_PER_SEC", default_value_t = 20)]
    pub rate_per_sec: u32,

    /// Burst of client messages a socket may send at once.
    #[arg(long, env = "ROOKERY_RATE_BURST", default_value_t = 40)]
    pub rate_burst: u32,

    /// A socket past its rate limit this long (ms) is closed with code 1008.
    #[arg(long, env = "ROOKERY_RATE_CLOSE_AFTER_MS", default_value_t = 10_000)]
    pub rate_close_after_ms: u64,

    /// Interval between websocket pings, in ms; a socket silent for 3 intervals is closed.
    #[arg(long, env = "ROOKERY_HEARTBEAT_MS", default_value_t = 10_000)]
    pub heartbeat_ms: u64,

    /// Frames a slow socket may have queued before it is disconnected.
    #[arg(long, env = "ROOKERY_OUTBOUND_QUEUE", default_value_t = 256)]
    pub outbound_queue: usize,

    /// Failed logins allowed per username per minute.
    #[arg(long, env = "ROOKERY_LOGIN_PER_USER_PER_MIN", default_value_t = 10)]
    pub login_per_user_per_min: u32,

    /// Login and register attempts allowed per client address per minute.
    #[arg(long, env = "ROOKERY_LOGIN_PER_IP_PER_MIN", default_value_t = 60)]
    pub login_per_ip_per_min: u32,

    /// How long a session snapshot outlives its last change, in seconds.
    #[arg(long, env = "ROOKERY_SESSION_TTL_SECS", default_value_t = 7 * 24 * 3600)]
    pub session_ttl_secs: u64,

    /// Worker threads serving sockets and HTTP (default: one per core).
    #[arg(long, env = "ROOKERY_WORKERS")]
    pub workers: Option<usize>,

    /// Where email notifications go out: `smtp://[user:pass@]host:port` (plain, as to a local
    /// relay), `smtp://...?tls=required` (STARTTLS) or `smtps://...` (TLS). Unset: no email.
    #[arg(long, env = "ROOKERY_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<Secret>,

    /// The sender of email notifications (`Name <address>` or a bare address).
    #[arg(
        long,
        env = "ROOKERY_MAIL_FROM",
        default_value = "rookery <noreply@rookery.localhost>"
    )]
    pub mail_from: String,

    /// Concurrent workers per tube on this node, as `tube=n` pairs (comma-separated); a tube
    /// not named gets 2. `email=0` leaves this node's email to the others.
    #[arg(long, env = "ROOKERY_JOB_WORKERS", value_delimiter = ',')]
    pub job_workers: Vec<String>,

    /// Time-to-run of the jobs this node puts (ms): a worker that dies holding one hands it
    /// to another this long after its last touch.
    #[arg(long, env = "ROOKERY_JOB_TTR_MS", default_value_t = 60_000)]
    pub job_ttr_ms: u64,

    /// Game events kept in the log (about: trimming is lazy).
    #[arg(long, env = "ROOKERY_EVENTS_MAX_LEN", default_value_t = 1_000_000)]
    pub events_max_len: u64,

    /// Hours game events are kept in the log (a listener can replay this far back).
    #[arg(long, env = "ROOKERY_EVENTS_MAX_AGE_HOURS", default_value_t = 72)]
    pub events_max_age_hours: u64,

    /// Partitions of the game event stream on Redis (every node must use the same; raise it,
    /// never lower it, on a live cluster). Unset: 1 on one Redis, 6 on a Redis Cluster, spread
    /// over its slots so that the stream is not one shard's load.
    #[arg(long, env = "ROOKERY_EVENT_PARTITIONS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub event_partitions: Option<u16>,

    /// How long an event a node's listener took may stay unacknowledged before another node's
    /// takes it over (the first presumed dead), ms.
    #[arg(long, env = "ROOKERY_LISTENER_CLAIM_MS", default_value_t = 30_000)]
    pub listener_claim_ms: u64,

    /// Tries of a listener on one event before the event goes to its dead-letter log.
    #[arg(long, env = "ROOKERY_LISTENER_TRIES", default_value_t = 5)]
    pub listener_tries: u64,

    /// Wait after a listener failed on an event before it tries again, ms.
    #[arg(long, env = "ROOKERY_LISTENER_RETRY_MS", default_value_t = 1_000)]
    pub listener_retry_ms: u64,

    /// The Stockfish binary that analyses chess games (Debian: /usr/games/stockfish). Missing:
    /// chess games are not analysed (a warning per game, and `/readyz` says so).
    #[arg(
        long,
        env = "ROOKERY_STOCKFISH",
        default_value = "/usr/games/stockfish"
    )]
    pub stockfish: std::path::PathBuf,

    /// Search depth per position of the chess analysis.
    #[arg(long, env = "ROOKERY_STOCKFISH_DEPTH", default_value_t = 10)]
    pub stockfish_depth: u32,

    /// Tries of a job before it is buried (and audited as `job_buried`).
    #[arg(long, env = "ROOKERY_JOB_ATTEMPTS", default_value_t = 12)]
    pub job_attempts: u32,

    /// The first retry's delay, in ms; each next one doubles (with jitter) up to 5 minutes.
    /// The defaults retry for about 25 minutes before burying.
    #[arg(long, env = "ROOKERY_JOB_BACKOFF_MS", default_value_t = 2_000)]
    pub job_backoff_ms: u64,

    /// Named fault-injection points for chaos tests (comma-separated): `email.sent=pause` (the
    /// email worker stops for good after sending and recording a mail, before it deletes the
    /// job), `listener.<name>.handled=pause` (that listener stops after handling an event,
    /// before acknowledging it). Never set in production.
    #[arg(long, env = "ROOKERY_FAILPOINTS", value_delimiter = ',', hide = true)]
    pub failpoints: Vec<String>,

    /// Seconds a stopping node waits for in-flight work before it exits.
    #[arg(long, env = "ROOKERY_SHUTDOWN_TIMEOUT_SECS", default_value_t = 10)]
    pub shutdown_timeout_secs: u64,
}

/// `--public-url`: an absolute `http://` or `https://` URL, kept without a trailing slash.
/// A block of addresses: `10.0.0.0/8`, `::1/128`, or one address (`127.0.0.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: std::net::IpAddr = addr
            .parse()
            .map_err(|_| format!("{text}: not an address or CIDR block (10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text}: the prefix must be 0 to {max}"))?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::{V4, V6};
        let bits = |a: u128, b: u128, width: u32| {
            let shift = width - u32::from(self.prefix);
            shift >= width || (a >> shift) == (b >> shift)
        };
        match (self.addr, ip) {
            (V4(net), V4(ip)) => bits(u32::from(net).into(), u32::from(ip).into(), 32),
            (V6(net), V6(ip)) => bits(u128::from(net), u128::from(ip), 128),
            (V4(net), V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|ip| bits(u32::from(net).into(), u32::from(ip).into(), 32)),
            (V6(_), V4(_)) => false,
        }
    }
}

fn parse_public_url(text: &str) -> Result<String, String> {
    let lower = text.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or("must start with https:// or http://")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("must name a host, e.g. https://play.example.com".into());
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// Why a JWT secret is too weak for a cluster node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakSecret {
    #[error("no JWT secret is set (ROOKERY_JWT_SECRET)")]
    Missing,
    #[error("the JWT secret is {0} bytes long; at least {MIN_SECRET_BYTES} are needed")]
    Short(usize),
    #[error("the JWT secret is a published default")]
    KnownDefault,
}

/// The shortest JWT secret a cluster node accepts: 256 bits, as HS256 wants.
pub const MIN_SECRET_BYTES: usize = 32;

/// Secrets shipped in examples and compose files, found by a substring (case-insensitive).
const KNOWN_DEFAULTS: &[&str] = &[
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "your-secret",
];

/// Is `secret` fit to sign a cluster's tokens? Long enough, and no published default.
pub fn check_secret(secret: Option<&Secret>) -> Result<(), WeakSecret> {
    let secret = secret.ok_or(WeakSecret::Missing)?.expose();
    let lower = secret.to_ascii_lowercase();
    if KNOWN_DEFAULTS.iter().any(|d| lower.contains(d)) {
        return Err(WeakSecret::KnownDefault);
    }
    if secret.len() < MIN_SECRET_BYTES {
        return Err(WeakSecret::Short(secret.len()));
    }
    Ok(())
}

impl Config {
    /// Cookies are `Secure` when players reach the node over HTTPS (`--public-url https://`).
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"))
    }

    /// The origin (`scheme://host[:port]`) of `--public-url`, if set.
    pub fn public_origin(&self) -> Option<&str> {
        let url = self.public_url.as_deref()?;
        let after_scheme = url.find("://")? + 3;
        let end = url[after_scheme..]
            .find('/')
            .map_or(url.len(), |i| after_scheme + i);
        Some(&url[..end])
    }

    /// Defaults for a node in tests: port 0, the given data dir, short timers left at defaults
    /// (tests shorten what they exercise).
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Config::parse_from(["rookery"]);
        config.bind = "127.0.0.1:0".parse().expect("literal address");
        config.data_dir = data_dir.into();
        config.workers = Some(2);
        config.jwt_secret = Some(Secret::new("test-secret-test-secret-test-secret"));
        config.shutdown_timeout_secs = 1;
        config
    }

    /// Whether the fault-injection point `name` is set to `action` (see `failpoints`).
    pub fn failpoint(&self, name: &str, action: &str) -> bool {
        self.failpoints
            .iter()
            .any(|f| f.split_once('=') == Some((name, action)))
    }

    pub fn lease_ttl(&self) -> Duration {
        Duration::from_millis(self.lease_ttl_ms.max(300))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_secret_must_be_long_and_not_a_published_default() {
        let cases: &[(Option<&str>, Result<(), WeakSecret>)] = &[
            (None, Err(WeakSecret::Missing)),
            (Some("short"), Err(WeakSecret::Short(5))),
            (
                Some("change-me-change-me-change-me-change-me"),
                Err(WeakSecret::KnownDefault),
            ),
            (
                Some("CHANGEME-0123456789abcdef0123456789abcdef"),
                Err(WeakSecret::KnownDefault),
            ),
            (Some("Jk3q9v0lV1mXbq6f1ZHtNw2s8uYc4rPeLgA7oTiD5xE"), Ok(())),
        ];
        for (secret, expected) in cases {
            let secret = secret.map(Secret::new);
            assert_eq!(&check_secret(secret.as_ref()), expected, "{secret:?}");
        }
    }

    #[test]
    fn trusted_proxies_are_cidr_blocks() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(
            net.contains("::ffff:10.0.0.9".parse().unwrap()),
            "v4-mapped"
        );
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("fd00::/8")
            .unwrap()
            .contains("fd12::1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nope", "::1/129", "10.0.0.0/x"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_public_url_decides_secure_cookies_and_names_an_origin() {
        let mut config = Config::for_tests("/tmp/unused");
        assert!(!config.secure_cookies());
        config.public_url = Some(parse_public_url("https://play.example.com/app/").unwrap());
        assert!(config.secure_cookies());
        assert_eq!(config.public_origin(), Some("https://play.example.com"));
        config.public_url = Some(parse_public_url("http://localhost:8080").unwrap());
        assert!(!config.secure_cookies());
        assert_eq!(config.public_origin(), Some("http://localhost:8080"));
        for bad in ["play.example.com", "ftp://x", "https://", "https:///path"] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}
