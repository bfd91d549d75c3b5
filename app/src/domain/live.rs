//! Live topics: what a committed change announces, so that whatever shows it (the public status
//! page now, an incident's timeline next) refreshes, on this instance and on its peers.

use serde::{Deserialize, Serialize};

/// Something open pages watch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Topic {
    /// The public status page (components, incidents, maintenance, the JSON API and feeds).
    StatusPage,
    /// One incident's timeline, by id.
    Incident(String),
    /// The list of on-call incidents (responders' side), and the open count in the navigation.
    Oncall,
    /// One on-call incident's page and timeline, by id.
    OncallIncident(String),
}

impl Topic {
    /// The topic as written in a cross-instance message: `status` or `incident:ID`.
    pub fn key(&self) -> String {
        match self {
            Topic::StatusPage => "status".to_string(),
            Topic::Incident(id) => format!("incident:{id}"),
            Topic::Oncall => "oncall".to_string(),
            Topic::OncallIncident(id) => format!("oncall:{id}"),
        }
    }

    /// Reads a [`Topic::key`]; `None` for anything else.
    pub fn parse(key: &str) -> Option<Topic> {
        match key.split_once(':') {
            None if key == "status" => Some(Topic::StatusPage),
            None if key == "oncall" => Some(Topic::Oncall),
            Some((kind, id)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                match kind {
                    "incident" => Some(Topic::Incident(id.to_string())),
                    "oncall" => Some(Topic::OncallIncident(id.to_string())),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_junk_is_refused() {
        for t in [
            Topic::StatusPage,
            Topic::Incident("abc123".into()),
            Topic::Oncall,
            Topic::OncallIncident("x9".into()),
        ] {
            assert_eq!(Topic::parse(&t.key()), Some(t));
        }
        for junk in [
            "",
            "statu",
            "status:",
            "incident:",
            "incident:a b",
            "monitor:x",
            "incident",
            "oncall:",
            "oncall:a-b",
        ] {
            assert_eq!(Topic::parse(junk), None, "{junk:?}");
        }
    }
}
