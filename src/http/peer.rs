//! Who is asking: the peer's address, unless the peer is a trusted proxy (`--trusted-proxies`),
//! which may name the client (`Forwarded: for=`, `X-Forwarded-For`) and the host it was asked
//! for (`Forwarded: host=`, `X-Forwarded-Host`). From anyone else those headers are ignored:
//! otherwise any client could pick the address the login limits and the audit log see, or
//! make a foreign `Origin` look like this node's own.

use std::net::IpAddr;

use actix_web::HttpRequest;

use super::NodeData;
use crate::config::Cidr;

fn trusted(req: &HttpRequest) -> &[Cidr] {
    req.app_data::<NodeData>()
        .map(|node| node.config.trusted_proxies.as_slice())
        .unwrap_or(&[])
}

fn is_trusted(ip: IpAddr, proxies: &[Cidr]) -> bool {
    proxies.iter().any(|cidr| cidr.contains(ip))
}

/// The client's address: the peer's, or, behind trusted proxies, the nearest address in the
/// forwarding chain that is not one of them.
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let proxies = trusted(req);
    if !is_trusted(peer, proxies) {
        return Some(peer);
    }
    // Right to left: each trusted proxy appended the address it heard from.
    let chain = forwarded_for(req);
    Some(
        chain
            .iter()
            .rev()
            .copied()
            .find(|ip| !is_trusted(*ip, proxies))
            .or_else(|| chain.first().copied())
            .unwrap_or(peer),
    )
}

/// The host the client asked for: the `Host` header, or, from a trusted proxy, the one it
/// forwarded.
pub fn host(req: &HttpRequest) -> String {
    let from_proxy = req
        .peer_addr()
        .is_some_and(|peer| is_trusted(peer.ip(), trusted(req)));
    if from_proxy {
        return req.connection_info().host().to_owned();
    }
    req.headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default()
}

/// The addresses of `Forwarded: for=` (RFC 7239), else of `X-Forwarded-For`, in order.
fn forwarded_for(req: &HttpRequest) -> Vec<IpAddr> {
    let headers = req.headers();
    let forwarded: Vec<IpAddr> = headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("for")
                .then(|| parse_node(value.trim()))?
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|ip| parse_node(ip.trim()))
        .collect()
}

/// One node of a forwarding header: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim_matches('"');
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    text.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_nodes_parse_in_every_spelling() {
        for (text, ip) in [
            ("192.0.2.1", "192.0.2.1"),
            ("192.0.2.1:4711", "192.0.2.1"),
            ("\"[2001:db8::1]:4711\"", "2001:db8::1"),
            ("2001:db8::2", "2001:db8::2"),
        ] {
            assert_eq!(parse_node(text), ip.parse().ok(), "{text}");
        }
        assert_eq!(parse_node("unknown"), None);
        assert_eq!(parse_node("_hidden"), None);
    }
}
