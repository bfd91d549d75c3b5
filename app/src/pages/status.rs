//! The public status page: the live body (banner, open incidents, maintenance, components with
//! 90-day uptime bars), the page around it (subscribe, feeds), incident permalinks and history.
//!
//! The body is rendered on the server once per change; the same HTML is embedded in the page and
//! pushed to open pages over SSE, where the small live module (`frontend/live`) swaps it in.

use leptos::prelude::*;

use super::{Nav, Shell, Viewer};
use crate::domain::status::{ComponentStatus, Indicator};
use crate::domain::uptime::{format_percent, UptimeBar};

/// One update as shown: status word, time, sanitised HTML body.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateView {
    /// "Investigating".
    pub status: String,
    /// Formatted time.
    pub at: String,
    /// When the text was corrected, formatted.
    pub edited: Option<String>,
    /// Sanitised HTML.
    pub html: String,
}

/// An incident or maintenance as shown on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentCard {
    /// Id (permalink `/incidents/{id}`).
    pub id: String,
    /// Title.
    pub name: String,
    /// Current status word.
    pub status: String,
    /// `none`, `minor`, `major`, `critical` or `maintenance` (colour).
    pub impact: String,
    /// Maintenance window, formatted.
    pub window: Option<String>,
    /// Affected components and the status the incident gives them (`None`: not yet, for
    /// maintenance that has not started, or no longer, once resolved).
    pub components: Vec<(String, Option<ComponentStatus>)>,
    /// Updates, newest first.
    pub updates: Vec<UpdateView>,
    /// Postmortem, sanitised HTML.
    pub postmortem: Option<String>,
    /// Start, formatted.
    pub started: String,
    /// Resolved, formatted.
    pub resolved: Option<String>,
}

/// A component row.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Current status.
    pub status: ComponentStatus,
    /// 90-day bar.
    pub bar: UptimeBar,
    /// For each bar cell with incidents: the link to open (incident or month).
    pub links: Vec<Option<String>>,
}

/// A group of components (or the ungrouped ones, `name: None`).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupView {
    /// Group name.
    pub name: Option<String>,
    /// Worst member status.
    pub worst: ComponentStatus,
    /// Members.
    pub components: Vec<ComponentView>,
}

/// Everything the live body shows.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusView {
    /// Overall indicator.
    pub indicator: Indicator,
    /// Open incidents, newest first.
    pub incidents: Vec<IncidentCard>,
    /// Maintenance in progress, then upcoming (soonest first).
    pub maintenance: Vec<IncidentCard>,
    /// Component groups.
    pub groups: Vec<GroupView>,
    /// "Updated …" time.
    pub updated: String,
}

/// The live part of the page; rendered to a string by the server.
#[component]
pub fn StatusBody(view: StatusView) -> impl IntoView {
    let banner_class = format!("banner indicator-{}", view.indicator.as_str());
    view! {
        <div class=banner_class role="status">
            <span class="dot" aria-hidden="true"></span>
            <strong>{view.indicator.description()}</strong>
        </div>
        <p class="muted small">{format!("Updated {}", view.updated)}</p>
        {(!view.incidents.is_empty()).then(|| view! {
            <section class="incidents" aria-labelledby="h-incidents">
                <h2 id="h-incidents">"Current incidents"</h2>
                {view.incidents.into_iter().map(|c| view! { <IncidentBlock card=c latest_only=false/> }).collect_view()}
            </section>
        })}
        {(!view.maintenance.is_empty()).then(|| view! {
            <section class="incidents" aria-labelledby="h-maint">
                <h2 id="h-maint">"Scheduled maintenance"</h2>
                {view.maintenance.into_iter().map(|c| view! { <IncidentBlock card=c latest_only=true/> }).collect_view()}
            </section>
        })}
        <div class="groups">
            {view.groups.into_iter().map(|g| view! { <Group group=g/> }).collect_view()}
        </div>
        <p class="legend muted small" aria-hidden="true">
            <span class="key u0"></span>"No downtime "
            <span class="key u2"></span>"Degraded "
            <span class="key u3"></span>"Partial outage "
            <span class="key u4"></span>"Major outage "
            <span class="key u1"></span>"Maintenance"
        </p>
    }
}

/// An incident or maintenance block, used on the page and the permalink page.
#[component]
pub fn IncidentBlock(
    card: IncidentCard,
    latest_only: bool,
    /// On its own page: the title is the page's heading, not a link.
    #[prop(optional)]
    standalone: bool,
) -> impl IntoView {
    let class = format!("incident impact-{}", card.impact);
    let href = format!("/incidents/{}", card.id);
    let updates = if latest_only {
        card.updates.into_iter().take(1).collect::<Vec<_>>()
    } else {
        card.updates
    };
    view! {
        <article class=class>
            {if standalone {
                view! { <h1 class="incident-title">{card.name}</h1> }.into_any()
            } else {
                view! { <h3><a href=href>{card.name}</a></h3> }.into_any()
            }}
            {card.window.map(|w| view! { <p class="window"><strong>"Window: "</strong>{w}</p> })}
            {(!card.components.is_empty()).then(|| view! {
                <p class="affected small">
                    "Affects: "
                    {card.components.into_iter().map(|(n, s)| match s {
                        Some(s) => {
                            let cls = format!("pill status-{}", s.as_str());
                            view! { <span class=cls><span class="dot" aria-hidden="true"></span>{n}" · "{s.label()}</span>" " }.into_any()
                        }
                        None => view! { <span class="tag">{n}</span>" " }.into_any(),
                    }).collect_view()}
                </p>
            })}
            <ol class="updates">
                {updates.into_iter().map(|u| view! {
                    <li>
                        <p class="update-head"><strong>{u.status}</strong>" · "<time>{u.at}</time>
                            {u.edited.map(|e| view! { <span class="muted">{format!(" · edited {e}")}</span> })}
                        </p>
                        <div class="md" inner_html=u.html></div>
                    </li>
                }).collect_view()}
            </ol>
            {card.postmortem.map(|p| view! {
                <section class="postmortem"><h4>"Postmortem"</h4><div class="md" inner_html=p></div></section>
            })}
        </article>
    }
}

#[component]
fn Group(group: GroupView) -> impl IntoView {
    let rows = group
        .components
        .into_iter()
        .map(|c| view! { <ComponentRow c=c/> })
        .collect_view();
    match group.name {
        Some(name) => {
            let pill = format!("pill status-{}", group.worst.as_str());
            let key = name.clone();
            view! {
                <details class="group" open data-group=key>
                    <summary>
                        <h2>{name}</h2>
                        <span class=pill><span class="dot" aria-hidden="true"></span>{group.worst.label()}</span>
                    </summary>
                    <ul class="components">{rows}</ul>
                </details>
            }
            .into_any()
        }
        None => view! {
            <section class="group">
                <h2>"Services"</h2>
                <ul class="components">{rows}</ul>
            </section>
        }
        .into_any(),
    }
}

#[component]
fn ComponentRow(c: ComponentView) -> impl IntoView {
    let status = c.status;
    let pill = format!("pill status-{}", status.as_str());
    let percent = format_percent(c.bar.percent);
    let bar_label = format!("{} uptime over the last 90 days: {percent}", c.name);
    let cells = c
        .bar
        .cells
        .into_iter()
        .zip(c.links)
        .map(|(cell, link)| {
            let (cls, word) = match cell.worst {
                None => ("un".to_string(), "no data"),
                Some(s) if s == ComponentStatus::Operational && cell.down_minutes == 0 => {
                    ("u0".to_string(), "no downtime")
                }
                Some(s) => (format!("u{}", crate::domain::uptime::rank(s)), s.label()),
            };
            let mut tip = format!("{}: {word}", cell.date);
            if cell.down_minutes > 0 {
                tip.push_str(&format!(", {} min down", cell.down_minutes));
            }
            for t in &cell.incidents {
                tip.push_str(" · ");
                tip.push_str(t);
            }
            match link {
                Some(href) => {
                    let title = tip.clone();
                    view! { <a class=cls href=href title=title><span class="sr">{tip}</span></a> }
                }
                .into_any(),
                None => view! { <i class=cls title=tip></i> }.into_any(),
            }
        })
        .collect_view();
    view! {
        <li class="component" data-component=c.id>
            <div class="component-head">
                <div class="component-text">
                    <span class="component-name">{c.name}</span>
                    {c.description.map(|d| view! { <span class="component-desc">{d}</span> })}
                </div>
                <span class=pill data-status=status.as_str()>
                    <span class="dot" aria-hidden="true"></span>
                    {status.label()}
                </span>
            </div>
            <div class="bar" role="group" aria-label=bar_label>{cells}</div>
            <div class="bar-legend small muted"><span class="days90">"90 days ago"</span><span class="days30">"30 days ago"</span><span>{format!("{percent} uptime")}</span><span>"Today"</span></div>
        </li>
    }
}

/// What the page around the body offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageExtras {
    /// Email subscriptions are possible (SMTP configured).
    pub email: bool,
    /// `(id, name)` of every component, for the subscription choice.
    pub components: Vec<(String, String)>,
}

/// The status page's one inline script: it loads the live module. The Content-Security-Policy
/// allows exactly this text by its hash.
pub fn live_loader() -> String {
    let dir = super::pkg_dir();
    format!(
        "import init from \"/{dir}/live/status_live.js\";init({{module_or_path:\"/{dir}/live/status_live_bg.wasm\"}});"
    )
}

/// The public status page at `/status` (and `/` for anonymous visitors).
#[component]
pub fn StatusPage(
    viewer: Viewer,
    page_name: String,
    body_html: String,
    /// The body's version, which the live module sends when it connects.
    version: String,
    extras: PageExtras,
    /// Load the live module (it was built and embedded).
    live: bool,
) -> impl IntoView {
    // The live module swaps in new bodies from the SSE stream and keeps this line current; the
    // line keeps its height, so nothing moves when it starts.
    let script = live.then(|| {
        let code = live_loader();
        view! { <script type="module" inner_html=code></script> }
    });
    view! {
        <Shell viewer=viewer nav=Nav::Status>
            <h1 class="page-title">{format!("{page_name} status")}</h1>
            <p id="live-line" class="live-line" aria-live="polite">"Reload the page for the latest status."</p>
            <div id="status-live" data-version=version inner_html=body_html></div>
            <section class="card subscribe" aria-labelledby="h-sub">
                <h2 id="h-sub">"Get updates"</h2>
                {extras.email.then(|| view! {
                    <form method="post" action="/subscribe" class="stack">
                        <label for="sub-email">"Email me when an incident is posted or updated"</label>
                        <div class="row">
                            <input id="sub-email" type="email" name="email" required autocomplete="email" placeholder="you@example.org"/>
                            <button type="submit" class="button primary">"Subscribe"</button>
                        </div>
                        <details>
                            <summary>"Only some components"</summary>
                            <fieldset class="checks">
                                <legend class="sr">"Components"</legend>
                                {extras.components.into_iter().map(|(id, name)| {
                                    let fid = format!("sub-{id}");
                                    let ffor = fid.clone();
                                    view! {
                                        <label class="check" for=ffor><input id=fid type="checkbox" name="components" value=id/>" "{name}</label>
                                    }
                                }).collect_view()}
                            </fieldset>
                        </details>
                        <p class="small muted">"We send one email to confirm. Every email has an unsubscribe link."</p>
                    </form>
                })}
                <p class="links">
                    <a href="/history">"Incident history"</a>
                    <a href="/history.rss">"RSS feed"</a>
                    <a href="/history.atom">"Atom feed"</a>
                    <a href="/api/v2/summary.json">"JSON API"</a>
                </p>
            </section>
            {script}
        </Shell>
    }
}

/// `/incidents/{id}`: one incident or maintenance with every update.
#[component]
pub fn IncidentPage(viewer: Viewer, page_name: String, card: IncidentCard) -> impl IntoView {
    let when = match &card.resolved {
        Some(r) => format!("Started {}, resolved {}", card.started, r),
        None => format!("Started {}, ongoing", card.started),
    };
    let status = card.status.clone();
    view! {
        <Shell viewer=viewer nav=Nav::Status>
            <p class="crumbs small"><a href="/status">{format!("{page_name} status")}</a>" › "<a href="/history">"History"</a></p>
            <p class="muted">{format!("{status} · {when}")}</p>
            <IncidentBlock card=card latest_only=false standalone=true/>
        </Shell>
    }
}

/// One month of history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryView {
    /// "November 2026".
    pub month: String,
    /// Link to the previous month.
    pub prev: String,
    /// Link to the next month, unless it is in the future.
    pub next: Option<String>,
    /// Incidents and maintenance that started in the month, newest first.
    pub items: Vec<IncidentCard>,
}

/// `/history` and `/history/{yyyy-mm}`.
#[component]
pub fn HistoryPage(viewer: Viewer, page_name: String, view: HistoryView) -> impl IntoView {
    let title = format!("{} incident history: {}", page_name, view.month);
    view! {
        <Shell viewer=viewer nav=Nav::Status>
            <p class="crumbs small"><a href="/status">{format!("{page_name} status")}</a></p>
            <h1 class="page-title">{title}</h1>
            <nav class="pager" aria-label="Months">
                <a href=view.prev rel="prev">"← Earlier"</a>
                {view.next.map(|n| view! { <a href=n rel="next">"Later →"</a> })}
            </nav>
            {if view.items.is_empty() {
                view! { <p class="card">"No incidents or maintenance this month."</p> }.into_any()
            } else {
                view.items.into_iter().map(|c| {
                    let resolved = c.resolved.clone().unwrap_or_else(|| "ongoing".to_string());
                    let meta = format!("{} · {} → {}", c.status, c.started, resolved);
                    view! {
                        <div class="history-item">
                            <p class="muted small">{meta}</p>
                            <IncidentBlock card=c latest_only=true/>
                        </div>
                    }
                }).collect_view().into_any()
            }}
        </Shell>
    }
}
