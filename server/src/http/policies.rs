//! Escalation policies (`/policies`) and a service's paging settings and maintenance windows
//! (`/services/{id}/paging`, `/services/{id}/maintenance`).
//!
//! Admins edit; responders read; viewers are refused ([`permits`]). The editor works without
//! JavaScript: its submit buttons (`op` = `add`, `remove:N`, `preview`, `save`) answer with the
//! same form, everything typed kept; only `save` writes. The preview resolves each target at now
//! ([`crate::store::Store::resolve_targets`]) and says it in words
//! ([`app::domain::policy_text`]).

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use leptos::prelude::*;
use serde::Deserialize;

use app::domain::account::Role;
use app::domain::escalation::{
    preview, Policy, PolicyInput, ServicePaging, Step, Target, TargetKind, WorkingHours,
    MAINTENANCE_MAX_MIN, STEPS_MAX,
};
use app::domain::ingest::Severity;
use app::domain::oncall::{permits, Permission};
use app::domain::policy_text::{self, GapAhead, StepNow, TargetNow};
use app::domain::schedule::{coverage, expand, Restriction, Window};
use app::domain::ValidationError;
use app::pages::policies::{
    Choices, MaintenanceForm, MaintenanceRow, PagingForm, PagingView, PoliciesPage, PolicyEditor,
    PolicyForm, PolicyPage, PolicyRow, StepForm,
};
use app::pages::render_document;

use super::error::AppError;
use super::incidents::{field, Fields};
use super::session::{check_csrf, Member, ValidForm};
use crate::format::display_time;
use crate::state::AppState;
use crate::store::{SessionInfo, StoreError};

/// How far ahead the editor looks for coverage gaps on a step's schedules.
const GAP_HORIZON_DAYS: i64 = 28;
/// Delay a new step starts with.
const NEW_STEP_DELAY: &str = "5";

fn allow(me: &SessionInfo, what: Permission) -> Result<(), AppError> {
    if permits(Some(me.user.role), what) {
        return Ok(());
    }
    Err(AppError::Forbidden(
        match what {
            Permission::View | Permission::Act => {
                "Only responders and admins can see escalation policies."
            }
            Permission::Configure => "Only admins can change escalation and paging settings.",
        }
        .into(),
    ))
}

fn viewer(me: &SessionInfo) -> app::pages::Viewer {
    super::session::MaybeSession(Some(me.clone())).viewer()
}

/// Names of everything a target can be, and the choices of the editor.
struct Names {
    users: HashMap<String, String>,
    schedules: HashMap<String, String>,
    teams: HashMap<String, String>,
    choices: Choices,
}

impl Names {
    fn of(&self, t: &Target) -> String {
        let (map, what) = match t.kind {
            TargetKind::User => (&self.users, "person"),
            TargetKind::Schedule => (&self.schedules, "schedule"),
            TargetKind::Team => (&self.teams, "team"),
        };
        map.get(&t.id)
            .cloned()
            .unwrap_or_else(|| format!("an unknown {what}"))
    }

    fn user(&self, id: &str) -> String {
        self.users
            .get(id)
            .cloned()
            .unwrap_or_else(|| "someone".into())
    }
}

async fn names(state: &AppState) -> Result<Names, AppError> {
    let users = state.store.list_users().await?;
    let schedules = state.store.list_schedules().await?;
    let teams = state.store.list_teams().await?;
    let choices = Choices {
        // A draft schedule cannot be paged until it is published, so it is not offered.
        schedules: schedules
            .iter()
            .filter(|s| !s.draft)
            .map(|s| (format!("schedule:{}", s.id), s.name.clone()))
            .collect(),
        teams: teams
            .iter()
            .map(|t| (format!("team:{}", t.id), t.name.clone()))
            .collect(),
        people: users
            .iter()
            .filter(|u| u.is_active() && u.role != Role::Viewer)
            .map(|u| (format!("user:{}", u.id), u.name.clone()))
            .collect(),
    };
    Ok(Names {
        users: users.into_iter().map(|u| (u.id, u.name)).collect(),
        schedules: schedules.into_iter().map(|s| (s.id, s.name)).collect(),
        teams: teams.into_iter().map(|t| (t.id, t.name)).collect(),
        choices,
    })
}

/// The steps of `policy` as they stand at `now`, and the coverage gaps ahead on its schedules.
async fn steps_now(
    state: &AppState,
    names: &Names,
    policy: &Policy,
    now: i64,
    zone: &str,
) -> Result<(Vec<StepNow>, Vec<GapAhead>), AppError> {
    let targets: Vec<Target> = policy
        .steps
        .iter()
        .flat_map(|s| s.targets.iter().cloned())
        .collect();
    let resolved = state.store.resolve_targets(&targets, now).await?;
    let oncall = |t: &Target| resolved.get(t).cloned().unwrap_or_default();
    let previews = preview(policy, &oncall);
    let steps = policy
        .steps
        .iter()
        .zip(previews)
        .map(|(s, p)| StepNow {
            targets: s
                .targets
                .iter()
                .map(|t| TargetNow {
                    kind: t.kind,
                    name: names.of(t),
                    people: oncall(t).iter().map(|u| names.user(u)).collect(),
                })
                .collect(),
            delay_min: s.delay_min,
            round_robin: s.round_robin,
            first: p.users.first().map(|u| names.user(u)),
        })
        .collect();
    let mut gaps = Vec::new();
    let mut seen = HashSet::new();
    let from = Timestamp::from_millisecond(now).map_err(|e| AppError::Internal(e.to_string()))?;
    let window = Window::new(
        from,
        from + SignedDuration::from_hours(24 * GAP_HORIZON_DAYS),
    )
    .map_err(AppError::Validation)?;
    for (i, s) in policy.steps.iter().enumerate() {
        for t in s.targets.iter().filter(|t| t.kind == TargetKind::Schedule) {
            if !seen.insert(t.id.clone()) {
                continue;
            }
            let full = match state
                .store
                .schedule_full(&t.id, window.start, window.end)
                .await
            {
                Ok(f) => f,
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            let found = coverage(&expand(&full.schedule, &window)).gaps;
            if let Some(g) = found.first() {
                gaps.push(GapAhead {
                    step: i,
                    schedule: names.of(t),
                    from: display_time(g.start.as_millisecond(), zone),
                    to: display_time(g.end.as_millisecond(), zone),
                    more: found.len() - 1,
                });
            }
        }
    }
    Ok((steps, gaps))
}

// ---- the list ----

fn shape(p: &Policy) -> String {
    let steps = match p.steps.len() {
        1 => "1 step".to_string(),
        n => format!("{n} steps"),
    };
    let repeats = match p.repeats {
        0 => "no repeats".to_string(),
        1 => "repeats once".to_string(),
        2 => "repeats twice".to_string(),
        n => format!("repeats {n} times"),
    };
    format!("{steps}, {repeats}")
}

/// Services per policy id: (service id, service name).
async fn users_of_policies(
    state: &AppState,
) -> Result<HashMap<String, Vec<(String, String)>>, AppError> {
    let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for s in state.store.services().await? {
        if let Some(pid) = state.store.service_paging(&s.id).await?.policy_id {
            out.entry(pid).or_default().push((s.id, s.name));
        }
    }
    Ok(out)
}

/// `?done=`.
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// `GET /policies`.
pub async fn list(
    State(state): State<AppState>,
    Member(me): Member,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    allow(&me, Permission::Act)?;
    let used = users_of_policies(&state).await?;
    let rows = state
        .store
        .policies()
        .await?
        .into_iter()
        .map(|p| PolicyRow {
            shape: shape(&p),
            services: used
                .get(&p.id)
                .map(|v| v.iter().map(|(_, n)| n.clone()).collect())
                .unwrap_or_default(),
            id: p.id,
            name: p.name,
            description: p.description,
        })
        .collect();
    let message = (q.done == "deleted").then(|| "Policy deleted.".to_string());
    let v = viewer(&me);
    let html = render_document("Escalation policies · Firstline", None, None, move || {
        view! { <PoliciesPage viewer=v policies=rows message=message/> }
    });
    Ok(Html(html).into_response())
}

// ---- the editor ----

fn form_of(p: &Policy) -> PolicyForm {
    PolicyForm {
        name: p.name.clone(),
        description: p.description.clone(),
        repeats: p.repeats.to_string(),
        steps: p
            .steps
            .iter()
            .map(|s| StepForm {
                targets: s.targets.iter().map(Target::key).collect(),
                delay: s.delay_min.to_string(),
                round_robin: s.round_robin,
            })
            .collect(),
    }
}

/// Reads the editor's fields: `name`, `description`, `repeats`, `step_count`, and per step `N`
/// (1-based) `sN_target` (repeated), `sN_delay`, `sN_rr`.
fn read_form(fields: &Fields) -> PolicyForm {
    let count = field(fields, "step_count")
        .trim()
        .parse::<usize>()
        .unwrap_or(1)
        .min(STEPS_MAX + 1);
    PolicyForm {
        name: field(fields, "name"),
        description: field(fields, "description"),
        repeats: field(fields, "repeats"),
        steps: (1..=count)
            .map(|n| {
                let t = format!("s{n}_target");
                StepForm {
                    targets: fields
                        .iter()
                        .filter(|(k, _)| *k == t)
                        .map(|(_, v)| v.clone())
                        .collect(),
                    delay: field(fields, &format!("s{n}_delay")),
                    round_robin: field(fields, &format!("s{n}_rr")) == "true",
                }
            })
            .collect(),
    }
}

/// The typed form as a policy input, checked ([`PolicyInput::normalize`]).
fn input_of(form: &PolicyForm) -> Result<PolicyInput, ValidationError> {
    let repeats = match form.repeats.trim() {
        "" => 0,
        r => r.parse::<i64>().map_err(|_| {
            ValidationError::new("repeats", "repeats must be a whole number from 0 to 9")
        })?,
    };
    let mut steps = Vec::with_capacity(form.steps.len());
    for (i, s) in form.steps.iter().enumerate() {
        let n = i + 1;
        let mut targets = Vec::new();
        for key in &s.targets {
            let t = Target::parse(key).ok_or_else(|| {
                ValidationError::new(
                    &format!("steps.{n}.targets"),
                    format!("step {n}: {key:?} is not a person, schedule or team"),
                )
            })?;
            targets.push(t);
        }
        let delay_min = s.delay.trim().parse::<i64>().map_err(|_| {
            ValidationError::new(
                &format!("steps.{n}.delay_min"),
                format!("step {n}: the wait must be a whole number of minutes"),
            )
        })?;
        steps.push(Step {
            targets,
            delay_min,
            round_robin: s.round_robin,
        });
    }
    PolicyInput {
        name: form.name.clone(),
        description: form.description.clone(),
        repeats,
        steps,
    }
    .normalize()
}

fn as_policy(id: &str, input: PolicyInput) -> Policy {
    Policy {
        id: id.to_string(),
        name: input.name,
        description: input.description,
        repeats: input.repeats,
        steps: input.steps,
    }
}

/// Renders the editor (or the read-only view) with a preview of `shown` if given.
#[expect(clippy::too_many_arguments, reason = "one page, its parts")]
async fn editor_page(
    state: &AppState,
    me: &SessionInfo,
    id: Option<String>,
    form: PolicyForm,
    shown: Option<Policy>,
    error: Option<ValidationError>,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let names = names(state).await?;
    let zone = me.user.time_zone.clone();
    let (preview, warnings) = match &shown {
        Some(p) => {
            let (steps, gaps) = steps_now(state, &names, p, state.clock.now_ms(), &zone).await?;
            (
                Some(policy_text::preview_text(&steps, p.repeats)),
                policy_text::warnings(&steps, &gaps),
            )
        }
        None => (None, Vec::new()),
    };
    let services = match &id {
        Some(pid) => users_of_policies(state)
            .await?
            .remove(pid)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let title = match &id {
        Some(_) if !form.name.trim().is_empty() => {
            format!("{} · Escalation policies · Firstline", form.name)
        }
        Some(_) => "Escalation policy · Firstline".to_string(),
        None => "New escalation policy · Firstline".to_string(),
    };
    let editor = PolicyEditor {
        id,
        form,
        choices: names.choices,
        error,
        preview,
        warnings,
        zone,
        services,
        message,
        may_edit: permits(Some(me.user.role), Permission::Configure),
    };
    let v = viewer(me);
    let html = render_document(&title, None, None, move || {
        view! { <PolicyPage viewer=v editor=editor/> }
    });
    Ok((status, Html(html)).into_response())
}

/// `GET /policies/new` (admins).
pub async fn new_form(
    State(state): State<AppState>,
    Member(me): Member,
) -> Result<Response, AppError> {
    allow(&me, Permission::Configure)?;
    let form = PolicyForm {
        repeats: "0".into(),
        steps: vec![StepForm {
            delay: NEW_STEP_DELAY.into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    editor_page(&state, &me, None, form, None, None, None, StatusCode::OK).await
}

/// `GET /policies/{id}`: the policy with its preview (admins edit it here).
pub async fn show(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    allow(&me, Permission::Act)?;
    let p = state.store.policy(&id).await?;
    let message = match q.done.as_str() {
        "created" => Some("Policy created. Choose it on each service's page to use it.".into()),
        "saved" => Some(
            "Saved. Incidents escalating under it take the new steps from their next step on."
                .into(),
        ),
        _ => None,
    };
    let form = form_of(&p);
    editor_page(
        &state,
        &me,
        Some(id),
        form,
        Some(p),
        None,
        message,
        StatusCode::OK,
    )
    .await
}

/// The editor's buttons for a post to `id` (`None`: a new policy).
async fn edit(
    state: AppState,
    me: SessionInfo,
    id: Option<String>,
    fields: Fields,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Configure)?;
    if let Some(id) = &id {
        state.store.policy(id).await?;
    }
    let mut form = read_form(&fields);
    let op = field(&fields, "op");
    let again = |form, shown, error, status| {
        editor_page(&state, &me, id.clone(), form, shown, error, None, status)
    };
    if op == "add" {
        if form.steps.len() >= STEPS_MAX {
            let e = ValidationError::new("steps", format!("at most {STEPS_MAX} steps"));
            return again(form, None, Some(e), StatusCode::BAD_REQUEST).await;
        }
        form.steps.push(StepForm {
            delay: NEW_STEP_DELAY.into(),
            ..Default::default()
        });
        return again(form, None, None, StatusCode::OK).await;
    }
    if let Some(n) = op.strip_prefix("remove:") {
        match n.parse::<usize>() {
            Ok(n) if (1..=form.steps.len()).contains(&n) => {
                form.steps.remove(n - 1);
            }
            _ => {
                let e = ValidationError::new("steps", format!("there is no step {n} to remove"));
                return again(form, None, Some(e), StatusCode::BAD_REQUEST).await;
            }
        }
        return again(form, None, None, StatusCode::OK).await;
    }
    let input = match input_of(&form) {
        Ok(i) => i,
        Err(e) => return again(form, None, Some(e), StatusCode::BAD_REQUEST).await,
    };
    if op == "preview" {
        let shown = as_policy(id.as_deref().unwrap_or_default(), input);
        return again(form, Some(shown), None, StatusCode::OK).await;
    }
    let now = state.clock.now_ms();
    let saved = match &id {
        Some(pid) => state
            .store
            .update_policy(pid, &input, now)
            .await
            .map(|()| (pid.clone(), "saved")),
        None => state
            .store
            .create_policy(&input, now)
            .await
            .map(|p| (p.id, "created")),
    };
    match saved {
        Ok((pid, done)) => {
            Ok(Redirect::to(&format!("/policies/{pid}?done={done}")).into_response())
        }
        Err(StoreError::Invalid(e)) => again(form, None, Some(e), StatusCode::BAD_REQUEST).await,
        Err(StoreError::Conflict { field }) => {
            let e = ValidationError::new(field, "another escalation policy has this name");
            again(form, None, Some(e), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /policies`: the new-policy editor's buttons; `save` creates (admins).
pub async fn create(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    edit(state, me, None, fields).await
}

/// `POST /policies/{id}`: the editor's buttons; `save` replaces the policy (admins).
pub async fn update(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    edit(state, me, Some(id), fields).await
}

/// `POST /policies/{id}/delete` (admins); refused while a service uses it.
pub async fn delete(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Configure)?;
    match state.store.delete_policy(&id).await {
        Ok(()) => Ok(Redirect::to("/policies?done=deleted").into_response()),
        Err(StoreError::Invalid(e)) => {
            let p = state.store.policy(&id).await?;
            let form = form_of(&p);
            editor_page(
                &state,
                &me,
                Some(id),
                form,
                Some(p),
                Some(e),
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- a service's paging settings and maintenance ----

fn paging_form(s: &ServicePaging, zone: &str) -> PagingForm {
    let (low_mode, days, start, end, time_zone) = match &s.low_urgency_hours {
        Some(h) => (
            "hours",
            h.window
                .days
                .iter()
                .map(|d| format!("{d:?}").to_lowercase())
                .collect(),
            h.window.start.strftime("%H:%M").to_string(),
            h.window.end.strftime("%H:%M").to_string(),
            h.time_zone.clone(),
        ),
        None => (
            "now",
            ["monday", "tuesday", "wednesday", "thursday", "friday"]
                .map(String::from)
                .to_vec(),
            "09:00".to_string(),
            "17:00".to_string(),
            zone.to_string(),
        ),
    };
    PagingForm {
        policy_id: s.policy_id.clone().unwrap_or_default(),
        high_from: s.high_urgency_from.as_str().to_string(),
        low_mode: low_mode.to_string(),
        days,
        start,
        end,
        time_zone,
        ack_timeout: s.ack_timeout_min.map(|m| m.to_string()).unwrap_or_default(),
        auto_resolve: s
            .auto_resolve_min
            .map(|m| m.to_string())
            .unwrap_or_default(),
    }
}

/// The paging part of a service's page. `form` and `mform` are what was typed (after an error);
/// `None` shows the stored settings.
pub async fn paging_view(
    state: &AppState,
    me: &SessionInfo,
    service_id: &str,
    form: Option<PagingForm>,
    mform: Option<MaintenanceForm>,
    error: Option<ValidationError>,
) -> Result<PagingView, AppError> {
    let zone = me.user.time_zone.clone();
    let stored = state.store.service_paging(service_id).await?;
    let now = state.clock.now_ms();
    let policies = state.store.policies().await?;
    let policy = stored
        .policy_id
        .as_ref()
        .and_then(|pid| policies.iter().find(|p| p.id == *pid))
        .cloned();
    let chain = match &policy {
        Some(p) => {
            let names = names(state).await?;
            let (steps, _) = steps_now(state, &names, p, now, &zone).await?;
            Some(policy_text::chain_sentence(&steps))
        }
        None => None,
    };
    let maintenance = state
        .store
        .maintenance_windows(service_id, now)
        .await?
        .into_iter()
        .map(|m| {
            let current = m.starts_at <= now;
            MaintenanceRow {
                when: if current {
                    format!("Now, until {}", display_time(m.ends_at, &zone))
                } else {
                    format!(
                        "From {} to {}",
                        display_time(m.starts_at, &zone),
                        display_time(m.ends_at, &zone)
                    )
                },
                id: m.id,
                reason: m.reason,
                current,
            }
        })
        .collect();
    Ok(PagingView {
        chain,
        policy: policy.map(|p| (p.id, p.name)),
        policies: policies.into_iter().map(|p| (p.id, p.name)).collect(),
        form: form.unwrap_or_else(|| paging_form(&stored, &zone)),
        maintenance,
        maintenance_form: mform.unwrap_or_default(),
        error,
        zone,
    })
}

fn read_paging(fields: &Fields) -> PagingForm {
    PagingForm {
        policy_id: field(fields, "policy_id").trim().to_string(),
        high_from: field(fields, "high_urgency_from"),
        low_mode: field(fields, "low_mode"),
        days: fields
            .iter()
            .filter(|(k, _)| k == "hours_days")
            .map(|(_, v)| v.clone())
            .collect(),
        start: field(fields, "hours_start"),
        end: field(fields, "hours_end"),
        time_zone: field(fields, "hours_time_zone").trim().to_string(),
        ack_timeout: field(fields, "ack_timeout_min").trim().to_string(),
        auto_resolve: field(fields, "auto_resolve_min").trim().to_string(),
    }
}

fn minutes(field_name: &str, v: &str) -> Result<Option<i64>, ValidationError> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i64>().map(Some).map_err(|_| {
        ValidationError::new(
            field_name,
            "must be a whole number of minutes (or empty for never)",
        )
    })
}

fn weekday(s: &str) -> Option<jiff::civil::Weekday> {
    use jiff::civil::Weekday as W;
    Some(match s {
        "monday" => W::Monday,
        "tuesday" => W::Tuesday,
        "wednesday" => W::Wednesday,
        "thursday" => W::Thursday,
        "friday" => W::Friday,
        "saturday" => W::Saturday,
        "sunday" => W::Sunday,
        _ => return None,
    })
}

/// The typed settings, checked ([`ServicePaging::validate`]).
fn paging_of(f: &PagingForm) -> Result<ServicePaging, ValidationError> {
    let high_urgency_from = match f.high_from.as_str() {
        "info" => Severity::Info,
        "warning" => Severity::Warning,
        "error" => Severity::Error,
        "critical" => Severity::Critical,
        _ => {
            return Err(ValidationError::new(
                "high_urgency_from",
                "choose a severity: info, warning, error or critical",
            ))
        }
    };
    let low_urgency_hours = match f.low_mode.as_str() {
        "" | "now" => None,
        "hours" => {
            let mut days = Vec::new();
            for d in &f.days {
                days.push(weekday(d).ok_or_else(|| {
                    ValidationError::new("hours_days", format!("{d:?} is not a day of the week"))
                })?);
            }
            let time = |name: &str, v: &str| {
                v.trim()
                    .parse::<jiff::civil::Time>()
                    .map_err(|_| ValidationError::new(name, "must be a time of day like 09:00"))
            };
            Some(WorkingHours {
                time_zone: f.time_zone.clone(),
                window: Restriction {
                    days,
                    start: time("hours_start", &f.start)?,
                    end: time("hours_end", &f.end)?,
                },
            })
        }
        _ => {
            return Err(ValidationError::new(
                "low_mode",
                "choose whether low urgency alerts page at once or wait for working hours",
            ))
        }
    };
    let s = ServicePaging {
        policy_id: (!f.policy_id.is_empty()).then(|| f.policy_id.clone()),
        high_urgency_from,
        low_urgency_hours,
        ack_timeout_min: minutes("ack_timeout_min", &f.ack_timeout)?,
        auto_resolve_min: minutes("auto_resolve_min", &f.auto_resolve)?,
    };
    s.validate()?;
    Ok(s)
}

/// `POST /services/{id}/paging`: the service's policy, urgency, working hours, timeouts (admins).
pub async fn set_paging(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Configure)?;
    state.store.service(&id).await?;
    let form = read_paging(&fields);
    let result = match paging_of(&form) {
        Ok(s) => {
            state
                .store
                .set_service_paging(&id, &s, state.clock.now_ms())
                .await
        }
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/services/{id}?done=paging#paging")).into_response()),
        Err(StoreError::Invalid(e)) => {
            let view = paging_view(&state, &me, &id, Some(form), None, Some(e)).await?;
            super::oncall::service_page_with(&state, &me, &id, None, view, StatusCode::BAD_REQUEST)
                .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /services/{id}/maintenance`: `mode=now` with `hours`, or `mode=window` with `starts`
/// and `ends` in the viewer's zone, and an optional `reason` (admins).
pub async fn add_maintenance(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Configure)?;
    state.store.service(&id).await?;
    let mform = MaintenanceForm {
        hours: field(&fields, "hours").trim().to_string(),
        starts: field(&fields, "starts").trim().to_string(),
        ends: field(&fields, "ends").trim().to_string(),
        reason: field(&fields, "reason").trim().to_string(),
    };
    let now = state.clock.now_ms();
    let checked = || -> Result<(i64, i64, String), ValidationError> {
        let reason =
            app::domain::validate::optional_text("reason", &mform.reason, 200)?.unwrap_or_default();
        if field(&fields, "mode") == "now" {
            let max_h = MAINTENANCE_MAX_MIN / 60;
            let hours = mform
                .hours
                .parse::<i64>()
                .ok()
                .filter(|h| (1..=max_h).contains(h))
                .ok_or_else(|| {
                    ValidationError::new(
                        "hours",
                        format!("maintenance lasts a whole number of hours from 1 to {max_h}"),
                    )
                })?;
            return Ok((now, now + hours * 3_600_000, reason));
        }
        let tz = jiff::tz::TimeZone::get(&me.user.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let at = |name: &str, v: &str| -> Result<i64, ValidationError> {
            let dt: jiff::civil::DateTime = v.parse().map_err(|_| {
                ValidationError::new(name, "must be a date and time like 2026-12-01T02:00")
            })?;
            dt.to_zoned(tz.clone())
                .map(|z| z.timestamp().as_millisecond())
                .map_err(|_| ValidationError::new(name, "is not a valid time in your zone"))
        };
        let starts = at("starts", &mform.starts)?;
        let ends = at("ends", &mform.ends)?;
        if ends <= starts {
            return Err(ValidationError::new(
                "ends",
                "the end must be after the start",
            ));
        }
        if ends - starts > MAINTENANCE_MAX_MIN * 60_000 {
            return Err(ValidationError::new(
                "ends",
                format!(
                    "a maintenance window lasts at most {} days",
                    MAINTENANCE_MAX_MIN / 60 / 24
                ),
            ));
        }
        Ok((starts, ends, reason))
    };
    let result = match checked() {
        Ok((starts, ends, reason)) => state
            .store
            .add_maintenance(&id, starts, ends, &reason, Some(&me.user.id), now)
            .await
            .map(|_| ()),
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(()) => Ok(
            Redirect::to(&format!("/services/{id}?done=maintenance#maintenance")).into_response(),
        ),
        Err(StoreError::Invalid(e)) => {
            let view = paging_view(&state, &me, &id, None, Some(mform), Some(e)).await?;
            super::oncall::service_page_with(&state, &me, &id, None, view, StatusCode::BAD_REQUEST)
                .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /services/{id}/maintenance/{window}/end`: ends a window now, or cancels one that has
/// not started (admins).
pub async fn end_maintenance(
    State(state): State<AppState>,
    Member(me): Member,
    Path((id, window)): Path<(String, String)>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Configure)?;
    state
        .store
        .end_maintenance(&id, &window, state.clock.now_ms())
        .await?;
    Ok(Redirect::to(&format!(
        "/services/{id}?done=maintenance_ended#maintenance"
    ))
    .into_response())
}
