//! The composition root: builds a node from its config (choosing the embedded or cluster
//! implementations of every seam), binds the server, and runs it until told to stop. `main`
//! and the tests both go through [`Application::build`], so tests exercise the real wiring.

use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix::Arbiter;
use actix_web::{dev::ServerHandle, web, App, HttpServer};
use base64::Engine;
use rand::RngCore;

use crate::auth::{Accounts, Tokens};
use crate::cluster::memory::MemoryCluster;
use crate::cluster::Router;
use crate::config::Config;
use crate::http;
use crate::node::{DirectOutbox, Node, NodeParts};
use crate::session::actor::Drain;
use crate::store::sqlite::SqliteStore;
use crate::store::Store;

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
    #[error(
        "{0} is set, but this build has no cluster backend yet; unset it for the embedded mode"
    )]
    ClusterUnsupported(&'static str),
}

/// A built, bound node, ready to run.
pub struct Application {
    port: u16,
    node: Node,
    server: actix_web::dev::Server,
    handle: ServerHandle,
    arbiters: Vec<Arbiter>,
}

/// Stops a running application gracefully (from a signal handler, or a test).
#[derive(Clone)]
pub struct Shutdown {
    node: Node,
    handle: ServerHandle,
}

impl Shutdown {
    /// Drains: stop taking sockets, tell connected clients to reconnect elsewhere (1012),
    /// give in-flight writes a moment, then stop the server.
    pub async fn trigger(&self) {
        self.node.draining.store(true, Ordering::SeqCst);
        let sessions = self.node.router.local_sessions();
        tracing::info!(sockets = sessions.len(), "draining");
        for session in sessions {
            session.do_send(Drain);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.handle.stop(true).await;
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
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

impl Application {
    /// Builds the node and binds its listener. Must run inside an actix system.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        if config.redis_url.is_some() {
            return Err(StartupError::ClusterUnsupported("REDIS_URL"));
        }
        if config.mongodb_uri.is_some() {
            return Err(StartupError::ClusterUnsupported("MONGODB_URI"));
        }
        crate::telemetry::prometheus(); // record from the first event, not the first scrape
        let dir_err = |source| StartupError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&config.data_dir).map_err(dir_err)?;
        let node_id = config
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{}", &crate::domain::GameId::generate()));
        let secret = jwt_secret(&config)?;

        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&config.data_dir.join("rookery.sqlite3"))?);
        let cluster = MemoryCluster::new();
        let router = Router::start(node_id.clone(), Arc::new(cluster.bus()), cluster.clone());
        let tokens = Tokens::new(&secret, Duration::from_secs(config.token_ttl_secs));
        let accounts = Accounts::new(
            store.clone(),
            tokens,
            config.login_per_user_per_min,
            config.login_per_ip_per_min,
        );
        let arbiters = vec![Arbiter::new()];
        let node = Node::new(NodeParts {
            id: node_id.clone(),
            config: config.clone(),
            router,
            snapshots: cluster,
            outbox: Arc::new(DirectOutbox(store.clone())),
            store,
            accounts,
            arbiters: arbiters.iter().map(|a| a.handle()).collect(),
        });

        let listener = TcpListener::bind(config.bind).map_err(|source| StartupError::Bind {
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
        let server =
            HttpServer::new(move || App::new().app_data(data.clone()).configure(http::routes))
                .workers(workers)
                .disable_signals()
                .shutdown_timeout(config.shutdown_timeout_secs)
                .listen(listener)
                .map_err(|source| StartupError::Bind {
                    addr: config.bind.to_string(),
                    source,
                })?
                .run();
        let handle = server.handle();
        tracing::info!(node = %node_id, port, mode = "embedded", "node built");
        Ok(Application {
            port,
            node,
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
