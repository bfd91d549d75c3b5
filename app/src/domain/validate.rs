//! Field validation shared by browser forms and server handlers.

use serde::{Deserialize, Serialize};

/// A rejected input: which field, and a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The form or JSON field that was rejected.
    pub field: String,
    /// What is wrong with it, in plain words.
    pub message: String,
}

impl ValidationError {
    /// Builds an error for `field`.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Trims `value` and checks that it is non-empty and at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    optional_text(field, v, max).map(|o| o.unwrap_or_default())
}

/// Trims `value`; empty becomes `None`; longer than `max` characters is an error.
pub fn optional_text(
    field: &str,
    value: &str,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(if v.is_empty() {
        None
    } else {
        Some(v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_table() {
        let cases: &[(&str, usize, Result<&str, &str>)] = &[
            ("  API ", 10, Ok("API")),
            ("", 10, Err("must not be empty")),
            ("   ", 10, Err("must not be empty")),
            ("abcdefghijk", 10, Err("must be at most 10 characters")),
            ("ééééé", 5, Ok("ééééé")),
            ("a\u{0}b", 10, Err("must not contain control characters")),
        ];
        for (input, max, want) in cases {
            let got = required_text("name", input, *max);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, *w, "input {input:?}"),
                (Err(e), Err(w)) => {
                    assert_eq!(e.field, "name");
                    assert_eq!(e.message, *w, "input {input:?}");
                }
                (g, w) => panic!("input {input:?}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn optional_text_empty_is_none() {
        assert_eq!(optional_text("d", "  ", 5), Ok(None));
        assert_eq!(optional_text("d", " x ", 5), Ok(Some("x".into())));
    }
}
