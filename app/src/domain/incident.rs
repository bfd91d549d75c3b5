//! Public incidents and scheduled maintenance: their lifecycles, the input rules for creating and
//! updating them, and the clock-driven steps of a maintenance window.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::status::{ComponentStatus, Impact};
use super::validate::{optional_text, required_text, ValidationError};

/// Longest incident title.
pub const TITLE_MAX: usize = 200;
/// Longest update body (Markdown).
pub const BODY_MAX: usize = 20_000;

/// An incident, or a planned maintenance window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// Something broke.
    Incident,
    /// Planned work with a window.
    Maintenance,
}

impl IncidentKind {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incident => "incident",
            Self::Maintenance => "maintenance",
        }
    }
}

impl FromStr for IncidentKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "incident" => Ok(Self::Incident),
            "maintenance" => Ok(Self::Maintenance),
            _ => Err(ValidationError::new(
                "kind",
                "must be incident or maintenance",
            )),
        }
    }
}

/// Where an incident or a maintenance is in its lifecycle (Statuspage v2 values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Looking into it.
    Investigating,
    /// Cause found.
    Identified,
    /// Fix applied, watching.
    Monitoring,
    /// Over.
    Resolved,
    /// Over, with a write-up.
    Postmortem,
    /// Maintenance announced, not started.
    Scheduled,
    /// Maintenance under way.
    InProgress,
    /// Maintenance done, being checked.
    Verifying,
    /// Maintenance over.
    Completed,
}

impl IncidentStatus {
    /// The incident lifecycle, in order.
    pub const INCIDENT: [IncidentStatus; 5] = [
        Self::Investigating,
        Self::Identified,
        Self::Monitoring,
        Self::Resolved,
        Self::Postmortem,
    ];
    /// The maintenance lifecycle, in order.
    pub const MAINTENANCE: [IncidentStatus; 4] = [
        Self::Scheduled,
        Self::InProgress,
        Self::Verifying,
        Self::Completed,
    ];

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Investigating => "investigating",
            Self::Identified => "identified",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
            Self::Postmortem => "postmortem",
            Self::Scheduled => "scheduled",
            Self::InProgress => "in_progress",
            Self::Verifying => "verifying",
            Self::Completed => "completed",
        }
    }

    /// The word shown on the page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Investigating => "Investigating",
            Self::Identified => "Identified",
            Self::Monitoring => "Monitoring",
            Self::Resolved => "Resolved",
            Self::Postmortem => "Postmortem",
            Self::Scheduled => "Scheduled",
            Self::InProgress => "In progress",
            Self::Verifying => "Verifying",
            Self::Completed => "Completed",
        }
    }

    /// One line on when to choose it.
    pub fn explain(self) -> &'static str {
        match self {
            Self::Investigating => "Something is wrong; the cause is not known yet.",
            Self::Identified => "The cause is known and a fix is under way.",
            Self::Monitoring => "A fix is in; watching that it holds.",
            Self::Resolved => "Over; everything works again.",
            Self::Postmortem => "The write-up of what happened and what changes.",
            Self::Scheduled => "Planned; not started yet.",
            Self::InProgress => "The work is happening now.",
            Self::Verifying => "The work is done; checking that all is well.",
            Self::Completed => "Finished; everything is back to normal.",
        }
    }

    /// Which lifecycle this status belongs to.
    pub fn kind(self) -> IncidentKind {
        if Self::INCIDENT.contains(&self) {
            IncidentKind::Incident
        } else {
            IncidentKind::Maintenance
        }
    }

    /// Still going on: shown at the top of the page and in `unresolved.json`.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Resolved | Self::Postmortem | Self::Completed)
    }

    /// Parses a status that must belong to `kind`'s lifecycle.
    pub fn parse_for(s: &str, kind: IncidentKind) -> Result<Self, ValidationError> {
        let list: &[IncidentStatus] = match kind {
            IncidentKind::Incident => &Self::INCIDENT,
            IncidentKind::Maintenance => &Self::MAINTENANCE,
        };
        list.iter()
            .copied()
            .find(|st| st.as_str() == s.trim())
            .ok_or_else(|| {
                ValidationError::new(
                    "status",
                    format!(
                        "unknown {} status {:?}; expected one of: {}",
                        kind.as_str(),
                        s.chars().take(40).collect::<String>(),
                        list.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IncidentStatus {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_for(s, IncidentKind::Incident)
            .or_else(|_| Self::parse_for(s, IncidentKind::Maintenance))
            .map_err(|_| ValidationError::new("status", format!("unknown status {s:?}")))
    }
}

impl Impact {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
        }
    }

    /// The word shown to people ("Major").
    pub fn label(self) -> &'static str {
        match self {
            Impact::None => "None",
            Impact::Minor => "Minor",
            Impact::Major => "Major",
            Impact::Critical => "Critical",
        }
    }

    /// One line on when to choose it.
    pub fn explain(self) -> &'static str {
        match self {
            Impact::None => "Worth telling people, but nothing is broken.",
            Impact::Minor => "Some people notice: slower, or a small part fails.",
            Impact::Major => "Many people cannot do something important.",
            Impact::Critical => "The service is down for most people.",
        }
    }

    /// Every impact, in order.
    pub const ALL: [Impact; 4] = [Impact::None, Impact::Minor, Impact::Major, Impact::Critical];

    /// Parses the wire value; the error names the `impact` field.
    pub fn parse(s: &str) -> Result<Impact, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|i| i.as_str() == s.trim())
            .ok_or_else(|| {
                ValidationError::new(
                    "impact",
                    format!(
                        "unknown impact {:?}; expected one of: none, minor, major, critical",
                        s.chars().take(40).collect::<String>()
                    ),
                )
            })
    }
}

/// A component's status as set by an incident update: `(component id, new status)`.
pub type ComponentChange = (String, ComponentStatus);

/// Parses the component fields of a form: `component.<id>` = a status, or empty for "leave it".
pub fn component_changes(
    fields: &[(String, String)],
) -> Result<Vec<ComponentChange>, ValidationError> {
    let mut out: Vec<ComponentChange> = Vec::new();
    for (k, v) in fields {
        let Some(id) = k.strip_prefix("component.") else {
            continue;
        };
        if v.trim().is_empty() {
            continue;
        }
        let status = v
            .trim()
            .parse::<ComponentStatus>()
            .map_err(|e| ValidationError::new(k, e.message))?;
        if let Some(existing) = out.iter_mut().find(|(i, _)| i == id) {
            existing.1 = status;
        } else {
            out.push((id.to_string(), status));
        }
    }
    Ok(out)
}

/// A new incident as a responder submits it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IncidentInput {
    /// Title.
    pub name: String,
    /// none / minor / major / critical.
    pub impact: String,
    /// The first status (usually investigating).
    pub status: String,
    /// First update, Markdown.
    pub body: String,
    /// Whether subscribers are told.
    pub notify: bool,
}

/// A validated new incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentDraft {
    /// Title.
    pub name: String,
    /// Impact.
    pub impact: Impact,
    /// First status.
    pub status: IncidentStatus,
    /// First update body.
    pub body: String,
    /// Whether subscribers are told.
    pub notify: bool,
}

impl IncidentInput {
    /// Checks every field; the error names the first wrong one.
    pub fn normalize(&self) -> Result<IncidentDraft, ValidationError> {
        let name = required_text("name", &self.name, TITLE_MAX)?;
        let impact = Impact::parse(if self.impact.trim().is_empty() {
            "minor"
        } else {
            &self.impact
        })?;
        let status = if self.status.trim().is_empty() {
            IncidentStatus::Investigating
        } else {
            IncidentStatus::parse_for(&self.status, IncidentKind::Incident)?
        };
        if !status.is_open() {
            return Err(ValidationError::new(
                "status",
                "a new incident starts as investigating, identified or monitoring",
            ));
        }
        let body = required_text("body", &self.body, BODY_MAX)?;
        Ok(IncidentDraft {
            name,
            impact,
            status,
            body,
            notify: self.notify,
        })
    }
}

/// An update to an incident or maintenance.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateInput {
    /// New status.
    pub status: String,
    /// Message, Markdown.
    pub body: String,
    /// New impact, or empty to keep it.
    pub impact: String,
    /// Whether subscribers are told.
    pub notify: bool,
}

/// A validated update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateDraft {
    /// New status.
    pub status: IncidentStatus,
    /// Message.
    pub body: String,
    /// New impact, if changed.
    pub impact: Option<Impact>,
    /// Whether subscribers are told.
    pub notify: bool,
}

impl UpdateInput {
    /// Checks the update against the incident's kind.
    pub fn normalize(&self, kind: IncidentKind) -> Result<UpdateDraft, ValidationError> {
        let status = IncidentStatus::parse_for(&self.status, kind)?;
        let body = required_text("body", &self.body, BODY_MAX)?;
        let impact = match (kind, self.impact.trim()) {
            (_, "") | (IncidentKind::Maintenance, _) => None,
            (IncidentKind::Incident, i) => Some(Impact::parse(i)?),
        };
        Ok(UpdateDraft {
            status,
            body,
            impact,
            notify: self.notify,
        })
    }
}

/// Whether an incident or maintenance may be deleted: when closed, or a maintenance that has
/// not started and whose updates changed no component. Deleting an open one would strand the
/// statuses it gave its components (closing is what gives them back).
pub fn may_delete(status: IncidentStatus, changed_components: bool) -> bool {
    !status.is_open() || (status == IncidentStatus::Scheduled && !changed_components)
}

/// Whether an update changed components: it named some, or it started a maintenance (which
/// puts the maintenance's components under maintenance).
pub fn update_changed_components(status: IncidentStatus, named_components: bool) -> bool {
    named_components
        || matches!(
            status,
            IncidentStatus::InProgress | IncidentStatus::Verifying
        )
}

/// A correction of published text: the title, or one update's message. Corrections are shown
/// as edited on the page and are not sent to subscribers again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Correction {
    /// A new title.
    Title(String),
    /// A new message for one update.
    Message {
        /// The update.
        update_id: String,
        /// The new Markdown text.
        body: String,
    },
}

impl Correction {
    /// A checked title correction.
    pub fn title(name: &str) -> Result<Correction, ValidationError> {
        Ok(Correction::Title(required_text("name", name, TITLE_MAX)?))
    }

    /// A checked message correction.
    pub fn message(update_id: &str, body: &str) -> Result<Correction, ValidationError> {
        Ok(Correction::Message {
            update_id: update_id.to_string(),
            body: required_text("body", body, BODY_MAX)?,
        })
    }
}

/// A planned maintenance window as an admin submits it; times are wall-clock in `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MaintenanceInput {
    /// Title.
    pub name: String,
    /// What will happen, Markdown.
    pub body: String,
    /// Start, `YYYY-MM-DDTHH:MM` in `time_zone`.
    pub starts: String,
    /// End, same form.
    pub ends: String,
    /// IANA zone of the two times.
    pub time_zone: String,
    /// Whether subscribers are told.
    pub notify: bool,
}

/// A validated maintenance window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceDraft {
    /// Title.
    pub name: String,
    /// Announcement body.
    pub body: String,
    /// Start, Unix ms.
    pub starts_at: i64,
    /// End, Unix ms.
    pub ends_at: i64,
    /// Whether subscribers are told.
    pub notify: bool,
}

/// Longest maintenance window.
pub const MAINTENANCE_MAX_DAYS: i64 = 14;

fn parse_local(field: &str, value: &str, tz: &jiff::tz::TimeZone) -> Result<i64, ValidationError> {
    let dt: jiff::civil::DateTime = value.trim().parse().map_err(|_| {
        ValidationError::new(field, "must be a date and time like 2026-12-01T02:00")
    })?;
    dt.to_zoned(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|_| ValidationError::new(field, "is not a valid time in that zone"))
}

impl MaintenanceInput {
    /// Checks the fields; the end must come after the start, within 14 days.
    pub fn normalize(&self) -> Result<MaintenanceDraft, ValidationError> {
        let name = required_text("name", &self.name, TITLE_MAX)?;
        let body = required_text("body", &self.body, BODY_MAX)?;
        let zone = optional_text("time_zone", &self.time_zone, 64)?.unwrap_or_else(|| "UTC".into());
        let tz = jiff::tz::TimeZone::get(&zone).map_err(|_| {
            ValidationError::new("time_zone", format!("unknown time zone {zone:?}"))
        })?;
        let starts_at = parse_local("starts", &self.starts, &tz)?;
        let ends_at = parse_local("ends", &self.ends, &tz)?;
        if ends_at <= starts_at {
            return Err(ValidationError::new("ends", "must be after the start"));
        }
        if ends_at - starts_at > MAINTENANCE_MAX_DAYS * 86_400_000 {
            return Err(ValidationError::new(
                "ends",
                format!("a window may last at most {MAINTENANCE_MAX_DAYS} days"),
            ));
        }
        Ok(MaintenanceDraft {
            name,
            body,
            starts_at,
            ends_at,
            notify: self.notify,
        })
    }
}

/// What an update does to an incident, decided from the incident as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateDecision {
    /// Another writer moved the incident first (it is no longer in the status the caller
    /// expected, e.g. two instances stepping the same maintenance): nothing happens.
    Stale,
    /// Apply it.
    Apply {
        /// It closes the incident (resolved, completed, postmortem): the incident stops holding
        /// its components, so they show what still holds them.
        closing: bool,
        /// The update's explicit component statuses outlive the incident: they become the
        /// admin's setting (a resolved incident whose component stays degraded). On an open
        /// update they are what the incident gives the components.
        explicit_is_manual: bool,
    },
}

/// Decides an update of an incident of `kind` now in status `current` to status `next`, when the
/// caller expected it to be in `expect` (if given). The status must belong to the kind's lifecycle.
pub fn decide_update(
    kind: IncidentKind,
    current: IncidentStatus,
    next: IncidentStatus,
    expect: Option<IncidentStatus>,
) -> Result<UpdateDecision, ValidationError> {
    if next.kind() != kind {
        return Err(ValidationError::new(
            "status",
            format!("{next} is not a {} status", kind.as_str()),
        ));
    }
    if expect.is_some_and(|want| want != current) {
        return Ok(UpdateDecision::Stale);
    }
    let closing = !next.is_open();
    Ok(UpdateDecision::Apply {
        closing,
        explicit_is_manual: closing,
    })
}

/// What the clock does to a maintenance window: `Some(next status)` when it should move on.
/// A scheduled window starts at its start; any open window completes at its end.
pub fn maintenance_step(
    status: IncidentStatus,
    starts_at: i64,
    ends_at: i64,
    now: i64,
) -> Option<IncidentStatus> {
    use IncidentStatus::*;
    match status {
        Scheduled | InProgress | Verifying if now >= ends_at => Some(Completed),
        Scheduled if now >= starts_at => Some(InProgress),
        _ => None,
    }
}

/// The automatic update text for a clock-driven maintenance step.
pub fn maintenance_step_message(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::InProgress => "Scheduled maintenance is now in progress.",
        IncidentStatus::Completed => "Scheduled maintenance has been completed.",
        _ => "Maintenance status changed.",
    }
}

// ---- incidents as stored and shown ----

/// A component an update changed, as the Statuspage API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedComponent {
    /// Component id.
    pub code: String,
    /// Component name at the time.
    pub name: String,
    /// Status before.
    pub old_status: String,
    /// Status after.
    pub new_status: String,
}

/// One update of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    /// Stable id.
    pub id: String,
    /// The incident.
    pub incident_id: String,
    /// Status the update set.
    pub status: IncidentStatus,
    /// Markdown body.
    pub body: String,
    /// Components it changed.
    pub affected: Vec<AffectedComponent>,
    /// Whether subscribers were told.
    pub notify: bool,
    /// When, Unix ms.
    pub created_at: i64,
    /// When its text was last corrected, Unix ms.
    pub edited_at: Option<i64>,
}

/// An incident or maintenance with its components and updates (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Stable id.
    pub id: String,
    /// Incident or maintenance.
    pub kind: IncidentKind,
    /// Title.
    pub name: String,
    /// Lifecycle status.
    pub status: IncidentStatus,
    /// Impact; `None` for maintenance (the API says "maintenance").
    pub impact: Option<Impact>,
    /// Postmortem text, if published.
    pub postmortem: Option<String>,
    /// Maintenance window start.
    pub scheduled_for: Option<i64>,
    /// Maintenance window end.
    pub scheduled_until: Option<i64>,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Started (maintenance: the window start).
    pub started_at: i64,
    /// First time it went to monitoring.
    pub monitoring_at: Option<i64>,
    /// Resolved or completed.
    pub resolved_at: Option<i64>,
    /// Affected components: `(id, name, status the incident gives it)`.
    pub components: Vec<(String, String, ComponentStatus)>,
    /// Updates, newest first.
    pub updates: Vec<IncidentUpdate>,
}

impl Incident {
    /// Whether it may be deleted ([`may_delete`]; the store's `delete_incident` checks the same).
    pub fn deletable(&self) -> bool {
        let changed = self
            .updates
            .iter()
            .any(|u| update_changed_components(u.status, !u.affected.is_empty()));
        may_delete(self.status, changed)
    }
}

impl Incident {
    /// The impact as the API spells it (maintenance has its own).
    pub fn impact_str(&self) -> &'static str {
        match self.impact {
            Some(i) => i.as_str(),
            None => "maintenance",
        }
    }
}

/// A new incident or maintenance, validated.
#[derive(Debug, Clone)]
pub struct NewIncident {
    /// Kind.
    pub kind: IncidentKind,
    /// Title.
    pub name: String,
    /// Impact (ignored for maintenance).
    pub impact: Impact,
    /// First status.
    pub status: IncidentStatus,
    /// First update.
    pub body: String,
    /// Component statuses (incidents), or the components under maintenance.
    pub components: Vec<ComponentChange>,
    /// Window (maintenance).
    pub window: Option<(i64, i64)>,
    /// Tell subscribers.
    pub notify: bool,
}

/// A new update, validated.
#[derive(Debug, Clone)]
pub struct NewUpdate {
    /// New status.
    pub status: IncidentStatus,
    /// Message.
    pub body: String,
    /// New impact.
    pub impact: Option<Impact>,
    /// Explicit component statuses.
    pub components: Vec<ComponentChange>,
    /// Tell subscribers.
    pub notify: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;

    #[test]
    fn update_decision_table() {
        use IncidentKind::{Incident as Inc, Maintenance as Mnt};
        let apply = |closing| UpdateDecision::Apply {
            closing,
            explicit_is_manual: closing,
        };
        let cases = [
            (Inc, Investigating, Identified, None, Ok(apply(false))),
            (Inc, Investigating, Resolved, None, Ok(apply(true))),
            (Inc, Resolved, Postmortem, None, Ok(apply(true))),
            (Inc, Resolved, Investigating, None, Ok(apply(false))),
            (
                Mnt,
                Scheduled,
                InProgress,
                Some(Scheduled),
                Ok(apply(false)),
            ),
            (
                Mnt,
                InProgress,
                Completed,
                Some(Scheduled),
                Ok(UpdateDecision::Stale),
            ),
            (
                Mnt,
                InProgress,
                Completed,
                Some(InProgress),
                Ok(apply(true)),
            ),
            (Inc, Investigating, InProgress, None, Err("status")),
            (Mnt, Scheduled, Resolved, None, Err("status")),
        ];
        for (kind, current, next, expect, want) in cases {
            let got = decide_update(kind, current, next, expect).map_err(|e| e.field);
            assert_eq!(
                got.as_ref().map_err(String::as_str),
                want.as_ref().map_err(|f| *f),
                "{kind:?} {current:?} -> {next:?} expecting {expect:?}"
            );
        }
    }

    #[test]
    fn deletion_rule_table() {
        // (status, an update changed components, may delete)
        for (status, changed, want) in [
            (Investigating, false, false),
            (Monitoring, true, false),
            (Resolved, true, true),
            (Postmortem, false, true),
            (Scheduled, false, true),
            (Scheduled, true, false),
            (InProgress, false, false),
            (Verifying, true, false),
            (Completed, true, true),
        ] {
            assert_eq!(
                may_delete(status, changed),
                want,
                "{status:?} changed={changed}"
            );
        }
        assert!(update_changed_components(InProgress, false));
        assert!(update_changed_components(Verifying, false));
        assert!(update_changed_components(Scheduled, true));
        assert!(!update_changed_components(Scheduled, false));
        assert!(!update_changed_components(Investigating, false));
    }

    #[test]
    fn corrections_are_checked_like_new_text() {
        assert_eq!(
            Correction::title("  Sparse index slow  "),
            Ok(Correction::Title("Sparse index slow".into()))
        );
        assert_eq!(
            Correction::message("u1", " Fixed typo "),
            Ok(Correction::Message {
                update_id: "u1".into(),
                body: "Fixed typo".into()
            })
        );
        let long_title = "t".repeat(TITLE_MAX + 1);
        let long_body = "b".repeat(BODY_MAX + 1);
        for (got, field) in [
            (Correction::title(""), "name"),
            (Correction::title("   "), "name"),
            (Correction::title(&long_title), "name"),
            (Correction::message("u1", ""), "body"),
            (Correction::message("u1", &long_body), "body"),
        ] {
            assert_eq!(got.unwrap_err().field, field);
        }
    }

    #[test]
    fn status_parsing_respects_kind() {
        assert_eq!(
            IncidentStatus::parse_for("identified", IncidentKind::Incident),
            Ok(Identified)
        );
        let e = IncidentStatus::parse_for("in_progress", IncidentKind::Incident).unwrap_err();
        assert_eq!(e.field, "status");
        assert!(e.message.contains("investigating"), "{}", e.message);
        assert_eq!(
            IncidentStatus::parse_for("verifying", IncidentKind::Maintenance),
            Ok(Verifying)
        );
        assert!(IncidentStatus::parse_for("bogus", IncidentKind::Maintenance).is_err());
        for s in IncidentStatus::INCIDENT
            .iter()
            .chain(IncidentStatus::MAINTENANCE.iter())
        {
            assert_eq!(s.as_str().parse::<IncidentStatus>(), Ok(*s));
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
    }

    #[test]
    fn open_statuses() {
        let open: Vec<_> = IncidentStatus::INCIDENT
            .iter()
            .chain(IncidentStatus::MAINTENANCE.iter())
            .filter(|s| s.is_open())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(
            open,
            [
                "investigating",
                "identified",
                "monitoring",
                "scheduled",
                "in_progress",
                "verifying"
            ]
        );
    }

    fn incident(name: &str, impact: &str, status: &str, body: &str) -> IncidentInput {
        IncidentInput {
            name: name.into(),
            impact: impact.into(),
            status: status.into(),
            body: body.into(),
            notify: true,
        }
    }

    #[test]
    fn incident_input_table() {
        let long = "t".repeat(TITLE_MAX + 1);
        let huge = "b".repeat(BODY_MAX + 1);
        type Case = (
            IncidentInput,
            Result<(Impact, IncidentStatus), &'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                incident("Sparse index slow", "major", "investigating", "Looking"),
                Ok((Impact::Major, Investigating)),
            ),
            (
                incident("Defaults", "", "", "Looking"),
                Ok((Impact::Minor, Investigating)),
            ),
            (incident("", "major", "investigating", "x"), Err("name")),
            (incident("  ", "major", "investigating", "x"), Err("name")),
            (incident(&long, "major", "investigating", "x"), Err("name")),
            (
                incident("T", "catastrophic", "investigating", "x"),
                Err("impact"),
            ),
            (incident("T", "major", "in_progress", "x"), Err("status")),
            (incident("T", "major", "resolved", "x"), Err("status")),
            (incident("T", "major", "investigating", ""), Err("body")),
            (incident("T", "major", "investigating", &huge), Err("body")),
        ];
        for (input, want) in cases {
            match (input.normalize(), want) {
                (Ok(d), Ok((impact, status))) => {
                    assert_eq!((d.impact, d.status), (impact, status));
                }
                (Err(e), Err(field)) => assert_eq!(e.field, field, "{input:?}: {e}"),
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn update_input_checks_kind_and_impact() {
        let u = UpdateInput {
            status: "monitoring".into(),
            body: "Fix deployed".into(),
            impact: "minor".into(),
            notify: false,
        };
        let d = u.normalize(IncidentKind::Incident).unwrap();
        assert_eq!((d.status, d.impact), (Monitoring, Some(Impact::Minor)));
        assert_eq!(
            u.normalize(IncidentKind::Maintenance).unwrap_err().field,
            "status"
        );
        let bad = UpdateInput {
            impact: "huge".into(),
            ..u.clone()
        };
        assert_eq!(
            bad.normalize(IncidentKind::Incident).unwrap_err().field,
            "impact"
        );
        let empty = UpdateInput {
            body: " ".into(),
            ..u
        };
        assert_eq!(
            empty.normalize(IncidentKind::Incident).unwrap_err().field,
            "body"
        );
    }

    fn window(starts: &str, ends: &str, tz: &str) -> MaintenanceInput {
        MaintenanceInput {
            name: "Database upgrade".into(),
            body: "PostgreSQL 17".into(),
            starts: starts.into(),
            ends: ends.into(),
            time_zone: tz.into(),
            notify: true,
        }
    }

    #[test]
    fn maintenance_input_table() {
        type Case = (MaintenanceInput, Result<(i64, i64), &'static str>);
        let cases: Vec<Case> = vec![
            // 2026-12-01 02:00 Berlin (CET, +01:00) = 01:00Z.
            (
                window("2026-12-01T02:00", "2026-12-01T03:30", "Europe/Berlin"),
                Ok((1_796_086_800_000, 1_796_092_200_000)),
            ),
            (
                window("2026-12-01T02:00", "2026-12-01T02:00", "UTC"),
                Err("ends"),
            ),
            (
                window("2026-12-01T02:00", "2026-12-01T01:00", "UTC"),
                Err("ends"),
            ),
            (
                window("2026-12-01T02:00", "2026-12-20T01:00", "UTC"),
                Err("ends"),
            ),
            (window("tomorrow", "2026-12-01T01:00", "UTC"), Err("starts")),
            (window("2026-12-01T02:00", "", "UTC"), Err("ends")),
            (
                window("2026-12-01T02:00", "2026-12-01T03:00", "Mars/Olympus"),
                Err("time_zone"),
            ),
        ];
        for (input, want) in cases {
            match (input.normalize(), want) {
                (Ok(d), Ok((s, e))) => assert_eq!((d.starts_at, d.ends_at), (s, e)),
                (Err(e), Err(field)) => assert_eq!(e.field, field, "{input:?}: {e}"),
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn maintenance_steps_table() {
        let (s, e) = (1_000, 2_000);
        let cases = [
            (Scheduled, 999, None),
            (Scheduled, 1_000, Some(InProgress)),
            (Scheduled, 1_999, Some(InProgress)),
            // Overslept the whole window (server was down): straight to completed.
            (Scheduled, 2_500, Some(Completed)),
            (InProgress, 1_500, None),
            (InProgress, 2_000, Some(Completed)),
            (Verifying, 2_000, Some(Completed)),
            (Completed, 3_000, None),
        ];
        for (status, now, want) in cases {
            assert_eq!(
                maintenance_step(status, s, e, now),
                want,
                "{status:?} at {now}"
            );
        }
    }

    #[test]
    fn component_fields_parse() {
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        let got = component_changes(&[
            f("csrf", "x"),
            f("component.api", "major_outage"),
            f("component.web", ""),
            f("component.api", "partial_outage"),
        ])
        .unwrap();
        assert_eq!(
            got,
            vec![("api".to_string(), ComponentStatus::PartialOutage)]
        );
        let e = component_changes(&[f("component.api", "on_fire")]).unwrap_err();
        assert_eq!(e.field, "component.api");
    }
}
