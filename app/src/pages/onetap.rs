//! The one-tap link's pages: a phone-sized confirmation with one big button (a plain form POST,
//! so it works without JavaScript and link scanners that only fetch never act), and the answer
//! after the tap. Nobody needs to be logged in: the signed link is the credential.

use leptos::prelude::*;

use super::{Nav, Shell, Viewer};

/// The incident a link is about, as its pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkIncident {
    /// "#12 5xx above 5%".
    pub heading: String,
    /// The service, if any.
    pub service: Option<String>,
    /// `triggered`, `acknowledged` or `resolved` (the tag's style).
    pub state: String,
    /// The state's word.
    pub state_label: String,
    /// "Triggered since Mon 30 Nov, 03:10 CET (Europe/Berlin)".
    pub state_line: String,
    /// The incident's page.
    pub url: String,
}

/// One page of a one-tap link.
#[component]
pub fn OneTapPage(
    /// The headline: the question, or what happened.
    title: String,
    /// Sentences under it.
    lines: Vec<String>,
    /// The incident, when the link names a known one.
    incident: Option<LinkIncident>,
    /// The button's label; the form posts to `action`.
    button: Option<String>,
    /// Where the button posts (the link itself).
    action: String,
    /// The status code of a refusal (409, 410, 400...), shown small; `None` otherwise.
    code: Option<u16>,
) -> impl IntoView {
    let refused = code.is_some();
    view! {
        <Shell viewer=Viewer::default() nav=Nav::Other>
            <section class="card narrow onetap">
                {code.map(|c| view! { <p class="muted">{format!("Error {c}")}</p> })}
                <h1>{title}</h1>
                {lines.into_iter().map(|l| view! { <p>{l}</p> }).collect_view()}
                {incident.map(|i| view! {
                    <div class=format!("oncall-head state-{}", i.state)>
                        <p>
                            <span class=format!("tag state-{}", i.state)>{i.state_label}</span>
                            " "<strong>{i.heading}</strong>
                        </p>
                        {i.service.map(|s| view! { <p class="muted">{format!("Service: {s}")}</p> })}
                        <p>{i.state_line}</p>
                        <p><a href=i.url>"Open the incident"</a>" (log in first if asked)"</p>
                    </div>
                })}
                {button.map(|label| view! {
                    <form method="post" action=action class="big-action">
                        <button type="submit" class="button primary big">{label}</button>
                    </form>
                })}
                {refused.then(|| view! {
                    <p><a class="button" href="/login?next=/oncall">"Log in"</a>" "<a href="/oncall">"On-call incidents"</a></p>
                })}
            </section>
        </Shell>
    }
}
