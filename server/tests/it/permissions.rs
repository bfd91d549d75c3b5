//! The schedule permission matrix through HTTP: admin, a responder on the schedule (the one on
//! call and a teammate), a responder on another schedule only, a viewer and an anonymous visitor,
//! against every action that reads or changes who is on call. Every refused request must leave
//! the store exactly as it was.

use std::cell::Cell;

use crate::common;

use common::{Backend, TestApp};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

const PASSWORD: &str = "member password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    /// Admin, in no rotation.
    Admin,
    /// Responder on the schedule, on call in the slots used below; asks for the swaps.
    OnCall,
    /// Responder on the schedule, not on call then.
    Mate,
    /// Responder on another schedule only.
    Elsewhere,
    /// Viewer, on no schedule.
    Viewer,
    /// Not logged in.
    Anonymous,
}

const EVERYONE: [Who; 6] = [
    Who::Admin,
    Who::OnCall,
    Who::Mate,
    Who::Elsewhere,
    Who::Viewer,
    Who::Anonymous,
];

pub(crate) struct Fx {
    pub(crate) app: TestApp,
    pub(crate) schedule: String,
    other_schedule: String,
    /// (who, id, client, csrf); the anonymous client has no session and an empty token.
    actors: Vec<(Who, String, reqwest::Client, String)>,
    /// Start of a whole shift of the on-call responder, and its length in hours.
    shift_start: Timestamp,
    shift_hours: i64,
    next_slot: Cell<i64>,
}

impl Fx {
    pub(crate) fn id(&self, who: Who) -> &str {
        &self.actors.iter().find(|a| a.0 == who).expect("actor").1
    }

    /// A fresh one-hour slot inside the on-call responder's shift.
    pub(crate) fn slot(&self) -> (Timestamp, Timestamp) {
        let k = self.next_slot.get();
        assert!(k + 1 < self.shift_hours, "out of slots");
        self.next_slot.set(k + 1);
        let start = self.shift_start + SignedDuration::from_hours(k);
        (start, start + SignedDuration::from_hours(1))
    }

    /// Everything a refused request must not change: schedules, layers, rosters, overrides,
    /// swap requests and notices.
    async fn snapshot(&self) -> String {
        let store = &self.app.state().store;
        let (from, to): (Timestamp, Timestamp) = (
            "2020-01-01T00:00:00Z".parse().unwrap(),
            "2100-01-01T00:00:00Z".parse().unwrap(),
        );
        let mut out = String::new();
        for info in store.list_schedules().await.unwrap() {
            let full = store.schedule_full(&info.id, from, to).await.unwrap();
            let mut swaps = store.list_swaps(Some(&info.id), false).await.unwrap();
            // Same creation time: the order is not defined, so compare sorted by id.
            swaps.sort_by(|a, b| a.request.id.cmp(&b.request.id));
            out.push_str(&format!("{full:?}\n{swaps:?}\n"));
        }
        for a in &self.actors {
            out.push_str(&format!("{:?}\n", store.notices(&a.1, 1000).await.unwrap()));
        }
        out
    }

    async fn send(
        &self,
        who: Who,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, String) {
        let (_, _, client, csrf) = self.actors.iter().find(|a| a.0 == who).expect("actor");
        let url = self.app.url(path);
        let r = if method == "GET" {
            client.get(url).send().await.unwrap()
        } else {
            let mut body: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
            body.extend_from_slice(form);
            client.post(url).form(&body).send().await.unwrap()
        };
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    /// Posts as `who` and checks the status; refused posts must change nothing, accepted ones
    /// (303) something. Returns the body.
    pub(crate) async fn post(
        &self,
        who: Who,
        path: &str,
        form: &[(&str, &str)],
        want: u16,
    ) -> String {
        let before = self.snapshot().await;
        let (status, body) = self.send(who, "POST", path, form).await;
        assert_eq!(status, want, "{who:?} POST {path} {form:?}: {body}");
        let after = self.snapshot().await;
        if want == 303 {
            assert_ne!(
                before, after,
                "{who:?} POST {path}: accepted but nothing changed"
            );
        } else {
            assert_eq!(
                before, after,
                "{who:?} POST {path}: refused but the store changed"
            );
        }
        body
    }

    async fn get(&self, who: Who, path: &str, want: u16) {
        let (status, body) = self.send(who, "GET", path, &[]).await;
        assert_eq!(status, want, "{who:?} GET {path}: {body}");
    }

    /// Who is on call at `t` on the schedule.
    async fn on_call_at(&self, t: Timestamp) -> String {
        let body = self.shifts(t, t + SignedDuration::from_secs(1)).await;
        body["shifts"][0]["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn shifts(&self, from: Timestamp, to: Timestamp) -> Value {
        let path = format!(
            "/api/v1/schedules/{}/shifts?from={from}&to={to}",
            self.schedule
        );
        let r = self
            .app
            .client
            .get(self.app.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// An open swap request of the on-call responder for a fresh slot.
    pub(crate) async fn open_swap(&self) -> String {
        let (start, end) = self.slot();
        self.app
            .state()
            .store
            .create_swap(&self.schedule, self.id(Who::OnCall), start, end, None, 1)
            .await
            .unwrap()
    }
}

pub(crate) fn ms(t: Timestamp) -> String {
    t.as_millisecond().to_string()
}

async fn create_schedule(app: &TestApp, csrf: &str, name: &str, people: &[&str]) -> String {
    let r = app
        .post_form(
            "/schedules",
            &[
                ("csrf", csrf),
                ("name", name),
                ("time_zone", "Europe/Berlin"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let schedule = r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/schedules/")
        .trim_end_matches("/edit")
        .to_string();
    let mut form = layer_form(csrf, "Weekly");
    for p in people {
        form.push(("participant", p.to_string()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app
        .post_form(&format!("/schedules/{schedule}/layers"), &form)
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = app
        .post_form(&format!("/schedules/{schedule}/publish"), &[("csrf", csrf)])
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    schedule
}

fn layer_form(csrf: &str, name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_string()),
        ("intent", "save".into()),
        ("name", name.into()),
        ("time_zone", "Europe/Berlin".into()),
        ("start", "2026-01-05T09:00".into()),
        ("shift_count", "1".into()),
        ("shift_unit", "weeks".into()),
        ("effective", "".into()),
    ]
}

pub(crate) async fn fixture(backend: Backend) -> Fx {
    let app = TestApp::start(backend).await;
    let admin_csrf = app.login_admin().await;
    let store = &app.state().store;
    let mut ids = Vec::new();
    for (who, email, role) in [
        (Who::OnCall, "ana@example.org", "responder"),
        (Who::Mate, "ben@example.org", "responder"),
        (Who::Elsewhere, "cleo@example.org", "responder"),
        (Who::Viewer, "vera@example.org", "viewer"),
    ] {
        app.create_user(email, PASSWORD, role).await;
        let id = store.user_by_email(email).await.unwrap().unwrap().id;
        ids.push((who, email, id));
    }
    let id_of = |w: Who| ids.iter().find(|x| x.0 == w).unwrap().2.clone();
    let (ana, ben, cleo) = (id_of(Who::OnCall), id_of(Who::Mate), id_of(Who::Elsewhere));
    let schedule = create_schedule(&app, &admin_csrf, "First line", &[&ana, &ben]).await;
    let other_schedule = create_schedule(&app, &admin_csrf, "Database", &[&cleo]).await;

    let admin_id = store
        .user_by_email(common::ADMIN_EMAIL)
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut actors = vec![(Who::Admin, admin_id, app.client.clone(), admin_csrf)];
    for (who, email, id) in ids {
        let (client, csrf) = app.login_client(email, PASSWORD).await;
        actors.push((who, id, client, csrf));
    }
    actors.push((
        Who::Anonymous,
        "nobody".into(),
        common::client(),
        String::new(),
    ));

    let mut fx = Fx {
        app,
        schedule,
        other_schedule,
        actors,
        shift_start: Timestamp::UNIX_EPOCH,
        shift_hours: 0,
        next_slot: Cell::new(0),
    };
    // A whole week of ana's, starting at least a day from now.
    let now = Timestamp::now();
    let body = fx
        .shifts(
            now + SignedDuration::from_hours(24),
            now + SignedDuration::from_hours(24 * 22),
        )
        .await;
    let shift = body["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .find(|s| s["user"]["id"] == ana.as_str())
        .expect("a whole shift of ana")
        .clone();
    let start: Timestamp = shift["start"].as_str().unwrap().parse().unwrap();
    let end: Timestamp = shift["end"].as_str().unwrap().parse().unwrap();
    fx.shift_start = start;
    fx.shift_hours = end.duration_since(start).as_hours();
    assert!(fx.shift_hours >= 160, "a weekly shift: {shift}");
    fx
}

async fn matrix(backend: Backend) {
    use Who::*;
    let f = fixture(backend).await;
    let s = f.schedule.clone();
    let (ana, ben, cleo) = (
        f.id(OnCall).to_string(),
        f.id(Mate).to_string(),
        f.id(Elsewhere).to_string(),
    );

    // ---- View: anyone logged in; anonymous visitors log in first.
    for who in EVERYONE {
        let want = if who == Anonymous { 401 } else { 200 };
        f.get(who, &format!("/schedules/{s}"), want).await;
        f.get(who, &format!("/schedules/{s}/swaps"), want).await;
        f.get(who, "/swaps", want).await;
    }

    // ---- The reported probe: a viewer on no schedule replaces the on-call person, for an hour
    // and for 365 days; refused, and ana stays on call.
    let (a, b) = f.slot();
    let overrides = format!("/schedules/{s}/overrides");
    for end in [b, a + SignedDuration::from_hours(24 * 365)] {
        f.post(
            Viewer,
            &overrides,
            &[
                ("start", &ms(a)),
                ("end", &ms(end)),
                ("replaces", &ana),
                ("user", ""),
            ],
            403,
        )
        .await;
    }
    assert_eq!(f.on_call_at(a).await, ana, "the viewer changed nothing");

    // ---- Cover a shift for oneself (replacing ana for one hour).
    for (who, want) in [
        (Anonymous, 401),
        (Viewer, 403),
        (Elsewhere, 403),
        (OnCall, 400), // replacing oneself
        (Mate, 303),
        (Admin, 303),
    ] {
        let (a, b) = f.slot();
        f.post(
            who,
            &overrides,
            &[("start", &ms(a)), ("end", &ms(b)), ("replaces", &ana)],
            want,
        )
        .await;
        if want == 303 {
            assert_eq!(f.on_call_at(a).await, f.id(who), "{who:?} covers");
        } else {
            assert_eq!(f.on_call_at(a).await, ana, "{who:?} changed nothing");
        }
    }

    // ---- Put someone else (cleo) on call: admins only.
    for (who, want) in [
        (Anonymous, 401),
        (Viewer, 403),
        (Elsewhere, 403),
        (OnCall, 403),
        (Mate, 403),
        (Admin, 303),
    ] {
        let (a, b) = f.slot();
        f.post(
            who,
            &overrides,
            &[
                ("start", &ms(a)),
                ("end", &ms(b)),
                ("replaces", &ana),
                ("user", &cleo),
            ],
            want,
        )
        .await;
    }

    // ---- Unknown users: 400 naming the field (no longer a 500 from the foreign key).
    for (who, field, want) in [
        (Admin, "user", 400),
        (Mate, "user", 403),
        (Viewer, "user", 403),
    ] {
        let (a, b) = f.slot();
        let body = f
            .post(
                who,
                &overrides,
                &[("start", &ms(a)), ("end", &ms(b)), ("user", "no-such-user")],
                want,
            )
            .await;
        if want == 400 {
            // A sentence on the shift page, not the raw field.
            assert!(
                body.contains("That person is not known here or cannot take shifts")
                    && !body.contains(&format!("{field}: ")),
                "{body}"
            );
        }
    }
    for (who, want) in [
        (Anonymous, 401),
        (Viewer, 403),
        (Elsewhere, 403),
        (OnCall, 400),
        (Mate, 400),
        (Admin, 400),
    ] {
        let (a, b) = f.slot();
        let body = f
            .post(
                who,
                &overrides,
                &[
                    ("start", &ms(a)),
                    ("end", &ms(b)),
                    ("replaces", "no-such-user"),
                ],
                want,
            )
            .await;
        if want == 400 {
            assert!(
                body.contains("That person is not known here or cannot take shifts")
                    && !body.contains("replaces:"),
                "{who:?}: {body}"
            );
        }
    }

    // ---- `replaces` must be on call then: ben is not on call in ana's shift.
    for (who, want) in [(Viewer, 403), (Elsewhere, 403), (OnCall, 400), (Admin, 400)] {
        let (a, b) = f.slot();
        let body = f
            .post(
                who,
                &overrides,
                &[("start", &ms(a)), ("end", &ms(b)), ("replaces", &ben)],
                want,
            )
            .await;
        if want == 400 {
            assert!(body.contains("This person is not on call"), "{body}");
        }
    }

    // ---- Offer a swap: only for time one is on call.
    let swaps = format!("/schedules/{s}/swaps");
    for (who, want) in [
        (Anonymous, 401),
        (Viewer, 403),
        (Elsewhere, 400),
        (Mate, 400),
        (Admin, 400),
        (OnCall, 303),
    ] {
        let (a, b) = f.slot();
        f.post(who, &swaps, &[("start", &ms(a)), ("end", &ms(b))], want)
            .await;
    }

    // ---- Accept and decline: people in the rotation other than the requester.
    for action in ["accept", "decline"] {
        let swap = f.open_swap().await;
        let path = format!("/schedules/{s}/swaps/{swap}/{action}");
        for (who, want) in [
            (Anonymous, 401),
            (Viewer, 403),
            (Elsewhere, 403),
            (Admin, 403),
            (OnCall, 403),
            (Mate, 303),
        ] {
            f.post(who, &path, &[], want).await;
        }
    }
    // The accepted swap put ben on call.
    let accepted = f
        .app
        .state()
        .store
        .list_swaps(Some(&s), false)
        .await
        .unwrap()
        .into_iter()
        .find(|r| {
            matches!(
                r.request.state,
                app::domain::schedule::SwapState::Accepted { .. }
            )
        })
        .expect("an accepted swap");
    assert_eq!(f.on_call_at(accepted.request.start).await, ben);

    // ---- Withdraw: the requester or an admin.
    for allowed in [OnCall, Admin] {
        let swap = f.open_swap().await;
        let path = format!("/schedules/{s}/swaps/{swap}/withdraw");
        for (who, want) in [
            (Anonymous, 401),
            (Viewer, 403),
            (Elsewhere, 403),
            (Mate, 403),
            (allowed, 303),
        ] {
            f.post(who, &path, &[], want).await;
        }
    }

    // ---- Long overrides: responders up to 14 days, admins up to 90.
    let (a, _) = f.slot();
    let days = |n: i64| ms(a + SignedDuration::from_hours(24 * n));
    for (who, n, want, field) in [
        (Viewer, 365, 403, ""),
        (Elsewhere, 365, 403, ""),
        (Mate, 15, 400, "end"),
        (Mate, 365, 400, "end"),
        (Admin, 365, 400, "end"),
    ] {
        let body = f
            .post(
                who,
                &overrides,
                &[("start", &ms(a)), ("end", &days(n)), ("replaces", &ana)],
                want,
            )
            .await;
        if !field.is_empty() {
            assert!(body.contains("An override can last at most"), "{body}");
        }
    }

    // ---- The schedule's iCal link: admins.
    let rotate = format!("/schedules/{s}/ical/rotate");
    for (who, want) in [
        (Anonymous, 401),
        (Viewer, 403),
        (Elsewhere, 403),
        (Mate, 403),
        (OnCall, 403),
    ] {
        f.post(who, &rotate, &[], want).await;
    }
    let before = f
        .app
        .state()
        .store
        .schedule_info(&s)
        .await
        .unwrap()
        .ical_token;
    let (status, _) = f.send(Admin, "POST", &rotate, &[]).await;
    assert_eq!(status, 303);
    assert_ne!(
        f.app
            .state()
            .store
            .schedule_info(&s)
            .await
            .unwrap()
            .ical_token,
        before
    );

    // ---- Schedules and layers: admins. (Last: an admin's new layer changes who is on call.)
    let layer = f
        .app
        .state()
        .store
        .schedule_full(
            &s,
            Timestamp::now(),
            Timestamp::now() + SignedDuration::from_hours(1),
        )
        .await
        .unwrap()
        .schedule
        .layers[0]
        .id
        .clone();
    let mut add = layer_form("", "Weekend");
    add.remove(0);
    add.push(("participant", ben.clone()));
    let add: Vec<(&str, &str)> = add.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut update = layer_form("", "Weekly, renamed");
    update.remove(0);
    update.push(("participant", ana.clone()));
    update.push(("participant", ben.clone()));
    let update: Vec<(&str, &str)> = update.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let new_schedule = [("name", "Sneaky"), ("time_zone", "UTC")];
    for who in [Anonymous, Viewer, Elsewhere, Mate, OnCall] {
        let want = if who == Anonymous { 401 } else { 403 };
        f.get(who, "/schedules/new", want).await;
        f.get(who, &format!("/schedules/{s}/edit"), want).await;
        f.post(who, "/schedules", &new_schedule, want).await;
        f.post(who, &format!("/schedules/{s}/layers"), &add, want)
            .await;
        f.post(
            who,
            &format!("/schedules/{s}/layers/{layer}"),
            &update,
            want,
        )
        .await;
        f.post(
            who,
            &format!("/schedules/{s}/layers/{layer}/delete"),
            &[],
            want,
        )
        .await;
    }
    f.get(Admin, "/schedules/new", 200).await;
    f.get(Admin, &format!("/schedules/{s}/edit"), 200).await;
    f.post(
        Admin,
        &format!("/schedules/{s}/layers/{layer}"),
        &update,
        303,
    )
    .await;
    f.post(Admin, &format!("/schedules/{s}/layers"), &add, 303)
        .await;
    f.post(
        Admin,
        &format!("/schedules/{s}/layers/{layer}/delete"),
        &[],
        303,
    )
    .await;
    f.post(Admin, "/schedules", &new_schedule, 303).await;
    // The other schedule was never touched.
    let other = f
        .app
        .state()
        .store
        .schedule_full(
            &f.other_schedule,
            Timestamp::now(),
            Timestamp::now() + SignedDuration::from_hours(1),
        )
        .await
        .unwrap();
    assert!(other.schedule.overrides.is_empty());
    f.app.stop().await;
}
on_both_backends!(matrix);

/// An admin may cover for up to 90 days, but not more.
async fn admin_override_bounds(backend: Backend) {
    let f = fixture(backend).await;
    let s = f.schedule.clone();
    let ana = f.id(Who::OnCall).to_string();
    let overrides = format!("/schedules/{s}/overrides");
    let a = f.shift_start;
    let days = |n: i64| ms(a + SignedDuration::from_hours(24 * n));
    let body = f
        .post(
            Who::Admin,
            &overrides,
            &[("start", &ms(a)), ("end", &days(91)), ("replaces", &ana)],
            400,
        )
        .await;
    assert!(
        body.contains("An override can last at most 90 days."),
        "{body}"
    );
    f.post(
        Who::Admin,
        &overrides,
        &[("start", &ms(a)), ("end", &days(90)), ("replaces", &ana)],
        303,
    )
    .await;
    // A responder's 14 days are fine.
    let b = a + SignedDuration::from_hours(24 * 100);
    f.post(
        Who::Mate,
        &overrides,
        &[
            ("start", &ms(b)),
            ("end", &ms(b + SignedDuration::from_hours(24 * 14))),
            ("replaces", &ana),
        ],
        303,
    )
    .await;
    f.app.stop().await;
}
on_both_backends!(admin_override_bounds);
