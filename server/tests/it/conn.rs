//! Connections over real TCP: slow headers are cut off, idle keep-alive connections close, live
//! streams are exempt from the idle timeout but capped per client, and the connection cap holds.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{self, Backend, TestApp};

/// Reads until the server closes the connection (`Ok(bytes)`) or `wait` passes (`Err(bytes)`).
async fn read_until_closed(sock: &mut TcpStream, wait: Duration) -> Result<Vec<u8>, Vec<u8>> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
            Err(_) => return Err(got),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one whole response to `GET /healthz` (its body is short and has a length).
async fn read_response(sock: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
            .await
            .expect("response in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before a response: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    // The rest of a short body.
    tokio::time::sleep(Duration::from_millis(50)).await;
    if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(50), sock.read(&mut buf)).await {
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.running.as_ref().expect("running").addr)
        .await
        .expect("connect")
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";

#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed_but_live_streams_stay() {
    let app = TestApp::start_with(
        Backend::Sqlite,
        &[
            ("FIRSTLINE_HEADER_TIMEOUT_SECS", "1"),
            ("FIRSTLINE_IDLE_TIMEOUT_SECS", "3"),
        ],
    )
    .await;

    // Half the headers, then nothing: closed after the header timeout.
    let mut half = connect(&app).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: te")
        .await
        .unwrap();
    let t = Instant::now();
    let got = read_until_closed(&mut half, Duration::from_secs(6)).await;
    assert!(got.is_ok(), "a half-sent request is closed, not kept open");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());

    // A trickle of header bytes does not extend the deadline.
    let mut trickle = connect(&app).await;
    let t = Instant::now();
    let mut closed_after = None;
    for b in b"GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if trickle.write_all(&[*b]).await.is_err() {
            closed_after = Some(t.elapsed());
            break;
        }
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(200), trickle.read(&mut [0u8; 64])).await
        {
            closed_after = Some(t.elapsed());
            break;
        }
    }
    let closed_after = closed_after.expect("trickled headers are cut off");
    assert!(closed_after < Duration::from_secs(3), "{closed_after:?}");

    // A connection that says nothing at all.
    let mut silent = connect(&app).await;
    assert!(read_until_closed(&mut silent, Duration::from_secs(4))
        .await
        .is_ok());

    // Keep-alive: idle for longer than the header timeout is fine, longer than the idle
    // timeout is not.
    let mut keep = connect(&app).await;
    keep.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut keep).await.starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(1800)).await;
    keep.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut keep).await.starts_with("HTTP/1.1 200"));
    let t = Instant::now();
    assert!(read_until_closed(&mut keep, Duration::from_secs(6))
        .await
        .is_ok());
    assert!(t.elapsed() > Duration::from_secs(2), "{:?}", t.elapsed());

    // A live stream outlives the idle timeout and still hears the next version.
    let mut live = connect(&app).await;
    live.write_all(b"GET /events/status HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let first = read_until_closed(&mut live, Duration::from_millis(700))
        .await
        .expect_err("the stream stays open");
    let first = String::from_utf8_lossy(&first).into_owned();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(first.contains("event: version"), "{first}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    app.seed_components(&[("API", "")]).await;
    let next = read_until_closed(&mut live, Duration::from_secs(3))
        .await
        .expect_err("still open after the idle timeout");
    assert!(
        String::from_utf8_lossy(&next).contains("event: version"),
        "{}",
        String::from_utf8_lossy(&next)
    );

    // Shutdown ends the stream and stops promptly.
    let t = Instant::now();
    app.stop().await;
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_and_slots_come_back() {
    let app = TestApp::start_with(Backend::Sqlite, &[("FIRSTLINE_MAX_CONNECTIONS", "3")]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = connect(&app).await;
        s.write_all(HEALTHZ).await.unwrap();
        assert!(read_response(&mut s).await.starts_with("HTTP/1.1 200"));
        held.push(s);
    }
    // The fourth is answered 503 (or just closed) and never served.
    let mut extra = connect(&app).await;
    let _ = extra.write_all(HEALTHZ).await;
    let got = read_until_closed(&mut extra, Duration::from_secs(3))
        .await
        .expect("closed at once");
    let got = String::from_utf8_lossy(&got);
    assert!(!got.contains("200 OK"), "{got}");
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 503"), "{got}");

    // The held connections still work, and a freed slot serves a new client.
    held[0].write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut held[0])
        .await
        .starts_with("HTTP/1.1 200"));
    drop(held.pop());
    common::eventually(5, "a slot is freed", || async {
        let mut s = connect(&app).await;
        s.write_all(HEALTHZ).await.ok()?;
        let got = read_until_closed(&mut s, Duration::from_millis(500)).await;
        let text = String::from_utf8_lossy(match &got {
            Ok(b) | Err(b) => b,
        })
        .into_owned();
        text.starts_with("HTTP/1.1 200").then_some(())
    })
    .await;
    drop(held);
    app.stop().await;
}

#[tokio::test]
async fn live_streams_are_capped_per_client_address() {
    let app = TestApp::start_with(Backend::Sqlite, &[("FIRSTLINE_MAX_STREAMS_PER_IP", "2")]).await;
    let url = app.url("/events/status");
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let one = from("127.0.0.1");
    let mut open = Vec::new();
    for _ in 0..2 {
        let r = one.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        open.push(r);
    }
    let r = one.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "30");
    // Ordinary requests from the same address are not affected.
    assert_eq!(
        one.get(app.url("/healthz")).send().await.unwrap().status(),
        200
    );
    // Another address (all of 127.0.0.0/8 is loopback) gets its stream.
    let other = from("127.0.0.2").get(&url).send().await.unwrap();
    assert_eq!(other.status(), 200);
    // A closed stream frees its slot.
    drop(open.pop());
    let again = common::eventually(5, "the slot is freed", || async {
        let r = one.get(&url).send().await.ok()?;
        (r.status() == 200).then_some(r)
    })
    .await;
    // Shutdown with streams open still ends promptly.
    let t = Instant::now();
    app.stop().await;
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    drop((open, other, again));
}

/// Connects from a given loopback address.
async fn connect_from(app: &TestApp, ip: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{ip}:0").parse().expect("addr"))
        .expect("bind");
    socket
        .connect(app.running.as_ref().expect("running").addr)
        .await
        .expect("connect")
}

#[tokio::test]
async fn one_client_cannot_take_every_connection() {
    let app = TestApp::start_with(
        Backend::Sqlite,
        &[("FIRSTLINE_MAX_CONNECTIONS_PER_IP", "2")],
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from(&app, "127.0.0.1").await;
        s.write_all(HEALTHZ).await.unwrap();
        assert!(read_response(&mut s).await.starts_with("HTTP/1.1 200"));
        held.push(s);
    }
    // A third from the same address is refused and never served.
    let mut extra = connect_from(&app, "127.0.0.1").await;
    let _ = extra.write_all(HEALTHZ).await;
    let got = read_until_closed(&mut extra, Duration::from_secs(3))
        .await
        .expect("closed at once");
    let got = String::from_utf8_lossy(&got);
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 503"), "{got}");
    // Another client is served meanwhile.
    let mut other = connect_from(&app, "127.0.0.2").await;
    other.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut other).await.starts_with("HTTP/1.1 200"));
    drop(held);
    app.stop().await;
}

#[tokio::test]
async fn a_trickled_alert_gets_503_which_senders_retry() {
    let app =
        TestApp::start_with(Backend::Sqlite, &[("FIRSTLINE_REQUEST_TIMEOUT_SECS", "1")]).await;
    let mut s = connect(&app).await;
    s.write_all(
        b"POST /hooks/alertmanager/somekey HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"alerts\"",
    )
    .await
    .unwrap();
    let head = read_response(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    app.stop().await;
}

#[tokio::test]
async fn a_trickled_request_body_gets_408() {
    let app =
        TestApp::start_with(Backend::Sqlite, &[("FIRSTLINE_REQUEST_TIMEOUT_SECS", "1")]).await;
    let mut s = connect(&app).await;
    // Complete headers, then a body that never arrives in full.
    s.write_all(
        b"POST /login HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=a",
    )
    .await
    .unwrap();
    let t = Instant::now();
    let head = read_response(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    app.stop().await;
}
