//! Benchmark set-up: migrates the database at the URL given and creates a service with a
//! PagerDuty Events v2 key on it; prints the key (the routing key senders present).
//!
//! `cargo run --release -p firstline --example bench_key -- sqlite:///tmp/bench.db`

use app::domain::service::{KeyKind, ServiceInput};
use firstline::store::Store;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: bench_key DATABASE_URL"))?;
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let input = ServiceInput {
        name: format!("Benchmark {}", firstline::store::new_id()),
        ..Default::default()
    }
    .normalize()?;
    let now = jiff::Timestamp::now().as_millisecond();
    let service = store.create_service(&input, now).await?;
    let key = store
        .create_key(&service.id, KeyKind::Pagerduty, "wrk", now)
        .await?;
    println!("{}", key.key);
    store.close().await;
    Ok(())
}
