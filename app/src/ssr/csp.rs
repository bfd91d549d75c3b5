//! The Content-Security-Policy every response carries: scripts only from this origin, plus the
//! exact inline scripts Firstline itself writes (the islands' hydration loader and the status
//! page's live-module loader), allowed by their SHA-256 hashes.
//!
//! Hashes rather than nonces: the public status page is rendered once per change and served
//! from memory to every visitor, so it cannot carry a per-request nonce. An injected script
//! has a different hash and does not run.

use base64::Engine;
use leptos::config::LeptosOptions;
use leptos::prelude::*;
use sha2::{Digest, Sha256};

/// Builds the policy for this build's asset paths.
pub fn content_security_policy(options: &LeptosOptions) -> String {
    let mut scripts = inline_scripts(&render_hydration_scripts(options));
    scripts.push(crate::pages::status::live_loader());
    let mut hashes: Vec<String> = scripts.iter().map(|s| script_hash(s)).collect();
    hashes.sort();
    hashes.dedup();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {}; style-src 'self'; \
         img-src 'self'; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
         worker-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
         form-action 'self'",
        hashes.join(" ")
    )
}

/// `'sha256-…'` source expression for one inline script's text.
pub fn script_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn render_hydration_scripts(options: &LeptosOptions) -> String {
    let owner = Owner::new();
    let options = options.clone();
    owner.with(|| view! { <HydrationScripts options=options islands=true/> }.to_html())
}

/// The text of each inline `<script>` (one without `src`) in an HTML fragment.
pub fn inline_scripts(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let tag = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(body[..close].to_string());
        }
        rest = &body[close + "</script>".len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_inline_scripts_only() {
        let html = r#"<link rel="x"/><script type="module">a();</script><script src="/x.js"></script><script>b()</script>"#;
        assert_eq!(inline_scripts(html), vec!["a();", "b()"]);
    }

    #[test]
    fn hash_matches_the_csp_spec_example() {
        // From the CSP Level 3 specification: sha256 of "alert('Hello, world.');".
        assert_eq!(
            script_hash("alert('Hello, world.');"),
            "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"
        );
    }

    #[test]
    fn policy_allows_exactly_the_hydration_and_live_loaders() {
        let options = LeptosOptions::builder()
            .output_name("firstline")
            .site_pkg_dir("pkg/abc")
            .build();
        let policy = content_security_policy(&options);
        let hydration = inline_scripts(&render_hydration_scripts(&options));
        assert_eq!(
            hydration.len(),
            1,
            "the islands loader is one inline script"
        );
        assert!(policy.contains(&script_hash(&hydration[0])), "{policy}");
        assert!(policy.contains(&script_hash(&crate::pages::status::live_loader())));
        for directive in [
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "script-src 'self' 'wasm-unsafe-eval' 'sha256-",
        ] {
            assert!(policy.contains(directive), "{directive} missing: {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
    }
}
