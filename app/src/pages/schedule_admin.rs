//! Admin pages for schedules: create a schedule, edit its layers (rotation, hand-off, shift
//! length, restriction window) and people, with a preview of the next weeks and a confirmation
//! when a change would leave a gap.

use leptos::prelude::*;

use super::schedule::ShiftView;
use super::{Nav, Shell, Viewer};

/// A layer's form values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerForm {
    /// Layer id (empty for a new layer).
    pub id: String,
    /// Name.
    pub name: String,
    /// IANA zone.
    pub time_zone: String,
    /// First hand-off, `YYYY-MM-DDTHH:MM`.
    pub start: String,
    /// Shift length number.
    pub shift_count: String,
    /// hours, days or weeks.
    pub shift_unit: String,
    /// Restricted to a weekly window.
    pub restricted: bool,
    /// Mon..Sun ticked.
    pub days: [bool; 7],
    /// Window start `HH:MM`.
    pub from: String,
    /// Window end `HH:MM`.
    pub to: String,
    /// Participants in order (user ids).
    pub participants: Vec<String>,
    /// Roster change takes effect on this date (`YYYY-MM-DD`).
    pub effective: String,
    /// Planned roster changes, as sentences.
    pub planned: Vec<String>,
}

/// The result of "preview" or of a save that needs confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Which layer form it belongs to ("new" for the add form).
    pub layer_id: String,
    /// The next weeks under the proposed change.
    pub shifts: Vec<ShiftView>,
    /// Gap sentences.
    pub gaps: Vec<String>,
    /// True when this is a save that was stopped for confirmation.
    pub needs_confirmation: bool,
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// `/schedules/new`.
#[component]
pub fn NewSchedulePage(
    viewer: Viewer,
    name: String,
    time_zone: String,
    error: Option<String>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    view! {
        <Shell viewer=viewer nav=Nav::Schedules>
            <h1 class="page-title">"New schedule"</h1>
            {error.map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            <section class="card">
                <form method="post" action="/schedules" class="stack">
                    <input type="hidden" name="csrf" value=csrf/>
                    <label for="name">"Name"</label>
                    <input id="name" name="name" value=name maxlength="100" required/>
                    <label for="time_zone">"Time zone (IANA, e.g. Europe/Berlin)"</label>
                    <input id="time_zone" name="time_zone" value=time_zone maxlength="64" required/>
                    <button type="submit" class="button primary">"Create schedule"</button>
                </form>
            </section>
        </Shell>
    }
}

/// `/schedules/{id}/edit`.
#[component]
pub fn EditSchedulePage(
    viewer: Viewer,
    schedule_id: String,
    schedule_name: String,
    /// Layers, lowest first.
    layers: Vec<LayerForm>,
    /// The add-layer form.
    new_layer: LayerForm,
    /// All users: (id, name).
    users: Vec<(String, String)>,
    preview: Option<Preview>,
    error: Option<String>,
    notice: Option<String>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let count = layers.len();
    let new_preview = preview.clone().filter(|p| p.layer_id == "new");
    let new_confirm = new_preview.as_ref().is_some_and(|p| p.needs_confirmation);
    view! {
        <Shell viewer=viewer nav=Nav::Schedules>
            <p><a href=format!("/schedules/{schedule_id}")>{format!("← {schedule_name}")}</a></p>
            <h1 class="page-title">{format!("Edit {schedule_name}")}</h1>
            <p class="muted">"Layers stack: a higher layer wins where several have someone. Preview shows the next 4 weeks before you save."</p>
            {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
            {error.map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            {layers.into_iter().enumerate().rev().map(|(i, l)| {
                let title = format!("Layer {} of {count}: {}", i + 1, l.name);
                let p = preview.clone().filter(|p| p.layer_id == l.id);
                let confirm = p.as_ref().is_some_and(|p| p.needs_confirmation);
                let aria = title.clone();
                view! {
                    <section class="card layer" aria-label=aria>
                        <h2>{title}</h2>
                        <LayerFields schedule_id=schedule_id.clone() csrf=csrf.clone() form=l.clone() users=users.clone() confirm=confirm/>
                        {p.map(|p| view! { <PreviewBox preview=p/> })}
                        <form method="post" action=format!("/schedules/{schedule_id}/layers/{}/delete", l.id)>
                            <input type="hidden" name="csrf" value=csrf.clone()/>
                            <button type="submit" class="button danger">"Delete layer"</button>
                        </form>
                    </section>
                }
            }).collect_view()}
            <section class="card layer">
                <h2>"Add a layer"</h2>
                <LayerFields schedule_id=schedule_id.clone() csrf=csrf.clone() form=new_layer users=users confirm=new_confirm/>
                {new_preview.map(|p| view! { <PreviewBox preview=p/> })}
            </section>
        </Shell>
    }
}

#[component]
fn PreviewBox(preview: Preview) -> impl IntoView {
    view! {
        <div class="preview" role="region" aria-label="Preview">
            {if preview.gaps.is_empty() {
                view! { <p class="notice">"No gaps in the next 4 weeks."</p> }.into_any()
            } else {
                view! {
                    <div class="gap-banner" role="alert">
                        <strong>{if preview.needs_confirmation { "Not saved: this change leaves nobody on call:" } else { "This change leaves nobody on call:" }}</strong>
                        <ul>{preview.gaps.into_iter().map(|g| view! { <li>{g}</li> }).collect_view()}</ul>
                        {preview.needs_confirmation.then(|| view! { <p>"Fix it, or save anyway with the “Save anyway” button below the form."</p> })}
                    </div>
                }.into_any()
            }}
            <h3>"Next 4 weeks"</h3>
            <ul class="preview-list">
                {preview.shifts.into_iter().map(|s| view! {
                    <li class=format!("source-{}", s.source)>{format!("{} → {}: {}", s.start_label, s.end_label, s.user_name)}</li>
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn LayerFields(
    schedule_id: String,
    csrf: String,
    form: LayerForm,
    users: Vec<(String, String)>,
    /// Offer "Save anyway" (after a save was stopped by a gap).
    confirm: bool,
) -> impl IntoView {
    let key = if form.id.is_empty() {
        "new".to_string()
    } else {
        form.id.clone()
    };
    let action = if form.id.is_empty() {
        format!("/schedules/{schedule_id}/layers")
    } else {
        format!("/schedules/{schedule_id}/layers/{}", form.id)
    };
    let id = move |f: &str| format!("{key}-{f}");
    let slots = form.participants.len() + 2;
    let unit = form.shift_unit.clone();
    view! {
        <form method="post" action=action class="stack layer-form">
            <input type="hidden" name="csrf" value=csrf/>
            <label for=id("name")>"Layer name"</label>
            <input id=id("name") name="name" value=form.name maxlength="100"/>
            <label for=id("tz")>"Time zone of hand-offs and hours"</label>
            <input id=id("tz") name="time_zone" value=form.time_zone maxlength="64"/>
            <label for=id("start")>"First hand-off (local time)"</label>
            <input id=id("start") name="start" type="datetime-local" value=form.start/>
            <fieldset class="inline-fields">
                <legend>"Each shift lasts"</legend>
                <label for=id("count") class="visually-hidden">"Shift length"</label>
                <input id=id("count") name="shift_count" inputmode="numeric" value=form.shift_count size="3"/>
                <label for=id("unit") class="visually-hidden">"Shift length unit"</label>
                <select id=id("unit") name="shift_unit">
                    {["hours", "days", "weeks"].into_iter().map(|u| view! { <option value=u selected=unit == u>{u}</option> }).collect_view()}
                </select>
            </fieldset>
            <fieldset>
                <legend>"People, in rotation order"</legend>
                {(0..slots).map(|i| {
                    let current = form.participants.get(i).cloned().unwrap_or_default();
                    let sid = id(&format!("p{i}"));
                    view! {
                        <label for=sid.clone() class="visually-hidden">{format!("Person {}", i + 1)}</label>
                        <select id=sid name="participant">
                            <option value="">{format!("{}. (nobody)", i + 1)}</option>
                            {users.iter().map(|(uid, name)| view! {
                                <option value=uid.clone() selected=*uid == current>{format!("{}. {name}", i + 1)}</option>
                            }).collect_view()}
                        </select>
                    }
                }).collect_view()}
                <label for=id("eff")>"People change from (date; earlier shifts keep who they had)"</label>
                <input id=id("eff") name="effective" type="date" value=form.effective/>
                {(!form.planned.is_empty()).then(|| view! {
                    <ul class="small muted">{form.planned.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                })}
            </fieldset>
            <fieldset>
                <legend>"Hours"</legend>
                <label class="check"><input type="checkbox" name="restricted" value="1" checked=form.restricted/>" Only on these days and hours"</label>
                <div class="days">
                    {DAY_NAMES.into_iter().enumerate().map(|(i, d)| view! {
                        <label class="check"><input type="checkbox" name="day" value=i.to_string() checked=form.days[i]/>{format!(" {d}")}</label>
                    }).collect_view()}
                </div>
                <div class="inline-fields">
                    <label for=id("from")>"From"</label>
                    <input id=id("from") name="from" type="time" value=form.from/>
                    <label for=id("to")>"to"</label>
                    <input id=id("to") name="to" type="time" value=form.to/>
                </div>
            </fieldset>
            <div class="row">
                <button type="submit" name="intent" value="preview" class="button">"Preview"</button>
                <button type="submit" name="intent" value="save" class="button primary">"Save"</button>
                {confirm.then(|| view! {
                    <button type="submit" name="intent" value="confirm" class="button danger">"Save anyway"</button>
                })}
            </div>
        </form>
    }
}
