//! Markdown to HTML sanitising: arbitrary text through `markdown::to_safe_html`. Nothing may
//! panic, and the output may hold no executable or embedding element (`script`, `iframe`,
//! `style`, `object`, ...), no event-handler (`on...`) or `style` attribute, and no URL
//! attribute with a scheme other than http, https or mailto (so no `javascript:`, `data:`).

#![no_main]

use firstline::markdown::to_safe_html;
use libfuzzer_sys::fuzz_target;

/// Elements that must never come out of the sanitiser.
const FORBIDDEN_TAGS: &[&str] = &[
    "script", "iframe", "frame", "frameset", "style", "object", "embed", "applet", "img", "svg",
    "math", "form", "input", "button", "textarea", "select", "link", "meta", "base", "template",
    "noscript", "video", "audio", "source", "portal",
];

/// Attributes whose value is a URL.
const URL_ATTRS: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "cite",
    "background",
    "poster",
    "srcset",
    "xlink:href",
    "data",
];

fuzz_target!(|data: &[u8]| {
    let markdown = String::from_utf8_lossy(data);
    let html = to_safe_html(&markdown);
    for (tag, attrs) in tags(&html) {
        let tag = tag.to_ascii_lowercase();
        assert!(
            !FORBIDDEN_TAGS.contains(&tag.as_str()),
            "<{tag}> survived in {html:?} from {markdown:?}"
        );
        for (name, value) in attrs {
            let name = name.to_ascii_lowercase();
            assert!(
                !name.starts_with("on") && name != "style" && name != "srcdoc",
                "attribute {name} survived in {html:?} from {markdown:?}"
            );
            if URL_ATTRS.contains(&name.as_str()) {
                let scheme = scheme_of(&decode(&value));
                assert!(
                    matches!(scheme.as_deref(), None | Some("http" | "https" | "mailto")),
                    "{name}={value:?} (scheme {scheme:?}) survived in {html:?} from {markdown:?}"
                );
            }
        }
    }
});

/// The start and self-closing tags of serialised HTML, each with its attributes. A lenient
/// scanner for html5ever's serialiser output, which escapes every `<` in text as `&lt;` and
/// double-quotes every attribute value (escaping `"` as `&quot;`), so each `<` starts a tag.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        i += 1;
        if i < b.len() && (b[i] == b'/' || b[i] == b'!' || b[i] == b'?') {
            // End tag, comment or declaration: skip to its end; a comment's text is inert.
            while i < b.len() && b[i] != b'>' {
                i += 1;
            }
            continue;
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' && b[i] != b'/' {
            i += 1;
        }
        let name = html[name_start..i].to_string();
        let mut attrs = Vec::new();
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                i += 1;
                break;
            }
            let a_start = i;
            while i < b.len()
                && !b[i].is_ascii_whitespace()
                && b[i] != b'='
                && b[i] != b'>'
                && b[i] != b'/'
            {
                i += 1;
            }
            let a_name = html[a_start..i].to_string();
            let mut value = String::new();
            if i < b.len() && b[i] == b'=' {
                i += 1;
                if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                    let quote = b[i];
                    i += 1;
                    let v_start = i;
                    while i < b.len() && b[i] != quote {
                        i += 1;
                    }
                    value = html[v_start..i].to_string();
                    i += 1;
                } else {
                    let v_start = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = html[v_start..i].to_string();
                }
            }
            attrs.push((a_name, value));
        }
        out.push((name, attrs));
    }
    out
}

/// Decodes the character references a browser would decode in an attribute value.
fn decode(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|s| *s <= 12) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let ch = match entity {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "colon" => Some(':'),
            "tab" | "Tab" => Some('\t'),
            "newline" | "NewLine" => Some('\n'),
            "nbsp" => Some('\u{a0}'),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The URL's scheme as a browser reads it (ASCII tab and newline removed, leading spaces and
/// control characters trimmed, lower-cased), or `None` for a relative URL (no valid scheme
/// before the first colon).
fn scheme_of(url: &str) -> Option<String> {
    let cleaned: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let cleaned = cleaned.trim_start_matches(|c: char| c <= ' ');
    let colon = cleaned.find(':')?;
    let before = &cleaned[..colon];
    let mut chars = before.chars();
    let is_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then(|| before.to_ascii_lowercase())
}
