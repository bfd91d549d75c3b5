//! The wasm entry point: hydrates the islands on a server-rendered page, nothing else.

// Link the app crate so its `#[island]` hydration functions are exported from this module.
extern crate app;

/// Called by the hydration script on pages that contain islands.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
