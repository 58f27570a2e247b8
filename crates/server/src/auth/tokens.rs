//! Bearer API tokens: `pvl_` followed by 32 random bytes in URL-safe base64. Only their SHA-256
//! hash is stored; a token has enough entropy that a slow hash would add nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "pvl_";
/// How much of a token is kept in clear to let its owner recognise it.
const SHOWN_CHARS: usize = 12;

pub struct IssuedToken {
    pub secret: String,
    pub hash: String,
    pub prefix: String,
}

pub fn issue() -> Result<IssuedToken, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    Ok(IssuedToken {
        hash: hash(&secret),
        prefix: secret[..SHOWN_CHARS].to_owned(),
        secret,
    })
}

pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = issue().unwrap();
        let b = issue().unwrap();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(PREFIX) && a.secret.len() == 4 + 43);
        assert_eq!(a.hash, hash(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert!(a.secret.starts_with(&a.prefix));
    }
}
