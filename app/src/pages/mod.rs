//! Server-rendered pages. Each page is a component that takes plain data; the server loads the
//! data, renders the page to HTML with [`render_document`], and only islands ship wasm.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod contacts;
pub mod dashboard;
pub mod fields;
pub mod oncall;
pub mod onetap;
pub mod people;
pub mod policies;
pub mod push;
pub mod schedule;
pub mod schedule_admin;
pub mod status;
pub mod status_admin;

use leptos::prelude::*;

/// What the app shell needs to know about the viewer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Viewer {
    /// Display name of the logged-in user; `None` for anonymous visitors.
    pub name: Option<String>,
    /// True for admins (shows the admin navigation).
    pub is_admin: bool,
    /// True for responders and admins (may publish incidents).
    pub is_responder: bool,
    /// The session's CSRF token, for the logout form.
    pub csrf: Option<String>,
}

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// The signed-in home page.
    Dashboard,
    /// The public status page.
    Status,
    /// Admin: status components.
    Components,
    /// Public status-page incidents and maintenance ("Status posts").
    Incidents,
    /// On-call incidents (private, for responders).
    Oncall,
    /// Services and their integration keys.
    Services,
    /// Admin: monitors and alerts.
    Monitors,
    /// Admin: the audit log.
    Audit,
    /// Admin: people and invitations.
    People,
    /// Admin: teams.
    Teams,
    /// Schedules and shifts.
    Schedules,
    /// The viewer's profile.
    Profile,
    /// The login page.
    Login,
    /// None of the above (error pages).
    Other,
}

/// The app shell: header with navigation, main content, footer.
#[component]
pub fn Shell(
    viewer: Viewer,
    nav: Nav,
    /// The public pages' organisation name: the header's brand reads it and leads to the status
    /// page (other pages say "Firstline" and lead home).
    #[prop(optional, into)]
    brand: Option<String>,
    children: Children,
) -> impl IntoView {
    let signed_in = viewer.name.is_some();
    let current = move |n: Nav| if n == nav { Some("page") } else { None };
    // Phones fold the navigation into a menu (a disclosure: no script needed); wide screens
    // show it as a row (the stylesheet opens the disclosure's content there). Open on-call
    // incidents are counted on the menu control too, so a closed menu still shows them.
    let open = if signed_in { open_oncall() } else { 0 };
    // The stylesheet shows a visitor's two entries as a row everywhere, and needs a wider window
    // for the admin's long row than for the others'.
    let header_class = match (viewer.is_admin, signed_in) {
        (true, _) => "topbar long",
        (false, true) => "topbar",
        (false, false) => "topbar short",
    };
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class=header_class>
            {match brand {
                Some(name) => view! { <a class="brand" href="/status">{name}</a> }.into_any(),
                None => view! { <a class="brand" href="/">"Firstline"</a> }.into_any(),
            }}
            <details class="menu">
            <summary>
                <span class="menu-icon" aria-hidden="true"></span>
                "Menu"
                {(open > 0).then(|| view! {
                    <span class="count" aria-hidden="true">{open}</span>
                    <span class="visually-hidden">{format!(", {}", status_admin::count(open, "open on-call incident", "open on-call incidents"))}</span>
                })}
            </summary>
            <nav aria-label="Main">
                <ul>
                    {signed_in.then(|| view! {
                        <li><a href="/dashboard" aria-current=current(Nav::Dashboard)>"Home"</a></li>
                        <li><a href="/schedules" aria-current=current(Nav::Schedules)>"On call"</a></li>
                    })}
                    <li><a href="/status" aria-current=current(Nav::Status)>"Status"</a></li>
                    {signed_in.then(|| {
                        // Everyone signed in reads on-call incidents; responders and admins act.
                        let label = if open > 0 { status_admin::count(open, "open on-call incident", "open on-call incidents") } else { "On-call incidents".to_string() };
                        view! {
                            <li><a href="/oncall" aria-current=current(Nav::Oncall) aria-label=label>
                                "Incidents"{(open > 0).then(|| view! { <span class="count" aria-hidden="true">{open}</span> })}
                            </a></li>
                            <li><a href="/services" aria-current=current(Nav::Services)>"Services"</a></li>
                            {viewer.is_responder.then(|| view! {
                                <li><a href="/admin/incidents" aria-current=current(Nav::Incidents)>"Status posts"</a></li>
                            })}
                        }
                    })}
                    {viewer.is_admin.then(|| view! {
                        <li><a href="/admin/components" aria-current=current(Nav::Components)>"Components"</a></li>
                        <li><a href="/admin/monitors" aria-current=current(Nav::Monitors)>"Monitors"</a></li>
                        <li><a href="/admin/subscribers">"Subscribers"</a></li>
                        <li><a href="/admin/people" aria-current=current(Nav::People)>"People"</a></li>
                        <li><a href="/admin/teams" aria-current=current(Nav::Teams)>"Teams"</a></li>
                        <li><a href="/admin/audit" aria-current=current(Nav::Audit)>"Audit log"</a></li>
                    })}
                    {match (viewer.name.clone(), viewer.csrf.clone()) {
                        (Some(name), Some(csrf)) => view! {
                            <li><a href="/profile" aria-current=current(Nav::Profile)>"Profile"</a></li>
                            <li class="account">
                                <form method="post" action="/logout" class="inline">
                                    <input type="hidden" name="csrf" value=csrf/>
                                    <button type="submit" class="link" title=format!("Signed in as {name}")>"Log out"</button>
                                </form>
                            </li>
                        }.into_any(),
                        _ => view! {
                            <li class="account"><a href="/login" aria-current=current(Nav::Login)>"Log in"</a></li>
                        }.into_any(),
                    }}
                </ul>
            </nav>
            </details>
        </header>
        <main id="main">{children()}</main>
        <footer class="footer">
            <p>"Powered by Firstline: on-call, paging and status pages."</p>
        </footer>
    }
}

static PKG_DIR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Open on-call incidents, as the navigation counts them for responders (kept current by the
/// server whenever an incident changes, on any instance).
static OPEN_ONCALL: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Sets the open on-call incident count the navigation shows.
pub fn set_open_oncall(n: i64) {
    OPEN_ONCALL.store(n, std::sync::atomic::Ordering::Relaxed);
}

/// The open on-call incident count the navigation shows.
pub fn open_oncall() -> i64 {
    #[cfg(test)]
    if let Some(n) = TEST_OPEN_ONCALL.get() {
        return n;
    }
    OPEN_ONCALL.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
thread_local! {
    /// A count for one test's thread only: tests run in parallel, and the shared count would
    /// reach the pages other tests render meanwhile.
    static TEST_OPEN_ONCALL: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// Sets the URL path of the versioned asset directory (`pkg/<version>`), once at start-up.
pub fn set_pkg_dir(dir: String) {
    let _ = PKG_DIR.set(dir);
}

/// The versioned asset directory's URL path, without leading slash.
pub fn pkg_dir() -> &'static str {
    PKG_DIR.get().map(String::as_str).unwrap_or("pkg")
}

/// Renders a full HTML document. `hydrate` carries the Leptos options when the page has islands
/// (only then is the wasm loaded).
pub fn render_document<V: IntoView + 'static>(
    title: &str,
    hydrate: Option<leptos::config::LeptosOptions>,
    description: Option<&str>,
    body: impl FnOnce() -> V,
) -> String {
    let owner = Owner::new();
    let html = owner.with(|| {
        let head_scripts = hydrate.map(|options| {
            view! { <HydrationScripts options=options islands=true/> }
        });
        let title = title.to_string();
        let description =
            description.map(|d| view! { <meta name="description" content=d.to_string()/> });
        view! {
            <html lang="en">
                <head>
                    <meta charset="utf-8"/>
                    <meta name="viewport" content="width=device-width, initial-scale=1"/>
                    <meta name="color-scheme" content="light dark"/>
                    <title>{title}</title>
                    {description}
                    <link rel="stylesheet" href=format!("/{}/firstline.css", pkg_dir())/>
                    <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                    <link rel="manifest" href="/manifest.webmanifest"/>
                    <link rel="apple-touch-icon" href="/apple-touch-icon.png"/>
                    <meta name="theme-color" content="#0f6b4f"/>
                    {head_scripts}
                </head>
                <body>{body()}</body>
            </html>
        }
        .to_html()
    });
    format!("<!DOCTYPE html>{html}")
}

/// A page that says what went wrong and what to do next.
#[component]
pub fn ErrorPage(
    viewer: Viewer,
    /// The HTTP status code, shown small.
    code: u16,
    /// One-line headline.
    title: String,
    /// What happened and what to do.
    message: String,
    /// Offer a login link (for 401) that returns to this path.
    login_next: Option<String>,
) -> impl IntoView {
    view! {
        <Shell viewer=viewer nav=Nav::Other>
            <section class="card narrow">
                <p class="muted">{format!("Error {code}")}</p>
                <h1>{title}</h1>
                <p>{message}</p>
                {login_next.map(|next| view! {
                    <p><a class="button" href=format!("/login?next={}", urlencode(&next))>"Log in"</a></p>
                })}
                <p><a href="/status">"Go to the status page"</a></p>
            </section>
        </Shell>
    }
}

/// A `<textarea>` whose text is escaped.
///
/// The HTML renderer writes a textarea's children raw (it treats the element like `<script>`), so
/// a stored `</textarea><script>` would end the element and run. Every textarea goes through this
/// component; a test in this module fails if a page writes `<textarea` directly.
#[component]
pub fn TextArea(
    /// The element id (for its `<label for>`).
    #[prop(into)]
    id: String,
    /// The form field name.
    name: &'static str,
    /// Visible rows.
    rows: u32,
    /// The text shown in the box (user text: escaped here).
    #[prop(into)]
    value: String,
    /// Optional placeholder.
    #[prop(optional)]
    placeholder: Option<&'static str>,
    /// Whether the field is required.
    #[prop(optional)]
    required: bool,
) -> impl IntoView {
    let text = escape_text(&value);
    view! {
        <textarea id=id name=name rows=rows.to_string() required=required placeholder=placeholder>{text}</textarea>
    }
}

/// Escapes text for an HTML raw-text context (`&`, `<`, `>`); browsers decode it back inside a
/// `<textarea>`, so the person sees exactly what was stored.
pub fn escape_text(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

/// Percent-encodes a string for use in a query parameter.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `<textarea>` in the pages goes through [`TextArea`]; a raw one would write its text
    /// unescaped (the renderer treats textarea children as raw text).
    #[test]
    fn no_raw_textarea_outside_the_component() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![dir];
        let mut offenders = Vec::new();
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("read src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("read file");
                    for (i, line) in text.lines().enumerate() {
                        let raw = ["<textarea", "<noscript", "<style", "<script"]
                            .iter()
                            .any(|tag| line.contains(tag));
                        let allowed = line.contains("<textarea id=id name=name")
                            || line.contains("<script type=\"module\" inner_html=code>")
                            // An empty element loading a same-origin file: no text to escape.
                            || (line.contains("<script src=\"/") && line.contains("></script>"))
                            || line.trim_start().starts_with("//")
                            || line.contains("\"<");
                        if raw && !allowed {
                            offenders.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                i + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "raw-text elements written directly (use TextArea):\n{}",
            offenders.join("\n")
        );
    }

    /// The navigation is a disclosure (a menu on phones, without script) with the current page
    /// marked once, and the open on-call count is on its control too.
    #[test]
    fn shell_navigation_is_a_menu_marking_the_current_page() {
        TEST_OPEN_ONCALL.set(Some(2));
        let owner = Owner::new();
        let html = owner.with(|| {
            let viewer = Viewer {
                name: Some("Aisha".into()),
                is_admin: true,
                is_responder: true,
                csrf: Some("t".into()),
            };
            view! { <Shell viewer=viewer nav=Nav::Profile>"body"</Shell> }.to_html()
        });
        TEST_OPEN_ONCALL.set(None);
        let menu = html.find("<details class=\"menu\">").expect("menu");
        let summary = html.find("<summary>").expect("summary");
        let nav = html.find("<nav aria-label=\"Main\">").expect("nav");
        assert!(menu < summary && summary < nav, "{html}");
        assert!(html[summary..nav].contains("Menu"), "{html}");
        assert!(
            html[summary..nav].contains("2 open on-call incidents"),
            "{html}"
        );
        assert_eq!(html.matches("aria-current=\"page\"").count(), 1, "{html}");
        assert!(
            html.contains("<a href=\"/profile\" aria-current=\"page\">"),
            "{html}"
        );
        assert!(html.contains("class=\"topbar long\""), "{html}");
    }

    #[test]
    fn textarea_escapes_its_text() {
        let owner = Owner::new();
        let html = owner.with(|| {
            view! { <TextArea id="b" name="body" rows=3 value="</textarea><script>alert(1)</script> & more"/> }
                .to_html()
        });
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("</textarea><"), "{html}");
        assert!(
            html.contains(
                "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</textarea>"
            ),
            "{html}"
        );
    }
}
