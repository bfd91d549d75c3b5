//! Escalation: policies (ordered steps over people, schedules and teams), urgency, working hours,
//! and the pure decisions the engine applies. [`advance`] says what a due incident does now
//! (page a step, hold, time out an acknowledgement, give up); [`react`] says how a change to the
//! incident (opened, acknowledged, resolved, re-triggered...) moves its escalation. Neither does
//! I/O: the engine loads the state, asks, and writes the answer and its pages in one transaction.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::ingest::Severity;
use super::oncall::State;
use super::schedule::{restriction_spans, Restriction, Window};
use super::validate::{optional_text, required_text, ValidationError};

/// Most steps in a policy.
pub const STEPS_MAX: usize = 20;
/// Most targets in a step.
pub const TARGETS_MAX: usize = 20;
/// Longest delay between steps, in minutes (one day).
pub const DELAY_MAX_MIN: i64 = 24 * 60;
/// Most repeats of a policy after its first pass.
pub const REPEATS_MAX: i64 = 9;
/// Longest acknowledgement timeout or auto-resolve, in minutes (one week).
pub const TIMEOUT_MAX_MIN: i64 = 7 * 24 * 60;
/// How long someone an incident is reassigned to has to acknowledge before escalation goes on.
pub const REASSIGN_GRACE_MIN: i64 = 5;
/// Longest maintenance window, in minutes (thirty days).
pub const MAINTENANCE_MAX_MIN: i64 = 30 * 24 * 60;

/// What a step pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// One person.
    User,
    /// Whoever the schedule says is on call at the instant the step fires.
    Schedule,
    /// Every active member of a team.
    Team,
}

impl TargetKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::User => "user",
            TargetKind::Schedule => "schedule",
            TargetKind::Team => "team",
        }
    }
}

/// One target of a step.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// Person, schedule or team.
    pub kind: TargetKind,
    /// Its id.
    pub id: String,
}

impl Target {
    /// Reads the form's `kind:id` spelling (`schedule:abc`).
    pub fn parse(s: &str) -> Option<Target> {
        let (kind, id) = s.trim().split_once(':')?;
        let kind = match kind {
            "user" => TargetKind::User,
            "schedule" => TargetKind::Schedule,
            "team" => TargetKind::Team,
            _ => return None,
        };
        let ok = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then(|| Target {
            kind,
            id: id.to_string(),
        })
    }

    /// The form's `kind:id` spelling.
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.id)
    }
}

/// One step: who is paged, and how long to wait for an acknowledgement before the next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Who is paged.
    pub targets: Vec<Target>,
    /// Minutes before the next step if nobody acknowledged.
    pub delay_min: i64,
    /// Page one of the targets' people, the next one for each incident, instead of all.
    #[serde(default)]
    pub round_robin: bool,
}

/// An escalation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// How many times the whole policy runs again after its first pass.
    pub repeats: i64,
    /// The steps, first first.
    pub steps: Vec<Step>,
}

/// A policy as typed in the editor or sent to the API.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PolicyInput {
    /// Its name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Repeats after the first pass.
    #[serde(default)]
    pub repeats: i64,
    /// The steps.
    pub steps: Vec<Step>,
}

impl PolicyInput {
    /// Checks and tidies the input: a name (`name`), 0 to 9 repeats (`repeats`), 1 to 20 steps
    /// (`steps`), each with 1 to 20 distinct targets and a delay of 1 minute to a day
    /// (`steps.N.targets`, `steps.N.delay_min`).
    pub fn normalize(&self) -> Result<PolicyInput, ValidationError> {
        let name = required_text("name", &self.name, 100)?;
        let description =
            optional_text("description", &self.description, 1000)?.unwrap_or_default();
        if !(0..=REPEATS_MAX).contains(&self.repeats) {
            return Err(ValidationError::new(
                "repeats",
                format!("must be between 0 and {REPEATS_MAX}"),
            ));
        }
        if self.steps.is_empty() {
            return Err(ValidationError::new("steps", "add at least one step"));
        }
        if self.steps.len() > STEPS_MAX {
            return Err(ValidationError::new(
                "steps",
                format!("at most {STEPS_MAX} steps"),
            ));
        }
        let mut steps = Vec::with_capacity(self.steps.len());
        for (i, s) in self.steps.iter().enumerate() {
            let n = i + 1;
            let mut targets: Vec<Target> = Vec::new();
            for t in &s.targets {
                if !targets.contains(t) {
                    targets.push(t.clone());
                }
            }
            if targets.is_empty() {
                return Err(ValidationError::new(
                    &format!("steps.{n}.targets"),
                    format!("step {n} pages nobody: choose a person, schedule or team"),
                ));
            }
            if targets.len() > TARGETS_MAX {
                return Err(ValidationError::new(
                    &format!("steps.{n}.targets"),
                    format!("step {n} has more than {TARGETS_MAX} targets"),
                ));
            }
            if !(1..=DELAY_MAX_MIN).contains(&s.delay_min) {
                return Err(ValidationError::new(
                    &format!("steps.{n}.delay_min"),
                    format!("step {n}: wait between 1 and {DELAY_MAX_MIN} minutes"),
                ));
            }
            steps.push(Step {
                targets,
                delay_min: s.delay_min,
                round_robin: s.round_robin,
            });
        }
        Ok(PolicyInput {
            name,
            description,
            repeats: self.repeats,
            steps,
        })
    }
}

/// How urgently an incident must reach someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Wake someone up.
    High,
    /// Can wait (for working hours, when the service says so).
    Low,
}

impl Urgency {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::High => "high",
            Urgency::Low => "low",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Urgency> {
        match s {
            "high" => Some(Urgency::High),
            "low" => Some(Urgency::Low),
            _ => None,
        }
    }
}

/// The urgency of an alert of `severity` on a service whose alerts are high urgency from
/// `high_from` up.
pub fn urgency_of(severity: Severity, high_from: Severity) -> Urgency {
    if severity >= high_from {
        Urgency::High
    } else {
        Urgency::Low
    }
}

/// A weekly window in a zone (working hours): low-urgency incidents wait for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingHours {
    /// IANA zone the window is in.
    pub time_zone: String,
    /// The days and the hours.
    #[serde(flatten)]
    pub window: Restriction,
}

impl WorkingHours {
    /// Checks the zone (`hours_time_zone`) and the days (`hours_days`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if TimeZone::get(&self.time_zone).is_err() {
            return Err(ValidationError::new(
                "hours_time_zone",
                format!("unknown time zone {:?}", self.time_zone),
            ));
        }
        if self.window.days.is_empty() {
            return Err(ValidationError::new(
                "hours_days",
                "choose at least one working day",
            ));
        }
        Ok(())
    }

    /// The open spans from `t` (Unix ms) over the next eight days, merged.
    fn spans(&self, t: i64) -> Vec<(i64, i64)> {
        let (Ok(tz), Ok(start)) = (
            TimeZone::get(&self.time_zone),
            Timestamp::from_millisecond(t),
        ) else {
            return Vec::new();
        };
        let Ok(end) = start.checked_add(SignedDuration::from_hours(8 * 24)) else {
            return Vec::new();
        };
        let Ok(window) = Window::new(start, end) else {
            return Vec::new();
        };
        restriction_spans(std::slice::from_ref(&self.window), &tz, &window)
            .into_iter()
            .map(|(s, e)| (s.as_millisecond(), e.as_millisecond()))
            .collect()
    }

    /// Whether the window is open at `t` (Unix ms).
    pub fn open_at(&self, t: i64) -> bool {
        self.spans(t)
            .first()
            .is_some_and(|(s, e)| *s <= t && t < *e)
    }

    /// When the window next opens at or after `t` (`t` itself when open); `None` if never.
    pub fn next_open(&self, t: i64) -> Option<i64> {
        self.spans(t).first().map(|(s, _)| (*s).max(t))
    }
}

/// How a service pages: its policy, which severities are high urgency, working hours for low
/// urgency, acknowledgement timeout and auto-resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePaging {
    /// The escalation policy; `None`: incidents open but page nobody.
    pub policy_id: Option<String>,
    /// Alerts of this severity or worse are high urgency.
    pub high_urgency_from: Severity,
    /// Low-urgency incidents wait for these hours; `None`: they page at once.
    pub low_urgency_hours: Option<WorkingHours>,
    /// An acknowledgement older than this many minutes triggers the incident again.
    pub ack_timeout_min: Option<i64>,
    /// An incident with no new alert for this many minutes resolves itself.
    pub auto_resolve_min: Option<i64>,
}

impl Default for ServicePaging {
    fn default() -> Self {
        ServicePaging {
            policy_id: None,
            high_urgency_from: Severity::Error,
            low_urgency_hours: None,
            ack_timeout_min: None,
            auto_resolve_min: None,
        }
    }
}

impl ServicePaging {
    /// Checks the hours and the two timeouts (`ack_timeout_min`, `auto_resolve_min`: 1 minute
    /// to a week).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(h) = &self.low_urgency_hours {
            h.validate()?;
        }
        for (field, v) in [
            ("ack_timeout_min", self.ack_timeout_min),
            ("auto_resolve_min", self.auto_resolve_min),
        ] {
            if v.is_some_and(|m| !(1..=TIMEOUT_MAX_MIN).contains(&m)) {
                return Err(ValidationError::new(
                    field,
                    format!("must be between 1 and {TIMEOUT_MAX_MIN} minutes (or empty for never)"),
                ));
            }
        }
        Ok(())
    }
}

/// A service's maintenance window: alerts are recorded, nobody is paged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    /// Its id.
    pub id: String,
    /// The service.
    pub service_id: String,
    /// From (Unix ms).
    pub starts_at: i64,
    /// Until (Unix ms).
    pub ends_at: i64,
    /// Why.
    pub reason: String,
    /// Who set it.
    pub created_by: Option<String>,
}

/// Why the engine will look at an incident again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// Nothing pending (acknowledged, resolved, or not escalating).
    Idle,
    /// The next step fires at the due time.
    Step,
    /// Held (maintenance, or outside working hours): at the due time it looks again.
    Hold,
    /// An acknowledgement runs out at the due time and the incident triggers again.
    AckTimeout,
    /// Every pass of the policy is done: nobody more is paged.
    Exhausted,
    /// A responder asked to escalate now: the next step fires at the due time even during
    /// maintenance or outside working hours.
    Forced,
}

impl Wait {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Wait::Idle => "",
            Wait::Step => "step",
            Wait::Hold => "hold",
            Wait::AckTimeout => "ack_timeout",
            Wait::Exhausted => "exhausted",
            Wait::Forced => "forced",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Wait> {
        Some(match s {
            "" => Wait::Idle,
            "step" => Wait::Step,
            "hold" => Wait::Hold,
            "ack_timeout" => Wait::AckTimeout,
            "exhausted" => Wait::Exhausted,
            "forced" => Wait::Forced,
            _ => return None,
        })
    }
}

/// An incident's escalation state. `(gen, pass, step)` name a step firing uniquely: `gen`
/// counts restarts, `pass` the runs through the policy, `step` the next step to fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscState {
    /// Restarts so far (each re-trigger starts the policy again under a new number).
    pub gen: i64,
    /// The pass through the policy (0 first).
    pub pass: i64,
    /// The next step to fire (0 first; may equal the step count: the pass is over).
    pub step: i64,
    /// When the engine looks again (Unix ms); `None`: nothing pending.
    pub due_at: Option<i64>,
    /// What it will do then.
    pub wait: Wait,
}

impl EscState {
    /// Not escalating.
    pub const IDLE: EscState = EscState {
        gen: 0,
        pass: 0,
        step: 0,
        due_at: None,
        wait: Wait::Idle,
    };

    /// The policy from its first step, now, under a new generation.
    pub fn restart(self, now: i64) -> EscState {
        EscState {
            gen: self.gen + 1,
            pass: 0,
            step: 0,
            due_at: Some(now),
            wait: Wait::Step,
        }
    }

    fn stop(self, wait: Wait) -> EscState {
        EscState {
            due_at: None,
            wait,
            ..self
        }
    }
}

/// What the engine knows about a due incident besides its escalation state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Situation {
    /// Where the incident stands.
    pub status: State,
    /// Acknowledged by a snooze (it wakes on its own; no acknowledgement timeout applies).
    pub snoozed: bool,
    /// The incident's number: round-robin steps start from it, so incidents take turns.
    pub number: i64,
    /// Its urgency.
    pub urgency: Urgency,
    /// The end of the service's maintenance window covering now, if any.
    pub maintenance_until: Option<i64>,
    /// The service's working hours for low urgency, if it has them.
    pub hours: Option<WorkingHours>,
    /// The service's acknowledgement timeout, ms.
    pub ack_timeout_ms: Option<i64>,
}

/// Something an escalation decision makes happen, applied with the new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Page this person for this step firing (`gen`, `pass`, `step` key the page).
    Page {
        /// The user id.
        user: String,
        /// The generation.
        gen: i64,
        /// The pass.
        pass: i64,
        /// The step.
        step: i64,
    },
    /// A timeline entry of `kind` with `body`.
    Note {
        /// Event kind.
        kind: &'static str,
        /// Its JSON body.
        body: Value,
    },
    /// The incident triggers again (its acknowledgement timed out).
    Retrigger,
}

/// A decision: the new state and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    /// The state to store.
    pub state: EscState,
    /// What happens, in order.
    pub effects: Vec<Effect>,
}

fn note(kind: &'static str, body: Value) -> Effect {
    Effect::Note { kind, body }
}

/// Decides what a due incident does at `now`: fires the next step (paging whoever its targets
/// resolve to through `oncall` at this instant), holds it (maintenance; low urgency outside
/// working hours), re-triggers it (an acknowledgement timed out) or gives up (every pass done).
/// A state not yet due is returned unchanged. A step whose targets resolve to nobody is noted
/// and the next one fires at once; a policy that reaches nobody at all is given up on.
pub fn advance(
    state: EscState,
    sit: &Situation,
    policy: Option<&Policy>,
    oncall: &dyn Fn(&Target) -> Vec<String>,
    now: i64,
) -> Advance {
    let mut st = state;
    let mut effects = Vec::new();
    let done = |st: EscState, effects: Vec<Effect>| Advance { state: st, effects };
    if sit.status == State::Resolved {
        return done(st.stop(Wait::Idle), effects);
    }
    if st.due_at.is_none_or(|d| d > now) {
        return done(st, effects);
    }
    match st.wait {
        Wait::Idle | Wait::Exhausted => return done(st.stop(st.wait), effects),
        Wait::AckTimeout if sit.status == State::Acknowledged => {
            if sit.snoozed {
                return done(st.stop(Wait::Idle), effects);
            }
            effects.push(note("ack_timeout", json!({})));
            effects.push(Effect::Retrigger);
            st = st.restart(now);
        }
        Wait::AckTimeout | Wait::Step | Wait::Hold | Wait::Forced => {
            if sit.status == State::Acknowledged {
                return done(st.stop(Wait::Idle), effects);
            }
        }
    }
    // A responder's "escalate now" is not held back.
    let forced = st.wait == Wait::Forced;
    if let Some(until) = sit.maintenance_until.filter(|u| *u > now && !forced) {
        effects.push(note(
            "escalation_held",
            json!({ "why": "maintenance", "until": until }),
        ));
        st.wait = Wait::Hold;
        st.due_at = Some(until);
        return done(st, effects);
    }
    if sit.urgency == Urgency::Low && !forced {
        if let Some(until) = sit.hours.as_ref().and_then(|h| h.next_open(now)) {
            if until > now {
                effects.push(note(
                    "escalation_held",
                    json!({ "why": "working_hours", "until": until }),
                ));
                st.wait = Wait::Hold;
                st.due_at = Some(until);
                return done(st, effects);
            }
        }
    }
    let Some(policy) = policy.filter(|p| !p.steps.is_empty()) else {
        effects.push(note("no_policy", json!({})));
        return done(st.stop(Wait::Exhausted), effects);
    };
    let len = policy.steps.len() as i64;
    let mut empty_in_a_row = 0;
    loop {
        if st.step >= len {
            st.step = 0;
            st.pass += 1;
        }
        if st.pass > policy.repeats {
            effects.push(note(
                "escalation_exhausted",
                json!({ "passes": policy.repeats + 1 }),
            ));
            return done(st.stop(Wait::Exhausted), effects);
        }
        if empty_in_a_row >= len {
            effects.push(note("nobody_to_page", json!({})));
            return done(st.stop(Wait::Exhausted), effects);
        }
        let (k, pass) = (st.step, st.pass);
        let step = &policy.steps[k as usize];
        st.step += 1;
        let users = step_users(step, sit.number + pass, oncall);
        if users.is_empty() {
            empty_in_a_row += 1;
            effects.push(note("step_empty", json!({ "step": k, "pass": pass })));
            continue;
        }
        effects.push(note(
            "step_fired",
            json!({ "step": k, "pass": pass, "users": users, "last": k + 1 == len && pass == policy.repeats }),
        ));
        for user in users {
            effects.push(Effect::Page {
                user,
                gen: st.gen,
                pass,
                step: k,
            });
        }
        st.wait = Wait::Step;
        st.due_at = Some(now + step.delay_min * 60_000);
        return done(st, effects);
    }
}

/// The people a step pages: its targets resolved through `oncall`, each person once, in
/// order; for a round-robin step, the one whose turn `turn` is.
pub fn step_users(step: &Step, turn: i64, oncall: &dyn Fn(&Target) -> Vec<String>) -> Vec<String> {
    let mut users: Vec<String> = Vec::new();
    for t in &step.targets {
        for u in oncall(t) {
            if !users.contains(&u) {
                users.push(u);
            }
        }
    }
    if step.round_robin && !users.is_empty() {
        let i = turn.rem_euclid(users.len() as i64) as usize;
        users = vec![users.swap_remove(i)];
    }
    users
}

/// A change to an incident that moves its escalation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new incident: escalation starts now, from the first step.
    Opened,
    /// Back to triggered (by a responder, or a snooze that ended): the policy starts again.
    Retriggered,
    /// Acknowledged: escalation stops, or waits for the acknowledgement timeout.
    Acknowledged,
    /// Acknowledged for a while by a snooze: escalation stops until it wakes.
    Snoozed,
    /// Resolved: escalation stops.
    Resolved,
    /// "Escalate now": the next step fires now (a new run if every pass was done).
    EscalateNow,
    /// Handed to someone (who is paged directly): the next step fires after `grace_ms` unless
    /// they acknowledge.
    Reassigned {
        /// How long the new owner has.
        grace_ms: i64,
    },
}

/// How `change` at `now` moves an escalation state (`ack_timeout_ms`: the service's).
pub fn react(state: EscState, change: Change, ack_timeout_ms: Option<i64>, now: i64) -> EscState {
    match change {
        Change::Opened | Change::Retriggered => state.restart(now),
        Change::Acknowledged => match ack_timeout_ms {
            Some(t) => EscState {
                due_at: Some(now + t),
                wait: Wait::AckTimeout,
                ..state
            },
            None => state.stop(Wait::Idle),
        },
        Change::Snoozed | Change::Resolved => state.stop(Wait::Idle),
        Change::EscalateNow => {
            let from = match state.wait {
                Wait::Exhausted => state.restart(now),
                _ => state,
            };
            EscState {
                due_at: Some(now),
                wait: Wait::Forced,
                ..from
            }
        }
        Change::Reassigned { grace_ms } => match state.wait {
            Wait::Exhausted => state,
            _ => EscState {
                due_at: Some(now + grace_ms),
                wait: Wait::Step,
                ..state
            },
        },
    }
}

/// The step and pass that fire next (0-based), as [`advance`] will see them: past the last
/// step of a policy of `shape` (`steps`, `repeats`) is the next pass's first step.
pub fn upcoming(esc: &EscState, shape: Option<(i64, i64)>) -> (i64, i64) {
    match shape {
        Some((steps, _)) if steps > 0 && esc.step >= steps => (0, esc.pass + 1),
        _ => (esc.step, esc.pass),
    }
}

/// The one line an incident's page says about its escalation, given when it moves next
/// (`due`, already written in the reader's zone) and its policy's shape (`steps`, `repeats`),
/// when it has one; `None` when there is nothing to say.
pub fn status_line(
    state: State,
    esc: &EscState,
    shape: Option<(i64, i64)>,
    due: Option<&str>,
) -> Option<String> {
    if state == State::Resolved {
        return None;
    }
    let due = due.unwrap_or("now");
    let (step, pass) = upcoming(esc, shape);
    let over = shape.is_some_and(|(_, repeats)| pass > repeats);
    let repeat = if pass > 0 {
        format!(" (repeat {pass})")
    } else {
        String::new()
    };
    match (esc.wait, state) {
        (Wait::Step, State::Triggered) if over => Some(format!(
            "Every step has paged: if nobody acknowledges by {due}, escalation is exhausted"
        )),
        (Wait::Step, State::Triggered) => Some(format!(
            "Escalating: step {} pages at {due}{repeat} unless someone acknowledges",
            step + 1
        )),
        (Wait::Forced, State::Triggered) => Some("Escalating now, as asked".to_string()),
        (Wait::Hold, _) => Some(format!(
            "Nobody is paged until {due} (see the timeline for why)"
        )),
        (Wait::AckTimeout, State::Acknowledged) => Some(format!(
            "The acknowledgement runs out at {due}: then it triggers again unless resolved"
        )),
        (Wait::Exhausted, State::Triggered) => Some(
            "Escalation exhausted: nobody more will be paged. Acknowledge it, or escalate now to start again"
                .to_string(),
        ),
        _ => None,
    }
}

/// For a service with no escalation policy: an escalation that would start paging now stops
/// there instead, exhausted (the caller says so on the timeline); `None` when nothing starts.
pub fn starts_unstaffed(next: EscState, now: i64) -> Option<EscState> {
    (next.wait == Wait::Step && next.due_at.is_some_and(|d| d <= now)).then_some(EscState {
        due_at: None,
        wait: Wait::Exhausted,
        ..next
    })
}

/// One step as the editor and the service page preview it: who would be paged if it fired now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepPreview {
    /// 0-based.
    pub index: usize,
    /// Minutes after the previous step that it fires (0 for the first).
    pub after_min: i64,
    /// Who it would page now (for round robin: the one whose turn it would be first).
    pub users: Vec<String>,
    /// Its targets that resolve to nobody now.
    pub empty: Vec<Target>,
}

/// What each step of `policy` would page if an alert came in now.
pub fn preview(policy: &Policy, oncall: &dyn Fn(&Target) -> Vec<String>) -> Vec<StepPreview> {
    let mut after = 0;
    policy
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let p = StepPreview {
                index,
                after_min: after,
                users: step_users(step, 0, oncall),
                empty: step
                    .targets
                    .iter()
                    .filter(|t| oncall(t).is_empty())
                    .cloned()
                    .collect(),
            };
            after += step.delay_min;
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{time, Weekday};
    use proptest::prelude::*;

    const MIN: i64 = 60_000;

    fn user(id: &str) -> Target {
        Target {
            kind: TargetKind::User,
            id: id.into(),
        }
    }

    fn sched(id: &str) -> Target {
        Target {
            kind: TargetKind::Schedule,
            id: id.into(),
        }
    }

    fn policy(steps: Vec<(Vec<Target>, i64, bool)>, repeats: i64) -> Policy {
        Policy {
            id: "p".into(),
            name: "P".into(),
            description: String::new(),
            repeats,
            steps: steps
                .into_iter()
                .map(|(targets, delay_min, round_robin)| Step {
                    targets,
                    delay_min,
                    round_robin,
                })
                .collect(),
        }
    }

    fn sit(status: State) -> Situation {
        Situation {
            status,
            snoozed: false,
            number: 1,
            urgency: Urgency::High,
            maintenance_until: None,
            hours: None,
            ack_timeout_ms: None,
        }
    }

    /// Users are themselves; schedule "s" is whoever `on` says; team "t" is a and b.
    fn resolver(on: &'static str) -> impl Fn(&Target) -> Vec<String> {
        move |t: &Target| match t.kind {
            TargetKind::User => vec![t.id.clone()],
            TargetKind::Schedule if t.id == "s" && !on.is_empty() => vec![on.to_string()],
            TargetKind::Schedule => vec![],
            TargetKind::Team => vec!["a".into(), "b".into()],
        }
    }

    fn paged(a: &Advance) -> Vec<String> {
        a.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Page { user, .. } => Some(user.clone()),
                _ => None,
            })
            .collect()
    }

    fn kinds(a: &Advance) -> Vec<&'static str> {
        a.effects
            .iter()
            .map(|e| match e {
                Effect::Note { kind, .. } => *kind,
                Effect::Page { .. } => "page",
                Effect::Retrigger => "retrigger",
            })
            .collect()
    }

    #[test]
    fn first_line_then_secondary_then_team_repeating() {
        let p = policy(
            vec![
                (vec![sched("s")], 5, false),
                (vec![user("maya")], 5, false),
                (
                    vec![Target {
                        kind: TargetKind::Team,
                        id: "t".into(),
                    }],
                    5,
                    false,
                ),
            ],
            1,
        );
        let on = resolver("jonas");
        let s = sit(State::Triggered);
        let mut st = react(EscState::IDLE, Change::Opened, None, 0);
        let mut log = Vec::new();
        for _ in 0..7 {
            let now = st.due_at.expect("due");
            let a = advance(st, &s, Some(&p), &on, now);
            log.push((now / MIN, paged(&a)));
            st = a.state;
        }
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            log,
            vec![
                (0, v(&["jonas"])),
                (5, v(&["maya"])),
                (10, v(&["a", "b"])),
                (15, v(&["jonas"])),
                (20, v(&["maya"])),
                (25, v(&["a", "b"])),
                (30, v(&[])),
            ]
        );
        assert_eq!(st.wait, Wait::Exhausted);
        assert_eq!(st.due_at, None);
    }

    #[test]
    fn decisions_table() {
        let p = policy(
            vec![(vec![user("a")], 5, false), (vec![user("b")], 5, false)],
            0,
        );
        let on = resolver("");
        let step = |step, due| EscState {
            gen: 1,
            pass: 0,
            step,
            due_at: Some(due),
            wait: Wait::Step,
        };
        let mut held = sit(State::Triggered);
        held.maintenance_until = Some(100 * MIN);
        let mut acked = sit(State::Acknowledged);
        acked.ack_timeout_ms = Some(30 * MIN);
        let timeout = EscState {
            wait: Wait::AckTimeout,
            ..step(1, 40 * MIN)
        };
        let mut snoozed = acked.clone();
        snoozed.snoozed = true;
        let mut held_too = sit(State::Triggered);
        held_too.maintenance_until = Some(100 * MIN);
        // Low urgency at midnight UTC (time 0), hours 09:00-17:00 UTC every day.
        let mut low_at_night = sit(State::Triggered);
        low_at_night.urgency = Urgency::Low;
        low_at_night.hours = Some(WorkingHours {
            time_zone: "UTC".into(),
            window: Restriction {
                days: vec![
                    Weekday::Monday,
                    Weekday::Tuesday,
                    Weekday::Wednesday,
                    Weekday::Thursday,
                    Weekday::Friday,
                    Weekday::Saturday,
                    Weekday::Sunday,
                ],
                start: time(9, 0, 0, 0),
                end: time(17, 0, 0, 0),
            },
        });
        /// Name, state, situation, now, effects, next due, next wait.
        type Case<'a> = (
            &'a str,
            EscState,
            Situation,
            i64,
            Vec<&'a str>,
            Option<i64>,
            Wait,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("not due yet", step(0, 10 * MIN), sit(State::Triggered), 9 * MIN, vec![], Some(10 * MIN), Wait::Step),
            ("due: first step", step(0, 0), sit(State::Triggered), 0, vec!["step_fired", "page"], Some(5 * MIN), Wait::Step),
            ("late step runs at once, once", step(1, 5 * MIN), sit(State::Triggered), 60 * MIN, vec!["step_fired", "page"], Some(65 * MIN), Wait::Step),
            ("acknowledged stops it", step(1, 5 * MIN), sit(State::Acknowledged), 5 * MIN, vec![], None, Wait::Idle),
            ("resolved stops it", step(1, 5 * MIN), sit(State::Resolved), 5 * MIN, vec![], None, Wait::Idle),
            ("maintenance holds to its end", step(0, 0), held.clone(), 0, vec!["escalation_held"], Some(100 * MIN), Wait::Hold),
            ("after maintenance it pages", EscState { wait: Wait::Hold, ..step(0, 100 * MIN) }, held, 100 * MIN, vec!["step_fired", "page"], Some(105 * MIN), Wait::Step),
            ("escalate now is not held by maintenance", EscState { wait: Wait::Forced, ..step(0, 0) }, held_too.clone(), 0, vec!["step_fired", "page"], Some(5 * MIN), Wait::Step),
            ("nor by working hours", EscState { wait: Wait::Forced, ..step(0, 0) }, low_at_night.clone(), 0, vec!["step_fired", "page"], Some(5 * MIN), Wait::Step),
            ("an incident opened at night waits", step(0, 0), low_at_night, 0, vec!["escalation_held"], Some(9 * 60 * MIN), Wait::Hold),
            ("ack timeout re-triggers from step 1", timeout, acked.clone(), 40 * MIN, vec!["ack_timeout", "retrigger", "step_fired", "page"], Some(45 * MIN), Wait::Step),
            ("a snooze is not an ack timeout", timeout, snoozed, 40 * MIN, vec![], None, Wait::Idle),
            ("last step done: exhausted", step(2, 10 * MIN), sit(State::Triggered), 10 * MIN, vec!["escalation_exhausted"], None, Wait::Exhausted),
        ];
        for (name, st, s, now, want, due, wait) in cases {
            let a = advance(st, &s, Some(&p), &on, now);
            assert_eq!(kinds(&a), want, "{name}");
            assert_eq!((a.state.due_at, a.state.wait), (due, wait), "{name}");
        }
        let a = advance(step(0, 0), &sit(State::Triggered), None, &on, 0);
        assert_eq!(kinds(&a), vec!["no_policy"]);
        assert_eq!(a.state.wait, Wait::Exhausted);
    }

    #[test]
    fn empty_steps_are_noted_and_skipped_at_once_and_an_empty_policy_gives_up() {
        let p = policy(
            vec![(vec![sched("s")], 5, false), (vec![user("b")], 5, false)],
            2,
        );
        let st = EscState::IDLE.restart(0);
        let a = advance(st, &sit(State::Triggered), Some(&p), &resolver(""), 0);
        assert_eq!(kinds(&a), vec!["step_empty", "step_fired", "page"]);
        assert_eq!(paged(&a), vec!["b"]);
        let nobody = policy(
            vec![(vec![sched("s")], 5, false), (vec![sched("x")], 5, false)],
            2,
        );
        let a = advance(st, &sit(State::Triggered), Some(&nobody), &resolver(""), 0);
        assert_eq!(
            kinds(&a),
            vec!["step_empty", "step_empty", "nobody_to_page"]
        );
        assert_eq!(a.state.wait, Wait::Exhausted);
    }

    #[test]
    fn round_robin_rotates_per_incident_and_per_pass() {
        let p = policy(vec![(vec![user("a"), user("b"), user("c")], 5, true)], 1);
        let on = resolver("");
        let first = |number| {
            let mut s = sit(State::Triggered);
            s.number = number;
            paged(&advance(EscState::IDLE.restart(0), &s, Some(&p), &on, 0))
        };
        assert_eq!(
            [first(0), first(1), first(2), first(3)].concat(),
            vec!["a", "b", "c", "a"]
        );
        let mut s = sit(State::Triggered);
        s.number = 0;
        let a = advance(EscState::IDLE.restart(0), &s, Some(&p), &on, 0);
        let b = advance(a.state, &s, Some(&p), &on, 5 * MIN);
        assert_eq!(
            paged(&b),
            vec!["b"],
            "the second pass pages the next person"
        );
    }

    #[test]
    fn low_urgency_waits_for_working_hours() {
        let p = policy(vec![(vec![user("a")], 5, false)], 0);
        let hours = WorkingHours {
            time_zone: "Europe/Berlin".into(),
            window: Restriction {
                days: vec![
                    Weekday::Monday,
                    Weekday::Tuesday,
                    Weekday::Wednesday,
                    Weekday::Thursday,
                    Weekday::Friday,
                ],
                start: time(9, 0, 0, 0),
                end: time(17, 0, 0, 0),
            },
        };
        // Saturday 2026-11-28 03:10 in Berlin (02:10 UTC); Monday 09:00 Berlin is 08:00 UTC.
        let sat = "2026-11-28T02:10:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        let mon = "2026-11-30T08:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        let mut s = sit(State::Triggered);
        s.urgency = Urgency::Low;
        s.hours = Some(hours.clone());
        let a = advance(
            EscState::IDLE.restart(sat),
            &s,
            Some(&p),
            &resolver(""),
            sat,
        );
        assert_eq!(kinds(&a), vec!["escalation_held"]);
        assert_eq!(a.state.due_at, Some(mon));
        let b = advance(a.state, &s, Some(&p), &resolver(""), mon);
        assert_eq!(paged(&b), vec!["a"]);
        s.urgency = Urgency::High;
        let c = advance(
            EscState::IDLE.restart(sat),
            &s,
            Some(&p),
            &resolver(""),
            sat,
        );
        assert_eq!(paged(&c), vec!["a"], "high urgency never waits");
        assert!(hours.open_at(mon) && !hours.open_at(sat));
    }

    #[test]
    fn reactions() {
        let run = EscState {
            gen: 2,
            pass: 1,
            step: 1,
            due_at: Some(50),
            wait: Wait::Step,
        };
        assert_eq!(
            react(run, Change::Opened, None, 7),
            EscState {
                gen: 3,
                pass: 0,
                step: 0,
                due_at: Some(7),
                wait: Wait::Step
            }
        );
        assert_eq!(react(run, Change::Acknowledged, None, 7).due_at, None);
        assert_eq!(
            react(run, Change::Acknowledged, Some(10), 7),
            EscState {
                due_at: Some(17),
                wait: Wait::AckTimeout,
                ..run
            }
        );
        assert_eq!(react(run, Change::Snoozed, Some(10), 7).wait, Wait::Idle);
        assert_eq!(react(run, Change::Resolved, None, 7).due_at, None);
        assert_eq!(
            react(run, Change::EscalateNow, None, 7),
            EscState {
                due_at: Some(7),
                wait: Wait::Forced,
                ..run
            }
        );
        let gone = EscState {
            due_at: None,
            wait: Wait::Exhausted,
            ..run
        };
        assert_eq!(react(gone, Change::EscalateNow, None, 7).gen, 3);
        assert_eq!(
            react(run, Change::Reassigned { grace_ms: 5 }, None, 7).due_at,
            Some(12)
        );
    }

    #[test]
    fn without_a_policy_nothing_starts() {
        let started = react(EscState::IDLE, Change::Opened, None, 7);
        assert_eq!(
            starts_unstaffed(started, 7),
            Some(EscState {
                due_at: None,
                wait: Wait::Exhausted,
                ..started
            })
        );
        let acked = react(started, Change::Acknowledged, Some(60_000), 8);
        assert_eq!(
            starts_unstaffed(acked, 8),
            None,
            "an ack timeout is not a start"
        );
        let later = react(started, Change::Reassigned { grace_ms: 5 }, None, 8);
        assert_eq!(starts_unstaffed(later, 8), None);
    }

    #[test]
    fn status_lines() {
        let at = Some("03:15 CET");
        let esc = |step, pass, wait| EscState {
            gen: 1,
            pass,
            step,
            due_at: Some(1),
            wait,
        };
        let line = |st, e: EscState, shape| status_line(st, &e, shape, at).unwrap_or_default();
        let three_twice = Some((3, 1));
        assert_eq!(
            line(State::Triggered, esc(1, 0, Wait::Step), three_twice),
            "Escalating: step 2 pages at 03:15 CET unless someone acknowledges"
        );
        assert!(line(State::Triggered, esc(3, 0, Wait::Step), three_twice)
            .contains("step 1 pages at 03:15 CET (repeat 1)"));
        assert!(line(State::Triggered, esc(3, 1, Wait::Step), three_twice)
            .starts_with("Every step has paged: if nobody acknowledges by 03:15 CET"));
        assert!(line(State::Triggered, esc(0, 0, Wait::Hold), None)
            .starts_with("Nobody is paged until 03:15 CET"));
        assert!(line(State::Acknowledged, esc(1, 0, Wait::AckTimeout), None)
            .contains("runs out at 03:15 CET"));
        assert!(line(State::Triggered, esc(0, 0, Wait::Exhausted), None)
            .starts_with("Escalation exhausted"));
        assert_eq!(
            status_line(State::Acknowledged, &esc(0, 0, Wait::Idle), None, at),
            None
        );
        assert_eq!(
            status_line(State::Resolved, &esc(0, 0, Wait::Step), None, at),
            None
        );
    }

    #[test]
    fn input_is_checked_field_by_field() {
        let good = PolicyInput {
            name: " Crates ".into(),
            description: String::new(),
            repeats: 2,
            steps: vec![Step {
                targets: vec![user("a"), user("a")],
                delay_min: 5,
                round_robin: false,
            }],
        };
        let n = good.normalize().unwrap();
        assert_eq!((n.name.as_str(), n.steps[0].targets.len()), ("Crates", 1));
        let field = |f: &dyn Fn(&mut PolicyInput)| {
            let mut p = good.clone();
            f(&mut p);
            p.normalize().unwrap_err().field
        };
        assert_eq!(field(&|p| p.name = " ".into()), "name");
        assert_eq!(field(&|p| p.repeats = 10), "repeats");
        assert_eq!(field(&|p| p.steps.clear()), "steps");
        assert_eq!(field(&|p| p.steps[0].targets.clear()), "steps.1.targets");
        assert_eq!(field(&|p| p.steps[0].delay_min = 0), "steps.1.delay_min");
        assert_eq!(Target::parse("schedule:ab12"), Some(sched("ab12")));
        assert_eq!(Target::parse("schedule:a b"), None);
        assert_eq!(Target::parse("room:a"), None);
    }

    proptest! {
        /// Driven by the clock with random acknowledgements and re-triggers: within a run, steps
        /// fire in order, each once, never before the previous step's delay, never beyond the
        /// repeats; an acknowledgement stops paging; an unacknowledged run ends exhausted.
        #[test]
        fn escalation_never_skips_repeats_or_outlives_an_ack(
            delays in prop::collection::vec(1i64..30, 1..5),
            empty in prop::collection::vec(any::<bool>(), 5),
            repeats in 0i64..3,
            acks in prop::collection::vec(0i64..400, 0..3),
            ack_timeout in prop::option::of(1i64..60),
        ) {
            let steps: Vec<(Vec<Target>, i64, bool)> = delays.iter().enumerate()
                .map(|(i, d)| (vec![if empty[i] { sched("x") } else { user(&format!("u{i}")) }], *d, false))
                .collect();
            let len = steps.len() as i64;
            let p = policy(steps, repeats);
            let on = resolver("");
            let mut s = sit(State::Triggered);
            s.ack_timeout_ms = ack_timeout.map(|m| m * MIN);
            let mut st = react(EscState::IDLE, Change::Opened, None, 0);
            let mut acks: Vec<i64> = acks.iter().map(|m| m * MIN).collect();
            acks.sort_unstable();
            let mut acks = acks.into_iter().peekable();
            // (gen, pass, step) fired or found empty, in order, with the time.
            let mut fired: Vec<(i64, i64, i64, i64)> = Vec::new();
            let mut last_fire: Option<(i64, i64, i64)> = None;
            let mut guard = 0;
            while let Some(due) = st.due_at {
                guard += 1;
                prop_assert!(guard < 500, "runs away");
                if let Some(&ack) = acks.peek() {
                    if ack < due {
                        acks.next();
                        if s.status == State::Triggered {
                            s.status = State::Acknowledged;
                            st = react(st, Change::Acknowledged, s.ack_timeout_ms, ack);
                        }
                        continue;
                    }
                }
                let a = advance(st, &s, Some(&p), &on, due);
                for e in &a.effects {
                    match e {
                        Effect::Retrigger => s.status = State::Triggered,
                        Effect::Note { kind: "step_fired" | "step_empty", body } => {
                            let step = body["step"].as_i64().unwrap();
                            let pass = body["pass"].as_i64().unwrap();
                            fired.push((a.state.gen, pass, step, due));
                        }
                        Effect::Page { pass, .. } => {
                            prop_assert!(*pass <= repeats);
                            prop_assert_eq!(s.status, State::Triggered, "paged while acknowledged");
                        }
                        _ => {}
                    }
                }
                // Within a run, a step fires no earlier than the previous one's delay after it.
                if let Some(Effect::Page { gen, step, .. }) = a.effects.iter().find(|e| matches!(e, Effect::Page { .. })) {
                    if let Some((_, t, delay)) = last_fire.filter(|(g, _, _)| g == gen) {
                        prop_assert!(due >= t + delay, "fired early");
                    }
                    last_fire = Some((*gen, due, delays[*step as usize] * MIN));
                }
                st = a.state;
            }
            // Per generation, the firings are exactly (0,0), (0,1), ... in order.
            let mut gens: Vec<i64> = fired.iter().map(|f| f.0).collect();
            gens.dedup();
            for g in gens {
                let seq: Vec<(i64, i64)> = fired.iter().filter(|f| f.0 == g).map(|f| (f.1, f.2)).collect();
                let want: Vec<(i64, i64)> = (0..=repeats).flat_map(|p| (0..len).map(move |k| (p, k))).take(seq.len()).collect();
                prop_assert_eq!(seq, want);
            }
            if s.status == State::Triggered {
                prop_assert_eq!(st.wait, Wait::Exhausted);
            } else {
                prop_assert!(st.wait == Wait::Idle || st.wait == Wait::AckTimeout || st.wait == Wait::Exhausted);
            }
        }
    }
}
