//! Validated text: bounded names, e-mail addresses and passwords.
//!
//! Parse, don't validate: once a value has one of these types it is known to be acceptable, so
//! the store and the API never re-check it.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters (got {len})")]
    TooLong { max: usize, len: usize },
    #[error("must be at least {min} characters")]
    TooShort { min: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("is not a valid e-mail address")]
    InvalidEmail,
}

/// A human-facing name (person, organisation): trimmed, 1..=200 characters, no control characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(TextError::Empty);
        }
        let len = trimmed.chars().count();
        if len > Self::MAX_CHARS {
            return Err(TextError::TooLong {
                max: Self::MAX_CHARS,
                len,
            });
        }
        if trimmed.chars().any(char::is_control) {
            return Err(TextError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Name {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Name> for String {
    fn from(value: Name) -> Self {
        value.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// An e-mail address, normalised to lower case so that sign-in is case-insensitive.
///
/// Deliberately permissive (one `@`, a dotted domain, no spaces): the only real check of an
/// address is a message that arrives.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err(TextError::Empty);
        }
        let len = value.chars().count();
        if len > Self::MAX_CHARS {
            return Err(TextError::TooLong {
                max: Self::MAX_CHARS,
                len,
            });
        }
        let (local, domain) = value.split_once('@').ok_or(TextError::InvalidEmail)?;
        let well_formed = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(TextError::InvalidEmail);
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A password in clear, only ever held in memory between the request and the hasher.
///
/// `Debug` and `Display` are redacted so that it cannot reach a log by accident; it is never
/// serialised.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(raw: String) -> Result<Self, TextError> {
        let len = raw.chars().count();
        if len < Self::MIN_CHARS {
            return Err(TextError::TooShort {
                min: Self::MIN_CHARS,
            });
        }
        if len > Self::MAX_CHARS {
            return Err(TextError::TooLong {
                max: Self::MAX_CHARS,
                len,
            });
        }
        Ok(Self(raw))
    }

    /// The clear text, for the password hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Password {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("  Battambang Longan Co. ").unwrap().as_str(),
            "Battambang Longan Co."
        );
        assert_eq!(Name::parse("   "), Err(TextError::Empty));
        assert!(matches!(
            Name::parse(&"x".repeat(201)),
            Err(TextError::TooLong { max: 200, len: 201 })
        ));
        assert_eq!(Name::parse("a\u{0}b"), Err(TextError::ControlCharacter));
        assert_eq!(
            Name::parse(&"拜".repeat(200))
                .unwrap()
                .as_str()
                .chars()
                .count(),
            200
        );
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Sokha@Example.COM ").unwrap().as_str(),
            "sokha@example.com"
        );
        for bad in [
            "",
            "no-at",
            "@example.com",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@com.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn passwords_are_bounded_and_redacted() {
        assert_eq!(
            Password::parse("short".into()).err(),
            Some(TextError::TooShort { min: 10 })
        );
        let p = Password::parse("correct horse battery".into()).unwrap();
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert_eq!(p.expose(), "correct horse battery");
    }
}
