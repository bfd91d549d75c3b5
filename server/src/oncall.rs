//! The on-call service: who is on call for a schedule at an instant, and what comes next.
//!
//! The one place that answers it: the dashboard, the schedules pages, the JSON API and the
//! escalation engine ask here. [`for_all`] loads every schedule in a fixed number of queries
//! ([`Store::schedules_full`]), not one per schedule. The caller passes the instant, so the
//! answer depends on no clock of its own.

use crate::store::{ScheduleFull, ScheduleInfo, Store, StoreError};
use app::domain::schedule::{expand, next_handoff, oncall_at, Shift, Window};
use jiff::{SignedDuration, Timestamp};

/// How far ahead the next hand-off and coverage gaps are looked for.
pub const HORIZON_DAYS: i64 = 28;

/// Who is on call for one schedule at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct OnCall {
    /// The schedule.
    pub schedule: ScheduleInfo,
    /// The instant asked about.
    pub at: Timestamp,
    /// The final shift holding `at` (its `user` is `None` in a gap); `None` when the schedule
    /// has no shift then at all.
    pub current: Option<Shift>,
    /// The next hand-off to someone else (or to a gap) within the horizon.
    pub next: Option<Shift>,
    /// The final shifts over `[at, at + HORIZON_DAYS)`, for gap reports.
    pub shifts: Vec<Shift>,
}

impl OnCall {
    /// Works out the answer from a schedule loaded over (at least) [`horizon`]`(at)`.
    pub fn of(full: ScheduleFull, at: Timestamp, horizon: &Window) -> OnCall {
        let shifts = expand(&full.schedule, horizon);
        OnCall {
            current: oncall_at(&shifts, at).cloned(),
            next: next_handoff(&shifts, at).cloned(),
            schedule: full.info,
            at,
            shifts,
        }
    }

    /// The id of the person on call, if anyone is.
    pub fn user(&self) -> Option<&str> {
        self.current.as_ref().and_then(|s| s.user.as_deref())
    }
}

/// The window looked at from `at`: `[at, at + HORIZON_DAYS)`.
pub fn horizon(at: Timestamp) -> Result<Window, StoreError> {
    Ok(Window::new(
        at,
        at + SignedDuration::from_hours(24 * HORIZON_DAYS),
    )?)
}

/// Who is on call for schedule `id` at `at`.
pub async fn for_schedule(store: &Store, id: &str, at: Timestamp) -> Result<OnCall, StoreError> {
    let window = horizon(at)?;
    let full = store.schedule_full(id, window.start, window.end).await?;
    Ok(OnCall::of(full, at, &window))
}

/// Who is on call for every schedule at `at`, by schedule name; a fixed number of queries.
pub async fn for_all(store: &Store, at: Timestamp) -> Result<Vec<OnCall>, StoreError> {
    let window = horizon(at)?;
    Ok(store
        .schedules_full(window.start, window.end)
        .await?
        .into_iter()
        .map(|full| OnCall::of(full, at, &window))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::schedule::{Layer, Override, RosterChange, Rotation, Schedule, ShiftLength};

    fn t(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn full(overrides: Vec<Override>) -> ScheduleFull {
        ScheduleFull {
            info: ScheduleInfo {
                id: "s".into(),
                name: "First line".into(),
                description: None,
                time_zone: "UTC".into(),
                ical_token: "tok".into(),
                draft: false,
            },
            schedule: Schedule {
                time_zone: "UTC".into(),
                layers: vec![Layer {
                    id: "l".into(),
                    name: "Daily".into(),
                    rotation: Rotation {
                        time_zone: "UTC".into(),
                        start: "2026-01-01T09:00".parse().expect("start"),
                        shift: ShiftLength::Days(1),
                        rosters: vec![RosterChange {
                            effective_from: Timestamp::MIN,
                            participants: vec!["ana".into(), "ben".into()],
                        }],
                    },
                    restrictions: vec![],
                }],
                overrides,
            },
            override_notes: vec![],
        }
    }

    #[test]
    fn current_and_next_follow_the_rotation_and_overrides() {
        // 2026-01-01 09:00 ana, 2026-01-02 09:00 ben, 2026-01-03 09:00 ana, ...
        let at = t("2026-01-02T12:00:00Z");
        let window = horizon(at).expect("window");
        let plain = OnCall::of(full(vec![]), at, &window);
        assert_eq!(plain.user(), Some("ben"));
        let next = plain.next.as_ref().expect("next");
        assert_eq!(
            (next.start, next.user.as_deref()),
            (t("2026-01-03T09:00:00Z"), Some("ana"))
        );
        assert_eq!(plain.shifts.first().map(|s| s.start), Some(at));

        // ana covers 11:00-15:00: she is on call at noon, and ben is back at 15:00.
        let cover = Override {
            id: "o".into(),
            user: "ana".into(),
            start: t("2026-01-02T11:00:00Z"),
            end: t("2026-01-02T15:00:00Z"),
            replaces: Some("ben".into()),
        };
        let covered = OnCall::of(full(vec![cover]), at, &window);
        assert_eq!(covered.user(), Some("ana"));
        let next = covered.next.as_ref().expect("next");
        assert_eq!(
            (next.start, next.user.as_deref()),
            (t("2026-01-02T15:00:00Z"), Some("ben"))
        );
    }

    #[test]
    fn a_schedule_without_layers_has_nobody() {
        let at = t("2026-01-02T12:00:00Z");
        let mut f = full(vec![]);
        f.schedule.layers.clear();
        let none = OnCall::of(f, at, &horizon(at).expect("window"));
        assert_eq!(none.user(), None);
        assert!(none.next.is_none());
    }
}
