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

/// `/admin/branding`: the public page's name, logo, site link and footer links.
#[component]
pub fn BrandingPage(
    viewer: Viewer,
    /// The form's values (as typed after a refusal).
    form: crate::domain::branding::BrandingInput,
    /// The current logo's URL, if one was uploaded.
    logo: Option<String>,
    /// What was wrong with the last submission.
    error: Option<ValidationError>,
    /// A confirmation to show at the top.
    notice: Option<String>,
) -> impl IntoView {
    use super::status_admin::error_sentence;
    use crate::domain::branding::{LABEL_MAX, LINKS_MAX, LOGO_MAX, NAME_MAX, URL_MAX};
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let (csrf2, csrf3) = (csrf.clone(), csrf.clone());
    let err = |fields: &[&str]| {
        error
            .as_ref()
            .filter(|e| fields.contains(&e.field.as_str()))
            .map(error_sentence)
    };
    let (e_name, e_site, e_links, e_logo) = (
        err(&["page_name"]),
        err(&["site_url"]),
        err(&["footer_links"]),
        err(&["logo"]),
    );
    let e_other = error
        .as_ref()
        .filter(|e| !["page_name", "site_url", "footer_links", "logo"].contains(&e.field.as_str()))
        .map(error_sentence);
    let invalid = |e: &Option<String>| e.as_ref().map(|_| "true");
    view! {
        <Shell viewer=viewer nav=Nav::Components>
            <p class="crumbs small"><a href="/admin/components">"Components"</a></p>
            <h1 class="page-title">"Status page settings"</h1>
            <p class="muted small">"How the public status page presents your organisation. "<a href="/status">"Open the public page"</a></p>
            {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
            {e_other.map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <section class="card">
                <h2>"Name and links"</h2>
                <form method="post" action="/admin/branding" class="stack" novalidate>
                    <input type="hidden" name="csrf" value=csrf/>
                    <label for="page_name">"Page name"</label>
                    <input id="page_name" name="page_name" required maxlength=NAME_MAX.to_string() value=form.page_name
                        aria-invalid=invalid(&e_name) aria-describedby="page_name-help page_name-error"/>
                    <p id="page_name-help" class="small muted">"Your organisation or service, e.g. crates.io. The page reads “crates.io status”."</p>
                    <FieldError id="page_name-error" error=e_name/>
                    <label for="site_url">"Your website " <span class="muted">"(optional)"</span></label>
                    <input id="site_url" name="site_url" type="url" maxlength=URL_MAX.to_string() value=form.site_url
                        placeholder="https://example.org" aria-invalid=invalid(&e_site) aria-describedby="site_url-error"/>
                    <FieldError id="site_url-error" error=e_site/>
                    <label for="footer_links">"Footer links " <span class="muted">{format!("(optional, up to {LINKS_MAX}, one a line: a label of up to {LABEL_MAX} characters, a space, the address)")}</span></label>
                    <super::TextArea id="footer_links" name="footer_links" rows=4 value=form.footer_links
                        placeholder="Privacy https://example.org/privacy"/>
                    <FieldError id="footer_links-error" error=e_links/>
                    <button type="submit" class="button primary">"Save"</button>
                </form>
            </section>
            <section class="card">
                <h2>"Logo"</h2>
                {logo.clone().map(|src| view! { <p><img class="org-logo" src=src alt="Current logo" height="40"/></p> })}
                <form method="post" action="/admin/branding/logo" enctype="multipart/form-data" class="stack">
                    <input type="hidden" name="csrf" value=csrf2/>
                    <label for="logo">{format!("PNG, JPEG or WebP image, at most {} KB; shown 40 px high", LOGO_MAX / 1024)}</label>
                    <input id="logo" name="logo" type="file" accept="image/png,image/jpeg,image/webp" required
                        aria-invalid=invalid(&e_logo) aria-describedby="logo-error"/>
                    <FieldError id="logo-error" error=e_logo/>
                    <button type="submit" class="button primary">"Upload logo"</button>
                </form>
                {logo.map(|_| view! {
                    <form method="post" action="/admin/branding/logo/delete" class="inline">
                        <input type="hidden" name="csrf" value=csrf3/>
                        <button type="submit" class="button danger">"Remove logo"</button>
                    </form>
                })}
            </section>
        </Shell>
    }
}
