//! X-Forwarded-For: arbitrary header lines, peer address and trusted-proxy list through
//! `client_ip`. Nothing may panic; a peer that is not a trusted proxy is always the answer (it
//! cannot speak for others); otherwise the answer is the peer or an address written in the
//! header with only trusted proxies to its right (a client can forge only the part no trusted
//! proxy vouches for, and that part is never the answer).

#![no_main]

use std::net::IpAddr;

use firstline::http::client_ip::client_ip;
use http::{HeaderMap, HeaderValue};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;

/// IPv4-mapped IPv6 as plain IPv4, as `client_ip` compares them.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

// The input is text, so seeds are readable: the peer address on the first line, the trusted
// networks (space-separated; ones that do not parse are left out) on the second, and each
// further line one `X-Forwarded-For` header value (ones hyper would refuse are left out).
fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|b| *b == b'\n');
    let Some(peer) = lines
        .next()
        .and_then(|l| std::str::from_utf8(l).ok())
        .and_then(|l| l.trim().parse::<IpAddr>().ok())
    else {
        return;
    };
    let trusted: Vec<IpNet> = lines
        .next()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|n| {
            n.parse::<IpNet>()
                .ok()
                .or_else(|| n.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .collect();
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            headers.append("x-forwarded-for", v);
        }
    }
    let got = client_ip(peer, &headers, &trusted);
    let peer = canonical(peer);
    let peer_trusted = trusted.iter().any(|n| n.contains(&peer));
    if !peer_trusted {
        assert_eq!(got, peer, "an untrusted peer's header was read");
        return;
    }
    if got == peer {
        return;
    }
    // Otherwise the answer must be written in the header (as an address, maybe with a port),
    // and every hop to its right must be a trusted proxy: only they vouch for what they append.
    let parse = |hop: &str| {
        hop.parse::<IpAddr>()
            .ok()
            .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
            .map(canonical)
    };
    let hops: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| parse(hop.trim()))
        .collect();
    let vouched = (0..hops.len()).any(|i| {
        hops[i] == Some(got)
            && hops[i + 1..]
                .iter()
                .all(|h| h.is_some_and(|ip| trusted.iter().any(|n| n.contains(&ip))))
    });
    assert!(
        vouched,
        "{got} is neither the peer nor a header address vouched for by trusted proxies: {headers:?}"
    );
    assert_eq!(
        got,
        canonical(got),
        "a mapped address was not made plain IPv4"
    );
});
