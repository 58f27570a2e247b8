//! Keys the platform makes once and every process shares (through the store), and what is derived
//! from them: order tokens for guests, the keyed hash that recognises a person by national ID
//! without keeping the number, and webhook signatures.

use crate::auth::tokens;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use pavilion_domain::checkout::NationalId;
use pavilion_store::{Store, StoreResult};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = hmac::Hmac<Sha256>;

#[derive(Clone)]
pub struct Keys {
    order: String,
    person: String,
    /// Signs the sandbox payment provider's webhooks.
    pub sandbox_webhooks: String,
}

fn random_key() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source failing leaves no safe way to go on.
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// HMAC-SHA256 of `message` under `key`, in hex.
pub fn mac_hex(key: &str, message: &[u8]) -> String {
    let mut mac =
        HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two strings in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Keys {
    pub async fn load(store: &Store) -> StoreResult<Keys> {
        Ok(Keys {
            order: store.server_secret("order_tokens", random_key()).await?,
            person: store.server_secret("person_hash", random_key()).await?,
            sandbox_webhooks: store
                .server_secret("sandbox_webhooks", random_key())
                .await?,
        })
    }

    /// The token that lets a guest reach an order: derived, so it is never stored.
    pub fn order_token(&self, order: Uuid) -> String {
        format!("ord_{}", &mac_hex(&self.order, order.as_bytes())[..43])
    }

    /// What the store keeps to find an order by its token.
    pub fn token_hash(token: &str) -> String {
        tokens::hash(token)
    }

    /// The keyed hash of a national ID: the same person gives the same hash; the number cannot
    /// be recovered from it, nor tried by brute force without the key.
    pub fn person_hash(&self, id: &NationalId) -> String {
        mac_hex(&self.person, id.canonical().as_bytes())
    }
}

/// A new random cart token and its hash.
pub fn new_cart_token() -> (String, String) {
    let token = format!("crt_{}", random_key());
    let hash = tokens::hash(&token);
    (token, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_are_keyed_and_comparisons_exact() {
        assert_ne!(mac_hex("a", b"x"), mac_hex("b", b"x"));
        assert_eq!(mac_hex("a", b"x"), mac_hex("a", b"x"));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        let (token, hash) = new_cart_token();
        assert!(token.starts_with("crt_"));
        assert_eq!(Keys::token_hash(&token), hash);
    }
}
