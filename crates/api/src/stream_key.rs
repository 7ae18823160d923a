//! Stream keys: `nl_<key id>_<secret>`.
//!
//! The key id is the public half, unique, used to find the stream and safe
//! to log. Only SHA-256 of the secret is stored. The secret is 40 base62
//! characters from a CSPRNG (≈ 238 bits), far beyond brute force, which is
//! why a fast unsalted hash is enough.

use std::fmt;

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

const PREFIX: &str = "nl_";
pub(crate) const KEY_ID_LEN: usize = 12;
const SECRET_LEN: usize = 40;

/// A freshly issued key. Shown to its owner once, then only its hash exists.
pub(crate) struct NewStreamKey {
    pub key_id: String,
    secret: String,
}

impl NewStreamKey {
    pub fn generate() -> Self {
        // ThreadRng is a CSPRNG seeded from the OS; Alphanumeric samples
        // uniformly from [0-9A-Za-z] (by rejection), so every character
        // carries log2(62) bits.
        let mut rng = rand::rng();
        let mut draw = |len: usize| -> String {
            (&mut rng)
                .sample_iter(Alphanumeric)
                .take(len)
                .map(char::from)
                .collect()
        };
        let key_id = draw(KEY_ID_LEN);
        let secret = draw(SECRET_LEN);
        Self { key_id, secret }
    }

    pub fn secret_hash(&self) -> [u8; 32] {
        hash_secret(&self.secret)
    }

    /// The whole key, for the one response that shows it.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}_{}", self.key_id, self.secret)
    }
}

impl fmt::Debug for NewStreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NewStreamKey({})", hint(&self.key_id))
    }
}

/// A key as a publisher presented it, split into its halves.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PresentedKey<'a> {
    pub key_id: &'a str,
    secret: &'a str,
}

impl<'a> PresentedKey<'a> {
    /// `None` unless the key has exactly the shape this server issues, so
    /// garbage never reaches the database.
    pub fn parse(key: &'a str) -> Option<Self> {
        let rest = key.strip_prefix(PREFIX)?;
        let (key_id, secret) = rest.split_once('_')?;
        let well_formed = |part: &str, len: usize| {
            part.len() == len && part.bytes().all(|b| b.is_ascii_alphanumeric())
        };
        (well_formed(key_id, KEY_ID_LEN) && well_formed(secret, SECRET_LEN))
            .then_some(Self { key_id, secret })
    }

    pub fn secret_hash(&self) -> [u8; 32] {
        hash_secret(self.secret)
    }
}

/// What the API shows of a key after creation: enough to tell keys apart.
pub(crate) fn hint(key_id: &str) -> String {
    format!("{PREFIX}{key_id}_…")
}

fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_keys_parse_back_to_the_same_halves() {
        let key = NewStreamKey::generate();
        let full = key.reveal();
        let presented = PresentedKey::parse(&full).expect("an issued key parses");
        assert_eq!(presented.key_id, key.key_id);
        assert_eq!(presented.secret_hash(), key.secret_hash());
        assert_eq!(full.len(), PREFIX.len() + KEY_ID_LEN + 1 + SECRET_LEN);
    }

    #[test]
    fn secrets_carry_at_least_190_bits() {
        let bits = SECRET_LEN as f64 * 62f64.log2();
        assert!(bits >= 190.0, "{bits} bits");
    }

    #[test]
    fn keys_differ_and_use_base62() {
        let a = NewStreamKey::generate().reveal();
        let b = NewStreamKey::generate().reveal();
        assert_ne!(a, b);
        let body = &a[PREFIX.len()..];
        assert!(body.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        let good = NewStreamKey::generate().reveal();
        let cases = [
            String::new(),
            "not-a-key".to_owned(),
            good.replacen("nl_", "xx_", 1),
            good[..good.len() - 1].to_owned(),
            format!("{good}x"),
            good.replacen('_', "-", 2),
            format!("{}!", &good[..good.len() - 1]),
            // Non-ASCII must not slip through a char/byte length mix-up.
            format!("{}é", &good[..good.len() - 2]),
        ];
        for case in cases {
            assert_eq!(PresentedKey::parse(&case), None, "{case:?}");
        }
        assert!(PresentedKey::parse(&good).is_some());
    }

    #[test]
    fn debug_and_hint_never_show_the_secret() {
        let key = NewStreamKey::generate();
        let debug = format!("{key:?}");
        assert!(!debug.contains(&key.secret));
        assert!(debug.contains(&key.key_id));
        assert!(!hint(&key.key_id).contains(&key.secret));
    }
}
