//! Built-in monitors: HTTP(S) probes run by the server and heartbeats pinged by cron jobs.
//! The input rules, and the pure step from one check result to the monitor's next state.

use serde::{Deserialize, Serialize};

use super::validate::{optional_text, required_text, ValidationError};

/// Probe or heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorKind {
    /// The server requests a URL on an interval.
    Http,
    /// Something outside pings the server; silence is failure.
    Heartbeat,
}

impl MonitorKind {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Heartbeat => "heartbeat",
        }
    }
}

/// A monitor as an admin submits it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MonitorInput {
    /// `http` or `heartbeat`.
    pub kind: String,
    /// Unique name.
    pub name: String,
    /// Component whose status it drives (id), or empty.
    pub component: String,
    /// Service id it pages about; empty for none.
    #[serde(default)]
    pub service: String,
    /// URL to request (probes only).
    pub url: String,
    /// Seconds between checks (probes), or the expected ping period (heartbeats).
    pub interval: String,
    /// Milliseconds before a request counts as failed (probes).
    pub timeout: String,
    /// Expected HTTP status; empty means any 2xx.
    pub expect_status: String,
    /// Text the body must contain, or empty.
    pub keyword: String,
    /// Consecutive failures before the monitor counts as down.
    pub failures: String,
}

/// A validated monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorDraft {
    /// Kind.
    pub kind: MonitorKind,
    /// Name.
    pub name: String,
    /// Component id.
    pub component_id: Option<String>,
    /// Service id: a failing monitor opens an on-call incident there.
    pub service_id: Option<String>,
    /// URL (probes).
    pub url: Option<String>,
    /// Interval in seconds.
    pub interval_s: i64,
    /// Timeout in ms.
    pub timeout_ms: i64,
    /// Expected status.
    pub expect_status: Option<i64>,
    /// Required body text.
    pub keyword: Option<String>,
    /// Failures before down.
    pub failure_threshold: i64,
}

fn number(field: &str, v: &str, default: i64, min: i64, max: i64) -> Result<i64, ValidationError> {
    match v.trim() {
        "" => Ok(default),
        s => s
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                ValidationError::new(field, format!("must be a whole number from {min} to {max}"))
            }),
    }
}

/// Checks that `url` is an absolute http(s) URL with a host, and that it does not point at this
/// server's own pages (`own_origins` like `http://127.0.0.1:3000`): a probe must watch the
/// service, not Firstline, and must not be used to reach its admin.
pub fn check_probe_url(url: &str, own_origins: &[String]) -> Result<String, ValidationError> {
    let url = required_text("url", url, 2000)?;
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| ValidationError::new("url", "must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || url.contains(char::is_whitespace) {
        return Err(ValidationError::new("url", "must name a host"));
    }
    if authority.contains('@') {
        return Err(ValidationError::new("url", "must not contain credentials"));
    }
    let origin_len = lower.len() - rest.len() + authority.len();
    let origin = &lower[..origin_len];
    if own_origins
        .iter()
        .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return Err(ValidationError::new(
            "url",
            "points at this Firstline server; probes watch the service, not the status page",
        ));
    }
    Ok(url)
}

impl MonitorInput {
    /// Checks every field; the error names the first wrong one.
    pub fn normalize(&self, own_origins: &[String]) -> Result<MonitorDraft, ValidationError> {
        let kind = match self.kind.trim() {
            "" | "http" => MonitorKind::Http,
            "heartbeat" => MonitorKind::Heartbeat,
            _ => return Err(ValidationError::new("kind", "must be http or heartbeat")),
        };
        let name = required_text("name", &self.name, 100)?;
        let component_id = optional_text("component", &self.component, 40)?;
        let service_id = optional_text("service", &self.service, 40)?;
        let interval_s = number("interval", &self.interval, 60, 5, 86_400)?;
        let failure_threshold = number("failures", &self.failures, 3, 1, 20)?;
        let (url, timeout_ms, expect_status, keyword) = match kind {
            MonitorKind::Http => {
                let url = check_probe_url(&self.url, own_origins)?;
                let timeout_ms = number("timeout", &self.timeout, 10_000, 100, 60_000)?;
                if timeout_ms > interval_s * 1000 {
                    return Err(ValidationError::new(
                        "timeout",
                        "must not be longer than the interval",
                    ));
                }
                let expect = match self.expect_status.trim() {
                    "" => None,
                    _ => Some(number("expect_status", &self.expect_status, 200, 100, 599)?),
                };
                let keyword = optional_text("keyword", &self.keyword, 200)?;
                (Some(url), timeout_ms, expect, keyword)
            }
            MonitorKind::Heartbeat => (None, 0, None, None),
        };
        Ok(MonitorDraft {
            kind,
            name,
            component_id,
            service_id,
            url,
            interval_s,
            timeout_ms,
            expect_status,
            keyword,
            failure_threshold,
        })
    }
}

/// Whether a monitor is believed up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorState {
    /// No verdict yet.
    Unknown,
    /// Passing.
    Up,
    /// Failed `threshold` times in a row.
    Down,
}

impl MonitorState {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Up => "up",
            Self::Down => "down",
        }
    }

    /// Parses the stored value (unknown text reads as `Unknown`).
    pub fn parse(s: &str) -> Self {
        match s {
            "up" => Self::Up,
            "down" => Self::Down,
            _ => Self::Unknown,
        }
    }
}

/// What a check result does to a monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorStep {
    /// The new state.
    pub state: MonitorState,
    /// Consecutive failures after this result.
    pub consecutive_fails: i64,
    /// Just went down: set the component to major outage and open an alert.
    pub went_down: bool,
    /// Just recovered: restore the component and resolve the alert.
    pub recovered: bool,
}

/// One check result applied to the monitor's state. Down after `threshold` failures in a row;
/// up again on the first success.
pub fn step(state: MonitorState, consecutive_fails: i64, threshold: i64, ok: bool) -> MonitorStep {
    if ok {
        return MonitorStep {
            state: MonitorState::Up,
            consecutive_fails: 0,
            went_down: false,
            recovered: state == MonitorState::Down,
        };
    }
    let fails = consecutive_fails + 1;
    let down = fails >= threshold.max(1);
    MonitorStep {
        state: if down { MonitorState::Down } else { state },
        consecutive_fails: fails,
        went_down: down && state != MonitorState::Down,
        recovered: false,
    }
}

/// Judges an HTTP response: `Ok(())` or the reason it failed.
pub fn judge_response(
    status: u16,
    body: &str,
    expect_status: Option<i64>,
    keyword: Option<&str>,
) -> Result<(), String> {
    match expect_status {
        Some(want) if i64::from(status) != want => {
            return Err(format!("HTTP {status}, expected {want}"))
        }
        None if !(200..300).contains(&status) => return Err(format!("HTTP {status}")),
        _ => {}
    }
    if let Some(k) = keyword {
        if !body.contains(k) {
            return Err(format!("body does not contain {k:?}"));
        }
    }
    Ok(())
}

// ---- monitors and their alerts as stored and shown ----

/// An alert (opened by a monitor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable id.
    pub id: String,
    /// Where it came from, e.g. `probe`.
    pub source: String,
    /// Deduplication key; one open alert per key.
    pub dedup_key: String,
    /// One line.
    pub summary: String,
    /// More text.
    pub details: String,
    /// Component it concerns.
    pub component_id: Option<String>,
    /// triggered / acknowledged / resolved.
    pub status: String,
    /// Opened.
    pub created_at: i64,
    /// Resolved.
    pub resolved_at: Option<i64>,
}

/// A monitor as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monitor {
    /// Stable id.
    pub id: String,
    /// Probe or heartbeat.
    pub kind: MonitorKind,
    /// Name.
    pub name: String,
    /// Component it drives.
    pub component_id: Option<String>,
    /// Service it pages about.
    pub service_id: Option<String>,
    /// URL (probes).
    pub url: Option<String>,
    /// Interval, seconds.
    pub interval_s: i64,
    /// Timeout, ms.
    pub timeout_ms: i64,
    /// Expected status.
    pub expect_status: Option<i64>,
    /// Required text.
    pub keyword: Option<String>,
    /// Failures before down.
    pub failure_threshold: i64,
    /// Heartbeat token (the ping URL's secret).
    #[serde(skip_serializing)]
    pub token: Option<String>,
    /// Up, down or unknown.
    pub state: MonitorState,
    /// Failures in a row.
    pub consecutive_fails: i64,
    /// Last check.
    pub last_checked_at: Option<i64>,
    /// Last error.
    pub last_error: Option<String>,
    /// Last response time.
    pub last_latency_ms: Option<i64>,
    /// When an admin paused it (not probed, pings ignored, no alerts); `None` while active.
    pub paused_at: Option<i64>,
}

impl Monitor {
    /// The stored settings as the edit form shows them.
    pub fn input(&self) -> MonitorInput {
        MonitorInput {
            kind: self.kind.as_str().to_string(),
            name: self.name.clone(),
            component: self.component_id.clone().unwrap_or_default(),
            service: self.service_id.clone().unwrap_or_default(),
            url: self.url.clone().unwrap_or_default(),
            interval: self.interval_s.to_string(),
            timeout: match self.kind {
                MonitorKind::Http => self.timeout_ms.to_string(),
                MonitorKind::Heartbeat => String::new(),
            },
            expect_status: self
                .expect_status
                .map(|s| s.to_string())
                .unwrap_or_default(),
            keyword: self.keyword.clone().unwrap_or_default(),
            failures: self.failure_threshold.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn probe_url_table() {
        let own = vec![
            "http://127.0.0.1:3000".to_string(),
            "https://status.example.org".into(),
        ];
        let cases: &[(&str, Result<(), &str>)] = &[
            ("https://crates.io/api/v1/summary", Ok(())),
            ("http://127.0.0.1:8080/health", Ok(())),
            ("HTTPS://Index.crates.io/config.json", Ok(())),
            ("ftp://crates.io", Err("must start with http")),
            ("javascript:alert(1)", Err("must start with http")),
            ("crates.io", Err("must start with http")),
            ("http://", Err("must name a host")),
            ("http:///path", Err("must name a host")),
            ("http://user:pw@host/", Err("credentials")),
            (
                "http://127.0.0.1:3000/admin/components",
                Err("this Firstline server"),
            ),
            (
                "https://status.example.org/admin",
                Err("this Firstline server"),
            ),
            ("", Err("must not be empty")),
        ];
        for (url, want) in cases {
            match (check_probe_url(url, &own), want) {
                (Ok(_), Ok(())) => {}
                (Err(e), Err(w)) => {
                    assert_eq!(e.field, "url");
                    assert!(e.message.contains(w), "{url}: {}", e.message);
                }
                (got, want) => panic!("{url}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn monitor_input_table() {
        let base = MonitorInput {
            kind: "http".into(),
            name: "API probe".into(),
            url: "https://crates.io/".into(),
            interval: "30".into(),
            timeout: "5000".into(),
            ..Default::default()
        };
        assert!(base.normalize(&[]).is_ok());
        let bad = |f: fn(&mut MonitorInput), field: &str| {
            let mut i = base.clone();
            f(&mut i);
            assert_eq!(i.normalize(&[]).unwrap_err().field, field, "{i:?}");
        };
        bad(|i| i.kind = "ping".into(), "kind");
        bad(|i| i.name = "".into(), "name");
        bad(|i| i.interval = "1".into(), "interval");
        bad(|i| i.interval = "ten".into(), "interval");
        bad(|i| i.timeout = "40000".into(), "timeout");
        bad(|i| i.expect_status = "700".into(), "expect_status");
        bad(|i| i.failures = "0".into(), "failures");
        bad(|i| i.url = "file:///etc/passwd".into(), "url");
        let hb = MonitorInput {
            kind: "heartbeat".into(),
            name: "Nightly backup".into(),
            interval: "3600".into(),
            ..Default::default()
        };
        let d = hb.normalize(&[]).unwrap();
        assert_eq!(
            (d.kind, d.url, d.interval_s),
            (MonitorKind::Heartbeat, None, 3600)
        );
    }

    #[test]
    fn step_table() {
        use MonitorState::*;
        let cases = [
            // state, fails, threshold, ok -> state, fails, down, recovered
            (Unknown, 0, 3, true, Up, 0, false, false),
            (Up, 0, 3, false, Up, 1, false, false),
            (Up, 2, 3, false, Down, 3, true, false),
            (Down, 3, 3, false, Down, 4, false, false),
            (Down, 7, 3, true, Up, 0, false, true),
            (Unknown, 0, 1, false, Down, 1, true, false),
        ];
        for (s, f, t, ok, ws, wf, wd, wr) in cases {
            let got = step(s, f, t, ok);
            assert_eq!(
                (
                    got.state,
                    got.consecutive_fails,
                    got.went_down,
                    got.recovered
                ),
                (ws, wf, wd, wr),
                "{s:?} {f} {t} {ok}"
            );
        }
    }

    #[test]
    fn judge_table() {
        assert_eq!(judge_response(200, "ok", None, None), Ok(()));
        assert_eq!(judge_response(204, "", None, None), Ok(()));
        assert!(judge_response(503, "", None, None)
            .unwrap_err()
            .contains("503"));
        assert_eq!(judge_response(301, "", Some(301), None), Ok(()));
        assert!(judge_response(200, "", Some(301), None).is_err());
        assert!(judge_response(200, "degraded", None, Some("healthy")).is_err());
        assert_eq!(
            judge_response(200, "all healthy", None, Some("healthy")),
            Ok(())
        );
    }

    proptest! {
        /// Any sequence of results: the monitor goes down exactly when the threshold of failures
        /// in a row is first reached, and every down is followed by at most one recovery.
        #[test]
        fn downs_and_recoveries_alternate(results in proptest::collection::vec(any::<bool>(), 0..60), threshold in 1i64..5) {
            let (mut state, mut fails) = (MonitorState::Unknown, 0);
            let mut run = 0;
            let mut open = false;
            for ok in results {
                let s = step(state, fails, threshold, ok);
                run = if ok { 0 } else { run + 1 };
                prop_assert_eq!(s.consecutive_fails, run);
                prop_assert_eq!(s.went_down, !open && run >= threshold);
                prop_assert_eq!(s.recovered, open && ok);
                if s.went_down { open = true; }
                if s.recovered { open = false; }
                prop_assert_eq!(s.state == MonitorState::Down, open);
                state = s.state;
                fails = s.consecutive_fails;
            }
        }
    }
}
