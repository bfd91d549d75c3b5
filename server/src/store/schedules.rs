//! Schedules in the store: layers with their roster changes, overrides, swap requests, iCal
//! feed tokens and in-app notices. Rows map to the pure types of `domain::schedule`.

use std::collections::HashMap;

use jiff::{civil, Timestamp};

use super::tx::{sql, Tx};
use super::{found, new_id, Store, StoreError};
use app::domain::schedule::{
    Layer, Override, Restriction, RosterChange, Rotation, Schedule, ShiftLength, SwapRequest,
    SwapState, UserId,
};

/// A schedule's own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleInfo {
    /// Stable id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// The zone the calendar is shown in by default.
    pub time_zone: String,
    /// Secret token of the schedule's iCal feed.
    pub ical_token: String,
    /// Not published yet: shown to admins only, no gap warnings, not an escalation target.
    pub draft: bool,
}

#[derive(sqlx::FromRow)]
struct ScheduleRow {
    id: String,
    name: String,
    description: Option<String>,
    time_zone: String,
    ical_token: String,
    published_at: Option<i64>,
}

impl From<ScheduleRow> for ScheduleInfo {
    fn from(r: ScheduleRow) -> Self {
        ScheduleInfo {
            id: r.id,
            name: r.name,
            description: r.description,
            time_zone: r.time_zone,
            ical_token: r.ical_token,
            draft: r.published_at.is_none(),
        }
    }
}

/// Everything needed to expand a schedule over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleFull {
    /// The schedule's fields.
    pub info: ScheduleInfo,
    /// The pure schedule: layers (lowest first) and overrides overlapping the loaded window.
    pub schedule: Schedule,
    /// Override notes and authors, by override id.
    pub override_notes: Vec<(String, Option<String>)>,
}

/// A layer as submitted, validated by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerDraft {
    /// Display name.
    pub name: String,
    /// IANA zone of the hand-off time and restrictions.
    pub time_zone: String,
    /// First hand-off, local wall-clock time.
    pub start: civil::DateTime,
    /// Shift length.
    pub shift: ShiftLength,
    /// Weekly windows (empty: always).
    pub restrictions: Vec<Restriction>,
}

/// A swap request with where it belongs.
#[derive(Debug, Clone, PartialEq)]
pub struct SwapRecord {
    /// The schedule it is on.
    pub schedule_id: String,
    /// The request and its state.
    pub request: SwapRequest,
    /// The requester's note.
    pub note: Option<String>,
}

/// A notice to leave for a user, written in the same transaction as the change it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeDraft {
    /// Whom it is for.
    pub user_id: String,
    /// The sentence.
    pub message: String,
    /// Where it leads.
    pub link: Option<String>,
    /// The same news for the person's contact methods (a [`super::ShiftNotice`], queued with
    /// the in-app notice), if it goes there too.
    pub about: Option<app::domain::notice::ShiftAbout>,
}

/// Override notes by override id, as in [`ScheduleFull::override_notes`].
type OverrideNotes = Vec<(String, Option<String>)>;

/// A notice row: id, message, link, created_at, read_at.
type NoticeRow = (String, String, Option<String>, i64, Option<i64>);

/// An in-app notice for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Id.
    pub id: String,
    /// The sentence.
    pub message: String,
    /// Where it leads.
    pub link: Option<String>,
    /// When, Unix ms.
    pub created_at: i64,
    /// Read yet.
    pub read: bool,
}

fn shift_parts(s: ShiftLength) -> (&'static str, i64) {
    match s {
        ShiftLength::Hours(n) => ("hours", n as i64),
        ShiftLength::Days(n) => ("days", n as i64),
        ShiftLength::Weeks(n) => ("weeks", n as i64),
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn ts(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| corrupt("timestamp", e))
}

#[derive(sqlx::FromRow)]
struct LayerRow {
    schedule_id: String,
    id: String,
    name: String,
    time_zone: String,
    start_local: String,
    shift_unit: String,
    shift_count: i64,
    restrictions: String,
}

#[derive(sqlx::FromRow)]
struct RosterRow {
    layer_id: String,
    effective_from: i64,
    participants: String,
}

#[derive(sqlx::FromRow)]
struct OverrideRow {
    schedule_id: String,
    id: String,
    user_id: String,
    replaces_user_id: Option<String>,
    start_at: i64,
    end_at: i64,
    note: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SwapRow {
    id: String,
    schedule_id: String,
    requester_id: String,
    start_at: i64,
    end_at: i64,
    note: Option<String>,
    state: String,
    resolved_by: Option<String>,
}

impl TryFrom<SwapRow> for SwapRecord {
    type Error = StoreError;
    fn try_from(r: SwapRow) -> Result<Self, StoreError> {
        let by = || r.resolved_by.clone().unwrap_or_default();
        let state = match r.state.as_str() {
            "open" => SwapState::Open,
            "accepted" => SwapState::Accepted { by: by() },
            "declined" => SwapState::Declined { by: by() },
            "withdrawn" => SwapState::Withdrawn,
            other => return Err(corrupt("swap state", other)),
        };
        Ok(SwapRecord {
            schedule_id: r.schedule_id,
            note: r.note,
            request: SwapRequest {
                id: r.id,
                requester: r.requester_id,
                start: ts(r.start_at)?,
                end: ts(r.end_at)?,
                state,
            },
        })
    }
}

fn state_name(s: &SwapState) -> &'static str {
    match s {
        SwapState::Open => "open",
        SwapState::Accepted { .. } => "accepted",
        SwapState::Declined { .. } => "declined",
        SwapState::Withdrawn => "withdrawn",
    }
}

const INSERT_OVERRIDE: &str = "INSERT INTO schedule_overrides (id, schedule_id, user_id, \
    replaces_user_id, start_at, end_at, note, created_by, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const INSERT_NOTICE: &str =
    "INSERT INTO notices (id, user_id, message, link, created_at) VALUES ($1, $2, $3, $4, $5)";
const SCHEDULE_COLS: &str = "id, name, description, time_zone, ical_token, published_at";
const SWAP_COLS: &str = "id, schedule_id, requester_id, start_at, end_at, note, state, resolved_by";

impl Store {
    /// Creates a published schedule; returns its id.
    pub async fn create_schedule(
        &self,
        name: &str,
        description: Option<&str>,
        time_zone: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        self.insert_schedule(name, description, time_zone, now, Some(now))
            .await
    }

    /// Creates a draft schedule (see [`ScheduleInfo::draft`]); returns its id.
    pub async fn create_draft_schedule(
        &self,
        name: &str,
        time_zone: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        self.insert_schedule(name, None, time_zone, now, None).await
    }

    /// Publishes a draft schedule (a published one stays as it is).
    pub async fn publish_schedule(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE schedules SET published_at = COALESCE(published_at, $1), updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn insert_schedule(
        &self,
        name: &str,
        description: Option<&str>,
        time_zone: &str,
        now: i64,
        published_at: Option<i64>,
    ) -> Result<String, StoreError> {
        let id = new_id();
        let token = app::ssr::auth::random_token();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO schedules (id, name, description, time_zone, ical_token, created_at, updated_at, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)")
            .bind(&id)
            .bind(name)
            .bind(description)
            .bind(time_zone)
            .bind(&token)
            .bind(now)
            .bind(published_at)
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(|e| super::map_unique(e, "name"))?;
        Ok(id)
    }

    /// All schedules, by name.
    pub async fn list_schedules(&self) -> Result<Vec<ScheduleInfo>, StoreError> {
        let sql = format!("SELECT {SCHEDULE_COLS} FROM schedules ORDER BY name");
        let rows: Vec<ScheduleRow> = on_pool!(self, p => sqlx::query_as(&sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// One schedule's fields.
    pub async fn schedule_info(&self, id: &str) -> Result<ScheduleInfo, StoreError> {
        let sql = format!("SELECT {SCHEDULE_COLS} FROM schedules WHERE id = $1");
        let row: Option<ScheduleRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        Ok(row.ok_or(StoreError::NotFound)?.into())
    }

    /// The schedule whose iCal token this is.
    pub async fn schedule_by_ical_token(&self, token: &str) -> Result<ScheduleInfo, StoreError> {
        let sql = format!("SELECT {SCHEDULE_COLS} FROM schedules WHERE ical_token = $1");
        let row: Option<ScheduleRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(token).fetch_optional(p).await)?;
        Ok(row.ok_or(StoreError::NotFound)?.into())
    }

    /// Replaces the schedule's iCal token (the old URL stops working); returns the new one.
    pub async fn rotate_schedule_ical_token(&self, id: &str) -> Result<String, StoreError> {
        let token = app::ssr::auth::random_token();
        let n = on_pool!(self, p => sqlx::query("UPDATE schedules SET ical_token = $1 WHERE id = $2")
            .bind(&token)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(token)
    }

    /// Loads the schedule with its layers and the overrides that overlap `[from, to)`.
    pub async fn schedule_full(
        &self,
        id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ScheduleFull, StoreError> {
        self.load_schedules(Some(id), from, to)
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    /// Every schedule (by name) with its layers and the overrides that overlap `[from, to)`,
    /// in four queries whatever the number of schedules.
    pub async fn schedules_full(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ScheduleFull>, StoreError> {
        self.load_schedules(None, from, to).await
    }

    /// One schedule (`only`) or all, read in one transaction so the four queries agree.
    async fn load_schedules(
        &self,
        only: Option<&str>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ScheduleFull>, StoreError> {
        // `$1 IS NULL` (all schedules) or an equality the indexes can serve (one).
        let (on_schedule, on_id) = match only {
            Some(_) => ("schedule_id = $1", "id = $1"),
            None => ("$1 IS NULL", "$1 IS NULL"),
        };
        let schedules_sql =
            format!("SELECT {SCHEDULE_COLS} FROM schedules WHERE {on_id} ORDER BY name");
        let layers_sql = format!(
            "SELECT schedule_id, id, name, time_zone, start_local, shift_unit, shift_count, restrictions \
             FROM schedule_layers WHERE {on_schedule} ORDER BY schedule_id, position, created_at"
        );
        let rosters_sql = format!(
            "SELECT layer_id, effective_from, participants FROM layer_rosters \
             WHERE layer_id IN (SELECT id FROM schedule_layers WHERE {on_schedule}) \
             ORDER BY layer_id, effective_from"
        );
        let overrides_sql = format!(
            "SELECT schedule_id, id, user_id, replaces_user_id, start_at, end_at, note \
             FROM schedule_overrides WHERE {on_schedule} AND end_at > $2 AND start_at < $3 \
             ORDER BY created_at, id"
        );
        let (infos, layers, rosters, overrides): (
            Vec<ScheduleRow>,
            Vec<LayerRow>,
            Vec<RosterRow>,
            Vec<OverrideRow>,
        ) = on_pool!(self, p => {
            let mut tx = super::begin_snapshot(p).await?;
            let infos = sqlx::query_as(&schedules_sql)
                .bind(only)
                .fetch_all(&mut *tx)
                .await?;
            let layers = sqlx::query_as(&layers_sql)
                .bind(only)
                .fetch_all(&mut *tx)
                .await?;
            let rosters = sqlx::query_as(&rosters_sql)
                .bind(only)
                .fetch_all(&mut *tx)
                .await?;
            let overrides = sqlx::query_as(&overrides_sql)
                .bind(only)
                .bind(from.as_millisecond())
                .bind(to.as_millisecond())
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>((infos, layers, rosters, overrides))
        })?;
        let mut rosters_of: HashMap<String, Vec<RosterChange>> = HashMap::new();
        for r in rosters {
            rosters_of
                .entry(r.layer_id)
                .or_default()
                .push(RosterChange {
                    effective_from: ts(r.effective_from)?,
                    participants: serde_json::from_str(&r.participants)
                        .map_err(|e| corrupt("participants", e))?,
                });
        }
        let mut layers_of: HashMap<String, Vec<Layer>> = HashMap::new();
        for l in layers {
            let shift = match l.shift_unit.as_str() {
                "hours" => ShiftLength::Hours(l.shift_count as u32),
                "days" => ShiftLength::Days(l.shift_count as u32),
                "weeks" => ShiftLength::Weeks(l.shift_count as u32),
                other => return Err(corrupt("shift unit", other)),
            };
            let start: civil::DateTime = l
                .start_local
                .parse()
                .map_err(|e| corrupt("start_local", e))?;
            let restrictions: Vec<Restriction> =
                serde_json::from_str(&l.restrictions).map_err(|e| corrupt("restrictions", e))?;
            let rosters = rosters_of.remove(&l.id).unwrap_or_default();
            layers_of.entry(l.schedule_id).or_default().push(Layer {
                id: l.id,
                name: l.name,
                rotation: Rotation {
                    time_zone: l.time_zone,
                    start,
                    shift,
                    rosters,
                },
                restrictions,
            });
        }
        let mut overrides_of: HashMap<String, (Vec<Override>, OverrideNotes)> = HashMap::new();
        for o in overrides {
            let (list, notes) = overrides_of.entry(o.schedule_id).or_default();
            notes.push((o.id.clone(), o.note));
            list.push(Override {
                id: o.id,
                user: o.user_id,
                start: ts(o.start_at)?,
                end: ts(o.end_at)?,
                replaces: o.replaces_user_id,
            });
        }
        Ok(infos
            .into_iter()
            .map(|row| {
                let info = ScheduleInfo::from(row);
                let layers = layers_of.remove(&info.id).unwrap_or_default();
                let (overrides, override_notes) = overrides_of.remove(&info.id).unwrap_or_default();
                ScheduleFull {
                    schedule: Schedule {
                        time_zone: info.time_zone.clone(),
                        layers,
                        overrides,
                    },
                    info,
                    override_notes,
                }
            })
            .collect())
    }

    /// Adds a layer on top of the schedule's layers, with its first roster (in effect from the start).
    pub async fn create_layer(
        &self,
        schedule_id: &str,
        draft: &LayerDraft,
        participants: &[UserId],
        now: i64,
    ) -> Result<String, StoreError> {
        let id = new_id();
        let (unit, count) = shift_parts(draft.shift);
        let restrictions =
            serde_json::to_string(&draft.restrictions).map_err(|e| corrupt("restrictions", e))?;
        let roster = serde_json::to_string(participants).map_err(|e| corrupt("participants", e))?;
        let mut tx = self.begin().await?;
        tx.execute(
            sql("INSERT INTO schedule_layers (id, schedule_id, name, position, time_zone, start_local, \
                 shift_unit, shift_count, restrictions, created_at, updated_at) \
                 VALUES ($1, $2, $3, (SELECT COALESCE(MAX(position), 0) + 1 FROM schedule_layers WHERE schedule_id = $2), \
                 $4, $5, $6, $7, $8, $9, $9)")
            .bind(&id)
            .bind(schedule_id)
            .bind(&draft.name)
            .bind(&draft.time_zone)
            .bind(draft.start.to_string())
            .bind(unit)
            .bind(count)
            .bind(&restrictions)
            .bind(now),
        )
        .await?;
        tx.execute(
            sql("INSERT INTO layer_rosters (layer_id, effective_from, participants, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&id)
                .bind(Timestamp::MIN.as_millisecond())
                .bind(&roster)
                .bind(now),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a layer's rotation settings and restrictions (its rosters stay).
    pub async fn update_layer(
        &self,
        layer_id: &str,
        draft: &LayerDraft,
        now: i64,
    ) -> Result<(), StoreError> {
        let (unit, count) = shift_parts(draft.shift);
        let restrictions =
            serde_json::to_string(&draft.restrictions).map_err(|e| corrupt("restrictions", e))?;
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE schedule_layers SET name = $1, time_zone = $2, start_local = $3, shift_unit = $4, \
             shift_count = $5, restrictions = $6, updated_at = $7 WHERE id = $8")
            .bind(&draft.name)
            .bind(&draft.time_zone)
            .bind(draft.start.to_string())
            .bind(unit)
            .bind(count)
            .bind(&restrictions)
            .bind(now)
            .bind(layer_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        found(n)
    }

    /// Sets the layer's participants from `effective_from` on; earlier shifts keep the roster
    /// they had, and roster changes planned after `effective_from` are replaced by this one.
    pub async fn set_roster(
        &self,
        layer_id: &str,
        effective_from: Timestamp,
        participants: &[UserId],
        now: i64,
    ) -> Result<(), StoreError> {
        let roster = serde_json::to_string(participants).map_err(|e| corrupt("participants", e))?;
        let from = effective_from.as_millisecond();
        let mut tx = self.begin().await?;
        let exists: Option<(String,)> = tx
            .fetch_optional(sql("SELECT id FROM schedule_layers WHERE id = $1").bind(layer_id))
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        tx.execute(
            sql("DELETE FROM layer_rosters WHERE layer_id = $1 AND effective_from >= $2")
                .bind(layer_id)
                .bind(from),
        )
        .await?;
        tx.execute(
            sql("INSERT INTO layer_rosters (layer_id, effective_from, participants, created_at) VALUES ($1, $2, $3, $4)")
                .bind(layer_id)
                .bind(from)
                .bind(&roster)
                .bind(now),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The schedule a layer belongs to.
    pub async fn layer_schedule_id(&self, layer_id: &str) -> Result<String, StoreError> {
        let row: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT schedule_id FROM schedule_layers WHERE id = $1")
            .bind(layer_id)
            .fetch_optional(p)
            .await)?;
        Ok(row.ok_or(StoreError::NotFound)?.0)
    }

    /// Removes a layer and its rosters.
    pub async fn delete_layer(&self, layer_id: &str) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM schedule_layers WHERE id = $1")
            .bind(layer_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        found(n)
    }

    /// Stores an override.
    pub async fn create_override(
        &self,
        schedule_id: &str,
        o: &Override,
        note: Option<&str>,
        by: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.create_override_with_notices(schedule_id, o, note, by, &[], now)
            .await
    }

    /// Stores an override and the notices it sends, in one transaction: both or neither.
    pub async fn create_override_with_notices(
        &self,
        schedule_id: &str,
        o: &Override,
        note: Option<&str>,
        by: Option<&str>,
        notices: &[NoticeDraft],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(
            sql(INSERT_OVERRIDE)
                .bind(&o.id)
                .bind(schedule_id)
                .bind(&o.user)
                .bind(&o.replaces)
                .bind(o.start.as_millisecond())
                .bind(o.end.as_millisecond())
                .bind(note)
                .bind(by)
                .bind(now),
        )
        .await?;
        insert_notices(&mut tx, notices, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an override of a schedule.
    pub async fn delete_override(&self, schedule_id: &str, id: &str) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM schedule_overrides WHERE id = $1 AND schedule_id = $2")
            .bind(id)
            .bind(schedule_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        found(n)
    }

    /// Opens a swap request.
    pub async fn create_swap(
        &self,
        schedule_id: &str,
        requester: &str,
        start: Timestamp,
        end: Timestamp,
        note: Option<&str>,
        now: i64,
    ) -> Result<String, StoreError> {
        self.create_swap_with_notices(schedule_id, requester, start, end, note, &[], now)
            .await
    }

    /// Opens a swap request and sends its notices (to the teammates asked), in one
    /// transaction: both or neither. Returns the request's id.
    #[expect(
        clippy::too_many_arguments,
        reason = "the columns of one row, plus its notices"
    )]
    pub async fn create_swap_with_notices(
        &self,
        schedule_id: &str,
        requester: &str,
        start: Timestamp,
        end: Timestamp,
        note: Option<&str>,
        notices: &[NoticeDraft],
        now: i64,
    ) -> Result<String, StoreError> {
        let id = new_id();
        let mut tx = self.begin().await?;
        // One open request per person and time: asking again would notify everyone twice.
        // Checked under the schedule's row lock, so two quick submits cannot both pass.
        tx.execute(
            sql("UPDATE schedules SET updated_at = updated_at WHERE id = $1").bind(schedule_id),
        )
        .await?;
        let open: Option<(String,)> = tx
            .fetch_optional(
                sql(
                    "SELECT id FROM swap_requests WHERE schedule_id = $1 AND requester_id = $2 \
                     AND state = 'open' AND start_at < $3 AND end_at > $4",
                )
                .bind(schedule_id)
                .bind(requester)
                .bind(end.as_millisecond())
                .bind(start.as_millisecond()),
            )
            .await?;
        if open.is_some() {
            return Err(StoreError::Conflict { field: "start" });
        }
        tx.execute(
            sql("INSERT INTO swap_requests (id, schedule_id, requester_id, start_at, end_at, note, state, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $7)")
            .bind(&id)
            .bind(schedule_id)
            .bind(requester)
            .bind(start.as_millisecond())
            .bind(end.as_millisecond())
            .bind(note)
            .bind(now),
        )
        .await?;
        insert_notices(&mut tx, notices, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One swap request.
    pub async fn swap(&self, id: &str) -> Result<SwapRecord, StoreError> {
        let sql = format!("SELECT {SWAP_COLS} FROM swap_requests WHERE id = $1");
        let row: Option<SwapRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Swap requests: open ones everywhere (`schedule_id` None) or all of one schedule, newest first.
    pub async fn list_swaps(
        &self,
        schedule_id: Option<&str>,
        open_only: bool,
    ) -> Result<Vec<SwapRecord>, StoreError> {
        let sql = format!(
            "SELECT {SWAP_COLS} FROM swap_requests WHERE ($1 IS NULL OR schedule_id = $1) \
             AND ($2 = 0 OR state = 'open') ORDER BY created_at DESC LIMIT 200"
        );
        let rows: Vec<SwapRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(schedule_id)
            .bind(i64::from(open_only))
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Moves an open swap request to its next state, storing the resulting override and the
    /// notices the answer sends, in one transaction. A request that is no longer open (someone
    /// else was faster) is a conflict, and then nothing is written.
    pub async fn resolve_swap(
        &self,
        next: &SwapRequest,
        created_override: Option<(&str, &Override)>,
        notices: &[NoticeDraft],
        now: i64,
    ) -> Result<(), StoreError> {
        let resolved_by = match &next.state {
            SwapState::Accepted { by } | SwapState::Declined { by } => Some(by.clone()),
            SwapState::Withdrawn => Some(next.requester.clone()),
            SwapState::Open => None,
        };
        let mut tx = self.begin().await?;
        if let Some((schedule_id, o)) = created_override {
            tx.execute(
                sql(INSERT_OVERRIDE)
                    .bind(&o.id)
                    .bind(schedule_id)
                    .bind(&o.user)
                    .bind(&o.replaces)
                    .bind(o.start.as_millisecond())
                    .bind(o.end.as_millisecond())
                    .bind("swap")
                    .bind(&resolved_by)
                    .bind(now),
            )
            .await
            .map_err(|e| super::map_unique(e, "state"))?;
        }
        // Only an open request moves on: if someone else answered it first, nothing is written.
        let n = tx
            .execute(
                sql("UPDATE swap_requests SET state = $1, resolved_by = $2, override_id = $3, updated_at = $4 \
                     WHERE id = $5 AND state = 'open'")
                .bind(state_name(&next.state))
                .bind(&resolved_by)
                .bind(created_override.map(|(_, o)| o.id.clone()))
                .bind(now)
                .bind(&next.id),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Conflict { field: "state" });
        }
        insert_notices(&mut tx, notices, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user's iCal feed token, created on first use.
    pub async fn user_ical_token(&self, user_id: &str) -> Result<String, StoreError> {
        let row: Option<(Option<String>,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT ical_token FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(p)
            .await)?;
        match row {
            None => Err(StoreError::NotFound),
            Some((Some(t),)) => Ok(t),
            Some((None,)) => self.rotate_user_ical_token(user_id).await,
        }
    }

    /// Replaces the user's iCal token (revoking the old URL); returns the new one.
    pub async fn rotate_user_ical_token(&self, user_id: &str) -> Result<String, StoreError> {
        let token = app::ssr::auth::random_token();
        let n = on_pool!(self, p => sqlx::query("UPDATE users SET ical_token = $1 WHERE id = $2")
            .bind(&token)
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(token)
    }

    /// The user whose iCal token this is.
    pub async fn user_by_ical_token(&self, token: &str) -> Result<super::User, StoreError> {
        let row: Option<super::UserRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, email, name, time_zone, role, created_at, deactivated_at FROM users \
             WHERE ical_token = $1 AND deactivated_at IS NULL")
            .bind(token)
            .fetch_optional(p)
            .await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Sets a user's time zone (already validated).
    pub async fn set_user_time_zone(&self, user_id: &str, tz: &str) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query("UPDATE users SET time_zone = $1 WHERE id = $2")
            .bind(tz)
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        found(n)
    }

    /// The user's latest notices, newest first.
    pub async fn notices(&self, user_id: &str, limit: i64) -> Result<Vec<Notice>, StoreError> {
        let rows: Vec<NoticeRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, message, link, created_at, read_at FROM notices WHERE user_id = $1 \
             ORDER BY created_at DESC, id LIMIT $2")
            .bind(user_id)
            .bind(limit)
            .fetch_all(p)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(id, message, link, created_at, read_at)| Notice {
                id,
                message,
                link,
                created_at,
                read: read_at.is_some(),
            })
            .collect())
    }
}

/// Leaves each notice for its user in the caller's transaction, so the change it reports and
/// the notice commit together.
async fn insert_notices(tx: &mut Tx, notices: &[NoticeDraft], now: i64) -> Result<(), StoreError> {
    for n in notices {
        let id = new_id();
        if let Some(about) = &n.about {
            let job = super::ShiftNotice {
                user_id: n.user_id.clone(),
                key: format!("notice:{id}"),
                about: about.clone(),
                contact_id: None,
            };
            super::notices::enqueue_notice_in(tx, &job, now).await?;
        }
        tx.execute(
            sql(INSERT_NOTICE)
                .bind(id)
                .bind(&n.user_id)
                .bind(&n.message)
                .bind(&n.link)
                .bind(now),
        )
        .await?;
    }
    Ok(())
}
