//! Alerts in from monitoring tools: the wire formats Firstline accepts (PagerDuty Events v2,
//! Prometheus Alertmanager / Grafana webhooks, a generic webhook), parsed and checked into one
//! shape, [`Signal`]. Pure: the HTTP endpoints, keys, rate limits and storage are the server's.
//!
//! Each parser names every bad field in its errors, so a sender can fix its input; input a
//! retry cannot fix is the sender's error (4xx), never a reason to retry.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest dedup key (PagerDuty's limit).
pub const DEDUP_KEY_MAX: usize = 255;
/// Longest summary (PagerDuty's limit).
pub const SUMMARY_MAX: usize = 1024;
/// Longest free-text field other than the summary (source, component, group, class, client).
pub const FIELD_MAX: usize = 1024;
/// Most links or images kept from one event.
pub const ATTACHMENTS_MAX: usize = 50;

/// What an event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Open an alert, or add to the open one with the same key.
    Trigger,
    /// Someone is on it.
    Acknowledge,
    /// It is over.
    Resolve,
}

/// How bad it is (PagerDuty's four levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    Info,
    /// Needs a look.
    Warning,
    /// Something failed.
    Error,
    /// Down.
    Critical,
}

impl Severity {
    /// Reads a severity as the formats spell it (`critical`, `error`, `warning`, `info`; Alertmanager
    /// labels also say `page`, `high`, `low` and so on, mapped to the nearest).
    pub fn parse_loose(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "critical" | "page" | "emergency" | "fatal" | "disaster" => Some(Severity::Critical),
            "error" | "high" | "major" => Some(Severity::Error),
            "warning" | "warn" | "medium" | "minor" | "average" => Some(Severity::Warning),
            "info" | "low" | "none" | "information" | "ok" => Some(Severity::Info),
            _ => None,
        }
    }
}

/// A link attached to an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Where it points (http or https).
    pub href: String,
    /// Its text.
    pub text: Option<String>,
}

/// An image attached to an event (shown as a link to it, never loaded from a stranger's host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The image (https only).
    pub src: String,
    /// Where clicking it leads.
    pub href: Option<String>,
    /// Its description.
    pub alt: Option<String>,
}

/// One signal about one alert, whatever format it came in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Trigger, acknowledge or resolve.
    pub action: Action,
    /// Which alert (per service); `None` on a trigger that named none (the server makes one).
    pub dedup_key: Option<String>,
    /// One line (triggers).
    pub summary: String,
    /// Where it happened (host, job).
    pub source: String,
    /// How bad.
    pub severity: Severity,
    /// When the source saw it, Unix ms, if it said.
    pub occurred_at: Option<i64>,
    /// Everything else the sender said, verbatim (PagerDuty's `custom_details`, Alertmanager's
    /// labels and annotations).
    pub details: Value,
    /// Links.
    pub links: Vec<Link>,
    /// Images.
    pub images: Vec<Image>,
}

/// A PagerDuty Events v2 event, checked: the routing key it came with and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct PagerDutyEvent {
    /// The integration key (identifies the service).
    pub routing_key: String,
    /// The signal.
    pub signal: Signal,
}

/// Reads a PagerDuty Events v2 body (`POST /v2/enqueue`). On error, one message per bad field,
/// each starting with the field's path (`payload.severity: ...`).
pub fn parse_pagerduty(body: &[u8]) -> Result<PagerDutyEvent, Vec<String>> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| vec![format!("body: not valid JSON ({e})")])?;
    let Value::Object(root) = root else {
        return Err(vec!["body: must be a JSON object".to_string()]);
    };
    let mut errors = Vec::new();
    let routing_key = required_str(&root, "routing_key", "routing_key", 256, &mut errors);
    let action = match root.get("event_action") {
        None | Some(Value::Null) => {
            errors.push("event_action: is required (trigger, acknowledge or resolve)".into());
            None
        }
        Some(Value::String(s)) => match s.as_str() {
            "trigger" => Some(Action::Trigger),
            "acknowledge" => Some(Action::Acknowledge),
            "resolve" => Some(Action::Resolve),
            other => {
                errors.push(format!(
                    "event_action: {:?} is not one of trigger, acknowledge, resolve",
                    clip(other, 40)
                ));
                None
            }
        },
        Some(_) => {
            errors.push("event_action: must be a string".into());
            None
        }
    };
    let dedup_key = optional_str(&root, "dedup_key", "dedup_key", DEDUP_KEY_MAX, &mut errors);
    if matches!(action, Some(Action::Acknowledge | Action::Resolve)) && dedup_key.is_none() {
        errors.push("dedup_key: is required to acknowledge or resolve".into());
    }
    let payload = match root.get("payload") {
        None | Some(Value::Null) => None,
        Some(Value::Object(p)) => Some(p),
        Some(_) => {
            errors.push("payload: must be an object".into());
            None
        }
    };
    let trigger = action == Some(Action::Trigger);
    if trigger && payload.is_none() && !errors.iter().any(|e| e.starts_with("payload:")) {
        errors.push("payload: is required to trigger".into());
    }
    let empty = Map::new();
    let p = payload.unwrap_or(&empty);
    let (summary, source, severity) = if trigger {
        (
            required_str(p, "summary", "payload.summary", SUMMARY_MAX, &mut errors),
            required_str(p, "source", "payload.source", FIELD_MAX, &mut errors),
            match p.get("severity") {
                Some(Value::String(s)) => match s.as_str() {
                    "critical" => Some(Severity::Critical),
                    "error" => Some(Severity::Error),
                    "warning" => Some(Severity::Warning),
                    "info" => Some(Severity::Info),
                    other => {
                        errors.push(format!(
                            "payload.severity: {:?} is not one of critical, error, warning, info",
                            clip(other, 40)
                        ));
                        None
                    }
                },
                None | Some(Value::Null) => {
                    if payload.is_some() {
                        errors.push(
                            "payload.severity: is required (critical, error, warning or info)"
                                .into(),
                        );
                    }
                    None
                }
                Some(_) => {
                    errors.push("payload.severity: must be a string".into());
                    None
                }
            },
        )
    } else {
        (
            optional_str(p, "summary", "payload.summary", SUMMARY_MAX, &mut errors),
            optional_str(p, "source", "payload.source", FIELD_MAX, &mut errors),
            None,
        )
    };
    let occurred_at = timestamp(p, &mut errors);
    let mut details = Map::new();
    for key in ["component", "group", "class"] {
        if let Some(v) = optional_str(p, key, &format!("payload.{key}"), FIELD_MAX, &mut errors) {
            details.insert(key.to_string(), Value::String(v));
        }
    }
    for key in ["client", "client_url"] {
        if let Some(v) = optional_str(&root, key, key, FIELD_MAX, &mut errors) {
            details.insert(key.to_string(), Value::String(v));
        }
    }
    match p.get("custom_details") {
        None | Some(Value::Null) => {}
        // Kept verbatim, whatever its shape (PagerDuty accepts any JSON here).
        Some(v) => {
            details.insert("custom_details".into(), v.clone());
        }
    }
    let links = links(&root, &mut errors);
    let images = images(&root, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(routing_key), Some(action)) = (routing_key, action) else {
        return Err(vec!["body: is not an event".into()]);
    };
    Ok(PagerDutyEvent {
        routing_key,
        signal: Signal {
            action,
            dedup_key,
            summary: summary.unwrap_or_default(),
            source: source.unwrap_or_default(),
            severity: severity.unwrap_or(Severity::Error),
            occurred_at,
            details: Value::Object(details),
            links,
            images,
        },
    })
}

/// A PagerDuty change event (`POST /v2/change/enqueue`): a deploy or configuration change.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEventIn {
    /// The integration key (identifies the service).
    pub routing_key: String,
    /// One line.
    pub summary: String,
    /// Where it happened.
    pub source: String,
    /// When, Unix ms, if the sender said.
    pub occurred_at: Option<i64>,
    /// `custom_details`, verbatim (`null` when absent).
    pub details: Value,
    /// Links.
    pub links: Vec<Link>,
}

/// Reads a PagerDuty change event body, naming every bad field as [`parse_pagerduty`] does.
pub fn parse_change(body: &[u8]) -> Result<ChangeEventIn, Vec<String>> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| vec![format!("body: not valid JSON ({e})")])?;
    let Value::Object(root) = root else {
        return Err(vec!["body: must be a JSON object".to_string()]);
    };
    let mut errors = Vec::new();
    let routing_key = required_str(&root, "routing_key", "routing_key", 256, &mut errors);
    let empty = Map::new();
    let p = match root.get("payload") {
        Some(Value::Object(p)) => p,
        None | Some(Value::Null) => {
            errors.push("payload: is required (an object with a summary)".into());
            &empty
        }
        Some(_) => {
            errors.push("payload: must be an object".into());
            &empty
        }
    };
    let summary = if p.is_empty() {
        None
    } else {
        required_str(p, "summary", "payload.summary", SUMMARY_MAX, &mut errors)
    };
    let source = optional_str(p, "source", "payload.source", FIELD_MAX, &mut errors);
    let occurred_at = timestamp(p, &mut errors);
    let details = p.get("custom_details").cloned().unwrap_or(Value::Null);
    let links = links(&root, &mut errors);
    match (routing_key, summary) {
        (Some(routing_key), Some(summary)) if errors.is_empty() => Ok(ChangeEventIn {
            routing_key,
            summary,
            source: source.unwrap_or_default(),
            occurred_at,
            details,
            links,
        }),
        _ => Err(errors),
    }
}

/// `payload.timestamp`, an optional ISO 8601 time, as Unix ms.
fn timestamp(p: &Map<String, Value>, errors: &mut Vec<String>) -> Option<i64> {
    let t = optional_str(p, "timestamp", "payload.timestamp", 64, errors)?;
    match t.parse::<jiff::Timestamp>() {
        Ok(ts) => Some(ts.as_millisecond()),
        Err(_) => {
            errors.push(format!(
                "payload.timestamp: {:?} is not an ISO 8601 time like 2026-11-28T09:00:00Z",
                clip(&t, 40)
            ));
            None
        }
    }
}

/// Reads an Alertmanager (webhook version 4) or Grafana alerting body: one signal per alert,
/// keyed by its `fingerprint`; `firing` triggers and `resolved` resolves. Also returns how many
/// alerts the sender left out (`truncatedAlerts`).
pub fn parse_alertmanager(body: &[u8]) -> Result<(Vec<Signal>, u64), Vec<String>> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| vec![format!("body: not valid JSON ({e})")])?;
    let Value::Object(root) = root else {
        return Err(vec!["body: must be a JSON object".to_string()]);
    };
    let mut errors = Vec::new();
    let Some(Value::Array(alerts)) = root.get("alerts") else {
        return Err(vec!["alerts: is required (a list)".into()]);
    };
    let truncated = root
        .get("truncatedAlerts")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let common_labels = string_map(root.get("commonLabels"));
    let common_annotations = string_map(root.get("commonAnnotations"));
    let mut signals = Vec::with_capacity(alerts.len());
    for (i, alert) in alerts.iter().enumerate() {
        let Value::Object(a) = alert else {
            errors.push(format!("alerts[{i}]: must be an object"));
            continue;
        };
        let at = |field: &str| format!("alerts[{i}].{field}");
        let action = match a.get("status").and_then(Value::as_str) {
            Some("firing") => Action::Trigger,
            Some("resolved") => Action::Resolve,
            Some(other) => {
                errors.push(format!(
                    "{}: {:?} is not firing or resolved",
                    at("status"),
                    clip(other, 40)
                ));
                continue;
            }
            None => {
                errors.push(format!(
                    "{}: is required (firing or resolved)",
                    at("status")
                ));
                continue;
            }
        };
        let labels = string_map(a.get("labels"));
        let annotations = string_map(a.get("annotations"));
        let label = |k: &str| {
            labels
                .get(k)
                .or_else(|| common_labels.get(k))
                .cloned()
                .filter(|s| !s.trim().is_empty())
        };
        let annotation = |k: &str| {
            annotations
                .get(k)
                .or_else(|| common_annotations.get(k))
                .cloned()
                .filter(|s| !s.trim().is_empty())
        };
        let fingerprint = a
            .get("fingerprint")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| clip(s, DEDUP_KEY_MAX));
        if fingerprint.is_none() {
            errors.push(format!("{}: is required", at("fingerprint")));
            continue;
        }
        let summary = annotation("summary")
            .or_else(|| annotation("description"))
            .or_else(|| label("alertname"))
            .or_else(|| {
                root.get("title")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "Alert".to_string());
        let severity = label("severity")
            .and_then(|s| Severity::parse_loose(&s))
            .unwrap_or(Severity::Error);
        let source = label("instance")
            .or_else(|| label("job"))
            .or_else(|| {
                root.get("receiver")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let occurred_at = a
            .get("startsAt")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_millisecond())
            .filter(|ms| *ms > 0);
        let mut links = Vec::new();
        for key in ["generatorURL", "dashboardURL", "panelURL", "silenceURL"] {
            if let Some(href) = a.get(key).and_then(Value::as_str).filter(|h| is_web_url(h)) {
                links.push(Link {
                    href: href.to_string(),
                    text: Some(key.trim_end_matches("URL").to_string()),
                });
            }
        }
        let mut details = Map::new();
        for key in ["labels", "annotations", "values", "valueString"] {
            if let Some(v) = a.get(key) {
                details.insert(key.to_string(), v.clone());
            }
        }
        signals.push(Signal {
            action,
            dedup_key: fingerprint,
            summary: clip(&summary, SUMMARY_MAX),
            source: clip(&source, FIELD_MAX),
            severity,
            occurred_at,
            details: Value::Object(details),
            links,
            images: Vec::new(),
        });
    }
    if errors.is_empty() {
        Ok((signals, truncated))
    } else {
        Err(errors)
    }
}

/// Reads a generic webhook's fields (from JSON or a form): `summary`, `details`, `dedup`,
/// `action` (`trigger` by default, `ack`/`acknowledge`, `resolve`), `severity`, `source`.
pub fn parse_generic(fields: &Map<String, Value>) -> Result<Signal, Vec<String>> {
    let mut errors = Vec::new();
    let action = match fields.get("action").and_then(Value::as_str).map(str::trim) {
        None | Some("") | Some("trigger") => Some(Action::Trigger),
        Some("ack") | Some("acknowledge") => Some(Action::Acknowledge),
        Some("resolve") => Some(Action::Resolve),
        Some(other) => {
            errors.push(format!(
                "action: {:?} is not one of trigger, ack, resolve",
                clip(other, 40)
            ));
            None
        }
    };
    let dedup_key = optional_str(fields, "dedup", "dedup", DEDUP_KEY_MAX, &mut errors);
    let summary = if action == Some(Action::Trigger) {
        required_str(fields, "summary", "summary", SUMMARY_MAX, &mut errors)
    } else {
        optional_str(fields, "summary", "summary", SUMMARY_MAX, &mut errors)
    };
    if matches!(action, Some(Action::Acknowledge | Action::Resolve)) && dedup_key.is_none() {
        errors.push("dedup: is required to acknowledge or resolve".into());
    }
    let severity = match optional_str(fields, "severity", "severity", 40, &mut errors) {
        Some(s) => match Severity::parse_loose(&s) {
            Some(sev) => Some(sev),
            None => {
                errors.push(format!(
                    "severity: {:?} is not one of critical, error, warning, info",
                    clip(&s, 40)
                ));
                None
            }
        },
        None => None,
    };
    let source = optional_str(fields, "source", "source", FIELD_MAX, &mut errors);
    let details = match fields.get("details") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(v) => v.clone(),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Signal {
        action: action.unwrap_or(Action::Trigger),
        dedup_key,
        summary: summary.unwrap_or_default(),
        source: source.unwrap_or_default(),
        severity: severity.unwrap_or(Severity::Error),
        occurred_at: None,
        details,
        links: Vec::new(),
        images: Vec::new(),
    })
}

/// The objects of the optional list `key` (at most [`ATTACHMENTS_MAX`]), each read by `read`
/// with its index; a list that is not a list, or an item that is not an object, is an error.
fn attachments<T>(
    root: &Map<String, Value>,
    key: &str,
    errors: &mut Vec<String>,
    mut read: impl FnMut(usize, &Map<String, Value>, &mut Vec<String>) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    let Some(v) = root.get(key).filter(|v| !v.is_null()) else {
        return out;
    };
    let Value::Array(items) = v else {
        errors.push(format!("{key}: must be a list"));
        return out;
    };
    for (i, item) in items.iter().take(ATTACHMENTS_MAX).enumerate() {
        match item {
            Value::Object(m) => out.extend(read(i, m, errors)),
            _ => errors.push(format!("{key}[{i}]: must be an object")),
        }
    }
    out
}

fn links(root: &Map<String, Value>, errors: &mut Vec<String>) -> Vec<Link> {
    attachments(root, "links", errors, |i, l, errors| {
        let href = required_str(l, "href", &format!("links[{i}].href"), 2048, errors);
        let text = optional_str(l, "text", &format!("links[{i}].text"), FIELD_MAX, errors);
        match href {
            Some(h) if is_web_url(&h) => Some(Link { href: h, text }),
            Some(_) => {
                errors.push(format!("links[{i}].href: must be an http or https URL"));
                None
            }
            None => None,
        }
    })
}

fn images(root: &Map<String, Value>, errors: &mut Vec<String>) -> Vec<Image> {
    attachments(root, "images", errors, |i, m, errors| {
        let src = required_str(m, "src", &format!("images[{i}].src"), 2048, errors);
        let href = optional_str(m, "href", &format!("images[{i}].href"), 2048, errors);
        let alt = optional_str(m, "alt", &format!("images[{i}].alt"), FIELD_MAX, errors);
        if href.as_deref().is_some_and(|h| !is_web_url(h)) {
            errors.push(format!("images[{i}].href: must be an http or https URL"));
            return None;
        }
        match src {
            Some(s) if s.starts_with("https://") && is_web_url(&s) => {
                Some(Image { src: s, href, alt })
            }
            Some(_) => {
                errors.push(format!("images[{i}].src: must be an https URL"));
                None
            }
            None => None,
        }
    })
}

/// An http(s) URL with a host, and no spaces or control characters.
fn is_web_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with('/')
            && !r.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

fn string_map(v: Option<&Value>) -> std::collections::BTreeMap<String, String> {
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect(),
        _ => Default::default(),
    }
}

/// A string field that must be there and not blank.
fn required_str(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
    max: usize,
    errors: &mut Vec<String>,
) -> Option<String> {
    let v = optional_str(m, key, path, max, errors);
    if v.is_none() && !errors.iter().any(|e| e.starts_with(&format!("{path}:"))) {
        errors.push(format!("{path}: is required"));
    }
    v
}

/// A string field that may be missing or null; blank counts as missing.
fn optional_str(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
    max: usize,
    errors: &mut Vec<String>,
) -> Option<String> {
    match m.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() {
                None
            } else if t.chars().count() > max {
                errors.push(format!("{path}: is longer than {max} characters"));
                None
            } else {
                Some(t.to_string())
            }
        }
        Some(_) => {
            errors.push(format!("{path}: must be a string"));
            None
        }
    }
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pd(v: Value) -> Result<PagerDutyEvent, Vec<String>> {
        parse_pagerduty(v.to_string().as_bytes())
    }

    fn trigger() -> Value {
        json!({
            "routing_key": "k123",
            "event_action": "trigger",
            "payload": {
                "summary": "Sparse index 5xx above 5%",
                "source": "index-1",
                "severity": "critical",
                "timestamp": "2026-11-28T09:00:00Z",
                "component": "nginx",
                "custom_details": {"rate": 0.07, "nested": [1, {"a": null}]}
            },
            "links": [{"href": "https://grafana.example/d/1", "text": "Dashboard"}],
            "images": [{"src": "https://grafana.example/r.png", "alt": "graph"}],
            "client": "Prometheus"
        })
    }

    #[test]
    fn a_full_trigger_is_read_with_its_details_verbatim() {
        let e = pd(trigger()).unwrap();
        assert_eq!(e.routing_key, "k123");
        let s = e.signal;
        assert_eq!(s.action, Action::Trigger);
        assert_eq!(s.dedup_key, None, "the server makes one");
        assert_eq!(s.summary, "Sparse index 5xx above 5%");
        assert_eq!(s.severity, Severity::Critical);
        assert_eq!(s.occurred_at, Some(1_795_856_400_000));
        assert_eq!(
            s.details["custom_details"],
            json!({"rate": 0.07, "nested": [1, {"a": null}]})
        );
        assert_eq!(s.details["component"], "nginx");
        assert_eq!(s.details["client"], "Prometheus");
        assert_eq!(s.links[0].href, "https://grafana.example/d/1");
        assert_eq!(s.images[0].alt.as_deref(), Some("graph"));
    }

    #[test]
    fn acknowledge_and_resolve_need_only_the_key_and_action() {
        for action in ["acknowledge", "resolve"] {
            let e =
                pd(json!({"routing_key": "k", "event_action": action, "dedup_key": "d1"})).unwrap();
            assert_eq!(e.signal.dedup_key.as_deref(), Some("d1"));
        }
    }

    #[test]
    fn bad_events_name_every_bad_field() {
        let with = |path: &[&str], v: Value| {
            let mut e = trigger();
            let mut at = &mut e;
            for p in &path[..path.len() - 1] {
                at = at.get_mut(*p).unwrap();
            }
            at[path[path.len() - 1]] = v;
            e
        };
        let cases: Vec<(Value, &[&str])> = vec![
            (json!("not an object"), &["body"]),
            (json!({}), &["routing_key", "event_action"]),
            (with(&["routing_key"], json!("")), &["routing_key"]),
            (with(&["routing_key"], json!(7)), &["routing_key"]),
            (with(&["event_action"], json!("page")), &["event_action"]),
            (with(&["payload"], json!(null)), &["payload"]),
            (with(&["payload"], json!([1])), &["payload"]),
            (
                with(&["payload", "summary"], json!("x".repeat(1025))),
                &["payload.summary"],
            ),
            (
                with(&["payload", "summary"], json!(null)),
                &["payload.summary"],
            ),
            (
                with(&["payload", "source"], json!(null)),
                &["payload.source"],
            ),
            (
                with(&["payload", "severity"], json!("urgent")),
                &["payload.severity"],
            ),
            (
                with(&["payload", "severity"], json!(null)),
                &["payload.severity"],
            ),
            (
                with(&["payload", "timestamp"], json!("yesterday")),
                &["payload.timestamp"],
            ),
            (with(&["dedup_key"], json!("d".repeat(256))), &["dedup_key"]),
            (with(&["links"], json!({"href": "x"})), &["links"]),
            (
                with(&["links"], json!([{"href": "javascript:alert(1)"}])),
                &["links[0].href"],
            ),
            (
                with(&["images"], json!([{"src": "http://plain.example/i.png"}])),
                &["images[0].src"],
            ),
            (
                with(
                    &["images"],
                    json!([{"src": "https://a.example/i.png", "href": "data:x"}]),
                ),
                &["images[0].href"],
            ),
            (
                json!({"routing_key": "k", "event_action": "resolve"}),
                &["dedup_key"],
            ),
        ];
        for (body, fields) in cases {
            let errors = pd(body.clone()).expect_err(&body.to_string());
            for f in fields {
                assert!(
                    errors.iter().any(|e| e.starts_with(&format!("{f}:"))),
                    "{f} named for {body}: {errors:?}"
                );
            }
        }
        let errors = parse_pagerduty(b"{not json").unwrap_err();
        assert!(errors[0].starts_with("body:"), "{errors:?}");
    }

    #[test]
    fn alertmanager_maps_each_alert_by_fingerprint() {
        let body = json!({
            "version": "4", "groupKey": "{}:{alertname=\"IndexDown\"}", "truncatedAlerts": 2,
            "status": "firing", "receiver": "firstline",
            "commonLabels": {"severity": "critical"},
            "commonAnnotations": {},
            "alerts": [
                {"status": "firing", "labels": {"alertname": "IndexDown", "instance": "index-1"},
                 "annotations": {"summary": "Index down on index-1"},
                 "startsAt": "2026-11-28T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                 "generatorURL": "https://prom.example/graph", "fingerprint": "abc123"},
                {"status": "resolved", "labels": {"alertname": "IndexSlow", "severity": "warning"},
                 "annotations": {}, "startsAt": "0001-01-01T00:00:00Z", "fingerprint": "def456"}
            ]
        });
        let (signals, truncated) = parse_alertmanager(body.to_string().as_bytes()).unwrap();
        assert_eq!(truncated, 2);
        assert_eq!(signals.len(), 2);
        assert_eq!(signals[0].action, Action::Trigger);
        assert_eq!(signals[0].dedup_key.as_deref(), Some("abc123"));
        assert_eq!(signals[0].summary, "Index down on index-1");
        assert_eq!(
            signals[0].severity,
            Severity::Critical,
            "from the common labels"
        );
        assert_eq!(signals[0].source, "index-1");
        assert_eq!(signals[0].links[0].href, "https://prom.example/graph");
        assert_eq!(signals[1].action, Action::Resolve);
        assert_eq!(
            signals[1].summary, "IndexSlow",
            "falls back to the alert name"
        );
        assert_eq!(signals[1].severity, Severity::Warning);
        assert_eq!(signals[1].occurred_at, None, "the zero time means unset");
    }

    #[test]
    fn alertmanager_input_a_retry_cannot_fix_is_refused_with_the_field() {
        let cases: &[(&str, &str)] = &[
            ("[]", "body"),
            ("{}", "alerts"),
            (r#"{"alerts": [1]}"#, "alerts[0]"),
            (
                r#"{"alerts": [{"status": "firing"}]}"#,
                "alerts[0].fingerprint",
            ),
            (
                r#"{"alerts": [{"status": "pending", "fingerprint": "f"}]}"#,
                "alerts[0].status",
            ),
        ];
        for (body, field) in cases {
            let errors = parse_alertmanager(body.as_bytes()).unwrap_err();
            assert!(
                errors.iter().any(|e| e.starts_with(&format!("{field}:"))),
                "{field} for {body}: {errors:?}"
            );
        }
    }

    #[test]
    fn generic_webhooks_default_to_trigger() {
        let fields = |v: Value| v.as_object().unwrap().clone();
        let s = parse_generic(&fields(json!({"summary": "Backup failed"}))).unwrap();
        assert_eq!((s.action, s.severity), (Action::Trigger, Severity::Error));
        let s = parse_generic(&fields(json!({"action": "ack", "dedup": "b1"}))).unwrap();
        assert_eq!(s.action, Action::Acknowledge);
        let cases: &[(Value, &str)] = &[
            (json!({}), "summary"),
            (json!({"action": "resolve"}), "dedup"),
            (json!({"action": "explode", "summary": "x"}), "action"),
            (json!({"summary": "x", "severity": "meh"}), "severity"),
            (json!({"summary": 5}), "summary"),
        ];
        for (body, field) in cases {
            let errors = parse_generic(&fields(body.clone())).unwrap_err();
            assert!(
                errors.iter().any(|e| e.starts_with(&format!("{field}:"))),
                "{field} for {body}: {errors:?}"
            );
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any bytes: an event or a list of errors, never a panic; every error names a
            /// field before a colon.
            #[test]
            fn parsers_never_panic(body in prop::collection::vec(any::<u8>(), 0..300)) {
                if let Err(errors) = parse_pagerduty(&body) {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.iter().all(|e| e.contains(": ")));
                }
                if let Err(errors) = parse_alertmanager(&body) {
                    prop_assert!(!errors.is_empty());
                }
            }

            /// Any summary within the limit survives a round trip unchanged (trimmed).
            #[test]
            fn summaries_are_kept(summary in "[^\\x00-\\x1f]{1,200}") {
                prop_assume!(!summary.trim().is_empty());
                let body = json!({
                    "routing_key": "k", "event_action": "trigger",
                    "payload": {"summary": summary, "source": "s", "severity": "info"}
                });
                let e = parse_pagerduty(body.to_string().as_bytes()).unwrap();
                prop_assert_eq!(e.signal.summary, summary.trim());
            }
        }
    }

    #[test]
    fn change_events_name_each_bad_field() {
        let ok = parse_change(
            br#"{"routing_key":"k","payload":{"summary":"Deployed v1.2","source":"ci","timestamp":"2026-11-28T09:00:00Z","custom_details":{"sha":"abc"}},"links":[{"href":"https://ci.example/1","text":"build"}]}"#,
        )
        .unwrap();
        assert_eq!(ok.summary, "Deployed v1.2");
        assert_eq!(ok.details["sha"], "abc");
        assert_eq!(ok.links.len(), 1);
        assert!(ok.occurred_at.is_some());
        let cases: [(&str, &str); 6] = [
            ("[]", "body"),
            ("{", "body"),
            (r#"{"payload":{"summary":"x"}}"#, "routing_key"),
            (r#"{"routing_key":"k"}"#, "payload"),
            (
                r#"{"routing_key":"k","payload":{"source":"ci"}}"#,
                "payload.summary",
            ),
            (
                r#"{"routing_key":"k","payload":{"summary":"x","timestamp":"soon"}}"#,
                "payload.timestamp",
            ),
        ];
        for (body, field) in cases {
            let errs = parse_change(body.as_bytes()).unwrap_err();
            assert!(
                errs.iter().any(|e| e.starts_with(&format!("{field}:"))),
                "{body}: {errs:?}"
            );
        }
    }
}
