//! Admin pages: status-page components (create, edit, change status, delete).

use leptos::prelude::*;

use super::{Nav, Shell, Viewer};
use crate::domain::status::{
    ComponentInput, ComponentStatus, DESCRIPTION_MAX, NAME_MAX, POSITION_MAX,
};
use crate::domain::ValidationError;

/// A component row on the admin page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminComponent {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Group name.
    pub group: Option<String>,
    /// Current status.
    pub status: ComponentStatus,
    /// When it last changed, as shown.
    pub updated: String,
}

/// `/admin/components`: every component with a one-step status change, and the "add" form.
#[component]
pub fn ComponentsPage(
    viewer: Viewer,
    components: Vec<AdminComponent>,
    /// The "add a component" form's values (kept after a failed attempt).
    form: ComponentInput,
    /// What was wrong with the last submission.
    error: Option<ValidationError>,
    /// A confirmation to show at the top.
    notice: Option<String>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let csrf2 = csrf.clone();
    view! {
        <Shell viewer=viewer nav=Nav::Components>
            <h1 class="page-title">"Status components"</h1>
            <p class="muted small">"The page's name, logo and links: "<a href="/admin/branding">"Status page settings"</a>"."</p>
            {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
            <section class="card">
                <h2>"Current status"</h2>
                <super::status_admin::StatusHelp/>
                {if components.is_empty() {
                    view! { <p class="muted">"No components yet. Add the first one below."</p> }.into_any()
                } else {
                    view! {
                        <ul class="admin-list">
                            {components.into_iter().map(|c| {
                                let sel_id = format!("status-{}", c.id);
                                view! {
                                    <li class="admin-row" data-component=c.name.clone()>
                                        <div class="admin-row-head">
                                            <a class="component-name" href=format!("/admin/components/{}", c.id)>{c.name.clone()}</a>
                                            <span class="muted small">
                                                {c.group.clone().map(|g| format!("{g} · ")).unwrap_or_default()}
                                                {format!("changed {}", c.updated)}
                                            </span>
                                        </div>
                                        <form method="post" action=format!("/admin/components/{}/status", c.id) class="status-form">
                                            <input type="hidden" name="csrf" value=csrf.clone()/>
                                            <label for=sel_id.clone() class="visually-hidden">{format!("Status of {}", c.name)}</label>
                                            <StatusSelect id=sel_id current=c.status/>
                                            <button type="submit" class="button">"Update"</button>
                                        </form>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            <section class="card">
                <h2 id="add">"Add a component"</h2>
                <ComponentForm action="/admin/components".to_string() csrf=csrf2 form=form error=error submit="Add component"/>
            </section>
        </Shell>
    }
}

/// `/admin/components/{id}`: edit one component, or delete it.
#[component]
pub fn EditComponentPage(
    viewer: Viewer,
    id: String,
    form: ComponentInput,
    error: Option<ValidationError>,
) -> impl IntoView {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let title = format!("Edit {}", form.name);
    view! {
        <Shell viewer=viewer nav=Nav::Components>
            <p><a href="/admin/components">"← All components"</a></p>
            <h1 class="page-title">{title}</h1>
            <section class="card">
                <ComponentForm action=format!("/admin/components/{id}") csrf=csrf.clone() form=form error=error submit="Save changes"/>
            </section>
            <section class="card danger">
                <h2>"Delete"</h2>
                <p>"Removes the component from the status page, with its history."</p>
                <form method="post" action=format!("/admin/components/{id}/delete")>
                    <input type="hidden" name="csrf" value=csrf/>
                    <button type="submit" class="button danger">"Delete component"</button>
                </form>
            </section>
        </Shell>
    }
}

#[component]
fn StatusSelect(id: String, current: ComponentStatus) -> impl IntoView {
    view! {
        <select id=id name="status">
            {ComponentStatus::ALL.into_iter().map(|s| view! {
                <option value=s.as_str() selected=s == current>{s.label()}</option>
            }).collect_view()}
        </select>
    }
}

#[component]
fn ComponentForm(
    action: String,
    csrf: String,
    form: ComponentInput,
    error: Option<ValidationError>,
    submit: &'static str,
) -> impl IntoView {
    let field_error = move |field: &str| {
        error
            .as_ref()
            .filter(|e| {
                e.field == field
                    || (field == "name"
                        && !["description", "group", "position", "status"]
                            .contains(&e.field.as_str()))
            })
            .map(super::status_admin::error_sentence)
    };
    let err_name = field_error("name");
    let err_desc = field_error("description");
    let err_group = field_error("group");
    let err_pos = field_error("position");
    let err_status = field_error("status");
    let current = form.status.parse().unwrap_or(ComponentStatus::Operational);
    let invalid = |e: &Option<String>| e.as_ref().map(|_| "true");
    view! {
        <form method="post" action=action class="stack" novalidate>
            <input type="hidden" name="csrf" value=csrf/>
            <label for="name">"Name"</label>
            <input id="name" name="name" required maxlength=NAME_MAX.to_string() value=form.name
                aria-invalid=invalid(&err_name) aria-describedby="name-error"/>
            <FieldError id="name-error" error=err_name/>
            <label for="description">"Description " <span class="muted">"(optional)"</span></label>
            <input id="description" name="description" maxlength=DESCRIPTION_MAX.to_string() value=form.description
                aria-invalid=invalid(&err_desc) aria-describedby="description-error"/>
            <FieldError id="description-error" error=err_desc/>
            <label for="group">"Group " <span class="muted">"(optional, e.g. Index)"</span></label>
            <input id="group" name="group" maxlength=NAME_MAX.to_string() value=form.group
                aria-invalid=invalid(&err_group) aria-describedby="group-error"/>
            <FieldError id="group-error" error=err_group/>
            <label for="position">"Position in group"</label>
            <input id="position" name="position" inputmode="numeric" pattern="[0-9]*"
                value=form.position aria-invalid=invalid(&err_pos) aria-describedby="position-error"
                title=format!("A whole number from 0 to {POSITION_MAX}")/>
            <FieldError id="position-error" error=err_pos/>
            <label for="status">"Status"</label>
            <StatusSelect id="status".to_string() current=current/>
            <super::status_admin::StatusHelp/>
            <FieldError id="status-error" error=err_status/>
            <button type="submit" class="button primary">{submit}</button>
        </form>
    }
}

#[component]
fn FieldError(id: &'static str, error: Option<String>) -> impl IntoView {
    let role = error.as_ref().map(|_| "alert");
    view! {
        <p id=id class="field-error" role=role>{error}</p>
    }
}
