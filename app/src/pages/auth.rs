//! The login page.

use leptos::prelude::*;

use super::{Nav, Shell, Viewer};

/// Login form. `error` is shown above the form; `email` is kept on a failed attempt.
#[component]
pub fn LoginPage(email: String, next: String, error: Option<String>) -> impl IntoView {
    view! {
        <Shell viewer=Viewer::default() nav=Nav::Login>
            <section class="card narrow">
                <h1>"Log in"</h1>
                {error.map(|e| view! { <p class="alert" role="alert">{e}</p> })}
                <form method="post" action="/login" class="stack">
                    <input type="hidden" name="next" value=next/>
                    <label for="email">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="username" required
                        value=email maxlength="254"/>
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password"
                        required maxlength="256"/>
                    <button type="submit" class="button primary">"Log in"</button>
                </form>
            </section>
        </Shell>
    }
}
