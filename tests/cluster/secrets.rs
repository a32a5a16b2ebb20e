//! A cluster node refuses to start with a missing or known-weak JWT secret, unless it is told
//! `--insecure-dev`: the real binary, pointed at a real Redis.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rookery_testkit::{http, Endpoint};

use crate::helpers::WAIT;
use crate::servers::{free_port, shared};

/// The example secret the compose file used to ship.
const COMPOSE_DEFAULT: &str = "change-me-change-me-change-me-change-me";

/// A node's command (not started), the port it will listen on, and its data dir.
fn node(secret: Option<&str>, extra: &[&str]) -> (Command, u16, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_rookery"));
    command
        .args(extra)
        .env_remove("ROOKERY_JWT_SECRET")
        .env_remove("ROOKERY_INSECURE_DEV")
        .env("REDIS_URL", &shared().redis_url)
        .env(
            "ROOKERY_REDIS_PREFIX",
            format!("secrets-{}:", rand_suffix()),
        )
        .env("ROOKERY_BIND", format!("127.0.0.1:{port}"))
        .env("ROOKERY_DATA_DIR", dir.path())
        .env("ROOKERY_WORKERS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(secret) = secret {
        command.env("ROOKERY_JWT_SECRET", secret);
    }
    (command, port, dir)
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ u64::from(std::process::id())
}

#[test]
fn a_cluster_node_refuses_a_missing_short_or_published_jwt_secret() {
    for (case, secret) in [
        ("no secret", None),
        ("a short secret", Some("sixteen-bytes-ok")),
        ("the compose file's old default", Some(COMPOSE_DEFAULT)),
    ] {
        let (mut command, _, _dir) = node(secret, &[]);
        let mut child = command.spawn().expect("node starts");
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{case}: the node kept running");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!status.success(), "{case}: {stderr}");
        assert!(
            stderr.contains("JWT secret") && stderr.contains("--insecure-dev"),
            "{case}: says why and how: {stderr}"
        );
    }
}

#[actix_web::test]
async fn insecure_dev_lets_a_cluster_node_start_with_a_weak_secret() {
    for secret in [None, Some(COMPOSE_DEFAULT)] {
        let (mut command, port, _dir) = node(secret, &["--insecure-dev"]);
        let mut child = command.stderr(Stdio::null()).spawn().expect("node starts");
        let endpoint = Endpoint::localhost(port);
        let deadline = Instant::now() + Duration::from_secs(30);
        let up = loop {
            if let Ok(Ok(r)) = tokio::time::timeout(WAIT, http::get(&endpoint, "/healthz")).await {
                if r.status == 200 {
                    break true;
                }
            }
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let _ = child.kill();
        let _ = child.wait();
        assert!(up, "{secret:?}: a node with --insecure-dev serves");
    }
}
