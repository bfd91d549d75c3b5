//! The responders' side: on-call incidents (private to signed-in people; not the public status
//! page's incidents), their timelines, and the services and integration keys alerts arrive
//! through. Phone first: an incident's page leads with big Acknowledge / Resolve buttons.
//!
//! The live parts (the list, an incident's head and timeline) are plain server-rendered
//! fragments that the live module swaps in when the stream announces a new version; relative
//! times ("2 min ago") are kept current by the same module, with the absolute time in `title`.

use leptos::prelude::*;

use super::{Nav, Shell, TextArea, Viewer};
use crate::domain::ValidationError;

/// "2 min ago" for `at` seen at `now` (Unix ms).
pub fn ago(at: i64, now: i64) -> String {
    let s = (now - at).max(0) / 1000;
    match s {
        0..=44 => "just now".to_string(),
        45..=89 => "1 min ago".to_string(),
        90..=3599 => format!("{} min ago", (s + 30) / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// A time shown relative, with the absolute time (in the reader's zone) on hover and tap.
#[component]
pub fn Ago(
    /// Unix ms.
    at: i64,
    /// Now, Unix ms (the server's clock; the live module takes over in the browser).
    now: i64,
    /// The absolute time in the reader's zone, zone named.
    absolute: String,
) -> impl IntoView {
    view! { <time data-ms=at.to_string() title=absolute.clone() aria-label=absolute tabindex="0">{ago(at, now)}</time> }
}

/// A list row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    /// Id.
    pub id: String,
    /// Number.
    pub number: i64,
    /// Title.
    pub title: String,
    /// Service name.
    pub service: String,
    /// `triggered` / `acknowledged` / `resolved`.
    pub state: String,
    /// Severity word.
    pub severity: String,
    /// Opened, Unix ms.
    pub opened: i64,
    /// Opened, absolute.
    pub opened_abs: String,
    /// Who has it (acknowledged by / assigned to), if anyone.
    pub who: Option<String>,
}

/// The filters of the list, as chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// `open` (default), `triggered`, `acknowledged`, `resolved`, `all`.
    pub state: String,
    /// Service id or empty.
    pub service: String,
    /// Team id or empty.
    pub team: String,
}

/// The live part of `/oncall`: the rows.
#[component]
pub fn IncidentList(rows: Vec<IncidentRow>, now: i64) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">"No incidents match. When an alert arrives, its incident appears here by itself."</p> }.into_any();
    }
    view! {
        <ul class="admin-list oncall-list">
            {rows.into_iter().map(|r| {
                let cls = format!("tag state-{}", r.state);
                view! {
                    <li class="admin-row" data-incident=r.number.to_string()>
                        <div class="admin-row-head">
                            <a href=format!("/oncall/{}", r.id)><strong>{format!("#{} {}", r.number, r.title)}</strong></a>
                            <span class=cls>{r.state.clone()}</span>
                        </div>
                        <span class="muted small">
                            {format!("{} · {} · opened ", r.service, r.severity)}
                            <Ago at=r.opened now=now absolute=r.opened_abs/>
                            {r.who.map(|w| format!(" · {w}"))}
                        </span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }.into_any()
}

/// `/oncall`: on-call incidents, open first, with filters.
#[component]
pub fn IncidentsPage(
    viewer: Viewer,
    /// The rendered live list (see [`IncidentList`]).
    list_html: String,
    /// Its version.
    version: String,
    filter: ListFilter,
    services: Vec<(String, String)>,
    teams: Vec<(String, String)>,
    /// Load the live module.
    live: bool,
) -> impl IntoView {
    let script = live.then(|| {
        let code = super::status::live_loader();
        view! { <script type="module" inner_html=code></script> }
    });
    let q = format!(
        "state={}&service={}&team={}",
        super::urlencode(&filter.state),
        super::urlencode(&filter.service),
        super::urlencode(&filter.team)
    );
    let opt = |value: String, label: String, current: &str| {
        let selected = value == current;
        view! { <option value=value selected=selected>{label}</option> }
    };
    let state_now = filter.state.clone();
    view! {
        <Shell viewer=viewer nav=Nav::Oncall>
            <h1 class="page-title">"On-call incidents"</h1>
            <p class="muted small">"Private to responders. Public status-page posts are under Status posts."</p>
            <form method="get" action="/oncall" class="inline-fields filters" aria-label="Filter incidents">
                <label for="f-state">"State"</label>
                <select id="f-state" name="state">
                    {[("open", "Open"), ("triggered", "Triggered"), ("acknowledged", "Acknowledged"), ("resolved", "Resolved"), ("all", "All")]
                        .into_iter().map(|(v, l)| opt(v.into(), l.into(), &state_now)).collect_view()}
                </select>
                <label for="f-service">"Service"</label>
                <select id="f-service" name="service">
                    {opt(String::new(), "All services".into(), &filter.service)}
                    {services.into_iter().map(|(id, name)| opt(id, name, &filter.service)).collect_view()}
                </select>
                <label for="f-team">"Team"</label>
                <select id="f-team" name="team">
                    {opt(String::new(), "All teams".into(), &filter.team)}
                    {teams.into_iter().map(|(id, name)| opt(id, name, &filter.team)).collect_view()}
                </select>
                <button type="submit" class="button">"Filter"</button>
            </form>
            <p id="live-line" class="live-line" aria-live="polite">"Reload the page for the latest incidents."</p>
            <div id="status-live" data-version=version
                data-events=format!("/events/oncall?{q}") data-body=format!("/oncall/live?{q}")
                inner_html=list_html></div>
            {script}
        </Shell>
    }
}

/// An alert on an incident's page.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertCard {
    /// Summary.
    pub summary: String,
    /// Host or job.
    pub origin: String,
    /// Severity word.
    pub severity: String,
    /// State word.
    pub state: String,
    /// Dedup key.
    pub dedup_key: String,
    /// Details, pretty-printed JSON (or text).
    pub details: String,
    /// Links: (href, text).
    pub links: Vec<(String, String)>,
    /// Images: (src, href, alt): shown as links, never loaded from the sender's host.
    pub images: Vec<(String, String, String)>,
    /// Signals received.
    pub count: i64,
}

/// A timeline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    /// Unix ms.
    pub at: i64,
    /// Absolute time.
    pub at_abs: String,
    /// Kind (CSS class).
    pub kind: String,
    /// The sentence.
    pub text: String,
    /// A note's text, or a repeat's details.
    pub note: Option<String>,
}

/// A change event shown as a recent change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    /// Summary.
    pub summary: String,
    /// Source.
    pub source: String,
    /// When, absolute.
    pub when: String,
    /// First link.
    pub link: Option<(String, String)>,
}

/// The head of an incident (its live part) and what it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentHead {
    /// Id.
    pub id: String,
    /// Number.
    pub number: i64,
    /// Title.
    pub title: String,
    /// Service name.
    pub service: String,
    /// State word.
    pub state: String,
    /// Severity word.
    pub severity: String,
    /// `high` or `low`.
    pub urgency: String,
    /// Where its escalation stands, in a sentence.
    pub escalation: Option<String>,
    /// Opened.
    pub opened: i64,
    /// Opened, absolute.
    pub opened_abs: String,
    /// "Acknowledged by Jonas via web, 03:10" and the like.
    pub standing: Option<String>,
    /// The linked public incident: (link, title).
    pub status_post: Option<(String, String)>,
    /// Alerts.
    pub alerts: Vec<AlertCard>,
    /// Timeline, newest first.
    pub timeline: Vec<TimelineRow>,
    /// Recent changes on the service.
    pub changes: Vec<ChangeRow>,
}

/// The live part of an incident's page: head with the big buttons, timeline, alerts, changes.
#[component]
pub fn IncidentLive(head: IncidentHead, csrf: String, now: i64, may_act: bool) -> impl IntoView {
    let act = format!("/oncall/{}/act", head.id);
    let open = head.state != "resolved";
    let ackable = head.state == "triggered";
    let cls = format!("oncall-head sev-{} state-{}", head.severity, head.state);
    let state_cls = format!("tag state-{}", head.state);
    let button = |action: &'static str, label: &'static str, class: &'static str| {
        let (act, csrf) = (act.clone(), csrf.clone());
        view! {
            <form method="post" action=act class="big-action">
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="action" value=action/>
                <button type="submit" class=class>{label}</button>
            </form>
        }
    };
    view! {
        <section class=cls aria-labelledby="inc-title">
            <p class="muted small">{format!("#{} · {} · {} · {} urgency", head.number, head.service, head.severity, head.urgency)}</p>
            <h1 id="inc-title" class="incident-title">{head.title.clone()}</h1>
            <p><span class=state_cls>{head.state.clone()}</span>" opened "<Ago at=head.opened now=now absolute=head.opened_abs.clone()/></p>
            {head.standing.clone().map(|s| view! { <p class="small">{s}</p> })}
            {head.escalation.clone().map(|s| view! { <p class="small escalation-line">{s}</p> })}
            {head.status_post.clone().map(|(href, title)| view! {
                <p class="small">"Status page: "<a href=href>{title}</a></p>
            })}
            {(may_act && open).then(|| view! {
                <div class="big-actions">
                    {ackable.then(|| button("acknowledge", "Acknowledge", "button primary big"))}
                    {button("resolve", "Resolve", "button big")}
                </div>
            })}
        </section>
        <section class="card" aria-labelledby="h-timeline">
            <h2 id="h-timeline">"Timeline"</h2>
            <ol class="timeline">
                {head.timeline.into_iter().map(|t| {
                    let cls = format!("tl tl-{}", t.kind);
                    view! {
                        <li class=cls>
                            <Ago at=t.at now=now absolute=t.at_abs/>
                            <span class="tl-text">{t.text}</span>
                            {t.note.map(|n| view! { <pre class="tl-note wrap">{n}</pre> })}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
        <section class="card" aria-labelledby="h-alerts">
            <h2 id="h-alerts">{format!("Alerts ({})", head.alerts.len())}</h2>
            <ul class="plain alerts">
                {head.alerts.into_iter().map(|a| {
                    let cls = format!("tag state-{}", a.state);
                    view! {
                        <li class="alert-card">
                            <div class="admin-row-head"><strong>{a.summary}</strong><span class=cls>{a.state}</span></div>
                            <p class="muted small">{format!("{} · {} · key {} · {} signal(s)", a.origin, a.severity, a.dedup_key, a.count)}</p>
                            {(!a.links.is_empty() || !a.images.is_empty()).then(|| view! {
                                <ul class="links">
                                    {a.links.into_iter().map(|(href, text)| view! {
                                        <li><a href=href rel="noopener noreferrer nofollow" target="_blank">{text}</a></li>
                                    }).collect_view()}
                                    {a.images.into_iter().map(|(src, href, alt)| {
                                        let link = if href.is_empty() { src.clone() } else { href };
                                        let label = format!("Image: {}", if alt.is_empty() { src } else { alt });
                                        view! { <li><a href=link rel="noopener noreferrer nofollow" target="_blank">{label}</a></li> }
                                    }).collect_view()}
                                </ul>
                            })}
                            {(!a.details.is_empty()).then(|| view! {
                                <details><summary>"Details"</summary><pre class="details wrap">{a.details}</pre></details>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
        {(!head.changes.is_empty()).then(|| view! {
            <section class="card" aria-labelledby="h-changes">
                <h2 id="h-changes">"Recent changes"</h2>
                <ul class="plain">
                    {head.changes.into_iter().map(|c| view! {
                        <li>
                            <strong>{c.summary}</strong>
                            <span class="muted small">{format!(" · {} · {}", c.source, c.when)}</span>
                            {c.link.map(|(href, text)| view! { " · "<a href=href rel="noopener noreferrer nofollow">{text}</a> })}
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        })}
    }
}

/// `/oncall/{id}`: one on-call incident, phone first.
#[component]
pub fn IncidentPage(
    viewer: Viewer,
    id: String,
    title: String,
    /// The rendered live part ([`IncidentLive`]).
    live_html: String,
    version: String,
    /// Still open (the forms for open incidents are shown).
    open: bool,
    /// May act (responders and admins).
    may_act: bool,
    /// People it can be reassigned to: (id, name).
    people: Vec<(String, String)>,
    /// Components for a status-page post: (id, name).
    components: Vec<(String, String)>,
    /// The linked public incident is open (its next post is an update).
    has_status_post: bool,
    /// What the last action did.
    message: Option<String>,
    /// The last action's error.
    error: Option<ValidationError>,
    /// The note being typed when an error came back.
    note: String,
    live: bool,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let act = format!("/oncall/{id}/act");
    let post = format!("/oncall/{id}/status");
    let script = live.then(|| {
        let code = super::status::live_loader();
        view! { <script type="module" inner_html=code></script> }
    });
    let field_error = |f: &str| {
        error
            .as_ref()
            .filter(|e| e.field == f)
            .map(super::fields::plain)
            .unwrap_or_default()
    };
    let note_error = field_error("text");
    let name_error = field_error("name");
    let body_error = field_error("body");
    let post_open = has_status_post;
    let other_error = error
        .as_ref()
        .filter(|e| e.field != "text")
        .map(super::fields::plain);
    let hidden =
        move |csrf: &String| view! { <input type="hidden" name="csrf" value=csrf.clone()/> };
    view! {
        <Shell viewer=viewer nav=Nav::Oncall>
            <p class="crumbs"><a href="/oncall">"On-call incidents"</a></p>
            {message.map(|m| view! { <p class="notice" role="status">{m}</p> })}
            {other_error.map(|m| view! { <p class="alert" role="alert">{m}</p> })}
            <p id="live-line" class="live-line" aria-live="polite">"Reload the page for the latest timeline."</p>
            <div id="status-live" data-version=version
                data-events=format!("/events/oncall/{id}") data-body=format!("/oncall/{id}/live")
                inner_html=live_html></div>
            {may_act.then(|| view! {
                <section class="card" aria-labelledby="h-note">
                    <h2 id="h-note">"Add a note"</h2>
                    <form method="post" action=act.clone() class="stack">
                        {hidden(&csrf)}
                        <input type="hidden" name="action" value="note"/>
                        <label for="note-text" class="visually-hidden">"Note"</label>
                        <TextArea id="note-text" name="text" rows=2 value=note placeholder="What you found, what you are trying" required=true/>
                        <span class="field-error" id="note-error">{note_error}</span>
                        <button type="submit" class="button">"Add note"</button>
                    </form>
                </section>
            })}
            {(may_act && open).then(|| view! {
                <details class="card">
                    <summary><h2 class="inline-h">"More actions"</h2></summary>
                    <form method="post" action=act.clone() class="inline-fields">
                        {hidden(&csrf)}
                        <input type="hidden" name="action" value="reassign"/>
                        <label for="re-user">"Reassign to"</label>
                        <select id="re-user" name="user">
                            {people.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                        </select>
                        <button type="submit" class="button">"Reassign"</button>
                    </form>
                    <form method="post" action=act.clone() class="inline-fields">
                        {hidden(&csrf)}
                        <input type="hidden" name="action" value="snooze"/>
                        <label for="sn-min">"Snooze for"</label>
                        <select id="sn-min" name="minutes">
                            {[(15, "15 min"), (30, "30 min"), (60, "1 hour"), (240, "4 hours")].into_iter()
                                .map(|(m, l)| view! { <option value=m.to_string()>{l}</option> }).collect_view()}
                        </select>
                        <button type="submit" class="button">"Snooze"</button>
                    </form>
                    <form method="post" action=act.clone() class="inline">
                        {hidden(&csrf)}
                        <input type="hidden" name="action" value="retrigger"/>
                        <button type="submit" class="button">"Trigger again"</button>
                    </form>
                    <form method="post" action=act.clone() class="inline">
                        {hidden(&csrf)}
                        <input type="hidden" name="action" value="escalate"/>
                        <button type="submit" class="button">"Escalate now"</button>
                    </form>
                </details>
            })}
            {may_act.then(|| view! {
                <details class="card" open=post_open>
                    <summary><h2 class="inline-h">{if has_status_post { "Update the status page" } else { "Post to the status page" }}</h2></summary>
                    <p class="muted small">"Tells the public what is going on. This posts to the public status page: write for users, not responders."</p>
                    <form method="post" action=post class="stack">
                        {hidden(&csrf)}
                        {(!has_status_post).then(|| view! {
                            <label for="sp-title">"Title"</label>
                            <input id="sp-title" name="name" value=title.clone() maxlength="200"/>
                            <span class="field-error">{name_error.clone()}</span>
                        })}
                        <label for="sp-status">"Status"</label>
                        <select id="sp-status" name="status">
                            <option value="investigating">"Investigating"</option>
                            <option value="identified">"Identified"</option>
                            <option value="monitoring">"Monitoring"</option>
                            {has_status_post.then(|| view! { <option value="resolved">"Resolved"</option> })}
                        </select>
                        <label for="sp-body">"Message"</label>
                        <TextArea id="sp-body" name="body" rows=3 value=String::new() placeholder="We are investigating failed downloads." required=true/>
                        <span class="field-error">{body_error.clone()}</span>
                        {(!components.is_empty()).then(|| view! {
                            <fieldset>
                                <legend>"Affected components"</legend>
                                {components.into_iter().map(|(cid, name)| {
                                    let fid = format!("sp-c-{cid}");
                                    view! {
                                        <div class="inline-fields">
                                            <label for=fid.clone()>{name}</label>
                                            <select id=fid name=format!("component_{cid}")>
                                                <option value="">"Unchanged"</option>
                                                <option value="degraded_performance">"Degraded performance"</option>
                                                <option value="partial_outage">"Partial outage"</option>
                                                <option value="major_outage">"Major outage"</option>
                                                <option value="operational">"Operational"</option>
                                            </select>
                                        </div>
                                    }
                                }).collect_view()}
                            </fieldset>
                        })}
                        <button type="submit" class="button primary">{if has_status_post { "Post update" } else { "Post to status page" }}</button>
                    </form>
                </details>
            })}
            {script}
        </Shell>
    }
}

/// A key on a service's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// Id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Kind label.
    pub kind: String,
    /// The URL to send to.
    pub url: String,
    /// The secret.
    pub key: String,
    /// A snippet to paste.
    pub snippet: String,
    /// Revoked, when.
    pub revoked: Option<String>,
}

/// A probe or heartbeat attached to a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `up`, `down` or `unknown`.
    pub state: String,
    /// What it checks, and how often.
    pub detail: String,
    /// For heartbeats, shown to admins: the URL to ping and a cron line.
    pub snippet: Option<String>,
}

/// `/services`: services with their team and open incidents; admins create them.
#[component]
pub fn ServicesPage(
    viewer: Viewer,
    /// (id, name, team name, open incidents).
    services: Vec<(String, String, String, i64)>,
    teams: Vec<(String, String)>,
    form: crate::domain::service::ServiceInput,
    error: Option<ValidationError>,
) -> impl IntoView {
    let is_admin = viewer.is_admin;
    let viewer_responder = viewer.is_responder;
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let err = |f: &str| {
        error
            .as_ref()
            .filter(|e| e.field == f)
            .map(super::fields::plain)
            .unwrap_or_default()
    };
    let (name_err, team_err, desc_err) = (err("name"), err("team_id"), err("description"));
    view! {
        <Shell viewer=viewer nav=Nav::Services>
            <h1 class="page-title">"Services"</h1>
            <p class="muted small">"A service is what responders are paged about. Monitoring tools send alerts to a service through its integration keys."</p>
            {viewer_responder.then(|| view! { <p><a href="/policies">"Escalation policies"</a>" · who is paged when a service alerts"</p> })}
            <section class="card">
                {if services.is_empty() {
                    view! { <p class="muted">"No services yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="admin-list">
                            {services.into_iter().map(|(id, name, team, open)| view! {
                                <li class="admin-row">
                                    <div class="admin-row-head">
                                        <a href=format!("/services/{id}")><strong>{name}</strong></a>
                                        {(open > 0).then(|| view! { <span class="tag state-triggered">{format!("{open} open")}</span> })}
                                    </div>
                                    <span class="muted small">{if team.is_empty() { "No team".to_string() } else { format!("Team: {team}") }}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            {is_admin.then(|| view! {
                <section class="card">
                    <h2>"New service"</h2>
                    <form method="post" action="/services" class="stack">
                        <input type="hidden" name="csrf" value=csrf/>
                        <label for="s-name">"Name"</label>
                        <input id="s-name" name="name" value=form.name required maxlength="100" aria-invalid=(!name_err.is_empty()).then_some("true")/>
                        <span class="field-error">{name_err}</span>
                        <label for="s-team">"Team"</label>
                        <select id="s-team" name="team_id">
                            <option value="">"No team"</option>
                            {teams.into_iter().map(|(id, name)| {
                                let sel = id == form.team_id;
                                view! { <option value=id selected=sel>{name}</option> }
                            }).collect_view()}
                        </select>
                        <span class="field-error">{team_err}</span>
                        <label for="s-desc">"Description"</label>
                        <input id="s-desc" name="description" value=form.description maxlength="1000"/>
                        <span class="field-error">{desc_err}</span>
                        <button type="submit" class="button primary">"Create service"</button>
                    </form>
                </section>
            })}
        </Shell>
    }
}

/// `/services/{id}`: a service's integration keys (with the URL and a snippet to paste), its
/// monitors and recent changes.
#[component]
pub fn ServicePage(
    viewer: Viewer,
    id: String,
    name: String,
    description: String,
    team: String,
    keys: Vec<KeyRow>,
    monitors: Vec<MonitorView>,
    changes: Vec<ChangeRow>,
    message: Option<String>,
    error: Option<ValidationError>,
    /// Teams it may belong to: (id, name).
    #[prop(optional)]
    teams: Vec<(String, String)>,
    /// Its team's id, or empty.
    #[prop(optional)]
    team_id: String,
    /// Its escalation chain, paging settings and maintenance.
    #[prop(optional)]
    paging: Option<super::policies::PagingView>,
) -> impl IntoView {
    let is_admin = viewer.is_admin;
    let viewer_reads_policies = viewer.is_responder;
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let csrf_rows = csrf.clone();
    let csrf_edit = csrf.clone();
    let edit = format!("/services/{id}");
    let (name_now, description_now) = (name.clone(), description.clone());
    let add = format!("/services/{id}/keys");
    let id_rows = id.clone();
    let id_hb = id.clone();
    let csrf_hb = csrf.clone();
    let csrf_mon = csrf.clone();
    let csrf_paging = csrf.clone();
    let id_paging = id.clone();
    view! {
        <Shell viewer=viewer nav=Nav::Services>
            <p class="crumbs"><a href="/services">"Services"</a></p>
            <h1 class="page-title">{name}</h1>
            <p class="muted">{if team.is_empty() { "No team".to_string() } else { format!("Team: {team}") }}{(!description.is_empty()).then(|| format!(" · {description}"))}</p>
            <p><a href=format!("/oncall?state=all&service={id}")>"This service's incidents"</a></p>
            {message.map(|m| view! { <p class="notice" role="status">{m}</p> })}
            {error.map(|e| view! { <p class="alert" role="alert">{super::fields::plain(&e)}</p> })}
            {paging.map(|p| view! { <super::policies::PagingSection service_id=id_paging paging=p is_admin=is_admin may_read_policies=viewer_reads_policies csrf=csrf_paging/> }.into_any())}
            {is_admin.then(|| view! {
                <details class="card">
                    <summary><h2 class="inline-h">"Edit this service"</h2></summary>
                    <form method="post" action=edit class="stack">
                        <input type="hidden" name="csrf" value=csrf_edit/>
                        <label for="e-name">"Name"</label>
                        <input id="e-name" name="name" value=name_now required maxlength="100"/>
                        <label for="e-team">"Team"</label>
                        <select id="e-team" name="team_id">
                            <option value="">"No team"</option>
                            {teams.into_iter().map(|(tid, tname)| {
                                let sel = tid == team_id;
                                view! { <option value=tid selected=sel>{tname}</option> }
                            }).collect_view()}
                        </select>
                        <label for="e-desc">"Description"</label>
                        <input id="e-desc" name="description" value=description_now maxlength="1000"/>
                        <button type="submit" class="button">"Save"</button>
                    </form>
                </details>
            })}
            <section class="card" aria-labelledby="h-keys">
                <h2 id="h-keys">"Integration keys"</h2>
                {if keys.is_empty() {
                    view! { <p class="muted">"No keys yet. Add one for each tool that sends alerts here."</p> }.into_any()
                } else {
                    view! {
                        <ul class="admin-list">
                            {keys.into_iter().map(|k| {
                                let revoke = format!("/services/{}/keys/{}/revoke", id_rows, k.id);
                                let csrf = csrf_rows.clone();
                                let revoked = k.revoked.is_some();
                                let data_key = k.name.clone();
                                view! {
                                    <li class="admin-row" data-key=data_key>
                                        <div class="admin-row-head">
                                            <strong>{k.name}</strong>
                                            <span class="tag">{k.kind}</span>
                                            {k.revoked.map(|r| view! { <span class="tag state-resolved">{format!("revoked {r}")}</span> })}
                                        </div>
                                        {match (revoked, k.key.is_empty()) {
                                            (true, _) => None,
                                            (false, true) => Some(view! {
                                                <p class="small muted">"Its URL and key are shown to admins."</p>
                                            }.into_any()),
                                            (false, false) => Some(view! {
                                                <p class="small">"URL: "<code class="wrap">{k.url}</code></p>
                                                <p class="small">"Key: "<code class="wrap">{k.key}</code></p>
                                                <details><summary>"Configuration to paste"</summary><pre class="copy wrap">{k.snippet}</pre></details>
                                            }.into_any()),
                                        }}
                                        {(is_admin && !revoked).then(|| view! {
                                            <form method="post" action=revoke class="inline">
                                                <input type="hidden" name="csrf" value=csrf/>
                                                <button type="submit" class="button danger">"Revoke"</button>
                                            </form>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
                {is_admin.then(|| view! {
                    <form method="post" action=add class="inline-fields">
                        <input type="hidden" name="csrf" value=csrf/>
                        <label for="k-kind">"Tool"</label>
                        <select id="k-kind" name="kind">
                            {crate::domain::service::KeyKind::ALL.into_iter().map(|k| view! {
                                <option value=k.as_str()>{k.label()}</option>
                            }).collect_view()}
                        </select>
                        <label for="k-name">"Name"</label>
                        <input id="k-name" name="name" placeholder="Prometheus production" maxlength="100" required/>
                        <button type="submit" class="button primary">"Add key"</button>
                    </form>
                })}
            </section>
            <section class="card" aria-labelledby="h-mon">
                <h2 id="h-mon">"Probes and heartbeats"</h2>
                {if monitors.is_empty() {
                    view! { <p class="muted">"None attached. A heartbeat pinged by a cron job or backup script, or a probe from the Monitors page, opens an incident here when it fails."</p> }.into_any()
                } else {
                    view! {
                        <ul class="admin-list">
                            {monitors.into_iter().map(|m| {
                                let cls = format!("tag monitor-{}", m.state);
                                view! {
                                    <li class="admin-row" data-monitor=m.name.clone()>
                                        <div class="admin-row-head"><strong>{m.name.clone()}</strong><span class=cls>{m.state.clone()}</span></div>
                                        <span class="muted small">{m.detail}</span>
                                        {m.snippet.map(|snip| view! {
                                            <details><summary>"Configuration to paste"</summary><pre class="copy wrap">{snip}</pre></details>
                                        })}
                                        {is_admin.then(|| view! {
                                            <form method="post" action=format!("/admin/monitors/{}/delete", m.id) class="inline">
                                                <input type="hidden" name="csrf" value=csrf_mon.clone()/>
                                                <button type="submit" class="button danger">"Remove"</button>
                                            </form>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
                {is_admin.then(|| view! {
                    <form method="post" action=format!("/services/{id_hb}/heartbeats") class="inline-fields">
                        <input type="hidden" name="csrf" value=csrf_hb/>
                        <label for="hb-name">"Heartbeat name"</label>
                        <input id="hb-name" name="name" placeholder="Nightly backup" maxlength="100" required/>
                        <label for="hb-interval">"Expected every (seconds)"</label>
                        <input id="hb-interval" name="interval" inputmode="numeric" value="3600" maxlength="6"/>
                        <button type="submit" class="button">"Add heartbeat"</button>
                    </form>
                })}
            </section>
            {(!changes.is_empty()).then(|| view! {
                <section class="card" aria-labelledby="h-changes">
                    <h2 id="h-changes">"Recent changes"</h2>
                    <ul class="plain">
                        {changes.into_iter().map(|c| view! {
                            <li><strong>{c.summary}</strong><span class="muted small">{format!(" · {} · {}", c.source, c.when)}</span></li>
                        }).collect_view()}
                    </ul>
                </section>
            })}
        </Shell>
    }
}

#[cfg(test)]
mod tests {
    use super::ago;

    #[test]
    fn ago_table() {
        let now = 10_000_000_000;
        for (secs, want) in [
            (0, "just now"),
            (44, "just now"),
            (60, "1 min ago"),
            (150, "3 min ago"),
            (3_599, "60 min ago"),
            (7_200, "2 h ago"),
            (2 * 86_400, "2 d ago"),
            (-30, "just now"),
        ] {
            assert_eq!(ago(now - secs * 1000, now), want, "{secs}");
        }
    }
}
