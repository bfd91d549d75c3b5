//! On-call schedules: rotations, layers with weekly restrictions, overrides and swap requests, expanded into final shifts.
//!
//! Everything here is pure: no I/O and no clock. Callers pass the [`Window`] they want expanded
//! (and `t` for point queries). All time-zone math is jiff's; see [`resolve_wall_clock`] for the
//! rule used when a local wall-clock time does not exist (spring forward) or exists twice (fall back).

use std::collections::BTreeMap;

use jiff::civil::{self, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::validate::ValidationError;

/// The id of a member who can be on call.
pub type UserId = String;

/// Length of one shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "unit", content = "count", rename_all = "snake_case")]
pub enum ShiftLength {
    /// A number of wall-clock hours.
    Hours(u32),
    /// A number of calendar days (the hand-off keeps its local time across DST).
    Days(u32),
    /// A number of calendar weeks (the hand-off keeps its weekday and local time).
    Weeks(u32),
}

impl ShiftLength {
    /// The length in civil (wall-clock) hours: a civil day is always 24 of them, whatever DST does.
    pub fn civil_hours(self) -> i64 {
        match self {
            Self::Hours(h) => i64::from(h),
            Self::Days(d) => i64::from(d) * 24,
            Self::Weeks(w) => i64::from(w) * 7 * 24,
        }
    }
}

/// Participants of a rotation from a given instant on (shifts starting at or after `effective_from` use this list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterChange {
    /// From this instant on, shifts that start use `participants`.
    pub effective_from: Timestamp,
    /// Members in hand-off order.
    pub participants: Vec<UserId>,
}

/// A rotation: participants take turns in shifts of a fixed wall-clock length in one time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// IANA name of the rotation's zone, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Local wall-clock time of the first hand-off, e.g. `2026-11-23T09:00` (a Monday for weekly).
    pub start: civil::DateTime,
    /// Length of every shift.
    pub shift: ShiftLength,
    /// Roster changes sorted by `effective_from`; the first applies from the beginning.
    pub rosters: Vec<RosterChange>,
}

/// A weekly time window in the layer's zone: on `days`, from `start` to `end`.
///
/// `end <= start` means the window runs past midnight into the next day; `start == end` means
/// a whole day (24 wall-clock hours from `start`, so `00:00`–`00:00` is the calendar day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restriction {
    /// Days on which the window opens, serialized as lowercase English names (`"monday"`).
    #[serde(with = "weekday_names")]
    pub days: Vec<Weekday>,
    /// Local time at which the window opens.
    pub start: civil::Time,
    /// Local time at which the window closes (on the next day if not after `start`).
    pub end: civil::Time,
}

/// One layer of a schedule: a rotation, optionally active only inside weekly windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// Stable id, used as the source of the shifts it produces.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// Who is on call, and when hand-offs happen.
    pub rotation: Rotation,
    /// Windows in which the layer is active; none means always active.
    pub restrictions: Vec<Restriction>,
}

/// "Y covers X from t1 to t2" (`replaces = Some(X)`: only where X would be on call) or "Y covers all of t1..t2" (`replaces = None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// Stable id, used as the source of the shifts it produces.
    pub id: String,
    /// Who is on call instead.
    pub user: UserId,
    /// First instant covered.
    pub start: Timestamp,
    /// First instant no longer covered.
    pub end: Timestamp,
    /// Whom the override stands in for; `None` covers the whole interval whoever was on call.
    pub replaces: Option<UserId>,
}

/// A schedule: layers (index 0 lowest; a higher index wins where several layers have someone) and overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The zone the schedule is shown in (each layer computes in its rotation's zone).
    pub time_zone: String,
    /// Layers, lowest first.
    pub layers: Vec<Layer>,
    /// Overrides; a later one wins over an earlier one where both apply.
    pub overrides: Vec<Override>,
}

/// Where a final shift comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShiftSource {
    /// A layer's rotation.
    Layer {
        /// The layer's id.
        layer_id: String,
    },
    /// An override.
    Override {
        /// The override's id.
        override_id: String,
    },
}

/// A final shift: `user` None means nobody is on call (a gap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// First instant of the shift.
    pub start: Timestamp,
    /// First instant after the shift.
    pub end: Timestamp,
    /// Who is on call; `None` for a gap.
    pub user: Option<UserId>,
    /// Which layer or override put `user` there; `None` for a gap.
    pub source: Option<ShiftSource>,
}

/// A half-open interval `[start, end)` to expand a schedule over; at most 366 days long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WindowFields")]
pub struct Window {
    /// First instant of the window.
    pub start: Timestamp,
    /// First instant after the window.
    pub end: Timestamp,
}

/// The longest window [`Window::new`] accepts.
pub const MAX_WINDOW: SignedDuration = SignedDuration::from_hours(366 * 24);

#[derive(Deserialize)]
struct WindowFields {
    start: Timestamp,
    end: Timestamp,
}

impl TryFrom<WindowFields> for Window {
    type Error = ValidationError;

    fn try_from(f: WindowFields) -> Result<Self, Self::Error> {
        Window::new(f.start, f.end)
    }
}

impl Window {
    /// Checks that `start < end` (field `from`) and that the window is at most 366 days long (field `to`).
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Window, ValidationError> {
        if start >= end {
            return Err(ValidationError::new("from", "from must be before to"));
        }
        if end.duration_since(start) > MAX_WINDOW {
            return Err(ValidationError::new("to", "window longer than a year"));
        }
        Ok(Window { start, end })
    }
}

/// An interval in which nobody is on call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// First instant without anyone on call.
    pub start: Timestamp,
    /// First instant after the gap.
    pub end: Timestamp,
}

/// Gaps and hours on call per user over a list of shifts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Intervals with nobody on call, merged where they touch.
    pub gaps: Vec<Gap>,
    /// Hours on call per user.
    pub hours: BTreeMap<UserId, f64>,
}

/// State of a swap request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SwapState {
    /// Waiting for someone to take it.
    Open,
    /// Taken by `by`.
    Accepted {
        /// Who took it.
        by: UserId,
    },
    /// Turned down by `by`.
    Declined {
        /// Who turned it down.
        by: UserId,
    },
    /// Taken back by the requester.
    Withdrawn,
}

/// Swap requests: X asks to give away `[start, end)` (a shift or part of one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapRequest {
    /// Stable id; the override created on acceptance is `swap-{id}`.
    pub id: String,
    /// Who wants to give the time away.
    pub requester: UserId,
    /// First instant to give away.
    pub start: Timestamp,
    /// First instant after the time to give away.
    pub end: Timestamp,
    /// Where the request stands.
    pub state: SwapState,
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

impl Rotation {
    /// Checks the zone (`time_zone`), the shift length (`shift_length`), the participant lists
    /// (`participants`) and the order of roster changes (`rosters`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if TimeZone::get(&self.time_zone).is_err() {
            return Err(ValidationError::new(
                "time_zone",
                format!("unknown time zone {:?}", self.time_zone),
            ));
        }
        if self.shift.civil_hours() == 0 {
            return Err(ValidationError::new(
                "shift_length",
                "shift length must be at least 1",
            ));
        }
        if self
            .rosters
            .first()
            .is_none_or(|r| r.participants.is_empty())
        {
            return Err(ValidationError::new(
                "participants",
                "a rotation needs at least one participant",
            ));
        }
        if self.rosters.iter().any(|r| r.participants.is_empty()) {
            return Err(ValidationError::new(
                "participants",
                "every roster change needs at least one participant",
            ));
        }
        if self
            .rosters
            .windows(2)
            .any(|w| w[0].effective_from > w[1].effective_from)
        {
            return Err(ValidationError::new(
                "rosters",
                "roster changes must be sorted by their start",
            ));
        }
        Ok(())
    }
}

impl Restriction {
    /// Checks that the window opens on at least one day (`days`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.days.is_empty() {
            return Err(ValidationError::new(
                "days",
                "pick at least one day for the restriction",
            ));
        }
        Ok(())
    }
}

impl Layer {
    /// Checks the rotation and every restriction.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.rotation.validate()?;
        self.restrictions.iter().try_for_each(Restriction::validate)
    }
}

impl Override {
    /// Checks that `end` is after `start` (`end`), and that nobody overrides themselves (`user`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.user.trim().is_empty() {
            return Err(ValidationError::new("user", "must not be empty"));
        }
        if self.end <= self.start {
            return Err(ValidationError::new("end", "end must be after start"));
        }
        if self.replaces.as_deref() == Some(self.user.as_str()) {
            return Err(ValidationError::new(
                "user",
                "an override cannot replace the same person",
            ));
        }
        Ok(())
    }
}

impl Schedule {
    /// Checks the schedule's zone (`time_zone`), then every layer and every override.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if TimeZone::get(&self.time_zone).is_err() {
            return Err(ValidationError::new(
                "time_zone",
                format!("unknown time zone {:?}", self.time_zone),
            ));
        }
        self.layers.iter().try_for_each(Layer::validate)?;
        self.overrides.iter().try_for_each(Override::validate)
    }
}

// ---------------------------------------------------------------------------------------------
// Swap requests
// ---------------------------------------------------------------------------------------------

impl SwapRequest {
    fn require_open(&self) -> Result<(), ValidationError> {
        match self.state {
            SwapState::Open => Ok(()),
            _ => Err(ValidationError::new(
                "state",
                "this swap request is no longer open",
            )),
        }
    }

    /// Another member takes it: returns the new state and the Override (user = taker, replaces = Some(requester), id = `swap-{id}`).
    ///
    /// Errors on field `state` unless the request is open, on `user` when the taker is the requester,
    /// and on `end` when the interval is empty.
    pub fn accept(&self, taker: &UserId) -> Result<(SwapRequest, Override), ValidationError> {
        self.require_open()?;
        if taker == &self.requester {
            return Err(ValidationError::new(
                "user",
                "you cannot take your own swap request",
            ));
        }
        let ov = Override {
            id: format!("swap-{}", self.id),
            user: taker.clone(),
            start: self.start,
            end: self.end,
            replaces: Some(self.requester.clone()),
        };
        ov.validate()?;
        let accepted = SwapRequest {
            state: SwapState::Accepted { by: taker.clone() },
            ..self.clone()
        };
        Ok((accepted, ov))
    }

    /// Another member turns it down (field `state` unless open; field `user` for the requester, who withdraws instead).
    pub fn decline(&self, by: &UserId) -> Result<SwapRequest, ValidationError> {
        self.require_open()?;
        if by == &self.requester {
            return Err(ValidationError::new(
                "user",
                "withdraw your own swap request instead of declining it",
            ));
        }
        Ok(SwapRequest {
            state: SwapState::Declined { by: by.clone() },
            ..self.clone()
        })
    }

    /// The request is taken back (field `state` unless open). Who may do this (the requester or
    /// an admin) is decided by [`crate::domain::permission::check`].
    pub fn withdraw(&self) -> Result<SwapRequest, ValidationError> {
        self.require_open()?;
        Ok(SwapRequest {
            state: SwapState::Withdrawn,
            ..self.clone()
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Expansion
// ---------------------------------------------------------------------------------------------

/// Resolves a local wall-clock time in `tz` to an instant, or `None` outside jiff's range.
///
/// This is the RFC 5545 / Temporal "compatible" rule (jiff's default disambiguation, the same as
/// `tz.to_ambiguous_zoned(dt).compatible()`):
/// - in a spring-forward gap the wall time is read with the offset in force *before* the gap,
///   so after a one-hour jump at 02:00, 02:30 becomes 03:30 (Europe/Berlin 2026-03-29: 01:30Z);
/// - in a fall-back fold the *earlier* occurrence is taken
///   (Europe/Berlin 2026-10-25 02:30 is 02:30 CEST = 00:30Z).
///
/// The rule is not monotone in general: a time inside a gap can resolve later than a time just
/// after it. Callers that need a nondecreasing sequence clamp it, as [`rotation_shifts`] does.
pub fn resolve_wall_clock(tz: &TimeZone, dt: civil::DateTime) -> Option<Timestamp> {
    tz.to_ambiguous_timestamp(dt).compatible().ok()
}

/// A shift piece borrowing the participant from the schedule.
type Piece<'a> = (Timestamp, Timestamp, &'a str);

/// Hand-off boundaries of one rotation: boundary `n` is the wall-clock time `start + n * length`.
struct Handoffs<'a> {
    rotation: &'a Rotation,
    tz: TimeZone,
    step_secs: i64,
}

impl<'a> Handoffs<'a> {
    fn new(rotation: &'a Rotation) -> Option<Self> {
        let tz = TimeZone::get(&rotation.time_zone).ok()?;
        let step_secs = rotation.shift.civil_hours().checked_mul(3600)?;
        (step_secs > 0).then_some(Handoffs {
            rotation,
            tz,
            step_secs,
        })
    }

    /// The nominal local wall-clock time of boundary `n` (civil arithmetic: no DST in it).
    fn nominal(&self, n: i64) -> Option<civil::DateTime> {
        let secs = n.checked_mul(self.step_secs)?;
        self.rotation
            .start
            .checked_add(SignedDuration::from_secs(secs))
            .ok()
    }

    /// Boundary `n` as an instant, by the compatible rule.
    fn at(&self, n: i64) -> Option<Timestamp> {
        resolve_wall_clock(&self.tz, self.nominal(n)?)
    }

    /// The participant of shift `n`, which (unclipped) starts at `start`.
    fn participant(&self, n: i64, start: Timestamp) -> Option<&'a str> {
        let rosters = &self.rotation.rosters;
        let i = rosters.partition_point(|r| r.effective_from <= start);
        let roster = rosters.get(i.saturating_sub(1))?;
        let len = u64::try_from(roster.participants.len()).ok()?;
        if len == 0 {
            return None;
        }
        let idx = usize::try_from(n.unsigned_abs() % len).ok()?;
        roster.participants.get(idx).map(String::as_str)
    }

    /// Shifts overlapping `window`, clipped to it.
    ///
    /// Boundaries are clamped to be nondecreasing (a boundary moved forward out of a gap may not
    /// land before the previous one) and empty shifts are dropped, so the result tiles the part of
    /// the window after the first hand-off. Shifts whose roster is empty are left out.
    fn pieces(&self, window: &Window) -> Vec<Piece<'a>> {
        let mut out = Vec::new();
        if window.start >= window.end {
            return out;
        }
        let Some(first) = self.at(0) else {
            return out;
        };
        if first >= window.end {
            return out;
        }
        let target = window.start.max(first);
        // Real elapsed time differs from civil elapsed time only by the offset change, so the
        // estimate is off by at most a shift or two; walk it to the last boundary <= target.
        let mut n = target.duration_since(first).as_secs() / self.step_secs;
        while n > 0 && self.at(n).is_none_or(|b| b > target) {
            n -= 1;
        }
        while self.at(n + 1).is_some_and(|b| b <= target) {
            n += 1;
        }
        // Start the running maximum two days earlier: a gap (at most a day in any real zone) can
        // only push a boundary past the boundaries within its own length.
        let margin = 2 * 86_400 / self.step_secs + 1;
        let mut k = n.saturating_sub(margin).max(0);
        let Some(mut start_k) = self.at(k) else {
            return out;
        };
        loop {
            if start_k >= window.end {
                break;
            }
            let next = match self.at(k + 1) {
                Some(b) => b.max(start_k),
                None => window.end,
            };
            let (s, e) = (start_k.max(window.start), next.min(window.end));
            if s < e {
                if let Some(user) = self.participant(k, start_k) {
                    out.push((s, e, user));
                }
            }
            if next >= window.end {
                break;
            }
            k += 1;
            start_k = next;
        }
        out
    }
}

/// Shifts of one rotation that overlap the window, clipped to it, tiling it exactly from the first hand-off on.
///
/// Shift `n` starts at the wall-clock time `start + n * length` in the rotation's zone, resolved
/// with the compatible rule ([`resolve_wall_clock`]); its participant is `roster[n % len]` of the
/// roster change in effect at that start. Before `start` the rotation covers nothing. An invalid
/// rotation (unknown zone, zero length) gives no shifts.
pub fn rotation_shifts(
    rotation: &Rotation,
    window: &Window,
) -> Vec<(Timestamp, Timestamp, UserId)> {
    Handoffs::new(rotation)
        .map(|h| h.pieces(window))
        .unwrap_or_default()
        .into_iter()
        .map(|(s, e, u)| (s, e, u.to_string()))
        .collect()
}

/// The restriction windows of a layer within `window`, sorted, merged, and clipped to it.
pub(crate) fn restriction_spans(
    restrictions: &[Restriction],
    tz: &TimeZone,
    window: &Window,
) -> Vec<(Timestamp, Timestamp)> {
    let mut spans: Vec<(Timestamp, Timestamp)> = Vec::new();
    // A window opening the day before the window's first local day may still be open.
    let first = tz.to_datetime(window.start).date();
    let mut day = first.yesterday().unwrap_or(first);
    let last = tz.to_datetime(window.end).date();
    while day <= last {
        let weekday = day.weekday();
        for r in restrictions.iter().filter(|r| r.days.contains(&weekday)) {
            let end_day = if r.end <= r.start {
                day.tomorrow().ok()
            } else {
                Some(day)
            };
            let start = resolve_wall_clock(tz, day.to_datetime(r.start));
            let end = end_day.and_then(|d| resolve_wall_clock(tz, d.to_datetime(r.end)));
            if let (Some(s), Some(e)) = (start, end) {
                let (s, e) = (s.max(window.start), e.min(window.end));
                if s < e {
                    spans.push((s, e));
                }
            }
        }
        match day.tomorrow() {
            Ok(d) => day = d,
            Err(_) => break,
        }
    }
    spans.sort_unstable();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

fn layer_pieces<'a>(layer: &'a Layer, window: &Window) -> Vec<Piece<'a>> {
    let Some(handoffs) = Handoffs::new(&layer.rotation) else {
        return Vec::new();
    };
    let pieces = handoffs.pieces(window);
    if layer.restrictions.is_empty() {
        return pieces;
    }
    let spans = restriction_spans(&layer.restrictions, &handoffs.tz, window);
    // Both lists are sorted and disjoint: intersect them in one sweep.
    let mut out = Vec::with_capacity(pieces.len().max(spans.len()));
    let mut j = 0;
    for (s, e, user) in pieces {
        while j < spans.len() && spans[j].1 <= s {
            j += 1;
        }
        for &(a, b) in spans[j..].iter().take_while(|span| span.0 < e) {
            let (a, b) = (a.max(s), b.min(e));
            if a < b {
                out.push((a, b, user));
            }
        }
    }
    out
}

/// The layer's shifts restricted to its windows (pieces of shifts that fall inside a restriction window, in the layer's rotation zone).
pub fn layer_shifts(layer: &Layer, window: &Window) -> Vec<(Timestamp, Timestamp, UserId)> {
    layer_pieces(layer, window)
        .into_iter()
        .map(|(s, e, u)| (s, e, u.to_string()))
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SourceRef<'a> {
    Layer(&'a str),
    Override(&'a str),
}

type Segment<'a> = (Timestamp, Timestamp, Option<&'a str>, Option<SourceRef<'a>>);

/// The final schedule over the window, sorted and tiling it exactly.
///
/// Higher layers win over lower ones. Overrides win over layers, and a later override wins over an
/// earlier one. An override with `replaces: None` applies over its whole interval; one with
/// `replaces: Some(x)` applies only where `x` is the layer result, or where `x` is on call through
/// an earlier override in the list (so a swap of a swapped shift works). Intervals with nobody
/// are `user: None, source: None`. Adjacent pieces with the same user and source are merged.
///
/// Computed with sorted sweeps over the shift and override boundaries, never by sampling.
pub fn expand(schedule: &Schedule, window: &Window) -> Vec<Shift> {
    if window.start >= window.end {
        return Vec::new();
    }
    let layers: Vec<Vec<Piece<'_>>> = schedule
        .layers
        .iter()
        .map(|l| layer_pieces(l, window))
        .collect();
    // Overrides clipped to the window, sorted by start: (start, end, index in the list).
    let mut overrides: Vec<(Timestamp, Timestamp, usize)> = schedule
        .overrides
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let (s, e) = (o.start.max(window.start), o.end.min(window.end));
            (s < e).then_some((s, e, i))
        })
        .collect();
    overrides.sort_unstable();

    let mut cuts: Vec<Timestamp> = Vec::with_capacity(
        2 + 2 * overrides.len() + 2 * layers.iter().map(Vec::len).sum::<usize>(),
    );
    cuts.push(window.start);
    cuts.push(window.end);
    for pieces in &layers {
        for &(s, e, _) in pieces {
            cuts.push(s);
            cuts.push(e);
        }
    }
    for &(s, e, _) in &overrides {
        cuts.push(s);
        cuts.push(e);
    }
    cuts.sort_unstable();
    cuts.dedup();

    let mut cursors = vec![0usize; layers.len()];
    let mut next_override = 0;
    // Overrides covering the current segment: (index in the list, clipped end), by index.
    let mut active: Vec<(usize, Timestamp)> = Vec::new();
    let mut segments: Vec<Segment<'_>> = Vec::new();

    for pair in cuts.windows(2) {
        let (a, b) = (pair[0], pair[1]);

        let mut base: Option<(usize, &str)> = None;
        for (li, pieces) in layers.iter().enumerate().rev() {
            let c = &mut cursors[li];
            while *c < pieces.len() && pieces[*c].1 <= a {
                *c += 1;
            }
            if let Some(&(s, _, user)) = pieces.get(*c) {
                if s <= a {
                    base = Some((li, user));
                    break;
                }
            }
        }

        while let Some(&(s, e, i)) = overrides.get(next_override) {
            if s > a {
                break;
            }
            let pos = active.partition_point(|&(j, _)| j < i);
            active.insert(pos, (i, e));
            next_override += 1;
        }
        active.retain(|&(_, e)| e > a);

        let base_user = base.map(|(_, u)| u);
        let mut user = base_user;
        let mut source = base.map(|(li, _)| SourceRef::Layer(&schedule.layers[li].id));
        for &(i, _) in &active {
            let o = &schedule.overrides[i];
            let applies = match o.replaces.as_deref() {
                None => true,
                Some(x) => base_user == Some(x) || user == Some(x),
            };
            if applies {
                user = Some(o.user.as_str());
                source = Some(SourceRef::Override(&o.id));
            }
        }

        match segments.last_mut() {
            Some(last) if last.1 == a && last.2 == user && last.3 == source => last.1 = b,
            _ => segments.push((a, b, user, source)),
        }
    }

    segments
        .into_iter()
        .map(|(start, end, user, source)| Shift {
            start,
            end,
            user: user.map(str::to_string),
            source: source.map(|s| match s {
                SourceRef::Layer(id) => ShiftSource::Layer {
                    layer_id: id.to_string(),
                },
                SourceRef::Override(id) => ShiftSource::Override {
                    override_id: id.to_string(),
                },
            }),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Queries over expanded shifts
// ---------------------------------------------------------------------------------------------

/// Who is on call at `t`: the shift (possibly a gap, `user: None`) covering `t`, or `None` outside the shifts.
///
/// `shifts` must be sorted and non-overlapping, as [`expand`] returns them.
pub fn oncall_at(shifts: &[Shift], t: Timestamp) -> Option<&Shift> {
    let i = shifts.partition_point(|s| s.start <= t);
    shifts[..i].last().filter(|s| t < s.end)
}

/// The first shift starting after `t` whose user differs from the one at `t` (the next hand-off), if any.
///
/// Outside the shifts nobody counts as on call at `t`.
pub fn next_handoff(shifts: &[Shift], t: Timestamp) -> Option<&Shift> {
    let current = oncall_at(shifts, t).and_then(|s| s.user.as_deref());
    let i = shifts.partition_point(|s| s.start <= t);
    shifts[i..].iter().find(|s| s.user.as_deref() != current)
}

/// Gaps (shifts with nobody, and holes between shifts) and hours on call per user.
pub fn coverage(shifts: &[Shift]) -> Coverage {
    let mut gaps: Vec<Gap> = Vec::new();
    let mut seconds: BTreeMap<&str, i64> = BTreeMap::new();
    let mut push_gap = |start: Timestamp, end: Timestamp| match gaps.last_mut() {
        Some(last) if last.end == start => last.end = end,
        _ => gaps.push(Gap { start, end }),
    };
    let mut prev_end: Option<Timestamp> = None;
    for s in shifts.iter().filter(|s| s.start < s.end) {
        if let Some(pe) = prev_end.filter(|&pe| pe < s.start) {
            push_gap(pe, s.start);
        }
        match s.user.as_deref() {
            None => push_gap(s.start, s.end),
            Some(u) => *seconds.entry(u).or_insert(0) += s.end.duration_since(s.start).as_secs(),
        }
        prev_end = Some(prev_end.map_or(s.end, |pe| pe.max(s.end)));
    }
    let hours = seconds
        .into_iter()
        .map(|(u, secs)| (u.to_string(), secs as f64 / 3600.0))
        .collect();
    Coverage { gaps, hours }
}

/// Serde for `Vec<Weekday>` as lowercase English day names (jiff's `Weekday` has no serde impl).
mod weekday_names {
    use jiff::civil::Weekday;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    const NAMES: [(Weekday, &str); 7] = [
        (Weekday::Monday, "monday"),
        (Weekday::Tuesday, "tuesday"),
        (Weekday::Wednesday, "wednesday"),
        (Weekday::Thursday, "thursday"),
        (Weekday::Friday, "friday"),
        (Weekday::Saturday, "saturday"),
        (Weekday::Sunday, "sunday"),
    ];

    /// Writes the days as a list of names.
    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            days.iter()
                .filter_map(|d| NAMES.iter().find(|(w, _)| w == d).map(|(_, n)| *n)),
        )
    }

    /// Reads a list of names (any case); an unknown name is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|name| {
                NAMES
                    .iter()
                    .find(|(_, n)| n.eq_ignore_ascii_case(name))
                    .map(|(w, _)| *w)
                    .ok_or_else(|| D::Error::custom(format!("unknown weekday {name:?}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time, DateTime};
    use jiff::tz::AmbiguousOffset;
    use jiff::ToSpan;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn dt(s: &str) -> DateTime {
        s.parse().unwrap()
    }

    fn people(xs: &[&str]) -> Vec<UserId> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    fn rotation(zone: &str, shift: ShiftLength, start: &str, who: &[&str]) -> Rotation {
        Rotation {
            time_zone: zone.to_string(),
            start: dt(start),
            shift,
            rosters: vec![RosterChange {
                effective_from: Timestamp::MIN,
                participants: people(who),
            }],
        }
    }

    fn layer(id: &str, rotation: Rotation, restrictions: Vec<Restriction>) -> Layer {
        Layer {
            id: id.to_string(),
            name: id.to_string(),
            rotation,
            restrictions,
        }
    }

    fn window(start: &str, end: &str) -> Window {
        Window::new(ts(start), ts(end)).unwrap()
    }

    fn ov(id: &str, user: &str, start: &str, end: &str, replaces: Option<&str>) -> Override {
        Override {
            id: id.to_string(),
            user: user.to_string(),
            start: ts(start),
            end: ts(end),
            replaces: replaces.map(str::to_string),
        }
    }

    fn from_layer(start: &str, end: &str, user: &str, layer_id: &str) -> Shift {
        Shift {
            start: ts(start),
            end: ts(end),
            user: Some(user.to_string()),
            source: Some(ShiftSource::Layer {
                layer_id: layer_id.to_string(),
            }),
        }
    }

    fn from_override(start: &str, end: &str, user: &str, override_id: &str) -> Shift {
        Shift {
            start: ts(start),
            end: ts(end),
            user: Some(user.to_string()),
            source: Some(ShiftSource::Override {
                override_id: override_id.to_string(),
            }),
        }
    }

    fn gap(start: &str, end: &str) -> Shift {
        Shift {
            start: ts(start),
            end: ts(end),
            user: None,
            source: None,
        }
    }

    const MON_FRI: [Weekday; 5] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];

    fn business_hours() -> Restriction {
        Restriction {
            days: MON_FRI.to_vec(),
            start: time(9, 0, 0, 0),
            end: time(17, 0, 0, 0),
        }
    }

    // -----------------------------------------------------------------------------------------
    // 1. DST hand-offs
    // -----------------------------------------------------------------------------------------

    use ShiftLength::{Days, Hours, Weeks};

    /// (zone, length, rotation start, consecutive hand-off instants). Daily rotations start on
    /// Monday 2026-01-05 09:00 local, weekly ones too (so every Monday 09:00 is a hand-off).
    /// Transitions (checked with jiff against tzdata 2025b): Berlin 03-29 / 10-25; New York
    /// 03-08 / 11-01; Lord Howe 04-05 (+11 -> +10:30) / 10-04 (+10:30 -> +11); Chatham 04-05
    /// (+13:45 -> +12:45) / 09-27; Casablanca 02-15 (+01 -> +00 for Ramadan) / 03-22;
    /// Kolkata and Sao Paulo none.
    #[rustfmt::skip]
    const DST_TABLE: &[(&str, ShiftLength, &str, &[&str])] = &[
        // Europe/Berlin: 09:00 CET = 08:00Z, 09:00 CEST = 07:00Z.
        ("Europe/Berlin", Days(1), "2026-01-05T09:00", &["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"]),
        ("Europe/Berlin", Days(1), "2026-01-05T09:00", &["2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z", "2026-10-26T08:00:00Z"]),
        ("Europe/Berlin", Weeks(1), "2026-01-05T09:00", &["2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z"]),
        ("Europe/Berlin", Weeks(1), "2026-01-05T09:00", &["2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z", "2026-11-02T08:00:00Z"]),
        // America/New_York: 09:00 EST = 14:00Z, 09:00 EDT = 13:00Z.
        ("America/New_York", Days(1), "2026-01-05T09:00", &["2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z"]),
        ("America/New_York", Days(1), "2026-01-05T09:00", &["2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z", "2026-11-02T14:00:00Z"]),
        ("America/New_York", Weeks(1), "2026-01-05T09:00", &["2026-03-02T14:00:00Z", "2026-03-09T13:00:00Z"]),
        ("America/New_York", Weeks(1), "2026-01-05T09:00", &["2026-10-26T13:00:00Z", "2026-11-02T14:00:00Z"]),
        // Australia/Lord_Howe: 09:00 +11 = 22:00Z the day before, 09:00 +10:30 = 22:30Z.
        ("Australia/Lord_Howe", Days(1), "2026-01-05T09:00", &["2026-04-03T22:00:00Z", "2026-04-04T22:30:00Z", "2026-04-05T22:30:00Z"]),
        ("Australia/Lord_Howe", Days(1), "2026-01-05T09:00", &["2026-10-02T22:30:00Z", "2026-10-03T22:00:00Z", "2026-10-04T22:00:00Z"]),
        ("Australia/Lord_Howe", Weeks(1), "2026-01-05T09:00", &["2026-03-29T22:00:00Z", "2026-04-05T22:30:00Z"]),
        ("Australia/Lord_Howe", Weeks(1), "2026-01-05T09:00", &["2026-09-27T22:30:00Z", "2026-10-04T22:00:00Z"]),
        // Asia/Kolkata: always +05:30, 09:00 = 03:30Z.
        ("Asia/Kolkata", Days(1), "2026-01-05T09:00", &["2026-03-28T03:30:00Z", "2026-03-29T03:30:00Z", "2026-03-30T03:30:00Z"]),
        ("Asia/Kolkata", Weeks(1), "2026-01-05T09:00", &["2026-03-23T03:30:00Z", "2026-03-30T03:30:00Z"]),
        // Pacific/Chatham: 09:00 +13:45 = 19:15Z the day before, 09:00 +12:45 = 20:15Z.
        ("Pacific/Chatham", Days(1), "2026-01-05T09:00", &["2026-04-03T19:15:00Z", "2026-04-04T20:15:00Z", "2026-04-05T20:15:00Z"]),
        ("Pacific/Chatham", Days(1), "2026-01-05T09:00", &["2026-09-25T20:15:00Z", "2026-09-26T19:15:00Z", "2026-09-27T19:15:00Z"]),
        ("Pacific/Chatham", Weeks(1), "2026-01-05T09:00", &["2026-03-29T19:15:00Z", "2026-04-05T20:15:00Z"]),
        ("Pacific/Chatham", Weeks(1), "2026-01-05T09:00", &["2026-09-20T20:15:00Z", "2026-09-27T19:15:00Z"]),
        // America/Sao_Paulo: no DST since 2019; -03 all year, 09:00 = 12:00Z (old DST start was early November).
        ("America/Sao_Paulo", Days(1), "2026-01-05T09:00", &["2026-10-31T12:00:00Z", "2026-11-01T12:00:00Z", "2026-11-02T12:00:00Z"]),
        ("America/Sao_Paulo", Weeks(1), "2026-01-05T09:00", &["2026-10-26T12:00:00Z", "2026-11-02T12:00:00Z"]),
        // Africa/Casablanca: +01, but +00 during Ramadan; 09:00 +01 = 08:00Z, 09:00 +00 = 09:00Z.
        ("Africa/Casablanca", Days(1), "2026-01-05T09:00", &["2026-02-14T08:00:00Z", "2026-02-15T09:00:00Z", "2026-02-16T09:00:00Z"]),
        ("Africa/Casablanca", Days(1), "2026-01-05T09:00", &["2026-03-21T09:00:00Z", "2026-03-22T08:00:00Z", "2026-03-23T08:00:00Z"]),
        ("Africa/Casablanca", Weeks(1), "2026-01-05T09:00", &["2026-02-09T08:00:00Z", "2026-02-16T09:00:00Z"]),
        ("Africa/Casablanca", Weeks(1), "2026-01-05T09:00", &["2026-03-16T09:00:00Z", "2026-03-23T08:00:00Z"]),
        // Hours(12) keeps 09:00/21:00 wall clock: the shift that spans the jump is 11 real hours.
        ("Europe/Berlin", Hours(12), "2026-03-27T21:00", &["2026-03-28T08:00:00Z", "2026-03-28T20:00:00Z", "2026-03-29T07:00:00Z", "2026-03-29T19:00:00Z"]),
        // Gap rule: 02:30 does not exist on 2026-03-29 and becomes 03:30 CEST = 01:30Z.
        ("Europe/Berlin", Days(1), "2026-03-27T02:30", &["2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"]),
        // Fold rule: 02:30 happens twice on 2026-10-25; the earlier one (CEST) = 00:30Z.
        ("Europe/Berlin", Days(1), "2026-10-23T02:30", &["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]),
    ];

    #[test]
    fn dst_handoffs_table() {
        for (zone, shift, start, expected) in DST_TABLE {
            let rot = rotation(zone, *shift, start, &["a", "b", "c"]);
            let want: Vec<Timestamp> = expected.iter().map(|s| ts(s)).collect();
            let w = Window::new(want[0], want[want.len() - 1]).unwrap();
            let got = rotation_shifts(&rot, &w);
            let starts: Vec<Timestamp> = got.iter().map(|s| s.0).collect();
            let ends: Vec<Timestamp> = got.iter().map(|s| s.1).collect();
            assert_eq!(starts, want[..want.len() - 1], "{zone} {shift:?} starts");
            assert_eq!(ends, want[1..], "{zone} {shift:?} ends");
            // Self-check of the literals: daily and weekly hand-offs are at the start's wall time
            // (except in the gap row, where 02:30 does not exist on the day of the jump).
            let tz = TimeZone::get(zone).unwrap();
            let keeps_time = !matches!(shift, Hours(_)) && !start.ends_with("02:30");
            for t in want.iter().filter(|_| keeps_time) {
                assert_eq!(tz.to_datetime(*t).time(), rot.start.time(), "{zone} {t}");
            }
        }
    }

    #[test]
    fn compatible_rule_gap_and_fold() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(
            resolve_wall_clock(&tz, dt("2026-03-29T02:30")),
            Some(ts("2026-03-29T01:30:00Z"))
        );
        assert_eq!(
            resolve_wall_clock(&tz, dt("2026-10-25T02:30")),
            Some(ts("2026-10-25T00:30:00Z"))
        );
        // Same as jiff's default for a civil datetime in a zone.
        let z = dt("2026-03-29T02:30").in_tz("Europe/Berlin").unwrap();
        assert_eq!(z.timestamp(), ts("2026-03-29T01:30:00Z"));
        assert_eq!(z.datetime(), dt("2026-03-29T03:30"));
    }

    #[test]
    fn participants_follow_shift_number() {
        // 2026-03-28 is day 82 after 2026-01-05 (82 % 3 == 1 -> b), 2026-03-29 is day 83 (c).
        let rot = rotation(
            "Europe/Berlin",
            Days(1),
            "2026-01-05T09:00",
            &["a", "b", "c"],
        );
        let got = rotation_shifts(
            &rot,
            &window("2026-03-28T08:00:00Z", "2026-03-30T07:00:00Z"),
        );
        let users: Vec<&str> = got.iter().map(|s| s.2.as_str()).collect();
        assert_eq!(users, ["b", "c"]);
    }

    #[test]
    fn hourly_rotation_across_gap_and_fold() {
        // Berlin 2026-03-29: 02:00 local does not exist; the 02:00-03:00 shift (c) is empty.
        let rot = rotation(
            "Europe/Berlin",
            Hours(1),
            "2026-03-29T00:00",
            &["a", "b", "c", "d"],
        );
        let got = rotation_shifts(
            &rot,
            &window("2026-03-28T22:00:00Z", "2026-03-29T02:00:00Z"),
        );
        let want = vec![
            (
                ts("2026-03-28T23:00:00Z"),
                ts("2026-03-29T00:00:00Z"),
                "a".to_string(),
            ),
            (
                ts("2026-03-29T00:00:00Z"),
                ts("2026-03-29T01:00:00Z"),
                "b".to_string(),
            ),
            (
                ts("2026-03-29T01:00:00Z"),
                ts("2026-03-29T02:00:00Z"),
                "d".to_string(),
            ),
        ];
        assert_eq!(got, want);
        // New York 2026-11-01: 01:00 EDT to 02:00 EST is two real hours.
        let rot = rotation(
            "America/New_York",
            Hours(1),
            "2026-11-01T00:00",
            &["a", "b", "c"],
        );
        let got = rotation_shifts(
            &rot,
            &window("2026-11-01T04:00:00Z", "2026-11-01T08:00:00Z"),
        );
        let want = vec![
            (
                ts("2026-11-01T04:00:00Z"),
                ts("2026-11-01T05:00:00Z"),
                "a".to_string(),
            ),
            (
                ts("2026-11-01T05:00:00Z"),
                ts("2026-11-01T07:00:00Z"),
                "b".to_string(),
            ),
            (
                ts("2026-11-01T07:00:00Z"),
                ts("2026-11-01T08:00:00Z"),
                "c".to_string(),
            ),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn no_shifts_before_rotation_start_and_far_windows() {
        let rot = rotation("UTC", Days(1), "2026-01-10T00:00", &["a", "b"]);
        let got = rotation_shifts(
            &rot,
            &window("2026-01-09T00:00:00Z", "2026-01-11T12:00:00Z"),
        );
        assert_eq!(
            got,
            vec![
                (
                    ts("2026-01-10T00:00:00Z"),
                    ts("2026-01-11T00:00:00Z"),
                    "a".to_string()
                ),
                (
                    ts("2026-01-11T00:00:00Z"),
                    ts("2026-01-11T12:00:00Z"),
                    "b".to_string()
                ),
            ]
        );
        assert!(rotation_shifts(
            &rot,
            &window("2026-01-01T00:00:00Z", "2026-01-10T00:00:00Z")
        )
        .is_empty());
        // Far after the start: 2036-01-07 is day 3649 (two leap days in between), odd: b's.
        let got = rotation_shifts(
            &rot,
            &window("2036-01-07T12:00:00Z", "2036-01-08T00:00:00Z"),
        );
        assert_eq!(
            got,
            vec![(
                ts("2036-01-07T12:00:00Z"),
                ts("2036-01-08T00:00:00Z"),
                "b".to_string()
            )]
        );
        // Invalid rotations give nothing rather than panicking.
        let mut bad = rot.clone();
        bad.time_zone = "Mars/Olympus".into();
        assert!(rotation_shifts(
            &bad,
            &window("2026-01-09T00:00:00Z", "2026-01-11T00:00:00Z")
        )
        .is_empty());
        let mut bad = rot;
        bad.shift = Hours(0);
        assert!(rotation_shifts(
            &bad,
            &window("2026-01-09T00:00:00Z", "2026-01-11T00:00:00Z")
        )
        .is_empty());
    }

    // -----------------------------------------------------------------------------------------
    // 2. Layers, restrictions, overrides, rosters, gaps, validation, windows, swaps
    // -----------------------------------------------------------------------------------------

    fn business_over_base() -> Schedule {
        Schedule {
            time_zone: "America/New_York".into(),
            layers: vec![
                layer(
                    "base",
                    rotation(
                        "America/New_York",
                        Days(1),
                        "2026-03-02T09:00",
                        &["alice", "bob"],
                    ),
                    vec![],
                ),
                layer(
                    "business",
                    rotation(
                        "America/New_York",
                        Weeks(1),
                        "2026-03-02T09:00",
                        &["carol", "dave"],
                    ),
                    vec![business_hours()],
                ),
            ],
            overrides: vec![],
        }
    }

    #[test]
    fn business_hours_layer_over_base_across_dst() {
        let s = business_over_base();
        // Friday 2026-03-06 (EST, 14:00Z-22:00Z) and Monday 2026-03-09 (EDT, 13:00Z-21:00Z).
        let w = window("2026-03-06T12:00:00Z", "2026-03-09T22:00:00Z");
        assert_eq!(
            layer_shifts(&s.layers[1], &w),
            vec![
                (
                    ts("2026-03-06T14:00:00Z"),
                    ts("2026-03-06T22:00:00Z"),
                    "carol".to_string()
                ),
                (
                    ts("2026-03-09T13:00:00Z"),
                    ts("2026-03-09T21:00:00Z"),
                    "dave".to_string()
                ),
            ]
        );
        assert_eq!(
            expand(&s, &w),
            vec![
                from_layer(
                    "2026-03-06T12:00:00Z",
                    "2026-03-06T14:00:00Z",
                    "bob",
                    "base"
                ),
                from_layer(
                    "2026-03-06T14:00:00Z",
                    "2026-03-06T22:00:00Z",
                    "carol",
                    "business"
                ),
                from_layer(
                    "2026-03-06T22:00:00Z",
                    "2026-03-07T14:00:00Z",
                    "alice",
                    "base"
                ),
                from_layer(
                    "2026-03-07T14:00:00Z",
                    "2026-03-08T13:00:00Z",
                    "bob",
                    "base"
                ),
                from_layer(
                    "2026-03-08T13:00:00Z",
                    "2026-03-09T13:00:00Z",
                    "alice",
                    "base"
                ),
                from_layer(
                    "2026-03-09T13:00:00Z",
                    "2026-03-09T21:00:00Z",
                    "dave",
                    "business"
                ),
                from_layer(
                    "2026-03-09T21:00:00Z",
                    "2026-03-09T22:00:00Z",
                    "bob",
                    "base"
                ),
            ]
        );
    }

    #[test]
    fn restriction_shapes() {
        let rot = rotation("Europe/Berlin", Days(7), "2026-03-02T00:00", &["a"]);
        let cases: &[(Restriction, &[(&str, &str)])] = &[
            // Overnight, across the spring jump: Sat 22:00 CET -> Sun 06:00 CEST is 7 real hours.
            (
                Restriction {
                    days: vec![Weekday::Saturday],
                    start: time(22, 0, 0, 0),
                    end: time(6, 0, 0, 0),
                },
                &[("2026-03-28T21:00:00Z", "2026-03-29T04:00:00Z")],
            ),
            // start == end: the whole (23-hour) Sunday.
            (
                Restriction {
                    days: vec![Weekday::Sunday],
                    start: time(0, 0, 0, 0),
                    end: time(0, 0, 0, 0),
                },
                &[("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")],
            ),
            // Saturday and Sunday all day merge into one piece.
            (
                Restriction {
                    days: vec![Weekday::Saturday, Weekday::Sunday],
                    start: time(0, 0, 0, 0),
                    end: time(0, 0, 0, 0),
                },
                &[("2026-03-27T23:00:00Z", "2026-03-29T22:00:00Z")],
            ),
            // A window starting inside the gap opens when the gap ends.
            (
                Restriction {
                    days: vec![Weekday::Sunday],
                    start: time(2, 30, 0, 0),
                    end: time(4, 0, 0, 0),
                },
                &[("2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z")],
            ),
        ];
        let w = window("2026-03-27T00:00:00Z", "2026-03-30T00:00:00Z");
        for (r, want) in cases {
            let l = layer("l", rot.clone(), vec![r.clone()]);
            let got: Vec<(Timestamp, Timestamp)> = layer_shifts(&l, &w)
                .into_iter()
                .map(|(s, e, _)| (s, e))
                .collect();
            let want: Vec<(Timestamp, Timestamp)> =
                want.iter().map(|(s, e)| (ts(s), ts(e))).collect();
            assert_eq!(got, want, "{r:?}");
        }
    }

    fn daily_utc(who: &[&str]) -> Schedule {
        Schedule {
            time_zone: "UTC".into(),
            layers: vec![layer(
                "base",
                rotation("UTC", Days(1), "2026-01-01T00:00", who),
                vec![],
            )],
            overrides: vec![],
        }
    }

    #[test]
    fn overrides_with_and_without_replaces() {
        let mut s = daily_utc(&["a", "b"]);
        s.overrides = vec![
            ov(
                "o1",
                "x",
                "2026-01-01T12:00:00Z",
                "2026-01-01T18:00:00Z",
                None,
            ),
            // Only where b is on call: 2026-01-02 00:00-06:00.
            ov(
                "o2",
                "y",
                "2026-01-01T20:00:00Z",
                "2026-01-02T06:00:00Z",
                Some("b"),
            ),
            ov(
                "o3",
                "z",
                "2026-01-03T00:00:00Z",
                "2026-01-03T12:00:00Z",
                Some("a"),
            ),
            // Later in the list: wins over o3 where they overlap.
            ov(
                "o4",
                "w",
                "2026-01-03T06:00:00Z",
                "2026-01-03T08:00:00Z",
                None,
            ),
            // Replaces someone who is not on call: no effect.
            ov(
                "o5",
                "v",
                "2026-01-03T14:00:00Z",
                "2026-01-03T16:00:00Z",
                Some("b"),
            ),
        ];
        let w = window("2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z");
        assert_eq!(
            expand(&s, &w),
            vec![
                from_layer("2026-01-01T00:00:00Z", "2026-01-01T12:00:00Z", "a", "base"),
                from_override("2026-01-01T12:00:00Z", "2026-01-01T18:00:00Z", "x", "o1"),
                from_layer("2026-01-01T18:00:00Z", "2026-01-02T00:00:00Z", "a", "base"),
                from_override("2026-01-02T00:00:00Z", "2026-01-02T06:00:00Z", "y", "o2"),
                from_layer("2026-01-02T06:00:00Z", "2026-01-03T00:00:00Z", "b", "base"),
                from_override("2026-01-03T00:00:00Z", "2026-01-03T06:00:00Z", "z", "o3"),
                from_override("2026-01-03T06:00:00Z", "2026-01-03T08:00:00Z", "w", "o4"),
                from_override("2026-01-03T08:00:00Z", "2026-01-03T12:00:00Z", "z", "o3"),
                from_layer("2026-01-03T12:00:00Z", "2026-01-04T00:00:00Z", "a", "base"),
            ]
        );
        // Order matters: the later of two overlapping overrides wins.
        s.overrides = vec![
            ov(
                "p",
                "p",
                "2026-01-01T00:00:00Z",
                "2026-01-01T10:00:00Z",
                None,
            ),
            ov(
                "q",
                "q",
                "2026-01-01T05:00:00Z",
                "2026-01-01T15:00:00Z",
                None,
            ),
        ];
        let w = window("2026-01-01T00:00:00Z", "2026-01-01T20:00:00Z");
        assert_eq!(
            expand(&s, &w),
            vec![
                from_override("2026-01-01T00:00:00Z", "2026-01-01T05:00:00Z", "p", "p"),
                from_override("2026-01-01T05:00:00Z", "2026-01-01T15:00:00Z", "q", "q"),
                from_layer("2026-01-01T15:00:00Z", "2026-01-01T20:00:00Z", "a", "base"),
            ]
        );
        s.overrides.reverse();
        assert_eq!(
            expand(&s, &w),
            vec![
                from_override("2026-01-01T00:00:00Z", "2026-01-01T10:00:00Z", "p", "p"),
                from_override("2026-01-01T10:00:00Z", "2026-01-01T15:00:00Z", "q", "q"),
                from_layer("2026-01-01T15:00:00Z", "2026-01-01T20:00:00Z", "a", "base"),
            ]
        );
    }

    #[test]
    fn swap_of_a_swap_chains() {
        let mut s = daily_utc(&["a", "b"]);
        let first = SwapRequest {
            id: "1".into(),
            requester: "a".into(),
            start: ts("2026-01-01T06:00:00Z"),
            end: ts("2026-01-01T18:00:00Z"),
            state: SwapState::Open,
        };
        let (_, o1) = first.accept(&"y".to_string()).unwrap();
        let second = SwapRequest {
            id: "2".into(),
            requester: "y".into(),
            start: ts("2026-01-01T10:00:00Z"),
            end: ts("2026-01-01T12:00:00Z"),
            state: SwapState::Open,
        };
        let (_, o2) = second.accept(&"z".to_string()).unwrap();
        s.overrides = vec![o1, o2];
        assert_eq!(
            expand(&s, &window("2026-01-01T00:00:00Z", "2026-01-01T20:00:00Z")),
            vec![
                from_layer("2026-01-01T00:00:00Z", "2026-01-01T06:00:00Z", "a", "base"),
                from_override(
                    "2026-01-01T06:00:00Z",
                    "2026-01-01T10:00:00Z",
                    "y",
                    "swap-1"
                ),
                from_override(
                    "2026-01-01T10:00:00Z",
                    "2026-01-01T12:00:00Z",
                    "z",
                    "swap-2"
                ),
                from_override(
                    "2026-01-01T12:00:00Z",
                    "2026-01-01T18:00:00Z",
                    "y",
                    "swap-1"
                ),
                from_layer("2026-01-01T18:00:00Z", "2026-01-01T20:00:00Z", "a", "base"),
            ]
        );
    }

    #[test]
    fn roster_change_from_a_future_date() {
        let before = rotation("UTC", Days(1), "2026-01-01T00:00", &["a", "b", "c"]);
        let mut after = before.clone();
        after.rosters.push(RosterChange {
            effective_from: ts("2026-01-10T00:00:00Z"),
            participants: people(&["d", "e"]),
        });
        let early = window("2026-01-01T00:00:00Z", "2026-01-10T00:00:00Z");
        assert_eq!(
            rotation_shifts(&before, &early),
            rotation_shifts(&after, &early)
        );
        // Shift 8 (c, 8 % 3) is before the change; shift 9 starts exactly at it: e (9 % 2); shift 10: d.
        let later = window("2026-01-09T00:00:00Z", "2026-01-12T00:00:00Z");
        let users: Vec<String> = rotation_shifts(&after, &later)
            .into_iter()
            .map(|s| s.2)
            .collect();
        assert_eq!(users, ["c", "e", "d"]);
        // A change in the middle of a shift applies from the next hand-off on.
        after.rosters[1].effective_from = ts("2026-01-10T12:00:00Z");
        let users: Vec<String> = rotation_shifts(&after, &later)
            .into_iter()
            .map(|s| s.2)
            .collect();
        assert_eq!(users, ["c", "a", "d"]);
    }

    #[test]
    fn gaps_are_reported_exactly() {
        let mut s = business_over_base();
        s.layers.remove(0);
        // The only layer covers business hours; an override fills part of the weekend.
        s.overrides = vec![ov(
            "cover",
            "erin",
            "2026-03-07T12:00:00Z",
            "2026-03-07T18:00:00Z",
            None,
        )];
        let w = window("2026-03-06T00:00:00Z", "2026-03-10T00:00:00Z");
        let shifts = expand(&s, &w);
        assert_eq!(
            shifts,
            vec![
                gap("2026-03-06T00:00:00Z", "2026-03-06T14:00:00Z"),
                from_layer(
                    "2026-03-06T14:00:00Z",
                    "2026-03-06T22:00:00Z",
                    "carol",
                    "business"
                ),
                gap("2026-03-06T22:00:00Z", "2026-03-07T12:00:00Z"),
                from_override(
                    "2026-03-07T12:00:00Z",
                    "2026-03-07T18:00:00Z",
                    "erin",
                    "cover"
                ),
                gap("2026-03-07T18:00:00Z", "2026-03-09T13:00:00Z"),
                from_layer(
                    "2026-03-09T13:00:00Z",
                    "2026-03-09T21:00:00Z",
                    "dave",
                    "business"
                ),
                gap("2026-03-09T21:00:00Z", "2026-03-10T00:00:00Z"),
            ]
        );
        let c = coverage(&shifts);
        let gaps: Vec<(Timestamp, Timestamp)> = c.gaps.iter().map(|g| (g.start, g.end)).collect();
        assert_eq!(
            gaps,
            vec![
                (ts("2026-03-06T00:00:00Z"), ts("2026-03-06T14:00:00Z")),
                (ts("2026-03-06T22:00:00Z"), ts("2026-03-07T12:00:00Z")),
                (ts("2026-03-07T18:00:00Z"), ts("2026-03-09T13:00:00Z")),
                (ts("2026-03-09T21:00:00Z"), ts("2026-03-10T00:00:00Z")),
            ]
        );
        let hours: Vec<(&str, f64)> = c.hours.iter().map(|(u, h)| (u.as_str(), *h)).collect();
        assert_eq!(hours, [("carol", 8.0), ("dave", 8.0), ("erin", 6.0)]);
        // A rotation that starts inside the window leaves the part before it uncovered.
        let s = Schedule {
            time_zone: "UTC".into(),
            layers: vec![layer(
                "l",
                rotation("Asia/Kolkata", Days(1), "2026-01-02T09:00", &["a"]),
                vec![],
            )],
            overrides: vec![],
        };
        let shifts = expand(&s, &window("2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z"));
        assert_eq!(
            shifts,
            vec![
                gap("2026-01-01T00:00:00Z", "2026-01-02T03:30:00Z"),
                from_layer("2026-01-02T03:30:00Z", "2026-01-03T00:00:00Z", "a", "l"),
            ]
        );
        // Holes between shifts count as gaps too, and touching gaps merge.
        let holes = [
            gap("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"),
            from_layer("2026-01-01T02:00:00Z", "2026-01-01T03:30:00Z", "a", "l"),
        ];
        let c = coverage(&holes);
        assert_eq!(
            c.gaps,
            vec![Gap {
                start: ts("2026-01-01T00:00:00Z"),
                end: ts("2026-01-01T02:00:00Z")
            }]
        );
        assert_eq!(c.hours.get("a"), Some(&1.5));
    }

    #[test]
    fn oncall_and_next_handoff() {
        let mut s = daily_utc(&["a", "b"]);
        s.overrides = vec![ov(
            "o",
            "a",
            "2026-01-02T00:00:00Z",
            "2026-01-02T06:00:00Z",
            Some("b"),
        )];
        let shifts = expand(&s, &window("2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"));
        let at = |t: &str| oncall_at(&shifts, ts(t)).and_then(|s| s.user.clone());
        assert_eq!(at("2026-01-01T00:00:00Z").as_deref(), Some("a"));
        assert_eq!(at("2026-01-02T05:59:59Z").as_deref(), Some("a"));
        assert_eq!(at("2026-01-02T06:00:00Z").as_deref(), Some("b"));
        assert_eq!(oncall_at(&shifts, ts("2026-01-04T00:00:00Z")), None);
        assert_eq!(oncall_at(&shifts, ts("2025-12-31T23:59:59Z")), None);
        // a's layer shift and a's override are adjacent pieces of one stint: the hand-off is at 06:00.
        let next = next_handoff(&shifts, ts("2026-01-01T09:00:00Z")).unwrap();
        assert_eq!(
            (next.start, next.user.as_deref()),
            (ts("2026-01-02T06:00:00Z"), Some("b"))
        );
        let next = next_handoff(&shifts, ts("2026-01-02T06:00:00Z")).unwrap();
        assert_eq!(
            (next.start, next.user.as_deref()),
            (ts("2026-01-03T00:00:00Z"), Some("a"))
        );
        assert_eq!(next_handoff(&shifts, ts("2026-01-03T00:00:00Z")), None);
    }

    #[test]
    fn validation_names_the_field() {
        let good = rotation("Europe/Berlin", Days(1), "2026-01-05T09:00", &["a", "b"]);
        assert_eq!(good.validate(), Ok(()));
        let mut cases: Vec<(Rotation, &str)> = Vec::new();
        let mut r = good.clone();
        r.time_zone = "Europe/Atlantis".into();
        cases.push((r, "time_zone"));
        for len in [Hours(0), Days(0), Weeks(0)] {
            let mut r = good.clone();
            r.shift = len;
            cases.push((r, "shift_length"));
        }
        let mut r = good.clone();
        r.rosters.clear();
        cases.push((r, "participants"));
        let mut r = good.clone();
        r.rosters[0].participants.clear();
        cases.push((r, "participants"));
        let mut r = good.clone();
        r.rosters.push(RosterChange {
            effective_from: ts("2026-02-01T00:00:00Z"),
            participants: vec![],
        });
        cases.push((r, "participants"));
        let mut r = good.clone();
        r.rosters.push(RosterChange {
            effective_from: ts("2026-02-01T00:00:00Z"),
            participants: people(&["c"]),
        });
        r.rosters.push(RosterChange {
            effective_from: ts("2026-01-01T00:00:00Z"),
            participants: people(&["d"]),
        });
        cases.push((r, "rosters"));
        for (r, field) in cases {
            assert_eq!(
                r.validate().map_err(|e| e.field),
                Err(field.to_string()),
                "{r:?}"
            );
        }

        let o = ov(
            "o",
            "x",
            "2026-01-01T00:00:00Z",
            "2026-01-01T01:00:00Z",
            Some("y"),
        );
        assert_eq!(o.validate(), Ok(()));
        let field = |o: Override| o.validate().unwrap_err().field;
        assert_eq!(
            field(ov(
                "o",
                "x",
                "2026-01-01T01:00:00Z",
                "2026-01-01T01:00:00Z",
                None
            )),
            "end"
        );
        assert_eq!(
            field(ov(
                "o",
                "x",
                "2026-01-01T02:00:00Z",
                "2026-01-01T01:00:00Z",
                None
            )),
            "end"
        );
        assert_eq!(
            field(ov(
                "o",
                "x",
                "2026-01-01T00:00:00Z",
                "2026-01-01T01:00:00Z",
                Some("x")
            )),
            "user"
        );
        assert_eq!(
            field(ov(
                "o",
                " ",
                "2026-01-01T00:00:00Z",
                "2026-01-01T01:00:00Z",
                None
            )),
            "user"
        );

        let r = Restriction {
            days: vec![],
            start: time(9, 0, 0, 0),
            end: time(17, 0, 0, 0),
        };
        assert_eq!(r.validate().unwrap_err().field, "days");
        let mut s = business_over_base();
        assert_eq!(s.validate(), Ok(()));
        s.layers[1].restrictions.push(r);
        assert_eq!(s.validate().unwrap_err().field, "days");
        s.time_zone = "nowhere".into();
        assert_eq!(s.validate().unwrap_err().field, "time_zone");
    }

    #[test]
    fn window_limits() {
        let t0 = ts("2026-01-01T00:00:00Z");
        let err = Window::new(t0, t0).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.message.as_str()),
            ("from", "from must be before to")
        );
        assert_eq!(Window::new(t0, t0 - 1.second()).unwrap_err().field, "from");
        assert!(Window::new(t0, t0 + 1.second()).is_ok());
        assert!(Window::new(t0, t0 + SignedDuration::from_hours(366 * 24)).is_ok());
        let err =
            Window::new(t0, t0 + SignedDuration::from_hours(366 * 24) + 1.second()).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.message.as_str()),
            ("to", "window longer than a year")
        );
        // Deserializing goes through the same checks.
        let bad = r#"{"start":"2026-01-02T00:00:00Z","end":"2026-01-01T00:00:00Z"}"#;
        assert!(serde_json::from_str::<Window>(bad).is_err());
        let ok = r#"{"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z"}"#;
        assert_eq!(
            serde_json::from_str::<Window>(ok).unwrap(),
            window("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")
        );
        // An empty window expands to nothing.
        let empty = Window { start: t0, end: t0 };
        assert!(expand(&daily_utc(&["a"]), &empty).is_empty());
    }

    #[test]
    fn swap_state_machine() {
        let open = SwapRequest {
            id: "42".into(),
            requester: "x".into(),
            start: ts("2026-01-01T00:00:00Z"),
            end: ts("2026-01-01T08:00:00Z"),
            state: SwapState::Open,
        };
        let x = "x".to_string();
        let y = "y".to_string();
        let (accepted, o) = open.accept(&y).unwrap();
        assert_eq!(accepted.state, SwapState::Accepted { by: y.clone() });
        assert_eq!(
            o,
            Override {
                id: "swap-42".into(),
                user: y.clone(),
                start: open.start,
                end: open.end,
                replaces: Some(x.clone()),
            }
        );
        assert_eq!(open.accept(&x).unwrap_err().field, "user");
        let declined = open.decline(&y).unwrap();
        assert_eq!(declined.state, SwapState::Declined { by: y.clone() });
        assert_eq!(open.decline(&x).unwrap_err().field, "user");
        let withdrawn = open.withdraw().unwrap();
        assert_eq!(withdrawn.state, SwapState::Withdrawn);
        for done in [&accepted, &declined, &withdrawn] {
            assert_eq!(done.accept(&y).unwrap_err().field, "state", "{done:?}");
            assert_eq!(done.decline(&y).unwrap_err().field, "state", "{done:?}");
            assert_eq!(done.withdraw().unwrap_err().field, "state", "{done:?}");
        }
        let mut empty = open.clone();
        empty.end = empty.start;
        assert_eq!(empty.accept(&y).unwrap_err().field, "end");
    }

    #[test]
    fn serde_shapes() {
        let j = |v: serde_json::Value| v;
        assert_eq!(
            serde_json::to_value(Hours(12)).unwrap(),
            j(serde_json::json!({"unit": "hours", "count": 12}))
        );
        assert_eq!(
            serde_json::to_value(Weeks(1)).unwrap(),
            j(serde_json::json!({"unit": "weeks", "count": 1}))
        );
        assert_eq!(
            serde_json::to_value(ShiftSource::Layer {
                layer_id: "l".into()
            })
            .unwrap(),
            j(serde_json::json!({"kind": "layer", "layer_id": "l"}))
        );
        assert_eq!(
            serde_json::to_value(SwapState::Accepted { by: "y".into() }).unwrap(),
            j(serde_json::json!({"state": "accepted", "by": "y"}))
        );
        assert_eq!(
            serde_json::to_value(SwapState::Open).unwrap(),
            j(serde_json::json!({"state": "open"}))
        );
        let r = business_hours();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v["days"],
            j(serde_json::json!([
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday"
            ]))
        );
        assert_eq!(serde_json::from_value::<Restriction>(v).unwrap(), r);
        assert!(serde_json::from_value::<Restriction>(
            serde_json::json!({"days": ["funday"], "start": "09:00", "end": "17:00"})
        )
        .is_err());
        let s = business_over_base();
        let back: Schedule = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    // -----------------------------------------------------------------------------------------
    // 3. Properties
    // -----------------------------------------------------------------------------------------

    const ZONES: [&str; 8] = [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "America/Sao_Paulo",
        "Africa/Casablanca",
        "UTC",
    ];
    const POOL: [&str; 8] = ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"];
    const WEEK: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    /// 2025-01-01T00:00:00Z.
    const SPAN_START: i64 = 1_735_689_600;
    const THREE_YEARS: i64 = 3 * 365 * 86_400;
    const DAY: i64 = 86_400;

    fn arb_shift() -> impl Strategy<Value = ShiftLength> {
        prop_oneof![
            (1u32..=48).prop_map(Hours),
            (1u32..=14).prop_map(Days),
            (1u32..=3).prop_map(Weeks),
        ]
    }

    fn arb_rotation() -> impl Strategy<Value = Rotation> {
        (
            0..ZONES.len(),
            arb_shift(),
            1usize..=6,
            0i64..3 * 365,
            0i64..1440,
            prop::collection::vec((0..THREE_YEARS, 1usize..=6, 0usize..8), 0..=2),
        )
            .prop_map(|(z, shift, n, day, minute, changes)| {
                let start = date(2025, 1, 1)
                    .checked_add(day.days())
                    .unwrap()
                    .to_datetime(time(0, 0, 0, 0))
                    .checked_add(minute.minutes())
                    .unwrap();
                let mut rosters = vec![RosterChange {
                    effective_from: Timestamp::MIN,
                    participants: POOL[..n].iter().map(|u| u.to_string()).collect(),
                }];
                let mut later: Vec<RosterChange> = changes
                    .into_iter()
                    .map(|(off, k, rot)| RosterChange {
                        effective_from: Timestamp::from_second(SPAN_START + off).unwrap(),
                        participants: (0..k)
                            .map(|i| POOL[(i + rot) % POOL.len()].to_string())
                            .collect(),
                    })
                    .collect();
                later.sort_by_key(|r| r.effective_from);
                rosters.extend(later);
                Rotation {
                    time_zone: ZONES[z].to_string(),
                    start,
                    shift,
                    rosters,
                }
            })
    }

    fn arb_restriction() -> impl Strategy<Value = Restriction> {
        (
            1u8..128,
            0i8..24,
            prop::sample::select(vec![0i8, 15, 30, 45]),
            0i8..24,
            prop::sample::select(vec![0i8, 30]),
        )
            .prop_map(|(mask, sh, sm, eh, em)| Restriction {
                days: WEEK
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, d)| *d)
                    .collect(),
                start: time(sh, sm, 0, 0),
                end: time(eh, em, 0, 0),
            })
    }

    /// Raw window parameters: (anchor kind, which transition / random offset, position of the
    /// transition in the window in per mille from the middle, length).
    fn arb_window_raw() -> impl Strategy<Value = (u8, i64, i64, i64)> {
        (0u8..4, 0..THREE_YEARS, -450i64..450, DAY..=60 * DAY)
    }

    /// A window of 1..60 days; three times in four it contains one of the zone's transitions
    /// (when the zone has any in 2025-2027), otherwise it starts anywhere in 2025-2027.
    fn make_window(zone: &str, (anchor, pick, shift, len): (u8, i64, i64, i64)) -> Window {
        let tz = TimeZone::get(zone).unwrap();
        let from = Timestamp::from_second(SPAN_START).unwrap();
        let until = Timestamp::from_second(SPAN_START + THREE_YEARS).unwrap();
        let transitions: Vec<Timestamp> = tz
            .following(from)
            .map(|t| t.timestamp())
            .take_while(|t| *t < until)
            .collect();
        let start = if anchor > 0 && !transitions.is_empty() {
            let i = usize::try_from(pick).unwrap() % transitions.len();
            transitions[i] - SignedDuration::from_secs(len / 2 + len * shift / 1000)
        } else {
            Timestamp::from_second(SPAN_START + pick).unwrap()
        };
        Window::new(start, start + SignedDuration::from_secs(len)).unwrap()
    }

    fn arb_case() -> impl Strategy<Value = (Schedule, Window)> {
        (
            prop::collection::vec(
                (
                    arb_rotation(),
                    prop::collection::vec(arb_restriction(), 0..=2),
                ),
                1..=3,
            ),
            arb_window_raw(),
            prop::collection::vec((0..62 * DAY, 1800..10 * DAY, 0usize..8, 0usize..16), 0..=6),
        )
            .prop_map(|(layers, raw, overrides)| {
                let w = make_window(&layers[0].0.time_zone, raw);
                let layers: Vec<Layer> = layers
                    .into_iter()
                    .enumerate()
                    .map(|(i, (rotation, restrictions))| {
                        layer(&format!("L{i}"), rotation, restrictions)
                    })
                    .collect();
                let overrides = overrides
                    .into_iter()
                    .enumerate()
                    .map(|(i, (off, len, u, r))| {
                        let start = w.start - SignedDuration::from_secs(DAY)
                            + SignedDuration::from_secs(off);
                        Override {
                            id: format!("O{i}"),
                            user: POOL[u].to_string(),
                            start,
                            end: start + SignedDuration::from_secs(len),
                            replaces: (r < 8 && r != u).then(|| POOL[r].to_string()),
                        }
                    })
                    .collect();
                (
                    Schedule {
                        time_zone: "UTC".into(),
                        layers,
                        overrides,
                    },
                    w,
                )
            })
    }

    /// Boundary `n` of a rotation, computed independently of the module: civil calendar
    /// arithmetic with a jiff `Span`, then jiff's default (compatible) disambiguation.
    fn nominal(rot: &Rotation, n: i64) -> DateTime {
        let span = match rot.shift {
            Hours(h) => (n * i64::from(h)).hours(),
            Days(d) => (n * i64::from(d)).days(),
            Weeks(w) => (n * i64::from(w)).weeks(),
        };
        rot.start.checked_add(span).unwrap()
    }

    fn boundary(tz: &TimeZone, rot: &Rotation, n: i64) -> Timestamp {
        tz.to_ambiguous_zoned(nominal(rot, n))
            .compatible()
            .unwrap()
            .timestamp()
    }

    fn in_gap(tz: &TimeZone, dt: DateTime) -> bool {
        matches!(
            tz.to_ambiguous_zoned(dt).offset(),
            AmbiguousOffset::Gap { .. }
        )
    }

    /// The largest `n` whose boundary is at or before `t` (boundaries are nondecreasing in these zones).
    fn shift_index(tz: &TimeZone, rot: &Rotation, t: Timestamp) -> i64 {
        let first = boundary(tz, rot, 0);
        let step = rot.shift.civil_hours() * 3600;
        let mut n = t.duration_since(first).as_secs() / step;
        while n > 0 && boundary(tz, rot, n) > t {
            n -= 1;
        }
        while boundary(tz, rot, n + 1) <= t {
            n += 1;
        }
        n
    }

    fn roster_user(rot: &Rotation, n: i64, shift_start: Timestamp) -> String {
        let roster = rot
            .rosters
            .iter()
            .rev()
            .find(|r| r.effective_from <= shift_start)
            .unwrap_or(&rot.rosters[0]);
        roster.participants[usize::try_from(n).unwrap() % roster.participants.len()].clone()
    }

    /// Brute force: who a layer has on call at `t`, from first principles.
    fn brute_layer_at(l: &Layer, t: Timestamp) -> Option<String> {
        let rot = &l.rotation;
        let tz = TimeZone::get(&rot.time_zone).unwrap();
        if t < boundary(&tz, rot, 0) {
            return None;
        }
        if !l.restrictions.is_empty() {
            let today = tz.to_datetime(t).date();
            let open = [today.yesterday().unwrap(), today].iter().any(|d| {
                l.restrictions.iter().any(|r| {
                    let end_day = if r.end <= r.start {
                        d.tomorrow().unwrap()
                    } else {
                        *d
                    };
                    let s = d
                        .to_datetime(r.start)
                        .in_tz(&rot.time_zone)
                        .unwrap()
                        .timestamp();
                    let e = end_day
                        .to_datetime(r.end)
                        .in_tz(&rot.time_zone)
                        .unwrap()
                        .timestamp();
                    r.days.contains(&d.weekday()) && s <= t && t < e
                })
            });
            if !open {
                return None;
            }
        }
        let n = shift_index(&tz, rot, t);
        Some(roster_user(rot, n, boundary(&tz, rot, n)))
    }

    /// Brute force: the final user and source at `t`.
    fn brute_at(s: &Schedule, t: Timestamp) -> (Option<String>, Option<ShiftSource>) {
        let base = s.layers.iter().rev().find_map(|l| {
            brute_layer_at(l, t).map(|u| {
                (
                    u,
                    ShiftSource::Layer {
                        layer_id: l.id.clone(),
                    },
                )
            })
        });
        let base_user = base.as_ref().map(|b| b.0.clone());
        let (mut user, mut source) = base.unzip();
        for o in s.overrides.iter().filter(|o| o.start <= t && t < o.end) {
            let applies = match &o.replaces {
                None => true,
                Some(x) => base_user.as_ref() == Some(x) || user.as_ref() == Some(x),
            };
            if applies {
                user = Some(o.user.clone());
                source = Some(ShiftSource::Override {
                    override_id: o.id.clone(),
                });
            }
        }
        (user, source)
    }

    /// Instants to check: window edges, override edges and middles, shift starts, and an even spread.
    fn sample_instants(s: &Schedule, w: &Window, shifts: &[Shift]) -> Vec<Timestamp> {
        let one = SignedDuration::from_secs(1);
        let mut out = vec![w.start, w.end - one];
        for o in &s.overrides {
            let mid =
                o.start + SignedDuration::from_secs(o.end.duration_since(o.start).as_secs() / 2);
            out.extend([o.start, o.end - one, o.end, mid]);
        }
        let stride = (shifts.len() / 40).max(1);
        for sh in shifts.iter().step_by(stride) {
            out.extend([sh.start, sh.end - one]);
        }
        let len = w.end.duration_since(w.start).as_secs();
        out.extend((0..29).map(|k| w.start + SignedDuration::from_secs(len * k / 29 + k * 61)));
        out.retain(|t| w.start <= *t && *t < w.end);
        out
    }

    fn assert_tiles(shifts: &[Shift], w: &Window) {
        assert!(!shifts.is_empty());
        assert_eq!(shifts[0].start, w.start);
        assert_eq!(shifts[shifts.len() - 1].end, w.end);
        for s in shifts {
            assert!(s.start < s.end, "{s:?}");
            assert_eq!(s.user.is_none(), s.source.is_none(), "{s:?}");
        }
        for pair in shifts.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            assert!(
                (&pair[0].user, &pair[0].source) != (&pair[1].user, &pair[1].source),
                "unmerged neighbours {pair:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// (a) rotation shifts tile the window after the first hand-off; (b) each unclipped shift
        /// has the nominal wall-clock length and the right participant.
        #[test]
        fn prop_rotation_tiles_and_keeps_wall_clock(rot in arb_rotation(), raw in arb_window_raw()) {
            let w = make_window(&rot.time_zone, raw);
            let tz = TimeZone::get(&rot.time_zone).unwrap();
            let got = rotation_shifts(&rot, &w);
            let first = boundary(&tz, &rot, 0);
            if first >= w.end {
                prop_assert!(got.is_empty());
                return Ok(());
            }
            prop_assert!(!got.is_empty());
            prop_assert_eq!(got[0].0, w.start.max(first));
            prop_assert_eq!(got[got.len() - 1].1, w.end);
            for (s, e, _) in &got {
                prop_assert!(s < e);
            }
            for pair in got.windows(2) {
                prop_assert_eq!(pair[0].1, pair[1].0);
            }
            for (s, e, user) in &got {
                let n = shift_index(&tz, &rot, *s);
                let unclipped_start = boundary(&tz, &rot, n);
                prop_assert_eq!(user, &roster_user(&rot, n, unclipped_start));
                if *s == w.start || *e == w.end {
                    continue;
                }
                prop_assert_eq!(*s, unclipped_start);
                prop_assert_eq!(*e, boundary(&tz, &rot, n + 1));
                let (from, to) = (nominal(&rot, n), nominal(&rot, n + 1));
                prop_assert_eq!(from.checked_add(rot.shift.civil_hours().hours()).unwrap(), to);
                if !in_gap(&tz, from) {
                    prop_assert_eq!(tz.to_datetime(*s), from);
                }
                if !in_gap(&tz, to) {
                    prop_assert_eq!(tz.to_datetime(*e), to);
                }
            }
        }

        /// (c) expand tiles the window; (d) the last covering override without `replaces` wins;
        /// (e) gaps are exactly where no layer is active and no override applies; (f) every
        /// sampled instant matches a brute-force evaluation.
        #[test]
        fn prop_expand_matches_brute_force((s, w) in arb_case()) {
            let shifts = expand(&s, &w);
            assert_tiles(&shifts, &w);
            for t in sample_instants(&s, &w, &shifts) {
                let got = oncall_at(&shifts, t).unwrap();
                // (d)
                if let Some(o) = s.overrides.iter().rev().find(|o| o.start <= t && t < o.end) {
                    if o.replaces.is_none() {
                        prop_assert_eq!(got.user.as_deref(), Some(o.user.as_str()), "t={}", t);
                        prop_assert_eq!(&got.source, &Some(ShiftSource::Override { override_id: o.id.clone() }));
                    }
                }
                // (e)
                let layer_active = s.layers.iter().any(|l| brute_layer_at(l, t).is_some());
                let plain_override = s.overrides.iter().any(|o| o.replaces.is_none() && o.start <= t && t < o.end);
                prop_assert_eq!(got.user.is_none(), !layer_active && !plain_override, "t={}", t);
                // (f)
                let (user, source) = brute_at(&s, t);
                prop_assert_eq!(&got.user, &user, "t={}", t);
                prop_assert_eq!(&got.source, &source, "t={}", t);
            }
            // Coverage agrees with the shifts.
            let c = coverage(&shifts);
            let gap_secs: i64 = c.gaps.iter().map(|g| g.end.duration_since(g.start).as_secs()).sum();
            let none_secs: i64 = shifts.iter().filter(|s| s.user.is_none()).map(|s| s.end.duration_since(s.start).as_secs()).sum();
            prop_assert_eq!(gap_secs, none_secs);
            let total: f64 = c.hours.values().sum::<f64>() + gap_secs as f64 / 3600.0;
            let len = w.end.duration_since(w.start).as_secs() as f64 / 3600.0;
            prop_assert!((total - len).abs() < 1e-6);
        }
    }
}
