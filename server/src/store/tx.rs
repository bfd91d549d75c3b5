//! A write transaction on either backend, and backend-neutral statements to run in it.
//!
//! The "apply" half of every write is a plain `async fn` taking `&mut Tx`: it loads a snapshot,
//! hands it to a pure domain function, and writes what that function decided, all before
//! [`Tx::commit`]. A statement is built once with [`sql`] and [`Sql::bind`] and runs on whichever
//! backend the store uses, so no query is written twice and no macro hides a `return`.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Postgres, Sqlite, Transaction};

use super::{begin_write, Db, Store, StoreError, LIVE_CHANNEL};
use app::domain::live::Topic;

/// One bound value. Both backends store times and flags as integers and everything else as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    /// An integer (or NULL).
    Int(Option<i64>),
    /// Text (or NULL).
    Text(Option<String>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Int(Some(i64::from(v)))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        Arg::Text(v.clone())
    }
}

/// A statement with its arguments (`$1`, `$2`... in order of [`Sql::bind`]).
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    text: String,
    args: Vec<Arg>,
}

/// Starts a statement.
pub(crate) fn sql(text: impl Into<String>) -> Sql {
    Sql {
        text: text.into(),
        args: Vec::new(),
    }
}

impl Sql {
    /// Binds the next argument.
    pub(crate) fn bind(mut self, v: impl Into<Arg>) -> Sql {
        self.args.push(v.into());
        self
    }
}

/// Rows that both backends can decode (tuples and `#[derive(FromRow)]` structs of integers,
/// text and their options).
pub(crate) trait Row:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// An open write transaction (SQLite: `BEGIN IMMEDIATE`) and the live topics its writes
/// changed. Dropping it without [`Tx::commit`] rolls everything back and announces nothing.
pub(crate) struct Tx {
    db: TxDb,
    topics: Vec<Topic>,
    /// Background work its commit makes due.
    wakes: Vec<super::Work>,
    /// Row locks this transaction already holds (see [`Tx::first_time`]).
    held: std::collections::HashSet<String>,
    store: Store,
    /// SQLite: this process's turn to write, held until the transaction ends (after `db`, so
    /// released after the commit or rollback).
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

enum TxDb {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Binds `args` onto a sqlx query of either kind.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Int(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
            };
        }
        q
    }};
}

impl Tx {
    /// Runs a statement; returns the rows it touched.
    pub(crate) async fn execute(&mut self, q: Sql) -> Result<u64, sqlx::Error> {
        let Sql { text, args } = q;
        Ok(match &mut self.db {
            TxDb::Sqlite(t) => bind_all!(sqlx::query(&text), args)
                .execute(&mut **t)
                .await?
                .rows_affected(),
            TxDb::Postgres(t) => bind_all!(sqlx::query(&text), args)
                .execute(&mut **t)
                .await?
                .rows_affected(),
        })
    }

    /// At most one row.
    pub(crate) async fn fetch_optional<T: Row>(
        &mut self,
        q: Sql,
    ) -> Result<Option<T>, sqlx::Error> {
        let Sql { text, args } = q;
        match &mut self.db {
            TxDb::Sqlite(t) => {
                bind_all!(sqlx::query_as(&text), args)
                    .fetch_optional(&mut **t)
                    .await
            }
            TxDb::Postgres(t) => {
                bind_all!(sqlx::query_as(&text), args)
                    .fetch_optional(&mut **t)
                    .await
            }
        }
    }

    /// Exactly one row.
    pub(crate) async fn fetch_one<T: Row>(&mut self, q: Sql) -> Result<T, sqlx::Error> {
        self.fetch_optional(q)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Every row.
    pub(crate) async fn fetch_all<T: Row>(&mut self, q: Sql) -> Result<Vec<T>, sqlx::Error> {
        let Sql { text, args } = q;
        match &mut self.db {
            TxDb::Sqlite(t) => {
                bind_all!(sqlx::query_as(&text), args)
                    .fetch_all(&mut **t)
                    .await
            }
            TxDb::Postgres(t) => {
                bind_all!(sqlx::query_as(&text), args)
                    .fetch_all(&mut **t)
                    .await
            }
        }
    }

    /// The row-locking clause a claim's inner `SELECT` ends with: `FOR UPDATE SKIP LOCKED` on
    /// PostgreSQL (concurrent claimers pass over each other's rows), nothing on SQLite (whose
    /// write transaction already holds the one database lock).
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.db {
            TxDb::Sqlite(_) => "",
            TxDb::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// True the first time it is asked about `what` in this transaction: a row lock taken (and
    /// a row touched) once need not be taken again by each of a batch's events.
    pub(crate) fn first_time(&mut self, what: String) -> bool {
        self.held.insert(what)
    }

    /// Records that this write changes what `topic` shows; announced once the write commits.
    pub(crate) fn announce(&mut self, topic: Topic) {
        if !self.topics.contains(&topic) {
            self.topics.push(topic);
        }
    }

    /// Records that this write makes `work` due; its workers are woken once the write commits.
    pub(crate) fn wake(&mut self, work: super::Work) {
        if !self.wakes.contains(&work) {
            self.wakes.push(work);
        }
    }

    /// Makes every write in it durable at once, then announces its topics: to the other
    /// instances through PostgreSQL `NOTIFY` (sent by the commit itself, so peers never hear of
    /// a change that rolled back), and to this instance's live hub before returning.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        let topics = std::mem::take(&mut self.topics);
        let wakes = std::mem::take(&mut self.wakes);
        let instance = self.store.live.instance.clone();
        if let TxDb::Postgres(t) = &mut self.db {
            let keys = topics
                .iter()
                .map(Topic::key)
                .chain(wakes.iter().map(|w| w.key().to_string()));
            // As few notifications as fit: a batch touching 500 incidents sends a handful, not
            // a thousand round trips (a payload must stay under PostgreSQL's 8000 bytes).
            let mut payload = instance.clone();
            for key in keys {
                if payload.len() + 1 + key.len() > NOTIFY_MAX && payload.len() > instance.len() {
                    notify(t, &payload).await?;
                    payload = instance.clone();
                }
                payload.push(' ');
                payload.push_str(&key);
            }
            if payload.len() > instance.len() {
                notify(t, &payload).await?;
            }
        }
        match self.db {
            TxDb::Sqlite(t) => t.commit().await?,
            TxDb::Postgres(t) => t.commit().await?,
        }
        // The next writer's turn: announcing and waking need no lock.
        self.turn.take();
        for w in wakes {
            self.store.live.wake.wake(w);
        }
        if !topics.is_empty() {
            if let Some(a) = self.store.live.announcer.get() {
                a.announce(&topics).await;
            }
        }
        Ok(())
    }
}

/// The longest `NOTIFY` payload sent (PostgreSQL refuses 8000 bytes or more).
const NOTIFY_MAX: usize = 7000;

async fn notify(t: &mut Transaction<'static, Postgres>, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(LIVE_CHANNEL)
        .bind(payload)
        .execute(&mut **t)
        .await
        .map(|_| ())
}

impl Store {
    /// Opens a write transaction.
    /// On SQLite, waits first for this process's turn to write (before taking a pool
    /// connection, so waiting writers do not hold the pool's connections).
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        let (db, turn) = match &self.db {
            Db::Sqlite(p) => {
                let turn = self.live.write_gate.clone().lock_owned().await;
                (TxDb::Sqlite(begin_write(p).await?), Some(turn))
            }
            Db::Postgres(p) => (TxDb::Postgres(begin_write(p).await?), None),
        };
        Ok(Tx {
            db,
            topics: Vec::new(),
            wakes: Vec::new(),
            held: Default::default(),
            store: self.clone(),
            turn,
        })
    }
}
