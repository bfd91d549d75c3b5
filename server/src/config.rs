//! Configuration: defaults, then an optional TOML file, then `FIRSTLINE_*` environment variables.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

/// The settings a running Firstline needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://PATH` (default `sqlite://firstline.db` in the working directory) or `postgres://...`.
    pub database_url: String,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Public URL (links in mails and feeds; `https` turns on `Secure` cookies).
    pub base_url: String,
    /// Secret key; when absent one is generated and stored in the database on first start.
    pub secret_key: Option<String>,
    /// Log as JSON lines instead of human-readable text.
    pub log_json: bool,
    /// SMTP server for subscriber mail (`smtp://host:port`, `smtps://user:pass@host`); none turns
    /// email subscriptions off.
    pub smtp_url: Option<String>,
    /// Sender of subscriber mail.
    pub mail_from: String,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges); empty
    /// means the socket's peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Loopback and private ranges that probes and webhooks may reach (`outbound_allow`); empty
    /// refuses them all. Firstline itself and link-local/metadata addresses stay refused.
    pub outbound_allow: Vec<ipnet::IpNet>,
    /// Connection limits and timeouts.
    pub conn: crate::conn::ConnLimits,
    /// How long one background job (a mail, a webhook, a fan-out) may run before it counts as
    /// failed and is retried later (`job_timeout_secs`).
    pub job_timeout: std::time::Duration,
    /// Events one integration key may send per minute; more get 429 (`ingest_rate_per_min`).
    pub ingest_rate_per_min: u32,
    /// Days an invitation link works (`invitation_expiry_days`, default 7).
    pub invitation_expiry_days: u32,
    /// The window of each contact method's rate limit: a few messages in it, then the rest wait
    /// and go out bundled (`notify_window_secs`, default 60).
    pub notify_window: std::time::Duration,
    /// The SMS provider (Twilio's API shape); `None` without an account sid, token and sender.
    pub sms: Option<SmsConfig>,
}

/// The SMS provider's settings (`sms_api_url`, `sms_account_sid`, `sms_auth_token`, `sms_from`).
#[derive(Clone, PartialEq, Eq)]
pub struct SmsConfig {
    /// The API's base URL (default `https://api.twilio.com`).
    pub api_url: String,
    /// The account sid.
    pub account_sid: String,
    /// The auth token: the API password, and the key inbound webhooks are signed with.
    pub auth_token: String,
    /// The sender: a phone number, or a messaging service sid (`MG...`).
    pub from: String,
}

impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("api_url", &self.api_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"(hidden)")
            .field("from", &self.from)
            .finish()
    }
}

/// The TOML file's shape; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    database_url: Option<String>,
    listen: Option<String>,
    base_url: Option<String>,
    secret_key: Option<String>,
    log_format: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    trusted_proxies: Option<String>,
    outbound_allow: Option<String>,
    header_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    max_connections: Option<u64>,
    max_streams_per_ip: Option<u64>,
    max_connections_per_ip: Option<u64>,
    request_timeout_secs: Option<u64>,
    job_timeout_secs: Option<u64>,
    ingest_rate_per_min: Option<u64>,
    invitation_expiry_days: Option<u64>,
    notify_window_secs: Option<u64>,
    sms_api_url: Option<String>,
    sms_account_sid: Option<String>,
    sms_auth_token: Option<String>,
    sms_from: Option<String>,
}

/// Names of the environment variables, as `--help` lists them.
pub const ENV_HELP: &str = "\
Configuration (a TOML file given with --config; environment variables override it):
  FIRSTLINE_DATABASE_URL  database_url  sqlite://PATH (default sqlite://firstline.db) or postgres://USER@HOST/DB
  FIRSTLINE_LISTEN        listen        host:port to listen on (default 127.0.0.1:3000)
  FIRSTLINE_BASE_URL      base_url      public URL, used in links and cookie flags (default http://LISTEN)
  FIRSTLINE_SECRET_KEY    secret_key    secret for session hashing; generated and stored on first start if unset
  FIRSTLINE_LOG_FORMAT    log_format    text (default) or json; RUST_LOG sets the level (default info)
  FIRSTLINE_SMTP_URL      smtp_url      smtp://HOST:PORT (STARTTLS: smtp://USER:PASS@HOST:587?tls=required,
                                        TLS: smtps://...); unset turns email subscriptions off
  FIRSTLINE_MAIL_FROM     mail_from     sender of subscriber mail (default Firstline <status@HOST of base_url>)
  FIRSTLINE_TRUSTED_PROXIES trusted_proxies
                                        reverse proxies in front of Firstline, comma-separated addresses
                                        or CIDR ranges (e.g. 127.0.0.1,10.0.0.0/8); their X-Forwarded-For
                                        names the client for per-IP limits (default: none)
  FIRSTLINE_OUTBOUND_ALLOW outbound_allow
                                        loopback/private ranges probes and webhooks may reach, comma-separated
                                        addresses or CIDR ranges, or `private` for all of them (e.g.
                                        10.0.0.0/8,127.0.0.1); default none: only public addresses. Firstline
                                        itself and link-local/cloud metadata addresses are always refused
  FIRSTLINE_HEADER_TIMEOUT_SECS header_timeout_secs
                                        seconds a client has to send a request's headers (default 10)
  FIRSTLINE_IDLE_TIMEOUT_SECS idle_timeout_secs
                                        seconds a keep-alive connection may wait for its next request
                                        (default 60; live streams are exempt)
  FIRSTLINE_MAX_CONNECTIONS max_connections
                                        open connections at most; more get 503 (default 10000)
  FIRSTLINE_MAX_STREAMS_PER_IP max_streams_per_ip
                                        open live streams per client address (IPv6: per /64); more
                                        get 429 (default 20)
  FIRSTLINE_MAX_CONNECTIONS_PER_IP max_connections_per_ip
                                        open connections per client address (IPv6: per /64; trusted
                                        proxies exempt); more get 503 (default 256)
  FIRSTLINE_REQUEST_TIMEOUT_SECS request_timeout_secs
                                        seconds to answer a request, its body included; 408 after it
                                        (default 30; live streams are not cut)
  FIRSTLINE_JOB_TIMEOUT_SECS job_timeout_secs
                                        seconds one background send (mail, webhook) or fan-out may
                                        take; a slower one fails and is retried later (default 60, at most 3600)
  FIRSTLINE_INGEST_RATE_PER_MIN ingest_rate_per_min
                                        events one integration key may send per minute, per instance;
                                        more get 429 with Retry-After and are not stored (default 120)
  FIRSTLINE_INVITATION_EXPIRY_DAYS invitation_expiry_days
                                        days an invitation link to join works (default 7, at most 90)
  FIRSTLINE_NOTIFY_WINDOW_SECS notify_window_secs
                                        each contact method sends at most 3 messages in this many
                                        seconds; what comes due meanwhile goes out as one bundle
                                        (default 60, at most 3600)
  FIRSTLINE_SMS_API_URL   sms_api_url   the SMS provider's API (Twilio's shape; default https://api.twilio.com)
  FIRSTLINE_SMS_ACCOUNT_SID sms_account_sid
                                        the SMS provider's account sid; SMS is off unless it, the token
                                        and the sender are all set
  FIRSTLINE_SMS_AUTH_TOKEN sms_auth_token
                                        the SMS provider's auth token (also checks signed replies)
  FIRSTLINE_SMS_FROM      sms_from      the sending number (+E.164) or messaging service sid (MG...)";

impl Config {
    /// Loads the file at `path` (if any) and applies environment overrides from `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Config> {
        let file: FileConfig = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config file {}", p.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing config file {}", p.display()))?
            }
            None => FileConfig::default(),
        };
        let pick = |var: &str, file_value: Option<String>| {
            env(var).filter(|v| !v.trim().is_empty()).or(file_value)
        };
        let database_url = pick("FIRSTLINE_DATABASE_URL", file.database_url)
            .unwrap_or_else(|| "sqlite://firstline.db".to_string());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            bail!("database_url: must start with sqlite:// or postgres:// (got {database_url:?})");
        }
        let listen_raw =
            pick("FIRSTLINE_LISTEN", file.listen).unwrap_or_else(|| "127.0.0.1:3000".to_string());
        let listen: SocketAddr = listen_raw.parse().with_context(|| {
            format!("listen: {listen_raw:?} is not host:port (e.g. 127.0.0.1:3000)")
        })?;
        let base_url = pick("FIRSTLINE_BASE_URL", file.base_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            bail!("base_url: must start with http:// or https:// (got {base_url:?})");
        }
        let secret_key = pick("FIRSTLINE_SECRET_KEY", file.secret_key);
        if let Some(k) = &secret_key {
            if k.len() < 32 {
                bail!("secret_key: must be at least 32 characters");
            }
        }
        let log_json = match pick("FIRSTLINE_LOG_FORMAT", file.log_format).as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => bail!("log_format: must be text or json (got {other:?})"),
        };
        let smtp_url = pick("FIRSTLINE_SMTP_URL", file.smtp_url);
        if let Some(u) = &smtp_url {
            if !(u.starts_with("smtp://") || u.starts_with("smtps://")) {
                bail!("smtp_url: must start with smtp:// or smtps://");
            }
        }
        let host = base_url
            .split("://")
            .nth(1)
            .unwrap_or("localhost")
            .split(['/', ':'])
            .next()
            .unwrap_or("localhost")
            .to_string();
        let mail_from = pick("FIRSTLINE_MAIL_FROM", file.mail_from)
            .unwrap_or_else(|| format!("Firstline <status@{host}>"));
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            bail!("mail_from: must be an address like Status <status@example.org> (got {mail_from:?})");
        }
        let trusted_proxies = parse_proxies(
            pick("FIRSTLINE_TRUSTED_PROXIES", file.trusted_proxies)
                .as_deref()
                .unwrap_or(""),
        )?;
        let outbound_allow = parse_outbound_allow(
            pick("FIRSTLINE_OUTBOUND_ALLOW", file.outbound_allow)
                .as_deref()
                .unwrap_or(""),
        )?;
        // Each limit is a whole number from 1 to a sane maximum (a day for timeouts), so no
        // setting can overflow a deadline or a semaphore.
        let number = |var: &str, file_value: Option<u64>, field: &str, default: u64, max: u64| {
            let value = match env(var).filter(|v| !v.trim().is_empty()) {
                Some(v) => v.trim().parse::<u64>().ok(),
                None => Some(file_value.unwrap_or(default)),
            };
            value
                .filter(|n| (1..=max).contains(n))
                .with_context(|| format!("{field}: must be a whole number from 1 to {max}"))
        };
        const DAY_SECS: u64 = 86_400;
        const MANY: u64 = 1_000_000;
        let d = crate::conn::ConnLimits::default();
        let conn = crate::conn::ConnLimits {
            header_timeout: std::time::Duration::from_secs(number(
                "FIRSTLINE_HEADER_TIMEOUT_SECS",
                file.header_timeout_secs,
                "header_timeout_secs",
                d.header_timeout.as_secs(),
                DAY_SECS,
            )?),
            idle_timeout: std::time::Duration::from_secs(number(
                "FIRSTLINE_IDLE_TIMEOUT_SECS",
                file.idle_timeout_secs,
                "idle_timeout_secs",
                d.idle_timeout.as_secs(),
                DAY_SECS,
            )?),
            max_connections: number(
                "FIRSTLINE_MAX_CONNECTIONS",
                file.max_connections,
                "max_connections",
                d.max_connections as u64,
                MANY,
            )? as usize,
            max_streams_per_ip: number(
                "FIRSTLINE_MAX_STREAMS_PER_IP",
                file.max_streams_per_ip,
                "max_streams_per_ip",
                d.max_streams_per_ip as u64,
                MANY,
            )? as usize,
            max_connections_per_ip: number(
                "FIRSTLINE_MAX_CONNECTIONS_PER_IP",
                file.max_connections_per_ip,
                "max_connections_per_ip",
                d.max_connections_per_ip as u64,
                MANY,
            )? as usize,
            request_timeout: std::time::Duration::from_secs(number(
                "FIRSTLINE_REQUEST_TIMEOUT_SECS",
                file.request_timeout_secs,
                "request_timeout_secs",
                d.request_timeout.as_secs(),
                DAY_SECS,
            )?),
        };
        let job_timeout = std::time::Duration::from_secs(number(
            "FIRSTLINE_JOB_TIMEOUT_SECS",
            file.job_timeout_secs,
            "job_timeout_secs",
            60,
            3600,
        )?);
        let ingest_rate_per_min = number(
            "FIRSTLINE_INGEST_RATE_PER_MIN",
            file.ingest_rate_per_min,
            "ingest_rate_per_min",
            120,
            MANY,
        )? as u32;
        let invitation_expiry_days = number(
            "FIRSTLINE_INVITATION_EXPIRY_DAYS",
            file.invitation_expiry_days,
            "invitation_expiry_days",
            u64::from(app::domain::people::INVITE_EXPIRY_DAYS_DEFAULT),
            u64::from(app::domain::people::INVITE_EXPIRY_DAYS_MAX),
        )? as u32;
        let notify_window = std::time::Duration::from_secs(number(
            "FIRSTLINE_NOTIFY_WINDOW_SECS",
            file.notify_window_secs,
            "notify_window_secs",
            60,
            3600,
        )?);
        let sms_api_url = pick("FIRSTLINE_SMS_API_URL", file.sms_api_url)
            .unwrap_or_else(|| "https://api.twilio.com".to_string())
            .trim_end_matches('/')
            .to_string();
        if !(sms_api_url.starts_with("http://") || sms_api_url.starts_with("https://")) {
            bail!("sms_api_url: must start with http:// or https:// (got {sms_api_url:?})");
        }
        let sms = match (
            pick("FIRSTLINE_SMS_ACCOUNT_SID", file.sms_account_sid),
            pick("FIRSTLINE_SMS_AUTH_TOKEN", file.sms_auth_token),
            pick("FIRSTLINE_SMS_FROM", file.sms_from),
        ) {
            (None, None, None) => None,
            (Some(sid), Some(token), Some(from)) => {
                let from = from.trim().to_string();
                if !from.starts_with("MG")
                    && app::domain::notify::normalize_phone(&from).ok().as_deref() != Some(&from)
                {
                    bail!("sms_from: must be a number like +4915123456789 or a messaging service sid MG...");
                }
                Some(SmsConfig {
                    api_url: sms_api_url,
                    account_sid: sid.trim().to_string(),
                    auth_token: token.trim().to_string(),
                    from,
                })
            }
            (sid, token, _) => {
                let missing = if sid.is_none() {
                    "sms_account_sid"
                } else if token.is_none() {
                    "sms_auth_token"
                } else {
                    "sms_from"
                };
                bail!("{missing}: SMS needs sms_account_sid, sms_auth_token and sms_from together");
            }
        };
        Ok(Config {
            sms,
            notify_window,
            conn,
            job_timeout,
            ingest_rate_per_min,
            invitation_expiry_days,
            trusted_proxies,
            outbound_allow,
            database_url,
            listen,
            base_url,
            secret_key,
            log_json,
            smtp_url,
            mail_from,
        })
    }

    /// True when cookies must carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

/// Parses `trusted_proxies`: comma-separated addresses (one host) or CIDR ranges.
fn parse_proxies(raw: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| {
                    s.parse::<std::net::IpAddr>().map(|ip| match ip {
                        // Peers are compared as plain IPv4, so a mapped address is written so too.
                        std::net::IpAddr::V6(v6) => v6
                            .to_ipv4_mapped()
                            .map_or(ipnet::IpNet::from(ip), |v4| ipnet::IpNet::from(std::net::IpAddr::V4(v4))),
                        v4 => ipnet::IpNet::from(v4),
                    })
                })
                .map(|n| n.trunc())
                .map_err(|_| {
                    anyhow::anyhow!(
                        "trusted_proxies: {s:?} is not an IP address or CIDR range (e.g. 10.0.0.0/8)"
                    )
                })
        })
        .collect()
}

/// Parses `outbound_allow`: comma-separated addresses, CIDR ranges, or the word `private` (every
/// loopback, private, shared and unique-local range).
fn parse_outbound_allow(raw: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    let mut nets = Vec::new();
    for s in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if s.eq_ignore_ascii_case("private") {
            for r in crate::outbound::PRIVATE_RANGES {
                nets.push(r.parse::<ipnet::IpNet>().with_context(|| {
                    format!("outbound_allow: built-in range {r:?} does not parse")
                })?);
            }
            continue;
        }
        let net = parse_proxies(s).map_err(|_| {
            anyhow::anyhow!(
                "outbound_allow: {s:?} is not an IP address, CIDR range or `private` (e.g. 10.0.0.0/8)"
            )
        })?;
        nets.extend(net);
    }
    Ok(nets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults() {
        let c = Config::load(None, env_of(&[])).unwrap();
        assert_eq!(c.database_url, "sqlite://firstline.db");
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.base_url, "http://127.0.0.1:3000");
        assert!(!c.secure_cookies());
        assert!(c.secret_key.is_none());
        assert_eq!(c.conn, crate::conn::ConnLimits::default());
        assert_eq!(c.invitation_expiry_days, 7);
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firstline.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:4000\"\nbase_url = \"https://status.example.org/\"\nlog_format = \"json\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), env_of(&[("FIRSTLINE_LISTEN", "0.0.0.0:5000")])).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:5000");
        assert_eq!(c.base_url, "https://status.example.org");
        assert!(c.secure_cookies());
        assert!(c.log_json);
    }

    #[test]
    fn bad_values_name_the_field() {
        for (var, val, field) in [
            ("FIRSTLINE_LISTEN", "nope", "listen"),
            ("FIRSTLINE_DATABASE_URL", "mysql://x", "database_url"),
            ("FIRSTLINE_BASE_URL", "status.example.org", "base_url"),
            ("FIRSTLINE_SECRET_KEY", "short", "secret_key"),
            ("FIRSTLINE_LOG_FORMAT", "xml", "log_format"),
            ("FIRSTLINE_SMTP_URL", "mail.example.org", "smtp_url"),
            ("FIRSTLINE_MAIL_FROM", "not an address", "mail_from"),
            (
                "FIRSTLINE_TRUSTED_PROXIES",
                "10.0.0.0/33",
                "trusted_proxies",
            ),
            (
                "FIRSTLINE_TRUSTED_PROXIES",
                "127.0.0.1,proxy.local",
                "trusted_proxies",
            ),
            ("FIRSTLINE_OUTBOUND_ALLOW", "intranet", "outbound_allow"),
            ("FIRSTLINE_OUTBOUND_ALLOW", "10.0.0.0/40", "outbound_allow"),
            ("FIRSTLINE_HEADER_TIMEOUT_SECS", "0", "header_timeout_secs"),
            ("FIRSTLINE_IDLE_TIMEOUT_SECS", "1m", "idle_timeout_secs"),
            ("FIRSTLINE_MAX_CONNECTIONS", "-1", "max_connections"),
            ("FIRSTLINE_MAX_STREAMS_PER_IP", "many", "max_streams_per_ip"),
            (
                "FIRSTLINE_IDLE_TIMEOUT_SECS",
                "18446744073709551615",
                "idle_timeout_secs",
            ),
            (
                "FIRSTLINE_MAX_CONNECTIONS",
                "99999999999",
                "max_connections",
            ),
            (
                "FIRSTLINE_MAX_CONNECTIONS_PER_IP",
                "0",
                "max_connections_per_ip",
            ),
            ("FIRSTLINE_JOB_TIMEOUT_SECS", "3601", "job_timeout_secs"),
            (
                "FIRSTLINE_INVITATION_EXPIRY_DAYS",
                "91",
                "invitation_expiry_days",
            ),
        ] {
            let err = Config::load(None, env_of(&[(var, val)])).unwrap_err();
            assert!(format!("{err:#}").starts_with(field), "{var}: {err:#}");
        }
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges() {
        let c = Config::load(
            None,
            env_of(&[(
                "FIRSTLINE_TRUSTED_PROXIES",
                " 127.0.0.1, 10.1.2.3/8 ,::1,fd00::/8,::ffff:192.0.2.7",
            )]),
        )
        .unwrap();
        let shown: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            shown,
            [
                "127.0.0.1/32",
                "10.0.0.0/8",
                "::1/128",
                "fd00::/8",
                "192.0.2.7/32"
            ]
        );
        assert!(Config::load(None, env_of(&[]))
            .unwrap()
            .trusted_proxies
            .is_empty());
    }

    #[test]
    fn outbound_allow_takes_ranges_and_the_word_private() {
        let c = Config::load(
            None,
            env_of(&[(
                "FIRSTLINE_OUTBOUND_ALLOW",
                " 10.1.2.3/8, ::ffff:127.0.0.1 ,fd00::1",
            )]),
        )
        .unwrap();
        let shown: Vec<String> = c.outbound_allow.iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1/32", "fd00::1/128"]);
        let c = Config::load(None, env_of(&[("FIRSTLINE_OUTBOUND_ALLOW", "Private")])).unwrap();
        assert_eq!(
            c.outbound_allow.len(),
            crate::outbound::PRIVATE_RANGES.len()
        );
        assert!(Config::load(None, env_of(&[]))
            .unwrap()
            .outbound_allow
            .is_empty());
    }

    #[test]
    fn sms_settings_come_together() {
        let c = Config::load(None, env_of(&[])).unwrap();
        assert!(c.sms.is_none());
        let c = Config::load(
            None,
            env_of(&[
                ("FIRSTLINE_SMS_ACCOUNT_SID", "AC123"),
                ("FIRSTLINE_SMS_AUTH_TOKEN", "tok"),
                ("FIRSTLINE_SMS_FROM", "+4915123456789"),
            ]),
        )
        .unwrap();
        let sms = c.sms.unwrap();
        assert_eq!(sms.api_url, "https://api.twilio.com");
        assert_eq!(sms.account_sid, "AC123");
        assert_eq!(sms.from, "+4915123456789");
        assert!(
            !format!("{sms:?}").contains("tok\""),
            "the token stays out of logs"
        );
        let c = Config::load(
            None,
            env_of(&[
                ("FIRSTLINE_SMS_API_URL", "http://127.0.0.1:9/"),
                ("FIRSTLINE_SMS_ACCOUNT_SID", "AC1"),
                ("FIRSTLINE_SMS_AUTH_TOKEN", "t"),
                ("FIRSTLINE_SMS_FROM", "MG42"),
            ]),
        )
        .unwrap();
        assert_eq!(c.sms.unwrap().api_url, "http://127.0.0.1:9");
        for (pairs, field) in [
            (vec![("FIRSTLINE_SMS_ACCOUNT_SID", "AC1")], "sms_auth_token"),
            (
                vec![
                    ("FIRSTLINE_SMS_AUTH_TOKEN", "t"),
                    ("FIRSTLINE_SMS_FROM", "+4915123456789"),
                ],
                "sms_account_sid",
            ),
            (
                vec![
                    ("FIRSTLINE_SMS_ACCOUNT_SID", "AC1"),
                    ("FIRSTLINE_SMS_AUTH_TOKEN", "t"),
                    ("FIRSTLINE_SMS_FROM", "0151 2345"),
                ],
                "sms_from",
            ),
            (
                vec![("FIRSTLINE_SMS_API_URL", "api.twilio.com")],
                "sms_api_url",
            ),
        ] {
            let err = Config::load(None, env_of(&pairs)).unwrap_err();
            assert!(format!("{err:#}").starts_with(field), "{pairs:?}: {err:#}");
        }
    }

    #[test]
    fn unknown_file_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        let err = Config::load(Some(&path), env_of(&[])).unwrap_err();
        assert!(format!("{err:#}").contains("lisen"), "{err:#}");
    }
}
