//! Runs the real `firstline` binary: CLI user creation, and SIGKILL right after an acknowledged
//! status change loses nothing.

use crate::common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_firstline");

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(db_url: &str, port: u16) -> Server {
    let child = Command::new(BIN)
        .arg("serve")
        .env("FIRSTLINE_DATABASE_URL", db_url)
        .env("FIRSTLINE_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn firstline");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "server did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base }
}

fn cli(db_url: &str, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("FIRSTLINE_DATABASE_URL", db_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn sigkill_after_acknowledged_change_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/firstline.db", dir.path().display());

    let out = cli(&url, &["migrate"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(
        &url,
        &[
            "user",
            "add",
            "--email",
            "aisha@example.org",
            "--name",
            "Aisha",
            "--admin",
        ],
        "a good long password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Created Aisha <aisha@example.org> (admin)")
    );
    // Bad CLI input is refused with the field named.
    let out = cli(
        &url,
        &["user", "add", "--email", "not-an-email", "--name", "X"],
        "a good long password\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("email"));
    let out = cli(
        &url,
        &["user", "add", "--email", "b@example.org", "--name", "B"],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));

    let port = free_port();
    let mut server = start(&url, port).await;
    let client = common::client();
    let r = client
        .post(format!("{}/login", server.base))
        .form(&[
            ("email", "aisha@example.org"),
            ("password", "a good long password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = client
        .get(format!("{}/admin/components", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::csrf_of(&page);

    let mut ids = Vec::new();
    for name in ["Sparse index", "Git index", "API"] {
        let r = client
            .post(format!("{}/admin/components", server.base))
            .form(&[("csrf", csrf.as_str()), ("name", name), ("group", "Index")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        ids.push(loc.rsplit("c=").next().unwrap().to_string());
    }
    // Change a status and kill -9 the moment the change is acknowledged.
    let r = client
        .post(format!(
            "{}/admin/components/{}/status",
            server.base, ids[0]
        ))
        .form(&[("csrf", csrf.as_str()), ("status", "partial_outage")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();

    let mut server = start(&url, port).await;
    let html = reqwest::get(format!("{}/status", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Partial outage"), "status survived SIGKILL");
    for name in ["Sparse index", "Git index", "API"] {
        assert!(html.contains(name), "{name} survived SIGKILL");
    }
    // Sessions survive restarts too.
    let r = client
        .get(format!("{}/admin/components", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // SIGTERM: graceful shutdown, exit code 0, even with a live stream open.
    let _stream = client
        .get(format!("{}/events/status", server.base))
        .send()
        .await
        .unwrap();
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "graceful exit: {status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn help_documents_the_environment() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "FIRSTLINE_DATABASE_URL",
        "FIRSTLINE_LISTEN",
        "FIRSTLINE_BASE_URL",
        "FIRSTLINE_SECRET_KEY",
        "FIRSTLINE_SMTP_URL",
        "FIRSTLINE_MAIL_FROM",
        "FIRSTLINE_TRUSTED_PROXIES",
        "serve",
        "migrate",
        "user",
    ] {
        assert!(help.contains(var), "--help mentions {var}");
    }
    let out = Command::new(BIN)
        .env("FIRSTLINE_LISTEN", "nonsense")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen"));
}
