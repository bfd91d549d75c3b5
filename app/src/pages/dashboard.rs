//! The signed-in home page: the status at a glance and the teams.

use leptos::prelude::*;

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
) -> impl IntoView {
    let name = viewer.name.clone().unwrap_or_default();
    let is_admin = viewer.is_admin;
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
                <p>
                    <a href="/status">"Open the status page"</a>
                    {is_admin.then(|| view! { " · " <a href="/admin/components">"Change component status"</a> })}
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
