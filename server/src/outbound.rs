//! Outbound HTTP for probes and webhooks, and the address policy that keeps these admin-set URLs
//! from reaching Firstline itself, cloud metadata services and (unless `outbound_allow` lists
//! them) loopback and private networks.
//!
//! The policy is checked on resolved addresses, on every hop: each request resolves its host
//! itself, keeps only the addresses the policy accepts for that port, and pins the connection to
//! them (so a second DNS answer cannot swap in another address); redirects are followed here, one
//! checked hop at a time, never by the HTTP client. Proxy environment variables are ignored, so
//! no proxy can carry a request past the check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode, Url};
use url::Host;

use crate::config::Config;

/// Redirects followed at most, per request.
pub const MAX_REDIRECTS: usize = 5;

/// The ranges `outbound_allow = "private"` stands for: loopback, RFC 1918, shared (CGNAT),
/// unique-local and the old site-local IPv6 range.
pub const PRIVATE_RANGES: [&str; 8] = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "::1/128",
    "fc00::/7",
    "fec0::/10",
];

/// Cloud metadata and host-agent addresses: never reached, whatever the allow-list says.
const METADATA_ADDRS: [IpAddr; 6] = [
    // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle...
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    // AWS ECS task metadata.
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    // Alibaba Cloud.
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    // Azure WireServer (a public address that only the host answers).
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
    // Oracle Cloud Classic.
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    // AWS over IPv6.
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
];

/// Host names of metadata services (compared without a trailing dot).
const METADATA_NAMES: [&str; 5] = [
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
];

/// What an address is, for the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Reachable on the internet: allowed.
    Public,
    /// 127.0.0.0/8, ::1: allowed only when listed.
    Loopback,
    /// RFC 1918 and fec0::/10: allowed only when listed.
    Private,
    /// 100.64.0.0/10 (carrier-grade NAT): allowed only when listed.
    Shared,
    /// fc00::/7: allowed only when listed.
    UniqueLocal,
    /// 169.254.0.0/16, fe80::/10: never.
    LinkLocal,
    /// A cloud metadata service: never.
    Metadata,
    /// 0.0.0.0, :: (the local machine, on most systems): never.
    Unspecified,
    /// Multicast and the broadcast address: never.
    Multicast,
    /// Documentation and benchmarking ranges: never.
    Documentation,
    /// Other reserved and tunnelling ranges: never.
    Reserved,
}

impl Class {
    /// Words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Class::Public => "public",
            Class::Loopback => "loopback",
            Class::Private => "private",
            Class::Shared => "shared (carrier-grade NAT)",
            Class::UniqueLocal => "unique-local",
            Class::LinkLocal => "link-local",
            Class::Metadata => "cloud metadata",
            Class::Unspecified => "unspecified",
            Class::Multicast => "multicast or broadcast",
            Class::Documentation => "documentation or benchmarking",
            Class::Reserved => "reserved",
        }
    }

    /// Whether `outbound_allow` can open this class.
    pub fn allowable(self) -> bool {
        matches!(
            self,
            Class::Loopback | Class::Private | Class::Shared | Class::UniqueLocal
        )
    }
}

/// Why a destination is refused. The text reads after "url: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The destination is Firstline's own listener or public address.
    #[error(
        "reaches this Firstline server ({0}); probes and webhooks must not call Firstline itself"
    )]
    Own(String),
    /// A class that is never reached.
    #[error("reaches {ip}, a {} address, which probes and webhooks never reach", .class.describe())]
    Never {
        /// The address.
        ip: IpAddr,
        /// Its class.
        class: Class,
    },
    /// A loopback or private class the allow-list does not open.
    #[error("reaches {ip}, a {} address; probes and webhooks reach it only when the outbound_allow setting lists it", .class.describe())]
    NotAllowed {
        /// The address.
        ip: IpAddr,
        /// Its class.
        class: Class,
    },
    /// A metadata service's name.
    #[error("names {0}, a cloud metadata service, which probes and webhooks never reach")]
    MetadataName(String),
    /// The host resolved to nothing at all.
    #[error("{0} has no address")]
    NoAddress(String),
    /// Not http or https.
    #[error("must be an http:// or https:// URL")]
    Scheme,
    /// No host, or not a URL at all.
    #[error("must be a URL that names a host")]
    NoHost,
}

/// Who may be reached: the operator's allow-list and Firstline's own addresses.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Loopback/private ranges the operator opened (`outbound_allow`).
    pub allow: Vec<IpNet>,
    /// Firstline's listening address.
    pub listen: SocketAddr,
    /// Host (lowercase, no trailing dot) and port of `base_url`: Firstline as the world sees it.
    pub public: Option<(String, u16)>,
    /// Whether an address belongs to this machine (asked when listening on 0.0.0.0 or ::).
    pub is_local: fn(IpAddr) -> bool,
}

impl Policy {
    /// The policy a configuration asks for.
    pub fn from_config(config: &Config) -> Policy {
        let public = Url::parse(&config.base_url)
            .ok()
            .and_then(|u| Some((host_key(u.host_str()?), u.port_or_known_default()?)));
        Policy {
            allow: config.outbound_allow.clone(),
            listen: config.listen,
            public,
            is_local: bindable,
        }
    }
}

/// True when a socket can be bound to `ip`, i.e. the address is this machine's.
fn bindable(ip: IpAddr) -> bool {
    ip.is_loopback() || std::net::UdpSocket::bind((ip, 0)).is_ok()
}

fn host_key(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`) or
/// NAT64 (`64:ff9b::a.b.c.d`) IPv6 address; other addresses as they are.
pub fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    let embedded = || {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    };
    let compatible = s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1);
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if compatible || nat64 {
        embedded()
    } else {
        ip
    }
}

fn within(ip: IpAddr, cidr: &str) -> bool {
    cidr.parse::<IpNet>().is_ok_and(|n| n.contains(&ip))
}

/// Classifies an address (give it [`canonical`] first).
pub fn classify(ip: IpAddr) -> Class {
    if METADATA_ADDRS.contains(&ip) {
        return Class::Metadata;
    }
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_unspecified() {
                Class::Unspecified
            } else if v4.is_loopback() {
                Class::Loopback
            } else if v4.is_private() {
                Class::Private
            } else if within(ip, "100.64.0.0/10") {
                Class::Shared
            } else if v4.is_link_local() {
                Class::LinkLocal
            } else if v4.is_multicast() || v4.is_broadcast() {
                Class::Multicast
            } else if v4.is_documentation() || within(ip, "198.18.0.0/15") {
                Class::Documentation
            } else if ["0.0.0.0/8", "192.0.0.0/24", "240.0.0.0/4"]
                .iter()
                .any(|r| within(ip, r))
            {
                Class::Reserved
            } else {
                Class::Public
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_unspecified() {
                Class::Unspecified
            } else if v6.is_loopback() {
                Class::Loopback
            } else if within(ip, "fe80::/10") {
                Class::LinkLocal
            } else if v6.is_multicast() {
                Class::Multicast
            } else if within(ip, "fc00::/7") {
                Class::UniqueLocal
            } else if within(ip, "fec0::/10") {
                Class::Private
            } else if within(ip, "2001:db8::/32") || within(ip, "3fff::/20") {
                Class::Documentation
            } else if [
                "::/8",
                "100::/64",
                "2001::/23",
                "2002::/16",
                "64:ff9b:1::/48",
            ]
            .iter()
            .any(|r| within(ip, r))
            {
                // Unwrapped forms are handled by `canonical`; the rest of ::/8, discard-only,
                // IETF protocol assignments (Teredo...), 6to4 and local NAT64 are refused.
                Class::Reserved
            } else {
                Class::Public
            }
        }
    }
}

/// Whether `ip:port` is Firstline's own listener.
fn is_own(ip: IpAddr, port: u16, policy: &Policy) -> bool {
    if port != policy.listen.port() {
        return false;
    }
    let listen = canonical(policy.listen.ip());
    if listen.is_unspecified() {
        // Listening on every address: any address of this machine reaches it.
        ip.is_loopback() || (policy.is_local)(ip)
    } else {
        ip == listen
    }
}

/// The address policy: may a probe or webhook connect to `ip:port`?
pub fn check(ip: IpAddr, port: u16, policy: &Policy) -> Result<(), Refusal> {
    let ip = canonical(ip);
    if is_own(ip, port, policy) {
        return Err(Refusal::Own(SocketAddr::new(ip, port).to_string()));
    }
    match classify(ip) {
        Class::Public => Ok(()),
        class if class.allowable() => {
            if policy.allow.iter().any(|n| n.contains(&ip)) {
                Ok(())
            } else {
                Err(Refusal::NotAllowed { ip, class })
            }
        }
        class => Err(Refusal::Never { ip, class }),
    }
}

/// Checks what a URL says without resolving it: scheme, Firstline's public origin, literal
/// addresses (the URL parser has already turned `127.1`, `2130706433` and `0x7f000001` into
/// `127.0.0.1`) and metadata names. Returns the parsed URL, its host and port.
fn check_static(url: &str, policy: &Policy) -> Result<(Url, u16), Refusal> {
    let url = Url::parse(url.trim()).map_err(|_| Refusal::NoHost)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::Scheme);
    }
    let port = url.port_or_known_default().ok_or(Refusal::Scheme)?;
    let host = url.host().ok_or(Refusal::NoHost)?;
    if let (Some((public, public_port)), Some(h)) = (&policy.public, url.host_str()) {
        if *public_port == port && host_key(h) == *public {
            return Err(Refusal::Own(format!("{public}:{port}")));
        }
    }
    match host {
        Host::Ipv4(ip) => check(IpAddr::V4(ip), port, policy)?,
        Host::Ipv6(ip) => check(IpAddr::V6(ip), port, policy)?,
        Host::Domain(name) => {
            let name = host_key(name);
            if METADATA_NAMES.contains(&name.as_str()) {
                return Err(Refusal::MetadataName(name));
            }
        }
    }
    Ok((url, port))
}

/// The check when an admin saves a probe or webhook URL: everything that can be decided without
/// DNS, with `localhost` names taken as the loopback addresses they are. The connect-time check
/// stays the real guard (DNS answers change).
pub fn check_url(url: &str, policy: &Policy) -> Result<(), Refusal> {
    let (parsed, port) = check_static(url, policy)?;
    if let Some(Host::Domain(name)) = parsed.host() {
        let name = host_key(name);
        if name == "localhost" || name.ends_with(".localhost") {
            // As at connect time, one acceptable address is enough; Firstline on either is not.
            let v4 = check(IpAddr::V4(Ipv4Addr::LOCALHOST), port, policy);
            let v6 = check(IpAddr::V6(Ipv6Addr::LOCALHOST), port, policy);
            match (v4, v6) {
                (Err(own @ Refusal::Own(_)), _) | (_, Err(own @ Refusal::Own(_))) => {
                    return Err(own)
                }
                (Err(r), Err(_)) => return Err(r),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Why an outbound request did not get a response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The policy refused the destination (or a redirect's).
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    /// The whole exchange took longer than its timeout.
    #[error("timed out")]
    Timeout,
    /// More than [`MAX_REDIRECTS`] redirects.
    #[error("too many redirects (more than {MAX_REDIRECTS})")]
    TooManyRedirects,
    /// A redirect without a usable `Location`.
    #[error("redirect to an invalid location")]
    BadRedirect,
    /// The name did not resolve.
    #[error("request failed: resolving {host}: {error}")]
    Resolve {
        /// The host.
        host: String,
        /// What the resolver said.
        error: std::io::Error,
    },
    /// Connection, TLS or protocol failure.
    #[error("request failed: {}", root_cause(.0))]
    Request(reqwest::Error),
}

/// The innermost cause of an error (the useful part of a connection failure).
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Refuses every name: each request's client knows only its own pinned host, so any other
/// lookup would be a way around the policy.
struct NoOtherNames;

impl reqwest::dns::Resolve for NoOtherNames {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let msg = format!("{} was not checked by the outbound policy", name.as_str());
        Box::pin(
            async move { Err::<reqwest::dns::Addrs, _>(Box::new(std::io::Error::other(msg)) as _) },
        )
    }
}

/// Outbound HTTP under the policy; cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    policy: Arc<Policy>,
    user_agent: String,
}

impl Outbound {
    /// A sender for `policy`.
    pub fn new(policy: Policy) -> Outbound {
        Outbound {
            policy: Arc::new(policy),
            user_agent: concat!("Firstline/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Resolves and checks one hop, and builds a client pinned to the addresses that passed.
    async fn client_for(&self, url: &str) -> Result<(Url, reqwest::Client), SendError> {
        let (url, port) = check_static(url, &self.policy)?;
        let mut builder = reqwest::Client::builder()
            .user_agent(&self.user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(0)
            .dns_resolver(Arc::new(NoOtherNames));
        if let Some(Host::Domain(name)) = url.host() {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
                .await
                .map_err(|error| SendError::Resolve {
                    host: name.to_string(),
                    error,
                })?
                .collect();
            let mut refused = None;
            let kept: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match check(a.ip(), port, &self.policy) {
                    Ok(()) => true,
                    Err(r) => {
                        refused.get_or_insert(r);
                        false
                    }
                })
                .collect();
            if kept.is_empty() {
                return Err(refused
                    .unwrap_or_else(|| Refusal::NoAddress(name.to_string()))
                    .into());
            }
            builder = builder.resolve_to_addrs(name, &kept);
        }
        let client = builder.build().map_err(SendError::Request)?;
        Ok((url, client))
    }

    /// POSTs `body` (of `content_type`) with `headers` to `url` and follows no redirect: a
    /// provider's API or a person's webhook gets credentials and signatures, which must not go
    /// on to wherever a redirect points (a 3xx comes back as the response).
    pub async fn post_once(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        headers: &[(&str, String)],
        timeout: Duration,
    ) -> Result<reqwest::Response, SendError> {
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        let (url, client) = tokio::time::timeout(left(), self.client_for(url))
            .await
            .map_err(|_| SendError::Timeout)??;
        let mut req = client
            .request(Method::POST, url)
            .timeout(left())
            .header(CONTENT_TYPE, content_type)
            .body(body);
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        req.send().await.map_err(|e| {
            if e.is_timeout() {
                SendError::Timeout
            } else {
                SendError::Request(e)
            }
        })
    }

    /// Sends one request (with an optional JSON body), following at most [`MAX_REDIRECTS`]
    /// redirects; every hop is resolved and checked. `timeout` covers all hops and the body.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        json: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<reqwest::Response, SendError> {
        let mut headers = reqwest::header::HeaderMap::new();
        if json.is_some() {
            headers.insert(
                CONTENT_TYPE,
                reqwest::header::HeaderValue::from_static("application/json"),
            );
        }
        self.send_with(method, url, headers, json, timeout).await
    }

    /// [`Outbound::send`] with these request headers and a body of any type (its
    /// `Content-Type` among the headers). A redirect that drops the body drops them too.
    pub async fn send_with(
        &self,
        method: Method,
        url: &str,
        mut headers: reqwest::header::HeaderMap,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<reqwest::Response, SendError> {
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        let (mut method, mut body, mut next) = (method, body, url.to_string());
        for hop in 0..=MAX_REDIRECTS {
            let (url, client) = tokio::time::timeout(left(), self.client_for(&next))
                .await
                .map_err(|_| SendError::Timeout)??;
            let mut req = client
                .request(method.clone(), url.clone())
                .headers(headers.clone())
                .timeout(left());
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let resp = req.send().await.map_err(|e| {
                if e.is_timeout() {
                    SendError::Timeout
                } else {
                    SendError::Request(e)
                }
            })?;
            let status = resp.status();
            let follow = matches!(
                status,
                StatusCode::MOVED_PERMANENTLY
                    | StatusCode::FOUND
                    | StatusCode::SEE_OTHER
                    | StatusCode::TEMPORARY_REDIRECT
                    | StatusCode::PERMANENT_REDIRECT
            );
            let Some(location) = resp.headers().get(LOCATION).filter(|_| follow) else {
                return Ok(resp);
            };
            if hop == MAX_REDIRECTS {
                return Err(SendError::TooManyRedirects);
            }
            next = location
                .to_str()
                .ok()
                .and_then(|l| url.join(l).ok())
                .ok_or(SendError::BadRedirect)?
                .to_string();
            // Credentials go to the origin they were made for, not to where it redirects.
            if Url::parse(&next).map(|n| n.origin()).ok() != Some(url.origin()) {
                headers.remove(reqwest::header::AUTHORIZATION);
            }
            // As browsers do: 303 always, and 301/302 after a POST, go on as a GET without body.
            if status == StatusCode::SEE_OTHER
                || (method == Method::POST
                    && matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND))
            {
                if method != Method::HEAD {
                    method = Method::GET;
                }
                body = None;
                headers.clear();
            }
        }
        Err(SendError::TooManyRedirects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str], listen: &str) -> Policy {
        Policy {
            allow: allow.iter().map(|a| a.parse().unwrap()).collect(),
            listen: listen.parse().unwrap(),
            public: Some(("status.example.org".into(), 443)),
            // This "machine" has loopback and 192.168.1.5.
            is_local: |ip| ip.is_loopback() || ip == IpAddr::from([192, 168, 1, 5]),
        }
    }

    /// What check_url says, in short: "ok", "own", "never", "not allowed", "metadata", "scheme",
    /// "host".
    fn verdict(url: &str, p: &Policy) -> &'static str {
        match check_url(url, p) {
            Ok(()) => "ok",
            Err(Refusal::Own(_)) => "own",
            Err(Refusal::Never { .. }) => "never",
            Err(Refusal::NotAllowed { .. }) => "not allowed",
            Err(Refusal::MetadataName(_)) => "metadata",
            Err(Refusal::Scheme) => "scheme",
            Err(Refusal::NoHost | Refusal::NoAddress(_)) => "host",
        }
    }

    #[test]
    fn url_table_with_nothing_allowed() {
        let p = policy(&[], "127.0.0.1:3000");
        for (url, want) in [
            ("https://crates.io/api/v1/summary", "ok"),
            ("http://93.184.215.14:8080/health", "ok"),
            ("http://[2606:4700::1111]/", "ok"),
            // Spellings of loopback: the URL parser normalises them, the policy sees 127.0.0.1.
            ("http://127.0.0.1:8080/", "not allowed"),
            ("http://127.1/", "not allowed"),
            ("http://2130706433/", "not allowed"),
            ("http://0x7f000001/", "not allowed"),
            ("http://0177.0.0.1/", "not allowed"),
            ("http://127.255.255.254/", "not allowed"),
            ("http://[::1]:8080/", "not allowed"),
            ("http://[::ffff:127.0.0.1]/", "not allowed"),
            ("http://[::ffff:7f00:1]/", "not allowed"),
            ("http://[::127.0.0.1]/", "not allowed"),
            ("http://[64:ff9b::127.0.0.1]/", "not allowed"),
            ("http://localhost/", "not allowed"),
            ("http://localhost./", "not allowed"),
            ("http://LocalHost:8080/", "not allowed"),
            ("http://api.localhost/", "not allowed"),
            // Private networks.
            ("http://10.0.0.1/", "not allowed"),
            ("http://172.16.3.4/", "not allowed"),
            ("http://192.168.1.1/", "not allowed"),
            ("http://100.64.0.1/", "not allowed"),
            ("http://[fd12:3456::1]/", "not allowed"),
            ("http://[::ffff:10.0.0.1]/", "not allowed"),
            // Never, whatever the setting.
            ("http://0.0.0.0:3000/", "never"),
            ("http://0/", "never"),
            ("http://[::]/", "never"),
            ("http://169.254.169.254/latest/meta-data/", "never"),
            ("http://169.254.1.1/", "never"),
            ("http://[fe80::1]/", "never"),
            ("http://[fd00:ec2::254]/latest/meta-data/", "never"),
            ("http://100.100.100.200/latest/meta-data/", "never"),
            ("http://168.63.129.16/", "never"),
            ("http://[::ffff:169.254.169.254]/", "never"),
            ("http://224.0.0.1/", "never"),
            ("http://255.255.255.255/", "never"),
            ("http://[ff02::1]/", "never"),
            ("http://192.0.2.1/", "never"),
            ("http://[2001:db8::1]/", "never"),
            ("http://240.0.0.1/", "never"),
            ("http://[2002:7f00:1::]/", "never"),
            (
                "http://metadata.google.internal/computeMetadata/v1/",
                "metadata",
            ),
            ("http://METADATA.google.internal./", "metadata"),
            ("http://metadata/", "metadata"),
            // Firstline's public origin, even through a name.
            ("https://status.example.org/admin", "own"),
            ("https://status.example.org./", "own"),
            ("https://status.example.org:8443/", "ok"),
            ("http://status.example.org/", "ok"),
            ("ftp://crates.io/", "scheme"),
            ("file:///etc/passwd", "scheme"),
            ("not a url", "host"),
        ] {
            assert_eq!(verdict(url, &p), want, "{url}");
        }
    }

    #[test]
    fn allow_list_opens_private_ranges_but_never_firstline_or_metadata() {
        let all = PRIVATE_RANGES.to_vec();
        let mut everything = all.clone();
        everything.extend(["0.0.0.0/0", "::/0"]);
        let p = policy(&everything, "127.0.0.1:3000");
        for (url, want) in [
            ("http://127.0.0.1:8080/", "ok"),
            ("http://localhost:8080/", "ok"),
            ("http://[::1]:8080/", "ok"),
            ("http://10.0.0.1/", "ok"),
            ("http://[fd12::1]/", "ok"),
            // Firstline itself, in every spelling.
            ("http://127.0.0.1:3000/", "own"),
            ("http://127.1:3000/", "own"),
            ("http://2130706433:3000/", "own"),
            ("http://0x7f000001:3000/", "own"),
            ("http://[::ffff:127.0.0.1]:3000/", "own"),
            ("http://localhost:3000/", "own"),
            ("http://localhost.:3000/", "own"),
            // Another loopback address is another socket.
            ("http://127.0.0.2:3000/", "ok"),
            ("http://0.0.0.0:3000/", "never"),
            ("http://169.254.169.254/", "never"),
            ("http://[fd00:ec2::254]/", "never"),
            ("http://100.100.100.200/", "never"),
            ("http://metadata.google.internal/", "metadata"),
        ] {
            assert_eq!(verdict(url, &p), want, "{url}");
        }
        // A narrow list opens only what it names.
        let p = policy(&["10.1.0.0/16", "127.0.0.1/32"], "127.0.0.1:3000");
        assert_eq!(verdict("http://10.1.2.3/", &p), "ok");
        assert_eq!(verdict("http://10.2.0.1/", &p), "not allowed");
        assert_eq!(verdict("http://127.0.0.1:9000/", &p), "ok");
        assert_eq!(verdict("http://[::1]:9000/", &p), "not allowed");
        assert_eq!(verdict("http://localhost:9000/", &p), "ok");
        assert_eq!(verdict("http://localhost:3000/", &p), "own");
        let p = policy(&["::1/128"], "[::1]:3000");
        assert_eq!(verdict("http://localhost:9000/", &p), "ok");
        assert_eq!(verdict("http://localhost:3000/", &p), "own");
        assert_eq!(verdict("http://127.0.0.1:9000/", &p), "not allowed");
    }

    #[test]
    fn listening_everywhere_makes_every_local_address_firstline() {
        for listen in ["0.0.0.0:3000", "[::]:3000"] {
            let p = policy(&PRIVATE_RANGES, listen);
            for (ip, port, own) in [
                ("127.0.0.1", 3000, true),
                ("127.0.0.9", 3000, true),
                ("::1", 3000, true),
                ("192.168.1.5", 3000, true),
                ("::ffff:192.168.1.5", 3000, true),
                ("192.168.1.6", 3000, false),
                ("192.168.1.5", 3001, false),
                ("127.0.0.1", 8080, false),
            ] {
                let r = check(ip.parse().unwrap(), port, &p);
                assert_eq!(
                    matches!(r, Err(Refusal::Own(_))),
                    own,
                    "{listen} {ip}:{port}"
                );
                if !own {
                    assert_eq!(r, Ok(()), "{listen} {ip}:{port}");
                }
            }
        }
        // On a public listen address, that address with that port is Firstline too.
        let p = policy(&[], "93.184.215.14:443");
        assert!(matches!(
            check("93.184.215.14".parse().unwrap(), 443, &p),
            Err(Refusal::Own(_))
        ));
        assert_eq!(check("93.184.215.14".parse().unwrap(), 80, &p), Ok(()));
    }

    #[test]
    fn mapped_and_embedded_addresses_unwrap() {
        for (v6, v4) in [
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("::127.0.0.1", "127.0.0.1"),
            ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ] {
            assert_eq!(
                canonical(v6.parse().unwrap()),
                v4.parse::<IpAddr>().unwrap()
            );
        }
        for same in ["::1", "::", "2606:4700::1111"] {
            let ip: IpAddr = same.parse().unwrap();
            assert_eq!(canonical(ip), ip);
        }
    }

    #[test]
    fn messages_name_the_address_and_the_setting() {
        let p = policy(&[], "127.0.0.1:3000");
        let msg = check_url("http://127.1:8080/", &p).unwrap_err().to_string();
        assert!(
            msg.contains("127.0.0.1") && msg.contains("outbound_allow"),
            "{msg}"
        );
        let msg = check_url("http://169.254.169.254/", &p)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("link-local") || msg.contains("metadata"),
            "{msg}"
        );
        let msg = SendError::from(Refusal::Own("127.0.0.1:3000".into())).to_string();
        assert!(
            msg.starts_with("refused: ") && msg.contains("Firstline"),
            "{msg}"
        );
    }
}
