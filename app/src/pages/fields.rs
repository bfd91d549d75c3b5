//! Form pieces shared by the on-call forms: a plain sentence for a refused field (shown next to
//! it, never the raw field name), and the searchable time zone field (an `<input list>` over a
//! `<datalist>` of IANA names, the person's own zone first; works without JavaScript).

use leptos::prelude::*;

use crate::domain::ValidationError;

/// `message` ("must not be empty") as a sentence about the field the person sees as `label`
/// ("Name must not be empty."); a message that is already a sentence (starts with a capital or
/// a quote) is kept as it is, and one that does not read on from a label ("choose a role") is
/// capitalised.
pub fn sentence(label: &str, message: &str) -> String {
    let m = message.trim();
    let starts_sentence = m
        .chars()
        .next()
        .is_some_and(|c| c.is_uppercase() || c == '“' || c == '"');
    // "must not be empty" reads on from the label; "choose a role" is a sentence of its own.
    let first = m.split_whitespace().next().unwrap_or_default();
    let predicate = [
        "must", "is", "are", "has", "have", "points", "should", "can", "cannot", "does", "do",
        "matches", "needs", "was", "may", "reaches", "names", "contains",
    ]
    .contains(&first);
    let mut out = if starts_sentence {
        m.to_string()
    } else if predicate {
        format!("{label} {m}")
    } else {
        let mut c = m.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    };
    if !out.ends_with(['.', '?', '!']) {
        out.push('.');
    }
    out
}

/// A refused form's error, held for the field it is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormError {
    /// The form field (`time_zone`, `name`, ...); empty for the form as a whole.
    pub field: String,
    /// The plain sentence to show.
    pub text: String,
}

impl FormError {
    /// The error of `e`, worded with the field's on-screen `label`.
    pub fn of(e: &ValidationError, label: &str) -> Self {
        FormError {
            field: e.field.clone(),
            text: sentence(label, &e.message),
        }
    }

    /// The sentence when it is about `field`.
    pub fn for_field(error: &Option<FormError>, field: &str) -> Option<String> {
        error
            .as_ref()
            .filter(|e| e.field == field)
            .map(|e| e.text.clone())
    }
}

/// The error line under a field (empty, and hidden, when there is none).
#[component]
pub fn FieldNote(id: String, error: Option<String>) -> impl IntoView {
    let role = error.as_ref().map(|_| "alert");
    view! { <p id=id class="field-error" role=role>{error}</p> }
}

/// The IANA zone names of the server's time zone database, `own` first.
pub fn zone_choices(own: &str) -> Vec<String> {
    crate::domain::zones::ordered(own, jiff::tz::db().available().map(|n| n.to_string()))
}

/// The sentence for a zone that is not one, with a suggestion from the database.
pub fn unknown_zone(input: &str) -> String {
    let suggestion =
        crate::domain::zones::suggest(input, jiff::tz::db().available().map(|n| n.to_string()));
    crate::domain::zones::unknown_zone_sentence(input, suggestion.as_deref())
}

/// The `<datalist id="zones">` every [`ZoneInput`] of a page points at: render it once per page.
#[component]
pub fn ZoneList(
    /// The viewer's own zone, offered first.
    own: String,
) -> impl IntoView {
    view! {
        <datalist id="zones">
            {zone_choices(&own).into_iter().map(|z| view! { <option value=z></option> }).collect_view()}
        </datalist>
    }
}

/// A time zone field: type to search the list, or pick; the error sentence underneath.
#[component]
pub fn ZoneInput(
    /// The input's id (its label's `for`).
    id: String,
    /// What the label says.
    label: String,
    /// The current value.
    value: String,
    /// The sentence when the value was refused.
    error: Option<String>,
) -> impl IntoView {
    let err_id = format!("{id}-error");
    let invalid = error.as_ref().map(|_| "true");
    view! {
        <label for=id.clone()>{label}</label>
        <input id=id name="time_zone" list="zones" value=value maxlength="64" autocomplete="off"
            spellcheck="false" placeholder="Type a city, e.g. Berlin" aria-invalid=invalid
            aria-describedby=err_id.clone()/>
        <FieldNote id=err_id error=error/>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences() {
        let cases = [
            ("Name", "must not be empty", "Name must not be empty."),
            ("Layer name", "must be at most 100 characters", "Layer name must be at most 100 characters."),
            ("Time zone", "“Berlin” is not a time zone name. Did you mean Europe/Berlin? Choose it from the list.",
                "“Berlin” is not a time zone name. Did you mean Europe/Berlin? Choose it from the list."),
            ("People", "A rotation needs at least one person", "A rotation needs at least one person."),
        ];
        for (label, message, want) in cases {
            assert_eq!(sentence(label, message), want);
        }
    }
}

/// How a form field is named on screen when a page has no better label for it.
fn default_label(field: &str) -> String {
    match super::status_admin::field_words(field) {
        "This value" => {}
        words => return words.to_string(),
    }
    match field {
        "contact_id" => "Method".to_string(),
        "ack_timeout_min" => "The acknowledgement timeout".to_string(),
        "auto_resolve_min" => "The automatic resolve time".to_string(),
        "delay_min" => "Delay".to_string(),
        "from" => "The date".to_string(),
        "flavor" => "Chat service".to_string(),
        "" => "This".to_string(),
        f => {
            let words = f.replace('_', " ");
            let mut c = words.chars();
            c.next()
                .map(|first| first.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

/// `e` as a plain sentence for a page ("Email must not be empty."), never "email: ...".
pub fn plain(e: &ValidationError) -> String {
    sentence(&default_label(&e.field), &e.message)
}

#[cfg(test)]
mod plain_tests {
    use super::*;

    #[test]
    fn errors_read_as_sentences_without_raw_field_names() {
        let cases = [
            (
                "email",
                "must not be empty",
                "The address must not be empty.",
            ),
            (
                "role",
                "must be one of admin, responder, viewer",
                "Role must be one of admin, responder, viewer.",
            ),
            (
                "url",
                "points at this Firstline server",
                "The URL points at this Firstline server.",
            ),
            (
                "time_zone",
                "Unknown zone “Berlin”.",
                "Unknown zone “Berlin”.",
            ),
            (
                "password_again",
                "does not match",
                "Password again does not match.",
            ),
            ("delay_min", "must be 0 to 60", "Delay must be 0 to 60."),
            (
                "name",
                "another team already has this name",
                "Another team already has this name.",
            ),
            ("role", "choose a role", "Choose a role."),
            (
                "url",
                "reaches 10.0.0.1, a private address",
                "The URL reaches 10.0.0.1, a private address.",
            ),
        ];
        for (field, message, want) in cases {
            assert_eq!(
                plain(&ValidationError::new(field, message)),
                want,
                "{field}"
            );
        }
    }
}
