//! The public status page: overall banner and components by group, live through an island.

use leptos::prelude::*;

use super::{Nav, Shell, Viewer};
use crate::domain::status::StatusSnapshot;
use crate::islands::live_status::LiveStatus;

/// The public status page at `/status` (and `/` for anonymous visitors).
#[component]
pub fn StatusPage(viewer: Viewer, page_name: String, snapshot: StatusSnapshot) -> impl IntoView {
    view! {
        <Shell viewer=viewer nav=Nav::Status>
            <h1 class="page-title">{format!("{page_name} status")}</h1>
            <LiveStatus snapshot=snapshot/>
        </Shell>
    }
}
