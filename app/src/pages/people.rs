//! People and teams pages: the people list with invitations (`/admin/people`), the confirm
//! step of a deactivation, joining through an invitation link, and teams (`/admin/teams`).

use leptos::prelude::*;

use super::{Nav, Shell, Viewer};
use crate::domain::people::TEAM_NAME_MAX;
use crate::domain::ValidationError;

/// A person on the admin page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonView {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Login email.
    pub email: String,
    /// Role word.
    pub role: String,
    /// Team names, comma-separated.
    pub teams: String,
    /// IANA zone.
    pub time_zone: String,
    /// "active" or "deactivated {when}".
    pub status: String,
    /// The account is active.
    pub active: bool,
    /// This is the viewer.
    pub is_me: bool,
}

/// An invitation on the admin page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationView {
    /// Id.
    pub id: String,
    /// Whom it is for.
    pub email: String,
    /// Role word.
    pub role: String,
    /// Team names, comma-separated.
    pub teams: String,
    /// "pending", "accepted", "revoked" or "expired".
    pub state: &'static str,
    /// When it expires, as shown.
    pub expires: String,
}

/// The invite form's values (kept after a failed attempt).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InviteForm {
    /// Email.
    pub email: String,
    /// Role word.
    pub role: String,
    /// Chosen team ids.
    pub teams: Vec<String>,
}

/// A team as (id, name).
pub type TeamChoice = (String, String);

/// A just-made invitation link to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    /// The link.
    pub url: String,
    /// Whom it is for.
    pub email: String,
    /// When it expires, as shown.
    pub expires: String,
    /// Whether a mail with the link is on its way.
    pub mailed: bool,
}

const ROLES: [(&str, &str); 3] = [
    (
        "responder",
        "Responder: takes shifts, answers pages, updates incidents",
    ),
    ("viewer", "Viewer: reads schedules and incidents"),
    ("admin", "Admin: configures everything"),
];

fn field_error(error: &Option<ValidationError>, field: &str) -> Option<String> {
    error
        .as_ref()
        .filter(|e| e.field == field)
        .map(super::fields::plain)
}

#[component]
fn FieldError(id: String, error: Option<String>) -> impl IntoView {
    let role = error.as_ref().map(|_| "alert");
    view! { <p id=id class="field-error" role=role>{error}</p> }
}

/// `/admin/people`: everyone, the invite form, and the latest invitations.
#[component]
pub fn PeoplePage(
    viewer: Viewer,
    people: Vec<PersonView>,
    invitations: Vec<InvitationView>,
    teams: Vec<TeamChoice>,
    form: InviteForm,
    error: Option<ValidationError>,
    notice: Option<String>,
    new_link: Option<NewLink>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let csrf_rows = csrf.clone();
    let csrf_inv = csrf.clone();
    let err_email = field_error(&error, "email");
    let err_role = field_error(&error, "role");
    let err_teams = field_error(&error, "teams");
    let other_error = error
        .as_ref()
        .filter(|e| !["email", "role", "teams"].contains(&e.field.as_str()))
        .map(super::fields::plain);
    let invalid = |e: &Option<String>| e.as_ref().map(|_| "true");
    let (inv_email, inv_role) = (invalid(&err_email), invalid(&err_role));
    view! {
        <Shell viewer=viewer nav=Nav::People>
            <h1 class="page-title">"People"</h1>
            {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
            {other_error.map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            {new_link.map(|l| view! {
                <section class="card" aria-labelledby="new-link">
                    <h2 id="new-link">{format!("Invitation for {}", l.email)}</h2>
                    <p>"Send this link to them. It works once, until " {l.expires} "."</p>
                    <input class="copy" readonly value=l.url aria-label="Invitation link"/>
                    <p class="muted small">{if l.mailed {
                        "A mail with this link is on its way to them."
                    } else {
                        "No mail was sent (mail is not configured): copy the link and send it yourself."
                    }}</p>
                </section>
            })}
            <section class="card" aria-labelledby="people-list">
                <h2 id="people-list">"Everyone"</h2>
                <ul class="admin-list">
                    {people.into_iter().map(|p| {
                        let csrf = csrf_rows.clone();
                        let action = if p.is_me {
                            view! { <span class="muted small">"(you)"</span> }.into_any()
                        } else if p.active {
                            view! {
                                <a class="button" href=format!("/admin/people/{}/deactivate", p.id)>
                                    {format!("Deactivate {}", p.name)}
                                </a>
                            }.into_any()
                        } else {
                            view! {
                                <form method="post" action=format!("/admin/people/{}/reactivate", p.id) class="inline">
                                    <input type="hidden" name="csrf" value=csrf/>
                                    <button type="submit" class="button">{format!("Reactivate {}", p.name)}</button>
                                </form>
                            }.into_any()
                        };
                        view! {
                            <li class="admin-row" data-person=p.email.clone()>
                                <div class="admin-row-head">
                                    <strong>{p.name.clone()}</strong>
                                    <span class="muted small">{format!("{} · {} · {}", p.email, p.role, p.time_zone)}</span>
                                </div>
                                <p class="small">
                                    {if p.teams.is_empty() { "No team".to_string() } else { format!("Teams: {}", p.teams) }}
                                    " · "
                                    <span class=if p.active { "state-active" } else { "state-deactivated" }>{p.status}</span>
                                </p>
                                {action}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
            <section class="card" aria-labelledby="invite">
                <h2 id="invite">"Invite someone"</h2>
                <form method="post" action="/admin/people/invitations" class="stack" novalidate>
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <label for="email">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="off" required maxlength="254"
                        value=form.email aria-invalid=inv_email aria-describedby="email-error"/>
                    <FieldError id="email-error".to_string() error=err_email/>
                    <label for="role">"Role"</label>
                    <select id="role" name="role" aria-invalid=inv_role aria-describedby="role-error">
                        {ROLES.into_iter().map(|(value, label)| {
                            let selected = form.role == value;
                            view! { <option value=value selected=selected>{label}</option> }
                        }).collect_view()}
                    </select>
                    <FieldError id="role-error".to_string() error=err_role/>
                    {(!teams.is_empty()).then(|| {
                        let chosen = form.teams.clone();
                        view! {
                            <fieldset>
                                <legend>"Teams " <span class="muted">"(optional)"</span></legend>
                                {teams.into_iter().map(|(id, name)| {
                                    let box_id = format!("invite-team-{id}");
                                    let box_for = box_id.clone();
                                    let checked = chosen.contains(&id);
                                    view! {
                                        <label for=box_for class="check">
                                            <input type="checkbox" id=box_id name="teams" value=id checked=checked/>
                                            {name}
                                        </label>
                                    }
                                }).collect_view()}
                            </fieldset>
                        }
                    })}
                    <FieldError id="teams-error".to_string() error=err_teams/>
                    <button type="submit" class="button primary">"Create invitation"</button>
                </form>
            </section>
            <section class="card" aria-labelledby="invitations">
                <h2 id="invitations">"Invitations"</h2>
                {if invitations.is_empty() {
                    view! { <p class="muted">"No invitations yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="admin-list">
                            {invitations.into_iter().map(|i| {
                                let csrf = csrf_inv.clone();
                                let pending = i.state == "pending";
                                view! {
                                    <li class="admin-row" data-invitation=i.email.clone()>
                                        <div class="admin-row-head">
                                            <strong>{i.email.clone()}</strong>
                                            <span class="muted small">{format!("{} · {} · expires {}", i.role, i.state, i.expires)}</span>
                                        </div>
                                        {(!i.teams.is_empty()).then(|| view! { <p class="small">{format!("Teams: {}", i.teams)}</p> })}
                                        {pending.then(|| view! {
                                            <form method="post" action=format!("/admin/people/invitations/{}/revoke", i.id) class="inline">
                                                <input type="hidden" name="csrf" value=csrf/>
                                                <button type="submit" class="button">{format!("Revoke invitation for {}", i.email)}</button>
                                            </form>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </Shell>
    }
}

/// `/admin/people/{id}/deactivate`: the gaps leaving the rosters opens, then the confirmation.
#[component]
pub fn DeactivatePage(
    viewer: Viewer,
    /// Whose account.
    person_id: String,
    /// Their name.
    person_name: String,
    /// The date they leave the rosters, `YYYY-MM-DD`.
    from: String,
    /// The viewer's time zone, named next to the times.
    time_zone: String,
    /// Gap sentences, "Schedule: start → end (n h)".
    gaps: Vec<String>,
    /// Schedules they leave.
    schedules: Vec<String>,
    /// How many weeks ahead gaps were looked for.
    horizon_days: i64,
    /// What was wrong with the date.
    error: Option<ValidationError>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let title = format!("Deactivate {person_name}");
    let err_from = field_error(&error, "from");
    let other = error
        .as_ref()
        .filter(|e| e.field != "from")
        .map(super::fields::plain);
    let invalid = err_from.as_ref().map(|_| "true");
    let check_action = format!("/admin/people/{person_id}/deactivate");
    let confirm_action = check_action.clone();
    let can_confirm = error.is_none();
    view! {
        <Shell viewer=viewer nav=Nav::People>
            <p><a href="/admin/people">"← Everyone"</a></p>
            <h1 class="page-title">{title}</h1>
            {other.map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            <section class="card">
                <p>{format!(
                    "{person_name} will be logged out everywhere at once and can no longer log in. \
                     Their history stays. From the date below they leave every schedule rotation, \
                     and their overrides end."
                )}</p>
                <form method="get" action=check_action class="stack">
                    <label for="from">{format!("Leaves the rotations from (a date, {time_zone})")}</label>
                    <input id="from" name="from" type="date" value=from.clone() required
                        aria-invalid=invalid aria-describedby="from-error"/>
                    <FieldError id="from-error".to_string() error=err_from/>
                    <button type="submit" class="button">"Check the schedules again"</button>
                </form>
            </section>
            {can_confirm.then(|| view! {
                <section class="card" aria-labelledby="effect">
                    <h2 id="effect">"What changes"</h2>
                    {if schedules.is_empty() {
                        view! { <p>"They are in no schedule rotation."</p> }.into_any()
                    } else {
                        view! { <p>{format!("They leave: {}.", schedules.join(", "))}</p> }.into_any()
                    }}
                    {if gaps.is_empty() {
                        view! { <p class="notice">{format!("No new gaps in the next {} weeks.", horizon_days / 7)}</p> }.into_any()
                    } else {
                        view! {
                            <div class="gap-banner" role="alert">
                                <p><strong>{format!("Nobody would be on call in the next {} weeks during:", horizon_days / 7)}</strong></p>
                                <ul>{gaps.into_iter().map(|g| view! { <li>{g}</li> }).collect_view()}</ul>
                                <p>"Add someone to those rotations afterwards, or cover the times with overrides."</p>
                            </div>
                        }.into_any()
                    }}
                    <form method="post" action=confirm_action>
                        <input type="hidden" name="csrf" value=csrf/>
                        <input type="hidden" name="from" value=from/>
                        <button type="submit" class="button danger">{format!("Deactivate {person_name}")}</button>
                    </form>
                </section>
            })}
        </Shell>
    }
}

/// `/invite/{token}`: choose a name, a password and a time zone to join.
#[component]
pub fn InvitePage(
    /// The invited email (the login).
    email: String,
    /// Role word.
    role: String,
    /// Name typed so far.
    name: String,
    /// Zone chosen so far.
    time_zone: String,
    /// Every zone name the tz database knows, for the suggestions.
    zones: Vec<String>,
    /// What was wrong with the last attempt.
    error: Option<ValidationError>,
) -> impl IntoView {
    // Plain sentences next to the fields (no raw field names) on the newcomer's first form.
    let plain = |field: &str, label: &str| {
        error
            .as_ref()
            .filter(|e| e.field == field)
            .map(|e| super::fields::sentence(label, &e.message))
    };
    let err_name = plain("name", "Your name");
    let err_pw = plain("password", "The password");
    let err_pw2 = plain("password_again", "The second password");
    let err_tz = plain("time_zone", "The time zone");
    let other = error
        .as_ref()
        .filter(|e| {
            !["name", "password", "password_again", "time_zone"].contains(&e.field.as_str())
        })
        .map(super::fields::plain);
    let invalid = |e: &Option<String>| e.as_ref().map(|_| "true");
    let (i_name, i_pw, i_pw2, i_tz) = (
        invalid(&err_name),
        invalid(&err_pw),
        invalid(&err_pw2),
        invalid(&err_tz),
    );
    view! {
        <Shell viewer=Viewer::default() nav=Nav::Other>
            <section class="card narrow">
                <h1>"Join Firstline"</h1>
                <p>{format!("You are invited as {role}. You will log in as {email}.")}</p>
                {other.map(|e| view! { <p class="alert" role="alert">{e}</p> })}
                <form method="post" class="stack" novalidate>
                    <label for="name">"Your name"</label>
                    <input id="name" name="name" autocomplete="name" required maxlength="100" value=name
                        aria-invalid=i_name aria-describedby="name-error"/>
                    <FieldError id="name-error".to_string() error=err_name/>
                    <label for="password">"Password (at least 10 characters)"</label>
                    <input id="password" name="password" type="password" autocomplete="new-password" required
                        minlength="10" maxlength="256" aria-invalid=i_pw aria-describedby="password-error"/>
                    <FieldError id="password-error".to_string() error=err_pw/>
                    <label for="password_again">"Password again"</label>
                    <input id="password_again" name="password_again" type="password" autocomplete="new-password"
                        required maxlength="256" aria-invalid=i_pw2 aria-describedby="password_again-error"/>
                    <FieldError id="password_again-error".to_string() error=err_pw2/>
                    <label for="time_zone">"Your time zone (type a city to search the list)"</label>
                    <input id="time_zone" name="time_zone" list="zones" required maxlength="64" value=time_zone
                        autocomplete="off" spellcheck="false"
                        aria-invalid=i_tz aria-describedby="time_zone-error"/>
                    <datalist id="zones">
                        {zones.into_iter().map(|z| view! { <option value=z></option> }).collect_view()}
                    </datalist>
                    <FieldError id="time_zone-error".to_string() error=err_tz/>
                    <button type="submit" class="button primary">"Join"</button>
                </form>
            </section>
        </Shell>
    }
}

/// An invitation link that no longer works (or never did).
#[component]
pub fn InviteGonePage(
    /// Headline.
    title: String,
    /// Why, and what to do.
    message: String,
) -> impl IntoView {
    view! {
        <Shell viewer=Viewer::default() nav=Nav::Other>
            <section class="card narrow">
                <h1>{title}</h1>
                <p>{message}</p>
                <p><a class="button" href="/login">"Log in"</a></p>
            </section>
        </Shell>
    }
}

/// A team on the teams page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Member ids.
    pub members: Vec<String>,
    /// Member names, comma-separated.
    pub member_names: String,
    /// The team's chat channel (an incoming webhook URL), if any.
    pub chat_url: String,
    /// Its flavour (`slack`, `mattermost`, `discord`, `zulip`; empty: guessed).
    pub chat_flavor: String,
}

/// `/admin/teams`: every team (rename, members, delete) and the "new team" form.
#[component]
pub fn TeamsPage(
    viewer: Viewer,
    teams: Vec<TeamView>,
    /// Active people as (id, name).
    people: Vec<(String, String)>,
    /// The new-team name typed so far.
    new_name: String,
    /// Which form the error belongs to: `new` or a team id.
    error_on: String,
    error: Option<ValidationError>,
    notice: Option<String>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let csrf_new = csrf.clone();
    let msg = error.as_ref().map(super::fields::plain);
    let new_error = (error_on == "new").then(|| msg.clone()).flatten();
    let new_invalid = new_error.as_ref().map(|_| "true");
    view! {
        <Shell viewer=viewer nav=Nav::Teams>
            <h1 class="page-title">"Teams"</h1>
            {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
            {if teams.is_empty() {
                view! { <section class="card"><p class="muted">"No teams yet. Add the first one below."</p></section> }.into_any()
            } else {
                teams.into_iter().map(|t| {
                    let csrf = csrf.clone();
                    let on_chat = error.as_ref().is_some_and(|e| e.field == "url" || e.field == "flavor");
                    let err = (error_on == t.id && !on_chat).then(|| msg.clone()).flatten();
                    let chat_err = (error_on == t.id && on_chat).then(|| msg.clone()).flatten();
                    let chat_invalid = chat_err.as_ref().map(|_| "true");
                    let chat_id = format!("team-chat-{}", t.id);
                    let chat_flavor_id = format!("team-chat-flavor-{}", t.id);
                    let chat_err_id = format!("team-chat-error-{}", t.id);
                    let chosen = t.chat_flavor.clone();
                    let invalid = err.as_ref().map(|_| "true");
                    let name_id = format!("team-name-{}", t.id);
                    let err_id = format!("team-error-{}", t.id);
                    let heading_id = format!("team-{}", t.id);
                    let labelled_by = heading_id.clone();
                    let people = people.clone();
                    view! {
                        <section class="card" aria-labelledby=labelled_by data-team=t.name.clone()>
                            <h2 id=heading_id>{t.name.clone()}</h2>
                            <p class="small">{if t.member_names.is_empty() { "No members.".to_string() } else { format!("Members: {}", t.member_names) }}</p>
                            <form method="post" action=format!("/admin/teams/{}", t.id) class="stack" novalidate>
                                <input type="hidden" name="csrf" value=csrf.clone()/>
                                <label for=name_id.clone()>{format!("Name of {}", t.name)}</label>
                                <input id=name_id name="name" required maxlength=TEAM_NAME_MAX.to_string() value=t.name.clone()
                                    aria-invalid=invalid aria-describedby=err_id.clone()/>
                                <FieldError id=err_id error=err/>
                                <button type="submit" class="button">"Rename"</button>
                            </form>
                            <form method="post" action=format!("/admin/teams/{}/members", t.id) class="stack">
                                <input type="hidden" name="csrf" value=csrf.clone()/>
                                <fieldset>
                                    <legend>{format!("Members of {}", t.name)}</legend>
                                    {people.into_iter().map(|(uid, uname)| {
                                        let box_id = format!("member-{}-{uid}", t.id);
                                        let box_for = box_id.clone();
                                        let checked = t.members.contains(&uid);
                                        view! {
                                            <label for=box_for class="check">
                                                <input type="checkbox" id=box_id name="member" value=uid checked=checked/>
                                                {uname}
                                            </label>
                                        }
                                    }).collect_view()}
                                </fieldset>
                                <button type="submit" class="button">"Save members"</button>
                            </form>
                            <form method="post" action=format!("/admin/teams/{}/chat", t.id) class="stack" novalidate>
                                <input type="hidden" name="csrf" value=csrf.clone()/>
                                <label for=chat_id.clone()>{format!("Chat channel of {} ", t.name)}<span class="muted">"(an incoming webhook URL; told whenever an escalation step pages the team; empty: none)"</span></label>
                                <input id=chat_id name="url" type="url" maxlength="500" value=t.chat_url.clone()
                                    aria-invalid=chat_invalid aria-describedby=chat_err_id.clone()/>
                                <label for=chat_flavor_id.clone()>"Chat service"</label>
                                <select id=chat_flavor_id name="flavor">
                                    <option value="" selected=chosen.is_empty()>"Guess from the URL"</option>
                                    {crate::domain::notify::ChatFlavor::ALL.into_iter().map(|f| view! {
                                        <option value=f.as_str() selected=chosen == f.as_str()>{f.label()}</option>
                                    }).collect_view()}
                                </select>
                                <FieldError id=chat_err_id error=chat_err/>
                                <button type="submit" class="button">"Save chat channel"</button>
                            </form>
                            <form method="post" action=format!("/admin/teams/{}/delete", t.id)>
                                <input type="hidden" name="csrf" value=csrf/>
                                <button type="submit" class="button danger">{format!("Delete {}", t.name)}</button>
                            </form>
                        </section>
                    }
                }).collect_view().into_any()
            }}
            <section class="card" aria-labelledby="new-team">
                <h2 id="new-team">"New team"</h2>
                <form method="post" action="/admin/teams" class="stack" novalidate>
                    <input type="hidden" name="csrf" value=csrf_new/>
                    <label for="name">"Name"</label>
                    <input id="name" name="name" required maxlength=TEAM_NAME_MAX.to_string() value=new_name
                        aria-invalid=new_invalid aria-describedby="name-error"/>
                    <FieldError id="name-error".to_string() error=new_error/>
                    <button type="submit" class="button primary">"Add team"</button>
                </form>
            </section>
        </Shell>
    }
}
