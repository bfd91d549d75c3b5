//! Admin handlers for schedules: create, edit layers and people with a preview of the next
//! weeks, and a confirmation step when a change would leave nobody on call.

use std::collections::HashMap;

use crate::store::{LayerDraft, ScheduleInfo, SessionInfo};
use app::domain::permission::{self, Action, Relation};
use app::domain::schedule::{
    coverage, expand, Layer, Restriction, RosterChange, Rotation, Schedule, ShiftLength, Window,
};
use app::domain::validate::required_text;
use app::domain::ValidationError;
use app::pages::fields::{unknown_zone, FormError};
use app::pages::render_document;
use app::pages::schedule::ShiftView;
use app::pages::schedule_admin::{
    edit_people, EditSchedulePage, LayerForm, NewSchedulePage, Preview,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::civil::{self, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use leptos::prelude::*;
use serde::Deserialize;

use super::error::AppError;
use super::schedules::{label, user_names, GAP_HORIZON_DAYS};
use super::session::{actor, Admin, Member, ValidForm};
use crate::state::AppState;

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// The session, once [`permission::check`] lets it create and edit schedules and layers.
fn editor(me: SessionInfo) -> Result<Admin, AppError> {
    permission::check(Some(actor(&me)), Relation::default(), &Action::EditSchedule)?;
    Ok(Admin(me))
}

/// The words a layer or schedule form shows for `field` (an error names what the person sees).
fn field_label(field: &str) -> &'static str {
    match field {
        "name" => "The name",
        "time_zone" => "The time zone",
        "start" => "The first hand-off",
        "shift_length" => "The shift length",
        "participants" => "The people",
        "days" => "The days",
        "from" => "The start of the hours",
        "to" => "The end of the hours",
        "effective" => "The date people change",
        _ => "This",
    }
}

/// A refused form's error as the page shows it next to its field.
fn form_error(e: &ValidationError) -> FormError {
    FormError::of(e, field_label(&e.field))
}

/// Checks a time zone name: the plain sentence (with a suggestion) when it is not one.
fn check_zone(input: &str) -> Result<(String, TimeZone), ValidationError> {
    let name = input.trim().to_string();
    match TimeZone::get(&name) {
        Ok(tz) if !name.is_empty() && name.len() <= 64 => Ok((name, tz)),
        _ => Err(ValidationError::new("time_zone", unknown_zone(&name))),
    }
}

/// `GET /schedules/new`.
pub async fn new_form(Member(me): Member) -> Result<Html<String>, AppError> {
    let admin = editor(me)?;
    let own = admin.0.user.time_zone.clone();
    let v = admin.viewer();
    Ok(Html(render_document(
        "New schedule · Firstline",
        None,
        None,
        move || {
            view! { <NewSchedulePage viewer=v name=String::new() time_zone=own.clone() error=None own_zone=own/> }
        },
    )))
}

/// Form: new schedule.
#[derive(Deserialize)]
pub struct NewScheduleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    time_zone: String,
}

/// `POST /schedules`.
pub async fn create(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(form): ValidForm<NewScheduleForm>,
) -> Result<Response, AppError> {
    let admin = editor(me)?;
    admin.check_csrf(&form.csrf)?;
    let refuse = |e: ValidationError| {
        let v = admin.viewer();
        let own = admin.0.user.time_zone.clone();
        let name: String = form.name.chars().take(200).collect();
        let tz: String = form.time_zone.chars().take(64).collect();
        let page = render_document("New schedule · Firstline", None, None, move || {
            view! { <NewSchedulePage viewer=v name=name time_zone=tz error=Some(form_error(&e)) own_zone=own/> }
        });
        (StatusCode::BAD_REQUEST, Html(page)).into_response()
    };
    let checked = required_text("name", &form.name, 100)
        .and_then(|name| check_zone(&form.time_zone).map(|(tz, _)| (name, tz)));
    let (name, tz) = match checked {
        Ok(v) => v,
        Err(e) => return Ok(refuse(e)),
    };
    // A new schedule is a draft until a layer is saved and an admin publishes it.
    let id = match state
        .store
        .create_draft_schedule(&name, &tz, state.clock.now_ms())
        .await
    {
        Ok(id) => id,
        Err(crate::store::StoreError::Conflict { .. }) => {
            return Ok(refuse(ValidationError::new(
                "name",
                "Another schedule already has this name; choose another.",
            )))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Redirect::to(&format!("/schedules/{id}/edit")).into_response())
}

/// The layer form as posted (repeated `participant` and `day` fields keep their order).
#[derive(Debug, Default)]
struct LayerPost {
    csrf: String,
    intent: String,
    form: LayerForm,
}

fn parse_layer_post(pairs: Vec<(String, String)>) -> LayerPost {
    let mut p = LayerPost::default();
    for (k, v) in pairs {
        match k.as_str() {
            "csrf" => p.csrf = v,
            "intent" => p.intent = v,
            "name" => p.form.name = v,
            "time_zone" => p.form.time_zone = v,
            "start" => p.form.start = v,
            "shift_count" => p.form.shift_count = v,
            "shift_unit" => p.form.shift_unit = v,
            // Empty slots are kept so a re-rendered form shows the rows as they were.
            "participant" => p.form.participants.push(v.trim().to_string()),
            "effective" => p.form.effective = v,
            "restricted" => p.form.restricted = true,
            "day" => {
                if let Some(slot) = v.parse::<usize>().ok().and_then(|i| p.form.days.get_mut(i)) {
                    *slot = true;
                }
            }
            "from" => p.form.from = v,
            "to" => p.form.to = v,
            _ => {}
        }
    }
    p
}

/// A validated layer change.
struct LayerChange {
    draft: LayerDraft,
    participants: Vec<String>,
    effective: Timestamp,
}

/// Checks a layer form. An existing layer may get an empty roster from a date on ("nobody
/// from March"), which the preview then shows as a gap; a new layer needs at least one person.
fn validate_layer(
    form: &LayerForm,
    users: &HashMap<String, String>,
    now: Timestamp,
    existing: bool,
) -> Result<LayerChange, ValidationError> {
    let name = required_text("name", &form.name, 100)?;
    let (tz_name, tz) = check_zone(&form.time_zone)?;
    let chosen: Vec<String> = form
        .participants
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect();
    let start: civil::DateTime = form.start.trim().parse().map_err(|_| {
        ValidationError::new(
            "start",
            "must be a local date and time like 2026-11-23T09:00",
        )
    })?;
    let count: u32 = form
        .shift_count
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| {
            ValidationError::new("shift_length", "must be a whole number from 1 to 1000")
        })?;
    let shift = match form.shift_unit.as_str() {
        "hours" => ShiftLength::Hours(count),
        "days" => ShiftLength::Days(count),
        "weeks" => ShiftLength::Weeks(count),
        _ => {
            return Err(ValidationError::new(
                "shift_length",
                "unit must be hours, days or weeks",
            ))
        }
    };
    if chosen.is_empty() && !existing {
        return Err(ValidationError::new(
            "participants",
            "Choose at least one person for the rotation.",
        ));
    }
    if chosen.iter().any(|p| !users.contains_key(p)) {
        return Err(ValidationError::new(
            "participants",
            "One of the people chosen cannot take shifts (unknown or deactivated); choose someone else.",
        ));
    }
    let restrictions = if form.restricted {
        let days: Vec<Weekday> = WEEKDAYS
            .iter()
            .zip(form.days)
            .filter(|(_, on)| *on)
            .map(|(d, _)| *d)
            .collect();
        if days.is_empty() {
            return Err(ValidationError::new(
                "days",
                "pick at least one day for the restricted hours",
            ));
        }
        let from: civil::Time = form
            .from
            .trim()
            .parse()
            .map_err(|_| ValidationError::new("from", "must be a time like 09:00"))?;
        let to: civil::Time = form
            .to
            .trim()
            .parse()
            .map_err(|_| ValidationError::new("to", "must be a time like 17:00"))?;
        vec![Restriction {
            days,
            start: from,
            end: to,
        }]
    } else {
        Vec::new()
    };
    let effective = match form.effective.trim() {
        "" => now,
        d => {
            let date: civil::Date = d
                .parse()
                .map_err(|_| ValidationError::new("effective", "must be a date like 2027-03-01"))?;
            date.to_zoned(tz.clone())
                .map_err(|_| ValidationError::new("effective", "is out of range"))?
                .timestamp()
        }
    };
    // Zone and length are checked by the domain; an empty roster is allowed here (see above).
    let probe = if chosen.is_empty() {
        vec!["nobody".to_string()]
    } else {
        chosen.clone()
    };
    let rotation = Rotation {
        time_zone: tz_name.clone(),
        start,
        shift,
        rosters: vec![RosterChange {
            effective_from: Timestamp::MIN,
            participants: probe,
        }],
    };
    rotation.validate()?;
    Ok(LayerChange {
        draft: LayerDraft {
            name,
            time_zone: tz_name,
            start,
            shift,
            restrictions,
        },
        participants: chosen,
        effective,
    })
}

/// Applies a change to an in-memory schedule: new layer on top, or an existing layer's settings
/// and its roster from `effective` on.
fn apply(schedule: &mut Schedule, layer_id: Option<&str>, change: &LayerChange) {
    let rotation_of = |rosters: Vec<RosterChange>| Rotation {
        time_zone: change.draft.time_zone.clone(),
        start: change.draft.start,
        shift: change.draft.shift,
        rosters,
    };
    match layer_id.and_then(|id| schedule.layers.iter_mut().find(|l| l.id == id)) {
        Some(layer) => {
            let mut rosters: Vec<RosterChange> = layer
                .rotation
                .rosters
                .iter()
                .filter(|r| r.effective_from < change.effective)
                .cloned()
                .collect();
            let in_effect = rosters.last().map(|r| r.participants.clone());
            if in_effect.as_ref() != Some(&change.participants) {
                rosters.push(RosterChange {
                    effective_from: change.effective,
                    participants: change.participants.clone(),
                });
            }
            layer.name = change.draft.name.clone();
            layer.restrictions = change.draft.restrictions.clone();
            layer.rotation = rotation_of(rosters);
        }
        None => schedule.layers.push(Layer {
            id: "new".into(),
            name: change.draft.name.clone(),
            rotation: rotation_of(vec![RosterChange {
                effective_from: Timestamp::MIN,
                participants: change.participants.clone(),
            }]),
            restrictions: change.draft.restrictions.clone(),
        }),
    }
}

fn preview_window(effective: Timestamp, now: Timestamp) -> Result<Window, ValidationError> {
    let from = now;
    // An effective date near the end of time (9999-12-15) must not overflow: the window is
    // capped at 360 days anyway.
    let to = effective
        .max(now)
        .checked_add(SignedDuration::from_hours(24 * GAP_HORIZON_DAYS))
        .unwrap_or(Timestamp::MAX);
    Window::new(from, to.min(now + SignedDuration::from_hours(24 * 360)))
}

/// A layer form post parsed, checked and expanded as `POST /schedules/{id}/layers` does it for
/// a schedule without other layers, with `users` as the known people and `now` as the clock:
/// the form-body fuzz target's way into the layer rules (no store, no session).
pub fn preview_layer_post(
    pairs: Vec<(String, String)>,
    users: &HashMap<String, String>,
    now: Timestamp,
) -> Result<Vec<app::domain::schedule::Shift>, ValidationError> {
    let change = validate_layer(&parse_layer_post(pairs).form, users, now, false)?;
    let window = preview_window(change.effective, now)?;
    let mut schedule = Schedule {
        time_zone: change.draft.time_zone.clone(),
        layers: Vec::new(),
        overrides: Vec::new(),
    };
    apply(&mut schedule, None, &change);
    Ok(expand(&schedule, &window))
}

fn layer_form(layer: &Layer, now: Timestamp, tz: &TimeZone) -> LayerForm {
    let current = layer
        .rotation
        .rosters
        .iter()
        .rev()
        .find(|r| r.effective_from <= now)
        .or(layer.rotation.rosters.first());
    let mut days = [false; 7];
    let (restricted, from, to) = match layer.restrictions.first() {
        Some(r) => {
            for d in &r.days {
                days[d.to_monday_zero_offset() as usize] = true;
            }
            (
                true,
                r.start.strftime("%H:%M").to_string(),
                r.end.strftime("%H:%M").to_string(),
            )
        }
        None => (false, "09:00".into(), "17:00".into()),
    };
    let (count, unit) = match layer.rotation.shift {
        ShiftLength::Hours(n) => (n, "hours"),
        ShiftLength::Days(n) => (n, "days"),
        ShiftLength::Weeks(n) => (n, "weeks"),
    };
    LayerForm {
        id: layer.id.clone(),
        name: layer.name.clone(),
        time_zone: layer.rotation.time_zone.clone(),
        start: layer.rotation.start.strftime("%Y-%m-%dT%H:%M").to_string(),
        shift_count: count.to_string(),
        shift_unit: unit.into(),
        restricted,
        days,
        from,
        to,
        participants: current.map(|r| r.participants.clone()).unwrap_or_default(),
        effective: now.to_zoned(tz.clone()).date().to_string(),
        planned: layer
            .rotation
            .rosters
            .iter()
            .filter(|r| r.effective_from > now)
            .map(|r| {
                format!(
                    "From {}: {} people",
                    label(r.effective_from, tz),
                    r.participants.len()
                )
            })
            .collect(),
    }
}

struct EditState {
    info: ScheduleInfo,
    schedule: Schedule,
    users: HashMap<String, String>,
    now: Timestamp,
}

async fn edit_state(state: &AppState, id: &str, window: &Window) -> Result<EditState, AppError> {
    let full = state
        .store
        .schedule_full(id, window.start, window.end)
        .await?;
    Ok(EditState {
        info: full.info,
        schedule: full.schedule,
        users: user_names(state).await?,
        now: state.clock.now(),
    })
}

#[expect(clippy::too_many_arguments, reason = "one page, many optional parts")]
fn render_edit(
    admin: &Admin,
    es: &EditState,
    tz: &TimeZone,
    replace: Option<(String, LayerForm)>,
    preview: Option<Preview>,
    error: Option<(String, FormError)>,
    notice: Option<String>,
    new_layer: Option<LayerForm>,
) -> Html<String> {
    let mut layers: Vec<LayerForm> = es
        .schedule
        .layers
        .iter()
        .map(|l| layer_form(l, es.now, tz))
        .collect();
    if let Some((id, form)) = replace.clone() {
        if let Some(slot) = layers.iter_mut().find(|l| l.id == id) {
            *slot = LayerForm { id, ..form };
        }
    }
    let new_layer = new_layer.unwrap_or_else(|| LayerForm {
        name: format!("Layer {}", layers.len() + 1),
        time_zone: es.info.time_zone.clone(),
        start: default_first_handoff(
            es.now,
            &TimeZone::get(&es.info.time_zone).unwrap_or(TimeZone::UTC),
        ),
        shift_count: "1".into(),
        shift_unit: "weeks".into(),
        from: "09:00".into(),
        to: "17:00".into(),
        days: [true, true, true, true, true, false, false],
        effective: es.now.to_zoned(tz.clone()).date().to_string(),
        ..Default::default()
    });
    let mut users: Vec<(String, String)> = es
        .users
        .iter()
        .map(|(a, b)| (a.clone(), b.clone()))
        .collect();
    users.sort_by(|a, b| a.1.cmp(&b.1));
    let v = admin.viewer();
    let id = es.info.id.clone();
    let name = es.info.name.clone();
    let draft = es.info.draft;
    let own_zone = admin.0.user.time_zone.clone();
    Html(render_document(
        &format!("Edit {name} · Firstline"),
        None,
        None,
        move || {
            view! {
                <EditSchedulePage viewer=v schedule_id=id schedule_name=name layers=layers new_layer=new_layer
                    users=users preview=preview error=error notice=notice draft=draft own_zone=own_zone/>
            }
        },
    ))
}

/// The latest 09:00 local that is not in the future: a new layer covers from now on.
fn default_first_handoff(now: Timestamp, tz: &TimeZone) -> String {
    let local = now.to_zoned(tz.clone());
    let today = local.date();
    let date = if local.time() >= civil::time(9, 0, 0, 0) {
        today
    } else {
        today.yesterday().unwrap_or(today)
    };
    format!("{date}T09:00")
}

/// Query of the edit page.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// `GET /schedules/{id}/edit`.
pub async fn edit(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let admin = editor(me)?;
    let now = state.clock.now();
    let es = edit_state(
        &state,
        &id,
        &Window::new(now, now + SignedDuration::from_hours(24))?,
    )
    .await?;
    let tz = TimeZone::get(&admin.0.user.time_zone).unwrap_or(TimeZone::UTC);
    let notice = match q.done.as_str() {
        "saved" => Some("Saved. The calendar and feeds show the change now.".to_string()),
        "deleted" => Some("Layer deleted.".to_string()),
        "published" => Some(
            "Published: everyone sees this schedule now, and policies can page it.".to_string(),
        ),
        _ => None,
    };
    Ok(render_edit(
        &admin, &es, &tz, None, None, None, notice, None,
    ))
}

async fn layer_post(
    state: AppState,
    admin: Admin,
    id: String,
    layer_id: Option<String>,
    pairs: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let mut post = parse_layer_post(pairs);
    admin.check_csrf(&post.csrf)?;
    let now = state.clock.now();
    let tz = TimeZone::get(&admin.0.user.time_zone).unwrap_or(TimeZone::UTC);
    // "Add person", "Remove", "Move up", "Move down": the same form again, people moved,
    // everything typed kept, nothing saved.
    if post.form.participants.len() <= 200 && edit_people(&mut post.form.participants, &post.intent)
    {
        let es = edit_state(
            &state,
            &id,
            &Window::new(now, now + SignedDuration::from_hours(24))?,
        )
        .await?;
        if let Some(l) = &layer_id {
            if !es.schedule.layers.iter().any(|x| &x.id == l) {
                return Err(AppError::NotFound);
            }
        }
        let (replace, new_layer) = match &layer_id {
            Some(l) => (Some((l.clone(), post.form)), None),
            None => (None, Some(post.form)),
        };
        return Ok(
            render_edit(&admin, &es, &tz, replace, None, None, None, new_layer).into_response(),
        );
    }
    // Only active people can join a rotation.
    let users = super::schedules::active_user_names(&state).await?;
    let form_key = layer_id.clone().unwrap_or_else(|| "new".into());
    let change = match validate_layer(&post.form, &users, now, layer_id.is_some()) {
        Ok(c) => c,
        Err(e) => {
            let es = edit_state(
                &state,
                &id,
                &Window::new(now, now + SignedDuration::from_hours(24))?,
            )
            .await?;
            let (replace, new_layer) = match &layer_id {
                Some(l) => (Some((l.clone(), post.form)), None),
                None => (None, Some(post.form)),
            };
            let page = render_edit(
                &admin,
                &es,
                &tz,
                replace,
                None,
                Some((form_key, form_error(&e))),
                None,
                new_layer,
            );
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    let window = preview_window(change.effective, now)?;
    let mut es = edit_state(&state, &id, &window).await?;
    if let Some(l) = &layer_id {
        if !es.schedule.layers.iter().any(|x| &x.id == l) {
            return Err(AppError::NotFound);
        }
    }
    let mut proposed = es.schedule.clone();
    apply(&mut proposed, layer_id.as_deref(), &change);
    let shifts = expand(&proposed, &window);
    let gaps: Vec<String> = coverage(&shifts)
        .gaps
        .iter()
        .map(|g| {
            format!(
                "{} → {} ({} h)",
                label(g.start, &tz),
                label(g.end, &tz),
                (g.end.as_millisecond() - g.start.as_millisecond()) / 3_600_000
            )
        })
        .collect();
    let save = match post.intent.as_str() {
        "confirm" => true,
        "save" => gaps.is_empty(),
        _ => false,
    };
    if !save {
        let info = es.info.clone();
        let views: Vec<ShiftView> = shifts
            .iter()
            .filter(|s| {
                s.start < now + SignedDuration::from_hours(24 * GAP_HORIZON_DAYS)
                    || s.user.is_none()
            })
            .map(|s| ShiftView {
                schedule_id: info.id.clone(),
                schedule_name: info.name.clone(),
                user_id: s.user.clone(),
                user_name: s
                    .user
                    .as_ref()
                    .map(|u| users.get(u).cloned().unwrap_or_default())
                    .unwrap_or_else(|| "Nobody".into()),
                start_ms: s.start.as_millisecond(),
                end_ms: s.end.as_millisecond(),
                start_label: label(s.start, &tz),
                end_label: label(s.end, &tz),
                source: if s.user.is_none() { "gap" } else { "layer" },
                mine: false,
            })
            .collect();
        let needs_confirmation = post.intent == "save";
        let preview = Preview {
            layer_id: form_key,
            shifts: views,
            gaps,
            needs_confirmation,
        };
        es.now = now;
        let (replace, new_layer) = match &layer_id {
            Some(l) => (Some((l.clone(), post.form)), None),
            None => (None, Some(post.form)),
        };
        let status = if needs_confirmation {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        return Ok((
            status,
            render_edit(
                &admin,
                &es,
                &tz,
                replace,
                Some(preview),
                None,
                None,
                new_layer,
            ),
        )
            .into_response());
    }
    let stamp = state.clock.now_ms();
    match &layer_id {
        Some(l) => {
            state.store.update_layer(l, &change.draft, stamp).await?;
            let layer = es.schedule.layers.iter().find(|x| &x.id == l);
            let in_effect = layer.and_then(|x| {
                x.rotation
                    .rosters
                    .iter()
                    .rev()
                    .find(|r| r.effective_from <= change.effective)
            });
            let planned_later = layer.is_some_and(|x| {
                x.rotation
                    .rosters
                    .iter()
                    .any(|r| r.effective_from > change.effective)
            });
            if in_effect.map(|r| &r.participants) != Some(&change.participants) || planned_later {
                state
                    .store
                    .set_roster(l, change.effective, &change.participants, stamp)
                    .await?;
            }
        }
        None => {
            state
                .store
                .create_layer(&id, &change.draft, &change.participants, stamp)
                .await?;
        }
    }
    tracing::info!(schedule = %id, by = %admin.0.user.email, gaps = gaps.len(), "schedule layer saved");
    Ok(Redirect::to(&format!("/schedules/{id}/edit?done=saved")).into_response())
}

/// `POST /schedules/{id}/layers`: add a layer (preview, save, or save anyway).
pub async fn add_layer(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(pairs): ValidForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let admin = editor(me)?;
    state.store.schedule_info(&id).await?;
    layer_post(state, admin, id, None, pairs).await
}

/// `POST /schedules/{id}/layers/{layer}`: change a layer and its people.
pub async fn update_layer(
    State(state): State<AppState>,
    Member(me): Member,
    Path((id, layer)): Path<(String, String)>,
    ValidForm(pairs): ValidForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let admin = editor(me)?;
    layer_post(state, admin, id, Some(layer), pairs).await
}

/// `POST /schedules/{id}/publish`: a draft with at least one layer becomes visible to everyone,
/// warned about when it has gaps, and can be paged.
pub async fn publish(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<CsrfForm>,
) -> Result<Response, AppError> {
    let admin = editor(me)?;
    admin.check_csrf(&form.csrf)?;
    let now = state.clock.now();
    let full = state
        .store
        .schedule_full(&id, now, now + SignedDuration::from_hours(1))
        .await?;
    let has_people = full.schedule.layers.iter().any(|l| {
        l.rotation
            .rosters
            .iter()
            .any(|r| !r.participants.is_empty())
    });
    if !has_people {
        return Err(AppError::Conflict(ValidationError::new(
            "layers",
            "Add a layer with at least one person before publishing this schedule.",
        )));
    }
    state
        .store
        .publish_schedule(&id, state.clock.now_ms())
        .await?;
    tracing::info!(schedule = %id, by = %admin.0.user.email, "schedule published");
    Ok(Redirect::to(&format!("/schedules/{id}/edit?done=published")).into_response())
}

/// Form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /schedules/{id}/layers/{layer}/delete`.
pub async fn delete_layer(
    State(state): State<AppState>,
    Member(me): Member,
    Path((id, layer)): Path<(String, String)>,
    ValidForm(form): ValidForm<CsrfForm>,
) -> Result<Response, AppError> {
    let admin = editor(me)?;
    admin.check_csrf(&form.csrf)?;
    if state.store.layer_schedule_id(&layer).await? != id {
        return Err(AppError::NotFound);
    }
    state.store.delete_layer(&layer).await?;
    Ok(Redirect::to(&format!("/schedules/{id}/edit?done=deleted")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer_post(effective: &str) -> Vec<(String, String)> {
        [
            ("name", "Primary"),
            ("time_zone", "UTC"),
            ("start", "2026-11-23T09:00"),
            ("shift_count", "1"),
            ("shift_unit", "weeks"),
            ("participant", "u1"),
            ("effective", effective),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Found by the form_body fuzz target's layer path: an effective date within 28 days of
    /// jiff's last instant made the preview window's end overflow, and the handler panicked.
    #[test]
    fn far_future_effective_date_previews_without_panicking() {
        let users = HashMap::from([("u1".to_string(), "Ada".to_string())]);
        let now: Timestamp = "2026-11-24T00:00:00Z".parse().unwrap();
        for effective in ["9999-12-15", "9999-12-30", "2027-03-01", ""] {
            let shifts = preview_layer_post(layer_post(effective), &users, now)
                .unwrap_or_else(|e| panic!("{effective:?}: {e}"));
            assert!(!shifts.is_empty(), "{effective:?}");
            let horizon = now + SignedDuration::from_hours(24 * 360);
            assert!(shifts.iter().all(|s| s.start < horizon), "{effective:?}");
        }
        let err = preview_layer_post(layer_post("9999-13-01"), &users, now).unwrap_err();
        assert_eq!(err.field, "effective");
    }
}
