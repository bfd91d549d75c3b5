//! The on-call service on both backends: all schedules at once agree with one at a time and
//! with the shifts API, overrides win, and the dashboard, the schedules page and the JSON API
//! name the same people.

use crate::common;

use app::domain::schedule::{Override, ShiftLength};
use common::{Backend, TestApp};
use firstline::oncall;
use firstline::store::LayerDraft;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

struct Fx {
    app: TestApp,
    /// (schedule name, id)
    schedules: Vec<(&'static str, String)>,
    /// (user name, id)
    users: Vec<(&'static str, String)>,
    /// When Cleo's cover of Alpha ends.
    cover_end: Timestamp,
}

impl Fx {
    fn user(&self, name: &str) -> &str {
        &self.users.iter().find(|u| u.0 == name).expect("user").1
    }
    fn name_of(&self, id: &str) -> &str {
        self.users.iter().find(|u| u.1 == id).expect("user").0
    }
}

/// Three people; "Alpha" rotates Ana and Ben weekly with Cleo covering the next two hours,
/// "Beta" is Cleo's alone, "Empty" has no layer.
async fn fixture(backend: Backend) -> Fx {
    let app = TestApp::start(backend).await;
    app.login_admin().await;
    let store = &app.state().store;
    let mut users = Vec::new();
    for name in ["Ana", "Ben", "Cleo"] {
        let user = app::domain::account::NewUserInput {
            email: format!("{}@example.org", name.to_lowercase()),
            name: name.into(),
            time_zone: "Europe/Berlin".into(),
            role: "responder".into(),
        }
        .normalize()
        .expect("valid user");
        store.create_user(&user, "unused", 1).await.expect("user");
        let id = store
            .user_by_email(&user.email)
            .await
            .unwrap()
            .expect("created")
            .id;
        users.push((name, id));
    }
    let id_of = |n: &str| users.iter().find(|u| u.0 == n).unwrap().1.clone();
    let mut schedules = Vec::new();
    for (name, people) in [
        ("Alpha", vec![id_of("Ana"), id_of("Ben")]),
        ("Beta", vec![id_of("Cleo")]),
        ("Empty", vec![]),
    ] {
        let id = store
            .create_schedule(name, None, "Europe/Berlin", 1)
            .await
            .expect("schedule");
        if !people.is_empty() {
            let draft = LayerDraft {
                name: "Weekly".into(),
                time_zone: "Europe/Berlin".into(),
                start: "2026-01-05T09:00".parse().unwrap(),
                shift: ShiftLength::Weeks(1),
                restrictions: vec![],
            };
            store
                .create_layer(&id, &draft, &people, 1)
                .await
                .expect("layer");
        }
        schedules.push((name, id));
    }
    // Whole milliseconds, as stored.
    let now = Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap();
    let cover_end = now + SignedDuration::from_hours(2);
    let cover = Override {
        id: firstline::store::new_id(),
        user: id_of("Cleo"),
        start: now - SignedDuration::from_hours(1),
        end: cover_end,
        replaces: None,
    };
    store
        .create_override(&schedules[0].1, &cover, None, None, 1)
        .await
        .expect("override");
    Fx {
        app,
        schedules,
        users,
        cover_end,
    }
}

async fn all_at_once_agrees_with_one_at_a_time(backend: Backend) {
    let f = fixture(backend).await;
    let store = &f.app.state().store;
    let now = Timestamp::now();
    for days in [0, 3, 10, 40] {
        let at = now + SignedDuration::from_hours(24 * days);
        let all = oncall::for_all(store, at).await.unwrap();
        let names: Vec<&str> = all.iter().map(|o| o.schedule.name.as_str()).collect();
        assert_eq!(names, ["Alpha", "Beta", "Empty"], "by name");
        for (on, (_, id)) in all.iter().zip(&f.schedules) {
            let one = oncall::for_schedule(store, id, at).await.unwrap();
            assert_eq!(on, &one, "{} at +{days} d", on.schedule.name);
            // The shifts API says the same.
            let path = format!(
                "/api/v1/schedules/{id}/shifts?from={at}&to={}",
                at + SignedDuration::from_secs(1)
            );
            let body: Value = f
                .app
                .client
                .get(f.app.url(&path))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(
                body["shifts"][0]["user"]["id"].as_str(),
                on.user(),
                "{} at +{days} d",
                on.schedule.name
            );
        }
        assert_eq!(all[1].user(), Some(f.user("Cleo")), "Beta is Cleo's");
        assert_eq!(all[2].user(), None, "Empty has nobody");
        assert!(all[2].next.is_none());
        if days == 0 {
            assert_eq!(all[0].user(), Some(f.user("Cleo")), "the override wins");
            let next = all[0].next.as_ref().expect("a hand-off");
            assert_eq!(next.start, f.cover_end);
            assert!(next.user.is_some());
        } else {
            let u = all[0].user().expect("Ana or Ben");
            assert!(u == f.user("Ana") || u == f.user("Ben"));
        }
    }
    assert!(matches!(
        oncall::for_schedule(store, "nope", now).await,
        Err(firstline::store::StoreError::NotFound)
    ));
    f.app.stop().await;
}
on_both_backends!(all_at_once_agrees_with_one_at_a_time);

/// The card of `schedule` in a page: the name it shows as on call, or `None` for nobody.
fn card_person(html: &str, schedule: &str) -> Option<String> {
    let marker = format!("aria-label=\"{schedule}: on call now\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("card {schedule}"));
    let card = &html[start..];
    let card = &card[..card.find("</section>").expect("card end")];
    if card.contains("Nobody is on call right now") {
        return None;
    }
    let who = card.split("On call now: ").nth(1).expect("on call line");
    let who = &who[who.find("<strong>").expect("name") + "<strong>".len()..];
    Some(who[..who.find("</strong>").expect("name end")].to_string())
}

async fn dashboard_schedules_page_and_api_name_the_same_people(backend: Backend) {
    let f = fixture(backend).await;
    let api: Value = f
        .app
        .client
        .get(f.app.url("/api/v1/oncall"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = api["oncall"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    let dashboard = f.app.get_text("/dashboard").await;
    let index = f.app.get_text("/schedules").await;
    for entry in list {
        let schedule = entry["schedule_name"].as_str().unwrap();
        let api_person = entry["user"]["id"]
            .as_str()
            .map(|id| f.name_of(id).to_string());
        assert_eq!(
            entry["user"]["name"].as_str(),
            api_person.as_deref(),
            "{schedule}"
        );
        assert_eq!(
            card_person(&dashboard, schedule),
            api_person,
            "dashboard, {schedule}"
        );
        assert_eq!(
            card_person(&index, schedule),
            api_person,
            "/schedules, {schedule}"
        );
    }
    assert_eq!(list[0]["user"]["name"], "Cleo", "Alpha is covered by Cleo");
    assert_eq!(list[1]["user"]["name"], "Cleo");
    assert!(list[2]["user"].is_null(), "Empty: nobody");
    f.app.stop().await;
}
on_both_backends!(dashboard_schedules_page_and_api_name_the_same_people);
