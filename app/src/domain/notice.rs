//! Shift notices through a person's contact methods: swap and cover requests and their
//! answers, the reminder before one's shift starts, and the summary of what is still open at a
//! hand-off. Which shift starts need a reminder or a summary now, and the words of each notice
//! in the recipient's own time zone. Pure: the engine hands in the expanded shifts (the on-call
//! resolver's answer, overrides and daylight saving included) and the time.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::escalation::{Policy, TargetKind};
use super::notify::clean;
use super::onetap::local_time;
use super::schedule::Shift;

/// How long before a shift starts its person is reminded.
pub const REMINDER_LEAD_MS: i64 = 30 * 60_000;

/// A hand-off summary is still sent this long after the shift started (the engine was down,
/// or busy); later it is news no more.
pub const HANDOFF_GRACE_MS: i64 = 10 * 60_000;

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// `by` asks someone to take `[start, end)` (to every teammate who could).
    SwapAsked,
    /// `by` took the recipient's shift.
    SwapTaken,
    /// `by` can't take it.
    SwapDeclined,
    /// `by` covers the recipient's shift (an override replacing them).
    Covered,
    /// The recipient covers a shift (an admin put them on).
    Covering,
    /// The recipient's shift starts soon.
    Reminder,
    /// The recipient's shift started: what is still open.
    Handoff,
}

/// An open incident named in a hand-off summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenIncident {
    /// Its short number.
    pub number: i64,
    /// What is wrong.
    pub title: String,
    /// The service, if any.
    pub service: Option<String>,
    /// `triggered` or `acknowledged`.
    pub state: String,
}

/// One notice, as queued (times as instants; words made for the recipient when sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftAbout {
    /// What.
    pub kind: NoticeKind,
    /// The schedule's name.
    pub schedule: String,
    /// Who did it (a name), if someone did.
    #[serde(default)]
    pub by: Option<String>,
    /// The shift's (or the asked time's) start, Unix ms.
    pub start_ms: i64,
    /// Its end, Unix ms.
    pub end_ms: i64,
    /// Hand-offs: what is open.
    #[serde(default)]
    pub open: Vec<OpenIncident>,
    /// Where a tap leads (a path).
    pub link: String,
}

/// Incidents a hand-off summary lists by name.
pub const HANDOFF_LISTED: usize = 10;

/// The subject and lines of a notice for a person in time zone `zone` (named in every time).
pub fn words(a: &ShiftAbout, zone: &str) -> (String, Vec<String>) {
    let t = |ms: i64| local_time(ms, zone, false, None);
    let when = format!("{} to {}", t(a.start_ms), t(a.end_ms));
    let by = clean(a.by.as_deref().unwrap_or("Someone"));
    let s = clean(&a.schedule);
    match a.kind {
        NoticeKind::SwapAsked => (
            format!("[shift] {by} asks someone to take a shift on {s}"),
            vec![format!(
                "{by} asks someone to take {when} on {s}. Open the request to take it or decline."
            )],
        ),
        NoticeKind::SwapTaken => (
            format!("[shift] {by} took your shift on {s}"),
            vec![format!(
                "{by} took your shift {when} on {s}. You are off call then."
            )],
        ),
        NoticeKind::SwapDeclined => (
            format!("[shift] {by} can't take your shift on {s}"),
            vec![format!(
                "{by} can't take {when} on {s}. Your request stays open for the others."
            )],
        ),
        NoticeKind::Covered => (
            format!("[shift] {by} covers your shift on {s}"),
            vec![format!("{by} covers your shift on {s}: {when}.")],
        ),
        NoticeKind::Covering => (
            format!("[shift] You cover a shift on {s}"),
            vec![format!("You are on call for {s}: {when}.")],
        ),
        NoticeKind::Reminder => (
            format!("[shift] Your shift on {s} starts at {}", t(a.start_ms)),
            vec![format!("You are on call for {s}: {when}.")],
        ),
        NoticeKind::Handoff => {
            let mut lines = vec![format!("Your shift on {s} started: {when}.")];
            match a.open.len() {
                0 => lines.push(format!(
                    "Nothing is open on the services {s} pages for. Quiet shift, hopefully."
                )),
                1 => lines.push(format!("1 incident is open on the services {s} pages for:")),
                n => lines.push(format!(
                    "{n} incidents are open on the services {s} pages for:"
                )),
            }
            for i in a.open.iter().take(HANDOFF_LISTED) {
                let service = i
                    .service
                    .as_deref()
                    .map(|s| format!(" ({})", clean(s)))
                    .unwrap_or_default();
                lines.push(format!(
                    "#{} {}{service}: {}",
                    i.number,
                    clean(&i.title),
                    i.state
                ));
            }
            if a.open.len() > HANDOFF_LISTED {
                lines.push(format!("and {} more", a.open.len() - HANDOFF_LISTED));
            }
            let subject = match a.open.len() {
                0 => format!("[shift] You are on call for {s}; nothing is open"),
                n => format!("[shift] You are on call for {s}; {n} open"),
            };
            (subject, lines)
        }
    }
}

/// The services whose escalation policy pages schedule `schedule_id` at some step, given every
/// policy and each service's `(id, policy id)`: a hand-off summary lists their open incidents.
pub fn services_paging(
    schedule_id: &str,
    policies: &[Policy],
    services: &[(String, Option<String>)],
) -> Vec<String> {
    let paging: Vec<&str> = policies
        .iter()
        .filter(|p| {
            p.steps.iter().any(|st| {
                st.targets
                    .iter()
                    .any(|t| t.kind == TargetKind::Schedule && t.id == schedule_id)
            })
        })
        .map(|p| p.id.as_str())
        .collect();
    services
        .iter()
        .filter(|(_, p)| p.as_deref().is_some_and(|p| paging.contains(&p)))
        .map(|(id, _)| id.clone())
        .collect()
}

/// A shift start: someone comes on call (from someone else, a gap, or nobody).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftStart {
    /// Who comes on call.
    pub user: String,
    /// When.
    pub start: Timestamp,
    /// Until when they stay on (back-to-back shifts of the same person are one).
    pub end: Timestamp,
}

/// The shift starts among `shifts` (final shifts over a window starting at `window_start`,
/// in order): back-to-back shifts of the same person are one, gaps start nothing, and a
/// shift cut by the window's start is not a start.
pub fn starts(shifts: &[Shift], window_start: Timestamp) -> Vec<ShiftStart> {
    let mut out: Vec<ShiftStart> = Vec::new();
    let mut prev: Option<(&str, Timestamp)> = None;
    for s in shifts {
        let Some(user) = s.user.as_deref() else {
            prev = None;
            continue;
        };
        match prev {
            Some((p, end)) if p == user && end == s.start => {
                if let Some(last) = out.last_mut().filter(|l| l.user == user) {
                    last.end = s.end;
                }
            }
            _ if s.start <= window_start => {}
            _ => out.push(ShiftStart {
                user: user.to_string(),
                start: s.start,
                end: s.end,
            }),
        }
        prev = Some((user, s.end));
    }
    out
}

/// The starts whose person is to be reminded at `now`: those `lead_ms` or less ahead.
pub fn reminders_due(starts: &[ShiftStart], now: Timestamp, lead_ms: i64) -> Vec<ShiftStart> {
    starts
        .iter()
        .filter(|s| {
            let ahead = s.start.as_millisecond() - now.as_millisecond();
            ahead > 0 && ahead <= lead_ms
        })
        .cloned()
        .collect()
}

/// The starts whose person gets the hand-off summary at `now`: started, at most
/// [`HANDOFF_GRACE_MS`] ago.
pub fn handoffs_due(starts: &[ShiftStart], now: Timestamp) -> Vec<ShiftStart> {
    starts
        .iter()
        .filter(|s| {
            let since = now.as_millisecond() - s.start.as_millisecond();
            (0..HANDOFF_GRACE_MS).contains(&since)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn shift(user: Option<&str>, a: &str, b: &str) -> Shift {
        Shift {
            start: t(a),
            end: t(b),
            user: user.map(String::from),
            source: None,
        }
    }

    fn start(user: &str, a: &str, b: &str) -> ShiftStart {
        ShiftStart {
            user: user.into(),
            start: t(a),
            end: t(b),
        }
    }

    #[test]
    fn a_handoff_covers_the_services_that_page_the_schedule() {
        use crate::domain::escalation::{Step, Target};
        let step = |kind, id: &str| Step {
            targets: vec![Target {
                kind,
                id: id.into(),
            }],
            delay_min: 5,
            round_robin: false,
        };
        let policy = |id: &str, steps| Policy {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            repeats: 0,
            steps,
        };
        let policies = vec![
            policy(
                "p1",
                vec![
                    step(TargetKind::User, "ana"),
                    step(TargetKind::Schedule, "first"),
                ],
            ),
            policy("p2", vec![step(TargetKind::Schedule, "second")]),
            policy("p3", vec![step(TargetKind::Team, "first")]),
        ];
        let services = vec![
            ("index".to_string(), Some("p1".to_string())),
            ("cdn".to_string(), Some("p2".to_string())),
            ("docs".to_string(), Some("p3".to_string())),
            ("api".to_string(), Some("p1".to_string())),
            ("none".to_string(), None),
        ];
        assert_eq!(
            services_paging("first", &policies, &services),
            vec!["index".to_string(), "api".to_string()]
        );
        assert_eq!(services_paging("second", &policies, &services), vec!["cdn"]);
        assert!(services_paging("other", &policies, &services).is_empty());
    }

    #[test]
    fn starts_merge_back_to_back_and_skip_gaps_and_the_cut() {
        let w = t("2026-03-28T07:00:00Z");
        let shifts = vec![
            // Cut by the window: ana was on before it.
            shift(Some("ana"), "2026-03-28T07:00:00Z", "2026-03-28T08:00:00Z"),
            shift(Some("ben"), "2026-03-28T08:00:00Z", "2026-03-28T12:00:00Z"),
            // Ben again, back to back (an override ends, his layer goes on): no new start.
            shift(Some("ben"), "2026-03-28T12:00:00Z", "2026-03-28T14:00:00Z"),
            shift(None, "2026-03-28T14:00:00Z", "2026-03-28T15:00:00Z"),
            // Ben after a gap: a start.
            shift(Some("ben"), "2026-03-28T15:00:00Z", "2026-03-28T16:00:00Z"),
            shift(Some("ana"), "2026-03-28T16:00:00Z", "2026-03-29T07:00:00Z"),
        ];
        assert_eq!(
            starts(&shifts, w),
            vec![
                start("ben", "2026-03-28T08:00:00Z", "2026-03-28T14:00:00Z"),
                start("ben", "2026-03-28T15:00:00Z", "2026-03-28T16:00:00Z"),
                start("ana", "2026-03-28T16:00:00Z", "2026-03-29T07:00:00Z"),
            ]
        );
    }

    #[test]
    fn reminders_and_handoffs_by_time() {
        let s = vec![start("ben", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z")];
        let lead = REMINDER_LEAD_MS;
        let cases = [
            // (now, reminder due, hand-off due)
            ("2026-03-29T06:29:59Z", false, false),
            ("2026-03-29T06:30:00Z", true, false),
            ("2026-03-29T06:59:59Z", true, false),
            ("2026-03-29T07:00:00Z", false, true),
            ("2026-03-29T07:09:59Z", false, true),
            ("2026-03-29T07:10:00Z", false, false),
        ];
        for (now, reminder, handoff) in cases {
            assert_eq!(
                !reminders_due(&s, t(now), lead).is_empty(),
                reminder,
                "{now}"
            );
            assert_eq!(!handoffs_due(&s, t(now)).is_empty(), handoff, "{now}");
        }
    }

    #[test]
    fn words_in_the_recipients_zone() {
        let about = |kind| ShiftAbout {
            kind,
            schedule: "First line".into(),
            by: Some("Maya".into()),
            // 2026-03-29 09:00 to 2026-03-30 09:00 in Berlin (after the change to summer time).
            start_ms: t("2026-03-29T07:00:00Z").as_millisecond(),
            end_ms: t("2026-03-30T07:00:00Z").as_millisecond(),
            open: vec![],
            link: "/schedules/s".into(),
        };
        let berlin =
            "Sun 29 Mar, 09:00 CEST (Europe/Berlin) to Mon 30 Mar, 09:00 CEST (Europe/Berlin)";
        let cases = [
            (
                NoticeKind::SwapAsked,
                "Europe/Berlin",
                "[shift] Maya asks someone to take a shift on First line",
                format!("Maya asks someone to take {berlin} on First line. Open the request to take it or decline."),
            ),
            (
                NoticeKind::SwapTaken,
                "America/New_York",
                "[shift] Maya took your shift on First line",
                "Maya took your shift Sun 29 Mar, 03:00 EDT (America/New_York) to Mon 30 Mar, 03:00 EDT (America/New_York) on First line. You are off call then.".to_string(),
            ),
            (
                NoticeKind::Reminder,
                "Europe/Berlin",
                "[shift] Your shift on First line starts at Sun 29 Mar, 09:00 CEST (Europe/Berlin)",
                format!("You are on call for First line: {berlin}."),
            ),
        ];
        for (kind, zone, subject, line) in cases {
            let (s, l) = words(&about(kind), zone);
            assert_eq!((s.as_str(), l[0].as_str()), (subject, line.as_str()));
        }
        let mut h = about(NoticeKind::Handoff);
        h.open = (1..=12)
            .map(|n| OpenIncident {
                number: n,
                title: format!("Problem {n}\nwith a newline"),
                service: Some("Sparse index".into()),
                state: "triggered".into(),
            })
            .collect();
        let (s, l) = words(&h, "UTC");
        assert_eq!(s, "[shift] You are on call for First line; 12 open");
        assert_eq!(
            l[1],
            "12 incidents are open on the services First line pages for:"
        );
        assert_eq!(
            l[2],
            "#1 Problem 1 with a newline (Sparse index): triggered"
        );
        assert_eq!(l.last().unwrap(), "and 2 more");
        assert_eq!(l.len(), 2 + HANDOFF_LISTED + 1);
        h.open.clear();
        let (s, l) = words(&h, "UTC");
        assert_eq!(s, "[shift] You are on call for First line; nothing is open");
        assert_eq!(
            l[1],
            "Nothing is open on the services First line pages for. Quiet shift, hopefully."
        );
    }
}
