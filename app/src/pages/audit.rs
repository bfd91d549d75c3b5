//! `/admin/audit`: the audit log of administrative and on-call changes, newest first, filtered
//! by person and kind, a page at a time.

use leptos::prelude::*;

use super::{Nav, Shell, Viewer};

/// One row as shown (times already formatted in the viewer's zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// When, e.g. `24 Nov 2026, 09:05 CET`.
    pub when: String,
    /// Who: name and email, or "anonymous" / "command line".
    pub who: String,
    /// Kind of thing, e.g. `component`.
    pub kind: String,
    /// What was done, e.g. `delete`.
    pub action: String,
    /// `ok` or `denied`.
    pub outcome: String,
    /// The ids it was about.
    pub target: String,
    /// Method and route template, e.g. `POST /admin/components/{id}`.
    pub route: String,
    /// Client address.
    pub ip: String,
    /// HTTP status.
    pub status: String,
}

/// A choice in a filter select: `(value, label)`.
pub type Choice = (String, String);

/// The filter as submitted (empty means all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilterView {
    /// Selected user id.
    pub actor: String,
    /// Selected kind.
    pub kind: String,
}

/// The audit log page.
#[component]
pub fn AuditPage(
    viewer: Viewer,
    rows: Vec<AuditRow>,
    /// Users to filter by.
    people: Vec<Choice>,
    /// Kinds to filter by.
    kinds: Vec<String>,
    filter: AuditFilterView,
    /// The link to the next (older) page, if there are more rows.
    older: Option<String>,
    /// The link back to the newest page, when this is an older one.
    newest: Option<String>,
    /// The viewer's time zone, named above the table.
    zone: String,
) -> impl IntoView {
    let empty = rows.is_empty();
    view! {
        <Shell viewer=viewer nav=Nav::Audit>
            <h1 class="page-title">"Audit log"</h1>
            <p class="muted">{format!(
                "Every change made through Firstline, and every refused attempt by a signed-in user, newest first. Times in {zone}. The log is append-only."
            )}</p>
            <section class="card">
                <form method="get" action="/admin/audit" class="row" role="search">
                    <label for="au-actor">"Person"</label>
                    <select id="au-actor" name="actor">
                        <option value="">"Everyone"</option>
                        {people.into_iter().map(|(id, label)| {
                            let selected = id == filter.actor;
                            view! { <option value=id selected=selected>{label}</option> }
                        }).collect_view()}
                    </select>
                    <label for="au-kind">"Kind"</label>
                    <select id="au-kind" name="kind">
                        <option value="">"All kinds"</option>
                        {kinds.into_iter().map(|k| {
                            let selected = k == filter.kind;
                            let value = k.clone();
                            view! { <option value=value selected=selected>{k}</option> }
                        }).collect_view()}
                    </select>
                    <button type="submit" class="button">"Filter"</button>
                </form>
            </section>
            <section class="card">
                {if empty {
                    view! { <p class="muted">"No entries."</p> }.into_any()
                } else {
                    view! {
                        // Keyboard users scroll the wide table too: it takes focus.
                        <div class="table-scroll" tabindex="0" role="region" aria-label="Audit entries">
                            <table class="audit">
                                <thead>
                                    <tr>
                                        <th scope="col">"When"</th>
                                        <th scope="col">"Who"</th>
                                        <th scope="col">"Kind"</th>
                                        <th scope="col">"Action"</th>
                                        <th scope="col">"Target"</th>
                                        <th scope="col">"Route"</th>
                                        <th scope="col">"Address"</th>
                                        <th scope="col">"Status"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {rows.into_iter().map(|r| {
                                        let action = if r.outcome == "ok" {
                                            r.action
                                        } else {
                                            format!("{} ({})", r.action, r.outcome)
                                        };
                                        let cls = format!("audit-{}", r.outcome);
                                        view! {
                                            <tr class=cls>
                                                <td>{r.when}</td>
                                                <td>{r.who}</td>
                                                <td>{r.kind}</td>
                                                <td>{action}</td>
                                                <td><code class="small wrap">{r.target}</code></td>
                                                <td><code class="small wrap">{r.route}</code></td>
                                                <td>{r.ip}</td>
                                                <td>{r.status}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }}
            </section>
            <nav class="pager" aria-label="Pages">
                {newest.map(|href| view! { <a href=href>"Newest"</a> })}
                {older.map(|href| view! { <a href=href rel="next">"Older"</a> })}
            </nav>
        </Shell>
    }
}
