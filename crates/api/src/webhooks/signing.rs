//! Webhook secrets and signatures.
//!
//! A delivery carries `Nova-Webhook-Timestamp: <unix seconds>` and
//! `Nova-Webhook-Signature: v1=<hex>`, where hex is HMAC-SHA256 keyed with
//! the endpoint's secret (the whole `whsec_…` string, as UTF-8 bytes) over
//! `"{timestamp}.{body}"`. Signing the timestamp with the body lets a
//! receiver refuse replays of old deliveries; the `v1=` prefix leaves room
//! for another scheme (or a second secret during a rotation) later.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub(crate) const SECRET_PREFIX: &str = "whsec_";

/// `whsec_` and 32 random bytes in base64url.
pub(crate) fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The `Nova-Webhook-Signature` value for this body at this time.
pub(crate) fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(3 + 2 * digest.len());
    out.push_str("v1=");
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_prefixed() {
        let a = new_secret();
        assert!(a.starts_with(SECRET_PREFIX));
        assert_eq!(a.len(), SECRET_PREFIX.len() + 43);
        assert_ne!(a, new_secret());
    }

    #[test]
    fn signs_the_timestamp_and_the_body() {
        // Computed with Python's hmac module, an implementation of its own.
        assert_eq!(
            signature("whsec_test", 1_700_000_000, br#"{"type":"stream.started"}"#),
            "v1=cb129dbe15e602a5cf8834df28145caeaacbb0dd7752752405e312b778ff8ece"
        );
        assert_ne!(
            signature("whsec_test", 1, b"x"),
            signature("whsec_test", 2, b"x")
        );
        assert_ne!(
            signature("whsec_test", 1, b"x"),
            signature("whsec_tesu", 1, b"x")
        );
    }
}
