//! One-tap links ("Acknowledge #12" from a push notification, an SMS or a mail): which action a
//! link names, what its confirmation page asks, and what the page says after the tap, in the
//! person's own time zone. Pure: the server hands in the incident, the person and the time.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::oncall::{on_action, Act, OncallIncident, State};

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    /// Acknowledge: stops the paging.
    Ack,
    /// Resolve: closes the incident and its alerts.
    Resolve,
}

impl LinkAction {
    /// Reads a link's `a` claim (`ack`, `resolve`).
    pub fn parse(s: &str) -> Option<LinkAction> {
        match s {
            "ack" => Some(LinkAction::Ack),
            "resolve" => Some(LinkAction::Resolve),
            _ => None,
        }
    }

    /// The responder action it performs.
    pub fn act(self) -> Act {
        match self {
            LinkAction::Ack => Act::Acknowledge,
            LinkAction::Resolve => Act::Resolve,
        }
    }

    /// The button's word: "Acknowledge", "Resolve".
    pub fn verb(self) -> &'static str {
        match self {
            LinkAction::Ack => "Acknowledge",
            LinkAction::Resolve => "Resolve",
        }
    }

    /// Done: "Acknowledged", "Resolved".
    pub fn done(self) -> &'static str {
        match self {
            LinkAction::Ack => "Acknowledged",
            LinkAction::Resolve => "Resolved",
        }
    }
}

/// A time for a person: "Mon 30 Nov, 03:10 CET (Europe/Berlin)"; with seconds, "03:10:42 CET
/// (Europe/Berlin)" on the same day as `today_ms`. An unknown zone reads as UTC, named so.
pub fn local_time(ms: i64, zone: &str, seconds: bool, today_ms: Option<i64>) -> String {
    let (tz, name) = match TimeZone::get(zone) {
        Ok(tz) => (tz, zone),
        Err(_) => (TimeZone::UTC, "UTC"),
    };
    let Ok(t) = Timestamp::from_millisecond(ms) else {
        return String::new();
    };
    let z = t.to_zoned(tz.clone());
    let same_day = today_ms
        .and_then(|d| Timestamp::from_millisecond(d).ok())
        .is_some_and(|d| d.to_zoned(tz).date() == z.date());
    let clock = if seconds { "%H:%M:%S %Z" } else { "%H:%M %Z" };
    let fmt = if same_day {
        clock.to_string()
    } else {
        format!("%a %-d %b, {clock}")
    };
    let text = z.strftime(&fmt).to_string();
    if name == "UTC" {
        text
    } else {
        format!("{text} ({name})")
    }
}

/// The confirmation page's question: "Acknowledge #12: 5xx above 5% on Sparse index?".
pub fn question(action: LinkAction, inc: &OncallIncident) -> String {
    match &inc.service_name {
        Some(s) => format!("{} #{}: {} on {s}?", action.verb(), inc.number, inc.title),
        None => format!("{} #{}: {}?", action.verb(), inc.number, inc.title),
    }
}

/// Who did something, as the person reading it says: "you", a name, or "its source" (an
/// alert's own resolve).
fn who(by: Option<&str>, me: &str, name_of: &impl Fn(&str) -> String) -> String {
    match by {
        Some(u) if u == me => "you".to_string(),
        Some(u) => name_of(u),
        None => "its source".to_string(),
    }
}

/// Where the incident stands, for `me` in `zone`: "Triggered since Mon 30 Nov, 03:10 CET
/// (Europe/Berlin)", "Acknowledged by Maya at 03:12 CET (Europe/Berlin)"...
pub fn state_line(
    inc: &OncallIncident,
    me: &str,
    name_of: impl Fn(&str) -> String,
    zone: &str,
    now: i64,
) -> String {
    let at = |ms: i64| local_time(ms, zone, false, Some(now));
    match inc.state {
        State::Triggered => format!("Triggered since {}", at(inc.created_at)),
        State::Acknowledged => {
            let mut s = format!(
                "Acknowledged by {}",
                who(inc.acknowledged_by.as_deref(), me, &name_of)
            );
            if let Some(t) = inc.acknowledged_at {
                s.push_str(&format!(" at {}", at(t)));
            }
            if let Some(u) = inc.snoozed_until {
                s.push_str(&format!(", snoozed until {}", at(u)));
            }
            format!("{s}; open since {}", at(inc.created_at))
        }
        State::Resolved => {
            let mut s = format!(
                "Resolved by {}",
                who(inc.resolved_by.as_deref(), me, &name_of)
            );
            if let Some(t) = inc.resolved_at {
                s.push_str(&format!(" at {}", at(t)));
            }
            s
        }
    }
}

/// Whether pressing the button would change anything now (a second acknowledgement would
/// not; acknowledging a snoozed incident would).
pub fn would_act(action: LinkAction, inc: &OncallIncident, now: i64) -> bool {
    on_action(&inc.now(), &action.act(), now).is_ok_and(|t| t.changed)
}

/// What the page says after the tap. `acted`: the action was done (by `me`, at `now`);
/// otherwise someone got there first and the sentence says who and when.
pub fn outcome(
    action: LinkAction,
    acted: bool,
    inc: &OncallIncident,
    me: &str,
    name_of: impl Fn(&str) -> String,
    zone: &str,
    now: i64,
) -> String {
    let at = |ms: i64| local_time(ms, zone, true, Some(now));
    if acted {
        return match action {
            LinkAction::Ack => format!("Acknowledged by you at {}. Escalation stopped.", at(now)),
            LinkAction::Resolve => format!(
                "Resolved by you at {}. Its alerts are closed and escalation stopped.",
                at(now)
            ),
        };
    }
    let (word, by, when) = match inc.state {
        State::Resolved => ("resolved", inc.resolved_by.as_deref(), inc.resolved_at),
        _ => (
            "acknowledged",
            inc.acknowledged_by.as_deref(),
            inc.acknowledged_at,
        ),
    };
    let mut s = format!("Already {word} by {}", who(by, me, &name_of));
    if let Some(t) = when {
        s.push_str(&format!(" at {}", at(t)));
    }
    s.push_str(". Nothing more to do here.");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::escalation::{Urgency, Wait};
    use crate::domain::ingest::Severity;

    // 2026-11-30 03:10:42 in Berlin (CET, UTC+1).
    const T: i64 = 1_796_004_642_000;

    fn inc(state: State) -> OncallIncident {
        OncallIncident {
            id: "i".into(),
            number: 12,
            service_id: Some("s".into()),
            service_name: Some("Sparse index".into()),
            title: "5xx above 5%".into(),
            severity: Severity::Critical,
            state,
            assigned_to: None,
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            snoozed_until: None,
            escalation_level: 0,
            urgency: Urgency::High,
            esc_wait: Wait::Idle,
            esc_due_at: None,
            esc_pass: 0,
            esc_gen: 0,
            status_incident_id: None,
            created_at: T - 60_000,
            updated_at: T - 60_000,
        }
    }

    fn names(u: &str) -> String {
        match u {
            "maya" => "Maya".into(),
            other => other.into(),
        }
    }

    #[test]
    fn times_name_the_zone_and_follow_daylight_saving() {
        let cases = [
            (
                T,
                "Europe/Berlin",
                true,
                Some(T),
                "03:10:42 CET (Europe/Berlin)",
            ),
            (
                T,
                "Europe/Berlin",
                false,
                None,
                "Mon 30 Nov, 03:10 CET (Europe/Berlin)",
            ),
            // Summer: CEST, UTC+2.
            (
                1_783_000_000_000,
                "Europe/Berlin",
                false,
                None,
                "Thu 2 Jul, 15:46 CEST (Europe/Berlin)",
            ),
            (
                T,
                "America/New_York",
                false,
                Some(T),
                "21:10 EST (America/New_York)",
            ),
            (T, "UTC", false, Some(T), "02:10 UTC"),
            (T, "Not/AZone", false, Some(T), "02:10 UTC"),
        ];
        for (ms, zone, secs, today, want) in cases {
            assert_eq!(local_time(ms, zone, secs, today), want, "{zone}");
        }
    }

    #[test]
    fn the_question_names_incident_and_service() {
        assert_eq!(
            question(LinkAction::Ack, &inc(State::Triggered)),
            "Acknowledge #12: 5xx above 5% on Sparse index?"
        );
        let mut no_service = inc(State::Triggered);
        no_service.service_name = None;
        assert_eq!(
            question(LinkAction::Resolve, &no_service),
            "Resolve #12: 5xx above 5%?"
        );
        assert_eq!(LinkAction::parse("ack"), Some(LinkAction::Ack));
        assert_eq!(LinkAction::parse("resolve"), Some(LinkAction::Resolve));
        assert_eq!(LinkAction::parse("snooze"), None);
    }

    #[test]
    fn what_the_page_says() {
        let z = "Europe/Berlin";
        let mut acked = inc(State::Acknowledged);
        acked.acknowledged_by = Some("maya".into());
        acked.acknowledged_at = Some(T - 30_000);
        let mut resolved = inc(State::Resolved);
        resolved.resolved_by = Some("me".into());
        resolved.resolved_at = Some(T - 10_000);
        let mut by_source = inc(State::Resolved);
        by_source.resolved_at = Some(T - 10_000);
        let cases = [
            (
                LinkAction::Ack,
                true,
                &acked,
                "Acknowledged by you at 03:10:42 CET (Europe/Berlin). Escalation stopped.",
            ),
            (
                LinkAction::Resolve,
                true,
                &resolved,
                "Resolved by you at 03:10:42 CET (Europe/Berlin). Its alerts are closed and escalation stopped.",
            ),
            (
                LinkAction::Ack,
                false,
                &acked,
                "Already acknowledged by Maya at 03:10:12 CET (Europe/Berlin). Nothing more to do here.",
            ),
            (
                LinkAction::Ack,
                false,
                &resolved,
                "Already resolved by you at 03:10:32 CET (Europe/Berlin). Nothing more to do here.",
            ),
            (
                LinkAction::Resolve,
                false,
                &by_source,
                "Already resolved by its source at 03:10:32 CET (Europe/Berlin). Nothing more to do here.",
            ),
        ];
        for (action, acted, i, want) in cases {
            assert_eq!(outcome(action, acted, i, "me", names, z, T), want);
        }
        assert_eq!(
            state_line(&inc(State::Triggered), "me", names, z, T),
            "Triggered since 03:09 CET (Europe/Berlin)"
        );
        assert_eq!(
            state_line(&acked, "me", names, z, T),
            "Acknowledged by Maya at 03:10 CET (Europe/Berlin); open since 03:09 CET (Europe/Berlin)"
        );
    }

    #[test]
    fn the_button_shows_only_when_it_would_change_something() {
        let mut snoozed = inc(State::Acknowledged);
        snoozed.snoozed_until = Some(T + 60_000);
        let cases = [
            (LinkAction::Ack, inc(State::Triggered), true),
            (LinkAction::Ack, inc(State::Acknowledged), false),
            (LinkAction::Ack, snoozed, true),
            (LinkAction::Ack, inc(State::Resolved), false),
            (LinkAction::Resolve, inc(State::Acknowledged), true),
            (LinkAction::Resolve, inc(State::Resolved), false),
        ];
        for (action, i, want) in cases {
            assert_eq!(would_act(action, &i, T), want, "{action:?} {:?}", i.state);
        }
    }
}
