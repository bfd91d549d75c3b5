//! Proving a contact method works before it is used: a six-digit code goes out through it, and
//! the person types it in on their profile (a push device's service worker sends it back by
//! itself). Also "send me a test notification". Both send at once, from the request, so the
//! person sees the provider's answer; both are cheap for a stranger to ask for only once logged
//! in, and the handlers rate-limit them per person.

use std::time::Duration;

use rand::Rng;
use sha2::{Digest, Sha256};

use super::{Outgoing, Purpose, SendFailure};
use crate::state::AppState;
use crate::store::{ContactMethod, StoreError};
use app::domain::account::User;
use app::domain::escalation::Urgency;
use app::domain::notify::CODE_TTL_MS;

/// How long one code or test send may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// SHA-256 hex of a code, as stored.
pub fn code_hash(code: &str) -> String {
    Sha256::digest(code.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a send from a request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Out, through this ("SMS to +49...").
    Sent(String),
    /// Not out; the sentence says why (the provider's answer).
    Failed(String),
}

fn base(user: &User, contact: &ContactMethod, purpose: Purpose) -> Option<Outgoing> {
    let to = contact.contact()?;
    Some(Outgoing {
        key: format!("{}:{}", contact.id, crate::store::new_id()),
        user_id: user.id.clone(),
        user_name: user.name.clone(),
        contact: to,
        purpose,
        urgency: Urgency::Low,
        subject: String::new(),
        lines: Vec::new(),
        items: Vec::new(),
        open: 0,
        url: String::new(),
    })
}

async fn send(state: &AppState, out: &Outgoing) -> SendOutcome {
    match tokio::time::timeout(SEND_TIMEOUT, state.services.notifier.send(out)).await {
        Ok(Ok(sent)) => SendOutcome::Sent(sent.via),
        Ok(Err(SendFailure::Retry(e) | SendFailure::Gone(e))) => SendOutcome::Failed(e),
        Err(_) => SendOutcome::Failed(format!(
            "the {} provider did not answer within {} s",
            out.contact.kind.label(),
            SEND_TIMEOUT.as_secs()
        )),
    }
}

/// Sends a fresh code through `contact` (one of `user`'s) and stores its hash; the code
/// before it stops working.
pub async fn send_code(
    state: &AppState,
    user: &User,
    contact: &ContactMethod,
) -> Result<SendOutcome, StoreError> {
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let now = state.clock.now_ms();
    state
        .store
        .set_verification(&user.id, &contact.id, &code_hash(&code), now + CODE_TTL_MS)
        .await?;
    let Some(mut out) = base(user, contact, Purpose::Verify { code: code.clone() }) else {
        return Ok(SendOutcome::Failed("unknown kind of contact method".into()));
    };
    out.subject = format!("Your Firstline code: {code}");
    out.lines = vec![format!(
        "Your Firstline verification code is {code}. It works for 15 minutes."
    )];
    out.url = format!("{}/profile", state.config.base_url);
    Ok(send(state, &out).await)
}

/// Sends "this is a test" through `contact`, verified or not.
pub async fn send_test(state: &AppState, user: &User, contact: &ContactMethod) -> SendOutcome {
    let Some(mut out) = base(user, contact, Purpose::Test) else {
        return SendOutcome::Failed("unknown kind of contact method".into());
    };
    out.subject = "Firstline test notification".into();
    out.lines = vec![format!(
        "This is a test from Firstline for {}. Pages will reach you here.",
        user.name
    )];
    out.url = format!("{}/profile", state.config.base_url);
    send(state, &out).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_surrounding_space() {
        assert_eq!(code_hash(" 123456\n"), code_hash("123456"));
        assert_eq!(code_hash("123456").len(), 64);
    }
}
