//! People and teams through HTTP, on both backends: invitations (single use, expiry on the fake
//! clock, revocation, a race of two acceptances), who may manage people, fields named on bad
//! input, deactivation (sessions, login, rosters, the gap report), teams, contact methods and
//! HTML escaping.

use std::sync::Arc;

use crate::common;

use app::domain::schedule::{expand, Override, ShiftLength, Window};
use common::{client, csrf_of, Backend, TestApp, ADMIN_PASSWORD};
use firstline::clock::FakeClock;
use firstline::fakes::Fakes;
use firstline::store::LayerDraft;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

const PASSWORD: &str = "a long enough password";

struct Fx {
    app: TestApp,
    csrf: String,
    fakes: Fakes,
    clock: Arc<FakeClock>,
}

/// A server on the recording fakes and a fake clock, with the admin logged in.
async fn start(backend: Backend, extra: &[(&str, &str)]) -> Fx {
    let (fakes, clock) = Fakes::at(Timestamp::now().as_millisecond());
    let app = TestApp::start_with_services(backend, extra, fakes.services()).await;
    let csrf = app.login_admin().await;
    Fx {
        app,
        csrf,
        fakes,
        clock,
    }
}

async fn user_id(app: &TestApp, email: &str) -> String {
    app.state()
        .store
        .user_by_email(email)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no user {email}"))
        .id
}

/// Creates an invitation through the page; returns the token read from the link shown once.
async fn invite(f: &Fx, email: &str, role: &str, teams: &[&str]) -> String {
    let mut form = vec![("csrf", f.csrf.as_str()), ("email", email), ("role", role)];
    for t in teams {
        form.push(("teams", t));
    }
    let r = f.app.post_form("/admin/people/invitations", &form).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("/admin/people?done=invited&i="),
        "{location}"
    );
    let page = f.app.get_text(&location).await;
    let marker = format!("{}/invite/", f.app.base);
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("the link is shown: {page}"))
        + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    let token = page[start..end].to_string();
    // Shown once: the page does not show it again.
    assert!(!f.app.get_text(&location).await.contains(&token));
    token
}

/// Joins through the link on a fresh client; returns the client and the response status.
async fn join(
    f: &Fx,
    token: &str,
    name: &str,
    pw: &str,
    pw2: &str,
    tz: &str,
) -> (reqwest::Client, reqwest::Response) {
    let c = client();
    let r = c
        .post(f.app.url(&format!("/invite/{token}")))
        .form(&[
            ("name", name),
            ("password", pw),
            ("password_again", pw2),
            ("time_zone", tz),
        ])
        .send()
        .await
        .unwrap();
    (c, r)
}

async fn get(c: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let r = c.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn create_team(f: &Fx, name: &str) -> String {
    let r = f
        .app
        .post_form("/admin/teams", &[("csrf", &f.csrf), ("name", name)])
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    loc.split("&t=").nth(1).unwrap().to_string()
}

async fn invite_then_join_logs_in_with_role_and_teams(backend: Backend) {
    let f = start(backend, &[]).await;
    let ops = create_team(&f, "Ops").await;
    let token = invite(&f, "Noor@Example.org", "viewer", &[&ops]).await;
    // Only the token's SHA-256 is stored.
    let hash: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let inv = f
        .app
        .state()
        .store
        .invitation_by_token_hash(&hash)
        .await
        .expect("stored under the hash");
    assert_eq!(inv.email, "noor@example.org");
    assert!(f
        .app
        .state()
        .store
        .invitation_by_token_hash(&token)
        .await
        .is_err());
    // The mail carries the link.
    let link = format!("/invite/{token}");
    common::eventually(5, "the invitation mail", || async {
        f.fakes
            .mail
            .sent()
            .into_iter()
            .find(|m| m.to == ["noor@example.org"] && m.text.contains(&link))
    })
    .await;

    let (code, page) = get(&client(), &f.app, &link).await;
    assert_eq!(code, 200);
    assert!(
        page.contains("noor@example.org") && page.contains("viewer"),
        "{page}"
    );
    // The inviting admin's zone is suggested.
    assert!(page.contains("value=\"Europe/Berlin\""), "{page}");

    let (c, r) = join(&f, &token, "Noor", PASSWORD, PASSWORD, "Asia/Kolkata").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/dashboard");
    let (code, dash) = get(&c, &f.app, "/dashboard").await;
    assert_eq!(code, 200);
    assert!(dash.contains("Hello, Noor"), "{dash}");
    assert!(dash.contains("You joined as viewer in Ops"), "{dash}");
    let store = &f.app.state().store;
    let noor = store
        .user_by_email("noor@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(noor.role.as_str(), "viewer");
    assert_eq!(noor.time_zone, "Asia/Kolkata");
    assert_eq!(store.team_ids_of(&noor.id).await.unwrap(), [ops]);
    let contacts = store.contact_methods(&noor.id).await.unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].target, "noor@example.org");
    // A viewer: no people admin.
    let (code, _) = get(&c, &f.app, "/admin/people").await;
    assert_eq!(code, 403);
    // And the password works for a normal login.
    f.app.login_client("noor@example.org", PASSWORD).await;

    // Single use: the link is gone for everyone, by GET and by POST, and nobody else is made.
    let (code, page) = get(&client(), &f.app, &link).await;
    assert_eq!(code, 410);
    assert!(page.contains("already been used"), "{page}");
    let (_, r) = join(&f, &token, "Noor Again", PASSWORD, PASSWORD, "UTC").await;
    assert_eq!(r.status(), 410);
    assert_eq!(store.count_users().await.unwrap(), 2);
    f.app.stop().await;
}
on_both_backends!(invite_then_join_logs_in_with_role_and_teams);

async fn expired_revoked_and_unknown_links_are_refused(backend: Backend) {
    let f = start(backend, &[("FIRSTLINE_INVITATION_EXPIRY_DAYS", "2")]).await;
    let token = invite(&f, "late@example.org", "responder", &[]).await;
    let link = format!("/invite/{token}");
    f.clock
        .advance(std::time::Duration::from_secs(2 * 86_400 - 60));
    assert_eq!(get(&client(), &f.app, &link).await.0, 200, "still valid");
    f.clock.advance(std::time::Duration::from_secs(61));
    let (code, page) = get(&client(), &f.app, &link).await;
    assert_eq!(code, 410);
    assert!(page.contains("expired"), "{page}");
    let (_, r) = join(&f, &token, "Late", PASSWORD, PASSWORD, "UTC").await;
    assert_eq!(r.status(), 410);
    let store = &f.app.state().store;
    assert!(store
        .user_by_email("late@example.org")
        .await
        .unwrap()
        .is_none());

    let token = invite(&f, "withdrawn@example.org", "responder", &[]).await;
    let inv = store.list_invitations(10).await.unwrap();
    let id = &inv
        .iter()
        .find(|i| i.email == "withdrawn@example.org")
        .unwrap()
        .id;
    let r = f
        .app
        .post_form(
            &format!("/admin/people/invitations/{id}/revoke"),
            &[("csrf", &f.csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (code, page) = get(&client(), &f.app, &format!("/invite/{token}")).await;
    assert_eq!(code, 410);
    assert!(page.contains("withdrawn"), "{page}");
    let (_, r) = join(&f, &token, "W", PASSWORD, PASSWORD, "UTC").await;
    assert_eq!(r.status(), 410);
    assert!(store
        .user_by_email("withdrawn@example.org")
        .await
        .unwrap()
        .is_none());
    // Revoking again: nothing pending to revoke.
    let r = f
        .app
        .post_form(
            &format!("/admin/people/invitations/{id}/revoke"),
            &[("csrf", &f.csrf)],
        )
        .await;
    assert_eq!(r.status(), 404);

    let (code, page) = get(&client(), &f.app, "/invite/not-a-real-token").await;
    assert_eq!(code, 404);
    assert!(page.contains("not valid"), "{page}");
    f.app.stop().await;
}
on_both_backends!(expired_revoked_and_unknown_links_are_refused);

async fn two_racing_acceptances_make_one_account(backend: Backend) {
    let f = start(backend, &[]).await;
    let token = invite(&f, "race@example.org", "responder", &[]).await;
    let (a, b) = tokio::join!(
        join(&f, &token, "First", PASSWORD, PASSWORD, "UTC"),
        join(&f, &token, "Second", PASSWORD, PASSWORD, "UTC"),
    );
    let mut codes = [a.1.status().as_u16(), b.1.status().as_u16()];
    codes.sort();
    assert_eq!(codes, [303, 410]);
    assert_eq!(f.app.state().store.count_users().await.unwrap(), 2);
    f.app.stop().await;
}
on_both_backends!(two_racing_acceptances_make_one_account);

async fn only_admins_manage_people_and_teams(backend: Backend) {
    let f = start(backend, &[]).await;
    f.app
        .create_user("resp@example.org", PASSWORD, "responder")
        .await;
    let target = user_id(&f.app, common::ADMIN_EMAIL).await;
    let (c, csrf) = f.app.login_client("resp@example.org", PASSWORD).await;
    for path in [
        "/admin/people".to_string(),
        "/admin/teams".to_string(),
        format!("/admin/people/{target}/deactivate"),
    ] {
        let (code, page) = get(&c, &f.app, &path).await;
        assert_eq!(code, 403, "{path}");
        assert!(
            page.contains("Only admins can manage people and teams"),
            "{page}"
        );
    }
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/admin/people/invitations".into(),
            vec![
                ("csrf", &csrf),
                ("email", "x@example.org"),
                ("role", "admin"),
            ],
        ),
        (
            "/admin/teams".into(),
            vec![("csrf", &csrf), ("name", "Mine")],
        ),
        (
            format!("/admin/people/{target}/deactivate"),
            vec![("csrf", &csrf), ("from", "2030-01-01")],
        ),
    ];
    for (path, form) in posts {
        let r = c.post(f.app.url(&path)).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    let store = &f.app.state().store;
    assert!(store.list_invitations(10).await.unwrap().is_empty());
    assert!(store.list_teams().await.unwrap().is_empty());
    assert!(store.user(&target).await.unwrap().is_active());
    // Anonymous: log in first.
    let (code, _) = get(&client(), &f.app, "/admin/people").await;
    assert_eq!(code, 401);
    f.app.stop().await;
}
on_both_backends!(only_admins_manage_people_and_teams);

async fn bad_input_names_the_field_and_stores_nothing(backend: Backend) {
    let f = start(backend, &[]).await;
    let store = &f.app.state().store;
    for (email, role, field, code) in [
        ("not-an-email", "responder", "email", 400),
        ("ok@example.org", "root", "role", 400),
        ("ok@example.org", "", "role", 400),
        (common::ADMIN_EMAIL, "viewer", "email", 409),
    ] {
        let r = f
            .app
            .post_form(
                "/admin/people/invitations",
                &[("csrf", &f.csrf), ("email", email), ("role", role)],
            )
            .await;
        assert_eq!(r.status().as_u16(), code, "{email} {role}");
        // A plain sentence under the field, never the raw "field: message".
        let page = r.text().await.unwrap();
        let note = format!(r#"id="{field}-error" role="alert" class="field-error">"#);
        assert!(page.contains(&note), "{field}: {page}");
        assert!(!page.contains(&format!("{field}: ")), "{field}: {page}");
    }
    let r = f
        .app
        .post_form(
            "/admin/people/invitations",
            &[
                ("csrf", &f.csrf),
                ("email", "ok@example.org"),
                ("role", "viewer"),
                ("teams", "no-such-team"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("One of the teams no longer exists"));
    assert!(store.list_invitations(10).await.unwrap().is_empty());

    let token = invite(&f, "new@example.org", "responder", &[]).await;
    // Each error is a plain sentence in the line under its own field (no raw field name).
    for (name, pw, pw2, tz, field) in [
        (
            "",
            PASSWORD,
            PASSWORD,
            "UTC",
            r#"id="name-error" role="alert" class="field-error">Your name must not be empty."#,
        ),
        (
            "New",
            "short",
            "short",
            "UTC",
            r#"id="password-error" role="alert" class="field-error">"#,
        ),
        (
            "New",
            PASSWORD,
            "another long password",
            "UTC",
            r#"id="password_again-error" role="alert" class="field-error">"#,
        ),
        (
            "New",
            PASSWORD,
            PASSWORD,
            "Mars/Olympus",
            r#"id="time_zone-error" role="alert" class="field-error">“Mars/Olympus” is not a time zone name."#,
        ),
        (
            "New",
            PASSWORD,
            PASSWORD,
            "",
            r#"id="time_zone-error" role="alert" class="field-error">Choose a time zone from the list."#,
        ),
    ] {
        let (_, r) = join(&f, &token, name, pw, pw2, tz).await;
        assert_eq!(r.status(), 400, "{field}");
        let page = r.text().await.unwrap();
        assert!(page.contains(field), "{field}: {page}");
        // The typed name is kept, never the password.
        assert!(!page.contains(PASSWORD));
    }
    assert!(store
        .user_by_email("new@example.org")
        .await
        .unwrap()
        .is_none());
    // Still usable after the mistakes.
    let (_, r) = join(&f, &token, "New", PASSWORD, PASSWORD, "UTC").await;
    assert_eq!(r.status(), 303);

    let r = f
        .app
        .post_form("/admin/teams", &[("csrf", &f.csrf), ("name", "  ")])
        .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The name must not be empty."));
    assert!(store.list_teams().await.unwrap().is_empty());
    // A bad date names `from` and changes nothing.
    let new_id = user_id(&f.app, "new@example.org").await;
    for from in ["yesterday", "2000-01-01"] {
        let r = f
            .app
            .post_form(
                &format!("/admin/people/{new_id}/deactivate"),
                &[("csrf", &f.csrf), ("from", from)],
            )
            .await;
        assert_eq!(r.status(), 400, "{from}");
        assert!(r.text().await.unwrap().contains("The date "), "{from}");
    }
    assert!(store.user(&new_id).await.unwrap().is_active());
    f.app.stop().await;
}
on_both_backends!(bad_input_names_the_field_and_stores_nothing);

/// Daily UTC layer of `people` from 2026-01-05.
async fn schedule_with(app: &TestApp, name: &str, people: &[String]) -> String {
    let store = &app.state().store;
    let id = store
        .create_schedule(name, None, "UTC", 1)
        .await
        .expect("schedule");
    let draft = LayerDraft {
        name: "Daily".into(),
        time_zone: "UTC".into(),
        start: "2026-01-05T00:00".parse().unwrap(),
        shift: ShiftLength::Days(1),
        restrictions: vec![],
    };
    store
        .create_layer(&id, &draft, people, 1)
        .await
        .expect("layer");
    id
}

async fn deactivate_ends_sessions_refuses_login_and_leaves_rosters(backend: Backend) {
    let f = start(backend, &[]).await;
    for who in ["ana", "ben"] {
        f.app
            .create_user(&format!("{who}@example.org"), PASSWORD, "responder")
            .await;
    }
    let ana = user_id(&f.app, "ana@example.org").await;
    let ben = user_id(&f.app, "ben@example.org").await;
    let pair = schedule_with(&f.app, "Pair", &[ana.clone(), ben.clone()]).await;
    let solo = schedule_with(&f.app, "Solo", std::slice::from_ref(&ben)).await;
    let (ben_client, _) = f.app.login_client("ben@example.org", PASSWORD).await;
    let (ben_second, _) = f.app.login_client("ben@example.org", PASSWORD).await;
    assert_eq!(get(&ben_client, &f.app, "/dashboard").await.0, 200);

    // The admin (Europe/Berlin) picks tomorrow.
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let now = f.app.state().clock.now();
    let tomorrow = now.to_zoned(berlin.clone()).date().tomorrow().unwrap();
    let from = tomorrow.to_zoned(berlin).unwrap().timestamp();
    // Ben also covers a day on Pair after leaving, and one across the leaving instant.
    let store = &f.app.state().store;
    for (id, start, end) in [
        (
            "later",
            from + SignedDuration::from_hours(48),
            from + SignedDuration::from_hours(72),
        ),
        (
            "across",
            from - SignedDuration::from_hours(2),
            from + SignedDuration::from_hours(2),
        ),
    ] {
        let cover = Override {
            id: format!("{id}-{}", firstline::store::new_id()),
            user: ben.clone(),
            start,
            end,
            replaces: None,
        };
        store
            .create_override(&pair, &cover, None, None, 1)
            .await
            .expect("override");
    }
    let path = format!("/admin/people/{ben}/deactivate");
    let (code, page) = get(&f.app.client, &f.app, &format!("{path}?from={tomorrow}")).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("They leave: Pair, Solo."), "{page}");
    assert!(page.contains("Nobody would be on call"), "{page}");
    assert!(page.contains("Solo: "), "the gap on Solo is listed: {page}");
    assert!(!page.contains("Pair: "), "Pair keeps ana: {page}");
    // Looking changed nothing.
    assert_eq!(get(&ben_client, &f.app, "/dashboard").await.0, 200);

    let r = f
        .app
        .post_form(&path, &[("csrf", &f.csrf), ("from", &tomorrow.to_string())])
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    // Every session ends at once.
    for c in [&ben_client, &ben_second] {
        assert_eq!(get(c, &f.app, "/dashboard").await.0, 401);
    }
    // Login is refused with a clear message (after a correct password).
    let r = client()
        .post(f.app.url("/login"))
        .form(&[("email", "ben@example.org"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This account has been deactivated"));
    // History kept: the row is there; before `from` ben still has shifts (the override across
    // `from` keeps its first part), after it only ana (his later override is gone).
    assert!(!store.user(&ben).await.unwrap().is_active());
    let window = Window::new(
        from - SignedDuration::from_hours(24 * 3),
        from + SignedDuration::from_hours(24 * 10),
    )
    .unwrap();
    let full = store
        .schedule_full(&pair, window.start, window.end)
        .await
        .unwrap();
    let shifts = expand(&full.schedule, &window);
    assert!(shifts
        .iter()
        .any(|s| s.end <= from && s.user.as_deref() == Some(ben.as_str())));
    assert!(shifts.iter().any(|s| s.end == from
        && s.start == from - SignedDuration::from_hours(2)
        && s.user.as_deref() == Some(ben.as_str())));
    assert!(shifts
        .iter()
        .filter(|s| s.start >= from)
        .all(|s| s.user.as_deref() == Some(ana.as_str())));
    let full = store
        .schedule_full(&solo, window.start, window.end)
        .await
        .unwrap();
    assert!(expand(&full.schedule, &window)
        .iter()
        .filter(|s| s.start >= from)
        .all(|s| s.user.is_none()));
    // The page says so.
    let people = f.app.get_text("/admin/people").await;
    assert!(people.contains("Reactivate Test User"), "{people}");

    // Reactivation lets them log in again.
    let r = f
        .app
        .post_form(
            &format!("/admin/people/{ben}/reactivate"),
            &[("csrf", &f.csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    f.app.login_client("ben@example.org", PASSWORD).await;

    // An admin cannot deactivate themselves.
    let me = user_id(&f.app, common::ADMIN_EMAIL).await;
    let r = f
        .app
        .post_form(
            &format!("/admin/people/{me}/deactivate"),
            &[("csrf", &f.csrf), ("from", &tomorrow.to_string())],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("your own account"));
    assert!(store.user(&me).await.unwrap().is_active());
    assert_eq!(store.active_admin_count().await.unwrap(), 1);
    let _ = ADMIN_PASSWORD;
    f.app.stop().await;
}
on_both_backends!(deactivate_ends_sessions_refuses_login_and_leaves_rosters);

async fn teams_crud_and_members(backend: Backend) {
    let f = start(backend, &[]).await;
    for who in ["ana", "ben"] {
        f.app
            .create_user(&format!("{who}@example.org"), PASSWORD, "responder")
            .await;
    }
    let ana = user_id(&f.app, "ana@example.org").await;
    let ben = user_id(&f.app, "ben@example.org").await;
    let ops = create_team(&f, "Ops").await;
    let db = create_team(&f, "Databases").await;
    let r = f
        .app
        .post_form("/admin/teams", &[("csrf", &f.csrf), ("name", "Ops")])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Another team already has this name."));
    let r = f
        .app
        .post_form(
            &format!("/admin/teams/{db}"),
            &[("csrf", &f.csrf), ("name", "Ops")],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Another team already has this name."));
    let r = f
        .app
        .post_form(
            &format!("/admin/teams/{ops}"),
            &[("csrf", &f.csrf), ("name", "Platform")],
        )
        .await;
    assert_eq!(r.status(), 303);

    let r = f
        .app
        .post_form(
            &format!("/admin/teams/{ops}/members"),
            &[("csrf", &f.csrf), ("member", &ana), ("member", &ben)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let store = &f.app.state().store;
    let team = store.team(&ops).await.unwrap();
    assert_eq!(team.name, "Platform");
    assert_eq!(team.members.len(), 2);
    // The dashboard shows teams as before.
    let dash = f.app.get_text("/dashboard").await;
    assert!(dash.contains("Platform"), "{dash}");
    let r = f
        .app
        .post_form(
            &format!("/admin/teams/{ops}/members"),
            &[("csrf", &f.csrf), ("member", &ana)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(store.team(&ops).await.unwrap().members.len(), 1);
    let r = f
        .app
        .post_form(
            &format!("/admin/teams/{ops}/members"),
            &[("csrf", &f.csrf), ("member", &ana), ("member", &ben)],
        )
        .await;
    assert_eq!(r.status(), 303);
    // Only active people can be members.
    let tomorrow = f
        .app
        .state()
        .clock
        .now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
        .date()
        .tomorrow()
        .unwrap()
        .to_string();
    let r = f
        .app
        .post_form(
            &format!("/admin/people/{ben}/deactivate"),
            &[("csrf", &f.csrf), ("from", &tomorrow)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = f
        .app
        .post_form(
            &format!("/admin/teams/{ops}/members"),
            &[("csrf", &f.csrf), ("member", &ana), ("member", &ben)],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("One of the people is not an active account"));
    let page = f.app.get_text("/admin/teams").await;
    assert!(
        !page.contains(&format!("member-{ops}-{ben}")),
        "a deactivated person is not offered"
    );
    assert!(
        page.contains("Members: Test User</p>"),
        "nor listed: {page}"
    );
    // Saving the form (which shows only active people) keeps the deactivated member's place:
    // reactivated, ben is back in the team.
    let r = f
        .app
        .post_form(
            &format!("/admin/teams/{ops}/members"),
            &[("csrf", &f.csrf), ("member", &ana)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        store.team_ids_of(&ben).await.unwrap(),
        std::slice::from_ref(&ops)
    );
    let r = f
        .app
        .post_form(
            &format!("/admin/people/{ben}/reactivate"),
            &[("csrf", &f.csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(store.team(&ops).await.unwrap().members.len(), 2);

    let r = f
        .app
        .post_form(&format!("/admin/teams/{ops}/delete"), &[("csrf", &f.csrf)])
        .await;
    assert_eq!(r.status(), 303);
    assert!(matches!(
        store.team(&ops).await,
        Err(firstline::store::StoreError::NotFound)
    ));
    assert!(store.team_ids_of(&ana).await.unwrap().is_empty());
    assert_eq!(store.list_teams().await.unwrap().len(), 1);
    // Services and escalation policies are what teams own today (the paging and escalation
    // tests check the refusals).
    assert_eq!(
        firstline::store::TEAM_OWNERS
            .iter()
            .map(|(what, _)| *what)
            .collect::<Vec<_>>(),
        ["services", "escalation policies"]
    );
    f.app.stop().await;
}
on_both_backends!(teams_crud_and_members);

async fn profile_contacts_and_schedules(backend: Backend) {
    let f = start(backend, &[]).await;
    let me = user_id(&f.app, common::ADMIN_EMAIL).await;
    schedule_with(&f.app, "First line", std::slice::from_ref(&me)).await;
    schedule_with(&f.app, "Elsewhere", &[]).await;
    let page = f.app.get_text("/profile").await;
    assert!(
        page.contains(common::ADMIN_EMAIL),
        "the login email is the first contact: {page}"
    );
    assert!(page.contains(">First line</a>"), "{page}");
    assert!(!page.contains(">Elsewhere</a>"), "{page}");
    // Kept from before.
    assert!(page.contains("/ical/user/"), "{page}");

    let r = f
        .app
        .post_form(
            "/profile/contacts",
            &[("csrf", &f.csrf), ("email", "nope"), ("label", "")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The address must be an email address like"));
    let r = f
        .app
        .post_form(
            "/profile/contacts",
            &[
                ("csrf", &f.csrf),
                ("email", "Pager@Example.org"),
                ("label", "Work"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = f
        .app
        .post_form(
            "/profile/contacts",
            &[
                ("csrf", &f.csrf),
                ("email", "pager@example.org"),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 409);
    let store = &f.app.state().store;
    let contacts = store.contact_methods(&me).await.unwrap();
    assert_eq!(contacts.len(), 2);
    let first = contacts[0].id.clone();
    let second = contacts[1].id.clone();
    assert_eq!(contacts[1].target, "pager@example.org");
    assert!(contacts[0].verified_at.is_some() && contacts[1].verified_at.is_none());
    let r = f
        .app
        .post_form(
            &format!("/profile/contacts/{first}/delete"),
            &[("csrf", &f.csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    // The last email address stays.
    let r = f
        .app
        .post_form(
            &format!("/profile/contacts/{second}/delete"),
            &[("csrf", &f.csrf)],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This is your last email address"));
    assert_eq!(store.contact_methods(&me).await.unwrap().len(), 1);
    // Someone else's: not found.
    f.app
        .create_user("other@example.org", PASSWORD, "viewer")
        .await;
    let other = user_id(&f.app, "other@example.org").await;
    let theirs = store.contact_methods(&other).await.unwrap()[0].id.clone();
    let r = f
        .app
        .post_form(
            &format!("/profile/contacts/{theirs}/delete"),
            &[("csrf", &f.csrf)],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(store.contact_methods(&other).await.unwrap().len(), 1);
    f.app.stop().await;
}
on_both_backends!(profile_contacts_and_schedules);

async fn names_with_markup_are_escaped(backend: Backend) {
    let f = start(backend, &[]).await;
    let evil = "<script>alert(1)</script>";
    let token = invite(&f, "evil@example.org", "responder", &[]).await;
    let (_, r) = join(&f, &token, evil, PASSWORD, PASSWORD, "UTC").await;
    assert_eq!(r.status(), 303);
    let team = create_team(&f, "<b>Team</b>").await;
    let evil_id = user_id(&f.app, "evil@example.org").await;
    let r = f
        .app
        .post_form(
            &format!("/admin/teams/{team}/members"),
            &[("csrf", &f.csrf), ("member", &evil_id)],
        )
        .await;
    assert_eq!(r.status(), 303);
    for path in [
        "/admin/people".to_string(),
        "/admin/teams".to_string(),
        format!("/admin/people/{evil_id}/deactivate"),
        "/dashboard".to_string(),
    ] {
        let page = f.app.get_text(&path).await;
        assert!(!page.contains(evil), "{path}: {page}");
        assert!(!page.contains("<b>Team</b>"), "{path}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: {page}"
        );
    }
    let _ = csrf_of;
    f.app.stop().await;
}
on_both_backends!(names_with_markup_are_escaped);

async fn two_admins_deactivating_each_other_leave_one(backend: Backend) {
    let f = start(backend, &[]).await;
    f.app
        .create_user("second@example.org", PASSWORD, "admin")
        .await;
    let first = user_id(&f.app, common::ADMIN_EMAIL).await;
    let second = user_id(&f.app, "second@example.org").await;
    let (c2, csrf2) = f.app.login_client("second@example.org", PASSWORD).await;
    let tomorrow = f
        .app
        .state()
        .clock
        .now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
        .date()
        .tomorrow()
        .unwrap()
        .to_string();
    let a_path = format!("/admin/people/{second}/deactivate");
    let b_path = format!("/admin/people/{first}/deactivate");
    let a_form = [("csrf", f.csrf.as_str()), ("from", tomorrow.as_str())];
    let b_form = [("csrf", csrf2.as_str()), ("from", tomorrow.as_str())];
    let (a, b) = tokio::join!(
        f.app.post_form(&a_path, &a_form),
        c2.post(f.app.url(&b_path)).form(&b_form).send(),
    );
    let codes = [a.status().as_u16(), b.unwrap().status().as_u16()];
    assert_eq!(
        codes.iter().filter(|c| **c == 303).count(),
        1,
        "one deactivation goes through: {codes:?}"
    );
    assert_eq!(f.app.state().store.active_admin_count().await.unwrap(), 1);
    f.app.stop().await;
}
on_both_backends!(two_admins_deactivating_each_other_leave_one);

async fn removing_two_last_addresses_at_once_keeps_one(backend: Backend) {
    let f = start(backend, &[]).await;
    let me = user_id(&f.app, common::ADMIN_EMAIL).await;
    let r = f
        .app
        .post_form(
            "/profile/contacts",
            &[
                ("csrf", &f.csrf),
                ("email", "second@example.org"),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let store = &f.app.state().store;
    let ids: Vec<String> = store
        .contact_methods(&me)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids.len(), 2);
    let form = [("csrf", f.csrf.as_str())];
    let (a_path, b_path) = (
        format!("/profile/contacts/{}/delete", ids[0]),
        format!("/profile/contacts/{}/delete", ids[1]),
    );
    let (a, b) = tokio::join!(
        f.app.post_form(&a_path, &form),
        f.app.post_form(&b_path, &form),
    );
    let mut codes = [a.status().as_u16(), b.status().as_u16()];
    codes.sort();
    assert_eq!(codes, [303, 409]);
    assert_eq!(store.contact_methods(&me).await.unwrap().len(), 1);
    f.app.stop().await;
}
on_both_backends!(removing_two_last_addresses_at_once_keeps_one);
