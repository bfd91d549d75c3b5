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

    /// The requester takes it back (field `user` for anyone else; field `state` unless open).
    pub fn withdraw(&self, by: &UserId) -> Result<SwapRequest, ValidationError> {
        if by != &self.requester {
            return Err(ValidationError::new(
                "user",
                "only the requester can withdraw a swap request",
            ));
        }
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
fn restriction_spans(
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

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            days.iter()
                .filter_map(|d| NAMES.iter().find(|(w, _)| w == d).map(|(_, n)| *n)),
        )
    }

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
