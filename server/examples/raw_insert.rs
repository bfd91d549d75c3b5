//! The database's own ceiling for the ingestion benchmark: rows about the size of an ingested
//! alert inserted in transactions of 512 (the ingestor's largest batch), with the connection
//! settings the server uses (SQLite: WAL, `synchronous=FULL`; PostgreSQL: defaults, so
//! `synchronous_commit=on`), by as many writers as the server's ingestor runs (1 on SQLite,
//! 4 on PostgreSQL). Prints rows/s and commits/s.
//!
//! `cargo run --release -p firstline --example raw_insert -- DATABASE_URL [seconds]`

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

const BATCH: usize = 512;
const CREATE: &str = "CREATE TABLE IF NOT EXISTS raw_bench (id TEXT PRIMARY KEY, dedup_key TEXT NOT NULL, \
     summary TEXT NOT NULL, details TEXT NOT NULL, links TEXT NOT NULL, created_at BIGINT NOT NULL)";
const INSERT: &str = "INSERT INTO raw_bench (id, dedup_key, summary, details, links, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// One row's values, about what an ingested alert stores.
fn row(n: u64) -> (String, String, String, String, String, i64) {
    (
        format!("{:032x}", n ^ 0x9e37_79b9_7f4a_7c15),
        format!("bench-{n}"),
        format!("Disk almost full on db{} (benchmark event {n})", n % 97),
        r#"{"custom_details":{"free disk":"3%","mount":"/var/lib/postgresql","host":"db1.example.org"}}"#
            .to_string(),
        r#"[{"href":"https://runbooks.example.org/disk","text":"Runbook"}]"#.to_string(),
        1_764_000_000_000 + n as i64,
    )
}

macro_rules! writer {
    ($pool:expr, $next:expr, $deadline:expr, $commits:expr) => {{
        let (pool, next, commits) = ($pool.clone(), $next.clone(), $commits.clone());
        let deadline = $deadline;
        tokio::spawn(async move {
            while Instant::now() < deadline {
                let mut tx = pool.begin().await?;
                for _ in 0..BATCH {
                    let r = row(next.fetch_add(1, Ordering::Relaxed));
                    sqlx::query(INSERT)
                        .bind(r.0)
                        .bind(r.1)
                        .bind(r.2)
                        .bind(r.3)
                        .bind(r.4)
                        .bind(r.5)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                commits.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), sqlx::Error>(())
        })
    }};
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: raw_insert DATABASE_URL [seconds]"))?;
    let secs: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let next = Arc::new(AtomicU64::new(0));
    let commits = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let (writers, tasks) = if url.starts_with("sqlite:") {
        // As Store::connect opens it.
        let opts = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        sqlx::query(CREATE).execute(&pool).await?;
        (1, vec![writer!(pool, next, deadline, commits)])
    } else {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await?;
        sqlx::query(CREATE).execute(&pool).await?;
        (
            4,
            (0..4)
                .map(|_| writer!(pool, next, deadline, commits))
                .collect(),
        )
    };
    for t in tasks {
        t.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let c = commits.load(Ordering::Relaxed);
    let rows = c * BATCH as u64;
    println!(
        "raw INSERT: {:.0} rows/s ({:.1} commits/s of {BATCH}, {writers} writer(s), {elapsed:.1} s)",
        rows as f64 / elapsed,
        c as f64 / elapsed
    );
    Ok(())
}
