//! Services (what responders are paged about, e.g. "Sparse index"), their integration keys (how
//! a monitoring tool's alerts reach a service), and the change events (deploys) sent to them.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

use super::validate::{optional_text, required_text, ValidationError};

/// Longest service name.
pub const NAME_MAX: usize = 100;
/// Longest service description.
pub const DESCRIPTION_MAX: usize = 1000;

/// A service as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Stable id.
    pub id: String,
    /// Name, unique.
    pub name: String,
    /// What it is.
    pub description: String,
    /// The team that owns it.
    pub team_id: Option<String>,
    /// Created.
    pub created_at: i64,
}

/// A service as submitted by a form or the API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInput {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Owning team id; empty for none.
    #[serde(default)]
    pub team_id: String,
}

impl ServiceInput {
    /// Trims and checks every field.
    pub fn normalize(&self) -> Result<ServiceInput, ValidationError> {
        Ok(ServiceInput {
            name: required_text("name", &self.name, NAME_MAX)?,
            description: optional_text("description", &self.description, DESCRIPTION_MAX)?
                .unwrap_or_default(),
            team_id: self.team_id.trim().to_string(),
        })
    }
}

/// The format an integration key accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// PagerDuty Events API v2 (`/v2/enqueue`, `/v2/change/enqueue`).
    Pagerduty,
    /// Prometheus Alertmanager webhook (`/hooks/alertmanager/{key}`).
    Alertmanager,
    /// Grafana alerting webhook (`/hooks/grafana/{key}`).
    Grafana,
    /// Anything that can send JSON or a form (`/hooks/generic/{key}`).
    Generic,
}

impl KeyKind {
    /// Every kind, in the order forms offer them.
    pub const ALL: [KeyKind; 4] = [
        KeyKind::Pagerduty,
        KeyKind::Alertmanager,
        KeyKind::Grafana,
        KeyKind::Generic,
    ];

    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Pagerduty => "pagerduty",
            KeyKind::Alertmanager => "alertmanager",
            KeyKind::Grafana => "grafana",
            KeyKind::Generic => "generic",
        }
    }

    /// The name people know the tool by.
    pub fn label(self) -> &'static str {
        match self {
            KeyKind::Pagerduty => "PagerDuty Events v2",
            KeyKind::Alertmanager => "Prometheus Alertmanager",
            KeyKind::Grafana => "Grafana alerting",
            KeyKind::Generic => "Generic webhook",
        }
    }

    /// How a timeline names the channel an event came through.
    pub fn channel(self) -> &'static str {
        match self {
            KeyKind::Pagerduty => "PagerDuty event",
            KeyKind::Alertmanager => "Alertmanager",
            KeyKind::Grafana => "Grafana",
            KeyKind::Generic => "webhook",
        }
    }

    /// The path an event of this kind is sent to, under the base URL.
    pub fn path(self, key: &str) -> String {
        match self {
            KeyKind::Pagerduty => "/v2/enqueue".to_string(),
            KeyKind::Alertmanager => format!("/hooks/alertmanager/{key}"),
            KeyKind::Grafana => format!("/hooks/grafana/{key}"),
            KeyKind::Generic => format!("/hooks/generic/{key}"),
        }
    }

    /// A configuration snippet for the tool, ready to paste.
    pub fn snippet(self, base_url: &str, key: &str) -> String {
        let url = format!("{base_url}{}", self.path(key));
        match self {
            KeyKind::Pagerduty => format!(
                "# Any PagerDuty Events v2 client: point its events URL at Firstline.\n\
                 routing_key: {key}\n\
                 events_url:  {url}\n\n\
                 # Alertmanager's own PagerDuty receiver:\n\
                 receivers:\n  - name: firstline\n    pagerduty_configs:\n      - routing_key: {key}\n        url: {url}\n\n\
                 # Or by hand:\n\
                 curl -sS -X POST {url} -H 'Content-Type: application/json' \\\n  \
                 -d '{{\"routing_key\":\"{key}\",\"event_action\":\"trigger\",\"payload\":{{\"summary\":\"Test alert\",\"source\":\"curl\",\"severity\":\"critical\"}}}}'"
            ),
            KeyKind::Alertmanager => format!(
                "# alertmanager.yml\nreceivers:\n  - name: firstline\n    webhook_configs:\n      - url: {url}\n        send_resolved: true\n"
            ),
            KeyKind::Grafana => format!(
                "# Grafana: Alerting > Contact points > New > Webhook\nURL: {url}\nHTTP method: POST\n"
            ),
            KeyKind::Generic => format!(
                "curl -sS -X POST {url} -d summary='Backup failed on db1' -d dedup=backup-db1\n\
                 curl -sS -X POST {url} -d dedup=backup-db1 -d action=resolve\n"
            ),
        }
    }
}

impl FromStr for KeyKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<KeyKind, ValidationError> {
        KeyKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "kind",
                    "must be one of: pagerduty, alertmanager, grafana, generic",
                )
            })
    }
}

/// An integration key as stored. The secret is shown to admins on the service's page only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationKey {
    /// Stable id.
    pub id: String,
    /// The service its events reach.
    pub service_id: String,
    /// The format it accepts.
    pub kind: KeyKind,
    /// What the admin called it ("Prometheus prod").
    pub name: String,
    /// The secret senders present.
    #[serde(skip_serializing)]
    pub key: String,
    /// Created.
    pub created_at: i64,
    /// Revoked: events with it are refused.
    pub revoked_at: Option<i64>,
}

/// A change event (deploy, configuration change) as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// Stable id.
    pub id: String,
    /// The service it was sent to.
    pub service_id: String,
    /// One line.
    pub summary: String,
    /// Where it happened.
    pub source: String,
    /// When it happened (the sender's timestamp, else when it arrived).
    pub occurred_at: i64,
    /// What the sender said besides, verbatim.
    pub details: serde_json::Value,
    /// Links.
    pub links: Vec<super::ingest::Link>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_snippets_name_the_url() {
        for k in KeyKind::ALL {
            assert_eq!(k.as_str().parse::<KeyKind>().unwrap(), k);
            let s = k.snippet("https://fl.example", "KEY123");
            assert!(
                s.contains(&format!("https://fl.example{}", k.path("KEY123"))),
                "{k:?}"
            );
        }
        assert_eq!("heartbeat".parse::<KeyKind>().unwrap_err().field, "kind");
        assert!(KeyKind::Pagerduty
            .snippet("https://x", "K")
            .contains("routing_key: K"));
    }

    #[test]
    fn service_input_names_the_field() {
        let bad = [("", "", "name"), ("x", &*"d".repeat(1001), "description")];
        for (name, description, field) in bad {
            let e = ServiceInput {
                name: name.into(),
                description: description.into(),
                team_id: String::new(),
            }
            .normalize()
            .unwrap_err();
            assert_eq!(e.field, field);
        }
        let ok = ServiceInput {
            name: "  Sparse index ".into(),
            description: String::new(),
            team_id: " t1 ".into(),
        }
        .normalize()
        .unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.team_id.as_str()),
            ("Sparse index", "t1")
        );
    }
}
