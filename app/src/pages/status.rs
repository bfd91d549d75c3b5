//! The public status page: the live body (banner, open incidents, maintenance, components with
//! 90-day uptime bars), the page around it (subscribe, feeds), incident permalinks and history.
//!
//! The body is rendered on the server once per change; the same HTML is embedded in the page and
//! pushed to open pages over SSE, where the small live module (`frontend/live`) swaps it in.

use leptos::prelude::*;

use super::{Nav, Shell, Viewer};
use crate::domain::status::{ComponentStatus, Indicator};
use crate::domain::uptime::{format_percent, UptimeBar};

/// A moment as shown: the text in the page's zone (labelled), and the instant, which the live
/// module rewrites into the reader's own zone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stamp {
    /// "24 Nov 2026, 09:05 UTC".
    pub text: String,
    /// Unix milliseconds.
    pub ms: i64,
}

impl Stamp {
    /// The instant in RFC 3339 (UTC), for `<time datetime>`.
    pub fn iso(&self) -> String {
        jiff::Timestamp::from_millisecond(self.ms)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    }
}

/// `<time>` with the page-zone text; the live module shows it in the reader's zone.
#[component]
pub fn When(stamp: Stamp) -> impl IntoView {
    let iso = stamp.iso();
    view! { <time datetime=iso data-local="">{stamp.text}</time> }
}

/// One update as shown: status word, time, sanitised HTML body.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateView {
    /// "Investigating".
    pub status: String,
    /// When it was posted.
    pub at: Stamp,
    /// When the text was corrected.
    pub edited: Option<Stamp>,
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
    /// Maintenance window.
    pub window: Option<(Stamp, Stamp)>,
    /// Affected components and the status the incident gives them (`None`: not yet, for
    /// maintenance that has not started, or no longer, once resolved).
    pub components: Vec<(String, Option<ComponentStatus>)>,
    /// Updates, newest first.
    pub updates: Vec<UpdateView>,
    /// Postmortem, sanitised HTML.
    pub postmortem: Option<String>,
    /// Start.
    pub started: Stamp,
    /// Resolved.
    pub resolved: Option<Stamp>,
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
    /// Incidents of the days phones show, newest first: (link, "24 Nov", title).
    pub recent: Vec<(String, String, String)>,
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
    /// When anything on the page last changed.
    pub updated: Stamp,
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
        <p class="muted small">"Updated "<When stamp=view.updated/></p>
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
            <span class="legend-item"><span class="key u0"></span>"No downtime"</span>" "
            <span class="legend-item"><span class="key u2"></span>"Degraded"</span>" "
            <span class="legend-item"><span class="key u3"></span>"Partial outage"</span>" "
            <span class="legend-item"><span class="key u4"></span>"Major outage"</span>" "
            <span class="legend-item"><span class="key u1"></span>"Maintenance"</span>
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
            {card.window.map(|(a, b)| view! { <p class="window"><strong>"Window: "</strong><When stamp=a/>" to "<When stamp=b/></p> })}
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
                        <p class="update-head"><strong>{u.status}</strong>" · "<When stamp=u.at/>
                            {u.edited.map(|e| view! { <span class="muted">" · edited "<When stamp=e/></span> })}
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
    let percent_30 = format_percent(c.bar.percent_30);
    let bar_label = format!("{} uptime over the last 90 days: {percent}", c.name);
    let recent = c.recent;
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
            // A day with incidents links to them inside its cell; phones hide the link (far
            // below a fingertip) and list the incidents under the bar instead.
            match link {
                Some(href) => {
                    let title = tip.clone();
                    view! { <i class=cls><a href=href title=title><span class="sr">{tip}</span></a></i> }
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
            <div class="bar-legend small muted"><span class="days90">"90 days ago"</span><span class="days30">"30 days ago"</span><span class="days90">{format!("{percent} uptime")}</span><span class="days30">{format!("{percent_30} uptime")}</span><span>"Today"</span></div>
            {(!recent.is_empty()).then(|| view! {
                <ul class="bar-incidents small">
                    {recent.into_iter().map(|(href, day, title)| view! {
                        <li><a href=href><span class="muted">{day}</span>" "{title}</a></li>
                    }).collect_view()}
                </ul>
            })}
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

/// The organisation's branding of the public pages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageBrand {
    /// Page name ("crates.io").
    pub name: String,
    /// The organisation's site (http or https; checked when saved).
    pub site_url: Option<String>,
    /// The logo's URL on this server (`/status/logo?v=…`).
    pub logo: Option<String>,
    /// Footer links: (label, http(s) URL).
    pub links: Vec<(String, String)>,
}

/// The top of a public page: logo, title, link back to the organisation's site.
#[component]
fn BrandHead(brand: PageBrand, title: String, #[prop(optional)] crumbs: bool) -> impl IntoView {
    let home = format!("{} status", brand.name);
    let logo_alt = format!("{} logo", brand.name);
    let site_label = format!("{} website", brand.name);
    view! {
        <header class="org-head">
            {brand.logo.map(|src| view! { <img class="org-logo" src=src alt=logo_alt height="40"/> })}
            <div class="org-text">
                {crumbs.then(|| view! { <p class="crumbs small"><a href="/status">{home}</a></p> })}
                <h1 class="page-title">{title}</h1>
            </div>
            {brand.site_url.map(|u| view! { <a class="org-site" href=u rel="noopener">{site_label}</a> })}
        </header>
    }
}

/// The organisation's footer links.
#[component]
fn BrandFoot(brand: PageBrand) -> impl IntoView {
    (!brand.links.is_empty()).then(|| {
        let label = format!("{} links", brand.name);
        view! {
            <nav class="org-links" aria-label=label>
                <ul>
                    {brand.links.into_iter().map(|(l, u)| view! { <li><a href=u rel="noopener">{l}</a></li> }).collect_view()}
                </ul>
            </nav>
        }
    })
}

/// The public status page at `/status` (and `/` for anonymous visitors).
#[component]
pub fn StatusPage(
    viewer: Viewer,
    brand: PageBrand,
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
    let title = format!("{} status", brand.name);
    let foot = brand.clone();
    view! {
        <Shell viewer=viewer nav=Nav::Status brand=brand.name.clone()>
            <BrandHead brand=brand title=title/>
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
            <BrandFoot brand=foot/>
            {script}
        </Shell>
    }
}

/// `/incidents/{id}`: one incident or maintenance with every update.
#[component]
pub fn IncidentPage(
    viewer: Viewer,
    brand: PageBrand,
    card: IncidentCard,
    /// Load the live module (it shows times in the reader's zone).
    live: bool,
) -> impl IntoView {
    let status = card.status.clone();
    let started = card.started.clone();
    let resolved = card.resolved.clone();
    let home = format!("{} status", brand.name);
    let foot = brand.clone();
    let logo_alt = format!("{} logo", brand.name);
    view! {
        <Shell viewer=viewer nav=Nav::Status brand=brand.name.clone()>
            <header class="org-head">
                {brand.logo.map(|src| view! { <img class="org-logo" src=src alt=logo_alt height="40"/> })}
                <p class="crumbs small"><a href="/status">{home}</a>" › "<a href="/history">"History"</a></p>
            </header>
            <p class="muted">{status}" · Started "<When stamp=started/>
                {match resolved {
                    Some(r) => view! { ", resolved "<When stamp=r/> }.into_any(),
                    None => ", ongoing".into_any(),
                }}
            </p>
            <IncidentBlock card=card latest_only=false standalone=true/>
            <BrandFoot brand=foot/>
            {live.then(|| view! { <LocalTimes/> })}
        </Shell>
    }
}

/// The live module, on pages that only need their times shown in the reader's zone.
#[component]
fn LocalTimes() -> impl IntoView {
    let code = live_loader();
    view! { <script type="module" inner_html=code></script> }
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
pub fn HistoryPage(
    viewer: Viewer,
    brand: PageBrand,
    view: HistoryView,
    /// Load the live module (it shows times in the reader's zone).
    live: bool,
) -> impl IntoView {
    let title = format!("{} incident history: {}", brand.name, view.month);
    let foot = brand.clone();
    view! {
        <Shell viewer=viewer nav=Nav::Status brand=brand.name.clone()>
            <BrandHead brand=brand title=title crumbs=true/>
            <nav class="pager" aria-label="Months">
                <a href=view.prev rel="prev">"← Earlier"</a>
                {view.next.map(|n| view! { <a href=n rel="next">"Later →"</a> })}
            </nav>
            {if view.items.is_empty() {
                view! { <p class="card">"No incidents or maintenance this month."</p> }.into_any()
            } else {
                view.items.into_iter().map(|c| {
                    let status = c.status.clone();
                    let started = c.started.clone();
                    let resolved = c.resolved.clone();
                    view! {
                        <div class="history-item">
                            <p class="muted small">{status}" · "<When stamp=started/>" → "
                                {match resolved {
                                    Some(r) => view! { <When stamp=r/> }.into_any(),
                                    None => "ongoing".into_any(),
                                }}
                            </p>
                            <IncidentBlock card=c latest_only=true/>
                        </div>
                    }
                }).collect_view().into_any()
            }}
            <BrandFoot brand=foot/>
            {live.then(|| view! { <LocalTimes/> })}
        </Shell>
    }
}
