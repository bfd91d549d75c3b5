//! The few hydrated components. Everything else on a page is plain server-rendered HTML.
//! (The public status page's live part is the separate, framework-free `frontend/live` module.)

pub mod countdown;
