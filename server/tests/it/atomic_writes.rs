//! A change and the notices it sends commit together: covering a shift, asking for a swap and
//! answering one. With the notices table refusing every insert (a trigger), each request fails
//! and leaves the store exactly as it was; without it, each writes its change and its notices.

use crate::common::Backend;
use crate::permissions::{fixture, ms, Fx, Who};

/// Makes every insert into `notices` fail (`down`), or lifts that.
async fn notices_down(f: &Fx, backend: Backend, down: bool) {
    let url = &f.app.db.url;
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let sql = if down {
                "CREATE TRIGGER notices_down BEFORE INSERT ON notices \
                 BEGIN SELECT RAISE(ABORT, 'notices are down'); END"
            } else {
                "DROP TRIGGER notices_down"
            };
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let sqls: &[&str] = if down {
                &[
                    "CREATE FUNCTION notices_down() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'notices are down'; END $$",
                    "CREATE TRIGGER notices_down BEFORE INSERT ON notices \
                     FOR EACH ROW EXECUTE FUNCTION notices_down()",
                ]
            } else {
                &["DROP TRIGGER notices_down ON notices"]
            };
            for sql in sqls {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
}

/// The messages of `who`'s notices, newest first.
async fn notices_of(f: &Fx, who: Who) -> Vec<String> {
    f.app
        .state()
        .store
        .notices(f.id(who), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.message)
        .collect()
}

async fn a_change_and_its_notices_commit_together(backend: Backend) {
    use Who::*;
    let f = fixture(backend).await;
    let s = f.schedule.clone();
    let (ana, ben) = (f.id(OnCall).to_string(), f.id(Mate).to_string());
    let overrides = format!("/schedules/{s}/overrides");
    let swaps = format!("/schedules/{s}/swaps");
    // The admin has Ben cover an hour of Ana's (a notice to each); Ana asks for another hour
    // (a notice to Ben); Ben answers an open request (notices to both, or to Ana).
    let (a, b) = f.slot();
    let cover = [
        ("start", ms(a)),
        ("end", ms(b)),
        ("replaces", ana.clone()),
        ("user", ben.clone()),
    ];
    let cover: Vec<(&str, &str)> = cover.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (c, d) = f.slot();
    let ask = [("start", ms(c)), ("end", ms(d))];
    let ask: Vec<(&str, &str)> = ask.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let swap = f.open_swap().await;
    let accept = format!("{swaps}/{swap}/accept");
    let decline = format!("{swaps}/{swap}/decline");

    notices_down(&f, backend, true).await;
    // `post` checks that a request answered with anything but 303 changed nothing at all:
    // no override, no swap request, no new state, no notice.
    f.post(Admin, &overrides, &cover, 500).await;
    f.post(OnCall, &swaps, &ask, 500).await;
    f.post(Mate, &accept, &[], 500).await;
    f.post(Mate, &decline, &[], 500).await;
    notices_down(&f, backend, false).await;

    // The same requests go through now, each with its notices.
    f.post(Admin, &overrides, &cover, 303).await;
    assert!(
        notices_of(&f, OnCall).await[0].contains("covers your shift"),
        "{:?}",
        notices_of(&f, OnCall).await
    );
    assert!(notices_of(&f, Mate).await[0].starts_with("You cover a shift"));
    f.post(OnCall, &swaps, &ask, 303).await;
    assert!(notices_of(&f, Mate).await[0].contains("asks someone to take"));
    f.post(Mate, &accept, &[], 303).await;
    assert!(notices_of(&f, OnCall).await[0].contains("took your shift"));
    assert!(notices_of(&f, Mate).await[0].starts_with("You took"));
    f.app.stop().await;
}
on_both_backends!(a_change_and_its_notices_commit_together);
