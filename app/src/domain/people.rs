//! People and teams as pure rules: invitations (who may join, with which role and teams, and
//! whether a link still works), accepting one, deactivating a person (leaving the rosters from a
//! date, and which on-call gaps that opens), teams and contact methods.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::account::{check_password, normalize_email, NewUser, NewUserInput, Role};
use super::schedule::{Gap, Override, RosterChange, Schedule, UserId};
use super::validate::{optional_text, required_text, ValidationError};

/// Days an invitation link works unless configured otherwise.
pub const INVITE_EXPIRY_DAYS_DEFAULT: u32 = 7;
/// Longest configurable invitation lifetime, in days.
pub const INVITE_EXPIRY_DAYS_MAX: u32 = 90;
/// Longest team name.
pub const TEAM_NAME_MAX: usize = 80;
/// Longest contact method label.
pub const CONTACT_LABEL_MAX: usize = 60;
/// How far ahead a deactivation may be dated, in days.
pub const DEACTIVATE_AHEAD_MAX_DAYS: i64 = 366;

/// The "invite someone" form as posted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInput {
    /// Email the invitation is for (and the future login).
    pub email: String,
    /// `admin`, `responder` or `viewer`.
    pub role: String,
    /// Ids of teams to join on acceptance.
    pub teams: Vec<String>,
}

/// A validated invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// Lower-cased email.
    pub email: String,
    /// The role the person will have.
    pub role: Role,
    /// Teams to join, each known, without repeats, in the order given.
    pub team_ids: Vec<String>,
}

impl InviteInput {
    /// Checks the email (`email`), the role (`role`; it must be chosen) and that every team is
    /// one of `known_teams` (`teams`).
    pub fn normalize(&self, known_teams: &[&str]) -> Result<Invite, ValidationError> {
        let email = normalize_email(&self.email)?;
        let role = match self.role.trim() {
            "" => return Err(ValidationError::new("role", "choose a role")),
            r => r.parse()?,
        };
        let mut team_ids: Vec<String> = Vec::new();
        for t in self
            .teams
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
        {
            if !known_teams.contains(&t) {
                return Err(ValidationError::new(
                    "teams",
                    "one of the teams no longer exists; reload the page",
                ));
            }
            if !team_ids.iter().any(|x| x == t) {
                team_ids.push(t.to_string());
            }
        }
        Ok(Invite {
            email,
            role,
            team_ids,
        })
    }
}

/// When an invitation made at `now` stops working.
pub fn invitation_expires_at(now_ms: i64, days: u32) -> i64 {
    now_ms.saturating_add(i64::from(days) * 24 * 3_600_000)
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    /// Its link works.
    Pending,
    /// Someone joined with it (links are single use).
    Accepted,
    /// An admin took it back.
    Revoked,
    /// Its time ran out.
    Expired,
}

impl InvitationState {
    /// The state at `now` (Unix ms). Accepted and revoked win over expired: they say more.
    pub fn at(
        accepted_at: Option<i64>,
        revoked_at: Option<i64>,
        expires_at: i64,
        now: i64,
    ) -> Self {
        if accepted_at.is_some() {
            InvitationState::Accepted
        } else if revoked_at.is_some() {
            InvitationState::Revoked
        } else if now >= expires_at {
            InvitationState::Expired
        } else {
            InvitationState::Pending
        }
    }

    /// A short word for lists.
    pub fn label(self) -> &'static str {
        match self {
            InvitationState::Pending => "pending",
            InvitationState::Accepted => "accepted",
            InvitationState::Revoked => "revoked",
            InvitationState::Expired => "expired",
        }
    }

    /// Why the link no longer works, as a sentence; `None` while it works.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            InvitationState::Pending => None,
            InvitationState::Accepted => Some(
                "This invitation has already been used. Each link works once: log in with the account made with it, or ask an admin for a new invitation.",
            ),
            InvitationState::Revoked => Some(
                "This invitation was withdrawn by an admin. Ask them for a new one if you should have access.",
            ),
            InvitationState::Expired => Some(
                "This invitation has expired. Ask an admin of your Firstline to invite you again.",
            ),
        }
    }
}

/// The "join" form of an invitation link as posted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptInput {
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// New password.
    #[serde(default)]
    pub password: String,
    /// The same password again.
    #[serde(default)]
    pub password_again: String,
    /// IANA time zone.
    #[serde(default)]
    pub time_zone: String,
}

impl AcceptInput {
    /// The new user for an invitation to `email` with `role`: checks the name (`name`), the
    /// time zone (`time_zone`, through the tz database; empty is refused here), the password's
    /// length (`password`) and that both passwords agree (`password_again`).
    pub fn normalize(&self, email: &str, role: Role) -> Result<NewUser, ValidationError> {
        if self.time_zone.trim().is_empty() {
            return Err(ValidationError::new(
                "time_zone",
                "choose a time zone, e.g. Europe/Berlin",
            ));
        }
        let user = NewUserInput {
            email: email.to_string(),
            name: self.name.clone(),
            time_zone: self.time_zone.clone(),
            role: role.as_str().to_string(),
        }
        .normalize()?;
        check_password(&self.password)?;
        if self.password != self.password_again {
            return Err(ValidationError::new(
                "password_again",
                "The two passwords are not the same",
            ));
        }
        Ok(user)
    }
}

/// Reads the "from" date of a deactivation (`YYYY-MM-DD`, field `from`).
pub fn parse_date(field: &str, raw: &str) -> Result<Date, ValidationError> {
    raw.trim()
        .parse::<Date>()
        .map_err(|_| ValidationError::new(field, "must be a date like 2026-12-01"))
}

/// The instant a person leaves the rosters when deactivated from `date` (in `tz`): the start of
/// that day, or `now` when that is already past (today: shifts already worked stay theirs).
/// A day before today is refused (history is kept as it was), as is one more than
/// [`DEACTIVATE_AHEAD_MAX_DAYS`] ahead.
pub fn leave_rosters_at(
    date: Date,
    tz: &TimeZone,
    now: Timestamp,
) -> Result<Timestamp, ValidationError> {
    let today = now.to_zoned(tz.clone()).date();
    if date < today {
        return Err(ValidationError::new(
            "from",
            "must be today or later; past shifts are kept as they were",
        ));
    }
    let start = date
        .to_zoned(tz.clone())
        .map_err(|_| ValidationError::new("from", "is not a day in your time zone"))?
        .timestamp();
    if start.duration_since(now) > SignedDuration::from_hours(24 * DEACTIVATE_AHEAD_MAX_DAYS) {
        return Err(ValidationError::new(
            "from",
            format!("must be within {DEACTIVATE_AHEAD_MAX_DAYS} days"),
        ));
    }
    Ok(start.max(now))
}

/// One roster row to write so that a person leaves a layer: the layer's participants from
/// `effective_from` on (replacing a row with the same start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEdit {
    /// The layer.
    pub layer_id: String,
    /// From this instant on.
    pub effective_from: Timestamp,
    /// Who remains, in hand-off order.
    pub participants: Vec<UserId>,
}

/// Takes `user` off one layer's roster changes from `from` on, in place: the roster in effect
/// at `from` continues without them from `from` (a new change, or the one starting exactly
/// then), and every planned later roster loses them. Earlier rosters stay as they were, so
/// past shifts keep their person. Returns the changes written, as (from, participants).
pub fn leave_roster(
    rosters: &mut Vec<RosterChange>,
    user: &str,
    from: Timestamp,
) -> Vec<(Timestamp, Vec<UserId>)> {
    let mut edits = Vec::new();
    if let Some(i) = rosters.iter().rposition(|r| r.effective_from <= from) {
        if rosters[i].participants.iter().any(|p| p == user) {
            let remaining: Vec<UserId> = rosters[i]
                .participants
                .iter()
                .filter(|p| *p != user)
                .cloned()
                .collect();
            if rosters[i].effective_from == from {
                rosters[i].participants = remaining.clone();
            } else {
                rosters.insert(
                    i + 1,
                    RosterChange {
                        effective_from: from,
                        participants: remaining.clone(),
                    },
                );
            }
            edits.push((from, remaining));
        }
    }
    for r in rosters.iter_mut().filter(|r| r.effective_from > from) {
        if r.participants.iter().any(|p| p == user) {
            r.participants.retain(|p| p != user);
            edits.push((r.effective_from, r.participants.clone()));
        }
    }
    edits
}

/// What to do with one of a leaving person's overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideEdit {
    /// It starts at or after the leaving instant: a plan that no longer holds.
    Remove(String),
    /// It runs across the leaving instant: it ends then (the part before stays, as history).
    EndAt(String, Timestamp),
}

/// Ends `user`'s overrides at `from`, in place ([`OverrideEdit`]): nobody stays on call through
/// an override after leaving. Overrides that replace `user` are left alone (they cover a person
/// who is no longer there, so they change nothing).
pub fn leave_overrides(
    overrides: &mut Vec<Override>,
    user: &str,
    from: Timestamp,
) -> Vec<OverrideEdit> {
    let mut edits = Vec::new();
    overrides.retain_mut(|o| {
        if o.user != user || o.end <= from {
            return true;
        }
        if o.start >= from {
            edits.push(OverrideEdit::Remove(o.id.clone()));
            false
        } else {
            o.end = from;
            edits.push(OverrideEdit::EndAt(o.id.clone(), from));
            true
        }
    });
    edits
}

/// What removing `user` from a schedule from `from` on means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaving {
    /// The schedule as it will be.
    pub after: Schedule,
    /// Roster rows to write ([`leave_roster`] on each layer).
    pub rosters: Vec<RosterEdit>,
    /// Their overrides to end ([`leave_overrides`]).
    pub overrides: Vec<OverrideEdit>,
}

impl Leaving {
    /// True when the person has no part in the schedule from `from` on.
    pub fn is_empty(&self) -> bool {
        self.rosters.is_empty() && self.overrides.is_empty()
    }
}

/// Takes `user` off every roster of `schedule` and ends their overrides, from `from` on.
pub fn without_person(schedule: &Schedule, user: &str, from: Timestamp) -> Leaving {
    let mut after = schedule.clone();
    let mut rosters = Vec::new();
    for layer in &mut after.layers {
        for (effective_from, participants) in leave_roster(&mut layer.rotation.rosters, user, from)
        {
            rosters.push(RosterEdit {
                layer_id: layer.id.clone(),
                effective_from,
                participants,
            });
        }
    }
    let overrides = leave_overrides(&mut after.overrides, user, from);
    Leaving {
        after,
        rosters,
        overrides,
    }
}

/// The parts of `after` that are not already in `before`: the on-call gaps a change opens.
/// Both lists are sorted and non-overlapping, as [`super::schedule::coverage`] returns them.
pub fn new_gaps(before: &[Gap], after: &[Gap]) -> Vec<Gap> {
    let mut out = Vec::new();
    for g in after {
        let mut start = g.start;
        for b in before.iter().filter(|b| b.end > g.start && b.start < g.end) {
            if b.start > start {
                out.push(Gap {
                    start,
                    end: b.start,
                });
            }
            start = start.max(b.end);
        }
        if start < g.end {
            out.push(Gap { start, end: g.end });
        }
    }
    out
}

/// Checks a team name (field `name`).
pub fn team_name(raw: &str) -> Result<String, ValidationError> {
    required_text("name", raw, TEAM_NAME_MAX)
}

/// Whether a team may be deleted: only when it owns nothing. `owned` lists what it still owns,
/// as (what, how many), e.g. `("services", 2)`; the store fills it from every table that can
/// point at a team.
pub fn team_deletable(owned: &[(&str, i64)]) -> Result<(), ValidationError> {
    let things: Vec<String> = owned
        .iter()
        .filter(|(_, n)| *n > 0)
        // `what` is a plural ("services", "escalation policies"); one of them is singular.
        .map(|(what, n)| match n {
            1 => match what.strip_suffix("ies") {
                Some(stem) => format!("1 {stem}y"),
                None => format!("1 {}", what.strip_suffix('s').unwrap_or(what)),
            },
            _ => format!("{n} {what}"),
        })
        .collect();
    if things.is_empty() {
        Ok(())
    } else {
        Err(ValidationError::new(
            "team",
            format!(
                "this team still owns {}; give them to another team first",
                things.join(", ")
            ),
        ))
    }
}

/// The "add an email contact method" form as posted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInput {
    /// The address.
    #[serde(default)]
    pub email: String,
    /// Optional label, e.g. "Work".
    #[serde(default)]
    pub label: String,
}

/// A validated email contact method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    /// Lower-cased address.
    pub email: String,
    /// Optional label.
    pub label: Option<String>,
}

impl ContactInput {
    /// Checks the address (`email`) and the label (`label`).
    pub fn normalize(&self) -> Result<NewContact, ValidationError> {
        Ok(NewContact {
            email: normalize_email(&self.email)?,
            label: optional_text("label", &self.label, CONTACT_LABEL_MAX)?,
        })
    }
}

/// Whether a contact method may be removed: a person keeps at least one email address to be
/// reached at (`emails_left`: how many email methods remain after the removal).
pub fn contact_removable(kind: &str, emails_left: usize) -> Result<(), ValidationError> {
    if kind == "email" && emails_left == 0 {
        return Err(ValidationError::new(
            "contact",
            "this is your last email address; add another before removing it",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::{coverage, expand, Layer, Rotation, ShiftLength, Window};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn invite_checks_each_field() {
        let ok = InviteInput {
            email: " New@Example.org".into(),
            role: "viewer".into(),
            teams: vec!["t1".into(), "t1".into(), " ".into()],
        }
        .normalize(&["t1", "t2"])
        .unwrap();
        assert_eq!(ok.email, "new@example.org");
        assert_eq!(ok.role, Role::Viewer);
        assert_eq!(ok.team_ids, ["t1"]);
        let field = |i: InviteInput| i.normalize(&["t1"]).unwrap_err().field;
        let base = InviteInput {
            email: "a@example.org".into(),
            role: "responder".into(),
            teams: vec![],
        };
        assert_eq!(
            field(InviteInput {
                email: "nope".into(),
                ..base.clone()
            }),
            "email"
        );
        assert_eq!(
            field(InviteInput {
                role: "".into(),
                ..base.clone()
            }),
            "role"
        );
        assert_eq!(
            field(InviteInput {
                role: "root".into(),
                ..base.clone()
            }),
            "role"
        );
        assert_eq!(
            field(InviteInput {
                teams: vec!["gone".into()],
                ..base
            }),
            "teams"
        );
    }

    #[test]
    fn invitation_states() {
        use InvitationState::*;
        let exp = invitation_expires_at(1_000, 7);
        assert_eq!(exp, 1_000 + 7 * 86_400_000);
        assert_eq!(InvitationState::at(None, None, exp, exp - 1), Pending);
        assert_eq!(InvitationState::at(None, None, exp, exp), Expired);
        assert_eq!(InvitationState::at(Some(5), None, exp, exp + 1), Accepted);
        assert_eq!(InvitationState::at(None, Some(5), exp, 2), Revoked);
        assert!(Pending.refusal().is_none());
        for s in [Accepted, Revoked, Expired] {
            assert!(s.refusal().is_some_and(|r| r.ends_with('.')));
        }
    }

    #[test]
    fn accept_checks_each_field() {
        let good = AcceptInput {
            name: " Noor ".into(),
            password: "long enough pass".into(),
            password_again: "long enough pass".into(),
            time_zone: "Asia/Kolkata".into(),
        };
        let u = good.normalize("noor@example.org", Role::Responder).unwrap();
        assert_eq!(
            (u.name.as_str(), u.time_zone.as_str(), u.role),
            ("Noor", "Asia/Kolkata", Role::Responder)
        );
        let field = |a: AcceptInput| {
            a.normalize("noor@example.org", Role::Viewer)
                .unwrap_err()
                .field
        };
        assert_eq!(
            field(AcceptInput {
                name: " ".into(),
                ..good.clone()
            }),
            "name"
        );
        assert_eq!(
            field(AcceptInput {
                time_zone: "Mars/Base".into(),
                ..good.clone()
            }),
            "time_zone"
        );
        assert_eq!(
            field(AcceptInput {
                time_zone: "".into(),
                ..good.clone()
            }),
            "time_zone"
        );
        assert_eq!(
            field(AcceptInput {
                password: "short".into(),
                password_again: "short".into(),
                ..good.clone()
            }),
            "password"
        );
        assert_eq!(
            field(AcceptInput {
                password_again: "long enough pasS".into(),
                ..good
            }),
            "password_again"
        );
    }

    #[test]
    fn leaving_date_rules() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let now = ts("2026-03-10T12:00:00Z");
        let d = |s: &str| parse_date("from", s).unwrap();
        // Today: from now on. Tomorrow: from local midnight.
        assert_eq!(leave_rosters_at(d("2026-03-10"), &tz, now), Ok(now));
        assert_eq!(
            leave_rosters_at(d("2026-03-11"), &tz, now),
            Ok(ts("2026-03-10T23:00:00Z"))
        );
        assert_eq!(
            leave_rosters_at(d("2026-03-09"), &tz, now)
                .unwrap_err()
                .field,
            "from"
        );
        assert_eq!(
            leave_rosters_at(d("2028-03-09"), &tz, now)
                .unwrap_err()
                .field,
            "from"
        );
        assert_eq!(parse_date("from", "next week").unwrap_err().field, "from");
    }

    /// Daily UTC rotation ana, ben from 2026-01-01; from February the planned roster is ben, cy.
    fn schedule() -> Schedule {
        let p = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Schedule {
            time_zone: "UTC".into(),
            layers: vec![Layer {
                id: "l1".into(),
                name: "Base".into(),
                rotation: Rotation {
                    time_zone: "UTC".into(),
                    start: "2026-01-01T00:00".parse().unwrap(),
                    shift: ShiftLength::Days(1),
                    rosters: vec![
                        RosterChange {
                            effective_from: Timestamp::MIN,
                            participants: p(&["ana", "ben"]),
                        },
                        RosterChange {
                            effective_from: ts("2026-02-01T00:00:00Z"),
                            participants: p(&["ben", "cy"]),
                        },
                    ],
                },
                restrictions: vec![],
            }],
            overrides: vec![],
        }
    }

    #[test]
    fn leaving_the_rosters_keeps_the_past_and_edits_the_plans() {
        let s = schedule();
        let from = ts("2026-01-10T00:00:00Z");
        let Leaving {
            after,
            rosters: edits,
            overrides,
        } = without_person(&s, "ben", from);
        assert!(overrides.is_empty());
        assert_eq!(
            edits,
            [
                RosterEdit {
                    layer_id: "l1".into(),
                    effective_from: from,
                    participants: vec!["ana".into()]
                },
                RosterEdit {
                    layer_id: "l1".into(),
                    effective_from: ts("2026-02-01T00:00:00Z"),
                    participants: vec!["cy".into()]
                },
            ]
        );
        let rosters = &after.layers[0].rotation.rosters;
        assert_eq!(rosters.len(), 3);
        assert_eq!(rosters[0].participants, ["ana", "ben"], "the past is kept");
        // Someone in no roster changes nothing.
        let none = without_person(&s, "zed", from);
        assert!(none.is_empty());
        assert_eq!(none.after, s);
        // Leaving the only person of a roster leaves it empty: that is a gap, reported below.
        let alone = without_person(&s, "ana", from).after;
        let alone = without_person(&alone, "ben", from).after;
        let w = Window::new(from, ts("2026-01-12T00:00:00Z")).unwrap();
        assert_eq!(coverage(&expand(&alone, &w)).gaps.len(), 1);
    }

    #[test]
    fn a_leaving_person_covers_nothing_after_leaving() {
        let mut s = schedule();
        let o = |id: &str, user: &str, a: &str, b: &str| Override {
            id: id.into(),
            user: user.into(),
            start: ts(a),
            end: ts(b),
            replaces: None,
        };
        s.overrides = vec![
            o("past", "cy", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"),
            o(
                "across",
                "cy",
                "2026-01-09T12:00:00Z",
                "2026-01-10T12:00:00Z",
            ),
            o(
                "later",
                "cy",
                "2026-01-20T00:00:00Z",
                "2026-01-21T00:00:00Z",
            ),
            o(
                "other",
                "ana",
                "2026-01-20T00:00:00Z",
                "2026-01-21T00:00:00Z",
            ),
        ];
        let from = ts("2026-01-10T00:00:00Z");
        let leaving = without_person(&s, "cy", from);
        assert_eq!(
            leaving.overrides,
            [
                OverrideEdit::EndAt("across".into(), from),
                OverrideEdit::Remove("later".into())
            ]
        );
        let ids: Vec<&str> = leaving
            .after
            .overrides
            .iter()
            .map(|o| o.id.as_str())
            .collect();
        assert_eq!(ids, ["past", "across", "other"]);
        // cy also leaves the February roster.
        assert_eq!(leaving.rosters.len(), 1);
        let w = Window::new(from, ts("2026-03-01T00:00:00Z")).unwrap();
        assert!(expand(&leaving.after, &w)
            .iter()
            .all(|sh| sh.user.as_deref() != Some("cy")));
    }

    #[test]
    fn only_new_gaps_are_reported() {
        let s = schedule();
        let w = Window::new(ts("2026-01-09T00:00:00Z"), ts("2026-01-13T00:00:00Z")).unwrap();
        let before = coverage(&expand(&s, &w)).gaps;
        assert!(before.is_empty());
        // Without ana, only ben remains until February: no gap. Without both, all of it.
        let after = without_person(&s, "ana", ts("2026-01-10T00:00:00Z")).after;
        assert!(new_gaps(&before, &coverage(&expand(&after, &w)).gaps).is_empty());
        let after = without_person(&after, "ben", ts("2026-01-11T00:00:00Z")).after;
        let gaps = new_gaps(&before, &coverage(&expand(&after, &w)).gaps);
        assert_eq!(
            gaps,
            [Gap {
                start: ts("2026-01-11T00:00:00Z"),
                end: ts("2026-01-13T00:00:00Z")
            }]
        );
        // A gap that was already there is not reported again; only what is added is.
        let g = |a: &str, b: &str| Gap {
            start: ts(a),
            end: ts(b),
        };
        let old = [g("2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z")];
        let now = [g("2026-01-01T01:00:00Z", "2026-01-01T05:00:00Z")];
        assert_eq!(
            new_gaps(&old, &now),
            [
                g("2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"),
                g("2026-01-01T03:00:00Z", "2026-01-01T05:00:00Z")
            ]
        );
    }

    #[test]
    fn teams_and_contacts() {
        assert_eq!(team_name("  Ops ").unwrap(), "Ops");
        assert_eq!(team_name(" ").unwrap_err().field, "name");
        assert!(team_deletable(&[]).is_ok());
        assert!(team_deletable(&[("services", 0)]).is_ok());
        let e = team_deletable(&[("services", 0), ("escalation policies", 1)]).unwrap_err();
        assert!(
            e.message.contains("owns 1 escalation policy;"),
            "{}",
            e.message
        );
        let e = team_deletable(&[("services", 2)]).unwrap_err();
        assert!(e.message.contains("2 services"), "{e}");
        let e = team_deletable(&[("services", 1)]).unwrap_err();
        assert!(e.message.contains("owns 1 service;"), "{e}");
        let c = ContactInput {
            email: " Me@Example.org ".into(),
            label: " Work ".into(),
        }
        .normalize()
        .unwrap();
        assert_eq!(
            c,
            NewContact {
                email: "me@example.org".into(),
                label: Some("Work".into())
            }
        );
        assert_eq!(
            ContactInput {
                email: "x".into(),
                label: String::new()
            }
            .normalize()
            .unwrap_err()
            .field,
            "email"
        );
        assert_eq!(contact_removable("email", 0).unwrap_err().field, "contact");
        assert!(contact_removable("email", 1).is_ok());
        assert!(contact_removable("sms", 0).is_ok());
    }
}
