//! Accounts: roles and the rules for a new user's fields.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

use super::validate::{required_text, ValidationError};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Configures everything: users, teams, components, schedules.
    Admin,
    /// Takes shifts, acknowledges pages, updates incidents.
    Responder,
    /// Reads schedules and incidents.
    Viewer,
}

impl Role {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Responder => "responder",
            Role::Viewer => "viewer",
        }
    }

    /// True when this role may change configuration.
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

impl FromStr for Role {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "responder" => Ok(Role::Responder),
            "viewer" => Ok(Role::Viewer),
            _ => Err(ValidationError::new(
                "role",
                "must be one of: admin, responder, viewer",
            )),
        }
    }
}

/// Shortest accepted password.
pub const PASSWORD_MIN: usize = 10;
/// Longest accepted password (argon2 input stays bounded).
pub const PASSWORD_MAX: usize = 256;

/// A user as submitted (CLI, admin form), before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUserInput {
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// IANA time zone; empty means UTC.
    #[serde(default)]
    pub time_zone: String,
    /// `admin`, `responder` or `viewer`; empty means responder.
    #[serde(default)]
    pub role: String,
}

/// A validated new user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Lower-cased, trimmed email.
    pub email: String,
    /// Trimmed display name.
    pub name: String,
    /// A time zone name the tz database knows.
    pub time_zone: String,
    /// The role.
    pub role: Role,
}

impl NewUserInput {
    /// Checks every field; returns the cleaned user or the first wrong field.
    pub fn normalize(&self) -> Result<NewUser, ValidationError> {
        let email = normalize_email(&self.email)?;
        let name = required_text("name", &self.name, 100)?;
        let tz = match self.time_zone.trim() {
            "" => "UTC".to_string(),
            tz => {
                jiff::tz::TimeZone::get(tz).map_err(|_| {
                    ValidationError::new("time_zone", format!("unknown time zone {tz:?}"))
                })?;
                tz.to_string()
            }
        };
        let role = match self.role.trim() {
            "" => Role::Responder,
            r => r.parse()?,
        };
        Ok(NewUser {
            email,
            name,
            time_zone: tz,
            role,
        })
    }
}

/// Trims and lower-cases an email and checks its basic shape (`local@domain.tld`).
pub fn normalize_email(raw: &str) -> Result<String, ValidationError> {
    let email = raw.trim().to_lowercase();
    let bad = || ValidationError::new("email", "must be an email address like name@example.org");
    if email.is_empty() {
        return Err(ValidationError::new("email", "must not be empty"));
    }
    if email.len() > 254 {
        return Err(ValidationError::new(
            "email",
            "must be at most 254 characters",
        ));
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@');
    if domain_ok && local_ok {
        Ok(email)
    } else {
        Err(bad())
    }
}

/// Checks a new password's length (the only rule worth having, per NIST SP 800-63B).
pub fn check_password(pw: &str) -> Result<(), ValidationError> {
    let n = pw.chars().count();
    if n < PASSWORD_MIN {
        return Err(ValidationError::new(
            "password",
            format!("must be at least {PASSWORD_MIN} characters"),
        ));
    }
    if n > PASSWORD_MAX {
        return Err(ValidationError::new(
            "password",
            format!("must be at most {PASSWORD_MAX} characters"),
        ));
    }
    Ok(())
}

// ---- accounts as stored and shown (never the password hash) ----

/// A user account as the rest of the app sees it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable id.
    pub id: String,
    /// Login email, lower case.
    pub email: String,
    /// Display name.
    pub name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Role.
    pub role: Role,
    /// Creation time, Unix ms.
    pub created_at: i64,
    /// When the account was deactivated (it cannot log in), Unix ms; `None` while active.
    #[serde(default)]
    pub deactivated_at: Option<i64>,
}

impl User {
    /// True unless the account has been deactivated.
    pub fn is_active(&self) -> bool {
        self.deactivated_at.is_none()
    }
}

/// A team and its members' ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// Stable id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Members, by name.
    pub members: Vec<User>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_table() {
        let cases = [
            ("Aisha@Example.org ", Ok("aisha@example.org")),
            ("", Err("email")),
            ("no-at-sign", Err("email")),
            ("a@b", Err("email")),
            ("a b@example.org", Err("email")),
            ("@example.org", Err("email")),
            ("a@example.org.", Err("email")),
        ];
        for (input, want) in cases {
            match (normalize_email(input), want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w),
                (Err(e), Err(f)) => assert_eq!(e.field, f),
                (g, w) => panic!("{input:?}: got {g:?} want {w:?}"),
            }
        }
    }

    #[test]
    fn new_user_defaults_and_errors() {
        let ok = NewUserInput {
            email: "jonas@example.org".into(),
            name: " Jonas ".into(),
            ..Default::default()
        }
        .normalize()
        .unwrap();
        assert_eq!(ok.name, "Jonas");
        assert_eq!(ok.time_zone, "UTC");
        assert_eq!(ok.role, Role::Responder);

        let bad_tz = NewUserInput {
            email: "jonas@example.org".into(),
            name: "Jonas".into(),
            time_zone: "Mars/Olympus".into(),
            role: String::new(),
        }
        .normalize()
        .unwrap_err();
        assert_eq!(bad_tz.field, "time_zone");

        let bad_role = NewUserInput {
            email: "jonas@example.org".into(),
            name: "Jonas".into(),
            time_zone: "Europe/Berlin".into(),
            role: "root".into(),
        }
        .normalize()
        .unwrap_err();
        assert_eq!(bad_role.field, "role");
    }

    #[test]
    fn password_length() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough pass").is_ok());
        assert!(check_password(&"x".repeat(PASSWORD_MAX + 1)).is_err());
    }
}
