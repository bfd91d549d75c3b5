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

/// Plain words for a form field, as the start of a sentence ("The URL").
pub fn field_words(field: &str) -> &'static str {
    match field {
        "name" => "The name",
        "title" => "The title",
        "url" => "The URL",
        "email" | "target" => "The address",
        "body" => "The message",
        "impact" => "The impact",
        "status" => "The status",
        "starts" => "The start",
        "ends" => "The end",
        "time_zone" => "The time zone",
        "interval" => "The interval",
        "timeout" => "The timeout",
        "expect_status" => "The expected HTTP status",
        "keyword" => "The text to look for",
        "failures" => "The number of failures",
        "component" | "components" => "The component",
        "service" => "The service",
        "kind" => "The kind",
        "page_name" => "The page name",
        "site_url" => "The website link",
        "footer_links" => "The footer links",
        "logo" => "The logo",
        "description" => "The description",
        "group" => "The group",
        "position" => "The position",
        f if f.starts_with("component.") => "The component status",
        _ => "This value",
    }
}

/// A refused field as one plain sentence: "The URL must start with http:// or https://."
pub fn error_sentence(e: &ValidationError) -> String {
    super::fields::plain(e)
}

/// Whether `e` is about one of `fields` (`component.` covers every component field).
fn about(e: &ValidationError, fields: &[&str]) -> bool {
    fields
        .iter()
        .any(|f| e.field == *f || (*f == "component." && e.field.starts_with("component.")))
}

/// The note next to a field: the error as a sentence when it is about one of `fields`.
fn note(error: &Option<ValidationError>, fields: &[&str]) -> impl IntoView {
    error.as_ref().filter(|e| about(e, fields)).map(|e| {
        let field = e.field.clone();
        view! { <p class="field-error" role="alert" data-field=field>{error_sentence(e)}</p> }
    })
}

/// The error at the top of a form, for fields the form has no place for.
fn error_box(error: &Option<ValidationError>, placed: &[&str]) -> impl IntoView {
    error.as_ref().filter(|e| !about(e, placed)).map(|e| {
        let field = e.field.clone();
        view! { <p class="error" role="alert" data-field=field>{format!("Not saved. {}", error_sentence(e))}</p> }
    })
}

/// "1 subscriber", "2 subscribers".
pub fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The per-component status selects of the incident forms; `picked` holds the values as typed
/// (`component.{id}` to a status), so a refused form keeps them.
#[component]
fn ComponentSelects(
    components: Vec<ComponentChoice>,
    legend: &'static str,
    #[prop(optional)] picked: Vec<(String, String)>,
) -> impl IntoView {
    view! {
        <fieldset class="component-selects">
            <legend>{legend}</legend>
            <StatusHelp/>
            {components.into_iter().map(|c| {
                let name = format!("component.{}", c.id);
                let id = format!("cs-{}", c.id);
                let current = format!("{} (now {})", c.name, c.status.label().to_lowercase());
                let chosen = picked.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()).unwrap_or_default();
                view! {
                    <div class="field-row">
                        <label for=id.clone()>{current}</label>
                        <select id=id name=name>
                            <option value="">"No change"</option>
                            {ComponentStatus::ALL.into_iter().map(|s| view! {
                                <option value=s.as_str() selected=chosen == s.as_str()>{s.label()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                }
            }).collect_view()}
        </fieldset>
    }
}

/// What each component status means, in one line each.
#[component]
pub fn StatusHelp() -> impl IntoView {
    view! {
        <details class="help small">
            <summary>"What the statuses mean"</summary>
            <dl class="explain">
                {ComponentStatus::ALL.into_iter().map(|s| view! {
                    <dt>{s.label()}</dt><dd>{s.explain()}</dd>
                }).collect_view()}
            </dl>
        </details>
    }
}

/// The impact choice with one line on each option.
#[component]
fn ImpactChoice(id: &'static str, current: String) -> impl IntoView {
    let help = format!("{id}-help");
    let help2 = help.clone();
    view! {
        <div class="field-row">
            <label for=id>"Impact"</label>
            <select id=id name="impact" aria-describedby=help>
                {Impact::ALL.into_iter().map(|i| {
                    let selected = current == i.as_str() || (current.is_empty() && i == Impact::Minor);
                    view! { <option value=i.as_str() selected=selected>{format!("{} — {}", i.label(), i.explain())}</option> }
                }).collect_view()}
            </select>
        </div>
        <p id=help2 class="small muted">"How bad it is for the people using the service; the page's colour follows it."</p>
    }
}

fn notify_box(checked: bool) -> impl IntoView {
    view! {
        <label class="check"><input type="checkbox" name="notify" value="true" checked=checked/>" Notify subscribers"</label>
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
    /// The refused form's component fields as typed (`component.{id}`, value).
    #[prop(optional)]
    picked: Vec<(String, String)>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let csrf2 = csrf.clone();
    let refused_maint = error_form == "maintenance";
    let refused_inc = error.is_some() && !refused_maint;
    let (inc_err, maint_err) = if refused_maint {
        (None, error)
    } else {
        (error, None)
    };
    let (inc_picked, maint_picked) = if refused_maint {
        (Vec::new(), picked)
    } else {
        (picked, Vec::new())
    };
    let inc_notify = !refused_inc || incident_form.notify;
    let maint_notify = !refused_maint || maintenance_form.notify;
    let comps2 = components.clone();
    let tz = maintenance_form.time_zone.clone();
    let inc_status = incident_form.status.clone();
    const INC_FIELDS: [&str; 5] = ["name", "impact", "status", "body", "component."];
    const MAINT_FIELDS: [&str; 6] = ["name", "starts", "ends", "time_zone", "body", "component."];
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
                {error_box(&inc_err, &INC_FIELDS)}
                <form method="post" action="/admin/incidents" class="stack">
                    <input type="hidden" name="csrf" value=csrf/>
                    <label for="inc-name">"Title"</label>
                    <input id="inc-name" name="name" required maxlength=TITLE_MAX.to_string()
                        value=incident_form.name placeholder="Sparse index responding slowly"/>
                    {note(&inc_err, &["name"])}
                    <ImpactChoice id="inc-impact" current=incident_form.impact.clone()/>
                    {note(&inc_err, &["impact"])}
                    <div class="field-row">
                        <label for="inc-status">"Status"</label>
                        <select id="inc-status" name="status">
                            {IncidentStatus::INCIDENT.into_iter().filter(|s| s.is_open()).map(|s| view! {
                                <option value=s.as_str() selected=inc_status == s.as_str()>{format!("{} — {}", s.label(), s.explain())}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    {note(&inc_err, &["status"])}
                    <label for="inc-body">"Message (Markdown)"</label>
                    <TextArea id="inc-body" name="body" rows=4 required=true value=incident_form.body
                        placeholder="We are investigating elevated error rates."/>
                    {note(&inc_err, &["body"])}
                    <ComponentSelects components=components legend="Affected components" picked=inc_picked/>
                    {note(&inc_err, &["component."])}
                    {notify_box(inc_notify)}
                    <button type="submit" class="button primary">"Publish incident"</button>
                </form>
            </section>
            <section class="card" id="new-maintenance">
                <h2>"Schedule maintenance"</h2>
                <p class="small muted">"Planned work. The page lists it as upcoming; when the window starts, the ticked components show as under maintenance, and when it ends they return to normal."</p>
                {error_box(&maint_err, &MAINT_FIELDS)}
                <form method="post" action="/admin/maintenance" class="stack">
                    <input type="hidden" name="csrf" value=csrf2/>
                    <label for="m-name">"Title"</label>
                    <input id="m-name" name="name" required maxlength=TITLE_MAX.to_string() value=maintenance_form.name
                        placeholder="Database upgrade"/>
                    {note(&maint_err, &["name"])}
                    <div class="field-row">
                        <label for="m-starts">{format!("Starts ({tz})")}</label>
                        <input id="m-starts" type="datetime-local" name="starts" required value=maintenance_form.starts/>
                    </div>
                    {note(&maint_err, &["starts"])}
                    <div class="field-row">
                        <label for="m-ends">{format!("Ends ({tz})")}</label>
                        <input id="m-ends" type="datetime-local" name="ends" required value=maintenance_form.ends/>
                    </div>
                    {note(&maint_err, &["ends", "time_zone"])}
                    <input type="hidden" name="time_zone" value=maintenance_form.time_zone.clone()/>
                    <label for="m-body">"What will happen (Markdown)"</label>
                    <TextArea id="m-body" name="body" rows=3 required=true value=maintenance_form.body/>
                    {note(&maint_err, &["body"])}
                    <fieldset class="checks">
                        <legend>"Components under maintenance"</legend>
                        {comps2.into_iter().map(|c| {
                            let id = format!("mc-{}", c.id);
                            let lfor = id.clone();
                            let name = format!("component.{}", c.id);
                            let ticked = maint_picked.iter().any(|(k, v)| *k == name && !v.is_empty());
                            view! { <label class="check" for=lfor><input id=id type="checkbox" name=name value="under_maintenance" checked=ticked/>" "{c.name}</label> }
                        }).collect_view()}
                    </fieldset>
                    {note(&maint_err, &["component."])}
                    {notify_box(maint_notify)}
                    <button type="submit" class="button primary">"Schedule maintenance"</button>
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
    /// What just happened (`published`, `scheduled`, `updated`), confirmed at the top.
    #[prop(optional)]
    done: String,
    /// The refused update's component fields as typed.
    #[prop(optional)]
    picked: Vec<(String, String)>,
) -> impl IntoView {
    let public_href = format!("/incidents/{}", card.id);
    let notice = match done.as_str() {
        "published" => Some("Published. The incident is on the public status page now."),
        "scheduled" => Some("Scheduled. The maintenance is listed on the public status page now."),
        "updated" => Some("Update posted. The public status page shows it now."),
        _ => None,
    }
    .map(|text| {
        view! {
            <p class="notice" role="status">{text}" "<a href=public_href>"See it on the public page"</a></p>
        }
    });
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
            {notice}
            <section class="card" id="post-update">
                <h1>{format!("Update: {}", card.name)}</h1>
                {(!oncall.is_empty()).then(|| view! {
                    <p class="small">"Posted from on-call incident: "
                        {oncall.into_iter().map(|(href, label)| view! { <a href=href>{label}</a>" " }).collect_view()}
                    </p>
                })}
                {error_box(&error, &["status", "impact", "body", "component."])}
                <form method="post" action=action class="stack">
                    <input type="hidden" name="csrf" value=csrf/>
                    <div class="field-row">
                        <label for="u-status">"Status"</label>
                        <select id="u-status" name="status">
                            {statuses.into_iter().map(|s| view! {
                                <option value=s.as_str() selected=s.as_str() == status>{format!("{} — {}", s.label(), s.explain())}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    {note(&error, &["status"])}
                    {is_incident.then(|| view! { <ImpactChoice id="u-impact" current=impact_now/> })}
                    {note(&error, &["impact"])}
                    <label for="u-body">{if is_incident { "Message (Markdown; for Postmortem, the write-up)" } else { "Message (Markdown)" }}</label>
                    <TextArea id="u-body" name="body" rows=5 required=true value=body/>
                    {note(&error, &["body"])}
                    <ComponentSelects components=components picked=picked legend=if is_incident {
                        "Component statuses (resolving restores the ones still as the incident set them)"
                    } else {
                        "Component statuses (completing the maintenance restores the ones it set)"
                    }/>
                    {note(&error, &["component."])}
                    {notify_box(true)}
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
    /// `up`, `down`, `unknown`, `paused`.
    pub state: String,
    /// "every 60 s · last check 24 Nov, 09:00 UTC (120 ms)" etc.
    pub detail: String,
    /// Component name.
    pub component: Option<String>,
    /// Last error.
    pub error: Option<String>,
    /// Paused by an admin.
    pub paused: bool,
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

/// The words for a monitor state tag.
fn state_words(state: &str) -> &'static str {
    match state {
        "up" => "Up",
        "down" => "Down",
        "paused" => "Paused",
        _ => "Not checked yet",
    }
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
    /// A confirmation to show at the top.
    notice: Option<String>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let csrf_rows = csrf.clone();
    view! {
        <Shell viewer=viewer nav=Nav::Monitors>
            <h1 class="page-title">"Monitors"</h1>
            {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
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
                                let edit = format!("/admin/monitors/{}", m.id);
                                let (toggle, toggle_label) = if m.paused {
                                    (format!("/admin/monitors/{}/resume", m.id), "Resume")
                                } else {
                                    (format!("/admin/monitors/{}/pause", m.id), "Pause")
                                };
                                let csrf = csrf_rows.clone();
                                let csrf2 = csrf_rows.clone();
                                let key = m.name.clone();
                                let edit_label = format!("Edit {}", m.name);
                                view! {
                                    <li class="admin-row" data-monitor=key>
                                        <div class="admin-row-head">
                                            <strong>{m.name}</strong>
                                            <span class=cls>{state_words(&m.state)}</span>
                                        </div>
                                        <code class="small wrap">{m.target}</code>
                                        <span class="muted small">{m.detail}{m.component.map(|c| format!(" · drives {c}"))}</span>
                                        {m.error.filter(|_| !m.paused).map(|e| view! { <span class="small error-text">{e}</span> })}
                                        <div class="row actions">
                                            <a class="button" href=edit aria-label=edit_label>"Edit"</a>
                                            <form method="post" action=toggle class="inline">
                                                <input type="hidden" name="csrf" value=csrf2/>
                                                <button type="submit" class="button">{toggle_label}</button>
                                            </form>
                                            <form method="post" action=del class="inline">
                                                <input type="hidden" name="csrf" value=csrf/>
                                                <button type="submit" class="button danger">"Delete"</button>
                                            </form>
                                        </div>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            <section class="card">
                <h2>"Add a monitor"</h2>
                <MonitorForm action="/admin/monitors".to_string() csrf=csrf form=form error=error
                    components=components services=services submit="Add monitor" edit=false/>
            </section>
        </Shell>
    }
}

/// `/admin/monitors/{id}`: change a monitor's settings.
#[component]
pub fn MonitorEditPage(
    viewer: Viewer,
    id: String,
    form: MonitorInput,
    error: Option<ValidationError>,
    components: Vec<ComponentChoice>,
    services: Vec<(String, String)>,
    paused: bool,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let title = format!("Edit monitor {}", form.name);
    view! {
        <Shell viewer=viewer nav=Nav::Monitors>
            <p class="crumbs small"><a href="/admin/monitors">"Monitors"</a></p>
            <h1 class="page-title">{title}</h1>
            {paused.then(|| view! { <p class="notice" role="status">"This monitor is paused: it is not checked and opens no alerts. Resume it from the monitor list."</p> })}
            <section class="card">
                <p class="small muted">"Saving starts the monitor afresh: an open alert of it is resolved, and it is checked again from the next interval."</p>
                <MonitorForm action=format!("/admin/monitors/{id}") csrf=csrf form=form error=error
                    components=components services=services submit="Save changes" edit=true/>
            </section>
        </Shell>
    }
}

/// The monitor fields, for adding and editing; every field keeps what was typed.
#[component]
fn MonitorForm(
    action: String,
    csrf: String,
    form: MonitorInput,
    error: Option<ValidationError>,
    components: Vec<ComponentChoice>,
    services: Vec<(String, String)>,
    submit: &'static str,
    /// Editing: the kind is fixed.
    edit: bool,
) -> impl IntoView {
    let form_service = form.service.clone();
    let heartbeat = form.kind == "heartbeat";
    const FIELDS: [&str; 10] = [
        "kind",
        "name",
        "url",
        "interval",
        "timeout",
        "expect_status",
        "keyword",
        "failures",
        "component",
        "service",
    ];
    view! {
        {error_box(&error, &FIELDS)}
        <form method="post" action=action class="stack">
            <input type="hidden" name="csrf" value=csrf/>
            {if edit {
                view! {
                    <input type="hidden" name="kind" value=form.kind.clone()/>
                    <p class="small">{if heartbeat { "Kind: heartbeat (pinged by a cron job)" } else { "Kind: HTTP(S) probe" }}</p>
                }.into_any()
            } else {
                view! {
                    <div class="field-row">
                        <label for="mo-kind">"Kind"</label>
                        <select id="mo-kind" name="kind">
                            <option value="http" selected=!heartbeat>"HTTP(S) probe"</option>
                            <option value="heartbeat" selected=heartbeat>"Heartbeat (pinged by a cron job)"</option>
                        </select>
                    </div>
                }.into_any()
            }}
            {note(&error, &["kind"])}
            <label for="mo-name">"Name"</label>
            <input id="mo-name" name="name" required value=form.name/>
            {note(&error, &["name"])}
            <label for="mo-url">"URL (probes)"</label>
            <input id="mo-url" name="url" type="url" value=form.url placeholder="https://index.crates.io/config.json"/>
            {note(&error, &["url"])}
            <div class="field-row">
                <label for="mo-interval">"Interval (seconds)"</label>
                <input id="mo-interval" name="interval" inputmode="numeric" value=form.interval placeholder="60"/>
            </div>
            {note(&error, &["interval"])}
            <div class="field-row">
                <label for="mo-timeout">"Timeout (ms, probes)"</label>
                <input id="mo-timeout" name="timeout" inputmode="numeric" value=form.timeout placeholder="10000"/>
            </div>
            {note(&error, &["timeout"])}
            <div class="field-row">
                <label for="mo-expect">"Expected HTTP status (empty: any 2xx)"</label>
                <input id="mo-expect" name="expect_status" inputmode="numeric" value=form.expect_status/>
            </div>
            {note(&error, &["expect_status"])}
            <div class="field-row">
                <label for="mo-keyword">"Body must contain"</label>
                <input id="mo-keyword" name="keyword" value=form.keyword/>
            </div>
            {note(&error, &["keyword"])}
            <div class="field-row">
                <label for="mo-failures">"Failures in a row before down"</label>
                <input id="mo-failures" name="failures" inputmode="numeric" value=form.failures placeholder="3"/>
            </div>
            {note(&error, &["failures"])}
            <div class="field-row">
                <label for="mo-component">"Component it drives"</label>
                <select id="mo-component" name="component">
                    <option value="">"None"</option>
                    {components.into_iter().map(|c| view! {
                        <option value=c.id.clone() selected=form.component == c.id>{c.name}</option>
                    }).collect_view()}
                </select>
            </div>
            {note(&error, &["component"])}
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
            {note(&error, &["service"])}
            <button type="submit" class="button primary">{submit}</button>
        </form>
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
    /// Email is set up (the public page offers the email form).
    #[prop(optional)]
    email: bool,
    /// The refused webhook URL, as typed.
    #[prop(optional)]
    url: String,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let csrf_rows = csrf.clone();
    let n = i64::try_from(subscribers.len()).unwrap_or(i64::MAX);
    let summary = format!(
        "{} · {} queued, {} retrying",
        count(n, "subscriber", "subscribers"),
        count(backlog.0, "delivery", "deliveries"),
        backlog.1
    );
    view! {
        <Shell viewer=viewer nav=Nav::Incidents>
            <h1 class="page-title">"Subscribers"</h1>
            <p class="muted">{summary}</p>
            {(!email).then(|| view! {
                <p class="warn" id="mail-off" role="note">
                    "Email is not set up on this server, so the public status page hides its email subscription form. "
                    "To offer it, set FIRSTLINE_SMTP_URL (outgoing mail) and restart the server. "
                    "Feeds (RSS, Atom) and webhooks work without it."
                </p>
            })}
            <section class="card">
                <h2>"Add a webhook"</h2>
                {error_box(&error, &["url", "target"])}
                <form method="post" action="/admin/subscribers" class="stack">
                    <input type="hidden" name="csrf" value=csrf/>
                    <label for="wh-url">"URL that receives a JSON POST for every update"</label>
                    <input id="wh-url" name="url" type="url" required value=url placeholder="https://chat.example.org/hooks/status"/>
                    {note(&error, &["url", "target"])}
                    <button type="submit" class="button primary">"Add webhook"</button>
                </form>
            </section>
            <section class="card">
                {(n == 0).then(|| view! { <p class="muted">"No subscribers yet."</p> })}
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
