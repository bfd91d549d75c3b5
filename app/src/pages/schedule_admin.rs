//! Admin pages for schedules: create a schedule, edit its layers (rotation, hand-off, shift
//! length, restriction window) and people, with a preview of the next weeks and a confirmation
//! when a change would leave a gap.

use leptos::prelude::*;

use super::fields::{FieldNote, FormError, ZoneInput, ZoneList};
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
    /// Participants in order (user ids; an empty one is a slot not chosen yet).
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

/// `/schedules/new`: a new schedule starts as a draft.
#[component]
pub fn NewSchedulePage(
    viewer: Viewer,
    name: String,
    time_zone: String,
    /// The refused field and its sentence.
    error: Option<FormError>,
    /// The viewer's own zone, first in the list.
    own_zone: String,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let own = own_zone;
    let err_name = FormError::for_field(&error, "name");
    let err_tz = FormError::for_field(&error, "time_zone");
    let invalid_name = err_name.as_ref().map(|_| "true");
    view! {
        <Shell viewer=viewer nav=Nav::Schedules>
            <h1 class="page-title">"New schedule"</h1>
            <p class="muted">"It stays a draft, seen only by admins, until you add a layer and publish it."</p>
            {error.is_some().then(|| view! { <p class="alert" role="alert">"Not created yet: see the marked field below."</p> })}
            <section class="card">
                <form method="post" action="/schedules" class="stack">
                    <input type="hidden" name="csrf" value=csrf/>
                    <label for="name">"Name"</label>
                    <input id="name" name="name" value=name maxlength="100" required aria-invalid=invalid_name aria-describedby="name-error"/>
                    <FieldNote id="name-error".to_string() error=err_name/>
                    <ZoneInput id="time_zone".to_string() label="Time zone".to_string() value=time_zone error=err_tz/>
                    <ZoneList own=own/>
                    <button type="submit" class="button primary">"Create draft schedule"</button>
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
    /// The refused form ("new" or a layer id) and its error.
    error: Option<(String, FormError)>,
    notice: Option<String>,
    /// Not published yet.
    #[prop(optional)]
    draft: bool,
    /// The viewer's own zone, first in the zone list.
    #[prop(optional)]
    own_zone: String,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let count = layers.len();
    let error_for = move |key: &str| error.clone().filter(|(k, _)| k == key).map(|(_, e)| e);
    let new_error = error_for("new");
    let new_preview = preview.clone().filter(|p| p.layer_id == "new");
    let new_confirm = new_preview.as_ref().is_some_and(|p| p.needs_confirmation);
    view! {
        <Shell viewer=viewer nav=Nav::Schedules>
            <p><a href=format!("/schedules/{schedule_id}")>{format!("← {schedule_name}")}</a></p>
            <h1 class="page-title">{format!("Edit {schedule_name}")}</h1>
            <p class="muted">"Layers stack: a higher layer wins where several have someone. Preview shows the next 4 weeks before you save."</p>
            {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
            {draft.then(|| view! {
                <section class="card draft-panel" aria-labelledby="h-draft">
                    <h2 id="h-draft"><span class="tag draft-tag">"Draft"</span>" Only admins see this schedule"</h2>
                    {if count == 0 {
                        view! { <p>"Add a layer with at least one person below; then publish it so it shows on everyone's dashboard and can be paged."</p> }.into_any()
                    } else {
                        view! {
                            <p>"When the layers look right, publish it: it then shows on everyone's dashboard, its gaps are warned about, and escalation policies can page it."</p>
                            <form method="post" action=format!("/schedules/{schedule_id}/publish")>
                                <input type="hidden" name="csrf" value=csrf.clone()/>
                                <button type="submit" class="button primary">"Publish schedule"</button>
                            </form>
                        }.into_any()
                    }}
                </section>
            })}
            <ZoneList own=own_zone/>
            {layers.into_iter().enumerate().rev().map(|(i, l)| {
                let title = format!("Layer {} of {count}: {}", i + 1, l.name);
                let p = preview.clone().filter(|p| p.layer_id == l.id);
                let confirm = p.as_ref().is_some_and(|p| p.needs_confirmation);
                let aria = title.clone();
                let err = error_for(&l.id);
                view! {
                    <section class="card layer" aria-label=aria>
                        <h2>{title}</h2>
                        <LayerFields schedule_id=schedule_id.clone() csrf=csrf.clone() form=l.clone() users=users.clone() confirm=confirm error=err/>
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
                <LayerFields schedule_id=schedule_id.clone() csrf=csrf.clone() form=new_layer users=users confirm=new_confirm error=new_error/>
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
    /// This form's refused field.
    error: Option<FormError>,
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
    let err = |f: &str| FormError::for_field(&error, f);
    let invalid = |f: &str| err(f).map(|_| "true");
    let people: Vec<String> = if form.participants.is_empty() {
        vec![String::new()]
    } else {
        form.participants.clone()
    };
    let last = people.len() - 1;
    let unit = form.shift_unit.clone();
    let summary = error.as_ref().map(|_| view! { <p class="alert" role="alert">"Not saved: see the marked field below. Everything you typed is kept."</p> });
    view! {
        {summary}
        <form method="post" action=action class="stack layer-form">
            // Enter in a field previews (the first submit button is the form's default).
            <button type="submit" name="intent" value="preview" class="visually-hidden" tabindex="-1" aria-hidden="true">"Preview"</button>
            <input type="hidden" name="csrf" value=csrf/>
            <label for=id("name")>"Layer name"</label>
            <input id=id("name") name="name" value=form.name maxlength="100" aria-invalid=invalid("name") aria-describedby=id("name-error")/>
            <FieldNote id=id("name-error") error=err("name")/>
            <ZoneInput id=id("tz") label="Time zone of hand-offs and hours".to_string() value=form.time_zone error=err("time_zone")/>
            <label for=id("start")>"First hand-off (local time)"</label>
            <input id=id("start") name="start" type="datetime-local" value=form.start aria-invalid=invalid("start") aria-describedby=id("start-error")/>
            <FieldNote id=id("start-error") error=err("start")/>
            <fieldset class="inline-fields">
                <legend>"Each shift lasts"</legend>
                <label for=id("count") class="visually-hidden">"Shift length"</label>
                <input id=id("count") name="shift_count" inputmode="numeric" value=form.shift_count size="3" aria-invalid=invalid("shift_length") aria-describedby=id("shift-error")/>
                <label for=id("unit") class="visually-hidden">"Shift length unit"</label>
                <select id=id("unit") name="shift_unit">
                    {["hours", "days", "weeks"].into_iter().map(|u| view! { <option value=u selected=unit == u>{u}</option> }).collect_view()}
                </select>
            </fieldset>
            <FieldNote id=id("shift-error") error=err("shift_length")/>
            <fieldset class="people">
                <legend>"People, in rotation order"</legend>
                <ol class="people-list">
                {people.into_iter().enumerate().map(|(i, current)| {
                    let sid = id(&format!("p{i}"));
                    let n = i + 1;
                    view! {
                        <li class="person-row">
                            <label for=sid.clone() class="visually-hidden">{format!("Person {n}")}</label>
                            <select id=sid name="participant" aria-invalid=invalid("participants")>
                                <option value="">{format!("{n}. (choose someone)")}</option>
                                {users.iter().map(|(uid, name)| view! {
                                    <option value=uid.clone() selected=*uid == current>{format!("{n}. {name}")}</option>
                                }).collect_view()}
                            </select>
                            <span class="row person-actions">
                                {(i > 0).then(|| view! { <button type="submit" name="intent" value=format!("up-{i}") class="button" aria-label=format!("Move person {n} up")>"Move up"</button> })}
                                {(i < last).then(|| view! { <button type="submit" name="intent" value=format!("down-{i}") class="button" aria-label=format!("Move person {n} down")>"Move down"</button> })}
                                <button type="submit" name="intent" value=format!("remove-{i}") class="button" aria-label=format!("Remove person {n}")>"Remove"</button>
                            </span>
                        </li>
                    }
                }).collect_view()}
                </ol>
                <FieldNote id=id("people-error") error=err("participants")/>
                <button type="submit" name="intent" value="add" class="button">"Add person"</button>
                <p class="muted small">"Adding, removing and moving people changes only this form; nothing is saved until you press Save."</p>
                <label for=id("eff")>"People change from (date; earlier shifts keep who they had)"</label>
                <input id=id("eff") name="effective" type="date" value=form.effective aria-invalid=invalid("effective") aria-describedby=id("eff-error")/>
                <FieldNote id=id("eff-error") error=err("effective")/>
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
                <FieldNote id=id("days-error") error=err("days")/>
                <div class="inline-fields">
                    <label for=id("from")>"From"</label>
                    <input id=id("from") name="from" type="time" value=form.from aria-invalid=invalid("from")/>
                    <label for=id("to")>"to"</label>
                    <input id=id("to") name="to" type="time" value=form.to aria-invalid=invalid("to")/>
                </div>
                <FieldNote id=id("hours-error") error=err("from").or(err("to"))/>
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

/// Moves the people of a layer form as a "Add person", "Remove", "Move up" or "Move down"
/// button asks (`add`, `remove-2`, `up-1`, `down-0`); `false` when `intent` is none of these
/// (preview, save) or names no row.
pub fn edit_people(people: &mut Vec<String>, intent: &str) -> bool {
    if intent == "add" {
        people.push(String::new());
        return true;
    }
    let Some((verb, index)) = intent.split_once('-') else {
        return false;
    };
    let Ok(i) = index.parse::<usize>() else {
        return false;
    };
    if i >= people.len() {
        return false;
    }
    match verb {
        "remove" => {
            people.remove(i);
        }
        "up" if i > 0 => people.swap(i - 1, i),
        "down" if i + 1 < people.len() => people.swap(i, i + 1),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::edit_people;

    #[test]
    fn people_buttons() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let cases: [(&[&str], &str, bool, &[&str]); 9] = [
            (&["a", "b"], "add", true, &["a", "b", ""]),
            (&["a", "b", "c"], "remove-1", true, &["a", "c"]),
            (&["a", "b", "c"], "up-2", true, &["a", "c", "b"]),
            (&["a", "b", "c"], "down-0", true, &["b", "a", "c"]),
            (&["a", "b"], "up-0", false, &["a", "b"]),
            (&["a", "b"], "down-1", false, &["a", "b"]),
            (&["a"], "remove-5", false, &["a"]),
            (&["a"], "save", false, &["a"]),
            (&["a"], "remove-x", false, &["a"]),
        ];
        for (before, intent, changed, after) in cases {
            let mut p = v(before);
            assert_eq!(edit_people(&mut p, intent), changed, "{intent}");
            assert_eq!(p, v(after), "{intent}");
        }
    }
}
