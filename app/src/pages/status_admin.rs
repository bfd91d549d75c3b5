//! Responder and admin pages of the status page: incidents and maintenance (create, post
//! updates, postmortem), monitors with their alerts, and subscribers.

use leptos::prelude::*;

use super::status::{IncidentBlock, IncidentCard};
use super::{Nav, Shell, TextArea, Viewer};
use crate::domain::incident::{IncidentInput, IncidentStatus, MaintenanceInput, TITLE_MAX};
use crate::domain::monitor::MonitorInput;
use crate::domain::status::{ComponentStatus, Impact};
use crate::domain::ValidationError;

/// A component with its current status, for the forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentChoice {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Current status.
    pub status: ComponentStatus,
}

/// A line in the incident list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    /// Id.
    pub id: String,
    /// Title.
    pub name: String,
    /// `Maintenance` or `Incident`.
    pub kind: String,
    /// Status word.
    pub status: String,
    /// Impact wire value.
    pub impact: String,
    /// When it started (or starts), formatted.
    pub when: String,
}

fn error_box(error: Option<ValidationError>) -> impl IntoView {
    error.map(|e| {
        view! {
            <p class="error" role="alert">
                <strong>{format!("{}: ", e.field)}</strong>{e.message}
            </p>
        }
    })
}

/// The per-component status selects of the incident forms.
#[component]
fn ComponentSelects(components: Vec<ComponentChoice>, legend: &'static str) -> impl IntoView {
    view! {
        <fieldset class="component-selects">
            <legend>{legend}</legend>
            {components.into_iter().map(|c| {
                let name = format!("component.{}", c.id);
                let id = format!("cs-{}", c.id);
                let current = format!("{} (now {})", c.name, c.status.label().to_lowercase());
                view! {
                    <div class="field-row">
                        <label for=id.clone()>{current}</label>
                        <select id=id name=name>
                            <option value="">"No change"</option>
                            {ComponentStatus::ALL.into_iter().map(|s| view! {
                                <option value=s.as_str()>{s.label()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                }
            }).collect_view()}
        </fieldset>
    }
}

fn notify_box() -> impl IntoView {
    view! {
        <label class="check"><input type="checkbox" name="notify" value="true" checked/>" Notify subscribers"</label>
    }
}

fn rows(list: Vec<IncidentRow>) -> impl IntoView {
    view! {
        <ul class="admin-list">
            {list.into_iter().map(|r| {
                let href = format!("/admin/incidents/{}", r.id);
                let cls = format!("tag impact-{}", r.impact);
                view! {
                    <li class="admin-row">
                        <div class="admin-row-head">
                            <a class="component-name" href=href>{r.name}</a>
                            <span class=cls>{format!("{} · {}", r.kind, r.status)}</span>
                        </div>
                        <span class="muted small">{r.when}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// `/admin/incidents`: open and recent items, and the forms to report an incident or schedule
/// maintenance.
#[component]
pub fn IncidentsAdminPage(
    viewer: Viewer,
    open: Vec<IncidentRow>,
    recent: Vec<IncidentRow>,
    components: Vec<ComponentChoice>,
    incident_form: IncidentInput,
    maintenance_form: MaintenanceInput,
    error: Option<ValidationError>,
    /// Which form the error belongs to: `incident` or `maintenance`.
    error_form: String,
    is_admin: bool,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let csrf2 = csrf.clone();
    let (inc_err, maint_err) = if error_form == "maintenance" {
        (None, error)
    } else {
        (error, None)
    };
    let comps2 = components.clone();
    let tz = maintenance_form.time_zone.clone();
    view! {
        <Shell viewer=viewer nav=Nav::Incidents>
            <h1 class="page-title">"Status page: incidents and maintenance"</h1>
            <p class="muted small">"What the public reads. Alerts and paging are under "<a href="/oncall">"Incidents"</a>"."</p>
            <section class="card">
                <h2>"Open and upcoming"</h2>
                {if open.is_empty() {
                    view! { <p class="muted">"Nothing open. The status page shows no incident."</p> }.into_any()
                } else {
                    rows(open).into_any()
                }}
            </section>
            <section class="card" id="new-incident">
                <h2>"Report an incident"</h2>
                {error_box(inc_err)}
                <form method="post" action="/admin/incidents" class="stack">
                    <input type="hidden" name="csrf" value=csrf/>
                    <label for="inc-name">"Title"</label>
                    <input id="inc-name" name="name" required maxlength=TITLE_MAX.to_string()
                        value=incident_form.name placeholder="Sparse index responding slowly"/>
                    <div class="field-row">
                        <label for="inc-impact">"Impact"</label>
                        <select id="inc-impact" name="impact">
                            {Impact::ALL.into_iter().map(|i| {
                                let selected = incident_form.impact == i.as_str() || (incident_form.impact.is_empty() && i == Impact::Minor);
                                view! { <option value=i.as_str() selected=selected>{i.as_str()}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field-row">
                        <label for="inc-status">"Status"</label>
                        <select id="inc-status" name="status">
                            {IncidentStatus::INCIDENT.into_iter().filter(|s| s.is_open()).map(|s| view! {
                                <option value=s.as_str()>{s.label()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <label for="inc-body">"Message (Markdown)"</label>
                    <TextArea id="inc-body" name="body" rows=4 required=true value=incident_form.body
                        placeholder="We are investigating elevated error rates."/>
                    <ComponentSelects components=components legend="Affected components"/>
                    {notify_box()}
                    <button type="submit" class="button primary">"Publish incident"</button>
                </form>
            </section>
            <section class="card" id="new-maintenance">
                <h2>"Schedule maintenance"</h2>
                {error_box(maint_err)}
                <form method="post" action="/admin/maintenance" class="stack">
                    <input type="hidden" name="csrf" value=csrf2/>
                    <label for="m-name">"Title"</label>
                    <input id="m-name" name="name" required maxlength=TITLE_MAX.to_string() value=maintenance_form.name
                        placeholder="Database upgrade"/>
                    <div class="field-row">
                        <label for="m-starts">{format!("Starts ({tz})")}</label>
                        <input id="m-starts" type="datetime-local" name="starts" required value=maintenance_form.starts/>
                    </div>
                    <div class="field-row">
                        <label for="m-ends">{format!("Ends ({tz})")}</label>
                        <input id="m-ends" type="datetime-local" name="ends" required value=maintenance_form.ends/>
                    </div>
                    <input type="hidden" name="time_zone" value=maintenance_form.time_zone.clone()/>
                    <label for="m-body">"What will happen (Markdown)"</label>
                    <TextArea id="m-body" name="body" rows=3 required=true value=maintenance_form.body/>
                    <fieldset class="checks">
                        <legend>"Components under maintenance"</legend>
                        {comps2.into_iter().map(|c| {
                            let id = format!("mc-{}", c.id);
                            let lfor = id.clone();
                            let name = format!("component.{}", c.id);
                            view! { <label class="check" for=lfor><input id=id type="checkbox" name=name value="under_maintenance"/>" "{c.name}</label> }
                        }).collect_view()}
                    </fieldset>
                    {notify_box()}
                    <button type="submit" class="button primary">"Schedule"</button>
                </form>
            </section>
            <section class="card">
                <h2>"Recent"</h2>
                {rows(recent)}
                <p><a href="/history">"Public history"</a>
                    {is_admin.then(|| view! { "\u{a0}· " <a href="/admin/subscribers">"Subscribers"</a> })}
                </p>
            </section>
        </Shell>
    }
}

/// `/admin/incidents/{id}`: the incident as the public sees it, and the update form.
#[component]
pub fn IncidentAdminPage(
    viewer: Viewer,
    card: IncidentCard,
    /// Current status wire value.
    status: String,
    /// Statuses the next update may set.
    statuses: Vec<IncidentStatus>,
    /// Whether impact may change (incidents only).
    is_incident: bool,
    components: Vec<ComponentChoice>,
    error: Option<ValidationError>,
    body: String,
    /// Published updates whose text may be corrected, newest first.
    corrections: Vec<CorrectionRow>,
    /// A refused title correction, as typed.
    title_draft: Option<String>,
    /// The viewer is an admin and the incident is closed (or a maintenance not yet started).
    can_delete: bool,
    /// The on-call incidents that posted here: (link, "#12 title").
    #[prop(optional)]
    oncall: Vec<(String, String)>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let action = format!("/admin/incidents/{}/updates", card.id);
    let impact_now = card.impact.clone();
    let delete_action = format!("/admin/incidents/{}/delete", card.id);
    let delete_csrf = csrf.clone();
    let delete_what = if is_incident {
        "incident"
    } else {
        "maintenance"
    };
    let fix = Corrections {
        csrf: csrf.clone(),
        incident: card.id.clone(),
        title_open: title_draft.is_some(),
        name: title_draft.unwrap_or_else(|| card.name.clone()),
        rows: corrections,
    };
    view! {
        <Shell viewer=viewer nav=Nav::Incidents>
            <p class="crumbs small"><a href="/admin/incidents">"Status posts"</a></p>
            <section class="card" id="post-update">
                <h1>{format!("Update: {}", card.name)}</h1>
                {(!oncall.is_empty()).then(|| view! {
                    <p class="small">"Posted from on-call incident: "
                        {oncall.into_iter().map(|(href, label)| view! { <a href=href>{label}</a>" " }).collect_view()}
                    </p>
                })}
                {error_box(error)}
                <form method="post" action=action class="stack">
                    <input type="hidden" name="csrf" value=csrf/>
                    <div class="field-row">
                        <label for="u-status">"Status"</label>
                        <select id="u-status" name="status">
                            {statuses.into_iter().map(|s| view! {
                                <option value=s.as_str() selected=s.as_str() == status>{s.label()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    {is_incident.then(|| view! {
                        <div class="field-row">
                            <label for="u-impact">"Impact"</label>
                            <select id="u-impact" name="impact">
                                {Impact::ALL.into_iter().map(|i| view! {
                                    <option value=i.as_str() selected=impact_now == i.as_str()>{i.as_str()}</option>
                                }).collect_view()}
                            </select>
                        </div>
                    })}
                    <label for="u-body">"Message (Markdown; for Postmortem, the write-up)"</label>
                    <TextArea id="u-body" name="body" rows=5 required=true value=body/>
                    <ComponentSelects components=components legend="Component statuses (resolving restores the ones still as the incident set them)"/>
                    {notify_box()}
                    <button type="submit" class="button primary">"Post update"</button>
                </form>
            </section>
            <h2>"As the public sees it"</h2>
            <IncidentBlock card=card latest_only=false/>
            {corrections_view(fix)}
            {can_delete.then(|| view! {
                <section class="card" aria-labelledby="h-delete">
                    <h2 id="h-delete">{format!("Delete this {delete_what}")}</h2>
                    <p class="small muted">"It disappears from the status page, its history, the feeds and the API. Subscribers are not told. Component uptime history stays as it was."</p>
                    <form method="post" action=delete_action class="stack">
                        <input type="hidden" name="csrf" value=delete_csrf/>
                        <label class="check"><input type="checkbox" name="confirm" value="true" required/>" Yes, delete it for good"</label>
                        <button type="submit" class="button danger">"Delete"</button>
                    </form>
                </section>
            })}
        </Shell>
    }
}

/// A published update whose text can be corrected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionRow {
    /// Update id.
    pub id: String,
    /// "Investigating · 24 Nov 14:03".
    pub label: String,
    /// The Markdown as published (or as typed, when a correction was refused).
    pub body: String,
    /// Shown open (a refused correction).
    pub open: bool,
}

struct Corrections {
    csrf: String,
    incident: String,
    title_open: bool,
    name: String,
    rows: Vec<CorrectionRow>,
}

/// Forms that fix a typo in the title or in a published message. The page marks corrected
/// messages as edited; subscribers are not mailed again.
fn corrections_view(fix: Corrections) -> impl IntoView {
    let Corrections {
        csrf,
        incident,
        title_open,
        name,
        rows,
    } = fix;
    let title_action = format!("/admin/incidents/{incident}/title");
    let title_csrf = csrf.clone();
    view! {
        <section class="card corrections" aria-labelledby="h-correct">
            <h2 id="h-correct">"Correct published text"</h2>
            <p class="small muted">"For typos and wrong links. The page shows the message as edited; subscribers are not notified again. To tell people something new, post an update."</p>
            <details open=title_open>
                <summary>"Title"</summary>
                <form method="post" action=title_action class="stack">
                    <input type="hidden" name="csrf" value=title_csrf/>
                    <label for="c-title">"Corrected title"</label>
                    <input id="c-title" name="name" value=name required maxlength="200"/>
                    <button type="submit" class="button">"Save title"</button>
                </form>
            </details>
            {rows.into_iter().map(|r| {
                let action = format!("/admin/incidents/{incident}/updates/{}/correct", r.id);
                let fid = format!("c-{}", r.id);
                let ffor = fid.clone();
                let csrf = csrf.clone();
                let open = r.open;
                view! {
                    <details open=open>
                        <summary>{format!("Message: {}", r.label)}</summary>
                        <form method="post" action=action class="stack">
                            <input type="hidden" name="csrf" value=csrf/>
                            <label for=ffor>"Corrected text (Markdown)"</label>
                            <TextArea id=fid name="body" rows=4 required=true value=r.body/>
                            <button type="submit" class="button">"Save correction"</button>
                        </form>
                    </details>
                }
            }).collect_view()}
        </section>
    }
}

/// A monitor line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// What it checks: the URL, or the ping URL of a heartbeat.
    pub target: String,
    /// `up`, `down`, `unknown`.
    pub state: String,
    /// "every 60 s · last check 24 Nov, 09:00 UTC (120 ms)" etc.
    pub detail: String,
    /// Component name.
    pub component: Option<String>,
    /// Last error.
    pub error: Option<String>,
}

/// An alert line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// Summary.
    pub summary: String,
    /// triggered / resolved.
    pub status: String,
    /// Opened, formatted.
    pub when: String,
    /// Details.
    pub details: String,
}

/// `/admin/monitors`: probes, heartbeats and the alerts they opened.
#[component]
pub fn MonitorsPage(
    viewer: Viewer,
    monitors: Vec<MonitorRow>,
    alerts: Vec<AlertRow>,
    components: Vec<ComponentChoice>,
    /// Services a monitor can page about: (id, name).
    services: Vec<(String, String)>,
    form: MonitorInput,
    error: Option<ValidationError>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let csrf_rows = csrf.clone();
    let form_service = form.service.clone();
    view! {
        <Shell viewer=viewer nav=Nav::Monitors>
            <h1 class="page-title">"Monitors"</h1>
            <section class="card">
                <h2>"Alerts"</h2>
                {if alerts.is_empty() {
                    view! { <p class="muted">"No alerts."</p> }.into_any()
                } else {
                    view! {
                        <ul class="admin-list">
                            {alerts.into_iter().map(|a| {
                                let cls = format!("tag alert-{}", a.status);
                                view! {
                                    <li class="admin-row">
                                        <div class="admin-row-head"><strong>{a.summary}</strong><span class=cls>{a.status}</span></div>
                                        <span class="muted small">{format!("{} · {}", a.when, a.details)}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            <section class="card">
                <h2>"Probes and heartbeats"</h2>
                {if monitors.is_empty() {
                    view! { <p class="muted">"No monitors yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="admin-list">
                            {monitors.into_iter().map(|m| {
                                let cls = format!("tag monitor-{}", m.state);
                                let del = format!("/admin/monitors/{}/delete", m.id);
                                let csrf = csrf_rows.clone();
                                let key = m.name.clone();
                                view! {
                                    <li class="admin-row" data-monitor=key>
                                        <div class="admin-row-head">
                                            <strong>{m.name}</strong>
                                            <span class=cls>{m.state}</span>
                                        </div>
                                        <code class="small wrap">{m.target}</code>
                                        <span class="muted small">{m.detail}{m.component.map(|c| format!(" · drives {c}"))}</span>
                                        {m.error.map(|e| view! { <span class="small error-text">{e}</span> })}
                                        <form method="post" action=del class="inline">
                                            <input type="hidden" name="csrf" value=csrf/>
                                            <button type="submit" class="button danger">"Delete"</button>
                                        </form>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            <section class="card">
                <h2>"Add a monitor"</h2>
                {error_box(error)}
                <form method="post" action="/admin/monitors" class="stack">
                    <input type="hidden" name="csrf" value=csrf/>
                    <div class="field-row">
                        <label for="mo-kind">"Kind"</label>
                        <select id="mo-kind" name="kind">
                            <option value="http" selected=form.kind != "heartbeat">"HTTP(S) probe"</option>
                            <option value="heartbeat" selected=form.kind == "heartbeat">"Heartbeat (pinged by a cron job)"</option>
                        </select>
                    </div>
                    <label for="mo-name">"Name"</label>
                    <input id="mo-name" name="name" required value=form.name/>
                    <label for="mo-url">"URL (probes)"</label>
                    <input id="mo-url" name="url" type="url" value=form.url placeholder="https://index.crates.io/config.json"/>
                    <div class="field-row">
                        <label for="mo-interval">"Interval (seconds)"</label>
                        <input id="mo-interval" name="interval" inputmode="numeric" value=form.interval placeholder="60"/>
                    </div>
                    <div class="field-row">
                        <label for="mo-timeout">"Timeout (ms, probes)"</label>
                        <input id="mo-timeout" name="timeout" inputmode="numeric" value=form.timeout placeholder="10000"/>
                    </div>
                    <div class="field-row">
                        <label for="mo-expect">"Expected HTTP status (empty: any 2xx)"</label>
                        <input id="mo-expect" name="expect_status" inputmode="numeric" value=form.expect_status/>
                    </div>
                    <div class="field-row">
                        <label for="mo-keyword">"Body must contain"</label>
                        <input id="mo-keyword" name="keyword" value=form.keyword/>
                    </div>
                    <div class="field-row">
                        <label for="mo-failures">"Failures in a row before down"</label>
                        <input id="mo-failures" name="failures" inputmode="numeric" value=form.failures placeholder="3"/>
                    </div>
                    <div class="field-row">
                        <label for="mo-component">"Component it drives"</label>
                        <select id="mo-component" name="component">
                            <option value="">"None"</option>
                            {components.into_iter().map(|c| view! {
                                <option value=c.id.clone() selected=form.component == c.id>{c.name}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field-row">
                        <label for="mo-service">"Service it pages about"</label>
                        <select id="mo-service" name="service">
                            <option value="">"None (status page only)"</option>
                            {services.into_iter().map(|(id, name)| {
                                let sel = form_service == id;
                                view! { <option value=id selected=sel>{name}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <button type="submit" class="button primary">"Add monitor"</button>
                </form>
            </section>
        </Shell>
    }
}

/// A subscriber line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberRow {
    /// Id.
    pub id: String,
    /// `email` or `webhook`.
    pub kind: String,
    /// Address or URL.
    pub target: String,
    /// "confirmed" or "waiting for confirmation".
    pub state: String,
    /// "all components" or names.
    pub components: String,
}

/// `/admin/subscribers`.
#[component]
pub fn SubscribersPage(
    viewer: Viewer,
    subscribers: Vec<SubscriberRow>,
    /// Deliveries waiting, and how many of them failed at least once.
    backlog: (i64, i64),
    error: Option<ValidationError>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let csrf_rows = csrf.clone();
    let count = subscribers.len();
    view! {
        <Shell viewer=viewer nav=Nav::Incidents>
            <h1 class="page-title">"Subscribers"</h1>
            <p class="muted">{format!("{count} subscribers · {} deliveries queued, {} retrying", backlog.0, backlog.1)}</p>
            <section class="card">
                <h2>"Add a webhook"</h2>
                {error_box(error)}
                <form method="post" action="/admin/subscribers" class="stack">
                    <input type="hidden" name="csrf" value=csrf/>
                    <label for="wh-url">"URL that receives a JSON POST for every update"</label>
                    <input id="wh-url" name="url" type="url" required placeholder="https://chat.example.org/hooks/status"/>
                    <button type="submit" class="button primary">"Add webhook"</button>
                </form>
            </section>
            <section class="card">
                <ul class="admin-list">
                    {subscribers.into_iter().map(|s| {
                        let del = format!("/admin/subscribers/{}/delete", s.id);
                        let csrf = csrf_rows.clone();
                        view! {
                            <li class="admin-row">
                                <div class="admin-row-head"><span class="wrap">{s.target}</span><span class="tag">{s.kind}</span></div>
                                <span class="muted small">{format!("{} · {}", s.state, s.components)}</span>
                                <form method="post" action=del class="inline">
                                    <input type="hidden" name="csrf" value=csrf/>
                                    <button type="submit" class="button danger">"Remove"</button>
                                </form>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        </Shell>
    }
}

/// A plain message page for the public subscription flow.
#[component]
pub fn MessagePage(
    viewer: Viewer,
    title: String,
    message: String,
    /// An optional form button: `(action, label, csrf-free)`.
    action: Option<(String, String)>,
) -> impl IntoView {
    view! {
        <Shell viewer=viewer nav=Nav::Status>
            <section class="card narrow">
                <h1>{title}</h1>
                <p>{message}</p>
                {action.map(|(href, label)| view! {
                    <form method="post" action=href><button type="submit" class="button primary">{label}</button></form>
                })}
                <p><a href="/status">"Back to the status page"</a></p>
            </section>
        </Shell>
    }
}
