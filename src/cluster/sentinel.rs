//! Redis Sentinel: the `redis+sentinel://` URL, and asking the sentinels which node is primary.
//!
//! `redis+sentinel://h1:26379,h2:26379,h3:26379/mymaster[/db][?password=..&sentinel_password=..&wait=1&wait_ms=500]`
//! names the sentinels (port 26379 when left out), the monitored service, the database, the
//! password of the Redis nodes and that of the sentinels, and how many replicas must hold a
//! snapshot write before it counts (`WAIT wait wait_ms`; `wait=0` acknowledges on the primary
//! alone). The primary is found by `SENTINEL get-master-addr-by-name` on each sentinel in turn,
//! and trusted only once the node itself answers `ROLE` as `master`.

use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo, Value};

/// How long one sentinel (or a candidate primary) may take to answer.
const ASK_TIMEOUT: Duration = Duration::from_millis(500);
/// Sentinels listen here unless the URL says otherwise.
pub const DEFAULT_PORT: u16 = 26379;

/// Why a Sentinel URL or a look-up failed. Never holds a password.
#[derive(Debug, thiserror::Error)]
pub enum SentinelError {
    #[error("invalid redis+sentinel URL: {0}")]
    InvalidUrl(String),
    #[error("no sentinel named a primary for {service}: {reasons}")]
    NoPrimary { service: String, reasons: String },
    #[error("{addr} is not a primary (role {role})")]
    NotPrimary { addr: String, role: String },
    #[error("{addr}: {reason}")]
    Unreachable { addr: String, reason: String },
}

/// A parsed `redis+sentinel://` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelConfig {
    pub sentinels: Vec<(String, u16)>,
    pub service: String,
    pub db: i64,
    password: Option<String>,
    sentinel_password: Option<String>,
    /// Replicas a snapshot write must reach before it is acknowledged (0: none).
    pub wait_replicas: u32,
    /// How long a write waits for them.
    pub wait_timeout: Duration,
}

impl std::fmt::Debug for SentinelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelConfig")
            .field("sentinels", &self.sentinels)
            .field("service", &self.service)
            .field("db", &self.db)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field(
                "sentinel_password",
                &self.sentinel_password.as_ref().map(|_| "***"),
            )
            .field("wait_replicas", &self.wait_replicas)
            .field("wait_timeout", &self.wait_timeout)
            .finish()
    }
}

/// Whether `url` asks for Sentinel.
pub fn is_sentinel_url(url: &str) -> bool {
    url.trim_start().starts_with("redis+sentinel://")
}

fn percent_decode(text: &str) -> Result<String, SentinelError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| SentinelError::InvalidUrl("a bad %-escape".into()))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| SentinelError::InvalidUrl("not UTF-8 once decoded".into()))
}

impl SentinelConfig {
    /// Parses `redis+sentinel://host[:port][,host[:port]...]/service[/db][?options]`.
    pub fn parse(url: &str) -> Result<SentinelConfig, SentinelError> {
        let invalid = |why: &str| SentinelError::InvalidUrl(why.to_owned());
        let rest = url
            .trim()
            .strip_prefix("redis+sentinel://")
            .ok_or_else(|| invalid("it must start with redis+sentinel://"))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (hosts, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid("no service name (…/mymaster)"))?;
        if hosts.contains('@') {
            return Err(invalid(
                "put passwords in ?password= and ?sentinel_password=, not before the hosts",
            ));
        }
        let mut sentinels = Vec::new();
        for host in hosts.split(',') {
            let host = host.trim();
            if host.is_empty() {
                return Err(invalid("an empty sentinel address"));
            }
            let (name, port) = match host.rsplit_once(':') {
                Some((name, port)) => (
                    name,
                    port.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| invalid("a sentinel port is not a number in 1-65535"))?,
                ),
                None => (host, DEFAULT_PORT),
            };
            let name = name.trim_start_matches('[').trim_end_matches(']');
            if name.is_empty() {
                return Err(invalid("a sentinel without a host"));
            }
            sentinels.push((name.to_owned(), port));
        }
        let mut parts = path.trim_end_matches('/').split('/');
        let service = percent_decode(parts.next().unwrap_or_default())?;
        if service.is_empty() {
            return Err(invalid("no service name (…/mymaster)"));
        }
        let db = match parts.next() {
            None => 0,
            Some(db) => db
                .parse::<i64>()
                .ok()
                .filter(|d| *d >= 0)
                .ok_or_else(|| invalid("the database is not a number"))?,
        };
        if parts.next().is_some() {
            return Err(invalid("too many path segments (…/service/db)"));
        }
        let mut config = SentinelConfig {
            sentinels,
            service,
            db,
            password: None,
            sentinel_password: None,
            wait_replicas: 1,
            wait_timeout: Duration::from_millis(500),
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value)?;
            match key {
                "password" => config.password = Some(value).filter(|v| !v.is_empty()),
                "sentinel_password" => {
                    config.sentinel_password = Some(value).filter(|v| !v.is_empty())
                }
                "db" => {
                    config.db = value
                        .parse::<i64>()
                        .ok()
                        .filter(|d| *d >= 0)
                        .ok_or_else(|| invalid("db is not a number"))?
                }
                "wait" => {
                    config.wait_replicas = value
                        .parse()
                        .map_err(|_| invalid("wait is not a number of replicas"))?
                }
                "wait_ms" => {
                    let ms: u64 = value
                        .parse()
                        .ok()
                        .filter(|ms| *ms > 0)
                        .ok_or_else(|| invalid("wait_ms is not a positive number"))?;
                    config.wait_timeout = Duration::from_millis(ms);
                }
                other => {
                    return Err(SentinelError::InvalidUrl(format!(
                        "unknown option {other:?} (password, sentinel_password, db, wait, wait_ms)"
                    )))
                }
            }
        }
        Ok(config)
    }

    /// How to reach a Redis data node (the primary) at `host:port`.
    pub fn node_info(&self, host: &str, port: u16) -> ConnectionInfo {
        tcp_info(host, port, self.db, self.password.as_deref())
    }

    fn sentinel_info(&self, host: &str, port: u16) -> ConnectionInfo {
        tcp_info(host, port, 0, self.sentinel_password.as_deref())
    }

    /// The primary as the first sentinel that answers names it (not yet confirmed).
    pub async fn named_primary(&self) -> Result<(String, u16), SentinelError> {
        let mut reasons = Vec::new();
        for (host, port) in &self.sentinels {
            let mut cmd = redis::cmd("SENTINEL");
            cmd.arg("get-master-addr-by-name").arg(&self.service);
            match ask::<Option<(String, String)>>(self.sentinel_info(host, *port), &cmd).await {
                Ok(Some((host, port))) => match port.parse::<u16>() {
                    Ok(port) => return Ok((host, port)),
                    Err(_) => reasons.push(format!("{host}: port {port:?}")),
                },
                Ok(None) => reasons.push(format!("{host}:{port}: unknown service")),
                Err(reason) => reasons.push(format!("{host}:{port}: {reason}")),
            }
        }
        Err(SentinelError::NoPrimary {
            service: self.service.clone(),
            reasons: reasons.join("; "),
        })
    }

    /// The primary named by the sentinels, confirmed by the node itself.
    pub async fn primary(&self) -> Result<(String, u16), SentinelError> {
        let (host, port) = self.named_primary().await?;
        self.confirm(&host, port).await?;
        Ok((host, port))
    }

    /// Checks that `host:port` says it is a primary: a sentinel may still name the old one.
    pub async fn confirm(&self, host: &str, port: u16) -> Result<(), SentinelError> {
        let addr = format!("{host}:{port}");
        let role: Vec<Value> = ask(self.node_info(host, port), &redis::cmd("ROLE"))
            .await
            .map_err(|reason| SentinelError::Unreachable {
                addr: addr.clone(),
                reason,
            })?;
        match role.first() {
            Some(Value::BulkString(role)) if role == b"master" => Ok(()),
            other => Err(SentinelError::NotPrimary {
                addr,
                role: format!("{other:?}"),
            }),
        }
    }
}

/// One command on a fresh connection, within [`ASK_TIMEOUT`].
async fn ask<T: redis::FromRedisValue>(
    info: ConnectionInfo,
    cmd: &redis::Cmd,
) -> Result<T, String> {
    let client = redis::Client::open(info).map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(ASK_TIMEOUT, async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        cmd.query_async::<T>(&mut conn).await
    })
    .await
    .map_err(|_| "timed out".to_owned())?;
    answer.map_err(|e| e.to_string())
}

/// How to reach `host:port` over TCP, with a database and an optional password.
fn tcp_info(host: &str, port: u16, db: i64, password: Option<&str>) -> ConnectionInfo {
    let mut settings = RedisConnectionInfo::default().set_db(db);
    if let Some(password) = password {
        settings = settings.set_password(password);
    }
    ConnectionAddr::Tcp(host.to_owned(), port)
        .into_connection_info()
        .expect("a TCP address is a connection info")
        .set_redis_settings(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_service_and_defaults() {
        let c = SentinelConfig::parse("redis+sentinel://h1:26379,h2:26380,h3/mymaster").unwrap();
        assert_eq!(
            c.sentinels,
            vec![
                ("h1".to_owned(), 26379),
                ("h2".to_owned(), 26380),
                ("h3".to_owned(), DEFAULT_PORT)
            ]
        );
        assert_eq!(c.service, "mymaster");
        assert_eq!(c.db, 0);
        assert_eq!(c.wait_replicas, 1);
        assert_eq!(c.wait_timeout, Duration::from_millis(500));
        assert_eq!(c.password, None);
        assert!(is_sentinel_url("redis+sentinel://h/m"));
        assert!(!is_sentinel_url("redis://h:6379"));
    }

    #[test]
    fn parses_db_passwords_and_wait() {
        let c = SentinelConfig::parse(
            "redis+sentinel://127.0.0.1:1,[::1]:2/my%20master/3?password=p%40ss&sentinel_password=s&wait=2&wait_ms=250",
        )
        .unwrap();
        assert_eq!(c.sentinels[1], ("::1".to_owned(), 2));
        assert_eq!(c.service, "my master");
        assert_eq!(c.db, 3);
        assert_eq!(c.password.as_deref(), Some("p@ss"));
        assert_eq!(c.sentinel_password.as_deref(), Some("s"));
        assert_eq!(c.wait_replicas, 2);
        assert_eq!(c.wait_timeout, Duration::from_millis(250));
        let no_wait = SentinelConfig::parse("redis+sentinel://h/m?wait=0&db=5").unwrap();
        assert_eq!((no_wait.wait_replicas, no_wait.db), (0, 5));
        assert!(
            !format!("{c:?}").contains("p@ss"),
            "the debug form hides passwords"
        );
    }

    #[test]
    fn refuses_what_it_cannot_mean() {
        for bad in [
            "redis://h:6379",
            "redis+sentinel://h1:26379",
            "redis+sentinel://h1:26379/",
            "redis+sentinel://,h2/m",
            "redis+sentinel://h1:port/m",
            "redis+sentinel://h1:0/m",
            "redis+sentinel://:pw@h1/m",
            "redis+sentinel://h1/m/x",
            "redis+sentinel://h1/m/1/2",
            "redis+sentinel://h1/m?wait_ms=0",
            "redis+sentinel://h1/m?colour=blue",
            "redis+sentinel://h1/m?password=%zz",
        ] {
            let err = SentinelConfig::parse(bad).expect_err(bad);
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }
}
