//! Form bodies: arbitrary bytes decoded, as the handlers decode them, into every form and query
//! struct, then the raw pairs run through the pure rules that read them (incident, maintenance,
//! update, correction, subscription, component and layer forms). Nothing may panic.

#![no_main]

use std::collections::HashMap;

use app::domain::incident::{
    component_changes, Correction, IncidentInput, IncidentKind, MaintenanceInput, UpdateInput,
};
use app::domain::status::ComponentInput;
use app::domain::subscription::SubscribeInput;
use firstline::http::incidents::{field, Fields};
use firstline::http::session::parse_form;
use firstline::http::{admin, auth, events, schedule_admin, schedules};
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Every struct a `ValidForm<T>` or `Query<T>` extractor decodes (same decoder).
    let _ = parse_form::<auth::LoginForm>(data);
    let _ = parse_form::<auth::LogoutForm>(data);
    let _ = parse_form::<auth::LoginQuery>(data);
    let _ = parse_form::<admin::ComponentForm>(data);
    let _ = parse_form::<admin::StatusForm>(data);
    let _ = parse_form::<admin::CsrfForm>(data);
    let _ = parse_form::<admin::NoticeQuery>(data);
    let _ = parse_form::<schedule_admin::NewScheduleForm>(data);
    let _ = parse_form::<schedule_admin::CsrfForm>(data);
    let _ = parse_form::<schedule_admin::DoneQuery>(data);
    let _ = parse_form::<schedules::OverrideForm>(data);
    let _ = parse_form::<schedules::SwapForm>(data);
    let _ = parse_form::<schedules::CsrfForm>(data);
    let _ = parse_form::<schedules::ProfileForm>(data);
    let _ = parse_form::<schedules::CalendarQuery>(data);
    let _ = parse_form::<schedules::ShiftQuery>(data);
    let _ = parse_form::<schedules::ShiftsQuery>(data);
    let _ = parse_form::<events::Known>(data);
    if let Ok(input) = parse_form::<ComponentInput>(data) {
        let _ = input.normalize();
    }

    // The raw pairs, as the incident, maintenance, subscription and layer handlers read them.
    let Ok(fields) = parse_form::<Fields>(data) else {
        return;
    };
    let checked = |name: &str| fields.iter().any(|(k, v)| k == name && v == "true");
    let _ = IncidentInput {
        name: field(&fields, "name"),
        impact: field(&fields, "impact"),
        status: field(&fields, "status"),
        body: field(&fields, "body"),
        notify: checked("notify"),
    }
    .normalize();
    let _ = MaintenanceInput {
        name: field(&fields, "name"),
        body: field(&fields, "body"),
        starts: field(&fields, "starts"),
        ends: field(&fields, "ends"),
        time_zone: field(&fields, "time_zone"),
        notify: checked("notify"),
    }
    .normalize();
    for kind in [IncidentKind::Incident, IncidentKind::Maintenance] {
        let _ = UpdateInput {
            status: field(&fields, "status"),
            body: field(&fields, "body"),
            impact: field(&fields, "impact"),
            notify: checked("notify"),
        }
        .normalize(kind);
    }
    let _ = component_changes(&fields);
    let _ = Correction::title(&field(&fields, "name"));
    let _ = Correction::message(&field(&fields, "update"), &field(&fields, "body"));
    let _ = SubscribeInput {
        kind: "email".into(),
        target: field(&fields, "email"),
        components: fields
            .iter()
            .filter(|(k, _)| k == "components")
            .map(|(_, v)| v.clone())
            .collect(),
    }
    .normalize();

    // The layer form: parsed, checked and previewed (rotation expanded) at a fixed clock.
    let users = HashMap::from([
        ("u1".to_string(), "Ada".to_string()),
        ("u2".to_string(), "Grace".to_string()),
    ]);
    let now = Timestamp::from_second(1_795_000_000).expect("a valid timestamp");
    if let Ok(shifts) = schedule_admin::preview_layer_post(fields, &users, now) {
        for s in &shifts {
            assert!(s.start < s.end, "empty or reversed shift {s:?}");
        }
    }
});
