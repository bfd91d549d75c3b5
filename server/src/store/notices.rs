//! Shift notices through the contact methods: the [`ShiftNotice`] job. A swap or cover notice
//! is queued in the same transaction as the in-app notice it mirrors; reminders and hand-off
//! summaries are queued by the engine's clock, once per shift start (the dedup key).

use serde::{Deserialize, Serialize};

use super::jobs::enqueue_in;
use super::tx::Tx;
use super::{JobSpec, Queue, Store, StoreError};
use app::domain::notice::ShiftAbout;

/// Sends one shift notice to a person: without `contact_id`, it queues one job per method of
/// their low-urgency plan that is due at once; with it, it sends through that method (and is
/// retried alone when that fails).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftNotice {
    /// The recipient.
    pub user_id: String,
    /// Unique per notice: `notice:{id}`, `reminder:{schedule}:{user}:{start}`,
    /// `handoff:{schedule}:{user}:{start}`.
    pub key: String,
    /// What it says (the words are made in the recipient's time zone when sent).
    pub about: ShiftAbout,
    /// One contact method (the per-method job), or `None` (the person's plan).
    #[serde(default)]
    pub contact_id: Option<String>,
}

impl JobSpec for ShiftNotice {
    const KIND: &'static str = "shift_notice";
    const QUEUE: Queue = Queue::Pages;
    /// Below pages and their sends.
    const PRIORITY: i64 = 0;

    fn dedup_key(&self) -> Option<String> {
        Some(match &self.contact_id {
            Some(c) => format!("shift:{}:{c}", self.key),
            None => format!("shift:{}", self.key),
        })
    }
}

/// Queues `notice` in the caller's transaction.
pub(crate) async fn enqueue_notice_in(
    tx: &mut Tx,
    notice: &ShiftNotice,
    now: i64,
) -> Result<(), StoreError> {
    enqueue_in(tx, notice, now).await?;
    Ok(())
}

impl Store {
    /// Queues `notices` (a no-op for each one already queued under its key).
    pub async fn enqueue_notices(
        &self,
        notices: &[ShiftNotice],
        now: i64,
    ) -> Result<(), StoreError> {
        if notices.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for n in notices {
            enqueue_notice_in(&mut tx, n, now).await?;
        }
        tx.commit().await?;
        self.wakes().wake(super::Work::Queue(ShiftNotice::QUEUE));
        Ok(())
    }
}
