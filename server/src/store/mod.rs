//! The store: every query Firstline runs, on SQLite (embedded default) or PostgreSQL.
//!
//! Each query is written once. Reads use [`on_pool!`] to run on whichever pool is open; writes
//! run in a [`tx::Tx`], whose statements are backend-neutral, and follow one shape: load a
//! snapshot inside the transaction, ask a pure function in `app::domain` what to do, write what
//! it decided (with the jobs to queue and the live topics to announce), commit. The SQL sticks to
//! the common subset (`$n` placeholders, `ON CONFLICT`, `RETURNING`), and times are stored as
//! Unix milliseconds so both backends sort and compare them the same way.
//!
//! The nouns (users, components, incidents, monitors...) are `app::domain` types, shared with
//! the pages; each table's row struct maps onto its noun with `TryFrom`, here, and nowhere else.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use app::domain::account::NewUser;
pub use app::domain::account::{Team, User};
use app::domain::live::Topic;

/// A store failure. `Conflict` and `NotFound` are the caller's to show; the rest are bugs or outages.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique field already holds this value.
    #[error("{field} is already taken")]
    Conflict {
        /// Which field.
        field: &'static str,
    },
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// The database URL is not `sqlite:` or `postgres:`.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    BadUrl(String),
    /// Anything else the database said.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value that cannot be read back (corrupt row).
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    /// The input refers to something that does not exist or cannot be used (shown to the caller).
    #[error(transparent)]
    Invalid(#[from] app::domain::ValidationError),
    /// A worker's claim on a job no longer holds: its lease ran out (another worker may have
    /// claimed the job since), so its result was not recorded.
    #[error("the job's lease ran out before its result was recorded")]
    LeaseLost,
}

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the concrete pool of either backend.
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite($p) => $body,
            $crate::store::Db::Postgres($p) => $body,
        }
    };
}

/// How each backend starts a transaction that will write, and one that only reads but needs
/// its statements to agree (one snapshot).
pub(crate) trait WriteBegin: sqlx::Database {
    const BEGIN: &'static str;
    const BEGIN_SNAPSHOT: &'static str;
}
impl WriteBegin for sqlx::Sqlite {
    // Take the write lock up front: a deferred transaction that reads first can fail with
    // SQLITE_BUSY_SNAPSHOT when it later writes, which the busy timeout does not retry.
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    // In WAL mode a read transaction sees one snapshot from its first read on.
    const BEGIN_SNAPSHOT: &'static str = "BEGIN";
}
impl WriteBegin for sqlx::Postgres {
    const BEGIN: &'static str = "BEGIN";
    // READ COMMITTED would give each statement its own snapshot.
    const BEGIN_SNAPSHOT: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
}

/// A read-only transaction whose statements all see the same committed state.
pub(crate) async fn begin_snapshot<DB: WriteBegin>(
    pool: &sqlx::Pool<DB>,
) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error> {
    pool.begin_with(DB::BEGIN_SNAPSHOT).await
}

pub(crate) async fn begin_write<DB: WriteBegin>(
    pool: &sqlx::Pool<DB>,
) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error> {
    pool.begin_with(DB::BEGIN).await
}

/// Cheap to clone handle to the database pool.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    live: Arc<LiveHooks>,
}

/// Hears which live topics a committed write changed (the server's live hub).
pub trait Announce: Send + Sync + 'static {
    /// Called after the commit, before the write returns, so the next request already sees
    /// the change.
    fn announce<'a>(&'a self, topics: &'a [Topic])
        -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// This process's identity in cross-instance messages, and who hears its commits.
struct LiveHooks {
    instance: String,
    announcer: OnceLock<Arc<dyn Announce>>,
    wake: Wake,
    /// SQLite has one writer: this process's write transactions queue here, in order, for
    /// [`Store::begin`], instead of in SQLite's busy handler (which polls with sleeps of up to
    /// 100 ms, so under contention a write waited far longer than the writes before it took).
    write_gate: Arc<tokio::sync::Mutex<()>>,
}

/// Background work a commit can make due at once, so its workers start now instead of at
/// their next tick: on this instance directly, on the others through [`LIVE_CHANNEL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    /// The escalation engine (an incident's escalation is due).
    Escalation,
    /// A job queue's workers (a job was queued).
    Queue(Queue),
}

impl Work {
    fn key(self) -> &'static str {
        match self {
            Work::Escalation => "wake:escalation",
            Work::Queue(Queue::Pages) => "wake:pages",
            Work::Queue(Queue::Subscribers) => "wake:subscribers",
        }
    }

    fn parse(key: &str) -> Option<Work> {
        [
            Work::Escalation,
            Work::Queue(Queue::Pages),
            Work::Queue(Queue::Subscribers),
        ]
        .into_iter()
        .find(|w| w.key() == key)
    }
}

/// Wakes background workers early. Each wait ends at the next [`Wake::wake`] (or at once, if
/// one came while the worker was busy).
#[derive(Debug, Default)]
pub struct Wake {
    escalation: tokio::sync::Notify,
    pages: tokio::sync::Notify,
    subscribers: tokio::sync::Notify,
}

impl Wake {
    fn of(&self, work: Work) -> &tokio::sync::Notify {
        match work {
            Work::Escalation => &self.escalation,
            Work::Queue(Queue::Pages) => &self.pages,
            Work::Queue(Queue::Subscribers) => &self.subscribers,
        }
    }

    /// Wakes the workers of `work`.
    pub fn wake(&self, work: Work) {
        self.of(work).notify_one();
    }

    /// Waits for the next wake of `work`.
    pub async fn woken(&self, work: Work) {
        self.of(work).notified().await
    }
}

impl std::fmt::Debug for LiveHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHooks")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// The PostgreSQL channel on which every committed write announces its topics to all
/// instances, as `INSTANCE KEY KEY ...` ([`Store::read_live_message`]).
pub const LIVE_CHANNEL: &str = "firstline_live";

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    name: String,
    time_zone: String,
    role: String,
    created_at: i64,
    /// Absent from queries that do not need it (read as active).
    #[sqlx(default)]
    deactivated_at: Option<i64>,
}

/// The columns of a [`UserRow`], for `SELECT {USER_COLS} FROM users`.
pub(crate) const USER_COLS: &str = "id, email, name, time_zone, role, created_at, deactivated_at";

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            role: r
                .role
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("role {:?}", r.role)))?,
            id: r.id,
            email: r.email,
            name: r.name,
            time_zone: r.time_zone,
            created_at: r.created_at,
            deactivated_at: r.deactivated_at,
        })
    }
}

/// A session found by its token.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Who is logged in.
    pub user: User,
    /// The session's CSRF token, embedded in every form.
    pub csrf_token: String,
}

/// A short lowercase alphanumeric id (Statuspage-style), 12 characters of base 36.
pub fn new_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// `Ok` when a statement touched a row, `NotFound` otherwise.
pub(crate) fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub(crate) fn map_unique(e: sqlx::Error, field: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { field },
        _ => StoreError::Db(e),
    }
}

impl Store {
    /// Opens a pool for `url` (`sqlite://path` or `sqlite::memory:`, `postgres://...`).
    /// A SQLite file is created if missing, in WAL mode with full fsync on commit.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .min_connections(1)
                .connect_with(opts)
                .await?;
            Ok(Store::with_db(Db::Sqlite(pool)))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Store::with_db(Db::Postgres(pool)))
        } else {
            Err(StoreError::BadUrl(url.to_string()))
        }
    }

    fn with_db(db: Db) -> Store {
        Store {
            db,
            live: Arc::new(LiveHooks {
                instance: new_id(),
                announcer: OnceLock::new(),
                wake: Wake::default(),
                write_gate: Arc::default(),
            }),
        }
    }

    /// Sets who hears committed topics (once; later calls are ignored).
    pub fn set_announcer(&self, announcer: Arc<dyn Announce>) {
        let _ = self.live.announcer.set(announcer);
    }

    /// Reads a message from [`LIVE_CHANNEL`]: `INSTANCE KEY KEY ...` (one commit's keys, space
    /// separated). Returns the topics, none when this instance sent it (it has already heard its
    /// own commits); a wake for background work (`wake:...`) wakes this instance's workers, and
    /// a key that is not one of ours is skipped.
    pub fn read_live_message(&self, payload: &str) -> Vec<Topic> {
        let mut keys = payload.split(' ');
        if keys.next() == Some(self.live.instance.as_str()) {
            return Vec::new();
        }
        let mut topics = Vec::new();
        for key in keys {
            if let Some(work) = Work::parse(key) {
                self.live.wake.wake(work);
            } else if let Some(t) = Topic::parse(key) {
                topics.push(t);
            }
        }
        topics
    }

    /// This instance's background-work wakes (its own commits and, on PostgreSQL, its peers').
    pub fn wakes(&self) -> &Wake {
        &self.live.wake
    }

    /// Which backend this store talks to.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations that are not applied yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes the pool, waiting for queries in flight.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    /// A `LISTEN`ing connection on PostgreSQL; `None` on SQLite.
    pub async fn listener(
        &self,
        channel: &str,
    ) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
        match &self.db {
            Db::Postgres(p) => {
                let mut l = sqlx::postgres::PgListener::connect_with(p).await?;
                l.listen(channel).await?;
                Ok(Some(l))
            }
            Db::Sqlite(_) => Ok(None),
        }
    }

    // ---- settings ----

    /// Reads a setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let v: Option<(String,)> = on_pool!(self, p => sqlx::query_as("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(p)
            .await)?;
        Ok(v.map(|(v,)| v))
    }

    /// Stores `value` under `key` unless the key exists; returns the value now stored.
    /// Safe when several instances race to initialise the same key.
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        on_pool!(self, p => sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        self.setting(key).await?.ok_or(StoreError::NotFound)
    }

    // ---- users and teams ----

    /// Creates a user with an already-hashed password, and their login email as their first
    /// contact method.
    pub async fn create_user(
        &self,
        user: &NewUser,
        password_hash: &str,
        now: i64,
    ) -> Result<User, StoreError> {
        let mut tx = self.begin().await?;
        let created = people::insert_user(&mut tx, user, password_hash, now).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Replaces a user's password hash (and ends their sessions).
    pub async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                tx::sql("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(password_hash)
                    .bind(user_id),
            )
            .await?;
        tx.execute(tx::sql("DELETE FROM sessions WHERE user_id = $1").bind(user_id))
            .await?;
        tx.commit().await?;
        found(n)
    }

    /// Finds a user and their password hash by email (for login).
    pub async fn user_with_hash_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(User, String)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
        }
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, email, name, time_zone, role, created_at, deactivated_at, password_hash FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(p)
            .await)?;
        row.map(|r| Ok((User::try_from(r.user)?, r.password_hash)))
            .transpose()
    }

    /// Finds a user by email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        Ok(self.user_with_hash_by_email(email).await?.map(|(u, _)| u))
    }

    /// All users, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, email, name, time_zone, role, created_at, deactivated_at FROM users ORDER BY name, email")
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(User::try_from).collect()
    }

    /// Number of users (0 on a fresh database).
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) =
            on_pool!(self, p => sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(p).await)?;
        Ok(n)
    }

    /// Creates a team.
    pub async fn create_team(
        &self,
        name: &str,
        description: Option<&str>,
        now: i64,
    ) -> Result<String, StoreError> {
        let id = new_id();
        on_pool!(self, p => sqlx::query("INSERT INTO teams (id, name, description, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(name)
            .bind(description)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| map_unique(e, "name"))?;
        Ok(id)
    }

    /// Adds a user to a team (no-op if already a member).
    pub async fn add_team_member(&self, team_id: &str, user_id: &str) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(team_id)
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// All teams with their members, by name.
    pub async fn list_teams(&self) -> Result<Vec<Team>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct TeamRow {
            id: String,
            name: String,
            description: Option<String>,
        }
        #[derive(sqlx::FromRow)]
        struct MemberRow {
            team_id: String,
            #[sqlx(flatten)]
            user: UserRow,
        }
        let (teams, members): (Vec<TeamRow>, Vec<MemberRow>) = on_pool!(self, p => {
            let teams = sqlx::query_as("SELECT id, name, description FROM teams ORDER BY name")
                .fetch_all(p)
                .await?;
            let members = sqlx::query_as(
                "SELECT m.team_id, u.id, u.email, u.name, u.time_zone, u.role, u.created_at, u.deactivated_at \
                 FROM team_members m JOIN users u ON u.id = m.user_id ORDER BY u.name")
                .fetch_all(p)
                .await?;
            Ok::<_, sqlx::Error>((teams, members))
        })?;
        let mut out: Vec<Team> = teams
            .into_iter()
            .map(|t| Team {
                id: t.id,
                name: t.name,
                description: t.description,
                members: Vec::new(),
            })
            .collect();
        for m in members {
            if let Some(t) = out.iter_mut().find(|t| t.id == m.team_id) {
                t.members.push(User::try_from(m.user)?);
            }
        }
        Ok(out)
    }

    // ---- sessions ----

    /// Stores a new session.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash)
            .bind(user_id)
            .bind(csrf_token)
            .bind(now)
            .bind(expires_at)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The live session for a token hash, if any.
    pub async fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<SessionInfo>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            csrf_token: String,
        }
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.time_zone, u.role, u.created_at, s.csrf_token \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.deactivated_at IS NULL")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(p)
            .await)?;
        row.map(|r| {
            Ok(SessionInfo {
                user: User::try_from(r.user)?,
                csrf_token: r.csrf_token,
            })
        })
        .transpose()
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    pub async fn purge_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let r = on_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(r)
    }
}

mod audit;
mod branding;
mod components;
mod escalation;
mod incidents;
mod jobs;
mod monitors;
mod notices;
mod notify;
mod paging;
mod people;
mod providers;
mod schedules;
mod tx;
pub use app::domain::incident::{
    AffectedComponent, Incident, IncidentUpdate, NewIncident, NewUpdate,
};
pub use app::domain::monitor::{Alert, Monitor};
pub use app::domain::status::{Component, ComponentGroup};
pub use app::domain::subscription::Subscriber;
pub use audit::{AuditEntry, AuditFilter, AuditRecord};
pub use escalation::{Page, Round};
pub use incidents::IncidentFilter;
pub use jobs::{Confirm, Deliver, Fanout, Job, JobRecord, JobSpec, Queue};
pub use notices::ShiftNotice;
pub use notify::{Claim, Notify, OutboxRow, Planned, Reach, StoredRule};
pub use paging::{generated_dedup_key, Applied, Ingest, IngestOutcome, LinkUse, OncallFilter};
pub use people::{ContactMethod, DeactivateOutcome, Invitation, NewSession, TEAM_OWNERS};
pub use providers::{Delivery, PagedOpen, SmsSender, TeamChat, TeamChatPost};
pub use schedules::{LayerDraft, Notice, NoticeDraft, ScheduleFull, ScheduleInfo, SwapRecord};
