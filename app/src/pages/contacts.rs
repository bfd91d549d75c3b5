//! The profile's "how to reach me" sections: contact methods (add an email, a phone for SMS,
//! a chat webhook or a signed webhook; send a code, verify, send a test, remove) and the
//! personal notification rules per urgency. Plain forms: everything works without JavaScript,
//! and an error is a sentence next to the field it is about, with what was typed kept.

use leptos::prelude::*;

use crate::domain::notify::ChatFlavor;
use crate::domain::ValidationError;

/// A contact method on the profile page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactView {
    /// Id.
    pub id: String,
    /// `email`, `push`, `sms`, `chat` or `webhook`.
    pub kind: String,
    /// Address, number or URL.
    pub target: String,
    /// Optional label.
    pub label: Option<String>,
    /// Shown to work.
    pub verified: bool,
    /// Why it stopped working, if it did.
    pub disabled_reason: Option<String>,
}

impl ContactView {
    /// "SMS (+49...)", "Email (a@b, Work)", "Chat (Team room)".
    pub fn describe(&self) -> String {
        let kind = match self.kind.as_str() {
            "sms" => "SMS",
            "push" => "Push",
            "chat" => "Chat",
            "webhook" => "Webhook",
            _ => "Email",
        };
        let what = match (self.kind.as_str(), &self.label) {
            ("push" | "chat" | "webhook", Some(l)) => l.clone(),
            ("chat" | "webhook", None) => host(&self.target),
            (_, Some(l)) => format!("{}, {l}", self.target),
            (_, None) => self.target.clone(),
        };
        format!("{kind} ({what})")
    }
}

fn host(url: &str) -> String {
    url.split_once("://")
        .map_or(url, |(_, r)| r)
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// What the add forms hold (kept after a failed attempt).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactForms {
    /// Email form: the address.
    pub email: String,
    /// Phone form: the number as typed.
    pub phone: String,
    /// Chat form: the webhook URL.
    pub chat_url: String,
    /// Chat form: the flavour chosen.
    pub chat_flavor: String,
    /// Webhook form: the URL.
    pub webhook_url: String,
    /// The label typed in whichever form was posted.
    pub label: String,
}

/// One personal rule, shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleView {
    /// Id.
    pub id: String,
    /// `high` or `low`.
    pub urgency: String,
    /// "SMS (+49...)".
    pub method: String,
    /// Minutes after the page.
    pub delay_min: i64,
}

/// The contact and rules sections' state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactsPanel {
    /// The person's methods.
    pub methods: Vec<ContactView>,
    /// Whether this server can send SMS.
    pub sms_available: bool,
    /// The add forms' values.
    pub forms: ContactForms,
    /// Which form or method the message below is about: `email`, `sms`, `chat`, `webhook`,
    /// `rules`, or a method's id.
    pub at: String,
    /// An error for the form or method `at`.
    pub error: Option<ValidationError>,
    /// A notice for the method `at` ("Test sent by SMS to +49...").
    pub notice: Option<String>,
    /// A new webhook's secret, shown once: (method id, secret).
    pub secret: Option<(String, String)>,
    /// The person's own rules.
    pub rules: Vec<RuleView>,
    /// Per urgency without own rules: what the defaults do ("Push (Pixel 8) at once, ...").
    pub defaults: Vec<(String, String)>,
    /// The add-rule form's values.
    pub rule_form: crate::domain::notify::RuleInput,
}

/// "SMS (+49...) at once, Email (a@b) after 5 min".
pub fn plan_text(steps: &[(String, i64)]) -> String {
    if steps.is_empty() {
        return "nothing can reach you: add and verify a contact method".into();
    }
    steps
        .iter()
        .map(|(m, d)| match d {
            0 => format!("{m} at once"),
            d => format!("{m} after {d} min"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn field_error(id: String, e: Option<String>) -> impl IntoView {
    let role = e.as_ref().map(|_| "alert");
    view! { <p id=id class="field-error" role=role>{e}</p> }
}

/// The contact methods section.
#[component]
pub fn ContactMethods(panel: ContactsPanel, csrf: String) -> impl IntoView {
    let p = panel.clone();
    let err_for = move |form: &str, fields: &[&str]| -> Option<String> {
        p.error
            .as_ref()
            .filter(|e| p.at == form && (fields.is_empty() || fields.contains(&e.field.as_str())))
            .map(super::fields::plain)
    };
    let email_err = err_for("email", &[]);
    let phone_err = err_for("sms", &[]);
    let chat_err = err_for("chat", &[]);
    let hook_err = err_for("webhook", &[]);
    let invalid = |e: &Option<String>| e.as_ref().map(|_| "true");
    let (email_inv, phone_inv, chat_inv, hook_inv) = (
        invalid(&email_err),
        invalid(&phone_err),
        invalid(&chat_err),
        invalid(&hook_err),
    );
    let forms = panel.forms.clone();
    let label_for = |form: &str| {
        if panel.at == form {
            forms.label.clone()
        } else {
            String::new()
        }
    };
    let (email_label, phone_label, chat_label, hook_label) = (
        label_for("email"),
        label_for("sms"),
        label_for("chat"),
        label_for("webhook"),
    );
    let flavor_chosen = forms.chat_flavor.clone();
    let emails = panel.methods.iter().filter(|m| m.kind == "email").count();
    let c1 = csrf.clone();
    let (c2, c3, c4) = (csrf.clone(), csrf.clone(), csrf.clone());
    let list = panel.methods.clone().into_iter().map(|m| {
        let csrf = c1.clone();
        let here = panel.at == m.id;
        let err = panel.error.as_ref().filter(|_| here).map(super::fields::plain);
        let notice = panel.notice.clone().filter(|_| here);
        let secret = panel.secret.clone().filter(|(id, _)| *id == m.id).map(|(_, s)| s);
        let code_err_id = format!("code-error-{}", m.id);
        let code_inv = err.as_ref().map(|_| "true");
        let removable = m.kind != "email" || emails > 1;
        let state = match (&m.disabled_reason, m.verified) {
            (Some(r), _) => format!("stopped working: {r}"),
            (None, true) => "verified".to_string(),
            (None, false) => "not verified yet: send a code, then enter it".to_string(),
        };
        let id = m.id.clone();
        let needs_code = !m.verified || m.disabled_reason.is_some();
        view! {
            <li class="admin-row contact-method" data-contact=m.target.clone() id=format!("contact-{id}")>
                <div class="admin-row-head">
                    <strong>{m.describe()}</strong>
                    <span class="muted small">{state}</span>
                </div>
                {secret.map(|s| view! {
                    <div class="notice" role="status">
                        <p>"This webhook's signing secret, shown only now. Copy it to the receiver:"</p>
                        <input class="copy" readonly value=s aria-label="Signing secret"/>
                    </div>
                })}
                {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
                {needs_code.then(|| {
                    let csrf_a = csrf.clone();
                    let csrf_b = csrf.clone();
                    let code_id = format!("code-{id}");
                    view! {
                        <form method="post" action=format!("/profile/contacts/{id}/code") class="inline">
                            <input type="hidden" name="csrf" value=csrf_a/>
                            <button type="submit" class="button">"Send code"</button>
                        </form>
                        <form method="post" action=format!("/profile/contacts/{id}/verify") class="stack" novalidate>
                            <input type="hidden" name="csrf" value=csrf_b/>
                            <label for=code_id.clone()>"Code"</label>
                            <input id=code_id name="code" inputmode="numeric" autocomplete="one-time-code"
                                maxlength="12" aria-invalid=code_inv aria-describedby=code_err_id.clone()/>
                            {field_error(code_err_id.clone(), err.clone())}
                            <button type="submit" class="button primary">"Verify"</button>
                        </form>
                    }
                })}
                {(!needs_code).then(|| err.clone().map(|e| view! { <p class="field-error" role="alert">{e}</p> }))}
                {(!needs_code).then(|| view! {
                    <form method="post" action=format!("/profile/contacts/{id}/test") class="inline">
                        <input type="hidden" name="csrf" value=csrf.clone()/>
                        <button type="submit" class="button">"Send test notification"</button>
                    </form>
                })}
                {removable.then(|| view! {
                    <form method="post" action=format!("/profile/contacts/{id}/delete") class="inline">
                        <input type="hidden" name="csrf" value=csrf.clone()/>
                        <button type="submit" class="button">{format!("Remove {}", m.describe())}</button>
                    </form>
                })}
            </li>
        }
    }).collect_view();
    view! {
        <section class="card" aria-labelledby="contacts">
            <h2 id="contacts">"Contact methods"</h2>
            <ul class="admin-list">{list}</ul>
            <form method="post" action="/profile/contacts" class="stack" novalidate>
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <label for="contact_email">"Add an email address"</label>
                <input id="contact_email" name="email" type="email" maxlength="254" value=forms.email.clone()
                    aria-invalid=email_inv aria-describedby="contact-error"/>
                <label for="contact_label">"Label " <span class="muted">"(optional, e.g. Work)"</span></label>
                <input id="contact_label" name="label" maxlength="60" value=email_label/>
                {field_error("contact-error".into(), email_err)}
                <button type="submit" class="button">"Add email address"</button>
            </form>
            {if panel.sms_available {
                view! {
                    <form method="post" action="/profile/contacts/sms" class="stack" novalidate>
                        <input type="hidden" name="csrf" value=c2/>
                        <label for="contact_phone">"Add a phone number for SMS " <span class="muted">"(with country code, e.g. +49 151 23456789)"</span></label>
                        <input id="contact_phone" name="phone" type="tel" autocomplete="tel" maxlength="32" value=forms.phone.clone()
                            aria-invalid=phone_inv aria-describedby="phone-error"/>
                        <label for="phone_label">"Label " <span class="muted">"(optional)"</span></label>
                        <input id="phone_label" name="label" maxlength="60" value=phone_label/>
                        {field_error("phone-error".into(), phone_err)}
                        <button type="submit" class="button">"Add phone number"</button>
                    </form>
                }.into_any()
            } else {
                view! {
                    <p class="muted">"SMS is not set up on this server."</p>
                    {field_error("phone-error".into(), phone_err)}
                }.into_any()
            }}
            <form method="post" action="/profile/contacts/chat" class="stack" novalidate>
                <input type="hidden" name="csrf" value=c3/>
                <label for="chat_url">"Add a chat webhook " <span class="muted">"(an incoming webhook URL of Slack, Mattermost, Discord or Zulip)"</span></label>
                <input id="chat_url" name="url" type="url" maxlength="500" value=forms.chat_url.clone()
                    aria-invalid=chat_inv aria-describedby="chat-error"/>
                <label for="chat_flavor">"Chat service"</label>
                <select id="chat_flavor" name="flavor">
                    <option value="" selected=flavor_chosen.is_empty()>"Guess from the URL"</option>
                    {ChatFlavor::ALL.into_iter().map(|f| view! {
                        <option value=f.as_str() selected=flavor_chosen == f.as_str()>{f.label()}</option>
                    }).collect_view()}
                </select>
                <label for="chat_label">"Label " <span class="muted">"(optional, e.g. My DMs)"</span></label>
                <input id="chat_label" name="label" maxlength="60" value=chat_label/>
                {field_error("chat-error".into(), chat_err)}
                <button type="submit" class="button">"Add chat webhook"</button>
            </form>
            <form method="post" action="/profile/contacts/webhook" class="stack" novalidate>
                <input type="hidden" name="csrf" value=c4/>
                <label for="webhook_url">"Add a webhook " <span class="muted">"(signed JSON POSTs; see the webhook documentation)"</span></label>
                <input id="webhook_url" name="url" type="url" maxlength="500" value=forms.webhook_url.clone()
                    aria-invalid=hook_inv aria-describedby="webhook-error"/>
                <label for="webhook_label">"Label " <span class="muted">"(optional)"</span></label>
                <input id="webhook_label" name="label" maxlength="60" value=hook_label/>
                {field_error("webhook-error".into(), hook_err)}
                <button type="submit" class="button">"Add webhook"</button>
            </form>
        </section>
    }
}

/// The notification rules section.
#[component]
pub fn NotificationRules(panel: ContactsPanel, csrf: String) -> impl IntoView {
    let rule_err = panel
        .error
        .as_ref()
        .filter(|_| panel.at == "rules")
        .cloned();
    let err_on = |f: &str| {
        rule_err
            .as_ref()
            .filter(|e| e.field == f)
            .map(super::fields::plain)
    };
    let (urg_err, method_err, delay_err) =
        (err_on("urgency"), err_on("contact_id"), err_on("delay_min"));
    let other_err = rule_err
        .as_ref()
        .filter(|e| !["urgency", "contact_id", "delay_min"].contains(&e.field.as_str()))
        .map(super::fields::plain);
    let form = panel.rule_form.clone();
    let usable: Vec<ContactView> = panel
        .methods
        .iter()
        .filter(|m| m.verified && m.disabled_reason.is_none())
        .cloned()
        .collect();
    let per_urgency = ["high", "low"].map(|u| {
        let mine: Vec<RuleView> = panel.rules.iter().filter(|r| r.urgency == u).cloned().collect();
        let title = if u == "high" { "High urgency" } else { "Low urgency" };
        let default = panel
            .defaults
            .iter()
            .find(|(du, _)| du == u)
            .map(|(_, t)| t.clone());
        let csrf = csrf.clone();
        let steps: Vec<(String, i64)> = mine.iter().map(|r| (r.method.clone(), r.delay_min)).collect();
        view! {
            <h3>{title}</h3>
            {if mine.is_empty() {
                view! { <p>{format!("{title}: using the defaults: {}", default.unwrap_or_default())}</p> }.into_any()
            } else {
                view! {
                    <p>{format!("{title}: {}", plan_text(&steps))}</p>
                    <ul class="admin-list">
                        {mine.into_iter().map(|r| view! {
                            <li class="admin-row">
                                <span>{plan_text(&[(r.method.clone(), r.delay_min)])}</span>
                                <form method="post" action=format!("/profile/rules/{}/delete", r.id) class="inline">
                                    <input type="hidden" name="csrf" value=csrf.clone()/>
                                    <button type="submit" class="button">"Remove this rule"</button>
                                </form>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        }
    });
    let chosen_urgency = form.urgency.clone();
    let chosen_method = form.contact_id.clone();
    view! {
        <section class="card" aria-labelledby="rules">
            <h2 id="rules">"Notification rules"</h2>
            <p class="muted">"Which method reaches you when you are paged, and how long after. Rules stop the moment anyone acknowledges."</p>
            {per_urgency.into_iter().collect_view()}
            {other_err.map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            <form method="post" action="/profile/rules" class="stack" novalidate>
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <label for="rule_urgency">"Urgency"</label>
                <select id="rule_urgency" name="urgency" aria-describedby="rule-urgency-error">
                    <option value="high" selected=chosen_urgency != "low">"High"</option>
                    <option value="low" selected=chosen_urgency == "low">"Low"</option>
                </select>
                {field_error("rule-urgency-error".into(), urg_err)}
                <label for="rule_method">"Method " <span class="muted">"(verified ones)"</span></label>
                <select id="rule_method" name="contact_id" aria-describedby="rule-method-error">
                    {usable.into_iter().map(|m| view! {
                        <option value=m.id.clone() selected=chosen_method == m.id>{m.describe()}</option>
                    }).collect_view()}
                </select>
                {field_error("rule-method-error".into(), method_err)}
                <label for="rule_delay">"Minutes after the page " <span class="muted">"(0 = at once)"</span></label>
                <input id="rule_delay" name="delay_min" inputmode="numeric" maxlength="4" value=form.delay_min.clone()
                    aria-describedby="rule-delay-error"/>
                {field_error("rule-delay-error".into(), delay_err)}
                <button type="submit" class="button">"Add rule"</button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_plans_read_as_sentences() {
        let m = |kind: &str, target: &str, label: Option<&str>| ContactView {
            kind: kind.into(),
            target: target.into(),
            label: label.map(str::to_string),
            ..Default::default()
        };
        assert_eq!(
            m("sms", "+4915123456789", None).describe(),
            "SMS (+4915123456789)"
        );
        assert_eq!(
            m("push", "https://push.example/x", Some("Pixel 8")).describe(),
            "Push (Pixel 8)"
        );
        assert_eq!(
            m("chat", "https://hooks.slack.com/services/T/B/secret", None).describe(),
            "Chat (hooks.slack.com)",
            "a webhook URL's path (its secret) is not shown"
        );
        assert_eq!(
            m("email", "a@b.org", Some("Work")).describe(),
            "Email (a@b.org, Work)"
        );
        assert_eq!(
            plan_text(&[
                ("Push (Pixel 8)".into(), 0),
                ("SMS (+49)".into(), 2),
                ("Email (a@b)".into(), 5)
            ]),
            "Push (Pixel 8) at once, SMS (+49) after 2 min, Email (a@b) after 5 min"
        );
        assert!(plan_text(&[]).starts_with("nothing can reach you"));
    }
}
