//! On-call incidents and the alerts they group: what responders work. Private to signed-in
//! people, and a different thing from a public status-page incident (`super::incident`), which
//! an on-call incident may open or update.
//!
//! Pure rules: what a signal does to the alert it names and to the service's open incident
//! ([`on_signal`]), and what a responder's action does to an incident ([`on_action`]). The store
//! loads the snapshot these take and applies what they return, in one transaction.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

use super::ingest::{Action, Severity};
use super::ValidationError;

/// Where an alert or an on-call incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Open and nobody has taken it: it pages.
    Triggered,
    /// Someone is on it: it pages nobody.
    Acknowledged,
    /// Over.
    Resolved,
}

impl State {
    /// The stored and shown value.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Triggered => "triggered",
            State::Acknowledged => "acknowledged",
            State::Resolved => "resolved",
        }
    }

    /// True until resolved.
    pub fn is_open(self) -> bool {
        self != State::Resolved
    }
}

impl FromStr for State {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<State, ValidationError> {
        match s {
            "triggered" => Ok(State::Triggered),
            "acknowledged" => Ok(State::Acknowledged),
            "resolved" => Ok(State::Resolved),
            _ => Err(ValidationError::new(
                "state",
                "must be one of: triggered, acknowledged, resolved",
            )),
        }
    }
}

impl Severity {
    /// The stored and shown value.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What someone wants to do with on-call incidents and services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read incidents, timelines and services.
    View,
    /// Acknowledge, resolve, note, reassign, snooze, escalate, post to the status page.
    Act,
    /// Create services, add and revoke integration keys.
    Configure,
}

/// The one decision on who may do what here: anyone signed in reads; responders and admins
/// act; admins configure. Anonymous visitors do nothing (`None`).
pub fn permits(role: Option<super::account::Role>, what: Permission) -> bool {
    use super::account::Role;
    match (role, what) {
        (None, _) => false,
        (Some(_), Permission::View) => true,
        (Some(r), Permission::Act) => r != Role::Viewer,
        (Some(r), Permission::Configure) => r == Role::Admin,
    }
}

/// An on-call incident as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OncallIncident {
    /// Stable id.
    pub id: String,
    /// The short number people say ("#12").
    pub number: i64,
    /// The service it is on.
    pub service_id: Option<String>,
    /// The service's name.
    pub service_name: Option<String>,
    /// Its first alert's summary.
    pub title: String,
    /// The worst severity among its alerts.
    pub severity: Severity,
    /// Where it stands.
    pub state: State,
    /// Who has it.
    pub assigned_to: Option<String>,
    /// When it was acknowledged.
    pub acknowledged_at: Option<i64>,
    /// Who acknowledged it (`None` when its source did).
    pub acknowledged_by: Option<String>,
    /// When it was resolved.
    pub resolved_at: Option<i64>,
    /// Who resolved it (`None` when its source did).
    pub resolved_by: Option<String>,
    /// Acknowledged until then.
    pub snoozed_until: Option<i64>,
    /// The next escalation step (0 first).
    pub escalation_level: i64,
    /// High or low urgency.
    pub urgency: super::escalation::Urgency,
    /// What its escalation waits for.
    pub esc_wait: super::escalation::Wait,
    /// When its escalation moves next (Unix ms).
    pub esc_due_at: Option<i64>,
    /// The pass through its policy (0 first).
    pub esc_pass: i64,
    /// Its escalation run: raised each time the policy starts again.
    pub esc_gen: i64,
    /// The public status-page incident it opened or updates.
    pub status_incident_id: Option<String>,
    /// Opened.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
}

impl OncallIncident {
    /// What a responder's action starts from.
    pub fn now(&self) -> IncidentNow {
        IncidentNow {
            state: self.state,
            assigned_to: self.assigned_to.clone(),
            snoozed_until: self.snoozed_until,
            escalation_level: self.escalation_level,
        }
    }
}

/// An alert as shown on its incident's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    /// Stable id.
    pub id: String,
    /// Its dedup key.
    pub dedup_key: String,
    /// One line.
    pub summary: String,
    /// The host or job it came from.
    pub origin: String,
    /// How bad.
    pub severity: Severity,
    /// Where it stands.
    pub state: State,
    /// What the sender said besides, verbatim (JSON; plain text for old probe alerts).
    pub details: serde_json::Value,
    /// Links.
    pub links: Vec<super::ingest::Link>,
    /// Images.
    pub images: Vec<super::ingest::Image>,
    /// How many signals it received.
    pub event_count: i64,
    /// Opened.
    pub created_at: i64,
    /// Resolved.
    pub resolved_at: Option<i64>,
}

/// One entry of an on-call incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// Increasing id (the timeline's order, and its version).
    pub id: i64,
    /// When.
    pub at: i64,
    /// What kind of event (`alert_triggered`, `acknowledged`, `note`...).
    pub kind: String,
    /// Who did it (a user id), when a person did.
    pub actor_id: Option<String>,
    /// Through what (`web`, `api`, `PagerDuty event`, `Alertmanager`...).
    pub channel: String,
    /// The alert it concerns.
    pub alert_id: Option<String>,
    /// What it says besides (kind-specific JSON).
    pub body: serde_json::Value,
}

impl TimelineEvent {
    /// The sentence a timeline shows, given the actor's name (or `None` for the system).
    pub fn describe(&self, actor: Option<&str>, name_of: impl Fn(&str) -> String) -> String {
        let who = actor.unwrap_or("The source");
        // A contact method's kind reads as people say it ("via SMS").
        let channel = crate::domain::notify::MethodKind::parse(&self.channel)
            .map(|k| k.label().to_string())
            .unwrap_or_else(|| self.channel.clone());
        let via = if channel.is_empty() {
            String::new()
        } else {
            format!(" via {channel}")
        };
        let text = |k: &str| {
            self.body
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let num = |k: &str| self.body.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
        let pass = || match num("pass") {
            0 => String::new(),
            p => format!(" (repeat {p})"),
        };
        let when = |ms: i64| {
            jiff::Timestamp::from_millisecond(ms)
                .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default()
        };
        match self.kind.as_str() {
            "opened" => format!("Incident opened{via}"),
            "alert_triggered" => format!("Alert received{via}: {}", text("summary")),
            "alert_repeated" => format!("Alert repeated{via}: {}", text("summary")),
            "alert_acknowledged" => format!("Alert acknowledged{via}"),
            "alert_resolved" => format!("Alert resolved{via}"),
            "acknowledged" => format!("Acknowledged by {}{via}", actor.unwrap_or("its source")),
            "resolved" => format!("Resolved by {}{via}", actor.unwrap_or("its source")),
            "retriggered" => format!("{who} triggered it again{via}"),
            "reassigned" => format!("{who} reassigned it to {}{via}", name_of(&text("user"))),
            "snoozed" => format!(
                "{who} snoozed it for {} min{via}",
                self.body
                    .get("minutes")
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0)
            ),
            "snooze_ended" => "Snooze ended: triggered again".to_string(),
            "escalated" => format!("{who} escalated it now{via}"),
            "step_fired" => {
                let names: Vec<String> = self
                    .body
                    .get("users")
                    .and_then(|v| v.as_array())
                    .map(|a| a.iter().filter_map(|u| u.as_str()).map(&name_of).collect())
                    .unwrap_or_default();
                let last = if self.body.get("last").and_then(|v| v.as_bool()) == Some(true) {
                    " (the last step)"
                } else {
                    ""
                };
                format!(
                    "Escalation step {}{}: paging {}{last}",
                    num("step") + 1,
                    pass(),
                    names.join(", ")
                )
            }
            "step_empty" => format!(
                "Escalation step {}{}: nobody is on call there; going on to the next step",
                num("step") + 1,
                pass()
            ),
            "paged" => {
                let plan: Vec<String> = self
                    .body
                    .get("plan")
                    .and_then(|v| v.as_array())
                    .map(|steps| {
                        steps
                            .iter()
                            .map(|st| {
                                let kind = st.get("kind").and_then(|v| v.as_str()).unwrap_or("");
                                let kind = crate::domain::notify::MethodKind::parse(kind)
                                    .map(|k| k.label())
                                    .unwrap_or(kind);
                                let label = st
                                    .get("label")
                                    .and_then(|v| v.as_str())
                                    .map(|l| format!(" ({l})"))
                                    .unwrap_or_default();
                                match st.get("delay_min").and_then(|v| v.as_i64()).unwrap_or(0) {
                                    0 => format!("{kind}{label} at once"),
                                    m => format!("{kind}{label} after {m} min"),
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if plan.is_empty() {
                    format!("Paged {}{via}", name_of(&text("user")))
                } else {
                    format!("Paging {}: {}", name_of(&text("user")), plan.join(", "))
                }
            }
            "notified" if self.body.get("team").is_some() => {
                format!("Posted to {}", text("via"))
            }
            "notify_failed" if self.body.get("team").is_some() => {
                format!(
                    "Could not post to the chat channel of {}: {}",
                    text("team"),
                    text("error")
                )
            }
            "notified" => {
                let others = num("bundle") - 1;
                let with = match others {
                    n if n > 0 => format!(" (one message for {} incidents)", n + 1),
                    _ => String::new(),
                };
                format!("Sent to {}: {}{with}", name_of(&text("user")), text("via"))
            }
            "notify_failed" => {
                if self.body.get("gone").and_then(|v| v.as_bool()) == Some(true) {
                    format!(
                        "Could not reach {}{via}: {}. That method is switched off; the next one is tried now",
                        name_of(&text("user")),
                        text("error")
                    )
                } else {
                    format!(
                        "Could not reach {}{via}: {}. Trying again; the next method is tried now",
                        name_of(&text("user")),
                        text("error")
                    )
                }
            }
            "delivered" => format!("Delivered to {}{via}", name_of(&text("user"))),
            "page_failed" => format!(
                "Paging {} failed: {}",
                name_of(&text("user")),
                text("error")
            ),
            "escalation_held" => {
                let until = when(num("until"));
                match text("why").as_str() {
                    "maintenance" => {
                        format!("Not paging: the service is in maintenance until {until}")
                    }
                    _ => format!("Low urgency: waiting for working hours, paging at {until}"),
                }
            }
            "escalation_exhausted" => format!(
                "Escalation exhausted: nobody acknowledged after {} passes through the policy. \
                 The incident stays open; nobody more is paged",
                num("passes")
            ),
            "nobody_to_page" => {
                "Escalation stopped: no step of the policy has anyone to page right now".to_string()
            }
            "no_policy" => "Nobody was paged: the service has no escalation policy".to_string(),
            "ack_timeout" => {
                "The acknowledgement timed out: triggered again, escalating from the first step"
                    .to_string()
            }
            "auto_resolved" => "Resolved automatically: no new alerts for a while".to_string(),
            "note" => format!("{who} noted{via}"),
            "status_posted" => format!("{who} posted to the status page: {}", text("status")),
            "alerts_truncated" => format!(
                "The sender left out {} more alerts of this group",
                self.body.get("count").and_then(|v| v.as_i64()).unwrap_or(0)
            ),
            other => other.replace('_', " "),
        }
    }
}

/// An open alert as loaded for a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAlert {
    /// Its id.
    pub id: String,
    /// Triggered or acknowledged.
    pub state: State,
    /// The incident it belongs to (`None` for a probe alert on a component with no service).
    pub incident: Option<IncidentSnap>,
}

/// An open on-call incident as loaded for a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentSnap {
    /// Its id.
    pub id: String,
    /// Triggered or acknowledged.
    pub state: State,
    /// How many of its alerts are open; the rules only ask whether it is more than one, so the
    /// store stops counting at 2.
    pub open_alerts: i64,
}

/// What a signal does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalOutcome {
    /// A new alert. It joins `join` (the service's open incident) when there is one, else it
    /// opens a new incident. It pages only when it opens a new incident or joins a triggered one
    /// (an acknowledged incident's new alerts page nobody).
    Open {
        /// The open incident it joins.
        join: Option<String>,
    },
    /// The alert is open: the signal adds to its timeline and pages nobody.
    Repeat {
        /// The alert.
        alert: String,
        /// Its incident.
        incident: Option<String>,
    },
    /// The source acknowledged the alert; its incident is acknowledged too if it was triggered.
    Acknowledge {
        /// The alert.
        alert: String,
        /// Its incident, when it changes state.
        incident: Option<String>,
    },
    /// The source resolved the alert; its incident resolves with its last open alert.
    Resolve {
        /// The alert.
        alert: String,
        /// Its incident, when this was its last open alert.
        incident: Option<String>,
    },
    /// Accepted and ignored: acknowledge or resolve for a key with no open alert, or an
    /// acknowledge for an alert already acknowledged.
    Ignore,
}

/// Decides what a signal does, given the open alert with its key (if any) and the open incident
/// of its service (if any).
pub fn on_signal(
    action: Action,
    open: Option<&OpenAlert>,
    service_open: Option<&IncidentSnap>,
) -> SignalOutcome {
    match (action, open) {
        (Action::Trigger, None) => SignalOutcome::Open {
            join: service_open.map(|i| i.id.clone()),
        },
        (Action::Trigger, Some(a)) => SignalOutcome::Repeat {
            alert: a.id.clone(),
            incident: a.incident.as_ref().map(|i| i.id.clone()),
        },
        (Action::Acknowledge, Some(a)) if a.state == State::Triggered => {
            SignalOutcome::Acknowledge {
                alert: a.id.clone(),
                incident: a
                    .incident
                    .as_ref()
                    .filter(|i| i.state == State::Triggered)
                    .map(|i| i.id.clone()),
            }
        }
        (Action::Resolve, Some(a)) => SignalOutcome::Resolve {
            alert: a.id.clone(),
            incident: a
                .incident
                .as_ref()
                .filter(|i| i.open_alerts <= 1)
                .map(|i| i.id.clone()),
        },
        (Action::Acknowledge | Action::Resolve, _) => SignalOutcome::Ignore,
    }
}

/// What a responder does to an on-call incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// "I am on it": stops paging.
    Acknowledge,
    /// It is over: resolves every open alert of the incident.
    Resolve,
    /// Back to triggered: it pages again.
    Retrigger,
    /// Hands it to someone (a user id).
    Reassign(String),
    /// Acknowledged for this many minutes, then triggered again.
    Snooze(i64),
    /// Skips to the next escalation step now.
    EscalateNow,
    /// A note on the timeline.
    Note(String),
}

/// How far back an incident's page looks for its service's change events (deploys): the
/// changes in the hours before it opened are the usual suspects.
pub const RECENT_CHANGES_MS: i64 = 4 * 3_600_000;

/// Longest snooze, in minutes (one day).
pub const SNOOZE_MAX_MIN: i64 = 24 * 60;
/// Longest note, in characters.
pub const NOTE_MAX: usize = 4000;

impl Act {
    /// The event kind its timeline entry is stored under.
    pub fn kind(&self) -> &'static str {
        match self {
            Act::Acknowledge => "acknowledged",
            Act::Resolve => "resolved",
            Act::Retrigger => "retriggered",
            Act::Reassign(_) => "reassigned",
            Act::Snooze(_) => "snoozed",
            Act::EscalateNow => "escalated",
            Act::Note(_) => "note",
        }
    }

    /// Reads an action as forms and the API name it (`acknowledge`, `resolve`, `retrigger`,
    /// `reassign` with `user`, `snooze` with `minutes`, `escalate`, `note` with `text`).
    pub fn parse(
        action: &str,
        user: &str,
        minutes: &str,
        text: &str,
    ) -> Result<Act, ValidationError> {
        Ok(match action {
            "acknowledge" | "ack" => Act::Acknowledge,
            "resolve" => Act::Resolve,
            "retrigger" => Act::Retrigger,
            "escalate" => Act::EscalateNow,
            "reassign" => {
                let user = user.trim();
                if user.is_empty() {
                    return Err(ValidationError::new("user", "choose who takes it"));
                }
                Act::Reassign(user.to_string())
            }
            "snooze" => {
                let m: i64 = minutes.trim().parse().map_err(|_| {
                    ValidationError::new("minutes", "must be a whole number of minutes")
                })?;
                if !(1..=SNOOZE_MAX_MIN).contains(&m) {
                    return Err(ValidationError::new(
                        "minutes",
                        format!("must be between 1 and {SNOOZE_MAX_MIN}"),
                    ));
                }
                Act::Snooze(m)
            }
            "note" => {
                let t = super::validate::required_text("text", text, NOTE_MAX)?;
                Act::Note(t)
            }
            _ => return Err(ValidationError::new(
                "action",
                "must be one of: acknowledge, resolve, retrigger, reassign, snooze, escalate, note",
            )),
        })
    }
}

/// An incident as loaded for a responder's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentNow {
    /// Where it stands.
    pub state: State,
    /// Who has it.
    pub assigned_to: Option<String>,
    /// Acknowledged until then, then triggered again.
    pub snoozed_until: Option<i64>,
    /// Escalation steps taken.
    pub escalation_level: i64,
}

/// What an action changes. `changed` is false for an action that found nothing to do (a second
/// acknowledgement): it is recorded nowhere, and the caller says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The incident after the action.
    pub next: IncidentNow,
    /// False when the action had nothing to do.
    pub changed: bool,
    /// Resolve every open alert of the incident too.
    pub resolve_alerts: bool,
    /// Acknowledge every triggered alert of the incident too.
    pub acknowledge_alerts: bool,
}

/// Decides a responder's action at `now`. Refused with a sentence for an action that makes no
/// sense in the incident's state (acknowledging a resolved incident).
pub fn on_action(inc: &IncidentNow, act: &Act, now: i64) -> Result<Transition, ValidationError> {
    let resolved = inc.state == State::Resolved;
    let refuse = |what: &str| {
        Err(ValidationError::new(
            "action",
            format!("this incident is resolved; {what}"),
        ))
    };
    let mut next = inc.clone();
    let mut t = Transition {
        next: inc.clone(),
        changed: true,
        resolve_alerts: false,
        acknowledge_alerts: false,
    };
    match act {
        Act::Note(_) => {}
        Act::Acknowledge => {
            if resolved {
                return refuse("there is nothing to acknowledge");
            }
            t.changed = inc.state == State::Triggered || inc.snoozed_until.is_some();
            next.state = State::Acknowledged;
            next.snoozed_until = None;
            t.acknowledge_alerts = true;
        }
        Act::Resolve => {
            t.changed = !resolved;
            next.state = State::Resolved;
            next.snoozed_until = None;
            t.resolve_alerts = true;
        }
        Act::Retrigger => {
            if resolved {
                return refuse("a new alert opens a new incident");
            }
            if inc.state == State::Triggered {
                t.changed = false;
            }
            next.state = State::Triggered;
            next.snoozed_until = None;
        }
        Act::Reassign(user) => {
            if resolved {
                return refuse("it cannot be reassigned");
            }
            t.changed = inc.assigned_to.as_deref() != Some(user);
            next.assigned_to = Some(user.clone());
            // A new owner has not acknowledged it: it pages them.
            if t.changed {
                next.state = State::Triggered;
                next.snoozed_until = None;
            }
        }
        Act::Snooze(minutes) => {
            if resolved {
                return refuse("it cannot be snoozed");
            }
            next.state = State::Acknowledged;
            next.snoozed_until = Some(now + minutes * 60_000);
            t.acknowledge_alerts = true;
        }
        Act::EscalateNow => {
            if resolved {
                return refuse("it cannot be escalated");
            }
            // The escalation engine fires the next step at once.
            next.state = State::Triggered;
            next.snoozed_until = None;
        }
    }
    t.next = next;
    Ok(t)
}

/// A snoozed incident whose time is up is triggered again.
pub fn snooze_over(inc: &IncidentNow, now: i64) -> bool {
    inc.state == State::Acknowledged && inc.snoozed_until.is_some_and(|u| u <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn delivery_entries_read_as_sentences() {
        let ev = |kind: &str, channel: &str, body: serde_json::Value| TimelineEvent {
            id: 1,
            at: 0,
            kind: kind.into(),
            actor_id: None,
            channel: channel.into(),
            alert_id: None,
            body,
        };
        let name = |id: &str| {
            if id == "u1" {
                "Jonas".to_string()
            } else {
                id.to_string()
            }
        };
        let cases = [
            (
                ev("paged", "", serde_json::json!({"user": "u1", "plan": [
                    {"kind": "push", "label": "Pixel 8", "delay_min": 0},
                    {"kind": "sms", "label": null, "delay_min": 2},
                    {"kind": "email", "label": "Login email", "delay_min": 5}]})),
                "Paging Jonas: push (Pixel 8) at once, SMS after 2 min, email (Login email) after 5 min",
            ),
            (
                ev("notified", "push", serde_json::json!({"user": "u1", "via": "push to Pixel 8", "bundle": 1})),
                "Sent to Jonas: push to Pixel 8",
            ),
            (
                ev("notified", "email", serde_json::json!({"user": "u1", "via": "email to j@x", "bundle": 4})),
                "Sent to Jonas: email to j@x (one message for 4 incidents)",
            ),
            (
                ev("notify_failed", "sms", serde_json::json!({"user": "u1", "error": "HTTP 503", "gone": false})),
                "Could not reach Jonas via SMS: HTTP 503. Trying again; the next method is tried now",
            ),
            (
                ev("notify_failed", "push", serde_json::json!({"user": "u1", "error": "gone", "gone": true})),
                "Could not reach Jonas via push: gone. That method is switched off; the next one is tried now",
            ),
            (
                ev("delivered", "sms", serde_json::json!({"user": "u1"})),
                "Delivered to Jonas via SMS",
            ),
            (ev("acknowledged", "sms", serde_json::json!({})), "Acknowledged by Maya via SMS"),
            (
                ev("notified", "chat", serde_json::json!({"team": "Volunteers", "via": "chat channel of Volunteers", "bundle": 1})),
                "Posted to chat channel of Volunteers",
            ),
            (
                ev("notify_failed", "chat", serde_json::json!({"team": "Volunteers", "error": "HTTP 500", "gone": false})),
                "Could not post to the chat channel of Volunteers: HTTP 500",
            ),
        ];
        for (e, want) in cases {
            let actor = (e.kind == "acknowledged").then_some("Maya");
            assert_eq!(e.describe(actor, name), want);
        }
    }

    #[test]
    fn timeline_names_the_channel_as_people_say_it() {
        let ev = |channel: &str| TimelineEvent {
            id: 1,
            at: 0,
            kind: "acknowledged".into(),
            actor_id: Some("j".into()),
            channel: channel.into(),
            alert_id: None,
            body: serde_json::json!({}),
        };
        let cases = [
            ("push", "Acknowledged by Jonas via push"),
            ("sms", "Acknowledged by Jonas via SMS"),
            ("email", "Acknowledged by Jonas via email"),
            ("chat", "Acknowledged by Jonas via chat"),
            ("webhook", "Acknowledged by Jonas via webhook"),
            ("web", "Acknowledged by Jonas via web"),
            ("", "Acknowledged by Jonas"),
        ];
        for (channel, want) in cases {
            assert_eq!(ev(channel).describe(Some("Jonas"), |u| u.into()), want);
        }
    }

    fn alert(state: State, inc: Option<(State, i64)>) -> OpenAlert {
        OpenAlert {
            id: "a".into(),
            state,
            incident: inc.map(|(state, open_alerts)| IncidentSnap {
                id: "i".into(),
                state,
                open_alerts,
            }),
        }
    }

    fn snap(state: State) -> IncidentSnap {
        IncidentSnap {
            id: "s".into(),
            state,
            open_alerts: 1,
        }
    }

    #[test]
    fn signal_table() {
        use Action::*;
        use SignalOutcome as O;
        use State::*;
        let some = |s: &str| Some(s.to_string());
        let cases: Vec<(
            Action,
            Option<OpenAlert>,
            Option<IncidentSnap>,
            SignalOutcome,
        )> = vec![
            (Trigger, None, None, O::Open { join: None }),
            (
                Trigger,
                None,
                Some(snap(Acknowledged)),
                O::Open { join: some("s") },
            ),
            (
                Trigger,
                Some(alert(Triggered, Some((Triggered, 1)))),
                None,
                O::Repeat {
                    alert: "a".into(),
                    incident: some("i"),
                },
            ),
            (
                Trigger,
                Some(alert(Acknowledged, Some((Acknowledged, 1)))),
                None,
                O::Repeat {
                    alert: "a".into(),
                    incident: some("i"),
                },
            ),
            (Acknowledge, None, Some(snap(Triggered)), O::Ignore),
            (Resolve, None, None, O::Ignore),
            (
                Acknowledge,
                Some(alert(Triggered, Some((Triggered, 2)))),
                None,
                O::Acknowledge {
                    alert: "a".into(),
                    incident: some("i"),
                },
            ),
            (
                Acknowledge,
                Some(alert(Triggered, Some((Acknowledged, 2)))),
                None,
                O::Acknowledge {
                    alert: "a".into(),
                    incident: None,
                },
            ),
            (
                Acknowledge,
                Some(alert(Acknowledged, Some((Acknowledged, 1)))),
                None,
                O::Ignore,
            ),
            (
                Resolve,
                Some(alert(Triggered, Some((Triggered, 1)))),
                None,
                O::Resolve {
                    alert: "a".into(),
                    incident: some("i"),
                },
            ),
            (
                Resolve,
                Some(alert(Acknowledged, Some((Triggered, 2)))),
                None,
                O::Resolve {
                    alert: "a".into(),
                    incident: None,
                },
            ),
            (
                Resolve,
                Some(alert(Triggered, None)),
                None,
                O::Resolve {
                    alert: "a".into(),
                    incident: None,
                },
            ),
        ];
        for (i, (action, open, svc, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                on_signal(action, open.as_ref(), svc.as_ref()),
                want,
                "row {i}"
            );
        }
    }

    fn inc(state: State) -> IncidentNow {
        IncidentNow {
            state,
            assigned_to: None,
            snoozed_until: None,
            escalation_level: 0,
        }
    }

    #[test]
    fn action_table() {
        use State::*;
        let now = 1_000_000;
        // (from, act, Ok(state after, changed) or Err)
        type Row = (State, Act, Option<(State, bool)>);
        let cases: Vec<Row> = vec![
            (Triggered, Act::Acknowledge, Some((Acknowledged, true))),
            (Acknowledged, Act::Acknowledge, Some((Acknowledged, false))),
            (Resolved, Act::Acknowledge, None),
            (Triggered, Act::Resolve, Some((Resolved, true))),
            (Resolved, Act::Resolve, Some((Resolved, false))),
            (Acknowledged, Act::Retrigger, Some((Triggered, true))),
            (Triggered, Act::Retrigger, Some((Triggered, false))),
            (Resolved, Act::Retrigger, None),
            (
                Acknowledged,
                Act::Reassign("u2".into()),
                Some((Triggered, true)),
            ),
            (Resolved, Act::Reassign("u2".into()), None),
            (Triggered, Act::Snooze(30), Some((Acknowledged, true))),
            (Resolved, Act::Snooze(30), None),
            (Acknowledged, Act::EscalateNow, Some((Triggered, true))),
            (Resolved, Act::EscalateNow, None),
            (Resolved, Act::Note("x".into()), Some((Resolved, true))),
            (Triggered, Act::Note("x".into()), Some((Triggered, true))),
        ];
        for (i, (from, act, want)) in cases.into_iter().enumerate() {
            let got = on_action(&inc(from), &act, now);
            match want {
                None => assert!(got.is_err(), "row {i}: {got:?}"),
                Some((state, changed)) => {
                    let t = got.unwrap_or_else(|e| panic!("row {i}: {e}"));
                    assert_eq!((t.next.state, t.changed), (state, changed), "row {i}");
                }
            }
        }
        let t = on_action(&inc(Triggered), &Act::Snooze(30), now).unwrap();
        assert_eq!(t.next.snoozed_until, Some(now + 30 * 60_000));
        assert!(snooze_over(&t.next, now + 30 * 60_000));
        assert!(!snooze_over(&t.next, now + 30 * 60_000 - 1));
        let e = on_action(&inc(Triggered), &Act::EscalateNow, now).unwrap();
        assert_eq!((e.changed, e.next.state), (true, Triggered));
        // Acknowledging ends a snooze; the same person reassigned is no change.
        let ack = on_action(&t.next, &Act::Acknowledge, now).unwrap();
        assert!(ack.changed && ack.next.snoozed_until.is_none());
        let mut mine = inc(Acknowledged);
        mine.assigned_to = Some("u1".into());
        let same = on_action(&mine, &Act::Reassign("u1".into()), now).unwrap();
        assert!(!same.changed);
        assert_eq!(same.next.state, Acknowledged);
    }

    #[test]
    fn permission_matrix() {
        use super::super::account::Role::*;
        use Permission::*;
        let want = [
            (None, [false, false, false]),
            (Some(Viewer), [true, false, false]),
            (Some(Responder), [true, true, false]),
            (Some(Admin), [true, true, true]),
        ];
        for (role, row) in want {
            for (what, ok) in [View, Act, Configure].into_iter().zip(row) {
                assert_eq!(permits(role, what), ok, "{role:?} {what:?}");
            }
        }
    }

    #[test]
    fn parse_names_the_field() {
        let bad = [
            ("dance", "", "", "action"),
            ("snooze", "", "soon", "minutes"),
            ("snooze", "", "0", "minutes"),
            ("snooze", "", "1441", "minutes"),
            ("reassign", " ", "", "user"),
            ("note", "", "", "   "),
        ];
        for (action, user, minutes, text) in bad {
            let e = Act::parse(action, user, minutes, text).unwrap_err();
            let want = match action {
                "dance" => "action",
                "snooze" => "minutes",
                "reassign" => "user",
                _ => "text",
            };
            assert_eq!(e.field, want, "{action}");
        }
        assert_eq!(
            Act::parse("snooze", "", " 15 ", "").unwrap(),
            Act::Snooze(15)
        );
        assert_eq!(Act::parse("ack", "", "", "").unwrap(), Act::Acknowledge);
    }

    fn any_state() -> impl Strategy<Value = State> {
        prop_oneof![
            Just(State::Triggered),
            Just(State::Acknowledged),
            Just(State::Resolved)
        ]
    }

    fn any_act() -> impl Strategy<Value = Act> {
        prop_oneof![
            Just(Act::Acknowledge),
            Just(Act::Resolve),
            Just(Act::Retrigger),
            Just(Act::EscalateNow),
            (1i64..=SNOOZE_MAX_MIN).prop_map(Act::Snooze),
            "[ab]".prop_map(Act::Reassign),
            Just(Act::Note("n".into())),
        ]
    }

    proptest! {
        /// Whatever responders do, in any order: a resolved incident never reopens (only notes
        /// and repeated resolves are accepted), a snooze is only ever set on an acknowledged
        /// incident, and the escalation level never goes down.
        #[test]
        fn actions_keep_the_invariants(start in any_state(), acts in proptest::collection::vec(any_act(), 0..20)) {
            let mut cur = inc(start);
            let mut now = 0;
            for act in acts {
                now += 60_000;
                let before = cur.clone();
                match on_action(&cur, &act, now) {
                    Ok(t) => {
                        if before.state == State::Resolved {
                            prop_assert_eq!(t.next.state, State::Resolved);
                            prop_assert!(matches!(act, Act::Note(_) | Act::Resolve));
                        }
                        if t.next.snoozed_until.is_some() {
                            prop_assert_eq!(t.next.state, State::Acknowledged);
                        }
                        prop_assert!(t.next.escalation_level >= before.escalation_level);
                        if !t.changed {
                            prop_assert_eq!(&t.next.state, &before.state);
                        }
                        cur = t.next;
                    }
                    Err(e) => {
                        prop_assert_eq!(before.state, State::Resolved);
                        prop_assert_eq!(e.field.as_str(), "action");
                    }
                }
            }
        }

        /// A signal never opens a second alert for an open key, and an acknowledge or resolve
        /// for an unknown key changes nothing.
        #[test]
        fn signals_never_duplicate(open in proptest::option::of((any_state(), 1i64..4)), has_svc in any::<bool>()) {
            let a = open.filter(|(s, _)| s.is_open()).map(|(s, n)| alert(s, Some((s, n))));
            let svc = has_svc.then(|| snap(State::Triggered));
            for action in [Action::Trigger, Action::Acknowledge, Action::Resolve] {
                let out = on_signal(action, a.as_ref(), svc.as_ref());
                if a.is_some() {
                    let opened = matches!(out, SignalOutcome::Open { .. });
                    prop_assert!(!opened, "a second alert opened for an open key");
                } else if action != Action::Trigger {
                    prop_assert_eq!(out, SignalOutcome::Ignore);
                }
            }
        }
    }
}
