//! The SMS provider's callbacks: replies (`POST /webhooks/sms`: "1" acknowledges, "2"
//! resolves, "1 12" names the incident) and delivery reports (`POST /webhooks/sms/status`).
//! Both are signed with the account's auth token (`X-Twilio-Signature` over the URL as
//! configured in `base_url` and the form); anything unsigned or mis-signed is refused with 403
//! before it is read. A reply acts only for the person whose verified number sent it, only on
//! incidents they were texted about, and through the same store call as the web's buttons.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::notify::sms::{twiml, verify_signature};
use crate::state::AppState;
use app::domain::account::Role;
use app::domain::notify::{decide_reply, parse_reply, Reply, ReplyAction, ReplyDecision};
use app::domain::oncall::Act;

/// Replies one number may send per window before they are ignored.
pub const REPLIES_PER_WINDOW: i64 = 20;
/// The replies' rate-limit window.
pub const REPLY_WINDOW_MS: i64 = 10 * 60_000;

fn xml(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The form's fields, if the request is signed by the provider; else the refusal.
fn signed_form(
    state: &AppState,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, (StatusCode, &'static str)> {
    let Some(sms) = &state.config.sms else {
        return Err((StatusCode::NOT_FOUND, "SMS is not set up on this server"));
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let url = format!("{}{path}", state.config.base_url);
    let signed = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sig| verify_signature(&sms.auth_token, &url, &params, sig));
    if !signed {
        tracing::warn!(%url, "refused an SMS callback without a valid X-Twilio-Signature");
        return Err((
            StatusCode::FORBIDDEN,
            "X-Twilio-Signature is missing or does not sign this request",
        ));
    }
    Ok(params)
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// How long a reply's message id is remembered (far longer than any provider retries).
const SID_KEPT_MS: i64 = 30 * 86_400_000;

/// `POST /webhooks/sms`: a reply to a page. Answers in TwiML with what happened.
pub async fn reply(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match signed_form(&state, &uri, &headers, &body) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    match answer(&state, &params).await {
        Ok(text) => xml(twiml(text.as_deref())),
        Err(e) => {
            tracing::error!(error = %e, "answering an SMS reply failed");
            // A 5xx makes the provider try again; the reply is worth acting on.
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}

async fn answer(
    state: &AppState,
    params: &[(String, String)],
) -> Result<Option<String>, crate::store::StoreError> {
    let from = field(params, "From").trim();
    let now = state.clock.now_ms();
    let hits = state
        .store
        .rate_limit_hit(&format!("sms-from:{from}"), REPLY_WINDOW_MS, now)
        .await?;
    if hits > REPLIES_PER_WINDOW {
        // Silence: answering would be one more text to a number that sends too many.
        return Ok(None);
    }
    let Some(sender) = state.store.sms_sender(from).await? else {
        return Ok(Some(
            "Firstline does not know this number. Add and verify it on your profile to answer pages by text."
                .into(),
        ));
    };
    let user = state.store.user(&sender.user_id).await?;
    if !user.is_active() || user.role == Role::Viewer {
        return Ok(Some(
            "Your Firstline account cannot acknowledge or resolve incidents.".into(),
        ));
    }
    let open = state.store.sms_open_pages(&sender.contact_id).await?;
    let reply = parse_reply(field(params, "Body"));
    // A bare "1" is about what still needs someone; a number or "2" may name any open one.
    let bare_ack = matches!(
        reply,
        Reply::Act {
            action: ReplyAction::Acknowledge,
            number: None
        }
    );
    let about: Vec<_> = open
        .iter()
        .filter(|o| !(bare_ack && o.acknowledged))
        .map(|o| o.about.clone())
        .collect();
    let (action, number) = match decide_reply(reply, &about) {
        ReplyDecision::Answer(text) => return Ok(Some(text)),
        ReplyDecision::Act(action, number) => (action, number),
    };
    let Some(inc) = open.iter().find(|o| o.about.number == number) else {
        return Ok(Some(format!("#{number} is not open.")));
    };
    let act = match action {
        ReplyAction::Acknowledge => Act::Acknowledge,
        ReplyAction::Resolve => Act::Resolve,
    };
    let title = app::domain::notify::short(&app::domain::notify::clean(&inc.about.title), 60);
    // The provider's id of this text is spent with the action: a replayed request (captured,
    // or the provider retrying) acts once. Twilio's signature has no timestamp of its own.
    let sid = field(params, "MessageSid").trim();
    if sid.is_empty() {
        return Ok(Some("This text could not be matched to a page.".into()));
    }
    match state
        .store
        .act_by_link(
            &format!("sms:{sid}"),
            now + SID_KEPT_MS,
            &inc.incident_id,
            &user.id,
            "sms",
            &act,
            now,
        )
        .await
    {
        Ok(crate::store::LinkUse::Used) => Ok(None),
        Ok(crate::store::LinkUse::Acted(_)) => {
            Ok(Some(format!("{} #{number} {title}", action.done())))
        }
        Ok(crate::store::LinkUse::Unchanged(_)) => Ok(Some(format!(
            "#{number} {title} was already {}.",
            match action {
                ReplyAction::Acknowledge => "acknowledged",
                ReplyAction::Resolve => "resolved",
            }
        ))),
        Err(e) => Err(e),
    }
}

/// `POST /webhooks/sms/status`: the provider's delivery report for a message.
pub async fn status(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match signed_form(&state, &uri, &headers, &body) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    let sid = field(&params, "MessageSid");
    let delivered = match field(&params, "MessageStatus") {
        "delivered" => true,
        "failed" | "undelivered" => false,
        // queued, sent, ...: nothing to record yet.
        _ => return StatusCode::NO_CONTENT.into_response(),
    };
    if sid.is_empty() {
        return (StatusCode::BAD_REQUEST, "MessageSid: missing").into_response();
    }
    let error = match field(&params, "ErrorCode") {
        "" => format!("the SMS was {}", field(&params, "MessageStatus")),
        code => format!(
            "the SMS was {} (provider error {code})",
            field(&params, "MessageStatus")
        ),
    };
    match state
        .store
        .sms_delivery(sid, delivered, &error, state.clock.now_ms())
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "recording an SMS delivery report failed");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}
