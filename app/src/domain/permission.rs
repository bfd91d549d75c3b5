//! Who may do what on a schedule: one pure decision for every action that reads or changes who is on call.
//!
//! Handlers describe the actor (logged in or not, role, id), how the actor relates to the
//! schedule ([`Relation`]) and the action with its data ([`Action`]), and call [`check`] before
//! anything is written. The rules, also in `docs/SECURITY.md` under "Permissions":
//!
//! - Anyone logged in may view schedules, shifts and swap requests; anonymous visitors log in first.
//! - Viewers never change anything (they may only withdraw a request they made themselves).
//! - Covering a shift (an override): responders only for themselves, only on a schedule whose
//!   current or planned rotation includes them, at most [`RESPONDER_OVERRIDE_MAX_DAYS`] days;
//!   admins for anyone, on any schedule, at most [`ADMIN_OVERRIDE_MAX_DAYS`] days. A `replaces`
//!   must be a known user who is on call at some time between start and end.
//! - Offering a swap: responders and admins, only for time they are on call throughout.
//! - Accepting or declining a swap: responders and admins in the schedule's rotation, not the requester.
//! - Withdrawing a swap: the requester, or an admin.
//! - Creating schedules, adding, changing or deleting layers, rotating a schedule's iCal link: admins.
//! - People and teams: inviting, revoking invitations, reactivating, creating, renaming and
//!   deleting teams and setting their members: admins. Deactivating: admins, never themselves
//!   and never the last active admin.
//! - Contact methods: each person their own.

use std::collections::BTreeSet;
use std::fmt;

use jiff::{SignedDuration, Timestamp};

use super::account::Role;
use super::schedule::{expand, Schedule, Window};
use super::validate::ValidationError;

/// Longest override a responder may create for themselves.
pub const RESPONDER_OVERRIDE_MAX_DAYS: i64 = 14;
/// Longest override an admin may create.
pub const ADMIN_OVERRIDE_MAX_DAYS: i64 = 90;

/// A logged-in user asking to do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    /// The user's id.
    pub id: &'a str,
    /// The user's role.
    pub role: Role,
}

/// How the actor relates to the schedule in question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relation {
    /// The actor is in the current or a planned roster of one of the schedule's layers.
    pub member: bool,
}

impl Relation {
    /// The relation of `user` to `schedule` at `now` (see [`members`]).
    pub fn of(schedule: &Schedule, user: &str, now: Timestamp) -> Relation {
        Relation {
            member: members(schedule, now).contains(user),
        }
    }
}

/// Everyone in a roster of `schedule` that is in effect at `now` or planned after it; people
/// only in rosters that ended before `now` are no longer members.
pub fn members(schedule: &Schedule, now: Timestamp) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    for layer in &schedule.layers {
        let rosters = &layer.rotation.rosters;
        let current = rosters
            .iter()
            .rposition(|r| r.effective_from <= now)
            .unwrap_or(0);
        for r in rosters.get(current..).unwrap_or_default() {
            out.extend(r.participants.iter().map(String::as_str));
        }
    }
    out
}

/// An override someone asks to create.
#[derive(Debug, Clone, Copy)]
pub struct Cover<'a> {
    /// Who would be on call (the actor for "I cover this").
    pub user: &'a str,
    /// `user` is an existing account.
    pub user_known: bool,
    /// Whom it stands in for; `None` covers whoever is on call.
    pub replaces: Option<&'a str>,
    /// `replaces` is an existing account (ignored when `replaces` is `None`).
    pub replaces_known: bool,
    /// First instant covered.
    pub start: Timestamp,
    /// First instant no longer covered.
    pub end: Timestamp,
    /// The schedule with (at least) the overrides that overlap `[start, end)`.
    pub schedule: &'a Schedule,
}

/// Something an actor wants to do on a schedule.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Read calendars, shifts, swap requests, the JSON API.
    View,
    /// Create an override: cover a shift, or (admins) put someone else on call.
    Cover(Cover<'a>),
    /// Ask teammates to take `[start, end)` of the actor's own on-call time.
    OfferSwap {
        /// The schedule with the overrides that overlap `[start, end)`.
        schedule: &'a Schedule,
        /// First instant to give away.
        start: Timestamp,
        /// First instant after the time to give away.
        end: Timestamp,
    },
    /// Take an open swap request.
    AcceptSwap {
        /// Who asked.
        requester: &'a str,
    },
    /// Turn down an open swap request.
    DeclineSwap {
        /// Who asked.
        requester: &'a str,
    },
    /// Take back an open swap request.
    WithdrawSwap {
        /// Who asked.
        requester: &'a str,
    },
    /// Create a schedule; add, change or delete its layers and their people.
    EditSchedule,
    /// Replace the schedule's iCal link (the old one stops working).
    RotateIcal,
    /// See everyone's account, invite people, revoke invitations, reactivate accounts.
    ManagePeople,
    /// Deactivate a person's account (and take them off the rosters).
    Deactivate {
        /// Whose account.
        person: &'a str,
        /// That person is an admin whose account is active.
        person_is_active_admin: bool,
        /// How many admins have an active account now (the person included).
        active_admins: usize,
    },
    /// Create, rename or delete teams and set their members.
    ManageTeams,
    /// Add or remove a contact method of `owner`.
    EditContacts {
        /// Whose contact methods.
        owner: &'a str,
    },
}

/// Why an action is refused, with a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not logged in (401).
    LogIn,
    /// Logged in but not allowed (403).
    Forbidden(&'static str),
    /// Allowed in principle, but a field is wrong (400, naming the field).
    Invalid(ValidationError),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::LogIn => f.write_str("You need to log in to do this."),
            Refusal::Forbidden(s) => f.write_str(s),
            Refusal::Invalid(v) => v.fmt(f),
        }
    }
}

impl From<ValidationError> for Refusal {
    fn from(v: ValidationError) -> Self {
        Refusal::Invalid(v)
    }
}

/// Refusal sentence: a viewer tries to change something.
pub const VIEWER_READ_ONLY: &str =
    "Viewers can read schedules but not change who is on call. Ask an admin for the responder role.";
/// Refusal sentence: a non-admin edits a schedule, its layers or its iCal link.
pub const ADMINS_ONLY: &str =
    "Only admins can change schedules, their layers and their calendar links.";
/// Refusal sentence: a responder covers on a schedule they are not part of.
pub const NOT_IN_ROTATION: &str =
    "You can only cover shifts on a schedule whose rotation includes you. Ask an admin to add you to it.";
/// Refusal sentence: a responder puts someone else on call.
pub const ASSIGN_ADMINS_ONLY: &str = "Only admins can put someone else on call.";
/// Refusal sentence: someone outside the rotation answers a swap request.
pub const ANSWER_MEMBERS_ONLY: &str =
    "Only people in this schedule's rotation can answer its swap requests.";
/// Refusal sentence: the requester answers their own swap request.
pub const OWN_REQUEST: &str = "This is your own request. Withdraw it instead of answering it.";
/// Refusal sentence: someone else withdraws a swap request.
pub const WITHDRAW_REQUESTER_ONLY: &str =
    "Only the person who asked, or an admin, can withdraw a swap request.";

/// Refusal sentence: a non-admin manages people or teams.
pub const PEOPLE_ADMINS_ONLY: &str =
    "Only admins can manage people and teams. Ask an admin of your Firstline to do it.";
/// Refusal sentence: an admin deactivates their own account.
pub const NOT_YOURSELF: &str =
    "You cannot deactivate your own account. Ask another admin to do it.";
/// Refusal sentence: the last active admin would be deactivated.
pub const LAST_ADMIN: &str =
    "This is the last active admin. Give another person the admin role before deactivating this one.";
/// Refusal sentence: someone edits another person's contact methods.
pub const OWN_CONTACTS_ONLY: &str = "You can only change your own contact methods.";

/// Decides whether `actor` (`None`: not logged in) may do `action` on a schedule it relates to
/// as `relation`. Checks who first (401/403), then the action's fields (400).
pub fn check(
    actor: Option<Actor<'_>>,
    relation: Relation,
    action: &Action<'_>,
) -> Result<(), Refusal> {
    let Some(actor) = actor else {
        return Err(Refusal::LogIn);
    };
    let admin = actor.role.is_admin();
    match action {
        Action::View => Ok(()),
        Action::EditSchedule | Action::RotateIcal if admin => Ok(()),
        Action::EditSchedule | Action::RotateIcal => Err(Refusal::Forbidden(ADMINS_ONLY)),
        Action::ManagePeople | Action::ManageTeams if admin => Ok(()),
        Action::ManagePeople | Action::ManageTeams => Err(Refusal::Forbidden(PEOPLE_ADMINS_ONLY)),
        Action::Deactivate { .. } if !admin => Err(Refusal::Forbidden(PEOPLE_ADMINS_ONLY)),
        Action::Deactivate { person, .. } if *person == actor.id => {
            Err(Refusal::Forbidden(NOT_YOURSELF))
        }
        Action::Deactivate {
            person_is_active_admin: true,
            active_admins,
            ..
        } if *active_admins <= 1 => Err(Refusal::Forbidden(LAST_ADMIN)),
        Action::Deactivate { .. } => Ok(()),
        Action::EditContacts { owner } if *owner == actor.id => Ok(()),
        Action::EditContacts { .. } => Err(Refusal::Forbidden(OWN_CONTACTS_ONLY)),
        Action::WithdrawSwap { requester } if admin || *requester == actor.id => Ok(()),
        Action::WithdrawSwap { .. } => Err(Refusal::Forbidden(WITHDRAW_REQUESTER_ONLY)),
        _ if actor.role == Role::Viewer => Err(Refusal::Forbidden(VIEWER_READ_ONLY)),
        Action::Cover(c) => cover(actor, relation, c),
        Action::OfferSwap {
            schedule,
            start,
            end,
        } => offer(actor, schedule, *start, *end),
        Action::AcceptSwap { requester } | Action::DeclineSwap { requester } => {
            if *requester == actor.id {
                Err(Refusal::Forbidden(OWN_REQUEST))
            } else if !relation.member {
                Err(Refusal::Forbidden(ANSWER_MEMBERS_ONLY))
            } else {
                Ok(())
            }
        }
    }
}

fn cover(actor: Actor<'_>, relation: Relation, c: &Cover<'_>) -> Result<(), Refusal> {
    let admin = actor.role.is_admin();
    if !admin && !relation.member {
        return Err(Refusal::Forbidden(NOT_IN_ROTATION));
    }
    if !admin && c.user != actor.id {
        return Err(Refusal::Forbidden(ASSIGN_ADMINS_ONLY));
    }
    if !c.user_known {
        return Err(ValidationError::new("user", "no such user").into());
    }
    if c.end <= c.start {
        return Err(ValidationError::new("end", "end must be after start").into());
    }
    let max_days = if admin {
        ADMIN_OVERRIDE_MAX_DAYS
    } else {
        RESPONDER_OVERRIDE_MAX_DAYS
    };
    if c.end.duration_since(c.start) > SignedDuration::from_hours(24 * max_days) {
        let hint = if admin {
            String::new()
        } else {
            format!(" (admins can set up to {ADMIN_OVERRIDE_MAX_DAYS})")
        };
        return Err(ValidationError::new(
            "end",
            format!("an override can last at most {max_days} days{hint}"),
        )
        .into());
    }
    let Some(replaces) = c.replaces else {
        return Ok(());
    };
    if replaces == c.user {
        return Err(
            ValidationError::new("user", "an override cannot replace the same person").into(),
        );
    }
    if !c.replaces_known {
        return Err(ValidationError::new("replaces", "no such user").into());
    }
    let window = Window::new(c.start, c.end).map_err(|e| ValidationError::new("end", e.message))?;
    if !expand(c.schedule, &window)
        .iter()
        .any(|s| s.user.as_deref() == Some(replaces))
    {
        return Err(ValidationError::new(
            "replaces",
            "this person is not on call at any time between start and end",
        )
        .into());
    }
    Ok(())
}

fn offer(
    actor: Actor<'_>,
    schedule: &Schedule,
    start: Timestamp,
    end: Timestamp,
) -> Result<(), Refusal> {
    if end <= start {
        return Err(ValidationError::new("end", "end must be after start").into());
    }
    // Accepting creates an override by a responder, so a request is bounded like one.
    if end.duration_since(start) > SignedDuration::from_hours(24 * RESPONDER_OVERRIDE_MAX_DAYS) {
        return Err(ValidationError::new(
            "end",
            format!("a swap request can cover at most {RESPONDER_OVERRIDE_MAX_DAYS} days; ask an admin for longer"),
        )
        .into());
    }
    let window = Window::new(start, end).map_err(|e| ValidationError::new("end", e.message))?;
    if expand(schedule, &window)
        .iter()
        .any(|s| s.user.as_deref() != Some(actor.id))
    {
        return Err(ValidationError::new(
            "start",
            "you can only give away time when you are on call",
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::{Layer, RosterChange, Rotation, ShiftLength};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Daily UTC rotation from 2026-01-01: ana, ben, vic (a viewer), ada (an admin); "old" was
    /// in the rotation until 2025 only.
    fn schedule() -> Schedule {
        let people = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Schedule {
            time_zone: "UTC".into(),
            layers: vec![Layer {
                id: "base".into(),
                name: "Base".into(),
                rotation: Rotation {
                    time_zone: "UTC".into(),
                    start: "2026-01-01T00:00".parse().unwrap(),
                    shift: ShiftLength::Days(1),
                    rosters: vec![
                        RosterChange {
                            effective_from: Timestamp::MIN,
                            participants: people(&["old", "ana"]),
                        },
                        RosterChange {
                            effective_from: ts("2025-12-01T00:00:00Z"),
                            participants: people(&["ana", "ben", "vic", "ada"]),
                        },
                    ],
                },
                restrictions: vec![],
            }],
            overrides: vec![],
        }
    }

    const NOW: &str = "2025-12-15T00:00:00Z";

    #[derive(Debug, Clone, Copy)]
    enum Who {
        Anonymous,
        /// Admin, not in the rotation.
        Admin,
        /// Admin in the rotation.
        AdminMember,
        /// Responder on call on 2026-01-01 and requester of the swap.
        OnCall,
        /// Responder in the rotation, not on call then.
        Teammate,
        /// Responder on another schedule only.
        Elsewhere,
        /// Responder who left the rotation before now.
        FormerMember,
        /// Viewer, in no rotation.
        Viewer,
        /// Viewer who is (wrongly) in the rotation.
        ViewerMember,
    }

    fn actor(who: Who) -> Option<Actor<'static>> {
        let (id, role) = match who {
            Who::Anonymous => return None,
            Who::Admin => ("root", Role::Admin),
            Who::AdminMember => ("ada", Role::Admin),
            Who::OnCall => ("ana", Role::Responder),
            Who::Teammate => ("ben", Role::Responder),
            Who::Elsewhere => ("out", Role::Responder),
            Who::FormerMember => ("old", Role::Responder),
            Who::Viewer => ("val", Role::Viewer),
            Who::ViewerMember => ("vic", Role::Viewer),
        };
        Some(Actor { id, role })
    }

    #[derive(Debug, Clone, Copy)]
    enum Act {
        View,
        /// Cover ana's shift on 2026-01-01 (one day) for oneself.
        CoverSelf,
        /// Cover the whole day for oneself, whoever is on call.
        CoverAll,
        /// Put ada on call instead of ana.
        Assign,
        /// Put an unknown user on call.
        AssignUnknown,
        /// Cover for oneself for 30 days.
        Cover30,
        /// Cover for oneself for 365 days.
        Cover365,
        /// Replace vic on 2026-01-01, when vic is not on call.
        ReplacesOffDuty,
        /// Replace an unknown user.
        ReplacesUnknown,
        /// Offer 2026-01-01 (ana's day) as a swap.
        Offer,
        Accept,
        Decline,
        Withdraw,
        Edit,
        RotateIcal,
        /// Invite someone (any people-management action).
        People,
        /// Create, rename, delete a team or set its members.
        Teams,
        /// Deactivate ben (a responder) while two admins are active.
        Deactivate,
        /// Deactivate oneself.
        DeactivateSelf,
        /// Deactivate ada, the only active admin.
        DeactivateLastAdmin,
        /// Add an email contact method to oneself.
        OwnContacts,
        /// Add one to zed (nobody in the table).
        OthersContacts,
    }

    const ACTS: [Act; 22] = [
        Act::View,
        Act::CoverSelf,
        Act::CoverAll,
        Act::Assign,
        Act::AssignUnknown,
        Act::Cover30,
        Act::Cover365,
        Act::ReplacesOffDuty,
        Act::ReplacesUnknown,
        Act::Offer,
        Act::Accept,
        Act::Decline,
        Act::Withdraw,
        Act::Edit,
        Act::RotateIcal,
        Act::People,
        Act::Teams,
        Act::Deactivate,
        Act::DeactivateSelf,
        Act::DeactivateLastAdmin,
        Act::OwnContacts,
        Act::OthersContacts,
    ];

    fn run(who: Who, act: Act) -> String {
        let s = schedule();
        let actor = actor(who);
        let me: &'static str = actor.map(|a| a.id).unwrap_or("nobody");
        let relation = Relation::of(&s, me, ts(NOW));
        let day = ts("2026-01-01T00:00:00Z");
        let days = |n: i64| day + SignedDuration::from_hours(24 * n);
        let cover = |user: &'static str, replaces: Option<&'static str>, end: Timestamp| Cover {
            user,
            user_known: user != "ghost",
            replaces,
            replaces_known: replaces != Some("ghost"),
            start: day,
            end,
            schedule: &s,
        };
        let action = match act {
            Act::View => Action::View,
            Act::CoverSelf => Action::Cover(cover(me, Some("ana"), days(1))),
            Act::CoverAll => Action::Cover(cover(me, None, days(1))),
            Act::Assign => Action::Cover(cover("ada", Some("ana"), days(1))),
            Act::AssignUnknown => Action::Cover(cover("ghost", Some("ana"), days(1))),
            Act::Cover30 => Action::Cover(cover(me, Some("ana"), days(30))),
            Act::Cover365 => Action::Cover(cover(me, Some("ana"), days(365))),
            Act::ReplacesOffDuty => Action::Cover(cover(me, Some("vic"), days(1))),
            Act::ReplacesUnknown => Action::Cover(cover(me, Some("ghost"), days(1))),
            Act::Offer => Action::OfferSwap {
                schedule: &s,
                start: day,
                end: days(1),
            },
            Act::Accept => Action::AcceptSwap { requester: "ana" },
            Act::Decline => Action::DeclineSwap { requester: "ana" },
            Act::Withdraw => Action::WithdrawSwap { requester: "ana" },
            Act::Edit => Action::EditSchedule,
            Act::RotateIcal => Action::RotateIcal,
            Act::People => Action::ManagePeople,
            Act::Teams => Action::ManageTeams,
            Act::Deactivate => Action::Deactivate {
                person: "ben",
                person_is_active_admin: false,
                active_admins: 2,
            },
            Act::DeactivateSelf => Action::Deactivate {
                person: me,
                person_is_active_admin: actor.is_some_and(|a| a.role.is_admin()),
                active_admins: 2,
            },
            Act::DeactivateLastAdmin => Action::Deactivate {
                person: "ada",
                person_is_active_admin: true,
                active_admins: 1,
            },
            Act::OwnContacts => Action::EditContacts { owner: me },
            Act::OthersContacts => Action::EditContacts { owner: "zed" },
        };
        match check(actor, relation, &action) {
            Ok(()) => "ok".into(),
            Err(Refusal::LogIn) => "401".into(),
            Err(Refusal::Forbidden(s)) => {
                assert!(s.ends_with('.'), "a sentence: {s}");
                "403".into()
            }
            Err(Refusal::Invalid(v)) => format!("400:{}", v.field),
        }
    }

    /// Every actor against every action; columns in the order of [`ACTS`].
    #[test]
    fn permission_matrix() {
        #[rustfmt::skip]
        let table: [(Who, [&str; 22]); 9] = [
            //                  View  Self       All   Assign Unknown     30         365        OffDuty         Unknown         Offer        Accept Decline Withdraw Edit   Ical  People Teams Deact  Self   Last   OwnC   OthC
            (Who::Anonymous,    ["401","401",    "401","401", "401",      "401",     "401",     "401",          "401",          "401",       "401", "401", "401",   "401", "401", "401", "401", "401", "401", "401", "401", "401"]),
            (Who::Admin,        ["ok", "ok",     "ok", "ok",  "400:user", "ok",      "400:end", "400:replaces", "400:replaces", "400:start", "403", "403", "ok",    "ok",  "ok", "ok",  "ok",  "ok",  "403", "403", "ok",  "403"]),
            (Who::AdminMember,  ["ok", "ok",     "ok", "ok",  "400:user", "ok",      "400:end", "400:replaces", "400:replaces", "400:start", "ok",  "ok",  "ok",    "ok",  "ok", "ok",  "ok",  "ok",  "403", "403", "ok",  "403"]),
            (Who::OnCall,       ["ok", "400:user","ok","403", "403",      "400:end", "400:end", "400:replaces", "400:replaces", "ok",        "403", "403", "ok",    "403", "403", "403", "403", "403", "403", "403", "ok",  "403"]),
            (Who::Teammate,     ["ok", "ok",     "ok", "403", "403",      "400:end", "400:end", "400:replaces", "400:replaces", "400:start", "ok",  "ok",  "403",   "403", "403", "403", "403", "403", "403", "403", "ok",  "403"]),
            (Who::Elsewhere,    ["ok", "403",    "403","403", "403",      "403",     "403",     "403",          "403",          "400:start", "403", "403", "403",   "403", "403", "403", "403", "403", "403", "403", "ok",  "403"]),
            (Who::FormerMember, ["ok", "403",    "403","403", "403",      "403",     "403",     "403",          "403",          "400:start", "403", "403", "403",   "403", "403", "403", "403", "403", "403", "403", "ok",  "403"]),
            (Who::Viewer,       ["ok", "403",    "403","403", "403",      "403",     "403",     "403",          "403",          "403",       "403", "403", "403",   "403", "403", "403", "403", "403", "403", "403", "ok",  "403"]),
            (Who::ViewerMember, ["ok", "403",    "403","403", "403",      "403",     "403",     "403",          "403",          "403",       "403", "403", "403",   "403", "403", "403", "403", "403", "403", "403", "ok",  "403"]),
        ];
        let mut wrong = Vec::new();
        for (who, row) in table {
            for (act, want) in ACTS.iter().zip(row) {
                let got = run(who, *act);
                if got != want {
                    wrong.push(format!("{who:?} {act:?}: got {got}, want {want}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn members_are_current_and_planned_rosters() {
        let mut s = schedule();
        s.layers[0].rotation.rosters.push(RosterChange {
            effective_from: ts("2026-06-01T00:00:00Z"),
            participants: vec!["new".into()],
        });
        let now = ts(NOW);
        let got: Vec<&str> = members(&s, now).into_iter().collect();
        assert_eq!(got, ["ada", "ana", "ben", "new", "vic"]);
        // Before the December change, the first roster is current.
        let early: Vec<&str> = members(&s, ts("2025-01-01T00:00:00Z"))
            .into_iter()
            .collect();
        assert_eq!(early, ["ada", "ana", "ben", "new", "old", "vic"]);
        assert!(Relation::of(&s, "ben", now).member);
        assert!(!Relation::of(&s, "old", now).member);
    }

    #[test]
    fn edge_cases() {
        let s = schedule();
        let day = ts("2026-01-01T00:00:00Z");
        let ben = Some(Actor {
            id: "ben",
            role: Role::Responder,
        });
        let member = Relation { member: true };
        let cover = |end: Timestamp| {
            Action::Cover(Cover {
                user: "ben",
                user_known: true,
                replaces: Some("ana"),
                replaces_known: true,
                start: day,
                end,
                schedule: &s,
            })
        };
        // Exactly 14 days is allowed, a minute more is not; an empty or reversed interval names `end`.
        let d14 = day + SignedDuration::from_hours(24 * 14);
        assert_eq!(check(ben, member, &cover(d14)), Ok(()));
        let more = d14 + SignedDuration::from_mins(1);
        assert!(
            matches!(check(ben, member, &cover(more)), Err(Refusal::Invalid(v)) if v.field == "end" && v.message.contains("14 days"))
        );
        for end in [day, day - SignedDuration::from_hours(1)] {
            assert!(
                matches!(check(ben, member, &cover(end)), Err(Refusal::Invalid(v)) if v.field == "end")
            );
        }
        // An admin's 90 days are allowed, 91 are not.
        let root = Some(Actor {
            id: "root",
            role: Role::Admin,
        });
        let admin_cover = |n: i64| {
            Action::Cover(Cover {
                user: "ben",
                user_known: true,
                replaces: Some("ana"),
                replaces_known: true,
                start: day,
                end: day + SignedDuration::from_hours(24 * n),
                schedule: &s,
            })
        };
        assert_eq!(check(root, Relation::default(), &admin_cover(90)), Ok(()));
        assert!(matches!(
            check(root, Relation::default(), &admin_cover(91)),
            Err(Refusal::Invalid(v)) if v.field == "end"
        ));
        // A requester who became a viewer can still withdraw their own request.
        let viewer_requester = Some(Actor {
            id: "ana",
            role: Role::Viewer,
        });
        assert_eq!(
            check(
                viewer_requester,
                member,
                &Action::WithdrawSwap { requester: "ana" }
            ),
            Ok(())
        );
        // Offering only part of one's own shift is fine; spilling into the next one is not.
        let ana = Some(Actor {
            id: "ana",
            role: Role::Responder,
        });
        let offer = |end: Timestamp| Action::OfferSwap {
            schedule: &s,
            start: day,
            end,
        };
        assert_eq!(
            check(ana, member, &offer(day + SignedDuration::from_hours(4))),
            Ok(())
        );
        assert!(matches!(
            check(ana, member, &offer(day + SignedDuration::from_hours(25))),
            Err(Refusal::Invalid(v)) if v.field == "start"
        ));
        // A request longer than a responder's override limit is refused, even while on call.
        assert!(matches!(
            check(ana, member, &offer(day + SignedDuration::from_hours(24 * RESPONDER_OVERRIDE_MAX_DAYS + 1))),
            Err(Refusal::Invalid(v)) if v.field == "end"
        ));
        // An override already on the schedule counts: after ben covers ana's day, ana is no longer
        // on call then and cannot be replaced again.
        let mut covered = schedule();
        covered.overrides.push(crate::domain::schedule::Override {
            id: "o1".into(),
            user: "ben".into(),
            start: day,
            end: day + SignedDuration::from_hours(24),
            replaces: Some("ana".into()),
        });
        let again = Action::Cover(Cover {
            user: "ada",
            user_known: true,
            replaces: Some("ana"),
            replaces_known: true,
            start: day,
            end: day + SignedDuration::from_hours(24),
            schedule: &covered,
        });
        assert!(matches!(
            check(root, Relation::default(), &again),
            Err(Refusal::Invalid(v)) if v.field == "replaces"
        ));
        assert!(Refusal::LogIn.to_string().contains("log in"));
    }
}
