//! RSS 2.0 and Atom feeds of incidents and maintenance (`/history.rss`, `/history.atom`), built
//! with the `rss` and `atom_syndication` crates once per change, like the JSON documents.

use crate::store::Incident;
use app::domain::incident::IncidentKind;
use atom_syndication as atom;
use bytes::Bytes;

use crate::assets::Asset;
use crate::markdown::to_safe_html;
use crate::statuspage::{iso, PageInfo};

/// How many entries a feed carries.
pub const FEED_LEN: usize = 50;

fn rfc2822(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

/// The entry text: every update, newest first, as sanitised HTML.
fn entry_html(i: &Incident) -> String {
    let mut out = String::new();
    if let (Some(s), Some(e)) = (i.scheduled_for, i.scheduled_until) {
        out.push_str(&format!(
            "<p><strong>Window:</strong> {} to {} (UTC)</p>",
            iso(s),
            iso(e)
        ));
    }
    for u in &i.updates {
        out.push_str(&format!(
            "<p><small>{}</small> - <strong>{}</strong></p>{}",
            iso(u.created_at),
            u.status.label(),
            to_safe_html(&u.body)
        ));
    }
    out
}

fn title(i: &Incident) -> String {
    match i.kind {
        IncidentKind::Incident => format!("{} ({})", i.name, i.status.label()),
        IncidentKind::Maintenance => format!("Maintenance: {} ({})", i.name, i.status.label()),
    }
}

/// The most recent entries of both kinds, most recently updated first.
fn entries<'a>(incidents: &'a [Incident], maintenances: &'a [Incident]) -> Vec<&'a Incident> {
    let mut all: Vec<&Incident> = incidents.iter().chain(maintenances.iter()).collect();
    all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
    all.truncate(FEED_LEN);
    all
}

/// The RSS 2.0 document.
pub fn rss(page: &PageInfo, incidents: &[Incident], maintenances: &[Incident]) -> Asset {
    let items: Vec<rss::Item> = entries(incidents, maintenances)
        .into_iter()
        .map(|i| {
            let link = format!("{}/incidents/{}", page.base_url(), i.id);
            rss::ItemBuilder::default()
                .title(Some(title(i)))
                .link(Some(link.clone()))
                .guid(Some(
                    rss::GuidBuilder::default()
                        .value(link)
                        .permalink(true)
                        .build(),
                ))
                .pub_date(Some(rfc2822(i.updated_at)))
                .description(Some(entry_html(i)))
                .build()
        })
        .collect();
    let latest = incidents
        .iter()
        .chain(maintenances.iter())
        .map(|i| i.updated_at)
        .max();
    let channel = rss::ChannelBuilder::default()
        .title(format!("{} status history", page.name))
        .link(page.url.clone())
        .description(format!("Incidents and maintenance of {}", page.name))
        .language(Some("en".to_string()))
        .last_build_date(latest.map(rfc2822))
        .items(items)
        .build();
    Asset::new(
        "application/rss+xml; charset=utf-8",
        Bytes::from(channel.to_string()),
    )
}

/// The Atom document.
pub fn atom(page: &PageInfo, incidents: &[Incident], maintenances: &[Incident]) -> Asset {
    let to_fixed = |ms: i64| -> atom::FixedDateTime {
        atom::FixedDateTime::parse_from_rfc3339(&iso(ms))
            .unwrap_or_else(|_| atom::FixedDateTime::default())
    };
    let list = entries(incidents, maintenances);
    let updated = list.iter().map(|i| i.updated_at).max().unwrap_or(0);
    let entries: Vec<atom::Entry> = list
        .into_iter()
        .map(|i| {
            let link = format!("{}/incidents/{}", page.base_url(), i.id);
            atom::EntryBuilder::default()
                .title(title(i))
                .id(link.clone())
                .updated(to_fixed(i.updated_at))
                .published(Some(to_fixed(i.created_at)))
                .links(vec![atom::LinkBuilder::default()
                    .href(link)
                    .rel("alternate".to_string())
                    .mime_type(Some("text/html".to_string()))
                    .build()])
                .content(Some(
                    atom::ContentBuilder::default()
                        .content_type(Some("html".to_string()))
                        .value(Some(entry_html(i)))
                        .build(),
                ))
                .build()
        })
        .collect();
    let feed = atom::FeedBuilder::default()
        .title(format!("{} status history", page.name))
        .id(format!("{}/history.atom", page.base_url()))
        .updated(to_fixed(updated))
        .authors(vec![atom::PersonBuilder::default()
            .name(page.name.clone())
            .build()])
        .links(vec![
            atom::LinkBuilder::default()
                .href(format!("{}/history.atom", page.base_url()))
                .rel("self".to_string())
                .mime_type(Some("application/atom+xml".to_string()))
                .build(),
            atom::LinkBuilder::default()
                .href(page.url.clone())
                .rel("alternate".to_string())
                .mime_type(Some("text/html".to_string()))
                .build(),
        ])
        .entries(entries)
        .build();
    Asset::new(
        "application/atom+xml; charset=utf-8",
        Bytes::from(feed.to_string()),
    )
}
