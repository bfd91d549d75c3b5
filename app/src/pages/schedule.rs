//! Schedule pages: the "now" panel, week / month / agenda calendars, my shifts, a shift's
//! actions (cover it, ask someone to take it), swap requests, and the profile with iCal links.
//! The server computes every label in the viewer's zone; these components only lay them out.

use leptos::prelude::*;

use super::{urlencode, Nav, Shell, Viewer};
use crate::islands::countdown::HandoffCountdown;

/// One shift (or gap) as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftView {
    /// Schedule id.
    pub schedule_id: String,
    /// Schedule name.
    pub schedule_name: String,
    /// Who is on call; `None` is a gap.
    pub user_id: Option<String>,
    /// Their name, or "Nobody".
    pub user_name: String,
    /// Start, Unix ms.
    pub start_ms: i64,
    /// End, Unix ms.
    pub end_ms: i64,
    /// e.g. "Mon 24 Nov, 09:00".
    pub start_label: String,
    /// e.g. "Mon 1 Dec, 09:00".
    pub end_label: String,
    /// "layer", "override" or "gap".
    pub source: &'static str,
    /// The viewer's own shift.
    pub mine: bool,
}

impl ShiftView {
    fn action_href(&self) -> String {
        format!(
            "/schedules/{}/shift?start={}&end={}&user={}",
            self.schedule_id,
            self.start_ms,
            self.end_ms,
            urlencode(self.user_id.as_deref().unwrap_or(""))
        )
    }
}

/// Who is on call now for one schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NowView {
    /// Schedule id.
    pub schedule_id: String,
    /// Schedule name.
    pub schedule_name: String,
    /// Name of whoever is on call now, or `None` (a gap right now).
    pub on_call: Option<String>,
    /// When that ends (the hand-off), Unix ms.
    pub until_ms: Option<i64>,
    /// The hand-off as a label in the viewer's zone.
    pub until_label: Option<String>,
    /// Who comes next.
    pub next: Option<String>,
    /// Server time, Unix ms, so the countdown renders the same on server and client.
    pub now_ms: i64,
    /// Gaps in the next four weeks, as sentences.
    pub gaps: Vec<String>,
    /// The viewer is the one on call now.
    pub on_call_is_you: bool,
    /// The viewer comes next.
    pub next_is_you: bool,
    /// The IANA zone the times are shown in (the viewer's).
    pub zone: String,
    /// Not published yet: being built, shown only to admins, marked Draft.
    pub draft: bool,
}

/// The gap warning: impossible to miss; and, when there is none, a calm line saying so.
#[component]
pub fn GapBanner(schedule_name: String, gaps: Vec<String>) -> impl IntoView {
    if gaps.is_empty() {
        return view! { <p class="no-gaps muted small">"No gaps in the next 4 weeks."</p> }
            .into_any();
    }
    {
        let count = gaps.len();
        view! {
            <div class="gap-banner" role="alert">
                <strong>{format!("Coverage gap in {schedule_name}: ")}</strong>
                {format!("{count} time{} in the next 4 weeks with nobody on call.", if count == 1 { "" } else { "s" })}
                <ul>{gaps.into_iter().map(|g| view! { <li>{g}</li> }).collect_view()}</ul>
            </div>
        }
    }
    .into_any()
}

/// The "now" card of one schedule, with a live countdown to the hand-off.
#[component]
pub fn NowCard(now: NowView) -> impl IntoView {
    let NowView {
        schedule_id,
        schedule_name,
        on_call,
        until_ms,
        until_label,
        next,
        now_ms,
        gaps,
        on_call_is_you,
        next_is_you,
        zone,
        draft,
    } = now;
    let aria = format!("{schedule_name}: on call now");
    let you = |yes: bool| yes.then(|| view! { " " <span class="you-tag">"you"</span> });
    view! {
        <section class=if draft { "card now-card draft" } else { "card now-card" } aria-label=aria>
            <h2><a href=format!("/schedules/{schedule_id}")>{schedule_name.clone()}</a>
                {draft.then(|| view! { " " <span class="tag draft-tag">"Draft"</span> })}</h2>
            {if draft {
                view! {
                    <p class="muted">"Not published: only admins see it, nobody is paged through it."</p>
                    <p><a class="button" href=format!("/schedules/{schedule_id}/edit")>"Add layers and publish"</a></p>
                }.into_any()
            } else {
                view! {
                    {match on_call {
                        Some(name) => view! {
                            <p class="now-who"><span class="muted">"On call now: "</span><strong>{name}</strong>{you(on_call_is_you)}</p>
                        }.into_any(),
                        None => view! { <p class="now-who gap-text"><strong>"Nobody is on call right now"</strong></p> }.into_any(),
                    }}
                    {until_ms.map(|until| view! {
                        <p class="now-until">
                            "Hand-off "<HandoffCountdown until_ms=until now_ms=now_ms/>
                            {until_label.map(|l| view! { <span class="muted">{format!(" ({l})")}</span> })}
                        </p>
                    })}
                    {next.map(|n| view! { <p class="now-next"><span class="muted">"Next: "</span>{n}{you(next_is_you)}</p> })}
                    <GapBanner schedule_name=schedule_name gaps=gaps/>
                    <p class="muted small zone-note">{format!("Times in {zone}")}</p>
                }.into_any()
            }}
        </section>
    }
}

/// `/schedules`: who is on call now everywhere, gaps first.
#[component]
pub fn SchedulesPage(viewer: Viewer, nows: Vec<NowView>) -> impl IntoView {
    let is_admin = viewer.is_admin;
    view! {
        <Shell viewer=viewer nav=Nav::Schedules>
            <h1 class="page-title">"On call"</h1>
            <p><a href="/my/shifts">"My shifts"</a>"\u{a0}· "<a href="/swaps">"Swap requests"</a></p>
            {if nows.is_empty() {
                view! { <p class="muted">"No schedules yet."</p> }.into_any()
            } else {
                nows.into_iter().map(|n| view! { <NowCard now=n/> }).collect_view().into_any()
            }}
            {is_admin.then(|| view! { <p><a class="button" href="/schedules/new">"New schedule"</a></p> })}
        </Shell>
    }
}

/// Which calendar view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarView {
    /// Seven days, one column each.
    Week,
    /// A month grid.
    Month,
    /// A list, by day.
    Agenda,
}

impl CalendarView {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarView::Week => "week",
            CalendarView::Month => "month",
            CalendarView::Agenda => "agenda",
        }
    }
}

/// One day of a calendar with the shift pieces that fall in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayView {
    /// e.g. "Tue 25 Nov".
    pub label: String,
    /// ISO date, for links.
    pub date: String,
    /// Today in the viewer's zone.
    pub today: bool,
    /// Outside the shown month (month view padding).
    pub outside: bool,
    /// Pieces: (time range label, shift).
    pub pieces: Vec<(String, ShiftView)>,
}

/// `/schedules/{id}`: header, now panel, gap banner, and the chosen calendar view.
#[component]
pub fn SchedulePage(
    viewer: Viewer,
    schedule_id: String,
    schedule_name: String,
    /// The zone the times are shown in, named on screen.
    zone: String,
    now: NowView,
    view_kind: CalendarView,
    /// e.g. "24 – 30 Nov 2026".
    period_label: String,
    prev_date: String,
    next_date: String,
    days: Vec<DayView>,
    /// Hours on call per person in the period (fairness): (name, hours label).
    hours: Vec<(String, String)>,
    /// The schedule's private iCal feed URL.
    ical_url: String,
) -> impl IntoView {
    let is_admin = viewer.is_admin;
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let tab = {
        let schedule_id = schedule_id.clone();
        let date = days
            .iter()
            .find(|d| !d.outside)
            .map(|d| d.date.clone())
            .unwrap_or_default();
        move |v: CalendarView, label: &'static str| {
            let current = (v == view_kind).then_some("page");
            view! { <a class="tab" aria-current=current href=format!("/schedules/{schedule_id}?view={}&date={date}", v.as_str())>{label}</a> }
        }
    };
    let nav_href = {
        let schedule_id = schedule_id.clone();
        move |date: &str| {
            format!(
                "/schedules/{schedule_id}?view={}&date={date}",
                view_kind.as_str()
            )
        }
    };
    let body = match view_kind {
        CalendarView::Agenda => view! { <Agenda days=days/> }.into_any(),
        CalendarView::Week => view! { <Week days=days/> }.into_any(),
        CalendarView::Month => view! { <Month days=days/> }.into_any(),
    };
    view! {
        <Shell viewer=viewer nav=Nav::Schedules>
            <h1 class="page-title">{schedule_name}</h1>
            <NowCard now=now/>
            <div class="cal-head">
                <nav class="tabs" aria-label="Calendar view">
                    {tab(CalendarView::Week, "Week")}
                    {tab(CalendarView::Month, "Month")}
                    {tab(CalendarView::Agenda, "Agenda")}
                </nav>
                <div class="cal-nav">
                    <a class="button" href=nav_href(&prev_date) aria-label="Previous period">"‹"</a>
                    <strong class="period">{period_label}</strong>
                    <a class="button" href=nav_href(&next_date) aria-label="Next period">"›"</a>
                </div>
                <p class="muted small zone-note">{format!("Times in {zone}")}</p>
            </div>
            {body}
            <p class="cal-links">
                <a href=format!("/schedules/{schedule_id}/swaps")>"Swap requests"</a>
                {is_admin.then(|| view! { "\u{a0}· " <a href=format!("/schedules/{schedule_id}/edit")>"Edit layers and people"</a> })}
            </p>
            <section class="card">
                <h2>"Hours on call in this period"</h2>
                <ul class="plain hours">
                    {hours.into_iter().map(|(who, h)| view! { <li>{who}": "<strong>{h}</strong></li> }).collect_view()}
                </ul>
            </section>
            <section class="card">
                <h2>"Subscribe to this schedule"</h2>
                <p class="small">"A private link for calendar apps; anyone with it can read the schedule."</p>
                <input class="copy" readonly value=ical_url aria-label="Schedule iCal feed URL"/>
                {is_admin.then(|| view! {
                    <form method="post" action=format!("/schedules/{schedule_id}/ical/rotate")>
                        <input type="hidden" name="csrf" value=csrf.clone()/>
                        <button type="submit" class="button">"Revoke this link and make a new one"</button>
                    </form>
                })}
            </section>
        </Shell>
    }
}

#[component]
fn ShiftChip(time: String, shift: ShiftView) -> impl IntoView {
    let class = format!(
        "chip source-{}{}",
        shift.source,
        if shift.mine { " mine" } else { "" }
    );
    let href = shift.action_href();
    let label = format!("{time} {}", shift.user_name);
    view! {
        <a class=class href=href aria-label=label>
            <span class="chip-time">{time}</span>
            <span class="chip-who">{shift.user_name.clone()}</span>
            {(shift.source == "override").then(|| view! { <span class="chip-tag">"cover"</span> })}
        </a>
    }
}

#[component]
fn Agenda(days: Vec<DayView>) -> impl IntoView {
    view! {
        <ol class="agenda">
            {days.into_iter().filter(|d| !d.pieces.is_empty()).map(|d| view! {
                <li class=if d.today { "agenda-day today" } else { "agenda-day" }>
                    <h2 class="agenda-date">{d.label}{d.today.then_some(" · today")}</h2>
                    <ul class="agenda-shifts">
                        {d.pieces.into_iter().map(|(time, s)| view! { <li><ShiftChip time=time shift=s/></li> }).collect_view()}
                    </ul>
                </li>
            }).collect_view()}
        </ol>
    }
}

#[component]
fn Week(days: Vec<DayView>) -> impl IntoView {
    view! {
        <div class="week">
            {days.into_iter().map(|d| view! {
                <section class=if d.today { "week-day today" } else { "week-day" }>
                    <h2 class="week-date">{d.label}</h2>
                    {d.pieces.into_iter().map(|(time, s)| view! { <ShiftChip time=time shift=s/> }).collect_view()}
                </section>
            }).collect_view()}
        </div>
    }
}

#[component]
fn Month(days: Vec<DayView>) -> impl IntoView {
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    view! {
        <div class="month" role="table" aria-label="Month">
            <div class="month-row month-head" role="row">
                {names.into_iter().map(|n| view! { <span role="columnheader">{n}</span> }).collect_view()}
            </div>
            {days.chunks(7).map(|week| view! {
                <div class="month-row" role="row">
                    {week.iter().cloned().map(|d| {
                        let mut class = String::from("month-cell");
                        if d.today { class.push_str(" today"); }
                        if d.outside { class.push_str(" outside"); }
                        view! {
                            <div class=class role="cell">
                                <span class="month-date">{d.label}</span>
                                {d.pieces.into_iter().map(|(time, s)| view! { <ShiftChip time=time shift=s/> }).collect_view()}
                            </div>
                        }
                    }).collect_view()}
                </div>
            }).collect_view()}
        </div>
    }
}

/// `/my/shifts`: the viewer's stretches on call across schedules (back-to-back pieces merged),
/// each with "Ask someone to take this" (a POST to a confirmation step), or the sentence saying
/// it was asked already; and the iCal link.
#[component]
pub fn MyShiftsPage(
    viewer: Viewer,
    zone: String,
    /// Stretches, with what was asked of them already.
    shifts: Vec<MyStretch>,
    ical_url: String,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    view! {
        <Shell viewer=viewer nav=Nav::Schedules>
            <h1 class="page-title">"My shifts"</h1>
            <p class="muted small zone-note">{format!("Next 8 weeks · times in {zone}")}</p>
            {if shifts.is_empty() {
                view! { <p class="muted">"No shifts in the next 8 weeks."</p> }.into_any()
            } else {
                view! {
                    <ul class="my-shifts">
                        {shifts.into_iter().map(|MyStretch { shift: s, asked, rest }| {
                            let whole = asked.is_empty();
                            let swaps = format!("/schedules/{}/swaps", s.schedule_id);
                            let ask = format!("/schedules/{}/swaps/ask", s.schedule_id);
                            let asked = asked.into_iter().map(|sentence| {
                                let swaps = swaps.clone();
                                view! { <p class="asked" role="status">{sentence}" "<a href=swaps>"See the request"</a></p> }
                            }).collect_view();
                            // Asking covers the whole stretch, or, when part of it was asked
                            // already, each part left.
                            let forms = rest.into_iter().map(|part| {
                                let text = if whole {
                                    "Ask someone to take this".to_string()
                                } else {
                                    format!("Ask someone to take {} → {}", part.start_label, part.end_label)
                                };
                                view! {
                                    <form method="post" action=ask.clone() class="inline">
                                        <input type="hidden" name="csrf" value=csrf.clone()/>
                                        <input type="hidden" name="start" value=part.start_ms.to_string()/>
                                        <input type="hidden" name="end" value=part.end_ms.to_string()/>
                                        <button type="submit" class="button">{text}</button>
                                    </form>
                                }
                            }).collect_view();
                            view! {
                                <li class="card my-shift">
                                    <p><strong>{s.schedule_name.clone()}</strong>
                                        {(s.source == "override").then(|| view! { <span class="chip-tag">"covering"</span> })}</p>
                                    <p>{format!("{} → {}", s.start_label, s.end_label)}</p>
                                    {asked}
                                    {forms}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <section class="card">
                <h2>"Subscribe in your calendar app"</h2>
                <p>"This private link lists your shifts; updates replace events. Anyone with the link can read it."</p>
                <input class="copy" readonly value=ical_url aria-label="Your iCal feed URL"/>
                <p><a href="/profile">"Revoke or change time zone in your profile"</a></p>
            </section>
        </Shell>
    }
}

/// One card of My shifts: the stretch, the sentences of its open requests, and the parts of it
/// nobody was asked to take yet (the whole stretch when nothing was asked).
#[derive(Debug, Clone)]
pub struct MyStretch {
    /// The stretch.
    pub shift: ShiftView,
    /// "You asked your teammates to take …", one per open request.
    pub asked: Vec<String>,
    /// What is left to ask about.
    pub rest: Vec<AskPart>,
}

/// A part of a stretch to ask about, with its times as the viewer reads them.
#[derive(Debug, Clone)]
pub struct AskPart {
    /// Start, Unix ms.
    pub start_ms: i64,
    /// End, Unix ms.
    pub end_ms: i64,
    /// Start, in the viewer's zone.
    pub start_label: String,
    /// End, in the viewer's zone.
    pub end_label: String,
}

/// The confirmation step of asking: what will be asked, of whom, an optional note, and
/// "Yes, ask my teammates" (or go back).
#[component]
pub fn AskConfirmPage(
    viewer: Viewer,
    shift: ShiftView,
    zone: String,
    /// The note typed so far.
    #[prop(optional)]
    note: String,
    /// Why the last attempt was refused, as a sentence.
    #[prop(default = None)]
    error: Option<String>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let schedule_id = shift.schedule_id.clone();
    let invalid = error.as_ref().map(|_| "true");
    view! {
        <Shell viewer=viewer nav=Nav::Schedules>
            <h1 class="page-title">"Ask someone to take this?"</h1>
            <section class="card">
                <p><strong>{shift.schedule_name.clone()}</strong></p>
                <p>{format!("{} → {}", shift.start_label, shift.end_label)}</p>
                <p class="muted small">{format!("Times in {zone}")}</p>
                <p>"Everyone else in this schedule's rotation is asked. You stay on call until someone accepts."</p>
                <form method="post" action=format!("/schedules/{schedule_id}/swaps") class="stack">
                    <input type="hidden" name="csrf" value=csrf/>
                    <input type="hidden" name="start" value=shift.start_ms.to_string()/>
                    <input type="hidden" name="end" value=shift.end_ms.to_string()/>
                    <label for="note">"Note for your teammates " <span class="muted">"(optional)"</span></label>
                    <input id="note" name="note" maxlength="300" placeholder="e.g. I'm at a wedding" value=note
                        aria-invalid=invalid aria-describedby="ask-error"/>
                    <super::fields::FieldNote id="ask-error".to_string() error=error/>
                    <div class="row">
                        <button type="submit" class="button primary">"Yes, ask my teammates"</button>
                        <a class="button" href="/my/shifts">"No, go back"</a>
                    </div>
                </form>
            </section>
        </Shell>
    }
}

/// `/schedules/{id}/shift`: one shift and what can be done with it.
#[component]
pub fn ShiftPage(
    viewer: Viewer,
    schedule_id: String,
    shift: ShiftView,
    /// Members who could cover it: (id, name).
    members: Vec<(String, String)>,
    error: Option<String>,
    /// The viewer's zone, named with the times.
    #[prop(optional)]
    zone: String,
    /// The viewer's open request overlapping this shift, as a sentence.
    #[prop(default = None)]
    asked: Option<String>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let is_admin = viewer.is_admin;
    let mine = shift.mine;
    let start = shift.start_ms.to_string();
    let end = shift.end_ms.to_string();
    let replaces = shift.user_id.clone().unwrap_or_default();
    view! {
        <Shell viewer=viewer nav=Nav::Schedules>
            <p><a href=format!("/schedules/{schedule_id}")>{format!("← {}", shift.schedule_name)}</a></p>
            <h1 class="page-title">{if shift.user_id.is_some() { format!("{}'s shift", shift.user_name) } else { "Uncovered time".to_string() }}</h1>
            <p>{format!("{} → {}", shift.start_label, shift.end_label)}</p>
            {(!zone.is_empty()).then(|| view! { <p class="muted small zone-note">{format!("Times in {zone}")}</p> })}
            {error.map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            {asked.clone().map(|a| view! { <p class="notice" role="status">{a}" "<a href=format!("/schedules/{schedule_id}/swaps")>"See the request"</a></p> })}
            {(mine && asked.is_none()).then(|| view! {
                <section class="card">
                    <h2>"Ask someone to take this"</h2>
                    <form method="post" action=format!("/schedules/{schedule_id}/swaps") class="stack">
                        <input type="hidden" name="csrf" value=csrf.clone()/>
                        <input type="hidden" name="start" value=start.clone()/>
                        <input type="hidden" name="end" value=end.clone()/>
                        <label for="note">"Note for your teammates " <span class="muted">"(optional)"</span></label>
                        <input id="note" name="note" maxlength="300" placeholder="e.g. I'm at a wedding"/>
                        <button type="submit" class="button primary">"Ask someone to take this"</button>
                    </form>
                </section>
            })}
            {(!mine).then(|| view! {
                <section class="card">
                    <h2>{if is_admin { "Cover this shift" } else { "I'll cover this shift" }}</h2>
                    <form method="post" action=format!("/schedules/{schedule_id}/overrides") class="stack">
                        <input type="hidden" name="csrf" value=csrf.clone()/>
                        <input type="hidden" name="start" value=start.clone()/>
                        <input type="hidden" name="end" value=end.clone()/>
                        <input type="hidden" name="replaces" value=replaces.clone()/>
                        {is_admin.then(|| view! {
                            <label for="user">"Who covers"</label>
                            <select id="user" name="user">
                                <option value="">"Me"</option>
                                {members.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                            </select>
                        })}
                        <button type="submit" class="button primary">"Cover this shift"</button>
                    </form>
                </section>
            })}
        </Shell>
    }
}

/// A swap request as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapView {
    /// Id.
    pub id: String,
    /// Schedule.
    pub schedule_id: String,
    /// Schedule name.
    pub schedule_name: String,
    /// Who asks.
    pub requester: String,
    /// The viewer asked.
    pub mine: bool,
    /// "Tue 2 Dec, 14:00 → Tue 2 Dec, 22:00".
    pub when: String,
    /// Their note.
    pub note: Option<String>,
    /// "open", "accepted by X", ...
    pub state: String,
    /// Still open.
    pub open: bool,
}

/// `/swaps` and `/schedules/{id}/swaps`.
#[component]
pub fn SwapsPage(
    viewer: Viewer,
    title: String,
    swaps: Vec<SwapView>,
    notice: Option<String>,
    /// The viewer's zone, named with the times.
    #[prop(optional)]
    zone: String,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    view! {
        <Shell viewer=viewer nav=Nav::Schedules>
            <h1 class="page-title">{title}</h1>
            {(!zone.is_empty()).then(|| view! { <p class="muted small zone-note">{format!("Times in {zone}")}</p> })}
            {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
            {if swaps.is_empty() {
                view! { <p class="muted">"No swap requests."</p> }.into_any()
            } else {
                view! {
                    <ul class="swaps">
                        {swaps.into_iter().map(|s| {
                            let base = format!("/schedules/{}/swaps/{}", s.schedule_id, s.id);
                            let csrf = csrf.clone();
                            view! {
                                <li class="card swap" data-swap=s.id.clone()>
                                    <p><strong>{s.requester.clone()}</strong>{format!(" asks someone to take {} on {}", s.when, s.schedule_name)}</p>
                                    {s.note.clone().map(|n| view! { <p class="muted">{format!("“{n}”")}</p> })}
                                    <p class="small">{s.state.clone()}</p>
                                    {(s.open && !s.mine).then(|| view! {
                                        <div class="row">
                                            <form method="post" action=format!("{base}/accept") class="inline">
                                                <input type="hidden" name="csrf" value=csrf.clone()/>
                                                <button type="submit" class="button primary">"Accept, I'll take it"</button>
                                            </form>
                                            <form method="post" action=format!("{base}/decline") class="inline">
                                                <input type="hidden" name="csrf" value=csrf.clone()/>
                                                <button type="submit" class="button">"Decline"</button>
                                            </form>
                                        </div>
                                    })}
                                    {(s.open && s.mine).then(|| view! {
                                        <form method="post" action=format!("{base}/withdraw") class="inline">
                                            <input type="hidden" name="csrf" value=csrf.clone()/>
                                            <button type="submit" class="button">"Withdraw"</button>
                                        </form>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </Shell>
    }
}

/// `/profile`: time zone and the private iCal link.
#[component]
pub fn ProfilePage(
    viewer: Viewer,
    time_zone: String,
    ical_url: String,
    notice: Option<String>,
    /// The time zone field's sentence when the zone was refused.
    error: Option<String>,
    /// The viewer's contact methods and notification rules, with the forms' state.
    contacts: super::contacts::ContactsPanel,
    /// Schedules whose current or planned rotation includes the viewer, as (id, name).
    schedules: Vec<(String, String)>,
    /// Services owned by the viewer's teams, as (id, name, team name).
    #[prop(optional)]
    services: Vec<(String, String, String)>,
    /// The viewer's saved zone, first in the list (the field may hold a refused one).
    #[prop(optional)]
    own_zone: Option<String>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let csrf_contacts = csrf.clone();
    let csrf_rules = csrf.clone();
    let rules = contacts.clone();
    let own = own_zone.unwrap_or_else(|| time_zone.clone());
    view! {
        <Shell viewer=viewer nav=Nav::Profile>
            <h1 class="page-title">"Profile"</h1>
            {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
            <section class="card">
                <form method="post" action="/profile" class="stack">
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <super::fields::ZoneInput id="time_zone".to_string() label="Time zone (every time you see is shown in it)".to_string()
                        value=time_zone error=error/>
                    <super::fields::ZoneList own=own/>
                    <button type="submit" class="button primary">"Save"</button>
                </form>
            </section>
            <super::contacts::ContactMethods panel=contacts csrf=csrf_contacts/>
            <super::contacts::NotificationRules panel=rules csrf=csrf_rules/>
            <super::push::EnablePush csrf=csrf.clone()/>
            <section class="card" aria-labelledby="my-schedules">
                <h2 id="my-schedules">"Schedules involving you"</h2>
                {if schedules.is_empty() {
                    view! { <p class="muted">"You are in no schedule rotation."</p> }.into_any()
                } else {
                    view! {
                        <ul>
                            {schedules.into_iter().map(|(id, name)| view! {
                                <li><a href=format!("/schedules/{id}")>{name}</a></li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            <section class="card" aria-labelledby="my-services">
                <h2 id="my-services">"Services involving you"</h2>
                {if services.is_empty() {
                    view! { <p class="muted">"None of your teams owns a service."</p> }.into_any()
                } else {
                    view! {
                        <ul>
                            {services.into_iter().map(|(id, name, team)| view! {
                                <li><a href=format!("/services/{id}")>{name}</a><span class="muted small">{format!(" · {team}")}</span></li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            <section class="card">
                <h2>"Your shifts in your calendar app"</h2>
                <input class="copy" readonly value=ical_url aria-label="Your iCal feed URL"/>
                <form method="post" action="/profile/ical/rotate">
                    <input type="hidden" name="csrf" value=csrf/>
                    <button type="submit" class="button">"Revoke this link and make a new one"</button>
                </form>
            </section>
        </Shell>
    }
}

pub use super::contacts::ContactView;
