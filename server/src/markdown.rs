//! Markdown for incident updates: rendered with pulldown-cmark, then sanitised with ammonia so
//! no script, event handler or `javascript:` link ever reaches the public page, feeds or mail.

use std::collections::HashSet;

use pulldown_cmark::{html, Options, Parser};

/// Renders Markdown to HTML that is safe to embed in the public page.
pub fn to_safe_html(markdown: &str) -> String {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TABLES);
    let mut raw = String::new();
    html::push_html(&mut raw, Parser::new_ext(markdown, opts));
    ammonia::Builder::default()
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .rm_tags(["img"])
        .clean(&raw)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn markdown_renders() {
        assert_eq!(
            to_safe_html("We are **investigating** [errors](https://crates.io/status)."),
            "<p>We are <strong>investigating</strong> <a href=\"https://crates.io/status\" rel=\"noopener noreferrer nofollow\">errors</a>.</p>\n"
        );
        assert!(to_safe_html("- one\n- two").contains("<li>two</li>"));
    }

    #[test]
    fn nothing_executable_survives() {
        let cases = [
            "<script>alert(1)</script>hello",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<div onclick=\"alert(1)\">x</div>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<svg><script>alert(1)</script></svg>",
            "<style>body{display:none}</style>",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
        ];
        for md in cases {
            let out = to_safe_html(md).to_lowercase();
            for bad in [
                "<script",
                "onerror",
                "onclick",
                "javascript:",
                "<iframe",
                "<style",
                "data:",
                "<img",
                "<svg",
            ] {
                assert!(!out.contains(bad), "{md:?} gave {out:?}");
            }
        }
    }
}
