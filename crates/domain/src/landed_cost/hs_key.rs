//! HS prefixes packed into integers, so that rule lookups are a few hash probes per line.

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use crate::HsCode;
use crate::hs::HsPrefix;

/// An HS prefix of 2 to 10 digits, or every code ("*", length 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PrefixKey {
    len: u8,
    /// The prefix's digits read as a number ("0810" → 810); the length keeps leading zeros.
    digits: u64,
}

impl PrefixKey {
    /// Matches every HS code: a default row such as a general VAT rate.
    pub const ALL: PrefixKey = PrefixKey { len: 0, digits: 0 };

    /// "*" for every code, otherwise an [`HsPrefix`] ("0810.90", "22").
    pub fn parse(text: &str) -> Result<PrefixKey, String> {
        if text.trim() == "*" {
            return Ok(PrefixKey::ALL);
        }
        let prefix: HsPrefix = text.parse().map_err(|e| format!("{e}"))?;
        Ok(PrefixKey::from(&prefix))
    }

    /// Number of digits, 0 for "*": the longer, the more specific.
    #[allow(clippy::len_without_is_empty)] // zero length is the meaningful wildcard
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn matches(&self, code: &HsCode) -> bool {
        prefixes_of(code).any(|p| p == *self)
    }

    /// The key of this prefix within one rule pack (`pack` < 2^24).
    pub(crate) fn index_key(&self, pack: usize) -> u64 {
        ((pack as u64) << 40) | (u64::from(self.len) << 35) | self.digits
    }
}

impl From<&HsPrefix> for PrefixKey {
    fn from(prefix: &HsPrefix) -> PrefixKey {
        digits_key(prefix.digits().as_bytes())
    }
}

fn digits_key(digits: &[u8]) -> PrefixKey {
    let value = digits
        .iter()
        .fold(0_u64, |acc, b| acc * 10 + u64::from(b.wrapping_sub(b'0')));
    PrefixKey {
        len: u8::try_from(digits.len()).unwrap_or(0),
        digits: value,
    }
}

impl PrefixKey {
    /// The whole code as a key.
    pub(crate) fn of_code(code: &HsCode) -> PrefixKey {
        digits_key(code.digit_bytes())
    }

    /// The first `len` digits (`len` ≤ this key's length, even), or "*" for 0.
    pub(crate) fn head(self, len: u8) -> PrefixKey {
        /// 10^0 to 10^10: a code has at most ten digits.
        const POWERS: [u64; 11] = [
            1,
            10,
            100,
            1_000,
            10_000,
            100_000,
            1_000_000,
            10_000_000,
            100_000_000,
            1_000_000_000,
            10_000_000_000,
        ];
        let cut = self.len.saturating_sub(len);
        let divisor = POWERS
            .get(usize::from(cut))
            .copied()
            .unwrap_or_else(|| 10_u64.saturating_pow(u32::from(cut)));
        PrefixKey {
            len: len.min(self.len),
            digits: self.digits / divisor,
        }
    }

    /// The next shorter prefix: 2 digits fewer, "*" after the chapter; `None` after "*".
    pub(crate) fn parent(self) -> Option<PrefixKey> {
        match self.len {
            0 => None,
            2 => Some(PrefixKey::ALL),
            len => Some(self.head(len - 2)),
        }
    }
}

/// Every prefix a code falls under, most specific first, ending with "*".
pub(crate) fn prefixes_of(code: &HsCode) -> impl Iterator<Item = PrefixKey> {
    let full = PrefixKey::of_code(code);
    let mut len = full.len;
    let mut digits = full.digits;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let key = PrefixKey { len, digits };
        if len == 0 {
            done = true;
        } else if len == 2 {
            len = 0;
            digits = 0;
        } else {
            len -= 2;
            digits /= 100;
        }
        Some(key)
    })
}

/// "081090", or "*".
impl fmt::Display for PrefixKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == 0 {
            f.write_str("*")
        } else {
            write!(f, "{:0width$}", self.digits, width = usize::from(self.len))
        }
    }
}

/// A multiplicative hasher for the integer keys above: the keys are not attacker-chosen (they
/// come from rule packs and validated HS codes), so SipHash's cost buys nothing here.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u64(&mut self, value: u64) {
        let mixed = (self.0 ^ value).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = mixed ^ (mixed >> 29);
    }
}

pub(crate) type KeyHash = BuildHasherDefault<KeyHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_run_from_the_code_to_the_wildcard() {
        let code: HsCode = "0810.90.30".parse().unwrap();
        let all: Vec<String> = prefixes_of(&code).map(|p| p.to_string()).collect();
        assert_eq!(all, ["08109030", "081090", "0810", "08", "*"]);
        assert!(PrefixKey::parse("0810").unwrap().matches(&code));
        assert!(PrefixKey::parse("*").unwrap().matches(&code));
        assert!(!PrefixKey::parse("0811").unwrap().matches(&code));
        assert!(PrefixKey::parse("081").is_err());
    }
}
