//! Escalation policies (`/policies`): the list, the editor, and a service's paging settings and
//! maintenance windows (shown on its page).
//!
//! The editor works without JavaScript: each step is a fieldset of checkboxes (schedules, teams,
//! people), a delay and a round-robin box; "Add step", "Remove step N" and "Preview" are submit
//! buttons whose answer is the same form again with everything typed kept.

use leptos::prelude::*;

use super::{Nav, Shell, Viewer};
use crate::domain::ValidationError;

/// One policy in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// "3 steps, repeats twice".
    pub shape: String,
    /// Services that use it.
    pub services: Vec<String>,
}

/// `/policies`: every policy, with the services using each.
#[component]
pub fn PoliciesPage(
    viewer: Viewer,
    policies: Vec<PolicyRow>,
    message: Option<String>,
) -> impl IntoView {
    let is_admin = viewer.is_admin;
    view! {
        <Shell viewer=viewer nav=Nav::Services>
            <p class="crumbs"><a href="/services">"Services"</a></p>
            <h1 class="page-title">"Escalation policies"</h1>
            <p class="muted small">"A policy says who is paged when a service alerts, and who next if nobody acknowledges. Choose a service's policy on the service's page."</p>
            {message.map(|m| view! { <p class="notice" role="status">{m}</p> })}
            <section class="card">
                {if policies.is_empty() {
                    view! { <p class="muted">"No escalation policies yet. Until a service has one, its alerts open incidents but page nobody."</p> }.into_any()
                } else {
                    view! {
                        <ul class="admin-list">
                            {policies.into_iter().map(|p| view! {
                                <li class="admin-row" data-policy=p.id.clone()>
                                    <div class="admin-row-head">
                                        <a href=format!("/policies/{}", p.id)><strong>{p.name}</strong></a>
                                        <span class="muted small">{p.shape}</span>
                                    </div>
                                    {(!p.description.is_empty()).then(|| view! { <span class="small">{p.description}</span> })}
                                    <span class="muted small">{if p.services.is_empty() {
                                        "Used by no service".to_string()
                                    } else {
                                        format!("Used by {}", p.services.join(", "))
                                    }}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
                {is_admin.then(|| view! { <p><a class="button primary" href="/policies/new">"New escalation policy"</a></p> })}
            </section>
        </Shell>
    }
}

/// A step as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepForm {
    /// Chosen targets, `kind:id`.
    pub targets: Vec<String>,
    /// Minutes before the next step, as typed.
    pub delay: String,
    /// Round robin.
    pub round_robin: bool,
}

/// A policy as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyForm {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Repeats, as typed.
    pub repeats: String,
    /// Steps.
    pub steps: Vec<StepForm>,
}

/// What a step can page: `(kind:id, name)` per group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choices {
    /// Schedules.
    pub schedules: Vec<(String, String)>,
    /// Teams.
    pub teams: Vec<(String, String)>,
    /// People who can be paged (responders and admins).
    pub people: Vec<(String, String)>,
}

impl Choices {
    /// The name of a `kind:id`, or the key itself.
    pub fn name_of(&self, key: &str) -> String {
        self.schedules
            .iter()
            .map(|(k, n)| (k, format!("schedule {n}")))
            .chain(self.teams.iter().map(|(k, n)| (k, format!("team {n}"))))
            .chain(self.people.iter().map(|(k, n)| (k, n.clone())))
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, n)| n)
            .unwrap_or_else(|| key.to_string())
    }
}

/// The editor's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyEditor {
    /// `None` for a new policy.
    pub id: Option<String>,
    /// The form.
    pub form: PolicyForm,
    /// What a step may page.
    pub choices: Choices,
    /// The last error.
    pub error: Option<ValidationError>,
    /// The preview paragraph.
    pub preview: Option<String>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// The viewer's zone, named with the warnings' times.
    pub zone: String,
    /// Services using the policy.
    pub services: Vec<(String, String)>,
    /// What the last action did.
    pub message: Option<String>,
    /// Admins edit; others read.
    pub may_edit: bool,
}

fn err_of(error: &Option<ValidationError>, field: &str) -> String {
    error
        .as_ref()
        .filter(|e| e.field == field)
        .map(super::fields::plain)
        .unwrap_or_default()
}

fn invalid(msg: &str) -> Option<&'static str> {
    (!msg.is_empty()).then_some("true")
}

/// One group of target checkboxes of step `n`.
fn group(
    n: usize,
    legend: &'static str,
    options: &[(String, String)],
    chosen: &[String],
    open: bool,
) -> impl IntoView {
    let any_chosen = options.iter().any(|(k, _)| chosen.contains(k));
    let boxes = options
        .iter()
        .map(|(key, name)| {
            let checked = chosen.contains(key);
            view! {
                <label class="check">
                    <input type="checkbox" name=format!("s{n}_target") value=key.clone() checked=checked/>
                    {name.clone()}
                </label>
            }
        })
        .collect_view();
    let count = options.iter().filter(|(k, _)| chosen.contains(k)).count();
    let summary = if count > 0 {
        format!("{legend} ({count} chosen)")
    } else {
        legend.to_string()
    };
    view! {
        <details class="targets" open={open || any_chosen}>
            <summary>{summary}</summary>
            <div class="checks-grid">{boxes}</div>
        </details>
    }
}

/// `/policies/new` and `/policies/{id}`: the editor for admins, the policy and its preview for
/// everyone else.
#[component]
pub fn PolicyPage(viewer: Viewer, editor: PolicyEditor) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let PolicyEditor {
        id,
        form,
        choices,
        error,
        preview,
        warnings,
        zone,
        services,
        message,
        may_edit,
    } = editor;
    let title = match (&id, form.name.trim().is_empty()) {
        (None, _) => "New escalation policy".to_string(),
        (Some(_), true) => "Escalation policy".to_string(),
        (Some(_), false) => form.name.clone(),
    };
    let action = match &id {
        Some(id) => format!("/policies/{id}"),
        None => "/policies".to_string(),
    };
    let (name_err, desc_err, repeats_err, steps_err, policy_err) = (
        err_of(&error, "name"),
        err_of(&error, "description"),
        err_of(&error, "repeats"),
        err_of(&error, "steps"),
        err_of(&error, "policy"),
    );
    // An error on a field the form does not show (a stale or forged post) is said on top.
    let other_err = error
        .as_ref()
        .filter(|e| {
            !["name", "description", "repeats", "steps", "policy"].contains(&e.field.as_str())
                && !e.field.starts_with("steps.")
        })
        .map(super::fields::plain);
    let preview_view = preview.map(|p| {
        let warn = (!warnings.is_empty()).then(|| {
            view! {
                <div class="warn" role="note">
                    <p><strong>"Check this"</strong>{format!(" (times in your zone, {zone}):")}</p>
                    <ul>{warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                </div>
            }
        });
        view! {
            <section class="card" aria-labelledby="h-preview" id="preview">
                <h2 id="h-preview">"Preview"</h2>
                <p class="preview-text">{p}</p>
                {warn}
            </section>
        }
        .into_any()
    });
    let used = (!services.is_empty()).then(|| {
        view! {
            <p class="small">"Used by: "
                {services.iter().enumerate().map(|(i, (sid, sname))| view! {
                    {(i > 0).then_some(", ")}<a href=format!("/services/{sid}")>{sname.clone()}</a>
                }).collect_view()}
            </p>
        }
    });
    let body = if may_edit {
        let step_count = form.steps.len();
        let steps = form
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let n = i + 1;
                let t_err = err_of(&error, &format!("steps.{n}.targets"));
                let d_err = err_of(&error, &format!("steps.{n}.delay_min"));
                let legend = if n == 1 { "Step 1: page at once".to_string() } else { format!("Step {n}") };
                let delay_id = format!("s{n}-delay");
                let t_err_id = format!("s{n}-targets-error");
                let t_err_desc = t_err_id.clone();
                let d_err_id = format!("s{n}-delay-error");
                view! {
                    <fieldset class="step" data-step=n.to_string() aria-describedby=t_err_desc>
                        <legend>{legend}</legend>
                        {group(n, "Schedules (whoever is on call)", &choices.schedules, &s.targets, true)}
                        {group(n, "Teams (every member)", &choices.teams, &s.targets, false)}
                        {group(n, "People", &choices.people, &s.targets, false)}
                        <p class="field-error" id=t_err_id>{t_err.clone()}</p>
                        <label for=delay_id.clone()>"Wait for an acknowledgement (minutes) before the next step"</label>
                        <input id=delay_id name=format!("s{n}_delay") value=s.delay.clone() inputmode="numeric"
                            maxlength="4" aria-invalid=invalid(&d_err) aria-describedby=d_err_id.clone()/>
                        <p class="field-error" id=d_err_id>{d_err.clone()}</p>
                        <label class="check">
                            <input type="checkbox" name=format!("s{n}_rr") value="true" checked=s.round_robin/>
                            "Round robin: page one person in turn, not all"
                        </label>
                        <button type="submit" name="op" value=format!("remove:{n}") class="button" formnovalidate=true>
                            {format!("Remove step {n}")}
                        </button>
                    </fieldset>
                }
            })
            .collect_view();
        view! {
            <form method="post" action=action class="stack policy-form">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <input type="hidden" name="step_count" value=step_count.to_string()/>
                // Enter in a field saves (the first submit button of a form is its default).
                <button type="submit" name="op" value="save" class="visually-hidden" tabindex="-1" aria-hidden="true">"Save"</button>
                <label for="p-name">"Name"</label>
                <input id="p-name" name="name" value=form.name.clone() required maxlength="100"
                    aria-invalid=invalid(&name_err) aria-describedby="p-name-error"/>
                <p class="field-error" id="p-name-error">{name_err}</p>
                <label for="p-desc">"Description (optional)"</label>
                <input id="p-desc" name="description" value=form.description.clone() maxlength="1000"
                    aria-invalid=invalid(&desc_err) aria-describedby="p-desc-error"/>
                <p class="field-error" id="p-desc-error">{desc_err}</p>
                <h2>"Steps"</h2>
                <p class="small muted">"Step 1 is paged at once. If nobody acknowledges within its minutes, the next step is paged, and so on."</p>
                <p class="field-error" id="p-steps-error">{steps_err}</p>
                {steps}
                <button type="submit" name="op" value="add" class="button" formnovalidate=true>"Add step"</button>
                <label for="p-repeats">"After the last step, start again this many more times (0 to 9)"</label>
                <input id="p-repeats" name="repeats" value=form.repeats.clone() inputmode="numeric" maxlength="2"
                    aria-invalid=invalid(&repeats_err) aria-describedby="p-repeats-error"/>
                <p class="field-error" id="p-repeats-error">{repeats_err}</p>
                <div class="form-actions">
                    <button type="submit" name="op" value="save" class="button primary">"Save policy"</button>
                    <button type="submit" name="op" value="preview" class="button">"Preview"</button>
                </div>
            </form>
        }
        .into_any()
    } else {
        view! {
            <section class="card">
                {(!form.description.is_empty()).then(|| view! { <p>{form.description.clone()}</p> })}
                <ol class="steps-read">
                    {form.steps.iter().enumerate().map(|(i, s)| {
                        let who: Vec<String> = s.targets.iter().map(|k| choices.name_of(k)).collect();
                        view! {
                            <li>
                                {format!("Step {}: {}", i + 1, who.join(", "))}
                                {s.round_robin.then_some(" (round robin)")}
                                <span class="muted small">{format!(" · then wait {} min", s.delay)}</span>
                            </li>
                        }
                    }).collect_view()}
                </ol>
                <p class="small">{format!("Repeats: {}", form.repeats)}</p>
                <p class="small muted">"Only admins change escalation policies."</p>
            </section>
        }
        .into_any()
    };
    let delete = match (&id, may_edit) {
        (Some(id), true) => Some(
            view! {
                <section class="card" aria-labelledby="h-delete">
                    <h2 id="h-delete">"Delete this policy"</h2>
                    <p class="field-error" id="p-policy-error" role="alert">{policy_err}</p>
                    <form method="post" action=format!("/policies/{id}/delete") class="inline">
                        <input type="hidden" name="csrf" value=csrf/>
                        <button type="submit" class="button danger">"Delete policy"</button>
                    </form>
                </section>
            }
            .into_any(),
        ),
        _ => None,
    };
    view! {
        <Shell viewer=viewer nav=Nav::Services>
            <p class="crumbs"><a href="/services">"Services"</a>" › "<a href="/policies">"Escalation policies"</a></p>
            <h1 class="page-title">{title}</h1>
            {message.map(|m| view! { <p class="notice" role="status">{m}</p> })}
            {other_err.map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            {used}
            {preview_view}
            <section class="card">{body}</section>
            {delete}
        </Shell>
    }
    .into_any()
}

/// A service's paging settings as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PagingForm {
    /// Policy id or empty.
    pub policy_id: String,
    /// Severity word from which alerts are high urgency.
    pub high_from: String,
    /// `now` (page low urgency at once) or `hours` (wait for working hours).
    pub low_mode: String,
    /// Working days (`monday`...).
    pub days: Vec<String>,
    /// Working hours start, `HH:MM`.
    pub start: String,
    /// Working hours end, `HH:MM`.
    pub end: String,
    /// Their zone.
    pub time_zone: String,
    /// Acknowledgement timeout in minutes, or empty for never.
    pub ack_timeout: String,
    /// Auto-resolve in minutes, or empty for never.
    pub auto_resolve: String,
}

/// A maintenance window on a service page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceRow {
    /// Id.
    pub id: String,
    /// "now, until 24 Nov 2026, 11:00 CET" or "from ... to ...".
    pub when: String,
    /// Why.
    pub reason: String,
    /// Started already.
    pub current: bool,
}

/// Maintenance forms as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceForm {
    /// Hours for "maintenance now".
    pub hours: String,
    /// Start, `YYYY-MM-DDTHH:MM` in the viewer's zone.
    pub starts: String,
    /// End.
    pub ends: String,
    /// Why.
    pub reason: String,
}

/// The paging part of a service's page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PagingView {
    /// The one sentence of who is paged now; `None` when the service has no policy.
    pub chain: Option<String>,
    /// The chosen policy: (id, name).
    pub policy: Option<(String, String)>,
    /// Policies to choose from: (id, name).
    pub policies: Vec<(String, String)>,
    /// The settings form.
    pub form: PagingForm,
    /// Maintenance windows not yet over.
    pub maintenance: Vec<MaintenanceRow>,
    /// The maintenance forms.
    pub maintenance_form: MaintenanceForm,
    /// The error of the last paging or maintenance post.
    pub error: Option<ValidationError>,
    /// The viewer's zone.
    pub zone: String,
}

const DAYS: [(&str, &str); 7] = [
    ("monday", "Mon"),
    ("tuesday", "Tue"),
    ("wednesday", "Wed"),
    ("thursday", "Thu"),
    ("friday", "Fri"),
    ("saturday", "Sat"),
    ("sunday", "Sun"),
];

/// The escalation chain, paging settings and maintenance of a service.
#[component]
pub fn PagingSection(
    service_id: String,
    paging: PagingView,
    is_admin: bool,
    /// Responders and admins read policies (viewers are not shown the link).
    may_read_policies: bool,
    csrf: String,
) -> impl IntoView {
    let PagingView {
        chain,
        policy,
        policies,
        form,
        maintenance,
        maintenance_form: mf,
        error,
        zone,
    } = paging;
    let e = |f: &str| err_of(&error, f);
    let (policy_err, high_err, zone_err, days_err, ack_err, auto_err) = (
        e("policy_id"),
        e("high_urgency_from"),
        e("hours_time_zone"),
        e("hours_days"),
        e("ack_timeout_min"),
        e("auto_resolve_min"),
    );
    let (start_err, end_err) = (e("hours_start"), e("hours_end"));
    let (hours_err, starts_err, ends_err, reason_err, mw_err) = (
        e("hours"),
        e("starts"),
        e("ends"),
        e("reason"),
        e("maintenance"),
    );
    let chain_view = match chain {
        Some(c) => view! {
            <p class="chain" data-chain="">{c}" "
                {policy.clone().map(|(pid, pname)| view! { <a href=format!("/policies/{pid}")>{format!("Policy: {pname}")}</a> })}
            </p>
        }
        .into_any(),
        None => view! { <p class="warn chain" data-chain="">{crate::domain::policy_text::NO_POLICY}</p> }.into_any(),
    };
    let in_maintenance = maintenance.iter().any(|m| m.current);
    let sev = [
        ("info", "info"),
        ("warning", "warning"),
        ("error", "error"),
        ("critical", "critical"),
    ];
    let read_only = {
        let hours = if form.low_mode == "hours" {
            let days: Vec<&str> = DAYS
                .iter()
                .filter(|(d, _)| form.days.iter().any(|x| x == d))
                .map(|(_, l)| *l)
                .collect();
            format!(
                "wait for working hours ({} {}–{}, {})",
                days.join(" "),
                form.start,
                form.end,
                form.time_zone
            )
        } else {
            "page at once".to_string()
        };
        let mins = |s: &str| {
            if s.is_empty() {
                "never".to_string()
            } else {
                format!("{s} min")
            }
        };
        view! {
            <ul class="plain small">
                <li>{format!("Escalation policy: {}", policy.as_ref().map(|p| p.1.clone()).unwrap_or_else(|| "none".into()))}</li>
                <li>{format!("Alerts of severity {} or worse are high urgency.", form.high_from)}</li>
                <li>{format!("Low urgency: {hours}.")}</li>
                <li>{format!("Acknowledgement timeout: {}.", mins(&form.ack_timeout))}</li>
                <li>{format!("Auto-resolve: {}.", mins(&form.auto_resolve))}</li>
            </ul>
        }
        .into_any()
    };
    let settings = is_admin.then(|| {
        let hours_mode = form.low_mode == "hours";
        view! {
            <form method="post" action=format!("/services/{service_id}/paging") class="stack paging-form">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <label for="pg-policy">"Escalation policy"</label>
                <select id="pg-policy" name="policy_id" aria-describedby="pg-policy-error">
                    <option value="" selected=form.policy_id.is_empty()>"None: page nobody"</option>
                    {policies.into_iter().map(|(pid, pname)| {
                        let sel = pid == form.policy_id;
                        view! { <option value=pid selected=sel>{pname}</option> }
                    }).collect_view()}
                </select>
                <p class="field-error" id="pg-policy-error">{policy_err}</p>
                <label for="pg-high">"Alerts of this severity or worse are high urgency"</label>
                <select id="pg-high" name="high_urgency_from" aria-describedby="pg-high-error">
                    {sev.into_iter().map(|(v, l)| {
                        let sel = form.high_from == v;
                        view! { <option value=v selected=sel>{l}</option> }
                    }).collect_view()}
                </select>
                <p class="field-error" id="pg-high-error">{high_err}</p>
                <fieldset>
                    <legend>"Low urgency alerts"</legend>
                    <label class="check"><input type="radio" name="low_mode" value="now" checked=!hours_mode/>"Page at once"</label>
                    <label class="check"><input type="radio" name="low_mode" value="hours" checked=hours_mode/>"Wait for working hours"</label>
                    <fieldset>
                        <legend>"Working days"</legend>
                        <div class="checks-grid days">
                            {DAYS.into_iter().map(|(d, l)| {
                                let checked = form.days.iter().any(|x| x == d);
                                view! { <label class="check"><input type="checkbox" name="hours_days" value=d checked=checked/>{l}</label> }
                            }).collect_view()}
                        </div>
                        <p class="field-error">{days_err}</p>
                    </fieldset>
                    <div class="inline-fields">
                        <label for="pg-start">"From"</label>
                        <input id="pg-start" name="hours_start" type="time" value=form.start.clone() aria-invalid=invalid(&start_err)/>
                        <label for="pg-end">"to"</label>
                        <input id="pg-end" name="hours_end" type="time" value=form.end.clone() aria-invalid=invalid(&end_err)/>
                    </div>
                    <p class="field-error">{start_err}</p>
                    <p class="field-error">{end_err}</p>
                    <label for="pg-zone">"Time zone"</label>
                    <input id="pg-zone" name="hours_time_zone" value=form.time_zone.clone() maxlength="64"
                        aria-invalid=invalid(&zone_err) aria-describedby="pg-zone-error"/>
                    <p class="field-error" id="pg-zone-error">{zone_err}</p>
                </fieldset>
                <label for="pg-ack">"Acknowledgement timeout, minutes (empty: never)"</label>
                <input id="pg-ack" name="ack_timeout_min" value=form.ack_timeout.clone() inputmode="numeric" maxlength="6"
                    aria-invalid=invalid(&ack_err) aria-describedby="pg-ack-error"/>
                <p class="field-error" id="pg-ack-error">{ack_err}</p>
                <label for="pg-auto">"Auto-resolve after minutes without a new alert (empty: never)"</label>
                <input id="pg-auto" name="auto_resolve_min" value=form.auto_resolve.clone() inputmode="numeric" maxlength="6"
                    aria-invalid=invalid(&auto_err) aria-describedby="pg-auto-error"/>
                <p class="field-error" id="pg-auto-error">{auto_err}</p>
                <button type="submit" class="button primary">"Save paging settings"</button>
            </form>
        }
        .into_any()
    });
    let mw_rows = (!maintenance.is_empty()).then(|| {
        let sid = service_id.clone();
        let csrf = csrf.clone();
        view! {
            <ul class="admin-list">
                {maintenance.into_iter().map(|m| {
                    let tag = if m.current { "in maintenance now" } else { "scheduled" };
                    view! {
                        <li class="admin-row" data-maintenance=m.id.clone()>
                            <div class="admin-row-head">
                                <strong>{m.when}</strong>
                                <span class="tag">{tag}</span>
                            </div>
                            {(!m.reason.is_empty()).then(|| view! { <span class="small">{m.reason}</span> })}
                            {is_admin.then(|| view! {
                                <form method="post" action=format!("/services/{}/maintenance/{}/end", sid, m.id) class="inline">
                                    <input type="hidden" name="csrf" value=csrf.clone()/>
                                    <button type="submit" class="button">{if m.current { "End now" } else { "Cancel" }}</button>
                                </form>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
    });
    let window_open = !starts_err.is_empty() || !ends_err.is_empty() || !reason_err.is_empty();
    let mw_forms = is_admin.then(|| {
        let hours = if mf.hours.is_empty() {
            "2".to_string()
        } else {
            mf.hours.clone()
        };
        view! {
            <form method="post" action=format!("/services/{service_id}/maintenance") class="inline-fields">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <input type="hidden" name="mode" value="now"/>
                <label for="mw-hours">"Maintenance mode now for"</label>
                <input id="mw-hours" name="hours" value=hours inputmode="numeric" maxlength="3" class="narrow"
                    aria-invalid=invalid(&hours_err) aria-describedby="mw-hours-error"/>
                <span>"hours"</span>
                <button type="submit" class="button">"Start maintenance"</button>
            </form>
            <p class="field-error" id="mw-hours-error">{hours_err}</p>
            <details open=window_open>
                <summary>"Schedule a maintenance window"</summary>
                <form method="post" action=format!("/services/{service_id}/maintenance") class="stack">
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <input type="hidden" name="mode" value="window"/>
                    <label for="mw-starts">{format!("Starts ({zone})")}</label>
                    <input id="mw-starts" name="starts" type="datetime-local" value=mf.starts.clone()
                        aria-invalid=invalid(&starts_err) aria-describedby="mw-starts-error"/>
                    <p class="field-error" id="mw-starts-error">{starts_err}</p>
                    <label for="mw-ends">{format!("Ends ({zone})")}</label>
                    <input id="mw-ends" name="ends" type="datetime-local" value=mf.ends.clone()
                        aria-invalid=invalid(&ends_err) aria-describedby="mw-ends-error"/>
                    <p class="field-error" id="mw-ends-error">{ends_err}</p>
                    <label for="mw-reason">"Reason (optional)"</label>
                    <input id="mw-reason" name="reason" value=mf.reason.clone() maxlength="200"
                        aria-invalid=invalid(&reason_err) aria-describedby="mw-reason-error"/>
                    <p class="field-error" id="mw-reason-error">{reason_err}</p>
                    <button type="submit" class="button">"Schedule maintenance"</button>
                </form>
            </details>
        }
        .into_any()
    });
    view! {
        <section class="card" aria-labelledby="h-paging" id="paging">
            <h2 id="h-paging">"Paging"</h2>
            {chain_view}
            {in_maintenance.then(|| view! { <p class="warn">"In maintenance: alerts are recorded, nobody is paged."</p> })}
            {settings}
            {(!is_admin).then_some(read_only)}
            {may_read_policies.then(|| view! { <p class="small"><a href="/policies">"Escalation policies"</a></p> })}
        </section>
        <section class="card" aria-labelledby="h-maint" id="maintenance">
            <h2 id="h-maint">"Maintenance"</h2>
            <p class="muted small">"During maintenance alerts are recorded but nobody is paged."</p>
            <p class="field-error" role="alert">{mw_err}</p>
            {match mw_rows {
                Some(v) => v.into_any(),
                None => view! { <p class="muted small">"No maintenance now or scheduled."</p> }.into_any(),
            }}
            {mw_forms}
        </section>
    }
    .into_any()
}
