//! Helpers the benchmark examples share (`#[path = "bench/mod.rs"] mod bench;`): wall time,
//! percentiles, the in-process server's configuration, and services that page through a policy.

use app::domain::escalation::ServicePaging;
use app::domain::service::{KeyKind, ServiceInput};
use firstline::store::Store;

/// Wall-clock time, Unix ms with fraction.
pub fn wall_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// The benchmark server's configuration: `url`, a random port, no ingest limit, and `extra`
/// `FIRSTLINE_*` settings.
pub fn config(url: &str, extra: &[(&str, &str)]) -> anyhow::Result<firstline::config::Config> {
    let url = url.to_string();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    firstline::config::Config::load(None, move |k| match k {
        "FIRSTLINE_DATABASE_URL" => Some(url.clone()),
        "FIRSTLINE_LISTEN" => Some("127.0.0.1:0".into()),
        "FIRSTLINE_INGEST_RATE_PER_MIN" => Some("1000000".into()),
        other => extra
            .iter()
            .find(|(key, _)| key == other)
            .map(|(_, v)| v.clone()),
    })
}

/// `p`-th percentile (0..=100) of sorted `v`.
pub fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i.min(v.len() - 1)]
}

/// "p50 .. ms  p99 .. ms  max .. ms".
pub fn summary(mut v: Vec<f64>) -> String {
    v.sort_by(|a, b| a.total_cmp(b));
    format!(
        "p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        pct(&v, 50.0),
        pct(&v, 99.0),
        v.last().copied().unwrap_or(f64::NAN)
    )
}

/// `n` services named `{prefix}-{i}`, service `i` paging through `policy(i)`; returns `(name,
/// key id, key secret)` of each. Several at once (PostgreSQL takes them in parallel; SQLite in
/// turn).
pub async fn services(
    store: &Store,
    prefix: &str,
    n: usize,
    policy: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let batch: Vec<_> = (i..n.min(i + 16))
            .map(|j| {
                let policy_id = policy(j);
                async move {
                    let name = format!("{prefix}-{j}");
                    let input = ServiceInput {
                        name: name.clone(),
                        ..Default::default()
                    }
                    .normalize()?;
                    let s = store.create_service(&input, 1).await?;
                    let key = store
                        .create_key(&s.id, KeyKind::Pagerduty, "bench", 1)
                        .await?;
                    let paging = ServicePaging {
                        policy_id: Some(policy_id),
                        ..ServicePaging::default()
                    };
                    store.set_service_paging(&s.id, &paging, 1).await?;
                    Ok::<_, anyhow::Error>((name, key.id, key.key))
                }
            })
            .collect();
        for r in futures::future::join_all(batch).await {
            out.push(r?);
        }
        i += 16;
    }
    Ok(out)
}
