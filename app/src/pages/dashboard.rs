//! The signed-in home page: the status at a glance and the teams.

use leptos::prelude::*;

use super::schedule::{NowCard, NowView, SwapView};
use super::{Nav, Shell, Viewer};
use crate::domain::status::StatusSnapshot;

/// A team as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSummary {
    /// Team name.
    pub name: String,
    /// Members' names.
    pub members: Vec<String>,
}

/// `/dashboard`.
#[component]
pub fn DashboardPage(
    viewer: Viewer,
    snapshot: StatusSnapshot,
    teams: Vec<TeamSummary>,
    /// Who is on call now, per schedule.
    nows: Vec<NowView>,
    /// Latest notices: (message, link, when).
    notices: Vec<(String, Option<String>, String)>,
    /// Open incidents and maintenance in progress: (title, link, status word).
    open_incidents: Vec<(String, String, String)>,
    /// Alerts that are not resolved: (summary, since).
    open_alerts: Vec<(String, String)>,
    /// Open on-call incidents: ("#12 title", link, state, "service · since").
    #[prop(optional)]
    oncall: Vec<(String, String, String, String)>,
    /// Open swap requests the viewer could take, oldest first (every one, not only the newest).
    #[prop(optional)]
    takeable: Vec<SwapView>,
    /// The viewer's own open swap requests.
    #[prop(optional)]
    my_requests: Vec<SwapView>,
    /// The viewer's IANA zone, named with the times.
    #[prop(optional)]
    zone: String,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let has_for_you = !notices.is_empty() || !takeable.is_empty();
    let name = viewer.name.clone().unwrap_or_default();
    let is_admin = viewer.is_admin;
    let is_responder = viewer.is_responder;
    let not_ok: Vec<_> = snapshot
        .groups
        .iter()
        .flat_map(|g| g.components.iter())
        .filter(|c| c.status != crate::domain::status::ComponentStatus::Operational)
        .cloned()
        .collect();
    view! {
        <Shell viewer=viewer nav=Nav::Dashboard>
            <h1 class="page-title">{format!("Hello, {name}")}</h1>
            {nows.into_iter().map(|n| view! { <NowCard now=n/> }).collect_view()}
            {(!oncall.is_empty()).then(|| view! {
                <section class="card" aria-labelledby="h-oncall">
                    <h2 id="h-oncall">{format!("Open on-call incidents ({})", oncall.len())}</h2>
                    <ul class="plain">
                        {oncall.into_iter().map(|(label, href, state, rest)| {
                            let cls = format!("tag state-{state}");
                            view! {
                                <li><a href=href>{label}</a>" "<span class=cls>{state.clone()}</span><span class="muted small">{format!(" · {rest}")}</span></li>
                            }
                        }).collect_view()}
                    </ul>
                    <p><a href="/oncall">"All incidents"</a></p>
                </section>
            })}
            <p><a href="/my/shifts">"My shifts"</a>"\u{a0}· "<a href="/swaps">"Swap requests"</a>"\u{a0}· "<a href="/schedules">"All schedules"</a></p>
            {has_for_you.then(|| view! {
                <section class="card for-you" aria-labelledby="h-for-you">
                    <h2 id="h-for-you">"For you"</h2>
                    {(!takeable.is_empty()).then(|| view! {
                        <h3>{format!("Shifts you could take ({})", takeable.len())}</h3>
                        <ul class="plain swaps takeable">
                            {takeable.into_iter().map(|s| {
                                let base = format!("/schedules/{}/swaps/{}", s.schedule_id, s.id);
                                view! {
                                    <li class="swap" data-swap=s.id.clone()>
                                        <p><strong>{s.requester.clone()}</strong>{format!(" asks someone to take {} on {}", s.when, s.schedule_name)}</p>
                                        {s.note.clone().map(|n| view! { <p class="muted">{format!("“{n}”")}</p> })}
                                        <form method="post" action=format!("{base}/accept") class="inline">
                                            <input type="hidden" name="csrf" value=csrf.clone()/>
                                            <button type="submit" class="button primary">"Accept, I'll take it"</button>
                                        </form>
                                        " "<a href=format!("/schedules/{}/swaps", s.schedule_id)>"See the request"</a>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <p class="muted small">{format!("Times in {zone}")}</p>
                    })}
                    <ul class="plain notices">
                        {notices.into_iter().map(|(m, link, when)| view! {
                            <li>{match link {
                                Some(l) => view! { <a href=l>{m}</a> }.into_any(),
                                None => view! { <span>{m}</span> }.into_any(),
                            }}<span class="muted small">{format!(" · {when}")}</span></li>
                        }).collect_view()}
                    </ul>
                </section>
            })}
            {(!my_requests.is_empty()).then(|| view! {
                <section class="card" aria-labelledby="h-my-requests">
                    <h2 id="h-my-requests">"Your open requests"</h2>
                    <ul class="plain">
                        {my_requests.into_iter().map(|s| view! {
                            <li>{format!("You asked someone to take {} on {}. Waiting for a teammate; you stay on call until someone accepts. ", s.when, s.schedule_name)}
                                <a href=format!("/schedules/{}/swaps", s.schedule_id)>"See or withdraw"</a></li>
                        }).collect_view()}
                    </ul>
                </section>
            })}
            <section class="card">
                <h2>"Public status"</h2>
                <p class=format!("banner indicator-{}", snapshot.indicator.as_str())>
                    <span class="dot" aria-hidden="true"></span>
                    <strong>{snapshot.indicator.description()}</strong>
                </p>
                {(!not_ok.is_empty()).then(|| view! {
                    <ul class="plain">
                        {not_ok.into_iter().map(|c| view! {
                            <li>{c.name}": "{c.status.label()}</li>
                        }).collect_view()}
                    </ul>
                })}
                {(!open_incidents.is_empty()).then(|| view! {
                    <h3>"Open incidents"</h3>
                    <ul class="plain">
                        {open_incidents.into_iter().map(|(title, href, status)| view! {
                            <li><a href=href>{title}</a><span class="muted small">{format!(" · {status}")}</span></li>
                        }).collect_view()}
                    </ul>
                })}
                {(!open_alerts.is_empty()).then(|| view! {
                    <h3>"Open alerts"</h3>
                    <ul class="plain">
                        {open_alerts.into_iter().map(|(summary, since)| view! {
                            <li class="error-text">{summary}<span class="muted small">{format!(" · since {since}")}</span></li>
                        }).collect_view()}
                    </ul>
                })}
                <p>
                    <a href="/status">"Open the status page"</a>
                    {is_responder.then(|| view! { "\u{a0}· " <a href="/admin/incidents">"Report an incident"</a> })}
                    {is_admin.then(|| view! { "\u{a0}· " <a href="/admin/components">"Change component status"</a> "\u{a0}· " <a href="/admin/monitors">"Monitors"</a> })}
                </p>
            </section>
            <section class="card">
                <h2>"Teams"</h2>
                {if teams.is_empty() {
                    view! { <p class="muted">"No teams yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="plain">
                            {teams.into_iter().map(|t| view! {
                                <li><strong>{t.name}</strong>": "{t.members.join(", ")}</li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </Shell>
    }
}
