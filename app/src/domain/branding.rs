//! The public status page's branding: the organisation's page name, a link back to its site,
//! footer links and a logo. Input rules only (links are http(s), the logo is a small PNG, JPEG
//! or WebP recognised by its first bytes; never SVG, which can carry script).

use super::validate::{optional_text, required_text, ValidationError};

/// Longest page name, in characters.
pub const NAME_MAX: usize = 60;
/// Longest link, in characters.
pub const URL_MAX: usize = 500;
/// Longest footer link label, in characters.
pub const LABEL_MAX: usize = 40;
/// Most footer links.
pub const LINKS_MAX: usize = 6;
/// Largest logo, in bytes (a logo shown 40 px high needs far less; the upload must also fit
/// the server's 64 KiB request limit).
pub const LOGO_MAX: usize = 48 * 1024;

/// The branding form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrandingInput {
    /// The page's name ("crates.io").
    pub page_name: String,
    /// The organisation's site, or empty.
    pub site_url: String,
    /// Footer links, one a line: `Label https://...`.
    pub footer_links: String,
}

/// Validated branding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    /// Page name.
    pub page_name: String,
    /// The organisation's site.
    pub site_url: Option<String>,
    /// Footer links: (label, URL).
    pub footer_links: Vec<(String, String)>,
}

impl Branding {
    /// The footer links as the form shows them, one a line.
    pub fn links_text(&self) -> String {
        self.footer_links
            .iter()
            .map(|(l, u)| format!("{l} {u}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Back to the form.
    pub fn input(&self) -> BrandingInput {
        BrandingInput {
            page_name: self.page_name.clone(),
            site_url: self.site_url.clone().unwrap_or_default(),
            footer_links: self.links_text(),
        }
    }
}

/// Checks that `url` is an absolute http(s) URL with a host and no spaces, quotes or angle
/// brackets; anything else (`javascript:`, `data:`, relative paths) is refused.
pub fn check_link(field: &str, url: &str) -> Result<String, ValidationError> {
    let url = required_text(field, url, URL_MAX)?;
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| ValidationError::new(field, "must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains('@') {
        return Err(ValidationError::new(
            field,
            "must name a web site, like https://example.org",
        ));
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '\\'))
    {
        return Err(ValidationError::new(
            field,
            "must not contain spaces, quotes or angle brackets",
        ));
    }
    Ok(url)
}

impl BrandingInput {
    /// Checks every field; the error names the first wrong one.
    pub fn normalize(&self) -> Result<Branding, ValidationError> {
        let page_name = required_text("page_name", &self.page_name, NAME_MAX)?;
        if page_name.chars().any(char::is_control) {
            return Err(ValidationError::new("page_name", "must be one line"));
        }
        let site_url = match optional_text("site_url", &self.site_url, URL_MAX)? {
            Some(u) => Some(check_link("site_url", &u)?),
            None => None,
        };
        let mut footer_links = Vec::new();
        for line in self
            .footer_links
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            if footer_links.len() == LINKS_MAX {
                return Err(ValidationError::new(
                    "footer_links",
                    format!("may hold at most {LINKS_MAX} links"),
                ));
            }
            let (label, url) = line.rsplit_once(char::is_whitespace).ok_or_else(|| {
                ValidationError::new(
                    "footer_links",
                    "must be one link a line: a label, a space, then the address (Privacy https://example.org/privacy)",
                )
            })?;
            let label = label.trim();
            if label.is_empty() || label.chars().count() > LABEL_MAX {
                return Err(ValidationError::new(
                    "footer_links",
                    format!("need a label of 1 to {LABEL_MAX} characters before each address"),
                ));
            }
            footer_links.push((label.to_string(), check_link("footer_links", url)?));
        }
        Ok(Branding {
            page_name,
            site_url,
            footer_links,
        })
    }
}

/// The refusal of a logo over [`LOGO_MAX`] (also for one refused by its stated length, unread).
pub fn logo_too_large() -> ValidationError {
    ValidationError::new(
        "logo",
        format!("is too large; the most is {} KB", LOGO_MAX / 1024),
    )
}

/// The image type of an uploaded logo, recognised by its first bytes (the file name and the
/// browser's stated type are not trusted): PNG, JPEG or WebP, at most [`LOGO_MAX`] bytes.
pub fn logo_type(bytes: &[u8]) -> Result<&'static str, ValidationError> {
    if bytes.is_empty() {
        return Err(ValidationError::new(
            "logo",
            "is empty; choose an image file",
        ));
    }
    if bytes.len() > LOGO_MAX {
        return Err(logo_too_large());
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Ok("image/webp")
    } else {
        Err(ValidationError::new(
            "logo",
            "must be a PNG, JPEG or WebP image (SVG and other types are not accepted)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, site: &str, links: &str) -> BrandingInput {
        BrandingInput {
            page_name: name.into(),
            site_url: site.into(),
            footer_links: links.into(),
        }
    }

    #[test]
    fn links_must_be_http() {
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "//evil.example",
            "/relative",
            "https://",
            "https://a.example/\"onmouseover=x",
            "https://user@evil.example",
        ] {
            assert!(input("P", bad, "").normalize().is_err(), "{bad}");
            assert!(
                input("P", "", &format!("Home {bad}")).normalize().is_err(),
                "{bad}"
            );
        }
        let ok = input(
            " Rust Foundation ",
            "https://foundation.rust-lang.org",
            "Privacy https://example.org/privacy\n\nTerms of use http://example.org/terms",
        )
        .normalize()
        .unwrap();
        assert_eq!(ok.page_name, "Rust Foundation");
        assert_eq!(
            ok.footer_links,
            vec![
                ("Privacy".into(), "https://example.org/privacy".into()),
                ("Terms of use".into(), "http://example.org/terms".into())
            ]
        );
        assert_eq!(ok.input().normalize().unwrap(), ok);
    }

    #[test]
    fn names_and_link_counts_are_bounded() {
        assert_eq!(
            input("", "", "").normalize().unwrap_err().field,
            "page_name"
        );
        assert!(input(&"x".repeat(NAME_MAX + 1), "", "")
            .normalize()
            .is_err());
        let many = (0..=LINKS_MAX)
            .map(|i| format!("L{i} https://e.example/{i}"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            input("P", "", &many).normalize().unwrap_err().field,
            "footer_links"
        );
        assert!(input("P", "", "https://no-label.example")
            .normalize()
            .is_err());
    }

    #[test]
    fn logo_by_magic_bytes() {
        assert_eq!(logo_type(b"\x89PNG\r\n\x1a\nrest").unwrap(), "image/png");
        assert_eq!(
            logo_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0]).unwrap(),
            "image/jpeg"
        );
        assert_eq!(logo_type(b"RIFF\0\0\0\0WEBPVP8 ").unwrap(), "image/webp");
        assert!(logo_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>").is_err());
        assert!(logo_type(b"GIF89a").is_err());
        assert!(logo_type(b"").is_err());
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(LOGO_MAX + 1, 0);
        assert!(logo_type(&big).is_err());
    }
}
