//! "Push notifications on this device" on the profile: a button that the same-origin script
//! `/push.js` brings to life (it registers the service worker, asks for permission, subscribes
//! and sends the subscription), how to do it on an iPhone or iPad, and what to do where this
//! browser cannot.

use leptos::prelude::*;

/// The profile's push section. `csrf` goes with the subscription the script posts.
#[component]
pub fn EnablePush(
    /// The viewer's CSRF token.
    csrf: String,
) -> impl IntoView {
    view! {
        <section class="card" id="push-enable" data-csrf=csrf aria-labelledby="push-heading">
            <h2 id="push-heading">"Push notifications on this device"</h2>
            <p>
                "Get pages on this phone or computer as notifications, even when Firstline is closed. "
                "On Android they carry Acknowledge and Resolve buttons that work from the lock screen."
            </p>
            <button type="button" class="button primary" id="push-enable-button" hidden>
                "Enable push on this device"
            </button>
            <p id="push-status" class="small" role="status" aria-live="polite"></p>
            <p id="push-unsupported" class="alert" hidden>
                "This browser cannot receive push notifications. On an iPhone or iPad, add Firstline "
                "to your home screen first (below); elsewhere use a current Chrome, Edge, Firefox or Safari."
            </p>
            <noscript><p class="muted">"Turning on push needs JavaScript."</p></noscript>
            <details>
                <summary>"On an iPhone or iPad"</summary>
                <ol>
                    <li>"Open Firstline in Safari (iOS 16.4 or later)."</li>
                    <li>"Tap Share, then Add to Home Screen."</li>
                    <li>"Open Firstline from the home screen and log in there."</li>
                    <li>"Come back to this profile page and press Enable push on this device."</li>
                </ol>
                <p class="muted small">
                    "Notifications on iOS have no buttons: a tap opens a page with one Acknowledge button."
                </p>
            </details>
            <script src="/push.js" defer></script>
        </section>
    }
}
