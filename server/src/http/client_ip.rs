//! The client's address for per-IP limits, behind zero or more trusted reverse proxies.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client's address. The socket's peer is the client unless it is a trusted proxy; then
/// `X-Forwarded-For` is read from the right (each proxy appends the address it saw), skipping
/// trusted proxies, and the first address that is not one is the client. A hop that does not
/// parse stops the walk at the last trusted address, so a client can forge only the part of the
/// header that no trusted proxy vouches for, and that part is never read.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(&canonical(*ip)));
    let peer = canonical(peer);
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

/// IPv4-mapped IPv6 addresses (from a dual-stack socket) as plain IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn client_ip_table() {
        let proxies = nets(&["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);
        // (peer, X-Forwarded-For header lines, trusted, expected client)
        let cases: &[(&str, &[&str], &[IpNet], &str)] = &[
            // No trusted proxies: the header is ignored, whatever it says.
            ("203.0.113.9", &["198.51.100.1"], &[], "203.0.113.9"),
            // A peer that is not a trusted proxy cannot speak for anyone else.
            ("203.0.113.9", &["198.51.100.1"], &proxies, "203.0.113.9"),
            // One trusted proxy: the last hop is the client.
            ("127.0.0.1", &["198.51.100.1"], &proxies, "198.51.100.1"),
            // A forged left part is never read: the rightmost untrusted hop is the client.
            (
                "127.0.0.1",
                &["6.6.6.6, 198.51.100.1"],
                &proxies,
                "198.51.100.1",
            ),
            // Two trusted proxies in a chain, and header lines that continue each other.
            (
                "127.0.0.1",
                &["6.6.6.6, 198.51.100.1", "10.2.3.4"],
                &proxies,
                "198.51.100.1",
            ),
            // A trusted peer without the header is itself the client.
            ("127.0.0.1", &[], &proxies, "127.0.0.1"),
            // Garbage stops the walk at the last trusted hop.
            (
                "127.0.0.1",
                &["198.51.100.1, unknown"],
                &proxies,
                "127.0.0.1",
            ),
            ("127.0.0.1", &["unknown, 10.9.9.9"], &proxies, "10.9.9.9"),
            // Ports and IPv6.
            (
                "127.0.0.1",
                &["198.51.100.1:4711"],
                &proxies,
                "198.51.100.1",
            ),
            (
                "127.0.0.1",
                &["[2001:db8::7]:4711"],
                &proxies,
                "2001:db8::7",
            ),
            (
                "fd00::1",
                &["2001:db8::7, fd12::2"],
                &proxies,
                "2001:db8::7",
            ),
            // A dual-stack socket reports IPv4 peers as mapped IPv6 addresses.
            (
                "::ffff:127.0.0.1",
                &["198.51.100.1"],
                &proxies,
                "198.51.100.1",
            ),
            ("::ffff:203.0.113.9", &[], &[], "203.0.113.9"),
            // Every hop trusted: the leftmost is as far as anyone can tell.
            ("127.0.0.1", &["10.0.0.5, 10.0.0.6"], &proxies, "10.0.0.5"),
        ];
        for (peer, lines, trusted, want) in cases {
            let mut headers = HeaderMap::new();
            for line in *lines {
                headers.append("x-forwarded-for", line.parse().unwrap());
            }
            let got = client_ip(peer.parse().unwrap(), &headers, trusted);
            assert_eq!(got.to_string(), *want, "peer {peer}, header {lines:?}");
        }
    }
}
