//! Password hashing with Argon2id (the `argon2` crate's defaults: OWASP's recommended
//! m=19 MiB, t=2, p=1). Hashing runs on the blocking pool: it is deliberately slow.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use pavilion_domain::text::Password;
use std::sync::LazyLock;

/// Verified against when the e-mail is unknown, so that a sign-in takes as long whether or not
/// the account exists.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(b"no such account")
        .ok()
        .map(|h| h.to_string())
});

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

pub async fn hash(password: Password) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose().as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    })
    .await
    .map_err(|e| HashError(e.to_string()))?
}

/// True when `password` matches `stored`; with no stored hash, burns the same time and says no.
pub async fn verify(password: Password, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let (hash, known) = match stored {
            Some(h) => (h, true),
            None => match DUMMY_HASH.as_ref() {
                Some(h) => (h.clone(), false),
                None => return false,
            },
        };
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        ok && known
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::parse(s.to_owned()).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_never_contain_the_password() {
        let h = hash(pw("longan-harvest-2026")).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("longan-harvest-2026"));
        assert!(verify(pw("longan-harvest-2026"), Some(h.clone())).await);
        assert!(!verify(pw("mango-harvest-2026"), Some(h)).await);
        assert!(!verify(pw("longan-harvest-2026"), None).await);
    }
}
