//! The profile's contact methods beyond the first email: add a phone for SMS, a chat webhook
//! or a signed webhook; send a code through a method and check it; send a test; and the
//! personal notification rules. Each form needs the session and its CSRF token, acts only on
//! the person's own methods, and answers with the profile page: a sentence next to the field
//! on a mistake (what was typed kept), the provider's answer after a send.

use app::domain::notify::{normalize_phone, ChatFlavor, MethodKind, RuleInput};
use app::domain::permission::{self, Action, Relation};
use app::domain::ValidationError;
use app::pages::contacts::{ContactForms, ContactsPanel};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::profile::panel_page;
use crate::http::error::AppError;
use crate::http::session::{actor, check_csrf, Member, ValidForm};
use crate::notify::verify::{code_hash, send_code, send_test, SendOutcome};
use crate::state::AppState;
use crate::store::{ContactMethod, SessionInfo, StoreError};

/// Codes and tests one person may send per window.
pub const SENDS_PER_WINDOW: i64 = 5;
/// The window of that limit.
pub const SEND_WINDOW_MS: i64 = 10 * 60_000;
const LABEL_MAX: usize = 60;
const URL_MAX: usize = 500;

fn own(me: &SessionInfo) -> Result<(), AppError> {
    permission::check(
        Some(actor(me)),
        Relation::default(),
        &Action::EditContacts { owner: &me.user.id },
    )?;
    Ok(())
}

fn label(raw: &str) -> Result<Option<String>, ValidationError> {
    app::domain::validate::optional_text("label", raw, LABEL_MAX)
}

/// Form: a new method of some kind.
#[derive(Deserialize)]
pub struct MethodForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    flavor: String,
    #[serde(default)]
    label: String,
}

impl MethodForm {
    fn kept(&self, at: &str, e: ValidationError) -> ContactsPanel {
        let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        let mut forms = ContactForms {
            label: cut(&self.label, LABEL_MAX),
            ..Default::default()
        };
        match at {
            "sms" => forms.phone = cut(&self.phone, 32),
            "chat" => {
                forms.chat_url = cut(&self.url, URL_MAX);
                forms.chat_flavor = cut(&self.flavor, 20);
            }
            _ => forms.webhook_url = cut(&self.url, URL_MAX),
        }
        ContactsPanel {
            forms,
            at: at.into(),
            error: Some(e),
            ..Default::default()
        }
    }
}

fn check_url(state: &AppState, raw: &str) -> Result<String, ValidationError> {
    let url = raw.trim();
    if url.is_empty() {
        return Err(ValidationError::new("url", "enter the webhook's URL"));
    }
    if url.len() > URL_MAX {
        return Err(ValidationError::new(
            "url",
            format!("the URL is longer than {URL_MAX} characters"),
        ));
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ValidationError::new(
            "url",
            "the URL starts with https:// (or http://)",
        ));
    }
    crate::outbound::check_url(url, state.outbound.policy())
        .map_err(|r| ValidationError::new("url", format!("Firstline may not call it: {r}")))?;
    Ok(url.to_string())
}

async fn add(
    state: &AppState,
    me: &SessionInfo,
    form: &MethodForm,
    at: &str,
    kind: MethodKind,
    target: Result<String, ValidationError>,
    config: serde_json::Value,
) -> Result<Result<String, Response>, AppError> {
    let checked = target.and_then(|t| Ok((t, label(&form.label)?)));
    let (target, label) = match checked {
        Ok(v) => v,
        Err(e) => {
            return Ok(Err(panel_page(
                state,
                me,
                form.kept(at, e),
                StatusCode::BAD_REQUEST,
            )
            .await?))
        }
    };
    match state
        .store
        .add_contact(
            &me.user.id,
            kind,
            &target,
            label.as_deref(),
            &config,
            state.clock.now_ms(),
        )
        .await
    {
        Ok(id) => Ok(Ok(id)),
        Err(StoreError::Conflict { .. }) => {
            let field = if kind == MethodKind::Sms {
                "phone"
            } else {
                "url"
            };
            let e = ValidationError::new(field, "you already have this one");
            Ok(Err(panel_page(
                state,
                me,
                form.kept(at, e),
                StatusCode::CONFLICT,
            )
            .await?))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /profile/contacts/sms`: add a phone number for texts.
pub async fn add_sms(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(form): ValidForm<MethodForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    own(&me)?;
    let number = if state.config.sms.is_none() {
        Err(ValidationError::new(
            "phone",
            "SMS is not set up on this server",
        ))
    } else {
        normalize_phone(&form.phone)
    };
    match add(
        &state,
        &me,
        &form,
        "sms",
        MethodKind::Sms,
        number,
        json!({}),
    )
    .await?
    {
        Ok(_) => Ok(Redirect::to("/profile?done=method_added").into_response()),
        Err(page) => Ok(page),
    }
}

/// `POST /profile/contacts/chat`: add a chat incoming webhook.
pub async fn add_chat(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(form): ValidForm<MethodForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    own(&me)?;
    let url = check_url(&state, &form.url);
    let flavor = match form.flavor.trim() {
        "" => Ok(url
            .as_deref()
            .ok()
            .and_then(ChatFlavor::guess)
            .unwrap_or(ChatFlavor::Slack)),
        f => ChatFlavor::parse(f).ok_or_else(|| {
            ValidationError::new("flavor", "choose Slack, Mattermost, Discord or Zulip")
        }),
    };
    let (url, flavor) = match (url, flavor) {
        (Ok(u), Ok(f)) => (Ok(u), f),
        (Err(e), _) | (_, Err(e)) => (Err(e), ChatFlavor::Slack),
    };
    let config = json!({ "flavor": flavor.as_str() });
    match add(&state, &me, &form, "chat", MethodKind::Chat, url, config).await? {
        Ok(_) => Ok(Redirect::to("/profile?done=method_added").into_response()),
        Err(page) => Ok(page),
    }
}

/// `POST /profile/contacts/webhook`: add a signed webhook; its secret is shown once, on the
/// page this answers with.
pub async fn add_webhook(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(form): ValidForm<MethodForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    own(&me)?;
    let secret = crate::notify::webhook::new_secret();
    let url = check_url(&state, &form.url);
    let config = json!({ "secret": secret });
    match add(
        &state,
        &me,
        &form,
        "webhook",
        MethodKind::Webhook,
        url,
        config,
    )
    .await?
    {
        Ok(id) => {
            let panel = ContactsPanel {
                at: id.clone(),
                notice: Some(
                    "Webhook added. Send it a code and enter the code to start using it.".into(),
                ),
                secret: Some((id, secret)),
                ..Default::default()
            };
            panel_page(&state, &me, panel, StatusCode::OK).await
        }
        Err(page) => Ok(page),
    }
}

/// Form: the CSRF token, and a code when verifying.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

async fn mine(state: &AppState, me: &SessionInfo, id: &str) -> Result<ContactMethod, AppError> {
    state
        .store
        .contact_methods(&me.user.id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(AppError::NotFound)
}

/// Counts a send against the person's limit; `Some(page)` (429) when over it.
async fn limited(
    state: &AppState,
    me: &SessionInfo,
    id: &str,
) -> Result<Option<Response>, AppError> {
    let n = state
        .store
        .rate_limit_hit(
            &format!("contact-send:{}", me.user.id),
            SEND_WINDOW_MS,
            state.clock.now_ms(),
        )
        .await?;
    if n <= SENDS_PER_WINDOW {
        return Ok(None);
    }
    let panel = ContactsPanel {
        at: id.to_string(),
        error: Some(ValidationError::new(
            "code",
            format!(
                "You sent {SENDS_PER_WINDOW} codes or tests in the last 10 minutes; wait a few minutes, then try again."
            ),
        )),
        ..Default::default()
    };
    Ok(Some(
        panel_page(state, me, panel, StatusCode::TOO_MANY_REQUESTS).await?,
    ))
}

fn outcome_panel(id: &str, outcome: SendOutcome, what: &str) -> (ContactsPanel, StatusCode) {
    match outcome {
        SendOutcome::Sent(via) => (
            ContactsPanel {
                at: id.into(),
                notice: Some(format!("{what} sent by {via}.")),
                ..Default::default()
            },
            StatusCode::OK,
        ),
        SendOutcome::Failed(why) => (
            ContactsPanel {
                at: id.into(),
                error: Some(ValidationError::new(
                    "send",
                    format!("The {} could not be sent: {why}", what.to_lowercase()),
                )),
                ..Default::default()
            },
            StatusCode::BAD_GATEWAY,
        ),
    }
}

/// `POST /profile/contacts/{id}/code`: send a fresh verification code through the method.
pub async fn send_method_code(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<CodeForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    own(&me)?;
    let contact = mine(&state, &me, &id).await?;
    if let Some(page) = limited(&state, &me, &id).await? {
        return Ok(page);
    }
    let outcome = send_code(&state, &me.user, &contact).await?;
    let (mut panel, status) = outcome_panel(&id, outcome, "Code");
    if let Some(n) = &mut panel.notice {
        n.push_str(" Enter it below.");
    }
    panel_page(&state, &me, panel, status).await
}

/// `POST /profile/contacts/{id}/verify`: check the code typed in.
pub async fn verify_method(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<CodeForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    own(&me)?;
    mine(&state, &me, &id).await?;
    let code = form.code.trim();
    let result = if code.is_empty() {
        Err(StoreError::Invalid(ValidationError::new(
            "code",
            "enter the code you were sent",
        )))
    } else {
        state
            .store
            .verify_contact(&me.user.id, &id, &code_hash(code), state.clock.now_ms())
            .await
    };
    match result {
        Ok(()) => Ok(Redirect::to("/profile?done=verified").into_response()),
        Err(StoreError::Invalid(e)) => {
            let panel = ContactsPanel {
                at: id,
                error: Some(e),
                ..Default::default()
            };
            panel_page(&state, &me, panel, StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /profile/contacts/{id}/test`: send a test notification through the method.
pub async fn test_method(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<CodeForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    own(&me)?;
    let contact = mine(&state, &me, &id).await?;
    // Only to a method its person proved is theirs: a test to any number or URL typed in
    // would let a member send texts (and their cost) anywhere.
    if contact.verified_at.is_none() {
        let panel = ContactsPanel {
            at: id,
            error: Some(ValidationError::new(
                "code",
                "Verify this method first: the code it was sent is its first test.",
            )),
            ..Default::default()
        };
        return panel_page(&state, &me, panel, StatusCode::BAD_REQUEST).await;
    }
    if let Some(page) = limited(&state, &me, &id).await? {
        return Ok(page);
    }
    let outcome = send_test(&state, &me.user, &contact).await;
    let (panel, status) = outcome_panel(&id, outcome, "Test");
    panel_page(&state, &me, panel, status).await
}

/// Form: a new rule.
#[derive(Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: RuleInput,
}

/// `POST /profile/rules`: add a notification rule.
pub async fn add_rule(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(form): ValidForm<RuleForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    own(&me)?;
    let methods: Vec<_> = state
        .store
        .contact_methods(&me.user.id)
        .await?
        .iter()
        .filter_map(ContactMethod::method)
        .collect();
    let refuse = |e: ValidationError, status: StatusCode| {
        let panel = ContactsPanel {
            at: "rules".into(),
            error: Some(e),
            rule_form: RuleInput {
                urgency: form.input.urgency.chars().take(10).collect(),
                contact_id: form.input.contact_id.chars().take(40).collect(),
                delay_min: form.input.delay_min.chars().take(6).collect(),
            },
            ..Default::default()
        };
        let (state, me) = (state.clone(), me.clone());
        async move { panel_page(&state, &me, panel, status).await }
    };
    let rule = match form.input.normalize(&methods) {
        Ok(r) => r,
        Err(e) => return refuse(e, StatusCode::BAD_REQUEST).await,
    };
    match state
        .store
        .add_notification_rule(&me.user.id, &rule, state.clock.now_ms())
        .await
    {
        Ok(_) => Ok(Redirect::to("/profile?done=rule_added#rules").into_response()),
        Err(StoreError::Conflict { .. }) => {
            refuse(
                ValidationError::new("delay_min", "you already have this rule"),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /profile/rules/{id}/delete`: remove one of one's rules.
pub async fn remove_rule(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<CodeForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    own(&me)?;
    state
        .store
        .remove_notification_rule(&me.user.id, &id)
        .await?;
    Ok(Redirect::to("/profile?done=rule_removed#rules").into_response())
}
