//! What the load generator adds to the shared client (`rookery-testkit`): the loopback-only
//! policy for targets, and loopback source addresses used in turn.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use rookery_testkit::Endpoint;

/// Parses a target `http://IP:PORT`. Only loopback addresses are accepted unless `remote` is
/// set: this tool measures the local baseline.
pub fn target(url: &str, remote: bool) -> Result<Endpoint, String> {
    let endpoint = Endpoint::parse(url)?;
    if !remote && !endpoint.addr.ip().is_loopback() {
        return Err(format!(
            "{url}: not a loopback address (pass --allow-remote to load another host)"
        ));
    }
    Ok(endpoint)
}

/// Source addresses used in turn, so that tens of thousands of sockets do not run out of
/// ephemeral ports on one address (127.0.0.0/8 is all loopback).
pub struct Sources {
    ips: Vec<IpAddr>,
    next: AtomicUsize,
}

impl Sources {
    pub fn parse(list: &str) -> Result<Sources, String> {
        let ips = list
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse::<IpAddr>()
                    .map_err(|_| format!("bad source address {s}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ips.is_empty() {
            return Err("no source address".into());
        }
        Ok(Sources {
            ips,
            next: AtomicUsize::new(0),
        })
    }

    /// `target`, connected to from the next source address.
    pub fn next(&self, target: &Endpoint) -> Endpoint {
        let ip = self.ips[self.next.fetch_add(1, Ordering::Relaxed) % self.ips.len()];
        target.from_source(ip)
    }
}
